"""The translation catalogues: complete and current in this checkout, and what update/check do to a tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.ui.catalogues import ROOT, check, main, read_catalogue, render_catalogue, transliterate, update
from shared.ui.i18n import po_path


def test_catalogues_of_this_checkout_are_complete_and_current() -> None:
    """Fails when a page gains a string nobody translated: run `python -m shared.ui.catalogues update`,
    translate the empty entries of shared/locale/sr_Latn/LC_MESSAGES/oslonac.po, and run it again."""
    assert check(ROOT) == []


@pytest.mark.parametrize(
    ("latin", "cyrillic"),
    [
        ("Korisničko ime", "Корисничко име"),
        ("Ljubljana, Njegoš, Džep", "Љубљана, Његош, Џеп"),
        ("Prijavljeni ste kao %(name)s", "Пријављени сте као %(name)s"),
        ("%(count)s domaćinstava, %s, %d%%", "%(count)s домаћинстава, %s, %d%%"),
        ("Zdravo {name}, imate {0} poruka", "Здраво {name}, имате {0} порука"),
        ('<a href="/intake/login" class="link">Prijava</a>', '<a href="/intake/login" class="link">Пријава</a>'),
        ("Pogledajte <code>make run</code>&nbsp;i&#160;ostalo", "Погледајте <code>make run</code>&nbsp;и&#160;остало"),
        ("Vidi https://oslonac.rs/vodič ili www.oslonac.rs", "Види https://oslonac.rs/vodič или www.oslonac.rs"),
        ("Pišite na pomoc@oslonac.rs", "Пишите на pomoc@oslonac.rs"),
        ("Podesite OSLONAC_AUTH_TOKEN_URL i API ključ", "Подесите OSLONAC_AUTH_TOKEN_URL и API кључ"),
    ],
)  # fmt: skip
def test_transliteration_keeps_placeholders_markup_and_urls(latin: str, cyrillic: str) -> None:
    assert transliterate(latin) == cyrillic


PAGE = """{% extends "base.html" %}
{% block content %}
<h1>{{ _("Households") }}</h1>
<p>{% trans count=total %}One household{% pluralize %}{{ count }} households{% endtrans %}</p>
{% endblock %}
"""
PAGES_PY = """from shared.ui.i18n import N_

TITLE = N_("Register a household")


def saved(_, name):
    return _("Saved %(name)s") % {"name": name}
"""


def write_tree(root: Path) -> None:
    (root / "shared" / "ui" / "templates").mkdir(parents=True)
    (root / "shared" / "ui" / "templates" / "base.html").write_text('<a href="#c">{{ _("Skip") }}</a>')
    (root / "services" / "demo" / "templates").mkdir(parents=True)
    (root / "services" / "demo" / "templates" / "households.html").write_text(PAGE)
    (root / "services" / "demo" / "pages.py").write_text(PAGES_PY)
    (root / "services" / "demo" / "service.py").write_text('_("not a page: not extracted")\n')


LATIN = {
    "Skip": "Preskoči",
    "Households": "Domaćinstva",
    "Register a household": "Upis domaćinstva",
    "Saved %(name)s": "Sačuvano: %(name)s",
}
LATIN_PLURAL = ("%(count)s domaćinstvo", "%(count)s domaćinstva", "%(count)s domaćinstava")


def translate_latin(root: Path, **changes: str) -> None:
    path = po_path("sr-Latn", root / "shared" / "locale")
    catalog = read_catalogue(path, "sr-Latn")
    assert catalog is not None
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, (tuple, list)):
            message.string = LATIN_PLURAL
        else:
            message.string = changes.get(message.id, LATIN[message.id])
    path.write_bytes(render_catalogue(catalog))


def test_update_then_translate_then_check(tmp_path: Path) -> None:
    write_tree(tmp_path)
    problems = check(tmp_path)
    assert len([p for p in problems if "no catalogue" in p]) == 3

    assert len(update(tmp_path)) == 3
    problems = check(tmp_path)
    assert sorted(problems) == sorted(
        f"sr_Latn: untranslated {text!r}"
        for text in ("Skip", "Households", "One household", "Register a household", "Saved %(name)s")
    )

    translate_latin(tmp_path)
    assert check(tmp_path) == ["sr_Cyrl: not what `python -m shared.ui.catalogues update` generates; run it"]
    update(tmp_path)
    assert check(tmp_path) == []
    assert update(tmp_path) == [], "a second update changes nothing"

    cyrillic = read_catalogue(po_path("sr-Cyrl", tmp_path / "shared" / "locale"), "sr-Cyrl")
    english = read_catalogue(po_path("en", tmp_path / "shared" / "locale"), "en")
    assert cyrillic is not None and english is not None
    assert cyrillic.get("Saved %(name)s").string == "Сачувано: %(name)s"
    assert cyrillic.get(("One household", "%(count)s households")).string == (
        "%(count)s домаћинство",
        "%(count)s домаћинства",
        "%(count)s домаћинстава",
    )
    assert cyrillic.num_plurals == 3
    assert english.get("Households").string == "Households"
    assert "not a page: not extracted" not in {m.id for m in english}


def test_check_reports_new_fuzzy_broken_and_hand_edited_entries(tmp_path: Path) -> None:
    write_tree(tmp_path)
    update(tmp_path)
    translate_latin(tmp_path, **{"Saved %(name)s": "Sačuvano: %(ime)s"})
    update(tmp_path)
    assert any("sr_Latn: 'Saved %(name)s'" in p and "ime" in p for p in check(tmp_path))

    translate_latin(tmp_path)
    update(tmp_path)
    latin_path = po_path("sr-Latn", tmp_path / "shared" / "locale")
    latin_path.write_text(latin_path.read_text().replace('msgid "Skip"', '#, fuzzy\nmsgid "Skip"'))
    cyrillic_path = po_path("sr-Cyrl", tmp_path / "shared" / "locale")
    cyrillic_path.write_text(cyrillic_path.read_text().replace("Домаћинства", "Домаћинства!"))
    page = tmp_path / "services" / "demo" / "templates" / "households.html"
    page.write_text(page.read_text().replace("{% endblock %}", '{{ _("Print") }}\n{% endblock %}'))
    assert sorted(check(tmp_path)) == [
        "en: missing 'Print'",
        "en: not what `python -m shared.ui.catalogues update` generates; run it",
        "sr_Cyrl: missing 'Print'",
        "sr_Cyrl: not what `python -m shared.ui.catalogues update` generates; run it",
        "sr_Latn: fuzzy (check and remove the flag) 'Skip'",
        "sr_Latn: missing 'Print'",
    ]
    assert main(["check", "--root", str(tmp_path)]) == 1
    update(tmp_path)  # the hand edit of sr_Cyrl is overwritten; Print is now only untranslated
    assert sorted(check(tmp_path)) == [
        "sr_Latn: fuzzy (check and remove the flag) 'Skip'",
        "sr_Latn: untranslated 'Print'",
    ]
