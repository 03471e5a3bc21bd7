from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from loadmon.store import Conflict, NotFound, Store, resolve_url
from loadmon.store.engine import create_store_engine, migrate
from loadmon.store.schema import Base
from loadmon.types import InvalidValue, PainEntry, Session

from .conftest import PG_ENV, reset_postgres

T0 = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)


def run(start: datetime = T0, km: float = 10.0, **kw: object) -> Session:
    kw.setdefault("source", "fit")
    return Session(start_utc=start, duration_s=km * 330, kind="run", distance_m=km * 1000, **kw)


def test_migrations_match_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert diff == []
    assert version == "0004"


def test_a_log_made_before_rule_overrides_upgrades_and_keeps_its_rows(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = create_store_engine(url)
    migrate(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO athletes (name, tz, created_utc) "
                          "VALUES ('Ann', 'UTC', '2026-01-01 00:00:00')"))
    engine.dispose()
    store = Store.open(url)  # migrates to the newest revision
    try:
        assert [a.name for a in store.athletes()] == ["Ann"]
        store.set_rule_override("Ann", "spike", "caution_pct", "15.0")
        store.set_rule_override("Ann", "spike", "caution_pct", "12.5")  # replaces
        store.set_rule_override("Ann", "spike", "window_days", "28")
        assert store.rule_overrides("Ann") == {
            "spike": {"caution_pct": "12.5", "window_days": "28"}}
        assert store.unset_rule_override("Ann", "spike", "window_days")
        assert not store.unset_rule_override("Ann", "spike", "window_days")
        assert store.rule_overrides("Ann") == {"spike": {"caution_pct": "12.5"}}
    finally:
        store.close()


def test_sqlite_file_uses_wal(tmp_path) -> None:
    s = Store.open(str(tmp_path / "x.sqlite"))
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    s.close()


def test_default_url_is_sqlite_in_the_user_data_dir(tmp_path) -> None:
    url = resolve_url(None)
    assert url == f"sqlite:///{tmp_path / 'userdata' / 'loadmon.sqlite'}"
    assert resolve_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"


def test_default_athlete_is_created_once(store: Store) -> None:
    a = store.athlete()
    assert a.name == "me"
    assert store.athlete(None) == a
    assert [x.name for x in store.athletes()] == ["me"]


def test_duplicate_athlete_name_is_refused(store: Store) -> None:
    store.add_athlete("Ann", "Europe/Berlin")
    with pytest.raises(Conflict, match="already exists"):
        store.add_athlete("Ann", "UTC")
    with pytest.raises(InvalidValue, match="IANA"):
        store.add_athlete("Bob", "Mars/Olympus")
    with pytest.raises(NotFound, match="unknown athlete 'Zed'"):
        store.athlete("Zed")


def test_timestamps_come_back_as_utc(store: Store) -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2026, 3, 29, 2, 30, tzinfo=ZoneInfo("America/New_York"))
    store.add_sessions(None, [run(local.astimezone(UTC))])
    (got,) = store.sessions()
    assert got.start_utc == local
    assert got.start_utc.utcoffset() == timedelta(0)
    frame = store.sessions_frame()
    assert str(frame["start_utc"].dt.tz) == "UTC"


def _late_values_log(store: Store) -> None:
    """1,100 strength sessions (no distance, shoe, surface, cadence), then three runs."""
    store.add_shoe(None, "Peg")
    store.add_sessions(None, [
        Session(T0 + timedelta(hours=3 * i), 1800, "strength", source="manual")
        for i in range(1100)
    ])
    store.add_sessions(None, [
        run(T0 + timedelta(hours=3 * i), 6 + i % 3, shoe="Peg", surface="trail",
            cadence_spm=170.0 + i % 3)
        for i in range(1100, 1103)
    ])


def test_columns_null_in_the_first_thousand_rows_are_read(store: Store) -> None:
    # The ADBC SQLite driver types a column from its first batch (1,024 rows by default).
    _late_values_log(store)
    frame = store.sessions_frame()
    assert len(frame) == 1103
    assert frame["start_utc"].is_monotonic_increasing
    assert frame["kind"].iloc[:1100].eq("strength").all()
    assert frame["distance_m"].iloc[:1100].isna().all()
    assert frame["distance_m"].iloc[1100:].tolist() == [8000.0, 6000.0, 7000.0]
    assert frame["shoe"].iloc[1100:].tolist() == ["Peg"] * 3
    assert frame["shoe"].iloc[:1100].isna().all()
    assert frame["surface"].iloc[1100:].tolist() == ["trail"] * 3
    assert frame["cadence_spm"].dtype == "float64"
    assert frame["cadence_spm"].iloc[1100:].tolist() == [172.0, 170.0, 171.0]
    assert frame["stance_time_ms"].dtype == "float64"  # NULL throughout: NaN
    assert frame["stance_time_ms"].isna().all()
    assert frame["kind"].dtype == "category"  # text: codes into sorted names
    assert frame["kind"].cat.categories.tolist() == ["run", "strength"]
    assert frame["notes"].isna().all() and frame["notes"].dtype == "category"


