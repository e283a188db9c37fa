"""The dispatcher console in a real browser (Debian's chromium via chromium-driver and Selenium),
on the Monaco road graph: a request appears in the queue within a second, its suggestion (road
ETA, labelled, © OpenStreetMap contributors) is assigned with Enter, a chat goes both ways and the
timeline follows. CONSOLE_SCREENSHOT=path saves a screenshot of the end state (docs/console.png)."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import aiohttp
import asyncpg
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from api.app import create_app
from dispatch.accounts.passwords import hash_password
from dispatch.core.db import init_connection
from tests.roads.conftest import monaco, monaco_template  # noqa: F401 - fixtures
from tests.support.apps import serve
from tests.support.browser import PASSWORD, attr, chromium, console_login, text, wait_for
from tests.support.factories import auth_header, create_user

# Monaco, by the harbour: the road graph covers it (tests/roads/conftest.py).
PICKUP = {"lat": 43.7355, "lng": 7.4215}


async def _fleet(conn: asyncpg.Connection) -> dict[str, Any]:
    dispatcher = await create_user(
        conn, role="dispatcher", name="Nora Night", password_hash=await hash_password(PASSWORD)
    )
    spots = [(0.004, 0.002), (-0.006, 0.007), (0.009, -0.004), (0.002, 0.012), (-0.003, -0.008)]
    helpers = [
        await create_user(
            conn,
            role="assistant",
            name=name,
            is_active=True,
            lat=PICKUP["lat"] + dlat,
            lng=PICKUP["lng"] + dlng,
        )
        for name, (dlat, dlng) in zip(
            ["Ana Tow", "Bo Tow", "Cy Tow", "Di Tow", "Ed Tow"], spots, strict=True
        )
    ]
    return {"dispatcher": dispatcher, "helpers": helpers}


async def _exhausted_request(conn: asyncpg.Connection, base: str, settings: Any) -> int:
    """A request whose search ran out: it must head the queue."""
    owner = await create_user(conn, role="client", name="Early Client")
    async with aiohttp.ClientSession() as http:
        async with http.post(
            base + "/api/assistance/request/",
            json={"pickup": {"lat": PICKUP["lat"] + 0.006, "lng": PICKUP["lng"] - 0.01}},
            headers=auth_header(settings, owner),
        ) as resp:
            job_id = int((await resp.json())["assistance"]["id"])
    await conn.execute(
        "UPDATE dispatch.assistance_requests SET searching = false, round_ends_at = NULL, "
        "exhausted_at = now(), created_at = now() - interval '9 minutes' WHERE id = $1",
        job_id,
    )
    return job_id


async def test_console_shift_flow(settings, monaco):  # noqa: F811 - the fixture
    from api.keys import BUS

    conn = await asyncpg.connect(monaco)
    await init_connection(conn)
    browser = chromium()
    try:
        people = await _fleet(conn)
        first = people["helpers"][0].id
        owner = await create_user(conn, role="client", name="Carla Client")
        async with serve(create_app(settings, db_url=monaco)) as client:
            await asyncio.wait_for(client.app[BUS].connected.wait(), 5)
            base = str(client.make_url("")).rstrip("/")
            exhausted = await _exhausted_request(conn, base, settings)
            await asyncio.to_thread(console_login, browser, base, people["dispatcher"].email)
            await asyncio.to_thread(wait_for, browser, lambda b: attr(b, f"req-{exhausted}", "id"))

            # A request appears in the queue within a second, below the exhausted one.
            async with aiohttp.ClientSession() as http:
                async with http.post(
                    base + "/api/assistance/request/",
                    json={"pickup": PICKUP, "description": "Flat battery"},
                    headers=auth_header(settings, owner),
                ) as resp:
                    job_id = int((await resp.json())["assistance"]["id"])
                made = time.monotonic()
                await asyncio.to_thread(
                    wait_for, browser, lambda b: attr(b, f"req-{job_id}", "id"), 5
                )
                seen_after = time.monotonic() - made
                order = await asyncio.to_thread(
                    browser.execute_script,
                    "return [...document.querySelectorAll('#queue-list li')].map(li => li.id)",
                )
                assert order[0] == f"req-{exhausted}", order
                assert "search exhausted" in await asyncio.to_thread(
                    text, browser, f"req-{exhausted}"
                )

                # j/k walk the queue; the suggestion is the first candidate, by road.
                body = browser.find_element(By.TAG_NAME, "body")
                await asyncio.to_thread(body.send_keys, "jj")
                await asyncio.to_thread(
                    wait_for,
                    browser,
                    lambda b: attr(b, "story-title", "data-status") == "requested",
                )
                assert (await asyncio.to_thread(text, browser, "story-title")).startswith(
                    f"#{job_id}"
                )
                await asyncio.to_thread(
                    wait_for, browser, lambda b: attr(b, f"cand-{first}", "class") == "suggested"
                )
                assert attr(browser, f"cand-{first}", "data-source") == "road"
                assert "min (road)" in text(browser, f"cand-{first}")
                assert "© OpenStreetMap contributors" in text(browser, "osm")
                # The road network is drawn, and attributed.
                await asyncio.to_thread(
                    wait_for, browser, lambda b: int(attr(b, "map", "data-roads") or 0) > 50
                )
                assert (
                    "© OpenStreetMap contributors"
                    in browser.find_element(By.CLASS_NAME, "leaflet-control-attribution").text
                )

                # The client listens on the job's channel: the dispatcher's chat must reach it.
                token = auth_header(settings, owner)["Authorization"].split()[1]
                ws = await http.ws_connect(f"{base}/ws/assistance/{job_id}/?token={token}")
                await asyncio.to_thread(body.send_keys, Keys.ENTER)  # assign the suggestion
                await asyncio.to_thread(
                    wait_for,
                    browser,
                    lambda b: attr(b, f"req-{job_id}", "data-status") == "accepted",
                )
                await asyncio.to_thread(
                    wait_for,
                    browser,
                    lambda b: "requested → accepted by dispatcher" in text(b, "timeline"),
                )
                await asyncio.to_thread(body.send_keys, "m")
                chat = browser.find_element(By.ID, "chat-input")
                await asyncio.to_thread(chat.send_keys, "Ana is on her way, 3 minutes.", Keys.ENTER)
                relayed = None
                while relayed is None:
                    frame = await asyncio.wait_for(ws.receive_json(), 5)
                    if frame.get("type") == "chat":
                        relayed = frame
                assert relayed["message"] == "Ana is on her way, 3 minutes."
                assert relayed["sender_role"] == "dispatcher"
                await ws.send_json({"type": "chat", "message": "Thank you, I am by the blue car."})
                await asyncio.to_thread(
                    wait_for, browser, lambda b: "by the blue car" in text(b, "chat"), 10
                )
                await ws.close()
            if os.environ.get("CONSOLE_SCREENSHOT"):
                await asyncio.to_thread(browser.save_screenshot, os.environ["CONSOLE_SCREENSHOT"])
            errors = [
                e
                for e in browser.get_log("browser")
                if e["level"] == "SEVERE" and "favicon" not in e["message"]
            ]
        assert seen_after < 1.0, seen_after
        assert errors == [], errors  # no CSP refusal, no script error
        row = await conn.fetchrow(
            "SELECT status, assistant_id FROM dispatch.assistance_requests WHERE id = $1", job_id
        )
        assert tuple(row) == ("accepted", first)
        said = await conn.fetch(
            "SELECT message FROM dispatch.chat_messages WHERE assistance_id = $1 ORDER BY id",
            job_id,
        )
        assert said[0]["message"] == "Ana is on her way, 3 minutes."
    finally:
        browser.quit()
        await conn.close()


MODULES = ["console.js", "auth.js", "feed.js", "map.js", "queue.js", "story.js", "store.js"]


@pytest.mark.parametrize(
    "path", ["/console/", "/console", "/console/console.css", *[f"/console/{m}" for m in MODULES]]
)
async def test_console_assets_served_without_anything_external(client, path):
    resp = await client.get(path)
    assert resp.status == 200
    text = await resp.text()
    assert "http://" not in text and "https://" not in text  # no CDN, nothing fetched elsewhere
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in resp.headers["Content-Security-Policy"]
    if path.endswith("/console") or path.endswith("/console/"):
        assert resp.content_type == "text/html"
        assert 'src="/console/console.js"' in text and 'href="/console/console.css"' in text
        assert 'src="/console/vendor/leaflet/leaflet.js"' in text


@pytest.mark.parametrize(
    "path", ["/console/other.js", "/console/vendor/leaflet/package.json", "/console/vendor/x/y.js"]
)
async def test_console_unknown_file_is_404(client, path):
    resp = await client.get(path)
    assert resp.status == 404


async def test_leaflet_comes_from_the_vendor_folder(client):
    from api.handlers.console import vendor_dir

    if not (vendor_dir("") / "node_modules/leaflet/dist/leaflet.js").is_file():
        pytest.skip("Leaflet is not installed (make setup installs it from the npm registry)")
    for name, kind in [("leaflet.js", "text/javascript"), ("leaflet.css", "text/css")]:
        resp = await client.get(f"/console/vendor/leaflet/{name}")
        assert resp.status == 200 and resp.content_type == kind


async def test_without_leaflet_the_page_says_so(settings, throwaway_db, tmp_path):
    """An empty vendor folder: Leaflet is 404 and the page explains instead of breaking."""
    import dataclasses

    from api.keys import BUS

    empty = dataclasses.replace(
        settings, dispatch=dataclasses.replace(settings.dispatch, console_vendor_dir=str(tmp_path))
    )
    conn = await asyncpg.connect(throwaway_db)
    await init_connection(conn)
    browser = chromium()
    try:
        dispatcher = await create_user(
            conn, role="dispatcher", password_hash=await hash_password(PASSWORD)
        )
        async with serve(create_app(empty, db_url=throwaway_db)) as client:
            await asyncio.wait_for(client.app[BUS].connected.wait(), 5)
            base = str(client.make_url("")).rstrip("/")
            await asyncio.to_thread(console_login, browser, base, dispatcher.email)
            message = await asyncio.to_thread(text, browser, "map")
        assert "Leaflet" in message and "make setup" in message
    finally:
        browser.quit()
        await conn.close()
