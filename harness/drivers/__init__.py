"""How the harness reaches a board: the transport protocol, one SSH implementation (paramiko, host key
pinned or trusted on first use) and the labgrid drivers built on it."""
