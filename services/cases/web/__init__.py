"""Cases' pages for case workers and supervisors (Jinja2 + htmx), one module of routes per feature: the case list
and a case's page (``cases``), case work on it (``casework``: status, assessment, reassignment), the plan
(``plans``), referrals and their inbox (``referrals``), transfers (``transfers``), the caseload and reviews
(``caseload``) and the provider and agreement registries (``registries``). Thin: the same service calls as the
API; a refusal of the service layer is shown on the page in its language, by its code (``_labels.REFUSALS``)."""

from __future__ import annotations

from fastapi import APIRouter

from services.cases.web import caseload, cases, casework, plans, referrals, registries, transfers

router = APIRouter(include_in_schema=False)
for feature in (cases, casework, plans, referrals, transfers, caseload, registries):
    router.include_router(feature.router)
