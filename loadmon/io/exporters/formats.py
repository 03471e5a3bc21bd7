"""The exporter formats: how each is recognised and how its columns map to s and g.

Sources of the header knowledge (public code and documentation):

* phyphox: ``DataExport.java`` of phyphox-android writes one header line of
  quoted column names joined by the separator, then numbers as
  ``0.000000000E0`` (``NaN`` where a column is shorter), with the formats
  "CSV (Comma, decimal point)", "(Tabulator, decimal point)",
  "(Semicolon, decimal point)", "(Tabulator, decimal comma)" and
  "(Semicolon, decimal comma)"; the zip export holds ``<set>.csv`` plus
  ``meta/device.csv`` and ``meta/time.csv``. Column names from the
  experiments' ``<export>`` sets (``accelerometer.phyphox``,
  ``linear_accelerometer.phyphox``): ``"Time (s)"``, ``"Acceleration x
  (m/s^2)"`` ... (with g), ``"Linear Acceleration x (m/s^2)"`` ... (without
  g), optionally ``"Absolute acceleration (m/s^2)"``.
* Sensor Logger (Kelvin Choi): awesome-sensor-logger ``README.md`` and
  ``UNITS.md``: ``time`` is Unix ns (UTC), ``seconds_elapsed`` s since the
  start (may be negative); ``TotalAcceleration.csv`` includes gravity,
  ``Accelerometer.csv`` does not (on iOS only the latter is logged: add
  ``Gravity.csv``), all in m/s^2 (g = 9.80665); ``Gyroscope.csv`` in rad/s;
  the zip holds one CSV per sensor plus ``Metadata.csv`` (``device name``,
  ``platform``, ...); duplicated rows happen. The column order
  ``time,seconds_elapsed,z,y,x`` is the one many projects reading real
  exports spell out (the docs name the columns but not their order).
* Polar Sensor Logger: per-stream text files such as
  ``Polar_H10_<id>_<date>_<time>_ACC.txt``, ``;``-separated, header
  ``Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]``, rows like
  ``2026-04-24T14:10:20.058;599616065136175104;-953;63;425`` (as reproduced
  by several PSL-compatible recorders and readers; the app's own source was
  not found). The Polar BLE SDK (``PolarAccelerometerData``) gives the
  units: milli-g including gravity, sample time in ns since 2000-01-01 on
  the sensor's clock, which the phone sets to local time, so no UTC start
  is derived. GYRO (``X [dps]``), MAGN, PPG and ECG files share the first
  two columns.
* MbientLab MetaBase / MetaWear: MbientLab CSV writers (the Node.js
  MetaBase-style ``CSV_HEADER_ROOT = "epoch (ms),time (%s),elapsed (s),"``
  followed by ``x-axis (g),y-axis (g),z-axis (g)``, values with 3 decimals;
  the Android ``CsvDataHandler`` with the same headers and times like
  ``2019-06-12T14.17.20.491``): one file per sensor, the gyroscope's with
  ``x-axis (deg/s)``; the offset in ``time (...)`` varies (``-13:00`` in
  MbientLab's examples).
* ActiGraph ActiLife raw CSV: ten header lines, e.g. ``------------ Data
  File Created By ActiGraph GT3X+ ActiLife v6.13.3 Firmware v2.5.0 date
  format M/d/yyyy at 30 Hz  Filter Normal -----------``, ``Serial Number:``,
  ``Start Time 10:00:00``, ``Start Date 5/1/2016``, ``Epoch Period
  (hh:mm:ss) 00:00:00`` (raw data; a non-zero epoch is an activity-count
  export), ``Download Time``, ``Download Date``, ``Current Memory Address:``,
  ``Current Battery Voltage: 4.21     Mode = 12``, a line of dashes; then
  ``Timestamp,Accelerometer X,Accelerometer Y,Accelerometer Z`` (or without
  ``Timestamp``, or no column line at all), values in g; IMU devices add
  ``Temperature,Gyroscope X,...`` (deg/s). As written and read by arus'
  ActiGraph file generator, MIMSunit's ``import_actigraph_csv``, the R
  ``ReadGT3XPlus`` reader ("exactly 10 lines of headers ... the 11th may
  further be omitted") and sample files in published pipelines.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd

from loadmon.io.errors import FileFormatError
from loadmon.io.exporters.core import (
    G_M_S2,
    Candidate,
    ExportInfo,
    Follower,
    Plan,
    Sniffer,
    decide_time_unit,
    decide_units,
    decimal_mark,
    drop_empty_gyro,
    guess_units,
    missing_columns,
    probe,
    split_fields,
)
from loadmon.io.recordings import ACC_COLUMNS, GYRO_COLUMNS, TIME_COLUMN

RAD_TO_DEG = 180.0 / math.pi


@dataclass(frozen=True, slots=True)
class Options:
    """What the caller said about a file (None: detect it)."""

    units: str | None = None
    time_unit: str | None = None
    fs_hz: float | None = None


Planner = Callable[[Candidate, list[Candidate], Options], Plan]


@dataclass(frozen=True, slots=True)
class Spec:
    """A format's recognition and reading rules (wrapped by `loadmon.io.exporters.Format`)."""

    name: str
    description: str
    expected: str
    sniff: Sniffer
    planner: Planner
    kinds: frozenset[str]
    choose: Callable[[list[Candidate]], Candidate | None] | None = None


