"""How each event changes reporting's facts: folded, in order, over the rows a batch of events loaded, in memory.

A :class:`Batch` holds the rows of the fact tables that its events touch (loaded and written back by
services/reporting/projection.py), the persons of re-registered households, the case transitions and provider
changes to append, and the (municipality, month) cells the events changed, for the feed. Nothing here reads or
writes the store.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Table

from services.reporting import domain
from services.reporting.domain import Cell
from services.reporting.models import (
    CANDIDATES,
    CASES,
    HOUSEHOLDS,
    MARKS,
    OPPORTUNITIES,
    PLACEMENTS,
    PROVIDERS,
    REFERRALS,
)
from shared.events import (
    ActivationRequestedV1,
    AssessmentCompletedV1,
    CaseAssignedV1,
    CaseOpenedV1,
    CaseStatusChangedV1,
    CaseTransferredV1,
    EventData,
    HouseholdMergedV1,
    HouseholdRegisteredV2,
    HouseholdUpdatedV1,
    MatchProposedV1,
    OpportunityClosedV1,
    OpportunityPublishedV1,
    PersonErasedV1,
    PersonMergedV1,
    PlacementCompletedV1,
    PlacementEndedV1,
    PlacementStartedV1,
    ProviderChangedV1,
    ReferralDecidedV1,
    ReferralRequestedV1,
)

log = structlog.get_logger(__name__)

Row = dict[str, Any]


@dataclass
class Keyed:
    """The rows of one fact table that this batch loaded or wrote, by id; ``dirty`` ids are written back."""

    table: Table
    key: str
    rows: dict[uuid.UUID, Row | None] = field(default_factory=dict)
    dirty: set[uuid.UUID] = field(default_factory=set)

    def get(self, key: uuid.UUID) -> Row | None:
        return self.rows.get(key)

    def put(self, key: uuid.UUID, row: Row | None) -> None:
        self.rows[key] = row
        self.dirty.add(key)


class Batch:
    """The facts one batch of events touches, and how each event changes them (one method per kind of event)."""

    def __init__(self, projected_at: datetime) -> None:
        self.projected_at = projected_at
        self.households = Keyed(HOUSEHOLDS, "household_id")
        self.marks = Keyed(MARKS, "person_id")
        self.cases = Keyed(CASES, "case_id")
        self.referrals = Keyed(REFERRALS, "referral_id")
        self.providers = Keyed(PROVIDERS, "provider_id")
        self.candidates = Keyed(CANDIDATES, "person_id")
        self.opportunities = Keyed(OPPORTUNITIES, "opportunity_id")
        self.placements = Keyed(PLACEMENTS, "placement_id")
        self.members: dict[uuid.UUID, list[Row]] = {}  # households whose persons are replaced
        self.merged_households: set[uuid.UUID] = set()  # households whose persons are removed
        self.removed_persons: set[uuid.UUID] = set()
        self.transitions: list[Row] = []
        self.provider_deltas: list[Row] = []
        self.cells: set[Cell] = set()  # what the batch changed, for the feed

    @property
    def keyed(self) -> tuple[Keyed, ...]:
        """Every fact table of the batch kept by id, in the order they are written back."""
        return (
            self.households,
            self.marks,
            self.cases,
            self.referrals,
            self.providers,
            self.candidates,
            self.opportunities,
            self.placements,
        )

    def wanted(self, events: Sequence[EventData]) -> list[tuple[Keyed, set[uuid.UUID]]]:
        """The ids whose rows the events read or change, by fact table, in the order they are loaded."""
        households: set[uuid.UUID] = set()
        persons: set[uuid.UUID] = set()
        cases: set[uuid.UUID] = set()
        referrals: set[uuid.UUID] = set()
        providers: set[uuid.UUID] = set()
        opportunities: set[uuid.UUID] = set()
        placements: set[uuid.UUID] = set()
        members: set[uuid.UUID] = set()
        for event in events:
            if isinstance(event, HouseholdRegisteredV2 | HouseholdUpdatedV1):
                households.add(event.household_id)
                members.update(m.person_id for m in event.members)
            elif isinstance(event, HouseholdMergedV1):
                households.add(event.merged_household_id)
                persons.update(event.merged_person_ids)
                persons.update(event.merged_person_ids.values())
            elif isinstance(event, PersonErasedV1):
                persons.add(event.person_id)
            elif isinstance(event, PersonMergedV1):
                persons.update((event.merged_person_id, event.survivor_person_id))
            elif isinstance(event, ActivationRequestedV1):
                persons.add(event.person_id)
            elif isinstance(
                event, CaseOpenedV1 | CaseAssignedV1 | CaseStatusChangedV1 | CaseTransferredV1 | AssessmentCompletedV1
            ):
                cases.add(event.case_id)
            elif isinstance(event, ReferralRequestedV1 | ReferralDecidedV1):
                referrals.add(event.referral_id)
            elif isinstance(event, ProviderChangedV1):
                providers.add(event.provider_id)
            elif isinstance(event, OpportunityPublishedV1 | OpportunityClosedV1):
                opportunities.add(event.opportunity_id)
            elif isinstance(event, MatchProposedV1 | PlacementStartedV1 | PlacementCompletedV1 | PlacementEndedV1):
                placements.add(event.placement_id)
        return [
            (self.households, households),
            (self.marks, persons | members),
            (self.candidates, persons),
            (self.cases, cases),
            (self.referrals, referrals),
            (self.providers, providers),
            (self.opportunities, opportunities),
            (self.placements, placements),
        ]

    def survivors_missing(self) -> list[uuid.UUID]:
        """Persons merged into others whose marks are not loaded yet (merge chains: the survivors' marks and
        candidate rows are needed too)."""
        targets = {m["merged_into"] for m in self.marks.rows.values() if m and m["merged_into"]}
        return [t for t in targets if t not in self.marks.rows]

    def apply(self, event: EventData) -> None:
        """Fold ``event`` over the batch's rows (an event type reporting does not apply changes nothing)."""
        handler = FOLDS.get(type(event))
        if handler is not None:
            handler(self, event)

    def _touch(self, municipality: str, month: int) -> None:
        self.cells.add((municipality, month))

    def household_state(self, event: HouseholdRegisteredV2 | HouseholdUpdatedV1) -> None:
        current = self.households.get(event.household_id)
        if current is not None and (not current["active"] or event.version <= current["version"]):
            return  # an older state, or a household merged away
        registered = domain.ym(event.registered_at)
        head = next((m for m in event.members if m.relation == "head"), event.members[0])
        head_band = domain.age_band(head.birth_year, event.registered_at)
        persons: list[Row] = []
        groups = 0
        listed = 0
        for member in event.members:
            # Marks of erasure and of merged-away persons travel on this household's partition, so they are read
            # in order with its states: what they exclude is the same live and in a rebuild.
            mark = self.marks.get(member.person_id)
            if mark is not None and (mark["erased"] or mark["merged_into"]):
                continue
            listed += 1
            band = domain.age_band(member.birth_year, event.registered_at)
            bits = domain.groups_of(member.markers, band)
            groups |= bits
            persons.append(
                {
                    "person_id": member.person_id,
                    "household_id": event.household_id,
                    "municipality_code": event.municipality_code,
                    "registered_ym": registered,
                    "sex": member.sex,
                    "age_band": band,
                    "groups": bits,
                    "below_poverty": event.below_poverty_line,
                }
            )
        has_spouse = any(m.relation == "spouse" for m in event.members)
        self.households.put(
            event.household_id,
            {
                "household_id": event.household_id,
                "municipality_code": event.municipality_code,
                "registered_ym": registered,
                "members": listed,
                "below_poverty": event.below_poverty_line,
                "head_sex": head.sex,
                "head_age_band": head_band,
                "groups": groups,
                "elderly_head": head_band == len(domain.AGE_BANDS) - 1,
                "single_woman_head": head.sex == "F" and not has_spouse,
                "disability_member": bool(groups & domain.GROUP_BITS["disability"]),
                "version": event.version,
                "active": True,
                "registered_at": event.registered_at,
                "projected_at": self.projected_at,
            },
        )
        self.members[event.household_id] = persons
        self.merged_households.discard(event.household_id)
        if current is not None:
            self._touch(current["municipality_code"], current["registered_ym"])
        self._touch(event.municipality_code, registered)

    def _mark(self, person_id: uuid.UUID, **values: Any) -> None:
        mark = self.marks.get(person_id) or {"person_id": person_id, "erased": False, "merged_into": None}
        self.marks.put(person_id, {**mark, **values})

    def _forget_person(self, person_id: uuid.UUID) -> None:
        self.removed_persons.add(person_id)
        for persons in self.members.values():
            persons[:] = [p for p in persons if p["person_id"] != person_id]

    def person_erased(self, event: PersonErasedV1) -> None:
        self._mark(event.person_id, erased=True)
        self._forget_person(event.person_id)
        candidate = self.candidates.get(event.person_id)
        if candidate is not None:
            self.candidates.put(event.person_id, None)
            self._touch(candidate["municipality_code"], candidate["requested_ym"])
        household = self.households.get(event.household_id)
        if household is not None:
            self._touch(household["municipality_code"], household["registered_ym"])

    def _merge_person(self, merged: uuid.UUID, survivor: uuid.UUID) -> None:
        if merged == survivor:
            return
        self._mark(merged, merged_into=survivor)
        self._forget_person(merged)
        moved = self.candidates.get(merged)
        if moved is None:
            return
        self.candidates.put(merged, None)
        target = self._resolve(survivor)
        if target is None:
            return
        kept = self.candidates.get(target)
        # The earliest request wins, whichever order the two arrive in.
        if kept is None or (moved["requested_at"], str(merged)) < (kept["requested_at"], str(target)):
            self.candidates.put(target, {**moved, "person_id": target})
        self._touch(moved["municipality_code"], moved["requested_ym"])

    def household_merged(self, event: HouseholdMergedV1) -> None:
        household = self.households.get(event.merged_household_id)
        if household is not None:
            self.households.put(event.merged_household_id, {**household, "active": False, "members": 0})
            self._touch(household["municipality_code"], household["registered_ym"])
        self.members.pop(event.merged_household_id, None)
        self.merged_households.add(event.merged_household_id)
        for merged, survivor in event.merged_person_ids.items():
            self._merge_person(merged, survivor)

    def person_merged(self, event: PersonMergedV1) -> None:
        self._merge_person(event.merged_person_id, event.survivor_person_id)

    def _resolve(self, person_id: uuid.UUID) -> uuid.UUID | None:
        """The person a pseudonymous id stands for now: None once erased, the last survivor after merges."""
        seen: set[uuid.UUID] = set()
        current = person_id
        while current not in seen:
            seen.add(current)
            mark = self.marks.get(current)
            if mark is None:
                return current
            if mark["erased"]:
                return None
            if mark["merged_into"] is None:
                return current
            current = mark["merged_into"]
        return current

    def case_opened(self, event: CaseOpenedV1) -> None:
        if self.cases.get(event.case_id) is not None:
            return
        month = domain.ym(event.opened_at)
        self.cases.put(
            event.case_id,
            {
                "case_id": event.case_id,
                "household_id": event.household_id,
                "municipality_code": event.municipality_code,
                "opened_ym": month,
                "status": "open",
                "worker": event.assigned_to,
                "assessed_ym": None,
                "days_to_assessment": None,
            },
        )
        self._transition(event.case_id, event.municipality_code, month, None, "open")

    def _transition(self, case_id: uuid.UUID, municipality: str, month: int, old: str | None, new: str) -> None:
        self.transitions.append(
            {"case_id": case_id, "municipality_code": municipality, "ym": month, "from_status": old, "to_status": new}
        )
        self._touch(municipality, month)

    def case_assigned(self, event: CaseAssignedV1) -> None:
        case = self.cases.get(event.case_id)
        if case is not None:
            self.cases.put(event.case_id, {**case, "worker": event.worker})

    def case_status(self, event: CaseStatusChangedV1) -> None:
        case = self.cases.get(event.case_id)
        if case is None or case["status"] != event.from_status:
            log.info("reporting.status_out_of_step", case_id=str(event.case_id), to_status=event.to_status)
            return
        self.cases.put(event.case_id, {**case, "status": event.to_status})
        self._transition(
            event.case_id, case["municipality_code"], domain.ym(event.changed_at), case["status"], event.to_status
        )

    def case_transferred(self, event: CaseTransferredV1) -> None:
        case = self.cases.get(event.case_id)
        if case is None or case["status"] in ("closed", "transferred"):
            return
        self.cases.put(event.case_id, {**case, "status": "transferred"})
        month = domain.ym(event.transferred_at)
        self._transition(event.case_id, case["municipality_code"], month, case["status"], "transferred")

    def assessment(self, event: AssessmentCompletedV1) -> None:
        case = self.cases.get(event.case_id)
        if case is None or case["assessed_ym"] is not None:
            return  # only the first assessment counts for the time to assessment
        days = (event.completed_at - event.household_registered_at).total_seconds() / 86400
        month = domain.ym(event.completed_at)
        self.cases.put(event.case_id, {**case, "assessed_ym": month, "days_to_assessment": round(max(days, 0.0), 4)})
        self._touch(case["municipality_code"], month)

    def referral(self, event: ReferralRequestedV1 | ReferralDecidedV1) -> None:
        current = self.referrals.get(event.referral_id)
        if isinstance(event, ReferralRequestedV1):
            if current is not None:
                return
            month, status = domain.ym(event.requested_at), "requested"
        else:
            month, status = domain.ym(event.decided_at), event.status
            if current is not None:
                self.referrals.put(event.referral_id, {**current, "status": status})
                return
        self.referrals.put(
            event.referral_id,
            {
                "referral_id": event.referral_id,
                "case_id": event.case_id,
                "household_id": event.household_id,
                "municipality_code": event.municipality_code,
                "service_type": event.service_type,
                "cross_border": event.cross_border,
                "requested_ym": month,
                "status": status,
            },
        )
        self._touch(event.municipality_code, month)

    def provider(self, event: ProviderChangedV1) -> None:
        current = self.providers.get(event.provider_id)
        if current is not None and event.changed_at < current["changed_at"]:
            return
        month = domain.ym(event.changed_at)
        if current is not None and current["active"]:
            self._provider_delta(event.provider_id, current, month, -1)
        new = {
            "provider_id": event.provider_id,
            "municipality_code": event.municipality_code,
            "service_type": event.service_type,
            "capacity": event.capacity,
            "occupancy": event.occupancy,
            "active": event.active,
            "changed_at": event.changed_at,
        }
        if event.active:
            self._provider_delta(event.provider_id, new, month, 1)
        self.providers.put(event.provider_id, new)

    def _provider_delta(self, provider_id: uuid.UUID, row: Row, month: int, sign: int) -> None:
        self.provider_deltas.append(
            {
                "provider_id": provider_id,
                "municipality_code": row["municipality_code"],
                "service_type": row["service_type"],
                "ym": month,
                "providers": sign,
                "capacity": sign * row["capacity"],
                "occupancy": sign * row["occupancy"],
            }
        )
        self._touch(row["municipality_code"], month)

    def candidate(self, event: ActivationRequestedV1) -> None:
        person = self._resolve(event.person_id)
        if person is None:
            return  # erased before this request was read
        band = domain.age_band(event.birth_year, event.requested_at)
        month = domain.ym(event.requested_at)
        row = {
            "person_id": person,
            "municipality_code": event.municipality_code,
            "requested_ym": month,
            "requested_at": event.requested_at,
            "sex": event.sex,
            "age_band": band,
            "groups": domain.groups_of(event.markers, band),
        }
        kept = self.candidates.get(person)
        if kept is not None and kept["requested_at"] <= event.requested_at:
            return
        self.candidates.put(person, row)
        if kept is not None:
            self._touch(kept["municipality_code"], kept["requested_ym"])
        self._touch(event.municipality_code, month)

    def opportunity(self, event: OpportunityPublishedV1 | OpportunityClosedV1) -> None:
        current = self.opportunities.get(event.opportunity_id)
        if isinstance(event, OpportunityClosedV1):
            if current is None:
                return
            month = domain.ym(event.closed_at)
            self.opportunities.put(event.opportunity_id, {**current, "closed_ym": month})
            self._touch(current["municipality_code"], month)
            return
        month = current["published_ym"] if current else domain.ym(event.published_at)
        self.opportunities.put(
            event.opportunity_id,
            {
                "opportunity_id": event.opportunity_id,
                "municipality_code": event.municipality_code,
                "opportunity_type": event.opportunity_type or "job",
                "positions": event.positions,
                "published_ym": month,
                "closed_ym": current["closed_ym"] if current else None,
            },
        )
        self._touch(event.municipality_code, month)

    def placement(self, event: MatchProposedV1 | PlacementStartedV1 | PlacementCompletedV1 | PlacementEndedV1) -> None:
        row = self.placements.get(event.placement_id) or {
            "placement_id": event.placement_id,
            "opportunity_type": None,
            "proposed_ym": None,
            "started_ym": None,
            "completed_ym": None,
            "ended_ym": None,
            "hours_worked": 0,
        }
        row = {**row, "person_id": event.person_id, "municipality_code": event.municipality_code}
        if isinstance(event, MatchProposedV1):
            month = domain.ym(event.proposed_at)
            row.update(proposed_ym=month, opportunity_type=event.opportunity_type)
        elif isinstance(event, PlacementStartedV1):
            month = domain.ym(event.started_at)
            row.update(started_ym=month)
        elif isinstance(event, PlacementCompletedV1):
            month = domain.ym(event.completed_at)
            row.update(completed_ym=month, hours_worked=event.hours_worked)
        else:
            month = domain.ym(event.ended_at)
            row.update(ended_ym=month, hours_worked=event.hours_worked)
        self.placements.put(event.placement_id, row)
        self._touch(event.municipality_code, month)


FOLDS: dict[type[EventData], Any] = {
    HouseholdRegisteredV2: Batch.household_state,
    HouseholdUpdatedV1: Batch.household_state,
    PersonErasedV1: Batch.person_erased,
    HouseholdMergedV1: Batch.household_merged,
    PersonMergedV1: Batch.person_merged,
    CaseOpenedV1: Batch.case_opened,
    CaseAssignedV1: Batch.case_assigned,
    CaseStatusChangedV1: Batch.case_status,
    CaseTransferredV1: Batch.case_transferred,
    AssessmentCompletedV1: Batch.assessment,
    ReferralRequestedV1: Batch.referral,
    ReferralDecidedV1: Batch.referral,
    ProviderChangedV1: Batch.provider,
    ActivationRequestedV1: Batch.candidate,
    OpportunityPublishedV1: Batch.opportunity,
    OpportunityClosedV1: Batch.opportunity,
    MatchProposedV1: Batch.placement,
    PlacementStartedV1: Batch.placement,
    PlacementCompletedV1: Batch.placement,
    PlacementEndedV1: Batch.placement,
}
# Every event type reporting applies (in FOLDS' order); the rest of its topics' events change no indicator.
APPLIED: tuple[type[EventData], ...] = tuple(FOLDS)
