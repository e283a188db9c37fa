"""The simulated people: assistants (shifts, offers, jobs, driving) and clients (requests, patience)."""

from __future__ import annotations

import asyncio
import math
import random
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from bench.simulate.city import (
    PlannedAssistant,
    PlannedRequest,
    accept_probability,
    answer,
    haversine_km,
    offset,
    toward,
)
from bench.simulate.roads import position_at

if TYPE_CHECKING:
    from bench.simulate.run import World


class Assistant:
    """One tow truck driver: keeps a socket on its channel, works its shifts, answers offers."""

    def __init__(self, world: World, plan: PlannedAssistant, uid: int, token: str):
        self.w = world
        self.plan = plan
        self.uid = uid
        self.token = token
        self.pos = plan.base
        self.on_shift = False
        self.job: PlannedRequest | None = None
        self.spell: dict[str, Any] | None = None  # the idle spell in progress (see report.py)
        self.wake = asyncio.Event()
        self.lock = asyncio.Lock()  # one accept at a time
        self.withdrawn: set[int] = set()
        self.decisions: set[asyncio.Task[None]] = set()
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.rng = random.Random(f"assistant:{world.cfg.seed}:{plan.index}")

    # --- the socket ----------------------------------------------------------------------------

    async def connect(self) -> None:
        w = self.w
        self.ws = await w.session.ws_connect(
            f"{w.base}/ws/assistant/{self.uid}/?token={self.token}", heartbeat=None
        )
        first = await self.ws.receive()
        assert "connection_established" in first.data, first
        w.spawn(self.read())

    async def read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = orjson.loads(msg.data)
            kind = frame.get("type")
            if kind == "new_assistance_request":
                task = asyncio.create_task(self.decide(frame))
                self.decisions.add(task)
                task.add_done_callback(self.decisions.discard)
            elif kind == "offer_withdrawn":
                self.withdrawn.add(frame["assistance_id"])
                self.w.count[f"withdrawn_{frame.get('reason')}"] += 1

    async def send_position(self) -> None:
        # Into the idle spell first: an accept landing during the send must find it there.
        if self.spell is not None:
            self.spell["positions"].append((self.w.now(), *self.pos))
        if self.ws is not None and not self.ws.closed:
            lat, lng = self.pos
            await self.ws.send_str(f'{{"type":"location","lat":{lat!r},"lng":{lng!r}}}')

    # --- offers --------------------------------------------------------------------------------

    async def decide(self, frame: dict[str, Any]) -> None:
        w = self.w
        aid = frame["assistance_id"]
        req = await w.request_for(aid)
        if req is None:
            w.count["offer_for_unknown_request"] += 1
            return
        rec = w.records[req.index]
        rec["offers"] += 1
        w.count[f"offer_eta_{frame.get('eta_source')}"] += 1
        rec["max_round"] = max(rec["max_round"], int(frame.get("offer_round") or 1))
        a = answer(w.cfg.seed, self.plan.index, req.index, w.cfg.behaviour)
        await w.sleep(a.delay_s)
        if aid in self.withdrawn:
            w.count["withdrawn_before_answer"] += 1
            return
        if not self.on_shift or self.job is not None:
            await self.decline(aid, "busy")
            return
        if a.silent:
            w.count["silent"] += 1
            return
        d = haversine_km(self.pos, req.pickup)
        if a.draw < min(1.0, accept_probability(d, w.cfg.behaviour) * self.plan.accept_factor):
            await self.accept(aid, req)
        else:
            await self.decline(aid, "distance")

    async def accept(self, aid: int, req: PlannedRequest) -> None:
        w = self.w
        async with self.lock:
            if self.job is not None or not self.on_shift:
                await self.decline(aid, "busy")
                return
            status, body = await w.call("PATCH", f"/api/assistance/accept/{aid}/", self.token)
            if status != 200:
                w.count[f"accept_{status}_{body.get('code', '')}"] += 1
                return
            t = w.now()
            w.count["accept_200"] += 1
            self.job = req
            self.end_spell(t)
            rec = w.records[req.index]
            if rec["assigned"] is None:
                rec["assigned"] = t
                rec["assistant"] = self.plan.index
                rec["pickup_km"] = haversine_km(self.pos, req.pickup)
                rec["accept_pos"] = self.pos
            w.assigned[req.index].set()
            self.wake.set()

    async def decline(self, aid: int, why: str) -> None:
        w = self.w
        status, _body = await w.call("PATCH", f"/api/assistance/decline/{aid}/", self.token)
        w.count[f"decline_{why}_{status}"] += 1

    # --- a working day -------------------------------------------------------------------------

    def start_spell(self) -> None:
        t = self.w.now()
        self.spell = {"assistant": self.plan.index, "start": t, "end": None,
                      "positions": [(t, *self.pos)]}  # fmt: skip

    def end_spell(self, t: float) -> None:
        if self.spell is not None:
            self.spell["end"] = t
            self.w.spells.append(self.spell)
            self.spell = None

    async def set_active(self, active: bool) -> bool:
        status, _ = await self.w.call(
            "POST", "/api/profile/assistant-status/", self.token, {"is_active": active}
        )
        self.w.count[f"status_{active}_{status}"] += 1
        return status == 200

    async def life(self) -> None:
        w = self.w
        b = w.cfg.behaviour
        for start, end in self.plan.shifts:
            await w.sleep_until(start)
            if w.sim() >= end or not await self.set_active(True):
                continue
            self.on_shift = True
            self.start_spell()
            next_move = w.sim() + self.rng.uniform(*b.reposition_every_s)
            while self.on_shift:
                if self.job is not None:
                    await self.work(self.job, end)
                    next_move = w.sim() + self.rng.uniform(*b.reposition_every_s)
                    continue
                if w.sim() >= end:
                    # Under the accept lock: an accept in flight either lands first (and the job
                    # is done before leaving) or finds the assistant off shift.
                    async with self.lock:
                        if self.job is None:
                            self.on_shift = False
                            self.end_spell(w.now())
                    continue
                self.wake.clear()
                try:
                    await asyncio.wait_for(
                        self.wake.wait(), max(0.0, (min(end, next_move) - w.sim()) / w.f)
                    )
                except TimeoutError:
                    pass
                if self.job is None and end > w.sim() >= next_move:
                    # Idle drivers move on: back towards their usual area, a few km around it.
                    spot = (
                        w.city.spot_near(self.rng, self.plan.base)
                        if w.city is not None
                        else offset(
                            self.plan.base, self.rng.uniform(0, 3), self.rng.uniform(0, 6.3)
                        )
                    )
                    await self.drive(spot, interruptible=True)
                    next_move = w.sim() + self.rng.uniform(*b.reposition_every_s)
            await self.set_active(False)

    async def work(self, req: PlannedRequest, shift_end: float) -> None:
        """Drive to the pickup, load, tow to the garage, unload; then idle again (if on shift)."""
        w = self.w
        b = w.cfg.behaviour
        aid = w.aid_of[req.index]
        await w.sleep(b.start_delay_s)
        await self.drive(req.pickup, interruptible=False)
        status, _ = await w.call("PATCH", f"/api/assistance/update/{aid}/", self.token,
                                 {"status": "ongoing"})  # fmt: skip
        if status == 200:
            w.records[req.index]["started"] = w.now()
            await w.sleep(b.hookup_s)
            await self.drive(req.dropoff, interruptible=False)
            await w.sleep(b.unload_s)
            status, _ = await w.call("PATCH", f"/api/assistance/update/{aid}/", self.token,
                                     {"status": "completed"})  # fmt: skip
            w.count[f"complete_{status}"] += 1
            if status == 200:
                w.records[req.index]["completed"] = w.now()
        else:
            w.count[f"job_gone_{status}"] += 1  # the client canceled meanwhile
        self.job = None
        if w.sim() < shift_end:
            self.start_spell()
        else:
            self.on_shift = False  # at once: no accept may land between the job and going home

    async def drive(self, dest: tuple[float, float], *, interruptible: bool) -> None:
        """Move in a straight line at city speed (along the route in a road city), sending the
        position every `gps_every_s`."""
        w = self.w
        b = w.cfg.behaviour
        origin = self.pos
        if w.city is not None:
            route = w.city.route(origin, dest)
            total = route[-1][0]
            steps = max(1, math.ceil(total / b.gps_every_s))
            for k in range(1, steps + 1):
                await w.sleep(total / steps)
                if interruptible and self.job is not None:
                    return
                self.pos = position_at(route, total * k / steps)
                await self.send_position()
            return
        total = haversine_km(origin, dest) / b.speed_kmh * 3600
        steps = max(1, math.ceil(total / b.gps_every_s))
        for k in range(1, steps + 1):
            await w.sleep(total / steps)
            if interruptible and self.job is not None:
                return  # a job came in: it starts from here
            self.pos = toward(origin, dest, k / steps)
            await self.send_position()


