"""Distribution mode: Slack's installation and OAuth-state tables, and ours.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    # slack_sdk's own table definitions, so that its async stores find exactly what they expect.
    slack = sa.MetaData()
    SQLAlchemyInstallationStore.build_installations_table(slack, "slack_installations")
    SQLAlchemyInstallationStore.build_bots_table(slack, "slack_bots")
    SQLAlchemyOAuthStateStore.build_oauth_states_table(slack, "slack_oauth_states")
    slack.create_all(bind)

    op.create_table(
        "bik_connections",
        sa.Column("workspace", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.Column("hint", sa.String(8), nullable=False),
        sa.Column("connected_by", sa.String(64), nullable=False),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "policies",
        sa.Column("workspace", sa.String(32), primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("version", sa.String(16), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "workspace_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("workspace", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.Column("version", sa.String(16)),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,  # the change feed is read by id: ids must never be reused
    )
    op.create_index("ix_workspace_changes_workspace", "workspace_changes", ["workspace"])


def downgrade() -> None:
    op.drop_table("workspace_changes")
    op.drop_table("policies")
    op.drop_table("bik_connections")
    for name in ("slack_oauth_states", "slack_bots", "slack_installations"):
        op.drop_table(name)
