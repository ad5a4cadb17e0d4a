"""aiosqlite's interface, run on the event loop's own thread.

aiosqlite sends every call (cursor, execute, fetch, close, commit) to a worker thread and back; a
registration makes about twenty such trips, which costs more CPU than the SQL. In WAL mode with
``synchronous=NORMAL`` a SQLite call takes microseconds, so the embedded default runs them inline.
Transactions are serialised per engine by ``shared.db.unit_of_work`` (SQLite has one writer anyway), so a
coroutine never waits on a write lock held by another coroutine of the same loop. Another process writing the
same file (``oslonac outbox-replay``, ``oslonac migrate``) can make a call wait up to the 5 s busy timeout, and
the loop with it: those are operator commands, not the hot path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite


class InlineConnection(aiosqlite.Connection):
    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def inline_creator(path: str, *, timeout: float = 5.0) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine`` that opens ``path`` with an inline connection."""

    async def create() -> InlineConnection:
        def connector() -> sqlite3.Connection:
            return sqlite3.connect(path, timeout=timeout, check_same_thread=False)

        return await InlineConnection(connector)

    return create
