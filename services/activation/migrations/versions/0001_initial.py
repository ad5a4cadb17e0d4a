"""Opportunities and the plumbing tables.

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
        "opportunities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("municipality_code", sa.String(5), nullable=False),
        sa.Column("positions", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("organisation", sa.String(100), nullable=True),
        sa.Column("published_by", sa.String(100), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_opportunities"),
    )
    op.create_index("ix_opportunities_municipality_code", "opportunities", ["municipality_code"])


def downgrade() -> None:
    op.drop_table("opportunities")
    drop_plumbing_tables()
