"""``loadmon replay``: run the foot-contact detector over a recorded file."""

from __future__ import annotations

import contextlib
import difflib
import json
import math
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from loadmon.cli.common import app, athlete_option, console, json_option, print_json
from loadmon.io.errors import FileFormatError
from loadmon.types import SURFACES

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from loadmon.replay import ReplayResult
    from loadmon.signal.types import GaitSummary, Recording

# Nothing of loadmon.signal is imported when this module is: importing any of
# it runs loadmon/signal/__init__.py, which loads the detector and scipy.signal
# (about 1.3 s here), and every ``loadmon`` command imports this module at start.

#: Keys of one contact in the ``--json`` output, in order.
JSON_CONTACT_KEYS = ("t_s", "side", "impact_g", "contact_ms")
#: Keys of the summary in the ``--json`` output, in order.
JSON_SUMMARY_KEYS = ("contacts", "steps", "cadence_spm", "impact_g_median", "contact_ms_median")

#: Decimals kept in the JSON output: t_s as written in the plain layout (1 us).
_DECIMALS = {"t_s": 6, "impact_g": 4, "contact_ms": 2, "cadence_spm": 2,
             "impact_g_median": 4, "contact_ms_median": 2, "duration_s": 6}


# The detector is looked up when a replay runs (see above); a missing detector
# is a one-line error of this command only. Tests replace these two names.
def detect_contacts(rec: Recording) -> pd.DataFrame:
    """Find the foot contacts of `rec` (`loadmon.signal.detect_contacts`)."""
    return _signal().detect_contacts(rec)


def summarize(
    contacts: pd.DataFrame, rec: Recording, segments_s: np.ndarray | None = None
) -> GaitSummary:
    """Summarize the contacts of `rec` (`loadmon.signal.summarize`)."""
    return _signal().summarize(contacts, rec, segments_s)


def _signal() -> Any:
    import loadmon.signal as signal

    if not hasattr(signal, "detect_contacts") or not hasattr(signal, "summarize"):
        raise click.ClickException("the contact detector is not available in this installation")
    return signal


class _LazyChoice(click.Choice):
    """`click.Choice` whose choices are looked up on first use (they need loadmon.signal)."""

    def __init__(self, load: Callable[[], tuple[str, ...]]) -> None:
        self._load = load
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        """The choices."""
        return self._load()

    @choices.setter
    def choices(self, _value: Any) -> None:
        """Ignore `click.Choice.__init__`'s assignment."""


class _PlacementChoice(_LazyChoice):
    """The placements, listed in --help; the command refuses any other in one line naming FILE."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Pass the value on unchecked (see `replay_cmd`)."""
        return value


def _placements() -> tuple[str, ...]:
    from loadmon.signal.types import PLACEMENTS

    return PLACEMENTS


def _formats() -> tuple[str, ...]:
    from loadmon.io.exporters import FORMATS

    return tuple(FORMATS)


#: Acceleration and time units of ``--units`` and ``--time-unit`` (`loadmon.io.exporters`).
UNITS = ("g", "mg", "m/s2")
TIME_UNITS = ("s", "ms", "us", "ns")
#: How `ExportInfo.units_origin` reads in the human output.
_ORIGINS = {"format": "fixed by the format", "header": "from the header",
            "argument": "as given", "assumed": "assumed from their magnitude"}
_UNIT_NAMES = {"g": "g", "mg": "milli-g", "m/s2": "m/s^2"}


@click.command("replay")
@click.argument("file", type=click.Path(path_type=Path), required=False)
@click.option(
    "--placement", "-p", type=_PlacementChoice(_placements), default=None,
    help="Where the sensor was worn (required).",
)
@click.option(
    "--fs", "fs_hz", type=click.FloatRange(1.0, 10_000.0), default=None, metavar="HZ",
    help="Nominal sampling rate in Hz. Default: the file's (header, meta.json), "
         "else 1 / median sample interval.",
)
@click.option("--format", "format_name", type=_LazyChoice(_formats), default=None,
              help="Read FILE as this format instead of detecting it (see --list-formats).")
@click.option("--list-formats", is_flag=True, help="List the formats FILE may have and exit.")
@click.option("--units", type=click.Choice(UNITS), default=None,
              help="Acceleration unit when the header does not say it (generic CSV).")
@click.option("--time-unit", type=click.Choice(TIME_UNITS), default=None,
              help="Unit of a generic CSV's time column when its header does not say it.")
@click.option("--live", is_flag=True,
              help="Replay at real time (x --speed), showing a live line as it goes.")
@click.option("--speed", type=click.FloatRange(0.01, 10_000.0), default=None,
              metavar="X", help="With --live: replay X times faster than real time (default 1).")
