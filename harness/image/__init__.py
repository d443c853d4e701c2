"""The emulated aarch64 board's image builder (``python -m harness.image.build``).

How it boots is not here: the one QEMU definition is the labgrid env ``harness/envs/qemu-aarch64.yaml``.
"""
