"""Reporting's pages over HTTP (no browser): the dashboard, the municipality comparison and the trends in the three
languages for every role that may read aggregates, the filters changing the table and the chart, a bad filter given
back as a 422 page that says what is wrong, small counts shown as "<5" to analysts (administrators see them exact),
and the CSV and XLSX downloads of the same table, always suppressed. Data arrives through reporting's real consumer
path, as intake's and cases' events would bring it."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from services.reporting.indicators import CATALOGUE
from services.reporting.web import _indicator_labels as ui_indicators
from services.reporting.web import _labels as labels
from shared.events import CaseOpenedV1, EventData, HouseholdRegisteredV2, MemberProfile
from shared.ui.i18n import translations
from tests.fixtures.auth import ADA, NOVI_SAD, RUMA, Tokens
from tests.fixtures.cases import OFFLINE
from tests.fixtures.databases import DatabaseFactory
from tests.fixtures.delivery import deliver
from tests.fixtures.services import RunningService, running_service

MARCH = datetime(2026, 3, 10, 9, tzinfo=UTC)
APRIL = datetime(2026, 4, 14, 9, tzinfo=UTC)
FIRST_HALF = {"from": "2026-01", "to": "2026-06"}
HEADINGS = {"sr-Latn": "Pokazatelji", "sr-Cyrl": "Показатељи", "en": "Indicators"}
READERS = ("analyst", "supervisor", "worker", "admin")


@pytest.fixture
async def reporting(databases: DatabaseFactory, tokens: Tokens) -> AsyncIterator[RunningService]:
    url = await databases.url_for("reporting")
    async with running_service(
        "reporting", database_url=url, kafka=OFFLINE, tokens=tokens, run_consumer=False, run_relay=False
    ) as running:
        yield running


def member(sex: str, birth_year: int, relation: str) -> MemberProfile:
    return MemberProfile(person_id=uuid.uuid4(), sex=sex, birth_year=birth_year, relation=relation)  # type: ignore[arg-type]


def household(municipality: str, *members: MemberProfile, at: datetime = MARCH) -> HouseholdRegisteredV2:
    return HouseholdRegisteredV2(
        household_id=uuid.uuid4(), municipality_code=municipality, registered_at=at, members=list(members)
    )


def case_for(registered: HouseholdRegisteredV2) -> CaseOpenedV1:
    return CaseOpenedV1(
        case_id=uuid.uuid4(),
        household_id=registered.household_id,
        municipality_code=registered.municipality_code,
        opened_at=registered.registered_at,
        household_registered_at=registered.registered_at,
    )


async def known_data(reporting: RunningService) -> None:
    """Novi Sad: 10 households of a man, a woman and a boy, each with a case (30 persons, 10 of them women).
    Ada: 6 couples headed by the woman registered in March and 2 in April (16 persons). Ruma: 3 women alone."""
    novi_sad = [
        household(NOVI_SAD, member("M", 1970, "head"), member("F", 1972, "spouse"), member("M", 2015, "child"))
        for _ in range(10)
    ]
    ada = [
        household(ADA, member("F", 1984, "head"), member("M", 1982, "spouse"), at=MARCH if i < 6 else APRIL)
        for i in range(8)
    ]
    ruma = [household(RUMA, member("F", 1990, "head")) for _ in range(3)]
    events: list[EventData] = [*novi_sad, *ada, *ruma, *(case_for(h) for h in novi_sad)]
    outcomes = await deliver(reporting, *events)
    assert all(str(o) == "applied" for o in outcomes), outcomes


async def get(
    reporting: RunningService, path: str, user: str = "analyst", language: str | None = None, **params: Any
) -> httpx.Response:
    headers = {**reporting.auth(user), "Accept": "text/html"}
    if language:
        headers["Cookie"] = f"oslonac_lang={language}"
    return await reporting.client.get(path, params=params or None, headers=headers)


def table_rows(html: str) -> list[list[str]]:
    """The results table's body as the user reads it, cell by cell."""
    found = re.search(r'<table id="indicator-table">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert found, "no results table"
    rows = re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S)
    return [[c.strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)] for row in rows]


