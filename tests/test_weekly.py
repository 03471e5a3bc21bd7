from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from loadmon.models.weekly import weekly_summary


def frame(rows: list[tuple[str, str, str, str, float | None, float]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["athlete", "tz", "start_utc", "kind", "distance_m",
                                     "duration_s"])
    df["start_utc"] = pd.to_datetime(df["start_utc"], utc=True)
    return df


def test_sunday_late_run_stays_in_its_local_week() -> None:
    # 23:30 on Sunday 2026-03-08 in Berlin is 22:30 UTC; in Auckland the same UTC instant
    # is already Monday morning of the next ISO week.
    weeks = weekly_summary(frame([
        ("berlin", "Europe/Berlin", "2026-03-08T22:30:00Z", "run", 10000, 3600),
        ("auckland", "Pacific/Auckland", "2026-03-08T22:30:00Z", "run", 10000, 3600),
    ]))
    got = dict(zip(weeks["athlete"], weeks["week"], strict=True))
    assert got == {"berlin": "2026-W10", "auckland": "2026-W11"}


def test_totals_and_rest_weeks() -> None:
    weeks = weekly_summary(frame([
        ("a", "UTC", "2026-03-02T07:00:00Z", "run", 8000, 2700),
        ("a", "UTC", "2026-03-04T07:00:00Z", "run", 12000, 4000),
        ("a", "UTC", "2026-03-05T18:00:00Z", "cross", 30000, 3600),
        ("a", "UTC", "2026-03-06T18:00:00Z", "strength", None, 1800),
        ("a", "UTC", "2026-03-23T07:00:00Z", "run", 5000, 1500),
    ]))
    assert list(weeks["week"]) == ["2026-W10", "2026-W11", "2026-W12", "2026-W13"]
    first = weeks.iloc[0]
    assert first["run_km"] == pytest.approx(20.0)
    assert first["long_run_km"] == pytest.approx(12.0)
    assert (first["runs"], first["strength_sessions"], first["sessions"]) == (2, 1, 4)
    assert first["cross_min"] == pytest.approx(60.0)
    assert first["week_start"] == date(2026, 3, 2)
    assert weeks.iloc[1:3][["run_km", "runs", "sessions"]].to_numpy().sum() == 0


def test_empty_log() -> None:
    assert weekly_summary(frame([])).empty
