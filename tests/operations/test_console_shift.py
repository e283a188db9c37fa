"""A night shift's interruptions, in a real browser (Debian's chromium through Selenium): access
tokens expiring every few seconds are renewed without the dispatcher noticing, and a server restart
loses no event — the page reconnects with ?since=<last seq> and the server replays what it missed."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from pathlib import Path

import aiohttp
import asyncpg
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from api.app import create_app
from dispatch.accounts.passwords import hash_password
from dispatch.core.db import init_connection
from tests.support.apps import serve
from tests.support.assist import PICKUP
from tests.support.browser import PASSWORD, attr, chromium, console_login, wait_for
from tests.support.factories import auth_header, create_user
from tests.support.servers import free_port, healthy, spawn, stop

STATE = "return window.dispatchConsole[arguments[0]]"


async def _request(base: str, headers: dict[str, str], dlat: float = 0.0) -> int:
    async with aiohttp.ClientSession() as http:
        pickup = {"lat": PICKUP["lat"] + dlat, "lng": PICKUP["lng"]}
        async with http.post(
            base + "/api/assistance/request/", json={"pickup": pickup}, headers=headers
        ) as resp:
            assert resp.status == 201, await resp.text()
            return int((await resp.json())["assistance"]["id"])


async def test_tokens_expiring_mid_shift_go_unnoticed(settings, throwaway_db):
    """Access tokens of 4 s: the page renews each before it expires, keeps its socket, and the
    dispatcher's next actions (load a request, assign with Enter) just work."""
    from api.keys import BUS

    short = dataclasses.replace(settings, auth=dataclasses.replace(settings.auth, access_ttl=4))
    conn = await asyncpg.connect(throwaway_db)
    await init_connection(conn)
    browser = chromium()
    try:
        dispatcher = await create_user(
            conn, role="dispatcher", password_hash=await hash_password(PASSWORD)
        )
        helper = await create_user(
            conn, role="assistant", is_active=True, lat=PICKUP["lat"] + 0.004, lng=PICKUP["lng"]
        )
        owner = await create_user(conn, role="client")
        async with serve(create_app(short, db_url=throwaway_db)) as client:
            await asyncio.wait_for(client.app[BUS].connected.wait(), 5)
            base = str(client.make_url("")).rstrip("/")
            await asyncio.to_thread(console_login, browser, base, dispatcher.email)
            first = browser.execute_script("return sessionStorage.getItem('dispatch.token')")
            # Three lifetimes pass: three silent renewals, the feed untouched.
            await asyncio.to_thread(
                wait_for, browser, lambda b: b.execute_script(STATE, "refreshes") >= 3, 30
            )
            assert browser.execute_script("return document.getElementById('app').hidden") is False
            assert browser.execute_script("return document.getElementById('login').hidden") is True
            assert attr(browser, "feed-state", "data-state") == "live"
            assert browser.execute_script(STATE, "connects") == [0]  # never reconnected
            assert (
                browser.execute_script("return sessionStorage.getItem('dispatch.token')") != first
            )

            job_id = await _request(base, auth_header(settings, owner))
            await asyncio.to_thread(wait_for, browser, lambda b: attr(b, f"req-{job_id}", "id"))
            body = browser.find_element(By.TAG_NAME, "body")
            await asyncio.to_thread(body.send_keys, "j")
            await asyncio.to_thread(
                wait_for, browser, lambda b: attr(b, f"cand-{helper.id}", "class") == "suggested"
            )
            await asyncio.to_thread(body.send_keys, Keys.ENTER)
            await asyncio.to_thread(
                wait_for, browser, lambda b: attr(b, f"req-{job_id}", "data-status") == "accepted"
            )
            assert (
                browser.execute_script("return document.getElementById('login-error').innerText")
                == ""
            )
        status = await conn.fetchval(
            "SELECT status FROM dispatch.assistance_requests WHERE id = $1", job_id
        )
        assert status == "accepted"
    finally:
        browser.quit()
        await conn.close()


async def test_a_server_restart_mid_shift_misses_no_event(settings, throwaway_db, tmp_path: Path):
    """The console's server stops; meanwhile another node takes a new request and cancels an old
    one; the server comes back on its port: the page says it is reconnecting, then replays both
    events through ?since= (no snapshot reload) and shows the queue as it is."""
    conn = await asyncpg.connect(throwaway_db)
    await init_connection(conn)
    browser = chromium()
    port = free_port()
    env = {"DISPATCH_SHUTDOWN_TIMEOUT": "2", "DISPATCH_DRAIN_EVENTS_S": "0.5"}
    console_node = spawn(throwaway_db, port=port, env=env)
    other_node = spawn(throwaway_db, env=env)
    try:
        dispatcher = await create_user(
            conn, role="dispatcher", password_hash=await hash_password(PASSWORD)
        )
        first_client = await create_user(conn, role="client")
        second_client = await create_user(conn, role="client")
        await healthy(console_node.base, listener=True)
        await healthy(other_node.base, listener=True)
        await asyncio.to_thread(console_login, browser, console_node.base, dispatcher.email)
        old = await _request(other_node.base, auth_header(settings, first_client))
        await asyncio.to_thread(wait_for, browser, lambda b: attr(b, f"req-{old}", "id"))
        seen_before = browser.execute_script(STATE, "lastSeq")

        await asyncio.to_thread(stop, console_node.proc)
        await asyncio.to_thread(
            wait_for,
            browser,
            lambda b: attr(b, "feed-state", "data-state") in ("reconnecting", "down"),
        )
        if os.environ.get("CONSOLE_SCREENSHOT"):
            shot = Path(os.environ["CONSOLE_SCREENSHOT"]).with_name("console-reconnecting.png")
            await asyncio.to_thread(browser.save_screenshot, str(shot))
        new = await _request(other_node.base, auth_header(settings, second_client), 0.01)
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{other_node.base}/api/dispatch/requests/{old}/cancel/",
                json={"reason": "client called: solved"},
                headers=auth_header(settings, dispatcher),
            ) as resp:
                assert resp.status == 200

        console_node = spawn(throwaway_db, port=port, env=env)
        await healthy(console_node.base, listener=True)
        await asyncio.to_thread(
            wait_for, browser, lambda b: attr(b, "feed-state", "data-state") == "live", 30
        )
        await asyncio.to_thread(wait_for, browser, lambda b: attr(b, f"req-{new}", "id"), 10)
        await asyncio.to_thread(wait_for, browser, lambda b: attr(b, f"req-{old}", "id") is None)
        seqs = browser.execute_script(STATE, "seqs")
        missed = await conn.fetchval(  # published while the console's server was away
            "SELECT count(*) FROM dispatch.events WHERE topic = 'dispatch' AND seq > $1",
            seen_before,
        )
        connects = browser.execute_script(STATE, "connects")
        assert browser.execute_script(STATE, "loads") == 1  # replayed, not reloaded
        assert connects[0] == 0 and connects[-1] >= seen_before > 0, connects
        assert seqs == sorted(set(seqs))  # each event once, in order
        assert len([s for s in seqs if s > seen_before]) >= missed >= 2
        assert browser.execute_script("return document.getElementById('app').hidden") is False
    finally:
        browser.quit()
        stop(console_node.proc)
        stop(other_node.proc)
        await conn.close()
