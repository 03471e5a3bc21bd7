"""Auto-detected accelerometer exporter formats (`loadmon.io.exporters`).

The fixtures under ``tests/fixtures/exporters/`` hold the same synthetic run
(`loadmon.signal.synthetic.synthesize`, foot pod, 100 Hz, quantized to 1 ms
and 1 milli-g so that every format can hold it exactly) written by the
writers below in each exporter's layout, with the header lines of the real
exporters. Regenerate them with ``python -m tests.test_io_exporters``.
"""

from __future__ import annotations

import codecs
import gzip
import io
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loadmon.io.errors import FileFormatError
from loadmon.io.exporters import FORMATS, detect_format, iter_chunks, read_recording
from loadmon.io.exporters.core import prefetched, text_blocks
from loadmon.io.recordings import read_plain_recording
from loadmon.signal import ContactDetector, contacts_frame, detect_contacts
from loadmon.signal.synthetic import synthesize
from loadmon.signal.types import Recording, finite_rows
from tests.conftest import traced_in_child

FIXTURES = Path(__file__).parent / "fixtures" / "exporters"
G = 9.80665
#: 2024-05-01 10:00:00 UTC.
START = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
START_MS = int(START.timestamp() * 1000)
#: Polar's sensor clock counts ns from 2000-01-01.
POLAR_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Run:
    """Integer samples every format can hold exactly: ms, milli-g, centi-deg/s."""

    t_ms: np.ndarray
    acc_mg: np.ndarray
    gyro_cdps: np.ndarray

    @property
    def t_s(self) -> np.ndarray:
        return self.t_ms / 1000.0

    @property
    def acc_g(self) -> np.ndarray:
        return self.acc_mg / 1000.0

    @property
    def gyro_dps(self) -> np.ndarray:
        return self.gyro_cdps / 100.0


def make_run(duration_s: float = 4.0, fs_hz: float = 100.0) -> Run:
    rec, _ = synthesize("foot", duration_s=duration_s, fs_hz=fs_hz, seed=3, rest_s=1.0)
    assert rec.gyro_dps is not None
    return Run(
        np.round(rec.t_s * 1000).astype(np.int64),
        np.round(rec.acc_g * 1000).astype(np.int64),
        np.round(rec.gyro_dps * 100).astype(np.int64),
    )


def load_run() -> Run:
    """The run held by the committed fixtures (independent of later synthesizer changes)."""
    df = pd.read_csv(FIXTURES / "plain" / "samples.csv")
    return Run(
        np.round(df["t_s"].to_numpy() * 1000).astype(np.int64),
        np.round(df[["ax_g", "ay_g", "az_g"]].to_numpy() * 1000).astype(np.int64),
        np.round(df[["gx_dps", "gy_dps", "gz_dps"]].to_numpy() * 100).astype(np.int64),
    )


RUN = load_run() if (FIXTURES / "plain" / "samples.csv").is_file() else make_run()


# --------------------------------------------------------------------------- writers


def write_plain(path: Path, run: Run = RUN) -> Path:
    df = pd.DataFrame(
        np.column_stack([run.t_s, run.acc_g, run.gyro_dps]),
        columns=["t_s", "ax_g", "ay_g", "az_g", "gx_dps", "gy_dps", "gz_dps"],
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, float_format="%.6f")
    return path


def java_sci(value: float, decimal: str = ".") -> str:
    """Format like Java's DecimalFormat("0.000000000E0"), as phyphox writes numbers."""
    mantissa, exponent = f"{value:.9E}".split("E")
    return f"{mantissa}E{int(exponent)}".replace(".", decimal)


