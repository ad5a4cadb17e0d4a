"""One Environment, every language: the gettext callables read the translations of the render they are in."""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest

from shared.ui.i18n import load_translations, translations
from shared.ui.templating import make_templates

PO = r"""
msgid ""
msgstr ""
"Content-Type: text/plain; charset=utf-8\n"
"Plural-Forms: nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);\n"

msgid "Hello %(name)s"
msgstr "Zdravo, %(name)s"

msgid "One household"
msgid_plural "%(count)s households"
msgstr[0] "%(count)s domaćinstvo"
msgstr[1] "%(count)s domaćinstva"
msgstr[2] "%(count)s domaćinstava"

msgid "One person"
msgid_plural "%(num)s persons"
msgstr[0] "%(num)s osoba"
msgstr[1] "%(num)s osobe"
msgstr[2] "%(num)s osoba"

msgid "<b>Bold</b> move"
msgstr "<b>Hrabar</b> potez"
"""

PAGE = """{{ _("Hello %(name)s", name=name) }}|{% trans count=n %}One household{% pluralize %}{{ count }} households{% endtrans %}|{{ ngettext("One person", "%(num)s persons", n) }}|{{ _("<b>Bold</b> move") }}"""  # noqa: E501


@pytest.fixture
def serbian(tmp_path: Path) -> gettext.GNUTranslations:
    path = tmp_path / "oslonac.po"
    path.write_text(PO, encoding="utf-8")
    return load_translations(path, "sr-Latn")  # the file has no Language header


def test_one_environment_renders_each_render_in_its_own_language(
    serbian: gettext.GNUTranslations, tmp_path: Path
) -> None:
    env = make_templates(tmp_path).env
    page = env.from_string(PAGE)
    assert page.render(translations=serbian, name="<Ana>", n=22) == (
        "Zdravo, &lt;Ana&gt;|22 domaćinstva|22 osobe|<b>Hrabar</b> potez"
    )
    assert page.render(translations=translations("en"), name="Ana", n=1) == (
        "Hello Ana|One household|One person|<b>Bold</b> move"
    )
    assert page.render(translations=serbian, name="Ana", n=5).split("|")[1] == "5 domaćinstava"


def test_the_service_templates_come_before_the_shared_ones(tmp_path: Path) -> None:
    (tmp_path / "login.html").write_text("the service's own login page")
    templates = make_templates(tmp_path)
    assert templates.env.get_template("login.html").render() == "the service's own login page"
    assert "base.html" in templates.env.list_templates() and "_forms.html" in templates.env.list_templates()


def test_rendering_without_translations_says_how_to_fix_it(tmp_path: Path) -> None:
    page = make_templates(tmp_path).env.from_string('{{ _("Hello %(name)s", name="x") }}')
    with pytest.raises(RuntimeError, match=r"PageTemplates\.render"):
        page.render()
