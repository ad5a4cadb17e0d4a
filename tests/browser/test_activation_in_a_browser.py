"""The employers' forum in real headless Chromium: an employer registers the organisation, joins the forum and posts
an opportunity through the forms; a case worker proposes the best candidate from the opportunity's ranking; the
employer accepts, the case worker records the candidate's yes and the employer starts the placement. A coordinator
reads the fairness report the test set up.

No cases process runs here, so activation runs alone, in this process (its real app under uvicorn, on a thread
with its own event loop), and candidates arrive through its consumer path (``tests/fixtures/delivery.deliver``),
as cases' ``cases.activation.requested`` would bring them. Signing in goes through the pages to a development
token issuer. Needs Debian's `chromium` and Playwright's Python package (see test_intake_in_a_browser.py).
Screenshots go to ``artifacts/browser/``.
"""

from __future__ import annotations

import asyncio
import re
import types
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI

from shared.auth import DemoUser, DevIssuer, Role
from tests.fixtures.activation import requested
from tests.fixtures.browser import AVAILABLE, MISSING, launched_browser, opened_page, served_service, shot
from tests.fixtures.browser import sign_in as signed_in
from tests.fixtures.delivery import deliver

pytestmark = pytest.mark.browser

ADA, RUMA = "80012", "80357"
T = TypeVar("T")

if not AVAILABLE:
    pytest.skip(MISSING, allow_module_level=True)

from playwright.sync_api import Browser, Page, expect  # noqa: E402

USERS = [
    DemoUser("demo-employer", (Role.employer,), (ADA,), organisation="park-ada"),
    DemoUser("demo-employer-ruma", (Role.employer,), (RUMA,), organisation="komunalac-ruma"),
    DemoUser("demo-worker", (Role.case_worker,), (ADA,)),
    DemoUser("demo-worker-ruma", (Role.case_worker,), (RUMA,)),
    DemoUser("demo-coordinator", (Role.coordinator,), (ADA, RUMA)),
]


@dataclass
class Activation:
    """Activation served on a thread: ``base_url`` for the browser, ``run`` for coroutines on the app's loop."""

    base_url: str
    app: FastAPI
    issuer: DevIssuer
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def deliver(self, *events: Any) -> None:
        outcomes = self.run(deliver(types.SimpleNamespace(runtime=self.app.state.runtime), *events))
        assert all(str(o) == "applied" for o in outcomes), outcomes

    def api(self, method: str, path: str, username: str, **kwargs: Any) -> Any:
        token = self.issuer.issue_for(self.issuer.users[username])
        r = httpx.request(
            method, f"{self.base_url}/activation/api{path}", headers={"Authorization": f"Bearer {token}"}, **kwargs
        )
        assert r.status_code in (200, 201), r.text
        return r.json()


@pytest.fixture(scope="module")
def activation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Activation]:
    tmp = tmp_path_factory.mktemp("browser-activation")
    with served_service("activation", tmp, USERS, shortlist_refresh_s=0) as served:
        yield Activation(served.base_url, served.app, served.issuer, served.loop)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launched_browser()