def write_phyphox(
    path: Path, run: Run = RUN, sep: str = ",", decimal: str = ".", linear: bool = False
) -> Path:
    prefix = "Linear Acceleration" if linear else "Acceleration"
    names = ["Time (s)", *(f"{prefix} {a} (m/s^2)" for a in "xyz")]
    names.append("Absolute acceleration (m/s^2)")
    acc = run.acc_g * G
    if linear:
        acc = acc - acc[:50].mean(axis=0)
    absolute = np.linalg.norm(acc, axis=1)
    lines = [sep.join(f'"{n}"' for n in names)]
    for t, (x, y, z), a in zip(run.t_s, acc, absolute, strict=True):
        lines.append(sep.join(java_sci(v, decimal) for v in (t, x, y, z, a)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _sl_table(run: Run, values: np.ndarray) -> str:
    """Sensor Logger's layout: time (Unix ns), seconds_elapsed, z, y, x."""
    lines = ["time,seconds_elapsed,z,y,x"]
    t_ns = START_MS * 1_000_000 + run.t_ms * 1_000_000
    for ns, t, (x, y, z) in zip(t_ns, run.t_s + 0.25, values, strict=True):
        lines.append(f"{ns},{float(t)!r},{float(z)!r},{float(y)!r},{float(x)!r}")
    return "\n".join(lines) + "\n"


SL_METADATA = (
    "version,device name,recording epoch time,recording time,recording timezone,platform,"
    "appVersion,device id,sensors,sampleRateMs\n"
    f"3,Pixel 7,{START_MS},2024-05-01_12-00-00,Europe/Berlin,android,1.37.2,3f2a9c,"
    "Accelerometer|Gravity|Gyroscope|TotalAcceleration,10\n"
)


def sensorlogger_tables(run: Run = RUN) -> dict[str, str]:
    total = run.acc_g * G
    gravity = np.tile(total[:50].mean(axis=0), (len(total), 1))
    return {
        "Accelerometer.csv": _sl_table(run, total - gravity),
        "Annotation.csv": "time,seconds_elapsed,text,millisecond_press_duration\n",
        "Gravity.csv": _sl_table(run, gravity),
        "Gyroscope.csv": _sl_table(run, np.deg2rad(run.gyro_dps)),
        "Metadata.csv": SL_METADATA,
        "TotalAcceleration.csv": _sl_table(run, total),
    }


def write_zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def write_polar(path: Path, run: Run = RUN) -> Path:
    lines = ["Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]"]
    sensor_ns = int((START - POLAR_EPOCH).total_seconds()) * 1_000_000_000
    local = START.replace(tzinfo=None) + timedelta(hours=2)
    packet = 36  # samples per BLE notification: they share the phone's arrival time
    for i, (t_ms, (x, y, z)) in enumerate(zip(run.t_ms, run.acc_mg, strict=True)):
        last = run.t_ms[min(len(run.t_ms) - 1, (i // packet + 1) * packet - 1)]
        phone = local + timedelta(milliseconds=int(last) + 43)
        stamp = phone.strftime("%Y-%m-%dT%H:%M:%S.") + f"{phone.microsecond // 1000:03d}"
        lines.append(f"{stamp};{sensor_ns + int(t_ms) * 1_000_000};{x};{y};{z}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_metawear(path: Path, run: Run = RUN, offset: str = "-13:00") -> Path:
    lines = [f"epoch (ms),time ({offset}),elapsed (s),x-axis (g),y-axis (g),z-axis (g)"]
    hours, minutes = offset.split(":")
    shift = timedelta(hours=int(hours), minutes=int(minutes) * (-1 if hours[0] == "-" else 1))
    for t_ms, (x, y, z) in zip(run.t_ms, run.acc_g, strict=True):
        when = START + shift + timedelta(milliseconds=int(t_ms))
        stamp = when.strftime("%Y-%m-%dT%H.%M.%S.") + f"{when.microsecond // 1000:03d}"
        lines.append(f"{START_MS + int(t_ms)},{stamp},{t_ms / 1000:.3f},{x:.3f},{y:.3f},{z:.3f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


ACTIGRAPH_HEADER = [
    "------------ Data File Created By ActiGraph GT3X+ ActiLife v6.13.3 Firmware v2.5.0 "
    "date format M/d/yyyy at 100 Hz  Filter Normal -----------",
    "Serial Number: NEO1F18120387",
    "Start Time 10:00:00",
    "Start Date 5/1/2024",
    "Epoch Period (hh:mm:ss) 00:00:00",
    "Download Time 12:31:05",
    "Download Date 5/1/2024",
    "Current Memory Address: 0",
    "Current Battery Voltage: 4.21     Mode = 12",
    "--------------------------------------------------",
]


def write_actigraph(
    path: Path, run: Run = RUN, timestamps: bool = True, column_line: bool = True
) -> Path:
    lines = list(ACTIGRAPH_HEADER)
    if column_line:
        axes = "Accelerometer X,Accelerometer Y,Accelerometer Z"
        lines.append(f"Timestamp,{axes}" if timestamps else axes)
    for t_ms, (x, y, z) in zip(run.t_ms, run.acc_g, strict=True):
        values = f"{x:.3f},{y:.3f},{z:.3f}"
        if timestamps:
            when = START + timedelta(milliseconds=int(t_ms))
            stamp = f"{when.month}/{when.day}/{when.year} {when:%H:%M:%S}."
            values = f"{stamp}{when.microsecond // 1000:03d},{values}"
        lines.append(values)
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def write_generic(path: Path, run: Run = RUN) -> Path:
    lines = ["timestamp (ms),accel_x (m/s^2),accel_y (m/s^2),accel_z (m/s^2)"]
    for t_ms, (x, y, z) in zip(run.t_ms, run.acc_g * G, strict=True):
        lines.append(f"{START_MS + int(t_ms)},{float(x)!r},{float(y)!r},{float(z)!r}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


#: Fixture file (relative to FIXTURES) -> its format; each holds RUN.
FIXTURE_FORMATS = {
    "plain/samples.csv": "plain",
    "phyphox_acceleration_with_g.csv": "phyphox",
    "sensorlogger_2024-05-01_12-00-00.zip": "sensorlogger",
    "Polar_H10_0A1B2C3D_20240501_120000_ACC.txt": "polar",
    "MetaWear_2024-05-01T12.00.00.000_D1C2B3A4F5E6_Accelerometer_100.000Hz_1.7.3.csv": "metawear",
    "actigraph_NEO1F18120387_RAW.csv": "actigraph",
    "generic_epoch_ms.csv": "generic",
}
#: Fixtures whose format has a gyroscope.
WITH_GYRO = {"plain/samples.csv", "sensorlogger_2024-05-01_12-00-00.zip"}


def write_fixtures(folder: Path = FIXTURES, run: Run = RUN) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    names = iter(FIXTURE_FORMATS)
    write_plain(folder / next(names), run)
    write_phyphox(folder / next(names), run)
    tables: dict[str, str | bytes] = dict(sensorlogger_tables(run))
    write_zip(folder / next(names), tables)
    write_polar(folder / next(names), run)
    write_metawear(folder / next(names), run)
    write_actigraph(folder / next(names), run)
    write_generic(folder / next(names), run)


# --------------------------------------------------------------------------- helpers


def _read(path: Path, placement: str = "foot", **kwargs: object) -> tuple:
    return read_recording(path, placement, **kwargs)  # type: ignore[arg-type]


def _chunks(path: Path, chunk_rows: int, **kwargs: object) -> tuple[np.ndarray, ...]:
    parts = list(iter_chunks(path, chunk_rows=chunk_rows, **kwargs))  # type: ignore[arg-type]
    assert all(len(p.t_s) <= chunk_rows for p in parts)
    t = np.concatenate([p.t_s for p in parts])
    acc = np.vstack([p.acc_g for p in parts])
    gyro = None if parts[0].gyro_dps is None else np.vstack([p.gyro_dps for p in parts])
    return t, acc, gyro


def _one_line_error(excinfo: pytest.ExceptionInfo[FileFormatError], path: Path) -> str:
    text = str(excinfo.value)
    assert "\n" not in text and str(path) in text, text
    return text


# --------------------------------------------------------------------------- fixtures


def test_fixtures_are_current() -> None:
    """The committed fixtures exist (regenerate them with ``python -m tests.test_io_exporters``)."""
    for name in FIXTURE_FORMATS:
        assert (FIXTURES / name).is_file(), f"missing fixture {name}: run the module"
    first = (FIXTURES / "plain/samples.csv").read_text().splitlines()
    assert first[0] == "t_s,ax_g,ay_g,az_g,gx_dps,gy_dps,gz_dps"
    assert len(first) == len(RUN.t_ms) + 1


@pytest.mark.parametrize(("name", "fmt"), FIXTURE_FORMATS.items())
def test_each_format_detected_and_read(name: str, fmt: str) -> None:
    path = FIXTURES / name
    assert detect_format(path).name == fmt
    rec, notes, info = _read(path)
    assert info.format == fmt and notes == []
    assert isinstance(rec, Recording) and rec.fs_hz == 100.0 and len(rec.t_s) == len(RUN.t_ms)
    assert (rec.gyro_dps is not None) == (name in WITH_GYRO)


@pytest.mark.parametrize("name", FIXTURE_FORMATS)
def test_same_samples_in_every_format(name: str) -> None:
    rec, _, _ = _read(FIXTURES / name)
    np.testing.assert_allclose(rec.t_s, RUN.t_s, rtol=0, atol=1e-9)
    np.testing.assert_allclose(rec.acc_g, RUN.acc_g, rtol=0, atol=1e-8)
    if rec.gyro_dps is not None:
        np.testing.assert_allclose(rec.gyro_dps, RUN.gyro_dps, rtol=0, atol=1e-8)


def test_same_contacts_in_every_format() -> None:
    recs = {name: _read(FIXTURES / name)[0] for name in FIXTURE_FORMATS}
    plain = recs["plain/samples.csv"]
    expected = detect_contacts(replace_gyro(plain, None))
    expected_gyro = detect_contacts(plain)
    assert len(expected) >= 5
    for name, rec in recs.items():
        got = detect_contacts(replace_gyro(rec, None))
        assert len(got) == len(expected), name
        np.testing.assert_allclose(got["t_s"], expected["t_s"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(got["impact_g"], expected["impact_g"], rtol=0, atol=1e-6)
        if rec.gyro_dps is not None:
            got = detect_contacts(rec)
            np.testing.assert_allclose(got["t_s"], expected_gyro["t_s"], rtol=0, atol=1e-9)


def replace_gyro(rec: Recording, gyro: np.ndarray | None) -> Recording:
    return replace(rec, gyro_dps=gyro)


@pytest.mark.parametrize("name", FIXTURE_FORMATS)
@pytest.mark.parametrize("chunk_rows", [1, 97, 100_000])
def test_chunked_equals_whole(name: str, chunk_rows: int) -> None:
    path = FIXTURES / name
    rec, _, _ = _read(path)
    t, acc, gyro = _chunks(path, chunk_rows)
    np.testing.assert_array_equal(t, rec.t_s)
    np.testing.assert_allclose(acc, rec.acc_g, rtol=0, atol=1e-12)
    if rec.gyro_dps is None:
        assert gyro is None
    else:
        np.testing.assert_allclose(gyro, rec.gyro_dps, rtol=0, atol=1e-12)


def test_detected_facts() -> None:
    info = {name: _read(FIXTURES / name)[2] for name in FIXTURE_FORMATS}
    sl = info["sensorlogger_2024-05-01_12-00-00.zip"]
    assert (sl.member, sl.extra_members) == ("TotalAcceleration.csv", ("Gyroscope.csv",))
    assert sl.start_utc == START and sl.device == "Pixel 7 (android)" and sl.units == "m/s2"
    polar = info["Polar_H10_0A1B2C3D_20240501_120000_ACC.txt"]
    assert polar.units == "mg" and polar.start_utc is None and polar.device == "Polar H10 0A1B2C3D"
    meta = info["MetaWear_2024-05-01T12.00.00.000_D1C2B3A4F5E6_Accelerometer_100.000Hz_1.7.3.csv"]
    assert meta.start_utc == START and meta.units == "g"
    ag = info["actigraph_NEO1F18120387_RAW.csv"]
    assert ag.header_fs_hz == 100.0 and ag.device == "ActiGraph GT3X+ (NEO1F18120387)"
    generic = info["generic_epoch_ms.csv"]
    assert (generic.units, generic.units_origin, generic.time_unit) == ("m/s2", "header", "ms")
    assert generic.start_utc == START
    assert info["phyphox_acceleration_with_g.csv"].gravity is True


def test_sniffers_see_only_their_header() -> None:
    heads = {
        name: (FIXTURES / name).read_text().splitlines()[:12]
        for name in FIXTURE_FORMATS
        if not name.endswith(".zip")
    }
    heads["TotalAcceleration.csv"] = sensorlogger_tables()["TotalAcceleration.csv"].splitlines()
    for name, lines in heads.items():
        matching = [f.name for f in FORMATS.values() if f.sniff(lines)]
        fmt = FIXTURE_FORMATS.get(name, "sensorlogger")
        assert matching[0] == fmt, (name, matching)
        assert set(matching) <= {fmt, "generic"}, (name, matching)
    assert not any(f.sniff([]) for f in FORMATS.values())


# --------------------------------------------------------------------------- phyphox


@pytest.mark.parametrize(("sep", "decimal"), [("\t", "."), (";", "."), ("\t", ","), (";", ",")])
def test_phyphox_separators_and_decimal_commas(tmp_path: Path, sep: str, decimal: str) -> None:
    path = write_phyphox(tmp_path / "Acceleration with g.csv", sep=sep, decimal=decimal)
    rec, notes, info = _read(path)
    assert info.format == "phyphox" and notes == []
    np.testing.assert_allclose(rec.acc_g, RUN.acc_g, rtol=0, atol=1e-8)
    np.testing.assert_allclose(rec.t_s, RUN.t_s, rtol=0, atol=1e-9)


def test_phyphox_linear_acceleration_is_noted(tmp_path: Path) -> None:
    rec, notes, info = _read(write_phyphox(tmp_path / "lin.csv", linear=True))
    assert info.gravity is False
    assert notes == [
        "phyphox Linear Acceleration has gravity removed by the phone: impacts read about "
        "1 g lower than a sensor's with gravity"
    ]
    assert np.median(np.linalg.norm(rec.acc_g, axis=1)) < 0.5


def test_phyphox_zip_export(tmp_path: Path) -> None:
    raw = write_phyphox(tmp_path / "raw.csv").read_text()
    path = write_zip(
        tmp_path / "Acceleration with g 2024-05-01 12-00-00.zip",
        {
            "Raw Data.csv": raw,
            "meta/device.csv": '"property","value"\n"deviceModel","Pixel 7"\n',
            "meta/time.csv": '"event","experiment time","system time","system time text"\n',
        },
    )
    rec, _, info = _read(path)
    assert info.format == "phyphox" and info.member == "Raw Data.csv"
    np.testing.assert_allclose(rec.acc_g, RUN.acc_g, rtol=0, atol=1e-8)


# --------------------------------------------------------------------------- Sensor Logger


def test_sensorlogger_single_tables(tmp_path: Path) -> None:
    tables = sensorlogger_tables()
    total = tmp_path / "TotalAcceleration.csv"
    total.write_text(tables["TotalAcceleration.csv"])
    rec, notes, info = _read(total)
    assert notes == [] and info.gravity is True and rec.gyro_dps is None
    np.testing.assert_allclose(rec.acc_g, RUN.acc_g, rtol=0, atol=1e-8)
    user = tmp_path / "Accelerometer.csv"
    user.write_text(tables["Accelerometer.csv"])
    rec, notes, info = _read(user)
    assert info.gravity is False and "has gravity removed by the phone" in notes[0]
    gyro = tmp_path / "Gyroscope.csv"
    gyro.write_text(tables["Gyroscope.csv"])
    with pytest.raises(FileFormatError, match="a Sensor Logger gyroscope table, not accel"):
        _read(gyro)


def test_sensorlogger_accelerometer_plus_gravity_and_folder(tmp_path: Path) -> None:
    tables = sensorlogger_tables()
    del tables["TotalAcceleration.csv"]  # an iPhone export
    rec, notes, info = _read(write_zip(tmp_path / "ios.zip", dict(tables)))
    assert info.member == "Accelerometer.csv" and info.gravity is True
    assert info.extra_members == ("Gravity.csv", "Gyroscope.csv")
    assert notes == [
        "added Gravity.csv to Accelerometer.csv (which has gravity removed by the phone), "
        "interpolated onto its times"
    ]
    np.testing.assert_allclose(rec.acc_g, RUN.acc_g, rtol=0, atol=1e-8)
    folder = tmp_path / "export"
    folder.mkdir()
    for name, text in sensorlogger_tables().items():
        (folder / name).write_text(text)
    rec, notes, info = _read(folder)
    assert info.format == "sensorlogger" and info.member == "TotalAcceleration.csv"
    np.testing.assert_allclose(rec.gyro_dps, RUN.gyro_dps, rtol=0, atol=1e-8)


def test_sensorlogger_gyro_on_its_own_clock_is_interpolated(tmp_path: Path) -> None:
    tables = sensorlogger_tables()
    shifted = Run(RUN.t_ms[1:-1] + 3, RUN.acc_mg[1:-1], RUN.gyro_cdps[1:-1])
    ramp = np.column_stack([shifted.t_s, 2 * shifted.t_s, -shifted.t_s])  # rad/s, linear in t
    tables["Gyroscope.csv"] = _sl_table(shifted, ramp)
    path = write_zip(tmp_path / "run.zip", dict(tables))
    rec, notes, _ = _read(path)
    inside = (rec.t_s >= 0.013) & (rec.t_s <= RUN.t_s[-2] + 0.003)
    want = np.rad2deg(np.column_stack([rec.t_s, 2 * rec.t_s, -rec.t_s]))
    np.testing.assert_allclose(rec.gyro_dps[inside], want[inside], rtol=1e-9, atol=1e-9)
    assert notes == [
        "3 samples lie outside the time span of Gyroscope.csv: they got its first or last value"
    ]
    t1, _, g1 = _chunks(path, 50)
    np.testing.assert_array_equal(t1, rec.t_s)
    np.testing.assert_allclose(g1, rec.gyro_dps, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("../evil.csv", r"zip member '\.\./evil\.csv' points outside the archive"),
        ("/etc/passwd", r"points outside the archive \(path traversal\): refused"),
        ("C:/Windows/run.csv", "points outside the archive"),
        ("run.exe", r"unexpected zip member 'run\.exe': an accelerometer export holds CSV"),
        ("nested.zip", "unexpected zip member 'nested.zip'"),
    ],
)
def test_zip_unsafe_or_unexpected_members_refused(
    tmp_path: Path, member: str, message: str
) -> None:
    members: dict[str, str | bytes] = dict(sensorlogger_tables())
    members[member] = b"MZ\x90\x00"
    path = write_zip(tmp_path / "export.zip", members)
    with pytest.raises(FileFormatError, match=message) as excinfo:
        detect_format(path)
    _one_line_error(excinfo, path)


def test_zip_without_accelerations_and_corrupt_zip(tmp_path: Path) -> None:
    tables = sensorlogger_tables()
    path = write_zip(tmp_path / "gps.zip", {"Metadata.csv": tables["Metadata.csv"]})
    with pytest.raises(FileFormatError, match=r"zip archive holds no accelerometer table .*"):
        detect_format(path)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(FileFormatError, match="not a readable zip archive"):
        detect_format(broken)


# --------------------------------------------------------------------------- Polar, MetaWear


def test_polar_other_streams_refused(tmp_path: Path) -> None:
    path = tmp_path / "Polar_H10_0A1B2C3D_20240501_120000_GYRO.txt"
    path.write_text(
        "Phone timestamp;sensor timestamp [ns];X [dps];Y [dps];Z [dps]\n"
        "2024-05-01T12:00:00.512;767786400000000000;1.0;2.0;3.0\n"
    )
    with pytest.raises(FileFormatError, match=r"a Polar Sensor Logger gyroscope \(GYRO\) file"):
        _read(path)
    path.write_text("Phone timestamp;sensor timestamp [ns];X [mg];Y [mg]\n1;2;3;4\n")
    with pytest.raises(FileFormatError, match=r"missing axis column 'Z \[mg\]'"):
        _read(path)


def test_metawear_gyro_file_refused_and_offset_variants(tmp_path: Path) -> None:
    path = write_metawear(tmp_path / "acc.csv", offset="+02:00")
    assert detect_format(path).name == "metawear"
    path.write_text(
        "epoch (ms),time (-13:00),elapsed (s),x-axis (deg/s),y-axis (deg/s),z-axis (deg/s)\n"
        "1714557600000,2024-05-01T10.00.00.000,0.000,1.0,2.0,3.0\n"
    )
    with pytest.raises(FileFormatError, match=r"a MetaBase file of deg/s, not the accel"):
        _read(path)


# --------------------------------------------------------------------------- ActiGraph


@pytest.mark.parametrize(
    ("timestamps", "column_line"), [(False, True), (False, False), (True, False)]
)
def test_actigraph_layouts(tmp_path: Path, timestamps: bool, column_line: bool) -> None:
    path = write_actigraph(tmp_path / "ag.csv", timestamps=timestamps, column_line=column_line)
    rec, notes, info = _read(path)
    assert notes == [] and info.format == "actigraph" and rec.fs_hz == 100.0
    np.testing.assert_allclose(rec.t_s, RUN.t_s, rtol=0, atol=1e-9)
    np.testing.assert_allclose(rec.acc_g, RUN.acc_g, rtol=0, atol=1e-12)


def test_actigraph_imu_gyroscope_and_count_export(tmp_path: Path) -> None:
    lines = [
        *ACTIGRAPH_HEADER,
        "Accelerometer X,Accelerometer Y,Accelerometer Z,Temperature,"
        "Gyroscope X,Gyroscope Y,Gyroscope Z",
    ]
    for (x, y, z), (gx, gy, gz) in zip(RUN.acc_g, RUN.gyro_dps, strict=True):
        lines.append(f"{x:.3f},{y:.3f},{z:.3f},25.5,{gx:.2f},{gy:.2f},{gz:.2f}")
    path = tmp_path / "imu.csv"
    path.write_text("\n".join(lines) + "\n")
    rec, _, _ = _read(path)
    np.testing.assert_allclose(rec.gyro_dps, RUN.gyro_dps, rtol=0, atol=1e-12)
    counts = [*ACTIGRAPH_HEADER, "Date,Time,Axis1,Axis2,Axis3,Steps", "5/1/2024,10:00:00,0,0,0,0"]
    counts[4] = "Epoch Period (hh:mm:ss) 00:01:00"
    path.write_text("\n".join(counts) + "\n")
    with pytest.raises(FileFormatError, match=r"an ActiGraph epoch export \(00:01:00 epochs"):
        _read(path)


# --------------------------------------------------------------------------- generic CSV


@pytest.mark.parametrize(
    ("header", "scale", "time_scale", "units", "time_unit"),
    [
        ("t_s,ax_mg,ay_mg,az_mg", 1000.0, 1.0, "mg", "s"),
        ("time [us];X [g];Y [g];Z [g]", 1.0, 1e6, "g", "us"),
        ("Timestamp_ns\tacc_x_mps2\tacc_y_mps2\tacc_z_mps2", G, 1e9, "m/s2", "ns"),
        (
            "time (s),Accelerometer X (m/s²),Accelerometer Y (m/s²),Accelerometer Z (m/s²)",
            G,
            1.0,
            "m/s2",
            "s",
        ),
    ],
)
def test_generic_units_from_the_header(
    tmp_path: Path, header: str, scale: float, time_scale: float, units: str, time_unit: str
) -> None:
    sep = next(s for s in ("\t", ";", ",") if s in header)
    df = pd.DataFrame(np.column_stack([RUN.t_s * time_scale, RUN.acc_g * scale]))
    if time_scale > 1:
        df[0] = np.round(df[0]).astype(np.int64)
    path = tmp_path / "g.csv"
    path.write_text(header + "\n" + df.to_csv(sep=sep, index=False, header=False))
    rec, notes, info = _read(path)
    assert (info.format, info.units, info.units_origin, info.time_unit) == (
        "generic",
        units,
        "header",
        time_unit,
    )
    assert notes == []
    np.testing.assert_allclose(rec.acc_g, RUN.acc_g, rtol=0, atol=1e-9)
    np.testing.assert_allclose(rec.t_s, RUN.t_s, rtol=0, atol=1e-9)


@pytest.mark.parametrize(("scale", "assumed"), [(1.0, "g"), (G, "m/s^2"), (1000.0, "milli-g")])
def test_generic_units_assumed_from_the_magnitude(
    tmp_path: Path, scale: float, assumed: str
) -> None:
    df = pd.DataFrame(np.column_stack([RUN.t_ms, RUN.acc_g * scale]), columns=list("txyz"))
    df["t"] = df["t"].astype(np.int64)
    path = tmp_path / "g.csv"
    df.to_csv(path, index=False)
    rec, notes, info = _read(path)
    assert info.units_origin == "assumed" and info.time_unit == "ms"
    assert (
        notes[0]
        == "no time unit in the header: assumed ms, as the median step 10 then means 100 Hz"
    )
    assert notes[1].startswith(f"no acceleration unit in the header: assumed {assumed}, as the")
    np.testing.assert_allclose(rec.acc_g, RUN.acc_g, rtol=0, atol=1e-9)
    rec, notes, info = _read(path, units="g", time_unit="ms") if scale == 1.0 else (rec, [], info)
    assert notes == []


def test_generic_explicit_units_win_with_a_note(tmp_path: Path) -> None:
    df = pd.DataFrame(np.column_stack([RUN.t_s, RUN.acc_g]), columns=["time", "x", "y", "z"])
    path = tmp_path / "g.csv"
    df.to_csv(path, index=False)
    _, notes, info = _read(path, units="m/s2", time_unit="s")
    assert info.units_origin == "argument"
    assert notes == [
        "median |a| of the first rows is 1.241, which looks like g; read as m/s^2 as told",
        "median |a| is only 0.13 g (about 1 g expected): gravity removed, a constant signal, "
        "or not g; impacts may read low",
    ]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file: no header and no samples"),
        (b"\n \n\t\n", "empty file: no header and no samples"),
        (bytes(range(256)) * 4, r"not a CSV text file \(binary data\)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "binary data"),
        (b"\x1f\x8b\x08\x00garbage" + bytes(50), "corrupt gzip data"),
        (
            b"date,temperature,humidity\n2024-05-01,21.5,40\n",
            r"header 'date,temperature,humidity' matches no known export format; expected one "
            r"of: plain \(t_s,ax_g,ay_g,az_g\); phyphox .*; sensorlogger .*; polar .*; "
            r"metawear .*; actigraph .*; generic",
        ),
    ],
)
def test_unusable_files_one_line_naming_the_file(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=message) as excinfo:
        _read(path)
    _one_line_error(excinfo, path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '"Time (s)","Acceleration x (m/s^2)","Acceleration y (m/s^2)"\n0,1,2\n',
            r"missing axis column 'Acceleration z \(m/s\^2\)': found 'Time \(s\)', ",
        ),
        ("time,seconds_elapsed,z,y,x\n", "no samples: the file has a header only"),
        (
            "epoch (ms),time (-13:00),elapsed (s),x-axis (g),y-axis (g)\n1,a,0,1,2\n",
            r"missing axis column 'z-axis \(g\)'",
        ),
        ("time_ms,acc_x,acc_y\n0,1,2\n", "missing axis column for z: found 'time_ms'"),
        ("t_s,ax_g,ay_g,az_g\n0,0,0,1\n", "only one usable sample: need at least two"),
    ],
)
def test_missing_columns_and_samples(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "export.csv"
    path.write_text(text)
    with pytest.raises(FileFormatError, match=message) as excinfo:
        _read(path)
    _one_line_error(excinfo, path)


def _rescale_last_three(path: Path, header_lines: int, sep: str, scale: float) -> Path:
    """Multiply the three axis columns (the last three) of every data row by `scale`."""
    lines = path.read_text().splitlines()
    out = lines[:header_lines]
    for line in lines[header_lines:]:
        fields = line.split(sep)
        fields[-3:] = [repr(float(v) * scale) for v in fields[-3:]]
        out.append(sep.join(fields))
    path.write_text("\n".join(out) + "\n")
    return path


@pytest.mark.parametrize(
    ("writer", "header_lines", "sep", "scale", "message"),
    [
        (
            write_metawear,
            1,
            ",",
            G,
            r"accelerations look like m/s\^2, not g as the header says: median \|a\| of the "
            r"first rows is 12\.\d+ \(about 1 g with gravity expected\); pass units='m/s2' to "
            r"read them so",
        ),
        (write_polar, 1, ";", 1e-3, r"look like g, not milli-g as the header says: .*units='g'"),
        (
            write_actigraph,
            11,
            ",",
            1000.0,
            r"look like milli-g, not g as the ActiGraph format says",
        ),
    ],
)
def test_units_contradicting_the_header_refused(
    tmp_path: Path, writer, header_lines: int, sep: str, scale: float, message: str
) -> None:
    path = _rescale_last_three(writer(tmp_path / "acc.csv"), header_lines, sep, scale)
    with pytest.raises(FileFormatError, match=message) as excinfo:
        _read(path)
    _one_line_error(excinfo, path)
    if writer is write_metawear:  # the user may insist
        rec, notes, info = _read(path, units="m/s2")
        assert info.units_origin == "argument" and notes == []
        np.testing.assert_allclose(rec.acc_g, RUN.acc_g, rtol=0, atol=1e-6)


def test_streaming_into_the_detector_gives_the_same_contacts() -> None:
    path = FIXTURES / "sensorlogger_2024-05-01_12-00-00.zip"
    rec, _, _ = _read(path)
    detector = ContactDetector(rec.placement, rec.fs_hz, has_gyro=True, side=rec.side)
    found = []
    for chunk in iter_chunks(path, chunk_rows=64):
        found += detector.push(chunk.t_s, chunk.acc_g, chunk.gyro_dps)
    found += detector.finish()
    pd.testing.assert_frame_equal(contacts_frame(found), detect_contacts(rec))


def test_nan_rows_dropped_and_counted(tmp_path: Path) -> None:
    path = write_metawear(tmp_path / "acc.csv")
    lines = path.read_text().splitlines()
    lines[10] = lines[10].rsplit(",", 1)[0] + ",NaN"
    lines[20] = lines[20].rsplit(",", 1)[0] + ","
    lines[30] = "1714557600300,junk,0.300,x,0.1,0.9"
    lines[40] = lines[40].rsplit(",", 1)[0] + ",inf"
    path.write_text("\n".join(lines) + "\n")
    rec, notes, _ = _read(path)
    assert len(rec.t_s) == len(RUN.t_ms) - 4
    assert notes == [
        f"dropped 4 of {len(RUN.t_ms)} rows with a missing, non-numeric, NaN or infinite value"
    ]
    stream_notes: list[str] = []
    t, _, _ = _chunks(path, 64, notes=stream_notes)
    np.testing.assert_array_equal(t, rec.t_s)
    assert stream_notes == notes


def test_repeated_and_backward_timestamps(tmp_path: Path) -> None:
    path = write_polar(tmp_path / "Polar_H10_X_20240501_120000_ACC.txt")
    lines = path.read_text().splitlines()
    lines = [*lines[:101], lines[100], lines[100], *lines[101:]]  # a packet re-sent
    lines[200], lines[201] = lines[201], lines[200]  # two samples swapped
    path.write_text("\n".join(lines) + "\n")
    rec, notes, _ = _read(path)
    assert len(rec.t_s) == len(RUN.t_ms) and np.all(np.diff(rec.t_s) > 0)
    np.testing.assert_allclose(rec.acc_g, RUN.acc_g, rtol=0, atol=1e-12)
    assert notes == [
        "sorted 1 sample that were out of time order (first at row 201, at most 10 ms back)",
        "dropped 2 samples whose timestamp repeats the one before (kept the first)",
    ]
    stream_notes: list[str] = []
    t, _, _ = _chunks(path, 50, notes=stream_notes)
    assert len(t) == len(RUN.t_ms) - 1 and np.all(np.diff(t) > 0)
    assert stream_notes == [
        "dropped 3 samples whose time is not after every earlier one (repeated or out of "
        "order; a stream keeps the first)"
    ]


def test_clock_reset_refused(tmp_path: Path) -> None:
    path = write_generic(tmp_path / "g.csv")
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, *lines[1:]]) + "\n")  # a second file appended
    with pytest.raises(
        FileFormatError,
        match=r"time goes back by 6.58 s at row 660 .*"
        r"timestamp \(ms\) must increase",
    ) as excinfo:
        _read(path)
    _one_line_error(excinfo, path)


def test_time_unit_or_rate_that_cannot_be_told(tmp_path: Path) -> None:
    path = tmp_path / "slow.csv"
    path.write_text("time,x,y,z\n" + "".join(f"{i * 0.2:.1f},0,0,1\n" for i in range(50)))
    with pytest.raises(
        FileFormatError,
        match=r"no time unit in the header and a median step of "
        r"0\.2 does not tell it: pass time_unit= one of s, ms, us, ns",
    ):
        _read(path)
    rec, _, _ = _read(path, time_unit="ms")
    assert rec.fs_hz == 5000.0
    lines = ACTIGRAPH_HEADER.copy()
    lines[0] = lines[0].replace(" at 100 Hz", "")
    path.write_text("\n".join([*lines, *(f"0.0,0.0,{1 + i % 2 * 0.01}" for i in range(50))]))
    with pytest.raises(FileFormatError, match="without timestamps or a rate in its header: pass"):
        _read(path)
    rec, _, _ = _read(path, fs_hz=50.0)
    assert rec.fs_hz == 50.0 and rec.t_s[-1] == pytest.approx(49 / 50)


def test_forced_format(tmp_path: Path) -> None:
    path = FIXTURES / "generic_epoch_ms.csv"
    assert detect_format(path, "generic").name == "generic"
    with pytest.raises(
        FileFormatError,
        match=r"does not look like a polar export: expected a "
        r"header like Phone timestamp;sensor timestamp \[ns\];X \[mg\]",
    ):
        detect_format(path, "polar")
    with pytest.raises(FileFormatError, match=r"unknown format 'csv': expected one of plain, "):
        detect_format(path, "csv")
    with pytest.raises(ValueError, match="units 'G' is not one of g, mg, m/s2"):
        _read(path, units="G")


def test_gzip_export_and_plain_delegation(tmp_path: Path) -> None:
    text = (FIXTURES / "phyphox_acceleration_with_g.csv").read_bytes()
    path = tmp_path / "phyphox.csv.gz"
    path.write_bytes(gzip.compress(text))
    rec, _, info = _read(path)
    assert info.format == "phyphox"
    np.testing.assert_allclose(rec.acc_g, RUN.acc_g, rtol=0, atol=1e-8)
    folder = FIXTURES / "plain"
    rec, notes, info = _read(folder)
    want, want_notes = read_plain_recording(folder, "foot")
    assert info.format == "plain" and notes == want_notes
    np.testing.assert_array_equal(rec.acc_g, want.acc_g)


# --------------------------------------------------------------------------- bounded memory


def test_large_file_streams_in_bounded_chunks(tmp_path: Path) -> None:
    n = 300_000  # 25 min at 200 Hz; a 6 h file (4.3 M rows) behaves the same, 14x longer
    rng = np.random.default_rng(0)
    t_ns = 1_714_557_600_000_000_000 + np.arange(n, dtype=np.int64) * 5_000_000
    acc = rng.normal(0.0, 0.5, (n, 3)) + np.array([0.0, 0.0, G])
    frame = pd.DataFrame(
        {
            "time": t_ns,
            "seconds_elapsed": np.arange(n) * 0.005,
            "z": acc[:, 2],
            "y": acc[:, 1],
            "x": acc[:, 0],
        }
    )
    path = tmp_path / "TotalAcceleration.csv"
    frame.to_csv(path, index=False)
    out = traced_in_child("from loadmon.io.exporters import iter_chunks", f"""
count = rows = 0
last = -float("inf")
for chunk in iter_chunks({str(path)!r}, chunk_rows=20_000):
    count += 1
    rows += len(chunk.t_s)
    assert len(chunk.t_s) <= 20_000 and chunk.t_s[0] > last
    last = float(chunk.t_s[-1])
out.update(count=count, rows=rows, last=last)
""")
    assert out["rows"] == n and out["last"] == pytest.approx((n - 1) * 0.005, abs=1e-9)
    # blocks sized to a little under a chunk, by bytes per row; the last sample comes alone
    # (each chunk's last is held until the next tells whether it is a stray timestamp)
    assert 16 <= out["count"] <= 18
    peak = out["peak"]
    assert peak < 40e6, f"peak {peak / 1e6:.0f} MB"  # the whole file would be ~100 MB of text



@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("block_bytes", [5, 64, 1 << 20])
def test_text_blocks_are_whole_lines_after_the_header(ending: str, block_bytes: int) -> None:
    header = ["# a comment", "", "t_s,ax_g,ay_g,az_g"]
    data = [f"{k * 0.01:.2f},{k},-{k}.5,1e-{k % 9}" for k in range(40)]
    text = ending.join([*header, *data]) + ending
    blocks = list(text_blocks(io.BytesIO(codecs.BOM_UTF8 + text.encode()), 3, block_bytes))
    assert b"".join(blocks).decode() == ending.join(data) + ending
    assert all(b.endswith(ending.encode()) for b in blocks)
    if block_bytes == 64:
        assert 1 < len(blocks) < len(data)


def test_rows_pyarrow_refuses_parse_to_the_same_floats(tmp_path: Path) -> None:
    """A block with a short row or a text cell goes to pandas; its other rows are unchanged."""
    rng = np.random.default_rng(3)
    n = 3000
    acc = np.round(rng.normal(0.0, 2.0, (n, 3)), 6)
    lines = ["t_s,ax_g,ay_g,az_g"] + [
        f"{k / 200:.3f},{a:.6f},{b:.6f},{c + 1:.6f}" for k, (a, b, c) in enumerate(acc)
    ]
    clean = _write_lines(tmp_path / "clean.csv", lines)
    written = np.array([[float(v) for v in line.split(",")[1:]] for line in lines[1:]])
    lines[1500] = lines[1500].rsplit(",", 1)[0]  # a short row
    lines[2500] = lines[2500].split(",", 1)[0] + ",oops,0,1"  # a text cell
    messy = _write_lines(tmp_path / "messy.csv", lines)
    t_clean, acc_clean, _ = _chunks(clean, 200)
    t_messy, acc_messy, _ = _chunks(messy, 200)
    keep = ~np.isin(np.arange(n), [1499, 2499])
    np.testing.assert_array_equal(t_messy, t_clean[keep])
    np.testing.assert_array_equal(acc_messy, acc_clean[keep])
    np.testing.assert_array_equal(acc_messy, written[keep])



def test_prefetched_keeps_order_raises_and_closes() -> None:
    closed: list[str] = []

    def items(fail_at: int | None) -> Iterator[int]:
        try:
            for k in range(50):
                if k == fail_at:
                    raise FileFormatError(f"bad row {k}")
                yield k
        finally:
            closed.append(threading.current_thread().name)

    assert list(prefetched(items(None))) == list(range(50))
    with pytest.raises(FileFormatError, match="bad row 7"):
        list(prefetched(items(7)))
    stream = prefetched(items(None))
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()  # the caller stops early: the reader thread stops and closes its source
    assert len(closed) == 3 and "MainThread" not in closed
    assert not any(t.name == "loadmon-reader" for t in threading.enumerate())



def test_finite_rows() -> None:
    t = np.array([0.0, 0.1, np.inf, 0.3])
    acc = np.ones((4, 3))
    assert finite_rows(np.arange(4.0), acc, None).tolist() == [True] * 4
    acc[1, 2] = np.nan
    assert finite_rows(t, acc, None).tolist() == [True, False, False, True]
    assert finite_rows(acc[:, 0], np.full((4, 3), -np.inf)).tolist() == [False] * 4


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


if __name__ == "__main__":
    write_fixtures(run=make_run())
    print(f"wrote {len(FIXTURE_FORMATS)} fixtures to {FIXTURES}")
