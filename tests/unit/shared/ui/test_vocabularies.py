"""Every value of every event Literal a page shows has a label, and every label a translation in every language."""

from __future__ import annotations

from typing import get_args

import pytest

from shared.events.cases import ActivationMarker
from shared.ui.i18n import LANGUAGES, translated_msgids
from shared.ui.vocabularies import MARKERS, VOCABULARIES


@pytest.mark.parametrize("name", sorted(VOCABULARIES))
def test_a_vocabulary_labels_exactly_the_values_of_its_literal(name: str) -> None:
    literal, vocabulary = VOCABULARIES[name]
    assert list(vocabulary) == list(get_args(literal))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_label_is_translated(language: str) -> None:
    translated = translated_msgids(language)
    missing = [
        f"{name}[{value!r}] = {label!r}"
        for name, (_literal, vocabulary) in VOCABULARIES.items()
        for value, label in vocabulary.items()
        if label not in translated
    ]
    assert missing == []


def test_the_markers_activation_reads_are_labelled_too() -> None:
    assert set(get_args(ActivationMarker)) <= set(MARKERS)