def _fields(line: str, sep: str | None = None) -> list[str]:
    return split_fields(line, sep)[0]


def _table(cand: Candidate, header: int = 0, sep: str | None = None) -> tuple[list[str], str, str]:
    fields, sep = split_fields(cand.lines[header], sep)
    return fields, sep, decimal_mark(cand.lines[header + 1 :], sep)


def _cols(fields: list[str], wanted: list[str]) -> tuple[int, int, int]:
    if any(w not in fields for w in wanted):
        raise missing_columns(wanted, fields)
    a, b, c = (fields.index(w) for w in wanted)
    return a, b, c


def _opt_cols(fields: list[str], wanted: list[str]) -> tuple[int, int, int] | None:
    if all(w in fields for w in wanted):
        return _cols(fields, wanted)
    return None


# --------------------------------------------------------------------------- plain layout


def sniff_plain(header_lines: list[str]) -> bool:
    """Tell the plain layout: a ``t_s`` column and ``ax_g``, ``ay_g`` or ``az_g``."""
    if not header_lines:
        return False
    fields = _fields(header_lines[0], ",")
    return TIME_COLUMN in fields and any(c in fields for c in ACC_COLUMNS)


def _choose_plain(cands: list[Candidate]) -> Candidate | None:
    for name in ("samples.csv.gz", "samples.csv"):
        for c in cands:
            if c.source.kind == "dir" and c.source.member == name and sniff_plain(c.lines):
                return c
    return next((c for c in cands if c.source.kind == "file" and sniff_plain(c.lines)), None)


def _plan_plain(cand: Candidate, _all: list[Candidate], opts: Options) -> Plan:
    fields, sep, dec = _table(cand, 0, ",")
    if TIME_COLUMN not in fields:
        raise missing_columns([TIME_COLUMN], fields)
    plan = Plan(
        source=cand.source,
        sep=sep,
        decimal=dec,
        skiprows=1,
        names=fields,
        time_col=fields.index(TIME_COLUMN),
        time_kind="float",
        time_scale=1.0,
        acc_cols=_cols(fields, list(ACC_COLUMNS)),
        acc_scale=1.0,
        gyro_cols=_opt_cols(fields, list(GYRO_COLUMNS)),
        info=ExportInfo("plain", "g", "format", "s", gravity=True, member=cand.source.member),
        time_label=TIME_COLUMN,
    )
    decide_units(plan, "g", "the plain layout", opts.units)
    drop_empty_gyro(plan)
    return plan


# --------------------------------------------------------------------------- phyphox

_PHYPHOX_AXIS = re.compile(r"(Linear )?Acceleration [xyz] \(m/s\^2\)")


