"""Accuracy of the foot-contact detector on real recordings and on synthetic ones.

Runs `loadmon.signal.detect_contacts` in-process over every recording in
``../shared/data/recordings`` (see its README.md for the layout and the
ground-truth semantics) and over synthetic recordings with known contacts
(`loadmon.signal.synthetic.synthesize`), and scores initial contacts exactly
as ``../shared/tools/eval_contacts.py`` scores the held-out set:

* only inside the reference's coverage: ``gt_windows_s`` padded by 0.2 s, or
  for IPOL the trial minus the U-turn;
* per recording, the median offset between detections and ground truth
  (found within 150 ms; per side for the phones' foot switches) is removed,
  then a detection matches a contact within 50 ms (IMU references) or 100 ms
  (foot switches), greedily one to one;
* phones: step-count error; wrist (no truth): running cadence plausible in
  140-210 spm; adeptdata: ankle x 2 vs hip cadence per full minute of steady
  running.

Prints one line per recording, then precision / recall / F1, offsets and
step-count error per source, per placement and per goal group, and the goals:
foot / ankle F1 >= 0.98, lower back >= 0.95, phones >= 0.97 with the step
count within 3 %, synthetic running F1 >= 0.995. Exit status 1 when a goal is
missed. Usage::

    python benchmarks/accuracy.py [--placement P] [--source S] [--quiet] [--workers 2]

The scoring functions (`score_recording`, `score_synthetic`, `aggregate`, ...)
are importable for reuse.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

GOALS = {"foot": 0.98, "lower_back": 0.95, "phone": 0.97}
PHONE_COUNT_GOAL = 0.03
SYNTHETIC_GOAL = 0.995
WRIST_CADENCE_SPM = (140.0, 210.0)
ADEPT_MAX_SPM = 2
OFFSET_SEARCH_S = 0.15
TOL_IMU_S = 0.05
TOL_SWITCH_S = 0.10

DETECTOR = "loadmon.signal:detect_contacts"
SUMMARIZER = "loadmon.signal:summarize"


# ----------------------------------------------------------------------------- the reference rules
# (the same as ../shared/tools/eval_contacts.py)


def placement_arg(meta: dict) -> str:
    """Placement given to the detector for a recording's meta (phones by carrying position)."""
    p = meta["placement"]
    if not p.startswith("phone"):
        return p
    pos = p.split("_", 1)[1] if "_" in p else ""
    if pos in ("inhand", "swingingarm", "hand"):
        return "phone_hand"
    if "pocket" in pos:
        return "phone_pocket"
    return "phone_bag"


def group(meta: dict) -> str:
    """Goal group of a recording: foot, lower_back, phone or wrist."""
    p = meta["placement"]
    if p in ("foot", "ankle", "shank"):
        return "foot"
    if p in ("lower_back", "hip"):
        return "lower_back"
    if p.startswith("phone"):
        return "phone"
    return p


def pairs(det: np.ndarray, gt: np.ndarray, tol: float,
          taken: np.ndarray | None = None) -> np.ndarray:
    """Greedy one-to-one matching of sorted times within ``tol``.

    Returns, for each of `gt`, the index of the detection matched to it (-1:
    none). Detections marked in `taken` are not available.
    """
    used = np.zeros(len(det), bool) if taken is None else np.array(taken, bool)
    out = np.full(len(gt), -1)
    for k, g in enumerate(gt):
        i = np.searchsorted(det, g)
        best = None
        for j in (i - 1, i, i + 1):
            if (0 <= j < len(det) and not used[j] and abs(det[j] - g) <= tol
                    and (best is None or abs(det[j] - g) < abs(det[best] - g))):
                best = j
        if best is not None:
            used[best] = True
            out[k] = best
    return out


def match(det: np.ndarray, gt: np.ndarray, tol: float) -> tuple[int, np.ndarray]:
    """Greedy one-to-one matching of sorted times within ``tol``; returns (tp, det - gt diffs)."""
    det = np.sort(np.asarray(det, float))
    gt = np.sort(np.asarray(gt, float))
    k = pairs(det, gt, tol)
    ok = k >= 0
    return int(ok.sum()), det[k[ok]] - gt[ok]


def norm_windows(w) -> list[list[float]]:
    """[[a, b], ...] from a flat [a, b] or a list of pairs."""
    if not w:
        return []
    if len(w) == 2 and all(isinstance(x, int | float) for x in w):
        return [list(w)]
    return [list(x) for x in w]


def coverage(meta: dict, side: str | None) -> list[list[float]]:
    """Where the reference labels every contact: gt windows padded 0.2 s, or IPOL trial - U-turn."""
    w = meta.get("gt_windows_s")
    if isinstance(w, dict):
        w = w.get(side) if side in w else [x for v in w.values() for x in norm_windows(v)]
    wins = [[a - 0.2, b + 0.2] for a, b in norm_windows(w)]
    if not wins and meta.get("trial_boundaries_s"):
        a, b = meta["trial_boundaries_s"]
        u = meta.get("uturn_boundaries_s")
        wins = [[a, u[0]], [u[1], b]] if u else [[a, b]]
    return wins


