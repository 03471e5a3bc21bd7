from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadmon.models.flags import FLAG_KEYS, Flag, evaluate, pain_frame
from loadmon.models.rules import (
    RULE_IDS,
    default_rules,
    default_rules_text,
    merge_overrides,
    parse_override_file,
    parse_rules,
)
from loadmon.types import PainEntry

RULES = default_rules()
MONDAY = date(2026, 1, 5)
SEVERE = {"caution", "high", "very_high"}


# --- building logs ----------------------------------------------------------------------------


def session(day: date, km: float | None, kind: str = "run", shoe: str | None = "Peg",
            surface: str | None = "road", at: str = "07:00", athlete: str = "ann",
            tz: str = "Europe/Berlin") -> dict:
    local = pd.Timestamp(f"{day.isoformat()}T{at}").tz_localize(tz)
    return {
        "athlete": athlete, "tz": tz, "shoe": shoe if kind == "run" else None,
        "start_utc": local.tz_convert("UTC"), "kind": kind,
        "distance_m": None if km is None else km * 1000.0,
        "duration_s": 3600.0 if km is None else km * 360.0,  # 6 min/km
        "surface": surface if kind == "run" else None,
    }


def frame(rows: list[dict]) -> pd.DataFrame:
    cols = ["athlete", "tz", "shoe", "start_utc", "kind", "distance_m", "duration_s", "surface",
            "cadence_spm"]
    df = pd.DataFrame(rows, columns=cols)
    df["start_utc"] = pd.to_datetime(df["start_utc"], utc=True)
    return df


def steady(weeks: int, start: date = MONDAY, long_km: float = 12.0, **kw) -> list[dict]:
    """Tue / Thu / Sat 8 km, Sunday long run, and strength twice a week."""
    rows = []
    for w in range(weeks):
        monday = start + timedelta(weeks=w)
        for d, km in ((1, 8.0), (3, 8.0), (5, 8.0), (6, long_km)):
            rows.append(session(monday + timedelta(days=d), km, **kw))
        rows += [session(monday + timedelta(days=d), None, kind="strength",
                         **{k: v for k, v in kw.items() if k in {"athlete", "tz"}})
                 for d in (0, 3)]
    return rows


