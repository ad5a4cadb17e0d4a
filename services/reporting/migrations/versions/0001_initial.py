"""Indicator projections and the plumbing tables.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime
from shared.migrations import create_plumbing_tables, drop_plumbing_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_plumbing_tables()
    op.create_table(
        "municipality_indicators",
        sa.Column("municipality_code", sa.String(5), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("persons_female", sa.Integer(), nullable=False),
        sa.Column("persons_male", sa.Integer(), nullable=False),
        sa.Column("open_cases", sa.Integer(), nullable=False),
        sa.Column("opportunities_published", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("municipality_code", name="pk_municipality_indicators"),
    )
    op.create_table(
        "household_facts",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(5), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.Column("projected_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("household_id", name="pk_household_facts"),
    )
    op.create_index("ix_household_facts_municipality_code", "household_facts", ["municipality_code"])


def downgrade() -> None:
    op.drop_table("household_facts")
    op.drop_table("municipality_indicators")
    drop_plumbing_tables()
