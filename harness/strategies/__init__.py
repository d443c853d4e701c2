"""labgrid strategies of the armstft boards (QEMU, SD mux).

Env files load them, and the drivers they bind, with ``imports: [harness.strategies]``.
"""

from harness.strategies.qemu import QEMUBoardStrategy
from harness.strategies.sdmux import SDMuxBoardStrategy

__all__ = ["QEMUBoardStrategy", "SDMuxBoardStrategy"]
