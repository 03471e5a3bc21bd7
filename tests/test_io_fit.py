"""Tests of `loadmon.io.fit.parse_fit` on real FIT files and on synthetic ones.

Real files: ``../shared/data/activities`` (relative to the repository root),
described by its ``fit_summary.json``; those tests skip when the folder is
absent. Synthetic files are written by the minimal FIT encoder below: neither
fitdecode nor our reader writes FIT, and garmin-fit-sdk's ``Encoder`` cannot
emit compressed-timestamp record headers, which these tests need.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fitdecode
import pytest

from loadmon.io.errors import FileFormatError
from loadmon.io.fit import fit_crc, parse_fit

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / ".." / "shared" / "data" / "activities"
SUMMARY = DATA_DIR / "fit_summary.json"
NO_DATA_REASON = f"real FIT test files not found: {DATA_DIR} (../shared/data/activities) is absent"

needs_data = pytest.mark.skipif(not SUMMARY.is_file(), reason=NO_DATA_REASON)


def _summary() -> list[dict]:
    if not SUMMARY.is_file():
        return []
    return json.loads(SUMMARY.read_text())


def _params(imports: bool) -> list:
    entries = [e for e in _summary() if e["outcome"].startswith("imports") == imports]
    if not entries:
        return [pytest.param(None, marks=pytest.mark.skip(reason=NO_DATA_REASON), id="no-data")]
    return [pytest.param(e, id=e["file"]) for e in entries]


def _read(name: str) -> bytes:
    return (DATA_DIR / name).read_bytes()


def _checked_bytes(entry: dict) -> bytes:
    data = _read(entry["file"])
    assert len(data) == entry["bytes"]
    assert hashlib.sha1(data).hexdigest()[:12] == entry["sha1_12"], "test file changed"
    return data


# --------------------------------------------------------------------------- real files


@pytest.mark.parametrize("entry", _params(imports=True))
def test_importable_file_matches_summary(entry: dict) -> None:
    sessions = parse_fit(_checked_bytes(entry))

    assert sessions, "an importable activity must give at least one session"
    assert "+".join(s.sport or "" for s in sessions) == entry["sport"]
    total_distance = sum(s.distance_m or 0.0 for s in sessions)
    total_duration = sum(s.duration_s for s in sessions)
    # 0.5 %, or the table's rounding to 0.1 for the tiny SDK example (5.73 m -> 5.7)
    assert total_distance == pytest.approx(entry["distance_m"], rel=0.005, abs=0.05 + 1e-9)
    assert total_duration == pytest.approx(entry["duration_s"], rel=0.005, abs=0.05 + 1e-9)
    expected_start = datetime.strptime(entry["start_utc"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert sessions[0].start_utc == expected_start
    assert sessions[0].start_utc.utcoffset() == timedelta(0)
    for s in sessions:
        assert s.source == "fit"
        assert s.device == entry["device"]
        assert s.kind == ("run" if s.sport == "running" else "cross")


def _expected_failure(outcome: str) -> tuple[str, str]:
    """(phrase our message must contain, offset it must name) from the summary's outcome."""
    m = re.search(r"FitCRCError: mismatching CRC in FIT footer \(footer offset: (\d+)", outcome)
    if m:
        return "CRC mismatch in FIT footer", m.group(1)
    m = re.search(r"FitEOFError: expected \d+ bytes, got \d+ @ (\d+)", outcome)
    if m:
        return "truncated", m.group(1)
    m = re.search(r"FitHeaderError: not a FIT file @ (\d+)", outcome)
    if m:
        return "not a FIT file", m.group(1)
    raise AssertionError(f"unrecognised outcome in fit_summary.json: {outcome}")


@pytest.mark.parametrize("entry", _params(imports=False))
def test_corrupt_file_raises_with_reason(entry: dict) -> None:
    phrase, offset = _expected_failure(entry["outcome"])
    with pytest.raises(FileFormatError) as info:
        parse_fit(_checked_bytes(entry))
    message = str(info.value)
    assert "\n" not in message
    assert phrase in message
    assert re.search(rf"\boffset {offset}\b", message), message


@needs_data
def test_truncated_file_message_names_missing_bytes() -> None:
    with pytest.raises(
        FileFormatError, match=r"^truncated: expected 1 bytes at offset 768, got 0$"
    ):
        parse_fit(_read("activity-unexpected-eof.fit"))


