"""Synthetic body-worn accelerometer recordings with known foot contacts.

`synthesize` builds a `Recording` of one sensor worn by a runner or walker
together with the table of the true foot contacts it contains;
`synthesize_gait_change` joins two bouts of different gaits with no stop between
them (a run straight into a walk). It is a test
and benchmark fixture for the contact detector: the events are known exactly,
and noise, dropouts, clipping, timestamp jitter, irregular sampling and an
unknown sensor orientation can be switched on one at a time. Pure numpy (and
pandas for the returned table); no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from loadmon.signal.types import PLACEMENTS, SINGLE_FOOT, Recording

__all__ = ["synthesize", "synthesize_gait_change"]

G = 9.80665  # m/s^2 per g
_DEG = np.pi / 180.0
#: Samples evaluated at once (bounds the model's temporary arrays).
_BLOCK = 1 << 18
#: Width of the window after initial contact in which the truth impact is the peak, s.
IMPACT_WINDOW_S = 0.05

#: Default per-recording range of the mean peak impact (resultant, g). A foot's or an
#: ankle's is the size of the landing's own transient: the resultant it gives on a segment
#: at rest (1 g plus its peak), which touchdown speed, shoe and ground set, whatever the
#: swing did before; the sensor reads it on top of the swing's last deceleration (see
#: `_FITTED_FEET`). Every other placement's is the peak resultant of the contact itself.
_IMPACT_RANGE = {
    "foot": {"run": (7.0, 14.0), "walk": (3.0, 12.0)},
    "ankle": {"run": (4.0, 10.0), "walk": (2.0, 6.0)},
    "shank": {"run": (3.0, 9.0), "walk": (1.5, 4.0)},
    "lower_back": {"run": (2.5, 5.0), "walk": (1.3, 1.8)},
    "hip": {"run": (2.5, 5.5), "walk": (1.3, 1.8)},
    "wrist": {"run": (2.0, 3.5), "walk": (1.15, 1.5)},
    "phone_hand": {"run": (2.4, 3.6), "walk": (1.15, 1.6)},
    "phone_pocket": {"run": (2.2, 4.0), "walk": (1.4, 2.2)},
    "phone_bag": {"run": (2.2, 3.2), "walk": (1.15, 1.5)},
}

#: Placements whose segment is fitted to real foot IMUs: their impact is the landing transient's
#: size (`_IMPACT_RANGE`), their pitch rate follows `_PITCH_TIMING` and they push off (`PUSH_OFF`).
#: The foot and the ankle decelerate into the contact (`_PITCH_TIMING`: 5-12 g running, 2-3.5 g
#: walking), and an amplitude solved for the contact's peak resultant shrank the transient to
#: nothing where the swing already reached it (18-46 % of fast running contacts and half the 125
#: steps/min ankle walks had none), while the DEV ankle run shows a sharp landing in every stride
#: (20 Hz high-passed |a| 1.2 g median, 0.7-1.7 g 10th-90th percentile; now 1.4 g, 0.9-2.1 g,
#: against 0.8 g, 0.5-1.4 g solved, synthetic at 158 steps/min, 100 Hz). The shank keeps its solved
#: amplitude and its earlier swing (`_SHANK_PITCH_TIMING`): it was not refitted (no real shank
#: recording).
_FITTED_FEET = ("foot", "ankle")

#: Impact transient shape per placement: rise (ms), decay constant (ms) and ringing (Hz) ranges.
_TRANSIENT = {
    "foot": ((3.0, 8.0), (10.0, 18.0), (20.0, 35.0)),
    "ankle": ((3.0, 8.0), (10.0, 18.0), (20.0, 35.0)),
    "shank": ((5.0, 10.0), (12.0, 20.0), (15.0, 30.0)),
    "lower_back": ((10.0, 20.0), (10.0, 25.0), (0.0, 0.0)),
    "hip": ((10.0, 20.0), (10.0, 25.0), (0.0, 0.0)),
    "wrist": ((15.0, 30.0), (25.0, 40.0), (0.0, 0.0)),
    "phone_hand": ((15.0, 30.0), (25.0, 40.0), (0.0, 0.0)),
    "phone_pocket": ((8.0, 15.0), (15.0, 30.0), (15.0, 25.0)),
    "phone_bag": ((25.0, 40.0), (35.0, 55.0), (0.0, 0.0)),
}

#: Single-foot pitch excursions in degrees: (toe-off dip, initial-contact dip, stance
#: rotation) and the scale of the segment's translation relative to the foot's. Foot,
#: walking: the DEV feet (IPOL 100 Hz, gaitmap 204.8 Hz) rotate 62-70 degrees toe-down
#: from heel rise to the swing's start and 19-27 back at initial contact (medians; the
#: swing's 94-97 is their sum). Foot, running (no real gyroscope): a 100-degree swing
#: rotation gives the swing peak of the literature (600-1000 deg/s at 170 steps/min;
#: 570-820 here at 140-200). The ankle keeps its earlier ratio to the foot (0.78 walking,
#: 0.8 running); the shank is unchanged.
_SEGMENT = {
    "foot": {"run": (85.0, 15.0, 0.0), "walk": (65.0, 20.0, 0.0), "trans": 1.0},
    "ankle": {"run": (68.0, 12.0, 0.0), "walk": (50.0, 15.0, 0.0), "trans": 0.75},
    "shank": {"run": (45.0, 5.0, 30.0), "walk": (35.0, 5.0, 25.0), "trans": 0.35},
}

#: Single-foot pitch-rate pulse timing, s. Push-off dip: centre ``tc_shift`` from toe-off,
#: half-width before it 0.4 contact times (at most ``tc_left_max``: heel rise), after it
#: ``tc_right`` (None: the same). Initial-contact dip: centre ``ic_shift`` after contact,
#: half-widths ``ic_left`` / ``ic_right``. The swing lobe fills the time between them, as
#: a half sine (``swing_sine``, flat-topped) or a squared raised cosine. ``land_s``: the
#: swing's forward deceleration ends this long after contact (the foot lands still moving
#: forward and the ground stops it). Walking, fitted to the DEV feet: push-off minimum
#: 4-30 ms before the toe-off label, back to zero 16-34 ms after it (heel rise from 0.4
#: contact times before it: fitted 0.24-0.31 s); initial-contact minimum -5..+8 ms from
#: the impact peak, rising 30-70 ms before it, full width at half depth 38-70 ms per stride;
#: |a| 10-30 ms before the impact 2.2-3.4 g (the swing's deceleration runs into the
#: contact, no drop to 1 g). Running (no real gyroscope): dips centred on the events as
#: Falbriard et al. 2018 detect them (pitch-rate minima); ``land_s`` from the DEV ankle run
#: (adeptdata, 100 Hz): the late swing's |a| peaks 30-50 ms before the impact and is still
#: 0.5-0.7 of that peak at contact.
_PITCH_TIMING = {
    "walk": {"tc_shift": -0.012, "tc_left_max": 0.3, "tc_right": 0.05,
             "ic_shift": 0.01, "ic_left": 0.05, "ic_right": 0.10, "swing_sine": True,
             "land_s": 0.04},
    "run": {"tc_shift": 0.0, "tc_left_max": 0.15, "tc_right": None,
            "ic_shift": 0.0, "ic_left": 0.025, "ic_right": 0.025, "swing_sine": False,
            "land_s": 0.03},
}
#: The shank (mid-tibia) keeps its earlier timing, not refitted (no real shank recording):
#: symmetric dips centred on the events, a raised-cosine swing lobe, the translation ending
#: at the contact. Its stance rotation (`_SEGMENT`) runs from the contact dip's centre to
#: the push-off dip's, a flat-topped half sine: the tibia advances over the planted foot
#: through the whole stance (heel, ankle and forefoot rockers), so its rate stays opposite
#: to the swing from initial to terminal contact. A raised cosine between the
#: dips' edges held the rate at 0-2 deg/s for 50-80 ms after the contact dip and before the
#: push-off dip, where a gyroscope's noise crossed from swing to stance in mid-stance.
_SHANK_PITCH_TIMING = {
    "walk": {"tc_shift": 0.0, "tc_left_max": 0.15, "tc_right": None,
             "ic_shift": 0.0, "ic_left": 0.05, "ic_right": 0.05, "swing_sine": False,
             "land_s": 0.0},
    "run": {"tc_shift": 0.0, "tc_left_max": 0.15, "tc_right": None,
            "ic_shift": 0.0, "ic_left": 0.025, "ic_right": 0.025, "swing_sine": False,
            "land_s": 0.0},
}


#: Push-off of a foot or ankle sensor (`_Gait._push_off`): the forefoot leaves the ground
#: with a burst of acceleration along its take-off direction (``angle_deg`` above the
#: forward horizontal), a squared raised cosine of ``peak_g`` (times the stride's toe-off
#: rotation factor) and half-width ``half_width_s`` centred on toe-off, taken back by two
#: broader lobes (``back_half_width_s``) ``lag_s`` and twice that later. Fitted to the DEV
#: recordings' |a| at toe-off (without it the synthetic |a| rose smoothly from the stance
#: into the swing, with no feature at toe-off): IPOL feet peak 2.7-6.2 g (p10-p90, median
#: 4.3) within -20..+50 ms of the label, gaitmap 3.4-4.7 g 5-54 ms before it, the running
#: ankle (adeptdata, 100 Hz) 3-4 g, 40-60 ms wide at half height, right after the quiet
#: stance. Running: the peak on toe-off as Falbriard et al. 2018 time it (pitch-rate minimum
#: within a few ms of force-plate toe-off); walking: between the two walks' offsets. An
#: ankle sensor sees it scaled as the other translations (`_SEGMENT` ``trans``).
PUSH_OFF = {"peak_g": 2.5, "half_width_s": 0.03, "back_half_width_s": 0.06, "lag_s": 0.08,
            "angle_deg": 45.0}

#: Arm pendulum of a phone carried in the hand, walking (`_Gait._body`): it swings by
#: ``swing_deg`` (drawn per recording) about a centre ``centre_deg`` forward of hanging
#: straight down, ``radius_m`` from the shoulder. Fitted to the DEV Oxford phones of user
#: Jamie (acceleration averaged over strides aligned on the left foot's steps; no
#: gyroscope), where the old model (5-30 degrees about hanging straight down, 0.5 m) had
#: twice their stride component and lost half their step component at 120-140 steps/min:
#:
#: - radius: shoulder to grip of an adult arm. The data need 0.6 m or more: the two
#:   swinging-arm walks (111 steps/min) keep the step harmonic of |a| of the in-hand walks
#:   on the same floor (0.205-0.207 g against 0.18-0.25 g), and a pendulum's centripetal
#:   acceleration, at the step rate and opposite to the centre of mass's, is the square of
#:   its tangential acceleration over the radius: fitted to the same stride harmonic
#:   (below), 0.5 m needs about 18 degrees and takes 0.06 g off a 0.19 g step harmonic
#:   (synthetic, 111 steps/min), 0.7 m 8.5 degrees and 0.02 g;
#: - swing: up to 8.5 degrees from the swinging-arm walks' stride harmonic of the
#:   acceleration across gravity (0.216-0.223 g; synthetic 0.220 g at 8.5 degrees, 0.11 g
#:   at none, the trunk's sway), down to none for the in-hand walks (the phone held in
#:   front: 0.05-0.12 g, and |a| stride harmonics of 0.005-0.057 g fit 0-5 degrees). At
#:   the stride rate gravity's rotation and the tangential acceleration both lie across
#:   gravity: an accelerometer alone parts neither them nor the swing from the radius;
#: - centre: forward (the elbow flexed, the hand ahead of the shoulder), so the hand is
#:   lowest at the back of its arc and |a| gains a stride harmonic peaking at the contacts
#:   of the foot on the phone's side: 0.087-0.091 g at +20 to +25 degrees of the stride
#:   from the left foot's |a| peaks on the swinging-arm walks (right foot's steps 0.06 g
#:   lower), 0.089 g at +10 degrees synthetic (left hand, 8.5 degrees). Centred on hanging
#:   straight down it peaked a quarter stride away, between the contacts (0.03 g at +90).
_HAND_WALK = {"swing_deg": (0.0, 8.5), "radius_m": 0.7, "centre_deg": 17.0}

#: Walking bounce of the centre of mass (every placement but the single-foot ones): the
#: amplitude of the step-frequency cosine of the vertical specific force, drawn per
#: walker at ``ref_spm`` and scaled by ``(cadence / ref_spm) ** exponent``. The trunk rises
#: and falls a few centimetres every step: kept at one height, its acceleration would grow
#: as the step frequency squared; and a faster walker's longer steps lift it higher (an
#: inverted pendulum of leg length L lifts it about step^2 / 8 L, and step length grows
#: about as fast as cadence), up to frequency^4. Fitted to the step harmonic of |a|'s
#: stride-synchronous average (strides from one left contact to the next):
#:
#: - real: the 52 DEV IPOL lower-back walks (80-125 steps/min) grow as cadence^2.27
#:   across walks (90 % subject-bootstrap interval 1.65-3.90; vertical component 2.42),
#:   cadence^3.5 within subjects (2.97-4.04), 0.247 g at 110 steps/min; the 12 Oxford
#:   phones in the hand as cadence^2.65 (one walker; one phone on carpet 0.086 g at 81-86,
#:   0.209 g at 106-107); the 3 mobgap walks (98-102) lie on the IPOL ones (0.14-0.21 g);
#: - synthetic: the exponent 3 gives the lower back cadence^2.41 across 80-140 steps/min
#:   (vertical 2.33; the impact transients, which do not scale, dilute it as they do the
#:   real ones) and 0.237 g at 110 steps/min (0.11 g at 80, 0.31 g at 125); drawn without
#:   regard to cadence it was 0.22-0.25 g at every cadence. The spread between walkers
#:   (0.15-0.25 g at the reference) is the old one.
#:
#: Running keeps its contact-force model: its vertical force is set by the duty factor,
#: and the DEV hip run (153-164 steps/min) shows no growth of the step component.
_WALK_BOUNCE = {"g": (0.15, 0.25), "ref_spm": 110.0, "exponent": 3.0}


# --------------------------------------------------------------------------- helpers


def _spans(t: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sample indices and interval indices of every sample with ``lo[k] <= t < hi[k]``.

    ``t`` must be sorted. Work is proportional to the number of pairs returned.
    """
    i0 = np.searchsorted(t, lo, "left")
    i1 = np.searchsorted(t, hi, "left")
    n = np.maximum(i1 - i0, 0)
    k = np.repeat(np.arange(len(lo)), n)
    first = np.cumsum(n) - n
    idx = np.arange(int(n.sum())) - np.repeat(first, n) + np.repeat(i0, n)
    return idx, k


