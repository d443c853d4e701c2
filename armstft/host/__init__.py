"""What runs on the host only: training, ``armstft export`` (the default bundle) and ``armstft bundle``
(a user's own TorchScript model made into a bundle).

Why apart from ``device``: these write bundles; they share with the board only the format below them
(``bundle``) and the network (``nn``), never the board's commands.
"""
