from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from loadmon.cli import cli
from loadmon.importer import import_log_csv
from loadmon.store import Store
from loadmon.types import PainEntry

MONDAY = date(2026, 1, 5)
LONG_RUN = MONDAY + timedelta(weeks=8, days=6)
NOW = "2026-03-20"


def log_csv(weeks: int = 10) -> str:
    """Tue / Thu / Sat 8 km and a Sunday long run of 12 km; one 15 km long run in week 9."""
    lines = ["date,kind,distance_km,duration_min,shoe,surface,rpe,notes"]
    for w in range(weeks):
        monday = MONDAY + timedelta(weeks=w)
        for d in (1, 3, 5, 6):
            day = monday + timedelta(days=d)
            km = 15.0 if day == LONG_RUN else (12.0 if d == 6 else 8.0)
            when = f"{day.isoformat()}T23:30" if d == 6 else day.isoformat()
            lines.append(f"{when},run,{km},{km * 6:.0f},Peg,road,5,")
        lines.append(f"{monday.isoformat()},strength,,40,,,6,")
    return "\n".join(lines) + "\n"


@pytest.fixture
def seeded(db_url: str, tmp_path: Path) -> str:
    store = Store.open(db_url)
    try:
        store.add_athlete("ann", "America/Los_Angeles")
        store.add_shoe("ann", "Peg", start_km=400.0, retire_km=650.0)
        path = tmp_path / "log.csv"
        path.write_text(log_csv())
        import_log_csv(store, path, "ann")
        d = MONDAY + timedelta(weeks=9)
        for i, score in enumerate([2, 3, 4]):
            store.add_pain("ann", PainEntry(d + timedelta(days=i), score))
        store.add_athlete("bob", "Europe/Berlin")
    finally:
        store.close()
    return db_url


