"""Alembic's entry point: migrations run on the connection whichmodel hands over, or on the configured database.

`whichmodel.store.db.make_engine` runs them on every open; `alembic -c store/migrations/alembic.ini ...` works
too (it reads WHICHMODEL_DATABASE_URL or WHICHMODEL_HOME, as whichmodel does).
"""

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel
from whichmodel.config import Settings
from whichmodel.store import models  # noqa: F401 (registers the tables on SQLModel.metadata)


def _run(connection) -> None:
    # SQLite alters a table by copying it: `op.batch_alter_table` does that where a plain ALTER cannot.
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(Settings.from_env().effective_database_url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
