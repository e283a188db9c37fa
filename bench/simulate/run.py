"""One policy's simulated day against a real `dispatch serve` process, with its own bench database."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections import Counter, defaultdict
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import orjson

from bench.common import Server, add_extras, bench_database, run, say, tokens_for
from bench.simulate import policies
from bench.simulate.agents import Assistant, client, new_record
from bench.simulate.city import Behaviour, DayPlan, PlannedRequest, plan_day
from bench.simulate.roads import RoadCity, ensure_graph, road_costs, straight_line_ranking
from dispatch.core.config import Settings


@dataclasses.dataclass(frozen=True)
class Config:
    policy: str
    seed: int = 1
    compression: float = 100.0  # simulated seconds per real second
    assistants: int = 60
    per_day: float = 450.0  # requests over a whole day; a window gets its share of the curve
    start_h: float = 0.0
    hours: float = 24.0
    drain_s: float = 1800.0  # simulated time after the window for the last requests to settle
    workers: int = 2
    # Each server process's round driver pass interval (DISPATCH_OFFER_DRIVER_INTERVAL_MS): its
    # 250 ms default would be 25 simulated seconds at 100x.
    driver_interval_ms: int = 20
    sample_every_s: float = 600.0  # supply/demand timeline resolution (simulated)
    city: str = "algiers"  # or "monaco": the road city (bench/simulate/roads.py)
    ranking: str = "road"  # the road city's engine ranking: "road", or "straight" (forced)
    behaviour: Behaviour = dataclasses.field(default_factory=Behaviour)

    @property
    def name(self) -> str:
        """The run's name in the report: the policy, and the ranking in a road city."""
        return self.policy if self.city == "algiers" else f"{self.policy}-{self.ranking}"


class World:
    """Shared state of one run: the clock, the HTTP session, the request records and counters."""

    def __init__(self, cfg: Config, base: str, session: aiohttp.ClientSession):
        self.cfg = cfg
        self.f = cfg.compression
        self.base = base
        self.session = session
        self.t0 = time.monotonic()
        self.start_s = cfg.start_h * 3600
        self.records: list[dict[str, Any]] = []
        self.spells: list[dict[str, Any]] = []
        self.count: Counter[str] = Counter()
        self.assigned: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.known: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.by_aid: dict[int, PlannedRequest] = {}
        self.aid_of: dict[int, int] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.http_latency: list[float] = []
        self.city: RoadCity | None = None

    def now(self) -> float:
        """Real seconds since the simulated window began."""
        return time.monotonic() - self.t0

    def sim(self) -> float:
        """Simulated seconds since midnight."""
        return self.start_s + self.now() * self.f

    async def sleep(self, sim_s: float) -> None:
        await asyncio.sleep(max(0.0, sim_s / self.f))

    async def sleep_until(self, sim_s: float) -> None:
        await asyncio.sleep(max(0.0, (sim_s - self.start_s) / self.f - self.now()))

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def register(self, aid: int, req: PlannedRequest) -> None:
        self.by_aid[aid] = req
        self.aid_of[req.index] = aid
        self.known[aid].set()

    async def request_for(self, aid: int) -> PlannedRequest | None:
        """The planned request behind a server id (an offer frame can beat the POST's answer)."""
        try:
            await asyncio.wait_for(self.known[aid].wait(), 10.0)
        except TimeoutError:
            return None
        return self.by_aid[aid]

    async def call(
        self, method: str, path: str, token: str, body: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """One API call; (status, JSON body) - transport errors count as status 0."""
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        t = time.monotonic()
        try:
            async with self.session.request(
                method, self.base + path, data=orjson.dumps(body or {}), headers=headers
            ) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, OSError) as exc:
            self.count[f"transport_{type(exc).__name__}"] += 1
            return 0, {}
        self.http_latency.append(time.monotonic() - t)
        try:
            doc = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            doc = {}
        return status, doc if isinstance(doc, dict) else {"list": doc}


async def sampler(w: World, fleet: list[Assistant], end_s: float) -> list[list[float]]:
    """(simulated s, on shift, on a job, requests waiting) every `sample_every_s`."""
    out: list[list[float]] = []
    t = w.start_s + w.cfg.sample_every_s / 2  # once the first shift is on
    while t <= end_s:
        await w.sleep_until(t)
        waiting = sum(
            1 for r in w.records if r["created"] is not None and r["outcome"] is None
            and r["assigned"] is None
        )  # fmt: skip
        out.append(
            [t, sum(a.on_shift for a in fleet), sum(a.job is not None for a in fleet), waiting]
        )
        t += w.cfg.sample_every_s
    return out


async def db_figures(conn: asyncpg.Connection, w: World) -> dict[str, Any]:
    """What the server recorded: offers per request and round, and how long rounds really lasted."""
    has_offers = await conn.fetchval("SELECT to_regclass('dispatch.offers') IS NOT NULL")
    if not has_offers or not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM dispatch.offers)"):
        return {"offers_table": False}
    per_request = {
        r["assistance_id"]: r["n"]
        for r in await conn.fetch(
            "SELECT assistance_id, count(*) AS n FROM dispatch.offers GROUP BY 1"
        )
    }
    states = dict(await conn.fetch("SELECT state, count(*) FROM dispatch.offers GROUP BY 1"))
    # When each round really started (dispatch.offer_rounds, one row per round even without
    # offers; else the first offer of the round) against the nominal round length.
    has_rounds = await conn.fetchval("SELECT to_regclass('dispatch.offer_rounds') IS NOT NULL")
    rounds = await conn.fetch(
        """
        SELECT assistance_id, round, extract(epoch FROM started_at) AS sent,
               extract(epoch FROM ends_at - started_at) AS nominal
        FROM dispatch.offer_rounds ORDER BY 1, 2
        """
        if has_rounds
        else """
        SELECT assistance_id, round, extract(epoch FROM min(sent_at)) AS sent,
               extract(epoch FROM min(expires_at) - min(sent_at)) AS nominal
        FROM dispatch.offers GROUP BY 1, 2 ORDER BY 1, 2
        """
    )
    gaps = []  # real seconds between round k and round k+1 of a request, against the nominal
    for a, b in itertools.pairwise(rounds):
        if a["assistance_id"] == b["assistance_id"]:
            gaps.append((float(b["sent"]) - float(a["sent"]), float(a["nominal"])))
    for rec in w.records:
        aid = w.aid_of.get(rec["index"])
        rec["db_offers"] = per_request.get(aid, 0) if aid is not None else 0
    return {"offers_table": True, "states": states, "round_gaps": gaps}


