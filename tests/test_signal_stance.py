"""Contact time: the toe-off that ends each stance, reported after its contact."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import signal as sps

from loadmon.signal import (
    Contact,
    ContactDetector,
    Recording,
    ToeOff,
    contacts_frame,
    detect_contacts,
    detector,
)
from loadmon.signal.detector import (
    STRIDE_FS,
    STRIDE_SEARCH_S,
    WALK_HOLD_S,
    WALK_MIN_CORR,
    WALK_STRIDE_S,
    CadenceTracker,
)
from loadmon.signal.synthetic import _PITCH_TIMING, synthesize
from tests.test_signal import f1_after_offset
from tests.test_signal_events import RECORDINGS, adept_run, running_intervals


def _match(found: pd.DataFrame, truth: pd.DataFrame, tol_s: float = 0.03) -> pd.DataFrame:
    """Found contacts next to the true contact within `tol_s`, with both contact times."""
    t = truth["t_s"].to_numpy()
    k = np.clip(np.searchsorted(t, found["t_s"].to_numpy()), 1, len(t) - 1)
    k = np.where(np.abs(t[k - 1] - found["t_s"]) < np.abs(t[k] - found["t_s"]), k - 1, k)
    near = np.abs(t[k] - found["t_s"].to_numpy()) <= tol_s
    return pd.DataFrame(
        {"found_ms": found["contact_ms"].to_numpy()[near],
         "true_ms": truth["contact_ms"].to_numpy()[k[near]]}
    )


@pytest.mark.parametrize(("activity", "cadence"), [("run", 150), ("run", 185), ("walk", 105)])
def test_a_foot_gyroscope_ends_the_stance_at_the_pitch_minimum_before_the_swing(
    activity: str, cadence: float
) -> None:
    # Falbriard et al. 2018: terminal contact is the pitch-rate minimum of the push-off
    rec, truth = synthesize(
        "foot", activity=activity, cadence_spm=cadence, duration_s=60, fs_hz=200, seed=21,
        gyro=True, noise_g=0.02,
    )
    pairs = _match(detect_contacts(rec), truth).dropna(subset=["true_ms"])
    assert len(pairs) >= 0.95 * truth["contact_ms"].notna().sum()
    assert pairs["found_ms"].notna().mean() >= 0.95  # a running stance too (it used to be none)
    # walking, the pitch-rate minima are not the events themselves (real foot IMUs: the
    # push-off's 4-30 ms before toe-off, the foot flat's just after contact): the stance
    # between them is shorter by the generator's shifts
    timing = _PITCH_TIMING[activity]
    lead_ms = 1000.0 * (timing["ic_shift"] - timing["tc_shift"])
    err = (pairs["found_ms"] - (pairs["true_ms"] - lead_ms)).dropna().abs()
    assert err.median() <= 10.0 and err.quantile(0.9) <= 20.0


@pytest.mark.parametrize("placement", ["foot", "ankle"])
@pytest.mark.parametrize(("activity", "cadence"), [("run", 150), ("run", 185), ("walk", 105)])
def test_without_gyroscope_the_stance_ends_at_the_push_off_not_in_the_swing(
    placement: str, activity: str, cadence: float
) -> None:
    # the foot leaves the ground at its push-off's peak; the swing's accelerations after it
    # are larger (5-8 g for a running foot) and used to take the toe-off 0.2-0.26 s late
    rec, truth = synthesize(
        placement, activity=activity, cadence_spm=cadence, duration_s=60, fs_hz=200, seed=21,
        gyro=False, noise_g=0.02, motion_noise_g=0.05,
    )
    pairs = _match(detect_contacts(rec), truth).dropna()
    assert len(pairs) >= 0.85 * truth["contact_ms"].notna().sum()  # ankle, 150: 65 of 74
    err = (pairs["found_ms"] - pairs["true_ms"]).abs()
    assert err.median() <= 15.0 and err.quantile(0.9) <= 30.0


@pytest.mark.parametrize("gyro", [True, False])
def test_the_last_step_into_standing_has_no_contact_time(gyro: bool) -> None:
    # the foot stays on the ground after the last contact: no toe-off, no invented stance
    rec, truth = synthesize("foot", activity="walk", duration_s=30, fs_hz=200, seed=4, gyro=gyro,
                            rest_s=3.0)
    found = detect_contacts(rec)
    assert abs(found["t_s"].iloc[-1] - truth["t_s"].iloc[-1]) < 0.05
    assert np.isnan(found["contact_ms"].iloc[-1])
    assert found["contact_ms"].iloc[1:-1].notna().all()


def test_a_contact_comes_before_its_toe_off_and_the_frame_joins_them() -> None:
    rec, _ = synthesize("foot", activity="walk", duration_s=20, fs_hz=100, seed=7, gyro=True)
    det = ContactDetector("foot", 100.0, has_gyro=True, side="left")
    events: list[Contact | ToeOff] = []
    seen: set[int] = set()
    for i in range(0, len(rec.t_s), 4):  # 40 ms notifications
        for e in det.push(rec.t_s[i : i + 4], rec.acc_g[i : i + 4], rec.gyro_dps[i : i + 4]):
            if isinstance(e, ToeOff):
                assert id(e.contact) in seen  # its contact was reported already
                # a walking stance (~0.6 s) outlasts the latency: the toe-off comes apart
                assert e.t_s == pytest.approx(e.contact.t_s + e.contact_ms / 1000.0)
            else:
                seen.add(id(e))
            events.append(e)
    events += det.finish()
    toe_offs = [e for e in events if isinstance(e, ToeOff)]
    assert len(toe_offs) >= len(seen) - 2
    frame = contacts_frame(events)
    assert len(frame) == len(seen)
    joined = dict(zip(frame["t_s"], frame["contact_ms"], strict=True))
    assert all(joined[e.contact.t_s] == e.contact_ms for e in toe_offs)
    pd.testing.assert_frame_equal(frame, detect_contacts(rec), check_exact=True)


def _ipol_feet() -> list:
    return sorted(p for p in RECORDINGS.glob("ipol-*foot") if (p / "events.csv").is_file())


def _read_ipol_foot(folder, gyro: bool) -> tuple[Recording, dict, pd.DataFrame]:
    """An IPOL foot recording (without its gyroscope unless `gyro`), its meta and events."""
    meta = json.loads((folder / "meta.json").read_text())
    x = pd.read_csv(folder / "samples.csv.gz")
    rec = Recording(
        x["t_s"].to_numpy(), x[["ax_g", "ay_g", "az_g"]].to_numpy(), meta["fs_hz"], "foot",
        gyro_dps=x[["gx_dps", "gy_dps", "gz_dps"]].to_numpy() if gyro else None,
        side=meta["side"],
    )
    return rec, meta, pd.read_csv(folder / "events.csv")


@pytest.mark.skipif(not RECORDINGS.is_dir(), reason=f"{RECORDINGS} is absent (a user's clone)")
@pytest.mark.parametrize("gyro", [True, False])
def test_contact_time_against_the_ipol_toe_offs(gyro: bool) -> None:
    # real walks, with the gyroscope (pitch minimum) and without it (the push-off's peak);
    # IPOL's labelled toe-off sits ~40 ms after the pitch minimum (its template's definition)
    feet = _ipol_feet()
    assert len(feet) > 100
    errors, covered, total = [], 0, 0
    for folder in feet:
        rec, meta, events = _read_ipol_foot(folder, gyro)
        own = events[events["side"] == meta["side"]]
        ic = own.loc[own["kind"] == "ic", "t_s"].to_numpy()
        tc = own.loc[own["kind"] == "tc", "t_s"].to_numpy()
        for t, ms in zip(*detect_contacts(rec)[["t_s", "contact_ms"]].to_numpy().T, strict=True):
            k = np.argmin(np.abs(ic - t))
            after = tc[tc > ic[k]]
            if abs(ic[k] - t) > 0.1 or not len(after) or after[0] - ic[k] > 1.2:
                continue  # not a labelled contact, or no toe-off within a walking stance
            total += 1
            if np.isfinite(ms):
                covered += 1
                errors.append(ms - 1000.0 * (after[0] - ic[k]))
    err = np.array(errors)
    assert total > 1400
    assert covered >= 0.85 * total
    assert abs(np.median(err)) <= 60.0
    assert np.percentile(np.abs(err), 90) <= 100.0


@pytest.mark.skipif(not RECORDINGS.is_dir(), reason=f"{RECORDINGS} is absent (a user's clone)")
def test_a_running_ankle_without_gyroscope_reports_contact_time() -> None:
    # adeptdata: the ankle's running contacts used to wait for a push-off candidate that
    # rarely came (58 of 303 had a contact time); the push-off peak gives nearly all of them
    found = {}
    for placement in ("ankle", "hip"):
        found[placement] = detect_contacts(adept_run(placement))
    ankle = found["ankle"]
    t = ankle["t_s"].to_numpy()
    running = running_intervals(t, found["hip"]["t_s"].to_numpy())  # contact to the next
    stance = ankle["contact_ms"].to_numpy()[:-1][running]
    assert running.sum() > 500
    assert np.isfinite(stance).mean() >= 0.95
    # a runner's ground contact: 150-400 ms, under half the stride
    assert 150.0 <= np.nanmedian(stance) <= 400.0
    assert np.nanmedian(stance) < 0.5 * 1000.0 * np.median(np.diff(t)[running])
    # the push-off, not a swing hump as large after it (the window's maximum took one in 11
    # stances 70-130 ms late: 95th percentile 410 ms against a median of 320)
    assert np.nanpercentile(stance, 95) - np.nanmedian(stance) <= 50.0


@pytest.mark.skipif(not RECORDINGS.is_dir(), reason=f"{RECORDINGS} is absent (a user's clone)")
@pytest.mark.parametrize("fs_hz", [50.0, 52.0])
def test_a_running_ankle_at_50_hz_keeps_its_landings_under_the_noise_floor(fs_hz: float) -> None:
    # at 50-52 Hz the smoothed impact score no longer falls to the noise floor between a
    # blurred landing and the push-off, and 6-7 % of the run's landings fell under it
    rec = adept_run("ankle")
    full = len(detect_contacts(rec))
    assert len(detect_contacts(_resampled(rec, fs_hz))) >= 0.95 * full  # 0.96 today, 0.93 before


def test_the_stride_tracker_reads_a_running_stride_not_two_of_them() -> None:
    # impacts every 0.75 s (running, one foot) correlate as well at 1.5 s, a walking stride:
    # the tracker reads the period itself; impacts every 1.1 s are a walking stride once the
    # gait has held for WALK_HOLD_S
    fs = 100.0
    t = np.arange(round(30 * fs)) / fs
    for period, walking in ((0.75, False), (1.1, True)):
        x = np.exp(-(((t % period) - 0.05) ** 2) / (2 * 0.02**2))
        tracker = CadenceTracker(fs, STRIDE_SEARCH_S, WALK_STRIDE_S, WALK_MIN_CORR, STRIDE_FS,
                                 WALK_HOLD_S)
        found = tracker(x)
        assert (found[-1] > 0) == walking
        if walking:
            assert found[-1] == pytest.approx(period, abs=0.1)
            start = np.flatnonzero(found > 0)[0] / fs
            assert start >= WALK_HOLD_S  # not before it has held


def _resampled(rec: Recording, fs_hz: float) -> Recording:
    """`rec` resampled to `fs_hz` behind an anti-alias low-pass at 0.4 `fs_hz` (a slower sensor)."""
    t = np.arange(rec.t_s[0], rec.t_s[-1], 1.0 / rec.fs_hz)
    t_new = np.arange(t[0], t[-1], 1.0 / fs_hz)
    sos = sps.butter(4, 0.4 * fs_hz, fs=rec.fs_hz, output="sos")

    def resample(x: np.ndarray) -> np.ndarray:
        uniform = np.column_stack([np.interp(t, rec.t_s, c) for c in x.T])
        grid = sps.sosfiltfilt(sos, uniform, axis=0)
        return np.column_stack([np.interp(t_new, t, c) for c in grid.T])

    gyro = None if rec.gyro_dps is None else resample(rec.gyro_dps)
    return replace(rec, t_s=t_new, acc_g=resample(rec.acc_g), gyro_dps=gyro, fs_hz=fs_hz)


def _straight_ipol_f1(gyro: bool, fs_hz: float | None = None) -> float:
    """Pooled F1 of a foot sensor's contacts on the IPOL walks, U-turns left out.

    With `fs_hz` the recordings are resampled to that rate first.
    """
    tp = n_det = n_gt = 0
    for folder in _ipol_feet():
        rec, meta, events = _read_ipol_foot(folder, gyro)
        if fs_hz is not None:
            rec = _resampled(rec, fs_hz)
        own = events[(events["side"] == meta["side"]) & (events["kind"] == "ic")]
        (a, b), (u0, u1) = meta["trial_boundaries_s"], meta["uturn_boundaries_s"]

        def straight(t: np.ndarray) -> np.ndarray:
            return t[((t >= a) & (t <= u0)) | ((t >= u1) & (t <= b))]  # noqa: B023

        found, truth = straight(detect_contacts(rec)["t_s"].to_numpy()), straight(
            own["t_s"].to_numpy())
        f1 = f1_after_offset(found, truth)
        # back from F1 to counts: tp = F1 (n_det + n_gt) / 2
        tp += f1 * (len(found) + len(truth)) / 2
        n_det, n_gt = n_det + len(found), n_gt + len(truth)
    return 2 * tp / (n_det + n_gt)


@pytest.mark.skipif(not RECORDINGS.is_dir(), reason=f"{RECORDINGS} is absent (a user's clone)")
def test_a_walking_foot_without_gyroscope_reads_push_offs_at_the_walking_scale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a push-off looks like a landing to the running scales of the quiet-after test; while
    # the impacts repeat with a walking stride only the walking scale counts
    with_rule = _straight_ipol_f1(gyro=False)
    monkeypatch.setattr(detector, "WALK_MIN_CORR", 2.0)  # a correlation never reached
    without = _straight_ipol_f1(gyro=False)
    assert with_rule >= 0.915 and with_rule >= without + 0.01  # 0.919 and 0.903 today


@pytest.mark.skipif(not RECORDINGS.is_dir(), reason=f"{RECORDINGS} is absent (a user's clone)")
def test_a_slow_foot_gyroscope_finds_the_swing_end_after_a_mid_swing_candidate() -> None:
    # at 25 Hz the band score peaks as early as mid-swing, more than 0.1 s before the
    # swing's end: the gyroscope window reaches 0.2 s after the candidate once the recent
    # swings sign the pitch axis (0.904 with a window ending 0.1 s after it; 0.923 today)
    assert _straight_ipol_f1(gyro=True, fs_hz=25.0) >= 0.915


def test_a_toe_off_finds_its_contact_after_a_copy_even_with_an_unknown_impact() -> None:
    # events may cross a process (pickled): the frame joins them by time and side, since
    # a NaN impact makes two equal contacts compare unequal
    c = Contact(1.0, "left", float("nan"), False)
    events = pickle.loads(pickle.dumps([c, ToeOff(c, 250.0), Contact(2.0, "left", 3.0, False)]))
    frame = contacts_frame(events)
    assert frame["contact_ms"].iloc[0] == 250.0 and np.isnan(frame["contact_ms"].iloc[1])
