"""The embedded default database: a project-local PostGIS cluster under .dispatch/pg/ run by pg_ctl."""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from dispatch.core.config import PROJECT_ROOT, DatabaseSettings

log = logging.getLogger(__name__)

DB_NAME = "dispatch"
SUPERUSER = "postgres"
DEFAULT_PORT = 5544  # the first choice, and the port of clusters made before ports were chosen
_PORT_RANGE = range(5545, 6000)
# Unix socket paths are limited to 107 bytes; leave room for "/.s.PGSQL.NNNNN".
_MAX_SOCKET_DIR = 90


class DevDbError(RuntimeError):
    """The embedded cluster could not be created or started."""


@dataclass(frozen=True)
class Cluster:
    """Where the embedded cluster lives and who runs it."""

    home: Path  # .dispatch/ of the project
    settings: DatabaseSettings

    @property
    def link(self) -> Path:
        return self.home / "pg"

    @property
    def pg_dir(self) -> Path:
        return self.link.resolve()

    @property
    def data_dir(self) -> Path:
        return self.pg_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.pg_dir / "postgres.log"

    @property
    def password_file(self) -> Path:
        # Kept beside the data (not in the checkout) so a re-cloned checkout that finds a
        # relocated cluster also finds its password.
        return self.pg_dir / "password"

    @property
    def os_user(self) -> str | None:
        """The unprivileged user running postgres, or None to run as ourselves."""
        return self.settings.pg_user if os.geteuid() == 0 else None

    @property
    def port_file(self) -> Path:
        # Beside the data, like the password: a re-cloned checkout finding the cluster finds both.
        return self.pg_dir / "port"

    def port(self) -> int:
        """DISPATCH_PG_PORT when set; else this checkout's own port, chosen once and kept, so two
        checkouts on one machine each run their cluster (the first found free from 5544 on)."""
        if self.settings.pg_port:
            return self.settings.pg_port
        if not self.port_file.exists():
            self._ensure_os_user()
            self._ensure_dirs()
            chosen = self._existing_port() or _free_port()
            try:
                fd = os.open(self.port_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                pass  # another process chose first: use its choice
            else:
                with os.fdopen(fd, "w") as fh:
                    fh.write(f"{chosen}\n")
                log.info("embedded cluster port %s (kept in %s)", chosen, self.port_file)
        return int(self.port_file.read_text().strip())

    def _existing_port(self) -> int | None:
        """A cluster made before ports were chosen: the port it runs on, else the old default."""
        if not (self.data_dir / "PG_VERSION").exists():
            return None
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[3])
        except (OSError, ValueError, IndexError):
            return DEFAULT_PORT

    def password(self) -> str:
        if not self.password_file.exists():
            self._ensure_os_user()
            self._ensure_dirs()
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(24))
        return self.password_file.read_text().strip()

    def url(self, dbname: str = DB_NAME) -> str:
        pw = quote(self.password(), safe="")
        return f"postgresql://{SUPERUSER}:{pw}@127.0.0.1:{self.port()}/{dbname}"

    def _bin(self, name: str) -> str:
        path = Path(self.settings.pg_bin) / name
        if not path.exists():
            found = shutil.which(name)
            if not found:
                raise DevDbError(f"{name} not found in {self.settings.pg_bin}; run `make run`")
            return found
        return str(path)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.os_user:
            cmd = ["runuser", "-u", self.os_user, "--", *cmd]
        # A new session keeps Ctrl-C on `make run` from reaching the postmaster.
        proc = subprocess.run(  # noqa: S603
            cmd, capture_output=True, text=True, start_new_session=True, cwd="/", check=False
        )
        if check and proc.returncode != 0:
            raise DevDbError(f"{' '.join(args[:2])} failed:\n{proc.stdout}{proc.stderr}")
        return proc

    # -- set-up -----------------------------------------------------------------------------

    def _ensure_os_user(self) -> None:
        user = self.os_user
        if user is None:
            return
        try:
            pwd.getpwnam(user)
        except KeyError:
            log.info("creating OS user %s for the embedded cluster", user)
            subprocess.run(  # noqa: S603
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],  # noqa: S607
                check=True,
            )

    def _reachable(self, path: Path) -> bool:
        if self.os_user is None:
            return True
        return (
            self._run("test", "-x", str(path), "-a", "-w", str(path), check=False).returncode == 0
        )

    def _ensure_dirs(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if self.link.is_symlink() and not self.link.resolve().exists():
            self.link.unlink()
        if not self.link.exists():
            self.link.mkdir(mode=0o700)
            self._chown(self.link)
        if self.link.is_symlink():
            return
        too_long = len(str(self.link)) > _MAX_SOCKET_DIR
        if too_long or not self._reachable(self.link):
            # The checkout is not traversable by the cluster's user (say, under /root) or too deep
            # for a unix socket: keep the cluster in a short, reachable place and link to it.
            target = self._spill_target()
            target.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(target.parent, 0o755)  # noqa: S103 - traversable parent only
            self._chown(target)
            if any(self.link.iterdir()):
                raise DevDbError(f"{self.link} is not reachable by {self.os_user}; move it away")
            self.link.rmdir()
            self.link.symlink_to(target)
            log.info("embedded cluster lives in %s (linked from %s)", target, self.link)

    def _spill_target(self) -> Path:
        """Where the cluster lives when the checkout is not reachable (or too deep)."""
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        return Path("/var/tmp/dispatch-pg") / digest  # noqa: S108 - private 0700 dir

    def _chown(self, path: Path) -> None:
        if self.os_user:
            entry = pwd.getpwnam(self.os_user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _initdb(self) -> None:
        pwfile = self.pg_dir / ".initpw"
        pwfile.write_text(self.password() + "\n")
        self._chown(pwfile)
        os.chmod(pwfile, 0o600)
        try:
            self._run(
                self._bin("initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--pwfile",
                str(pwfile),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# dispatch engine: embedded cluster\n"
                "max_connections = 300\n"
                "shared_buffers = 256MB\n"
                "unix_socket_permissions = 0700\n"
            )

    def _running(self) -> bool:
        proc = self._run(self._bin("pg_ctl"), "status", "-D", str(self.data_dir), check=False)
        return proc.returncode == 0

    def _clear_stale_pid(self) -> None:
        pidfile = self.data_dir / "postmaster.pid"
        if not pidfile.exists():
            return
        try:
            pid = int(pidfile.read_text().splitlines()[0])
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except (OSError, ValueError, IndexError):
            comm = ""
        if comm not in {"postgres", "postmaster"}:
            log.info("removing stale %s", pidfile)
            pidfile.unlink(missing_ok=True)

    def up(self) -> None:
        """Create the cluster if needed, start it if stopped, ensure the database exists."""
        self._ensure_os_user()
        self._ensure_dirs()
        if not (self.data_dir / "PG_VERSION").exists():
            log.info("initialising the embedded cluster in %s", self.data_dir)
            self._initdb()
        if not self._running():
            self._clear_stale_pid()
            if not self.settings.pg_port and not _port_free(self.port()):
                # Our kept port is now someone else's (another checkout's cluster): move on.
                chosen = _free_port()
                log.info("port %s is in use; the embedded cluster moves to %s", self.port(), chosen)
                self.port_file.write_text(f"{chosen}\n")
            opts = (
                f"-p {self.port()} -c listen_addresses=127.0.0.1 "
                f"-c unix_socket_directories='{self.pg_dir}'"
            )
            proc = self._run(
                self._bin("pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                opts,
                check=False,
            )
            if proc.returncode != 0:
                tail = ""
                if self.log_file.exists():
                    tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-15:])
                raise DevDbError(f"the embedded cluster did not start:\n{proc.stderr}\n{tail}")
        self._ensure_database()

    def _ensure_database(self) -> None:
        psql = [self._bin("psql"), "-h", str(self.pg_dir), "-p", str(self.port())]
        psql += ["-U", SUPERUSER, "-d", "postgres", "-XAtq", "-v", "ON_ERROR_STOP=1"]
        for _ in range(50):
            exists = self._run(*psql, "-c", f"SELECT 1 FROM pg_database WHERE datname='{DB_NAME}'")  # noqa: S608
            if exists.returncode == 0:
                break
            time.sleep(0.1)
        if exists.stdout.strip() != "1":
            self._run(*psql, "-c", f"CREATE DATABASE {DB_NAME}")

    def down(self) -> None:
        if self.data_dir.exists() and self._running():
            self._run(self._bin("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    for port in (DEFAULT_PORT, *_PORT_RANGE):
        if _port_free(port):
            return port
    raise DevDbError("no free port for the embedded cluster in 5544-5999; set DISPATCH_PG_PORT")


def cluster(settings: DatabaseSettings, home: Path | None = None) -> Cluster:
    return Cluster(home=home or PROJECT_ROOT / ".dispatch", settings=settings)


def database_url(settings: DatabaseSettings) -> str:
    """The libpq URL in use: DATABASE_URL when set, else the embedded cluster's."""
    return settings.url or cluster(settings).url()
