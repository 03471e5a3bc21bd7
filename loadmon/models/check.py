"""The planned-run check: the spike, surface or shoe flags a run would raise, and its limit.

Pure pandas. The planned run is added to the log and the rules are evaluated
as of its day, so the flags it would raise are exactly the flags `evaluate`
raises once it is logged (only those it adds: flags of that day without it
are not its doing). The longest run without a flag comes from the same
thresholds:

- ``spike``: the longest run of the prior ``window_days`` (30) x (1 + caution
  %); no limit in a new log (less than ``min_history_days`` of runs) or after a
  break (no run in the prior 30 days: there is no recent base to compare with);
- ``surface_spike``: the same on the planned surface (no limit when there was
  no run on it in the prior 30 days);
- ``shoe_wear``: the km left on the shoe before its limit (a shoe flags *at*
  its limit, so the run must stay below it).

"Above" is strictly above, so a run of exactly the spike limit raises nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pandas as pd

from loadmon.models.flags import EPS, Flag, flags_of, split_log
from loadmon.models.log import PreparedLog, empty_shoes
from loadmon.models.rules import RuleSet

#: The rules a planned run is checked against.
CHECKED_RULES: tuple[str, ...] = ("spike", "surface_spike", "shoe_wear")


@dataclass(frozen=True, slots=True)
class PlannedRun:
    """A run not run yet.

    Attributes
    ----------
    athlete : str
        Whose.
    day : datetime.date
        The local date it is planned for.
    distance_km : float
        Its distance.
    surface : str or None
        Its surface.
    shoe : str or None
        The shoe it will be run in.
    """

    athlete: str
    day: date
    distance_km: float
    surface: str | None = None
    shoe: str | None = None


@dataclass(frozen=True, slots=True)
class Limit:
    """The longest the planned run can be without one rule's flag.

    Attributes
    ----------
    rule : str
        The rule id.
    km : float
        The limit.
    inclusive : bool
        True: a run of exactly `km` raises no flag (spikes flag *above* the
        limit); False: it must stay below (a shoe flags *at* its limit).
    basis : str
        Where the limit comes from, in words.
    """

    rule: str
    km: float
    inclusive: bool
    basis: str


@dataclass(frozen=True, slots=True)
class RunCheck:
    """What a planned run would raise, and how long it can be without a flag.

    Attributes
    ----------
    planned : PlannedRun
        The run checked.
    flags : list of Flag
        The spike, surface and shoe flags it would raise (most severe first).
    limits : list of Limit
        One per rule that limits it, shortest first.
    notes : list of str
        Why a rule sets no limit (a new log, a break, no run on the surface yet).
    """

    planned: PlannedRun
    flags: list[Flag]
    limits: list[Limit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def longest(self) -> Limit | None:
        """The binding limit: the longest run without any of these flags (None: no limit)."""
        return self.limits[0] if self.limits else None


def check_run(
    sessions: pd.DataFrame,
    pain: pd.DataFrame | None,
    shoes: pd.DataFrame | None,
    rules: RuleSet,
    planned: PlannedRun,
    tz: str,
) -> RunCheck:
    """Check a planned run against the spike, surface-spike and shoe-wear rules.

    Parameters
    ----------
    sessions, pain, shoes : pandas.DataFrame
        The athlete's log, as for `loadmon.models.flags.evaluate`.
    rules : RuleSet
        The athlete's rules.
    planned : PlannedRun
        The run.
    tz : str
        The athlete's time zone.

    Returns
    -------
    RunCheck
        Its flags, limits and notes.
    """
    shoes = shoes if shoes is not None else empty_shoes()
    start = datetime.combine(planned.day, time(12), tzinfo=ZoneInfo(tz)).astimezone(UTC)
    row = pd.DataFrame([{
        "athlete": planned.athlete, "tz": tz, "shoe": planned.shoe, "surface": planned.surface,
        "start_utc": pd.Timestamp(start), "kind": "run", "distance_m": planned.distance_km * 1e3,
        "duration_s": float("nan"), "time_known": False,
    }])
    mine = sessions[sessions["athlete"] == planned.athlete]
    [(_, log)] = split_log(mine, pain, shoes, rules, planned.day)
    before = _day_flags(log, rules, planned)
    [(_, with_run)] = split_log(pd.concat([mine, row], ignore_index=True), pain, shoes, rules,
                                planned.day)
    after = _day_flags(with_run, rules, planned)
    seen = {(f.rule, f.severity) for f in before}
    flags = [f for f in after if (f.rule, f.severity) not in seen]
    limits, notes = _limits(log, rules, planned)
    return RunCheck(planned, flags, sorted(limits, key=lambda lim: lim.km), notes)


def _day_flags(log: PreparedLog, rules: RuleSet, planned: PlannedRun) -> list[Flag]:
    return [f for f in flags_of(log, rules)
            if f.rule in CHECKED_RULES and f.date == planned.day]


def _limits(log: PreparedLog, rules: RuleSet,
            planned: PlannedRun) -> tuple[list[Limit], list[str]]:
    day = pd.Timestamp(planned.day)
    runs = log.sessions[log.sessions["is_run"] & (log.sessions["day"] < day)]
    limits: list[Limit] = []
    notes: list[str] = []
    spike, surface = rules["spike"], rules["surface_spike"]
    history = (day - runs["day"].min()).days if not runs.empty else 0
    for rule, on in ((spike, runs), (surface, runs[runs["surface"] == planned.surface])):
        if rule.id == "surface_spike" and planned.surface is None:
            continue
        recent = on[on["day"] >= day - pd.Timedelta(days=rule["window_days"])]
        what = "" if rule.id == "spike" else f" on {planned.surface}"
        if history < rule["min_history_days"]:
            notes.append(f"{rule.id}: not enough history yet ({history} of "
                         f"{rule['min_history_days']} days of runs): no limit")
        elif recent.empty:
            notes.append(f"{rule.id}: no run{what} in the previous {rule['window_days']} "
                         "days, so no recent base to compare with: build up gradually")
        else:
            ceiling = float(recent["km"].max())
            limits.append(Limit(
                rule.id, ceiling * (1 + rule["caution_pct"] / 100.0), True,
                f"{rule['caution_pct']:g} % over your longest run{what} of the previous "
                f"{rule['window_days']} days ({ceiling:.1f} km)"))
    if planned.shoe is not None:
        limits += _shoe_limit(runs, log.shoes, rules, planned, notes)
    return limits, notes


def _shoe_limit(runs: pd.DataFrame, shoes: pd.DataFrame, rules: RuleSet, planned: PlannedRun,
                notes: list[str]) -> list[Limit]:
    wear = rules["shoe_wear"]
    known = shoes[(shoes["athlete"] == planned.athlete) & (shoes["name"] == planned.shoe)]
    info: Mapping[str, object] = known.iloc[0].to_dict() if not known.empty else {}
    start_km = float(info.get("start_km") or 0.0)  # type: ignore[arg-type]
    limit_km = float(info.get("retire_km") or wear["default_limit_km"])  # type: ignore[arg-type]
    total = start_km + float(runs.loc[runs["shoe"] == planned.shoe, "km"].sum())
    left = limit_km - total
    if left <= EPS:
        notes.append(f"shoe_wear: {planned.shoe} is already past its limit "
                     f"({total:.0f} of {limit_km:.0f} km)")
        return []
    return [Limit("shoe_wear", left, False,
                  f"{planned.shoe} has {total:.0f} of its {limit_km:.0f} km")]
