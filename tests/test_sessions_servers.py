"""Real redis-server and PostgreSQL for the session tests, started here on 127.0.0.1.

Each server runs from a temporary data directory on a free port for the whole test
session and is stopped by its pid at the end. When a server's binaries are missing, its
tests skip saying so; under CI (the CI environment variable set) they fail instead:
`.ci/session-servers.sh` installs them there. Imported by the other test_sessions_*
modules for the `redis_url` and `postgres_dsn` fixtures; the tests below check that the
servers are the real thing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

POSTGRES_BIN = Path("/usr/lib/postgresql")


def _missing(what: str) -> NoReturn:
    message = f"{what} is not installed here (run .ci/session-servers.sh)"
    if os.environ.get("CI"):
        pytest.fail(message + "; under CI these tests must run")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("redis-server")
    pytest.importorskip("redis", reason="redis-py is not installed (the redis extra)")
    folder = tempfile.mkdtemp(prefix="selectools-redis-")
    port = _free_port()
    process = subprocess.Popen(
        [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--dir", folder,
         "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, process, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def _postgres_tools() -> Path | None:
    for candidate in sorted(POSTGRES_BIN.glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "postgres").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("postgres") else None


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    tools = _postgres_tools()
    if tools is None:
        _missing("PostgreSQL (initdb, postgres)")
    pytest.importorskip("asyncpg", reason="asyncpg is not installed (the postgres extra)")
    folder = Path(tempfile.mkdtemp(prefix="selectools-postgres-"))
    data = folder / "data"
    # PostgreSQL refuses to run as root: as root, run it as the postgres user.
    as_user: list[str] = []
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            _missing("a 'postgres' system user (PostgreSQL will not run as root)")
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
    subprocess.run([*as_user, str(tools / "initdb"), "-D", str(data), "-U", "selectools",
                    "--auth=trust", "-E", "UTF8", "--no-sync"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    port = _free_port()
    process = subprocess.Popen(
        [*as_user, str(tools / "postgres"), "-D", str(data), "-p", str(port),
         "-k", str(folder), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
         "-c", "max_connections=300"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, process, "postgres")
        dsn = f"postgresql://selectools@127.0.0.1:{port}/postgres"
        _wait_for_postgres(dsn, process)
        yield dsn
    finally:
        _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], name: str) -> None:
    give_up = time.monotonic() + 30
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on port {port} within 30 s")


def _wait_for_postgres(dsn: str, process: subprocess.Popen[bytes]) -> None:
    import asyncpg  # type: ignore[import-untyped, import-not-found]

    async def ready() -> bool:
        try:
            connection = await asyncpg.connect(dsn, timeout=2)
        except (OSError, asyncpg.PostgresError):
            return False
        await connection.close()
        return True

    give_up = time.monotonic() + 30
    while time.monotonic() < give_up:
        if asyncio.run(ready()):
            return
        if process.poll() is not None:
            raise RuntimeError(f"postgres exited with {process.returncode} at start")
        time.sleep(0.1)
    raise RuntimeError("postgres did not accept connections within 30 s")


def test_redis_is_a_real_server(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    assert client.info("server")["redis_version"]
    client.close()


def test_postgres_is_a_real_server(postgres_dsn: str) -> None:
    import asyncpg  # type: ignore[import-untyped, import-not-found]

    async def version() -> str:
        connection = await asyncpg.connect(postgres_dsn)
        try:
            return str(await connection.fetchval("SHOW server_version"))
        finally:
            await connection.close()

    assert asyncio.run(version())
