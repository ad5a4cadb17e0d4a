"""The fairness report of a forum: the shares of women, Roma and persons with disability among the eligible,
shortlisted, proposed and placed candidates, with the disparity against the eligible; small cells hidden from
analysts."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.activation import access, domain, matching, repository
from services.activation.domain import PlacementStatus
from services.activation.forums import criteria_of, forum
from services.activation.geography import geography
from services.activation.opportunities import as_domain
from shared.auth import Role, User
from shared.db import utcnow
from shared.disclosure import SUPPRESSED, is_small
from shared.errors import Forbidden, NotFound

STAGES = ("eligible", "shortlisted", "proposed", "placed")
GROUPS = ("women", "roma", "disability")
PLACED = (PlacementStatus.started, PlacementStatus.completed, PlacementStatus.ended)


@dataclass
class Tally:
    """Per stage: how many candidates, and how many of each group."""

    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    groups: dict[str, dict[str, int]] = field(default_factory=lambda: {g: dict.fromkeys(STAGES, 0) for g in GROUPS})

    def add(self, stage: str, woman: bool, roma: bool, disability: bool, n: int = 1) -> None:
        self.totals[stage] += n
        for group, member in (("women", woman), ("roma", roma), ("disability", disability)):
            if member:
                self.groups[group][stage] += n

    def report(self) -> dict[str, Any]:
        groups = []
        for group in GROUPS:
            share = domain.GroupShare(group, {s: (self.groups[group][s], self.totals[s]) for s in STAGES})
            groups.append(
                {
                    "group": group,
                    "stages": {
                        s: {"count": self.groups[group][s], "total": self.totals[s], "share": _pct(share.share(s))}
                        for s in STAGES
                    },
                    "disparity": {s: share.disparity(s) for s in STAGES[1:]},
                }
            )
        placed, women = self.totals["placed"], self.groups["women"]["placed"]
        return {
            "totals": dict(self.totals),
            "groups": groups,
            "women_target": domain.WOMEN_TARGET,
            "women_under_target": domain.women_under_target(women, placed),
        }


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


async def fairness(
    *, session: AsyncSession, user: User, forum_id: uuid.UUID, opportunity_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """Shares of women, Roma and persons with disability among the eligible, shortlisted, proposed and placed
    candidates of the forum's opportunities (or of one), with the disparity against the eligible."""
    found = await forum(session=session, forum_id=forum_id)
    if not access.may_see_forum_figures(user, found):
        raise Forbidden(
            "The fairness report is for the forum's coordinators, supervisors and analysts.",
            reason="fairness_not_allowed",
        )
    opps = list(await repository.list_opportunities(session, forum_id=found.id))
    if opportunity_id is not None:
        opps = [o for o in opps if o.id == opportunity_id]
        if not opps:
            raise NotFound(f"No opportunity {opportunity_id} in this forum.", reason="opportunity_not_in_forum")
    on = date.today()
    # The base is everyone the forum's criteria admit, placed or not: a placed candidate stays in the funnel that
    # led to their placement (with "not placed" applied, every placement would shrink its own base).
    crit = dataclasses.replace(criteria_of(found.criteria), exclude_placed=False)
    geo = await geography(session, on)
    reach = sorted({c for o in opps for c in geo.municipalities_reaching(o.municipality_code, crit.scope)})
    pool = await repository.candidate_pool(session, municipalities=reach) if reach else matching.Pool.of([])
    forum_tally, per_opportunity = Tally(), {o.id: Tally() for o in opps}
    eligible_anywhere: set[int] = set()
    for o in opps:
        rows = matching.evaluate(pool, as_domain(o), crit, geo, on=on).rows
        eligible_anywhere.update(int(r) for r in rows)
        tally = per_opportunity[o.id]
        tally.totals["eligible"] = len(rows)
        tally.groups["women"]["eligible"] = int(pool.woman[rows].sum())
        tally.groups["roma"]["eligible"] = int(pool.roma[rows].sum())
        tally.groups["disability"]["eligible"] = int(pool.disability[rows].sum())
    for r in eligible_anywhere:
        forum_tally.add("eligible", bool(pool.woman[r]), bool(pool.roma[r]), bool(pool.disability[r]))
    seen: set[uuid.UUID] = set()
    for opportunity_key, row in await repository.shortlisted(session, [o.id for o in opps]):
        flags = (row.sex == "F", "roma" in row.markers, "disability" in row.markers)
        per_opportunity[opportunity_key].add("shortlisted", *flags)
        if row.person_id not in seen:
            seen.add(row.person_id)
            forum_tally.add("shortlisted", *flags)
    for stage, statuses in (("proposed", None), ("placed", PLACED)):
        counted: set[uuid.UUID] = set()
        counted_in: set[tuple[uuid.UUID, uuid.UUID]] = set()
        for p in await repository.placements_of(session, [o.id for o in opps]):
            if statuses is not None and p.status not in statuses:
                continue
            if (p.opportunity_id, p.person_id) not in counted_in:  # persons, not proposals: one declined twice
                counted_in.add((p.opportunity_id, p.person_id))
                per_opportunity[p.opportunity_id].add(stage, p.woman, p.roma, p.disability)
            if p.person_id not in counted:
                counted.add(p.person_id)
                forum_tally.add(stage, p.woman, p.roma, p.disability)
    last = await repository.last_run(session)
    report = {
        "forum_id": str(found.id),
        "forum": found.name,
        "computed_at": utcnow().isoformat(),
        "shortlists_computed_at": last.finished_at.isoformat() if last else None,
        "suppressed": False,
        **forum_tally.report(),
        "opportunities": [
            {"opportunity_id": str(o.id), "title": o.title, "status": o.status, **per_opportunity[o.id].report()}
            for o in opps
        ],
    }
    if not user.has_role(Role.admin, Role.coordinator, Role.supervisor):
        _suppress_small_cells(report)
    return report


def _suppress_small_cells(report: dict[str, Any]) -> None:
    """For analysts: a group's count under 5 (not 0) is "<5", and its share and ratio, which would give it away,
    are left out. Coordinators and supervisors run the forum and see the counts."""
    report["suppressed"] = True
    for part in (report, *report["opportunities"]):
        for group in part["groups"]:
            for stage, cell in group["stages"].items():
                if is_small(cell["count"]):
                    cell["count"], cell["share"] = SUPPRESSED, None
                    if stage in group["disparity"]:
                        group["disparity"][stage] = None
                    if stage == "eligible":  # every ratio of the group is relative to this share
                        group["disparity"] = dict.fromkeys(group["disparity"])
