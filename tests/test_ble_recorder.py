"""The recorder core without Bluetooth: the durable file, recovery after SIGKILL, decoding."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from loadmon.ble import codecs as c
from loadmon.ble.rawlog import NOTIFY, LogWriter, Record, encode_record, read_log
from loadmon.ble.recorder import Recorder, decode_log, total_distance_m
from loadmon.signal import detect_contacts
from loadmon.signal.synthetic import synthesize


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _records(n: int) -> list[Record]:
    return [Record(NOTIFY, 1000.0 + i * 0.01, 1 + i % 3, bytes([i % 256]) * (i % 40)) for i in
            range(n)]


def test_reader_recovers_up_to_every_cut(tmp_path: Path) -> None:
    path = tmp_path / "a.lmble"
    w = LogWriter(path, fsync=False)
    recs = _records(5)
    for r in recs:
        w.append(r)
    w.close()
    data = path.read_bytes()
    ends = np.cumsum([len(encode_record(r)) for r in recs]) + 7
    for cut in range(7, len(data) + 1):
        (tmp_path / "cut.lmble").write_bytes(data[:cut])
        got = read_log(tmp_path / "cut.lmble")
        whole = int(np.searchsorted(ends, cut, side="right"))
        assert got.records == recs[:whole]
        assert got.trailing_bytes == cut - (ends[whole - 1] if whole else 7)
    # a flipped bit in the third record: the first two survive, nothing after is trusted
    bad = bytearray(data)
    bad[ends[1] + 12] ^= 0x10
    (tmp_path / "bad.lmble").write_bytes(bytes(bad))
    assert read_log(tmp_path / "bad.lmble").records == recs[:2]


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from loadmon.ble.rawlog import NOTIFY, LogWriter, Record
    w = LogWriter(Path(sys.argv[1]), flush_every_s=0.05, fsync=False)
    i = 0
    while True:
        w.append(Record(NOTIFY, float(i), 1 + i % 3, bytes([i % 256]) * (i % 40)))
        i += 1
        if w.flushed_records and w.records == w.flushed_records:
            print(w.flushed_records, flush=True)
        if i % 50 == 0:
            time.sleep(0.001)
""")


def test_sigkill_mid_run_keeps_everything_flushed(tmp_path: Path) -> None:
    path = tmp_path / "killed.lmble"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                            text=True, cwd=Path(__file__).resolve().parents[1])
    assert proc.stdout is not None
    flushed = 0
    try:
        for line in proc.stdout:
            flushed = int(line)
            if flushed > 3000:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    got = read_log(path)
    assert not got.complete
    assert len(got.records) >= flushed > 3000
    for i, r in enumerate(got.records):  # every record intact and in order
        assert r == Record(NOTIFY, float(i), 1 + i % 3, bytes([i % 256]) * (i % 40))


def test_total_distance_wraps_and_resets() -> None:
    assert total_distance_m(np.array([100, 150, 250])) == 15.0
    near = 2**32 - 20
    assert total_distance_m(np.array([near, near + 10, 5, 25])) == pytest.approx(4.5)
    assert total_distance_m(np.array([5000, 5100, 0, 40])) == pytest.approx(14.0)  # reset


def _acc_frames(mg: np.ndarray, per_frame: int, fs: float, t0_ns: int) -> list[bytes]:
    frames = []
    for i in range(0, len(mg), per_frame):
        last = min(i + per_frame, len(mg)) - 1
        ts = t0_ns + round(last * 1e9 / fs)
        frames.append(c.encode_acc_frame(mg[i : last + 1], ts))
    return frames


