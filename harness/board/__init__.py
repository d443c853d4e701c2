"""The emulated aarch64 board: image builder (``build``), boot smoke test (``smoke``), QEMU command line."""
