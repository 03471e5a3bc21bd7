from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadmon.cli import cli
from loadmon.models.check import PlannedRun, check_run
from loadmon.models.flags import evaluate
from tests.test_models_rules import MONDAY, RULES, frame, session, steady, varied

TZ = "Europe/Berlin"
SHOES = pd.DataFrame([{"athlete": "ann", "name": "Peg", "start_km": 300.0, "retire_km": 650.0,
                       "retired": False}])


def check(rows: list[dict], km: float, days: int = 8 * 7 + 1, **kw: object):
    planned = PlannedRun("ann", MONDAY + timedelta(days=days), km, **kw)  # type: ignore[arg-type]
    return check_run(frame(rows), None, SHOES, RULES, planned, TZ)


def test_a_planned_run_over_the_ceiling_would_raise_the_spike() -> None:
    rows = steady(8)  # longest run of the month: 12 km
    ok = check(rows, 13.2)
    assert ok.flags == []
    assert (ok.longest.rule, ok.longest.km, ok.longest.inclusive) == (
        "spike", pytest.approx(13.2), True)
    too_long = check(rows, 15.0)
    assert [(f.rule, f.severity) for f in too_long.flags] == [("spike", "caution")]


def test_surface_and_shoe_limits() -> None:
    rows = steady(8)  # 36 km a week on road in Peg: 300 + 288 km
    result = check(rows, 10.0, surface="trail", shoe="Peg")
    assert any("no run on trail" in n for n in result.notes)
    shoe = next(lim for lim in result.limits if lim.rule == "shoe_wear")
    assert shoe.km == pytest.approx(650 - 588) and not shoe.inclusive
    assert result.longest.rule == "spike"  # 13.2 km comes before 62 km
    worn = SHOES.assign(start_km=400.0)
    planned = PlannedRun("ann", MONDAY + timedelta(days=57), 10.0, shoe="Peg")
    result = check_run(frame(rows), None, worn, RULES, planned, TZ)
    assert any("already past its limit" in n for n in result.notes)
    assert [lim.rule for lim in result.limits] == ["spike"]


def test_a_new_log_has_no_limit_and_says_why() -> None:
    result = check(steady(2), 30.0, days=15)
    assert result.flags == [] and result.longest is None
    assert any("not enough history" in n for n in result.notes)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(weeks=st.integers(min_value=5, max_value=9), surface=st.sampled_from(["road", "trail"]),
       shoe=st.sampled_from(["Peg", "Nova"]))
def test_the_limit_is_exact_against_the_rules(weeks: int, surface: str, shoe: str) -> None:
    """At the limit no flag; just past it, the limiting rule's flag, as `evaluate` sees it."""
    rows = varied(weeks)
    result = check(rows, 5.0, days=weeks * 7 + 1, surface=surface, shoe=shoe)
    lim = result.longest
    assert lim is not None
    at = lim.km if lim.inclusive else lim.km - 0.01
    for km, expected in ((at, set()), (lim.km + 0.01, {lim.rule})):
        planned = check(rows, km, days=weeks * 7 + 1, surface=surface, shoe=shoe)
        if expected:
            assert {f.rule for f in planned.flags} >= expected
        else:
            assert planned.flags == []
        # logging the run gives the same flags on its day
        day = MONDAY + timedelta(days=weeks * 7 + 1)
        logged = evaluate(frame([*rows, session(day, km, shoe=shoe, surface=surface,
                                                at="12:00")]), None, SHOES, RULES, as_of=day)
        same_day = {f.rule for f in logged
                    if f.date == day and f.rule in {"spike", "surface_spike", "shoe_wear"}}
        assert {f.rule for f in planned.flags} <= same_day


def test_cli_check_text_and_json(db_url: str, tmp_path: Path) -> None:
    def loadmon(*args: str):
        r = CliRunner().invoke(cli, ["--db", db_url, *args], catch_exceptions=False)
        assert r.exit_code == 0, r.output
        return r.output

    loadmon("demo", "--json")
    out = json.loads(loadmon("check", "-a", "Alex", "--distance", "30", "--date", "2026-11-24",
                             "--surface", "road", "--shoe", "Pegasus", "--json"))
    assert [f["rule"] for f in out["flags"]] == ["spike"]
    assert out["longest_km"] < 30 and out["limits"][0]["km"] == out["longest_km"]
    text = loadmon("check", "-a", "Alex", "--distance", f"{out['longest_km']:.2f}km",
                   "--date", "2026-11-24")
    assert "no spike, surface or shoe flag" in text and "longest without a flag" in text
    r = CliRunner().invoke(cli, ["--db", db_url, "check", "-a", "Alex", "--distance", "10",
                                 "--shoe", "Nope"])
    assert r.exit_code == 1 and "no shoe called 'Nope'" in r.output
