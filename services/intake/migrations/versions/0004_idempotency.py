"""Idempotency keys: a key per user and creating operation, with the request's digest and its answer.

Revision ID: idempotency
Revises: 0003
"""

from shared.migrations import create_idempotency_keys_table, drop_idempotency_keys_table

revision = "idempotency"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_keys_table()


def downgrade() -> None:
    drop_idempotency_keys_table()