def varied(weeks: int, **kw) -> list[dict]:
    """A steady log in two pairs of shoes on two surfaces."""
    rows = steady(weeks, **kw)
    for i, r in enumerate(x for x in rows if x["kind"] == "run"):
        r["shoe"] = ("Peg", "Nova")[i % 2]
        r["surface"] = ("road", "trail")[(i // 2) % 2]
    return rows


def flags_of(rows: list[dict], rule: str | None = None, **kw) -> list[Flag]:
    found = evaluate(frame(rows), kw.pop("pain", None), kw.pop("shoes", None),
                     kw.pop("rules", RULES), **kw)
    return [f for f in found if rule is None or f.rule == rule]


def severe(flags: list[Flag]) -> list[Flag]:
    return [f for f in flags if f.severity in SEVERE]


# --- the rules as data ------------------------------------------------------------------------


def test_every_rule_of_the_design_is_in_the_packaged_defaults() -> None:
    assert set(RULES) == set(RULE_IDS) == {
        "spike", "weekly_ramp", "acwr", "fitness", "monotony", "shoe_rotation", "shoe_wear",
        "surface_mix", "surface_spike", "strength", "pain", "pain_referral", "cadence",
        "data_check",
    }
    spike = RULES["spike"]
    assert spike.thresholds == {"window_days": 30, "caution_pct": 10.0, "high_pct": 30.0,
                                "very_high_pct": 100.0, "break_window_days": 90,
                                "min_history_days": 28}
    assert spike.strength == "moderate"
    assert "HRR 1.64 (10-30 %), 1.52 (30-100 %), 2.28 (> 100 %)" in spike.evidence
    assert RULES["weekly_ramp"]["caution_pct"] == 30.0
    assert RULES["weekly_ramp"]["min_base_km"] == 10.0
    assert "convention, not evidence" in RULES["weekly_ramp"]["convention"]
    assert RULES["monotony"].thresholds == {"window_days": 7, "caution": 1.5, "high": 2.0}
    assert (RULES["shoe_wear"]["default_limit_km"], RULES["shoe_wear"]["high_km"]) == (650, 800)
    assert RULES["surface_mix"]["share_pct"] == 80.0
    assert RULES["shoe_rotation"]["share_pct"] == 90.0
    assert RULES["strength"]["min_sessions_per_week"] == 2.0
    assert RULES["pain_referral"]["max_weeks"] == 6.0
    assert RULES["acwr"].severity == "info"
    for rule in RULES.values():
        assert rule.evidence and rule.strength and rule.title


def test_defaults_are_package_data() -> None:
    assert "[spike]" in default_rules_text()


@pytest.mark.parametrize(("text", "message"), [
    ("[spkie]\ncaution_pct = 10", "overrides.toml: unknown rule 'spkie'"),
    ("[spike]\ncaution_pc = 10", "overrides.toml: [spike] unknown key 'caution_pc'"),
    ("[spike]\ncaution_pct = 'ten'", "overrides.toml: [spike] caution_pct: expected a number"),
    ("[spike]\ncaution_pct = true", "overrides.toml: [spike] caution_pct: expected a number"),
    ("[spike]\nwindow_days = 30.5", "overrides.toml: [spike] window_days: expected a whole"),
    ("[spike]\nwindow_days = 0", "overrides.toml: [spike] window_days: expected a whole number"),
    ("[spike]\ncaution_pct = -1", "overrides.toml: [spike] caution_pct: expected a finite"),
    ("[spike]\ncaution_pct = 50", "overrides.toml: [spike] high_pct: must be above caution_pct"),
    ("[spike]\nmessage = 'hi'", "overrides.toml: [spike] message: not overridable"),
    ("[spike]\nstrength = 'high'", "overrides.toml: [spike] strength: not overridable"),
    ("[spike\n", "overrides.toml: not valid TOML"),
    ("spike = 3", "overrides.toml: [spike] must be a table"),
])
def test_bad_overrides_name_the_file_rule_and_key(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        merge_overrides(RULES, text, "overrides.toml")


def test_bad_rules_file_names_the_file_rule_and_key() -> None:
    text = default_rules_text()
    with pytest.raises(ValueError, match=r"^rules.toml: \[monotony\] caution: expected a number"):
        parse_rules(text.replace("caution = 1.5", "caution = '1.5'"), "rules.toml")
    with pytest.raises(ValueError, match=r"^rules.toml: \[cadence\] evidence: missing"):
        parse_rules(text.replace('evidence = "Heiderscheit', '# evidence = "H'), "rules.toml")
    with pytest.raises(ValueError, match=r"^rules.toml: rule 'cadence' is missing"):
        parse_rules(text.split("[cadence]")[0], "rules.toml")
    with pytest.raises(ValueError, match=r"unknown rule 'pronation'"):
        parse_rules(text + "\n[pronation]\ntitle = 'x'\n", "rules.toml")


def test_overrides_merge_over_defaults_from_a_dict_or_toml() -> None:
    from_dict = merge_overrides(RULES, {"spike": {"caution_pct": 15}}, "athlete ann")
    from_toml = merge_overrides(RULES, "[spike]\ncaution_pct = 15\n")
    for merged in (from_dict, from_toml):
        assert merged["spike"]["caution_pct"] == 15.0
        assert merged["spike"]["high_pct"] == 30.0
        assert merged["weekly_ramp"] is RULES["weekly_ramp"]
    assert RULES["spike"]["caution_pct"] == 10.0  # the defaults are untouched


def test_override_file_for_everyone_and_per_athlete() -> None:
    common, athletes = parse_override_file(
        "[spike]\ncaution_pct = 12\n[athletes.ann.pain]\nmax_score = 4\n", "r.toml")
    assert common == {"spike": {"caution_pct": 12}}
    assert athletes == {"ann": {"pain": {"max_score": 4}}}
    with pytest.raises(ValueError, match=r"r.toml \(athlete 'ann'\): unknown rule 'spkie'"):
        parse_override_file("[athletes.ann.spkie]\nx = 1\n", "r.toml")


# --- scenarios --------------------------------------------------------------------------------


def test_steady_load_raises_no_caution_or_worse() -> None:
    found = flags_of(varied(12))
    assert severe(found) == []
    assert {f.rule for f in found} == {"spike"}  # only the new-log note
    assert found[0].message.startswith("Not enough history")


def test_a_long_run_above_the_ceiling_raises_exactly_the_spike_flag() -> None:
    rows = varied(10)
    day = MONDAY + timedelta(weeks=8, days=6)  # a Sunday long run of 15 km instead of 12
    for r in rows:
        if r["kind"] == "run" and r["start_utc"].tz_convert("Europe/Berlin").date() == day:
            r["distance_m"] = 15000.0
    found = severe(flags_of(rows))
    assert [(f.rule, f.severity, f.date) for f in found] == [("spike", "caution", day)]
    assert found[0].value == pytest.approx(25.0)
    assert found[0].threshold == 10.0
    assert "15.0 km" in found[0].message and "12.0 km" in found[0].message
    assert "(moderate)" in found[0].evidence


@pytest.mark.parametrize(("km", "severity"), [
    (13.2, None), (13.21, "caution"), (15.6, "caution"), (15.61, "high"), (24.0, "high"),
    (24.01, "very_high"), (40.0, "very_high"),
])
def test_spike_tiers_and_exact_boundaries(km: float, severity: str | None) -> None:
    rows = varied(8)
    day = MONDAY + timedelta(weeks=8, days=1)
    rows.append(session(day, km))
    got = [f.severity for f in severe(flags_of(rows, "spike")) if f.date == day]
    assert got == ([] if severity is None else [severity])


def test_a_40_percent_week_of_ordinary_runs_raises_the_ramp_and_no_spike() -> None:
    rows = []
    for w in range(6):
        rows += [session(MONDAY + timedelta(weeks=w, days=d), 8.0) for d in range(5)]
    jump = MONDAY + timedelta(weeks=6)
    rows += [session(jump + timedelta(days=d), 8.0) for d in range(7)]
    found = severe(flags_of(rows))
    assert [(f.rule, f.date) for f in found] == [("weekly_ramp", jump + timedelta(days=6))]
    assert found[0].value == pytest.approx(40.0)
    assert "56.0 km" in found[0].message and "40.0 km" in found[0].message
    assert "convention, not evidence" in found[0].message


def test_ramp_needs_a_base_above_10_km() -> None:
    rows = []
    for w in range(6):
        rows += [session(MONDAY + timedelta(weeks=w, days=d), 2.0) for d in range(5)]
    rows += [session(MONDAY + timedelta(weeks=6, days=d), 2.0) for d in range(7)]
    assert flags_of(rows, "weekly_ramp") == []  # 14 km after 10 km: 10 km is not above the base
    low = merge_overrides(RULES, {"weekly_ramp": {"min_base_km": 5}})
    assert len(flags_of(rows, "weekly_ramp", rules=low)) == 1


def test_one_shoe_on_one_surface_raises_rotation_and_surface_flags() -> None:
    found = flags_of(steady(8))
    got = {f.rule: f for f in found if f.rule in {"shoe_rotation", "surface_mix"}}
    assert set(got) == {"shoe_rotation", "surface_mix"}
    last = MONDAY + timedelta(weeks=7, days=6)
    assert all(f.severity == "info" and f.date == last for f in got.values())
    assert got["shoe_rotation"].value == 100.0 and got["shoe_rotation"].threshold == 90.0
    assert "Peg" in got["shoe_rotation"].message
    assert "road" in got["surface_mix"].message
    assert {f.rule for f in flags_of(varied(8))} == {"spike"}


def test_a_long_first_run_on_a_surface_raises_the_surface_spike_not_the_spike() -> None:
    rows = steady(8)  # road: 8 km runs and 12 km long runs
    for w in range(4, 8):  # and an 8 km trail run every Wednesday for a month
        rows.append(session(MONDAY + timedelta(weeks=w, days=2), 8.0, surface="trail"))
    day = MONDAY + timedelta(weeks=8, days=2)
    rows.append(session(day, 12.0, surface="trail"))  # no longer than the road long runs
    found = [f for f in flags_of(rows) if f.date == day and "spike" in f.rule]
    assert [(f.rule, f.severity, f.value, f.threshold) for f in found] == [
        ("surface_spike", "caution", pytest.approx(50.0), 30.0)]
    assert "12.0 km run on trail" in found[0].message and "(8.0 km)" in found[0].message
    # the same run on road is an ordinary run
    rows[-1] = session(day, 12.0, surface="road")
    assert [f for f in flags_of(rows) if f.date == day and "spike" in f.rule] == []


def cadence_runs(speeds_m_s: list[float], cadences: list[float], start: date = MONDAY,
                 every_days: int = 2) -> list[dict]:
    rows = []
    for i, (v, c) in enumerate(zip(speeds_m_s, cadences, strict=True)):
        r = session(start + timedelta(days=every_days * i), 8.0)
        rows.append({**r, "duration_s": 8000.0 / v, "cadence_spm": c})
    return rows


def test_a_sustained_cadence_drop_raises_info_once() -> None:
    base = cadence_runs([2.8] * 10, [172.0] * 10)
    later = MONDAY + timedelta(days=20)
    drop = cadence_runs([2.8] * 4, [162.0] * 4, start=later)  # -5.8 %
    found = flags_of(base + drop, "cadence")
    third = later + timedelta(days=4)
    assert [(f.date, f.severity) for f in found] == [(third, "info")]
    assert found[0].value == pytest.approx(100 * 10 / 172)
    assert "retraining" not in found[0].message
    # two low runs are not sustained; a drop of 5 % exactly is not above 5 %
    assert flags_of(base + drop[:2], "cadence") == []
    assert flags_of(base + cadence_runs([2.8] * 4, [172 * 0.95] * 4, start=later),
                    "cadence") == []
    # with knee pain logged, the message adds the retraining target
    knee = pains("ann", PainEntry(later, 3, site="knee"))
    assert "raising your cadence by 5-10 %" in flags_of(base + drop, "cadence",
                                                         pain=knee)[0].message


def test_slower_runs_with_a_lower_cadence_are_no_drop() -> None:
    # cadence rises with speed (130 + 15 spm per m/s): slow runs sit on the same line
    speeds = [2.5, 3.5, 3.0, 2.7, 3.3, 2.9, 3.1, 2.6, 3.4, 3.2]
    base = cadence_runs(speeds, [130 + 15 * v for v in speeds])
    slow = cadence_runs([2.0] * 4, [160.0] * 4, start=MONDAY + timedelta(days=20))
    assert flags_of(base + slow, "cadence") == []


def test_rotation_needs_three_runs_a_week() -> None:
    rows = [session(MONDAY + timedelta(days=3 * i), 8.0) for i in range(20)]  # 2.3 a week
    assert flags_of(rows, "shoe_rotation") == []


def test_a_shoe_passing_its_limit_raises_the_wear_flag_on_that_day() -> None:
    rows = varied(8)
    shoes = pd.DataFrame([
        {"athlete": "ann", "name": "Peg", "start_km": 600.0, "retire_km": 650.0,
         "retired": False},
        {"athlete": "ann", "name": "Nova", "start_km": 790.0, "retire_km": 700.0,
         "retired": False},
    ])
    found = {f.date: f for f in flags_of(rows, "shoe_wear", shoes=shoes)}
    runs = [r for r in rows if r["kind"] == "run" and r["shoe"] == "Peg"]
    total, crossed = 600.0, None
    for r in runs:
        total += r["distance_m"] / 1000
        if total >= 650 and crossed is None:
            crossed = r["start_utc"].tz_convert("Europe/Berlin").date()
    by_shoe = {("Peg" if "Peg" in f.message else "Nova"): f for f in found.values()}
    assert by_shoe["Peg"].severity == "caution" and by_shoe["Peg"].date == crossed
    assert by_shoe["Peg"].threshold == 650.0
    assert by_shoe["Nova"].severity == "high" and by_shoe["Nova"].threshold == 800.0
    retired = shoes.assign(retired=True)
    assert flags_of(rows, "shoe_wear", shoes=retired) == []


def test_strength_below_two_a_week_raises_info() -> None:
    rows = [r for r in varied(8) if r["kind"] == "run"]
    rows += [session(MONDAY + timedelta(weeks=w), None, kind="strength") for w in range(8)]
    found = flags_of(rows, "strength")
    assert [(f.severity, f.value, f.threshold) for f in found] == [("info", 1.0, 2.0)]
    assert flags_of(varied(8), "strength") == []
    assert flags_of(varied(3)[:-8], "strength") == []  # under 4 weeks of log: not judged


def pains(athlete: str = "ann", *entries: PainEntry) -> pd.DataFrame:
    return pain_frame({athlete: list(entries)})


def test_rising_morning_pain_raises_the_pain_flag() -> None:
    d = date(2026, 3, 2)
    p = pains("ann", PainEntry(d, 2), PainEntry(d + timedelta(days=1), 3, when="during"),
              PainEntry(d + timedelta(days=2), 3), PainEntry(d + timedelta(days=3), 4))
    found = flags_of([], "pain", pain=p)
    assert [(f.date, f.severity) for f in found] == [(d + timedelta(days=3), "caution")]
    assert "2 -> 3 -> 4" in found[0].message
    high = pains("ann", PainEntry(d, 5), PainEntry(d + timedelta(days=1), 6, when="during"))
    found = flags_of([], "pain", pain=high)
    assert [(f.date, f.value, f.threshold) for f in found] == [(d + timedelta(days=1), 6, 5)]


def test_pain_above_the_limit_day_after_day_is_one_flag_per_episode() -> None:
    d = date(2026, 3, 2)
    scores = [6, 6, 7, 6, 3, 6, 6]
    p = pains("ann", *[PainEntry(d + timedelta(days=i), s) for i, s in enumerate(scores)])
    found = [f for f in flags_of([], "pain", pain=p) if f.threshold == 5]
    assert sorted(f.date for f in found) == [d, d + timedelta(days=5)]


def test_six_weeks_of_heel_pain_raise_the_referral() -> None:
    d = date(2026, 3, 2)
    p = pains("ann", *[PainEntry(d + timedelta(days=3 * i), 3) for i in range(16)])
    found = flags_of([], "pain_referral", pain=p)
    assert [(f.date, f.severity) for f in found] == [(d + timedelta(days=45), "high")]
    assert "physical therapist" in found[0].message
    # A pain-free entry, or a gap of more than two weeks, starts a new episode.
    short = pains("ann", *[PainEntry(d + timedelta(days=3 * i), 0 if i == 8 else 3)
                           for i in range(16)])
    assert flags_of([], "pain_referral", pain=short) == []
    # Knee pain for weeks is not the heel-pain referral.
    knee = pains("ann", *[PainEntry(d + timedelta(days=3 * i), 3, site="knee")
                          for i in range(16)])
    assert flags_of([], "pain_referral", pain=knee) == []


def test_heel_pain_past_5_or_worsening_refers() -> None:
    d = date(2026, 3, 2)
    found = flags_of([], "pain_referral", pain=pains("ann", PainEntry(d, 6)))
    assert [(f.severity, f.value) for f in found] == [("high", 6.0)]
    worse = pains("ann", *[PainEntry(d + timedelta(days=i), s) for i, s in enumerate([1, 2, 3, 4])])
    found = flags_of([], "pain_referral", pain=worse)
    assert [f.date for f in found] == [d + timedelta(days=3)]
    assert "1 -> 2 -> 3 -> 4" in found[0].message


@pytest.mark.parametrize("note", [
    "Woke up with NIGHT PAIN", "foot feels numb", "swelling and a fever",
    "I cannot bear weight on it", "after trauma: fell off the bike",
])
def test_red_flags_always_refer(note: str) -> None:
    found = flags_of([], "pain_referral",
                     pain=pains("ann", PainEntry(date(2026, 3, 2), 1, site="ankle", notes=note)))
    assert [f.severity for f in found] == ["very_high"]


def test_a_run_at_2330_local_on_sunday_belongs_to_that_sunday() -> None:
    tz = "America/Los_Angeles"  # 23:30 on Sunday is Monday 07:30 UTC
    rows = steady(8, tz=tz)
    sunday = MONDAY + timedelta(weeks=8, days=6)
    rows.append(session(sunday, 20.0, at="23:30", tz=tz))
    found = severe(flags_of(rows, "spike"))
    assert [(f.date, f.severity) for f in found] == [(sunday, "high")]


def test_return_after_a_break_is_information_not_a_spike() -> None:
    rows = steady(8)
    back = MONDAY + timedelta(weeks=8) + timedelta(days=45)
    rows += [session(back, 10.0), session(back + timedelta(days=2), 10.0)]
    found = [f for f in flags_of(rows, "spike") if f.date >= back]
    assert [(f.date, f.severity, f.threshold) for f in found] == [(back, "info", 12.0)]
    assert "no recent base" in found[0].message and "12.0 km" in found[0].message
    # After more than 90 days there is nothing to compare with.
    later = MONDAY + timedelta(weeks=8) + timedelta(days=120)
    rows = [*steady(8), session(later, 10.0)]
    found = [f for f in flags_of(rows, "spike") if f.date == later]
    assert [(f.severity, f.threshold) for f in found] == [("info", None)]


def test_a_new_log_says_not_enough_history_once_instead_of_flagging() -> None:
    rows = [session(MONDAY + timedelta(days=d), km)
            for d, km in ((0, 5.0), (2, 5.0), (9, 20.0), (16, 30.0), (27, 45.0))]
    found = flags_of(rows, "spike")
    assert [(f.date, f.severity) for f in found] == [(MONDAY, "info")]
    assert "Not enough history" in found[0].message
    assert "2026-02-02" in found[0].message  # 28 days after the first run
    rows.append(session(MONDAY + timedelta(days=28), 50.0))
    assert [f.severity for f in severe(flags_of(rows, "spike"))] == ["caution"]


def test_the_same_run_recorded_twice_counts_once_and_is_said_so() -> None:
    rows = steady(8)
    day = MONDAY + timedelta(weeks=8, days=1)
    watch = session(day, 10.0, at="07:00")
    phone = {**session(day, 9.8, at="07:01"), "shoe": None}  # the phone's shorter track
    found = flags_of([*rows, watch, phone])
    check = [f for f in found if f.rule == "data_check"]
    assert [(f.date, f.severity, f.unit) for f in check] == [(day, "info", "min")]
    assert "07:01 overlaps your run session at" in check[0].message and "07:00" in check[0].message
    # the ramp and spike see one 10 km run, as if the phone had not recorded it
    without = [f for f in flags_of([*rows, watch]) if f.rule != "data_check"]
    assert [f for f in found if f.rule != "data_check"] == without


def test_a_run_at_an_impossible_speed_is_left_out() -> None:
    rows = steady(8)
    day = MONDAY + timedelta(weeks=8, days=1)
    rows.append({**session(day, 30.0), "duration_s": 1800.0})  # 16.7 m/s: km typed for miles?
    events = {"data_check", "spike", "surface_spike", "weekly_ramp"}
    found = [f for f in flags_of(rows) if f.date == day and f.rule in events]
    assert [(f.rule, f.severity, f.unit) for f in found] == [("data_check", "info", "m/s")]
    assert f"{30000 / 1800:.1f} m/s" in found[0].message


def test_runs_without_distance_are_excluded_not_a_crash() -> None:
    rows = [*varied(8), session(MONDAY + timedelta(weeks=8), None)]
    assert severe(flags_of(rows)) == []


def test_as_of_ignores_the_later_log_and_dates_state_flags() -> None:
    rows = steady(8)
    rows.append(session(MONDAY + timedelta(weeks=8, days=2), 30.0))
    cut = MONDAY + timedelta(weeks=7)
    found = flags_of(rows, as_of=cut)
    assert severe(found) == []
    assert {f.date for f in found if f.rule == "surface_mix"} == {cut}


def test_per_athlete_rules_apply_to_that_athlete_only() -> None:
    rows = []
    for who in ("ann", "bob"):
        rows += steady(8, athlete=who)
        rows.append(session(MONDAY + timedelta(weeks=8, days=1), 14.0, athlete=who))
    own = {"bob": merge_overrides(RULES, {"spike": {"caution_pct": 20}})}
    found = severe(flags_of(rows, "spike", athlete_rules=own))
    assert [f.athlete for f in found] == ["ann"]


def test_flags_are_newest_first_and_serialise_to_the_documented_keys() -> None:
    rows = varied(10)
    rows.append(session(MONDAY + timedelta(weeks=10, days=1), 16.0))
    found = flags_of(rows)
    assert [f.date for f in found] == sorted((f.date for f in found), reverse=True)
    data = found[0].to_dict()
    assert tuple(data) == FLAG_KEYS
    assert data["date"] == found[0].date.isoformat()


def test_empty_log_has_no_flags() -> None:
    assert flags_of([]) == []


# --- properties -------------------------------------------------------------------------------

PROPS = settings(max_examples=40, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])


@st.composite
def run_logs(draw: st.DrawFn) -> list[dict]:
    n = draw(st.integers(min_value=1, max_value=40))
    gaps = draw(st.lists(st.integers(min_value=0, max_value=12), min_size=n, max_size=n))
    dists = draw(st.lists(st.integers(min_value=1000, max_value=42000), min_size=n, max_size=n))
    shoes = draw(st.lists(st.sampled_from(["Peg", "Nova"]), min_size=n, max_size=n))
    surfaces = draw(st.lists(st.sampled_from(["road", "trail", "track"]), min_size=n, max_size=n))
    rows, day = [], MONDAY
    for gap, m, shoe, surface in zip(gaps, dists, shoes, surfaces, strict=True):
        day += timedelta(days=gap)
        rows.append(session(day, m / 1000.0, shoe=shoe, surface=surface))
    return rows


def _key(flags: list[Flag], rules: set[str]) -> list[tuple]:
    return sorted((f.rule, f.date, f.severity) for f in flags if f.rule in rules)


RATIO_RULES = {"spike", "weekly_ramp", "shoe_rotation", "surface_mix", "surface_spike"}
# The ramp base and the plausibility limits are absolute: without them these rules are
# pure ratios.
NO_BASE = merge_overrides(RULES, {"weekly_ramp": {"min_base_km": 0.0},
                                  "data_check": {"max_run_km": 1e9, "max_speed_m_s": 1e9}})


@PROPS
@given(rows=run_logs(), factor=st.floats(min_value=0.05, max_value=20.0))
def test_scaling_every_distance_changes_no_ratio_flag(rows: list[dict], factor: float) -> None:
    scaled = [{**r, "distance_m": r["distance_m"] * factor} for r in rows]
    before = flags_of(rows, rules=NO_BASE)
    after = flags_of(scaled, rules=NO_BASE)
    assert _key(after, RATIO_RULES) == _key(before, RATIO_RULES)


@PROPS
@given(rows=run_logs(), rest=st.lists(
    st.tuples(st.integers(min_value=-60, max_value=200),
              st.sampled_from(["strength", "cross", "run0", "run_none"])), max_size=20))
def test_adding_rest_days_never_raises_a_spike_flag(rows: list[dict], rest: list) -> None:
    extra = []
    for offset, what in rest:
        day = MONDAY + timedelta(days=offset)
        if what == "run0":
            extra.append(session(day, 0.0))
        elif what == "run_none":
            extra.append(session(day, None))
        else:
            extra.append(session(day, 30.0 if what == "cross" else None, kind=what))
    last = max(r["start_utc"] for r in rows).tz_convert("Europe/Berlin").date()
    before = flags_of(rows, "spike", as_of=last + timedelta(days=200))
    after = flags_of(rows + extra, "spike", as_of=last + timedelta(days=200))
    assert _key(after, {"spike"}) == _key(before, {"spike"})


@PROPS
@given(ceiling_m=st.integers(min_value=1000, max_value=50000),
       tier=st.sampled_from([("caution", 10), ("high", 30), ("very_high", 100)]),
       factor=st.floats(min_value=0.1, max_value=10.0))
def test_boundaries_are_exact(ceiling_m: int, tier: tuple[str, int], factor: float) -> None:
    severity, pct = tier
    below = {"caution": [], "high": ["caution"], "very_high": ["high"]}[severity]
    for run_m, expected in ((ceiling_m * (100 + pct) / 100, below),
                            (ceiling_m * (100 + pct) / 100 + 1, [severity])):
        rows = [session(MONDAY + timedelta(days=d), ceiling_m * factor / 1000) for d in (0, 30)]
        rows.append(session(MONDAY + timedelta(days=40), run_m * factor / 1000))
        # NO_BASE: scaled runs may be longer than a plausible run; the ratio is the point
        got = [f.severity for f in severe(flags_of(rows, "spike", rules=NO_BASE))]
        assert got == expected, (run_m, ceiling_m)


def test_athletes_never_share_a_window() -> None:
    # "amy" sorts first and runs 40 km on the days just before "zoe" starts her log.
    rows = [session(MONDAY - timedelta(days=d), 40.0, athlete="amy") for d in range(1, 30)]
    rows += [session(MONDAY + timedelta(days=d), 8.0, athlete="zoe") for d in range(0, 35, 2)]
    rows.append(session(MONDAY + timedelta(days=36), 12.0, athlete="zoe"))
    found = severe(flags_of(rows, "spike"))
    assert [(f.athlete, f.severity, f.value) for f in found] == [("zoe", "high", 50.0)]
