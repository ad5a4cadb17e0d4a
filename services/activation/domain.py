"""Activation's pure rules. Matching and placements grow in the activation issue."""

from __future__ import annotations

from enum import StrEnum


class OpportunityStatus(StrEnum):
    published = "published"
    closed = "closed"
