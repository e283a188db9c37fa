"""Settings: frozen dataclasses read once from environment variables, each with a documented default."""

from __future__ import annotations

import dataclasses
import os
import secrets
import shlex
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean, got {raw!r}")


def _command(raw: str) -> str:
    """A command line to run without a shell: it must split into words as a shell would."""
    if not shlex.split(raw):
        raise ValueError("expected a command")
    return raw.strip()


def setting(env: str, default: Any, doc: str, parse: Callable[[str], Any] | None = None) -> Any:
    """A dataclass field read from the environment variable `env` (docs/configuration.md lists it)."""
    return dataclasses.field(default=default, metadata={"env": env, "doc": doc, "parse": parse})


@dataclasses.dataclass(frozen=True)
class HttpSettings:
    host: str = setting("HOST", "127.0.0.1", "Interface the HTTP server binds to.")
    port: int = setting("PORT", 8000, "TCP port of the HTTP server.")
    workers: int = setting("WORKERS", 1, "Server processes sharing the port (SO_REUSEPORT).")
    max_body_bytes: int = setting(
        "DISPATCH_MAX_BODY_BYTES", 1024 * 1024, "Largest accepted request body; larger gets 413."
    )
    shutdown_timeout: float = setting(
        "DISPATCH_SHUTDOWN_TIMEOUT", 10.0, "Seconds in-flight requests get after SIGTERM."
    )
    body_timeout: float = setting(
        "DISPATCH_BODY_TIMEOUT_S",
        30.0,
        (
            "Seconds a request body may take to arrive in full; slower gets 408 `REQUEST_TIMEOUT`"
            " and the connection is closed."
        ),
    )
    max_json_depth: int = setting(
        "DISPATCH_MAX_JSON_DEPTH",
        32,
        "Deepest nesting of arrays/objects in a JSON body; deeper gets 400 `INVALID_JSON`.",
    )
    log_level: str = setting("DISPATCH_LOG_LEVEL", "INFO", "Log level (DEBUG, INFO, WARNING, ...).")
    access_log: bool = setting(
        "DISPATCH_ACCESS_LOG",
        True,
        "Write one JSON access-log line per request (query strings are never logged).",
        _bool,
    )


@dataclasses.dataclass(frozen=True)
class DatabaseSettings:
    url: str = setting(
        "DATABASE_URL",
        "",
        "libpq URL of an external PostGIS server. Unset: the embedded cluster under .dispatch/pg/.",
    )
    read_url: str = setting(
        "DATABASE_READ_URL",
        "",
        "libpq URL of a replica for analysts' reads (`dispatch export`, `dispatch psql --replica`): "
        "a standby of the HA formation (`dispatch ha url --replica`) or any streaming replica. "
        "Unset: they read the primary.",
    )
    pg_port: int = setting(
        "DISPATCH_PG_PORT",
        0,
        "TCP port of the embedded cluster (127.0.0.1). Unset: chosen once per checkout (5544 "
        "when free) and kept beside the cluster's data.",
    )
    pg_bin: str = setting(
        "DISPATCH_PG_BIN", "/usr/lib/postgresql/15/bin", "Directory of initdb, pg_ctl and postgres."
    )
    pg_user: str = setting(
        "DISPATCH_PG_OS_USER",
        "dispatchpg",
        "Unprivileged OS user that runs the embedded cluster when started as root.",
    )
    ha_port: int = setting(
        "DISPATCH_HA_PORT",
        0,
        "First TCP port of the `dispatch ha` formation (the monitor; the nodes take the next ones). "
        "Unset: free ports from 5760 on, chosen once and kept beside the formation's data.",
    )
    pool_min: int = setting("DISPATCH_DB_POOL_MIN", 1, "Connections a server process keeps open.")
    pool_max: int = setting("DISPATCH_DB_POOL_MAX", 10, "Most connections a server process opens.")
    connect_timeout: float = setting(
        "DISPATCH_DB_CONNECT_TIMEOUT",
        5.0,
        "Seconds to connect to one host of a multi-host DATABASE_URL before the next is tried (a "
        "failed primary's machine may drop packets rather than refuse them).",
    )
    command_timeout: float = setting(
        "DISPATCH_DB_COMMAND_TIMEOUT", 10.0, "Seconds before a database call is abandoned."
    )
    sql_dir: str = setting(
        "DISPATCH_SQL_DIR",
        str(PROJECT_ROOT / "sql"),
        "Directory holding migrations/ and functions/.",
    )


