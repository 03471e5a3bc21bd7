"""The whole load model of a log at once: the weekly table and every flag, sharing the work.

`loadmon.models.load.weekly_load_table` and `loadmon.models.flags.evaluate`
each prepare the log and compute its daily load; a report or a coach's squad
view needs both, and `assess` prepares the log and computes the daily load
once for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

from loadmon.models.flags import Flag, flags_of, merge_flags, spike_table, split_log
from loadmon.models.load import DAILY_LOAD_COLUMNS, WEEK_LOAD_COLUMNS, daily_load, weekly_table
from loadmon.models.log import EXCLUDED_COLUMNS
from loadmon.models.rules import RuleSet


@dataclass(frozen=True, slots=True)
class Assessment:
    """A log's weekly load table, its flags, and the sessions the data checks left out.

    Attributes
    ----------
    weekly : pandas.DataFrame
        One row per athlete and ISO week (`loadmon.models.load.WEEK_LOAD_COLUMNS`).
    flags : list of Flag
        Newest first; on one date the most severe first.
    excluded : pandas.DataFrame
        `loadmon.models.log.EXCLUDED_COLUMNS`: the sessions left out, and why.
    daily : pandas.DataFrame
        The daily load and its models (`loadmon.models.load.DAILY_LOAD_COLUMNS`).
    spikes : pandas.DataFrame
        Each run day against its 30-day ceiling (`loadmon.models.flags.spike_table`).
    """

    weekly: pd.DataFrame
    flags: list[Flag]
    excluded: pd.DataFrame
    daily: pd.DataFrame
    spikes: pd.DataFrame

    def of(self, athlete: str) -> Assessment:
        """Return the part of one athlete.

        Parameters
        ----------
        athlete : str
            The athlete's name.

        Returns
        -------
        Assessment
            Their rows and flags only.
        """
        def rows(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[frame["athlete"].astype(object) == athlete].reset_index(drop=True)

        return Assessment(rows(self.weekly), [f for f in self.flags if f.athlete == athlete],
                          rows(self.excluded), rows(self.daily), rows(self.spikes))


def assess(
    sessions: pd.DataFrame,
    pain: pd.DataFrame | None,
    shoes: pd.DataFrame | None,
    rules: RuleSet,
    as_of: date | None = None,
    athlete_rules: Mapping[str, RuleSet] | None = None,
    with_spikes: bool = True,
) -> Assessment:
    """Compute the weekly load table and every flag of a log.

    Parameters
    ----------
    sessions, pain, shoes, rules, as_of, athlete_rules
        As for `loadmon.models.flags.evaluate`.
    with_spikes : bool
        Also each run day against its 30-day ceiling (what the report draws);
        False leaves ``spikes`` empty (the weekly table and the flags do not
        need it).

    Returns
    -------
    Assessment
        The same table as `loadmon.models.load.weekly_load_table` (with each
        athlete's own rules) and the same flags as `loadmon.models.flags.evaluate`.
    """
    weeks: list[pd.DataFrame] = []
    excluded: list[pd.DataFrame] = []
    days: list[pd.DataFrame] = []
    spikes: list[pd.DataFrame] = []
    flags: list[list[Flag]] = []
    for ruleset, log in split_log(sessions, pain, shoes, rules, as_of, athlete_rules):
        daily = daily_load(log.sessions, ruleset, log.until) if not log.sessions.empty else None
        weeks.append(weekly_table(log, ruleset, daily))
        flags.append(flags_of(log, ruleset, daily))
        excluded.append(log.excluded)
        if daily is not None:
            days.append(daily)
            if with_spikes:
                spikes.append(spike_table(log, ruleset))
    found = [w for w in weeks if not w.empty]
    weekly = (pd.concat(found).sort_values(["athlete", "week_start"], kind="stable")
              .reset_index(drop=True) if found
              else pd.DataFrame({c: pd.Series(dtype="float64") for c in WEEK_LOAD_COLUMNS}))
    dropped = [e for e in excluded if not e.empty]
    return Assessment(
        weekly, merge_flags(flags),
        pd.concat(dropped, ignore_index=True) if dropped
        else pd.DataFrame(columns=list(EXCLUDED_COLUMNS)),
        pd.concat(days, ignore_index=True) if days
        else pd.DataFrame({c: pd.Series(dtype="float64") for c in DAILY_LOAD_COLUMNS}),
        pd.concat(spikes, ignore_index=True) if spikes
        else pd.DataFrame(columns=["athlete", "day", "max_km", "ceiling_km", "change_pct",
                                   "tier"]),
    )