def sniff_phyphox(header_lines: list[str]) -> bool:
    """Tell a phyphox export: ``"Time (s)"`` then ``"(Linear) Acceleration x (m/s^2)"``..."""
    if not header_lines:
        return False
    fields = _fields(header_lines[0])
    return (
        bool(fields)
        and fields[0] == "Time (s)"
        and any(_PHYPHOX_AXIS.fullmatch(f) for f in fields[1:])
    )


def _choose_phyphox(cands: list[Candidate]) -> Candidate | None:
    found = [c for c in cands if sniff_phyphox(c.lines)]
    with_g = [c for c in found if any(f.startswith("Acceleration ") for f in _fields(c.lines[0]))]
    return (with_g or found or [None])[0]


def _plan_phyphox(cand: Candidate, _all: list[Candidate], opts: Options) -> Plan:
    fields, sep, dec = _table(cand)
    with_g = [f"Acceleration {a} (m/s^2)" for a in "xyz"]
    linear = [f"Linear Acceleration {a} (m/s^2)" for a in "xyz"]
    gravity = any(f in fields for f in with_g) or not any(f in fields for f in linear)
    axes = with_g if gravity else linear
    plan = Plan(
        source=cand.source,
        sep=sep,
        decimal=dec,
        skiprows=1,
        names=fields,
        time_col=0,
        time_kind="float",
        time_scale=1.0,
        acc_cols=_cols(fields, axes),
        acc_scale=1.0 / G_M_S2,
        gyro_cols=_opt_cols(fields, [f"Gyroscope {a} (rad/s)" for a in "xyz"]),
        gyro_scale=RAD_TO_DEG,
        info=ExportInfo("phyphox", "m/s2", "format", "s", gravity=gravity),
        time_label="Time (s)",
    )
    plan.info = replace(plan.info, member=cand.source.member)
    decide_units(plan, "m/s2", "the phyphox header", opts.units)
    if not gravity:
        plan.notes.append(_GRAVITY_FREE.format(what="phyphox Linear Acceleration"))
    return plan


_GRAVITY_FREE = (
    "{what} has gravity removed by the phone: impacts read about 1 g lower than "
    "a sensor's with gravity"
)


# --------------------------------------------------------------------------- Sensor Logger

_SL_HEADER = ["time", "seconds_elapsed"]
#: Sensor Logger tables that are not accelerations, and what they are.
_SL_OTHER = {
    "gyroscope": "gyroscope",
    "gyroscopeuncalibrated": "uncalibrated gyroscope",
    "gravity": "gravity",
    "magnetometer": "magnetometer",
    "magnetometeruncalibrated": "uncalibrated magnetometer",
    "accelerometeruncalibrated": "uncalibrated accelerometer",
    "orientation": "orientation",
}


def sniff_sensorlogger(header_lines: list[str]) -> bool:
    """Tell a Sensor Logger table: ``time,seconds_elapsed,`` then ``z,y,x``."""
    if not header_lines:
        return False
    fields = _fields(header_lines[0], ",")
    return fields[:2] == _SL_HEADER and {"x", "y", "z"} <= set(fields)


def _sl_stem(cand: Candidate) -> str:
    name = cand.source.name
    return re.sub(r"\.csv(\.gz)?$", "", name, flags=re.IGNORECASE).lower()


def _sl_member(cands: list[Candidate], stem: str) -> Candidate | None:
    return next((c for c in cands if _sl_stem(c) == stem and sniff_sensorlogger(c.lines)), None)


def _choose_sensorlogger(cands: list[Candidate]) -> Candidate | None:
    grouped = [c for c in cands if c.source.kind in ("zip", "dir")]
    for stem in ("totalacceleration", "accelerometer"):
        found = _sl_member(grouped, stem)
        if found:
            return found
    return next((c for c in cands if c.source.kind == "file" and sniff_sensorlogger(c.lines)), None)


def _sl_xyz_plan(cand: Candidate, scale: float, info: ExportInfo) -> Plan:
    fields, sep, dec = _table(cand, 0, ",")
    return Plan(
        source=cand.source,
        sep=sep,
        decimal=dec,
        skiprows=1,
        names=fields,
        time_col=fields.index("time"),
        time_kind="int",
        time_scale=1e-9,
        acc_cols=_cols(fields, ["x", "y", "z"]),
        acc_scale=scale,
        info=info,
        origin="first",
        time_label="time",
        epoch_scale_to_utc=1e-9,
    )


