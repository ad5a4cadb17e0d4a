"""CSV import without a database: header, values in both scripts, households from rows, readable row errors."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest

from services.intake import importing
from services.intake.domain import make_jmbg
from services.intake.importing import COLUMNS, check_upload, jobs
from services.intake.importing.reading import Group, households, plan_file, read_layout, records
from services.intake.importing.validation import FileContext, check_household
from services.intake.importing.values import parse_amount, parse_bool, parse_codes, parse_date, parse_sex
from shared.errors import Invalid

ADA, RUMA, NOVI_SAD = "80012", "80357", "89010"
HEADER = ["household_ref", "municipality_code", "given_name", "family_name", "birth_date", "sex", "jmbg"]


def person(**values: str) -> dict[str, str]:
    row = {
        "household_ref": "H1",
        "municipality_code": ADA,
        "given_name": "Jelena",
        "family_name": "Petrovic",
        "birth_date": "1984-03-07",
        "sex": "F",
        "missing_jmbg_reason": "not_known",
    }
    row.update(values)
    return row


def file_text(rows: list[dict[str, str]], columns: list[str] | None = None, delimiter: str = ",") -> str:
    columns = columns or list(dict.fromkeys(c for row in rows for c in row))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return out.getvalue()


def check(rows: list[dict[str, str]], *, scope: frozenset[str] | None = frozenset({ADA, RUMA})) -> list[Any]:
    """Every household of the file, checked: [(key, HouseholdCreate | None, [(row, column, message)])]."""
    text = file_text(rows)
    layout = read_layout(text)
    plan = plan_file(text, layout)
    ctx = FileContext(layout=layout, scope=scope, first_jmbg=plan.first_jmbg)
    out = []
    for group in households(text, layout, plan):
        checked = check_household(group, ctx)
        out.append((group.key, checked.data, [(e.row, e.column, e.message) for e in checked.errors]))
    return out


# --- header ---------------------------------------------------------------------------------------------------


def test_serbian_and_cyrillic_headers_map_to_the_canonical_columns():
    text = "Šifra domaćinstva;Opština;Ime;Презиме;Datum rođenja;Пол;JMBG;Prihod – socijalna pomoć\n"
    layout = read_layout(text)
    assert layout.delimiter == ";"
    assert layout.names == (
        "household_ref",
        "municipality_code",
        "given_name",
        "family_name",
        "birth_date",
        "sex",
        "jmbg",
        "income_social_assistance",
    )


def test_a_header_with_a_bom_and_the_error_report_columns_is_accepted():
    text = "\ufeffrow_number,household_ref,column,message," + ",".join(HEADER[1:]) + "\n"
    layout = read_layout(text)
    assert layout.names[:4] == (None, "household_ref", None, None)


def test_missing_required_columns_are_named():
    with pytest.raises(Invalid) as caught:
        read_layout("household_ref,given_name,jmbg\n")
    assert "municipality_code, family_name, birth_date, sex" in caught.value.message
    assert caught.value.details == {"missing_columns": ["municipality_code", "family_name", "birth_date", "sex"]}


def test_unknown_and_repeated_columns_are_refused():
    with pytest.raises(Invalid, match="Unknown columns: skils"):
        read_layout(",".join([*HEADER, "skils"]) + "\n")
    with pytest.raises(Invalid, match="appears twice"):
        read_layout(",".join([*HEADER, "ime"]) + "\n")
    with pytest.raises(Invalid, match="jmbg column, a missing_jmbg_reason column"):
        read_layout(",".join(HEADER[:-1]) + "\n")


def test_an_upload_must_be_utf8_csv_with_rows():
    good = file_text([person()]).encode()
    assert check_upload(filename="a.csv", content=good).total_rows == 1
    assert check_upload(filename="a.csv", content=b"\xef\xbb\xbf" + good).total_rows == 1
    with pytest.raises(Invalid, match="not UTF-8"):
        check_upload(filename="a.csv", content=file_text([person(family_name="Đorđević")]).encode("cp1250"))
    with pytest.raises(Invalid, match="no rows"):
        check_upload(filename="a.csv", content=(",".join(HEADER) + "\n\n").encode())
    with pytest.raises(Invalid, match="empty"):
        check_upload(filename="a.csv", content=b"  \n")


def test_a_file_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(jobs, "MAX_BYTES", 100)
    with pytest.raises(importing.FileTooLarge):
        check_upload(filename="a.csv", content=file_text([person()] * 5).encode())


# --- values ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "sex"), [("F", "F"), ("ž", "F"), ("Ж", "F"), ("Z", "F"), ("M", "M"), ("М", "M")])
def test_sex_in_both_scripts(raw: str, sex: str):
    assert parse_sex(raw) == sex


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        *[("da", True), ("Да", True), ("д", True), ("yes", True), ("1", True), ("TRUE", True)],
        *[("ne", False), ("н", False), ("No", False), ("0", False), ("false", False), ("", None)],
    ],
)
def test_yes_and_no(raw: str, value: bool | None):
    assert parse_bool(raw) is value


@pytest.mark.parametrize("raw", ["1984-03-07", "07.03.1984", "07.03.1984.", "7.3.1984", " 07. 03. 1984. "])
def test_dates_iso_and_local(raw: str):
    assert parse_date(raw) == date(1984, 3, 7)


def test_bad_values_say_what_to_write():
    with pytest.raises(ValueError, match=r"write YYYY-MM-DD or DD\.MM\.YYYY"):
        parse_date("March 7")
    with pytest.raises(ValueError, match="not a valid date"):
        parse_date("31.02.1984")
    with pytest.raises(ValueError, match="write F or M"):
        parse_sex("X")
    with pytest.raises(ValueError, match="da/ne"):
        parse_bool("maybe")
    with pytest.raises(ValueError, match="no thousands separators"):
        parse_amount("12.000")


def test_amounts_and_lists():
    assert parse_amount("15000") == 15000.0
    assert parse_amount("15000,50") == 15000.5
    assert parse_amount(" ") is None
    assert parse_codes("cleaning; Cooking;;driving-b") == ["cleaning", "cooking", "driving_b"]


# --- households -----------------------------------------------------------------------------------------------


def test_rows_of_one_reference_form_one_household_wherever_they_are():
    rows = [person(household_ref="A"), person(household_ref="B"), person(household_ref="A", given_name="Ana")]
    result = check(rows)
    assert [(key, len(data.members)) for key, data, _ in result] == [((ADA, "B"), 1), ((ADA, "A"), 2)]
    assert result[1][1].members[0].relation == "head"


def test_a_cyrillic_row_becomes_a_valid_household():
    jmbg = make_jmbg(date(1984, 3, 7), "F", serial=12)
    [(_, data, errors)] = check(
        [
            person(
                given_name="Јелена",
                family_name="Ђорђевић",
                birth_date="07.03.1984",
                sex="Ж",
                jmbg=jmbg,
                able_to_work="да",
                skills="cleaning;cooking",
                consents="case_work",
                income_social_assistance="12000",
            )
        ]
    )
    assert errors == []
    member = data.members[0]
    assert (member.given_name, member.sex, member.jmbg, member.able_to_work) == ("Јелена", "F", jmbg, True)
    assert member.skills == ["cleaning", "cooking"]
    assert [(i.source, i.monthly_amount) for i in data.incomes] == [("social_assistance", 12000.0)]


def test_household_columns_come_from_the_first_row_and_may_not_be_contradicted():
    rows = [
        person(settlement="Mol", income_wages="30000"),
        person(settlement="", income_wages="30000,00", given_name="Ana"),
        person(settlement="Utrine", given_name="Mara"),
    ]
    [(_, data, errors)] = check(rows)
    assert data is None
    assert errors == [
        (
            4,
            "settlement",
            "settlement: 'Utrine' contradicts the household's first row (row 2: Mol); household columns are read "
            "from that row",
        )
    ]


@pytest.mark.parametrize(
    ("values", "column", "words"),
    [
        ({"given_name": ""}, "given_name", "given_name: required"),
        ({"birth_date": "31.02.1990"}, "birth_date", "not a valid date"),
        ({"birth_date": "2999-01-01"}, "birth_date", "future"),
        ({"relation": "wife"}, "relation", "'wife' is not allowed; use 'head', 'spouse'"),
        ({"phone": "call me"}, "phone", "'call me' is not a phone number"),
        ({"skills": "juggling"}, "skills", "not on the skills list: juggling"),
        ({"missing_jmbg_reason": ""}, "jmbg", "give the JMBG, or say why"),
        ({"markers": "roma"}, "markers", "explicit consent"),
        ({"jmbg": "0703984800120", "missing_jmbg_reason": ""}, "jmbg", "check digit"),
        ({"municipality_code": "99999"}, "municipality_code", "99999 is not a known code"),
        ({"municipality_code": NOVI_SAD}, "municipality_code", "not among your municipalities"),
        ({"household_ref": ""}, "household_ref", "household_ref is required"),
        ({"income_pension": "a lot"}, "income_pension", "is not an amount"),
        ({"housing_type": "castle"}, "housing_type", "'castle' is not allowed"),
    ],
)
def test_row_errors_name_the_row_the_column_and_the_reason(values: dict[str, str], column: str, words: str):
    [(_, data, errors)] = check([person(**values)])
    assert data is None
    assert [(row, col) for row, col, _ in errors] == [(2, column)], errors
    assert words in errors[0][2], errors


def test_two_heads_and_repeated_jmbgs_point_at_rows():
    jmbg = make_jmbg(date(1984, 3, 7), "F", serial=1)
    [(_, _, errors)] = check([person(relation="head"), person(relation="head", given_name="Ana")])
    assert errors == [(3, "relation", "relation: a household has one head, rows 2, 3 are heads")]
    [(_, _, errors)] = check([person(jmbg=jmbg), person(jmbg=jmbg, given_name="Ana")])
    assert errors == [(3, "jmbg", "jmbg: the same JMBG is on row 2 of this household")]
    result = check([person(jmbg=jmbg), person(jmbg=jmbg, household_ref="H2")])
    assert result[0][2] == []
    assert result[1][2] == [(3, "jmbg", "jmbg: the same JMBG is on row 2, another household")]


def test_an_administrator_may_import_any_known_municipality():
    [(_, data, errors)] = check([person(municipality_code=NOVI_SAD)], scope=None)
    assert errors == [] and data is not None


def test_the_template_is_a_valid_household_in_both_scripts():
    text = importing.template_csv()
    assert text.startswith("\ufeff")
    checked = check_upload(filename="t.csv", content=text.encode())
    assert checked.total_rows == 2
    decoded = importing.reading.decode(checked.content)
    layout = read_layout(decoded)
    assert layout.names == COLUMNS
    plan = plan_file(decoded, layout)
    [group] = list(households(decoded, layout, plan))
    result = check_household(group, FileContext(layout=layout, scope=frozenset({ADA}), first_jmbg=plan.first_jmbg))
    assert result.errors == []
    assert [m.given_name for m in result.data.members] == ["Јелена", "Marko"]


def test_blank_lines_keep_spreadsheet_row_numbers():
    header, first = file_text([person()]).splitlines()
    second = file_text([person(household_ref="H2")]).splitlines()[1]
    text = "\n".join([header, first, "", ",,,, ", second]) + "\n"
    layout = read_layout(text)
    assert [number for number, _ in records(text, layout)] == [2, 5]
    assert Group(None, []).ref is None