@dataclasses.dataclass(frozen=True)
class AuthSettings:
    jwt_secret: str = setting(
        "DISPATCH_JWT_SECRET",
        "",
        (
            "HMAC key signing tokens (32+ bytes). Unset: generated once into `.dispatch/jwt-"
            "secret` (0600) and shared by local workers; set it in production."
        ),
    )
    access_ttl: int = setting("DISPATCH_ACCESS_TOKEN_TTL", 3600, "Access token lifetime, seconds.")
    refresh_ttl: int = setting(
        "DISPATCH_REFRESH_TOKEN_TTL", 7 * 24 * 3600, "Refresh token lifetime, seconds (7 days)."
    )
    issuer: str = setting("DISPATCH_JWT_ISSUER", "dispatch", "The `iss` claim of issued tokens.")
    revocation_cache_s: float = setting(
        "DISPATCH_REVOCATION_CACHE_S",
        30.0,
        (
            "Seconds a process trusts a token's session as valid before asking the database "
            "again; revocations (logout, reset, reuse, disabled users, from the API or psql) "
            "evict at once through the event bus, and nothing is trusted while the listener is "
            "down. 0: ask every time."
        ),
    )

    def secret(self) -> str:
        return self.jwt_secret or _local_secret("jwt-secret")


@dataclasses.dataclass(frozen=True)
class AccountsSettings:
    code_ttl: int = setting(
        "DISPATCH_CODE_TTL",
        900,
        "Lifetime of one-time verification and reset codes, seconds (15 minutes).",
    )
    code_max_attempts: int = setting(
        "DISPATCH_CODE_MAX_ATTEMPTS",
        5,
        "Wrong tries after which a one-time code is refused (a new one must be requested).",
    )
    rate_limit_window: int = setting(
        "DISPATCH_RATE_LIMIT_WINDOW", 60, "Window of the login/register/code rate limits, seconds."
    )
    rate_limit_per_ip: int = setting(
        "DISPATCH_RATE_LIMIT_PER_IP",
        60,
        "Requests per window and client IP on each login, register and code endpoint (0: off).",
    )
    rate_limit_per_identifier: int = setting(
        "DISPATCH_RATE_LIMIT_PER_IDENTIFIER",
        10,
        (
            "Requests per window and email/phone on the login and code endpoints (`0` switches it"
            " off)."
        ),
    )
    google_client_id: str = setting(
        "DISPATCH_GOOGLE_CLIENT_ID",
        "",
        "OAuth client id Google ID tokens must be issued for (aud). Unset: Google login answers 503.",
    )
    google_jwks_file: str = setting(
        "DISPATCH_GOOGLE_JWKS_FILE",
        "",
        "Read Google's signing keys (JWKS) from this file instead of the URL.",
    )
    google_jwks_url: str = setting(
        "DISPATCH_GOOGLE_JWKS_URL",
        "https://www.googleapis.com/oauth2/v3/certs",
        "Fetch Google's signing keys (JWKS) here when no file is set (cached for an hour).",
    )
    outbox_interval: float = setting(
        "DISPATCH_OUTBOX_INTERVAL",
        1.0,
        "Seconds between two drains of the message outbox (`0`: no drainer in this process).",
    )
    smtp_host: str = setting(
        "DISPATCH_SMTP_HOST",
        "",
        (
            "SMTP server for email. Unset: email is not sent; the log gets a warning with the "
            "masked address (the text only with `DISPATCH_DEV_LOG_CODES`)."
        ),
    )
    smtp_port: int = setting("DISPATCH_SMTP_PORT", 587, "SMTP server port.")
    smtp_user: str = setting("DISPATCH_SMTP_USER", "", "SMTP login (unset: no authentication).")
    smtp_password: str = setting("DISPATCH_SMTP_PASSWORD", "", "SMTP password.")
    smtp_from: str = setting(
        "DISPATCH_SMTP_FROM", "no-reply@dispatch.invalid", "Sender address of emails."
    )
    smtp_starttls: bool = setting(
        "DISPATCH_SMTP_STARTTLS", True, "Upgrade the SMTP connection with STARTTLS.", _bool
    )
    sms_command: str = setting(
        "DISPATCH_SMS_COMMAND",
        "",
        (
            "SMS gateway command, run without a shell: its words (split as a shell would) plus "
            "the phone number as the last argument, the message on stdin, the server's secrets "
            "left out of its environment, its output discarded; exit status 0 is delivered, "
            "anything else (or 30 s without exit) is retried. Wins over the webhook."
        ),
        _command,
    )
    sms_webhook_url: str = setting(
        "DISPATCH_SMS_WEBHOOK_URL",
        "",
        (
            "SMS gateway URL: each SMS is POSTed as JSON `{to, body, id}` with `Idempotency-Key: "
            "outbox-<id>`; a 2xx answer is delivered, anything else (or 10 s without one) is "
            "retried."
        ),
    )
    sms_webhook_token: str = setting(
        "DISPATCH_SMS_WEBHOOK_TOKEN",
        "",
        "Sent as `Authorization: Bearer <token>` to the SMS webhook (unset: no header).",
    )
    dev_log_codes: bool = setting(
        "DISPATCH_DEV_LOG_CODES",
        False,
        (
            "**Development only.** Messages without a gateway (SMS without a command or webhook, "
            "email without SMTP) are logged at INFO with their text, codes included. Off (the "
            "default; `make run` turns it on for the local demo): the log gets a warning with the"
            " masked recipient, never the text."
        ),
        _bool,
    )


