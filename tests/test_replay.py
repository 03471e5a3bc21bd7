"""The plain-layout recording reader and ``loadmon replay`` (with a fake detector)."""

from __future__ import annotations

import gzip
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import loadmon.signal
from loadmon.cli import cli
from loadmon.cli import replay as replay_mod
from loadmon.io.errors import FileFormatError
from loadmon.io.recordings import read_plain_recording, round_rate
from loadmon.signal.types import CONTACT_COLUMNS, GaitSummary, Recording
from tests.conftest import SHARED_DATA, traced_in_child

RECORDINGS = SHARED_DATA / "recordings"
needs_recordings = pytest.mark.skipif(
    not RECORDINGS.is_dir(),
    reason=f"real recordings folder {RECORDINGS} is absent (a user's clone); CI always has it",
)
#: One real recording per source (id, placement for the CLI).
REAL = {
    "gaitmap-healthy1-2x20mwalk-leftfoot": "foot",
    "ipol-s01-t1-lowerback": "lower_back",
    "adeptdata-s1-half1-leftankle": "ankle",
    "oxford-jamie-nexushard1-phoneinhand": "phone_hand",
    "mobgap-ha001-test11trial1-lowerback": "lower_back",
    "strikewatch-p01-forefootstrike-wrist": "wrist",
}
HEADER = "t_s,ax_g,ay_g,az_g"


def _walk(n: int = 400, fs_hz: float = 100.0, gyro: bool = False) -> pd.DataFrame:
    """A synthetic recording in g: gravity on z plus a 1.5 Hz bounce."""
    t = np.arange(n) / fs_hz
    data = {
        "t_s": t,
        "ax_g": 0.1 * np.sin(2 * np.pi * 1.5 * t),
        "ay_g": 0.05 * np.cos(2 * np.pi * 1.5 * t),
        "az_g": 1.0 + 0.3 * np.sin(2 * np.pi * 3.0 * t),
    }
    if gyro:
        data |= {"gx_dps": 50 * np.sin(t), "gy_dps": 10 * np.cos(t), "gz_dps": np.zeros(n)}
    return pd.DataFrame(data)


def _write(path: Path, df: pd.DataFrame) -> Path:
    df.to_csv(path, index=False, float_format="%.6f")
    return path


def _write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- reader


def test_plain_csv_clean(tmp_path: Path) -> None:
    rec, notes = read_plain_recording(_write(tmp_path / "samples.csv", _walk()), "foot")
    assert notes == []
    assert isinstance(rec, Recording)
    assert rec.acc_g.shape == (400, 3) and rec.acc_g.dtype == np.float64
    assert rec.t_s.shape == (400,) and np.all(np.diff(rec.t_s) > 0)
    assert rec.gyro_dps is None
    assert rec.fs_hz == 100.0
    assert rec.placement == "foot" and rec.side is None and rec.start_utc is None
    assert rec.duration_s == pytest.approx(3.99)


def test_gzip_with_gyro_and_meta(tmp_path: Path) -> None:
    path = tmp_path / "samples.csv.gz"
    with gzip.open(path, "wt") as fh:
        _walk(gyro=True, fs_hz=204.8).to_csv(fh, index=False, float_format="%.6f")
    (tmp_path / "meta.json").write_text(json.dumps(
        {"fs_hz": 204.8, "side": "right", "start_unix_s": 1607605743.815, "other": [1]}))
    rec, notes = read_plain_recording(path, "ankle")
    assert notes == []
    assert rec.gyro_dps is not None and rec.gyro_dps.shape == (400, 3)
    assert rec.gyro_dps[:, 0] == pytest.approx(50 * np.sin(rec.t_s), abs=1e-4)
    assert rec.fs_hz == 204.8 and rec.side == "right"
    assert rec.start_utc is not None and rec.start_utc.year == 2020
    # the folder works too, and gzip is recognised by content, not by name
    assert len(read_plain_recording(tmp_path, "ankle")[0].t_s) == 400
    renamed = path.rename(tmp_path / "other.csv")
    assert len(read_plain_recording(renamed, "ankle")[0].t_s) == 400


def test_fs_argument_beats_meta_and_estimate(tmp_path: Path) -> None:
    path = _write(tmp_path / "samples.csv", _walk(fs_hz=50.0))
    (tmp_path / "meta.json").write_text('{"fs_hz": 52.0}')
    assert read_plain_recording(path, "wrist")[0].fs_hz == 52.0
    rec, notes = read_plain_recording(path, "wrist", fs_hz=100.0)
    assert rec.fs_hz == 100.0
    assert len(notes) == 1 and "100 Hz differs from the timestamps' 50 Hz" in notes[0]
    with pytest.raises(ValueError, match="fs_hz"):
        read_plain_recording(path, "wrist", fs_hz=0.0)


def test_broken_meta_is_not_required(tmp_path: Path) -> None:
    path = _write(tmp_path / "samples.csv", _walk())
    (tmp_path / "meta.json").write_text("{not json")
    rec, notes = read_plain_recording(path, "hip")
    assert rec.fs_hz == 100.0 and notes == ["meta.json beside the samples is not readable JSON; "
                                            "ignored it"]


