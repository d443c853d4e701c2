"""Models run in a watchdog'ed child process: the wire protocol, the parent's ``Worker``, the child that
serves it, and the requests that load and call a bundle's variants.

Why a layer: TorchScript cannot be interrupted from Python, so every model call on the board goes through
here. The protocol module is shared by both sides; the parent and the child each import it and never
each other (the parent starts the child by module name, or by forking and calling it).
"""
