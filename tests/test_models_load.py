"""Session load, ACWR, fitness / fatigue / form, monotony and the weekly load table."""

from __future__ import annotations

import math
import statistics
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadmon.models.flags import evaluate, fitness_text, pain_frame
from loadmon.models.load import (
    DAILY_LOAD_COLUMNS,
    WEEK_LOAD_COLUMNS,
    daily_load,
    default_rpe,
    session_loads,
    weekly_load_table,
)
from loadmon.models.rules import default_rules
from loadmon.types import PainEntry

RULES = default_rules()
MONDAY = date(2026, 1, 5)
TZ = "Europe/Berlin"


def session(day: date, minutes: float, kind: str = "run", rpe: float | None = 5.0,
            km: float | None = None, shoe: str | None = None, surface: str | None = None,
            at: str = "07:00", athlete: str = "ann") -> dict:
    local = pd.Timestamp(f"{day.isoformat()}T{at}").tz_localize(TZ)
    return {
        "athlete": athlete, "tz": TZ, "shoe": shoe, "start_utc": local.tz_convert("UTC"),
        "kind": kind, "distance_m": None if km is None else km * 1000.0,
        "duration_s": minutes * 60.0, "surface": surface, "rpe": rpe,
    }


def frame(rows: list[dict]) -> pd.DataFrame:
    cols = ["athlete", "tz", "shoe", "start_utc", "kind", "distance_m", "duration_s",
            "surface", "rpe"]
    df = pd.DataFrame(rows, columns=cols)
    df["start_utc"] = pd.to_datetime(df["start_utc"], utc=True)
    return df


def loads(per_day: list[float], start: date = MONDAY) -> pd.DataFrame:
    """A log of one run a day of `load` AU (RPE 5, load / 5 minutes); 0 is a rest day."""
    rows = [session(start + timedelta(days=i), x / 5.0) for i, x in enumerate(per_day) if x]
    return frame(rows)


def day_of(daily: pd.DataFrame, i: int) -> pd.Series:
    return daily.iloc[i]


# --- session load -----------------------------------------------------------------------------


def test_session_load_is_minutes_times_rpe_and_assumed_rpe_is_marked() -> None:
    rows = [session(MONDAY, 60, rpe=6.0), session(MONDAY, 30, kind="strength", rpe=None),
            session(MONDAY + timedelta(days=1), 40, kind="cross", rpe=0.0)]
    got = session_loads(frame(rows))
    assert got["load_au"].tolist() == [360.0, 30 * default_rpe()["strength"], 0.0]
    assert got["rpe_assumed"].tolist() == [False, True, False]  # a logged 0 is not assumed
    assert default_rpe() == {"run": 4.0, "cross": 3.0, "strength": 5.0}
    daily = daily_load(frame(rows), RULES)
    assert list(daily.columns) == list(DAILY_LOAD_COLUMNS)
    first = daily.iloc[0]
    assert (first.load_au, first.assumed_load_au, first.sessions, first.assumed_sessions) == (
        510.0, 150.0, 2, 1)


def test_without_an_rpe_column_every_load_is_assumed() -> None:
    got = session_loads(frame([session(MONDAY, 50, rpe=None)]).drop(columns="rpe"))
    assert got["rpe_assumed"].all() and got["load_au"].iloc[0] == 200.0


def test_the_day_index_is_complete_and_rest_days_are_zero() -> None:
    daily = daily_load(loads([100, 0, 0, 50]), RULES, until=MONDAY + timedelta(days=6))
    assert daily["day"].dt.date.tolist() == [MONDAY + timedelta(days=i) for i in range(7)]
    assert daily["load_au"].tolist() == [100.0, 0.0, 0.0, 50.0, 0.0, 0.0, 0.0]
    assert daily["history_days"].tolist() == list(range(7))


def test_a_session_at_2330_local_on_sunday_is_that_sundays_load() -> None:
    sunday = MONDAY + timedelta(days=6)
    daily = daily_load(frame([session(MONDAY, 10), session(sunday, 20, at="23:30")]), RULES)
    assert daily.iloc[-1]["day"].date() == sunday and daily.iloc[-1]["load_au"] == 100.0