def _local_secret(name: str) -> str:
    """A random secret generated once into .dispatch/<name> (0600), shared by all local workers."""
    path = PROJECT_ROOT / ".dispatch" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker won the race
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


@dataclasses.dataclass(frozen=True)
class RealtimeSettings:
    heartbeat: float = setting(
        "DISPATCH_WS_HEARTBEAT",
        20.0,
        "Seconds between WebSocket pings; a peer missing a pong is closed.",
    )
    send_queue: int = setting(
        "DISPATCH_WS_SEND_QUEUE",
        256,
        "Messages buffered per socket; a socket whose queue overflows is closed (code 4008).",
    )
    send_timeout: float = setting(
        "DISPATCH_WS_SEND_TIMEOUT",
        5.0,
        "Seconds one send may take before the socket is closed (code 4008).",
    )
    max_frame_bytes: int = setting(
        "DISPATCH_WS_MAX_FRAME_BYTES", 16384, "Largest accepted incoming WebSocket frame."
    )
    location_flush_ms: int = setting(
        "DISPATCH_LOCATION_FLUSH_MS",
        50,
        "Location frames are written in one batched statement per interval.",
    )
    send_queue_bytes: int = setting(
        "DISPATCH_WS_SEND_QUEUE_BYTES",
        1024 * 1024,
        (
            "Bytes queued for one socket (ours, the transport's and the kernel's send queue) "
            "before it is closed as too slow (code 4008)."
        ),
    )
    chat_per_minute: int = setting(
        "DISPATCH_WS_CHAT_PER_MINUTE",
        30,
        (
            "Chat frames one user may send per minute, in bursts up to as many, counted in one "
            "bucket in the database for all the user's sockets in every server process; beyond, "
            "an `error` frame and the message is dropped (`0`: no limit)."
        ),
    )
    location_history_s: float = setting(
        "DISPATCH_LOCATION_HISTORY_S",
        1.0,
        (
            "Least seconds between two position-history rows of one user from WebSocket frames "
            "(the current position still takes the newest frame of every batch; `0`: one row per "
            "batch)."
        ),
    )
    event_publish_ms: int = setting(
        "DISPATCH_EVENT_PUBLISH_MS",
        200,
        "Milliseconds between publisher passes that number events committed elsewhere (psql, a "
        "process that died after its commit); this process's own requests kick a pass at once.",
    )
    event_poll_ms: int = setting(
        "DISPATCH_EVENT_POLL_MS",
        1000,
        "Milliseconds between the listener's safety-net reads of published events "
        "(it also reads on every wake-up NOTIFY and at every reconnect).",
    )
    event_retention_h: float = setting(
        "DISPATCH_EVENT_RETENTION_H",
        24.0,
        "Hours published events are kept for `?since=` replay before pruning.",
    )
    event_prune_s: float = setting(
        "DISPATCH_EVENT_PRUNE_S", 300.0, "Seconds between two prunings of old events (0: never)."
    )
    replay_max: int = setting(
        "DISPATCH_WS_REPLAY_MAX",
        5000,
        "Most events replayed to one socket for `?since=`; more is answered as replay_truncated.",
    )
    listener_down_503_s: float = setting(
        "DISPATCH_LISTENER_DOWN_503_S",
        5.0,
        "Seconds the event listener may be disconnected before /api/health/ answers 503.",
    )
    drain_events_s: float = setting(
        "DISPATCH_DRAIN_EVENTS_S",
        5.0,
        "On SIGTERM, seconds to wait for the events of finished requests to reach the sockets "
        "before closing them.",
    )


