"""The weekly load charts of one runner, and the squad's small multiples (matplotlib).

Every chart is a `Chart`: an id, a title that says what it shows, a caption of
what to look for, and a matplotlib figure with labelled axes and units. The
functions take the load model's frames (`loadmon.models.assess.Assessment` and
the log's own frames) and draw; they read and write no files.

Colours: the Okabe-Ito palette, safe for the common colour-vision deficiencies;
severity is also told by marker shape, never by colour alone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, ParamSpec, TypeVar

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from loadmon.models.flags import Flag
from loadmon.models.rules import SEVERITIES, RuleSet
from loadmon.types import SURFACES

#: Okabe & Ito (2008) colours.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
    "grey": "#999999",
}
SURFACE_COLOURS = dict(zip(SURFACES, ("blue", "green", "orange", "purple", "sky", "yellow"),
                           strict=False))
SEVERITY_STYLE = {  # colour and marker: severity never by colour alone
    "info": ("sky", "o"), "caution": ("orange", "^"), "high": ("vermillion", "s"),
    "very_high": ("purple", "D"),
}

#: The report's matplotlib settings (applied while drawing and saving, never globally).
STYLE: dict[str, Any] = {
    "text.parse_math": False,  # a name with "$" is text, not mathematics
    "svg.fonttype": "none", "svg.hashsalt": "loadmon", "font.size": 9,
    "axes.titlesize": 10, "axes.spines.top": False, "axes.spines.right": False,
    "figure.dpi": 100,
}

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def style() -> Iterator[None]:
    """Apply `STYLE` for the duration of a ``with`` block (drawing or saving charts).

    Yields
    ------
    None
    """
    with matplotlib.rc_context(STYLE):
        yield


def _styled(draw: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with style():
            return draw(*args, **kwargs)
    return wrapper


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart: what it shows, what to look for, and the figure.

    Attributes
    ----------
    id : str
        Stable id (``weekly_distance``, ...), used for file names.
    title : str
        What the chart shows.
    caption : str
        What to look for.
    figure : matplotlib.figure.Figure
        The drawing.
    """

    id: str
    title: str
    caption: str
    figure: Figure


def _c(name: str) -> str:
    return OKABE_ITO[name]


def _figure(width: float = 7.0, height: float = 2.6, left: float = 0.6,
            right: float = 0.15) -> tuple[Figure, Axes]:
    """Return a figure with one axes and fixed margins in inches.

    A layout engine costs more than the drawing itself.
    """
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - 0.4 / height,
                        bottom=0.75 / height)
    ax = fig.add_subplot()
    # few ticks: tick objects and their labels are most of a chart's drawing time
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    return fig, ax


def _date_axis(ax: Axes) -> None:
    """Few, concise date ticks, unrotated (rotated labels and dense ticks cost time and ink)."""
    locator = mdates.AutoDateLocator(minticks=3, maxticks=5)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _legend(ax: Axes, *args: Any, ncols: int = 4) -> None:
    """Put the legend above the axes, where it hides no data."""
    ax.legend(*args, loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=7, ncols=ncols,
              frameon=False, borderaxespad=0.2)


def _weeks_axis(ax: Axes, weeks: pd.DataFrame) -> None:
    """Label the ISO weeks under bars 0..n-1: every week up to 8, else every other one."""
    labels = [str(w)[-3:] for w in weeks["week"]]
    step = 1 if len(labels) <= 8 else 2
    ax.xaxis.set_major_locator(FixedLocator(range(len(labels) - 1, -1, -step)))
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda x, _pos: labels[int(x)] if 0 <= int(x) < len(labels) else ""))
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_xlabel("ISO week")