async def client(w: World, req: PlannedRequest, uid: int, token: str) -> None:
    """One stranded driver: asks for help, waits (listening on the request's channel), gives up."""
    b = w.cfg.behaviour
    rec = w.records[req.index]
    await w.sleep_until(req.at_s)
    body = {
        "pickup": {"lat": req.pickup[0], "lng": req.pickup[1]},
        "dropoff": {"lat": req.dropoff[0], "lng": req.dropoff[1]},
        "service_type": req.service_type,
    }
    t0 = w.now()
    status, doc = await w.call("POST", "/api/assistance/request/", token, body)
    rec["created"] = t0
    rec["http_s"] = w.now() - t0
    if status != 201:
        rec["outcome"] = f"http_{status}"
        return
    aid = doc["assistance"]["id"]
    rec["nearby"] = len(doc.get("nearby_assistants") or [])
    w.register(aid, req)
    exhausted = asyncio.Event()
    ws = await w.session.ws_connect(f"{w.base}/ws/assistance/{aid}/?token={token}", heartbeat=None)

    async def listen() -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT and '"search_exhausted"' in msg.data:
                rec["exhausted"] = w.now()
                exhausted.set()

    listener = asyncio.create_task(listen())
    deadline = t0 + req.patience_s / w.f
    assigned = asyncio.create_task(w.assigned[req.index].wait())
    told = asyncio.create_task(exhausted.wait())
    try:
        await asyncio.wait({assigned, told}, timeout=max(0.0, deadline - w.now()),
                           return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        if told.done() and not assigned.done():
            # "Nobody is available": the client reads it and gives up a little later.
            wait = min(b.exhausted_wait_s / w.f, max(0.0, deadline - w.now()))
            await asyncio.wait({assigned}, timeout=wait)
        if rec["assigned"] is not None:
            rec["outcome"] = "assigned"
        else:
            status, _ = await w.call("PATCH", f"/api/assistance/update/{aid}/", token,
                                     {"status": "canceled"})  # fmt: skip
            rec["closed"] = w.now()
            rec["outcome"] = (
                "assigned"  # an accept won the race with the cancel
                if rec["assigned"] is not None
                else ("gave_up_exhausted" if rec["exhausted"] is not None else "gave_up_waiting")
            )
            w.count[f"client_cancel_{status}"] += 1
    except asyncio.CancelledError:
        rec["outcome"] = rec["outcome"] or ("assigned" if rec["assigned"] else "open_at_end")
        raise
    finally:
        for t in (assigned, told, listener):
            t.cancel()
        await ws.close()


def new_record(req: PlannedRequest) -> dict[str, Any]:
    return {
        "index": req.index,
        "at_s": req.at_s,
        "pickup": req.pickup,
        "patience_s": req.patience_s,
        "created": None,
        "http_s": None,
        "nearby": 0,
        "offers": 0,
        "max_round": 0,
        "assigned": None,
        "assistant": None,
        "pickup_km": None,
        "accept_pos": None,
        "exhausted": None,
        "closed": None,
        "started": None,
        "completed": None,
        "outcome": None,
    }
