"""The four services, by name. Only the launcher knows all of them; they never import each other."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

SERVICES = ("intake", "cases", "activation", "reporting")


def app_module(service: str) -> ModuleType:
    if service not in SERVICES:
        raise SystemExit(f"unknown service {service!r}: choose one of {', '.join(SERVICES)}")
    return importlib.import_module(f"services.{service}.app")


def create_app(service: str) -> Callable[..., Any]:
    factory: Callable[..., Any] = app_module(service).create_app
    return factory


def migrations_dir(service: str) -> Path:
    path: Path = app_module(service).MIGRATIONS
    return path


def plumbing(service: str) -> Any:
    return importlib.import_module(f"services.{service}.models").plumbing