@_styled
def weekly_distance(weeks: pd.DataFrame, rules: RuleSet) -> Chart:
    """Draw weekly run distance as bars stacked by surface, with the ramp marked.

    Parameters
    ----------
    weeks : pandas.DataFrame
        One athlete's weekly load table (`loadmon.models.load.WEEK_LOAD_COLUMNS`).
    rules : RuleSet
        The rules (the ramp's caution threshold).

    Returns
    -------
    Chart
        The chart.
    """
    fig, ax = _figure()
    x = np.arange(len(weeks))
    km = weeks["run_km"].to_numpy(float)
    bottom = np.zeros(len(weeks))
    # every segment in one bar call (one container, one autoscale), the legend by proxies
    xs, heights, bottoms, colours, keys = [], [], [], [], []
    for name, colour, part in [
        *((s, _c(SURFACE_COLOURS[s]),
           km * weeks[f"surface_{s}_pct"].fillna(0.0).to_numpy(float) / 100.0)
          for s in SURFACES),
        ("surface not logged", _c("grey"), None),
    ]:
        part = np.where(km - bottom > 1e-9, km - bottom, 0.0) if part is None else part
        if not part.any():
            continue
        xs.append(x)
        heights.append(part)
        bottoms.append(bottom.copy())
        colours += [colour] * len(x)
        keys.append(Patch(color=colour, label=name))
        bottom += part
    if xs:
        ax.bar(np.concatenate(xs), np.concatenate(heights), bottom=np.concatenate(bottoms),
               color=colours, width=0.7)
    limit = rules["weekly_ramp"]["caution_pct"]
    for i, ramp in enumerate(weeks["ramp_pct"]):
        if pd.notna(ramp) and ramp > limit:
            ax.annotate(f"+{ramp:.0f}%", (i, km[i]), xytext=(0, 3), textcoords="offset points",
                        ha="center", color=_c("vermillion"), fontweight="bold")
    ax.set_ylabel("run distance (km)")
    _weeks_axis(ax, weeks)
    _legend(ax, keys, [k.get_label() for k in keys], ncols=4)
    return Chart("weekly_distance", "Weekly run distance by surface",
                 f"Bars stack each week's km by surface; red labels mark weeks more than "
                 f"{limit:g} % above the week before. Look for jumps and for one colour only.",
                 fig)


@_styled
def run_spikes(spikes: pd.DataFrame, since: date) -> Chart:
    """Draw each run day's longest run against its 30-day ceiling, spikes by tier.

    Parameters
    ----------
    spikes : pandas.DataFrame
        One athlete's `loadmon.models.flags.spike_table`.
    since : datetime.date
        First day shown.

    Returns
    -------
    Chart
        The chart.
    """
    fig, ax = _figure()
    s = spikes[spikes["day"] >= pd.Timestamp(since)]
    ax.step(s["day"], s["ceiling_km"].where(s["ceiling_km"] > 0), where="post",
            color=_c("grey"), label="longest run of the previous 30 days")
    plain = s[s["tier"] == ""]
    ax.scatter(plain["day"], plain["max_km"], color=_c("blue"), s=14, label="run", zorder=3)
    for tier in ("caution", "high", "very_high"):
        hit = s[s["tier"] == tier]
        colour, marker = SEVERITY_STYLE[tier]
        if not hit.empty:
            ax.scatter(hit["day"], hit["max_km"], color=_c(colour), marker=marker, s=40,
                       label=f"spike: {tier.replace('_', ' ')}", zorder=4)
    ax.set_ylabel("run distance (km)")
    ax.set_xlabel("date")
    _legend(ax, ncols=2)
    _date_axis(ax)
    return Chart("run_spikes", "Each run against its 30-day ceiling",
                 "Grey: the longest run of the previous 30 days. A run more than 10 % above "
                 "it is a spike (triangle 10-30 %, square 30-100 %, diamond above 100 %): the "
                 "strongest evidence for running injuries (Frandsen 2025).", fig)


@_styled
def load_ratio(daily: pd.DataFrame, rules: RuleSet, since: date) -> Chart:
    """Draw the acute:chronic workload ratio (EWMA and uncoupled) with its heuristic bands.

    Parameters
    ----------
    daily : pandas.DataFrame
        One athlete's daily load (`loadmon.models.load.DAILY_LOAD_COLUMNS`).
    rules : RuleSet
        The rules (the ``acwr`` bands).
    since : datetime.date
        First day shown.

    Returns
    -------
    Chart
        The chart.
    """
    fig, ax = _figure()
    d = daily[daily["day"] >= pd.Timestamp(since)]
    acwr = rules["acwr"]
    ax.axhspan(acwr["low_band"], acwr["high_band"], color=_c("green"), alpha=0.12,
               label=f"{acwr['low_band']:g}-{acwr['high_band']:g} (team-sport heuristic)")
    ax.axhline(acwr["very_high_band"], color=_c("vermillion"), lw=0.8, ls=":",
               label=f"{acwr['very_high_band']:g} (heuristic)")
    ax.plot(d["day"], d["acwr_ewma"], color=_c("blue"), label="EWMA 7/28 d")
    ax.plot(d["day"], d["acwr_uncoupled"], color=_c("orange"), ls="--", label="uncoupled 7/21 d")
    ax.set_ylabel("acute:chronic ratio")
    ax.set_xlabel("date")
    _legend(ax, ncols=2)
    _date_axis(ax)
    return Chart("load_ratio", "Acute:chronic load ratio (session load, minutes x RPE)",
                 "Context, not an alarm: the bands are team-sport heuristics and the ratio "
                 "has not predicted injuries in runners.", fig)