def server_env(cfg: Config) -> dict[str, str]:
    return {
        "DISPATCH_OFFER_DRIVER_INTERVAL_MS": str(cfg.driver_interval_ms),
        "DISPATCH_ASSIGNMENT_DRIVER_INTERVAL_MS": str(cfg.driver_interval_ms),
        # Nothing is in flight once the day is over: do not wait the default 10 s on the way out.
        "DISPATCH_SHUTDOWN_TIMEOUT": "2",
    }


async def simulate(
    cfg: Config, url: str | None = None, plan: DayPlan | None = None
) -> dict[str, Any]:
    """The day under `cfg.policy` on a migrated database (default: `<db>_sim_<policy>`, made if
    needed); its users and requests are replaced by the day's. `plan`: a day to play instead of
    the city's (a recorded day, bench/simulate/replay.py)."""
    settings = Settings.from_env()
    policy = policies.POLICIES[cfg.policy]
    if url is None:
        city_part = "" if cfg.city == "algiers" else cfg.city + "_"
        url = await bench_database(settings, suffix=f"_sim_{city_part}{cfg.name.replace('-', '_')}")
    city = None
    if cfg.city != "algiers":
        await ensure_graph(url)
        city = await RoadCity.load(url)
    b = cfg.behaviour
    plan = plan or plan_day(
        cfg.seed, assistants=cfg.assistants, per_day=cfg.per_day, start_h=cfg.start_h,
        hours=cfg.hours, b=b, places=city,
    )  # fmt: skip
    a_ids, c_ids = await add_extras(
        url, 0, assistants=[a.base for a in plan.assistants], clients=len(plan.requests),
        services=[a.service_type for a in plan.assistants],
    )  # fmt: skip
    patience_max = max((r.patience_s for r in plan.requests), default=b.patience_median_s)
    rows = policy.rows(cfg.compression, patience_max)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("UPDATE dispatch.assistants SET is_active = false")
        await policies.apply(conn, rows)
    finally:
        await conn.close()
    a_tok = tokens_for(settings, a_ids, "assistant")
    c_tok = tokens_for(settings, c_ids, "client")
    async with (
        straight_line_ranking(url, city is not None and cfg.ranking == "straight"),
        Server(url, workers=cfg.workers, env=server_env(cfg)) as server,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session,
    ):
        w = World(cfg, server.base, session)
        w.city = city
        fleet = [Assistant(w, p, u, a_tok[u]) for p, u in zip(plan.assistants, a_ids, strict=True)]
        await asyncio.gather(*(a.connect() for a in fleet))
        w.records = [new_record(r) for r in plan.requests]
        say(f"[{cfg.name} seed {cfg.seed}] {len(fleet)} assistants, {len(plan.requests)} requests, "
            f"{cfg.hours:g} h at {cfg.compression:g}x on {server.base}")  # fmt: skip
        w.t0 = time.monotonic()
        t0_utc = datetime.now(UTC)  # where a replay of this day finds it in the recorded rows
        for a in fleet:
            w.spawn(a.life())
        for r, c in zip(plan.requests, c_ids, strict=True):
            w.spawn(client(w, r, c, c_tok[c]))
        end_s = plan.end_s + cfg.drain_s
        timeline = w.spawn(sampler(w, fleet, plan.end_s))
        await w.sleep_until(end_s)
        wall = w.now()
        samples = timeline.result() if timeline.done() else []
        for task in list(w.tasks):
            task.cancel()
        await asyncio.gather(*w.tasks, return_exceptions=True)
        for a in fleet:
            a.end_spell(wall)  # still idle at the end
            if a.ws is not None:
                await a.ws.close()
        conn = await asyncpg.connect(url)
        try:
            db = await db_figures(conn, w)
        finally:
            await conn.close()
    for rec in w.records:
        rec["outcome"] = rec["outcome"] or ("open_at_end" if rec["created"] else "never_sent")
    # Pickups by road time, with the routing budget restored (the straight run had it at 0).
    road_s = await road_costs(url, w.records, w.spells) if city is not None else None
    return {
        "policy": cfg.name,
        "road_s": road_s,
        "description": policy.description,
        "settings": rows,
        "config": dataclasses.asdict(cfg),
        "wall_s": wall,
        "t0_utc": t0_utc.isoformat(),
        "records": w.records,
        "spells": w.spells,
        "counters": dict(w.count),
        "timeline": samples,
        "db": db,
        "http_latency": w.http_latency,
    }


def run_policy(cfg: Config) -> dict[str, Any]:
    """Entry point of a policy's process."""
    return run(simulate(cfg))  # type: ignore[no-any-return]
