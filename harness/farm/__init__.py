"""Board farms: labgrid coordinator + exporter on loopback around the emulated board, and exporter configs."""
