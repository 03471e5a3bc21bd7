"""Contacts across a change of gait without a stop: a run straight into a walk, and back.

Two synthetic bouts of the same sensor are joined mid-step with no stop
(`loadmon.signal.synthetic.synthesize_gait_change`). Each bout is
scored with its own median offset (a band's delay differs between the gaits by
design); a true contact matches a detection within `TOL_S`.

Reported per case: contacts missed and extra in the `WINDOW_S` after the change,
the same in a window as long from `LATE_S` after it (the second gait's own
floor), and F1 over the whole recording. A "stop" case runs, then stands still for
`STOP_S`: it counts the contacts reported while standing (there are none).

Run: ``PYTHONPATH=. python benchmarks/gait_change_bench.py [--seeds 5] [--placement wrist]``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy import OFFSET_SEARCH_S, TOL_IMU_S, SynthCase, in_windows, match, pairs

from loadmon.signal import detect_contacts
from loadmon.signal.synthetic import synthesize, synthesize_gait_change

PLACEMENTS = ("wrist", "phone_pocket", "phone_bag", "phone_hand")
#: (running, walking) cadences, steps/min, and the rates they are sampled at, in a rotation
CADENCES = ((150.0, 100.0), (170.0, 115.0), (190.0, 125.0))
RATES_HZ = (25.0, 52.0, 100.0, 208.0)
BOUT_S = 40.0
WINDOW_S = 10.0
LATE_S = 20.0
STOP_S = 10.0
TOL_S = TOL_IMU_S


@dataclass
class Result:
    """Scores of one case."""

    placement: str
    kind: str
    cadences: tuple[float, float]
    fs_hz: float
    seed: int
    missed: int = 0
    extra: int = 0
    n_window: int = 0
    missed_late: int = 0
    extra_late: int = 0
    f1: float = float("nan")


def _bout_kwargs(fs: float, seed: int, rest_s: float) -> dict:
    """`synthesize` keywords: the impairments of the accuracy benchmark's synthetic set."""
    c = SynthCase("", "", 0.0, fs, seed)
    return dict(noise_g=c.noise_g, seed=seed, dropouts=c.dropouts, clip_range_g=c.clip_range_g,
                jitter_s=c.jitter / fs, motion_noise_g=c.motion_noise_g, rest_s=rest_s)


def score(contacts: pd.DataFrame, truth: pd.DataFrame, res: Result) -> Result:
    """Missed and extra contacts in the window after the change, F1 over the recording."""
    det = np.sort(contacts["t_s"].to_numpy(float))
    gt = truth["t_s"].to_numpy(float)
    gt = gt[~in_windows(gt, truth.attrs["gaps_s"])] if truth.attrs["gaps_s"] else gt
    tc = truth.attrs["change_s"]
    tp_all, n_det_matched = 0, np.zeros(len(det), bool)
    win_missed = 0
    for lo, hi in ((-np.inf, tc), (tc, np.inf)):
        g = gt[(gt >= lo) & (gt < hi)]
        d_sel = (det >= lo - TOL_S) & (det < hi + TOL_S)
        if not len(g):
            continue
        tp0, d0 = match(det[d_sel], g, OFFSET_SEARCH_S)
        off = float(np.median(d0)) if tp0 else 0.0
        # one-to-one within tolerance, detections of this segment the other did not take
        idx = np.flatnonzero(d_sel)
        k = pairs(det[idx] - off, g, TOL_S, taken=n_det_matched[idx])
        missed = g[k < 0]
        win_missed += int(((missed >= tc) & (missed < tc + WINDOW_S)).sum())
        res.missed_late += int(((missed >= tc + LATE_S) & (missed < tc + LATE_S + WINDOW_S)).sum())
        n_det_matched[idx[k[k >= 0]]] = True
        tp_all += int((k >= 0).sum())
    in_win = (det >= tc) & (det < tc + WINDOW_S)
    late = (det >= tc + LATE_S) & (det < tc + LATE_S + WINDOW_S)
    res.extra_late = int((late & ~n_det_matched).sum())
    res.missed = win_missed
    res.extra = int((in_win & ~n_det_matched).sum())
    res.n_window = int(((gt >= tc) & (gt < tc + WINDOW_S)).sum())
    p = tp_all / max(len(det), 1)
    r = tp_all / max(len(gt), 1)
    res.f1 = 2 * p * r / max(p + r, 1e-12)
    return res


def change_case(placement: str, first: str, cads: tuple[float, float], fs: float, seed: int
                ) -> Result:
    """A bout of `first` straight into a bout of the other gait."""
    run_cad, walk_cad = cads
    second = "walk" if first == "run" else "run"
    cad = {"run": run_cad, "walk": walk_cad}
    rec, truth = synthesize_gait_change(placement, first, second, (cad[first], cad[second]),
                                        BOUT_S, fs, **_bout_kwargs(fs, seed, 2.0))
    res = Result(placement, f"{first}->{second}", cads, fs, seed)
    return score(detect_contacts(rec), truth, res)


def stop_case(placement: str, cads: tuple[float, float], fs: float, seed: int) -> Result:
    """A run, then standing still for `STOP_S`: contacts reported while standing are extra."""
    rec, truth = synthesize(placement, "run", cads[0], BOUT_S, fs, **_bout_kwargs(fs, seed, STOP_S))
    det = detect_contacts(rec)["t_s"].to_numpy(float)
    last = float(truth["t_s"].iloc[-1])
    res = Result(placement, "run->stop", cads, fs, seed)
    # the last step's contact is reported up to the score's delay and offset later
    res.extra = int((det > last + 0.3).sum())
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--placement", action="append", choices=PLACEMENTS)
    ap.add_argument("--kind", action="append", choices=("run->walk", "walk->run", "run->stop"))
    args = ap.parse_args()
    kinds = args.kind or ["run->walk", "walk->run", "run->stop"]
    rows = []
    for p in args.placement or PLACEMENTS:
        for ci, cads in enumerate(CADENCES):
            for seed in range(args.seeds):
                fs = RATES_HZ[(ci + seed) % len(RATES_HZ)]
                for kind in kinds:
                    if kind == "run->stop":
                        r = stop_case(p, cads, fs, 500 + seed)
                    else:
                        r = change_case(p, kind.split("->")[0], cads, fs, 500 + seed)
                    rows.append(r)
                    print(f"{p:13s} {kind:9s} {cads[0]:3.0f}/{cads[1]:3.0f} {fs:5.0f} Hz seed "
                          f"{r.seed}: missed {r.missed:2d} extra {r.extra:2d} of {r.n_window:2d}"
                          f" (late {r.missed_late:2d}, {r.extra_late:2d})"
                          f"  F1 {r.f1:.3f}", flush=True)
    df = pd.DataFrame([vars(r) for r in rows])
    summary = df.groupby(["placement", "kind"]).agg(
        missed=("missed", "sum"), missed_max=("missed", "max"), extra=("extra", "sum"),
        extra_max=("extra", "max"), n_window=("n_window", "sum"),
        missed_late=("missed_late", "sum"), extra_late=("extra_late", "sum"), f1=("f1", "mean"))
    print(summary.to_string())


if __name__ == "__main__":
    main()