@_styled
def fitness_fatigue(daily: pd.DataFrame, since: date) -> Chart:
    """Draw fitness, fatigue and form (Banister 42 / 7 days) of session load.

    Parameters
    ----------
    daily : pandas.DataFrame
        One athlete's daily load.
    since : datetime.date
        First day shown.

    Returns
    -------
    Chart
        The chart.
    """
    fig, ax = _figure()
    d = daily[daily["day"] >= pd.Timestamp(since)]
    ax.plot(d["day"], d["fitness_au"], color=_c("blue"), label="fitness (42 d)")
    ax.plot(d["day"], d["fatigue_au"], color=_c("vermillion"), ls="--", label="fatigue (7 d)")
    ax.fill_between(d["day"], 0, d["form_au"], color=_c("green"), alpha=0.25,
                    label="form = fitness - fatigue")
    ax.axhline(0, color=_c("black"), lw=0.6)
    ax.set_ylabel("session load (AU per day)")
    ax.set_xlabel("date")
    _legend(ax, ncols=3)
    _date_axis(ax)
    return Chart("fitness_fatigue", "Fitness, fatigue and form",
                 "A performance model, not an injury warning: deep negative form after a "
                 "block of hard weeks says rest is due.", fig)


@_styled
def shoes(shoe_table: pd.DataFrame, weeks: pd.DataFrame) -> Chart:
    """Draw each shoe's distance against its limit, and the main-shoe share.

    Parameters
    ----------
    shoe_table : pandas.DataFrame
        The athlete's shoes: ``name``, ``distance_km``, ``retire_km`` (None: the
        default limit), ``retired``.
    weeks : pandas.DataFrame
        The weekly load table (``main_shoe_pct``).

    Returns
    -------
    Chart
        The chart.
    """
    fig, ax = _figure(height=max(1.9, 1.0 + 0.45 * max(len(shoe_table), 1)), left=1.6)
    t = shoe_table.reset_index(drop=True)
    y = np.arange(len(t))
    limit = pd.to_numeric(t["retire_km"], errors="coerce").fillna(650.0)
    used = pd.to_numeric(t["distance_km"], errors="coerce").fillna(0.0)
    colours = [_c("vermillion") if u >= lim else _c("blue") for u, lim in zip(used, limit,
                                                                                 strict=True)]
    ax.barh(y, used, color=colours, height=0.55)
    ax.scatter(limit, y, marker="|", s=300, color=_c("black"), label="limit", zorder=3)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{n}{' (retired)' if r else ''}" for n, r in
                        zip(t["name"], t["retired"].astype(bool), strict=True)])
    ax.set_xlabel("distance (km)")
    share = weeks["main_shoe_pct"].dropna()
    note = f"main pair: {share.tail(4).mean():.0f} % of the last 4 weeks' runs" if len(
        share) else "no shoes logged on runs"
    ax.text(1.0, 1.02, note, transform=ax.transAxes, ha="right", va="bottom", fontsize=8)
    return Chart("shoes", "Shoe mileage against each shoe's limit",
                 "Red bars are past their limit (a convention, very low evidence). Runners "
                 "who rotated pairs had fewer injuries (Malisoux 2015): look for one pair "
                 "carrying nearly every run.", fig)


@_styled
def strength_cross(weeks: pd.DataFrame, rules: RuleSet) -> Chart:
    """Draw strength sessions and cross-training minutes per week against the target.

    Parameters
    ----------
    weeks : pandas.DataFrame
        The weekly load table.
    rules : RuleSet
        The rules (the strength target).

    Returns
    -------
    Chart
        The chart.
    """
    fig, ax = _figure(right=0.7)
    x = np.arange(len(weeks))
    target = rules["strength"]["min_sessions_per_week"]
    ax.bar(x, weeks["strength_sessions"], color=_c("green"), width=0.6, label="strength sessions")
    ax.axhline(target, color=_c("green"), ls="--", lw=1, label=f"target {target:g} a week")
    ax.set_ylabel("strength sessions")
    _weeks_axis(ax, weeks)
    ax2 = ax.twinx()
    ax2.plot(x, weeks["cross_min"], color=_c("orange"), marker="o", ms=3,
             label="cross-training")
    ax2.set_ylabel("cross-training (min)")
    ax2.spines["right"].set_visible(True)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    _legend(ax, lines[0] + lines2[0], lines[1] + lines2[1], ncols=3)
    return Chart("strength_cross", "Strength sessions and cross-training per week",
                 f"Strength training roughly halved sports injuries in trials (not in "
                 f"runners); the dashed line is {target:g} sessions a week.", fig)


