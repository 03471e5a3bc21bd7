"""Shared fixtures: a store on every backend, the real-data folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from loadmon.store import Store, resolve_url

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
ACTIVITIES = SHARED_DATA / "activities"
PG_ENV = "LOADMON_TEST_PG_URL"

needs_shared = pytest.mark.skipif(
    not ACTIVITIES.is_dir(),
    reason=f"real data folder {SHARED_DATA} is absent (a user's clone); CI always has it",
)


def reset_postgres(url: str) -> None:
    """Empty the PostgreSQL database at `url` (drop and recreate its public schema)."""
    engine = create_engine(resolve_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database: a SQLite file, and PostgreSQL when configured."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'log.sqlite'}"
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set (.ci/run starts PostgreSQL and sets it)")
    reset_postgres(url)
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An opened, migrated, empty store on every backend."""
    s = Store.open(db_url)
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the real user data or config folder or a LOADMON_DB of whoever runs tests."""
    monkeypatch.setenv("LOADMON_DATA_DIR", str(tmp_path / "userdata"))
    monkeypatch.setenv("LOADMON_CONFIG_DIR", str(tmp_path / "userconfig"))
    monkeypatch.delenv("LOADMON_DB", raising=False)
    monkeypatch.delenv("LOADMON_ATHLETE", raising=False)
