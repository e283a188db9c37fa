"""A high-availability formation on one machine (`dispatch ha`): a pg_auto_failover monitor, a primary
and standbys under .dispatch/ha/, for trying and testing failover (docs/operations.md, "Failover")."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dispatch.core.config import PROJECT_ROOT, DatabaseSettings
from dispatch.runtime import devdb

log = logging.getLogger(__name__)

MONITOR = "monitor"
MONITOR_DB = "pg_auto_failover"
DEFAULT_STANDBYS = 2
FIRST_PORT = 5760
# The monitor's failure detection, tuned for one machine (the defaults take ~50 s to promote):
# a health check every second, a node unhealthy after 3 s without a report, and 5 s for a
# primary to demote itself before its standby is promoted. Measured: ~10 s from a killed node
# to a new primary (docs/operations.md).
MONITOR_SETTINGS = {
    "pgautofailover.health_check_period": "1000",
    "pgautofailover.health_check_timeout": "1000",
    "pgautofailover.health_check_max_retries": "1",
    "pgautofailover.health_check_retry_delay": "500",
    "pgautofailover.node_considered_unhealthy_timeout": "3000",
    "pgautofailover.primary_demote_timeout": "5000",
}
# The superuser signs in with its password over TCP; pg_auto_failover's own roles are trusted on
# the loopback (a formation for trying and testing: it listens on 127.0.0.1 only). Standbys copy
# this file with the primary's data.
_HBA = """\
local all all trust
host all autoctl_node,pgautofailover_monitor 127.0.0.1/32 trust
host all,replication pgautofailover_replicator 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
"""
_SETTLED = {"primary", "secondary"}
_PRIMARY = {"primary", "wait_primary", "single"}


class HaError(devdb.DevDbError):
    """The formation could not be created, started or asked."""


@dataclass(frozen=True)
class Formation(devdb.Cluster):
    """A monitor and nodes node1..nodeN, each a PGDATA under .dispatch/ha/ run by `pg_autoctl run`."""

    @property
    def link(self) -> Path:
        return self.home / "ha"

    def _spill_target(self) -> Path:
        target = super()._spill_target()
        return target.with_name(f"{target.name}-ha")

    @property
    def socket_dir(self) -> Path:
        # pg_autoctl has no socket-directory option: every node's postgresql.conf names this one
        # (sockets are per port, so the nodes share it); PGHOST points pg_autoctl at it.
        return self.pg_dir / "run"

    @property
    def state_file(self) -> Path:
        return self.pg_dir / "formation.json"

    def data(self, name: str) -> Path:
        return self.pg_dir / name

    def exists(self) -> bool:
        return self.link.exists() and self.state_file.exists()

    def ports(self) -> dict[str, int]:
        if not self.state_file.exists():
            return {}
        return dict(json.loads(self.state_file.read_text())["ports"])

    def nodes(self) -> list[str]:
        return [name for name in self.ports() if name != MONITOR]

    def url(self, dbname: str = devdb.DB_NAME, *, attrs: str = "read-write") -> str:
        """The multi-host URL: libpq and asyncpg connect to whichever node is the primary
        (`prefer-standby`: to a standby while there is one, for analysts' reads)."""
        hosts = ",".join(f"127.0.0.1:{self.ports()[name]}" for name in self.nodes())
        pw = quote(self.password(), safe="")
        return f"postgresql://{devdb.SUPERUSER}:{pw}@{hosts}/{dbname}?target_session_attrs={attrs}"

    def node_url(self, name: str, dbname: str = devdb.DB_NAME) -> str:
        pw = quote(self.password(), safe="")
        return f"postgresql://{devdb.SUPERUSER}:{pw}@127.0.0.1:{self.ports()[name]}/{dbname}"

    # -- pg_autoctl -------------------------------------------------------------------------

    def _env(self) -> list[str]:
        d = self.pg_dir
        return [
            "env",
            f"HOME={d}",
            f"XDG_CONFIG_HOME={d / 'config'}",
            f"XDG_DATA_HOME={d / 'share'}",
            f"XDG_RUNTIME_DIR={self.socket_dir}",
            f"PGHOST={self.socket_dir}",
            f"PGUSER={devdb.SUPERUSER}",
            f"PATH={self.settings.pg_bin}:/usr/bin:/bin",
        ]

    def _autoctl(self) -> str:
        found = shutil.which("pg_autoctl") or str(Path(self.settings.pg_bin) / "pg_autoctl")
        if not Path(found).exists():
            raise HaError(
                "pg_autoctl not found: install postgresql-15-auto-failover and "
                "pg-auto-failover-cli (`make system` does)"
            )
        return found

    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = self._run(*self._env(), self._autoctl(), *args, check=False)
        if check and proc.returncode != 0:
            raise HaError(f"pg_autoctl {' '.join(args[:2])} failed:\n{proc.stdout}{proc.stderr}")
        return proc

    def _monitor_sql(self, sql: str) -> str:
        psql = [self._bin("psql"), "-h", str(self.socket_dir), "-p", str(self.ports()[MONITOR])]
        proc = self._run(*psql, "-U", devdb.SUPERUSER, "-d", MONITOR_DB, "-XAtq", "-c", sql)
        return proc.stdout.strip()

    def state(self) -> list[dict[str, Any]]:
        """The monitor's view of every node (pg_autoctl show state --json)."""
        proc = self.ctl("show", "state", "--json", "--pgdata", str(self.data(MONITOR)))
        return list(json.loads(proc.stdout))

    def primary(self) -> str | None:
        """The node the monitor has as primary, or None while there is none."""
        for node in self.state():
            if node["current_group_state"] in _PRIMARY and node["assigned_group_state"] in _PRIMARY:
                return str(node["nodename"])
        return None

    # -- services ---------------------------------------------------------------------------

    def _pid_file(self, name: str) -> Path:
        return self.pg_dir / f"{name}.pid"

    def _service_pid(self, name: str) -> int | None:
        """The pid of the node's service (the leader of its process group), if it is alive and
        still that service (after a reboot the pid may be another process's)."""
        try:
            pid = int(self._pid_file(name).read_text())
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            return None
        ours = str(self.data(name)).encode() in cmdline
        return pid if ours and fields[0] != "Z" else None

    def _start(self, name: str) -> None:
        if self._service_pid(name):
            return
        pidfile = self.data(name) / "postmaster.pid"
        if pidfile.exists():  # left by a killed node: postgres may mistake a reused pid for it
            try:
                comm = Path(f"/proc/{pidfile.read_text().split()[0]}/comm").read_text().strip()
            except (OSError, IndexError):
                comm = ""
            if comm not in {"postgres", "postmaster"}:
                pidfile.unlink(missing_ok=True)
        cmd = [*self._env(), self._autoctl(), "run", "--pgdata", str(self.data(name))]
        if self.os_user:
            cmd = ["runuser", "-u", self.os_user, "--", *cmd]
        # Detached (setsid --fork) into a session of its own: it outlives this command, Ctrl-C on
        # `make run` does not reach it, and a crash test kills the whole node (service and
        # postmaster) with one killpg of the pid the shell writes before it becomes the service.
        pidfile = self._pid_file(name)
        pidfile.unlink(missing_ok=True)
        detach = ["setsid", "--fork", "sh", "-c", 'echo $$ > "$0"; exec "$@"', str(pidfile)]
        with (self.pg_dir / f"{name}.log").open("ab") as out:
            subprocess.run(  # noqa: S603
                [*detach, *cmd],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd="/",
                check=True,
            )
        deadline = time.monotonic() + 5
        while not self._service_pid(name):
            if time.monotonic() > deadline:
                raise HaError(f"the service of {name} did not start; see its log in {self.pg_dir}")
            time.sleep(0.02)

    def crash(self, name: str) -> None:
        """SIGKILL a node's service and its postmaster at once: the machine died."""
        pid = self._service_pid(name)
        if pid is None:
            raise HaError(f"{name} is not running")
        os.killpg(pid, signal.SIGKILL)
        post = self.data(name) / "postmaster.pid"
        try:
            os.kill(int(post.read_text().split()[0]), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass  # it was in the group

    def _stop(self, names: list[str], within: float = 60.0) -> None:
        for name in names:
            if self._service_pid(name):
                self.ctl("stop", "--pgdata", str(self.data(name)), check=False)
        deadline = time.monotonic() + within
        for name in names:
            while (pid := self._service_pid(name)) and time.monotonic() < deadline:
                time.sleep(0.2)
            if pid:
                log.warning("%s did not stop in %.0f s: killing it", name, within)
                os.killpg(pid, signal.SIGKILL)

    # -- set-up -----------------------------------------------------------------------------

    def _choose_ports(self, standbys: int) -> dict[str, int]:
        ports = self.ports()
        names = [MONITOR, *(f"node{i}" for i in range(1, standbys + 2))]
        taken = set(ports.values())
        candidate = self.settings.ha_port or FIRST_PORT
        for name in names:
            if name in ports:
                continue
            while candidate in taken:
                candidate += 1
            while not devdb._port_free(candidate):
                if self.settings.ha_port:
                    raise HaError(f"port {candidate} is in use; choose DISPATCH_HA_PORT elsewhere")
                candidate += 1
            ports[name] = candidate
            taken.add(candidate)
        self.state_file.write_text(json.dumps({"ports": ports}, indent=1) + "\n")
        return ports

    def _initdb(self) -> None:
        raise NotImplementedError  # a formation initialises one directory per node: _init_node

    def _init_node(self, name: str) -> None:
        pwfile = self.pg_dir / ".initpw"
        pwfile.write_text(self.password() + "\n")
        self._chown(pwfile)
        os.chmod(pwfile, 0o600)
        data = self.data(name)
        try:
            self._run(
                self._bin("initdb"),
                *("-D", str(data), "-U", devdb.SUPERUSER, "--pwfile", str(pwfile)),
                *("-E", "UTF8", "--locale=C.UTF-8"),
            )
        finally:
            pwfile.unlink(missing_ok=True)
        (data / "pg_hba.conf").write_text(_HBA)
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# dispatch engine: HA formation\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                "unix_socket_permissions = 0700\n"
                "max_connections = 300\n"
                "shared_buffers = 128MB\n"
            )

    def _created(self, name: str) -> Path:
        return self.pg_dir / f"{name}.created"

    def _create_monitor(self, port: int) -> None:
        data = str(self.data(MONITOR))
        self._init_node(MONITOR)
        self.ctl(
            *("create", "monitor", "--pgdata", data, "--pgport", str(port)),
            *("--hostname", "127.0.0.1", "--skip-pg-hba", "--no-ssl"),
        )
        # `create monitor` has no --listen: without this it would listen on every interface.
        self.ctl("config", "set", "--pgdata", data, "postgresql.listen_addresses", "127.0.0.1")

    def _create_node(self, name: str, port: int) -> None:
        if not self.nodes() or name == self.nodes()[0]:
            self._init_node(name)  # the first node; the others are base backups of the primary
        monitor = f"postgres://autoctl_node@127.0.0.1:{self.ports()[MONITOR]}/{MONITOR_DB}"
        self.ctl(
            *("create", "postgres", "--pgdata", str(self.data(name)), "--pgport", str(port)),
            *("--listen", "127.0.0.1", "--hostname", "127.0.0.1", "--name", name),
            *("--dbname", devdb.DB_NAME, "--username", devdb.SUPERUSER),
            *("--monitor", f"{monitor}?sslmode=prefer", "--skip-pg-hba", "--no-ssl"),
        )

    def _wait_monitor(self, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while True:
            try:
                self._monitor_sql("SELECT 1")
                return
            except devdb.DevDbError:
                if time.monotonic() > deadline:
                    raise HaError(
                        "the monitor did not start; see .dispatch/ha/monitor.log"
                    ) from None
                time.sleep(0.2)

    def wait_settled(self, within: float = 120.0, count: int | None = None) -> list[dict[str, Any]]:
        """Until one primary and every other node a secondary, each where the monitor wants it."""
        deadline = time.monotonic() + within
        while True:
            nodes = self.state()
            states = [(n["current_group_state"], n["assigned_group_state"]) for n in nodes]
            if (
                (count is None or len(nodes) == count)
                and all(cur == want and cur in _SETTLED for cur, want in states)
                and sum(cur == "primary" for cur, _ in states) == 1
            ) or (len(nodes) == 1 and states == [("single", "single")]):
                return nodes
            if time.monotonic() > deadline:
                raise HaError(f"the formation did not settle: {states}")
            time.sleep(0.3)

    def up(self) -> None:
        self.start()

    def down(self) -> None:
        self.stop()

    def start(self, standbys: int = DEFAULT_STANDBYS) -> str:
        """Create what is missing, start what is stopped; returns the multi-host URL."""
        self._ensure_os_user()
        self._ensure_dirs()
        for sub in ("run", "config", "share"):
            (self.pg_dir / sub).mkdir(mode=0o700, exist_ok=True)
            self._chown(self.pg_dir / sub)
        ports = self._choose_ports(standbys)
        if not self._created(MONITOR).exists():
            self._create_monitor(ports[MONITOR])
            self._created(MONITOR).touch()
        self._start(MONITOR)
        self._wait_monitor()
        for setting, value in MONITOR_SETTINGS.items():
            self._monitor_sql(f"ALTER SYSTEM SET {setting} = '{value}'")
        self._monitor_sql("SELECT pg_reload_conf()")
        for count, name in enumerate(self.nodes(), start=1):
            if not self._created(name).exists():
                log.info("creating %s on port %s", name, ports[name])
                self._create_node(name, ports[name])
                self._created(name).touch()
                self._start(name)
                self.wait_settled(count=count)  # one at a time: each standby copies the primary
            self._start(name)
        # A commit waits for one standby to have it on disk; with two standbys, losing one leaves
        # the other to keep commits safe (with one, commits stall, then go on unprotected).
        # (`pg_autoctl set formation number-sync-standbys` 2.0 rejects any number: the SQL it calls.)
        sync = 1 if len(self.nodes()) >= 3 else 0
        self._monitor_sql(
            f"SELECT pgautofailover.set_formation_number_sync_standbys('default', {sync})"
        )
        self.wait_settled(count=len(self.nodes()))
        return self.url()

    def status(self) -> str:
        return self.ctl("show", "state", "--pgdata", str(self.data(MONITOR))).stdout

    def switchover(self) -> str:
        return self.ctl("perform", "switchover", "--pgdata", str(self.data(MONITOR))).stdout

    def stop(self, *, purge: bool = False) -> None:
        """Stop the monitor (no failover decisions while the nodes stop), then every node."""
        if self.exists():
            self._stop([MONITOR])
            self._stop(self.nodes())
        if purge and self.link.exists():
            target = self.pg_dir
            shutil.rmtree(target, ignore_errors=True)
            if self.link.is_symlink():
                self.link.unlink()


def formation(settings: DatabaseSettings, home: Path | None = None) -> Formation:
    return Formation(home=home or PROJECT_ROOT / ".dispatch", settings=settings)
