"""Rebuild the shipped demo squad in data/demo: ``python data/make_demo.py``.

One folder per athlete of `loadmon.demo.DEMO_SQUAD` with ``log.csv`` (the
training-log CSV a runner would import), ``shoes.csv`` and, for the runner with
heel pain, ``pain.csv``.
"""

import csv
import shutil
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from loadmon.demo import DEMO_SHOES, DEMO_SQUAD, make_demo_log, make_demo_pain
from loadmon.io.logcsv import write_log_csv

OUT = Path(__file__).parent / "demo"
FIRST_MONDAY = date(2026, 8, 3)
WEEKS = 16

if __name__ == "__main__":
    shutil.rmtree(OUT, ignore_errors=True)
    for runner in DEMO_SQUAD:
        folder = OUT / runner.name.lower()
        folder.mkdir(parents=True)
        sessions = make_demo_log(FIRST_MONDAY, WEEKS, runner=runner)
        (folder / "log.csv").write_text(write_log_csv(sessions, ZoneInfo(runner.tz)),
                                        encoding="utf-8")
        with (folder / "shoes.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["name", "model", "start_km", "retire_km"])
            for s in DEMO_SHOES if runner.rotates_shoes else DEMO_SHOES[:1]:
                # the one-pair runner's shoe is older: it passes its limit in the 16 weeks
                start = (runner.shoe_start_km if runner.shoe_start_km is not None
                         else s.start_km if runner.rotates_shoes else 180.0)
                w.writerow([s.name, s.model, start, s.retire_km])
        pain = make_demo_pain(FIRST_MONDAY, WEEKS, runner)
        if pain:
            with (folder / "pain.csv").open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(["date", "score", "when", "site", "notes"])
                for p in pain:
                    w.writerow([p.date_local.isoformat(), p.score, p.when, p.site,
                                p.notes or ""])
        print(f"{runner.name}: {len(sessions)} sessions, {len(pain)} pain entries -> {folder}")