@_styled
def heel_pain(pain: pd.DataFrame, rules: RuleSet, since: date) -> Chart:
    """Draw morning (and 24 h after) pain scores with the pain-model thresholds.

    Parameters
    ----------
    pain : pandas.DataFrame
        The athlete's pain frame (`loadmon.models.log.PAIN_COLUMNS`).
    rules : RuleSet
        The rules (``pain`` limit).
    since : datetime.date
        First day shown.

    Returns
    -------
    Chart
        The chart.
    """
    fig, ax = _figure()
    p = pain[pd.to_datetime(pain["date_local"]) >= pd.Timestamp(since)]
    limit = rules["pain"]["max_score"]
    ax.axhspan(limit, 10, color=_c("vermillion"), alpha=0.1,
               label=f"above {limit:g}/10: reduce the load")
    styles = {"morning": ("blue", "o", "-"), "after": ("orange", "s", "--"),
              "during": ("grey", "^", ":")}
    for when, (colour, marker, ls) in styles.items():
        part = p[p["when"] == when]
        if not part.empty:
            ax.plot(pd.to_datetime(part["date_local"]), part["score"], color=_c(colour),
                    marker=marker, ls=ls, ms=4, label=f"{when} ({part['site'].iloc[0]})")
    if p.empty:
        ax.text(0.5, 0.5, "no pain logged in this period", transform=ax.transAxes,
                ha="center", color=_c("grey"))
        ax.set_xticks([])
    ax.set_ylim(0, 10)
    ax.set_ylabel("pain (0-10)")
    ax.set_xlabel("date")
    _legend(ax, ncols=2)
    _date_axis(ax)
    return Chart("heel_pain", "Pain at the first steps in the morning and 24 h after runs",
                 f"The pain-monitoring model: up to {limit:g}/10 is acceptable if it settles by "
                 "the next morning; a morning score that rises entry after entry means the "
                 "load is more than the tissue tolerates.", fig)


@_styled
def cadence(sessions: pd.DataFrame, since: date) -> Chart | None:
    """Draw cadence per run against speed-free time, when sensor sessions exist.

    Parameters
    ----------
    sessions : pandas.DataFrame
        The athlete's sessions (``start_utc``, ``kind``, ``cadence_spm``).
    since : datetime.date
        First day shown.

    Returns
    -------
    Chart or None
        None when no run has a cadence.
    """
    s = sessions[(sessions["kind"] == "run") & pd.to_numeric(
        sessions.get("cadence_spm"), errors="coerce").notna()] if "cadence_spm" in sessions \
        else sessions.iloc[:0]
    s = s[s["start_utc"].dt.tz_convert(None) >= pd.Timestamp(since)]
    if s.empty:
        return None
    fig, ax = _figure()
    ax.plot(s["start_utc"].dt.tz_convert(None), pd.to_numeric(s["cadence_spm"]),
            color=_c("blue"), marker="o", ms=3)
    ax.set_ylabel("cadence (steps/min)")
    ax.set_xlabel("date")
    _date_axis(ax)
    return Chart("cadence", "Cadence per run",
                 "Compare with your own runs at a similar pace: there is no ideal number "
                 "such as 180. A lasting drop can mean fatigue, a niggle or worn shoes.", fig)


