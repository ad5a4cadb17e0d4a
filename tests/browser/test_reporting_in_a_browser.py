"""Reporting's dashboards in real headless Chromium: an analyst signs in, the dashboard draws its chart with the
vendored Chart.js (a chart object on the canvas, the bars of the table's figures), the filters change the table
and the chart, the comparison ranks the municipalities, the trends draw a line per sex, and the CSV download is the
suppressed table. Every request the browser makes stays on 127.0.0.1 and the page's policy refuses nothing.

No other service runs here, so reporting runs alone, in this process (its real app under uvicorn, on a thread with
its own event loop), and intake's and cases' events arrive through its consumer path
(``tests/fixtures/delivery.deliver``). Signing in goes through the pages to a development token issuer. Needs
Debian's `chromium` and Playwright's Python package (see test_intake_in_a_browser.py). Screenshots go to
``artifacts/browser/``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import types
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI

from shared.auth import DemoUser, Role
from shared.events import HouseholdRegisteredV2, MemberProfile
from tests.fixtures.browser import AVAILABLE, MISSING, launched_browser, opened_page, served_service, shot
from tests.fixtures.browser import sign_in as signed_in
from tests.fixtures.delivery import deliver

pytestmark = pytest.mark.browser

ADA, RUMA, NOVI_SAD = "80012", "80357", "89010"
MARCH = datetime(2026, 3, 10, 9, tzinfo=UTC)
APRIL = datetime(2026, 4, 14, 9, tzinfo=UTC)
FIRST_HALF = "from=2026-01&to=2026-06"
T = TypeVar("T")

if not AVAILABLE:
    pytest.skip(MISSING, allow_module_level=True)

from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, expect  # noqa: E402

USERS = [
    DemoUser("demo-analyst", (Role.analyst,), ()),
    DemoUser("demo-admin", (Role.admin,), ()),
]


@dataclass
class Reporting:
    """Reporting served on a thread: ``base_url`` for the browser, ``run`` for coroutines on the app's loop."""

    base_url: str
    app: FastAPI
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def deliver(self, *events: Any) -> None:
        outcomes = self.run(deliver(types.SimpleNamespace(runtime=self.app.state.runtime), *events))
        assert all(str(o) == "applied" for o in outcomes), outcomes


def member(sex: str, birth_year: int, relation: str) -> MemberProfile:
    return MemberProfile(person_id=uuid.uuid4(), sex=sex, birth_year=birth_year, relation=relation)  # type: ignore[arg-type]


def household(municipality: str, *members: MemberProfile, at: datetime = MARCH) -> HouseholdRegisteredV2:
    return HouseholdRegisteredV2(
        household_id=uuid.uuid4(), municipality_code=municipality, registered_at=at, members=list(members)
    )


@pytest.fixture(scope="module")
def reporting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reporting]:
    tmp = tmp_path_factory.mktemp("browser-reporting")
    with served_service("reporting", tmp, USERS) as served:
        running = Reporting(served.base_url, served.app, served.loop)
        # Novi Sad: 10 households of three; Ada: 6 couples in March and 2 in April; Ruma: 3 women alone.
        running.deliver(
            *(
                household(NOVI_SAD, member("M", 1970, "head"), member("F", 1972, "spouse"), member("M", 2015, "child"))
                for _ in range(10)
            ),
            *(
                household(ADA, member("F", 1984, "head"), member("M", 1982, "spouse"), at=MARCH if i < 6 else APRIL)
                for i in range(8)
            ),
            *(household(RUMA, member("F", 1990, "head")) for _ in range(3)),
        )
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launched_browser()


@dataclass
class Watched:
    """Every URL the page asked for, what failed, and every console error (a refused script or style shows up there;
    a failed load is reported as its response, by URL)."""

    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        return [u for u in self.requests if not re.match(r"^(http://127\.0\.0\.1:\d+/|data:|blob:|about:)", u)]