def in_windows(t: np.ndarray, windows: Sequence[Sequence[float]]) -> np.ndarray:
    """Mask of the times inside any window (all of them when there are no windows)."""
    t = np.asarray(t, float)
    if not windows:
        return np.ones(len(t), bool)
    m = np.zeros(len(t), bool)
    for a, b in windows:
        m |= (t >= a) & (t <= b)
    return m


# ----------------------------------------------------------------------------- scores


class _Rates:
    """Precision, recall and F1 from the ``tp``, ``fp`` and ``fn`` counts of a subclass."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / max(1, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return self.tp / max(1, self.tp + self.fn)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / max(1e-9, p + r)


@dataclass
class Score(_Rates):
    """Score of one recording (real or synthetic)."""

    rid: str
    source: str
    placement: str                 # canonical placement of the recording (meta)
    group: str                     # goal group
    kind: str                      # events | step_count | wrist | adept | synthetic | none | error
    activity: str = ""
    tp: int = 0
    fp: int = 0
    fn: int = 0
    diffs: list[float] = field(default_factory=list)      # matched det - gt after offset, s
    offsets: list[float] = field(default_factory=list)    # removed offsets (one per side), s
    n_det: int = 0                 # detections counted (in coverage)
    n_gt: int = 0                  # reference contacts in coverage
    steps: int | None = None       # summary steps (both feet)
    steps_true: int | None = None  # reference step total
    cadence_spm: float | None = None
    det_times: list[float] = field(default_factory=list)  # kept for the adeptdata comparison
    impact_rel_err: list[float] = field(default_factory=list)  # matched (synthetic unclipped)
    contact_ms_err: list[float] = field(default_factory=list)  # matched, with a contact time
    stances: int = 0               # real: matched contacts whose toe-off is labelled
    steady: tuple[int, int, int] = (0, 0, 0)  # (tp, fp, fn) away from the ends of a walk
    seconds: float = 0.0           # detector + summary time
    duration_s: float = 0.0
    error: str = ""


    @property
    def count_err(self) -> float | None:
        """Relative error of the summary's step count against the reference total, or None."""
        if self.steps_true:
            return abs((self.steps or 0) - self.steps_true) / self.steps_true
        return None

    @property
    def coverage_count_err(self) -> float | None:
        """Relative error of the number of detections inside the coverage, or None."""
        if self.kind in ("events", "synthetic") and self.n_gt:
            return abs(self.n_det - self.n_gt) / self.n_gt
        return None


def tolerance_s(group_name: str) -> float:
    """Matching tolerance of a goal group: foot switches (phones) are read every ~95 ms."""
    return TOL_SWITCH_S if group_name == "phone" else TOL_IMU_S


def initial_contacts(events: pd.DataFrame, meta: dict) -> pd.DataFrame:
    """The labelled initial contacts a recording is scored on (a single-foot sensor: its side)."""
    ev = events[events["kind"] == "ic"]
    if meta["placement"] in ("foot", "ankle", "shank") and meta.get("side"):
        ev = ev[ev["side"] == meta["side"]]
    return ev


