"""Activation in the simulation: opportunities, proposals, both parties' answers, placements and their hours."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bench.reporting_events.tables import (
    DAY,
    DECLINES,
    END_REASONS,
    OPPORTUNITY_KINDS,
    POSITIONS,
    TITLES,
    _add_months,
    _day,
    _dt,
    _ts,
)
from bench.reporting_events.world import _Case, _Member, _Opportunity, _Placement, _Simulation
from services.cases.domain import ACTIVATION_MARKERS
from shared.events import (
    ActivationRequestedV1,
    Availability,
    MatchProposedV1,
    OpportunityClosedV1,
    OpportunityPublishedV1,
    PlacementAcceptedV1,
    PlacementCompletedV1,
    PlacementDeclinedV1,
    PlacementEndedV1,
    PlacementHoursRecordedV1,
    PlacementStartedV1,
)
from shared.events.activation import DeclineReason, EndReason


class _Activation(_Simulation):
    """Activation's events: work engagement requested by a plan, and what follows from it."""

    def request_activation(self, ts: float, case: _Case, m: _Member) -> None:
        rng = self.rng
        today = _day(ts)
        m.candidate = True
        hours_min = rng.choice((10, 15, 20, 20, 30))
        unemployed_since = None
        if m.employment_status == "unemployed":
            unemployed_since = today - timedelta(days=rng.randint(60, 3650))
        self.out.append(
            ActivationRequestedV1(
                request_id=self.new_id(),
                person_id=m.person_id,
                household_id=case.household.id,
                case_id=case.id,
                municipality_code=case.code,
                sex=m.sex,
                birth_year=m.birth_year,
                education=m.education,
                employment_status=m.employment_status,
                skills=list(m.skills),
                markers=[k for k in m.markers if k in ACTIVATION_MARKERS],
                below_poverty_line=case.household.below,
                unemployed_since=unemployed_since,
                availability=Availability(
                    hours_per_week_min=hours_min,
                    hours_per_week_max=min(60, hours_min + rng.choice((0, 10, 20))),
                    available_from=today + timedelta(days=rng.randint(0, 30)),
                ),
                requested_at=_dt(ts),
            )
        )
        if rng.random() < 0.45:
            self.at(self.workday(ts, 7, 120), self._propose, case, m, hours_min)

    def _publish_opportunity(self, ts: float) -> None:
        rng = self.rng
        code = self.municipality(rng)
        kind = OPPORTUNITY_KINDS(rng)
        starts_on = _day(ts) + timedelta(days=rng.randint(7, 45))
        ends_on = None if kind == "job" else _add_months(starts_on, rng.randint(2, 12))
        hours_min = rng.choice((10, 20, 20, 30))
        opportunity = _Opportunity(
            id=self.new_id(),
            code=code,
            type=kind,
            positions=POSITIONS(rng),
            starts_on=starts_on,
            ends_on=ends_on,
            hours_min=hours_min,
            hours_max=min(40, hours_min + rng.choice((0, 10, 20))),
        )
        self.out.append(
            OpportunityPublishedV1(
                opportunity_id=opportunity.id,
                municipality_code=code,
                title=f"{rng.choice(TITLES[kind])}, {self.names[code]}",
                positions=opportunity.positions,
                published_at=_dt(ts),
                opportunity_type=kind,
                organisation_id=f"org-{code}-{rng.randint(1, 6)}",
                forum_id=self.district_ids[self.district_of[code]],
                hours_per_week_min=opportunity.hours_min,
                hours_per_week_max=opportunity.hours_max,
                starts_on=starts_on,
                ends_on=ends_on,
                accessible=rng.random() < 0.5,
            )
        )
        self.open_opportunities.setdefault(code, []).append(opportunity)
        closes = _ts(ends_on) + 10 * 3600 if ends_on else self.workday(ts, 60, 300)
        if ends_on is not None or rng.random() < 0.6:
            self.at(closes, self._close_opportunity, opportunity)

    def _close_opportunity(self, ts: float, opportunity: _Opportunity) -> None:
        if opportunity.closed:
            return
        opportunity.closed = True
        self.open_opportunities[opportunity.code].remove(opportunity)
        self.out.append(
            OpportunityClosedV1(opportunity_id=opportunity.id, municipality_code=opportunity.code, closed_at=_dt(ts))
        )

    def _propose(self, ts: float, case: _Case, m: _Member, weekly: int, tries: int = 3) -> None:
        rng = self.rng
        if m.erased:
            return
        pool = list(self.open_opportunities.get(case.code, []))
        if not pool or rng.random() < 0.25:
            pool += [o for c in self.partners(case.code) for o in self.open_opportunities.get(c, [])]
        if not pool:
            if tries > 1:  # nothing open nearby yet: the worker looks again in a month or two
                self.at(self.workday(ts, 30, 60), self._propose, case, m, weekly, tries - 1)
            return
        opportunity = rng.choice(pool)
        placement = _Placement(
            id=self.new_id(),
            opportunity=opportunity,
            member=m,
            case=case,
            code=case.code,
            weekly_hours=max(opportunity.hours_min, min(weekly, opportunity.hours_max)),
        )
        score = round(rng.uniform(35, 98), 1)
        self.out.append(
            MatchProposedV1(
                **self.placement_event(placement),
                opportunity_municipality_code=opportunity.code,
                opportunity_type=opportunity.type,
                score=score,
                rank=max(1, int((100 - score) / 4) + rng.randint(0, 3)),
                proposed_at=_dt(ts),
            )
        )
        if rng.random() < 0.18:
            party, reason = DECLINES(rng)
            self.at(self.workday(ts, 1, 14), self._decline, placement, party, reason)
        else:
            self.at(self.workday(ts, 1, 10), self._accept, placement, "employer")

    def placement_event(self, p: _Placement) -> dict[str, Any]:
        return {
            "placement_id": p.id,
            "opportunity_id": p.opportunity.id,
            "person_id": p.member.person_id,
            "case_id": p.case.id,
            "municipality_code": p.code,
        }

    def _decline(self, ts: float, p: _Placement, party: str, reason: DeclineReason) -> None:
        p.done = True
        self.out.append(PlacementDeclinedV1(**self.placement_event(p), party=party, reason=reason, declined_at=_dt(ts)))

    def _accept(self, ts: float, p: _Placement, party: str) -> None:
        rng = self.rng
        if party == "employer" and (p.opportunity.closed or p.opportunity.filled >= p.opportunity.positions):
            self._decline(ts, p, "employer", "positions_filled")
            return
        both = party == "candidate"
        self.out.append(PlacementAcceptedV1(**self.placement_event(p), party=party, both=both, accepted_at=_dt(ts)))
        if not both:
            if rng.random() < 0.1:
                self.at(self.workday(ts, 0, 7), self._decline, p, "candidate", "candidate_unavailable")
            else:
                self.at(self.workday(ts, 0, 5), self._accept, p, "candidate")
            return
        p.opportunity.filled += 1
        start = max(self.workday(ts, 2, 14), _ts(p.opportunity.starts_on) + 8 * 3600)
        self.at(start, self._start, p)

    def _start(self, ts: float, p: _Placement) -> None:
        rng = self.rng
        p.started_ts = p.last_recorded_ts = ts
        months = rng.randint(2, 12)
        end = _ts(_add_months(_day(ts), months)) + 14 * 3600
        if p.opportunity.ends_on is not None:
            end = min(end, _ts(p.opportunity.ends_on) + 14 * 3600)
        p.planned_end_ts = max(end, ts + 7 * DAY)
        if rng.random() < 0.3:
            p.early_end_ts = ts + rng.uniform(0.05, 0.95) * (p.planned_end_ts - ts)
            self.at(p.early_end_ts, self._finish, p, END_REASONS(rng))
        else:
            self.at(p.planned_end_ts, self._finish, p, None)
        self.out.append(PlacementStartedV1(**self.placement_event(p), started_at=_dt(ts)))
        first = _day(ts)
        self.at(_ts(_add_months(first.replace(day=1), 1)) + 9 * 3600 + rng.uniform(0, 6 * 3600), self._hours, p)

    def record(self, ts: float, p: _Placement, month: date) -> None:
        worked_days = max(0.0, (ts - p.last_recorded_ts) / DAY)
        hours = min(744, round(p.weekly_hours * worked_days / 7 * self.rng.uniform(0.7, 1.0)))
        p.hours_total += hours
        p.last_recorded_ts = ts
        self.out.append(
            PlacementHoursRecordedV1(
                **self.placement_event(p),
                month=f"{month.year:04d}-{month.month:02d}",
                hours=hours,
                hours_total=p.hours_total,
                recorded_at=_dt(ts),
            )
        )

    def _hours(self, ts: float, p: _Placement) -> None:
        if p.done:
            return
        today = _day(ts)
        self.record(ts, p, _add_months(today.replace(day=1), -1))
        self.at(_ts(_add_months(today.replace(day=1), 1)) + 9 * 3600 + self.rng.uniform(0, 6 * 3600), self._hours, p)

    def _finish(self, ts: float, p: _Placement, reason: EndReason | None) -> None:
        p.done = True
        p.opportunity.filled -= 1
        if ts - p.last_recorded_ts > DAY:
            self.record(ts, p, _day(ts))
        if reason is None:
            self.out.append(
                PlacementCompletedV1(**self.placement_event(p), hours_worked=p.hours_total, completed_at=_dt(ts))
            )
        else:
            self.out.append(
                PlacementEndedV1(**self.placement_event(p), reason=reason, hours_worked=p.hours_total, ended_at=_dt(ts))
            )
