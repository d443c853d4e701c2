"""Host-only test harness: emulated board, labgrid envs/strategies, pytest plugin, reports."""