def score_recording(det_t: np.ndarray, meta: dict, events: pd.DataFrame | None, *,
                    steps: int | None = None, cadence_spm: float | None = None,
                    rid: str | None = None, contact_ms: np.ndarray | None = None) -> Score:
    """Score one real recording's detected initial contacts like eval_contacts.py.

    Parameters
    ----------
    det_t : array
        Detected initial-contact times, s (the recording's clock).
    meta : dict
        The recording's meta.json.
    events : DataFrame or None
        Its events.csv (``t_s, kind, side``), None where absent.
    steps, cadence_spm : optional
        The detector's summary (both feet), for step counts and cadence.
    contact_ms : array, optional
        The detected contact times, ms, one per `det_t`: a single-foot
        sensor's are scored against the labelled toe-offs (``tc``).
    """
    order = np.argsort(np.asarray(det_t, float), kind="stable")
    det = np.asarray(det_t, float)[order]
    s = Score(rid or meta.get("id", "?"), meta["source"], meta["placement"], group(meta), "none",
              activity=meta.get("activity", ""), steps=steps, cadence_spm=cadence_spm,
              duration_s=float(meta.get("duration_s") or 0.0))
    if meta.get("steps_total"):
        s.steps_true = int(meta["steps_total"])
    if meta["source"] == "adeptdata":
        s.kind = "adept"
        s.det_times = det.tolist()
        return s
    if meta["source"] == "strikewatch":
        s.kind = "wrist"
        return s
    if meta.get("gt") == "step_count" and meta.get("steps_total"):
        s.kind = "step_count"
        return s
    if meta.get("gt") != "events" or events is None:
        return s
    s.kind = "events"
    ev = initial_contacts(events, meta)
    wins = coverage(meta, meta.get("side"))
    sides = sorted(set(ev["side"])) if s.group == "phone" else [None]
    tol = tolerance_s(s.group)
    labelled = {sd: ev["t_s"].to_numpy(float) if sd is None
                else ev.loc[ev["side"] == sd, "t_s"].to_numpy(float) for sd in sides}
    offsets = {}
    for sd, gt in labelled.items():
        tp0, d0 = match(det, gt[in_windows(gt, wins)], OFFSET_SEARCH_S)
        offsets[sd] = float(np.median(d0)) if tp0 else 0.0
    s.offsets = list(offsets.values())
    s.tp, s.fn, s.n_det, diffs = _count(det, labelled, offsets, wins, tol)
    s.n_gt = s.tp + s.fn
    s.fp = max(0, s.n_det - s.tp)
    s.diffs = diffs
    # away from the ends of a walk: the first and last labelled contacts of each window out
    ends = [np.concatenate([g[in_windows(g, [w])] for g in labelled.values()])
            for w in wins or [[-np.inf, np.inf]]]
    inner = [[e.min() + tol, e.max() - tol] for e in ends if len(e)]
    tp, fn, n_det, _ = _count(det, labelled, offsets, inner, tol)
    s.steady = (tp, max(0, n_det - tp), fn)
    off = offsets[sides[-1]]
    if contact_ms is not None and meta.get("side") and (events["kind"] == "tc").any():
        tc = events.loc[(events["kind"] == "tc") & (events["side"] == meta.get("side")), "t_s"]
        stance_errors(s, det - off, np.asarray(contact_ms, float)[order], ev["t_s"].to_numpy(float),
                      tc.to_numpy(float), wins)
    return s


def _count(det: np.ndarray, labelled: dict, offsets: dict, wins: list[list[float]],
           tol: float) -> tuple[int, int, int, list[float]]:
    """Match detections to each side's contacts inside `wins`: (tp, fn, detections, diffs).

    One side (a single sensor's reference): the detections counted are those
    inside the windows once its offset is removed. Two (the phones' foot
    switches): a step belongs to one side, so the raw detections inside.
    """
    tp = fn = 0
    diffs: list[float] = []
    for sd, gt in labelled.items():
        gt = gt[in_windows(gt, wins)]
        n, d = match(det - offsets[sd], gt, tol)
        tp += n
        fn += len(gt) - n
        diffs.extend(d.tolist())
    shift = next(iter(offsets.values())) if len(offsets) == 1 else 0.0
    return tp, fn, int(np.sum(in_windows(det - shift, wins))), diffs


def stance_errors(s: Score, det: np.ndarray, contact_ms: np.ndarray, ic: np.ndarray,
                  tc: np.ndarray, wins: list[list[float]]) -> None:
    """Score contact times against labelled stances (one foot's ``ic`` to its next ``tc``).

    A detection (offset removed, sorted) matches the labelled contact nearest to
    it within `TOL_IMU_S`; the stance counts when its toe-off comes before the
    foot's next contact. Fills ``s.stances`` and ``s.contact_ms_err``.
    """
    ic, tc = np.sort(ic[in_windows(ic, wins)]), np.sort(tc)
    if not len(det) or not len(ic):
        return
    for k, g in enumerate(ic):
        j = int(np.argmin(np.abs(det - g)))
        after = tc[tc > g]
        nxt = ic[k + 1] if k + 1 < len(ic) else np.inf
        if abs(det[j] - g) > TOL_IMU_S or not len(after) or after[0] > nxt:
            continue
        s.stances += 1
        if np.isfinite(contact_ms[j]):
            s.contact_ms_err.append(float(contact_ms[j] - 1000.0 * (after[0] - g)))


