"""pytest plugin for board runs: one HIL suite (``tests/hil``) for every way of reaching a board.

- ``--lg-env ENV``: labgrid's plugin loads the env; our strategies boot/flash it, ``BoardSSHDriver`` is the
  transport, the ShellDriver the serial console.
- ``--armstft-ssh user@host[:port]``: a board on the desk, SSH only; the same tests, the same results folder
  and JUnit; tests marked ``lg_feature("serial-console")`` are skipped (there is no console).

What it adds either way: a results folder ``results/<board>/<UTC timestamp>/`` with run.json, each test's
outcome (tests.jsonl), progress events, board JSON, report.md and junit.xml re-written after every test;
``@pytest.mark.stage("verifying")`` on tests (ordering, progress, failures name it); the fixtures ``results``,
``board_facts``, ``board_shell``, ``board`` (a ``Transport``) and ``board_workdir`` (a private mktemp folder).
Loaded by ``tests/hil/conftest.py`` (``pytest_plugins``).
"""

from harness.pytestplugin.fixtures import (
    board,
    board_facts,
    board_shell,
    board_workdir,
    powered_board,
    results,
)
from harness.pytestplugin.hooks import (
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_runtest_makereport,
    pytest_runtest_setup,
    pytest_sessionfinish,
)

__all__ = [
    "board",
    "board_facts",
    "board_shell",
    "board_workdir",
    "powered_board",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
    "pytest_sessionfinish",
    "results",
]
