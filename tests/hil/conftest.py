"""Fixtures of the board-neutral HIL suite, for any way of reaching a board:

    python -m pytest --lg-env harness/envs/<board>.yaml tests/hil      # a labgrid env (emulated, desk, farm)
    python -m pytest --armstft-ssh root@<address> tests/hil             # a board reached by address

The board steps the tests judge (one checked push of the bundle, one info + verify batch, one bench) are the
plugin's fixtures (``harness.pytestplugin.stepfixtures``). Board differences live in the env file, never here.
"""

from __future__ import annotations

pytest_plugins = ("harness.pytestplugin",)