def _plan_sensorlogger(cand: Candidate, all_: list[Candidate], opts: Options) -> Plan:
    stem = _sl_stem(cand)
    if stem in _SL_OTHER:
        raise FileFormatError(
            f"a Sensor Logger {_SL_OTHER[stem]} table, not accelerations: give "
            "TotalAcceleration.csv, Accelerometer.csv or the whole export (zip or folder)"
        )
    gravity: bool | None = {"totalacceleration": True, "accelerometer": False}.get(stem)
    info = ExportInfo("sensorlogger", "m/s2", "format", "ns", member=cand.source.member)
    plan = _sl_xyz_plan(cand, 1.0 / G_M_S2, info)
    grouped = cand.source.kind in ("zip", "dir")
    if gravity is None:  # a renamed single table: with gravity when |a| is about 9.8 m/s^2
        median_mag, _ = probe(plan)
        gravity = guess_units(median_mag) == "m/s2"
        plan.notes.append(
            f"{cand.source.name} is not named TotalAcceleration.csv or Accelerometer.csv: "
            f"read it as {'with' if gravity else 'without'} gravity, as its median |a| "
            f"is {median_mag if median_mag is not None else float('nan'):.3g} m/s^2"
        )
    plan.info = replace(plan.info, gravity=gravity)
    decide_units(plan, "m/s2", "the Sensor Logger format", opts.units)
    extra = []
    if not gravity and grouped:
        gravity_table = _sl_member(all_, "gravity")
        if gravity_table is not None:
            gravity = True
            extra.append(gravity_table.source.member or "")
            g_plan = _sl_xyz_plan(gravity_table, plan.acc_scale, info)
            plan.followers.append(Follower(g_plan, "gravity"))
            plan.info = replace(plan.info, gravity=True)
            plan.notes.append(
                f"added {gravity_table.source.name} to {cand.source.name} (which has gravity "
                "removed by the phone), interpolated onto its times"
            )
    if not gravity:
        plan.notes.append(_GRAVITY_FREE.format(what=f"Sensor Logger {cand.source.name}"))
    if grouped:
        gyro = _sl_member(all_, "gyroscope")
        if gyro is not None:
            extra.append(gyro.source.member or "")
            plan.followers.append(Follower(_sl_xyz_plan(gyro, RAD_TO_DEG, info), "gyro"))
        plan.info = replace(plan.info, device=_sl_device(all_))
    plan.info = replace(plan.info, extra_members=tuple(extra))
    return plan


def _sl_device(cands: list[Candidate]) -> str | None:
    meta = next((c for c in cands if _sl_stem(c) == "metadata" and len(c.lines) > 1), None)
    if meta is None:
        return None
    keys, values = _fields(meta.lines[0], ","), _fields(meta.lines[1], ",")
    row = dict(zip(keys, values, strict=False))
    name = row.get("device name") or row.get("deviceName")
    platform = row.get("platform")
    if not name:
        return None
    return f"{name} ({platform})" if platform else name


# --------------------------------------------------------------------------- Polar Sensor Logger

_POLAR_HEADER = ["Phone timestamp", "sensor timestamp [ns]"]
_POLAR_AXES = ["X [mg]", "Y [mg]", "Z [mg]"]


def sniff_polar(header_lines: list[str]) -> bool:
    """Tell a Polar Sensor Logger stream: ``Phone timestamp;sensor timestamp [ns];...``."""
    if not header_lines:
        return False
    return _fields(header_lines[0], ";")[:2] == _POLAR_HEADER