# --- ACWR ---------------------------------------------------------------------------------------


def test_acwr_ewma_by_hand() -> None:
    # One 300 AU day, then rest: both averages start from zero and decay.
    daily = daily_load(loads([300]), RULES, until=MONDAY + timedelta(days=27))
    la, lc = 2 / 8, 2 / 29
    assert day_of(daily, 0).acute_ewma_au == pytest.approx(75.0)
    assert day_of(daily, 0).chronic_ewma_au == pytest.approx(300 * lc)
    assert day_of(daily, 1).acute_ewma_au == pytest.approx(56.25)
    assert daily["acwr_ewma"].iloc[:27].isna().all()  # the chronic window is not covered yet
    expected = (la * 0.75 ** 27) / (lc * (1 - lc) ** 27)
    assert day_of(daily, 27).acwr_ewma == pytest.approx(expected)


def test_acwr_ewma_of_a_constant_load_tends_to_one() -> None:
    daily = daily_load(loads([100.0] * 200), RULES)
    assert daily["acwr_ewma"].iloc[-1] == pytest.approx(1.0, abs=1e-6)


def test_acwr_uncoupled_by_hand() -> None:
    # 21 days at 100 AU, then 7 at 200: acute mean 200 / chronic mean (the 21 days before) 100.
    daily = daily_load(loads([100.0] * 21 + [200.0] * 7), RULES)
    assert math.isnan(day_of(daily, 26).acwr_uncoupled)
    last = day_of(daily, 27)
    assert (last.acute_mean_au, last.chronic_mean_au) == (200.0, 100.0)
    assert last.acwr_uncoupled == 2.0
    # A chronic window of rest: the ratio is undefined, not infinite.
    rest = daily_load(loads([100.0] + [0.0] * 20 + [50.0] * 7)[1:], RULES,
                      until=MONDAY + timedelta(days=30))
    assert not np.isinf(rest["acwr_uncoupled"]).any()


# --- fitness, fatigue, form ---------------------------------------------------------------------


def test_ctl_atl_tsb_by_hand() -> None:
    daily = daily_load(loads([100.0] * 10), RULES)
    assert day_of(daily, 0).fitness_au == pytest.approx(100 / 42)
    assert day_of(daily, 0).fatigue_au == pytest.approx(100 / 7)
    assert day_of(daily, 0).form_au == pytest.approx(100 / 42 - 100 / 7)
    assert day_of(daily, 9).fitness_au == pytest.approx(100 * (1 - (41 / 42) ** 10))
    assert day_of(daily, 9).fatigue_au == pytest.approx(100 * (1 - (6 / 7) ** 10))
    text = fitness_text(40.0, 55.0, -15.0, RULES["fitness"])
    assert "Fitness 40, fatigue 55, form -15" in text and "not an injury warning" in text


# --- monotony and strain ------------------------------------------------------------------------


def test_monotony_and_strain_by_hand() -> None:
    week = [100.0, 0.0, 100.0, 0.0, 100.0, 0.0, 100.0]
    daily = daily_load(loads(week), RULES)
    expected = statistics.mean(week) / statistics.stdev(week)
    assert daily["monotony"].iloc[:6].isna().all()
    assert day_of(daily, 6).monotony == pytest.approx(expected)  # 1.069
    assert day_of(daily, 6).week_load_au == pytest.approx(400.0)
    assert day_of(daily, 6).strain_au == pytest.approx(400.0 * expected)


@pytest.mark.parametrize("per_day", [[100.0] * 7, [100.0] + [0.0] * 7])
def test_a_week_of_equal_loads_has_undefined_monotony_not_infinite(per_day: list[float]) -> None:
    # Seven equal days (then: seven rest days after one session): the SD is 0.
    daily = daily_load(loads(per_day), RULES, until=MONDAY + timedelta(days=len(per_day) - 1))
    last = daily.iloc[-1]
    assert math.isnan(last.monotony) and math.isnan(last.strain_au)
    assert not np.isinf(daily["monotony"]).any()
    assert [f for f in evaluate(loads([100.0] * 21), None, None, RULES)
            if f.rule == "monotony"] == []


