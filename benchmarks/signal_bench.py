"""Speed and memory benchmark of the contact detector (issue 3, "Speed").

Prints

1. offline throughput of `loadmon.signal.detect_contacts` on 1 h at 200 Hz
   (foot 3 axes, foot with gyroscope, lower back) in samples per second, and
   the ratio of its CPU time to a plain numpy/scipy baseline on the same array
   in the same run: one ``np.linalg.norm(acc, axis=1)`` plus one
   ``scipy.signal.sosfilt`` pass of a 2nd-order Butterworth band-pass;
2. online: 1 h streams (1,600 Hz and 200 Hz) fed to `ContactDetector.push` in
   32-sample chunks: CPU time as a share of stream time and the CPU cost of
   one push; plus a short chunk-size sweep that splits a push's cost into a
   fixed part and a per-sample part;
3. peak memory (tracemalloc) of a 6 h stream at 200 Hz in 256-sample chunks,
   at 1 h, 3 h and 6 h (tracemalloc makes a push ~6x slower, so this stream
   uses bigger chunks than the timed ones; the 1 h timed streams report their
   change of resident memory instead, which would show a per-push leak);
4. the documented latency (`ContactDetector.latency_s`) of every placement, and the
   longest wait for a contact measured in 10 ms notifications.

All times are CPU times (`time.process_time`), so other processes on a shared
machine disturb them less than wall-clock times. Signals come from
`loadmon.signal.synthetic.synthesize` (running, 170 steps/min, noise, random
orientation).
Streams are generated on the fly: a 2-minute block is repeated with shifted
timestamps, so the stream itself is never held in memory. Usage::

    python benchmarks/signal_bench.py [--hours 1] [--mem-hours 6] [--reps 3] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy
from scipy import signal as sps

from loadmon.signal import (
    PLACEMENTS,
    SINGLE_FOOT,
    Contact,
    ContactDetector,
    Recording,
    detect_contacts,
    min_rate_hz,
)
from loadmon.signal.synthetic import synthesize

CADENCE_SPM = 170.0
BLOCK_S = 120.0  # length of the repeated block of an on-the-fly stream
CHUNK = 32
MEM_CHUNK = 256  # the 6 h memory stream: fewer pushes, since tracemalloc slows a push ~6x
ALIGN = 512  # block length multiple: every chunk size of the sweep divides it


# --------------------------------------------------------------------------- signals


def make_recording(placement: str, seconds: float, fs: float, gyro: bool, seed: int = 1,
                   rest_s: float = 2.0) -> tuple[Recording, int]:
    """Return a running recording and its number of true contacts."""
    rec, truth = synthesize(placement, "run", cadence_spm=CADENCE_SPM, duration_s=seconds,
                            fs_hz=fs, gyro=gyro, seed=seed, rest_s=rest_s)
    return rec, len(truth)


@dataclass
class Block:
    """A block of samples on a uniform grid, repeated to make an endless stream."""

    fs: float
    t: np.ndarray
    acc: np.ndarray
    gyro: np.ndarray | None

    @classmethod
    def make(cls, placement: str, fs: float, gyro: bool, seconds: float = BLOCK_S) -> Block:
        rec, _ = make_recording(placement, seconds, fs, gyro, seed=7, rest_s=0.0)
        n = len(rec.t_s) // ALIGN * ALIGN  # chunks never straddle the block's end
        g = None if rec.gyro_dps is None else np.ascontiguousarray(rec.gyro_dps[:n])
        return cls(fs, np.arange(n) / fs, np.ascontiguousarray(rec.acc_g[:n]), g)

    def chunks(self, chunk: int, total: int) -> Iterator[tuple[np.ndarray, np.ndarray,
                                                               np.ndarray | None]]:
        """Yield ``total`` samples (rounded up to whole chunks) as (t, acc, gyro) chunks."""
        n = len(self.t)
        if n % chunk:
            raise ValueError("chunk must divide the block length")
        period = n / self.fs
        for k in range(0, total, chunk):
            cycle, j = divmod(k, n)
            sl = slice(j, j + chunk)
            g = None if self.gyro is None else self.gyro[sl]
            yield self.t[sl] + cycle * period, self.acc[sl], g


# --------------------------------------------------------------------------- measurements


def rss_kib() -> float:
    """Resident set size of this process now, KiB (NaN where /proc is missing)."""
    gc.collect()
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024
    except (OSError, ValueError):
        return float("nan")


def best_cpu(fn, reps: int) -> tuple[float, object]:
    """Best CPU time of ``reps`` calls of ``fn`` and the last result."""
    best, out = float("inf"), None
    for _ in range(reps):
        c0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - c0)
    return best, out


def offline(hours: float, reps: int) -> None:
    fs = 200.0
    print(f"\n1. Offline: detect_contacts on {hours:g} h at {fs:.0f} Hz, one chunk "
          f"(best of {reps}; ratio = detector CPU / baseline CPU on the same array)")
    sos = sps.butter(2, [0.5, 20.0], "bandpass", fs=fs, output="sos")
    print(f"   {'placement':<11}{'input':<10}{'samples':>10}{'found/true':>14}"
          f"{'detector':>13}{'baseline':>13}{'ratio':>8}{'peak MiB':>10}")
    for placement, gyro in (("foot", False), ("foot", True), ("lower_back", False)):
        rec, n_true = make_recording(placement, hours * 3600.0, fs, gyro)
        n = len(rec.t_s)
        acc = rec.acc_g

        def baseline(acc: np.ndarray = acc) -> np.ndarray:
            return sps.sosfilt(sos, np.linalg.norm(acc, axis=1))

        t_base, _ = best_cpu(baseline, max(reps, 3))
        t_det, found = best_cpu(lambda rec=rec: detect_contacts(rec), reps)
        tracemalloc.start()
        detect_contacts(rec)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"   {placement:<11}{'acc+gyro' if gyro else 'acc':<10}{n:>10,}"
              f"{f'{len(found)}/{n_true}':>14}{n / t_det / 1e6:>8.2f} MS/s"
              f"{n / t_base / 1e6:>8.1f} MS/s{t_det / t_base:>7.1f}x{peak / 2**20:>10.0f}")
        del rec, acc
    print("   MS/s = million samples per CPU second; baseline = np.linalg.norm(acc, axis=1) + "
          "one sosfilt of a 2nd-order Butterworth 0.5-20 Hz band-pass; "
          "peak MiB = tracemalloc peak of one offline call")


def n_contacts(events: list) -> int:
    """Number of initial contacts among a push's events (toe-offs come apart)."""
    return sum(isinstance(e, Contact) for e in events)


