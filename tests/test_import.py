from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from loadmon.cli import cli
from loadmon.importer import import_paths
from loadmon.io import sources
from loadmon.store import Store

from .conftest import ACTIVITIES, needs_shared

FIXTURES = Path(__file__).parent / "fixtures" / "activities"
GPX = FIXTURES / "garmin_connect_run.gpx"
STRAVA_GPX = FIXTURES / "strava_run.gpx"
TCX = FIXTURES / "garmin_run.tcx"
TRI = FIXTURES / "garmin_triathlon_multisport.tcx"
STRAVA_CSV = FIXTURES / "strava_activities.csv"


def statuses(summary) -> dict[str, str]:
    return {Path(f.file.split(":")[-1]).name: f.status for f in summary.files}


def test_folder_import_is_recursive_and_idempotent(store: Store, tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "run.gpx").write_bytes(GPX.read_bytes())
    (tmp_path / "a" / "b" / "run.tcx.gz").write_bytes(gzip.compress(TCX.read_bytes()))
    (tmp_path / "a" / "b" / "notes.txt").write_text("not an activity")
    first = import_paths(store, [tmp_path / "a"])
    assert (first.count("imported"), first.count("failed")) == (2, 0)
    assert first.sessions_added == 2
    again = import_paths(store, [tmp_path / "a"])
    assert again.count("duplicate") == 2 and again.sessions_added == 0
    # The same bytes under another name are still the same activity.
    (tmp_path / "renamed.gpx").write_bytes(GPX.read_bytes())
    assert import_paths(store, [tmp_path / "renamed.gpx"]).count("duplicate") == 1
    assert len(store.sessions()) == 2


def test_multisport_file_gives_one_session_per_leg(store: Store) -> None:
    summary = import_paths(store, [TRI])
    assert summary.count("imported") == 1
    kinds = [(s.kind, s.sport) for s in store.sessions()]
    assert ("run", "running") in kinds
    assert all(sport != "transition" for _, sport in kinds)
    assert len(kinds) >= 3 and sum(k == "cross" for k, _ in kinds) >= 2


