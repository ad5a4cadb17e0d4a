"""CSV and XLSX downloads of an indicator table, read back the way a spreadsheet user's tools read them: Serbian
letters intact behind a byte-order mark, headers in the chosen language, "<5" as text and every other figure as a
number, and an "About" sheet that says what the table is."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from openpyxl import load_workbook

from services.reporting.indicators import CATALOGUE, Query, Table
from services.reporting.web._export import to_csv, to_xlsx

CACAK, SABAC = "71242", "71269"
GENERATED = datetime(2026, 11, 5, 14, 3, tzinfo=UTC)


def persons_by_area_and_sex() -> Table:
    query = Query(indicator="persons", period="year", area="municipality", by=("area", "sex"))
    rows = [
        {"area": CACAK, "area_name": "Čačak", "sex": "F", "value": 1234},
        {"area": CACAK, "area_name": "Čačak", "sex": "M", "value": "<5"},
        {"area": SABAC, "area_name": "Šabac", "sex": "F", "value": 17},
        {"area": SABAC, "area_name": "Šabac", "sex": "unknown", "value": 0},
    ]
    return Table(
        query=query,
        indicator=CATALOGUE["persons"],
        columns=["area", "area_name", "sex", "value"],
        rows=rows,
        suppressed=1,
        exact=False,
        generated_at=GENERATED,
        start=202201,
        end=202611,
    )


def women_among_beneficiaries() -> Table:
    query = Query(indicator="share_women_beneficiaries", period="quarter", start="2026-01", by=("period",))
    rows = [
        {"period": "2026-Q1", "value": 0.4, "numerator": 40, "denominator": 100},
        {"period": "2026-Q2", "value": "<5", "numerator": "<5", "denominator": 7},
        {"period": "2026-Q3", "value": None, "numerator": 0, "denominator": 0},
    ]
    return Table(
        query=query,
        indicator=CATALOGUE["share_women_beneficiaries"],
        columns=["period", "value", "numerator", "denominator"],
        rows=rows,
        suppressed=2,
        exact=False,
        generated_at=GENERATED,
        start=202601,
        end=202609,
    )


def read_csv(body: bytes, separator: str = ";") -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "no byte-order mark: Excel would show Serbian letters garbled"
    text = body.decode("utf-8-sig")
    assert separator in text.splitlines()[0], "the header is not split where a spreadsheet in this language splits"
    return list(csv.reader(io.StringIO(text), delimiter=separator))


def test_csv_has_translated_headers_serbian_letters_and_suppressed_cells() -> None:
    rows = read_csv(to_csv(persons_by_area_and_sex(), language="sr-Latn"))
    assert rows[0] == ["Teritorija", "Naziv teritorije", "Pol", "Broj"]
    assert rows[1:] == [
        [CACAK, "Čačak", "Ženski", "1234"],
        [CACAK, "Čačak", "Muški", "<5"],
        [SABAC, "Šabac", "Ženski", "17"],
        [SABAC, "Šabac", "Pol nije upisan", "0"],
    ]


def test_csv_speaks_cyrillic_and_english_too() -> None:
    cyrillic = read_csv(to_csv(persons_by_area_and_sex(), language="sr-Cyrl"))
    assert cyrillic[0] == ["Територија", "Назив територије", "Пол", "Број"]
    assert cyrillic[1][1] == "Чачак" and cyrillic[3][1] == "Шабац" and cyrillic[1][2] == "Женски"
    english = read_csv(to_csv(persons_by_area_and_sex(), language="en"), separator=",")
    assert english[0] == ["Area", "Area name", "Sex", "Number"]
    assert english[2] == [CACAK, "Čačak", "Male", "<5"]


def test_csv_writes_shares_as_fractions_and_empty_cells_as_nothing() -> None:
    rows = read_csv(to_csv(women_among_beneficiaries(), language="en"), separator=",")
    assert rows[0] == ["Period", "Share (fraction of 1)", "Counted", "Out of"]
    assert rows[1:] == [["2026-Q1", "0.4", "40", "100"], ["2026-Q2", "<5", "<5", "7"], ["2026-Q3", "", "0", "0"]]


def test_serbian_csv_is_split_by_semicolons_and_writes_decimal_commas() -> None:
    body = to_csv(women_among_beneficiaries(), language="sr-Latn")
    assert b"0,4" in body and b"0.4" not in body
    rows = read_csv(body)
    assert rows[1][:2] == ["2026-Q1", "0,4"] and rows[2][1:3] == ["<5", "<5"]
    assert read_csv(to_csv(women_among_beneficiaries(), language="sr-Cyrl"))[1][1] == "0,4"


def test_csv_lines_end_in_crlf_and_text_cannot_start_a_formula() -> None:
    table = persons_by_area_and_sex()
    table.rows[0]["area_name"] = "=HYPERLINK(1)"
    table.query = Query(indicator="persons", area="district", by=("area", "sex"))
    table.rows[0]["area"] = "=HYPERLINK(1)"
    body = to_csv(table, language="en")
    assert body.count(b"\r\n") == 5
    assert read_csv(body, separator=",")[1][:2] == ["'=HYPERLINK(1)", "'=HYPERLINK(1)"]


def test_xlsx_has_numbers_as_numbers_and_suppressed_cells_as_text() -> None:
    book = load_workbook(io.BytesIO(to_xlsx(persons_by_area_and_sex(), language="sr-Latn")))
    assert book.sheetnames == ["Tabela", "O tabeli"]
    sheet = book["Tabela"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == ["Teritorija", "Naziv teritorije", "Pol", "Broj"]
    assert values[1] == [CACAK, "Čačak", "Ženski", 1234]
    assert values[2] == [CACAK, "Čačak", "Muški", "<5"]
    assert isinstance(sheet["D2"].value, int) and sheet["D2"].number_format == "#,##0"
    assert sheet["D3"].data_type == "s"
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"


def test_xlsx_formats_shares_as_percentages() -> None:
    book = load_workbook(io.BytesIO(to_xlsx(women_among_beneficiaries(), language="en")))
    sheet = book["Table"]
    assert [c.value for c in sheet[2]] == ["2026-Q1", 0.4, 40, 100]
    assert sheet["B2"].number_format == "0.0%"
    assert [c.value for c in sheet[3]] == ["2026-Q2", "<5", "<5", 7]
    assert sheet["B4"].value is None


def test_xlsx_about_sheet_says_what_the_table_is() -> None:
    book = load_workbook(io.BytesIO(to_xlsx(women_among_beneficiaries(), language="en")))
    about = {row[0].value.strip(): row[1].value for row in book["About"].iter_rows() if row[0].value}
    assert about["Indicator"] == "Women among beneficiaries"
    assert about["Description"].startswith("The share of women among beneficiaries")
    assert about["Unit"] == "Share (fraction of 1)"
    assert about["Target"] == "at least 50 %"
    assert about["Periods"] == "By quarter"
    assert about["From month"] == "2026-01"
    assert about["To month"] == "up to now"
    assert about["Area level"] == "The whole country"
    assert about["Sex"] == "not limited"
    assert about["Broken down by"] == "Period"
    assert about["Months covered"] == "2026-01 – 2026-09"
    assert about["Generated at"] == "2026-11-05 14:03 UTC"
    assert "“<5”" in about["Suppression"]

    serbian = load_workbook(io.BytesIO(to_xlsx(persons_by_area_and_sex(), language="sr-Cyrl")))
    lines = {row[0].value.strip(): row[1].value for row in serbian["О табели"].iter_rows() if row[0].value}
    assert lines["Показатељ"] == "Особе у регистру"
    assert lines["Ниво територије"] == "Општине"
