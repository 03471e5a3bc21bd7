"""Rebuild the shipped demo data in data/demo: ``python data/make_demo.py``."""

import csv
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from loadmon.demo import DEMO_SHOES, DEMO_TZ, make_demo_log
from loadmon.io.logcsv import write_log_csv

OUT = Path(__file__).parent / "demo"

if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    sessions = make_demo_log(date(2026, 8, 3), weeks=16)
    (OUT / "log.csv").write_text(write_log_csv(sessions, ZoneInfo(DEMO_TZ)), encoding="utf-8")
    with (OUT / "shoes.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["name", "model", "start_km", "retire_km"])
        for s in DEMO_SHOES:
            w.writerow([s.name, s.model, s.start_km, s.retire_km])
    print(f"wrote {len(sessions)} sessions to {OUT}")
