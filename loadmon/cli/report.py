"""``loadmon report``: the weekly load charts of a runner or the squad, as HTML or images.

A thin layer: it reads each athlete's log and rules from the store, runs the load
model and hands the frames to `loadmon.report`.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pandas as pd

from loadmon.cli.common import app, today_local
from loadmon.cli.model import model_inputs, parse_date, rules_file_option, squad_rules
from loadmon.models.assess import assess
from loadmon.store import AthleteInfo, Store

if TYPE_CHECKING:
    from loadmon.report.html import RunnerData

# loadmon.report (matplotlib) is imported by the functions that draw: every other
# command starts without it.


def runner_data(store: Store, athletes: list[AthleteInfo], as_of: date | None,
                rules_file: Path | None) -> list[RunnerData]:
    """Read the athletes' logs and run the load model once over all of them.

    Parameters
    ----------
    store : Store
        The log.
    athletes : list of AthleteInfo
        Who.
    as_of : datetime.date or None
        The report's last day; None: today in the first athlete's time zone.
    rules_file : Path or None
        A ``--rules`` file.

    Returns
    -------
    list of RunnerData
        One per athlete, in the order given.
    """
    from loadmon.report.html import RunnerData

    inputs = {who.name: model_inputs(store, who) for who in athletes}
    common, own = squad_rules(store, athletes, rules_file)
    day = as_of or today_local(athletes[0].tz)
    frames = [pd.concat([i[k] for i in inputs.values()], ignore_index=True) for k in range(3)]
    result = assess(*frames, common, as_of=day, athlete_rules=own)
    out = []
    for who in athletes:
        sessions, pain, shoes = inputs[who.name]
        out.append(RunnerData(who.name, who.tz, result.of(who.name), own.get(who.name, common),
                              sessions, pain, shoes, day))
    return out


def write_report(store: Store, athletes: list[AthleteInfo], squad: bool, weeks: int,
                 output: Path, as_of: date | None = None, rules_file: Path | None = None,
                 handoff: bool = False) -> Path:
    """Write the HTML report (or a hand-off page) of `athletes` to `output`.

    Parameters
    ----------
    store : Store
        The log.
    athletes : list of AthleteInfo
        Who is in it.
    squad : bool
        With the squad overview and small multiples.
    weeks : int
        Weeks shown.
    output : Path
        The HTML file.
    as_of : datetime.date or None
        The last day (None: today in each athlete's zone).
    rules_file : Path or None
        A ``--rules`` file.
    handoff : bool
        The one-page hand-off for a physical therapist (one athlete).

    Returns
    -------
    Path
        `output`.
    """
    from loadmon.report.html import render_handoff, render_report

    runners = runner_data(store, athletes, as_of, rules_file)
    if handoff:
        text = render_handoff(runners[0], weeks)
    else:
        title = (f"Squad load report, {weeks} weeks" if squad
                 else f"{runners[0].name}: load report, {weeks} weeks")
        text = render_report(runners, weeks, title, squad, workers=os.cpu_count() or 1)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".part")
    partial.write_text(text, encoding="utf-8")
    partial.replace(output)
    return output


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "athlete"


@click.command("report")
@click.option("--athlete", "-a", default=None, envvar="LOADMON_ATHLETE",
              help="One runner (default: the default athlete).")
@click.option("--squad", is_flag=True, help="Every athlete, with the squad overview first.")
@click.option("--weeks", type=click.IntRange(min=1), default=12, show_default=True)
@click.option("--as-of", "as_of", default=None, metavar="DATE",
              help="The report's last day (default: today).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The HTML file (default: loadmon-report.html).")
@click.option("--format", "fmt", type=click.Choice(["html", "png", "svg", "pdf"]),
              default="html", show_default=True,
              help="png / svg / pdf: each chart in its own file in --out-dir.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for --format png|svg|pdf (default: loadmon-charts).")
@click.option("--handoff", is_flag=True,
              help="One printable page for a physical therapist (one athlete).")
@rules_file_option
@click.pass_context
def report(ctx: click.Context, athlete: str | None, squad: bool, weeks: int, as_of: str | None,
           output: Path | None, fmt: str, out_dir: Path | None, handoff: bool,
           rules_file: Path | None) -> None:
    """Draw the weekly load charts of a runner or the whole squad into one HTML file."""
    store = app(ctx).store
    if squad and (athlete is not None or handoff):
        raise click.UsageError("--squad shows every athlete: drop --athlete / --handoff")
    athletes = store.athletes() if squad else [store.athlete(athlete)]
    day = parse_date("as-of", as_of)
    if fmt != "html":
        from loadmon.report.html import render_figure, runner_charts

        folder = out_dir or Path("loadmon-charts")
        folder.mkdir(parents=True, exist_ok=True)
        for runner in runner_data(store, athletes, day, rules_file):
            for chart in runner_charts(runner, weeks):
                path = render_figure(chart, folder / f"{_slug(runner.name)}-{chart.id}.{fmt}",
                                     fmt)
                click.echo(str(path))
        return
    path = write_report(store, athletes, squad, weeks, output or Path("loadmon-report.html"),
                        day, rules_file, handoff)
    click.echo(str(path))


def register(cli: click.Group) -> None:
    """Add these commands to the ``loadmon`` group."""
    cli.add_command(report)
