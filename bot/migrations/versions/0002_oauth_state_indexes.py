"""OAuth states: indexes for the purge of expired states on every issue, and for the lookup by state.

Every ``GET /slack/install`` now deletes the expired states before issuing one (bot.distribution's
BoundedStateStore) and the callback finds its state by value: both without reading the whole table.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_slack_oauth_states_expire_at", "slack_oauth_states", ["expire_at"])
    op.create_index("ix_slack_oauth_states_state", "slack_oauth_states", ["state"])


def downgrade() -> None:
    op.drop_index("ix_slack_oauth_states_state", table_name="slack_oauth_states")
    op.drop_index("ix_slack_oauth_states_expire_at", table_name="slack_oauth_states")