def _csv_time(text: str) -> datetime:
    """Parse python-fitparse's local times, e.g. ``Sun Jun 11 07:34:09 PDT 2017``, to UTC."""
    _weekday, month, day, clock, zone, year = text.split()
    local = datetime.strptime(f"{month} {day} {year} {clock}", "%b %d %Y %H:%M:%S")
    return (local - timedelta(hours={"PDT": -7, "PST": -8}[zone])).replace(tzinfo=UTC)


@needs_data
def test_fenix_run_cadence_is_steps_per_minute() -> None:
    (session,) = parse_fit(_read("garmin-fenix-5-run.fit"))

    # The session message, read here directly: cadence in strides/min + fraction.
    with fitdecode.FitReader(str(DATA_DIR / "garmin-fenix-5-run.fit")) as reader:
        msg = next(
            f for f in reader if isinstance(f, fitdecode.FitDataMessage) and f.name == "session"
        )
    strides = msg.get_value("avg_running_cadence")
    fraction = msg.get_value("avg_fractional_cadence")
    assert (strides, fraction) == (83, 0.671875)
    assert session.cadence_spm == pytest.approx(2 * (strides + fraction))
    assert 150 <= session.cadence_spm <= 200  # running, both feet

    # The reference decode (CSV): cadence column in strides/min, smart recording
    # (irregular intervals), no fractional column. Its time-weighted moving
    # average, doubled, must agree with the watch's session value.
    with (DATA_DIR / "garmin-fenix-5-run-records.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    times = [_csv_time(r["timestamp"]) for r in rows]
    assert times[0] == session.start_utc
    assert float(rows[-1]["distance"]) == pytest.approx(session.distance_m)
    weighted = [
        ((t1 - t0).total_seconds(), float(r["cadence"]))
        for t0, t1, r in zip(times, times[1:], rows[1:], strict=False)
        if float(r["cadence"]) > 0
    ]
    csv_spm = 2 * sum(w * c for w, c in weighted) / sum(w for w, _ in weighted)
    assert max(float(r["cadence"]) for r in rows) < 100  # the CSV is strides, not steps
    assert session.cadence_spm == pytest.approx(csv_spm, rel=0.04)


@needs_data
def test_fenix_run_dynamics_from_session_message() -> None:
    (session,) = parse_fit(_read("garmin-fenix-5-run.fit"))
    assert session.stance_time_ms == pytest.approx(270.3)
    assert session.vertical_oscillation_mm == pytest.approx(76.2)
    assert session.step_length_m == pytest.approx(0.9717)  # avg_step_length is mm
    assert session.avg_hr_bpm == pytest.approx(90)
    # step length x cadence ~ speed (157.56 m in 56.9 s)
    speed = session.step_length_m * session.cadence_spm / 60
    assert speed == pytest.approx(session.distance_m / session.duration_s, rel=0.1)


@needs_data
def test_fenix_walk_is_cross_without_cadence() -> None:
    (session,) = parse_fit(_read("garmin-fenix-5-walk.fit"))
    assert (session.sport, session.kind, session.cadence_spm) == ("walking", "cross", None)
    assert session.stance_time_ms == pytest.approx(474.1)


@needs_data
def test_stryd_developer_file_averages_records_when_session_lacks_them() -> None:
    data = _read("developer-types-sample.fit")
    (session,) = parse_fit(data)
    stance, osc, hr = [], [], []
    with fitdecode.FitReader(data) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "record":
                assert frame.has_field("Form Power")  # developer field decoded by name
                stance.append(frame.get_value("stance_time"))
                osc.append(frame.get_value("vertical_oscillation"))
                hr.append(frame.get_value("heart_rate"))

    def moving_mean(values: list) -> float:
        kept = [v for v in values if v]
        return sum(kept) / len(kept)

    # 1 Hz records: the time-weighted mean equals the plain mean of non-zero values.
    assert session.stance_time_ms == pytest.approx(moving_mean(stance), rel=0.001)
    assert session.vertical_oscillation_mm == pytest.approx(moving_mean(osc), rel=0.001)
    assert session.avg_hr_bpm == pytest.approx(moving_mean(hr), rel=0.001)
    assert 150 < session.stance_time_ms < 400
    assert session.cadence_spm == pytest.approx(148)  # avg_running_cadence 74 strides/min
    assert session.step_length_m is None


@needs_data
def test_chained_valid_files_give_one_session_each_with_own_device() -> None:
    data = _read("Activity.fit") + _read("garmin-fenix-5-run.fit")
    sessions = parse_fit(data)
    assert [s.device for s in sessions] == ["dynastream hrm1", "garmin fenix5"]
    assert [round(s.distance_m, 2) for s in sessions] == [5.73, 157.56]


@needs_data
def test_every_truncation_is_an_error() -> None:
    data = _read("Activity.fit")
    for length in range(len(data)):
        with pytest.raises(FileFormatError):
            parse_fit(data[:length])


@needs_data
def test_every_single_byte_corruption_is_an_error() -> None:
    data = _read("Activity.fit")
    messages = set()
    for i in range(len(data)):
        damaged = bytearray(data)
        damaged[i] ^= 0xFF
        with pytest.raises(FileFormatError) as info:
            parse_fit(bytes(damaged))
        message = str(info.value)
        assert message and "\n" not in message
        if 12 <= i < 769:  # data records: the file CRC names the damage
            assert message.startswith("CRC mismatch in FIT footer"), (i, message)
        messages.add(re.match(r"\w+", message).group())
    assert messages <= {"CRC", "not", "truncated"}


@needs_data
def test_header_crc_is_checked() -> None:
    data = bytearray(_read("garmin-fenix-5-run.fit"))
    assert data[0] == 14
    data[12] ^= 0x01
    # keep the file CRC valid so only the header CRC is wrong
    data[-2:] = struct.pack("<H", fit_crc(bytes(data[:-2])))
    with pytest.raises(FileFormatError, match="CRC mismatch in FIT header at offset 0"):
        parse_fit(bytes(data))


@pytest.mark.parametrize("data", [b"", b"<?xml version='1.0'?><gpx></gpx>", b"\x0e" * 40])
def test_not_fit_data(data: bytes) -> None:
    with pytest.raises(FileFormatError, match=r"^not a FIT file"):
        parse_fit(data)


@needs_data
def test_crc_matches_real_footer() -> None:
    data = _read("Activity.fit")
    assert fit_crc(data[:-2]) == struct.unpack("<H", data[-2:])[0]
    assert fit_crc(data) == 0  # CRC over data + its CRC is zero


# --------------------------------------------------------------------------- encoder

FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)
# base type: (FIT base type byte, struct format, invalid value)
BASE_TYPES = {
    "enum": (0x00, "B", 0xFF),
    "uint8": (0x02, "B", 0xFF),
    "uint16": (0x84, "H", 0xFFFF),
    "uint32": (0x86, "I", 0xFFFFFFFF),
}
SPORT = {"running": 1, "cycling": 2, "transition": 3, "walking": 11}
SUB_SPORT = {"generic": 0, "treadmill": 1, "street": 2, "trail": 3, "track": 4, "road": 7}

