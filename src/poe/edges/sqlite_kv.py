"""A KeyValueStore in a SQLite file, for the self-hosted mode: its state survives a restart.

What the core keeps in KV (key cool-downs, the rotation counter) is small, written rarely
(a cool-down, at most one counter write per ``KV_PERSIST_SECONDS``) and read once per
``KV_REFRESH_SECONDS``, so each call is a plain synchronous statement on one connection
(microseconds on a local file), not a thread hop. WAL mode lets several processes (e.g.
``uvicorn --workers``) share the file as the Worker's isolates share KV. TTLs as in
Workers KV: an expired value reads as absent, and expired rows are deleted as writes go.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["SqliteKV"]

_SCHEMA = "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL)"
_PURGE_EVERY = 100  # writes between deletions of expired rows


class SqliteKV:
    """``get``/``put`` with TTLs over a SQLite file (``":memory:"`` for a throwaway one)."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._writes = 0
        # autocommit (isolation_level=None): every put is durable on return
        self._db = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=False)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    async def get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value, expires FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        value, expires = row
        if expires is not None and expires <= self._clock():
            return None
        return str(value)

    async def put(self, key: str, value: str, ttl: int | None = None) -> None:
        now = self._clock()
        expires = now + ttl if ttl else None
        self._db.execute(
            "INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires",
            (key, value, expires),
        )
        self._writes += 1
        if self._writes % _PURGE_EVERY == 0:
            self._db.execute("DELETE FROM kv WHERE expires IS NOT NULL AND expires <= ?", (now,))

    def close(self) -> None:
        self._db.close()
