from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from loadmon.cli import cli
from loadmon.models.load import WEEK_LOAD_COLUMNS


@pytest.fixture
def loadmon(db_url: str):
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(cli, ["--db", db_url, *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


def test_manual_entries_and_weekly_summary(loadmon) -> None:
    loadmon("athlete", "add", "Ann", "--tz", "Europe/Berlin")
    loadmon("shoes", "add", "Peg", "--model", "Pegasus 40", "--start-km", "100", "-a", "Ann")
    loadmon("log", "add", "run", "--date", "2026-03-02", "--distance", "10km",
            "--duration", "55", "--shoe", "Peg", "--surface", "road", "--rpe", "5", "-a", "Ann")
    loadmon("log", "add", "run", "--date", "2026-03-04T07:00", "--distance", "6.2mi",
            "--duration", "1:00:00", "--shoe", "Peg", "-a", "Ann")
    loadmon("log", "add", "strength", "--date", "2026-03-05", "--duration", "30", "-a", "Ann")
    loadmon("pain", "3", "--date", "2026-03-05", "--when", "morning", "-a", "Ann")
    shoes = json.loads(loadmon("shoes", "list", "-a", "Ann", "--json").output)
    assert shoes[0]["distance_km"] == pytest.approx(100 + 10 + 9.977933, abs=1e-3)
    weeks = json.loads(loadmon("week", "-a", "Ann", "--json", "--as-of", "2026-03-08").output)
    assert len(weeks) == 1
    w = weeks[0]
    assert list(w) == list(WEEK_LOAD_COLUMNS)
    assert {k: w[k] for k in ("athlete", "week", "week_start", "runs", "strength_sessions",
                              "main_shoe", "worst_morning_pain")} == {
        "athlete": "Ann", "week": "2026-W10", "week_start": "2026-03-02", "runs": 2,
        "strength_sessions": 1, "main_shoe": "Peg", "worst_morning_pain": 3.0,
    }
    assert w["run_km"] == pytest.approx(19.978, abs=1e-3)
    assert w["long_run_km"] == pytest.approx(10.0)
    # 55 min x RPE 5 logged; 60 min run and 30 min strength at the default RPEs 4 and 5
    assert w["load_au"] == pytest.approx(55 * 5 + 60 * 4 + 30 * 5)
    assert w["assumed_load_au"] == pytest.approx(60 * 4 + 30 * 5)
    assert w["surface_road_pct"] == pytest.approx(100.0)
    assert w["ramp_pct"] is None and w["acwr_ewma"] is None  # no week before it
    # The default athlete is separate and empty.
    assert json.loads(loadmon("week", "--json", "--as-of", "2026-03-08").output) == []
    assert loadmon("week").output.strip() == (
        "me: nothing logged yet (loadmon log add, loadmon import)")


@pytest.mark.parametrize(("args", "message"), [
    (["log", "add", "run", "--distance", "10 parsecs"], "unknown unit 'parsecs'"),
    (["log", "add", "run", "--distance", "-5"], "must not be negative"),
    (["log", "add", "run", "--duration", "-5"], "must not be negative"),
    (["log", "add", "run", "--rpe", "12"], "rpe: must be between 0 and 10"),
    (["log", "add", "run", "--shoe", "Ghost"], "unknown shoe 'Ghost'"),
    (["log", "add", "run", "--date", "2999-01-01"], "is in the future"),
    (["pain", "11"], "between 0 and 10"),
    (["pain", "2", "--date", "2999-01-01"], "is in the future"),
    (["log", "add", "run", "--athlete", "Nobody"], "unknown athlete 'Nobody'"),
])
def test_bad_entries_fail_with_one_line_and_store_nothing(loadmon, args, message) -> None:
    result = loadmon(*args, ok=False)
    assert result.exit_code == 1
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert json.loads(loadmon("log", "list", "--json").output) == []


def test_duplicate_athlete_is_an_error(loadmon) -> None:
    loadmon("athlete", "add", "Ann", "--tz", "UTC")
    result = loadmon("athlete", "add", "Ann", ok=False)
    assert result.exit_code == 1 and "already exists" in result.output


def test_log_csv_export_import_round_trip(loadmon, tmp_path: Path, db_url: str) -> None:
    src = tmp_path / "mine.csv"
    src.write_text(
        "date,kind,distance_km,duration_min,shoe,surface,rpe,notes\n"
        "2026-03-01,run,10.5,58.5,Peg,road,5,\"easy, windy\"\n"
        "2026-03-02T18:00:00+01:00,cross,,45,,,4,spin class\n"
        "2026-03-03,strength,,30,,,6,\n",
        encoding="utf-8",
    )
    bad = loadmon("log", "import", str(src), ok=False)
    assert "unknown shoe 'Peg'" in bad.output and "--add-shoes" in bad.output
    assert "added 3 sessions" in loadmon("log", "import", str(src), "--add-shoes").output
    assert "added 0 sessions, 3 already" in loadmon("log", "import", str(src)).output
    out = tmp_path / "out.csv"
    loadmon("log", "export", str(out))

    other = CliRunner()
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    r = other.invoke(cli, ["--db", fresh, "log", "import", str(out), "--add-shoes"])
    assert r.exit_code == 0, r.output
    out2 = tmp_path / "out2.csv"
    r = other.invoke(cli, ["--db", fresh, "log", "export", str(out2)])
    assert r.exit_code == 0, r.output
    assert out2.read_bytes() == out.read_bytes()
    assert "easy, windy" in out.read_text()


def test_log_import_bad_file_names_it(loadmon, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("date,kind,distance\n2026-03-01,run,10\n")
    r = loadmon("log", "import", str(bad), ok=False)
    assert r.exit_code == 1
    assert str(bad) in r.output and "distance_km or distance_mi" in r.output
    r = loadmon("log", "import", str(tmp_path / "missing.csv"), ok=False)
    assert "cannot read" in r.output


def test_demo_builds_a_log_and_prints_weeks(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite"
    r = CliRunner().invoke(cli, ["--db", str(db), "demo", "--json"])
    assert r.exit_code == 0, r.output
    weeks = json.loads(r.output)
    assert len(weeks) == 16
    assert all(w["athlete"] == "Alex" for w in weeks)
    assert all(w["runs"] >= 3 for w in weeks)
    # Running it again on the same database adds nothing.
    again = json.loads(CliRunner().invoke(cli, ["--db", str(db), "demo", "--json"]).output)
    assert again == weeks


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for args in (["--help"], ["import", "--help"], ["log", "add", "--help"],
                 ["log", "import", "--help"], ["log", "export", "--help"], ["shoes", "--help"],
                 ["pain", "--help"], ["athlete", "--help"], ["week", "--help"],
                 ["demo", "--help"]):
        r = runner.invoke(cli, args)
        assert r.exit_code == 0 and "Usage:" in r.output
