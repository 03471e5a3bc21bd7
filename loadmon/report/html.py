"""The self-contained HTML report: the squad overview, small multiples, a section per runner.

One file that opens offline in any browser: the charts are SVG data URIs, the
style is inline, nothing is fetched. Every name and note a user typed is
escaped. `render_figure` writes one chart as PNG, SVG or PDF for slides.
"""

from __future__ import annotations

import base64
import html
import io
import multiprocessing as mp
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from loadmon import __version__
from loadmon.models.assess import Assessment
from loadmon.models.flags import Flag
from loadmon.models.rules import SEVERITIES, RuleSet, default_rules
from loadmon.report import charts
from loadmon.report.charts import Chart

#: How far back a flag still counts as open in the squad overview.
OPEN_DAYS = 14


@dataclass(frozen=True, slots=True)
class RunnerData:
    """Everything the report shows of one runner.

    Attributes
    ----------
    name, tz : str
        The athlete and their time zone.
    assessment : Assessment
        The load model's output on their log.
    rules : RuleSet
        Their rules.
    sessions : pandas.DataFrame
        Their sessions (for cadence).
    pain : pandas.DataFrame
        Their pain entries.
    shoes : pandas.DataFrame
        Their shoes with ``distance_km``.
    as_of : datetime.date
        The report's last day.
    """

    name: str
    tz: str
    assessment: Assessment
    rules: RuleSet
    sessions: pd.DataFrame
    pain: pd.DataFrame
    shoes: pd.DataFrame
    as_of: date


def runner_charts(r: RunnerData, weeks: int) -> list[Chart]:
    """Draw every chart of one runner over the last `weeks` ISO weeks.

    Parameters
    ----------
    r : RunnerData
        The runner.
    weeks : int
        How many weeks.

    Returns
    -------
    list of Chart
        In report order; the cadence and impact charts only with sensor sessions.
    """
    a = r.assessment
    table = a.weekly.tail(weeks)
    since = table["week_start"].iloc[0] if len(table) else r.as_of - timedelta(weeks=weeks)
    out = [
        charts.weekly_distance(table, r.rules),
        charts.run_spikes(a.spikes, since),
        charts.load_ratio(a.daily, r.rules, since),
        charts.fitness_fatigue(a.daily, since),
        charts.shoes(r.shoes, table),
        charts.strength_cross(table, r.rules),
        charts.heel_pain(r.pain, r.rules, since),
    ]
    for extra in (charts.cadence(r.sessions, since), charts.impact_by_shoe(r.sessions, r.shoes)):
        if extra is not None:
            out.append(extra)
    out.append(charts.flag_timeline(a.flags, since, r.as_of))
    return out


