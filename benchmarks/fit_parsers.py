"""Compare fitdecode and garmin-fit-sdk as loadmon's FIT decoder: correctness first, then speed.

Run from the repository root::

    python benchmarks/fit_parsers.py [--data DIR] [--min-time 0.5] [--max-runs 30]

Correctness: every FIT file in ``../shared/data/activities`` is decoded in
strict mode (CRC checked, errors raised) and compared with ``fit_summary.json``:
files marked "imports" must give the expected session sport, distance,
duration (within 0.5 %, or the table's 0.1 rounding) and start; the corrupt
ones must fail, with a reason. Synthetic probes add what the real files lack:
compressed-timestamp records, two valid chained FIT files, a bad header CRC,
empty input, trailing garbage. Developer fields are checked on the Stryd file.

Speed: the median of repeated full decodes per importable file (every message
decoded, default options of each library), as ms per file, files/s and data
messages/s, and the ratio of the two libraries. ``loadmon.io.fit.parse_fit``
(fitdecode + mapping to `Session`) is timed alongside.
"""

from __future__ import annotations

import argparse
import json
import statistics
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python benchmarks/fit_parsers.py` without installing loadmon
    sys.path.insert(0, str(ROOT))

import fitdecode  # noqa: E402
import garmin_fit_sdk  # noqa: E402

from loadmon.io.errors import FileFormatError  # noqa: E402
from loadmon.io.fit import fit_crc, parse_fit  # noqa: E402
from loadmon.types import Session  # noqa: E402

DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "activities"


# --------------------------------------------------------------------------- decoders


@dataclass
class Decoded:
    """What one strict decode gives, in library-neutral form."""

    sports: list[str]
    distance_m: float
    duration_s: float
    start: datetime | None
    n_messages: int
    n_files: int
    devices_per_file: list[str]
    record_times: list[datetime] = field(default_factory=list)
    dev_field_names: set[str] = field(default_factory=set)


def _device(file_id: dict[str, Any]) -> str:
    product = file_id.get("garmin_product") or file_id.get("product")
    return " ".join(str(p) for p in (file_id.get("manufacturer"), product) if p is not None)


def _summarise(
    sessions: list[dict[str, Any]],
    file_ids: list[dict[str, Any]],
    record_times: list[datetime],
    n_messages: int,
    n_files: int,
    dev_names: set[str],
) -> Decoded:
    start = sessions[0].get("start_time") if sessions else None
    if start is None and file_ids:
        start = file_ids[0].get("time_created")
    return Decoded(
        sports=[str(s.get("sport")) for s in sessions],
        distance_m=sum(float(s.get("total_distance") or 0.0) for s in sessions),
        duration_s=sum(float(s.get("total_timer_time") or 0.0) for s in sessions),
        start=start,
        n_messages=n_messages,
        n_files=n_files,
        devices_per_file=[_device(f) for f in file_ids],
        record_times=record_times,
        dev_field_names=dev_names,
    )


def decode_fitdecode(data: bytes) -> Decoded:
    """Strict fitdecode decode: CRCs checked, errors raised."""
    sessions, file_ids, times, dev_names = [], [], [], set()
    n_messages = n_files = 0
    with fitdecode.FitReader(
        data, check_crc=fitdecode.CrcCheck.RAISE, error_handling=fitdecode.ErrorHandling.RAISE
    ) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitHeader):
                n_files += 1
            elif isinstance(frame, fitdecode.FitDataMessage):
                n_messages += 1
                if frame.name == "session":
                    sessions.append({f.name: f.value for f in frame.fields})
                elif frame.name == "file_id":
                    file_ids.append({f.name: f.value for f in frame.fields})
                elif frame.name == "record":
                    times.append(frame.get_value("timestamp", fallback=None))
                    dev_names.update(
                        f.name for f in frame.fields if f.field_def and f.field_def.is_dev
                    )
    return _summarise(sessions, file_ids, times, n_messages, n_files, dev_names)


def decode_garmin(data: bytes) -> Decoded:
    """Strict garmin-fit-sdk decode: CRC check on, any returned error raised."""
    decoder = garmin_fit_sdk.Decoder(garmin_fit_sdk.Stream.from_byte_array(data))
    messages, errors = decoder.read(enable_crc_check=True)
    if errors:
        raise errors[0]
    dev_names = set()
    for rec in messages.get("record_mesgs", []):
        dev_names.update(str(k) for k in rec.get("developer_fields", {}))
    file_ids = messages.get("file_id_mesgs", [])
    return _summarise(
        messages.get("session_mesgs", []),
        file_ids,
        [r.get("timestamp") for r in messages.get("record_mesgs", [])],
        sum(len(v) for v in messages.values()),
        len(file_ids),  # chained files are merged: file_id messages are all that is left of them
        dev_names,
    )


def full_decode_fitdecode(data: bytes) -> int:
    """Decode every message with fitdecode's defaults; return the data-message count."""
    n = 0
    with fitdecode.FitReader(
        data, check_crc=fitdecode.CrcCheck.RAISE, error_handling=fitdecode.ErrorHandling.RAISE
    ) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage):
                n += 1
    return n


def full_decode_garmin(data: bytes) -> int:
    """Decode every message with garmin-fit-sdk's defaults; return the message count."""
    messages, errors = garmin_fit_sdk.Decoder(garmin_fit_sdk.Stream.from_byte_array(data)).read()
    if errors:
        raise errors[0]
    return sum(len(v) for v in messages.values())


LIBRARIES: dict[str, Callable[[bytes], Decoded]] = {
    "fitdecode": decode_fitdecode,
    "garmin-fit-sdk": decode_garmin,
}


# --------------------------------------------------------------------------- synthetic probes

FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)


def _fit_file(body: bytes, header_size: int = 14) -> bytes:
    header = struct.pack("<BBHI4s", header_size, 0x20, 2132, len(body), b".FIT")
    if header_size == 14:
        header += struct.pack("<H", fit_crc(header))
    blob = header + body
    return blob + struct.pack("<H", fit_crc(blob))


def compressed_timestamp_file(t0: datetime, offsets: list[int]) -> bytes:
    """file_id, one record with a full timestamp, then records with compressed-timestamp headers."""
    ts0 = int((t0 - FIT_EPOCH).total_seconds())
    body = bytearray()
    # file_id: type enum, manufacturer uint16, product uint16, time_created uint32
    body += struct.pack("<BBBHB", 0x40, 0, 0, 0, 4)
    body += bytes([0, 1, 0x00, 1, 2, 0x84, 2, 2, 0x84, 4, 4, 0x86])
    body += struct.pack("<BBHHI", 0x00, 4, 1, 2697, ts0)
    # local 1: record with timestamp + distance; local 2: record with distance only
    body += struct.pack("<BBBHB", 0x41, 0, 0, 20, 2) + bytes([253, 4, 0x86, 5, 4, 0x86])
    body += struct.pack("<BII", 0x01, ts0, 0)
    body += struct.pack("<BBBHB", 0x42, 0, 0, 20, 1) + bytes([5, 4, 0x86])
    for i, off in enumerate(offsets, start=1):
        body += struct.pack("<BI", 0x80 | (2 << 5) | ((ts0 + off) & 0x1F), 100 * i)
    return _fit_file(bytes(body))


@dataclass
class Probe:
    name: str
    data: bytes
    check: Callable[[Decoded], str | None]  # None = as expected, else what is wrong
    must_fail: bool = False
    check_sessions: Callable[[list[Session]], str | None] = lambda s: None


def make_probes(data_dir: Path) -> list[Probe]:
    act = (data_dir / "Activity.fit").read_bytes()
    run = (data_dir / "garmin-fenix-5-run.fit").read_bytes()
    t0 = datetime(2024, 5, 1, 6, 0, 7, tzinfo=UTC)
    offsets = [10, 20, 30, 45, 60, 90]  # steps < 32 s; several 5-bit rollovers
    expected_times = [t0] + [t0 + timedelta(seconds=o) for o in offsets]

    def chained_ok(d: Decoded) -> str | None:
        if d.sports != ["running", "running"]:
            return f"sessions {d.sports}"
        if d.devices_per_file != ["dynastream hrm1", "garmin fenix5"]:
            return f"devices {d.devices_per_file}"
        return None

    def chained_sessions_ok(sessions: list[Session]) -> str | None:
        devices = [s.device for s in sessions]
        return None if devices == ["dynastream hrm1", "garmin fenix5"] else f"devices {devices}"

    def times_ok(d: Decoded) -> str | None:
        return None if d.record_times == expected_times else "wrong record timestamps"

    def records_session_ok(sessions: list[Session]) -> str | None:
        if len(sessions) != 1 or sessions[0].start_utc != t0 or sessions[0].duration_s != 90:
            return f"sessions {[(s.start_utc, s.duration_s) for s in sessions]}"
        return None

    bad_header = bytearray(run)
    bad_header[12] ^= 0x01  # header CRC wrong, file CRC recomputed so only the header is bad
    bad_header[-2:] = struct.pack("<H", fit_crc(bytes(bad_header[:-2])))
    return [
        Probe("chained: 2 valid FIT files", act + run, chained_ok, False, chained_sessions_ok),
        Probe(
            "compressed-timestamp records",
            compressed_timestamp_file(t0, offsets),
            times_ok,
            False,
            records_session_ok,
        ),
        Probe("header CRC wrong, file CRC ok", bytes(bad_header), lambda d: None, True),
        Probe("empty input", b"", lambda d: None, True),
        Probe("valid file + 20 zero bytes", act + b"\0" * 20, lambda d: None, True),
    ]


# --------------------------------------------------------------------------- evaluation


def _close(got: float, want: float) -> bool:
    return abs(got - want) <= max(0.005 * abs(want), 0.05 + 1e-9)


def _message(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def check_file(
    entry: dict[str, Any], decode: Callable[[bytes], Decoded], data: bytes
) -> tuple[bool, str, str | None]:
    """Return (as expected?, short note, error message if any) for one library and one file."""
    must_import = entry["outcome"].startswith("imports")
    try:
        d = decode(data)
    except Exception as exc:
        return (not must_import), ("fails" if not must_import else "WRONG: fails"), _message(exc)
    if not must_import:
        return False, "WRONG: decoded", None
    start = datetime.strptime(entry["start_utc"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    problems = []
    if "+".join(d.sports) != entry["sport"]:
        problems.append(f"sport {'+'.join(d.sports)}")
    if not _close(d.distance_m, entry["distance_m"]):
        problems.append(f"distance {d.distance_m:.1f}")
    if not _close(d.duration_s, entry["duration_s"]):
        problems.append(f"duration {d.duration_s:.1f}")
    if d.start != start:
        problems.append(f"start {d.start}")
    if problems:
        return False, "WRONG: " + ", ".join(problems), None
    return True, "ok" + (f" ({d.n_files} FIT files)" if d.n_files > 1 else ""), None


def check_parse_fit(entry: dict[str, Any], data: bytes) -> tuple[bool, str, str | None]:
    """Same check for loadmon's parse_fit (sessions, transition legs dropped)."""
    must_import = entry["outcome"].startswith("imports")
    try:
        sessions = parse_fit(data)
    except FileFormatError as exc:
        return (not must_import), ("fails" if not must_import else "WRONG: fails"), str(exc)
    if not must_import:
        return False, "WRONG: decoded", None
    start = datetime.strptime(entry["start_utc"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    ok = (
        "+".join(s.sport or "" for s in sessions) == entry["sport"]
        and _close(sum(s.distance_m or 0 for s in sessions), entry["distance_m"])
        and _close(sum(s.duration_s for s in sessions), entry["duration_s"])
        and sessions[0].start_utc == start
        and all(s.device == entry["device"] for s in sessions)
    )
    return ok, "ok" if ok else "WRONG", None


def check_probe(probe: Probe, decode: Callable[[bytes], Decoded]) -> tuple[bool, str]:
    try:
        d = decode(probe.data)
    except Exception as exc:
        if probe.must_fail:
            return True, "fails"
        return False, "WRONG: " + _message(exc)[:48] + "..."
    if probe.must_fail:
        return False, "WRONG: accepted"
    wrong = probe.check(d)
    return (wrong is None), ("ok" if wrong is None else "WRONG: " + wrong)


def check_probe_parse_fit(probe: Probe) -> tuple[bool, str]:
    try:
        sessions = parse_fit(probe.data)
    except FileFormatError as exc:
        return probe.must_fail, ("fails: " if probe.must_fail else "WRONG: ") + str(exc)
    if probe.must_fail:
        return False, "WRONG: accepted"
    wrong = probe.check_sessions(sessions)
    return (wrong is None), ("ok" if wrong is None else "WRONG: " + wrong)


def time_interleaved(
    fns: dict[str, Callable[[bytes], Any]], data: bytes, min_time: float, max_runs: int
) -> dict[str, float]:
    """Median seconds per call of each function, calls interleaved so load drift hits all alike.

    At least 3 rounds, more until `min_time` seconds have passed or `max_runs` rounds.
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    started = time.perf_counter()
    rounds = 0
    while rounds < 3 or (time.perf_counter() - started < min_time and rounds < max_runs):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn(data)
            times[name].append(time.perf_counter() - t)
        rounds += 1
    return {name: statistics.median(ts) for name, ts in times.items()}


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    for r in rows:
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(out)


def _parse_fit_count(data: bytes) -> int:
    return len(parse_fit(data))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of FIT files")
    parser.add_argument("--min-time", type=float, default=1.0, help="seconds of runs per file")
    parser.add_argument("--max-runs", type=int, default=50, help="most rounds per file")
    args = parser.parse_args(argv)
    summary_path = args.data / "fit_summary.json"
    if not summary_path.is_file():
        print(f"no FIT test data: {summary_path} not found", file=sys.stderr)
        return 2
    entries = json.loads(summary_path.read_text())
    print(
        f"fitdecode {fitdecode.__version__} vs garmin-fit-sdk {garmin_fit_sdk.__version__}, "
        f"Python {sys.version.split()[0]}, data {args.data.resolve()}\n"
    )
    names = [*LIBRARIES, "parse_fit"]

    # ---- correctness on real files
    score = dict.fromkeys(names, 0)
    rows, errors = [], []
    for entry in entries:
        data = (args.data / entry["file"]).read_bytes()
        expect = "imports" if entry["outcome"].startswith("imports") else "fails"
        row = [entry["file"], expect]
        results = {lib: check_file(entry, decode, data) for lib, decode in LIBRARIES.items()}
        results["parse_fit"] = check_parse_fit(entry, data)
        for lib, (ok, note, message) in results.items():
            score[lib] += ok
            row.append(note)
            if message:
                errors.append(f"   {entry['file']:<36} {lib:<15} {message}")
        rows.append(row)
    print("1. Correctness, strict mode, real files (expected outcome: fit_summary.json)")
    print(_table(rows, ["file", "expected", *names]))
    print("   as expected: " + ", ".join(f"{k} {v}/{len(entries)}" for k, v in score.items()))
    print("   error messages:")
    print("\n".join(errors))

    # ---- probes
    probes = make_probes(args.data)
    rows = []
    probe_score = dict.fromkeys(names, 0)
    for probe in probes:
        row = [probe.name, "fails" if probe.must_fail else "decodes"]
        results = {lib: check_probe(probe, decode) for lib, decode in LIBRARIES.items()}
        results["parse_fit"] = check_probe_parse_fit(probe)
        for lib, (ok, note) in results.items():
            probe_score[lib] += ok
            row.append(note)
        rows.append(row)
    stryd = (args.data / "developer-types-sample.fit").read_bytes()
    row = ["developer fields (Stryd)", "by name"]
    row += [", ".join(sorted(decode(stryd).dev_field_names)) for decode in LIBRARIES.values()]
    rows.append([*row, "-"])
    print("\n2. Probes (synthetic files or modified copies, built in memory)")
    print(_table(rows, ["probe", "expected", *names]))
    print("   as expected: " + ", ".join(f"{k} {v}/{len(probes)}" for k, v in probe_score.items()))

    # ---- speed
    good = [e for e in entries if e["outcome"].startswith("imports")]
    fns = {
        "fitdecode": full_decode_fitdecode,
        "garmin-fit-sdk": full_decode_garmin,
        "parse_fit": _parse_fit_count,
    }
    rows = []
    totals = dict.fromkeys(fns, 0.0)
    n_msgs_total = 0
    for entry in good:
        data = (args.data / entry["file"]).read_bytes()
        n_msgs = full_decode_fitdecode(data)
        n_msgs_total += n_msgs
        medians = time_interleaved(fns, data, args.min_time, args.max_runs)
        for name, t in medians.items():
            totals[name] += t
        rows.append(
            [entry["file"], f"{len(data) / 1024:.1f}", str(n_msgs)]
            + [f"{medians[name] * 1e3:.1f}" for name in fns]
            + [f"{medians['fitdecode'] / medians['garmin-fit-sdk']:.2f}"]
        )
    n = len(good)
    rows.append(
        [f"all {n} importable files", "", str(n_msgs_total)]
        + [f"{totals[name] * 1e3:.1f}" for name in fns]
        + [f"{totals['fitdecode'] / totals['garmin-fit-sdk']:.2f}"]
    )
    print("\n3. Speed: median of repeated full decodes, ms per file (msgs = data messages)")
    print(_table(rows, ["file", "KiB", "msgs", *fns, "fitdecode/garmin"]))
    for name, t in totals.items():
        print(f"   {name:15s} {n / t:6.1f} files/s {n_msgs_total / t:8.0f} messages/s")
    ratio = totals["fitdecode"] / totals["garmin-fit-sdk"]
    faster, slower = (
        ("garmin-fit-sdk", "fitdecode") if ratio > 1 else ("fitdecode", "garmin-fit-sdk")
    )
    print(f"   {faster} decodes {max(ratio, 1 / ratio):.2f}x as fast as {slower} on this corpus")

    # ---- decision
    print("\n4. Decision")
    fd_wins = (
        score["fitdecode"] >= score["garmin-fit-sdk"]
        and probe_score["fitdecode"] > probe_score["garmin-fit-sdk"]
    )
    if fd_wins:
        print(
            "   loadmon keeps fitdecode: both read the real files right, but garmin-fit-sdk\n"
            "   fails the probes marked WRONG (compressed timestamps, header CRC), merges\n"
            "   chained files, keys developer fields by index and words errors vaguely;\n"
            f"   its {max(ratio, 1 / ratio):.1f}x speed does not make up for that."
        )
    else:
        print("   no clear winner on correctness: read the tables above before switching.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
