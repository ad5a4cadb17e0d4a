"""Cases and the plumbing tables.

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
        "cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(5), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("household_registered_at", UTCDateTime(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("household_id", name="uq_cases_household_id"),
    )
    op.create_index("ix_cases_municipality_code", "cases", ["municipality_code"])


def downgrade() -> None:
    op.drop_table("cases")
    drop_plumbing_tables()