@pytest.fixture
def page(browser: Browser, activation: Activation, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from opened_page(browser, activation.base_url, f"activation-{request.node.name}-last")


def second_page(browser: Browser, activation: Activation) -> Page:
    opened = browser.new_context(base_url=activation.base_url, locale="sr-Latn-RS").new_page()
    opened.set_default_timeout(15_000)
    return opened


def test_an_opportunity_is_posted_the_best_candidate_proposed_accepted_and_started(
    page: Page, browser: Browser, activation: Activation
):
    forum = activation.api(
        "POST", "/forums", "demo-coordinator", json={"name": "Forum poslodavaca Ada", "municipalities": [ADA]}
    )
    best = requested(
        sex="F", age=41, skills=("cleaning", "gardening"), unemployed_months=30, markers=("single_parent",)
    )
    other = requested(sex="M", age=29, skills=("cleaning",), unemployed_months=4)
    activation.deliver(best, other, requested(sex="F", age=35, skills=("cooking",)))

    # The employer signs in, registers the organisation and joins the forum.
    signed_in(page, "activation", "demo-employer", screenshot="activation-01-login")
    expect(page.locator("#register-first")).to_be_visible()
    form = page.locator("#organisation-form")
    form.get_by_label(re.compile("^Naziv organizacije")).fill("JKP Park Ada")
    form.get_by_label(re.compile("^Vrsta organizacije")).select_option("public_enterprise")
    form.get_by_label(re.compile("^Opština")).select_option(ADA)
    form.get_by_role("button", name="Upiši organizaciju").click()
    expect(page.get_by_text("Organizacija je upisana.", exact=True)).to_be_visible()
    row = page.locator(f'#forums tr[data-forum="{forum["id"]}"]')
    row.get_by_role("button", name="Pristupi forumu").click()
    expect(page.get_by_text("Organizacija je pristupila forumu.", exact=True)).to_be_visible()
    expect(row).to_contain_text("Član")
    shot(page, "activation-02-organisation")

    # ...and posts an opportunity through the form, every field of it.
    page.get_by_role("link", name="Objavi ponudu").first.click()
    form = page.locator("#opportunity-form")
    form.get_by_label(re.compile("^Naziv")).fill("Održavanje gradskog parka")
    form.get_by_label(re.compile("^Vrsta angažovanja")).select_option("community_work")
    expect(form.get_by_label(re.compile("^Forum"))).to_have_value(forum["id"])  # the only forum it is in
    expect(form.get_by_label(re.compile("^Opština"))).to_have_value(ADA)
    form.get_by_label(re.compile("^Mesto rada")).fill("Gradski park, Ada")
    form.get_by_label(re.compile("^Opis")).fill("Košenje, orezivanje i čišćenje staza.")
    form.get_by_label(re.compile("^Broj mesta")).fill("2")
    form.get_by_label(re.compile("^Sati nedeljno, najmanje")).fill("10")
    form.get_by_label(re.compile("^Sati nedeljno, najviše")).fill("30")
    form.get_by_label(re.compile("^Počinje")).fill((date.today() + timedelta(days=14)).isoformat())
    form.get_by_label(re.compile("^Završava se")).fill((date.today() + timedelta(days=120)).isoformat())
    form.get_by_label(re.compile("^Potrebne veštine")).select_option(["cleaning", "gardening"])
    form.get_by_label(re.compile("^Poželjne veštine")).select_option(["driving_b"])
    form.get_by_label("Pristupačan osobama sa invaliditetom").check()
    shot(page, "activation-03-opportunity-form")
    form.get_by_role("button", name="Objavi ponudu").click()
    expect(page.get_by_text("Ponuda je objavljena.", exact=True)).to_be_visible()
    expect(page.locator("#opportunity")).to_contain_text("Baštovanstvo i uređenje zelenih površina")
    ranking = page.locator("#shortlist > tbody > tr")
    expect(ranking).to_have_count(3)  # skills are scored, not required to be eligible
    expect(ranking.first.locator(".candidate-code")).to_have_text(re.compile(r"^K-[A-Z2-7]{8}$"))
    expect(page.locator("#shortlist")).not_to_contain_text(str(best.person_id))
    opportunity_url = page.url.split("?")[0]
    shot(page, "activation-04-ranking-for-the-employer")

    # The case worker opens the opportunity's ranking and proposes the best candidate, who is theirs.
    worker = second_page(browser, activation)
    signed_in(worker, "activation", "demo-worker")
    expect(worker.locator(f'#candidates tr[data-person="{best.person_id}"]')).to_be_visible()
    worker.get_by_role("link", name="Ponude", exact=True).click()
    worker.locator("#opportunities").get_by_role("link", name="Održavanje gradskog parka").click()
    top = worker.locator("#shortlist > tbody > tr").first
    expect(top).to_have_attribute("data-person", str(best.person_id))
    expect(top).to_contain_text("Vaš kandidat")
    expect(top).to_contain_text("ista opština")
    shot(worker, "activation-05-ranking-for-the-case-worker")
    top.get_by_role("button", name="Predloži").click()
    expect(worker.get_by_text("Kandidat je predložen; sledeće odgovaraju poslodavac i kandidat.")).to_be_visible()
    expect(worker.locator("#shortlist > tbody > tr").first).to_contain_text("Predloženo")

    # The employer accepts; the case worker records the candidate's yes; the employer starts the placement.
    page.get_by_role("link", name="Angažovanja").click()
    placement = page.locator("table.placements tbody tr").first
    expect(placement).to_contain_text("Predloženo")
    expect(placement).not_to_contain_text(str(best.person_id))
    placement.get_by_role("button", name="Prihvati u ime poslodavca").click()
    expect(page.get_by_text("Upisano je da poslodavac prihvata.", exact=True)).to_be_visible()

    worker.goto(opportunity_url)
    mine = worker.locator("#placements table.placements tbody tr").first
    mine.get_by_role("button", name="Zabeleži da kandidat prihvata").click()
    expect(worker.get_by_text("Upisano je da kandidat prihvata.", exact=True)).to_be_visible()
    expect(worker.locator("#placements .placement-status").first).to_have_text("Prihvaćeno")
    shot(worker, "activation-06-candidate-said-yes")
    worker.context.close()

    page.reload()
    placement = page.locator("table.placements tbody tr").first
    placement.get_by_role("button", name="Započni angažovanje").click()
    expect(page.get_by_text("Angažovanje je počelo.", exact=True)).to_be_visible()
    status = page.locator("table.placements .placement-status").first
    expect(status).to_have_text("Počelo")
    shot(page, "activation-07-started")

    # The employer records this month's hours.
    placement = page.locator("table.placements tbody tr").first
    placement.get_by_label(re.compile("^Odrađeni sati")).fill("48")
    placement.get_by_role("button", name="Upiši sate").click()
    expect(page.get_by_text("Sati su upisani.", exact=True)).to_be_visible()
    expect(page.locator("table.placements tbody tr").first).to_contain_text("Ukupno: 48 sati")
    shot(page, "activation-08-hours")


def test_the_fairness_report_shows_the_shares_and_flags_women_under_half_of_the_placements(
    page: Page, activation: Activation
):
    forum = activation.api(
        "POST",
        "/forums",
        "demo-coordinator",
        json={"name": "Forum poslodavaca Ruma", "municipalities": [RUMA], "criteria": {"exclude_placed": False}},
    )
    body = {"name": "JKP Komunalac Ruma", "kind": "public_enterprise", "municipality_code": RUMA}
    activation.api("PUT", "/organisations/komunalac-ruma", "demo-employer-ruma", json=body)
    activation.api(
        "POST", f"/forums/{forum['id']}/members", "demo-employer-ruma", json={"organisation_id": "komunalac-ruma"}
    )
    women = [requested(municipality=RUMA, sex="F", skills=("cleaning",)) for _ in range(2)]
    men = [requested(municipality=RUMA, sex="M", skills=("cleaning",)) for _ in range(2)]
    activation.deliver(*women, *men)
    opportunity = activation.api(
        "POST",
        "/opportunities",
        "demo-employer-ruma",
        json={"title": "Čišćenje Borkovca", "forum_id": forum["id"], "municipality_code": RUMA, "positions": 3},
    )
    # One of the two women placed, and both men: women are a third of the placements.
    for person in (women[0], men[0], men[1]):
        placement = activation.api(
            "POST", f"/opportunities/{opportunity['id']}/proposals", "demo-worker-ruma",
            json={"person_id": str(person.person_id)},
        )  # fmt: skip
        url = f"/placements/{placement['id']}"
        activation.api("POST", f"{url}/accept", "demo-employer-ruma", json={"party": "employer"})
        activation.api("POST", f"{url}/accept", "demo-worker-ruma", json={"party": "candidate"})
        activation.api("POST", f"{url}/start", "demo-employer-ruma")

    signed_in(page, "activation", "demo-coordinator")
    expect(page.get_by_role("heading", name="Forumi poslodavaca")).to_be_visible()
    page.get_by_role("button", name="Ponovo izračunaj uže liste").click()
    expect(page.get_by_text("Uže liste su ponovo izračunate.", exact=True)).to_be_visible()
    expect(page.locator("#last-run")).to_contain_text("Poslednji put izračunate:")
    page.locator(f'#forums tr[data-forum="{forum["id"]}"]').get_by_role("link", name="Izveštaj o pravičnosti").click()
    expect(page.get_by_role("heading", name=re.compile("Izveštaj o pravičnosti"))).to_be_visible()

    women_row = page.locator('#fairness-forum tr[data-group="women"]')
    expect(women_row.locator('[data-stage="eligible"]')).to_contain_text("2 / 4")
    expect(women_row.locator('[data-stage="eligible"]')).to_contain_text("50,0%")
    expect(women_row.locator('[data-stage="placed"]')).to_contain_text("1 / 3")
    expect(women_row.locator('[data-stage="placed"]')).to_contain_text("33,3%")
    expect(women_row.locator('[data-stage="placed"]')).to_contain_text("odnos 0,67")
    expect(women_row.locator('[data-stage="placed"]')).to_have_class(re.compile("cell--alert"))
    flag = page.locator('#forum-figures [data-flag="women_under_target"]')
    expect(flag).to_be_visible()
    expect(flag).to_contain_text("Žene su ispod 50% angažovanih:")
    expect(flag).to_contain_text("1 od 3 angažovanih.")
    per_opportunity = page.locator(f'#per-opportunity [data-opportunity="{opportunity["id"]}"]')
    expect(per_opportunity.locator('tr[data-group="women"] [data-stage="proposed"]')).to_contain_text("1 / 3")
    shot(page, "activation-09-fairness")

    page.get_by_role("link", name="English").click()
    expect(page.locator('#forum-figures [data-flag="women_under_target"]')).to_contain_text(
        "Women are under 50% of the placements:"
    )
    expect(women_row.locator('[data-stage="placed"]')).to_contain_text("33.3%")
    shot(page, "activation-10-fairness-en")