# (global message number, [(field number, base type, scale, name)])
FILE_ID = (
    0,
    [
        (0, "enum", 1, "type"),
        (1, "uint16", 1, "manufacturer"),
        (2, "uint16", 1, "product"),
        (4, "uint32", 1, "time_created"),
    ],
)
SPORT_MSG = (12, [(0, "enum", 1, "sport"), (1, "enum", 1, "sub_sport")])
SESSION = (
    18,
    [
        (253, "uint32", 1, "timestamp"),
        (2, "uint32", 1, "start_time"),
        (7, "uint32", 1000, "total_elapsed_time"),
        (8, "uint32", 1000, "total_timer_time"),
        (9, "uint32", 100, "total_distance"),
        (5, "enum", 1, "sport"),
        (6, "enum", 1, "sub_sport"),
        (16, "uint8", 1, "avg_heart_rate"),
        (18, "uint8", 1, "avg_cadence"),
        (92, "uint8", 128, "avg_fractional_cadence"),
        (254, "uint16", 1, "message_index"),
    ],
)
RECORD_FIELDS = [
    (5, "uint32", 100, "distance"),
    (3, "uint8", 1, "heart_rate"),
    (4, "uint8", 1, "cadence"),
    (53, "uint8", 128, "fractional_cadence"),
    (41, "uint16", 10, "stance_time"),
    (39, "uint16", 10, "vertical_oscillation"),
    (85, "uint16", 10, "step_length"),
]
RECORD = (20, [(253, "uint32", 1, "timestamp"), *RECORD_FIELDS])
RECORD_COMPRESSED = (20, RECORD_FIELDS)  # timestamp carried by the record header


