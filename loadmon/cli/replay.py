"""``loadmon replay``: run the foot-contact detector over a recorded file."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from loadmon.cli.common import json_option
from loadmon.io.errors import FileFormatError

if TYPE_CHECKING:
    import pandas as pd

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


def summarize(contacts: pd.DataFrame, rec: Recording) -> GaitSummary:
    """Summarize the contacts of `rec` (`loadmon.signal.summarize`)."""
    return _signal().summarize(contacts, rec)


def _signal() -> Any:
    import loadmon.signal as signal

    if not hasattr(signal, "detect_contacts") or not hasattr(signal, "summarize"):
        raise click.ClickException("the contact detector is not available in this installation")
    return signal


class _PlacementChoice(click.Choice):
    """`click.Choice` over `loadmon.signal.types.PLACEMENTS`, looked up on first use."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        """The placements."""
        from loadmon.signal.types import PLACEMENTS

        return PLACEMENTS

    @choices.setter
    def choices(self, _value: Any) -> None:
        """Ignore `click.Choice.__init__`'s assignment."""


@click.command("replay")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--placement", "-p", required=True, type=_PlacementChoice(),
    help="Where the sensor was worn.",
)
@click.option(
    "--fs", "fs_hz", type=click.FloatRange(1.0, 10_000.0), default=None, metavar="HZ",
    help="Nominal sampling rate in Hz. Default: fs_hz of a meta.json beside the file, "
         "else 1 / median sample interval.",
)
@json_option
def replay_cmd(file: Path, placement: str, fs_hz: float | None, as_json: bool) -> None:
    """Find the foot contacts in a recording; print cadence, impacts and contact time.

    FILE is samples.csv or samples.csv.gz (columns t_s, ax_g, ay_g, az_g in s
    and g, optionally gx_dps, gy_dps, gz_dps in deg/s), or the folder holding
    it. Repairs made while reading (dropped rows, sorted or repeated
    timestamps, gaps) are listed; with --json they go to stderr so that
    stdout holds the JSON only.
    """
    from loadmon.io.recordings import read_plain_recording

    try:
        rec, notes = read_plain_recording(file, placement, fs_hz)
    except FileFormatError as exc:
        raise FileFormatError(f"{file}: {exc}") from exc
    except OSError as exc:
        raise click.ClickException(f"{file}: {exc.strerror or exc}") from exc
    contacts = detect_contacts(rec)
    summary = summarize(contacts, rec)
    if as_json:
        for note in notes:
            click.echo(f"{file}: {note}", err=True)
        click.echo(json.dumps(replay_json(file, rec, contacts, summary), indent=2,
                              allow_nan=False, ensure_ascii=False))
    else:
        click.echo(_human(file, rec, summary, notes))


def replay_json(
    file: Path, rec: Recording, contacts: pd.DataFrame, summary: GaitSummary
) -> dict[str, Any]:
    """Return the ``--json`` document of a replay; unknown values (None, NaN) are None.

    Parameters
    ----------
    file : Path
        The file as given on the command line.
    rec : Recording
        The recording read from it.
    contacts : pandas.DataFrame
        The detector's contacts (columns of `loadmon.signal.types.CONTACT_COLUMNS`).
    summary : GaitSummary
        Their summary.

    Returns
    -------
    dict
        ``file``, ``placement``, ``fs_hz``, ``duration_s``, ``contacts`` (a list
        of ``t_s``, ``side``, ``impact_g``, ``contact_ms``) and ``summary``
        (``contacts``, ``steps``, ``cadence_spm``, ``impact_g_median``,
        ``contact_ms_median``); plain Python values, ready for `json.dumps`.
    """
    rows = contacts.loc[:, list(JSON_CONTACT_KEYS)].to_dict("records") if len(contacts) else []
    return {
        "file": str(file),
        "placement": rec.placement,
        "fs_hz": _value(rec.fs_hz),
        "duration_s": _value(rec.duration_s, _DECIMALS["duration_s"]),
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


def _human(file: Path, rec: Recording, summary: GaitSummary, notes: list[str]) -> str:
    from loadmon.signal.types import SINGLE_FOOT

    gyro = "with gyroscope" if rec.gyro_dps is not None else "no gyroscope"
    side = f", {rec.side}" if rec.side else ""
    lines = [
        f"{file}",
        f"  {rec.placement}{side}, {rec.fs_hz:g} Hz, {_duration(rec.duration_s)}, "
        f"{len(rec.t_s)} samples, {gyro}",
        "",
    ]
    clipped = f" ({summary.clipped} clipped at the sensor's range)" if summary.clipped else ""
    one_foot = " (both feet: twice the contacts of one foot)" \
        if rec.placement in SINGLE_FOOT else ""
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
