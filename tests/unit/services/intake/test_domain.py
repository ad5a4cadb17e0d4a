"""JMBG rules of intake (DOMAIN.md, "JMBG"): check digit, birth date, sex, and the messages a case worker reads."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.intake.domain import check_jmbg, jmbg_birth_date, jmbg_check_digit, jmbg_sex, make_jmbg

# The weights of DOMAIN.md, written out again here so the tests do not trust the module's own table.
WEIGHTS = (7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
REGION_AND_SERIAL = range(7, 12)  # 0-based positions of RR and BBB: they encode neither date nor sex

dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))
sexes = st.sampled_from(["F", "M"])
regions = st.integers(min_value=0, max_value=99)
serials = st.integers(min_value=0, max_value=499)


def remainder(first12: str) -> int:
    """Σ weight × digit mod 11, straight from DOMAIN.md."""
    return sum(w * int(d) for w, d in zip(WEIGHTS, first12, strict=True)) % 11


def other(sex: str) -> str:
    return "M" if sex == "F" else "F"


# --- hand-computed examples -----------------------------------------------------------------------

# 14 03 985 71 523 K — a woman (serial 523 ≥ 500) born 14 March 1985 (985 ≥ 800 → 1985), region 71:
#   digits a1..a12 = 1 4 0 3 9 8 5 7 1 5 2 3
#   7(a1+a7) + 6(a2+a8) + 5(a3+a9) + 4(a4+a10) + 3(a5+a11) + 2(a6+a12)
#   = 7(1+5) + 6(4+7) + 5(0+1) + 4(3+5) + 3(9+2) + 2(8+3) = 42 + 66 + 5 + 32 + 33 + 22 = 200
#   200 mod 11 = 2, m = 11 − 2 = 9, so K = 9.
WOMAN_1985 = "1403985715239"

# 07 11 003 80 123 K — a man (serial 123 < 500) born 7 November 2003 (003 < 800 → 2003), region 80:
#   7(0+3) + 6(7+8) + 5(1+0) + 4(1+1) + 3(0+2) + 2(0+3) = 21 + 90 + 5 + 8 + 6 + 6 = 136
#   136 mod 11 = 4, m = 7, so K = 7.
MAN_2003 = "0711003801237"

# 01 01 990 71 004 K — a man born 1 January 1990, region 71, serial 004:
#   7(0+0) + 6(1+7) + 5(0+1) + 4(1+0) + 3(9+0) + 2(9+4) = 0 + 48 + 5 + 4 + 27 + 26 = 110
#   110 mod 11 = 0, m = 11, so K = 0.
M11_CASE = "0101990710040"
# The same with serial 044 (a11 = 4 instead of 0): the sum grows by 3 × 4 = 12 to 122,
#   122 mod 11 = 1, m = 10, so K = 0 as well: a single mistyped digit the check digit cannot see.
M10_CASE = "0101990710440"


@pytest.mark.parametrize(
    ("jmbg", "birth_date", "sex"),
    [
        (WOMAN_1985, date(1985, 3, 14), "F"),
        (MAN_2003, date(2003, 11, 7), "M"),
        (M11_CASE, date(1990, 1, 1), "M"),
        (M10_CASE, date(1990, 1, 1), "M"),
    ],
)
def test_hand_computed_jmbg_is_accepted_and_decoded(jmbg: str, birth_date: date, sex: str) -> None:
    assert jmbg_check_digit(jmbg[:12]) == int(jmbg[12])
    assert jmbg_birth_date(jmbg) == birth_date
    assert jmbg_sex(jmbg) == sex
    assert check_jmbg(jmbg, birth_date=birth_date, sex=sex) is None


def test_make_jmbg_reproduces_the_hand_computed_numbers() -> None:
    assert make_jmbg(date(1985, 3, 14), "F", region=71, serial=23) == WOMAN_1985
    assert make_jmbg(date(2003, 11, 7), "M", region=80, serial=123) == MAN_2003
    assert make_jmbg(date(1990, 1, 1), "M", region=71, serial=4) == M11_CASE


def test_check_digit_is_zero_for_m_10_and_m_11() -> None:
    assert remainder(M11_CASE[:12]) == 0  # m = 11
    assert remainder(M10_CASE[:12]) == 1  # m = 10
    assert jmbg_check_digit(M11_CASE[:12]) == 0
    assert jmbg_check_digit(M10_CASE[:12]) == 0


def test_wrong_check_digit_is_rejected_as_a_typo() -> None:
    mistyped = WOMAN_1985[:12] + "8"
    problem = check_jmbg(mistyped, birth_date=date(1985, 3, 14), sex="F")
    assert problem is not None
    assert "check digit" in problem.message


# --- the year rule: yyy ≥ 800 → 1yyy, else 2yyy -----------------------------------------------------


@pytest.mark.parametrize(
    ("yyy", "year"),
    [("999", 1999), ("985", 1985), ("900", 1900), ("800", 1800), ("799", 2799), ("099", 2099), ("003", 2003)],
)
def test_year_rule(yyy: str, year: int) -> None:
    assert jmbg_birth_date(f"0101{yyy}710000") == date(year, 1, 1)


# --- dates that do not exist -----------------------------------------------------------------------


def with_check_digit(first12: str) -> str:
    return first12 + str(jmbg_check_digit(first12))


@pytest.mark.parametrize(
    "first7",
    [
        "3102990",  # 31 February 1990
        "3104985",  # 31 April 1985
        "2902900",  # 29 February 1900: 1900 is not a leap year
        "0003985",  # day 00
        "1513985",  # month 13
        "1500985",  # month 00
    ],
)
def test_invalid_date_is_rejected_even_with_a_correct_check_digit(first7: str) -> None:
    jmbg = with_check_digit(first7 + "71000")
    assert jmbg_birth_date(jmbg) is None
    problem = check_jmbg(jmbg, birth_date=date(1990, 2, 28), sex="M")
    assert problem is not None
    assert "valid date" in problem.message


def test_29_february_of_a_leap_year_is_a_valid_date() -> None:
    jmbg = make_jmbg(date(2000, 2, 29), "F", region=80, serial=1)
    assert jmbg.startswith("2902000")
    assert check_jmbg(jmbg, birth_date=date(2000, 2, 29), sex="F") is None


# --- wrong shape ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "jmbg",
    [
        "",
        "140398571523",  # 12 digits
        "14039857152390",  # 14 digits
        "1403985-715239",
        "14039857152a9",
        " 403985715239",
        "1403985715239 ",
        "140398571523O",  # letter O, not zero
    ],
)
def test_not_13_digits_is_rejected(jmbg: str) -> None:
    problem = check_jmbg(jmbg, birth_date=date(1985, 3, 14), sex="F")
    assert problem is not None
    assert problem.message == "JMBG must be exactly 13 digits."


@pytest.mark.parametrize(
    "jmbg",
    [
        "".join(chr(0xFF10 + int(d)) for d in WOMAN_1985),
        "".join(chr(0x0660 + int(d)) for d in WOMAN_1985),
        "¹⁴⁰³⁹⁸⁵⁷¹⁵²³⁹",
    ],
    ids=["fullwidth", "arabic-indic", "superscript"],
)
def test_only_ascii_digits_make_a_jmbg(jmbg: str) -> None:
    """``str.isdigit()`` alone is true for every Unicode digit (found as a bug, now guarded).

    Without an ASCII check, fullwidth and Arabic-Indic digits pass as a valid JMBG (stored as a second,
    different string for the same person, defeating the unique constraint), and superscript digits pass
    ``isdigit()`` but make ``int()`` raise ValueError, which the intake API turns into a 500.
    """
    problem = check_jmbg(jmbg, birth_date=date(1985, 3, 14), sex="F")
    assert problem is not None
    assert problem.message == "JMBG must be exactly 13 digits."


# --- date and sex must agree ------------------------------------------------------------------------


def test_sex_boundary_is_serial_500() -> None:
    assert jmbg_sex(with_check_digit("140398571499")) == "M"
    assert jmbg_sex(with_check_digit("140398571500")) == "F"


def test_mismatched_sex_message_names_what_the_jmbg_says() -> None:
    problem = check_jmbg(WOMAN_1985, birth_date=date(1985, 3, 14), sex="M")
    assert problem is not None
    assert "female" in problem.message


def test_mismatched_date_message_names_both_dates() -> None:
    problem = check_jmbg(WOMAN_1985, birth_date=date(1985, 3, 15), sex="F")
    assert problem is not None
    assert "1985-03-14" in problem.message
    assert "1985-03-15" in problem.message


def test_every_message_is_a_sentence_a_case_worker_can_read() -> None:
    bad_inputs = [
        ("123", date(1985, 3, 14), "F"),  # shape
        (WOMAN_1985[:12] + "0", date(1985, 3, 14), "F"),  # check digit
        (with_check_digit("310299071000"), date(1990, 2, 28), "M"),  # no such date
        (WOMAN_1985, date(1985, 3, 15), "F"),  # other date
        (WOMAN_1985, date(1985, 3, 14), "M"),  # other sex
        (MAN_2003, date(2003, 11, 7), "F"),  # other sex, the other way
    ]
    messages = []
    for jmbg, birth_date, sex in bad_inputs:
        problem = check_jmbg(jmbg, birth_date=birth_date, sex=sex)
        assert problem is not None, jmbg
        messages.append(problem.message)
    assert len(set(messages)) == len(messages)  # each problem says what is wrong in its own words
    for message in messages:
        assert message.strip() == message
        assert message[0].isupper(), message
        assert message.endswith("."), message
        assert "JMBG" in message, message
        assert "Error" not in message and "Traceback" not in message


# --- properties over every date the platform registers ---------------------------------------------


@given(birth_date=dates, sex=sexes, region=regions, serial=serials)
def test_make_jmbg_is_valid_for_its_person(birth_date: date, sex: str, region: int, serial: int) -> None:
    jmbg = make_jmbg(birth_date, sex, region=region, serial=serial)
    assert len(jmbg) == 13
    assert jmbg.isascii()
    assert jmbg.isdigit()
    assert int(jmbg[7:9]) == region
    assert int(jmbg[9:12]) % 500 == serial
    assert jmbg_birth_date(jmbg) == birth_date
    assert jmbg_sex(jmbg) == sex
    assert check_jmbg(jmbg, birth_date=birth_date, sex=sex) is None

    wrong_sex = check_jmbg(jmbg, birth_date=birth_date, sex=other(sex))
    assert wrong_sex is not None
    assert "male" in wrong_sex.message


@given(birth_date=dates, other_date=dates, sex=sexes, region=regions, serial=serials)
def test_make_jmbg_is_rejected_for_another_birth_date(
    birth_date: date, other_date: date, sex: str, region: int, serial: int
) -> None:
    assume(other_date != birth_date)
    jmbg = make_jmbg(birth_date, sex, region=region, serial=serial)
    problem = check_jmbg(jmbg, birth_date=other_date, sex=sex)
    assert problem is not None
    assert birth_date.isoformat() in problem.message


@given(birth_date=dates, sex=sexes)
def test_one_day_off_is_rejected(birth_date: date, sex: str) -> None:
    jmbg = make_jmbg(birth_date, sex)
    for neighbour in (birth_date - timedelta(days=1), birth_date + timedelta(days=1)):
        assert check_jmbg(jmbg, birth_date=neighbour, sex=sex) is not None


def test_a_single_digit_change_always_changes_the_remainder() -> None:
    # Changing digit i by δ (δ = ±1..±9) changes the weighted sum by w_i·δ. 11 is prime and
    # neither w_i (2..7) nor δ is a multiple of 11, so w_i·δ ≢ 0 (mod 11): the remainder always moves.
    for weight in set(WEIGHTS):
        for delta in [*range(-9, 0), *range(1, 10)]:
            assert (weight * delta) % 11 != 0


@given(birth_date=dates, sex=sexes, region=regions, serial=serials)
def test_single_digit_change_is_caught_except_the_k0_blind_spot(
    birth_date: date, sex: str, region: int, serial: int
) -> None:
    """Which single-digit typos in the first 12 digits go undetected, exactly.

    The remainder r = Σ mod 11 always changes (previous test), and K is a function of r alone:
    r = 2..10 → K = 11 − r (1..9, all distinct), r = 1 → m = 10 → K = 0, r = 0 → m = 11 → K = 0.
    So the check digit misses a typo only when the remainder moves between 0 and 1 (K stays 0).
    Such a typo is still caught when it touches the date (DDMMYYY: a different or impossible date) or
    moves the serial across 500 (the other sex). It goes undetected when it lands in the region or the
    serial without changing the sex — e.g. M10_CASE above. This is a property of the rule in DOMAIN.md
    (m = 10 and m = 11 both give K = 0), not of the code.
    """
    jmbg = make_jmbg(birth_date, sex, region=region, serial=serial)
    first12, k = jmbg[:12], jmbg[12]
    for i in range(12):
        for digit in "0123456789":
            if digit == first12[i]:
                continue
            changed = first12[:i] + digit + first12[i + 1 :]
            blind_spot = (
                {remainder(first12), remainder(changed)} == {0, 1}
                and i in REGION_AND_SERIAL
                and (int(changed[9:12]) < 500) == (sex == "M")
            )
            problem = check_jmbg(changed + k, birth_date=birth_date, sex=sex)
            if blind_spot:
                assert k == "0"
                assert problem is None, (jmbg, i, digit)
            else:
                assert problem is not None, (jmbg, i, digit)


def test_the_blind_spot_is_real() -> None:
    # 0101990710040 and 0101990710440 differ in one digit, and both are valid for the same man.
    assert sum(a != b for a, b in zip(M11_CASE, M10_CASE, strict=True)) == 1
    assert check_jmbg(M11_CASE, birth_date=date(1990, 1, 1), sex="M") is None
    assert check_jmbg(M10_CASE, birth_date=date(1990, 1, 1), sex="M") is None


def test_make_jmbg_refuses_a_serial_outside_0_to_499() -> None:
    with pytest.raises(ValueError, match="serial"):
        make_jmbg(date(1990, 1, 1), "F", serial=500)
    with pytest.raises(ValueError, match="serial"):
        make_jmbg(date(1990, 1, 1), "M", serial=-1)