@dataclasses.dataclass(frozen=True)
class DispatchSettings:
    """Tunables of the dispatch core that live in Python (the rest are rows of dispatch.settings)."""

    fleet_feed_s: float = setting(
        "DISPATCH_FLEET_FEED_S",
        1.0,
        (
            "Seconds between two publications of moved assistant positions to the dispatchers' "
            "feed (`/ws/dispatch/`): each assistant at most once per interval in a `positions` frame, "
            "whatever the rate positions arrive at; one process publishes per interval across all"
            " of them. 0: no positions in the feed."
        ),
    )
    console_tile_url: str = setting(
        "DISPATCH_CONSOLE_TILE_URL",
        "",
        (
            "Raster tile URL template (`https://…/{z}/{x}/{y}.png`) drawn under the console's "
            "map (its origin joins the page's CSP img-src). Unset: the console draws the imported "
            "road network, service zones and demand cells and needs no internet access."
        ),
    )
    console_vendor_dir: str = setting(
        "DISPATCH_CONSOLE_VENDOR_DIR",
        "",
        (
            "Folder the set-up installs Leaflet into from the npm registry (`npm install --prefix`),"
            " served under `/console/vendor/`. Unset: `.dispatch/vendor` in the project."
        ),
    )
    offer_driver_interval_ms: int = setting(
        "DISPATCH_OFFER_DRIVER_INTERVAL_MS",
        250,
        (
            "Milliseconds between two passes of each process's offer-round driver "
            "(`dispatch.advance_offer_rounds`); a due round is advanced within about this long of"
            " its deadline. `0`: this process drives no rounds (another process, or `pg_cron`, "
            "must)."
        ),
    )
    offer_driver_batch: int = setting(
        "DISPATCH_OFFER_DRIVER_BATCH",
        100,
        "Most requests one driver pass advances (a full pass is followed by another at once).",
    )
    assignment_driver_interval_ms: int = setting(
        "DISPATCH_ASSIGNMENT_DRIVER_INTERVAL_MS",
        250,
        (
            "Milliseconds between two passes of each process's assignment batch driver (under "
            "the database setting `offer_policy` = `assignment`: expires exclusive offers, runs a "
            "due batch; one process at a time runs it). `0`: not in this process."
        ),
    )
    assignment_max_requests: int = setting(
        "DISPATCH_ASSIGNMENT_MAX_REQUESTS",
        500,
        "Most waiting requests of one service type one assignment batch takes (the rest wait "
        "for the next).",
    )
    eta_refresh_interval_ms: int = setting(
        "DISPATCH_ETA_REFRESH_INTERVAL_MS",
        1000,
        (
            "Milliseconds between two looks of each process for accepted jobs whose assistant "
            "moved (`dispatch.refresh_etas`; the database setting `eta_refresh_s` bounds how "
            "often one job's ETA is recomputed). `0`: not in this process."
        ),
    )