def fit_time(t: datetime) -> int:
    return int((t - FIT_EPOCH).total_seconds())


class FitWriter:
    """Minimal FIT encoder: definition + data messages, compressed timestamps, header/file CRC.

    Little-endian definitions; values are given in physical units and scaled
    here; ``None`` writes the base type's invalid value.
    """

    def __init__(self) -> None:
        self.body = bytearray()
        self.local: dict[int, tuple] = {}

    def define(self, local: int, message: tuple) -> None:
        global_num, fields = message
        self.body += struct.pack("<BBBHB", 0x40 | local, 0, 0, global_num, len(fields))
        for num, base, _scale, _name in fields:
            code, fmt, _invalid = BASE_TYPES[base]
            self.body += struct.pack("<BBB", num, struct.calcsize(fmt), code)
        self.local[local] = message

    def write(self, local: int, values: dict, *, timestamp: datetime | None = None) -> None:
        """Write a data message; with `timestamp`, use a compressed-timestamp header."""
        if timestamp is None:
            header = local
        else:
            assert local < 4, "compressed headers address local messages 0-3"
            header = 0x80 | (local << 5) | (fit_time(timestamp) & 0x1F)
        _, fields = self.local[local]
        out = bytearray([header])
        for _num, base, scale, name in fields:
            _code, fmt, invalid = BASE_TYPES[base]
            value = values.get(name)
            if isinstance(value, datetime):
                value = fit_time(value)
            out += struct.pack("<" + fmt, invalid if value is None else round(value * scale))
        self.body += out

    def to_bytes(self, header_size: int = 14, protocol: int = 0x20, profile: int = 2132) -> bytes:
        header = struct.pack("<BBHI4s", header_size, protocol, profile, len(self.body), b".FIT")
        if header_size == 14:
            header += struct.pack("<H", fit_crc(header))
        blob = header + bytes(self.body)
        return blob + struct.pack("<H", fit_crc(blob))


T0 = datetime(2024, 5, 1, 6, 0, 7, tzinfo=UTC)


def _file_id(w: FitWriter) -> None:
    w.define(0, FILE_ID)
    w.write(0, {"type": 4, "manufacturer": 1, "product": 2697, "time_created": T0})


def _run_records(w: FitWriter, compressed: bool) -> None:
    """Records every 10 s over 600 s; after the first, stance 240/260, osc 80/90, step 1.0/1.1 m."""
    w.define(2, RECORD)
    w.write(2, {"timestamp": T0, "distance": 0.0, "cadence": 0, "heart_rate": 100})
    local = 3 if compressed else 2
    if compressed:
        w.define(3, RECORD_COMPRESSED)
    for i in range(1, 61):
        t = T0 + timedelta(seconds=10 * i)
        odd = i % 2
        values = {
            "distance": 2000.0 * i / 60,
            "heart_rate": 140 + 10 * odd,
            "cadence": 85,
            "fractional_cadence": 0.5,
            "stance_time": 240 + 20 * odd,
            "vertical_oscillation": 80 + 10 * odd,
            "step_length": 1000 + 100 * odd,
        }
        if compressed:
            w.write(local, values, timestamp=t)
        else:
            w.write(local, {"timestamp": t, **values})


