"""Cases' pure rules. The lifecycle grows in the cases issue; for now a case opens in state ``open``."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    open = "open"
    assessment = "assessment"
    plan = "plan"
    active = "active"
    closed = "closed"


ACTIVE_STATUSES = frozenset({CaseStatus.open, CaseStatus.assessment, CaseStatus.plan, CaseStatus.active})
