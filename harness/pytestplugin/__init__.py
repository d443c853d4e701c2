"""pytest plugin for board runs: one HIL suite (``tests/hil``) for every way of reaching a board.

- ``--lg-env ENV``: labgrid's plugin loads the env; our strategies boot/flash it, ``BoardSSHDriver`` is the
  transport, the ShellDriver the serial console.
- ``--armstft-ssh user@host[:port]``: a board on the desk, SSH only; the same tests, the same results folder
  and JUnit; tests marked ``lg_feature("serial-console")`` are skipped (there is no console).

What it adds either way: a results folder ``results/<board>/<UTC timestamp>/`` with run.json, each test's
outcome (tests.jsonl), progress events, board JSON, report.md and junit.xml re-written after every test;
``@pytest.mark.stage("verifying")`` on tests (ordering, progress, failures name it); the fixtures ``results``,
``board_facts``, ``board_shell``, ``board`` (a ``Transport``), ``board_workdir`` (a private mktemp folder) and
the shared board steps ``host_bundle``, ``pushed_bundle``, ``device_steps``, ``bench_run``.
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
from harness.pytestplugin.stepfixtures import bench_run, device_steps, host_bundle, pushed_bundle

__all__ = [
    "bench_run",
    "board",
    "board_facts",
    "board_shell",
    "board_workdir",
    "device_steps",
    "host_bundle",
    "powered_board",
    "pushed_bundle",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
    "pytest_sessionfinish",
    "results",
]
