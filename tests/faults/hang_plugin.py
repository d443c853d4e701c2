"""Fault injection for ``test_faults.py``: a board-side command that hangs, at the start of 'verifying'.

Loaded into the real HIL run with ``-p tests.faults.hang_plugin``.  Nothing is faked: a real ``sleep`` runs
on the real board through the same transport the suite uses, and the suite's own timeout must end it.
It hooks fixture setup (not an autouse fixture) because the suite's board steps are session fixtures, which
pytest sets up before any function-scoped fixture of the first 'verifying' test.
"""

from __future__ import annotations

import os

import pytest

#: the board-side timeout of the hung command; ARMSTFT_TEST_HANG_S makes it longer than a whole-run timeout
HANG_TIMEOUT_S = int(os.environ.get("ARMSTFT_TEST_HANG_S", "5"))
_state = {"stage": "", "done": False}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("stage")
    _state["stage"] = marker.args[0] if marker else ""


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef, request) -> None:
    if (
        _state["done"]
        or _state["stage"] != "verifying"
        or fixturedef.argname in ("board", "board_shell", "board_workdir", "powered_board")
    ):
        return
    _state["done"] = True
    board = request.getfixturevalue("board")
    board.run(["sleep", "3600"], stage="verifying", timeout=HANG_TIMEOUT_S)
