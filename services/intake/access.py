"""Who may see and do what in intake (ARCHITECTURE.md, "Security and privacy").

- case workers: the households and persons of their municipalities (every read of personal data is audited),
  registration, corrections, consent, imports of their own;
- supervisors: the same, plus the review of likely duplicates, erasure, the audit log of their municipalities and
  the imports of the municipalities they supervise;
- administrators: everything everywhere, and the poverty lines;
- employers and analysts: only the reference lists (municipalities, skills); the other services give them
  aggregates and pseudonymous profiles.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.intake.models import ImportJob
from shared.auth import Role, User, require_role
from shared.errors import Forbidden
from shared.ui.access import require_page_role

WORKERS = (Role.case_worker, Role.supervisor, Role.admin)
SUPERVISORS = (Role.supervisor, Role.admin)
ADMINS = (Role.admin,)

# The API's gates (401/403 problem+json) and the pages' (sign-in or a 403 page).
Worker = Annotated[User, Depends(require_role(*WORKERS))]
Supervisor = Annotated[User, Depends(require_role(*SUPERVISORS))]
Admin = Annotated[User, Depends(require_role(*ADMINS))]
WorkerPage = Annotated[User, Depends(require_page_role(*WORKERS))]
SupervisorPage = Annotated[User, Depends(require_page_role(*SUPERVISORS))]
AdminPage = Annotated[User, Depends(require_page_role(*ADMINS))]

ALL_MUNICIPALITIES = "*"  # an administrator's import scope, as stored in ``import_jobs.municipalities``


def scope(user: User) -> list[str] | None:
    """The municipalities whose records ``user`` may see; None for all (admin)."""
    return None if Role.admin in user.roles else sorted(user.municipalities)


def ensure_municipality(user: User, code: str) -> None:
    """Records of a municipality are for its staff (and administrators)."""
    if not user.can_see_municipality(code):
        raise Forbidden(
            f"Municipality {code} is not among the municipalities you work for.",
            reason="municipality_not_yours",
            params={"code": code},
        )


def ensure_supervisor(user: User, message: str) -> None:
    """Reviewing duplicates, erasing a person and reading the audit log are a supervisor's (or admin's)."""
    if not user.has_role(*SUPERVISORS):
        raise Forbidden(message, reason="supervisors_only")


def ensure_admin(user: User, message: str) -> None:
    """Poverty lines are set by an administrator."""
    if Role.admin not in user.roles:
        raise Forbidden(message, reason="administrators_only")


def import_scope(user: User) -> list[str]:
    """The municipalities an import by ``user`` may register households in, as the job stores them."""
    return [ALL_MUNICIPALITIES] if Role.admin in user.roles else sorted(user.municipalities)


def can_see_import(user: User, job: ImportJob) -> bool:
    """The uploader, and supervisors or administrators whose municipalities cover the job's scope."""
    if job.created_by == user.sub or Role.admin in user.roles:
        return True
    job_scope = set(job.municipalities or [])
    return Role.supervisor in user.roles and ALL_MUNICIPALITIES not in job_scope and job_scope <= user.municipalities