def _plan_polar(cand: Candidate, _all: list[Candidate], opts: Options) -> Plan:
    fields, sep, dec = _table(cand, 0, ";")
    if not all(a in fields for a in _POLAR_AXES):
        kind = None
        if not any(f.endswith("[mg]") for f in fields):
            kind = (
                "gyroscope (GYRO)"
                if "X [dps]" in fields
                else "magnetometer (MAGN)"
                if any(re.fullmatch(r"X \[(G|mG|uT|µT)\]", f) for f in fields)
                else "ECG"
                if any(f.startswith("ecg") for f in fields)
                else "PPG"
                if "channel 0" in fields
                else None
            )
        if kind:
            raise FileFormatError(
                f"a Polar Sensor Logger {kind} file, not accelerations: give its _ACC.txt file"
            )
        raise missing_columns(_POLAR_AXES, fields)
    match = re.match(r"Polar_(.+?)_(\d{8}_\d{6})_ACC", cand.source.name)
    device = f"Polar {match.group(1).replace('_', ' ')}" if match else None
    plan = Plan(
        source=cand.source,
        sep=sep,
        decimal=dec,
        skiprows=1,
        names=fields,
        time_col=1,
        time_kind="int",
        time_scale=1e-9,
        acc_cols=_cols(fields, _POLAR_AXES),
        acc_scale=1e-3,
        info=ExportInfo("polar", "mg", "header", "ns", gravity=True, device=device),
        origin="first",
        time_label="sensor timestamp [ns]",
    )
    decide_units(plan, "mg", "the header", opts.units)
    return plan


# --------------------------------------------------------------------------- MetaBase / MetaWear

_MW_AXES = ["x-axis (g)", "y-axis (g)", "z-axis (g)"]


def sniff_metawear(header_lines: list[str]) -> bool:
    """Tell a MetaBase CSV: ``epoch (ms),time (<UTC offset>),elapsed (s),...``."""
    if not header_lines:
        return False
    fields = _fields(header_lines[0], ",")
    return (
        len(fields) >= 4
        and fields[0] == "epoch (ms)"
        and re.fullmatch(r"time \([^)]*\)", fields[1]) is not None
        and fields[2] == "elapsed (s)"
    )


def _plan_metawear(cand: Candidate, _all: list[Candidate], opts: Options) -> Plan:
    fields, sep, dec = _table(cand, 0, ",")
    if not all(a in fields for a in _MW_AXES):
        units = re.fullmatch(r"x-axis \((.*)\)", fields[3]) if len(fields) > 3 else None
        if units and units.group(1) != "g":
            raise FileFormatError(
                f"a MetaBase file of {units.group(1)}, not the accelerometer's (g): "
                "give the Accelerometer CSV"
            )
        raise missing_columns(_MW_AXES, fields)
    plan = Plan(
        source=cand.source,
        sep=sep,
        decimal=dec,
        skiprows=1,
        names=fields,
        time_col=0,
        time_kind="int",
        time_scale=1e-3,
        acc_cols=_cols(fields, _MW_AXES),
        acc_scale=1.0,
        info=ExportInfo("metawear", "g", "header", "ms", gravity=True),
        origin="first",
        time_label="epoch (ms)",
        epoch_scale_to_utc=1e-3,
    )
    decide_units(plan, "g", "the header", opts.units)
    return plan


# --------------------------------------------------------------------------- ActiGraph

_AG_AXES = ["Accelerometer X", "Accelerometer Y", "Accelerometer Z"]
_AG_GYRO = ["Gyroscope X", "Gyroscope Y", "Gyroscope Z"]


def sniff_actigraph(header_lines: list[str]) -> bool:
    """Tell an ActiLife CSV: its first line holds ``Data File Created By ActiGraph``."""
    return bool(header_lines) and "Data File Created By ActiGraph" in header_lines[0]


def _java_date_format(pattern: str) -> str:
    """Turn ActiLife's ``M/d/yyyy``-style date pattern into a strptime format."""
    out = re.sub(r"y{3,4}", "%Y", pattern)
    out = re.sub(r"(?<!%)yy", "%y", out)
    out = re.sub(r"M{1,2}", "%m", out)
    out = re.sub(r"d{1,2}", "%d", out)
    return out


