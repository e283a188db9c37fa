"""The dispatcher console in a real browser (Debian's chromium via chromium-driver and Selenium):
log in, see a new request on the map within a second, assign it with two clicks on the map, see
the status change. CONSOLE_SCREENSHOT=path saves a screenshot of the end state (docs/console.png)."""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.request
from typing import Any

import asyncpg
import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from api.app import create_app
from dispatch.accounts.passwords import hash_password
from dispatch.core.db import init_connection
from tests.support.apps import serve
from tests.support.assist import PICKUP
from tests.support.browser import PASSWORD, chromium
from tests.support.factories import auth_header, create_user


def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _click_marker(browser: webdriver.Chrome, kind: str, ident: int) -> None:
    """Click the canvas where the console drew this marker (offsets are from the centre)."""
    canvas = browser.find_element(By.ID, "map")
    spot = browser.execute_script(
        "return window.dispatchConsole.drawn.find(d => d.kind === arguments[0] && d.id === arguments[1])",
        kind,
        ident,
    )
    assert spot is not None, f"no {kind} {ident} on the map"
    size = canvas.size
    ActionChains(browser).move_to_element_with_offset(
        canvas, int(spot["x"] - size["width"] / 2), int(spot["y"] - size["height"] / 2)
    ).click().perform()


def _attr(browser: webdriver.Chrome, element_id: str, name: str) -> str | None:
    """An attribute read in one step (the lists are re-rendered on every feed frame, so a found
    element can go stale before a second call reads it)."""
    value: str | None = browser.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.getAttribute(arguments[1]) : null",
        element_id,
        name,
    )
    return value


def _flow(base: str, dispatcher_email: str, client_headers: dict[str, str], helper_id: int) -> dict:
    browser = chromium()
    try:
        wait = WebDriverWait(browser, 15, poll_frequency=0.05)
        browser.get(base + "/console/")
        browser.find_element(By.ID, "email").send_keys(dispatcher_email)
        browser.find_element(By.ID, "password").send_keys(PASSWORD)
        browser.find_element(By.ID, "login-button").click()
        wait.until(lambda b: b.find_element(By.ID, "feed-state").text == "live")
        wait.until(lambda b: _attr(b, f"asst-{helper_id}", "id"))

        created = _post(base + "/api/assistance/request/", {"pickup": PICKUP}, client_headers)
        job_id = created["assistance"]["id"]
        made = time.monotonic()
        wait.until(
            lambda b: b.execute_script(
                "return window.dispatchConsole.drawn.some(d => d.kind === 'request' && d.id === arguments[0])",
                job_id,
            )
        )
        seen_after = time.monotonic() - made
        assert _attr(browser, f"req-{job_id}", "data-status") == "requested"

        _click_marker(browser, "request", job_id)  # first click: the request ...
        wait.until(lambda b: "selected" in (_attr(b, f"req-{job_id}", "class") or ""))
        # The request's candidates, soonest first with their ETA (no road graph here: straight line).
        wait.until(lambda b: _attr(b, f"cand-{helper_id}", "data-source") == "straight_line")
        assert "min (straight line)" in browser.find_element(By.ID, f"cand-{helper_id}").text
        _click_marker(browser, "assistant", helper_id)  # ... second click: the assistant
        wait.until(lambda b: _attr(b, f"req-{job_id}", "data-status") == "accepted")
        # The feed's status frame marks the assistant busy on the map and in the fleet list.
        wait.until(lambda b: _attr(b, f"asst-{helper_id}", "data-state") == "busy")
        jobs = browser.execute_script("return document.getElementById('jobs-list').innerText")
        message = browser.execute_script("return document.getElementById('message').innerText")
        if os.environ.get("CONSOLE_SCREENSHOT"):
            browser.save_screenshot(os.environ["CONSOLE_SCREENSHOT"])
        return {"job_id": job_id, "seen_after": seen_after, "jobs": jobs, "message": message}
    finally:
        browser.quit()


async def test_console_login_live_request_and_two_click_assign(settings, throwaway_db):
    from api.keys import BUS

    conn = await asyncpg.connect(throwaway_db)
    await init_connection(conn)
    try:
        dispatcher = await create_user(
            conn, role="dispatcher", password_hash=await hash_password(PASSWORD)
        )
        helper = await create_user(
            conn, role="assistant", is_active=True, lat=PICKUP["lat"] + 0.004, lng=PICKUP["lng"]
        )
        owner = await create_user(conn, role="client")
        async with serve(create_app(settings, db_url=throwaway_db)) as client:
            await asyncio.wait_for(client.app[BUS].connected.wait(), 5)
            base = str(client.make_url("")).rstrip("/")
            # Selenium blocks: it runs in a thread while this loop serves the console.
            result = await asyncio.to_thread(
                _flow, base, dispatcher.email, auth_header(settings, owner), helper.id
            )
        assert result["seen_after"] < 1.0, result
        assert f"#{result['job_id']}" in result["jobs"] and "accepted" in result["jobs"]
        assert f"assigned to assistant #{helper.id}" in result["message"]
        row = await conn.fetchrow(
            "SELECT status, assistant_id FROM dispatch.assistance_requests WHERE id = $1",
            result["job_id"],
        )
        assert tuple(row) == ("accepted", helper.id)
        reason = await conn.fetchval(
            "SELECT reason FROM dispatch.assistance_events WHERE assistance_id = $1 "
            "AND to_status = 'accepted'",
            result["job_id"],
        )
        assert reason == "assigned from the console"
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "path", ["/console/", "/console", "/console/console.js", "/console/console.css"]
)
async def test_console_assets_served_without_anything_external(client, path):
    resp = await client.get(path)
    assert resp.status == 200
    text = await resp.text()
    assert "http://" not in text and "https://" not in text  # no CDN, nothing fetched elsewhere
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    if path.endswith("/console") or path.endswith("/console/"):
        assert resp.content_type == "text/html"
        assert 'src="/console/console.js"' in text and 'href="/console/console.css"' in text


async def test_console_unknown_asset_is_404(client):
    resp = await client.get("/console/other.js")
    assert resp.status == 404
