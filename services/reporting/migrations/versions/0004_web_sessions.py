"""Page sign-in: server-side sessions and sign-ins under way (shared.ui.sessions).

Revision ID: web_sessions
Revises: 0003
"""

from shared.migrations import create_web_sessions_table, drop_web_sessions_table

revision = "web_sessions"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_web_sessions_table()


def downgrade() -> None:
    drop_web_sessions_table()
