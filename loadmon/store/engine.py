"""Opening the database: URL resolution, SQLite pragmas, migrations to head."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from loadmon.store.errors import StoreError

ENV_DB = "LOADMON_DB"
ENV_DATA_DIR = "LOADMON_DATA_DIR"
MIGRATIONS = Path(__file__).parent / "migrations"
#: How long a SQLite connection waits for another one's lock before it fails (ms).
BUSY_TIMEOUT_MS = 10_000


def data_dir() -> Path:
    """Return the user data directory (``LOADMON_DATA_DIR`` or the platform default).

    Returns
    -------
    Path
        The directory holding the default database and raw recordings.
    """
    env = os.environ.get(ENV_DATA_DIR)
    return Path(env) if env else Path(platformdirs.user_data_dir("loadmon", appauthor=False))


def resolve_url(url: str | None = None) -> str:
    """Return the database URL to use: the argument, then ``LOADMON_DB``, then SQLite.

    ``postgresql://`` and ``postgres://`` URLs are given the psycopg 3 driver; a
    bare file path means a SQLite file.

    Parameters
    ----------
    url : str or None
        An SQLAlchemy URL or a path to a SQLite file.

    Returns
    -------
    str
        A full SQLAlchemy URL.
    """
    url = url or os.environ.get(ENV_DB) or None
    if url is None:
        return f"sqlite:///{data_dir() / 'loadmon.sqlite'}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # with WAL: no fsync per commit, still consistent
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.close()


def create_store_engine(url: str | None = None) -> Engine:
    """Create an engine for `url` (see `resolve_url`) and migrate the schema to head.

    SQLite files get WAL journaling, foreign keys and a busy timeout; their
    directory is created when missing.

    Parameters
    ----------
    url : str or None
        Database URL, file path, or None for the default.

    Returns
    -------
    Engine
        A ready engine whose schema is at the latest migration.

    Raises
    ------
    StoreError
        When the URL is malformed or the database cannot be opened or migrated.
    """
    full = resolve_url(url)
    try:
        parsed = make_url(full)
    except ArgumentError as exc:
        raise StoreError(f"database URL {full!r} is not valid: {exc}") from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(parsed, pool_pre_ping=True)
    except Exception as exc:  # missing driver, bad options
        raise StoreError(f"cannot open database {parsed.render_as_string()}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    migrate(engine)
    return engine


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema of `engine` to `revision` with the Alembic migrations.

    Parameters
    ----------
    engine : Engine
        The database to migrate.
    revision : str
        Target revision, ``head`` by default.
    """
    from alembic import command  # imported here: only opening a database needs it
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except Exception as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise StoreError(f"cannot open or migrate database {where}: {exc}".splitlines()[0]) from exc
