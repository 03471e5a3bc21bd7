"""Report benchmark: the squad report of 30 athletes over 12 weeks, in SQLite.

Generates the squad (not timed) with the demo generator (`loadmon.demo.make_demo_log`,
the four demo habits with 30 seeds), then times `loadmon report --squad` end to end
in-process (`loadmon.cli.report.write_report`): reading the logs, the load model,
drawing every chart and writing the HTML. Baseline measured in the same run: the
matplotlib floor, one figure with empty axes saved as SVG (the report's style) per
chart drawn, in one process. Goal: under 10 s.
Usage::

    python benchmarks/report_bench.py [--athletes 30] [--weeks 12] [--repeat 3]

The report is timed `--repeat` times (best and median printed: this shared
machine varies by about a second from run to run).
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from matplotlib.figure import Figure

from loadmon.cli.report import write_report
from loadmon.demo import DEMO_SQUAD, make_demo_log
from loadmon.report.charts import style
from loadmon.store import Store


def main() -> None:
    """Generate the squad, then time the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--athletes", type=int, default=30)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="loadmon-report-bench-"))
    store = Store.open(f"sqlite:///{folder / 'squad.sqlite'}")
    first = date(2026, 8, 3)
    for i in range(args.athletes):
        habit = DEMO_SQUAD[i % len(DEMO_SQUAD)]
        runner = replace(habit, name=f"{habit.name} {i:02d}", seed=100 + i)
        store.add_athlete(runner.name, runner.tz)
        for shoe in ("Pegasus", "Speedgoat"):
            store.add_shoe(runner.name, shoe)
        store.add_sessions(runner.name, make_demo_log(first, args.weeks + 4, runner=runner))
    athletes = store.athletes()
    as_of = first + timedelta(weeks=args.weeks + 4, days=-1)

    times = []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        out = write_report(store, athletes, True, args.weeks, folder / "squad.html", as_of)
        times.append(time.perf_counter() - t0)
    total = min(times)
    charts = out.read_text(encoding="utf-8").count('<img class="chart"')

    t1 = time.perf_counter()
    with style():
        for _ in range(charts):
            fig = Figure(figsize=(7.0, 2.6))
            fig.add_subplot()
            fig.savefig(io.BytesIO(), format="svg")
    floor = time.perf_counter() - t1
    store.close()
    print(f"squad report: {args.athletes} athletes x {args.weeks} weeks, {charts} charts, "
          f"{out.stat().st_size / 1e6:.1f} MB HTML")
    print(f"total   {total:6.2f} s  best of {len(times)}, median "
          f"{statistics.median(times):.2f} s (goal < 10 s: {'met' if total < 10 else 'NOT met'})")
    print(f"floor   {floor:6.2f} s  ({charts} empty axes as SVG, one process; "
          f"ratio {total / floor:.1f})")


if __name__ == "__main__":
    main()
