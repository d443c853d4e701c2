"""Host-only labgrid harness, one folder per stage of the one-way flow: image/ (build the emulated board) →
envs/ (how each board is reached) → drivers/ (the SSH transport, QEMU) → strategies/ (off → shell → ssh) →
steps/ (what runs on the board) → results/ (run folder, report, JUnit); pytestplugin/ ties them to tests/hil,
run.py and bringup.py are the command lines, farm/ shares boards through labgrid's coordinator."""
