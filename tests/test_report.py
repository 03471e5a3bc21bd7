from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import warnings
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.testing.compare import compare_images

from loadmon.cli import cli
from loadmon.models.rules import default_rules
from loadmon.report import charts
from loadmon.report.html import render_figure

RULES = default_rules()
BASELINE = Path(__file__).parent / "baseline"
EVIL = "<script>alert(1)</script>"


def weeks_table(n: int = 6) -> pd.DataFrame:
    start = date(2026, 3, 2)
    km = [30.0, 32.0, 45.0, 20.0, 31.0, 33.0][:n]
    return pd.DataFrame({
        "athlete": "ann", "week": [f"2026-W{10 + i:02d}" for i in range(n)],
        "week_start": [start + timedelta(weeks=i) for i in range(n)], "run_km": km,
        "ramp_pct": [float("nan")] + [(b / a - 1) * 100 for a, b in itertools.pairwise(km)],
        "surface_road_pct": [70.0] * n, "surface_trail_pct": [30.0] * n,
        **{f"surface_{s}_pct": [float("nan")] * n for s in charts.SURFACES[2:]},
        "strength_sessions": [2, 1, 0, 2, 2, 1][:n], "cross_min": [0.0, 45.0, 30, 0, 60, 0][:n],
        "main_shoe_pct": [80.0] * n,
    })


def test_every_chart_says_what_it_shows_with_labelled_axes() -> None:
    w = weeks_table()
    for chart in (charts.weekly_distance(w, RULES), charts.strength_cross(w, RULES)):
        assert chart.title and chart.caption
        ax = chart.figure.axes[0]
        assert "(km)" in ax.get_ylabel() or "sessions" in ax.get_ylabel()
        assert ax.get_xlabel() == "ISO week"
    # 32 -> 45 km (+41 %) and 20 -> 31 km (+55 %) are marked; +7 % and +6 % are not
    marks = [t.get_text() for t in charts.weekly_distance(w, RULES).figure.axes[0].texts]
    assert marks == ["+41%", "+55%"]


def test_weekly_distance_chart_matches_its_baseline_image(tmp_path: Path) -> None:
    chart = charts.weekly_distance(weeks_table(), RULES)
    got = render_figure(chart, tmp_path / "weekly_distance.png", "png")
    expected = BASELINE / "weekly_distance.png"
    if not expected.exists():  # first run on a new chart: write it, and fail to say so
        shutil.copy(got, expected)
        pytest.fail(f"wrote a new baseline {expected}: check it and commit it")
    assert compare_images(str(expected), str(got), tol=8) is None


def test_impact_per_shoe_counts_the_km_the_shoe_had_before_each_run() -> None:
    sessions = pd.DataFrame({
        "start_utc": pd.to_datetime(["2026-03-01T07:00Z", "2026-03-03T07:00Z",
                                     "2026-03-05T07:00Z", "2026-03-06T07:00Z"], utc=True),
        "kind": ["run", "run", "run", "run"], "shoe": ["Peg", "Peg", "Nova", "Peg"],
        "distance_m": [10_000.0, 8_000.0, 5_000.0, 12_000.0],
        "impact_g": [8.0, None, 6.5, 9.0],
    })
    shoes = pd.DataFrame({"name": ["Peg", "Nova"], "start_km": [300.0, 0.0]})
    chart = charts.impact_by_shoe(sessions, shoes)
    assert chart is not None and chart.title == "Impact per run over each shoe's life"
    ax = chart.figure.axes[0]
    series = {line.get_label(): (list(line.get_xdata()), list(line.get_ydata()))
              for line in ax.get_lines()}
    # Peg: 300 km before the log, then 10 and 8 km: its third run starts at 318 km
    assert series == {"Nova": ([0.0], [6.5]), "Peg": ([300.0, 318.0], [8.0, 9.0])}
    assert ax.get_ylabel() == "median peak impact (g)"
    assert charts.impact_by_shoe(sessions.assign(impact_g=None), shoes) is None


