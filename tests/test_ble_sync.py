"""``loadmon sync``: sync folders (a watch's GARMIN/Activity), BLE recordings, the config file."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from loadmon.ble import codecs as c
from loadmon.ble.rawlog import in_progress, read_meta
from loadmon.ble.recorder import Recorder, decode_log
from loadmon.ble.sync import add_folder, config_path, remove_folder, sync_folders
from loadmon.cli import cli
from loadmon.signal.synthetic import synthesize
from tests.conftest import ACTIVITIES

needs_activities = pytest.mark.skipif(
    not ACTIVITIES.is_dir(),
    reason=f"real FIT files {ACTIVITIES} are absent (a user's clone); CI always has them",
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    paths = {"data": tmp_path / "data", "config": tmp_path / "config",
             "db": tmp_path / "log.sqlite"}
    monkeypatch.setenv("LOADMON_DATA_DIR", str(paths["data"]))
    monkeypatch.setenv("LOADMON_CONFIG_DIR", str(paths["config"]))
    monkeypatch.setenv("LOADMON_DB", f"sqlite:///{paths['db']}")
    return paths


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["sync", *args], catch_exceptions=False)


def as_json(res: Result) -> dict:
    return json.loads(res.stdout)


def test_folder_list_is_kept_in_the_config_file(env: dict[str, Path], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    watch = tmp_path / "GARMIN" / "Activity"
    monkeypatch.chdir(tmp_path)
    assert sync_folders() == []
    assert add_folder("GARMIN/Activity") == (watch, True)  # stored absolute
    assert add_folder(watch) == (watch, False)
    phone = tmp_path / "phone"
    add_folder(phone)
    assert json.loads(config_path().read_text()) == {"version": 1,
                                                     "folders": [str(watch), str(phone)]}
    assert config_path().parent == env["config"]
    assert remove_folder(watch) == (watch, True) and remove_folder(watch) == (watch, False)
    assert sync_folders() == [phone]
    config_path().write_text("{not json")
    res = run("--list-folders")
    assert res.exit_code == 1 and "not a readable sync configuration" in res.output


@needs_activities
def test_sync_folders_twice_second_adds_nothing(env: dict[str, Path], tmp_path: Path) -> None:
    watch = tmp_path / "usb" / "GARMIN" / "Activity"
    watch.mkdir(parents=True)
    for name in ("garmin-fenix-5-run.fit", "2013-02-06-12-11-14.fit", "Activity.fit"):
        shutil.copy(ACTIVITIES / name, watch / name)
    # the same activity under a second name, and a file cut short
    shutil.copy(ACTIVITIES / "activity-settings.fit", watch / "copy-of-activity.fit")
    shutil.copy(ACTIVITIES / "activity-unexpected-eof.fit", watch / "broken.fit")
    (watch / "notes.txt").write_text("not an activity")
    unplugged = tmp_path / "other-watch" / "GARMIN" / "Activity"

    res = run("--add-folder", str(watch), "--add-folder", str(unplugged))
    assert res.exit_code == 1, res.output  # the broken file failed
    assert "not there now" in res.stderr
    assert "is not there (device not plugged in?)" in res.stderr
    line = res.stdout.strip()
    assert line.startswith("sync: 0 recordings imported, 3 files imported (3 sessions), "
                           "1 duplicate, 1 failed (broken.fit: "), line
    assert line.endswith("1 folder not found"), line
    assert len(line.splitlines()) == 1

    again = run("--json")
    assert again.exit_code == 1
    doc = as_json(again)
    assert doc["files"]["imported"] == 0 and doc["files"]["sessions_added"] == 0
    assert doc["files"]["duplicates"] == 4 and doc["files"]["failed"] == 1
    assert {f["file"].split("/")[-1]: f["status"] for f in doc["files"]["files"]} == {
        "garmin-fenix-5-run.fit": "duplicate", "2013-02-06-12-11-14.fit": "duplicate",
        "Activity.fit": "duplicate", "copy-of-activity.fit": "duplicate",
        "broken.fit": "failed"}
    assert doc["folders"] == [{"path": str(watch), "found": True},
                              {"path": str(unplugged), "found": False}]

    from loadmon.store import Store

    store = Store.open(f"sqlite:///{env['db']}")
    try:
        sessions = store.sessions()
    finally:
        store.close()
    assert len(sessions) == 3
    assert sorted(round(s.distance_m or 0) for s in sessions) == [6, 158, 4835]

    # the watch is unplugged and the folder forgotten: nothing else changes
    res = run("--remove-folder", str(unplugged), "--list-folders")
    assert res.exit_code == 0 and res.stdout.strip() == str(watch)


def _record(path: Path, monkeypatch: pytest.MonkeyPatch, *, days_ago: int = 1,
            athlete: str | None = None, close: bool = True) -> Recorder:
    """A 30 s recording of a foot accelerometer (no pod), made `days_ago`, without Bluetooth."""
    from loadmon.ble import recorder

    class Then(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Then:
            return cls.fromtimestamp(datetime.now(UTC).timestamp() - days_ago * 86400, tz)

    monkeypatch.setattr(recorder, "datetime", Then)
    now = [500.0]
    r = Recorder(path, clock=lambda: now[0], flush_every_s=0.5,
                 meta={"athlete": athlete, "shoe": None, "surface": "road", "rpe": 6.0})
    rec, _truth = synthesize("foot", duration_s=30.0, fs_hz=52.0, seed=5, clip_range_g=16.0)
    mg = np.clip(np.round(rec.acc_g * 1000), -16000, 16000).astype(np.int64)
    ch = r.add_channel("pmd_acc", "AA:01", "Polar Sense")
    r.event(ch, "pmd_start", rate_hz=52, range_g=16, factor=1.0)
    on_acc = r.callback(ch)
    for i in range(0, len(mg), 36):
        chunk = mg[i : i + 36]
        now[0] += len(chunk) / 52
        on_acc(None, bytearray(c.encode_acc_frame(chunk, 10**12 + round((i + len(chunk) - 1)
                                                                          * 1e9 / 52))))
        r.drain()
    if close:
        r.close()
    return r


def test_sync_recordings_estimates_distance_and_skips_one_in_progress(
        env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    folder = env["data"] / "ble"
    _record(folder / "20250101T070000Z-aaaaaa.lmble", monkeypatch, days_ago=2)
    growing = _record(folder / "20250102T070000Z-bbbbbb.lmble", monkeypatch, close=False)
    assert in_progress(growing.path) and not in_progress(folder / "20250101T070000Z-aaaaaa.lmble")
    assert read_meta(growing.path)["rpe"] == 6.0

    doc = as_json(run("--json"))
    assert doc["recordings"]["imported"] == 1 and doc["recordings"]["skipped"] == 1
    assert any("still being recorded" in n for n in doc["notes"])
    growing.close()
    res = run()
    assert res.stdout == "sync: 1 recording imported, 0 files imported (0 sessions), " \
                         "1 duplicate, 0 failed\n"
    assert as_json(run("--json"))["recordings"]["duplicates"] == 2

    from loadmon.store import Store

    store = Store.open(f"sqlite:///{env['db']}")
    try:
        sessions = store.sessions()
    finally:
        store.close()
    assert len(sessions) == 2
    steps = sum(x.steps for x in decode_log(growing.path).summaries.values())
    assert 70 <= steps <= 95  # 30 s at about 170 steps/min, less the rest at both ends
    for s in sessions:
        # no pod, no height, no run with a known distance: steps x the population default, 1 m
        assert s.distance_estimated and s.distance_m == pytest.approx(steps * 1.0)
        assert s.rpe == 6.0 and s.surface == "road" and s.source == "ble"


def test_recording_for_an_unknown_athlete_fails_with_its_reason(
        env: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _record(env["data"] / "ble" / "20250101T070000Z-cccccc.lmble", monkeypatch, athlete="Ann")
    res = run()
    assert res.exit_code == 1
    assert "1 failed (20250101T070000Z-cccccc.lmble: unknown athlete 'Ann'" in res.stdout
