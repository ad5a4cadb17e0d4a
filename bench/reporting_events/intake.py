"""Intake in the simulation: registrations, edits, consents, erasures, merges and the yearly poverty line."""

from __future__ import annotations

from typing import Any

from bench.reporting_events.cases import _Cases
from bench.reporting_events.tables import (
    ACTIVE,
    CONSENT_PURPOSES,
    EDITS,
    EDUCATION_OTHERS,
    EDUCATION_ROMA,
    HOUSING_OTHERS,
    HOUSING_ROMA,
    SIZES,
    SKILL_COUNTS,
    WORK_ADULT,
    WORK_OLD,
    WORK_YOUNG,
    WORKING_AGE,
    _day,
    _dt,
)
from bench.reporting_events.world import _Household, _Member
from services.intake.domain import equivalent_adults
from shared.events import (
    HouseholdMergedV1,
    HouseholdRegisteredV2,
    HouseholdUpdatedV1,
    PersonConsentChangedV1,
    PersonErasedV1,
    PersonMergedV1,
)
from shared.events.intake import Education, EmploymentStatus, UpdateReason


class _Intake(_Cases):
    """Intake's events; each registration opens a case and each update may reprioritise it (cases: the class this
    one extends)."""

    def _new_members(self, year: int, roma: bool) -> list[_Member]:
        rng = self.rng
        size = SIZES(rng)
        if roma and size < 6 and rng.random() < 0.6:
            size += 1
        people: list[tuple[str, int, str]] = []  # (relation, age, sex)
        if size == 1:
            age = rng.randint(65, 90) if rng.random() < 0.5 else rng.randint(20, 64)
            people.append(("head", age, "F" if rng.random() < (0.65 if age >= 65 else 0.45) else "M"))
        else:
            head_age = rng.randint(22, 78)
            head_sex = "F" if rng.random() < 0.5 else "M"
            spouse = head_age < 80 and rng.random() < 0.7
            if not spouse and rng.random() < 0.7:
                head_sex = "F" if rng.random() < 0.85 else "M"  # single parents are mostly mothers
            people.append(("head", head_age, head_sex))
            if spouse:
                people.append(
                    ("spouse", max(18, min(90, head_age + rng.randint(-6, 6))), "M" if head_sex == "F" else "F")
                )
            while len(people) < size:
                r = rng.random()
                if r < 0.12 and head_age <= 62 and not any(p[0] == "parent" for p in people):
                    people.append(
                        ("parent", min(90, head_age + rng.randint(20, 30)), "F" if rng.random() < 0.6 else "M")
                    )
                elif r < 0.2 and head_age >= 45:
                    people.append(("grandchild", rng.randint(0, 14), "F" if rng.random() < 0.49 else "M"))
                elif r < 0.25:
                    relation = "sibling" if rng.random() < 0.6 else "other_relative"
                    people.append((relation, max(0, min(90, head_age + rng.randint(-15, 15))), rng.choice("FM")))
                else:
                    oldest = max(0, min(head_age - 17, 32))
                    people.append(("child", rng.randint(0, oldest), "F" if rng.random() < 0.49 else "M"))
        single_parent = not any(p[0] == "spouse" for p in people) and any(p[0] == "child" and p[1] < 18 for p in people)
        violence = rng.random() < 0.003  # one adult woman of the household, rarely
        members = []
        for i, (relation, age, sex) in enumerate(people):
            markers: list[str] = []
            consents: list[str] = []
            if rng.random() < (0.99 if i == 0 else 0.95):
                consents.append("case_work")
            if 15 <= age < 65 and rng.random() < 0.75:
                consents.append("activation")
            if rng.random() < 0.35:
                consents.append("research")
            if roma and rng.random() < 0.9:
                consents.append("ethnicity")
                markers.append("roma")
            disability = rng.random() < (0.05 if age < 18 else 0.08 if age < 65 else 0.2)
            if disability:
                markers.append("disability")
            able: bool | None
            if age < 15:
                able = None
            elif age >= 65:
                able = False
            else:
                able = rng.random() < (0.3 if disability else 0.8)
            status = self._employment(age)
            if able and status == "unemployed":
                markers.append("unemployed_able_to_work")
            if i == 0 and single_parent:
                markers.append("single_parent")
            if rng.random() < (0.05 if roma else 0.005):
                markers.append("without_documents")
            if violence and sex == "F" and age >= 18:
                markers.append("victim_of_violence")
                violence = False
            skills: list[str] = []
            if age >= 16 and able is not False:
                k = SKILL_COUNTS(rng)
                skills = sorted(rng.sample(self.skill_codes, k))
            members.append(
                _Member(
                    person_id=self.new_id(),
                    sex=sex,
                    birth_year=year - age,
                    relation=relation,
                    able_to_work=able,
                    employment_status=status,
                    education=self._education(age, roma),
                    skills=skills,
                    markers=sorted(markers),
                    consents=sorted(consents),
                )
            )
        return members

    def _employment(self, age: int) -> EmploymentStatus | None:
        rng = self.rng
        if age < 7:
            return None
        if age < 19:
            return "pupil_student"
        if rng.random() < 0.03:
            return None
        return WORK_YOUNG(rng) if age < 25 else WORK_ADULT(rng) if age < 65 else WORK_OLD(rng)

    def _education(self, age: int, roma: bool) -> Education | None:
        rng = self.rng
        if age < 7:
            return None
        if age < 15:
            return "primary_incomplete"
        if rng.random() < 0.04:
            return None
        return EDUCATION_ROMA(rng) if roma else EDUCATION_OTHERS(rng)

    def state(self, h: _Household, ts: float) -> dict[str, Any]:
        return {
            "household_id": h.id,
            "municipality_code": h.code,
            "registered_at": _dt(h.registered_ts),
            "members": [m.profile() for m in h.members],
            "housing_type": h.housing_type,
            "equivalent_adults": equivalent_adults([_day(ts).year - m.birth_year for m in h.members]),
            "below_poverty_line": h.below,
            "poverty_year": h.poverty_year,
            "version": h.version,
        }

    def _register(self, ts: float, index: int) -> None:
        rng = self.rng
        if index + 1 < len(self.arrivals):
            self.at(self.arrivals[index + 1], self._register, index + 1)
        year = _day(ts).year
        code = self.municipality(rng)
        roma = rng.random() < 0.08
        housing = HOUSING_ROMA(rng) if roma else HOUSING_OTHERS(rng)
        below: bool | None = None if rng.random() < 0.04 else rng.random() < (0.6 if roma else 0.34)
        h = _Household(
            id=self.new_id(),
            code=code,
            registered_ts=ts,
            members=self._new_members(year, roma),
            housing_type=housing,
            below=below,
            poverty_year=None if below is None else year,
        )
        self.households.append(h)
        self.out.append(HouseholdRegisteredV2(**self.state(h, ts)))
        self.at(ts + rng.uniform(0.02, 1.5), self._open_case, h)
        r = rng.random()
        if r < 0.005:
            h.merge_planned = True
            self.at(self.workday(ts, 2, 40), self._merge_household, h)
        elif r < 0.007:
            self.at(self.workday(ts, 5, 200), self._merge_person, h)
        else:
            self.by_municipality.setdefault(code, []).append(h)  # a survivor of later merges
        if rng.random() < 0.16:
            self.at(self.workday(ts, 7, 400), self._edit, h)
        if rng.random() < 0.04:
            self.at(self.workday(ts, 3, 400), self._consent, h)
        if rng.random() < 0.014:
            self.at(self.workday(ts, 10, 300), self._erase, h)

    def updated(self, ts: float, h: _Household, reason: UpdateReason) -> None:
        h.version += 1
        self.out.append(HouseholdUpdatedV1(**self.state(h, ts), reason=reason, changed_at=_dt(ts)))
        if h.case is not None:  # cases follows the household and may reprioritise its case
            self.at(ts + self.rng.uniform(0.02, 1.0), self._reprioritise, h.case, h.case.epoch)

    def _edit(self, ts: float, h: _Household) -> None:
        rng = self.rng
        if h.merged:
            return
        year = _day(ts).year
        present = [m for m in h.members if not m.erased]
        kind = EDITS(rng)
        adults = [m for m in present if year - m.birth_year in WORKING_AGE]
        if kind == "work" and adults:
            m = rng.choice(adults)
            m.employment_status = (
                rng.choice(("employed", "informal_work")) if m.employment_status == "unemployed" else "unemployed"
            )
            markers = set(m.markers) - {"unemployed_able_to_work"}
            if m.able_to_work and m.employment_status == "unemployed":
                markers.add("unemployed_able_to_work")
            m.markers = sorted(markers)
            m.changed()
        elif (
            kind == "birth"
            and len(h.members) < 9
            and any(m.sex == "F" and 18 <= year - m.birth_year < 45 for m in present)
        ):
            h.members.append(
                _Member(
                    person_id=self.new_id(),
                    sex="F" if rng.random() < 0.49 else "M",
                    birth_year=year,
                    relation="child",
                    able_to_work=None,
                    employment_status=None,
                    education=None,
                    skills=[],
                    markers=["roma"] if "roma" in h.members[0].markers else [],
                    consents=["case_work", "ethnicity"] if "roma" in h.members[0].markers else ["case_work"],
                )
            )
        elif kind == "left" and len(h.members) > 1:
            leaving = [m for m in h.members[1:] if not m.candidate and not m.erased]
            if leaving:
                h.members.remove(rng.choice(leaving))
        elif kind == "housing":
            h.housing_type = rng.choice(("own", "rented", "with_relatives", "social_housing"))
        elif present:
            m = rng.choice(present)
            if year - m.birth_year >= 16:
                m.skills = sorted({*m.skills, rng.choice(self.skill_codes)})
                m.changed()
        if h.below is not None and rng.random() < 0.15:
            h.below = not h.below
            h.poverty_year = max(h.poverty_year or year, year)
        self.updated(ts, h, "edited")
        if rng.random() < 0.2:
            self.at(self.workday(ts, 30, 300), self._edit, h)

    def _consent(self, ts: float, h: _Household) -> None:
        rng = self.rng
        candidates = [m for m in h.members if not m.erased]
        if h.merged or not candidates:
            return
        m = rng.choice(candidates)
        purpose = CONSENT_PURPOSES(rng)
        granted = purpose not in m.consents
        if purpose == "ethnicity" and granted and "roma" not in h.members[0].markers:
            purpose, granted = "research", "research" not in m.consents
        if granted:
            m.consents = sorted({*m.consents, purpose})
        else:
            m.consents = [c for c in m.consents if c != purpose]
            if purpose == "ethnicity":
                m.markers = [k for k in m.markers if k != "roma"]  # without the consent the marker is not kept
        m.changed()
        self.out.append(
            PersonConsentChangedV1(
                household_id=h.id, person_id=m.person_id, purpose=purpose, granted=granted, changed_at=_dt(ts)
            )
        )
        self.updated(ts, h, "consent_changed")

    def _erase(self, ts: float, h: _Household) -> None:
        candidates = [m for m in h.members if not m.erased and not m.candidate]
        if h.merged or not candidates:
            return
        m = self.rng.choice(candidates)
        # As intake does: names, JMBG, skills, markers, consents, education and work status go; sex and birth year
        # stay for statistics, and the member stays in the household.
        m.erased = True
        m.skills, m.markers, m.consents = [], [], []
        m.education = m.employment_status = None
        m.able_to_work = None
        m.changed()
        self.out.append(PersonErasedV1(household_id=h.id, person_id=m.person_id, erased_at=_dt(ts)))
        self.updated(ts, h, "person_erased")

    def survivor_for(self, h: _Household) -> _Household | None:
        pool = self.by_municipality.get(h.code, [])
        for _ in range(5):
            if not pool:
                return None
            other = self.rng.choice(pool)
            if other is not h and not other.merged and other.registered_ts < h.registered_ts:
                return other
        return None

    def _merge_household(self, ts: float, h: _Household) -> None:
        """A supervisor found this household registered twice: its members move to the older record."""
        survivor = self.survivor_for(h)
        keep = [m for m in survivor.members if not m.erased] if survivor else []
        if survivor is None or not keep:
            self.by_municipality.setdefault(h.code, []).append(h)
            return
        duplicate, kept = h.members[0], self.rng.choice(keep)
        moved = h.members[1:]
        for m in moved:
            if m.relation == "head":
                m.relation = "other_relative"
            m.changed()
        kept.markers = sorted(
            {*kept.markers, *duplicate.markers} - ({"roma"} if "ethnicity" not in kept.consents else set())
        )
        kept.changed()
        survivor.members.extend(moved)
        h.members = [duplicate]
        h.merged = True
        self.out.append(
            HouseholdMergedV1(
                survivor_household_id=survivor.id,
                merged_household_id=h.id,
                moved_person_ids=[m.person_id for m in moved],
                merged_person_ids={duplicate.person_id: kept.person_id},
                merged_at=_dt(ts),
            )
        )
        self.updated(ts, survivor, "merged")
        case = h.case
        if case is not None:
            # Cases links the merged household's (newer) case to the survivor's; a supervisor closes it later.
            case.household = survivor
            case.epoch += 1
            if case.status in ACTIVE:
                self.at(self.workday(ts, 1, 15), self._close, case, case.epoch, "merged")

    def _merge_person(self, ts: float, h: _Household) -> None:
        """One member of this household is the same person as a member of another household."""
        survivor = self.survivor_for(h)
        gone = [m for m in h.members[1:] if not m.erased and not m.candidate]
        keep = [m for m in survivor.members if not m.erased] if survivor else []
        if survivor is None or h.merged or not gone or not keep:
            return
        merged, kept = self.rng.choice(gone), self.rng.choice(keep)
        h.members.remove(merged)
        self.out.append(
            PersonMergedV1(
                survivor_person_id=kept.person_id,
                survivor_household_id=survivor.id,
                merged_person_id=merged.person_id,
                merged_household_id=h.id,
                merged_at=_dt(ts),
            )
        )
        self.updated(ts, h, "merged")
        kept.skills = sorted({*kept.skills, *merged.skills})
        kept.changed()
        self.updated(ts, survivor, "merged")

    def _poverty_line(self, ts: float, year: int) -> None:
        """The new year's poverty line: intake recomputes every household and announces those whose flag changed."""
        rng = self.rng
        for h in self.households:
            if h.merged:
                continue
            if h.below is None:
                h.below = rng.random() < 0.35
            elif rng.random() < 0.07:
                h.below = not h.below
            else:
                continue
            h.poverty_year = year
            self.updated(ts, h, "poverty_line_changed")