def stream(placement: str, fs: float, gyro: bool, hours: float, chunk: int = CHUNK,
           block: Block | None = None) -> dict:
    """Feed ``hours`` of stream to a detector; CPU time of every push."""
    block = block or Block.make(placement, fs, gyro)
    total = round(hours * 3600.0 * fs)
    costs = np.full(-(-total // chunk), np.nan)  # touched now: not counted in the RSS change
    rss0 = rss_kib()
    det = ContactDetector(placement, fs, has_gyro=gyro)
    contacts = 0
    clock = time.process_time
    for i, (t, a, g) in enumerate(block.chunks(chunk, total)):
        c0 = clock()
        out = det.push(t, a, g)
        costs[i] = clock() - c0
        contacts += n_contacts(out)
    c0 = clock()
    contacts += n_contacts(det.finish())
    cpu = float(costs.sum()) + clock() - c0
    stream_s = len(costs) * chunk / fs
    rss = rss_kib() - rss0
    del det
    return {"cpu": cpu, "share": cpu / stream_s, "pushes": len(costs), "costs": costs,
            "rss_kib": rss,
            "contacts_per_min": contacts / (stream_s / 60.0), "stream_s": stream_s}


def online(hours: float, sweep_s: float) -> None:
    print(f"\n2. Online: {hours:g} h streams in {CHUNK}-sample chunks (CPU time of push)")
    print(f"   {'placement':<13}{'input':<10}{'fs Hz':>7}{'pushes':>9}{'CPU s':>8}"
          f"{'CPU/stream':>12}{'us/push mean':>14}{'median':>8}{'p99':>8}{'max':>8}"
          f"{'contacts/min':>14}{'RSS change':>12}")
    runs = (("foot", 1600.0, False), ("foot", 200.0, False), ("foot", 200.0, True),
            ("lower_back", 200.0, False), ("phone_pocket", 200.0, False))
    for placement, fs, gyro in runs:
        r = stream(placement, fs, gyro, hours)
        us = r["costs"] * 1e6
        flag = "" if r["share"] < 0.01 else "  > 1 % goal"
        print(f"   {placement:<13}{'acc+gyro' if gyro else 'acc':<10}{fs:>7.0f}"
              f"{r['pushes']:>9,}{r['cpu']:>8.1f}{100 * r['share']:>11.2f}%"
              f"{us.mean():>14.0f}{np.median(us):>8.0f}{np.percentile(us, 99):>8.0f}"
              f"{us.max():>8.0f}{r['contacts_per_min']:>14.1f}{r['rss_kib']:>+8.0f} KiB{flag}")
    print("   us/push = CPU microseconds of one push; RSS change = resident memory after the "
          "stream minus before (untraced)")
    # fixed vs per-sample cost of a push
    fs = 1600.0
    block = Block.make("foot", fs, False)
    sizes = (8, 32, 128, 512)
    print(f"   chunk-size sweep, foot acc {fs:.0f} Hz, {sweep_s:.0f} s stream:")
    means = []
    for size in sizes:
        r = stream("foot", fs, False, sweep_s / 3600.0, chunk=size, block=block)
        means.append(r["costs"].mean())
        print(f"     chunk {size:>4}: {r['costs'].mean() * 1e6:7.0f} us/push, "
              f"CPU/stream {100 * r['share']:5.2f}%")
    slope, fixed = np.polyfit(np.array(sizes, float), np.array(means), 1)
    print(f"     fit: {fixed * 1e6:.0f} us fixed per push + {slope * 1e9:.0f} ns per sample "
          f"-> at {fs:.0f} Hz a {CHUNK}-sample chunk every {CHUNK / fs * 1e3:.0f} ms costs "
          f"{100 * (fixed + slope * CHUNK) * fs / CHUNK:.2f}% of a core")


def memory(hours: float, marks: tuple[float, ...]) -> None:
    fs = 200.0
    placement, gyro = "foot", True
    block = Block.make(placement, fs, gyro)  # allocated before tracing: not counted
    total = round(hours * 3600.0 * fs)
    print(f"\n3. Memory: {hours:g} h stream, {placement} acc+gyro at {fs:.0f} Hz, "
          f"{MEM_CHUNK}-sample chunks (tracemalloc from before the detector is made; "
          "contacts counted, not kept)")
    print(f"   {'stream h':>9}{'peak since start':>18}{'peak this interval':>20}"
          f"{'current':>10}{'contacts':>10}{'wall s':>8}")
    pending = sorted(round(m * 3600.0 * fs) for m in marks)
    rows: list[tuple[float, int, int]] = []  # (stream h, peak of the interval, current)
    w0 = time.perf_counter()
    tracemalloc.start()
    det = ContactDetector(placement, fs, has_gyro=gyro)
    contacts, done, overall = 0, 0, 0
    for t, a, g in block.chunks(MEM_CHUNK, total):
        contacts += n_contacts(det.push(t, a, g))
        done += len(t)
        if pending and done >= pending[0]:
            pending.pop(0)
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            overall = max(overall, peak)
            rows.append((done / fs / 3600, peak, current))
            print(f"   {rows[-1][0]:>9.2f}{overall / 1024:>14.0f} KiB{peak / 1024:>16.0f} KiB"
                  f"{current / 1024:>6.0f} KiB{contacts:>10,}{time.perf_counter() - w0:>8.0f}",
                  flush=True)
    tracemalloc.stop()
    if len(rows) >= 2:
        (h0, p0, _), (h1, p1, c1), (h2, p2, c2) = rows[0], rows[-2], rows[-1]
        flat = p2 - p1 < max(4096, 0.02 * p1) and c2 - c1 < 4096
        print(f"   interval peak {h0:.2f} h -> {h2:.2f} h: {(p2 - p0) / 1024:+.1f} KiB; "
              f"{h1:.2f} h -> {h2:.2f} h: {(p2 - p1) / 1024:+.1f} KiB "
              f"({(p2 - p1) / 1024 / (h2 - h1):+.2f} KiB/h), current {(c2 - c1) / 1024:+.1f} KiB"
              f" -> {'flat' if flat else 'GROWING'}")


def _reads_pitch(placement: str) -> bool:
    """Whether a placement's sensor is measured with a gyroscope (a foot, ankle or shank
    times its contacts by the pitch rate, the longer bound)."""
    return placement in SINGLE_FOOT


def measured_latency_s(placement: str, activity: str, fs: float) -> tuple[float, float]:
    """Longest stream time between a contact and the push that reports it (synthetic, 60 s).

    Also returns the stream's longest sample interval when it is irregular (a
    phone's): a grid point waits for the sample after it, on top of the bound.
    """
    gyro = _reads_pitch(placement)
    rec, _ = synthesize(placement, activity, duration_s=60.0, fs_hz=fs, seed=5, gyro=gyro)
    det = ContactDetector(placement, fs, has_gyro=gyro)
    worst, step = 0.0, max(1, round(0.01 * fs))  # notifications of 10 ms
    for i in range(0, len(rec.t_s), step):
        g = rec.gyro_dps[i : i + step] if gyro else None
        for e in det.push(rec.t_s[i : i + step], rec.acc_g[i : i + step], g):
            if isinstance(e, Contact):
                worst = max(worst, float(rec.t_s[min(i + step, len(rec.t_s)) - 1]) - e.t_s)
    interval = float(np.diff(rec.t_s).max())
    return worst, interval if interval > 1.01 / fs else 0.0


def latency() -> None:
    print("\n4. Latency, seconds of stream: documented (ContactDetector(placement, fs).latency_s)")
    print(f"   {'placement':<14}{'lowest rate':>16}{'200 Hz':>8}{'1600 Hz':>9}")
    for p in PLACEMENTS:
        lowest = min_rate_hz(p)
        vals = [ContactDetector(p, fs, has_gyro=_reads_pitch(p)).latency_s
                for fs in (lowest, 200.0, 1600.0)]
        flag = "" if max(vals) <= 0.5 else "  > 0.5 s"
        low = f"{vals[0]:.3f} ({lowest:g} Hz)"
        print(f"   {p:<14}{low:>16}{vals[1]:>8.3f}{vals[2]:>9.3f}{flag}")
    print("   measured at 200 Hz in 10 ms notifications (synthetic walk / run, 60 s; foot, "
          "ankle and shank with a gyroscope): longest wait for a contact, and the documented bound "
          "(+ the longest sample interval of an irregular stream)")
    for p in PLACEMENTS:
        bound = ContactDetector(p, 200.0, has_gyro=_reads_pitch(p)).latency_s
        (walk, w_extra), (run, r_extra) = (measured_latency_s(p, a, 200.0) for a in ("walk", "run"))
        over = walk > bound + w_extra + 1e-9 or run > bound + r_extra + 1e-9
        extra = f" + {max(w_extra, r_extra):.3f}" if max(w_extra, r_extra) else ""
        print(f"   {p:<14} walk {walk:.3f}  run {run:.3f}  bound {bound:.3f}{extra}"
              f"{'  OVER THE BOUND' if over else ''}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=float, default=None,
                    help="offline recording and online stream length, h (default 1)")
    ap.add_argument("--mem-hours", type=float, default=None,
                    help="memory stream length, h (default 6; peaks at 1/6, 1/2 and all of it)")
    ap.add_argument("--reps", type=int, default=None, help="offline repetitions (default 3)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 3 min streams, 0.3 h memory stream, one repetition")
    args = ap.parse_args()
    hours = args.hours or (0.05 if args.quick else 1.0)
    mem_hours = args.mem_hours or (0.3 if args.quick else 6.0)
    reps = args.reps or (1 if args.quick else 3)
    sweep_s = 20.0 if args.quick else 120.0

    w0 = time.perf_counter()
    print(f"loadmon signal benchmark: python {platform.python_version()}, numpy {np.__version__}, "
          f"scipy {scipy.__version__}, {os.cpu_count()} CPUs, load avg "
          f"{os.getloadavg()[0]:.1f}; CPU times from time.process_time")
    print(f"signal: loadmon.signal.synthetic.synthesize, running {CADENCE_SPM:.0f} steps/min")
    for name, fn in (("offline", lambda: offline(hours, reps)),
                     ("online", lambda: online(hours, sweep_s)),
                     ("memory", lambda: memory(mem_hours, (mem_hours / 6, mem_hours / 2,
                                                           mem_hours))),
                     ("latency", latency)):
        s0 = time.perf_counter()
        fn()
        print(f"   ({name}: {time.perf_counter() - s0:.0f} s wall)", flush=True)
    print(f"\ntotal {time.perf_counter() - w0:.0f} s wall")


if __name__ == "__main__":
    main()