def run(db_url: str, *args: str, ok: bool = True):
    result = CliRunner().invoke(cli, ["--db", db_url, "flags", *args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_flags_json_newest_first_with_the_documented_keys(seeded: str) -> None:
    flags = json.loads(run(seeded, "--json", "--as-of", NOW).output)
    assert flags, "expected flags"
    for f in flags:
        assert list(f) == ["athlete", "rule", "severity", "date", "value", "threshold",
                           "message", "evidence"]
        assert f["severity"] in {"info", "caution", "high", "very_high"}
    dates = [f["date"] for f in flags]
    assert dates == sorted(dates, reverse=True)
    got = {(f["rule"], f["severity"], f["date"]) for f in flags}
    # The 15 km Sunday run at 23:30 local (Monday in UTC) is a spike on that Sunday.
    assert ("spike", "caution", LONG_RUN.isoformat()) in got
    assert ("pain", "caution", (MONDAY + timedelta(weeks=9, days=2)).isoformat()) in got
    assert ("shoe_rotation", "info", NOW) in got
    assert ("surface_mix", "info", NOW) in got
    assert ("strength", "info", NOW) in got
    spike = next(f for f in flags if f["rule"] == "spike" and f["severity"] == "caution")
    assert spike["value"] == pytest.approx(25.0) and spike["threshold"] == 10.0
    assert spike["evidence"].endswith("(moderate)")
    assert {f["athlete"] for f in flags} == {"ann"}


def test_since_and_athlete_filter(seeded: str) -> None:
    since = (MONDAY + timedelta(weeks=9)).isoformat()
    flags = json.loads(run(seeded, "--json", "--as-of", NOW, "--since", since,
                           "-a", "ann").output)
    assert flags and all(f["date"] >= since for f in flags)
    assert json.loads(run(seeded, "--json", "--as-of", NOW, "-a", "bob").output) == []


def test_shoe_wear_through_the_store(seeded: str) -> None:
    # Peg: 400 km + 10 weeks of 36 km (+3 for the long run) = 763 km: past its 650 km limit.
    flags = json.loads(run(seeded, "--json", "--as-of", NOW).output)
    wear = [f for f in flags if f["rule"] == "shoe_wear"]
    assert [(f["severity"], f["threshold"]) for f in wear] == [("caution", 650.0)]
    assert wear[0]["value"] == pytest.approx(763.0)


def test_table_output(seeded: str) -> None:
    out = run(seeded, "--as-of", NOW, "-a", "ann").output
    assert "spike" in out and "caution" in out and "Frandsen" in out
    assert run(seeded, "-a", "bob").output.strip() == "no flags"


def test_rules_file_overrides_thresholds(seeded: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[athletes.ann.spike]\ncaution_pct = 26\n")
    flags = json.loads(run(seeded, "--json", "--as-of", NOW, "--rules", str(rules)).output)
    assert not [f for f in flags if f["rule"] == "spike" and f["severity"] != "info"]


@pytest.mark.parametrize(("args", "message"), [
    (["--since", "yesterday"], "since: 'yesterday' is not an ISO date"),
    (["-a", "nobody"], "unknown athlete 'nobody'"),
])
def test_bad_arguments_are_one_line_errors(seeded: str, args: list[str], message: str) -> None:
    result = run(seeded, *args, ok=False)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_bad_rules_file_names_file_rule_and_key(seeded: str, tmp_path: Path) -> None:
    rules = tmp_path / "bad.toml"
    rules.write_text("[spike]\ncaution_pct = 'ten'\n")
    result = run(seeded, "--rules", str(rules), ok=False)
    assert result.exit_code == 1
    assert f"{rules}: [spike] caution_pct: expected a number" in result.output


def loadmon(db_url: str, *args: str, ok: bool = True):
    result = CliRunner().invoke(cli, ["--db", db_url, *args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def spike_severities(db_url: str) -> list[str]:
    flags = json.loads(run(db_url, "--json", "--as-of", NOW, "-a", "ann").output)
    return [f["severity"] for f in flags if f["rule"] == "spike" and f["severity"] != "info"]


def test_an_athletes_own_thresholds_are_stored_and_used(seeded: str) -> None:
    assert spike_severities(seeded) == ["caution"]  # 15 km vs 12 km: +25 %
    assert "spike.caution_pct = 26" in loadmon(
        seeded, "rules", "set", "spike.caution_pct", "26", "-a", "ann").output
    assert spike_severities(seeded) == []
    shown = json.loads(loadmon(seeded, "rules", "-a", "ann", "--json").output)
    assert next(r for r in shown if r["id"] == "spike")["thresholds"]["caution_pct"] == 26
    # bob keeps the defaults; a --rules file for ann goes over her stored value
    bob = json.loads(loadmon(seeded, "rules", "-a", "bob", "--json").output)
    assert next(r for r in bob if r["id"] == "spike")["thresholds"]["caution_pct"] == 10
    loadmon(seeded, "rules", "unset", "spike.caution_pct", "-a", "ann")
    assert spike_severities(seeded) == ["caution"]


@pytest.mark.parametrize(("args", "message"), [
    (["spike.caution_pct", "ten"], "[spike] caution_pct: expected a number, got 'ten'"),
    (["spike.window_days", "7.5"], "[spike] window_days: expected a whole number"),
    (["spike.message", "1"], "[spike] message: not overridable"),
    (["sprint.caution_pct", "1"], "unknown rule 'sprint'"),
    (["spike.caution_pct", "40"], "high_pct: must be above caution_pct"),
    (["spike", "1"], "expected RULE.KEY"),
])
def test_bad_own_thresholds_are_refused_and_nothing_is_stored(
        seeded: str, args: list[str], message: str) -> None:
    result = loadmon(seeded, "rules", "set", *args, "-a", "ann", ok=False)
    assert result.exit_code != 0 and message in result.output, result.output
    assert "Traceback" not in result.output
    store = Store.open(seeded)
    try:
        assert store.rule_overrides("ann") == {}
    finally:
        store.close()


def test_an_implausible_run_is_left_out_and_said_so(seeded: str) -> None:
    # 300 km (a unit slip for 30 km?) the day after the log's last run
    day = (LONG_RUN + timedelta(weeks=1, days=1)).isoformat()
    loadmon(seeded, "log", "add", "run", "--date", day, "--distance", "300km",
            "--duration", "180", "-a", "ann")
    flags = json.loads(run(seeded, "--json", "--as-of", NOW, "-a", "ann").output)
    on_day = [f for f in flags if f["date"] == day]
    assert [(f["rule"], f["severity"], f["value"]) for f in on_day] == [
        ("data_check", "info", 300.0)]
    assert "left out of the load rules" in on_day[0]["message"]
    weeks = json.loads(loadmon(seeded, "week", "--json", "--as-of", NOW, "-a", "ann").output)
    assert max(w["long_run_km"] for w in weeks) == 15.0  # the 300 km run counts nowhere
