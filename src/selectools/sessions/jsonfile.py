"""JsonFileSessionStore: one JSON file per session in a directory.

A commit writes a temporary file, fsyncs it and renames it over the session's file (a
rename is atomic: a reader or a crash sees the old file or the new one, never half of
one), under a flock(2) of the session's lock file, so that the version check and the
write are one step for every process sharing the directory. A run with a `run_timeout`
waits for that lock (another process's commit) and for the store's thread no longer
than its deadline (selectools._deadline): then nothing is written, and DeadlineReached
says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from urllib.parse import quote, unquote

from ._locks import file_lock, flock_by
from ._thread import StoreThread
from .base import SessionStore, check_ttl, conflict, decode_listed
from .errors import SessionCorruptError, describe
from .record import SessionState, check_id

_LONGEST_NAME = 200


class JsonFileSessionStore(SessionStore):
    """Sessions as `<directory>/<session id>.json` (a namespace prefixes the name).

    A directory selectools 1.3.0 wrote (`<namespace>:<session id>.json`) is read as it is:
    each session moves to its current file at its next commit."""

    def __init__(self, directory: str | os.PathLike[str] = "sessions",
                 default_ttl: float | None = None) -> None:
        self.directory = os.fspath(directory)
        self.default_ttl = check_ttl(default_ttl)
        os.makedirs(self.directory, exist_ok=True)
        self._thread = StoreThread("selectools-jsonfile")

    def _path(self, session_id: str, namespace: str | None, suffix: str = ".json") -> str:
        name = quote(session_id, safe="")
        if namespace:
            name = quote(namespace, safe="") + "@" + name
        if len(name) > _LONGEST_NAME:  # file names have a length limit; ids may be 512
            name = hashlib.sha256(name.encode()).hexdigest()
        return os.path.join(self.directory, name + suffix)

    # -- on the store's thread ---------------------------------------------------------

    def _stored_text(self, session_id: str, namespace: str | None) -> str | None:
        """The session's file, or 1.3.0's file of it when ours does not exist yet."""
        try:
            with open(self._path(session_id, namespace), encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            legacy = self._legacy_file(session_id, namespace)
            return None if legacy is None else legacy[1]
        except UnicodeDecodeError as exc:
            raise SessionCorruptError(f"{describe(session_id, namespace)}: the stored "
                                      f"file is not UTF-8 text ({exc})", session_id,
                                      namespace) from None

    def _legacy_file(self, session_id: str, namespace: str | None) -> tuple[str, str] | None:
        """Where selectools 1.3.0 kept this session (`<namespace>:<id>.json`, unquoted) and
        the file's text, when there is one, it is another file than ours, and it says it
        is this session: read when ours is missing, removed by the next commit.

        1.3.0's names are ambiguous: `support:alice.json` was session 'alice' of namespace
        'support', and also session 'support:alice' without one. A session id is often a
        client's choice (a served chat's id): the file's own session_id and namespace say
        whose it is, so that no id reads, or deletes, another session's file."""
        name = f"{namespace}:{session_id}" if namespace else session_id
        if "/" in name or "\x00" in name or ".." in name or os.path.basename(name) != name:
            return None  # a name 1.3.0 refused: it never wrote one
        path = os.path.join(self.directory, name + ".json")
        if path == self._path(session_id, namespace):
            return None
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            data = json.loads(text)
        except (FileNotFoundError, UnicodeDecodeError, ValueError):
            return None  # gone, or not a 1.3.0 session: none of this session's
        if not isinstance(data, dict) or data.get("session_id") != session_id \
                or (data.get("namespace") or None) != namespace:
            return None
        return path, text

    def _read_now(self, session_id: str, namespace: str | None,
                  left: float | None = None) -> tuple[str | None, int]:
        # (`left`, from StoreThread.call_by, is not needed: a read waits for no lock)
        text = self._stored_text(session_id, namespace)
        if text is None:
            return None, 0
        version, expires_at = _version_of(text)
        if expires_at is not None and expires_at <= time.time():
            return None, version
        return text, version

    def _write_now(self, state: SessionState, expected: int | None,
                   left: float | None = None) -> bool:
        """The commit; with `left` (seconds to the run's deadline), waiting for another
        process's commit of the session no longer than that."""
        import fcntl

        path = self._path(state.session_id, state.namespace)
        fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if left is None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # brief: held for one read and one rename
            else:
                flock_by(fd, time.monotonic() + left, f"{path}.lock")
            if expected is not None:
                current = self._stored_text(state.session_id, state.namespace)
                if (0 if current is None else _version_of(current)[0]) != expected:
                    return False
            temporary = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
            with open(temporary, "w", encoding="utf-8") as handle:
                handle.write(state.encode())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
            self._remove_legacy(state.session_id, state.namespace)  # now migrated
        finally:
            os.close(fd)
        return True

    def _remove_legacy(self, session_id: str, namespace: str | None) -> bool:
        legacy = self._legacy_file(session_id, namespace)
        if legacy is None:
            return False
        try:
            os.remove(legacy[0])
        except FileNotFoundError:
            return False
        return True

    def _remove_now(self, session_id: str, namespace: str | None) -> bool:
        path = self._path(session_id, namespace)
        legacy = self._remove_legacy(session_id, namespace)
        try:
            os.remove(path)
        except FileNotFoundError:
            return legacy
        return True

    def _files(self) -> list[tuple[str, bytes]]:
        """Every `.json` file of the directory: its name and its bytes."""
        found = []
        for name in sorted(os.listdir(self.directory)):
            if name.endswith(".json"):
                try:
                    with open(os.path.join(self.directory, name), "rb") as handle:
                        found.append((name, handle.read()))
                except FileNotFoundError:
                    continue  # deleted meanwhile
        return found

    def _owner(self, name: str, data: object) -> tuple[str, str | None] | None:
        """Whose file `name` (holding `data`, None when it is not JSON) is: the session
        that reading by id would find in it, so that list() and search() see what
        loading does. That is the session its record names when this is that session's
        file (ours, or 1.3.0's); else the session whose file name this is (its record
        then says what is wrong with it); None for a file no session id reaches."""
        path = os.path.join(self.directory, name)
        if isinstance(data, dict):
            session_id, namespace = data.get("session_id"), data.get("namespace") or None
            if isinstance(session_id, str) and (namespace is None
                                                or isinstance(namespace, str)):
                legacy = f"{namespace}:{session_id}" if namespace else session_id
                if self._path(session_id, namespace) == path or legacy + ".json" == name:
                    return session_id, namespace
        quoted_namespace, at, quoted_id = name[:-len(".json")].rpartition("@")
        session_id, namespace = unquote(quoted_id), unquote(quoted_namespace) or None
        if session_id and (namespace or not at) and self._path(session_id, namespace) == path:
            return session_id, namespace
        return None

    # -- the primitives ----------------------------------------------------------------

    async def _read(self, session_id: str, namespace: str | None) -> tuple[str | None, int]:
        return await self._thread.call_in_run(repr(self.directory), self._read_now,
                                              session_id, namespace)

    async def _write(self, state: SessionState, expected: int | None, new_from: int) -> None:
        if not await self._thread.call_in_run(repr(self.directory), self._write_now, state,
                                              expected):
            raise conflict(state, expected)

    async def _remove(self, session_id: str, namespace: str | None) -> bool:
        return await self._thread.call(self._remove_now, session_id, namespace)

    async def _scan(self, namespace: str | None) -> AsyncIterator[SessionState]:
        now = time.time()
        found: dict[tuple[str, str | None], SessionState] = {}
        for name, raw in await self._thread.call(self._files):
            try:
                data = json.loads(raw)
            except ValueError:  # (UnicodeDecodeError included) decode_listed says so
                data = None
            owner = self._owner(name, data)
            if owner is None:
                continue  # a file that is no session's: no id loads it, list skips it
            session_id, stored_namespace = owner
            if namespace is not None and stored_namespace != namespace:
                continue
            expires_at = _head(data)[1]
            if expires_at is not None and expires_at <= now:  # as _read_now reads it
                continue
            state = decode_listed(self, raw, session_id, stored_namespace)
            if state is None:
                continue
            key = (state.session_id, state.namespace)
            # (1.3.0's file of a session and ours both exist only until its next commit,
            # or if a 1.3.0 process still writes it: the newer one is the session.)
            if key not in found or found[key].version < state.version:
                found[key] = state
        for state in found.values():
            yield state

    def lock(self, session_id: str, namespace: str | None = None, *,
             timeout: float | None = None) -> AbstractAsyncContextManager[None]:
        check_id("session_id", session_id, none_ok=False)
        # Not the commit's lock file: flock excludes a second open file of this process
        # too, so a run holding the session could never commit through the same one.
        return file_lock(self._path(session_id, namespace, ".run.lock"), timeout,
                         session_id, namespace)

    async def aclose(self) -> None:
        self._thread.shutdown()


def _version_of(text: str) -> tuple[int, float | None]:
    """The version and expiry of a stored file, read without decoding its messages (0 and
    None when it has none: decode() names the problem when the session is loaded)."""
    try:
        return _head(json.loads(text))
    except ValueError:
        return 0, None


def _head(data: object) -> tuple[int, float | None]:
    """`_version_of` of a file's parsed JSON."""
    if not isinstance(data, dict):
        return 0, None
    version, expires_at = data.get("version"), data.get("expires_at")
    if "memory" in data and "format" not in data:  # selectools 1.3.0's payload
        version = 1
    return (version if isinstance(version, int) and not isinstance(version, bool) else 0,
            expires_at if isinstance(expires_at, (int, float)) else None)
