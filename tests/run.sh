#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a laptop: installs what the tests need into a virtual
# environment of its own (`.venv` in the repository, reused when present; the user's interpreter is never
# touched), starts the servers they need (a throwaway PostgreSQL), runs pytest, and cleans up.
# README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v git >/dev/null || need_apt+=(git)
command -v curl >/dev/null || need_apt+=(curl)   # the README walkthrough (tests/e2e/test_readme.py)
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v docker-compose >/dev/null || need_apt+=(docker-compose)  # `docker-compose config` (tests/unit/test_compose.py)
command -v npm >/dev/null || need_apt+=(nodejs npm)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)  # portal journeys (tests/portal): Playwright drives Debian's chromium
python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "tests/run.sh: please install: ${need_apt[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # The Debian packages start their own services; the tests start what they need themselves.
  service prometheus stop >/dev/null 2>&1 || true
fi

venv="${ROADBED_TEST_VENV:-.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]'
export PATH="$PWD/$venv/bin:$PATH"
export VIRTUAL_ENV="$PWD/$venv"

# The Backstage reference renderer (tests/unit/test_backstage_reference.py): nunjucks pinned by its lock file.
(cd tests/reference/nunjucks && npm ci --no-audit --no-fund --loglevel=error)
# Backstage's entity validators (tests/unit/test_backstage_catalog_model.py): @backstage/catalog-model pinned by its lock file.
(cd tests/reference/catalog-model && npm ci --no-audit --no-fund --loglevel=error)

# openapi-python-client pins an older typer than the CLI needs, so it lives in a venv of its own
# (tests/api/test_openapi.py generates a client from /openapi.json with it).
tools="${venv}-openapi-client"
[ -x "$tools/bin/openapi-python-client" ] || { python3 -m venv "$tools" && "$tools/bin/python" -m pip install -q --disable-pip-version-check 'openapi-python-client>=0.29,<0.30'; }
export OPENAPI_PYTHON_CLIENT="$PWD/$tools/bin/openapi-python-client"

if [ -z "${ROADBED_TEST_POSTGRES_URL:-}" ]; then
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  pg_data=$(mktemp -d /tmp/roadbed-test-pg.XXXXXX)
  pg_port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  [ "$(id -u)" = 0 ] && chown postgres "$pg_data"
  run_pg "$pg_bin/initdb" -D "$pg_data" -A trust -U postgres >/dev/null
  run_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_data/server.log" -w \
    -o "-p $pg_port -k $pg_data -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
  trap 'run_pg "$pg_bin/pg_ctl" -D "$pg_data" -m fast stop >/dev/null 2>&1; rm -rf "$pg_data"' EXIT
  export ROADBED_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$pg_port/postgres"
fi

"$venv/bin/python" -m pytest -q -p no:cacheprovider --durations=25 "$@"  # the 25 slowest: where CI time goes
