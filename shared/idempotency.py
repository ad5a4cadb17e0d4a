"""``Idempotency-Key`` on creating POSTs: the same key with the same request replays the first answer.

The key row is written first in the request's own transaction (the route's unit of work), and the answer is
written into it once the response is built, before that transaction commits: state change, key and answer commit
together or not at all, and nothing is sent before the commit (docs/adr/0002-idempotency-keys.md). A service lists
its idempotent operations in its app.py; the routes themselves do not change.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from fastapi import FastAPI, Request
from sqlalchemy import Table, delete, insert, select, text, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import AuthError, TokenVerifier
from shared.db import transaction_hook, utcnow
from shared.errors import Conflict, DomainError, Invalid, field_error
from shared.idempotency_openapi import HEADER, REPLAYED, document_idempotent_operations
from shared.problems import PROBLEM_MEDIA_TYPE, problem_body, problem_response

log = structlog.get_logger(__name__)

_KEY = re.compile(r"[\x20-\x7e]{1,255}")
# Expired rows deleted by each claim, at most (the rest go with the next claims).
_PURGE_BATCH = 100
# Not stored with an answer: the replay gets its own.
_NOT_STORED = {"content-length", "x-correlation-id", "date", "server", REPLAYED.lower()}


class IdempotencyKeyInvalid(DomainError):
    status_code = 400
    code = "idempotency_key_invalid"


class IdempotencyKeyReused(Invalid):
    code = "idempotency_key_reused"


class IdempotencyRequestInProgress(Conflict):
    code = "idempotency_request_in_progress"


@dataclass(frozen=True)
class Answer:
    """A response as sent: status, headers (without the per-response ones) and the body."""

    status_code: int
    headers: list[tuple[str, str]]
    body: str

    def response(self) -> Response:
        response = Response(content=self.body.encode(), status_code=self.status_code)
        response.headers.raw.extend((n.encode("latin-1"), v.encode("latin-1")) for n, v in self.headers)
        response.headers[REPLAYED] = "true"
        return response

    @classmethod
    def from_messages(cls, messages: list[Message]) -> Answer:
        start = next(m for m in messages if m["type"] == "http.response.start")
        headers = [
            (n.decode("latin-1"), v.decode("latin-1"))
            for n, v in start.get("headers", [])
            if n.decode("latin-1").lower() not in _NOT_STORED
        ]
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        return cls(start["status"], headers, body.decode())


class Replay(Exception):
    """Not an error: the way out of a request answered before (its stored answer is sent again)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer


