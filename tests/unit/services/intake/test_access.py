"""Who may see and do what in intake: the scopes, the municipality rule, the role rules and an import's readers."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from services.intake import access
from shared.auth import Role, User
from shared.errors import Forbidden


def user(*roles: Role, municipalities: tuple[str, ...] = (), sub: str = "u1") -> User:
    return User(sub=sub, roles=frozenset(roles), municipalities=frozenset(municipalities))


def job(created_by: str, *municipalities: str) -> Any:
    return SimpleNamespace(created_by=created_by, municipalities=list(municipalities))


WORKER = user(Role.case_worker, municipalities=("80012", "80055"))
SUPERVISOR = user(Role.supervisor, municipalities=("80012",), sub="s1")
ADMIN = user(Role.admin, sub="a1")


def test_the_scope_is_the_users_municipalities_and_none_means_all() -> None:
    assert access.scope(WORKER) == ["80012", "80055"]
    assert access.scope(ADMIN) is None
    assert access.import_scope(WORKER) == ["80012", "80055"]
    assert access.import_scope(ADMIN) == [access.ALL_MUNICIPALITIES]


def test_another_municipality_is_refused_by_code_with_the_same_answer_as_before() -> None:
    access.ensure_municipality(WORKER, "80012")
    access.ensure_municipality(ADMIN, "70017")
    with pytest.raises(Forbidden) as refused:
        access.ensure_municipality(WORKER, "70017")
    assert refused.value.reason == "municipality_not_yours" and refused.value.params == {"code": "70017"}
    assert refused.value.message == "Municipality 70017 is not among the municipalities you work for."
    assert refused.value.status_code == 403 and refused.value.code == "forbidden"


def test_supervisor_and_administrator_work_is_refused_to_a_worker() -> None:
    access.ensure_supervisor(SUPERVISOR, "no")
    access.ensure_supervisor(ADMIN, "no")
    with pytest.raises(Forbidden) as refused:
        access.ensure_supervisor(WORKER, "Only a supervisor.")
    assert refused.value.reason == "supervisors_only" and refused.value.message == "Only a supervisor."
    access.ensure_admin(ADMIN, "no")
    with pytest.raises(Forbidden) as refused:
        access.ensure_admin(SUPERVISOR, "Only an administrator.")
    assert refused.value.reason == "administrators_only"


def test_an_import_is_seen_by_its_uploader_admins_and_supervisors_covering_its_scope() -> None:
    assert access.can_see_import(WORKER, job("u1", "80012", "80055"))
    assert not access.can_see_import(user(Role.case_worker, municipalities=("80012",), sub="u2"), job("u1", "80012"))
    assert access.can_see_import(SUPERVISOR, job("u1", "80012"))
    assert not access.can_see_import(SUPERVISOR, job("u1", "80012", "80055"))
    assert not access.can_see_import(SUPERVISOR, job("a1", access.ALL_MUNICIPALITIES))
    assert access.can_see_import(ADMIN, job("u1", "80012"))
