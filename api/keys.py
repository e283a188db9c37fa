"""Typed application keys: every piece of app state lives behind one of these."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from dispatch.config import Settings

SETTINGS = web.AppKey("settings", Settings)
DB_URL = web.AppKey("db_url", str)
POOL = web.AppKey("pool", asyncpg.Pool)
