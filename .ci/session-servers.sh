#!/bin/sh
# What the session tests need on a Debian host: redis-server and PostgreSQL (the tests start
# and stop their own servers on 127.0.0.1, in temporary data directories, on free ports),
# and the Python clients of the `redis` and `postgres` extras.
set -eu
missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi
PYTHON="${PYTHON:-.venv/bin/python}"
"$PYTHON" -c "import redis, asyncpg" 2>/dev/null || "$PYTHON" -m pip install -q redis asyncpg
