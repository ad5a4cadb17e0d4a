"""The registries case work relies on: service providers and inter-municipal agreements, kept by administrators
and supervisors (providers: of the provider's municipality; agreements: of all municipalities in it)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.cases import access, repository
from services.cases.models import Agreement as AgreementRow
from services.cases.models import Provider
from services.cases.schemas import AgreementCreate, ProviderCreate, ProviderUpdate
from services.cases.service import ensure_known_municipality
from shared.auth import Role, User
from shared.db import utcnow
from shared.errors import Forbidden, Invalid, NotFound, field_error
from shared.events import AgreementChangedV1, ProviderChangedV1
from shared.messaging.outbox import OutboxWriter


def _registry_keeper(user: User, municipality_code: str, what: str) -> None:
    """Providers are kept by administrators and by supervisors of the provider's municipality."""
    if Role.admin in user.roles or access.is_supervisor_of(user, municipality_code):
        return
    raise Forbidden(
        f"Only an administrator or a supervisor of {municipality_code} may {what}.",
        reason="providers_kept_by_supervisor",
        params={"from": municipality_code},
    )


def provider_event(p: Provider) -> ProviderChangedV1:
    return ProviderChangedV1(
        provider_id=p.id,
        service_type=p.service_type,
        municipality_code=p.municipality_code,
        capacity=p.capacity,
        occupancy=p.occupancy,
        residential=p.residential,
        accessible=p.accessible,
        active=p.active,
        changed_at=p.updated_at,
    )


async def register_provider(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, data: ProviderCreate
) -> Provider:
    ensure_known_municipality(data.municipality_code, ["body", "municipality_code"])
    _registry_keeper(user, data.municipality_code, "register providers there")
    if data.occupancy > data.capacity:
        raise Invalid(
            "Occupancy cannot exceed capacity.",
            reason="occupancy_over_capacity",
            details=[field_error(["body", "occupancy"], "More than capacity.", "more_than_capacity")],
        )
    provider = Provider(id=uuid.uuid4(), **data.model_dump(), active=True, version=1, updated_at=utcnow())
    session.add(provider)
    await session.flush()
    await outbox.add(session, provider_event(provider))
    return provider


async def update_provider(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, provider_id: uuid.UUID, data: ProviderUpdate
) -> Provider:
    provider = await repository.get_provider(session, provider_id, for_update=True)
    if provider is None:
        raise NotFound(f"No provider {provider_id}.")
    _registry_keeper(user, provider.municipality_code, "change this provider")
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    capacity = changes.get("capacity", provider.capacity)
    occupancy = changes.get("occupancy", provider.occupancy)
    if occupancy > capacity:
        raise Invalid(
            f"Occupancy ({occupancy}) cannot exceed capacity ({capacity}).",
            reason="occupancy_over_capacity",
            params={"occupancy": occupancy, "capacity": capacity},
            details=[field_error(["body", "capacity"], "Less than the places taken.", "less_than_taken")],
        )
    if not changes:
        return provider
    for k, v in changes.items():
        setattr(provider, k, v)
    provider.version += 1
    provider.updated_at = utcnow()
    await session.flush()
    await outbox.add(session, provider_event(provider))
    return provider


async def providers(
    *, session: AsyncSession, municipality: str | None, service_type: str | None, include_inactive: bool
) -> Sequence[Provider]:
    return await repository.list_providers(
        session, municipality=municipality, service_type=service_type, active_only=not include_inactive
    )


def agreement_event(a: AgreementRow, changed_at: datetime) -> AgreementChangedV1:
    return AgreementChangedV1(
        agreement_id=a.id,
        municipalities=list(a.municipalities),
        service_types=list(a.service_types),
        valid_from=a.valid_from,
        valid_to=a.valid_to,
        changed_at=changed_at,
    )


async def conclude_agreement(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, data: AgreementCreate
) -> AgreementRow:
    codes = sorted(set(data.municipalities))
    if len(codes) < 2:
        raise Invalid(
            "An agreement joins at least two municipalities.",
            reason="agreement_needs_two",
            details=[
                field_error(["body", "municipalities"], "Name two or more different municipalities.", "two_or_more")
            ],
        )
    for i, code in enumerate(codes):
        ensure_known_municipality(code, ["body", "municipalities", i])
    # An agreement binds every municipality in it: one side alone does not record it.
    if Role.admin not in user.roles and not all(access.is_supervisor_of(user, c) for c in codes):
        raise Forbidden(
            "An agreement binds every municipality in it: it is recorded by an administrator or by a supervisor "
            "of all of them.",
            reason="agreement_binds_all",
        )
    agreement = AgreementRow(
        id=uuid.uuid4(),
        name=data.name,
        municipalities=codes,
        service_types=sorted(set(data.service_types)),
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        created_by=user.sub,
        created_at=utcnow(),
    )
    session.add(agreement)
    await session.flush()
    await outbox.add(session, agreement_event(agreement, agreement.created_at))
    return agreement


async def end_agreement(
    *, session: AsyncSession, outbox: OutboxWriter, user: User, agreement_id: uuid.UUID, valid_to: date
) -> AgreementRow:
    agreement = await repository.get_agreement(session, agreement_id)
    if agreement is None:
        raise NotFound(f"No agreement {agreement_id}.")
    if Role.admin not in user.roles and not all(access.is_supervisor_of(user, c) for c in agreement.municipalities):
        raise Forbidden(
            "An agreement is ended by an administrator or by a supervisor of all its municipalities.",
            reason="agreement_ended_by_all",
        )
    if valid_to < agreement.valid_from:
        raise Invalid(
            "An agreement cannot end before it starts.",
            reason="agreement_ends_before_start",
            details=[
                field_error(
                    ["body", "valid_to"],
                    f"Before {agreement.valid_from.isoformat()}.",
                    "before_start",
                    params={"date": agreement.valid_from.isoformat()},
                )
            ],
        )
    agreement.valid_to = valid_to
    await session.flush()
    await outbox.add(session, agreement_event(agreement, utcnow()))
    return agreement
