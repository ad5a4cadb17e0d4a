"""Each service's migrations build exactly the schema its models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from oslonac.registry import SERVICES
from shared.db import create_engine
from tests.fixtures.databases import DatabaseFactory


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_the_models(databases: DatabaseFactory, service: str):
    url = await databases.url_for(service)  # migrated to head
    metadata = importlib.import_module(f"services.{service}.models").Base.metadata
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
            )
            revision = await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    finally:
        await engine.dispose()
    assert diff == []
    assert revision == _head(service)


def _head(service: str) -> str:
    from pathlib import Path

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path("services") / service / "migrations"))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head
