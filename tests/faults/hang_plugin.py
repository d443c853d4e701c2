"""Fault injection for ``test_faults.py``: a board-side command that hangs, at the start of 'verifying'.

Loaded into the real HIL run with ``-p tests.faults.hang_plugin``.  Nothing is faked: a real ``sleep`` runs
on the real board through the same ``Board.run`` the suite uses, and the suite's own timeout must end it.
"""

from __future__ import annotations

import pytest

HANG_TIMEOUT_S = 5
_state = {"done": False}


@pytest.fixture(autouse=True)
def _hang_once_when_verifying(request):
    marker = request.node.get_closest_marker("stage")
    if not _state["done"] and marker and marker.args[0] == "verifying":
        _state["done"] = True
        board = request.getfixturevalue("board")
        board.run(["sleep", "3600"], stage="verifying", timeout=HANG_TIMEOUT_S)
    yield