@_styled
def impact_by_shoe(sessions: pd.DataFrame, shoe_table: pd.DataFrame) -> Chart | None:
    """Draw each sensor run's median impact against the km on its shoe, one series per shoe.

    Parameters
    ----------
    sessions : pandas.DataFrame
        The athlete's sessions (``start_utc``, ``kind``, ``shoe``, ``distance_m``,
        ``impact_g``), their whole history: a shoe's km count from its first run.
    shoe_table : pandas.DataFrame
        The athlete's shoes (``name``, ``start_km``: km before the log).

    Returns
    -------
    Chart or None
        None when no run with a shoe has an impact.
    """
    if "impact_g" not in sessions:
        return None
    runs = sessions[(sessions["kind"] == "run") & sessions["shoe"].notna()].sort_values(
        "start_utc", kind="stable")
    impact = pd.to_numeric(runs["impact_g"], errors="coerce")
    if impact.isna().all():
        return None
    km = pd.to_numeric(runs["distance_m"], errors="coerce").fillna(0.0) / 1000.0
    start = dict(zip(shoe_table["name"], pd.to_numeric(shoe_table["start_km"], errors="coerce")
                     .fillna(0.0), strict=False)) if len(shoe_table) else {}
    # km on the shoe when the run started: earlier runs plus what it had before the log
    before = km.groupby(runs["shoe"]).cumsum() - km + runs["shoe"].map(start).fillna(0.0)
    fig, ax = _figure()
    colours = ("blue", "orange", "green", "purple", "vermillion", "sky")
    markers = ("o", "s", "^", "D", "v", "P")
    measured = impact.notna()
    for i, shoe in enumerate(sorted(runs.loc[measured, "shoe"].unique())):
        on = measured & (runs["shoe"] == shoe)
        ax.plot(before[on], impact[on], color=_c(colours[i % 6]), marker=markers[i % 6],
                ms=4, lw=1, label=str(shoe))
    ax.set_xlabel("distance on the shoe when the run started (km)")
    ax.set_ylabel("median peak impact (g)")
    _legend(ax, ncols=4)
    return Chart("impact_by_shoe", "Impact per run over each shoe's life",
                 "Median peak impact of each sensor run against the km its shoe had done. A "
                 "rising line at a similar pace and surface can mean the cushioning is going: "
                 "measured, not assumed (km limits are only a convention).", fig)


@_styled
def flag_timeline(flags: Sequence[Flag], since: date, until: date) -> Chart:
    """Draw every flag on a timeline, one row per rule, by severity.

    Parameters
    ----------
    flags : sequence of Flag
        The athlete's flags.
    since, until : datetime.date
        First and last day shown (the report's period).

    Returns
    -------
    Chart
        The chart.
    """
    shown = [f for f in flags if since <= f.date <= until]
    rules = sorted({f.rule for f in shown})
    fig, ax = _figure(height=max(1.9, 1.1 + 0.3 * len(rules)), left=1.2)
    for sev in SEVERITIES:
        pts = [(pd.Timestamp(f.date), rules.index(f.rule)) for f in shown if f.severity == sev]
        if pts:
            colour, marker = SEVERITY_STYLE[sev]
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], color=_c(colour),
                       marker=marker, s=36, label=sev.replace("_", " "), zorder=3)
    ax.set_yticks(range(len(rules)))
    ax.set_yticklabels(rules)
    ax.set_ylim(-0.7, max(len(rules) - 0.3, 0.7))
    day = pd.Timedelta(days=1)
    ax.set_xlim(pd.Timestamp(since) - day, pd.Timestamp(until) + day)
    ax.set_xlabel("date")
    if shown:
        _legend(ax, ncols=4)
    else:
        ax.text(0.5, 0.5, "no flags in this period", transform=ax.transAxes, ha="center")
    _date_axis(ax)
    return Chart("flags", "Flags over time",
                 "Each mark is a flag of a rule (rows) on its date; shape and colour give its "
                 "severity. Clusters of cautions are the weeks to talk about.", fig)


@_styled
def squad_distance(weeks: pd.DataFrame) -> Chart:
    """Draw small multiples of weekly distance, one panel per athlete, on a shared scale.

    Parameters
    ----------
    weeks : pandas.DataFrame
        The squad's weekly load table (several athletes).

    Returns
    -------
    Chart
        The chart.
    """
    names = list(dict.fromkeys(weeks["athlete"]))
    cols = min(4, max(1, len(names)))
    rows = -(-len(names) // cols) if names else 1
    height = 1.3 * rows + 0.4
    fig = Figure(figsize=(7.0, height))
    fig.subplots_adjust(left=0.09, right=0.99, top=1 - 0.3 / height, bottom=0.1 / height,
                        hspace=0.45, wspace=0.08)
    axes = fig.subplots(rows, cols, sharey=True, squeeze=False)
    top = float(weeks["run_km"].max()) if len(weeks) else 1.0
    for ax, name in zip(axes.flat, names, strict=False):
        w = weeks[weeks["athlete"] == name]
        ax.bar(np.arange(len(w)), w["run_km"], color=_c("blue"), width=0.75)
        ax.set_title(str(name), fontsize=8)
        ax.set_xticks([])
        ax.set_ylim(0, top * 1.1 or 1.0)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("km / week")
    return Chart("squad_distance", "Weekly run distance, every athlete on one scale",
                 "One panel per athlete, weeks left to right, shared km scale: compare shapes "
                 "(steady builds, jumps, gaps).", fig)
