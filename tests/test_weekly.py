from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from loadmon.models.load import WEEK_LOAD_COLUMNS, weekly_load_table
from loadmon.models.log import local_dates
from loadmon.models.rules import default_rules

RULES = default_rules()


def frame(rows: list[tuple[str, str, str, str, float | None, float]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["athlete", "tz", "start_utc", "kind", "distance_m",
                                     "duration_s"])
    df["start_utc"] = pd.to_datetime(df["start_utc"], utc=True)
    df["shoe"] = None
    df["surface"] = None
    return df


def test_sunday_late_run_stays_in_its_local_week() -> None:
    # 23:30 on Sunday 2026-03-08 in Berlin is 22:30 UTC; in Auckland the same UTC instant
    # is already Monday morning of the next ISO week.
    weeks = weekly_load_table(frame([
        ("berlin", "Europe/Berlin", "2026-03-08T22:30:00Z", "run", 10000, 3600),
        ("auckland", "Pacific/Auckland", "2026-03-08T22:30:00Z", "run", 10000, 3600),
    ]), None, None, RULES)
    got = dict(zip(weeks["athlete"], weeks["week"], strict=True))
    assert got == {"berlin": "2026-W10", "auckland": "2026-W11"}


def test_daylight_saving_change_moves_no_session_between_days() -> None:
    # Berlin leaves summer time in the night of 2026-10-25: 00:30 local before and
    # after the change are 22:30 and 23:30 UTC of the previous day.
    f = frame([("a", "Europe/Berlin", "2026-10-24T22:30:00Z", "run", 5000, 1800),
               ("a", "Europe/Berlin", "2026-10-25T23:30:00Z", "run", 5000, 1800)])
    assert [d.date() for d in local_dates(f)] == [date(2026, 10, 25), date(2026, 10, 26)]


def test_totals_and_rest_weeks() -> None:
    weeks = weekly_load_table(frame([
        ("a", "UTC", "2026-03-02T07:00:00Z", "run", 8000, 2700),
        ("a", "UTC", "2026-03-04T07:00:00Z", "run", 12000, 4000),
        ("a", "UTC", "2026-03-05T18:00:00Z", "cross", 30000, 3600),
        ("a", "UTC", "2026-03-06T18:00:00Z", "strength", None, 1800),
        ("a", "UTC", "2026-03-23T07:00:00Z", "run", 5000, 1500),
    ]), None, None, RULES)
    assert list(weeks.columns) == list(WEEK_LOAD_COLUMNS)
    assert list(weeks["week"]) == ["2026-W10", "2026-W11", "2026-W12", "2026-W13"]
    first = weeks.iloc[0]
    assert first["run_km"] == pytest.approx(20.0)
    assert first["long_run_km"] == pytest.approx(12.0)
    assert (first["runs"], first["strength_sessions"]) == (2, 1)
    assert first["cross_min"] == pytest.approx(60.0)
    assert first["week_start"] == date(2026, 3, 2)
    assert weeks.iloc[1:3][["run_km", "runs", "load_au"]].to_numpy().sum() == 0
    assert weeks.iloc[3]["ramp_pct"] != weeks.iloc[3]["ramp_pct"]  # NaN after 0 km weeks


def test_empty_log() -> None:
    assert weekly_load_table(frame([]), None, None, RULES).empty
