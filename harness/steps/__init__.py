"""What runs on the board: the checked bundle push, the armstft CLI batches, the bench; ``runsteps.py`` is
copied to the board and needs only the standard library and armstft."""