def score_synthetic(contacts: pd.DataFrame, truth: pd.DataFrame, *, rid: str, placement: str,
                    activity: str, steps: int | None = None,
                    cadence_spm: float | None = None) -> Score:
    """Score detected contacts against a synthetic recording's true contacts.

    Scored as an IMU reference: the median offset (found within 150 ms) is
    removed, then detections match true contacts within 50 ms. True contacts
    inside dropouts (``truth.attrs['gaps_s']``) are left out. Matched
    contacts also give the relative impact error (contacts neither marked
    clipped nor saturated in the truth) and the contact-time error.
    """
    det = np.sort(contacts["t_s"].to_numpy(float))
    gt = truth["t_s"].to_numpy(float)
    seen = ~in_windows(gt, truth.attrs.get("gaps_s", [])) if truth.attrs.get("gaps_s") else (
        np.ones(len(gt), bool))
    gt = gt[seen]
    s = Score(rid, "synthetic", placement, group({"placement": placement}), "synthetic",
              activity=activity, steps=steps, cadence_spm=cadence_spm)
    s.steps_true = int(len(truth) * (2 if placement in ("foot", "ankle", "shank") else 1))
    tp0, d0 = match(det, gt, OFFSET_SEARCH_S)
    off = float(np.median(d0)) if tp0 else 0.0
    tp, diffs = match(det - off, gt, TOL_IMU_S)
    s.tp, s.fn, s.n_gt, s.n_det = tp, len(gt) - tp, len(gt), len(det)
    s.fp = max(0, len(det) - tp)
    s.diffs, s.offsets = diffs.tolist(), [off]
    # impact and contact time of matched contacts (nearest detection within tolerance)
    sub = truth[seen].reset_index(drop=True)
    if len(det) and len(sub):
        i = np.clip(np.searchsorted(det - off, sub["t_s"].to_numpy()), 1, len(det) - 1)
        left, right = det[i - 1] - off, det[i] - off
        j = np.where(np.abs(left - sub["t_s"]) <= np.abs(right - sub["t_s"]), i - 1, i)
        ok = np.abs(det[j] - off - sub["t_s"].to_numpy()) <= TOL_IMU_S
        c = contacts.sort_values("t_s").reset_index(drop=True)
        imp = c["impact_g"].to_numpy(float)[j]
        clipped = c["clipped"].to_numpy(bool)[j] if "clipped" in c else np.zeros(len(j), bool)
        clipped |= sub["clipped"].to_numpy(bool)  # the truth peak was never sampled in full
        sel = ok & ~clipped & np.isfinite(imp)
        s.impact_rel_err = ((imp[sel] - sub["impact_g"][sel]) / sub["impact_g"][sel]).tolist()
        ct = c["contact_ms"].to_numpy(float)[j]
        sel = ok & np.isfinite(ct) & np.isfinite(sub["contact_ms"].to_numpy())
        s.contact_ms_err = (ct[sel] - sub["contact_ms"].to_numpy()[sel]).tolist()
    return s


