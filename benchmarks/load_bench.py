"""Load-model benchmark: 200 athletes x 5 years of sessions (about 300,000) in SQLite.

Generates a log (not timed): per athlete and day a run with probability 0.55,
strength 0.15 and cross-training 0.12, some without an RPE, two pairs of shoes
and three surfaces, athletes in four time zones; writes it into a fresh
SQLite store with one bulk insert (SQLAlchemy core), or takes an existing one
(``--db``). Then, in a fresh process (as a user's command opens an existing
log), measures

* load: `loadmon.store.Store.sessions_frame` of every athlete,
* model: `loadmon.models.assess.assess`: the weekly load table and every
  implemented rule's flags, sharing the prepared log and its daily load,

and prints each time and the total, the best of ``--repeat`` runs, each in a
fresh process (this machine's speed drifts by a third from minute to minute;
the median and the slowest run are printed too). Goal: total under 2 s.
Baseline, measured in the same processes: the sessions table read by
``pandas.read_sql_query`` through SQLAlchemy, the plain way, with no model.
Usage::

    python benchmarks/load_bench.py [--athletes 200] [--years 5] [--db PATH] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import insert, select, text

from loadmon.models.assess import assess
from loadmon.models.rules import default_rules
from loadmon.store import MODEL_COLUMNS, Store
from loadmon.store.schema import Shoe, TrainingSession

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC")
SURFACES = ("road", "trail", "track")
START = datetime(2021, 1, 4, tzinfo=UTC)


def generate(store: Store, athletes: int, years: int, seed: int = 5) -> int:
    """Write `athletes` x `years` of sessions into `store`; return the session count."""
    rng = np.random.default_rng(seed)
    days = 365 * years + years // 4
    now = datetime.now(UTC)
    rows: list[dict] = []
    for a in range(athletes):
        info = store.add_athlete(f"athlete{a:03d}", ZONES[a % len(ZONES)])
        for name in ("A", "B"):
            store.add_shoe(info, name)
    with store.engine.begin() as conn:
        shoe_ids = {(r.athlete_id, r.name): r.id
                    for r in conn.execute(select(Shoe.athlete_id, Shoe.name, Shoe.id))}
    ids = sorted({a for a, _ in shoe_ids})
    for athlete_id in ids:
        u = rng.random((days, 3))
        base_km = rng.uniform(5, 12)
        for kind, col, p in (("run", 0, 0.55), ("strength", 1, 0.15), ("cross", 2, 0.12)):
            day = np.flatnonzero(u[:, col] < p)
            n = len(day)
            km = base_km * rng.lognormal(0.0, 0.35, n)
            minutes = {"run": km * rng.uniform(4.5, 7.0, n), "strength": rng.uniform(20, 50, n),
                       "cross": rng.uniform(25, 110, n)}[kind]
            rpe = np.where(rng.random(n) < 0.3, np.nan, rng.integers(2, 9, n))
            hour = rng.uniform(5, 20, n) + {"run": 0, "strength": 0.2, "cross": 0.4}[kind]
            shoe = rng.integers(0, 2, n)
            surface = rng.integers(0, 3, n)
            for i in range(n):
                rows.append({
                    "athlete_id": athlete_id,
                    "start_utc": START + timedelta(days=int(day[i]), hours=float(hour[i])),
                    "duration_s": float(minutes[i]) * 60.0,
                    "distance_m": float(km[i]) * 1000.0 if kind == "run" else None,
                    "kind": kind, "sport": None,
                    "shoe_id": shoe_ids[(athlete_id, "AB"[shoe[i]])] if kind == "run" else None,
                    "surface": SURFACES[surface[i]] if kind == "run" else None,
                    "rpe": None if np.isnan(rpe[i]) else float(rpe[i]),
                    "source": "bench", "source_checksum": None, "source_part": 0,
                    "time_known": True, "distance_estimated": False, "imported_utc": now,
                })
    with store.engine.begin() as conn:
        conn.execute(insert(TrainingSession), rows)
    return len(rows)


def measure(path: Path) -> dict[str, float]:
    """Time load, weekly table and flags once on the store at `path`, then the baseline."""
    store = Store.open(f"sqlite:///{path}")
    rules = default_rules()
    t0 = time.perf_counter()
    frame = store.sessions_frame(columns=MODEL_COLUMNS)
    t1 = time.perf_counter()
    result = assess(frame, None, None, rules, with_spikes=False)  # weekly tables, flags
    t2 = time.perf_counter()
    out = {"load": t1 - t0, "model": t2 - t1, "sessions": len(frame),
           "weeks": len(result.weekly), "flags": len(result.flags),
           "excluded": len(result.excluded)}
    del frame, result
    # baseline, same process and moment: the sessions table read the plain pandas way
    t = time.perf_counter()
    pd.read_sql_query(text("SELECT * FROM sessions"), store.engine)
    out["baseline"] = time.perf_counter() - t
    store.close()
    return out


def main() -> None:
    """Generate the log (unless --db names an existing one), then time it in fresh processes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--athletes", type=int, default=200)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--db", type=Path, default=None,
                        help="SQLite file: generated when absent, reused when present "
                             "(default: a temporary one)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs, each a fresh process")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp(prefix="loadmon-bench-")) / "bench.sqlite"
    if args.measure:
        print(json.dumps(measure(path)))
        return
    if path.exists():
        print(f"using {path} as it is")
    else:
        store = Store.open(f"sqlite:///{path}")
        t = time.perf_counter()
        n = generate(store, args.athletes, args.years)
        store.close()
        print(f"generated {n:,} sessions of {args.athletes} athletes x {args.years} years "
              f"in {time.perf_counter() - t:.1f} s (not counted)", flush=True)
    # each run a fresh process, as a user's command opens an existing log
    runs = [json.loads(subprocess.run(
        [sys.executable, __file__, "--measure", "--db", str(path)],
        check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        for _ in range(args.repeat)]
    best = min(runs, key=lambda r: r["load"] + r["model"])
    totals = sorted(r["load"] + r["model"] for r in runs)
    base = min(r["baseline"] for r in runs)
    total = best["load"] + best["model"]
    print(f"load    {best['load']:6.3f} s  ({best['sessions']:,} sessions)")
    print(f"model   {best['model']:6.3f} s  ({best['weeks']:,} athlete-weeks, "
          f"{best['flags']:,} flags, {best['excluded']:,} sessions excluded)")
    print(f"total   {total:6.3f} s  best of {len(runs)} fresh processes (goal < 2 s: "
          f"{'met' if total < 2.0 else 'NOT met'}); median {totals[len(totals) // 2]:.3f} s, "
          f"slowest {totals[-1]:.3f} s")
    print(f"baseline: pandas.read_sql_query of the sessions table (no model), best "
          f"{base:.3f} s; total / baseline {total / base:.2f}")


if __name__ == "__main__":
    main()
