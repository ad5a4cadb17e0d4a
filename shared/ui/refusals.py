"""Refusals in the page's language, by their stable code — never by matching the English sentence.

Each service keeps one table of its refusal codes and the sentence its pages show for each (an English gettext
msgid, marked with ``N_`` in a module the catalogues extract from), as a :class:`Refusals`. The translations live
in the gettext catalogues (``shared/locale``), like every other text of the pages: one workflow for translators
(they edit ``sr_Latn``, Cyrillic is transliterated from it), one ``catalogues check``.

A domain error's code is its ``reason`` (``shared.errors.DomainError``), a field error's its ``type``; their
values travel beside them (``params``, ``ctx``). :func:`raised_codes` finds every code a package raises, from its
source, so a test can ask :func:`untranslated` for the ones that cannot be shown in every language.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.errors import DomainError, field_errors
from shared.ui.i18n import LANGUAGES, N_, translated_msgids, translations
from shared.ui.messages import render

Translate = Callable[[str], str]

# What every service's pages can say for the codes shared.errors and FastAPI give without a reason of their own.
GENERIC: dict[str, str] = {
    "invalid": N_("This value is not valid."),
    "value_error": N_("This value is not valid."),
    "missing": N_("This field is required."),
    "not_found": N_("There is no such record. It may have been merged or removed."),
    "forbidden": N_("You do not have permission to see this record."),
    "conflict": N_("The record changed in the meantime or this step is not allowed now."),
}


@dataclass(frozen=True)
class Refusals:
    """One service's refusal codes and their page sentences (English msgids); the generic ones come along."""

    texts: Mapping[str, str]
    # The values as the page says them (a code turned into its translated name), before they fill the sentence.
    adapt: Callable[[Mapping[str, Any], Translate], Mapping[str, Any]] | None = None
    generic: Mapping[str, str] = field(default_factory=lambda: dict(GENERIC))

    def template(self, code: str) -> str | None:
        return self.texts.get(code) or self.generic.get(code)

    def codes(self) -> set[str]:
        return {*self.texts, *self.generic}

    def text(
        self, code: str, params: Mapping[str, Any] | None = None, *, language: str, fallback: str | None = None
    ) -> str:
        """What the page says for ``code`` in ``language``; an unknown code shows ``fallback`` (the English sentence
        the service gave) or, without one, the generic "not valid"."""
        return self.say(code, params, translations(language).gettext, fallback=fallback)

    def say(
        self, code: str, params: Mapping[str, Any] | None, translate: Translate, *, fallback: str | None = None
    ) -> str:
        """:meth:`text` with the page's own ``translate`` (``gettext`` of its language)."""
        template = self.template(code)
        if template is None:
            return fallback if fallback is not None else translate(GENERIC["invalid"])
        if params and self.adapt is not None:
            params = self.adapt(params, translate)
        return render(template, params, translate)

    def error_text(self, exc: DomainError, translate: Translate) -> str:
        """A domain error, by its reason."""
        return self.say(exc.reason, exc.params, translate, fallback=exc.message)

    def field_texts(
        self, exc: DomainError, translate: Translate, *, skip: Iterable[str] = ("body", "query")
    ) -> dict[str, str]:
        """The field errors of ``exc`` by field name (the ``loc`` without ``body``/``query``, dotted), in the page's
        language; two errors of one field are joined."""
        skipped = set(skip)
        out: dict[str, str] = {}
        for error in field_errors(exc):
            name = ".".join(str(part) for part in error.get("loc", []) if part not in skipped)
            text = self.say(str(error.get("type", "")), error.get("ctx"), translate, fallback=str(error.get("msg", "")))
            if name in out:
                if text not in out[name]:
                    out[name] += " " + text
            else:
                out[name] = text
        return out


def refusal_text(refusals: Refusals, code: str, params: Mapping[str, Any] | None = None, *, language: str) -> str:
    """What a page says for ``code`` in ``language`` (``sr-Latn``, ``sr-Cyrl``, ``en``), from a service's table."""
    return refusals.text(code, params, language=language)


# --- what a package raises, read from its source ---------------------------------------------------------------

CODE_KEYWORDS = frozenset({"reason", "type_"})
FIELD_ERROR_CALLS = frozenset({"field_error"})
# Checks in shared/ that refuse with a code of their own: a call to one, as a service writes it, raises that code.
SHARED_CHECKS: dict[str, tuple[str, ...]] = {"municipalities.ensure_known": ("unknown_municipality",)}


@dataclass(frozen=True, order=True)
class RaisedCode:
    code: str
    where: str  # path:line


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _codes_in(tree: ast.AST) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg in CODE_KEYWORDS and (code := _literal(keyword.value)) is not None:
                yield code, node.lineno
        if _name(node) in FIELD_ERROR_CALLS and len(node.args) >= 3 and (code := _literal(node.args[2])) is not None:
            yield code, node.lineno
        for code in SHARED_CHECKS.get(ast.unparse(node.func), ()):
            yield code, node.lineno


def raised_codes(package: Path, *, root: Path | None = None) -> list[RaisedCode]:
    """Every refusal code written as a literal in ``package``'s modules: a ``reason=`` of a domain error, a
    ``type_=`` or third argument of ``field_error``, or the code of a shared check it calls (``SHARED_CHECKS``).
    A code computed at run time is invisible here: write codes out (a dict of literals is fine: its values are
    ``reason=`` or ``type_=`` at the call)."""
    base = root or package.parent
    found: list[RaisedCode] = []
    for path in sorted(package.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        where = path.relative_to(base).as_posix()
        found += [RaisedCode(code, f"{where}:{line}") for code, line in _codes_in(tree)]
    return sorted(found)


def refusal_problems(package: Path, refusals: Refusals, *, dynamic: Iterable[str] = ()) -> list[str]:
    """What a service's translation test asserts empty: every code ``package`` raises (found by
    :func:`raised_codes`, plus the ``dynamic`` ones it computes at run time) said by ``refusals`` in every
    language, and every code of ``refusals``' own table raised somewhere (a sentence nobody needs is a chore for
    translators)."""
    raised = {found.code for found in raised_codes(package)} | set(dynamic)
    unused = [f"{code}: in the Refusals table but never raised" for code in sorted(set(refusals.texts) - raised)]
    return untranslated(refusals, raised) + unused


def untranslated(refusals: Refusals, codes: Iterable[str], *, languages: Iterable[str] = LANGUAGES) -> list[str]:
    """What keeps a page from saying each of ``codes`` in every language: a code missing from ``refusals``, or its
    sentence missing (or empty, or fuzzy) in a language's catalogue. Empty when all is well."""
    problems: list[str] = []
    catalogues = {language: translated_msgids(language) for language in languages}
    for code in sorted(set(codes)):
        template = refusals.template(code)
        if template is None:
            problems.append(f"{code}: no page sentence in the service's Refusals table")
            continue
        for language, translated in catalogues.items():
            if template not in translated:
                problems.append(f"{code}: {template!r} has no translation in {language}")
    return problems