@dataclasses.dataclass(frozen=True)
class TimeSettings:
    booking_poll_s: float = setting(
        "DISPATCH_BOOKING_POLL_S",
        5.0,
        (
            "Seconds between two looks for due bookings to turn into assistance requests (`0`: "
            "not in this process; every process may run it, each booking is converted once)."
        ),
    )
    supply_sample_s: float = setting(
        "DISPATCH_SUPPLY_SAMPLE_S",
        60.0,
        (
            "Seconds between two samples of idle supply per H3 r7 cell into "
            "`dispatch.supply_history` (booking availability); one sample per interval across "
            "processes; `0`: never."
        ),
    )
    history_maintenance_s: float = setting(
        "DISPATCH_HISTORY_MAINTENANCE_S",
        600.0,
        (
            "Seconds between two runs of `dispatch.maintain_position_history()` (daily partitions"
            " created ahead, expired ones dropped); `0`: never in this process."
        ),
    )
    telematics_max_skew_s: float = setting(
        "DISPATCH_TELEMATICS_MAX_SKEW_S",
        120.0,
        "How far in the future a telematics point's recorded_at may be (device clock skew), seconds.",
    )


@dataclasses.dataclass(frozen=True)
class MetricsSettings:
    enabled: bool = setting(
        "DISPATCH_METRICS",
        False,
        (
            "Serve Prometheus metrics at `/metrics`. Off: the route does not exist (404) and "
            "nothing is collected."
        ),
        _bool,
    )
    token: str = setting(
        "DISPATCH_METRICS_TOKEN",
        "",
        (
            "When set, `/metrics` answers only `Authorization: Bearer <this token>` (401 "
            "otherwise). Set it whenever `/metrics` is reachable from outside."
        ),
    )
    probe_s: float = setting(
        "DISPATCH_METRICS_PROBE_S",
        10.0,
        "Seconds between two event-delivery probes of each process (the lag histogram; 0: none).",
    )


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting of the engine, grouped by concern."""

    http: HttpSettings = dataclasses.field(default_factory=HttpSettings)
    db: DatabaseSettings = dataclasses.field(default_factory=DatabaseSettings)
    auth: AuthSettings = dataclasses.field(default_factory=AuthSettings)
    realtime: RealtimeSettings = dataclasses.field(default_factory=RealtimeSettings)
    dispatch: DispatchSettings = dataclasses.field(default_factory=DispatchSettings)
    accounts: AccountsSettings = dataclasses.field(default_factory=AccountsSettings)
    time: TimeSettings = dataclasses.field(default_factory=TimeSettings)
    metrics: MetricsSettings = dataclasses.field(default_factory=MetricsSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(**{name: _group_from_env(group, env) for name, group in _groups().items()})


def _groups() -> dict[str, type[Any]]:
    """The settings groups by attribute name, read off the Settings annotations."""
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in dataclasses.fields(Settings)}


def _parse(raw: str, field: dataclasses.Field[Any]) -> Any:
    parser = field.metadata.get("parse")
    if parser is not None:
        return parser(raw)
    default: object = field.default
    if isinstance(default, bool):
        return _bool(raw)
    if isinstance(default, int):
        return int(raw.strip())
    if isinstance(default, float):
        return float(raw.strip())
    return raw


def _group_from_env(group: type[Any], env: Mapping[str, str]) -> Any:
    values: dict[str, Any] = {}
    for field in dataclasses.fields(group):
        name = field.metadata["env"]
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        try:
            values[field.name] = _parse(raw, field)
        except ValueError as exc:
            raise SettingsError(f"{name}: {exc}") from None
    instance = group(**values)
    _validate(instance)
    return instance


def _validate(group: Any) -> None:
    for field in dataclasses.fields(group):
        value = getattr(group, field.name)
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            raise SettingsError(f"{field.metadata['env']} must not be negative")


def documented_settings() -> list[tuple[str, Any, str]]:
    """(environment variable, default, description) for every setting, for docs and their test."""
    rows = []
    for group in _groups().values():
        for field in dataclasses.fields(group):
            rows.append((field.metadata["env"], field.default, field.metadata["doc"]))
    return rows
