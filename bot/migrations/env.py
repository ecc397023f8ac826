"""Alembic's entry point: always run through :func:`bot.db.upgrade`, which hands over a connection."""

from alembic import context

from bot.db import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
