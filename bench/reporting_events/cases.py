"""Cases in the simulation: a case per registration, assessments, plans, referrals, transfers and closing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bench.reporting_events.activation import _Activation
from bench.reporting_events.tables import (
    ACTIVE,
    CLOSE_UNASSESSED,
    CLOSE_WORKED,
    DAY,
    NEED_DOMAINS,
    NEEDS_ABOVE,
    NEEDS_BELOW,
    NEEDS_SAFETY,
    REFERRAL_COUNTS,
    WORKING_AGE,
    _day,
    _dt,
)
from bench.reporting_events.world import _Case, _Household, _Referral
from services.cases.domain import MemberFacts, case_priority
from shared.events import (
    AssessmentCompletedV1,
    CaseAssignedV1,
    CaseOpenedV1,
    CasePriorityChangedV1,
    CaseStatusChangedV1,
    CaseTransferredV1,
    PlanAgreedV1,
    ReferralDecidedV1,
    ReferralRequestedV1,
)
from shared.events.cases import CloseReason, NeedDomain, NeedLevel, PriorityName


class _Cases(_Activation):
    """Cases' events; a plan that engages members for work hands them to activation (the class this one extends)."""

    def _open_case(self, ts: float, h: _Household) -> None:
        members = [m for m in h.members if not m.erased]
        restricted = any("victim_of_violence" in m.markers for m in members)
        case = _Case(
            id=self.new_id(),
            household=h,
            code=h.code,
            status="open",
            worker=self.worker(h.code),
            priority=_priority(h, _day(ts)),
            restricted=restricted,
        )
        h.case = case
        self.out.append(
            CaseOpenedV1(
                case_id=case.id,
                household_id=h.id,
                municipality_code=case.code,
                opened_at=_dt(ts),
                household_registered_at=_dt(h.registered_ts),
                priority=case.priority,
                restricted=case.restricted,
                assigned_to=case.worker,
            )
        )
        self.plan_case(ts, case, first=True)

    def plan_case(self, ts: float, case: _Case, *, first: bool) -> None:
        rng = self.rng
        if rng.random() < 0.75:
            when = self.workday(ts, 3, 60)
            if rng.random() < 0.4:
                self.at(self.workday(ts, 1, (when - ts) / DAY), self._status, case, case.epoch, "open", "assessment")
            self.at(when, self._assess, case, case.epoch)
        elif rng.random() < 0.45:
            self.at(self.workday(ts, 20, 250), self._close, case, case.epoch, CLOSE_UNASSESSED(rng))
        if first and rng.random() < 0.12:
            self.at(self.workday(ts, 1, 180), self._reassign, case, case.epoch)
        if first and not case.transferred_in and rng.random() < 0.02:
            self.at(self.workday(ts, 10, 300), self._transfer, case, case.epoch)

    def case_event(self, case: _Case) -> dict[str, Any]:
        return {"case_id": case.id, "household_id": case.household.id, "municipality_code": case.code}

    def _status(self, ts: float, case: _Case, epoch: int, from_status: str, to_status: str) -> None:
        if case.epoch != epoch or case.status != from_status:
            return
        self.move(ts, case, to_status)

    def move(self, ts: float, case: _Case, to_status: str, reason: CloseReason | None = None) -> None:
        self.out.append(
            CaseStatusChangedV1(
                **self.case_event(case),
                from_status=case.status,
                to_status=to_status,
                reason=reason,
                changed_at=_dt(ts),
            )
        )
        case.status = to_status

    def _assess(self, ts: float, case: _Case, epoch: int) -> None:
        rng = self.rng
        if case.epoch != epoch or case.status not in ACTIVE:
            return
        below = case.household.below
        needs: dict[NeedDomain, NeedLevel] = {}
        for domain in NEED_DOMAINS:
            if domain == "safety" and not case.restricted:
                needs[domain] = NEEDS_SAFETY(rng)
            else:
                needs[domain] = NEEDS_BELOW(rng) if below else NEEDS_ABOVE(rng)
        self.out.append(
            AssessmentCompletedV1(
                **self.case_event(case),
                assessment_id=self.new_id(),
                needs=needs,
                household_registered_at=_dt(case.household.registered_ts),
                completed_at=_dt(ts),
            )
        )
        if case.status == "open":
            self.move(ts, case, "assessment")
        if case.status == "assessment":
            self.move(ts, case, "plan")
            if rng.random() < 0.82:
                self.at(self.workday(ts, 5, 45), self._plan, case, case.epoch)
            elif rng.random() < 0.5:
                self.at(self.workday(ts, 30, 200), self._close, case, case.epoch, CLOSE_UNASSESSED(rng))

    def _plan(self, ts: float, case: _Case, epoch: int) -> None:
        rng = self.rng
        if case.epoch != epoch or case.status not in ("plan", "active"):
            return
        activates = case.status == "plan"  # else a review of the plan of an active case
        case.plan_version += 1
        today = _day(ts)
        engaged = []
        if case.plan_version == 1:
            for m in case.household.members:
                age = today.year - m.birth_year
                if (
                    age in WORKING_AGE
                    and not m.erased
                    and not m.candidate
                    and m.able_to_work is not False
                    and m.employment_status in ("unemployed", "informal_work", "inactive", None)
                    and "activation" in m.consents
                    and rng.random() < 0.85
                ):
                    engaged.append(m)
        self.out.append(
            PlanAgreedV1(
                **self.case_event(case),
                plan_id=self.new_id(),
                version=case.plan_version,
                goals=rng.randint(1, 5),
                actions=rng.randint(1, 6) + len(engaged),
                review_date=today + timedelta(days=rng.randint(90, 180)),
                agreed_at=_dt(ts),
            )
        )
        for m in engaged:
            self.request_activation(ts, case, m)
        if not activates:
            return
        self.move(ts, case, "active")
        for _ in range(REFERRAL_COUNTS(rng)):
            self.at(self.workday(ts, 3, 120), self._refer, case, case.epoch)
        if rng.random() < 0.45:
            self.at(self.workday(ts, 90, 180), self._plan, case, case.epoch)
        if rng.random() < 0.3:
            self.at(self.workday(ts, 90, 365), self._assess, case, case.epoch)
        if rng.random() < 0.55:
            self.at(self.workday(ts, 60, 600), self._close, case, case.epoch, CLOSE_WORKED(rng))

    def _close(self, ts: float, case: _Case, epoch: int, reason: CloseReason) -> None:
        rng = self.rng
        if case.epoch != epoch or case.status not in ACTIVE:
            return
        self.end_referrals(ts, case)
        self.move(ts, case, "closed", reason)
        if reason != "merged" and reason != "deceased" and rng.random() < 0.1:
            self.at(self.workday(ts, 30, 365), self._reopen, case, case.epoch)

    def _reopen(self, ts: float, case: _Case, epoch: int) -> None:
        if case.epoch != epoch or case.status != "closed":
            return
        self.move(ts, case, "open")
        self.plan_case(ts, case, first=False)

    def _reassign(self, ts: float, case: _Case, epoch: int) -> None:
        if case.epoch != epoch or case.status not in ACTIVE:
            return
        worker = self.worker(case.code, other_than=case.worker)
        if worker is None or worker == case.worker:
            return
        self.out.append(
            CaseAssignedV1(
                **self.case_event(case),
                worker=worker,
                previous_worker=case.worker,
                by="supervisor",
                assigned_at=_dt(ts),
            )
        )
        case.worker = worker

    def _reprioritise(self, ts: float, case: _Case, epoch: int) -> None:
        if case.epoch != epoch or case.status == "transferred":
            return
        priority = _priority(case.household, _day(ts))
        restricted = case.restricted or any("victim_of_violence" in m.markers for m in case.household.members)
        if priority == case.priority and restricted == case.restricted:
            return
        case.priority, case.restricted = priority, restricted
        self.out.append(
            CasePriorityChangedV1(**self.case_event(case), priority=priority, restricted=restricted, changed_at=_dt(ts))
        )

    def _transfer(self, ts: float, case: _Case, epoch: int) -> None:
        partners = self.partners(case.code)
        if case.epoch != epoch or case.status not in ACTIVE or not partners:
            return
        destination = self.rng.choice(partners)
        new = _Case(
            id=self.new_id(),
            household=case.household,
            code=destination,
            status="open",
            worker=self.worker(destination),
            priority=case.priority,
            restricted=case.restricted,
            transferred_in=True,
        )
        self.end_referrals(ts, case)
        # As cases does: the receiving office's case is opened (and announced) first, then the origin's moves.
        self.out.append(
            CaseOpenedV1(
                case_id=new.id,
                household_id=case.household.id,
                municipality_code=destination,
                opened_at=_dt(ts),
                household_registered_at=_dt(case.household.registered_ts),
                priority=new.priority,
                restricted=new.restricted,
                transferred_from_case_id=case.id,
                assigned_to=new.worker,
            )
        )
        self.out.append(
            CaseTransferredV1(
                **self.case_event(case),
                to_case_id=new.id,
                to_municipality_code=destination,
                agreement_id=self.agreements[self.district_of[case.code]],
                transferred_at=_dt(ts),
            )
        )
        case.status = "transferred"
        case.epoch += 1
        case.household.case = new
        self.plan_case(ts, new, first=True)

    # -- referrals and providers

    def _refer(self, ts: float, case: _Case, epoch: int) -> None:
        rng = self.rng
        if case.epoch != epoch or case.status != "active":
            return
        local = self.providers_in.get(case.code, [])
        cross = not local or rng.random() < 0.15
        if cross:
            nearby = [p for c in self.partners(case.code) for p in self.providers_in.get(c, [])]
            pool = nearby or [p for p in self.providers if p.code != case.code]
        else:
            pool = local
        referral = _Referral(id=self.new_id(), provider=rng.choice(pool), cross_border=cross)
        case.referrals.append(referral)
        self.out.append(ReferralRequestedV1(**self.referral_event(case, referral), requested_at=_dt(ts)))
        self.at(self.workday(ts, 1, 21), self._decide, case, referral)

    def referral_event(self, case: _Case, referral: _Referral) -> dict[str, Any]:
        return {
            **self.case_event(case),
            "referral_id": referral.id,
            "provider_id": referral.provider.id,
            "service_type": referral.provider.service_type,
            "provider_municipality_code": referral.provider.code,
            "cross_border": referral.cross_border,
        }

    def _decide(self, ts: float, case: _Case, referral: _Referral) -> None:
        rng = self.rng
        if referral.status != "requested":
            return
        provider = referral.provider
        r = rng.random()
        if r < 0.08:
            status = "cancelled"
        elif r < 0.2 or provider.occupancy >= provider.capacity:
            status = "declined"
        else:
            status = "accepted"
        referral.status = status
        self.out.append(ReferralDecidedV1(**self.referral_event(case, referral), status=status, decided_at=_dt(ts)))
        if status == "accepted":
            provider.occupancy += 1
            self._provider_changed(ts, provider)
            if rng.random() < 0.7:
                self.at(self.workday(ts, 20, 300), self._end_referral, case, referral)

    def _end_referral(self, ts: float, case: _Case, referral: _Referral) -> None:
        if referral.status != "accepted":
            return
        referral.status = "ended"
        self.out.append(ReferralDecidedV1(**self.referral_event(case, referral), status="ended", decided_at=_dt(ts)))
        referral.provider.occupancy -= 1
        self._provider_changed(ts, referral.provider)

    def end_referrals(self, ts: float, case: _Case) -> None:
        """A case that closes or leaves ends its running services and withdraws pending requests."""
        for referral in case.referrals:
            if referral.status == "accepted":
                self._end_referral(ts, case, referral)
            elif referral.status == "requested":
                referral.status = "cancelled"
                self.out.append(
                    ReferralDecidedV1(**self.referral_event(case, referral), status="cancelled", decided_at=_dt(ts))
                )
        case.referrals = []


def _priority(h: _Household, on: date) -> PriorityName:
    """Cases' own rule on every member intake's event lists, as cases applies it (an erased member keeps the
    birth year, so still counts as a child or an elderly member)."""
    facts = [MemberFacts(birth_year=m.birth_year, markers=frozenset(m.markers)) for m in h.members]
    return case_priority(members=facts, below_poverty_line=h.below, on=on).value