@pytest.mark.parametrize(("week", "severity"), [
    ([100.0, 100.0, 100.0, 100.0, 30.0, 30.0, 30.0], "caution"),  # 70 / 37.4 = 1.87
    ([100.0] * 6 + [20.0], "high"),                                # 88.6 / 30.2 = 2.93
    ([100.0] * 5 + [0.0, 0.0], None),                              # 1.46
])
def test_monotony_flag_tiers(week: list[float], severity: str | None) -> None:
    found = [f for f in evaluate(loads(week * 2), None, None, RULES) if f.rule == "monotony"]
    if severity is None:
        assert found == []
        return
    # Two equal weeks are one episode: one flag, on the Sunday of its highest week.
    assert [(f.severity, f.date) for f in found] == [(severity, MONDAY + timedelta(days=6))]
    expected = statistics.mean(week) / statistics.stdev(week)
    assert found[0].value == pytest.approx(expected)
    assert f"{expected:.1f}" in found[0].message


# --- ACWR is context, never an alarm ------------------------------------------------------------


def test_acwr_flag_is_information_with_the_bands_labelled_as_heuristics() -> None:
    found = [f for f in evaluate(loads([50.0] * 28 + [150.0] * 7), None, None, RULES)
             if f.rule == "acwr"]
    assert len(found) == 1 and found[0].severity == "info"
    assert found[0].date == MONDAY + timedelta(days=34)
    assert found[0].threshold == 1.5 and found[0].value > 1.5
    assert "team-sport heuristics" in found[0].message and "above 1.5" in found[0].message
    assert "not an alarm" in found[0].message


def test_steady_load_raises_no_acwr_or_fitness_flag() -> None:
    found = evaluate(loads([60.0, 0.0, 60.0, 0.0, 60.0, 80.0, 0.0] * 10), None, None, RULES)
    assert {f.rule for f in found} & {"acwr", "fitness", "monotony"} == set()


# --- the weekly table ---------------------------------------------------------------------------


def test_weekly_table_columns_totals_and_ramp() -> None:
    w2, w4 = MONDAY + timedelta(weeks=1), MONDAY + timedelta(weeks=3)
    rows = [
        session(MONDAY, 60, km=10, shoe="Peg", surface="road"),
        session(MONDAY + timedelta(days=2), 120, km=20, shoe="Peg", surface="trail"),
        session(MONDAY + timedelta(days=6), 30, km=6, shoe="Nova", surface="road", at="23:30"),
        session(MONDAY + timedelta(days=3), 30, kind="strength", rpe=None),
        session(MONDAY + timedelta(days=4), 45, kind="cross", rpe=3.0),
        session(w2, 60, km=12, shoe="Peg", surface="road"),
        session(w2 + timedelta(days=2), 150, km=30, shoe="Peg", surface="road"),
        session(w4, 60, km=10, shoe="Peg", surface="road"),
    ]
    pain = pain_frame({"ann": [PainEntry(MONDAY, 2.0, "morning"),
                               PainEntry(MONDAY + timedelta(days=3), 4.0, "morning"),
                               PainEntry(MONDAY + timedelta(days=4), 7.0, "during")]})
    table = weekly_load_table(frame(rows), pain, None, RULES)
    assert list(table.columns) == list(WEEK_LOAD_COLUMNS)
    assert table["week"].tolist() == ["2026-W02", "2026-W03", "2026-W04", "2026-W05"]
    first, second, rest, fourth = (table.iloc[i] for i in range(4))
    assert (first.run_km, first.runs, first.long_run_km) == (36.0, 3, 20.0)
    assert (first.strength_sessions, first.cross_min) == (1, 45.0)
    assert first.load_au == 60 * 5 + 120 * 5 + 30 * 5 + 30 * 5.0 + 45 * 3
    assert first.assumed_load_au == 150.0
    assert math.isnan(first.ramp_pct)
    assert second.ramp_pct == pytest.approx(42 / 36 * 100 - 100)
    assert rest.run_km == 0 and rest.ramp_pct == -100.0
    assert math.isnan(fourth.ramp_pct)  # after a week of 0 km there is no base
    assert first.surface_road_pct == pytest.approx(16 / 36 * 100)
    assert first.surface_trail_pct == pytest.approx(20 / 36 * 100)
    assert first.surface_grass_pct == 0.0 and math.isnan(rest.surface_road_pct)
    assert (first.main_shoe, first.main_shoe_pct) == ("Peg", pytest.approx(200 / 3))
    assert (second.main_shoe, second.main_shoe_pct) == ("Peg", 100.0)
    assert first.worst_morning_pain == 4.0 and math.isnan(second.worst_morning_pain)
    # Values at week end are the daily models on the week's last day.
    daily = daily_load(frame(rows), RULES)
    sunday = daily[daily["day"] == pd.Timestamp(MONDAY + timedelta(days=6))].iloc[0]
    assert first.fitness_au == sunday.fitness_au and first.monotony == sunday.monotony