def multisport_fit(compressed: bool = True) -> bytes:
    """Run (track, 600 s timer / 620 s elapsed) + transition (60 s) + bike (1800 s)."""
    w = FitWriter()
    _file_id(w)
    _run_records(w, compressed)
    w.define(1, SESSION)
    run_end = T0 + timedelta(seconds=620)
    bike_start = run_end + timedelta(seconds=60)
    w.write(
        1,
        {
            "timestamp": run_end,
            "start_time": T0,
            "total_elapsed_time": 620.0,
            "total_timer_time": 600.0,
            "total_distance": 2000.0,
            "sport": SPORT["running"],
            "sub_sport": SUB_SPORT["track"],
            "avg_cadence": 85,
            "avg_fractional_cadence": 0.5,
            "message_index": 0,
        },
    )
    w.write(
        1,
        {
            "timestamp": bike_start,
            "start_time": run_end,
            "total_elapsed_time": 60.0,
            "total_timer_time": 60.0,
            "total_distance": 0.0,
            "sport": SPORT["transition"],
            "sub_sport": SUB_SPORT["generic"],
            "message_index": 1,
        },
    )
    w.define(2, RECORD)
    for i in range(0, 181):
        w.write(
            2,
            {
                "timestamp": bike_start + timedelta(seconds=10 * i),
                "distance": 15000.0 * i / 180,
                "cadence": 90,
                "heart_rate": 128,
            },
        )
    w.write(
        1,
        {
            "timestamp": bike_start + timedelta(seconds=1800),
            "start_time": bike_start,
            "total_elapsed_time": 1800.0,
            "total_timer_time": 1800.0,
            "total_distance": 15000.0,
            "sport": SPORT["cycling"],
            "sub_sport": SUB_SPORT["road"],
            "avg_heart_rate": 130,
            "avg_cadence": 90,
            "message_index": 2,
        },
    )
    return w.to_bytes()


# --------------------------------------------------------------------------- synthetic


@needs_data
def test_encoder_crc_and_header_follow_the_protocol() -> None:
    # Our 12-byte-header output of the same bytes reproduces a real file's footer CRC.
    real = _read("Activity.fit")
    w = FitWriter()
    w.body = bytearray(real[12:-2])
    assert w.to_bytes(header_size=12, protocol=0x10, profile=100) == real


def test_multisport_gives_run_and_cross_without_transition() -> None:
    run, bike = parse_fit(multisport_fit())

    assert (run.kind, run.sport, run.surface) == ("run", "running", "track")
    assert run.start_utc == T0
    assert run.duration_s == pytest.approx(600.0)  # total_timer_time, not elapsed 620
    assert run.distance_m == pytest.approx(2000.0)
    assert run.device == "garmin fenix5"
    assert run.cadence_spm == pytest.approx(2 * (85 + 0.5))
    # session lacks them: averaged from the run's records (equal 10 s weights)
    assert run.stance_time_ms == pytest.approx(250.0)
    assert run.vertical_oscillation_mm == pytest.approx(85.0)
    assert run.step_length_m == pytest.approx(1.05)
    assert run.avg_hr_bpm == pytest.approx(145.0, abs=0.2)  # first record (100 bpm) weighs 1 s

    assert (bike.kind, bike.sport, bike.surface) == ("cross", "cycling", None)
    assert bike.start_utc == T0 + timedelta(seconds=680)
    assert bike.duration_s == pytest.approx(1800.0)
    assert bike.distance_m == pytest.approx(15000.0)
    assert bike.cadence_spm is None  # cycling cadence is rpm, not steps
    assert bike.avg_hr_bpm == pytest.approx(130.0)
    assert bike.stance_time_ms is None
    assert all(s.source == "fit" for s in (run, bike))


def test_multisport_without_compressed_headers_is_identical() -> None:
    assert parse_fit(multisport_fit(compressed=False)) == parse_fit(multisport_fit())


def test_encoder_output_decodes_with_garmin_sdk() -> None:
    sdk = pytest.importorskip("garmin_fit_sdk", reason="garmin-fit-sdk not installed")
    data = multisport_fit(compressed=False)
    assert sdk.Decoder(sdk.Stream.from_byte_array(data)).check_integrity()
    # a fresh decoder: read() after check_integrity() on the same one returns {} and no error
    messages, errors = sdk.Decoder(sdk.Stream.from_byte_array(data)).read()
    assert errors == []
    assert [m["sport"] for m in messages["session_mesgs"]] == ["running", "transition", "cycling"]
    assert messages["session_mesgs"][0]["total_timer_time"] == pytest.approx(600.0)
    assert len(messages["record_mesgs"]) == 61 + 181