def _plan_actigraph(cand: Candidate, _all: list[Candidate], opts: Options) -> Plan:
    lines = cand.lines
    first = lines[0]
    rate = re.search(r"at\s+(\d+(?:\.\d+)?)\s*Hz", first)
    fs = float(rate.group(1)) if rate else None
    date_pat = re.search(r"date format\s+(\S+)", first)
    date_fmt = _java_date_format(date_pat.group(1)) if date_pat else "%m/%d/%Y"
    model = re.search(r"Created By ActiGraph\s+(.*?)\s+ActiLife", first)
    head = {}
    for line in lines[1:]:
        for key in ("Serial Number:", "Start Time", "Start Date", "Epoch Period (hh:mm:ss)"):
            if line.startswith(key):
                head[key] = line[len(key) :].strip()
    epoch = head.get("Epoch Period (hh:mm:ss)", "00:00:00")
    if epoch not in ("00:00:00", ""):
        raise FileFormatError(
            f"an ActiGraph epoch export ({epoch} epochs of activity counts), not raw "
            "accelerations: export the raw data to CSV in ActiLife"
        )
    dashes = next(
        (i for i, line in enumerate(lines) if i > 0 and re.fullmatch(r"-{10,}", line.strip())),
        None,
    )
    if dashes is None or dashes + 1 >= len(lines):
        raise FileFormatError("an ActiGraph header without its closing line of dashes")
    columns = lines[dashes + 1]
    fields, sep = split_fields(columns, ",")
    if any(f in fields for f in _AG_AXES):
        skip, data = dashes + 2, lines[dashes + 2 : dashes + 3]
    else:  # no column line: X, Y, Z (after a timestamp when the first field is not a number)
        skip, data = dashes + 1, [columns]
        try:
            float(fields[0])
            fields = _AG_AXES + [f"column {i + 4}" for i in range(len(fields) - 3)]
        except ValueError:
            fields = ["Timestamp", *_AG_AXES] + [f"column {i + 5}" for i in range(len(fields) - 4)]
    start = None
    if "Start Date" in head and "Start Time" in head:
        try:
            start = pd.Timestamp(
                datetime.strptime(
                    f"{head['Start Date']} {head['Start Time']}", f"{date_fmt} %H:%M:%S"
                )
            )
        except ValueError:
            start = None
    device = f"ActiGraph {model.group(1)}" if model else "ActiGraph"
    if head.get("Serial Number:"):
        device += f" ({head['Serial Number:']})"
    info = ExportInfo("actigraph", "g", "format", None, True, header_fs_hz=fs, device=device)
    plan = Plan(
        source=cand.source,
        sep=sep,
        decimal=".",
        skiprows=skip,
        names=fields,
        time_col=None,
        time_kind="index",
        time_scale=1.0,
        acc_cols=_cols(fields, _AG_AXES),
        acc_scale=1.0,
        gyro_cols=_opt_cols(fields, _AG_GYRO),
        info=info,
        time_label="Timestamp",
    )
    if "Timestamp" in fields:
        plan.time_col = fields.index("Timestamp")
        plan.time_kind = "datetime"
        stamp = data[0].split(sep)[plan.time_col].strip() if data else ""
        plan.datetime_format = f"{date_fmt} %H:%M:%S" + (".%f" if "." in stamp else "")
        plan.origin = start if start is not None else "first"
    else:
        rate_hz = opts.fs_hz or fs
        if rate_hz is None:
            raise FileFormatError(
                "an ActiGraph file without timestamps or a rate in its header: pass fs_hz"
            )
        if opts.fs_hz and fs and opts.fs_hz != fs:
            plan.notes.append(
                f"timed the samples at the given {opts.fs_hz:g} Hz, not the header's {fs:g} Hz"
            )
        plan.time_scale = 1.0 / rate_hz
    decide_units(plan, "g", "the ActiGraph format", opts.units)
    return plan


# --------------------------------------------------------------------------- generic CSV