@click.option("--save", is_flag=True,
              help="Add the run to the log (with its gait summary) and keep the raw samples "
                   "as Parquet in the data folder; the same file is saved once.")
@athlete_option
@click.option("--shoe", default=None, help="With --save: the shoe worn (as in loadmon shoes).")
@click.option("--surface", type=click.Choice(SURFACES), default=None,
              help="With --save: the surface run on.")
@click.option("--distance-km", type=click.FloatRange(0.0, 1000.0), default=None, metavar="KM",
              help="With --save: the measured distance. Default: estimated from the steps "
                   "and the athlete's step length (marked estimated).")
@click.option("--rpe", type=click.FloatRange(0.0, 10.0), default=None,
              help="With --save: session RPE, 0-10.")
@json_option
@click.pass_context
def replay_cmd(
    ctx: click.Context,
    file: Path | None,
    placement: str | None,
    fs_hz: float | None,
    format_name: str | None,
    list_formats: bool,
    units: str | None,
    time_unit: str | None,
    live: bool,
    speed: float | None,
    save: bool,
    athlete: str | None,
    shoe: str | None,
    surface: str | None,
    distance_km: float | None,
    rpe: float | None,
    as_json: bool,
) -> None:
    """Find the foot contacts in a recording; print cadence, impacts and contact time.

    FILE is an export of a phone app or sensor logger (phyphox, Sensor Logger
    CSV or zip, Polar Sensor Logger, MetaWear, ActiGraph), a generic CSV of a
    time column and three axes, or loadmon's plain layout (samples.csv with
    t_s, ax_g, ay_g, az_g, or its folder); the format is detected from the
    header (--list-formats). Long files are streamed in constant memory,
    with a progress bar on a terminal. Repairs made while reading (dropped
    rows, sorted or repeated timestamps, gaps) and assumptions (units) are
    listed; with --json they go to stderr so that stdout holds the JSON only.
    """
    if list_formats:
        _print_formats(as_json)
        return
    if file is None:
        raise click.UsageError("Missing argument 'FILE'.")
    if placement is None:
        raise click.UsageError("Missing option '--placement' / '-p'.")
    if placement not in _placements():
        near = difflib.get_close_matches(placement, _placements(), n=1)
        raise click.ClickException(
            f"{file}: placement {placement!r} is not one of {', '.join(_placements())}"
            + (f" (did you mean {near[0]}?)" if near else "")
        )
    if speed is not None and not live:
        raise click.UsageError("--speed applies to --live only")
    if not save:
        given = [name for name, value in (("--shoe", shoe), ("--surface", surface),
                                          ("--distance-km", distance_km), ("--rpe", rpe))
                 if value is not None]
        if given:
            raise click.UsageError(f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} "
                                   "to --save only")
    from loadmon import replay as service

    out = click.get_text_stream("stderr" if as_json else "stdout")
    view = _LiveView(out, placement, speed or 1.0) if live else None
    bar = None if live else _progress_bar()

    def run(sink: Any) -> Any:
        return service.replay(
            file, placement, format=format_name, units=units, time_unit=time_unit, fs_hz=fs_hz,
            sink=sink, progress=bar.update if bar else None,
            on_update=view.update if view else None, pacer=view.pacer if view else None,
            detect=lambda rec: detect_contacts(rec), summarize=lambda c, r, s: summarize(c, r, s),
        )

    try:
        with bar or contextlib.nullcontext():
            if save:
                result, saved = _save(ctx, file, run, athlete, shoe, surface, distance_km, rpe)
            else:
                result, saved = run(None), None
    except FileFormatError as exc:  # one line that names the file already
        raise FileFormatError(_cli_words(str(exc))) from exc
    except OSError as exc:
        raise click.ClickException(f"{file}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise click.ClickException(f"{file}: {exc}") from exc
    finally:
        if view is not None:
            view.close()
    if as_json:
        for note in result.notes:
            click.echo(f"{file}: {note}", err=True)
        if saved is not None:
            click.echo(f"{file}: {_saved_line(saved)}", err=True)
        click.echo(json.dumps(replay_json(file, result, result.contacts, result.summary),
                              indent=2, allow_nan=False, ensure_ascii=False))
    else:
        click.echo(_human(file, result, result.summary, result.notes, saved))


#: The readers' advice names their arguments; here the options say the same.
_ARGUMENT_WORDS = (
    (re.compile(r"\bunits=(?:'([^']*)')?"), lambda m: f"--units {m[1]}" if m[1] else "--units"),
    (re.compile(r"\btime_unit="), lambda m: "--time-unit"),
    (re.compile(r"\bpass fs_hz\b"), lambda m: "pass --fs"),
)


def _cli_words(message: str) -> str:
    """Return a reader's message with its argument names as the options' (``--units mg``)."""
    for pattern, repl in _ARGUMENT_WORDS:
        message = pattern.sub(repl, message)
    return message


def _print_formats(as_json: bool) -> None:
    from loadmon.io.exporters import FORMATS

    if as_json:
        print_json([{"name": f.name, "description": f.description, "expected": f.expected}
                    for f in FORMATS.values()])
        return
    width = max(len(name) for name in FORMATS) + 2
    click.echo(f"{'name':<{width}}description")
    for f in FORMATS.values():
        click.echo(f"{f.name:<{width}}{f.description}")


def _save(
    ctx: click.Context,
    file: Path,
    run: Callable[[Any], Any],
    athlete: str | None,
    shoe: str | None,
    surface: str | None,
    distance_km: float | None,
    rpe: float | None,
) -> tuple[Any, Any]:
    from loadmon.io.rawfiles import content_checksum
    from loadmon.replay import RunDetails, save_replay
    from loadmon.store import data_dir

    checksum = content_checksum(file)
    details = RunDetails(athlete, shoe, surface, distance_km, rpe)
    return save_replay(app(ctx).store, file, details, checksum, data_dir(), run)


def _saved_line(saved: Any) -> str:
    """Say what ``--save`` stored, in one line."""
    local = saved.start_local
    when = (f"{local:%Y-%m-%d %H:%M} ({saved.tz})" if saved.time_known
            else f"{local.date().isoformat()} (start time unknown: dated by the file's "
                 "modification time)")
    if saved.status == "duplicate":
        return (f"already in the log of {saved.athlete} (as {saved.duplicate_of}): "
                "nothing saved")
    if saved.distance_m is None:
        distance = "distance unknown (no steps)"
    elif saved.distance_estimated:
        distance = (f"{saved.distance_m / 1000:.2f} km estimated from the steps, "
                    f"{saved.step_length.describe()}")
    else:
        distance = f"{saved.distance_m / 1000:.2f} km"
    return f"saved to the log of {saved.athlete}: run of {when}, {distance}; raw samples " \
           f"in {saved.recording}"


class _LiveView:
    """The live line of ``--live``: pacing, figures and their display."""

    def __init__(self, out: Any, placement: str, speed: float) -> None:
        from loadmon.cli.live import PLAIN_EVERY_S, LiveLine, LiveStats
        from loadmon.replay import Pacer
        from loadmon.signal.types import SINGLE_FOOT

        self.pacer = Pacer(speed, clock=clock, sleep=sleep)
        self.stats = LiveStats(placement in SINGLE_FOOT)
        # piped: a line every PLAIN_EVERY_S of wall-clock time, whatever the speed
        self.line = LiveLine(out, terminal=_is_terminal(out), clock=clock,
                             plain_every_s=PLAIN_EVERY_S * max(speed, 1.0))
        self.state: Any = None

    def update(self, elapsed_s: float, now_s: float, contacts: Any) -> None:
        self.state = self.stats.update(elapsed_s, now_s, contacts)
        self.line.show(self.state)

    def close(self) -> None:
        if self.state is not None:
            self.line.close(self.state)


#: The wall clock and sleep of ``--live`` (tests replace them: no real waiting).
clock: Callable[[], float] = time.monotonic
sleep: Callable[[float], None] = time.sleep


def _is_terminal(out: Any) -> bool:
    try:
        return bool(out.isatty())
    except (AttributeError, ValueError):
        return False


class _ProgressBar:
    """A rich progress bar on stderr for the share of the file read."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("replaying"), BarColumn(), TextColumn("{task.percentage:>3.0f} %"),
            TimeRemainingColumn(), console=console(stderr=True), transient=True,
        )
        self._task = self._progress.add_task("replay", total=1.0)

    def __enter__(self) -> _ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, fraction: float) -> None:
        self._progress.update(self._task, completed=fraction)


def _progress_bar() -> _ProgressBar | None:
    """Return a progress bar when stderr is a terminal, else None (piped: no bar)."""
    return _ProgressBar() if console(stderr=True).is_terminal else None


def replay_json(
    file: Path, result: ReplayResult, contacts: pd.DataFrame, summary: GaitSummary
) -> dict[str, Any]:
    """Return the ``--json`` document of a replay; unknown values (None, NaN) are None.

    Parameters
    ----------
    file : Path
        The file as given on the command line.
    result : ReplayResult
        The replay (`loadmon.replay.replay`).
    contacts : pandas.DataFrame
        The detector's contacts (columns of `loadmon.signal.types.CONTACT_COLUMNS`).
    summary : GaitSummary
        Their summary.

    Returns
    -------
    dict
        ``file``, ``placement``, ``fs_hz``, ``duration_s``, ``contacts`` (a list of
        ``t_s``, ``side``, ``impact_g``, ``contact_ms``) and ``summary``
        (``contacts``, ``steps``, ``cadence_spm``, ``impact_g_median``,
        ``contact_ms_median``); plain Python values, ready for `json.dumps`.
    """
    rows = contacts.loc[:, list(JSON_CONTACT_KEYS)].to_dict("records") if len(contacts) else []
    return {
        "file": str(file),
        "placement": result.placement,
        "fs_hz": _value(result.fs_hz),
        "duration_s": _value(result.duration_s, _DECIMALS["duration_s"]),
        "contacts": [
            {key: _value(row[key], _DECIMALS.get(key)) for key in JSON_CONTACT_KEYS}
            for row in rows
        ],
        "summary": {
            key: _value(getattr(summary, key), _DECIMALS.get(key)) for key in JSON_SUMMARY_KEYS
        },
    }


def _value(value: Any, decimals: int | None = None) -> Any:
    """Return `value` as a plain JSON value: numpy scalars unwrapped, NaN/NA as None."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None  # pandas.NA, NaT and other "unknown" markers
    if not math.isfinite(number):
        return None
    return round(number, decimals) if decimals is not None else number


# --------------------------------------------------------------------------- text


def _human(
    file: Path, result: ReplayResult, summary: GaitSummary, notes: list[str], saved: Any = None
) -> str:
    from loadmon.signal.types import SINGLE_FOOT

    info = result.info
    gyro = "with gyroscope" if result.has_gyro else "no gyroscope"
    side = f", {result.side}" if result.side else ""
    time_unit = f"; time in {info.time_unit}" if info.time_unit else ""
    member = f" ({info.member})" if info.member else ""
    lines = [
        f"{file}",
        f"  {result.placement}{side}, {result.fs_hz:g} Hz, {_duration(result.duration_s)}, "
        f"{result.n_samples} samples, {gyro}",
        f"  read as {info.format}{member}: accelerations in {_UNIT_NAMES[info.units]} "
        f"({_ORIGINS.get(info.units_origin, info.units_origin)}){time_unit}",
        "",
    ]
    clipped = f" ({summary.clipped} clipped at the sensor's range)" if summary.clipped else ""
    one_foot = " (both feet: twice the contacts of one foot)" \
        if result.placement in SINGLE_FOOT else ""
    rows = [
        ("contacts", f"{summary.contacts}{clipped}"),
        ("steps", f"{summary.steps}{one_foot}"),
        ("cadence", _num(summary.cadence_spm, "steps/min", 1)),
        ("impact", _spread(summary.impact_g_median, summary.impact_g_iqr, "g", 2)),
        ("contact time", _spread(summary.contact_ms_median, summary.contact_ms_iqr, "ms", 0)),
        ("step time CV", _num(None if summary.step_time_cv is None
                              else 100.0 * summary.step_time_cv, "%", 1)),
    ]
    lines += [f"  {name:<14}{text}" for name, text in rows]
    per_min = summary.cadence_spm_per_min
    if per_min:
        lines += ["", "  cadence per minute (steps/min):"]
        cells = [f"{i + 1:>3}: {'-' if _unknown(v) else f'{v:.0f}':>3}"
                 for i, v in enumerate(per_min)]
        lines += ["   " + "   ".join(cells[i:i + 8]) for i in range(0, len(cells), 8)]
    lines += ["", "  repairs while reading:" if notes else "  repairs while reading: none"]
    lines += [f"   - {note}" for note in notes]
    if saved is not None:
        lines += ["", f"  {_saved_line(saved)}"]
    return "\n".join(lines)


def _unknown(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def _num(value: float | None, unit: str, decimals: int) -> str:
    return "unknown" if _unknown(value) else f"{value:.{decimals}f} {unit}"


def _spread(median: float | None, iqr: float | None, unit: str, decimals: int) -> str:
    if _unknown(median):
        return "unknown"
    text = f"median {median:.{decimals}f} {unit}"
    return text if _unknown(iqr) else f"{text}, IQR {iqr:.{decimals}f} {unit}"


def _duration(seconds: float) -> str:
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {sec:02d} s" if minutes else f"{seconds:.1f} s"


def register(cli: click.Group) -> None:
    """Add this command to the ``loadmon`` group."""
    cli.add_command(replay_cmd)
