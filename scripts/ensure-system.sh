#!/usr/bin/env bash
# Installs the Debian packages the engine needs (PostgreSQL 15, PostGIS 3, pgTAP, pgRouting; Chromium and its
# WebDriver for the console's browser test) when they are missing.
set -euo pipefail

# pg_prove lives in libtap-parser-sourcehandler-pgtap-perl, only recommended by the pgtap package.
# haproxy is the load balancer in front of two server nodes in the scale-out test.
# pg_auto_failover runs the HA formation of `dispatch ha up` and the failover test (docs/operations.md).
PACKAGES=(postgresql-15 postgresql-15-postgis-3 postgresql-15-pgtap postgresql-15-pgrouting
          libtap-parser-sourcehandler-pgtap-perl
          chromium chromium-driver haproxy postgresql-15-auto-failover pg-auto-failover-cli)
missing=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
{ [ -f /usr/lib/postgresql/15/lib/postgis-3.so ] && [ -f /usr/share/postgresql/15/extension/postgis.control ]; } \
  || missing+=(postgresql-15-postgis-3)
[ -f /usr/share/postgresql/15/extension/pgtap.control ] || missing+=(postgresql-15-pgtap)
# pgRouting ranks candidates by road travel time (sql/migrations/0012_roads.sql).
[ -f /usr/share/postgresql/15/extension/pgrouting.control ] || missing+=(postgresql-15-pgrouting)
command -v pg_prove >/dev/null || missing+=(libtap-parser-sourcehandler-pgtap-perl)
# The console's browser test (tests/test_console_browser.py) drives Debian's Chromium via Selenium.
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
[ -f /usr/share/postgresql/15/extension/pgautofailover.control ] || missing+=(postgresql-15-auto-failover)
command -v pg_autoctl >/dev/null || [ -x /usr/lib/postgresql/15/bin/pg_autoctl ] || missing+=(pg-auto-failover-cli)

if [ -n "${DATABASE_URL:-}" ]; then
  # An external server brings its own PostGIS; only the client tools are needed here.
  missing=()
  command -v psql >/dev/null || missing+=(postgresql-client-15)
  command -v pg_prove >/dev/null || missing+=(libtap-parser-sourcehandler-pgtap-perl)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
fi

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "==> installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${PACKAGES[*]}" >&2
  exit 1
fi