def adept_agreement(ankle: Sequence[float], hip: Sequence[float]) -> tuple[int, int]:
    """Worst per-minute cadence difference (ankle x 2 vs hip) over steady minutes, and their count.

    As eval_contacts.py: skips the first minute; a minute is steady running
    when both cadences reach 150 spm.
    """
    a, h = np.asarray(ankle, float), np.asarray(hip, float)
    end = int(min(a.max(initial=0), h.max(initial=0)) // 60)
    worst, steady = 0, 0
    for m in range(1, end):
        ca = 2 * np.sum((a >= 60 * m) & (a < 60 * (m + 1)))
        ch = np.sum((h >= 60 * m) & (h < 60 * (m + 1)))
        if ch >= 150 and ca >= 150:
            steady += 1
            worst = max(worst, abs(int(ca) - int(ch)))
    return worst, steady


@dataclass
class Totals(_Rates):
    """Pooled counts of a set of scored recordings."""

    n: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    diffs: list[float] = field(default_factory=list)
    offsets: list[float] = field(default_factory=list)
    count_errs: list[float] = field(default_factory=list)
    coverage_count_errs: list[float] = field(default_factory=list)
    impact_rel_err: list[float] = field(default_factory=list)
    contact_ms_err: list[float] = field(default_factory=list)
    stances: int = 0
    steady: list[int] = field(default_factory=lambda: [0, 0, 0])

    def add(self, s: Score) -> None:
        self.n += 1
        self.tp += s.tp
        self.fp += s.fp
        self.fn += s.fn
        self.diffs += s.diffs
        self.offsets += s.offsets
        self.impact_rel_err += s.impact_rel_err
        self.contact_ms_err += s.contact_ms_err
        self.stances += s.stances
        self.steady = [a + b for a, b in zip(self.steady, s.steady, strict=True)]
        if s.count_err is not None:
            self.count_errs.append(s.count_err)
        if s.coverage_count_err is not None:
            self.coverage_count_errs.append(s.coverage_count_err)



def aggregate(scores: Iterable[Score], key: Callable[[Score], str]) -> dict[str, Totals]:
    """Pool the scored recordings (kinds events and synthetic) by ``key``."""
    out: dict[str, Totals] = {}
    for s in scores:
        if s.kind in ("events", "synthetic") or s.count_err is not None:
            out.setdefault(key(s), Totals()).add(s)
    return dict(sorted(out.items()))


# ----------------------------------------------------------------------------- running


def _resolve(path: str) -> Callable:
    mod, _, name = path.partition(":")
    return getattr(importlib.import_module(mod), name)


def read_recording(folder: Path, gyro: bool = True):
    """Read one recording folder: (Recording, meta, events or None), with pandas directly.

    Without `gyro` the recording's gyroscope is left out (an accelerometer-only sensor).
    """
    from loadmon.signal.types import Recording

    meta = json.loads((folder / "meta.json").read_text())
    x = pd.read_csv(folder / "samples.csv.gz", dtype=np.float64)
    rates = None
    if gyro and {"gx_dps", "gy_dps", "gz_dps"} <= set(x.columns):
        rates = x[["gx_dps", "gy_dps", "gz_dps"]].to_numpy()
    rec = Recording(
        t_s=x["t_s"].to_numpy(),
        acc_g=x[["ax_g", "ay_g", "az_g"]].to_numpy(),
        fs_hz=float(meta["fs_hz"]),
        placement=placement_arg(meta),
        gyro_dps=rates,
        device=meta["source"],
    )
    ev_path = folder / "events.csv"
    events = pd.read_csv(ev_path) if ev_path.exists() else None
    return rec, meta, events


def impact_errors(s: Score, rec, contacts: pd.DataFrame, events: pd.DataFrame,
                  meta: dict) -> None:
    """Score impacts against the peak resultant at the labelled contacts (real recordings).

    For each detection within the matching tolerance of a labelled contact
    (the recording's offset removed), the relative error of its ``impact_g``
    against the peak resultant over `IMPACT_WINDOW_S` around that contact, on
    the detector's timeline; fills ``s.impact_rel_err``.
    """
    from loadmon.signal.detector import IMPACT_WINDOW_S

    labels = np.sort(initial_contacts(events, meta)["t_s"].to_numpy(float))
    if not len(labels):
        return
    offset = float(np.median(s.offsets)) if s.offsets else 0.0
    tol = tolerance_s(s.group)
    magnitude = np.linalg.norm(rec.acc_g, axis=1)
    t = rec.t_s
    for when, impact in zip(contacts["t_s"].to_numpy(float) - offset,
                            contacts["impact_g"].to_numpy(float), strict=True):
        g = labels[np.argmin(np.abs(labels - when))]
        lo, hi = np.searchsorted(t, [g + offset + IMPACT_WINDOW_S[0],
                                     g + offset + IMPACT_WINDOW_S[1]], side="left")
        if abs(g - when) <= tol and hi > lo and np.isfinite(impact):
            peak = float(magnitude[lo:hi].max())
            s.impact_rel_err.append((impact - peak) / peak)


def run_real(args: tuple[str, str, str, str, bool]) -> Score:
    """Worker: detect and score one real recording."""
    folder, detector, summarizer, rid, gyro = args
    meta = {}
    try:
        rec, meta, events = read_recording(Path(folder), gyro)
        t0 = time.perf_counter()
        contacts = _resolve(detector)(rec)
        summ = _resolve(summarizer)(contacts, rec)
        dt = time.perf_counter() - t0
        s = score_recording(contacts["t_s"].to_numpy(float), meta, events, steps=summ.steps,
                            cadence_spm=summ.cadence_spm, rid=rid,
                            contact_ms=contacts["contact_ms"].to_numpy(float))
        if s.kind == "events":
            impact_errors(s, rec, contacts, events, meta)
        s.seconds = dt
        return s
    except Exception as e:  # a failed recording is reported, not fatal
        return Score(rid, meta.get("source", rid.split("-")[0]), meta.get("placement", "?"),
                     group(meta) if meta else "?", "error", error=f"{type(e).__name__}: {e}")


@dataclass(frozen=True)
class SynthCase:
    """One synthetic recording: `synthesize` keyword arguments."""

    placement: str
    activity: str
    cadence_spm: float
    fs_hz: float
    seed: int
    duration_s: float = 120.0
    noise_g: float = 0.02
    motion_noise_g: float = 0.05
    dropouts: int = 2
    clip_range_g: float | None = 16.0
    jitter: float = 0.05  # timestamp jitter as a fraction of the sample period
    gyro: bool | None = None  # None: the generator's default (single-foot sensors have one)

    @property
    def rid(self) -> str:
        return (f"synthetic-{self.activity}{self.cadence_spm:.0f}-{self.fs_hz:g}hz-s{self.seed}-"
                f"{self.placement.replace('_', '')}{'-nogyro' if self.gyro is False else ''}")


#: Rates of the synthetic recordings: the issue's 25-1,600 Hz, with the odd rates of
#: real sensors (Polar 52/208/416 Hz, an 833 Hz IMU, a phone's 405 Hz).
SYNTH_RATES = (25.0, 100.0, 1600.0, 52.0, 208.0, 30.0, 416.0, 60.0, 833.0, 200.0, 1000.0,
               405.0, 50.0)
SYNTH_RUN_SPM = (140.0, 155.0, 170.0, 185.0, 200.0)
#: Walking cadences: easy to brisk, then a slow stroll (80 steps/min, a runner's walk
#: uphill or a patient's; appended so the other cases keep their rates and seeds).
SYNTH_WALK_SPM = (95.0, 110.0, 125.0, 80.0)


def synthetic_cases() -> list[SynthCase]:
    """Running in every placement at five cadences, walking at four, over the rate range.

    Each (placement, cadence) gets its own rate from `SYNTH_RATES`, in a rotation
    that gives every placement the whole range it is read at (`min_rate_hz`), and
    its own seed; foot and ankle sensors also run without a gyroscope (an
    accelerometer-only pod).
    """
    from loadmon.signal import min_rate_hz
    from loadmon.signal.types import PLACEMENTS

    def rate(p: str, k: int) -> float:  # the k-th rate of the rotation the placement is read at
        rates = [r for r in SYNTH_RATES if r >= min_rate_hz(p)]
        return rates[k % len(rates)]

    kinds = [(p, None) for p in PLACEMENTS] + [(p, False) for p in ("foot", "ankle")]
    cases = []
    for i, (p, gyro) in enumerate(kinds):
        for j, cad in enumerate(SYNTH_RUN_SPM):
            cases.append(SynthCase(p, "run", cad, rate(p, 5 * i + j), 100 * i + j, gyro=gyro))
        for j, cad in enumerate(SYNTH_WALK_SPM):
            cases.append(SynthCase(p, "walk", cad, rate(p, 5 * i + 7 + 2 * j), 1000 + 100 * i + j,
                                   duration_s=60.0, gyro=gyro))
    return cases


def run_synthetic(args: tuple[SynthCase, str, str]) -> Score:
    """Worker: synthesize, detect and score one synthetic recording."""
    case, detector, summarizer = args
    try:
        from loadmon.signal.synthetic import synthesize

        rec, truth = synthesize(
            case.placement, case.activity, case.cadence_spm, case.duration_s, case.fs_hz,
            noise_g=case.noise_g, seed=case.seed, dropouts=case.dropouts,
            clip_range_g=case.clip_range_g, jitter_s=case.jitter / case.fs_hz,
            motion_noise_g=case.motion_noise_g, gyro=case.gyro,
        )
        t0 = time.perf_counter()
        contacts = _resolve(detector)(rec)
        summ = _resolve(summarizer)(contacts, rec)
        dt = time.perf_counter() - t0
        s = score_synthetic(contacts, truth, rid=case.rid, placement=case.placement,
                            activity=case.activity, steps=summ.steps,
                            cadence_spm=summ.cadence_spm)
        s.seconds, s.duration_s = dt, rec.duration_s
        return s
    except Exception as e:  # reported, not fatal
        return Score(case.rid, "synthetic", case.placement, group({"placement": case.placement}),
                     "error", activity=case.activity, error=f"{type(e).__name__}: {e}")


def placement_matches(wanted: str | None, placement: str) -> bool:
    """Whether a recording's canonical placement passes the --placement filter.

    ``wanted`` is a canonical placement (``phone_inhand``), a detector
    placement (``phone_hand``) or a goal group that is not a placement
    (``phone``).
    """
    if not wanted:
        return True
    from loadmon.signal.types import PLACEMENTS

    meta = {"placement": placement}
    return wanted in (placement, placement_arg(meta)) or (
        wanted not in PLACEMENTS and wanted == group(meta))


def select(rows: list[dict], placement: str | None, source: str | None) -> list[dict]:
    """Index rows matching the --placement / --source filters."""
    out = []
    for r in rows:
        if not placement_matches(placement, r["placement"]):
            continue
        if source and not r["source"].startswith(source):
            continue
        out.append(r)
    return out


def run(data: Path = DATA, *, placement: str | None = None, source: str | None = None,
        workers: int = 2, detector: str = DETECTOR, summarizer: str = SUMMARIZER,
        synthetic: bool = True, gyro: bool = True) -> list[Score]:
    """Score every selected real and synthetic recording with a process pool.

    Without `gyro` the real recordings are read without their gyroscopes.
    """
    rows = []
    if (data / "index.csv").exists():
        with open(data / "index.csv", newline="") as f:
            rows = list(csv.DictReader(f))
    rows = select(rows, placement, source) if source != "synthetic" else []
    rows.sort(key=lambda r: -float(r.get("duration_s") or 0) * float(r.get("fs_hz") or 0))
    cases = []
    if synthetic and (source is None or "synthetic".startswith(source)):
        cases = [c for c in synthetic_cases() if placement_matches(placement, c.placement)]
    tasks_real = [(str(data / "recordings" / r["id"]), detector, summarizer, r["id"], gyro)
                  for r in rows]
    tasks_syn = [(c, detector, summarizer) for c in cases]
    if workers <= 1:
        return [run_real(a) for a in tasks_real] + [run_synthetic(a) for a in tasks_syn]
    with ProcessPoolExecutor(max_workers=workers) as ex:
        syn = ex.map(run_synthetic, tasks_syn)
        real = ex.map(run_real, tasks_real, chunksize=4)
        return list(real) + list(syn)


# ----------------------------------------------------------------------------- report


def _ms(x: Iterable[float]) -> str:
    x = np.asarray(list(x), float)
    return f"{1000 * np.median(x):+5.0f}" if len(x) else "    -"


def _line(name: str, t: Totals, width: int = 22) -> str:
    offs = np.asarray(t.offsets, float)
    off = (f"{1000 * np.median(offs):+5.0f} +-{1000 * np.std(offs):3.0f}" if len(offs)
           else "    -      ")
    dt = f"{1000 * np.median(np.abs(t.diffs)):3.0f}" if t.diffs else "  -"
    ce = f"{100 * np.mean(t.count_errs):4.1f}%" if t.count_errs else "   -"
    cc = (f"{100 * np.mean(t.coverage_count_errs):4.1f}%" if t.coverage_count_errs
          else "   -")
    extra = ""
    if t.impact_rel_err:
        extra += f"  impact err {100 * np.median(np.abs(t.impact_rel_err)):4.1f}%"
    if t.stances:  # real toe-off labels: how many stances got a time, signed error and spread
        e = np.asarray(t.contact_ms_err, float)
        extra += (f"  contact time {len(e)}/{t.stances}"
                  + (f" err {np.median(e):+3.0f} ms, 90% within {np.percentile(np.abs(e), 90):3.0f}"
                     " ms" if len(e) else ""))
    elif t.contact_ms_err:
        extra += f"  contact err {np.median(np.abs(t.contact_ms_err)):3.0f} ms"
    return (f"  {name:<{width}} n {t.n:3d}  gt {t.tp + t.fn:5d}  P {t.precision:.3f}  "
            f"R {t.recall:.3f}  F1 {t.f1:.3f}  offset {off} ms  |dt| {dt} ms  count err {cc} "
            f"total {ce}"
            + extra)


def report(scores: list[Score], quiet: bool = False, out=sys.stdout) -> list[str]:
    """Print the tables and the goals; return the list of goals missed."""
    def p(*a):
        print(*a, file=out)

    if not quiet:
        p("per recording (P R F1 after removing the offset; count: detections / reference "
          "contacts inside the coverage; steps: summary / reference total)")
        for s in sorted(scores, key=lambda s: s.rid):
            if s.kind == "error":
                p(f"  {s.rid:<48} ERROR {s.error[:120]}")
                continue
            f = (f"gt {s.n_gt:4d} tp {s.tp:4d} fp {s.fp:3d} fn {s.fn:3d}  P {s.precision:.3f} "
                 f"R {s.recall:.3f} F1 {s.f1:.3f}  off {_ms(s.offsets)} ms"
                 if s.kind in ("events", "synthetic") else f"({s.kind}: no per-contact truth)")
            st = (f"  count {s.n_det}/{s.n_gt}" if s.kind in ("events", "synthetic") else "")
            st += f"  steps {s.steps}" + (f"/{s.steps_true}" if s.steps_true else "")
            cad = f"  cad {s.cadence_spm:.0f}" if s.cadence_spm else "  cad -"
            p(f"  {s.rid:<48} {f}{st}{cad}  {s.seconds * 1000:5.0f} ms")
    real = [s for s in scores if s.source != "synthetic" and s.kind != "error"]
    syn = [s for s in scores if s.source == "synthetic" and s.kind != "error"]
    if real:
        p("per source (offset: median +- SD of the recordings' removed offsets; count err: mean "
          "|detections - contacts| / contacts inside the coverage; total: summary steps vs the "
          "reference total)")
        for k, t in aggregate(real, lambda s: s.source).items():
            p(_line(k, t))
        p("per placement")
        for k, t in aggregate(real, lambda s: s.placement).items():
            p(_line(k, t))
    if syn:
        p("synthetic, per activity and placement (impact error: matched, unclipped contacts)")
        for k, t in aggregate(syn, lambda s: f"{s.activity} {s.placement}").items():
            p(_line(k, t))

    p("goals")
    fails: list[str] = []
    for g, t in aggregate([s for s in real if s.kind == "events"], lambda s: s.group).items():
        goal = GOALS.get(g)
        ok = goal is None or t.f1 >= goal
        offs = ", ".join(
            f"{src} {1000 * np.median(o):+.0f}+-{1000 * np.std(o):.0f} ms"
            for src, o in _offsets_by_source(real, g).items())
        p(f"  {g}: F1 {t.f1:.3f} (P {t.precision:.3f} R {t.recall:.3f}, n_gt {t.tp + t.fn})"
          f"{f' goal >= {goal}' if goal else ''} {'ok' if ok else 'MISSED'}; "
          f"median |dt| {1000 * np.median(np.abs(t.diffs)) if t.diffs else float('nan'):.0f} ms "
          f"after offset; offsets {offs}")
        tp, fp, fn = t.steady
        p(f"    away from the ends of a walk (each window's first and last labelled contact out):"
          f" F1 {2 * tp / max(1, 2 * tp + fp + fn):.3f} (n_gt {tp + fn}); at the ends "
          f"{t.fp - fp} false and {t.fn - fn} missed contacts of {t.fp + t.fn}")
        if not ok:
            fails.append(f"{g} F1 {t.f1:.3f} < {goal}")
    phone_err = [s.count_err for s in real if s.group == "phone" and s.count_err is not None]
    if phone_err:
        m = float(np.mean(phone_err))
        ok = m <= PHONE_COUNT_GOAL
        p(f"  phone step count: mean error {100 * m:.1f} % over {len(phone_err)} files "
          f"(worst {100 * max(phone_err):.1f} %), goal <= {100 * PHONE_COUNT_GOAL:.0f} % "
          f"{'ok' if ok else 'MISSED'}")
        if not ok:
            fails.append(f"phone count error {100 * m:.1f} %")
    wrist = [s for s in real if s.kind == "wrist"]
    if wrist:
        lo, hi = WRIST_CADENCE_SPM
        bad = [s for s in wrist if s.cadence_spm is None or not lo <= s.cadence_spm <= hi]
        p(f"  wrist running cadence plausible ({lo:.0f}-{hi:.0f} spm) in "
          f"{len(wrist) - len(bad)}/{len(wrist)} files"
          + (f"; implausible: {', '.join(f'{s.rid} {s.cadence_spm or 0:.1f}' for s in bad)}"
             if bad else ""))
        if bad:
            fails.append(f"wrist cadence implausible in {len(bad)} files")
    adept = {s.placement: s.det_times for s in real if s.kind == "adept"}
    if len(adept) == 2:
        worst, steady = adept_agreement(adept.get("ankle", []), adept.get("hip", []))
        p(f"  real run: ankle vs hip cadence, worst steady-running minute differs by {worst} spm "
          f"over {steady} minutes (goal <= {ADEPT_MAX_SPM})")
        if steady < 3:
            fails.append(f"only {steady} steady running minutes found")
        if worst > ADEPT_MAX_SPM:
            fails.append(f"ankle/hip cadence disagree by {worst} spm")
    run_syn = [s for s in syn if s.activity == "run"]
    if run_syn:
        t = aggregate(run_syn, lambda s: "run")["run"]
        worst = min(run_syn, key=lambda s: s.f1)
        ok = t.f1 >= SYNTHETIC_GOAL
        p(f"  synthetic running: F1 {t.f1:.4f} (P {t.precision:.4f} R {t.recall:.4f}, "
          f"n_gt {t.tp + t.fn}, {t.n} recordings; worst {worst.rid} {worst.f1:.3f}) "
          f"goal >= {SYNTHETIC_GOAL} {'ok' if ok else 'MISSED'}")
        if not ok:
            fails.append(f"synthetic running F1 {t.f1:.4f} < {SYNTHETIC_GOAL}")
    errors = [s for s in scores if s.kind == "error"]
    if errors:
        p(f"  {len(errors)} recordings failed, e.g. {errors[0].rid}: {errors[0].error[:150]}")
        fails.append(f"{len(errors)} recordings failed")
    p("FALLS SHORT: " + "; ".join(fails) if fails else "accuracy goals met")
    return fails


def _offsets_by_source(scores: list[Score], g: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for s in scores:
        if s.kind == "events" and s.group == g:
            out.setdefault(s.source, []).extend(s.offsets)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--placement", help="only this placement (canonical, detector or goal group)")
    ap.add_argument("--source", help="only this source (prefix; 'synthetic' for the generator)")
    ap.add_argument("--quiet", action="store_true", help="only the summaries")
    ap.add_argument("--workers", type=int, default=2, help="process pool size (default 2)")
    ap.add_argument("--data", type=Path, default=DATA, help=f"data folder (default {DATA})")
    ap.add_argument("--detector", default=DETECTOR, help="module:function (default %(default)s)")
    ap.add_argument("--summarizer", default=SUMMARIZER, help="module:function")
    ap.add_argument("--no-synthetic", action="store_true", help="skip the synthetic recordings")
    ap.add_argument("--no-gyro", action="store_true",
                    help="read the real recordings without their gyroscopes (accelerometer-only "
                         "sensors)")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    scores = run(a.data, placement=a.placement, source=a.source, workers=a.workers,
                 detector=a.detector, summarizer=a.summarizer, synthetic=not a.no_synthetic,
                 gyro=not a.no_gyro)
    fails = report(scores, quiet=a.quiet)
    det_s = sum(s.seconds for s in scores)
    print(f"{len(scores)} recordings in {time.perf_counter() - t0:.1f} s "
          f"(detector + summary {det_s:.1f} s CPU, {a.workers} workers)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
