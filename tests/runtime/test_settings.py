"""Settings: parsed from the environment, validated, and every one documented in the README."""

from __future__ import annotations

import pytest

from dispatch.core.config import PROJECT_ROOT, Settings, SettingsError, documented_settings


def test_defaults():
    s = Settings.from_env({})
    assert (s.http.host, s.http.port, s.http.workers) == ("127.0.0.1", 8000, 1)
    assert s.http.max_body_bytes == 1024 * 1024
    assert s.db.url == "" and s.db.pg_port == 0  # 0: chosen per checkout (devdb)


def test_values_are_parsed():
    s = Settings.from_env(
        {"PORT": "9001", "DISPATCH_ACCESS_LOG": "no", "DATABASE_URL": "postgres://x"}
    )
    assert s.http.port == 9001 and s.http.access_log is False and s.db.url == "postgres://x"


@pytest.mark.parametrize(
    "env", [{"PORT": "eighty"}, {"WORKERS": "-2"}, {"DISPATCH_ACCESS_LOG": "maybe"}]
)
def test_bad_values_are_refused(env):
    with pytest.raises(SettingsError):
        Settings.from_env(env)


def test_settings_are_frozen():
    s = Settings.from_env({})
    with pytest.raises(AttributeError):
        s.http.port = 1  # type: ignore[misc]


def test_every_setting_is_documented_in_the_readme():
    readme = (PROJECT_ROOT / "README.md").read_text()
    missing = [env for env, _, _ in documented_settings() if f"`{env}`" not in readme]
    assert missing == []
