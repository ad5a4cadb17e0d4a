"""Activation's pages: the employers' forum in the browser. Employers register their organisation, join forums,
post opportunities and answer for their placements; case workers find opportunities for their candidates and
propose them; coordinators run the forums and read the fairness report. Thin: the same service calls as the API,
rendered with Jinja2 + htmx; a refusal of the service layer is shown on the page as a message.

One module of routes per feature (``start``, ``organisation``, ``opportunities``, ``candidates``, ``placements``,
``forums``), the helpers beside them: ``_common`` (templates, role gates, refusals as messages, the form post),
``_forms``, ``_labels``, ``_queries`` and ``_views`` (the pages a route and a refused form render)."""

from __future__ import annotations

from fastapi import APIRouter

from services.activation.web import candidates, forums, opportunities, organisation, placements, start

router = APIRouter(include_in_schema=False)
for feature in (start, organisation, opportunities, candidates, placements, forums):
    router.include_router(feature.router)
