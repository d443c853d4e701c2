"""labgrid driver: the board's SSH service as an armstft transport (``harness.drivers.sshclient``).

Replaces labgrid's SSHDriver in our env files (why: see ``harness.drivers.sshclient``). Bound, like it, to the
target's ``NetworkService``; activating it logs in (retrying for ``connection_timeout`` while the board's
sshd comes up), so ``strategy.transition("ssh")`` still means "commands work now".  ``known_hosts`` pins the
host key; without it the key is trusted on first use (``$ARMSTFT_CACHE/ssh/known_hosts``) and enforced after.
The board's address and port are read at activation: a strategy may set them first (a forwarded QEMU port,
an address read from the serial console).  A board behind an exporter (``proxy_required`` on the resource,
or ``LG_PROXY``) is reached through labgrid's proxymanager, as its own SSHDriver does: the stream goes
through ``ssh -W`` on the proxy host, the host key is still checked under the board's address.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import attr
from labgrid.driver.common import Driver
from labgrid.factory import target_factory
from labgrid.util.proxy import proxymanager

from harness import paths
from harness.drivers.sshclient import SSHConnection, SSHTarget
from harness.drivers.transport import LossReason


@target_factory.reg_driver
@attr.s(eq=False)
class BoardSSHDriver(Driver):
    """Key-only SSH to the board.

    Args:
        keyfile (str): the private key (relative paths: to the env file).
        known_hosts (str): optional file whose keys the board must present (host patterns ignored).
        connection_timeout (float): seconds to keep trying to log in.
        username (str): overrides the NetworkService's username.
    """

    bindings: ClassVar[dict[str, str]] = {"networkservice": "NetworkService"}
    keyfile = attr.ib(default="", validator=attr.validators.instance_of(str))
    known_hosts = attr.ib(default="", validator=attr.validators.instance_of(str))
    connection_timeout = attr.ib(default=30.0, converter=float)
    username = attr.ib(default="", validator=attr.validators.instance_of(str))

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.connection: SSHConnection | None = None
        #: set by a strategy that can tell why a link died (a dead QEMU)
        self.loss_reason: LossReason | None = None

    def _path(self, value: str) -> Path | None:
        if not value:
            return None
        config = self.target.env.config if self.target.env else None
        return Path(config.resolve_path(value) if config else value).expanduser()

    def on_activate(self) -> None:
        ns = self.networkservice
        address, _, ifname = ns.address.partition("%")  # labgrid's address%interface (IPv6 link-local)
        target = SSHTarget(self.username or ns.username, address, int(ns.port))
        proxy = proxymanager.get_command(ns, address, int(ns.port), ifname or None)
        self.connection = SSHConnection(
            target,
            self._path(self.keyfile) or Path("~/.ssh/id_ed25519"),
            known_hosts=self._path(self.known_hosts),
            tofu_file=paths.known_hosts(),
            connect_timeout=self.connection_timeout,
            loss_reason=self.loss_reason,
            proxy_command=proxy,
        ).connect()

    def on_deactivate(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection = None