_TIME_WORDS = {
    "t",
    "time",
    "times",
    "timestamp",
    "timestamps",
    "ts",
    "epoch",
    "elapsed",
    "sec",
    "seconds",
    "time_stamp",
    "unix",
    "unix_time",
}
_ACC_UNIT_WORDS = {
    "g": "g",
    "mg": "mg",
    "milli-g": "mg",
    "millig": "mg",
    "m/s^2": "m/s2",
    "m/s2": "m/s2",
    "m/s²": "m/s2",
    "ms^-2": "m/s2",
    "ms-2": "m/s2",
    "m s^-2": "m/s2",
    "mps2": "m/s2",
    "mss": "m/s2",
}
_TIME_UNIT_WORDS = {
    "s": "s",
    "sec": "s",
    "secs": "s",
    "seconds": "s",
    "ms": "ms",
    "msec": "ms",
    "millis": "ms",
    "milliseconds": "ms",
    "us": "us",
    "µs": "us",
    "μs": "us",
    "usec": "us",
    "microseconds": "us",
    "ns": "ns",
    "nsec": "ns",
    "nanos": "ns",
    "nanoseconds": "ns",
}
_ACC_AXIS = re.compile(
    r"(?:acc(?:el(?:eration|erometer)?)?|a|linear ?acc(?:eleration)?)?[\s_.-]*([xyz])"
    r"(?:[\s_.-]*(?:axis|acc(?:el)?))?"
)
_GYRO_AXIS = re.compile(r"(?:gyr(?:o(?:scope)?)?|g|rot(?:ation)?(?:[\s_]?rate)?|w)[\s_.-]*([xyz])")
_GYRO_UNITS = {
    "deg/s": 1.0,
    "dps": 1.0,
    "°/s": 1.0,
    "degs": 1.0,
    "rad/s": RAD_TO_DEG,
    "rads": RAD_TO_DEG,
}


def _split_unit(name: str) -> tuple[str, str | None]:
    """Split ``'x (m/s^2)'``, ``'X [mg]'``, ``'time_ms'`` into base and unit."""
    text = name.strip().lower()
    m = re.fullmatch(r"(.*?)[\s_]*[(\[]\s*([^)\]]*?)\s*[)\]]", text)
    if m:
        return m.group(1).strip(), m.group(2)
    m = re.fullmatch(r"(.*?)[_\s]+([a-zµμ/^0-9²-]+)", text)
    if m and (
        m.group(2) in _ACC_UNIT_WORDS or m.group(2) in _TIME_UNIT_WORDS or m.group(2) in _GYRO_UNITS
    ):
        return m.group(1).strip(), m.group(2)
    return text, None


@dataclass
class _Generic:
    fields: list[str]
    time: int | None
    time_unit: str | None
    acc: dict[str, int]
    acc_units: set[str]
    gyro: dict[str, int]
    gyro_scale: float | None


def _parse_generic(fields: list[str]) -> _Generic:
    out = _Generic(fields, None, None, {}, set(), {}, None)
    for i, name in enumerate(fields):
        base, unit = _split_unit(name)
        is_time = base in _TIME_WORDS or base.startswith("time")
        if out.time is None and is_time and (unit is None or unit in _TIME_UNIT_WORDS):
            out.time, out.time_unit = i, _TIME_UNIT_WORDS.get(unit or "")
            continue
        if unit in _GYRO_UNITS or (unit is None and _GYRO_AXIS.fullmatch(base)):
            m = _GYRO_AXIS.fullmatch(base) or _ACC_AXIS.fullmatch(base)
            if m and m.group(1) not in out.gyro:
                out.gyro[m.group(1)] = i
                if unit in _GYRO_UNITS:
                    out.gyro_scale = _GYRO_UNITS[unit]
                continue
        m = _ACC_AXIS.fullmatch(base)
        if m and m.group(1) not in out.acc and (unit is None or unit in _ACC_UNIT_WORDS):
            out.acc[m.group(1)] = i
            if unit is not None:
                out.acc_units.add(_ACC_UNIT_WORDS[unit])
    return out


def sniff_generic(header_lines: list[str]) -> bool:
    """Tell a generic CSV: a time column and at least one axis column named in its header."""
    if not header_lines:
        return False
    parsed = _parse_generic(_fields(header_lines[0]))
    return parsed.time is not None and bool(parsed.acc)


