"""Files the harness copies to the board and runs there (stdlib + armstft only; not imported on the host)."""