def test_recorder_decodes_three_kinds_and_recovery_matches(tmp_path: Path) -> None:
    fs = 200.0
    rec, _truth = synthesize("foot", duration_s=30.0, fs_hz=fs, seed=3, noise_g=0.01,
                             clip_range_g=16.0, orientation="aligned")
    n = len(rec.t_s)
    mg = np.clip(np.round(rec.acc_g * 1000), -32768, 32767).astype(np.int64)
    clock = FakeClock()
    r = Recorder(tmp_path / "run.lmble", placement="foot", clock=clock, flush_every_s=0.5)
    acc = r.add_channel("pmd_acc", "AA:01", "Polar Sense")
    rsc = r.add_channel("rsc", "AA:02", "Stryd")
    hr = r.add_channel("hr", "AA:03", "H10")
    r.event(acc, "pmd_start", rate_hz=fs, range_g=16, factor=1.0)
    on_acc, on_rsc, on_hr = r.callback(acc), r.callback(rsc), r.callback(hr)
    frames = _acc_frames(mg, 36, fs, 10**12)
    total = 0
    for k, f in enumerate(frames):
        clock.t = 1000.0 + (k + 1) * 36 / fs + 0.02
        on_acc(None, bytearray(f))
        if k % 5 == 0:
            total += 5
            on_rsc(None, bytearray(c.encode_rsc_measurement(
                c.RscMeasurement(768, 85, None, total, True))))
            on_hr(None, bytearray(c.encode_heart_rate(c.HeartRateMeasurement(150, True))))
        if k == 10:
            on_acc(None, bytearray(b"\x02\x00"))  # malformed: counted and skipped
            on_hr(None, bytearray(b"\x10\x60\x01"))
        r.drain()
    live = r.close()
    assert live.complete
    assert live.malformed == {acc: 1, hr: 1}
    assert len(live.recordings[acc].t_s) == n
    np.testing.assert_array_equal(np.round(live.recordings[acc].acc_g * 1000), mg)
    assert len(live.rsc) == len(live.hr) == len(range(0, len(frames), 5))
    assert live.distance_m() == (pytest.approx((total - 5) / 10), "total distance")
    # contacts found online equal the detector run over the same samples at once
    whole = detect_contacts(live.recordings[acc])
    assert len(whole) > 20
    np.testing.assert_allclose(live.contacts["t_s"], whole["t_s"], atol=1e-9)
    np.testing.assert_allclose(live.contacts["impact_g"], whole["impact_g"], atol=1e-9)
    # recovery from the file gives the same run
    again = decode_log(tmp_path / "run.lmble")
    np.testing.assert_array_equal(again.contacts["t_s"], live.contacts["t_s"])
    assert again.malformed == live.malformed and again.notifications == live.notifications
    assert again.first_utc == live.first_utc and again.first_utc is not None


def test_two_pods_are_summarized_on_their_own_contacts(tmp_path: Path) -> None:
    # a pod on each foot: each summary used to take every contact of the run in its span
    fs = 100.0
    clock = FakeClock()
    r = Recorder(tmp_path / "two.lmble", placement="foot", clock=clock, flush_every_s=0.5)
    pods = []
    for k, seed in enumerate((3, 4)):
        rec, _ = synthesize("foot", duration_s=30.0, fs_hz=fs, seed=seed, noise_g=0.01,
                            orientation="aligned")
        mg = np.clip(np.round(rec.acc_g * 1000), -32768, 32767).astype(np.int64)
        ch = r.add_channel("pmd_acc", f"AA:0{k}", f"Polar Sense {k}")
        r.event(ch, "pmd_start", rate_hz=fs, range_g=16, factor=1.0)
        pods.append((ch, r.callback(ch), _acc_frames(mg, 36, fs, 10**12)))
    for i in range(len(pods[0][2])):
        clock.t = 1000.0 + (i + 1) * 36 / fs + 0.02
        for _, callback, frames in pods:
            callback(None, bytearray(frames[i]))
        r.drain()
    run = r.close()
    for ch, _, _ in pods:
        own = detect_contacts(run.recordings[ch])
        assert len(own) > 20
        assert run.summaries[ch].contacts == len(own)
    assert len(run.contacts) == sum(run.summaries[ch].contacts for ch, _, _ in pods)
    assert decode_log(tmp_path / "two.lmble").summaries == run.summaries


def test_callback_only_queues(tmp_path: Path) -> None:
    clock = FakeClock()
    r = Recorder(tmp_path / "q.lmble", clock=clock)
    ch = r.add_channel("hr", "AA:03")
    before = os.path.getsize(r.path)
    r.callback(ch)(None, bytearray(c.encode_heart_rate(c.HeartRateMeasurement(70))))
    assert r.decoder.run.notifications == 0 and os.path.getsize(r.path) == before
    r.drain()
    assert r.decoder.last_bpm == 70
    r.close()
