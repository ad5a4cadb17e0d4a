"""A case worker's day in real headless Chromium against the embedded platform (`make run`'s process tree).

Needs Debian's `chromium` (``make test`` installs it through apt when it can) and Playwright's Python package,
which drives it through ``executable_path`` (Playwright cannot download browsers here). Screenshots of every
step are saved under ``artifacts/browser/`` as test artefacts.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from oslonac.process import PlatformProcess, start_platform
from services.intake.domain import make_jmbg
from tests.fixtures.browser import AVAILABLE, MISSING, launched_browser, opened_page, shot
from tests.fixtures.browser import sign_in as signed_in

pytestmark = pytest.mark.browser


if not AVAILABLE:
    pytest.skip(MISSING, allow_module_level=True)

from playwright.sync_api import Browser, Page, expect  # noqa: E402


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    running = start_platform(tmp_path_factory.mktemp("browser-platform"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launched_browser()


@pytest.fixture
def page(browser: Browser, platform: PlatformProcess, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from opened_page(browser, platform.base_url, f"{request.node.name}-last", downloads=True)


def sign_in(page: Page, username: str = "demo-worker") -> None:
    signed_in(page, "intake", username, screenshot="01-login")


def fill_member(page: Page, index: int, given: str, family: str, born: date, sex: str, jmbg: str = "") -> None:
    member = page.locator("fieldset.member").nth(index)
    member.get_by_label(re.compile(r"^Ime\b")).fill(given)
    member.get_by_label(re.compile(r"^Prezime\b")).fill(family)
    member.get_by_label(re.compile("^Datum rođenja")).fill(born.isoformat())
    member.get_by_label(re.compile("^Pol")).select_option(sex)
    if jmbg:
        member.get_by_label(re.compile("^JMBG")).fill(jmbg)
    else:
        member.get_by_label(re.compile("^Zašto nema JMBG")).select_option("not_known")


def test_a_case_worker_registers_searches_and_switches_script(page: Page):
    sign_in(page)

    page.get_by_role("link", name=re.compile("Upis domaćinstva")).click()
    page.get_by_label(re.compile("^Opština")).select_option("80012")
    page.get_by_label(re.compile("^Naselje")).fill("Mol")
    for _ in range(3):
        page.get_by_role("button", name=re.compile("Dodaj člana")).click()
    expect(page.locator("fieldset.member")).to_have_count(4)
    # One too many: removed by the page's own script (no inline handler: the Content-Security-Policy allows none).
    page.locator("fieldset.member").nth(3).get_by_role("button", name="Ukloni ovog člana").click()
    expect(page.locator("fieldset.member")).to_have_count(3)

    good = make_jmbg(date(1979, 6, 15), "F", serial=321)
    mistyped = good[:-1] + str((int(good[-1]) + 1) % 10)
    fill_member(page, 0, "Снежана", "Вукадиновић", date(1979, 6, 15), "F", jmbg=mistyped)
    fill_member(page, 1, "Petar", "Vukadinović", date(2008, 2, 1), "M")
    fill_member(page, 2, "Mila", "Vukadinović", date(2015, 11, 30), "F")
    # The inline check is an htmx POST: it carries the page's CSRF header and is answered.
    first = page.locator("fieldset.member").nth(0)
    first.get_by_label(re.compile("^JMBG")).dispatch_event("change")
    expect(first.locator(".inline-check")).to_contain_text(re.compile("Kontrolna cifra JMBG"))
    shot(page, "02-form-filled")
    page.get_by_role("button", name=re.compile("Upiši domaćinstvo")).click()

    # The form comes back with the JMBG marked and explained; everything typed is still there.
    jmbg_field = page.locator("fieldset.member").nth(0).get_by_label(re.compile("^JMBG"))
    expect(jmbg_field).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text(re.compile("Kontrolna cifra JMBG"))).to_be_visible()
    shot(page, "03-jmbg-rejected")
    jmbg_field.fill(good)
    page.get_by_role("button", name=re.compile("Upiši domaćinstvo")).click()

    expect(page.get_by_text("Domaćinstvo je upisano.")).to_be_visible()
    expect(page.locator("article.person")).to_have_count(3)
    expect(page.get_by_text(good)).to_be_visible()
    shot(page, "04-household")

    # A Cyrillic name found with a Latin query without diacritics.
    page.get_by_role("link", name=re.compile("Pretraga domaćinstava")).click()
    page.get_by_label(re.compile("Ime ili JMBG")).fill("vukadinovic snezana")
    page.get_by_role("button", name=re.compile("^Traži$")).click()
    expect(page.get_by_role("link", name=re.compile("Снежана Вукадиновић"))).to_be_visible()
    shot(page, "05-search")

    # Serbian Cyrillic, kept across pages.
    page.get_by_role("link", name="Српски (ћирилица)").click()
    expect(page.locator("html")).to_have_attribute("lang", "sr-Cyrl")
    expect(page.get_by_role("heading", name="Претрага домаћинстава")).to_be_visible()
    page.get_by_role("link", name=re.compile("Снежана Вукадиновић")).click()
    expect(page.get_by_role("heading", name=re.compile("Стање сиромаштва"))).to_be_visible()
    shot(page, "06-cyrillic")


def test_a_form_without_this_browsers_csrf_cookie_is_refused(page: Page):
    sign_in(page)
    page.get_by_role("link", name=re.compile("Upis domaćinstva")).click()
    page.get_by_label(re.compile("^Opština")).select_option("80012")
    page.context.clear_cookies(name="oslonac_csrf")  # as if the form came from another site: no token matches
    page.get_by_role("button", name=re.compile("Upiši domaćinstvo")).click()
    expect(page.get_by_text(re.compile("Obrazac je istekao ili je poslat sa drugog sajta"))).to_be_visible()
    shot(page, "07-csrf-refused")
    # Reloading the form gives the browser a new secret and a token that matches it.
    page.go_back()
    page.reload()
    page.get_by_role("button", name=re.compile("Upiši domaćinstvo")).click()
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()  # past the check: the form's own errors
    expect(page.get_by_text(re.compile("Obrazac je istekao"))).to_have_count(0)


def _csv_with_bad_rows() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["household_ref", "municipality_code", "given_name", "family_name", "birth_date", "sex", "jmbg",
         "missing_jmbg_reason", "relation"]
    )  # fmt: skip
    for i in range(40):
        writer.writerow([f"B-{i}", "80357", "Ана" if i % 2 else "Ana", f"Browser{i}", "1990-01-01", "F", "",
                         "not_known", "head"])  # fmt: skip
    writer.writerow(["B-bad-1", "99999", "Ana", "Bad", "1990-01-01", "F", "", "not_known", "head"])
    writer.writerow(["B-bad-2", "80357", "Ana", "Bad", "31.02.1990", "F", "", "not_known", "head"])
    writer.writerow(["B-bad-3", "80357", "Ana", "Bad", "1990-01-01", "F", "1234567890123", "", "head"])
    return out.getvalue().encode("utf-8")


def test_a_field_file_is_imported_with_a_progress_bar_and_an_error_report(page: Page, tmp_path: Path):
    sign_in(page)
    page.get_by_role("link", name=re.compile("Uvoz sa terena")).click()
    upload = tmp_path / "mapiranje.csv"
    upload.write_bytes(_csv_with_bad_rows())
    page.get_by_label(re.compile("Datoteka")).set_input_files(str(upload))
    page.get_by_role("button", name=re.compile("Uvezi")).click()

    progress = page.locator("progress")
    expect(progress).to_be_visible()
    shot(page, "07-import-progress")
    expect(page.get_by_text(re.compile("Završeno"))).to_be_visible(timeout=60_000)
    expect(progress).to_have_attribute("value", re.compile(r"^100(\.0)?$"))
    expect(page.get_by_text(re.compile(r"Uvezeno redova: 40"))).to_be_visible()
    shot(page, "08-import-done")

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("Preuzmi izveštaj o greškama")).click()
    report = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(report)))
    assert sorted(r["household_ref"] for r in rows) == ["B-bad-1", "B-bad-2", "B-bad-3"]
    assert all(r["message"] for r in rows)
