"""Server-side page sessions in a service's own ``web_sessions`` table (shared.db.web_sessions_table).

The browser holds only an opaque random id; the table keys rows by its SHA-256, so a copy of the table does not
give anyone a usable cookie. A row holds the provider's tokens (they never reach the browser), when the session
began, was last used and ended, and why it ended: the durable record of sign-ins and sign-outs.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.auth import AuthError, TokenVerifier, User
from shared.db import in_unit_of_work, transaction_lock
from shared.oidc import OidcClient, OidcRefused, OidcUnavailable, TokenSet

log = structlog.get_logger(__name__)

SESSION_COOKIE = "oslonac_session"
SIGNIN_COOKIE = "oslonac_signin"
SIGNIN_TTL_S = 600
REFRESH_MARGIN_S = 60


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    nonce: str
    code_verifier: str
    redirect_uri: str
    return_to: str


@dataclass(frozen=True, slots=True)
class EndedSession:
    sub: str | None
    id_token: str | None


class WebSessions:
    """One service's page sessions."""

    def __init__(self, engine: AsyncEngine, table: Table, *, service: str, idle_timeout_s: int, max_age_s: int) -> None:
        self.engine, self.table, self.service = engine, table, service
        self.idle = timedelta(seconds=idle_timeout_s)
        self.max_age = timedelta(seconds=max_age_s)
        # A session's last use is written at most this often: an idle timeout this coarse, not a write per page.
        self.touch_every = timedelta(seconds=min(60, max(1, idle_timeout_s // 10)))

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        """A short transaction of its own. On SQLite it takes the engine's transaction lock unless this request
        holds it already (its unit of work has not written yet while dependencies are resolved)."""
        lock = transaction_lock(self.engine)
        if lock is not None and not in_unit_of_work():
            async with lock, self.engine.begin() as conn:
                yield conn
        else:
            async with self.engine.begin() as conn:
                yield conn

    # --- sign-ins under way ---------------------------------------------------------------------

    async def begin_sign_in(self, *, state: str, binding: str, pending: PendingSignIn) -> None:
        now = _now()
        signin = {
            "binding": digest(binding),
            "nonce": pending.nonce,
            "code_verifier": pending.code_verifier,
            "redirect_uri": pending.redirect_uri,
            "return_to": pending.return_to,
        }
        async with self._transaction() as conn:
            await conn.execute(
                delete(self.table).where(
                    self.table.c.kind == "signin", self.table.c.created_at < now - timedelta(seconds=SIGNIN_TTL_S)
                )
            )
            await conn.execute(
                insert(self.table).values(
                    id=digest(state), kind="signin", created_at=now, last_seen_at=now, signin=signin
                )
            )

    async def take_sign_in(self, *, state: str, binding: str) -> PendingSignIn | None:
        """The sign-in ``state`` started in this browser (``binding``), once: it is gone afterwards."""
        async with self._transaction() as conn:
            row = (
                await conn.execute(
                    select(self.table).where(self.table.c.id == digest(state), self.table.c.kind == "signin")
                )
            ).first()
            if row is None:
                return None
            await conn.execute(delete(self.table).where(self.table.c.id == row.id))
        signin: dict[str, Any] = row.signin or {}
        if row.created_at < _now() - timedelta(seconds=SIGNIN_TTL_S):
            return None
        if not secrets.compare_digest(str(signin.get("binding", "")), digest(binding)):
            return None
        return PendingSignIn(
            nonce=str(signin["nonce"]),
            code_verifier=str(signin["code_verifier"]),
            redirect_uri=str(signin["redirect_uri"]),
            return_to=str(signin["return_to"]),
        )

    # --- sessions --------------------------------------------------------------------------------

    async def open(self, *, sub: str, tokens: TokenSet) -> str:
        """A new session for ``sub``; the value for the browser's cookie."""
        value = secrets.token_urlsafe(32)
        now = _now()
        async with self._transaction() as conn:
            await conn.execute(
                insert(self.table).values(
                    id=digest(value),
                    kind="session",
                    sub=sub,
                    created_at=now,
                    last_seen_at=now,
                    **_token_values(tokens),
                )
            )
        log.info("audit.auth.signed_in", service=self.service, user=sub, session=digest(value)[:12])
        return value

    async def _load(self, session_id: str) -> Any:
        async with self.engine.connect() as conn:
            return (
                await conn.execute(
                    select(self.table).where(
                        self.table.c.id == session_id, self.table.c.kind == "session", self.table.c.ended_at.is_(None)
                    )
                )
            ).first()

    async def end(self, value: str, reason: str) -> EndedSession | None:
        return await self._end(digest(value), reason)

    async def _end(self, session_id: str, reason: str) -> EndedSession | None:
        async with self._transaction() as conn:
            row = (
                await conn.execute(
                    select(self.table.c.sub, self.table.c.id_token).where(
                        self.table.c.id == session_id, self.table.c.kind == "session", self.table.c.ended_at.is_(None)
                    )
                )
            ).first()
            if row is None:
                return None
            await conn.execute(
                update(self.table)
                .where(self.table.c.id == session_id)
                .values(ended_at=_now(), ended_reason=reason, access_token=None, refresh_token=None, id_token=None)
            )
        event = "audit.auth.signed_out" if reason == "signed_out" else "audit.auth.session_ended"
        log.info(event, service=self.service, user=row.sub, reason=reason, session=session_id[:12])
        return EndedSession(sub=row.sub, id_token=row.id_token)

    async def user_for(self, value: str, verifier: TokenVerifier, oidc: OidcClient | None) -> User | None:
        """The user of the session behind cookie ``value``, refreshing its tokens when they are about to expire;
        None (the session ended, or never was) when they must sign in again."""
        session_id = digest(value)
        row = await self._load(session_id)
        if row is None:
            return None
        now = _now()
        if now - row.last_seen_at > self.idle:
            await self._end(session_id, "idle_timeout")
            return None
        if now - row.created_at > self.max_age:
            await self._end(session_id, "max_age")
            return None
        access_token: str = row.access_token
        expires_at: datetime | None = row.access_expires_at
        if expires_at is not None and expires_at - now < timedelta(seconds=REFRESH_MARGIN_S):
            refreshed = await self._refresh(row, oidc)
            if refreshed is None:
                if expires_at <= now:
                    return None
            elif refreshed == "":
                return None
            else:
                access_token = refreshed
        try:
            user = await verifier.verify_async(access_token)
        except AuthError as exc:
            log.warning("auth.session.token_not_accepted", service=self.service, error=str(exc)[:200])
            await self._end(session_id, "token_refused")
            return None
        if now - row.last_seen_at > self.touch_every:
            async with self._transaction() as conn:
                await conn.execute(update(self.table).where(self.table.c.id == session_id).values(last_seen_at=now))
        return user

    async def _refresh(self, row: Any, oidc: OidcClient | None) -> str | None:
        """The new access token; None when the provider could not be asked (keep the old one while it lasts);
        "" when the session ended because the refresh was refused or impossible."""
        if oidc is None or not row.refresh_token:
            if row.access_expires_at <= _now():
                await self._end(row.id, "expired")
                return ""
            return None
        try:
            tokens = await oidc.refresh(row.refresh_token)
        except OidcUnavailable:
            return None
        except OidcRefused as exc:
            current = await self._load(row.id)  # another request of this session may have refreshed first
            if current is not None and current.refresh_token != row.refresh_token and current.access_token:
                return str(current.access_token)
            log.info("auth.session.refresh_refused", service=self.service, error=str(exc)[:200])
            await self._end(row.id, "refresh_failed")
            return ""
        values = _token_values(tokens)
        if tokens.refresh_token is None:
            values["refresh_token"] = row.refresh_token
        if tokens.id_token is None:
            values["id_token"] = row.id_token
        async with self._transaction() as conn:
            await conn.execute(
                update(self.table)
                .where(self.table.c.id == row.id, self.table.c.refresh_token == row.refresh_token)
                .values(**values)
            )
        log.info("auth.session.refreshed", service=self.service, session=row.id[:12])
        return tokens.access_token


def _token_values(tokens: TokenSet) -> dict[str, Any]:
    return {
        "access_token": tokens.access_token,
        "access_expires_at": datetime.fromtimestamp(tokens.expires_at, UTC),
        "refresh_token": tokens.refresh_token,
        "id_token": tokens.id_token,
    }


__all__ = ["SESSION_COOKIE", "SIGNIN_COOKIE", "EndedSession", "PendingSignIn", "WebSessions", "digest"]