class _BodyDigest:
    """SHA-256 of a request body as it streams in; a multipart boundary (random per request) does not count."""

    MARK = b"\x00boundary\x00"

    def __init__(self, boundary: bytes | None) -> None:
        self._hash = hashlib.sha256()
        self._boundary = boundary
        self._tail = b""
        self.complete = False

    def feed(self, chunk: bytes, more: bool) -> None:
        if self.complete:
            return
        self.complete = not more
        if not self._boundary:
            self._hash.update(chunk)
            return
        data, b = self._tail + chunk, self._boundary
        cut = len(data) - (len(b) - 1) if more else len(data)
        pos = 0
        while (i := data.find(b, pos)) != -1 and i < cut:
            self._hash.update(data[pos:i])
            self._hash.update(self.MARK)
            pos = i + len(b)
        end = max(pos, cut)
        self._hash.update(data[pos:end])
        self._tail = data[end:]

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _boundary(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"content-type" and value.lower().startswith(b"multipart/"):
            found = re.search(rb'boundary="?([^";]+)"?', value)
            return found.group(1) if found else None
    return None


@dataclass
class IdempotentRequest:
    """One POST carrying a key: claims the key in the request's first unit of work and commits it with the answer."""

    table: Table
    principal: str
    operation: str
    key: str
    target: str  # the path and query string, part of what must be the same
    digest: _BodyDigest
    ttl: timedelta
    task: asyncio.Task[Any] | None = None  # the one that claimed the key
    claimed: bool = False
    kept: AsyncExitStack | None = None
    session: AsyncSession | None = None

    # --- the TransactionHook protocol (shared/db.py) -----------------------------------------------------------

    def wants(self) -> bool:
        if self.kept is not None and asyncio.current_task() is self.task:
            # On SQLite it would wait forever for the lock of the transaction kept open.
            raise RuntimeError("an idempotent operation opens a single unit of work")
        return not self.claimed

    async def began(self, session: AsyncSession) -> None:
        self.claimed = True
        self.session = session
        self.task = asyncio.current_task()
        stored = await self.claim(session)
        if stored is not None:
            raise Replay(stored)

    def keep_open(self, transaction: AsyncExitStack) -> None:
        self.kept = transaction

    # --- the key ------------------------------------------------------------------------------------------------

    def fingerprint(self) -> str:
        if not self.digest.complete:  # FastAPI reads the body before it solves the dependencies
            raise RuntimeError("the request body was not read before the unit of work began")
        return hashlib.sha256(f"{self.target}\0{self.digest.hexdigest()}".encode()).hexdigest()

    def _this(self) -> Any:
        t = self.table.c
        return (t.principal == self.principal) & (t.operation == self.operation) & (t.key == self.key)

    def _lock_id(self) -> int:
        digest = hashlib.sha256(f"{self.principal}\0{self.operation}\0{self.key}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    async def claim(self, session: AsyncSession) -> Answer | None:
        """Hold the key in ``session``'s transaction; the stored answer when this request was answered before."""
        fingerprint = self.fingerprint()
        now = utcnow()
        if session.get_bind().dialect.name == "postgresql":
            # A concurrent request with the same key holds this lock until its transaction ends. (On SQLite
            # the transactions of one database already run one at a time.)
            held = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": self._lock_id()})
            if not held:
                raise IdempotencyRequestInProgress(
                    "A request with this Idempotency-Key is being processed; try again in a moment."
                )
        await purge_expired(session, self.table, now)
        row = (await session.execute(select(self.table).where(self._this()))).mappings().first()
        if row is not None and row["expires_at"] > now:
            if row["fingerprint"] != fingerprint:
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was used for another request; use a new key for a new request.",
                    details=[field_error(["header", HEADER], "used for another request")],
                )
            return Answer(row["status_code"], [(n, v) for n, v in row["headers"]], row["body"])
        if row is not None:
            await session.execute(delete(self.table).where(self._this()))
        values = {
            "principal": self.principal,
            "operation": self.operation,
            "key": self.key,
            "fingerprint": fingerprint,
            "created_at": now,
            "expires_at": now + self.ttl,
            "status_code": 0,  # until the answer replaces it, in this same transaction
        }
        try:
            await session.execute(insert(self.table).values(values))
        except IntegrityError as exc:  # not while the lock above holds; another process on one SQLite file
            raise IdempotencyRequestInProgress("A request with this Idempotency-Key is being processed.") from exc
        return None

    async def commit(self, answer: Answer) -> None:
        """Store the answer in the request's transaction and commit it (or roll it all back on failure)."""
        assert self.kept is not None and self.session is not None
        kept, self.kept = self.kept, None
        async with kept:
            await self.session.execute(
                update(self.table)
                .where(self._this())
                .values(status_code=answer.status_code, headers=[list(h) for h in answer.headers], body=answer.body)
            )

    async def abandon(self, exc: BaseException) -> None:
        if self.kept is not None:
            kept, self.kept = self.kept, None
            await kept.__aexit__(type(exc), exc, exc.__traceback__)


async def purge_expired(session: AsyncSession, table: Table, now: datetime) -> None:
    """Delete expired keys: on PostgreSQL a batch, leaving rows another transaction holds for later; on SQLite (one
    writer at a time) all of them, through the index on ``expires_at``."""
    t = table.c
    if session.get_bind().dialect.name != "postgresql":
        await session.execute(delete(table).where(t.expires_at <= now))
        return
    batch = select(t.principal, t.operation, t.key).where(t.expires_at <= now).limit(_PURGE_BATCH)
    batch = batch.with_for_update(skip_locked=True)
    await session.execute(delete(table).where(tuple_(t.principal, t.operation, t.key).in_(batch)))


_ERASED = problem_body(
    410, "idempotent_answer_erased", "The answer to this request held personal data that has since been erased."
)


async def redact_answers_mentioning(session: AsyncSession, table: Table, needle: str) -> None:
    """Replace the stored answers that hold ``needle`` (an erased person's id) by a 410 problem: erasure does not
    wait for the key to expire, and a retry neither shows the data again nor registers it again."""
    await session.execute(
        update(table)
        .where(table.c.body.contains(needle, autoescape=True))
        .values(
            status_code=410,
            headers=[["content-type", PROBLEM_MEDIA_TYPE]],
            body=json.dumps(_ERASED, separators=(",", ":")),
        )
    )


class IdempotencyMiddleware:
    """For a POST to one of ``operations`` with an ``Idempotency-Key``: the key is claimed in the request's unit of
    work (shared/db.py ``transaction_hook``), and the response is held back until its answer is stored in that
    transaction and the transaction has committed."""

    def __init__(self, app: ASGIApp, *, table: Table, operations: Iterable[str], ttl_s: float) -> None:
        self.app = app
        self.table = table
        self.ttl = timedelta(seconds=ttl_s)
        self.operations = [(op, compile_path(op.split(" ", 1)[1])[0]) for op in operations]

    def _operation(self, scope: Scope) -> str | None:
        return next((op for op, regex in self.operations if regex.match(scope["path"])), None)

    async def _principal(self, scope: Scope) -> str | None:
        """The verified subject of the bearer token (keys are per user); None leaves the refusal to the route."""
        verifier: TokenVerifier | None = getattr(scope["app"].state, "verifier", None)
        for name, value in scope["headers"]:
            if name == b"authorization" and value[:7].lower() == b"bearer " and verifier is not None:
                try:
                    return (await verifier.verify_async(value[7:].decode("latin-1").strip())).sub
                except AuthError:
                    return None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        keys = [v.decode("latin-1") for n, v in scope["headers"] if n == b"idempotency-key"]
        operation = self._operation(scope) if keys else None
        if operation is None:
            await self.app(scope, receive, send)
            return
        if len(keys) != 1 or _KEY.fullmatch(keys[0]) is None:
            invalid = problem_response(
                400,
                IdempotencyKeyInvalid.code,
                f"The {HEADER} header must appear once and hold 1 to 255 printable ASCII characters.",
                errors=[field_error(["header", HEADER], "1 to 255 printable ASCII characters")],
            )
            await invalid(scope, receive, send)
            return
        principal = await self._principal(scope)
        if principal is None:
            await self.app(scope, receive, send)
            return
        request = IdempotentRequest(
            table=self.table,
            principal=principal,
            operation=operation,
            key=keys[0],
            target=f"{scope['path']}?{scope.get('query_string', b'').decode('latin-1')}",
            digest=_BodyDigest(_boundary(scope)),
            ttl=self.ttl,
        )
        await self._handle(request, scope, receive, send)

    async def _handle(self, request: IdempotentRequest, scope: Scope, receive: Receive, send: Send) -> None:
        async def digesting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request.digest.feed(message.get("body", b""), message.get("more_body", False))
            return message

        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        token = transaction_hook.set(request)
        try:
            await self.app(scope, digesting_receive, hold)
        except BaseException as exc:
            await request.abandon(exc)
            raise
        finally:
            transaction_hook.reset(token)
        if request.kept is not None:
            try:
                await request.commit(Answer.from_messages(held))
            except Exception as exc:
                # The type only: a database error's text can carry the statement's parameters (the answer).
                log.warning("http.idempotent_commit_failed", operation=request.operation, error=type(exc).__name__)
                held = []
                unavailable = problem_response(
                    503,
                    "unavailable",
                    "The database did not take the change; nothing was saved. Try again shortly.",
                    headers={"Retry-After": "2"},
                )
                await unavailable(scope, receive, send)
                return
        for message in held:
            await send(message)


async def _replay(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Replay)
    return exc.answer.response()


def install_idempotency(app: FastAPI, table: Table, operations: Iterable[str], *, ttl_s: float) -> None:
    """Make the listed operations (``"POST /intake/api/households"``) honour ``Idempotency-Key``."""
    wanted = sorted(set(operations))
    # Innermost (add_middleware would make it outermost): correlation ids and metrics see its answers too.
    app.user_middleware.append(Middleware(IdempotencyMiddleware, table=table, operations=wanted, ttl_s=ttl_s))
    app.add_exception_handler(Replay, _replay)
    document_idempotent_operations(app, wanted)