@pytest.mark.parametrize(("rate", "expected"), [
    (100.0, 100.0), (1 / 0.010001, 100.0), (1 / 0.004883, 204.8), (1 / 0.004882, 204.8),
    (198.63, 198.6), (1600.0, 1600.0), (1 / 0.0006, 1667.0), (25.0, 25.0), (12.5, 12.5),
])
def test_round_rate(rate: float, expected: float) -> None:
    assert round_rate(rate) == expected


def test_estimated_rate_with_jitter(tmp_path: Path) -> None:
    df = _walk(n=2000, fs_hz=100.0)
    rng = np.random.default_rng(1)
    df["t_s"] += rng.uniform(-0.001, 0.001, len(df))
    rec, notes = read_plain_recording(_write(tmp_path / "s.csv", df), "phone_hand")
    assert notes == []
    assert 99.0 <= rec.fs_hz <= 101.0


def test_nan_and_inf_rows_dropped(tmp_path: Path) -> None:
    df = _walk().astype({"ax_g": object})
    df.loc[5, "ax_g"] = np.nan
    df.loc[6, "ay_g"] = np.inf
    df.loc[7, "t_s"] = np.nan
    df.loc[8, "ax_g"] = "oops"
    rec, notes = read_plain_recording(_write(tmp_path / "s.csv", df), "foot")
    assert len(rec.t_s) == 396
    assert np.isfinite(rec.acc_g).all() and np.isfinite(rec.t_s).all()
    assert notes == ["dropped 4 of 400 rows with a missing, non-numeric, NaN or infinite value"]


def test_partial_or_empty_gyro_is_ignored_with_a_note(tmp_path: Path) -> None:
    df = _walk(gyro=True)
    rec, notes = read_plain_recording(_write(tmp_path / "a.csv", df.drop(columns="gz_dps")), "foot")
    assert rec.gyro_dps is None and "only gx_dps, gy_dps" in notes[0]
    df[["gx_dps", "gy_dps", "gz_dps"]] = np.nan
    rec, notes = read_plain_recording(_write(tmp_path / "b.csv", df), "foot")
    assert rec.gyro_dps is None and len(rec.t_s) == 400
    assert notes == ["ignored the gyroscope: its columns are empty"]


def test_repeated_timestamps_dropped(tmp_path: Path) -> None:
    df = _walk()
    df = pd.concat([df, df.iloc[[10, 20, 30]]]).sort_values("t_s", kind="stable")
    rec, notes = read_plain_recording(_write(tmp_path / "s.csv", df), "foot")
    assert len(rec.t_s) == 400 and np.all(np.diff(rec.t_s) > 0)
    assert notes == ["dropped 3 samples whose timestamp repeats the one before (kept the first)"]


def test_too_many_repeated_timestamps_refused(tmp_path: Path) -> None:
    df = _walk()
    df["t_s"] = np.floor(df["t_s"] * 50) / 50  # 20 ms resolution at 100 Hz
    with pytest.raises(FileFormatError, match=r"t_s repeats at 200 of 400 samples \(50%\)"):
        read_plain_recording(_write(tmp_path / "s.csv", df), "foot")


def test_few_backwards_timestamps_sorted(tmp_path: Path) -> None:
    df = _walk()
    df.iloc[[50, 51]] = df.iloc[[51, 50]].to_numpy()  # two samples swapped
    rec, notes = read_plain_recording(_write(tmp_path / "s.csv", df), "foot")
    assert np.all(np.diff(rec.t_s) > 0) and len(rec.t_s) == 400
    assert rec.acc_g == pytest.approx(_walk()[["ax_g", "ay_g", "az_g"]].to_numpy(), abs=1e-6)
    assert notes == ["sorted 1 sample that were out of time order (first at row 52, "
                     "at most 10 ms back)"]


def test_many_backwards_or_clock_reset_refused(tmp_path: Path) -> None:
    df = _walk()
    pairs_swapped = df.iloc[np.arange(400).reshape(-1, 2)[:, ::-1].ravel()]
    with pytest.raises(FileFormatError, match=r"out of order at 200 of 400 .* too many to sort"):
        read_plain_recording(_write(tmp_path / "a.csv", pairs_swapped), "foot")
    joined = pd.concat([df, df])  # a second file appended: time restarts at 0
    with pytest.raises(FileFormatError, match=r"time goes back by 3.99 s at row 401"):
        read_plain_recording(_write(tmp_path / "b.csv", joined), "foot")


def test_gaps_reported_not_bridged(tmp_path: Path) -> None:
    df = _walk(n=1000)
    df.loc[300:, "t_s"] += 2.5
    df.loc[700:, "t_s"] += 1.0
    df = df.drop(index=range(500, 520))  # a 0.2 s dropout: not worth a note
    rec, notes = read_plain_recording(_write(tmp_path / "s.csv", df), "foot")
    assert len(rec.t_s) == 980 and rec.fs_hz == 100.0
    assert notes == ["2 gaps of 1 s or more (3.5 s in all; longest 2.5 s after t_s 2.99), "
                     "left as they are: no samples invented"]


