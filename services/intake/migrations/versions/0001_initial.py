"""Households, persons and the plumbing tables.

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
        "households",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(5), nullable=False),
        sa.Column("registered_by", sa.String(100), nullable=False),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_households"),
    )
    op.create_index("ix_households_municipality_code", "households", ["municipality_code"])
    op.create_table(
        "persons",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("given_name", sa.String(100), nullable=False),
        sa.Column("family_name", sa.String(100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("jmbg", sa.String(13), nullable=True),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"], name="fk_persons_household_id_households"),
        sa.PrimaryKeyConstraint("id", name="pk_persons"),
        sa.UniqueConstraint("jmbg", name="uq_persons_jmbg"),
    )
    op.create_index("ix_persons_household_id", "persons", ["household_id"])


def downgrade() -> None:
    op.drop_table("persons")
    op.drop_table("households")
    drop_plumbing_tables()
