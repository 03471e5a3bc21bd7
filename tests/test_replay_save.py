"""``loadmon replay --save``: the session, the raw Parquet file, idempotence, all or nothing,
the estimated distance and the athlete's height."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from loadmon import replay as replay_service
from loadmon.cli import cli
from loadmon.distance import (
    POPULATION_STEP_M,
    RUN_STEP_PER_HEIGHT,
    calibrated_step_length,
    step_length,
)
from loadmon.io.exporters import read_recording
from loadmon.io.rawfiles import (
    ParquetRecordingWriter,
    content_checksum,
    read_parquet_recording,
    recording_path,
)
from loadmon.store import Store, StoreError, data_dir
from loadmon.store.engine import create_store_engine, migrate
from loadmon.types import InvalidValue, Session
from tests.test_io_exporters import FIXTURES

GENERIC = FIXTURES / "generic_epoch_ms.csv"  # clock: 2024-05-01 10:00:00 UTC, 6.58 s
SENSORLOGGER = FIXTURES / "sensorlogger_2024-05-01_12-00-00.zip"  # with a gyroscope
PHYPHOX = FIXTURES / "phyphox_acceleration_with_g.csv"  # no clock: dated by mtime


@pytest.fixture
def loadmon(db_url: str):
    runner = CliRunner()

    def invoke(*args: object, ok: bool = True):
        result = runner.invoke(cli, ["--db", db_url, *map(str, args)])
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


def _recordings() -> list[Path]:
    folder = data_dir() / "recordings"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _sessions(db_url: str, athlete: str | None = None) -> list[Session]:
    store = Store.open(db_url)
    try:
        return store.sessions(athlete)
    finally:
        store.close()


# --------------------------------------------------------------------------- saving


def test_save_stores_the_session_and_the_raw_samples(loadmon, db_url: str) -> None:
    loadmon("athlete", "add", "Ann", "--tz", "Europe/Berlin")
    loadmon("shoes", "add", "Peg", "-a", "Ann")
    result = loadmon("replay", SENSORLOGGER, "-p", "foot", "--save", "-a", "Ann", "--shoe", "Peg",
                     "--surface", "trail", "--distance-km", "0.012", "--rpe", "6", "--json")
    doc = json.loads(result.stdout)
    checksum = content_checksum(SENSORLOGGER)
    parquet = recording_path(data_dir(), checksum)
    assert result.stderr.splitlines()[-1] == (
        f"{SENSORLOGGER}: saved to the log of Ann: run of 2024-05-01 12:00 (Europe/Berlin), "
        f"0.01 km; raw samples in {parquet}")
    [s] = _sessions(db_url, "Ann")
    assert (s.kind, s.source, s.sport, s.shoe, s.surface, s.rpe) == (
        "run", "replay", "running", "Peg", "trail", 6.0)
    assert s.start_utc == datetime(2024, 5, 1, 10, 0, tzinfo=UTC) and s.time_known
    assert s.duration_s == pytest.approx(doc["duration_s"])
    assert s.cadence_spm == pytest.approx(doc["summary"]["cadence_spm"], abs=0.01)
    assert s.stance_time_ms == pytest.approx(doc["summary"]["contact_ms_median"], abs=0.01)
    assert s.impact_g == pytest.approx(doc["summary"]["impact_g_median"], abs=0.01)
    assert s.distance_m == pytest.approx(12.0) and not s.distance_estimated
    assert s.step_length_m == pytest.approx(12.0 / doc["summary"]["steps"])
    assert s.recording == f"recordings/{checksum}.parquet"
    assert _recordings() == [parquet] and (data_dir() / s.recording) == parquet
    # the Parquet file holds the samples the detector read, with their metadata
    table, meta = read_parquet_recording(parquet)
    rec, _, _ = read_recording(SENSORLOGGER, "foot")
    assert table.column_names == ["t_s", "ax_g", "ay_g", "az_g", "gx_dps", "gy_dps", "gz_dps"]
    np.testing.assert_array_equal(table["t_s"].to_numpy(), rec.t_s)
    np.testing.assert_array_equal(
        np.column_stack([table[c].to_numpy() for c in ("ax_g", "ay_g", "az_g")]), rec.acc_g)
    assert rec.gyro_dps is not None
    np.testing.assert_array_equal(table["gz_dps"].to_numpy(), rec.gyro_dps[:, 2])
    assert meta == {"source_file": SENSORLOGGER.name, "fs_hz": "100.0", "placement": "foot",
                    "format": "sensorlogger", "units": "m/s2",
                    "start_utc": "2024-05-01T10:00:00+00:00"}


def test_saving_the_same_file_twice_stores_it_once(loadmon, db_url: str, tmp_path: Path) -> None:
    copy = shutil.copy(GENERIC, tmp_path / "renamed.csv")  # same bytes, another name
    loadmon("replay", GENERIC, "-p", "foot", "--save")
    again = loadmon("replay", copy, "-p", "foot", "--save")
    assert f"already in the log of me (as {Path(copy).name}): nothing saved" in again.stdout
    assert "contacts      6" in again.stdout  # the replay itself is shown
    assert len(_sessions(db_url)) == 1 and len(_recordings()) == 1
    # another athlete may save it: one raw file, two sessions
    loadmon("athlete", "add", "Bob")
    loadmon("replay", GENERIC, "-p", "foot", "--save", "-a", "Bob")
    assert len(_sessions(db_url, "Bob")) == 1 and len(_recordings()) == 1


def test_streamed_save_writes_the_same_parquet(
    loadmon, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replay_service, "STREAM_FROM_BYTES", 0)
    loadmon("replay", GENERIC, "-p", "foot", "--save", "--live", "--speed", "1000")
    [s] = _sessions(db_url)
    table, meta = read_parquet_recording(data_dir() / (s.recording or ""))
    rec, _, _ = read_recording(GENERIC, "foot")
    np.testing.assert_array_equal(table["t_s"].to_numpy(), rec.t_s)
    assert table.num_rows == len(rec.t_s) and meta["format"] == "generic"


def test_start_without_a_clock_is_the_files_date(loadmon, db_url: str, tmp_path: Path) -> None:
    path = Path(shutil.copy(PHYPHOX, tmp_path / "morning.csv"))
    ended = datetime(2024, 3, 9, 23, 30, tzinfo=UTC).timestamp()  # 00:30 on the 10th in Berlin
    os.utime(path, (ended, ended))
    loadmon("athlete", "add", "Ann", "--tz", "Europe/Berlin")
    out = loadmon("replay", path, "-p", "foot", "--save", "-a", "Ann").stdout
    assert "run of 2024-03-10 (start time unknown: dated by the file's modification time)" in out
    [s] = _sessions(db_url, "Ann")
    assert not s.time_known
    assert s.start_utc == datetime(2024, 3, 9, 23, 0, tzinfo=UTC)  # local midnight of the 10th
    # another clockless file of the same day is another run, not a duplicate
    other = tmp_path / "evening.csv"
    other.write_text(path.read_text().replace("E-1", "E-01", 1))
    os.utime(other, (ended, ended))
    loadmon("replay", other, "-p", "foot", "--save", "-a", "Ann")
    assert len(_sessions(db_url, "Ann")) == 2


def test_session_start_from_the_clock_or_the_date() -> None:
    from zoneinfo import ZoneInfo

    clock = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert replay_service.session_start(clock, 0.0, 60.0, ZoneInfo("UTC")) == (clock, True)
    mtime = datetime(2024, 5, 2, 0, 20, tzinfo=UTC).timestamp()
    start, known = replay_service.session_start(None, mtime, 3600.0, ZoneInfo("UTC"))
    assert (start, known) == (datetime(2024, 5, 1, tzinfo=UTC), False)  # began the day before


# --------------------------------------------------------------------------- all or nothing


def test_unknown_shoe_or_athlete_fails_before_the_work(loadmon, db_url: str) -> None:
    result = loadmon("replay", GENERIC, "-p", "foot", "--save", "--shoe", "Nope", ok=False)
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: me has no shoe called 'Nope' (add it with: " \
                                    "loadmon shoes add)"
    result = loadmon("replay", GENERIC, "-p", "foot", "--save", "-a", "Zed", ok=False)
    assert result.exit_code == 1 and "unknown athlete 'Zed'" in result.stderr
    assert _sessions(db_url) == [] and _recordings() == []


def test_failed_store_leaves_no_parquet(
    loadmon, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args, **_kwargs):
        raise StoreError("database error: disk full")

    monkeypatch.setattr(Store, "add_sessions", fail)
    result = loadmon("replay", GENERIC, "-p", "foot", "--save", ok=False)
    assert result.exit_code == 1 and result.stderr == "Error: database error: disk full\n"
    assert _recordings() == [] and not list((data_dir() / "recordings").glob(".tmp-*"))
    monkeypatch.undo()
    assert _sessions(db_url) == []


def test_failure_while_reading_leaves_nothing(
    loadmon, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # a file whose second half is broken: the failure comes after samples were written
    lines = GENERIC.read_text().splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([*lines, *lines[1:50]]) + "\n")  # the clock jumps back
    result = loadmon("replay", bad, "-p", "foot", "--save", ok=False)
    assert result.exit_code == 1 and "time goes back" in result.stderr
    monkeypatch.setattr(replay_service, "STREAM_FROM_BYTES", 0)  # streamed: fails mid-way

    real = replay_service.replay

    def interrupted(*args, **kwargs):
        def boom(*_a, **_k):
            raise KeyboardInterrupt

        kwargs["on_update"] = boom  # after the first slice was written to the Parquet file
        return real(*args, **kwargs)

    monkeypatch.setattr(replay_service, "replay", interrupted)
    result = loadmon("replay", GENERIC, "-p", "foot", "--save", ok=False)
    assert result.exit_code == 1 and "interrupted; nothing half-written was kept" in result.stderr
    assert _sessions(db_url) == [] and _recordings() == []
    assert not list((data_dir() / "recordings").glob("*"))


def test_parquet_writer_commit_and_abort(tmp_path: Path) -> None:
    target = tmp_path / "recordings" / ("ab" * 32 + ".parquet")
    t = np.arange(5) / 100
    acc = np.ones((5, 3))
    with ParquetRecordingWriter(target.parent, {"source_file": "x.csv"}) as writer:
        writer.start(100.0, has_gyro=False, placement="hip", side=None)
        writer.write(t, acc, None)
        writer.write(t + 1, acc, None)
        assert writer.commit(target)
    table, meta = read_parquet_recording(target)
    assert table.num_rows == 10 and meta == {"source_file": "x.csv", "fs_hz": "100.0",
                                             "placement": "hip"}
    with ParquetRecordingWriter(target.parent, {}) as writer:  # same content again: kept once
        writer.start(100.0, has_gyro=False)
        writer.write(t, acc, None)
        assert not writer.commit(target)
    with ParquetRecordingWriter(target.parent, {}) as writer:
        writer.start(100.0, has_gyro=True)
        with pytest.raises(ValueError, match="gyroscope"):
            writer.write(t, acc, None)
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temp left
    with pytest.raises(ValueError, match="SHA-256"):
        recording_path(tmp_path, "../../etc/passwd")


def test_content_checksum_of_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(b"t_s\n")
    import hashlib

    assert content_checksum(tmp_path / "a.csv") == hashlib.sha256(b"t_s\n").hexdigest()
    folder_sum = content_checksum(tmp_path)
    (tmp_path / "meta.json").write_text("{}")
    assert content_checksum(tmp_path) != folder_sum


# --------------------------------------------------------------------------- distance


def _runs(rows: list[tuple[str, float | None, bool, float | None, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["start_utc", "distance_m", "distance_estimated",
                                       "cadence_spm", "duration_s"]).assign(kind="run")


def test_calibrated_step_length_is_the_median_of_recent_measured_runs() -> None:
    rows = [(f"2024-01-{d:02d}T07:00:00Z", 10_000.0, False, 170.0, 3000.0 + 30 * d)
            for d in range(1, 16)]
    rows += [("2024-02-01T07:00:00Z", 10_000.0, True, 170.0, 3000.0),  # estimated: not used
             ("2024-02-02T07:00:00Z", 10_000.0, False, None, 3000.0),  # no cadence
             ("2024-02-03T07:00:00Z", 100_000.0, False, 170.0, 3000.0)]  # implausible: 11.8 m
    got = calibrated_step_length(_runs(rows))
    assert got is not None and got.basis == "calibrated" and got.runs == 10
    recent = [10_000.0 / (170.0 * (3000.0 + 30 * d) / 60) for d in range(6, 16)]
    assert got.m == pytest.approx(float(np.median(recent)))
    assert calibrated_step_length(_runs(rows[15:])) is None
    assert step_length(_runs([]), None).m == POPULATION_STEP_M
    assert step_length(_runs([]), 180.0).m == pytest.approx(RUN_STEP_PER_HEIGHT * 1.8)
    assert step_length(_runs(rows), 180.0).basis == "calibrated"


def test_estimated_distance_population_height_then_calibrated(loadmon, db_url: str) -> None:
    out = loadmon("replay", GENERIC, "-p", "foot", "--save").stdout
    [s] = _sessions(db_url)
    assert s.distance_estimated and s.distance_m == pytest.approx(12 * POPULATION_STEP_M)
    assert s.step_length_m is None
    assert "0.01 km estimated from the steps, step length 1.00 m, the population default " \
           "(no height known: loadmon athlete set NAME --height-cm CM)" in out

    loadmon("athlete", "add", "Tall", "--height-cm", "190")
    out = loadmon("replay", GENERIC, "-p", "foot", "--save", "-a", "Tall").stdout
    [s] = _sessions(db_url, "Tall")
    assert s.distance_m == pytest.approx(12 * RUN_STEP_PER_HEIGHT * 1.9)
    assert "a default for a height of 190 cm (0.57 x height)" in out

    # a run with a known distance and cadence calibrates the next estimate
    store = Store.open(db_url)
    try:
        store.add_sessions("Tall", [Session(
            start_utc=datetime(2024, 4, 1, 7, tzinfo=UTC), duration_s=3000.0, kind="run",
            distance_m=10_000.0, cadence_spm=160.0, source="manual")])
    finally:
        store.close()
    twin = loadmon("replay", SENSORLOGGER, "-p", "foot", "--save", "-a", "Tall").stdout
    assert "already in the log of Tall (as generic_epoch_ms.csv): nothing saved" in twin  # 10:00
    out = loadmon("replay", PHYPHOX, "-p", "foot", "--save", "-a", "Tall").stdout
    step = 10_000.0 / (160.0 * 50.0)
    assert f"step length {step:.2f} m, calibrated from 1 run with a known distance" in out
    assert _sessions(db_url, "Tall")[-1].distance_m == pytest.approx(12 * step)


def test_save_options_need_save() -> None:
    result = CliRunner().invoke(cli, ["replay", str(GENERIC), "-p", "foot", "--shoe", "Peg",
                                      "--rpe", "5"])
    assert result.exit_code == 2 and "--shoe, --rpe apply to --save only" in result.stderr


# --------------------------------------------------------------------------- height


def test_athlete_height_set_and_read(loadmon, store: Store) -> None:
    loadmon("athlete", "add", "Ann", "--height-cm", "168.5", "--tz", "UTC")
    loadmon("athlete", "set", "me", "--height-cm", "181")
    doc = json.loads(loadmon("athlete", "list", "--json").stdout)
    assert doc == [{"name": "Ann", "tz": "UTC", "height_cm": 168.5},
                   {"name": "me", "tz": doc[1]["tz"], "height_cm": 181.0}]
    bad = loadmon("athlete", "set", "Ann", "--height-cm", "17.8", ok=False)
    assert bad.exit_code == 1 and "height_cm: must be between 50 and 260 cm" in bad.stderr
    assert loadmon("athlete", "set", "Ann", ok=False).exit_code == 2
    assert store.set_athlete_height("Ann", None).height_cm is None
    with pytest.raises(InvalidValue, match="height_cm"):
        store.add_athlete("Kid", height_cm=float("nan"))


def test_a_log_before_heights_upgrades(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = create_store_engine(url)
    migrate(engine, "0002")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO athletes (name, tz, created_utc) "
                          "VALUES ('Ann', 'UTC', '2026-01-01 00:00:00')"))
    engine.dispose()
    store = Store.open(url)
    try:
        assert store.athlete("Ann").height_cm is None
        assert store.set_athlete_height("Ann", 170).height_cm == 170.0
    finally:
        store.close()
