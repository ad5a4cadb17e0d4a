"""Transfer of a case to another municipality's office under an inter-municipal agreement."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases import repository
from services.cases.casework import TransitionConflict, case_for
from services.cases.domain import CaseStatus, IllegalTransition, check_transition, transfer_agreement
from services.cases.models import Case
from services.cases.schemas import TransferRequest
from services.cases.service import ensure_known_municipality, open_case, timeline_row
from shared.auth import User
from shared.db import utcnow
from shared.errors import Conflict, Invalid, field_error
from shared.events import CaseTransferredV1, MemberProfile
from shared.messaging.outbox import OutboxWriter


async def transfer(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, case_id: uuid.UUID, data: TransferRequest
) -> Case:
    """Hand the case to another municipality's office under an agreement: the origin keeps the case and its
    history (state 'transferred'); the receiving office gets a new case with only the members' pseudonymous
    facts, the priority and the latest need levels (no notes, no plan, no timeline)."""
    case = await case_for(session, user, case_id, work=True)
    try:
        check_transition(CaseStatus(case.status), CaseStatus.transferred)
    except IllegalTransition as exc:
        raise TransitionConflict(exc) from exc
    destination = data.to_municipality_code
    ensure_known_municipality(destination, ["body", "to_municipality_code"])
    if destination == case.municipality_code:
        raise Invalid(
            "The case is already in this municipality.",
            reason="already_there",
            details=[
                field_error(
                    ["body", "to_municipality_code"], "Choose another municipality.", "choose_another_municipality"
                )
            ],
        )
    today = date.today()
    agreements = [(a.id, repository.agreement_terms(a)) for a in await repository.list_agreements(session)]
    agreement_id = transfer_agreement(
        origin=case.municipality_code, destination=destination, agreements=agreements, on=today
    )
    if agreement_id is None:
        raise Conflict(
            f"No inter-municipal agreement valid on {today.isoformat()} joins {case.municipality_code} and "
            f"{destination}: the case cannot be transferred there.",
            reason="no_transfer_agreement",
            params={"date": today.isoformat(), "from": case.municipality_code, "to": destination},
            details={
                "reason": "no_agreement",
                "from_municipality_code": case.municipality_code,
                "to_municipality_code": destination,
                "on": today.isoformat(),
            },
        )
    assert isinstance(agreement_id, uuid.UUID)
    now = utcnow()
    members = [m for m in await repository.members_of(session, case.id) if not m.erased]
    profiles = [
        MemberProfile(
            person_id=m.person_id,
            sex=m.sex,
            birth_year=m.birth_year,
            relation=m.relation,
            able_to_work=m.able_to_work,
            employment_status=m.employment_status,
            education=m.education,
            skills=list(m.skills),
            markers=list(m.markers),
            consents=list(m.consents),
        )
        for m in members
    ]
    assessments = await repository.assessments_of(session, case.id)
    needs = {d: v["level"] for d, v in assessments[0].needs.items()} if assessments else None
    new = await open_case(
        session=session,
        outbox=outbox,
        household_id=case.household_id,
        municipality_code=destination,
        members=profiles,
        below_poverty_line=case.below_poverty_line,
        household_registered_at=case.household_registered_at,
        household_version=case.household_version,
        transferred_from=case,
        restricted=case.restricted,
        actor=user.sub,
        extra_timeline={"need_levels": needs, "agreement_id": str(agreement_id)}
        | ({"note": data.note} if data.note else {}),
    )
    # The receiving office inherits the consent notice: a withdrawal does not lapse with the move.
    withdrawn = await repository.case_work_consent_withdrawn_by(session, case.id)
    if withdrawn:
        await repository.add_timeline(
            session,
            [timeline_row(new["id"], "case_work_consent_withdrawn", now, None, person_id=p) for p in withdrawn],
        )
        await repository.update_case(session, new["id"], case_work_consent_withdrawn=True)
    await repository.update_case(
        session, case.id, status=CaseStatus.transferred.value, transferred_to_case_id=new["id"], updated_at=now
    )
    await repository.add_timeline(
        session,
        [
            timeline_row(
                case.id,
                "transferred",
                now,
                user.sub,
                to_case_id=str(new["id"]),
                to_municipality_code=destination,
                agreement_id=str(agreement_id),
                **({"note": data.note} if data.note else {}),
            )
        ],
    )
    await outbox.add(
        session,
        CaseTransferredV1(
            case_id=case.id,
            household_id=case.household_id,
            municipality_code=case.municipality_code,
            to_case_id=new["id"],
            to_municipality_code=destination,
            agreement_id=agreement_id,
            transferred_at=now,
        ),
    )
    await session.refresh(case)
    return case