@pytest.fixture
def page(browser: Browser, reporting: Reporting, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from opened_page(browser, reporting.base_url, f"reporting-{request.node.name}-last", downloads=True)


def watch(page: Page) -> Watched:
    watched = Watched()

    def on_request(r: Request) -> None:
        watched.requests.append(r.url)

    def on_response(r: Response) -> None:
        # The browser's own guess at a site icon is not the page's doing (the platform's front serves none here).
        if r.status >= 400 and not r.url.endswith("/favicon.ico"):
            watched.failed.append(f"{r.status} {r.url}")

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            watched.errors.append(message.text)

    page.on("request", on_request)
    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", lambda exc: watched.errors.append(str(exc)))
    return watched


def drawn_chart(page: Page) -> dict[str, Any]:
    """What Chart.js holds for the page's canvas: its type, labels and datasets."""
    expect(page.locator("canvas#chart")).to_have_attribute("data-drawn", "true")
    found = page.evaluate(
        """() => {
          const chart = window.Chart.getChart(document.getElementById("chart"));
          return {
            version: window.Chart.version,
            type: chart.config.type,
            labels: chart.data.labels,
            datasets: chart.data.datasets.map(d => ({label: d.label, data: d.data, type: d.type || null})),
            width: chart.width,
            height: chart.height,
          };
        }"""
    )
    return dict(found)


def test_the_dashboard_draws_its_chart_with_the_vendored_library_and_asks_nothing_elsewhere(
    page: Page, reporting: Reporting
):
    watched = watch(page)
    signed_in(page, "reporting", "demo-analyst", screenshot="reporting-01-login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pokazatelji")
    first = drawn_chart(page)
    assert first["version"] == "4.6.1" and first["width"] > 200 and first["height"] > 100
    shot(page, "reporting-02-dashboard")

    # The form offers only what an indicator allows: the caseload is a snapshot per area.
    form = page.locator("#filters")
    form.get_by_label("Pokazatelj").select_option("caseload_per_worker")
    expect(form.get_by_label("Pol", exact=True).last).to_be_disabled()
    expect(form.get_by_label("Period", exact=True)).not_to_be_checked()
    expect(form.get_by_label("Teritorija", exact=True)).to_be_enabled()

    # The analyst asks for persons per municipality and sex in the first half of 2026.
    form.get_by_label("Pokazatelj").select_option("persons")
    form.get_by_label("Nivo teritorije").select_option("municipality")
    form.get_by_label("Od meseca").fill("2026-01")
    form.get_by_label("Do meseca").fill("2026-06")
    form.get_by_label("Period", exact=True).uncheck()
    form.get_by_label("Teritorija", exact=True).check()
    form.get_by_label("Pol", exact=True).last.check()
    form.get_by_role("button", name="Prikaži podatke").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("Osobe u registru")
    rows = page.locator("#indicator-table tbody tr")
    expect(rows).to_have_count(6)
    expect(rows.nth(2)).to_contain_text("Ruma")
    expect(rows.nth(2)).to_contain_text("<5")  # three women in Ruma: an analyst sees "<5"
    chart = drawn_chart(page)
    assert chart["type"] == "bar" and chart["labels"] == ["Ada", "Ruma", "Novi Sad"]
    assert [d["label"] for d in chart["datasets"]] == ["Ženski", "Muški"]
    assert chart["datasets"][0]["data"] == [8, None, 10] and chart["datasets"][1]["data"] == [8, 0, 20]
    shot(page, "reporting-03-by-municipality-and-sex")

    # The CSV download is the same table, suppressed.
    with page.expect_download() as download_info:
        page.locator("#download-csv").click()
    download = download_info.value
    assert re.fullmatch(r"oslonac-persons-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    body = Path(download.path()).read_bytes()
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))  # Serbian Excel splits at ";"
    assert body.startswith(b"\xef\xbb\xbf")
    assert lines[0] == ["Teritorija", "Naziv teritorije", "Pol", "Broj"]
    assert [RUMA, "Ruma", "Ženski", "<5"] in lines

    assert watched.foreign() == [], watched.foreign()
    assert any(u.endswith("/reporting/assets/vendor/chart.umd.min.js") for u in watched.requests)
    assert watched.failed == [], watched.failed
    assert watched.errors == [], watched.errors  # no script, style or request refused by the policy


def test_the_comparison_ranks_and_the_trends_draw_a_line_per_sex(page: Page, reporting: Reporting):
    watched = watch(page)
    signed_in(page, "reporting", "demo-admin")
    page.get_by_role("link", name="Poređenje opština").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Poređenje opština")
    page.goto(f"/reporting/compare?indicator=persons&{FIRST_HALF}")
    chart = drawn_chart(page)
    assert chart["type"] == "bar" and chart["labels"] == ["Novi Sad", "Ada", "Ruma"]
    assert chart["datasets"][0]["data"] == [30, 16, 3]  # the administrator sees exact figures
    expect(page.locator("#exact-note")).to_be_visible()
    shot(page, "reporting-04-compare")

    page.get_by_role("link", name="Trendovi").click()
    form = page.locator("#filters")
    form.get_by_label("Pokazatelj").select_option("households_registered")
    form.get_by_label("Periodi").select_option("month")
    form.get_by_label("Od meseca").fill("2026-01")
    form.get_by_label("Do meseca").fill("2026-06")
    page.get_by_label("Žene i muškarci kao posebne linije").check()
    page.get_by_role("button", name="Prikaži trend").click()
    chart = drawn_chart(page)
    assert chart["type"] == "line"
    assert chart["labels"] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert chart["datasets"] == [
        {"label": "Ženski", "data": [0, 0, 9, 2, 0, 0], "type": None},
        {"label": "Muški", "data": [0, 0, 10, 0, 0, 0], "type": None},
    ]
    shot(page, "reporting-05-trends")

    # The share of women draws its 50 % target as a dashed line beside the figures.
    page.goto("/reporting/trends?indicator=share_women_beneficiaries&period=quarter")
    chart = drawn_chart(page)
    target = chart["datasets"][-1]
    assert target["type"] == "line" and target["label"] == "Cilj: najmanje 50 %" and set(target["data"]) == {50}
    expect(page.locator("#target")).to_have_text("Cilj: najmanje 50 %")

    assert watched.foreign() == [], watched.foreign()
    assert watched.failed == [], watched.failed
    assert watched.errors == [], watched.errors
