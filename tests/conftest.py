"""Shared fixtures: a store on every backend, the real-data folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


def traced_in_child(setup: str, code: str) -> dict:
    """Run `setup` then `code` in a fresh interpreter; return what `code` leaves in ``out``.

    ``out`` is a dict `code` fills; ``out["peak"]`` is set to the peak of the
    memory `code` allocated (bytes, tracemalloc; what `setup`, the imports,
    holds is not counted). In CPython 3.11 ``tracemalloc.start()`` and
    ``stop()`` race with native threads' raw allocations (gh-128679, fixed in
    3.12.9 and 3.13.2), and a test session has such threads (pyarrow's pool, a
    database driver's): a child traces from its start, before it has any, and
    never stops. Once it has printed ``out`` it leaves without tearing the
    interpreter down: pyarrow's thread pool can abort a process at exit after
    its work is done ("terminate called without an active exception",
    apache/arrow#34314; seen once here in CI).
    """
    script = (
        f"import json, os, sys, tracemalloc\ntracemalloc.start()\n{setup}\n"
        "base = tracemalloc.get_traced_memory()[0]\ntracemalloc.reset_peak()\nout = {}\n"
        f"{code}\n"
        "out['peak'] = tracemalloc.get_traced_memory()[1] - base\nprint(json.dumps(out))\n"
        "sys.stdout.flush()\nos._exit(0)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


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
