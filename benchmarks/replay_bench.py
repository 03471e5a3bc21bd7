"""Replay benchmark: end-to-end replay time / ``pandas.read_csv(engine="pyarrow")``, and memory.

Writes a generic CSV (``t_s,ax_g,ay_g,az_g``, 200 Hz, a synthetic shank
sensor running: 10 min of `loadmon.signal.synthetic.synthesize` repeated)
of ``--hours`` hours, and one of ``--compare-hours`` hours, into a temporary
folder, then measures on each, every measurement in a fresh subprocess:

* **replay**: `loadmon.replay.replay` on the file, the code path of
  ``loadmon replay FILE -p shank`` without the progress bar (detect the
  format, stream it through the contact detector, summarize), its time
  and the peak resident memory of the process (``ru_maxrss``) above the
  memory after the imports;
* **read_csv**: ``pandas.read_csv(path, engine="pyarrow")`` of the same
  file, its time (the bar to beat: parsing the file into memory, nothing else);
* **read**: the reading part of the replay alone (the exporter's chunked
  reader, no detector), to tell where the replay's time goes;
* **cli**: the wall time of the whole ``loadmon replay FILE -p shank --json``
  command (start-up and output included), for reference.

Goals: replay / read_csv <= 2 on the long file; peak memory flat, i.e. the
same for a 1 h and a 6 h file (streaming holds one chunk, not the file).
Times are the best of ``--repeat`` runs (default 5), the measurements of a file
interleaved so that all see the machine in the same states. Usage::

    python benchmarks/replay_bench.py [--hours 6] [--compare-hours 1] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FS_HZ = 200.0
PLACEMENT = "shank"
RATIO_GOAL = 2.0
#: Peak memory may differ by this much (MB) between the files and still be flat.
FLAT_SLACK_MB = 30.0


def write_csv(path: Path, hours: float, block_rows: int = 500_000) -> int:
    """Write `hours` of 200 Hz samples as a generic CSV; return the number of rows."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from loadmon.signal.synthetic import synthesize

    rec, _ = synthesize(PLACEMENT, duration_s=600.0, fs_hz=FS_HZ, seed=1, rest_s=0.0)
    base = np.round(rec.acc_g, 5)
    n = round(hours * 3600 * FS_HZ)
    with path.open("wb") as fh:
        fh.write(b"t_s,ax_g,ay_g,az_g\n")
        opts = pacsv.WriteOptions(include_header=False, quoting_style="none")
        for start in range(0, n, block_rows):
            idx = np.arange(start, min(start + block_rows, n))
            acc = base[idx % len(base)]
            table = pa.table({
                "t_s": np.round(idx / FS_HZ, 5),
                "ax_g": acc[:, 0], "ay_g": acc[:, 1], "az_g": acc[:, 2],
            })
            pacsv.write_csv(table, fh, opts)
    return n


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def child(task: str, path: Path) -> dict[str, float]:
    """Run one measurement in this (fresh) process and return its figures."""
    if task == "read_csv":
        import pandas as pd

        pd.read_csv(path.parent / "warmup.csv", engine="pyarrow")  # load pyarrow's CSV reader
        base = _rss_mb()
        t0 = time.perf_counter()
        frame = pd.read_csv(path, engine="pyarrow")
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "rows": len(frame), "base_mb": base, "peak_mb": _rss_mb()}
    if task == "read":  # the reading part of a replay alone: detect the format, stream it
        from loadmon.io.exporters import detect_format

        list(detect_format(path.parent / "warmup.csv").open(path.parent / "warmup.csv"))
        base = _rss_mb()
        t0 = time.perf_counter()
        rows = sum(len(c.t_s) for c in detect_format(path).open(path))
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "rows": rows, "base_mb": base, "peak_mb": _rss_mb()}
    from loadmon.replay import replay

    replay(path.parent / "warmup.csv", PLACEMENT)  # import and warm up every module once
    base = _rss_mb()
    t0 = time.perf_counter()
    result = replay(path, PLACEMENT)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": result.n_samples, "contacts": len(result.contacts),
            "streamed": result.streamed, "base_mb": base, "peak_mb": _rss_mb()}


