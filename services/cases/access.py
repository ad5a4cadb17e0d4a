"""Who may see and change what in cases (ARCHITECTURE.md, "Security and privacy").

- case workers: cases of their municipalities; a case flagged for domestic or partner violence only when it
  is assigned to them; case work (assessment, plan, referrals, status) only on cases assigned to them;
- supervisors: every case of their municipalities, restricted ones included; case work and reassignment there;
- administrators: the registries (workers, providers, agreements) everywhere and cases that are not restricted,
  read only; case work belongs to the centre's staff;
- employers and analysts: nothing but the provider and agreement registries (analysts) and aggregates.
"""

from __future__ import annotations

from services.cases.models import Case
from shared.auth import Role, User
from shared.errors import Forbidden, NotFound


def is_supervisor_of(user: User, municipality_code: str) -> bool:
    return Role.supervisor in user.roles and municipality_code in user.municipalities


def can_read(user: User, case: Case) -> bool:
    if is_supervisor_of(user, case.municipality_code):
        return True
    if case.restricted:
        return Role.case_worker in user.roles and case.assigned_to == user.sub
    if Role.admin in user.roles:
        return True
    return Role.case_worker in user.roles and case.municipality_code in user.municipalities


def ensure_can_read(user: User, case: Case) -> None:
    if not can_read(user, case):
        # Restricted or foreign cases are not acknowledged at all: the answer is the same as for no case.
        raise NotFound(f"No case {case.id} among the cases you may see.")


def ensure_can_work(user: User, case: Case) -> None:
    """Case work: the assigned worker or a supervisor of the municipality."""
    ensure_can_read(user, case)
    if is_supervisor_of(user, case.municipality_code):
        return
    if Role.case_worker in user.roles and case.assigned_to == user.sub:
        return
    holder = f"assigned to {case.assigned_to}" if case.assigned_to else "not assigned to anyone yet"
    raise Forbidden(
        f"This case is {holder}: only its worker or a supervisor of the municipality may change it.",
        reason="not_your_case",
        params={"worker": case.assigned_to},
    )


def case_scope(user: User) -> frozenset[str] | None:
    """Municipalities whose cases the user may list (None: all)."""
    return None if Role.admin in user.roles and Role.supervisor not in user.roles else user.municipalities


def narrowed(scope: frozenset[str] | None, municipality: str | None) -> frozenset[str] | None:
    """``scope`` (None: every municipality) narrowed to the ``municipality`` a list asks for, which must be in it."""
    if municipality is None:
        return scope
    if scope is not None and municipality not in scope:
        raise Forbidden(
            f"Municipality {municipality} is not among the municipalities you work for.",
            reason="not_your_municipality",
            params={"municipality": municipality},
        )
    return frozenset({municipality})


def restricted_viewer(user: User) -> str | None:
    """None when the user may see every restricted case in scope (supervisors); else the sub they must match."""
    return None if Role.supervisor in user.roles else user.sub