def test_weekly_table_as_of_and_empty_log() -> None:
    rows = [session(MONDAY + timedelta(days=d), 60, km=10) for d in range(0, 21, 2)]
    table = weekly_load_table(frame(rows), None, None, RULES, as_of=MONDAY + timedelta(days=9))
    assert table["week"].tolist() == ["2026-W02", "2026-W03"]
    assert table.iloc[-1].run_km == 10.0  # day 8 only: day 10 is after as_of
    assert weekly_load_table(frame([]), None, None, RULES).empty


def test_athletes_never_share_a_window() -> None:
    amy = [session(MONDAY - timedelta(days=d), 100, athlete="amy") for d in range(1, 40)]
    zoe = [session(MONDAY + timedelta(days=d), 30, athlete="zoe") for d in range(10)]
    daily = daily_load(frame(amy + zoe), RULES)
    z = daily[daily["athlete"] == "zoe"]
    alone = daily_load(frame(zoe), RULES)
    cols = ["acute_ewma_au", "fitness_au", "monotony", "acwr_uncoupled"]
    pd.testing.assert_frame_equal(z[cols].reset_index(drop=True), alone[cols])


# --- properties -------------------------------------------------------------------------------


@st.composite
def logs(draw: st.DrawFn) -> list[dict]:
    n = draw(st.integers(min_value=1, max_value=60))
    gaps = draw(st.lists(st.integers(min_value=0, max_value=4), min_size=n, max_size=n))
    mins = draw(st.lists(st.integers(min_value=10, max_value=180), min_size=n, max_size=n))
    kinds = draw(st.lists(st.sampled_from(["run", "cross", "strength"]), min_size=n, max_size=n))
    rpes = draw(st.lists(st.one_of(st.none(), st.integers(min_value=1, max_value=10)),
                         min_size=n, max_size=n))
    rows, day = [], MONDAY
    for gap, m, kind, rpe in zip(gaps, mins, kinds, rpes, strict=True):
        day += timedelta(days=gap)
        rows.append(session(day, m, kind=kind, rpe=None if rpe is None else float(rpe)))
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=logs(), factor=st.floats(min_value=0.05, max_value=20.0))
def test_scaling_durations_scales_loads_but_not_acwr_or_monotony(
    rows: list[dict], factor: float
) -> None:
    until = MONDAY + timedelta(days=300)
    before = daily_load(frame(rows), RULES, until=until)
    after = daily_load(frame([{**r, "duration_s": r["duration_s"] * factor} for r in rows]),
                       RULES, until=until)
    for col in ("load_au", "acute_ewma_au", "chronic_ewma_au", "fitness_au", "fatigue_au",
                "week_load_au", "strain_au"):
        np.testing.assert_allclose(after[col], before[col] * factor, rtol=1e-9, atol=1e-9)
    for col in ("acwr_ewma", "acwr_uncoupled", "monotony"):
        np.testing.assert_allclose(after[col], before[col], rtol=1e-7, atol=1e-12)