def make_strava_zip(path: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("activities.csv", STRAVA_CSV.read_bytes())
        # Filenames named by the fixture's activities.csv, with real content.
        for act in sources.read_strava_activities(STRAVA_CSV.read_bytes()):
            if act.filename and act.filename.endswith(".gpx.gz"):
                zf.writestr(act.filename, gzip.compress(STRAVA_GPX.read_bytes()))
            elif act.filename and act.filename.endswith(".tcx.gz"):
                zf.writestr(act.filename, gzip.compress(TCX.read_bytes()))
            elif act.filename and act.filename.endswith(".gpx"):
                zf.writestr(act.filename, GPX.read_bytes())
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def test_strava_export_zip(store: Store, tmp_path: Path) -> None:
    export = make_strava_zip(tmp_path / "export.zip")
    summary = import_paths(store, [export])
    assert summary.count("failed") == 0, summary.as_dict()
    acts = sources.read_strava_activities(STRAVA_CSV.read_bytes())
    in_zip = set(zipfile.ZipFile(export).namelist())
    manual = [a for a in acts if not a.filename]
    with_file = [a for a in acts if a.filename in in_zip]
    assert summary.count("imported") + summary.count("duplicate") == len(manual) + len(with_file)
    got = store.sessions()
    assert any(s.source == "strava_csv" for s in got)
    # Gear named by Strava becomes a shoe of the log.
    gear = {a.session.shoe for a in manual + with_file if a.session and a.session.shoe}
    assert gear
    assert gear <= {s.name for s in store.shoes()}
    assert import_paths(store, [export]).sessions_added == 0


def test_zip_with_path_traversal_is_refused_whole(store: Store, tmp_path: Path) -> None:
    export = make_strava_zip(tmp_path / "evil.zip", {"../../etc/x.gpx": GPX.read_bytes()})
    summary = import_paths(store, [export])
    (only,) = summary.files
    assert only.status == "failed" and "unsafe entry '../../etc/x.gpx'" in only.reason
    assert store.sessions() == []
    abs_zip = tmp_path / "abs.zip"
    with zipfile.ZipFile(abs_zip, "w") as zf:
        zf.writestr("/tmp/x.gpx", GPX.read_bytes())
    assert "unsafe entry" in import_paths(store, [abs_zip]).files[0].reason


def test_bad_files_fail_alone_with_a_reason(store: Store, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "junk.fit").write_bytes(b"\x00\x01binary junk")
    (tmp_path / "half.gpx").write_bytes(GPX.read_bytes()[: len(GPX.read_bytes()) // 2])
    (tmp_path / "broken.tcx.gz").write_bytes(b"\x1f\x8b not really gzip")
    (tmp_path / "good.gpx").write_bytes(GPX.read_bytes())
    (tmp_path / "notazip.zip").write_bytes(b"PK but not")
    summary = import_paths(store, [tmp_path, tmp_path / "missing.fit", tmp_path / "x.docx"])
    got = {Path(f.file).name: (f.status, f.reason) for f in summary.files}
    assert got["good.gpx"][0] == "imported"
    for name in ("junk.fit", "half.gpx", "broken.tcx.gz", "notazip.zip", "missing.fit",
                 "x.docx"):
        status, reason = got[name]
        assert status == "failed" and reason and "\n" not in reason, (name, reason)
    assert len(store.sessions()) == 1
    monkeypatch.setattr(sources, "MAX_FILE_BYTES", 1000)
    (tmp_path / "big.gpx").write_bytes(GPX.read_bytes())
    big = import_paths(store, [tmp_path / "big.gpx"]).files[0]
    assert big.status == "failed" and "limit" in big.reason


def test_gzip_bomb_is_bounded(store: Store, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "MAX_FILE_BYTES", 1 << 20)
    (tmp_path / "bomb.gpx.gz").write_bytes(gzip.compress(b" " * (8 << 20)))
    (outcome,) = import_paths(store, [tmp_path / "bomb.gpx.gz"]).files
    assert outcome.status == "failed" and "limit" in outcome.reason


@needs_shared
def test_cli_imports_the_shared_activities_as_documented(tmp_path: Path) -> None:
    table = {r["file"]: r for r in json.loads((ACTIVITIES / "fit_summary.json").read_text())}
    db = f"sqlite:///{tmp_path / 'log.sqlite'}"
    r = CliRunner().invoke(cli, ["--db", db, "import", str(ACTIVITIES), "--json"])
    assert r.exit_code == 1  # some files are deliberately broken
    summary = json.loads(r.output)
    by_name = {Path(f["file"]).name: f for f in summary["files"]}
    importable = {n for n, row in table.items() if row["outcome"].startswith("imports")}
    for name in table:
        got = by_name[name]
        if name not in importable:
            assert got["status"] == "failed" and got["reason"], got
        elif got["status"] == "duplicate":
            # activity-settings.fit holds Activity.fit's activity (same device and start)
            # behind a settings file: one activity, counted once.
            twin = got["reason"].removeprefix("same activity as ")
            assert Path(twin).name in importable - {name}, got
        else:
            assert got["status"] == "imported", got
    # Distances and durations as in the README table: within 0.5 %, or its 0.1 rounding.
    log = json.loads(CliRunner().invoke(cli, ["--db", db, "log", "list", "--last", "100",
                                              "--json"]).output)
    for name, row in table.items():
        if not row["outcome"].startswith("imports"):
            continue
        start = row["start_utc"].replace(" ", "T")
        match = [s for s in log if s["start_utc"].startswith(start)]
        assert match, name
        assert match[0]["distance_m"] == pytest.approx(row["distance_m"], rel=5e-3, abs=0.05)
        assert match[0]["duration_s"] == pytest.approx(row["duration_s"], rel=5e-3, abs=0.05)
    again = CliRunner().invoke(cli, ["--db", db, "import", str(ACTIVITIES), "--json"])
    assert json.loads(again.output)["sessions_added"] == 0


def test_import_json_summary_and_exit_code(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'log.sqlite'}"
    r = CliRunner().invoke(cli, ["--db", db, "import", str(GPX), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert (data["imported"], data["duplicates"], data["failed"]) == (1, 0, 0)
    r = CliRunner().invoke(cli, ["--db", db, "import", str(GPX)])
    assert "imported 0 files (0 sessions), 1 duplicates, 0 failed" in r.output
