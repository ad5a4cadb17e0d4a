"""Case work in real headless Chromium against the embedded platform (`make run`'s process tree): a registered
household's case reaches the worker's list, the assessment and the plan are recorded through the forms, a referral
across the border is refused without an agreement and accepted with one, and a supervisor reassigns a case.

Needs Debian's `chromium` and Playwright's Python package (see test_intake_in_a_browser.py). One platform for the
module; each test owns its household. Screenshots go to ``artifacts/browser/``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from oslonac.process import PlatformProcess, start_platform
from tests.fixtures.browser import AVAILABLE, MISSING, launched_browser, opened_page, shot
from tests.fixtures.browser import sign_in as signed_in

pytestmark = pytest.mark.browser

ADA, RUMA = "80012", "80357"

if not AVAILABLE:
    pytest.skip(MISSING, allow_module_level=True)

from playwright.sync_api import Browser, Page, expect  # noqa: E402


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    running = start_platform(tmp_path_factory.mktemp("browser-cases-platform"))
    try:
        # Only demo-worker works in Ada and Ruma at first, so every household's case is theirs.
        admin = bearer(running, "demo-admin")
        r = httpx.put(
            f"{running.base_url}/cases/api/workers/demo-worker",
            json={"display_name": "Jelena Petrović", "municipalities": [ADA, RUMA]},
            headers=admin,
        )
        r.raise_for_status()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launched_browser()


@pytest.fixture
def page(browser: Browser, platform: PlatformProcess, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from opened_page(browser, platform.base_url, f"cases-{request.node.name}-last")


def bearer(platform: PlatformProcess, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {platform.token(username)}"}


def sign_in(page: Page, username: str = "demo-worker") -> None:
    signed_in(page, "cases", username)


def registered_case(platform: PlatformProcess, family: str, municipality: str = ADA) -> dict[str, Any]:
    """A household registered through intake's API, and its case once cases has opened it from the event."""
    body = {
        "municipality_code": municipality,
        "settlement": "Mol",
        "incomes": [{"source": "social_assistance", "monthly_amount": 9000.0}],
        "members": [
            {"given_name": "Jelena", "family_name": family, "birth_date": "1984-03-07", "sex": "F",
             "missing_jmbg_reason": "not_known", "relation": "head", "able_to_work": True,
             "consents": ["case_work", "activation"]},
            {"given_name": "Marko", "family_name": family, "birth_date": "2015-05-01", "sex": "M",
             "missing_jmbg_reason": "not_yet_issued", "relation": "child", "consents": ["case_work"]},
        ],
    }  # fmt: skip
    worker = bearer(platform, "demo-worker")
    r = httpx.post(f"{platform.base_url}/intake/api/households", json=body, headers=worker)
    r.raise_for_status()
    household_id = r.json()["id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = httpx.get(f"{platform.base_url}/cases/api/cases", params={"household_id": household_id}, headers=worker)
        if found.status_code == 200 and found.json():
            return dict(found.json()[0])
        time.sleep(0.25)
    raise AssertionError(f"no case opened for household {household_id} in 30 s")


def test_a_registered_households_case_appears_in_the_workers_list(page: Page, platform: PlatformProcess):
    case = registered_case(platform, "Vukadinović")
    assert case["assigned_to"] == "demo-worker"
    sign_in(page)
    expect(page.get_by_role("heading", name="Slučajevi")).to_be_visible()
    row = page.locator(f'tr[data-case="{case["id"]}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("Ada")
    expect(row).to_contain_text("Jelena Petrović")  # the worker's display name
    shot(page, "cases-01-list")
    row.get_by_role("link", name="Otvori slučaj").click()
    expect(page.locator("#case-status")).to_have_text("Otvoren")
    expect(page.locator("#members tbody tr")).to_have_count(2)
    expect(page.get_by_role("link", name=re.compile("Otvori domaćinstvo u upisu"))).to_have_count(2)
    shot(page, "cases-02-case")


def test_assessment_and_plan_are_recorded_through_the_forms(page: Page, platform: PlatformProcess):
    case = registered_case(platform, "Nikolić")
    sign_in(page)
    page.goto(f"/cases/cases/{case['id']}")
    form = page.locator("#assessment-form")
    levels = {"Prihodi": "high", "Radni status": "moderate", "Stanovanje": "moderate", "Zdravlje": "low",
              "Obrazovanje": "low", "Nega": "none", "Bezbednost": "none"}  # fmt: skip
    for domain, level in levels.items():
        form.get_by_label(re.compile(f"^{domain}")).select_option(level)
    form.get_by_label("Napomena: Prihodi").fill("Samo socijalna pomoć")
    shot(page, "cases-03-assessment")
    form.get_by_role("button", name="Sačuvaj procenu").click()
    expect(page.get_by_text("Procena je upisana.", exact=True)).to_be_visible()
    expect(page.locator("#case-status")).to_have_text("Plan")
    expect(page.locator("#latest-assessment")).to_contain_text("Samo socijalna pomoć")

    plan = page.locator("#plan-form")
    plan.get_by_label(re.compile("^Ciljevi")).fill("Redovan prihod domaćinstva\nMarko redovno ide u školu")
    plan.get_by_label(re.compile("^Datum revizije")).fill((date.today() + timedelta(days=90)).isoformat())
    action = plan.locator("fieldset.action").first
    action.get_by_label(re.compile("^Vrsta")).select_option("work_engagement")
    action.get_by_label(re.compile("^Šta treba uraditi")).fill("Javni radovi u opštini")
    action.get_by_label(re.compile("^Za člana")).select_option(index=1)  # member 1, the mother (oldest first)
    action.get_by_label(re.compile("^Sati nedeljno, najmanje")).fill("10")
    action.get_by_label(re.compile("^Sati nedeljno, najviše")).fill("20")
    action.get_by_label(re.compile("^Dostupan/na od")).fill(date.today().isoformat())
    plan.get_by_role("button", name="Dodaj aktivnost").click()
    expect(plan.locator("fieldset.action")).to_have_count(2)
    second = plan.locator("fieldset.action").nth(1)
    second.get_by_label(re.compile("^Vrsta")).select_option("task")
    second.get_by_label(re.compile("^Šta treba uraditi")).fill("Upis u školu")
    shot(page, "cases-04-plan-form")
    plan.get_by_role("button", name="Dogovori plan").click()
    expect(page.get_by_text("Plan je dogovoren.", exact=True)).to_be_visible()
    expect(page.locator("#case-status")).to_have_text("Aktivan")
    expect(page.locator("#plan-goals li")).to_have_count(2)
    expect(page.locator("#plan-actions")).to_contain_text("Javni radovi u opštini")
    expect(page.locator("#plan-actions")).to_contain_text("poslato aktivaciji")
    expect(page.locator('#timeline li[data-kind="plan_agreed"]')).to_have_count(1)
    shot(page, "cases-05-plan")


def test_a_referral_across_the_border_is_refused_without_an_agreement_and_sent_with_one(
    page: Page, platform: PlatformProcess, browser: Browser
):
    case = registered_case(platform, "Pavlović")
    name = f"Pomoć u kući Ruma {uuid.uuid4().hex[:4]}"
    provider = {"name": name, "service_type": "home_help", "municipality_code": RUMA, "capacity": 10}
    r = httpx.post(f"{platform.base_url}/cases/api/providers", json=provider, headers=bearer(platform, "demo-admin"))
    r.raise_for_status()
    provider_id = r.json()["id"]

    sign_in(page)
    page.goto(f"/cases/cases/{case['id']}")
    form = page.locator("#referral-form")
    form.get_by_label(re.compile("^Pružalac usluge")).select_option(provider_id)
    form.get_by_role("button", name="Pošalji uput").click()
    refusal = page.locator(".message--error")
    expect(refusal).to_contain_text("Uput je odbijen: nijedan međuopštinski sporazum")
    expect(refusal).to_contain_text("„Pomoć u kući“ između opština Ada i Ruma")
    shot(page, "cases-06-referral-refused")

    # A supervisor records the agreement on the agreements page.
    supervisor = browser.new_context(base_url=platform.base_url, locale="sr-Latn-RS").new_page()
    sign_in(supervisor, "demo-supervisor")
    supervisor.get_by_role("link", name="Međuopštinski sporazumi").click()
    agreement = supervisor.locator("#agreement-form")
    agreement.get_by_label(re.compile("^Naziv sporazuma")).fill("Sporazum Ada–Ruma")
    agreement.get_by_label(re.compile("^Važi od")).fill((date.today() - timedelta(days=1)).isoformat())
    agreement.get_by_label(re.compile("^Opštine")).select_option([ADA, RUMA])
    agreement.get_by_label("Pomoć u kući").check()
    agreement.get_by_role("button", name="Upiši sporazum").click()
    expect(supervisor.get_by_text("Sporazum je upisan.", exact=True)).to_be_visible()
    shot(supervisor, "cases-07-agreement")
    supervisor.context.close()

    form = page.locator("#referral-form")
    form.get_by_label(re.compile("^Pružalac usluge")).select_option(provider_id)
    form.get_by_role("button", name="Pošalji uput").click()
    expect(page.get_by_text("Uput je poslat pružaocu usluge.", exact=True)).to_be_visible()
    row = page.locator("#referral-list tbody tr")
    expect(row).to_contain_text(name)
    expect(row).to_contain_text("po sporazumu")
    expect(row).to_contain_text("Zatražen")
    shot(page, "cases-08-referral-sent")


def test_a_supervisor_reassigns_a_case(page: Page, platform: PlatformProcess):
    case = registered_case(platform, "Marković")
    r = httpx.put(
        f"{platform.base_url}/cases/api/workers/demo-worker-2",
        json={"display_name": "Marko Ilić", "municipalities": [ADA, RUMA]},
        headers=bearer(platform, "demo-admin"),
    )
    r.raise_for_status()
    sign_in(page, "demo-supervisor")
    page.get_by_role("link", name="Opterećenje voditelja").click()
    expect(page.locator("#workers")).to_contain_text("Marko Ilić")
    shot(page, "cases-09-caseload")
    page.goto(f"/cases/cases/{case['id']}")
    expect(page.locator("#assigned-to")).to_have_text("demo-worker")
    page.get_by_label("Voditelj slučaja", exact=True).select_option("demo-worker-2")
    page.get_by_role("button", name="Preraspodeli slučaj").click()
    expect(page.get_by_text("Slučaj je preraspodeljen.", exact=True)).to_be_visible()
    expect(page.locator("#assigned-to")).to_have_text("demo-worker-2")
    expect(page.locator('#timeline li[data-kind="assigned"]').last).to_contain_text("od strane supervizora")
    shot(page, "cases-10-reassigned")