def _accumulate(n: int, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum ``values`` (pairs, or pairs x 3) into an array of ``n`` samples at ``idx``."""
    if values.ndim == 1:
        return np.bincount(idx, weights=values, minlength=n)
    return np.stack([np.bincount(idx, weights=values[:, j], minlength=n) for j in range(3)], 1)


def _hann2(u: np.ndarray) -> np.ndarray:
    """Squared raised cosine ``((1 + cos(pi u)) / 2) ** 2`` on [-1, 1]; its area is 3/4."""
    return (0.5 * (1.0 + np.cos(np.pi * u))) ** 2


def _hann2_cdf(u: np.ndarray) -> np.ndarray:
    """Integrate `_hann2` from -1 to ``u``, normalized to 1 at ``u = 1``."""
    u = np.clip(u, -1.0, 1.0)
    s = (3.0 * (u + 1.0) / 8.0 + np.sin(np.pi * u) / (2 * np.pi)
         + np.sin(2 * np.pi * u) / (16 * np.pi))
    return s / 0.75


def _hann2_dd(u: np.ndarray) -> np.ndarray:
    """Second derivative of `_hann2` with respect to ``u``."""
    return -0.5 * np.pi**2 * (np.cos(np.pi * u) + np.cos(2 * np.pi * u))


def _pulses(t: np.ndarray, c: np.ndarray, w: np.ndarray, area: np.ndarray,
            w_right: np.ndarray | None = None, sine: np.ndarray | None = None) -> np.ndarray:
    """Sum of pulses of the given areas centred on ``c``.

    Squared raised cosines of half-width ``w`` before the centre and ``w_right``
    (default ``w``) after it; where ``sine`` is true, a symmetric half sine
    ``cos(pi u / 2)`` of half-width ``w`` instead (flat-topped: above half its
    peak over two thirds of its span, against a third for the raised cosine).
    """
    wr = w if w_right is None else w_right
    sn = np.zeros(len(c), bool) if sine is None else sine
    idx, k = _spans(t, c - w, c + np.where(sn, w, wr))
    tau = t[idx] - c[k]
    wk = np.where(tau < 0, w[k], np.where(sn[k], w[k], wr[k]))
    u = tau / wk
    peak = np.where(sn[k], area[k] * np.pi / (4 * w[k]), area[k] / (0.375 * (w[k] + wr[k])))
    shape = np.where(sn[k], np.cos(0.5 * np.pi * np.clip(u, -1.0, 1.0)), _hann2(u))
    return _accumulate(len(t), idx, peak * shape)


def _pulses_integral(t: np.ndarray, c: np.ndarray, w: np.ndarray, area: np.ndarray,
                     w_right: np.ndarray | None = None,
                     sine: np.ndarray | None = None) -> np.ndarray:
    """Integrate `_pulses` (same arguments) from -inf to each time."""
    wr = w if w_right is None else w_right
    sn = np.zeros(len(c), bool) if sine is None else sine
    end = c + np.where(sn, w, wr)
    order = np.argsort(end)
    done = np.concatenate([[0.0], np.cumsum(area[order])])
    out = done[np.searchsorted(end[order], t, "right")]
    idx, k = _spans(t, c - w, end)
    tau = t[idx] - c[k]
    # share of the area before the centre, then the cumulative share of each half
    left = np.where(sn[k], 0.5, w[k] / (w[k] + wr[k]))
    u_l = np.minimum(tau, 0.0) / w[k]
    u_r = np.maximum(tau, 0.0) / np.where(sn[k], w[k], wr[k])
    hann = left * 2 * _hann2_cdf(u_l) + (1 - left) * 2 * (_hann2_cdf(u_r) - 0.5)
    sin_ = 0.5 * (1.0 + np.sin(0.5 * np.pi * np.clip(np.where(tau < 0, u_l, u_r), -1.0, 1.0)))
    return out + _accumulate(len(t), idx, area[k] * np.where(sn[k], sin_, hann))


def _transient(tau: np.ndarray, rise: np.ndarray, tdec: np.ndarray, fr: np.ndarray) -> np.ndarray:
    """Evaluate the unit impact transient: sin^2 rise to 1 at ``rise``, then a damped cosine."""
    out = np.zeros_like(tau)
    up = (tau >= 0) & (tau < rise)
    out[up] = np.sin(0.5 * np.pi * tau[up] / rise[up]) ** 2
    dn = tau >= rise
    u = tau[dn] - rise[dn]
    out[dn] = np.exp(-u / tdec[dn]) * np.cos(2 * np.pi * fr[dn] * u)
    return out


def _transient_integral(tau: np.ndarray, rise: np.ndarray, tdec: np.ndarray,
                        fr: np.ndarray) -> np.ndarray:
    """Integrate `_transient` from ``tau = 0``."""
    out = np.zeros_like(tau)
    up = (tau >= 0) & (tau < rise)
    r = rise[up]
    out[up] = tau[up] / 2 - r / (2 * np.pi) * np.sin(np.pi * tau[up] / r)
    dn = tau >= rise
    u = tau[dn] - rise[dn]
    lam = -1.0 / tdec[dn] + 2j * np.pi * fr[dn]
    out[dn] = rise[dn] / 2 + np.real((np.exp(lam * u) - 1.0) / lam)
    return out


def _rotations(pitch: np.ndarray, roll: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """Segment-to-world rotations ``Rz(yaw) @ Ry(roll) @ Rx(pitch)``, shape (N, 3, 3).

    World axes: x right, y forward (direction of travel), z up.
    """
    cp, sp = np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    cy, sy = np.cos(yaw), np.sin(yaw)
    r = np.empty((len(pitch), 3, 3))
    r[:, 0, 0] = cy * cr
    r[:, 0, 1] = cy * sr * sp - sy * cp
    r[:, 0, 2] = cy * sr * cp + sy * sp
    r[:, 1, 0] = sy * cr
    r[:, 1, 1] = sy * sr * sp + cy * cp
    r[:, 1, 2] = sy * sr * cp - cy * sp
    r[:, 2, 0] = -sr
    r[:, 2, 1] = cr * sp
    r[:, 2, 2] = cr * cp
    return r


def _body_rates(pitch, roll, dpitch, droll, dyaw) -> np.ndarray:
    """Angular velocity in the segment frame for `_rotations`' angle rates, shape (N, 3)."""
    cp, sp = np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    # Rx^T Ry^T (0, 0, dyaw) + Rx^T (0, droll, 0) + (dpitch, 0, 0)
    wx = dpitch - sr * dyaw
    wy = cp * droll + sp * cr * dyaw
    wz = -sp * droll + cp * cr * dyaw
    return np.stack([wx, wy, wz], 1)


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Draw a rotation matrix uniformly (unit quaternion from a 4-D normal)."""
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def _band_noise(rng: np.random.Generator, t: np.ndarray, t_end: float, std: float,
                band_hz: tuple[float, float] = (0.5, 20.0)) -> np.ndarray:
    """Band-limited Gaussian noise (N x 3, given std per axis) sampled at times ``t``."""
    fs = 4.0 * band_hz[1]
    m = int(np.ceil(t_end * fs)) + 2
    spec = np.fft.rfft(rng.normal(size=(m, 3)), axis=0)
    f = np.fft.rfftfreq(m, 1.0 / fs)
    spec[(f < band_hz[0]) | (f > band_hz[1])] = 0.0
    x = np.fft.irfft(spec, n=m, axis=0)
    x *= std / max(float(x.std()), 1e-12)
    grid = np.arange(m) / fs
    return np.stack([np.interp(t, grid, x[:, j]) for j in range(3)], 1)


# --------------------------------------------------------------------------- gait model


@dataclass
class _Gait:
    """Contact timeline and placement parameters (internal)."""

    placement: str
    activity: str
    side: str
    t_ic: np.ndarray        # initial contacts, both feet, s
    sides: np.ndarray       # +1 left, -1 right
    t_tc: np.ndarray        # terminal contact (toe-off) of each contact; nan for the last of a foot
    step_s: np.ndarray      # interval to the next contact (nominal for the last)
    period_s: float         # nominal step interval
    speed: float            # m/s
    rng_params: dict        # per-recording random shape parameters
    # transients (filled later): which contact, time, amplitude, direction, shape
    tr_t: np.ndarray | None = None
    tr_amp: np.ndarray | None = None
    tr_dir: np.ndarray | None = None
    tr_rise: np.ndarray | None = None
    tr_dec: np.ndarray | None = None
    tr_fr: np.ndarray | None = None

    @property
    def own(self) -> np.ndarray:
        """Mask of the contacts the sensor should report."""
        if self.placement in SINGLE_FOOT:
            return self.sides == (1 if self.side == "left" else -1)
        return np.ones(len(self.t_ic), bool)

    # -- envelope and phase --------------------------------------------------------------
    def envelope(self, t: np.ndarray) -> np.ndarray:
        """1 while moving, ramping over one step at the start and the end of the bout."""
        p = self.period_s
        a = np.clip((t - (self.t_ic[0] - p)) / p, 0.0, 1.0)
        b = np.clip((self.t_ic[-1] + p - t) / p, 0.0, 1.0)
        return a * b

    def phase(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stride phase (rad, 0 at left contacts, pi at right ones) and its rate (rad/s)."""
        off = 0.0 if self.sides[0] == 1 else 1.0
        ph_ic = np.pi * (np.arange(len(self.t_ic)) + off)
        ph = np.interp(t, self.t_ic, ph_ic)
        rate0 = np.pi / self.period_s
        lo, hi = t < self.t_ic[0], t > self.t_ic[-1]
        ph[lo] = ph_ic[0] + (t[lo] - self.t_ic[0]) * rate0
        ph[hi] = ph_ic[-1] + (t[hi] - self.t_ic[-1]) * rate0
        rate = np.full(len(t), rate0)
        k = np.clip(np.searchsorted(self.t_ic, t, "right") - 1, 0, len(self.t_ic) - 2)
        inside = ~(lo | hi)
        rate[inside] = np.pi / np.diff(self.t_ic)[k[inside]]
        return ph, rate

    # -- kinematics ----------------------------------------------------------------------
    def kinematics(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Noise-free specific force before impact transients.

        Returns the specific force (N x 3, g) in the frame the transients are
        added in, the rotation from that frame to the segment frame (None when
        it is the segment frame) and the segment angular velocity (N x 3, rad/s).
        """
        if self.placement in SINGLE_FOOT:
            return self._foot(t)
        return self._body(t)

    def _foot(self, t):
        own = self.own
        ic = self.t_ic[own]
        tc = self.t_tc[own]
        p = self.rng_params
        th_tc, th_ic, th_st = (x * _DEG for x in _SEGMENT[self.placement][self.activity])
        run = self.activity == "run"
        ct0 = p["ct0"]
        # toe-off preceding each own contact (the first one: nominal swing before it)
        swing0 = 2 * self.period_s - ct0
        prev_tc = np.concatenate([[ic[0] - swing0], tc[:-1]])
        prev_ct = np.concatenate([[ct0], (tc - ic)[:-1]])
        k = len(ic)
        if "pitch_amp" not in p:  # stride-to-stride variation, drawn once per recording
            p["pitch_amp"] = 1.0 + 0.05 * p["rng"].standard_normal((k, 3))
        amp = p["pitch_amp"]
        fitted = self.placement in _FITTED_FEET
        sh = (_PITCH_TIMING if fitted else _SHANK_PITCH_TIMING)[self.activity]
        # push-off dip: heel rise over the last part of the contact, then a quick return
        # to the swing's rotation after toe-off (walking) or symmetric about toe-off (running)
        c_tc = prev_tc + sh["tc_shift"]
        wl_tc = np.clip(0.4 * prev_ct, 0.06, sh["tc_left_max"])
        wr_tc = wl_tc if sh["tc_right"] is None else np.full(k, sh["tc_right"])
        c_ic = ic + sh["ic_shift"]
        wl_ic, wr_ic = np.full(k, sh["ic_left"]), np.full(k, sh["ic_right"])
        s_lo, s_hi = c_tc + 0.6 * wr_tc, c_ic - 0.6 * wl_ic
        a_tc, a_ic = -th_tc * amp[:, 0], -th_ic * amp[:, 1]
        # stance rotation (shank: from +th_st/2 to -th_st/2; the last one ends upright): the
        # tibia rotates over the planted foot from the contact's dip into the push-off's, a
        # flat-topped half sine between their centres
        st_lo = c_ic
        st_hi = np.where(np.isnan(tc), ic + 0.4, tc + sh["tc_shift"])
        a_st = -th_st * amp[:, 2]
        a_st[-1] *= 0.5
        # each swing brings the segment from its toe-off angle to th_ic + th_st / 2
        start_angle = np.concatenate([[0.0], 0.5 * th_st + a_st[:-1]]) + a_tc
        a_sw = (-a_ic + 0.5 * th_st) - start_angle
        c = np.concatenate([c_tc, 0.5 * (s_lo + s_hi), c_ic, 0.5 * (st_lo + st_hi)])
        w = np.concatenate([wl_tc, 0.5 * (s_hi - s_lo), wl_ic, 0.5 * (st_hi - st_lo)])
        w_right = np.concatenate([wr_tc, 0.5 * (s_hi - s_lo), wr_ic, 0.5 * (st_hi - st_lo)])
        sine = np.concatenate([np.zeros(k, bool), np.full(k, sh["swing_sine"]),
                               np.zeros(k, bool), np.ones(k, bool)])
        a = np.concatenate([a_tc, a_sw, a_ic, a_st])
        keep = w > 1e-3
        c, w, a, w_right, sine = c[keep], w[keep], a[keep], w_right[keep], sine[keep]
        pitch = _pulses_integral(t, c, w, a, w_right, sine)
        dpitch = _pulses(t, c, w, a, w_right, sine)
        # translation over each swing (from heel-off to land_s after contact): the forward
        # velocity sin^2(pi s^gamma) of the window fraction s peaks late (at s_peak), so the
        # foot decelerates into the contact, which stops what is left; the lift is a squared
        # raised cosine
        lo = prev_tc - 0.3 * prev_ct
        hi = ic + sh["land_s"]
        span = hi - lo
        s_peak = 0.7 if run else 0.65
        gamma = np.log(0.5) / np.log(s_peak)
        grid = np.linspace(0.0, 1.0, 2001)
        area = float(np.mean(np.sin(np.pi * grid**gamma) ** 2))
        stride_len = 2 * self.speed * self.period_s
        lift = (0.15 if run else 0.10) * p["lift"]
        idx, kk = _spans(t, lo, hi)
        frac = (t[idx] - lo[kk]) / span[kk]
        v_peak = stride_len / (area * span[kk])
        a_fwd = (v_peak * np.pi * gamma * frac ** (gamma - 1)
                 * np.sin(2 * np.pi * frac**gamma) / span[kk])
        u = 2 * frac - 1
        a_up = lift * _hann2_dd(u) / (0.5 * span[kk]) ** 2
        scale = _SEGMENT[self.placement]["trans"] / G
        acc_w = np.zeros((len(t), 3))
        acc_w[:, 1] = np.bincount(idx, weights=a_fwd, minlength=len(t)) * scale
        acc_w[:, 2] = np.bincount(idx, weights=a_up, minlength=len(t)) * scale
        if fitted:
            acc_w += self._push_off(t, tc, amp[:, 0]) * _SEGMENT[self.placement]["trans"]
        acc_w[:, 2] += 1.0  # gravity: specific force
        rot = _rotations(pitch, np.zeros_like(t), np.zeros_like(t))
        f_seg = np.einsum("nji,nj->ni", rot, acc_w)
        omega = np.zeros((len(t), 3))
        omega[:, 0] = dpitch
        return f_seg, None, omega

    @staticmethod
    def _push_off(t: np.ndarray, tc: np.ndarray, amp: np.ndarray) -> np.ndarray:
        """Push-off acceleration of a foot (N x 3, world frame, g): see `PUSH_OFF`.

        Three squared raised cosines per toe-off ``tc`` (NaN: none), of areas
        +1, -2 and +1 times the first's at ``tc``, ``tc + lag`` and ``tc + 2 lag``,
        along the forward-upward direction of the foot's take-off: the foot
        leaves the ground at the peak of the first, and the second and third
        take back the velocity and the displacement it gave (zero net change,
        so the swing and the landing are the translation's alone).
        """
        done = ~np.isnan(tc)
        c, a = tc[done], PUSH_OFF["peak_g"] * amp[done]
        w0, w1, lag = PUSH_OFF["half_width_s"], PUSH_OFF["back_half_width_s"], PUSH_OFF["lag_s"]
        area = 0.75 * w0 * a  # area of a squared raised cosine of peak a, half-width w0
        centres = np.concatenate([c, c + lag, c + 2 * lag])
        widths = np.concatenate([np.full(len(c), w0), np.full(2 * len(c), w1)])
        pulse = _pulses(t, centres, widths, np.concatenate([area, -2 * area, area]))
        up = np.deg2rad(PUSH_OFF["angle_deg"])
        return pulse[:, None] * np.array([0.0, np.cos(up), np.sin(up)])

    def _body(self, t):
        p = self.rng_params
        run = self.activity == "run"
        n = len(t)
        env = self.envelope(t)
        ph, dph = self.phase(t)
        ic, sides, stp = self.t_ic, self.sides, self.step_s
        f = np.zeros((n, 3))
        # centre of mass: vertical specific force, braking / propulsion, lateral sway
        if run:
            ct = np.where(np.isnan(self.t_tc), p["ct0"], self.t_tc - ic)
            idx, k = _spans(t, ic, ic + ct)
            tau = t[idx] - ic[k]
            # half sines of mean 1 g over contacts, rescaled to leave a floor in flight (the
            # trunk is not in free fall while the legs swing); a hip sensor feels its own
            # leg's contacts more
            peak = np.pi * stp[k] / (2 * ct[k]) * p["near"][k]
            fl = p["flight"]
            comp = p["impulse"][k] / (2 * ct[k] / np.pi) / p["com_scale"]
            vert = fl + np.bincount(
                idx, weights=((1 - fl) * peak - comp) * np.sin(np.pi * tau / ct[k]), minlength=n)
            ap = np.bincount(idx, weights=-p["ap"] * np.sin(2 * np.pi * tau / ct[k]), minlength=n)
        else:
            idx, k = _spans(t, ic, ic + stp)
            tau = t[idx] - ic[k]
            comp = p["impulse"][k] / (2 * stp[k] / np.pi) / p["com_scale"]
            vert = 1.0 + np.bincount(
                idx, weights=p["vert"] * p["near"][k] * np.cos(2 * np.pi * (tau / stp[k] - 0.1))
                - comp * np.sin(np.pi * tau / stp[k]), minlength=n)
            ap = np.bincount(idx, weights=-p["ap"] * np.sin(2 * np.pi * tau / stp[k]), minlength=n)
        idx, k = _spans(t, ic, ic + stp)
        tau = t[idx] - ic[k]
        ml = np.bincount(idx, weights=p["ml"] * sides[k] * np.sin(np.pi * tau / stp[k]),
                         minlength=n)
        scale = p["com_scale"]
        f[:, 2] = 1.0 + env * (vert - 1.0) * scale
        f[:, 1] = env * ap * scale
        f[:, 0] = env * ml * scale
        # segment orientation relative to the world, and its motion relative to the trunk
        zero = np.zeros(n)
        pitch, roll, yaw = zero.copy(), zero.copy(), zero.copy()
        dpitch, droll, dyaw = zero.copy(), zero.copy(), zero.copy()
        pl = self.placement
        if pl in ("lower_back", "hip"):
            pitch = p["lean"] + env * p["tilt"] * np.cos(2 * ph)
            dpitch = -env * p["tilt"] * 2 * dph * np.sin(2 * ph)
            roll = env * p["obliquity"] * np.cos(ph)
            droll = -env * p["obliquity"] * dph * np.sin(ph)
            yaw = env * p["yaw"] * np.sin(ph)
            dyaw = env * p["yaw"] * dph * np.cos(ph)
        else:
            # a pendulum: arm (wrist, phone in hand), thigh (pocket) or strap (bag)
            own = 0.0 if self.side == "left" else np.pi
            if pl == "phone_pocket":  # thigh flexes most just before its own contact
                arg = ph - own + 0.15
            elif pl == "phone_bag":
                arg = 2 * ph
                dph = 2 * dph
            else:  # an arm swings forward with the opposite leg
                arg = ph - own - np.pi
            # the pendulum swings about its centre (hanging straight down but for a walker's
            # hand holding a phone: `_HAND_WALK`); the offset (elbow flexion, a flexed
            # thigh) only tilts the sensor
            amp, off = p["swing"], p["swing_offset"]
            ang = p["swing_centre"] + env * amp * np.cos(arg)
            dang = -env * amp * dph * np.sin(arg)
            ddang = -env * amp * dph**2 * np.cos(arg)
            r = p["radius"]
            if pl == "phone_bag":  # hanging bag: swings sideways at step frequency
                roll, droll = ang, dang
                f[:, 0] += -r * (ddang * np.cos(ang) - dang**2 * np.sin(ang)) / G
                f[:, 2] += r * (-ddang * np.sin(ang) + dang**2 * np.cos(ang)) / G
            else:
                pitch, dpitch = ang + env * off + p["lean"], dang
                f[:, 1] += r * (ddang * np.cos(ang) - dang**2 * np.sin(ang)) / G
                f[:, 2] += r * (ddang * np.sin(ang) + dang**2 * np.cos(ang)) / G
            yaw = env * p["yaw"] * np.sin(ph)
            dyaw = env * p["yaw"] * dph * np.cos(ph)
        rot = _rotations(pitch, roll, yaw)
        omega = _body_rates(pitch, roll, dpitch, droll, dyaw)
        return f, rot, omega

    # -- transients ----------------------------------------------------------------------
    def transients(self, t: np.ndarray, boxcar_s: float = 0.0) -> np.ndarray:
        """Sum of the impact transients at times ``t`` (N x 3, g), optionally box-car averaged.

        ``boxcar_s > 0`` models a sensor that outputs the mean of the signal
        over each output period (the low-pass of an oversampling accelerometer).
        """
        tr_t, amp, d = self.tr_t, self.tr_amp, self.tr_dir
        rise, dec, fr = self.tr_rise, self.tr_dec, self.tr_fr
        idx, k = _spans(t, tr_t, tr_t + rise + 8 * dec + boxcar_s)
        tau = t[idx] - tr_t[k]
        if boxcar_s > 0:
            s = (_transient_integral(tau, rise[k], dec[k], fr[k])
                 - _transient_integral(tau - boxcar_s, rise[k], dec[k], fr[k])) / boxcar_s
        else:
            s = _transient(tau, rise[k], dec[k], fr[k])
        return _accumulate(len(t), idx, (amp[k] * s)[:, None] * d[k])


def _finalize_pre(f_pre: np.ndarray, rot: np.ndarray | None) -> np.ndarray:
    """Segment-frame specific force from the transient-frame one."""
    if rot is None:
        return f_pre
    return np.einsum("nji,nj->ni", rot, f_pre)


# --------------------------------------------------------------------------- public API


def synthesize(
    placement: str = "foot",
    activity: str = "run",
    cadence_spm: float | None = None,
    duration_s: float = 60.0,
    fs_hz: float = 200.0,
    impact_g: float | tuple[float, float] | None = None,
    noise_g: float = 0.01,
    seed: int | None = 0,
    dropouts: int = 0,
    clip_range_g: float | None = None,
    jitter_s: float = 0.0,
    orientation: str | np.ndarray = "random",
    *,
    side: str = "left",
    gyro: bool | None = None,
    rest_s: float = 2.0,
    motion_noise_g: float = 0.03,
    step_cv: float | None = None,
    speed_mps: float | None = None,
    dropout_s: tuple[float, float] = (0.05, 0.5),
    irregular: float | None = None,
    gyro_noise_dps: float = 1.0,
    gyro_range_dps: float = 2000.0,
    averaging: bool = True,
) -> tuple[Recording, pd.DataFrame]:
    """Synthesize one body-worn sensor's recording of a run or walk with known contacts.

    Parameters
    ----------
    placement : str
        Where the sensor is worn, one of `PLACEMENTS`: ``foot`` (laces pod),
        ``ankle``, ``shank`` (these three see one foot), ``lower_back``,
        ``hip``, ``wrist``, ``phone_hand``, ``phone_pocket``, ``phone_bag``.
    activity : {"run", "walk"}
        Running (with a flight phase) or walking (with double support).
    cadence_spm : float, optional
        Mean cadence in steps per minute, both feet. Default 170 (run) or
        110 (walk); running is typically 140-200, walking 90-125.
    duration_s : float
        Length of the gait bout, s. The recording adds ``rest_s`` of standing
        before and after it. The bout holds ``round(cadence_spm * duration_s
        / 60)`` contacts of both feet.
    fs_hz : float
        Nominal sampling rate, Hz (designed for 25-1600).
    impact_g : float or (float, float), optional
        Peak resultant acceleration of each contact, g (gravity included);
        for a foot or an ankle, of its landing transient alone on a segment
        at rest (1 g plus the transient's peak: the swing's deceleration at
        contact adds to it, see ``contacts``).
        A float is the mean (8 % contact-to-contact variation); a pair is a
        range each contact's peak is drawn from uniformly. Default: a mean
        drawn per recording from a range typical of the placement and
        activity (e.g. foot running 7-14 g, lower back running 2.5-5 g).
    noise_g : float
        Standard deviation of white sensor noise per axis, g.
    seed : int or None
        Seed of every random choice; the same seed gives the same output.
        The gait and each of the sensor's impairments (sampling times,
        mounting, white and motion noise, gyroscope noise, dropouts, jitter)
        draw from their own streams: the same seed gives the same gait and
        dropouts with or without a gyroscope, noise or another rate.
    dropouts : int
        Number of runs of missing samples (time gaps), each lasting a
        duration drawn from ``dropout_s``.
    clip_range_g : float, optional
        Full-scale range: each axis saturates at +-``clip_range_g``. Also
        stored as ``Recording.range_g``.
    jitter_s : float
        Standard deviation of the error of each reported timestamp, s
        (independent per sample; larger than about a third of the sample
        period it makes timestamps non-monotonic, as arrival-time stamping
        does).
    orientation : {"random", "aligned"} or (3, 3) array
        Fixed rotation of the sensor axes relative to the segment: a random
        rotation (drawn from ``seed``), none, or the given matrix whose
        columns are the sensor axes in segment coordinates.
    side : {"left", "right"}
        The foot (single-foot placements), arm (wrist, phone in hand) or
        thigh (pocket) the sensor is on.
    gyro : bool, optional
        Include a gyroscope (deg/s). Default: yes for single-foot placements.
    rest_s : float
        Standing still before and after the bout, s.
    motion_noise_g : float
        Standard deviation per axis of band-limited (0.5-20 Hz) noise while
        moving (soft-tissue and unmodelled body motion), g.
    step_cv : float, optional
        Coefficient of variation of step intervals. Default 0.02 (run),
        0.025 (walk).
    speed_mps : float, optional
        Speed, m/s (default 3.2 running, 1.3 walking); sets the stride length
        of a single-foot sensor's swing (the trunk, arm and phone models do
        not depend on it).
    dropout_s : (float, float)
        Range of the length of each dropout, s.
    irregular : float, optional
        Relative standard deviation of the sampling intervals (the sample
        times themselves are irregular and reported exactly, as on phones).
        Default 0.1 for phones, 0 otherwise.
    gyro_noise_dps, gyro_range_dps : float
        Gyroscope white noise (deg/s per axis) and saturation (deg/s).
    averaging : bool
        Average the impact transient over each sample period, as an
        oversampling accelerometer's output filter does (default). False
        samples the continuous signal at points, so that a peak can be
        recovered by interpolating between samples.

    Returns
    -------
    recording : Recording
        ``t_s`` (s, reported timestamps), ``acc_g`` (N x 3, g, gravity
        included, sensor axes), ``gyro_dps`` (N x 3 or None), ``fs_hz``,
        ``placement``, ``side`` (single-foot placements), ``range_g``.
    contacts : pandas.DataFrame
        The true contacts the sensor should report, sorted by time: ``t_s``
        (initial contact, s: the onset of the impact transient), ``side``
        (``"left"``/``"right"``), ``impact_g`` (peak resultant of the
        noise-free, unclipped, continuous signal within 50 ms after contact,
        g), ``clipped`` (an axis saturated at ``clip_range_g`` within those
        50 ms), ``contact_ms`` (initial contact to toe-off, ms; NaN for a foot's
        last contact, after which it stays on the ground). Single-foot
        placements list only their own foot's contacts. ``contacts.attrs``
        holds ``gaps_s`` (list of (last sample before, first sample after)
        each dropout, true times), ``cadence_spm``, ``speed_mps``,
        ``activity``, ``orientation`` (the 3 x 3 mounting matrix) and
        ``impact_window_s``.

    Notes
    -----
    Units: time s, acceleration g (1 g = 9.80665 m/s^2), angular rate
    deg/s, angles degrees, lengths m.

    Frames: the world has x to the right, y forward (direction of travel)
    and z up. Each placement has a segment frame equal to the world frame
    when standing; the sensor axes are the segment axes rotated by
    ``orientation``. The accelerometer measures specific force (the
    segment's acceleration minus gravity): standing still it reads a
    resultant of 1 g.

    Gait timeline: step intervals ``60 / cadence_spm`` s vary by an AR(1)
    process (coefficient 0.5, coefficient of variation ``step_cv``) plus a
    left/right asymmetry of up to 2 %, feet alternating. Contact (stance)
    time is 0.7 step intervals running (duty factor 0.35, flight phase) and
    1.2 step intervals walking (double support), +-4 %.

    Single-foot sensors (foot, ankle, shank): the segment pitches about the
    mediolateral axis (x, toe-up positive). Its pitch rate is a sum of
    pulses per stride: a negative dip at toe-off (heel rise and push-off;
    foot 65 degrees walking, 85 running), a positive swing lobe, a negative
    dip at initial contact (foot flat, 5-20 degrees) and, for the shank, a
    negative rotation over stance (25-30 degrees, a half sine from the
    contact dip's centre to the push-off dip's); pitch is their exact
    integral and returns to the same angle every stride, so a foot's stance
    reads about 1 g. Walking (fitted to real foot IMUs): the push-off dip
    builds over the last 40 % of the contact, bottoms 12 ms before toe-off
    and ends about 25 ms after it; the swing lobe is a half sine filling
    the swing (foot about 280-360 deg/s); the contact dip is skewed (the
    minimum 10 ms after contact, a 100 ms recovery). Running: squared raised
    cosines centred on toe-off and initial contact, the swing lobe late in
    the swing (foot 570-820 deg/s at 140-200 steps/min). The gyroscope x
    axis of an aligned sensor is this pitch rate, with minima at (running)
    or near (walking) initial and terminal contact as in Falbriard et al.
    2018. From heel-off to 30-40 ms after contact the foot travels one
    stride length forward with a velocity ``sin^2(pi s^gamma)`` of the
    window fraction ``s`` that peaks at 65-70 % of it, so the foot
    decelerates hard (5-12 g running, peaking 30-60 ms before contact) into
    the contact, and lifts 0.10-0.15 m (squared raised cosine); a foot or
    ankle leaves the ground at the peak of a push-off burst (about 2.5 g
    forward-upward, 30 ms half-width, taken back over the early swing:
    `PUSH_OFF`), so its resultant peaks at toe-off as on real feet; an
    ankle sensor sees 75 % of these translational accelerations, a shank
    (mid-tibia) sensor 35 %. At
    initial contact an impact transient is added along the segment's long
    axis with a posterior component: a sharp part (sin^2 rise of 3-10 ms to
    the peak, then a cosine ringing at 15-35 Hz damped with a 10-20 ms time
    constant, gone after 30-60 ms) plus a broad part (25-45 %, rise
    12-20 ms, exponential decay 10-20 ms; heel pad and foot slap). A foot's
    or an ankle's transient peaks at the contact's impact less 1 g,
    whatever the swing before it (touchdown speed, shoe and ground set a
    landing); a shank's amplitude is solved so that the resultant peaks at
    the contact's impact. The other foot's contacts reach the sensor as a weak
    (0.15-0.3 g) smooth bump.

    Trunk and other placements see every contact. The centre of mass's
    vertical specific force is, running, half sines over the contacts (mean 1
    g, about 2-2.5 g peak) above a 0.1-0.4 g floor in flight and, walking, 1 g
    plus a cosine at step frequency (+-0.15-0.25 g at 110 steps/min, growing as
    cadence cubed: `_WALK_BOUNCE`; peak just after contact);
    braking then propulsion along y within each contact; lateral sway at
    stride frequency (x, alternating left and right); all ramped over one step
    at the start and end of the bout. Each contact adds a smoother transient,
    mostly vertical and leaning 6-17 degrees back (rise 8-40 ms, decay 10-55
    ms, no or slow ringing). Lower back and hip: pelvic tilt (step frequency),
    obliquity and rotation (stride frequency) of a few degrees, forward lean;
    a hip sensor feels its own leg's contacts more (+-5 %). Wrist and phone in
    hand: an arm pendulum swinging at stride frequency in phase with the
    opposite leg (wrist 15-25 degrees, radius 0.3 m running and 0.6 m walking;
    phone running 10-25 degrees, 0.5 m; walking 0-8.5 degrees about a centre 17
    degrees forward, 0.7 m, fitted to real phones in the hand). Phone in a pocket: the
    thigh, a 0.25 m pendulum swinging 18-32 degrees around a flexed mean, most
    flexed just before its own foot's contact; the far leg's impacts arrive
    weaker. Phone in a bag: a hanging bag swinging sideways at step frequency.
    Gravity is rotated into the segment frame by these orientations; their
    rates go to the gyroscope.

    Sensor: true sample times are a uniform grid (irregular for phones);
    the impact transient is averaged over one sample period, as an
    oversampling accelerometer's output filter does, so low rates see a
    lower, wider peak (a foot sensor reads about 73 % of the true peak at
    100 Hz, 90 % at 200 Hz, 99 % at 1000 Hz; a lower-back sensor's smooth
    bumps 95-97 % walking and 87-92 % running at 100 Hz). Then come the mounting rotation, white and
    band-limited motion noise, clipping per axis at ``clip_range_g``,
    dropouts (removed samples) and timestamp jitter. The gyroscope gets
    white noise and saturates at ``gyro_range_dps``.
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"placement {placement!r} is not one of {', '.join(PLACEMENTS)}")
    if activity not in ("run", "walk"):
        raise ValueError(f"activity must be 'run' or 'walk', got {activity!r}")
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    run = activity == "run"
    cadence = float(cadence_spm if cadence_spm is not None else (170.0 if run else 110.0))
    if not 40.0 <= cadence <= 260.0:
        raise ValueError(f"cadence_spm {cadence} is outside 40-260")
    if not 10.0 <= fs_hz <= 4000.0:
        raise ValueError(f"fs_hz {fs_hz} is outside 10-4000")
    if duration_s <= 0 or rest_s < 0:
        raise ValueError("duration_s must be positive and rest_s non-negative")
    rng = np.random.default_rng(seed)  # the gait
    # the sensor's impairments draw from streams of their own: switching one on or off, or
    # another rate, leaves the gait and the other impairments as they were
    sampling, mounting, white, motion, spin, drops, stamps = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7))
    single = placement in SINGLE_FOOT
    with_gyro = single if gyro is None else bool(gyro)
    phone = placement.startswith("phone")
    irr = (0.1 if phone else 0.0) if irregular is None else float(irregular)
    cv = (0.02 if run else 0.025) if step_cv is None else float(step_cv)
    speed = float(speed_mps if speed_mps is not None else (3.2 if run else 1.3))

    # ---- contact timeline
    period = 60.0 / cadence
    n = max(4, round(cadence * duration_s / 60.0))
    e = np.empty(n - 1)
    z = rng.standard_normal(n - 1)
    acc = 0.0
    for i in range(n - 1):  # AR(1), unit variance
        acc = 0.5 * acc + np.sqrt(0.75) * z[i]
        e[i] = acc
    first = 1 if rng.random() < 0.5 else -1
    sides = first * np.where(np.arange(n) % 2 == 0, 1, -1)
    asym = rng.uniform(-0.02, 0.02)
    intervals = period * (1.0 + cv * e + asym * sides[:-1])
    intervals *= period / intervals.mean()
    ct0 = (0.7 if run else 1.2) * period
    lead = 2 * period - ct0
    t_ic = rest_s + lead + np.concatenate([[0.0], np.cumsum(intervals)])
    ct = ct0 * (1.0 + 0.04 * rng.standard_normal(n))
    nxt_same = np.concatenate([t_ic[2:] - t_ic[:-2], [np.inf, np.inf]])
    ct = np.minimum(ct, nxt_same - 0.12)
    t_tc = t_ic + ct
    last_left = np.flatnonzero(sides == 1)[-1]
    last_right = np.flatnonzero(sides == -1)[-1]
    t_tc[[last_left, last_right]] = np.nan
    # from the contact times themselves: a cumsum's rounding put one step's end an ulp past
    # the next contact, whose instant then got two steps' vertical force
    step_s = np.concatenate([np.diff(t_ic), [period]])
    t_end = float(t_ic[-1] + 0.6 + rest_s)

    # ---- per-recording shape parameters
    params: dict = {"rng": rng, "ct0": ct0, "lift": rng.uniform(0.8, 1.2)}
    if not single:
        params.update(
            ap=rng.uniform(0.3, 0.5) if run else rng.uniform(0.12, 0.2),
            vert=rng.uniform(*_WALK_BOUNCE["g"])
            * (1.0 if run else (cadence / _WALK_BOUNCE["ref_spm"]) ** _WALK_BOUNCE["exponent"]),
            ml=(rng.uniform(0.15, 0.25) if run else rng.uniform(0.08, 0.15))
            * (1.5 if placement == "hip" else 1.0),
            com_scale={"phone_bag": 0.8, "wrist": 0.85, "phone_hand": 0.8}.get(placement, 1.0),
            lean=-(rng.uniform(5, 10) if run else rng.uniform(1, 5)) * _DEG,
            tilt=rng.uniform(1.5, 3.0) * _DEG,
            obliquity=rng.uniform(2.0, 5.0) * _DEG,
            yaw=rng.uniform(3.0, 7.0) * _DEG,
            swing=0.0, swing_offset=0.0, swing_centre=0.0, radius=0.0,
            flight=rng.uniform(0.1, 0.4),
            near=np.where(sides == (1 if side == "left" else -1), 1.05, 0.95)
            if placement == "hip" else np.ones(n),
        )
        if placement == "wrist":
            params.update(swing=rng.uniform(15, 25) * _DEG,
                          radius=0.3 if run else 0.6,
                          swing_offset=(60.0 if run else 10.0) * _DEG)
        elif placement == "phone_hand":
            if run:
                params.update(swing=rng.uniform(10, 25) * _DEG, radius=0.5,
                              swing_offset=40.0 * _DEG)
            else:
                params.update(swing=rng.uniform(*_HAND_WALK["swing_deg"]) * _DEG,
                              radius=_HAND_WALK["radius_m"], swing_offset=20.0 * _DEG,
                              swing_centre=_HAND_WALK["centre_deg"] * _DEG)
        elif placement == "phone_pocket":
            params.update(swing=(rng.uniform(25, 32) if run else rng.uniform(18, 24)) * _DEG,
                          radius=0.25, swing_offset=(10.0 if run else 7.0) * _DEG, lean=0.0)
        elif placement == "phone_bag":
            params.update(swing=rng.uniform(3, 8) * _DEG, radius=0.3, swing_offset=0.0)
    gait = _Gait(placement, activity, side, t_ic, sides, t_tc, step_s, period, speed, params)
    own = gait.own

    # ---- impact targets and transient shapes
    k_own = int(own.sum())
    if impact_g is None:
        lo, hi = _IMPACT_RANGE[placement][activity]
        target = rng.uniform(lo, hi) * (1.0 + 0.08 * rng.standard_normal(k_own))
        target = np.clip(target, lo * 0.8, hi * 1.2)
        if placement in ("hip", "phone_pocket"):  # the far leg's contacts arrive weaker
            far = sides[own] != (1 if side == "left" else -1)
            target[far] = 1.0 + (target[far] - 1.0) * (0.85 if placement == "hip" else 0.5)
    elif np.ndim(impact_g) == 0:
        target = float(impact_g) * (1.0 + 0.08 * rng.standard_normal(k_own))
    else:
        lo, hi = impact_g
        target = rng.uniform(lo, hi, k_own)
    target = np.maximum(target, 1.0)
    (r_lo, r_hi), (d_lo, d_hi), (f_lo, f_hi) = _TRANSIENT[placement]
    rise = rng.uniform(r_lo, r_hi, k_own) / 1000
    dec = rng.uniform(d_lo, d_hi, k_own) / 1000
    fr = rng.uniform(f_lo, f_hi, k_own)
    if single:
        d = np.stack([0.1 * rng.standard_normal(k_own), -rng.uniform(0.2, 0.5, k_own),
                      np.ones(k_own)], 1)
    else:
        d = np.stack([0.05 * rng.standard_normal(k_own), -rng.uniform(0.1, 0.3, k_own),
                      np.ones(k_own)], 1)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    t_own = t_ic[own]

    # a foot's impact also has a broader component (heel pad and foot slap), a share beta of it
    beta = rng.uniform(0.25, 0.45, k_own) if single else np.zeros(k_own)
    rise2 = rng.uniform(12.0, 20.0, k_own) / 1000
    dec2 = rng.uniform(10.0, 20.0, k_own) / 1000

    # each transient's amplitude: the landing's own size (`_FITTED_FEET`), else solved so
    # that the resultant peaks at the target
    grid = np.linspace(0.0, IMPACT_WINDOW_S, 101)
    tt = (t_own[:, None] + grid[None, :]).ravel()
    g2 = np.broadcast_to(grid, (k_own, len(grid))).copy()

    def col(x: np.ndarray) -> np.ndarray:
        return np.repeat(x[:, None], len(grid), 1)

    shape = ((1 - col(beta)) * _transient(g2, col(rise), col(dec), col(fr))
             + col(beta) * _transient(g2, col(rise2), col(dec2), np.zeros_like(g2)))
    ipk = np.argmax(shape, axis=1)
    # impulse of the unit transient (integral to infinity), g s
    w_r = 1.0 / dec
    unit_impulse = rise / 2 + w_r / (w_r**2 + (2 * np.pi * fr) ** 2)
    amp = np.zeros(k_own)
    # trunk placements: the contact's vertical impulse is fixed by body weight, so the
    # transient's impulse is taken out of the same contact's centre-of-mass bump (two
    # passes: the bump changes the base the amplitude is solved on)
    for _ in range(1 if single else 2):
        params["impulse"] = amp * unit_impulse * d[:, 2]
        f_pre, _, _ = gait.kinematics(tt)
        base = f_pre.reshape(k_own, len(grid), 3)

        def peaks(a: np.ndarray, base: np.ndarray = base) -> np.ndarray:
            tot = base + a[:, None, None] * shape[:, :, None] * d[:, None, :]
            return np.linalg.norm(tot, axis=2).max(axis=1)

        if placement in _FITTED_FEET:  # the landing's own size, on top of the swing
            amp = np.maximum(target - 1.0, 0.0) / shape.max(axis=1)
            continue
        b = base[np.arange(k_own), ipk]
        bd = np.einsum("ki,ki->k", b, d)
        amp = -bd + np.sqrt(np.maximum(bd**2 - np.einsum("ki,ki->k", b, b) + target**2, 0.0))
        amp = np.maximum(amp / shape.max(axis=1), 0.0)
        for _ in range(8):
            amp = np.maximum(amp + (target - peaks(amp)), 0.0)
    truth_impact = peaks(amp)

    # transients: sharp and broad parts of each contact; for single-foot sensors the other
    # foot's contacts as weak smooth bumps (not contacts of this sensor)
    tr = [(t_own, amp * (1 - beta), d, rise, dec, fr)]
    if single:
        tr.append((t_own, amp * beta, d, rise2, dec2, np.zeros(k_own)))
        t_far = t_ic[~own]
        m = len(t_far)
        tr.append((t_far, rng.uniform(0.15, 0.3, m), np.tile([0.0, 0.0, 1.0], (m, 1)),
                   np.full(m, 0.015), np.full(m, 0.025), np.zeros(m)))
    gait.tr_t, gait.tr_amp, gait.tr_dir, gait.tr_rise, gait.tr_dec, gait.tr_fr = (
        np.concatenate(x) for x in zip(*tr, strict=True))

    # ---- sampling
    dt = 1.0 / fs_hz
    m = int(np.floor(t_end * fs_hz)) + 1
    if irr > 0:
        steps = dt * np.clip(1.0 + irr * sampling.standard_normal(m - 1), 0.2, None)
        t_true = np.concatenate([[0.0], np.cumsum(steps)])
        t_true = t_true[t_true <= t_end]
    else:
        t_true = np.arange(m) * dt
    # the model is a function of time only: evaluate it in blocks to bound temporaries
    f_seg = np.empty((len(t_true), 3))
    omega = np.empty((len(t_true), 3))
    for i0 in range(0, len(t_true), _BLOCK):
        tb = t_true[i0:i0 + _BLOCK]
        f_pre, rot, omega[i0:i0 + _BLOCK] = gait.kinematics(tb)
        f_pre += gait.transients(tb, boxcar_s=dt if averaging else 0.0)
        f_seg[i0:i0 + _BLOCK] = _finalize_pre(f_pre, rot)
    if isinstance(orientation, str):
        if orientation == "random":
            mount = _random_rotation(mounting)
        elif orientation == "aligned":
            mount = np.eye(3)
        else:
            raise ValueError(f"orientation must be 'random', 'aligned' or a 3x3 matrix, "
                             f"got {orientation!r}")
    else:
        mount = np.asarray(orientation, float)
        if (mount.shape != (3, 3) or not np.allclose(mount.T @ mount, np.eye(3), atol=1e-6)
                or np.linalg.det(mount) <= 0):  # a mirror flips the gyroscope's sign
            raise ValueError("orientation matrix must be a 3 x 3 rotation")
    acc_g = f_seg @ mount
    moving = (t_true > t_ic[0] - 2 * period) & (t_true < t_ic[-1] + period)
    acc_g += noise_g * white.standard_normal(acc_g.shape)
    if motion_noise_g > 0:
        acc_g += _band_noise(motion, t_true, t_end, motion_noise_g) * moving[:, None]
    # a contact is clipped where an axis saturates within its impact window
    clipped = np.zeros(k_own, bool)
    if clip_range_g is not None:
        saturated = np.r_[0, np.cumsum((np.abs(acc_g) >= clip_range_g).any(axis=1))]
        lo, hi = np.searchsorted(t_true, [t_own, t_own + IMPACT_WINDOW_S], side="left")
        clipped = saturated[hi] > saturated[lo]
        acc_g = np.clip(acc_g, -clip_range_g, clip_range_g)
    gyro_dps = None
    if with_gyro:
        gyro_dps = (omega / _DEG) @ mount
        gyro_dps += gyro_noise_dps * spin.standard_normal(gyro_dps.shape)
        gyro_dps = np.clip(gyro_dps, -gyro_range_dps, gyro_range_dps)

    keep = np.ones(len(t_true), bool)
    gaps: list[tuple[float, float]] = []
    if dropouts:
        lo_t, hi_t = 1.0, t_end - 1.0
        for _ in range(int(dropouts)):
            length = min(drops.uniform(*dropout_s), max(0.0, hi_t - lo_t))  # inside the recording
            a = drops.uniform(lo_t, hi_t - length)
            keep &= ~((t_true >= a) & (t_true < a + length))
        kept = np.flatnonzero(keep)
        jumps = np.flatnonzero(np.diff(kept) > 1)
        gaps = [(float(t_true[kept[j]]), float(t_true[kept[j + 1]])) for j in jumps]
    t_rep = t_true[keep]
    if jitter_s > 0:
        t_rep = t_rep + jitter_s * stamps.standard_normal(len(t_rep))
    rec = Recording(
        t_s=t_rep,
        acc_g=acc_g[keep],
        fs_hz=float(fs_hz),
        placement=placement,
        gyro_dps=None if gyro_dps is None else gyro_dps[keep],
        side=side if single else None,
        range_g=clip_range_g,
        device="synthetic",
    )
    tc_own = t_tc[own]
    truth = pd.DataFrame({
        "t_s": t_own,
        "side": np.where(sides[own] == 1, "left", "right"),
        "impact_g": truth_impact,
        "clipped": clipped,
        "contact_ms": 1000.0 * (tc_own - t_own),
    })
    truth.attrs.update(
        gaps_s=gaps, cadence_spm=cadence, speed_mps=speed, activity=activity,
        orientation=mount.tolist(), impact_window_s=IMPACT_WINDOW_S,
    )
    return rec, truth