def svg_data_uri(chart: Chart) -> str:
    """Return a chart as an SVG data URI (an isolated document: ids never collide).

    Parameters
    ----------
    chart : Chart
        The chart.

    Returns
    -------
    str
        ``data:image/svg+xml;base64,...``.
    """
    buf = io.BytesIO()
    with charts.style():
        chart.figure.savefig(buf, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def render_figure(chart: Chart, path: Path, fmt: str) -> Path:
    """Write one chart as ``png``, ``svg`` or ``pdf``.

    Parameters
    ----------
    chart : Chart
        The chart.
    path : Path
        The file (its suffix is not checked).
    fmt : {"png", "svg", "pdf"}
        The format.

    Returns
    -------
    Path
        `path`.
    """
    meta = {"Date": None} if fmt in {"svg", "pdf"} else {}
    with charts.style():
        chart.figure.savefig(path, format=fmt, dpi=150, metadata=meta)
    return path


def _worst(flags: Sequence[Flag]) -> str:
    return max((f.severity for f in flags), key=SEVERITIES.index, default="")


def squad_rows(runners: Sequence[RunnerData]) -> list[dict[str, object]]:
    """Return the squad overview: one row per athlete, the most severe open flag first.

    Parameters
    ----------
    runners : sequence of RunnerData
        The squad.

    Returns
    -------
    list of dict
        Sorted by the most severe open flag, then by the number of open flags:
        ``athlete``, ``worst`` (severity of the most severe flag of the last
        `OPEN_DAYS` days, ``""`` for none), ``week_km``, ``ramp_pct``,
        ``next_run_ceiling_km`` (the longest next run without a spike flag; None
        without a recent base), ``main_shoe_pct`` (last 4 weeks), ``strength``
        (this week), ``worst_pain`` (last `OPEN_DAYS` days), ``open_flags``.
    """
    rows = []
    for r in runners:
        a = r.assessment
        since = r.as_of - timedelta(days=OPEN_DAYS - 1)
        open_flags = [f for f in a.flags if f.date >= since]
        week = a.weekly.iloc[-1] if len(a.weekly) else None
        spike = r.rules["spike"]
        recent = a.spikes[a.spikes["day"] > pd.Timestamp(r.as_of - timedelta(
            days=spike["window_days"]))]
        pain = r.pain[pd.to_datetime(r.pain["date_local"]) >= pd.Timestamp(since)]
        rows.append({
            "athlete": r.name, "worst": _worst(open_flags),
            "week_km": None if week is None else float(week["run_km"]),
            "ramp_pct": None if week is None or pd.isna(week["ramp_pct"])
            else float(week["ramp_pct"]),
            "next_run_ceiling_km": float(recent["max_km"].max()) * (
                1 + spike["caution_pct"] / 100.0) if len(recent) else None,
            "main_shoe_pct": None if a.weekly.empty or a.weekly["main_shoe_pct"].tail(4).isna()
            .all() else float(a.weekly["main_shoe_pct"].tail(4).mean()),
            "strength": None if week is None else int(week["strength_sessions"]),
            "worst_pain": float(pain["score"].max()) if len(pain) else None,
            "open_flags": len(open_flags),
        })
    rank = {s: i for i, s in enumerate(("", *SEVERITIES))}
    return sorted(rows, key=lambda row: (-rank[str(row["worst"])], -int(row["open_flags"]),  # type: ignore[call-overload]
                                         str(row["athlete"])))


_CSS = """
:root { --ink: #1a1a1a; --muted: #555; --line: #ccc; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
       max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; border-top: 2px solid var(--line);
     padding-top: .8rem; } h3 { font-size: 1rem; margin-bottom: .2rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .4rem; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
figure { margin: .8rem 0 1.2rem; break-inside: avoid; }
figure img { width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .85rem; }
.sev { font-weight: 600; white-space: nowrap; }
.sev-info { color: #0b6a9a; } .sev-caution { color: #9a5d00; }
.sev-high { color: #b03c00; } .sev-very_high { color: #8a2f6a; }
.sev::before { content: ""; } .sev-caution::before { content: "\\25B2 "; }
.sev-high::before { content: "\\25A0 "; } .sev-very_high::before { content: "\\25C6 "; }
.note { color: var(--muted); font-size: .85rem; }
@media print { body { max-width: none; margin: 0; font-size: 11px; }
  section.runner { break-before: page; } a { color: inherit; text-decoration: none; } }
@page { size: A4; margin: 12mm; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(value: object, fmt: str) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "-"
    return format(value, fmt)


def _sev(severity: str) -> str:
    if not severity:
        return '<span class="note">none</span>'
    return f'<span class="sev sev-{_e(severity)}">{_e(severity.replace("_", " "))}</span>'


def _figure_html(chart: Chart) -> str:
    return (f'<figure id="{_e(chart.id)}"><h3>{_e(chart.title)}</h3>'
            f'<img class="chart" alt="{_e(chart.title)}" src="{svg_data_uri(chart)}">'
            f"<figcaption>{_e(chart.caption)}</figcaption></figure>")


def _flags_table(flags: Sequence[Flag]) -> str:
    if not flags:
        return '<p class="note">No flags in this period.</p>'
    rows = "".join(
        f'<tr><td class="text">{f.date.isoformat()}</td><td class="text">{_sev(f.severity)}</td>'
        f'<td class="text">{_e(f.rule)}</td><td class="text">{_e(f.message)}</td>'
        f'<td class="text note">{_e(f.evidence)}</td></tr>' for f in flags)
    return ('<table class="flags"><thead><tr><th>date</th><th>severity</th><th>rule</th>'
            f"<th>message</th><th>evidence</th></tr></thead><tbody>{rows}</tbody></table>")


def _runner_section(r: RunnerData, weeks: int, anchor: str) -> str:
    """Draw a runner's charts and lay out their section (figures closed when done)."""
    since = r.as_of - timedelta(weeks=weeks)
    flags = [f for f in r.assessment.flags if f.date > since]
    excluded = "".join(
        f'<li>{_e(x.kind)} on {x.day.date().isoformat()}: left out ({_e(x.reason)})</li>'
        for x in r.assessment.excluded.itertuples())
    return (f'<section class="runner" id="{anchor}"><h2>{_e(r.name)}</h2>'
            f'<p class="note">{weeks} weeks to {r.as_of.isoformat()} ({_e(r.tz)})</p>'
            + "".join(_figure_html(c) for c in runner_charts(r, weeks))
            + "<h3>Flags</h3>" + _flags_table(flags)
            + (f'<h3>Left out of the model</h3><ul class="note">{excluded}</ul>'
               if excluded else "")
            + "</section>")


def render_report(runners: Sequence[RunnerData], weeks: int, title: str,
                  squad: bool = False, workers: int = 1) -> str:
    """Return the whole report as one self-contained HTML document.

    Parameters
    ----------
    runners : sequence of RunnerData
        The runners.
    weeks : int
        Weeks shown.
    title : str
        The report's title.
    squad : bool
        With the squad overview and the small multiples of weekly distance first.
    workers : int
        Processes drawing the runners' sections (forked, where the platform forks;
        the squad's own chart is drawn meanwhile).

    Returns
    -------
    str
        HTML.
    """
    anchors = {r.name: f"runner-{i}" for i, r in enumerate(runners)}
    parts = [f"<h1>{_e(title)}</h1>",
             f'<p class="note">loadmon {_e(__version__)}: flags say what was measured, '
             "against what, and how strong the evidence is; none is a diagnosis.</p>"]
    with _sections(runners, weeks, [anchors[r.name] for r in runners], workers) as sections:
        if squad:
            rows = "".join(
                f'<tr><td><a href="#{anchors[str(row["athlete"])]}">{_e(row["athlete"])}'
                f'</a></td><td class="text">{_sev(str(row["worst"]))}</td>'
                f'<td>{_num(row["week_km"], ".1f")}</td>'
                f'<td>{_num(row["ramp_pct"], "+.0f")}</td>'
                f'<td>{_num(row["next_run_ceiling_km"], ".1f")}</td>'
                f'<td>{_num(row["main_shoe_pct"], ".0f")}</td>'
                f'<td>{_num(row["strength"], "d")}</td>'
                f'<td>{_num(row["worst_pain"], "g")}</td><td>{row["open_flags"]}</td></tr>'
                for row in squad_rows(runners))
            multiples = charts.squad_distance(pd.concat(
                [r.assessment.weekly.tail(weeks) for r in runners], ignore_index=True))
            parts.append(
                '<h2>Squad overview</h2><table id="squad"><thead><tr><th>athlete</th>'
                "<th>most severe flag (14 d)</th><th>km this week</th><th>ramp %</th>"
                "<th>next run ceiling km</th><th>main shoe %</th><th>strength</th>"
                "<th>worst pain</th><th>flags (14 d)</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>"
                '<p class="note">Next run ceiling: the longest next run without a spike flag '
                "(10 % over the longest run of the previous 30 days).</p>"
                + _figure_html(multiples))
        parts += list(sections)
    return _page(title, "".join(parts))


#: The work of `_sections` in forked worker processes: set before the pool forks, so
#: the runners' frames are inherited, never pickled.
_JOB: tuple[Sequence[RunnerData], int, list[str]] | None = None


def _section_job(i: int) -> str:
    assert _JOB is not None
    runners, weeks, anchors = _JOB
    return _runner_section(runners[i], weeks, anchors[i])


def _warm_up() -> None:
    """Draw one small chart, so that forked workers start with matplotlib's caches filled."""
    weeks = pd.DataFrame({"week": ["2026-W01"], "run_km": [1.0], "ramp_pct": [float("nan")],
                          **{f"surface_{s}_pct": [100.0 if s == "road" else float("nan")]
                             for s in charts.SURFACES}})
    svg_data_uri(charts.weekly_distance(weeks, default_rules()))


@contextmanager
def _sections(runners: Sequence[RunnerData], weeks: int, anchors: list[str],
              workers: int) -> Iterator[Iterator[str]]:
    """Start drawing every runner's section; yield them in order as they are done.

    In `workers` forked processes where the platform forks (the caller works
    meanwhile), else in this process when the sections are read.
    """
    global _JOB
    if workers <= 1 or len(runners) <= 1 or "fork" not in mp.get_all_start_methods():
        yield (_runner_section(r, weeks, a) for r, a in zip(runners, anchors, strict=True))
        return
    _JOB = (runners, weeks, anchors)
    _warm_up()  # fonts and text layout caches load once, here, and every worker inherits them
    try:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            yield pool.map(_section_job, range(len(runners)))
    finally:
        _JOB = None


def render_handoff(r: RunnerData, weeks: int) -> str:
    """Return the one-page hand-off for a physical therapist: load, pain, shoes, strength, flags.

    Parameters
    ----------
    r : RunnerData
        The runner.
    weeks : int
        Weeks covered (12 by default in the CLI).

    Returns
    -------
    str
        HTML, laid out to print on one A4 page.
    """
    t = r.assessment.weekly.tail(weeks)
    rows = "".join(
        f"<tr><td>{_e(w.week)}</td><td>{w.run_km:.1f}</td><td>{w.runs}</td>"
        f"<td>{w.long_run_km:.1f}</td><td>{_num(w.ramp_pct, '+.0f')}</td>"
        f"<td>{w.strength_sessions}</td><td>{w.cross_min:.0f}</td>"
        f"<td class='text'>{_e(w.main_shoe) if isinstance(w.main_shoe, str) else '-'}</td>"
        f"<td>{_num(w.worst_morning_pain, 'g')}</td></tr>" for w in t.itertuples())
    keep = {"weekly_distance", "heel_pain", "shoes"}
    figs = "".join(_figure_html(c) for c in runner_charts(r, weeks) if c.id in keep)
    since = r.as_of - timedelta(weeks=weeks)
    flags = [f for f in r.assessment.flags if f.date > since and f.severity != "info"]
    body = (f"<h1>{_e(r.name)}: running load, {weeks} weeks to {r.as_of.isoformat()}</h1>"
            '<table><thead><tr><th>week</th><th>km</th><th>runs</th><th>long km</th>'
            "<th>ramp %</th><th>strength</th><th>cross min</th><th>main shoe</th>"
            f"<th>morning pain</th></tr></thead><tbody>{rows}</tbody></table>"
            f"{figs}<h3>Flags (caution and above)</h3>{_flags_table(flags)}")
    css = ("@media print { figure img { max-height: 55mm; width: auto; } "
           "body { font-size: 10px; } }")
    return _page(f"{r.name}: hand-off", body, css)


def _page(title: str, body: str, extra_css: str = "") -> str:
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}{extra_css}</style></head>"
            f"<body>{body}</body></html>")
