"""armstft: PyTorch audio models whose front end is ATen's STFT, verified and benchmarked on ARM boards.

This package runs on the host and on the board. It must never import labgrid, paramiko, pytest or
anything of ``harness/`` (the board has none of them).
"""

__version__ = "0.1.0"
