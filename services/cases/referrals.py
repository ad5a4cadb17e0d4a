"""Referrals from cases to providers: sent from a case, answered by the provider's municipality."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases import repository
from services.cases.casework import case_for
from services.cases.domain import (
    ACTIVE_STATUSES,
    REFERRAL_TRANSITIONS,
    Agreement,
    IllegalReferralStep,
    ReferralStatus,
    capacity_refusal,
    check_referral_step,
    referral_refusal,
)
from services.cases.models import Agreement as AgreementRow
from services.cases.models import Provider, Referral
from services.cases.registries import provider_event
from services.cases.schemas import ReferralCreate, ReferralDecision
from services.cases.service import timeline_row
from shared.auth import Role, User
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, Invalid, NotFound, field_error
from shared.events import ReferralDecidedV1, ReferralRequestedV1
from shared.messaging.outbox import OutboxWriter


class ReferralRefused(Conflict):
    code = "referral_refused"


def _full(provider: Provider) -> dict[str, Any]:
    return {"reason": "provider_full", "capacity": provider.capacity, "occupancy": provider.occupancy}


def _provider_full(message: str, provider: Provider) -> ReferralRefused:
    return ReferralRefused(
        message,
        reason="provider_full",
        params={"taken": provider.occupancy, "capacity": provider.capacity},
        details=_full(provider),
    )


def _agreements(rows: Sequence[AgreementRow]) -> list[tuple[AgreementRow, Agreement]]:
    return [(a, repository.agreement_terms(a)) for a in rows]


def _referral_event(r: Referral, household_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    return {
        "case_id": r.case_id,
        "household_id": household_id,
        "municipality_code": r.case_municipality_code,
        "referral_id": r.id,
        "provider_id": r.provider_id,
        "service_type": r.service_type,
        "provider_municipality_code": r.provider_municipality_code,
        "cross_border": r.case_municipality_code != r.provider_municipality_code,
        **extra,
    }


async def refer(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, case_id: uuid.UUID, data: ReferralCreate
) -> Referral:
    """Refer the case (or one member) to a provider: same municipality, or one an agreement covers for the
    service; a full provider refuses. Refusals are 409s that say why."""
    case = await case_for(session, user, case_id, work=True)
    if case.status not in ACTIVE_STATUSES:
        raise Conflict(
            f"A case in state '{case.status}' makes no referrals; reopen it first.",
            reason="case_not_worked",
            params={"current": case.status},
        )
    provider = await repository.get_provider(session, data.provider_id)
    if provider is None or not provider.active:
        raise Invalid(
            "No such provider in the registry (or it no longer works).",
            reason="unknown_provider",
            details=[field_error(["body", "provider_id"], "Choose a provider from the registry.", "choose_provider")],
        )
    if data.person_id is not None:
        members = {m.person_id: m for m in await repository.members_of(session, case.id)}
        member = members.get(data.person_id)
        if member is None or member.erased:
            raise Invalid(
                "This person is not a member of the household.",
                reason="not_a_member",
                details=[field_error(["body", "person_id"], "Choose a member of the household.", "choose_member")],
            )
    if case.case_work_consent_withdrawn and not (data.legal_basis and data.legal_basis.strip()):
        raise Invalid(
            "Consent to case work was withdrawn: record the legal basis of this referral.",
            reason="legal_basis_needed",
            details=[
                field_error(
                    ["body", "legal_basis"], "Needed while consent to case work is withdrawn.", "needed_without_consent"
                )
            ],
        )
    today = date.today()
    agreements = _agreements(await repository.list_agreements(session))
    refusal = referral_refusal(
        case_municipality=case.municipality_code,
        provider_municipality=provider.municipality_code,
        service_type=provider.service_type,
        agreements=[a for _, a in agreements],
        on=today,
    )
    if refusal:
        raise ReferralRefused(
            refusal,
            reason="no_referral_agreement",
            params={
                "date": today.isoformat(),
                "service": provider.service_type,
                "from": case.municipality_code,
                "to": provider.municipality_code,
            },
            details={
                "reason": "no_agreement",
                "case_municipality_code": case.municipality_code,
                "provider_municipality_code": provider.municipality_code,
                "service_type": provider.service_type,
                "on": today.isoformat(),
            },
        )
    full = capacity_refusal(capacity=provider.capacity, occupancy=provider.occupancy)
    if full:
        raise _provider_full(full, provider)
    agreement_id = None
    if case.municipality_code != provider.municipality_code:
        agreement_id = next(
            row.id
            for row, a in agreements
            if referral_refusal(
                case_municipality=case.municipality_code,
                provider_municipality=provider.municipality_code,
                service_type=provider.service_type,
                agreements=[a],
                on=today,
            )
            is None
        )
    now = utcnow()
    referral = Referral(
        id=uuid.uuid4(),
        case_id=case.id,
        person_id=data.person_id,
        provider_id=provider.id,
        service_type=provider.service_type,
        case_municipality_code=case.municipality_code,
        provider_municipality_code=provider.municipality_code,
        agreement_id=agreement_id,
        status=ReferralStatus.requested.value,
        note=data.note,
        legal_basis=data.legal_basis,
        requested_by=user.sub,
        requested_at=now,
    )
    session.add(referral)
    await session.flush()
    await repository.add_timeline(
        session,
        [
            timeline_row(
                case.id,
                "referral_requested",
                now,
                user.sub,
                referral_id=str(referral.id),
                provider_id=str(provider.id),
                service_type=provider.service_type,
                provider_municipality_code=provider.municipality_code,
            )
        ],
    )
    await outbox.add(session, ReferralRequestedV1(**_referral_event(referral, case.household_id, requested_at=now)))
    return referral


async def decide(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, referral_id: uuid.UUID, data: ReferralDecision
) -> Referral:
    """The provider's side accepts, declines or ends; the case's side cancels a request not yet answered.

    Accepting takes a place (409 when the provider is full), ending frees it.
    """
    referral = await repository.get_referral(session, referral_id, for_update=True)
    if referral is None:
        raise NotFound(f"No referral {referral_id}.")
    wanted = ReferralStatus(data.decision)
    if wanted is ReferralStatus.cancelled:
        await case_for(session, user, referral.case_id, work=True)
    else:
        if not user.has_role(Role.case_worker, Role.supervisor) or (
            referral.provider_municipality_code not in user.municipalities
        ):
            raise Forbidden(
                f"The provider's answer is recorded by the staff of {referral.provider_municipality_code}, "
                "where the provider works.",
                reason="answered_by_provider_staff",
                params={"from": referral.provider_municipality_code},
            )
    try:
        check_referral_step(ReferralStatus(referral.status), wanted)
    except IllegalReferralStep as exc:
        raise Conflict(
            str(exc),
            reason="referral_step_not_allowed",
            params={"current": str(exc.current), "wanted": str(exc.wanted)},
            details={"status": referral.status, "allowed": [str(a) for a in exc.allowed]},
        ) from exc
    if wanted is ReferralStatus.declined and not (data.reason and data.reason.strip()):
        raise Invalid(
            "Say why the referral is declined.",
            reason="decline_reason_missing",
            details=[field_error(["body", "reason"], "Needed.", "decline_reason_missing")],
        )
    provider = await repository.get_provider(session, referral.provider_id, for_update=True)
    assert provider is not None
    now = utcnow()
    case = await repository.get_case(session, referral.case_id)
    assert case is not None
    if wanted is ReferralStatus.accepted and case.status not in ACTIVE_STATUSES:
        raise Conflict(
            f"The case was {case.status} after this request was sent: the request lapsed and cannot be accepted.",
            reason="referral_lapsed",
            params={"current": case.status},
            details={"status": referral.status, "case_status": case.status, "allowed": ["declined", "cancelled"]},
        )
    if wanted is ReferralStatus.accepted:
        full = capacity_refusal(capacity=provider.capacity, occupancy=provider.occupancy)
        if full:
            raise _provider_full(full, provider)
        provider.occupancy += 1
    elif wanted is ReferralStatus.ended:
        provider.occupancy = max(0, provider.occupancy - 1)
    referral.status = wanted.value
    referral.decided_by = user.sub
    referral.decided_at = now
    if wanted is ReferralStatus.declined:
        referral.decline_reason = data.reason
    await repository.add_timeline(
        session,
        [
            timeline_row(
                referral.case_id,
                f"referral_{wanted.value}",
                now,
                user.sub,
                referral_id=str(referral.id),
                provider_id=str(provider.id),
            )
        ],
    )
    events = [ReferralDecidedV1(**_referral_event(referral, case.household_id, status=wanted.value, decided_at=now))]
    if wanted in (ReferralStatus.accepted, ReferralStatus.ended):
        provider.version += 1
        provider.updated_at = now
        events.append(provider_event(provider))  # type: ignore[arg-type]
    await session.flush()
    await outbox.add_many(session, list(events))
    return referral


async def inbox(*, session: AsyncSession, user: User, status: str | None, limit: int = 200) -> Sequence[Referral]:
    """Referrals to providers of the user's municipalities (all for administrators).

    Referrals of restricted (violence) cases only reach the staff who answer for the provider: administrators, who
    may not see those cases, do not get them."""
    if status is not None and status not in REFERRAL_TRANSITIONS:
        raise Invalid(
            f"Unknown referral status {status!r}.",
            reason="unknown_referral_status",
            params={"status": status},
            details=[
                field_error(["query", "status"], "Unknown.", "unknown_referral_status", params={"status": status})
            ],
        )
    scope = None if Role.admin in user.roles else user.municipalities
    answers = user.has_role(Role.case_worker, Role.supervisor)
    return await repository.referrals_to(
        session, municipalities=scope, status=status, limit=limit, include_restricted=answers
    )