@pytest.mark.parametrize(("scale", "message"), [
    (9.80665, r"look like m/s\^2, not g: median \|a\| is 9.\d+ .* divide them by 9.80665"),
    (1000.0, r"look like milli-g, not g: median \|a\| is 10\d\d.*divide them by 1000"),
    (60.0, r"median \|a\| is 6\d\.\d: not accelerations in g"),
])
def test_wrong_units_refused(tmp_path: Path, scale: float, message: str) -> None:
    df = _walk()
    df[["ax_g", "ay_g", "az_g"]] *= scale
    with pytest.raises(FileFormatError, match=message):
        read_plain_recording(_write(tmp_path / "s.csv", df), "foot")


def test_running_shank_in_g_accepted_and_gravity_free_noted(tmp_path: Path) -> None:
    df = _walk()
    df["az_g"] = 1.0 + 2.5 * np.abs(np.sin(2 * np.pi * 1.4 * df["t_s"]))  # median |a| ~2.8 g
    assert read_plain_recording(_write(tmp_path / "a.csv", df), "shank")[1] == []
    df[["ax_g", "ay_g", "az_g"]] = 0.0  # constant, gravity removed
    rec, notes = read_plain_recording(_write(tmp_path / "b.csv", df), "shank")
    assert len(rec.t_s) == 400 and "median |a| is only 0 g" in notes[0]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty file"),
    (b"\n\n  \n", "empty file"),
    (HEADER.encode() + b"\n", "no samples: the file has a header only"),
    (HEADER.encode() + b"\n0.0,0,0,1\n", "only one usable sample"),
    (HEADER.encode() + b"\n0.0,0,0,1\n0.0,0,0,1\n", "t_s repeats at 1 of 2 samples"),
    (HEADER.encode() + b"\nnan,0,0,1\n0.1,x,0,1\n", "no usable samples: all 2 rows"),
    (b"t_s,ax_g,ay_g\n0,1,0\n0.01,1,0\n", "missing column az_g: expected t_s, ax_g, ay_g, az_g"),
    (b"time,x,y,z\n0,1,0,0\n", "missing columns t_s, ax_g, ay_g, az_g: .* found 'time', 'x'"),
    (b"0.0,0,0,1\n0.01,0,0,1\n", "missing columns"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary data"),
    (bytes(range(128, 256)) * 4, "binary data"),
    ("t_s,ax_g,ay_g,az_g,note\n0,0,0,1,café\n".encode("latin-1"), "not UTF-8 text.*Latin-1"),
    (HEADER.encode(), "no samples: the file has a header only"),  # without its line end
    (b"\x1f\x8b\x08\x00garbage" + bytes(50), "corrupt gzip data"),
    # a row with more cells than the header is dropped (noted), which leaves one sample
    (HEADER.encode() + b"\n0,0,0,1\n0.01,0,0,1,5,6\n", "only one usable sample"),
    (b"t_s,ax_g,ay_g,az_g\n0,0,0,1\n10,0,0,1\n20,0,0,1\n", r"t_s in milliseconds\?"),
])
def test_unusable_files_raise_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "samples.csv"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=message) as info:
        read_plain_recording(path, "foot")
    text = str(info.value)
    assert "\n" not in text and "samples.csv" not in text and len(text) < 300


def test_truncated_gzip(tmp_path: Path) -> None:
    big = _walk(n=20_000)
    full = gzip.compress(big.to_csv(index=False).encode())
    path = tmp_path / "samples.csv.gz"
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(FileFormatError, match="corrupt gzip data"):
        read_plain_recording(path, "foot")


def test_folder_without_samples(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match=r"folder without samples\.csv\.gz or samples\.csv"):
        read_plain_recording(tmp_path, "foot")


@needs_recordings
@pytest.mark.parametrize("rec_id", sorted(REAL))
def test_real_recordings_read_clean(rec_id: str) -> None:
    folder = RECORDINGS / rec_id
    meta = json.loads((folder / "meta.json").read_text())
    rec, notes = read_plain_recording(folder / "samples.csv.gz", REAL[rec_id])
    assert notes == []
    assert rec.acc_g.shape == (meta["n_samples"], 3)
    assert (rec.gyro_dps is not None) == meta["has_gyro"]
    if rec.gyro_dps is not None:
        assert rec.gyro_dps.shape == rec.acc_g.shape
    assert rec.fs_hz == meta["fs_hz"]
    assert rec.duration_s == pytest.approx(meta["duration_s"], abs=1e-5)
    assert np.all(np.diff(rec.t_s) > 0)
    assert rec.side == (meta["side"] if meta["side"] in ("left", "right") else None)
    # units: g including gravity
    assert 0.8 < np.median(np.linalg.norm(rec.acc_g, axis=1)) < 3.0


# --------------------------------------------------------------------------- CLI


def _fake_contacts(rec: Recording) -> pd.DataFrame:
    t0 = float(rec.t_s[0])
    return pd.DataFrame({
        "t_s": [t0 + 0.5, t0 + 1.25, t0 + 2.0],
        "side": ["left", None, "right"],
        "impact_g": [np.float64(3.21), np.float64(4.5), np.nan],
        "clipped": [False, False, True],
        "contact_ms": [210.0, np.nan, 230.5],
    }, columns=list(CONTACT_COLUMNS))


def _fake_summary(contacts: pd.DataFrame, rec: Recording, segments_s=None) -> GaitSummary:
    return GaitSummary(
        contacts=len(contacts), steps=np.int64(2 * len(contacts)), cadence_spm=np.float64(160.0),
        cadence_spm_per_min=(158.0, float("nan"), 161.5), impact_g_median=3.855,
        impact_g_iqr=0.6, contact_ms_median=float("nan"), contact_ms_iqr=None,
        step_time_cv=0.031, clipped=1,
    )


