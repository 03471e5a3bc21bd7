"""BLE recorder benchmark: its CPU time as a share of the stream's duration, through D-Bus.

Three sensors of one run, pushed through the fake BlueZ of the tests
(``tests/fakebluez``, a private ``dbus-daemon``) as fast as the bus allows,
into the real recorder (bleak's BlueZ backend, `loadmon.ble.session.record`,
`loadmon.ble.recorder.Recorder`):

* a Polar accelerometer: ``--minutes`` of 200 Hz ACC (a synthetic foot sensor
  running, one minute of `loadmon.signal.synthetic.synthesize` repeated), in
  compressed PMD frames of ``--per-frame`` samples;
* a heart-rate strap and an RSC foot pod, one notification a second each.

The fake runs in its own process, so what is measured is the recording
process alone: its CPU time (``time.process_time``) from subscribing to the
last notification (bleak and dbus-fast receiving and parsing the signals,
the callbacks, writing and fsyncing the recording file, decoding, the
online contact detector), and separately the end of the run
(``Recorder.close``: the summaries). The fake paces its signals
(`tests.fakebluez.bluez.PACE_S` between two; dbus-fast drops a peer whose
socket buffer fills), which bounds how fast an hour can be pushed; the wall
time is printed too. Goal: recording CPU under 5 % of one core, i.e. under
180 s for an hour of stream. A run shorter than an hour is extrapolated to
one, and the output says so. Usage::

    python benchmarks/ble_bench.py [--minutes 60] [--rate 200] [--per-frame 36]

Needs ``dbus-daemon`` (Debian package ``dbus``); no Bluetooth.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.fakebluez, before any other package called tests

POLAR, STRAP, POD = "C0:00:00:00:B0:01", "C0:00:00:00:B0:02", "C0:00:00:00:B0:03"
#: As fast as the bus allows: device time runs this much faster than the wall clock.
SPEEDUP = 1e6
GOAL_SHARE = 0.05


def _devices(minutes: float, rate: int, per_frame: int) -> list[Any]:
    from loadmon.signal.synthetic import synthesize
    from tests.fakebluez.devices import HrStrap, PolarSense, RscPod

    rec, _truth = synthesize("foot", duration_s=60.0, fs_hz=rate, seed=1, rest_s=0.0,
                             clip_range_g=16.0)
    minute = np.clip(np.round(rec.acc_g * 1000), -16000, 16000).astype(np.int64)
    n = round(minutes * 60 * rate)
    mg = np.tile(minute, (-(-n // len(minute)), 1))[:n]
    seconds = round(minutes * 60)
    return [
        PolarSense(POLAR, "Polar H10", samples_mg=mg, rate_hz=rate, per_frame=per_frame,
                   speedup=SPEEDUP, startup_s=0.0),
        HrStrap(STRAP, "HRM", count=seconds, period_s=1.0, speedup=SPEEDUP),
        RscPod(POD, "Stryd", count=seconds, period_s=1.0, speedup=SPEEDUP),
    ]


def serve(address: str, minutes: float, rate: int, per_frame: int) -> None:
    """The fake BlueZ process: serve until stdin closes."""
    from tests.fakebluez.bluez import FakeBus

    fb = FakeBus(_devices(minutes, rate, per_frame), address).start()
    print("ready", flush=True)
    sys.stdin.read()
    fb.stop()


async def _record(minutes: float, rate: int, per_frame: int, folder: Path) -> dict[str, Any]:
    from loadmon.ble.recorder import Recorder
    from loadmon.ble.session import pick_devices, record, scan

    found = await scan(1.0)
    picked = pick_devices(found, [POLAR, STRAP, POD], "auto")
    recorder = Recorder(folder / "bench.lmble", placement="foot")
    frames = -(-round(minutes * 60 * rate) // per_frame)
    expected = frames + 2 * round(minutes * 60) + 2  # + the two PMD control responses
    stop = asyncio.Event()
    marks: dict[str, float] = {}

    async def watch() -> None:
        last, idle_since = -1, time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.2)
            got = recorder.decoder.run.notifications
            if got and "first" not in marks:
                marks["first"] = time.perf_counter()
            if got != last:
                last, idle_since = got, time.monotonic()
            if got >= expected or (got and time.monotonic() - idle_since > 5.0):
                marks["cpu_stream"] = time.process_time()
                marks["wall_stream"] = time.perf_counter()
                stop.set()

    cpu0, wall0 = time.process_time(), time.perf_counter()
    watcher = asyncio.ensure_future(watch())
    run = await record(picked, recorder, stop=stop, rate_hz=rate)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    watcher.cancel()
    return {
        "expected": expected, "notifications": run.notifications,
        "malformed": sum(run.malformed.values()), "link_losses": len(run.gaps),
        "samples": sum(len(r.t_s) for r in run.recordings.values()),
        "hr": len(run.hr), "rsc": len(run.rsc), "contacts": len(run.contacts),
        "cpu_stream_s": marks["cpu_stream"] - cpu0, "cpu_close_s": cpu1 - marks["cpu_stream"],
        "wall_stream_s": marks["wall_stream"] - wall0,
        "wall_push_s": marks["wall_stream"] - marks.get("first", wall0),
        "wall_total_s": wall1 - wall0, "file_bytes": recorder.path.stat().st_size,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=60.0, help="stream duration (default 60)")
    p.add_argument("--rate", type=int, default=200, help="ACC rate, Hz (default 200)")
    p.add_argument("--per-frame", type=int, default=36, help="samples a PMD frame (default 36)")
    p.add_argument("--serve", metavar="ADDRESS", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        serve(args.serve, args.minutes, args.rate, args.per_frame)
        return 0
    if shutil.which("dbus-daemon") is None:
        print("dbus-daemon is absent (Debian package dbus)", file=sys.stderr)
        return 2
    from tests.fakebluez.bluez import PACE_S, start_daemon

    with tempfile.TemporaryDirectory() as tmp:
        daemon, address = start_daemon(tmp)
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = address
        fake = subprocess.Popen(
            [sys.executable, __file__, "--serve", address, "--minutes", str(args.minutes),
             "--rate", str(args.rate), "--per-frame", str(args.per_frame)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )
        try:
            assert fake.stdout is not None
            if fake.stdout.readline().strip() != "ready":
                print("the fake BlueZ did not start", file=sys.stderr)
                return 1
            out = asyncio.run(_record(args.minutes, args.rate, args.per_frame, Path(tmp)))
        finally:
            if fake.stdin is not None:
                fake.stdin.close()
            fake.wait(20)
            daemon.terminate()
            daemon.wait(10)
    stream_s = args.minutes * 60
    share = out["cpu_stream_s"] / stream_s
    share_all = (out["cpu_stream_s"] + out["cpu_close_s"]) / stream_s
    print(f"stream: {args.minutes:g} min of {args.rate} Hz PMD ACC ({args.per_frame} samples a "
          f"frame) + HR + RSC = {out['expected']} notifications; pacing {PACE_S * 1e3:g} ms "
          "between signals")
    print(f"received: {out['notifications']} notifications ({out['malformed']} malformed, "
          f"{out['link_losses']} link losses), {out['samples']} ACC samples, {out['hr']} HR, "
          f"{out['rsc']} RSC, {out['contacts']} contacts; file {out['file_bytes'] / 1e6:.1f} MB")
    print(f"wall: {out['wall_push_s']:.1f} s to push the stream "
          f"({out['notifications'] / max(out['wall_push_s'], 1e-9):.0f} notifications/s, "
          f"{stream_s / max(out['wall_push_s'], 1e-9):.0f}x real time); "
          f"{out['wall_total_s']:.1f} s in all")
    print(f"recorder CPU: {out['cpu_stream_s']:.2f} s while streaming = {share:.2%} of one core "
          f"over the {stream_s:g} s stream (goal < {GOAL_SHARE:.0%}); close (summaries) "
          f"{out['cpu_close_s']:.2f} s; with it {share_all:.2%}")
    if args.minutes < 60:
        k = 60 / args.minutes
        print(f"extrapolated to 1 h (x{k:g}, linear): recorder CPU "
              f"{out['cpu_stream_s'] * k:.1f} s = {share:.2%} of one core; push wall time "
              f"{out['wall_push_s'] * k:.0f} s")
    ok = out["notifications"] >= out["expected"] and share < GOAL_SHARE
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
