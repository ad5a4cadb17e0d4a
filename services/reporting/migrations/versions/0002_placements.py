"""Placement counters per municipality.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = (
    "placements_proposed",
    "placements_started",
    "placements_completed",
    "placements_ended",
    "placement_hours_worked",
)


def upgrade() -> None:
    with op.batch_alter_table("municipality_indicators") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("municipality_indicators") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