@pytest.fixture
def fake_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay_mod, "detect_contacts", _fake_contacts)
    monkeypatch.setattr(replay_mod, "summarize", _fake_summary)


def _run(*args: str):
    return CliRunner().invoke(cli, ["replay", *map(str, args)])


@pytest.mark.usefixtures("fake_detector")
def test_replay_json_schema_and_nulls(tmp_path: Path) -> None:
    path = _write(tmp_path / "samples.csv", _walk(gyro=True))
    result = _run(path, "--placement", "foot", "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    assert list(doc) == ["file", "placement", "fs_hz", "duration_s", "contacts", "summary"]
    assert doc["file"] == str(path) and doc["placement"] == "foot"
    assert doc["fs_hz"] == 100.0 and doc["duration_s"] == pytest.approx(3.99)
    assert doc["contacts"] == [
        {"t_s": 0.5, "side": "left", "impact_g": 3.21, "contact_ms": 210.0},
        {"t_s": 1.25, "side": None, "impact_g": 4.5, "contact_ms": None},
        {"t_s": 2.0, "side": "right", "impact_g": None, "contact_ms": 230.5},
    ]
    assert doc["summary"] == {"contacts": 3, "steps": 6, "cadence_spm": 160.0,
                              "impact_g_median": 3.855, "contact_ms_median": None}
    assert "NaN" not in result.stdout


def test_replay_json_no_contacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay_mod, "detect_contacts",
                        lambda rec: pd.DataFrame(columns=list(CONTACT_COLUMNS)))
    monkeypatch.setattr(replay_mod, "summarize", lambda c, rec, segments_s=None: GaitSummary(
        0, 0, None, (), None, None, None, None, None, 0))
    result = _run(_write(tmp_path / "s.csv", _walk()), "-p", "wrist", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["contacts"] == []
    assert doc["summary"] == {"contacts": 0, "steps": 0, "cadence_spm": None,
                              "impact_g_median": None, "contact_ms_median": None}


@pytest.mark.usefixtures("fake_detector")
def test_replay_json_repairs_go_to_stderr(tmp_path: Path) -> None:
    df = _walk().astype({"ax_g": object})
    df.loc[3, "ax_g"] = "nan"
    path = _write(tmp_path / "s.csv", df)
    result = _run(path, "--placement", "hip", "--fs", "100", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["fs_hz"] == 100.0
    assert result.stderr == f"{path}: dropped 1 of 400 rows with a missing, non-numeric, NaN " \
                            "or infinite value\n"


@pytest.mark.usefixtures("fake_detector")
def test_replay_human_summary(tmp_path: Path) -> None:
    df = _walk()
    df = pd.concat([df, df.iloc[[7]]]).sort_values("t_s", kind="stable")
    path = _write(tmp_path / "s.csv", df)
    result = _run(path, "--placement", "foot")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(f"{path}\n  foot, 100 Hz, 4.0 s, 400 samples, no gyroscope\n")
    for expected in (
        "contacts      3 (1 clipped at the sensor's range)",
        "steps         6 (both feet: twice the contacts of one foot)",
        "cadence       160.0 steps/min",
        "impact        median 3.85 g, IQR 0.60 g",
        "contact time  unknown",
        "step time CV  3.1 %",
        "cadence per minute (steps/min):",
        "  1: 158     2:   -     3: 162",
        "repairs while reading:\n   - dropped 1 sample whose timestamp repeats",
    ):
        assert expected in out, out
    clean = _run(_write(tmp_path / "c.csv", _walk()), "-p", "lower_back").stdout
    assert "repairs while reading: none" in clean and "both feet" not in clean


@pytest.mark.usefixtures("fake_detector")
@pytest.mark.parametrize(("content", "problem"), [
    (b"", "empty file: no header and no samples"),
    (bytes(range(256)), "not a CSV text file (binary data)"),
    (b"t_s,ax_g,ay_g\n0,0,1\n0.01,0,1\n", "missing column az_g"),
    (b"foo,bar\n1,2\n", "header 'foo,bar' matches no known export format; expected one of: "
                        "plain (t_s,ax_g,ay_g,az_g); phyphox"),
])
def test_replay_errors_one_line_exit_1(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "samples.csv"
    path.write_bytes(content)
    for extra in ((), ("--json",)):
        result = _run(path, "--placement", "foot", *extra)
        assert result.exit_code == 1
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: {problem}"), lines


@pytest.mark.usefixtures("fake_detector")
def test_replay_units_and_missing_file_errors(tmp_path: Path) -> None:
    df = _walk()
    df[["ax_g", "ay_g", "az_g"]] *= 9.80665
    path = _write(tmp_path / "ms2.csv", df)
    result = _run(path, "-p", "foot", "--json")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"Error: {path}: accelerations look like m/s^2, not g")
    assert len(result.stderr.splitlines()) == 1
    missing = tmp_path / "nope.csv"
    result = _run(missing, "-p", "foot")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {missing}: No such file or directory\n"


def test_replay_usage_errors() -> None:
    # a placement the detector does not know: one line naming the file (was click's usage)
    result = _run("x.csv", "--placement", "elbow")
    assert result.exit_code == 1 and result.stderr.startswith("Error: x.csv: placement 'elbow'")
    result = _run("x.csv", "--placement", "lowerback")
    assert result.stderr.count("\n") == 1 and "(did you mean lower_back?)" in result.stderr
    assert _run("x.csv").exit_code == 2  # --placement is required
    assert _run("x.csv", "-p", "foot", "--fs", "0").exit_code == 2
    help_text = CliRunner().invoke(cli, ["--help"]).output
    assert "replay" in help_text


@needs_recordings
@pytest.mark.usefixtures("fake_detector")
def test_replay_real_recording_folder_json() -> None:
    folder = RECORDINGS / "gaitmap-healthy1-2x20mwalk-leftfoot"
    result = _run(folder, "--placement", "foot", "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    assert doc["fs_hz"] == 204.8 and doc["duration_s"] == pytest.approx(38.706055)
    assert doc["contacts"][0]["side"] == "left"


@needs_recordings
@pytest.mark.skipif(not hasattr(loadmon.signal, "detect_contacts"),
                    reason="loadmon.signal.detect_contacts has not landed yet")
def test_replay_real_detector_schema() -> None:
    path = RECORDINGS / "gaitmap-healthy1-2x20mwalk-leftfoot" / "samples.csv.gz"
    result = _run(path, "--placement", "foot", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc) == ["file", "placement", "fs_hz", "duration_s", "contacts", "summary"]
    assert all(list(c) == ["t_s", "side", "impact_g", "contact_ms"] for c in doc["contacts"])
    assert list(doc["summary"]) == ["contacts", "steps", "cadence_spm", "impact_g_median",
                                    "contact_ms_median"]
    assert doc["summary"]["contacts"] == len(doc["contacts"]) > 0
    assert all(isinstance(c["t_s"], float) and math.isfinite(c["t_s"]) for c in doc["contacts"])


# --------------------------------------------------------------------------- exporters, streaming

from dataclasses import asdict  # noqa: E402

from loadmon import replay as replay_service  # noqa: E402
from loadmon.io.exporters import FORMATS  # noqa: E402
from tests.test_io_exporters import (  # noqa: E402
    FIXTURE_FORMATS,
    FIXTURES,
    WITH_GYRO,
    sensorlogger_tables,
    write_polar,
    write_zip,
)


def _json_run(*args: object) -> dict:
    result = _run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_formats_names_and_describes_every_format() -> None:
    result = _run("--list-formats")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "description"]
    assert [line.split()[0] for line in lines[1:]] == list(FORMATS)
    for fmt, line in zip(FORMATS.values(), lines[1:], strict=True):
        assert line.endswith(fmt.description)
    doc = json.loads(_run("--list-formats", "--json").stdout)
    assert [d["name"] for d in doc] == list(FORMATS)
    assert all(d["description"] and d["expected"] for d in doc)


@pytest.mark.parametrize(("name", "fmt"), FIXTURE_FORMATS.items())
def test_every_format_replays_to_the_same_contacts(name: str, fmt: str, tmp_path: Path) -> None:
    doc = _json_run(FIXTURES / name, "-p", "foot")
    plain = FIXTURES / "plain/samples.csv"
    if name not in WITH_GYRO:  # the same samples without the gyroscope
        plain = tmp_path / "samples.csv"
        pd.read_csv(FIXTURES / "plain/samples.csv").iloc[:, :4].to_csv(plain, index=False)
    reference = _json_run(plain, "-p", "foot")
    info = replay_service.replay(FIXTURES / name, "foot").info
    assert (info.format, info.units) == (fmt, FORMATS_UNITS[fmt])
    assert doc["summary"]["contacts"] > 0
    assert doc["summary"] == reference["summary"]
    assert [c["t_s"] for c in doc["contacts"]] == [c["t_s"] for c in reference["contacts"]]
    assert [c["impact_g"] for c in doc["contacts"]] == pytest.approx(
        [c["impact_g"] for c in reference["contacts"]], abs=1e-3)


#: Units of each fixture's accelerations, as the header or the format tells them.
FORMATS_UNITS = {"plain": "g", "phyphox": "m/s2", "sensorlogger": "m/s2", "polar": "mg",
                 "metawear": "g", "actigraph": "g", "generic": "m/s2"}


def test_human_output_says_format_and_units() -> None:
    polar = FIXTURES / "Polar_H10_0A1B2C3D_20240501_120000_ACC.txt"
    out = _run(polar, "-p", "foot").stdout
    assert out.splitlines()[2] == "  read as polar: accelerations in milli-g (from the header); " \
                                  "time in ns"
    zipped = FIXTURES / "sensorlogger_2024-05-01_12-00-00.zip"
    assert "  read as sensorlogger (TotalAcceleration.csv): accelerations in m/s^2" in \
        _run(zipped, "-p", "foot").stdout


def test_forced_format_and_units_options(tmp_path: Path) -> None:
    polar = FIXTURES / "Polar_H10_0A1B2C3D_20240501_120000_ACC.txt"
    assert "  read as polar: " in _run(polar, "-p", "foot", "--format", "polar").stdout
    result = _run(polar, "-p", "foot", "--format", "metawear")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {polar}: does not look like a metawear export")
    assert _run(polar, "-p", "foot", "--format", "fit").exit_code == 2  # not a format
    # a bare generic CSV: neither unit in its header
    df = _walk()
    bare = tmp_path / "bare.csv"
    pd.DataFrame({"time": np.round(df["t_s"] * 1000).astype(int), "x": df["ax_g"] * 1000,
                  "y": df["ay_g"] * 1000, "z": df["az_g"] * 1000}).to_csv(bare, index=False)
    doc = _json_run(bare, "-p", "hip", "--units", "mg", "--time-unit", "ms")
    assert doc["fs_hz"] == 100.0
    assert "  read as generic: accelerations in milli-g (as given); time in ms" in \
        _run(bare, "-p", "hip", "--units", "mg", "--time-unit", "ms").stdout
    assert doc["duration_s"] == pytest.approx(3.99)
    wrong = _run(bare, "-p", "hip", "--units", "g", "--time-unit", "s")
    assert wrong.exit_code == 1 and "median sample interval is 10 s" in wrong.stderr


@pytest.mark.parametrize(("make", "problem"), [
    (lambda p: p.write_bytes(b""), "empty file"),
    (lambda p: p.write_bytes(bytes(range(256)) * 8), "binary data"),
    (lambda p: p.write_text("foo;bar\n1;2\n"), "matches no known export format; expected one "
                                                "of: plain (t_s,ax_g,ay_g,az_g); phyphox"),
    (lambda p: p.write_text("t_s,ax_g,az_g\n0,0,1\n0.01,0,1\n"), "missing column ay_g"),
    (lambda p: p.write_text("time (ms),x (g),y (g),z (g)\n"
                            + "".join(f"{i * 10},0,0,9.81\n" for i in range(100))),
     "accelerations look like m/s^2, not g as the header says"),
    (lambda p: write_zip(p, {**sensorlogger_tables(), "../evil.csv": "x"}),
     "zip member '../evil.csv' points outside the archive (path traversal): refused"),
])
def test_bad_input_is_one_line_exit_1(tmp_path: Path, make, problem: str) -> None:
    path = tmp_path / "upload.csv"
    make(path)
    result = _run(path, "-p", "foot")
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: "), lines
    assert problem in lines[0] and "Traceback" not in result.stderr


def test_bad_rows_are_repaired_and_said(tmp_path: Path) -> None:
    path = write_polar(tmp_path / "Polar_H10_X_20240501_120000_ACC.txt")
    lines = path.read_text().splitlines()
    lines = [*lines[:101], lines[100], *lines[101:]]  # a packet re-sent
    lines[200], lines[201] = lines[201], lines[200]  # two samples swapped
    lines[300] = lines[300].rsplit(";", 1)[0] + ";NaN"
    path.write_text("\n".join(lines) + "\n")
    for stream in ("0", None):  # streamed, and read whole
        args = [path, "-p", "foot", "--json"]
        with pytest.MonkeyPatch.context() as mp:
            if stream:
                mp.setattr(replay_service, "STREAM_FROM_BYTES", 0)
            result = _run(*args)
        assert result.exit_code == 0, result.output
        notes = result.stderr.splitlines()
        assert f"{path}: dropped 1 of 660 rows with a missing, non-numeric, NaN or infinite " \
               "value" in notes
        if stream:
            assert f"{path}: dropped 2 samples whose time is not after every earlier one " \
                   "(repeated or out of order; a stream keeps the first)" in notes
        else:
            assert any("sorted 1 sample that were out of time order" in n for n in notes)
            assert any("dropped 1 sample whose timestamp repeats" in n for n in notes)


@pytest.mark.parametrize("name", ["plain/samples.csv", "sensorlogger_2024-05-01_12-00-00.zip",
                                  "generic_epoch_ms.csv", "actigraph_NEO1F18120387_RAW.csv"])
@pytest.mark.parametrize("chunk_rows", [1, 97, 100_000])
def test_streamed_replay_equals_whole_file(name: str, chunk_rows: int) -> None:
    path = FIXTURES / name
    whole = replay_service.replay(path, "foot", stream=False)
    streamed = replay_service.replay(path, "foot", stream=True, chunk_rows=chunk_rows)
    assert (whole.streamed, streamed.streamed) == (False, True)
    _assert_same_replay(streamed, whole)
    assert len(whole.contacts) > 0


def _assert_same_replay(streamed, whole) -> None:
    pd.testing.assert_frame_equal(streamed.contacts, whole.contacts)
    np.testing.assert_equal(asdict(streamed.summary), asdict(whole.summary))  # NaN == NaN
    for attr in ("fs_hz", "n_samples", "t_first_s", "t_last_s", "has_gyro", "side",
                 "start_utc", "info", "notes"):
        assert getattr(streamed, attr) == getattr(whole, attr), attr


@needs_recordings
@pytest.mark.parametrize("rec_id", sorted(REAL))
def test_real_recordings_streamed_equal_whole(rec_id: str) -> None:
    folder = RECORDINGS / rec_id
    whole = replay_service.replay(folder, REAL[rec_id], stream=False)
    streamed = replay_service.replay(folder, REAL[rec_id], stream=True, chunk_rows=4096)
    _assert_same_replay(streamed, whole)


def test_cli_streams_large_files_with_the_same_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = FIXTURES / "generic_epoch_ms.csv"
    calls: list[bool] = []
    real = replay_service.replay

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append(result.streamed)
        return result

    monkeypatch.setattr(replay_service, "replay", spy)
    whole = _run(path, "-p", "foot", "--json")
    monkeypatch.setattr(replay_service, "STREAM_FROM_BYTES", 1000)
    streamed = _run(path, "-p", "foot", "--json")
    assert calls == [False, True]
    assert streamed.stdout == whole.stdout and streamed.stderr == whole.stderr == ""
    assert "replaying" not in streamed.stderr  # no progress bar when not on a terminal


def test_progress_reaches_the_end_of_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "samples.csv", _walk(n=100_000))
    seen: list[float] = []
    replay_service.replay(path, "hip", stream=True, chunk_rows=10_000, progress=seen.append)
    assert 10 <= len(seen) <= 13 and seen == sorted(seen) and seen[-1] == 1.0
    assert 0.0 < seen[0] < 0.5  # by bytes read, not by chunks counted


def test_streaming_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    peaks = []
    for n in (60_000, 240_000):
        path = _write(tmp_path / f"s{n}.csv", _walk(n=n))
        out = traced_in_child("from loadmon.replay import replay", f"""
out["n"] = replay({str(path)!r}, "lower_back", stream=True, chunk_rows=10_000).n_samples
""")
        peaks.append(out["peak"])
        assert out["n"] == n
    # four times the samples, about the same peak (the contacts, the output, do grow)
    assert peaks[1] < 1.3 * peaks[0], peaks


# --------------------------------------------------------------------------- timing, both paths


def _plain(path: Path, t: np.ndarray, rec: Recording) -> Path:
    pd.DataFrame({"t_s": t, "ax_g": rec.acc_g[:, 0], "ay_g": rec.acc_g[:, 1],
                  "az_g": rec.acc_g[:, 2]}).to_csv(path, index=False, float_format="%.6f")
    return path


def _both(path: Path, **kw):
    """The same file read whole and streamed in small chunks (a big file, or --live)."""
    return (replay_service.replay(path, "foot", stream=False, **kw),
            replay_service.replay(path, "foot", stream=True, chunk_rows=97, **kw))


@pytest.mark.parametrize("stray", [1e5, -1e3], ids=["ahead", "back"])
def test_a_stray_timestamp_is_dropped_on_both_paths(tmp_path: Path, stray: float) -> None:
    # a stream kept the stray and dropped every later sample (99.7 % of a 50 min run,
    # reported as 27 h); a whole file was refused as a clock reset at the row after it
    from loadmon.signal.synthetic import synthesize

    rec, _ = synthesize("foot", activity="walk", duration_s=40, fs_hz=100, seed=2, gyro=False)
    clean = _both(_plain(tmp_path / "clean.csv", rec.t_s, rec))
    t = rec.t_s.copy()
    t[1000] += stray
    for got, ref in zip(_both(_plain(tmp_path / "stray.csv", t, rec)), clean, strict=True):
        assert got.n_samples == ref.n_samples - 1
        assert got.t_last_s == ref.t_last_s
        assert any("stray timestamp; first at row 1001" in n for n in got.notes), got.notes
        pd.testing.assert_frame_equal(got.contacts, ref.contacts)


@pytest.mark.parametrize(("case", "message"), [
    ("joined", "time goes back by 45 s at row 1501"),
    ("shuffled", "timestamps out of order at"),
    ("doubled", "repeats at"),
    ("rate", "timestamps advance 0.01 s per sample"),
])
def test_a_stream_refuses_what_a_whole_file_refuses(tmp_path: Path, case: str,
                                                    message: str) -> None:
    # streamed (a file over 16 MB, or --live), these were read with samples dropped
    rec = Recording(np.arange(3000) / 100.0, np.tile([0.0, 0.0, 1.0], (3000, 1)), 100.0, "foot")
    t, kw = rec.t_s.copy(), {}
    if case == "joined":
        t[1500:] -= 45.0  # a second file, started 30 s before the first
    elif case == "shuffled":
        t[10:400:5], t[11:401:5] = t[11:401:5].copy(), t[10:400:5].copy()
    elif case == "doubled":
        t = np.repeat(t, 2)
        rec = Recording(t, np.repeat(rec.acc_g, 2, axis=0), 100.0, "foot")
    else:
        kw = {"fs_hz": 1000.0}
    path = _plain(tmp_path / "samples.csv", t, rec)
    for stream in (False, True):
        with pytest.raises(ValueError, match=message):  # FileFormatError, or the detector's
            replay_service.replay(path, "foot", stream=stream, chunk_rows=97, **kw)


def test_a_half_written_file_loses_only_its_cut_row(tmp_path: Path) -> None:
    # a recorder stopped mid-line: the whole file was refused ("Expected 4 columns, got
    # 2"), and streamed it failed on pandas' column indices
    from loadmon.signal.synthetic import synthesize

    rec, _ = synthesize("foot", activity="walk", duration_s=30, fs_hz=100, seed=4, gyro=False)
    clean = _plain(tmp_path / "clean.csv", rec.t_s, rec)
    cut = tmp_path / "cut.csv"
    cut.write_text(clean.read_text() + "30.510000,0.51")  # no line end: the writer's last
    for got, ref in zip(_both(cut), _both(clean), strict=True):
        assert got.n_samples == ref.n_samples
        pd.testing.assert_frame_equal(got.contacts, ref.contacts)
        assert any(n.startswith("dropped 1 ") and "row" in n for n in got.notes), got.notes


def test_samples_the_detector_drops_are_reported_whole_or_streamed(tmp_path: Path) -> None:
    # read whole, the count was lost ("repairs while reading: none"); a 1e300 cell also
    # printed numpy's overflow warning
    from loadmon.signal.synthetic import synthesize

    rec, _ = synthesize("foot", activity="walk", duration_s=20, fs_hz=100, seed=4, gyro=False)
    rec.acc_g[500, 0] = 1e300
    path = _plain(tmp_path / "samples.csv", rec.t_s, rec)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for got in _both(path):
            assert "the detector dropped 1 samples" in got.notes


def test_a_constant_signal_is_noted_and_a_still_sensor_is_not(tmp_path: Path) -> None:
    # a flat line read as a runner standing still: "repairs while reading: none"
    n = 2000
    flat = np.tile([0.0, 0.0, 1.0], (n, 1))
    rng = np.random.default_rng(1)
    for acc, stuck in ((flat, True), (flat + rng.normal(0.0, 0.002, (n, 3)), False)):
        rec = Recording(np.arange(n) / 100.0, acc, 100.0, "foot")
        path = _plain(tmp_path / "samples.csv", rec.t_s, rec)
        for got in _both(path):
            assert any("do not change" in note for note in got.notes) is stuck, got.notes
            assert got.contacts.empty


def test_a_plain_file_in_m_s2_is_told_to_convert_not_to_pass_units(tmp_path: Path) -> None:
    # streamed, the advice was "--units m/s2", which the plain layout refuses
    n = 3000
    rec = Recording(np.arange(n) / 100.0, np.tile([0.0, 0.0, 9.80665], (n, 1)), 100.0, "foot")
    path = _plain(tmp_path / "samples.csv", rec.t_s, rec)
    for stream in (False, True):
        with pytest.raises(FileFormatError, match="m/s\\^2") as info:
            replay_service.replay(path, "foot", stream=stream, chunk_rows=97)
        assert "units" not in str(info.value).split("(about 1 g")[-1]


def test_a_recording_folder_names_its_unreadable_samples_file(tmp_path: Path) -> None:
    # the folder's error listed the other tables and hid why samples.csv was left out
    folder = tmp_path / "rec"
    folder.mkdir()
    (folder / "samples.csv").write_bytes(b"")
    (folder / "events.csv").write_text("t_s,kind,side\n1.0,ic,left\n")
    result = _run(folder, "-p", "foot")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {folder}: samples.csv: empty file: no header and no samples\n"


def test_a_multi_member_gzip_is_sized_by_its_text_not_its_last_member(tmp_path: Path) -> None:
    # cat a.gz b.gz: the trailer holds the last member's size only, so a big file was read
    # whole, and its fate (whole or streamed) hung on how it had been compressed
    acc = np.random.default_rng(3).normal(0.0, 0.3, (50_000, 3)) + np.array([0.0, 0.0, 1.0])
    text = "".join(f"{i / 100:.6f},{x:.6g},{y:.6g},{z:.6g}\n"
                   for i, (x, y, z) in enumerate(acc)).encode()
    one = tmp_path / "one.csv.gz"
    one.write_bytes(gzip.compress(text))
    many = tmp_path / "many.csv.gz"
    many.write_bytes(gzip.compress(text[:-30]) + gzip.compress(text[-30:]))
    assert replay_service.text_bytes(one) >= len(text)
    assert replay_service.text_bytes(many) >= len(text)


def test_empty_gyroscope_columns_are_ignored_whole_or_streamed(tmp_path: Path) -> None:
    # streamed (a big file, or --live) every row was dropped for its missing rates:
    # "no usable samples", where the file read whole was replayed without them
    from loadmon.signal.synthetic import synthesize

    rec, _ = synthesize("foot", activity="walk", duration_s=20, fs_hz=100, seed=4, gyro=False)
    path = _plain(tmp_path / "samples.csv", rec.t_s, rec)
    frame = pd.read_csv(path)
    frame[["gx_dps", "gy_dps", "gz_dps"]] = np.nan
    frame.to_csv(path, index=False, float_format="%.6f")
    whole, streamed = _both(path)
    assert not whole.has_gyro and not streamed.has_gyro
    assert len(whole.contacts) > 10
    pd.testing.assert_frame_equal(whole.contacts, streamed.contacts)
    assert any("ignored the gyroscope" in n for n in streamed.notes)


def test_accelerations_switching_units_part_way_are_refused(tmp_path: Path) -> None:
    # two exports joined, the second in m/s^2: read as g in silence (impact IQR 53 g)
    from loadmon.signal.synthetic import synthesize

    rec, _ = synthesize("foot", activity="walk", duration_s=40, fs_hz=100, seed=4, gyro=False)
    rec.acc_g[2500:] *= 9.80665
    path = _plain(tmp_path / "samples.csv", rec.t_s, rec)
    for stream in (False, True):
        with pytest.raises(FileFormatError, match="stop looking like g from sample"):
            replay_service.replay(path, "foot", stream=stream, chunk_rows=1500)
