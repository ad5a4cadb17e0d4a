"""Persons: no index on the folded given name. No query filters on it (likely duplicates are found through
(family key, birth date)), and every registered person paid for it with one more b-tree page written.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_persons_given_key", table_name="persons")


def downgrade() -> None:
    op.create_index("ix_persons_given_key", "persons", ["given_key"], unique=False)