#: `synthesize_gait_change` fades the first bout into the second over this long: the join
#: itself is no jolt.
CROSSFADE_S = 0.05


def _mid_step(truth: pd.DataFrame, k: int, side: str) -> float:
    """Halfway from the first `side` contact at or after index `k` of `truth` to the next one.

    The next one is the other foot's contact where `truth` holds both feet's
    (half a step later), the same foot's where it holds one (half a stride).
    """
    first = int(np.flatnonzero(truth["side"].to_numpy()[k:] == side)[0]) + k
    t = truth["t_s"].to_numpy()
    return float(0.5 * (t[first] + t[first + 1]))


def synthesize_gait_change(
    placement: str,
    first: str,
    second: str,
    cadences_spm: tuple[float, float],
    duration_s: float = 40.0,
    fs_hz: float = 200.0,
    **kwargs: Any,
) -> tuple[Recording, pd.DataFrame]:
    """Synthesize a bout of one gait straight into a bout of another, with no stop.

    Two bouts from `synthesize` with the same keyword arguments (the same
    seed: the same mounting and side) are joined at the same phase of the
    stride (to the nearest sample), halfway from a contact of the sensor's
    side (the left one for a sensor that sees both feet) to the next contact:
    the first such contact from the first bout's sixth contact from its end,
    and from the second's fifth from its start (its standing and first steps
    left out). The last `CROSSFADE_S` before the join fade linearly from the
    first bout into the second.

    Parameters
    ----------
    placement : str
        Where the sensor is worn (see `synthesize`).
    first, second : {"run", "walk"}
        The gaits before and after the change.
    cadences_spm : tuple of float
        Their cadences, steps/min.
    duration_s : float
        Length of each bout as synthesized, s (the joined recording is
        shorter: each bout loses its end or its start).
    fs_hz : float
        Sampling rate, Hz.
    **kwargs
        Passed to `synthesize` for both bouts (noise, seed, dropouts, ...).

    Returns
    -------
    recording : Recording
        The joined recording (gyroscope joined likewise where present).
    contacts : pandas.DataFrame
        The true contacts of both bouts on the joined clock (see
        `synthesize`); ``attrs`` holds ``gaps_s`` (both bouts' dropouts) and
        ``change_s`` (the time of the join, s).
    """
    (ra, xa), (rb, xb) = (
        synthesize(placement, gait, cadence, duration_s, fs_hz, **kwargs)
        for gait, cadence in zip((first, second), cadences_spm, strict=True)
    )
    side = ra.side or "left"
    ta = _mid_step(xa, len(xa) - 6, side)
    shift = round((ta - _mid_step(xb, 4, side)) * fs_hz) / fs_hz  # whole samples: one grid
    tb = ta - shift
    keep_a, keep_b = ra.t_s < ta, rb.t_s >= tb
    t_a = ra.t_s[keep_a]
    fade = np.clip((t_a - (ta - CROSSFADE_S)) / CROSSFADE_S, 0.0, 1.0)[:, None]

    def joined(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        b_at = np.column_stack([np.interp(t_a - shift, rb.t_s, b[:, c]) for c in range(3)])
        return np.vstack([(1 - fade) * a[keep_a] + fade * b_at, b[keep_b]])

    gyro = None
    if ra.gyro_dps is not None and rb.gyro_dps is not None:
        gyro = joined(ra.gyro_dps, rb.gyro_dps)
    rec = Recording(
        t_s=np.concatenate([t_a, rb.t_s[keep_b] + shift]),
        acc_g=joined(ra.acc_g, rb.acc_g),
        fs_hz=ra.fs_hz,
        placement=placement,
        gyro_dps=gyro,
        side=ra.side,
        range_g=ra.range_g,
        device="synthetic",
    )
    after = xb[xb["t_s"] >= tb].copy()
    after["t_s"] += shift
    truth = pd.concat([xa[xa["t_s"] < ta], after], ignore_index=True)
    truth.attrs.update(
        gaps_s=[g for g in xa.attrs["gaps_s"] if g[1] < ta]
        + [(g0 + shift, g1 + shift) for g0, g1 in xb.attrs["gaps_s"] if g0 >= tb],
        change_s=ta,
    )
    return rec, truth