def test_sessions_frame_is_in_athlete_name_then_start_order(store: Store) -> None:
    for name in ("Zed", "Ann"):  # Zed gets the smaller id
        store.add_athlete(name, "UTC")
    later, earlier = T0 + timedelta(days=1), T0
    store.add_sessions("Zed", [run(later, 5), run(earlier, 6)])
    store.add_sessions("Ann", [run(later, 7), Session(later, 600, "strength", source="manual"),
                               run(earlier, 8)])
    frame = store.sessions_frame()
    assert frame["athlete"].tolist() == ["Ann", "Ann", "Ann", "Zed", "Zed"]
    # same start: stored order (the run was added first)
    assert frame["kind"].tolist() == ["run", "run", "strength", "run", "run"]
    assert frame["distance_m"].tolist()[:2] == [8000.0, 7000.0]
    assert frame["distance_m"].tolist()[3:] == [6000.0, 5000.0]
    only = store.sessions_frame(["Zed"], columns=["distance_m"])
    assert list(only.columns) == ["athlete", "tz", "shoe", "distance_m"]
    assert only["distance_m"].tolist() == [6000.0, 5000.0]
    assert only["athlete"].cat.categories.tolist() == ["Zed"]  # no other athlete listed


def test_sessions_frame_is_the_same_on_sqlite_and_postgresql(tmp_path) -> None:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set (.ci/run starts PostgreSQL and sets it)")
    reset_postgres(url)
    frames = []
    for where in (f"sqlite:///{tmp_path / 'log.sqlite'}", url):
        s = Store.open(where)
        try:
            _late_values_log(s)
            frames.append(s.sessions_frame())
        finally:
            s.close()
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_shoe_mileage_counts_runs_and_start_km(store: Store) -> None:
    store.add_shoe(None, "Peg", "Pegasus 40", start_km=100)
    store.add_sessions(None, [run(shoe="Peg"), run(T0 + timedelta(days=1), 5, shoe="Peg")])
    store.add_sessions(None, [Session(T0 + timedelta(days=2), 3600, "cross", 30000,
                                      source="manual")])
    (shoe,) = store.shoes()
    assert shoe.distance_km == pytest.approx(115.0)
    assert shoe.runs == 2
    with pytest.raises(Conflict):
        store.add_shoe(None, "Peg")
    assert store.retire_shoe(None, "Peg").retired
    with pytest.raises(NotFound):
        store.retire_shoe(None, "Nope")


def test_unknown_shoe_stores_nothing(store: Store) -> None:
    with pytest.raises(InvalidValue, match="unknown shoe 'Ghost'"):
        store.add_sessions(None, [run(), run(T0 + timedelta(days=1), shoe="Ghost")])
    assert store.sessions() == []


def test_future_session_and_pain_are_refused(store: Store) -> None:
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    with pytest.raises(InvalidValue, match="future"):
        store.add_sessions(None, [run(now + timedelta(hours=2))], now=now)
    with pytest.raises(InvalidValue, match="future"):
        store.add_pain(None, PainEntry(date(2026, 3, 3), 2), now=now)
    assert store.sessions() == [] and store.pain() == []


def test_same_checksum_is_a_duplicate(store: Store) -> None:
    first = store.add_sessions(None, [run(), run(T0 + timedelta(hours=2))], checksum="abc")
    again = store.add_sessions(None, [run(), run(T0 + timedelta(hours=2))], checksum="abc")
    assert (first.added, first.duplicates) == (2, 0)
    assert (again.added, again.duplicates) == (0, 2)
    assert store.has_source(None, "abc") and not store.has_source(None, "abd")


def test_same_activity_from_another_device_file_is_a_duplicate(store: Store) -> None:
    store.add_sessions(None, [run()], checksum="fit-bytes")
    gpx_copy = run(T0 + timedelta(seconds=20), source="gpx")
    assert store.add_sessions(None, [gpx_copy], checksum="gpx-bytes").duplicates == 1
    # A manual entry on the same morning is not a device duplicate.
    manual = run(T0 + timedelta(seconds=20), source="manual")
    assert store.add_sessions(None, [manual]).added == 1
    # Nor is another athlete's run.
    store.add_athlete("Ann", "UTC")
    assert store.add_sessions("Ann", [run()], checksum="fit-bytes").added == 1


def test_pain_entries_round_trip(store: Store) -> None:
    store.add_pain(None, PainEntry(date(2026, 3, 1), 4, "morning", "heel", "stiff"))
    store.add_pain(None, PainEntry(date(2026, 3, 2), 2.5, "after"))
    got = store.pain()
    assert [(p.date_local, p.score, p.when) for p in got] == [
        (date(2026, 3, 1), 4.0, "morning"), (date(2026, 3, 2), 2.5, "after")]
    assert got[0].notes == "stiff"


def test_database_constraints_back_the_validation(store: Store) -> None:
    from sqlalchemy.exc import IntegrityError

    who = store.athlete()
    with pytest.raises(IntegrityError, match="kind"), store.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO sessions (athlete_id, start_utc, time_known, duration_s, "
            "distance_estimated, kind, source, source_part, imported_utc) VALUES "
            f"({who.id}, '2026-01-01 00:00:00', true, 10, false, 'swim', 'x', 0, "
            "'2026-01-01 00:00:00')"
        ))