def run_child(task: str, path: Path) -> dict[str, float]:
    """Run one measurement in a fresh subprocess and return its figures."""
    if task == "cli":
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "from loadmon.cli import main; main()",
                        "replay", str(path), "-p", PLACEMENT, "--json"],
                       check=True, stdout=subprocess.DEVNULL)
        return {"seconds": time.perf_counter() - t0}
    text = subprocess.run([sys.executable, __file__, "--child", task, str(path)],
                          check=True, capture_output=True, text=True).stdout
    return json.loads(text.splitlines()[-1])


def measure(tasks: list[str], path: Path, repeat: int) -> dict[str, dict[str, float]]:
    """Run every task `repeat` times, interleaved; keep each one's best time and highest peak.

    Interleaving lets every task see the machine in the same states (its
    speed drifts by 15 % and more within a minute).
    """
    best: dict[str, dict[str, float]] = {}
    for _ in range(repeat):
        for task in tasks:
            out = run_child(task, path)
            if task not in best:
                best[task] = out
                continue
            peak = max(best[task].get("peak_mb", 0.0), out.get("peak_mb", 0.0))
            best[task] = min(best[task], out, key=lambda o: o["seconds"]) | {"peak_mb": peak}
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=6.0, help="length of the long file")
    parser.add_argument("--compare-hours", type=float, default=1.0,
                        help="length of the short file, for the memory comparison")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each measurement")
    parser.add_argument("--child", nargs=2, metavar=("TASK", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return 0

    rows = []
    with tempfile.TemporaryDirectory(prefix="replay-bench-") as tmp:
        folder = Path(tmp)
        write_csv(folder / "warmup.csv", 60 / 3600)
        for hours in (args.compare_hours, args.hours):
            path = folder / f"run_{hours:g}h_200hz.csv"
            t0 = time.perf_counter()
            n = write_csv(path, hours)
            size_mb = path.stat().st_size / 2**20
            print(f"{path.name}: {n:,} rows, {size_mb:.0f} MB (written in "
                  f"{time.perf_counter() - t0:.1f} s)", flush=True)
            got = measure(["replay", "read_csv", "read"], path, args.repeat)
            rep, ref, read = got["replay"], got["read_csv"], got["read"]
            cli = run_child("cli", path)
            rows.append((hours, n, size_mb, rep, ref, cli))
            rate = n / rep["seconds"] / 1e6
            print(f"  replay    {rep['seconds']:7.2f} s  ({rate:.2f} M samples/s, "
                  f"{rep['contacts']:,} contacts, streamed: {rep['streamed']})")
            print(f"    of which reading {read['seconds']:.2f} s (the exporter's chunked reader "
                  f"alone), detecting {rep['seconds'] - read['seconds']:.2f} s")
            print(f"  read_csv  {ref['seconds']:7.2f} s  (pandas, engine='pyarrow')")
            print(f"  ratio     {rep['seconds'] / ref['seconds']:7.2f}    (goal <= {RATIO_GOAL:g})")
            print(f"  cli       {cli['seconds']:7.2f} s  (whole command, start-up included)")
            print(f"  memory    replay peak {rep['peak_mb']:.0f} MB RSS, "
                  f"{rep['peak_mb'] - rep['base_mb']:.0f} MB above the imports; "
                  f"read_csv peak {ref['peak_mb']:.0f} MB", flush=True)
    (h1, *_, rep1, _, _), (h2, _, _, rep2, ref2, _) = rows
    ratio = rep2["seconds"] / ref2["seconds"]
    growth = (rep2["peak_mb"] - rep2["base_mb"]) - (rep1["peak_mb"] - rep1["base_mb"])
    flat = abs(growth) <= FLAT_SLACK_MB
    print()
    print(f"time ratio ({h2:g} h): {ratio:.2f} (goal <= {RATIO_GOAL:g}): "
          f"{'met' if ratio <= RATIO_GOAL else 'MISSED'}")
    print(f"peak memory above the imports: {rep1['peak_mb'] - rep1['base_mb']:.0f} MB ({h1:g} h) "
          f"vs {rep2['peak_mb'] - rep2['base_mb']:.0f} MB ({h2:g} h): "
          f"{'flat' if flat else 'GROWS'} (within {FLAT_SLACK_MB:g} MB)")
    return 0 if ratio <= RATIO_GOAL and flat else 1


if __name__ == "__main__":
    sys.exit(main())
