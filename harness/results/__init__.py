"""Results of one run: the run folder, board JSON, limits, comparison, JUnit, report and plot."""