def _records_only_fit(sport: dict | None) -> bytes:
    """No session message: records at +0, +1, +2, +12, +40, +70 s with compressed timestamps."""
    w = FitWriter()
    _file_id(w)
    if sport is not None:
        w.define(1, SPORT_MSG)
        w.write(1, sport)
    w.define(2, RECORD)
    w.write(
        2,
        {
            "timestamp": T0,
            "distance": 0.0,
            "cadence": 80,
            "fractional_cadence": 0.5,
            "stance_time": 300,
        },
    )
    w.define(3, RECORD_COMPRESSED)
    # the header keeps only 5 bits of the time: +40 and +70 s wrap past 32 s, so
    # only the protocol's rollover rule puts them at the right time
    for offset, dist, stance in [
        (1, 3.0, 300),
        (2, 6.0, 300),
        (12, 36.0, 200),
        (40, 130.0, None),
        (70, 210.0, None),
    ]:
        w.write(
            3,
            {"distance": dist, "cadence": 80, "fractional_cadence": 0.5, "stance_time": stance},
            timestamp=T0 + timedelta(seconds=offset),
        )
    return w.to_bytes()


def test_records_only_file_builds_one_session() -> None:
    (session,) = parse_fit(
        _records_only_fit({"sport": SPORT["running"], "sub_sport": SUB_SPORT["treadmill"]})
    )
    assert session.start_utc == T0
    assert session.duration_s == pytest.approx(70.0)
    assert session.distance_m == pytest.approx(210.0)
    assert (session.kind, session.sport, session.surface) == ("run", "running", "treadmill")
    assert session.cadence_spm == pytest.approx(161.0)
    # time-weighted: 300 ms for 1+1+1 s, 200 ms for the 10 s before +12
    assert session.stance_time_ms == pytest.approx((3 * 300 + 10 * 200) / 13)


def test_records_only_file_without_sport_is_cross() -> None:
    (session,) = parse_fit(_records_only_fit(None))
    assert (session.sport, session.kind, session.cadence_spm) == (None, "cross", None)


def test_settings_only_file_gives_no_session() -> None:
    w = FitWriter()
    w.define(0, FILE_ID)
    w.write(0, {"type": 2, "manufacturer": 1, "product": 988})
    assert parse_fit(w.to_bytes()) == []


def test_trailing_garbage_after_valid_file_is_an_error() -> None:
    with pytest.raises(FileFormatError, match="offset"):
        parse_fit(multisport_fit() + b"\x00" * 20)


def test_developer_field_cannot_shadow_a_native_field() -> None:
    """A developer field named ``heart_rate`` (free text) must not replace the native value."""
    w = FitWriter()
    _file_id(w)
    name = b"heart_rate\0"
    # developer_data_id: developer_data_index (3, uint8)
    w.body += struct.pack("<BBBHB", 0x41, 0, 0, 207, 1) + bytes([3, 1, 0x02])
    w.body += bytes([0x01, 0])
    # field_description: developer_data_index, field_definition_number, fit_base_type_id, name
    w.body += struct.pack("<BBBHB", 0x42, 0, 0, 206, 4)
    w.body += bytes([0, 1, 0x02, 1, 1, 0x02, 2, 1, 0x02, 3, len(name), 0x07])
    w.body += bytes([0x02, 0, 0, 0x02]) + name
    # record: timestamp, heart_rate (native) + 1 developer field (number 0, 1 byte, index 0)
    w.body += struct.pack("<BBBHB", 0x40 | 0x20 | 3, 0, 0, 20, 2)
    w.body += bytes([253, 4, 0x86, 3, 1, 0x02]) + bytes([1, 0, 1, 0])
    for i in range(5):
        w.body += struct.pack("<BIBB", 3, fit_time(T0 + timedelta(seconds=i)), 140, 250)
    data = w.to_bytes()
    with fitdecode.FitReader(data) as reader:  # the file really carries the developer field
        names = [
            f.name
            for frame in reader
            if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "record"
            for f in frame.fields
        ]
    assert names.count("heart_rate") == 10
    (session,) = parse_fit(data)
    assert session.avg_hr_bpm == pytest.approx(140.0)
    assert session.duration_s == pytest.approx(4.0)


def test_strength_training_session_is_strength() -> None:
    w = FitWriter()
    _file_id(w)
    w.define(1, SESSION)
    w.write(1, {"start_time": T0, "total_timer_time": 1800.0, "sport": 10, "sub_sport": 20})
    (session,) = parse_fit(w.to_bytes())
    assert (session.sport, session.kind, session.distance_m) == ("training", "strength", None)
    assert session.duration_s == pytest.approx(1800.0)