def loadmon(db: str, *args: str) -> str:
    r = CliRunner().invoke(cli, ["--db", db, *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


@pytest.fixture(scope="module")
def squad_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("report")
    db = str(folder / "squad.sqlite")
    loadmon(db, "demo", "--json")
    loadmon(db, "athlete", "add", EVIL, "--tz", "UTC")
    loadmon(db, "log", "add", "run", "--date", "2026-11-20", "--distance", "5", "--duration",
            "30", "-a", EVIL)
    out = folder / "squad.html"
    assert loadmon(db, "report", "--squad", "--as-of", "2026-11-22", "-o", str(out)).strip() \
        == str(out)
    return db, out


def test_squad_report_is_one_self_contained_escaped_file(squad_report: tuple[str, Path]) -> None:
    _, out = squad_report
    text = out.read_text(encoding="utf-8")
    assert "<script" not in text.lower()  # the evil name is text, and we ship no script
    assert html_escaped(EVIL) in text
    assert not re.search(r"""(src|href)=["'](?!data:|#)""", text)  # fetches nothing
    rows = re.findall(r"<tr><td><a href=\"#runner-\d+\">(.*?)</a>", text)
    # most severe open flag first: Maya (heel pain referral, high) leads
    assert rows[0] == "Maya" and len(rows) == 5
    images = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', text)
    assert len(images) >= 5 * 8 + 1
    assert base64.b64decode(images[0]).startswith(b"<?xml")


def html_escaped(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_one_runner_handoff_and_image_files(squad_report: tuple[str, Path],
                                            tmp_path: Path) -> None:
    db, _ = squad_report
    page = tmp_path / "handoff.html"
    loadmon(db, "report", "-a", "Maya", "--handoff", "--as-of", "2026-11-22", "-o", str(page))
    text = page.read_text(encoding="utf-8")
    assert "Maya: running load, 12 weeks to 2026-11-22" in text
    assert "pain_referral" in text and text.count("<img") == 3
    files = loadmon(db, "report", "-a", "Sam", "--format", "svg", "--out-dir",
                    str(tmp_path / "svg"), "--as-of", "2026-11-22").split()
    assert {Path(f).name for f in files} >= {"Sam-weekly_distance.svg", "Sam-shoes.svg"}
    assert all(Path(f).read_text(encoding="utf-8").lstrip().startswith("<?xml") for f in files)


@pytest.mark.parametrize("weeks", [1, 2, 16])
def test_short_and_long_periods_draw_without_warnings(squad_report: tuple[str, Path],
                                                      weeks: int) -> None:
    from loadmon.cli.report import runner_data
    from loadmon.report.html import runner_charts, svg_data_uri
    from loadmon.store import Store

    db, _ = squad_report
    store = Store.open(db)
    try:
        [runner] = runner_data(store, [store.athlete("Maya")], date(2026, 11, 22), None)
    finally:
        store.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's "unable to pick an interval" and co.
        uris = [svg_data_uri(c) for c in runner_charts(runner, weeks)]
    assert len(uris) == 8


def test_squad_and_athlete_together_is_a_usage_error(squad_report: tuple[str, Path]) -> None:
    db, _ = squad_report
    r = CliRunner().invoke(cli, ["--db", db, "report", "--squad", "-a", "Sam"])
    assert r.exit_code == 2 and "--squad shows every athlete" in r.output


def chromium() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.mark.skipif(chromium() is None,
                    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")
def test_report_renders_in_headless_chromium(squad_report: tuple[str, Path]) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    browser, driver_path = chromium()  # type: ignore[misc]
    _, out = squad_report
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--proxy-server=127.0.0.1:9", "--window-size=1200,900"):
        opts.add_argument(arg)  # the proxy to nowhere: any fetch would fail and log an error
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        drv.get(out.as_uri())
        drv.execute_script("document.querySelectorAll('img').forEach(i => i.loading='eager');")
        loaded = drv.execute_script(
            "return Array.from(document.querySelectorAll('img.chart'))"
            ".filter(i => i.complete && i.naturalWidth > 0).length;")
        total = len(drv.find_elements(By.CSS_SELECTOR, "img.chart"))
        assert total >= 41 and loaded == total
        assert len(drv.find_elements(By.CSS_SELECTOR, "table#squad tbody tr")) == 5
        assert EVIL in drv.find_element(By.CSS_SELECTOR, "table#squad").text
        errors = [e for e in drv.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
    finally:
        drv.quit()


def test_demo_writes_the_squad_report(tmp_path: Path) -> None:
    out = loadmon(str(tmp_path / "demo.sqlite"), "demo", "--weeks", "2")
    path = Path(out.strip().splitlines()[-1].removeprefix("squad report: "))
    assert path.exists() and path.parent == tmp_path
    assert json.dumps("Kenji")[1:-1] in path.read_text(encoding="utf-8")