def _plan_generic(cand: Candidate, _all: list[Candidate], opts: Options) -> Plan:
    fields, sep, dec = _table(cand)
    parsed = _parse_generic(fields)
    if parsed.time is None:
        raise FileFormatError(f"no time column: found {', '.join(repr(f) for f in fields[:8])}")
    if len(parsed.acc) < 3:
        axes = [a for a in "xyz" if a not in parsed.acc]
        raise FileFormatError(
            f"missing axis column{'s' if len(axes) > 1 else ''} for {', '.join(axes)}: "
            f"found {', '.join(repr(f) for f in fields[:8])}"
        )
    if len(parsed.acc_units) > 1:
        raise FileFormatError(
            f"the axis columns state different units ({', '.join(sorted(parsed.acc_units))})"
        )
    gyro = None
    if len(parsed.gyro) == 3 and parsed.gyro_scale is not None:
        gyro = (parsed.gyro["x"], parsed.gyro["y"], parsed.gyro["z"])
    plan = Plan(
        source=cand.source,
        sep=sep,
        decimal=dec,
        skiprows=1,
        names=fields,
        time_col=parsed.time,
        time_kind="int",
        time_scale=1.0,
        acc_cols=(parsed.acc["x"], parsed.acc["y"], parsed.acc["z"]),
        acc_scale=1.0,
        gyro_cols=gyro,
        gyro_scale=parsed.gyro_scale or 1.0,
        info=ExportInfo("generic", "g", "header"),
        origin="first",
        time_label=fields[parsed.time],
    )
    if len(parsed.gyro) == 3 and gyro is None:
        plan.notes.append(
            "ignored the gyroscope columns: their header states no unit (deg/s, rad/s)"
        )
    time_unit = decide_time_unit(plan, parsed.time_unit, opts.time_unit)
    plan.epoch_scale_to_utc = plan.time_scale
    declared = next(iter(parsed.acc_units), None)
    decide_units(plan, declared, "the header", opts.units)
    plan.info = replace(plan.info, time_unit=time_unit)
    return plan


# --------------------------------------------------------------------------- registry

SPECS: tuple[Spec, ...] = (
    Spec(
        "plain",
        "loadmon's plain layout: t_s, ax_g, ay_g, az_g (+ gx_dps, gy_dps, gz_dps) in s and g",
        "t_s,ax_g,ay_g,az_g",
        sniff_plain,
        _plan_plain,
        frozenset({"file", "dir"}),
        _choose_plain,
    ),
    Spec(
        "phyphox",
        "phyphox CSV export (Acceleration with g, or Linear Acceleration), m/s^2",
        '"Time (s)","Acceleration x (m/s^2)","Acceleration y (m/s^2)",...',
        sniff_phyphox,
        _plan_phyphox,
        frozenset({"file", "zip", "dir"}),
        _choose_phyphox,
    ),
    Spec(
        "sensorlogger",
        "Sensor Logger (Kelvin Choi) TotalAcceleration.csv / Accelerometer.csv or its zip, m/s^2",
        "time,seconds_elapsed,z,y,x",
        sniff_sensorlogger,
        _plan_sensorlogger,
        frozenset({"file", "zip", "dir"}),
        _choose_sensorlogger,
    ),
    Spec(
        "polar",
        "Polar Sensor Logger ACC text file, milli-g",
        "Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]",
        sniff_polar,
        _plan_polar,
        frozenset({"file"}),
    ),
    Spec(
        "metawear",
        "MbientLab MetaBase / MetaWear accelerometer CSV, g",
        "epoch (ms),time (<offset>),elapsed (s),x-axis (g),y-axis (g),z-axis (g)",
        sniff_metawear,
        _plan_metawear,
        frozenset({"file"}),
    ),
    Spec(
        "actigraph",
        "ActiGraph ActiLife raw CSV (10-line header, rate in it), g",
        "------------ Data File Created By ActiGraph ... at <rate> Hz ...",
        sniff_actigraph,
        _plan_actigraph,
        frozenset({"file"}),
    ),
    Spec(
        "generic",
        "any CSV with a time column and x, y, z columns; units from the header or arguments",
        "time,x,y,z (e.g. time (ms),acc_x (m/s^2),...)",
        sniff_generic,
        _plan_generic,
        frozenset({"file"}),
    ),
)

__all__ = ["SPECS", "Options", "Spec"]