def chart(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S)
    assert found, "no chart data"
    return dict(json.loads(found.group(1)))


def errors(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", e) for e in re.findall(r'<p class="field__error"[^>]*>(.*?)</p>', html, re.S)]


def visible_words(html: str, *allowed: str) -> str:
    """Text of the page outside tags (and outside the chart's data), without the words typed in Latin anyway."""
    text = re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", html, flags=re.S)
    for word in (*allowed, "Oslonac", "English", "Srpski", "(latinica)", "CSV", "UTC"):
        text = text.replace(word, " ")
    return re.sub(r"&[a-z]+;", " ", text)


async def test_every_page_renders_in_the_three_languages_for_every_reader(reporting: RunningService) -> None:
    await known_data(reporting)
    pages = [
        "/reporting/",
        "/reporting/?indicator=persons&area=municipality&by=area&by=sex&from=2026-01&to=2026-06",
        "/reporting/?indicator=cases_by_state&by=category&period=quarter",
        "/reporting/compare",
        "/reporting/trends?indicator=persons_registered&by_sex=1",
    ]
    for language, heading in HEADINGS.items():
        for user in READERS:
            for path in pages:
                r = await get(reporting, path, user, language)
                assert r.status_code == 200, (language, user, path, r.text[:800])
                assert f'<html lang="{language}">' in r.text, (language, path)
                assert heading in r.text or "compare" in path or "trends" in path
                assert 'id="indicator-table"' in r.text and 'id="chart-data"' in r.text, path
                if language == "sr-Cyrl":
                    leftover = visible_words(r.text, user)
                    assert re.search(r"[A-Za-z]{4,}", leftover) is None, (path, re.findall(r"[A-Za-z]{4,}", leftover))
    by_state = await get(reporting, "/reporting/?indicator=cases_by_state&by=category", "analyst", "sr-Cyrl")
    assert "Случајеви по стању" in by_state.text and "Стање случаја" in by_state.text
    english = await get(reporting, "/reporting/compare", "analyst", "en")
    assert "Compare municipalities" in english.text and "Households in the registry" in english.text
    trends = await get(reporting, "/reporting/trends", "analyst", "sr-Latn")
    assert "<h1>Trendovi</h1>" in trends.text


async def test_only_readers_of_aggregates_may_open_the_dashboards(reporting: RunningService) -> None:
    for user in ("employer", "coordinator"):
        r = await get(reporting, "/reporting/", user, "sr-Latn")
        assert r.status_code == 403 and "Pristup nije dozvoljen" in r.text, r.text[:400]
        assert "Analitičar" in r.text  # the page says which roles may open it
        assert 'id="indicator-table"' not in r.text
    r = await reporting.client.get("/reporting/compare?indicator=persons", headers={"Accept": "text/html"})
    assert r.status_code == 303
    assert r.headers["location"].startswith("/reporting/login?next=")
    r = await reporting.client.get("/reporting/export.csv?indicator=persons")
    assert r.status_code == 303 and "/reporting/login" in r.headers["location"]


async def test_filters_choose_the_indicator_areas_and_breakdown_of_the_table(reporting: RunningService) -> None:
    await known_data(reporting)
    r = await get(
        reporting,
        "/reporting/",
        "admin",
        "sr-Latn",
        indicator="persons",
        area="municipality",
        by=["area", "sex"],
        **FIRST_HALF,
    )
    assert r.status_code == 200
    assert table_rows(r.text) == [
        ["Ada", "Ženski", "8"],
        ["Ada", "Muški", "8"],
        ["Ruma", "Ženski", "3"],
        ["Ruma", "Muški", "0"],
        ["Novi Sad", "Ženski", "10"],
        ["Novi Sad", "Muški", "20"],
    ]  # areas in the order of their official codes
    assert 'id="exact-note"' in r.text  # the administrator sees exact figures and is told so
    assert '<input id="by-sex" name="by" type="checkbox" value="sex" checked data-dim="sex">' in r.text
    assert '<option value="persons" data-dims="age_band area group period sex" selected>' in r.text

    # Only Ada's district, households this time, by period: the table follows.
    r = await get(
        reporting,
        "/reporting/",
        "admin",
        "en",
        indicator="households_registered",
        district="Severnobanatski",
        period="month",
        by="period",
        **FIRST_HALF,
    )
    assert table_rows(r.text) == [
        ["2026-01", "0"],
        ["2026-02", "0"],
        ["2026-03", "6"],
        ["2026-04", "2"],
        ["2026-05", "0"],
        ["2026-06", "0"],
    ]
    drawn = chart(r.text)
    assert drawn["type"] == "line" and drawn["labels"] == [
        "2026-01",
        "2026-02",
        "2026-03",
        "2026-04",
        "2026-05",
        "2026-06",
    ]
    assert drawn["datasets"] == [{"label": "Households registered", "data": [0, 0, 6, 2, 0, 0]}]
    assert "Months covered: 2026-01 to 2026-06." in r.text


async def test_analysts_see_small_counts_as_under_five_administrators_exact(reporting: RunningService) -> None:
    await known_data(reporting)
    params = {"indicator": "persons", "area": "municipality", "by": "area", **FIRST_HALF}
    analyst = await get(reporting, "/reporting/", "analyst", "sr-Latn", **params)
    assert table_rows(analyst.text) == [["Ada", "16"], ["Ruma", "&lt;5"], ["Novi Sad", "30"]]
    assert 'class="number cell--suppressed">&lt;5<' in analyst.text
    assert "1 podatak u ovoj tabeli je sakriven." in analyst.text
    assert chart(analyst.text)["datasets"][0]["data"] == [16, None, 30]  # a gap, not a made-up number
    for user in ("supervisor", "worker"):
        assert table_rows((await get(reporting, "/reporting/", user, **params)).text)[1] == ["Ruma", "&lt;5"]
    admin = await get(reporting, "/reporting/", "admin", "sr-Latn", **params)
    assert table_rows(admin.text) == [["Ada", "16"], ["Ruma", "3"], ["Novi Sad", "30"]]
    assert "u ovoj tabeli je sakriven" not in admin.text and "Tačni podaci: ništa nije sakriveno" in admin.text


async def test_a_bad_filter_gives_the_page_back_with_what_is_wrong(reporting: RunningService) -> None:
    r = await get(reporting, "/reporting/", "analyst", "sr-Latn", indicator="nope", **{"from": "2026-13"})
    assert r.status_code == 422
    assert "Podaci nisu prikazani: proverite označene filtere." in r.text
    assert errors(r.text) == ["Takav pokazatelj ne postoji.", "Unesite mesec kao godinu i mesec, na primer 2026-03."]
    assert 'id="results"' not in r.text
    assert 'name="from" type="month" value="2026-13"' in r.text  # what the user typed stays in the form

    r = await get(reporting, "/reporting/", "analyst", "en", indicator="caseload_per_worker", by="sex")
    assert r.status_code == 422
    assert errors(r.text) == ["This indicator cannot be broken down by sex."]
    r = await get(reporting, "/reporting/", "analyst", "sr-Cyrl", indicator="persons", municipality="99999")
    assert errors(r.text) == ["Не постоји општина са шифром 99999."]
    r = await get(
        reporting, "/reporting/", "analyst", "en", indicator="persons", **{"from": "2026-05", "to": "2026-02"}
    )
    assert errors(r.text) == ["The first month is after the last."]
    r = await get(reporting, "/reporting/trends", "analyst", "en", indicator="persons", period="week")
    assert r.status_code == 422 and errors(r.text) == ["Choose months, quarters or years."]
    r = await get(reporting, "/reporting/compare", "analyst", "en", indicator="persons", group="pirates")
    assert r.status_code == 422 and errors(r.text) == ["Choose one of the vulnerable groups."]
    r = await get(reporting, "/reporting/export.xlsx", "analyst", "en", indicator="persons", sex="X")
    assert r.status_code == 422 and errors(r.text) == ["Choose female or male."]
    assert r.headers["content-type"].startswith("text/html")


async def test_the_municipality_comparison_ranks_the_municipalities(reporting: RunningService) -> None:
    await known_data(reporting)
    r = await get(reporting, "/reporting/compare", "admin", "sr-Cyrl", indicator="persons", **FIRST_HALF)
    assert r.status_code == 200
    assert table_rows(r.text) == [["Нови Сад", "30"], ["Ада", "16"], ["Рума", "3"]]
    drawn = chart(r.text)
    assert drawn["type"] == "bar" and drawn["labels"] == ["Нови Сад", "Ада", "Рума"]
    assert drawn["datasets"][0]["data"] == [30, 16, 3]
    # Within a district every one of its municipalities, and only those.
    r = await get(reporting, "/reporting/compare", "admin", "en", indicator="persons", district="Sremski", **FIRST_HALF)
    rows = table_rows(r.text)
    assert rows[0] == ["Ruma", "3"] and len(rows) == 7
    assert {name for name, _ in rows} == {
        "Ruma",
        "Inđija",
        "Irig",
        "Pećinci",
        "Sremska Mitrovica",
        "Stara Pazova",
        "Šid",
    }
    assert all(value == "0" for _, value in rows[1:])
    # An analyst sees Ruma's "<5" where it belongs, above the municipalities with nobody.
    r = await get(
        reporting, "/reporting/compare", "analyst", "en", indicator="persons", district="Sremski", **FIRST_HALF
    )
    assert table_rows(r.text)[0] == ["Ruma", "&lt;5"] and chart(r.text)["datasets"][0]["data"][:2] == [None, 0]
    assert "/reporting/export.csv?indicator=persons&amp;period=year&amp;from=2026-01&amp;to=2026-06" in r.text


async def test_trends_draw_a_line_per_sex(reporting: RunningService) -> None:
    await known_data(reporting)
    params = {"indicator": "households_registered", "period": "month", "by_sex": "1", **FIRST_HALF}
    r = await get(reporting, "/reporting/trends", "admin", "sr-Latn", **params)
    drawn = chart(r.text)
    assert drawn["type"] == "line"
    assert drawn["labels"] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert drawn["datasets"] == [
        {"label": "Ženski", "data": [0, 0, 9, 2, 0, 0]},
        {"label": "Muški", "data": [0, 0, 10, 0, 0, 0]},
    ]
    # Without the breakdown, one line of the whole country.
    r = await get(reporting, "/reporting/trends", "admin", "en", **{**params, "by_sex": ""})
    assert chart(r.text)["datasets"] == [{"label": "Households registered", "data": [0, 0, 19, 2, 0, 0]}]


async def test_the_share_of_women_shows_its_fifty_per_cent_target(reporting: RunningService) -> None:
    await known_data(reporting)
    params = {"indicator": "share_women_beneficiaries", "period": "quarter", "by": "period", **FIRST_HALF}
    r = await get(reporting, "/reporting/", "analyst", "sr-Latn", **params)
    assert r.status_code == 200
    assert '<p class="target" id="target">Cilj: najmanje 50 %</p>' in r.text
    assert table_rows(r.text) == [["2026-Q1", "33,3 %", "10", "30"], ["2026-Q2", "33,3 %", "10", "30"]]
    assert r.text.count("cell--under-target") == 2
    drawn = chart(r.text)
    assert drawn["target"] == {"value": 50.0, "label": "Cilj: najmanje 50 %"}
    assert drawn["percent"] is True and drawn["datasets"][0]["data"] == [33.33, 33.33]


async def test_downloads_are_the_same_table_always_suppressed(reporting: RunningService) -> None:
    await known_data(reporting)
    params = {"indicator": "persons", "area": "municipality", "by": ["area", "sex"], **FIRST_HALF}
    page = await get(reporting, "/reporting/", "admin", "sr-Latn", **params)
    link = re.search(r'id="download-csv" href="([^"]+)"', page.text)
    assert link is not None
    csv_url = link.group(1).replace("&amp;", "&")
    r = await reporting.client.get(csv_url, headers={**reporting.auth("admin"), "Cookie": "oslonac_lang=sr-Latn"})
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="oslonac-persons-\d{4}-\d{2}-\d{2}\.csv"', r.headers["content-disposition"]
    )
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))  # Serbian Excel's separator
    assert rows == [
        ["Teritorija", "Naziv teritorije", "Pol", "Broj"],
        [ADA, "Ada", "Ženski", "8"],
        [ADA, "Ada", "Muški", "8"],
        [RUMA, "Ruma", "Ženski", "<5"],  # suppressed although an administrator downloads it
        [RUMA, "Ruma", "Muški", "0"],
        [NOVI_SAD, "Novi Sad", "Ženski", "10"],
        [NOVI_SAD, "Novi Sad", "Muški", "20"],
    ]

    xlsx_url = csv_url.replace("export.csv", "export.xlsx")
    r = await reporting.client.get(xlsx_url, headers={**reporting.auth("analyst"), "Cookie": "oslonac_lang=en"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["Table", "About"]
    cells = [[c.value for c in row] for row in book["Table"].iter_rows()]
    assert cells[0] == ["Area", "Area name", "Sex", "Number"]
    assert cells[3] == [RUMA, "Ruma", "Female", "<5"] and cells[5] == [NOVI_SAD, "Novi Sad", "Female", 10]
    about = {row[0].value.strip(): row[1].value for row in book["About"].iter_rows() if row[0].value}
    assert about["Indicator"] == "Persons in the registry" and about["Area level"] == "Municipalities"
    assert about["Broken down by"] == "Area, Sex" and about["From month"] == "2026-01"


async def test_pages_load_only_their_own_scripts_under_a_strict_policy(reporting: RunningService) -> None:
    r = await get(reporting, "/reporting/", "analyst", "en")
    policy = r.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "default-src 'self'" in policy
    assert re.findall(r'<script src="([^"]+)"', r.text) == [
        "/reporting/static/htmx.min.js",
        "/reporting/static/oslonac.js",
        "/reporting/assets/vendor/chart.umd.min.js",
        "/reporting/assets/dashboard.js",
    ]
    assert re.search(r"""(src|href)=["']?(https?:)?//""", r.text) is None  # nothing from another origin
    for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", r.text, re.S):
        # A script is a file of this origin; what is inline is the chart's data, which no browser runs.
        assert ("src=" in attributes and not body.strip()) or 'type="application/json"' in attributes, attributes

    library = await reporting.client.get("/reporting/assets/vendor/chart.umd.min.js")
    assert library.status_code == 200 and library.headers["content-type"].startswith("text/javascript")
    assert library.text.startswith("/*!\n * Chart.js v4.6.1")
    script = await reporting.client.get("/reporting/assets/dashboard.js")
    assert script.status_code == 200 and "new window.Chart(" in script.text
    assert (
        (await reporting.client.get("/reporting/assets/reporting.css")).headers["content-type"].startswith("text/css")
    )
    for missing in ("/reporting/assets/nothing.js", "/reporting/assets/../pages.py", "/reporting/assets/%2e%2e/app.py"):
        assert (await reporting.client.get(missing)).status_code == 404, missing


def test_every_indicator_theme_and_dimension_is_named_in_the_three_languages() -> None:
    latin, cyrillic = translations("sr-Latn").gettext, translations("sr-Cyrl").gettext
    for name, indicator in CATALOGUE.items():
        assert name in ui_indicators.INDICATORS, f"{name} has no label of the pages"
        label, description = ui_indicators.INDICATORS[name]
        for text in (label, description):
            assert latin(text) != text, f"{text!r} is not translated"
            assert re.search("[А-Яа-яЂђЈјЉљЊњЋћЏџ]", cyrillic(text)), text
        assert indicator.theme in ui_indicators.THEMES, indicator.theme
    vocabularies = (labels.DIMENSIONS, labels.PERIODS_PLURAL, labels.AREAS, labels.SEX, labels.GROUPS, labels.UNITS)
    for vocabulary in vocabularies:
        for text in vocabulary.values():
            assert latin(text) != text or text == "Period", text
