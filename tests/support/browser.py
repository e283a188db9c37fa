"""A real browser for tests: Debian's Chromium, headless, driven by Selenium through chromium-driver."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

PASSWORD = "console-password"


def chromium() -> webdriver.Chrome:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "run scripts/ensure-system.sh: chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,900", "--force-device-scale-factor=1"):  # fmt: skip
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def wait_for(browser: webdriver.Chrome, check: Callable[[Any], Any], timeout: float = 15) -> Any:
    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(check)


def attr(browser: webdriver.Chrome, element_id: str, name: str) -> str | None:
    """An attribute read in one step (the lists are re-rendered on every feed frame, so a found
    element can go stale before a second call reads it)."""
    value: str | None = browser.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.getAttribute(arguments[1]) : null",
        element_id,
        name,
    )
    return value


def text(browser: webdriver.Chrome, element_id: str) -> str:
    value: str = browser.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.innerText : ''", element_id
    )
    return value


def console_login(browser: webdriver.Chrome, base: str, email: str) -> None:
    """Open the console, log in as a dispatcher, wait for the live feed."""
    browser.get(base + "/console/")
    browser.find_element(By.ID, "email").send_keys(email)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login-button").click()
    wait_for(browser, lambda b: attr(b, "feed-state", "data-state") == "live")
