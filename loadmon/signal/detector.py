"""One foot-contact detector for files and live streams.

The detector is causal and chunk-invariant: `ContactDetector.push` accepts any
slicing of a stream (one sample at a time, BLE notifications, a whole file)
and produces exactly the same contacts, because every stage carries its state
across calls and every decision looks at a fixed window of samples:

1. **clean**: rows with NaN/inf values or values no body makes (beyond
   `MAX_ACC_G` or `MAX_RATE_DPS`: a corrupted sample), or whose timestamp does
   not increase, are dropped (counted in `ContactDetector.dropped`);
2. **resample**: linear interpolation onto a uniform grid at the nominal rate
   (timestamps may jitter or gap; gaps are bridged and counted). A gap of
   `MAX_BRIDGE_S` or more is not bridged: the stream so far is decided as at
   its end and the detector starts afresh from the sample after it; a sample
   that far ahead of its neighbours on both sides is a stray timestamp and is
   dropped (the sample after a jump tells which: it waits for it);
3. **features**: causal filters with carried state (IIR `scipy.signal.sosfilt`,
   and for the trunk a linear-phase FIR smoother) give a contact score, a
   refinement signal and an activity signal;
   where the profile has a running band (phones), a running
   autocorrelation (`CadenceTracker`) tells running from walking and the
   score comes from the band of the current gait;
4. **candidates**: a sample is a candidate when its score is the maximum of
   the window of ``±candidate_window_s`` around it, so it is decided once that
   window has arrived (bounded look-ahead);
5. **refine and classify**: the contact time is the onset of the transient
   near the candidate (or, for placements timed by the score's peak, the
   peak's sub-sample position: the vertex of a parabola through three
   samples); for foot-mounted sensors a candidate is an initial
   contact when the foot is much quieter after it than before it (swing ends
   in stance), otherwise it is a push-off and not a contact. Candidates are
   decided in the order of their onsets, each once the windows it reads have
   arrived;
6. **accept**: an impact score must stand out of the sensor's noise floor
   (`FLOOR_RATIO`), and the limb must swing into it (`MOTION_G`); a refractory
   interval (while running, a fraction of the tracked step period) and a
   threshold relative to the recent accepted scores reject ringing and small
   bumps (for the wrist and phones, the impact must also load the body like
   the recent contacts: a band-passed score rings on after the body stops; a
   bout's first contact must load it at all, `START_LOAD_G`); the recent
   contacts are forgotten after `FORGET_S` without one, or when the tracked
   gait changes (a run's references do not judge a walk's steps); with a foot
   or shank gyroscope a contact must end a swing (the pitch rate crosses from
   swing to stance; a shank's must also follow one, `Profile.follows_swing`),
   and a weaker candidate still counts when it does and the foot swung before
   it (soft last steps before stopping, impacts blurred by a low rate; not a
   bump in a slow walk's stance); without one, a regular gait vouches instead:
   a candidate where the next contact of a steady stride is due counts under
   the threshold (trunk, wrist, phones; a shank from
   `Profile.stride_threshold` of the reference) or despite a ringing landing
   read as a push-off (a foot or ankle sensor, when strong);
7. **toe-off** (foot and ankle): the stance of each contact ends at the pitch
   rate's minimum before the next swing with a gyroscope (Falbriard et al.
   2018), else at the push-off's peak resultant acceleration (its first clear peak
   after the quiet stance, not the swing's); it is reported
   as a `ToeOff` once found, apart from its `Contact`.

Latency: a contact is reported at most ``latency_s`` of stream time after it
happened, fed in notifications of up to `BATCH_S` of stream: at most 0.5 s for
every placement from its lowest rate up (`min_rate_hz`: 25 Hz, a shank 50 Hz).
A longer notification holds what it carries for its own length, and an
irregularly sampled stream adds the wait for the sample after a grid point (a
sample a long gap ahead, for the one after it). Its contact time comes with the
toe-off, which a walking stance (0.6-0.8 s) brings after the contact: with a
gyroscope once the next swing has started, without one at the end of a search
over 80 % of the stride. Memory is bounded by a buffer of about two seconds of
samples, whatever the stream's duration.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import signal as sps
from scipy.ndimage import maximum_filter1d, uniform_filter1d

from loadmon.signal.types import (
    CONTACT_COLUMNS,
    MAX_BRIDGE_S,
    SINGLE_FOOT,
    Recording,
    median_resultant_g,
    timing_problem,
    units_problem,
)


@dataclass(frozen=True, slots=True)
class Profile:
    """Parameters of the detector for one family of placements (the same for every recording).

    Attributes
    ----------
    score : {"hf_energy", "band_norm", "smooth_norm"}
        Candidate score: energy of the high-passed acceleration magnitude
        (impacts of a foot sensor), the band-passed magnitude (wrist, phones,
        a foot sampled below `LOW_RATE_HZ`), or the magnitude high-passed and
        smoothed by a linear-phase Gaussian kernel (trunk, see `_SmoothBand`).
    band_hz : tuple of float
        High-pass corner for ``hf_energy`` (first value) and its smoothing
        low-pass (second), the band of the band-pass scores, or for
        ``smooth_norm`` the high-pass corner and the half-power frequency of
        the Gaussian.
    candidate_window_s : float
        Half-width of the local-maximum window of the score.
    refine_s : tuple of float or None
        Window (start, end) relative to the candidate in which the onset of
        the transient is searched; None keeps the candidate's time.
    onset_fraction : float
        The onset is the first sample whose high-passed magnitude reaches this
        fraction of the window's maximum.
    onset_anchor : float or None
        The onset is instead the start of the run of samples reaching
        `onset_fraction` that leads to the first sample reaching this
        fraction of the window's maximum: a noise sample earlier in the
        window does not move it (see `SHANK`). None: the first sample.
    classify_s : tuple of float or None
        Window (from, to) after and before the contact over which the foot's
        activity is averaged; None accepts every candidate as a contact.
    quiet_ratio : float
        An initial contact has activity after / before below this ratio.
    min_interval_s : float
        Shortest interval between two contacts.
    relative_threshold : float
        A candidate's score must reach this fraction of the median score of
        the last `history` contacts.
    stride_threshold : float or None
        Without `classify_s`: a candidate under `relative_threshold` still
        counts where the next contact of a regular stride is due (see
        `ContactDetector._continues_stride`) when its score reaches this
        fraction of that median (0: any score); None: never.
    stronger_ends_refractory : bool
        A candidate within `min_interval_s` of the last contact still counts
        when that contact's score is under `relative_threshold` of its own
        (it would not have passed against it): the refractory interval keeps
        out what follows a contact, not a contact stronger than what it
        follows.
    history : int
        Number of recent contacts in that median.
    stance_s : tuple of float
        Plausible ground-contact time range (min, max) to pair a push-off
        with its initial contact.
    gyro_refine_s : tuple of float or None
        With a gyroscope: window (start, end) around the acceleration onset in
        which the initial contact is the minimum of the pitch angular velocity
        (Falbriard et al. 2018); the pitch axis is the main axis of rotation,
        signed so that the swing before the contact is positive.
    gyro_reach_s : float or None
        With `gyro_refine_s`: once the recent contacts have signed the pitch
        axis (see `ContactDetector._pitch_axis`), the gyroscope window reaches
        this long after the candidate instead; None: ``gyro_refine_s[1]``.
    landing_s : float or None
        With `gyro_refine_s`: the pitch minimum that times a contact is
        searched from the swing's end over this long at most (the landing,
        before the stance and the push-off); None: up to the window's end.
    follows_swing : bool
        With `gyro_refine_s`: every contact, not only a soft one, must follow a
        swing: the mean pitch rate over its late swing (the rate that votes on
        the axis's sign, `ContactDetector._late_swing_rate`) is a forward
        swing's (positive). False: only soft contacts are asked, and a swing
        is found by its peak (`SOFT_SWING_FRACTION`).
    event_offset_s : float
        Added to the delay-compensated feature time: where initial contact
        sits relative to the feature (the heel strike precedes the trunk's
        vertical-acceleration peak).
    min_score_g : float
        Scores below this (g) are sensor noise or a body at rest, never a contact.
    soft_threshold : float or None
        With a gyroscope and `gyro_refine_s`: a candidate below
        `relative_threshold` is still an initial contact when its score reaches
        this fraction of the reference (the last steps before stopping land
        softly; impacts sampled at a low rate vary from contact to contact)
        and the foot swung before it (`SOFT_SWING_FRACTION`): every contact
        read with a gyroscope window must end a swing (see `ContactDetector`).
        None disables it.
    run_band_hz : tuple of float or None
        Band of the score while the stream runs at a running cadence (see
        `CadenceTracker`); None keeps `band_hz` at every cadence. A band that
        separates walking steps from arm swing cuts off running steps (150-200
        steps/min are 2.5-3.3 Hz); one that reaches down to the running stride
        (1.2-1.7 Hz) reads one step a stride where a limb swings.
    load_fraction : float
        A contact loads the body: its impact (peak resultant, `IMPACT_WINDOW_S`)
        must exceed 1 g by at least this fraction of the median excess of the
        last `history` contacts. A band-passed score rings on for a period after
        the body stops, and its overshoot peaks where no step is (0 disables).
        A bout's first contact, with no recent ones, must exceed 1 g by
        `START_LOAD_G`.
    """

    score: str
    band_hz: tuple[float, float]
    candidate_window_s: float
    refine_s: tuple[float, float] | None
    onset_fraction: float
    classify_s: tuple[float, float] | None
    quiet_ratio: float
    min_interval_s: float
    relative_threshold: float
    history: int = 8
    stance_s: tuple[float, float] = (0.12, 0.95)
    gyro_refine_s: tuple[float, float] | None = None
    event_offset_s: float = 0.0
    min_score_g: float = 0.02
    run_band_hz: tuple[float, float] | None = None
    soft_threshold: float | None = None
    load_fraction: float = 0.0
    onset_anchor: float | None = None
    stride_threshold: float | None = 0.0
    stronger_ends_refractory: bool = False
    gyro_reach_s: float | None = None
    landing_s: float | None = None
    follows_swing: bool = False


FOOT = Profile(
    score="hf_energy",
    band_hz=(20.0, 2.5),
    candidate_window_s=0.10,
    refine_s=(-0.15, 0.05),
    onset_fraction=0.15,
    classify_s=(0.20, 0.40),
    quiet_ratio=0.4,
    min_interval_s=0.40,
    relative_threshold=0.3,
    gyro_refine_s=(-0.15, 0.10),
    soft_threshold=0.1,
)
#: The trunk sees each step as one broad loading wave with sub-peaks whose heights differ
#: between left and right steps and along a walk: a band-pass up to 4 Hz peaks on one
#: sub-peak or another (up to ~0.1 s apart), a linear-phase smoother once per step at the
#: wave's centre. With one peak per step the refractory interval only bounds sprinting
#: (0.22 s: 270 steps/min).
TRUNK = Profile(
    score="smooth_norm",
    band_hz=(0.5, 1.5),
    candidate_window_s=0.15,
    refine_s=None,
    onset_fraction=0.0,
    classify_s=None,
    quiet_ratio=1.0,
    min_interval_s=0.22,
    relative_threshold=0.2,
    event_offset_s=0.02,
)
#: A phone reads walking steps (1.5-2 Hz) below 2 Hz and running steps (2.3-3.4 Hz at
#: 140-200 steps/min) in a band above the running stride (1.2-1.7 Hz): a thigh in a pocket
#: and an arm swinging a phone swing once a stride, and with the band reaching down to
#: 0.8 Hz that swing outweighed every other step at 200 steps/min (synthetic running,
#: 25-1,600 Hz: F1 0.74-0.93, cadence a third low; from 1.5 Hz 0.98-0.99). A running band
#: from 1.8 Hz read slow walks' harmonics as running (the carpet walks at 85 steps/min,
#: 3-10 % of the time); from 1.5 Hz under 1 %, and every other DEV walk never.
PHONE = Profile(
    score="band_norm",
    band_hz=(0.5, 2.0),
    candidate_window_s=0.20,
    refine_s=None,
    onset_fraction=0.0,
    classify_s=None,
    quiet_ratio=1.0,
    min_interval_s=0.28,
    relative_threshold=0.2,
    history=16,
    event_offset_s=0.15,
    run_band_hz=(1.5, 4.0),
    load_fraction=0.2,
)
#: A phone carried in the hand swings with the arm once a stride: walking steps need a
#: band below 2 Hz to keep that swing out. The walking band starts at 0.2 Hz: with its
#: low edge at 0.5 Hz the band's phase delay at the step rate ran from -0.09 s at
#: 0.8 Hz (48 steps/min) to +0.12 s at 1.9 Hz, so slow steps
#: (a stroll, 80 steps/min) came up to 0.3 s early against brisk ones; from 0.2 Hz it
#: spans 0.05-0.12 s. The delay compensated (the group delay at the band's centre) is
#: then 0.05 s shorter, and the event offset 0.05 s smaller keeps the contact times of a
#: phone in the hand where those of the other phone placements are.
PHONE_HAND = replace(PHONE, band_hz=(0.2, 2.0), event_offset_s=0.10)
WRIST = Profile(
    score="band_norm",
    band_hz=(1.2, 5.0),
    candidate_window_s=0.15,
    refine_s=None,
    onset_fraction=0.0,
    classify_s=None,
    quiet_ratio=1.0,
    min_interval_s=0.25,
    relative_threshold=0.3,
    load_fraction=0.2,
)
#: A tibia keeps rotating through stance, so "quiet after the contact" does not
#: hold there; its impact dominates the push-off instead. Its impact is a third to a half
#: of the foot's (1.5-4 g walking) against the same sensor noise, and three things that the
#: foot's classification and gyroscope keep out decided its contacts (synthetic shank,
#: 50-1,600 Hz, walks at 90 and 120 steps/min, runs at 140-200, 10 seeds):
#:
#: - the onset: noise samples reach 15 % of a walking impact's high-passed peak, and the
#:   first one in the refinement window timed the contact 50-65 ms early (the window's
#:   start). The onset is the start of the run that leads to half the peak: the same sample
#:   as the first to reach 15 % where no noise comes before it;
#: - the stride: a single-leg sensor's other leg lands as regularly, half a stride away, and
#:   its late swing comes just before its contact. Vouched for at any score, a late-swing
#:   bump came before the impact, which the refractory interval then dropped, stride after
#:   stride (F1 0.3-0.6 at 140 steps/min); once the other leg's bumps got in, the "stride"
#:   was a step and vouched for them (walking cadence 75 % high). The weakest own impacts at
#:   50 Hz reach 0.22 of the recent median (1st percentile), late-swing bumps about 0.05:
#:   the stride vouches from 0.2 (never: 50 Hz runs lose 7 % of their contacts);
#: - the first contact of a bout has no reference: a late-swing bump accepted there kept
#:   every impact out by the refractory interval for the whole run (60 Hz, 140 steps/min:
#:   F1 0.08). A candidate over 1 / 0.45 times its score ends the refractory interval.
#:
#: With a gyroscope a shank is read as the literature reads a tibia's sagittal angular
#: velocity (Aminian et al. 2002, Salarian et al. 2004): a contact ends a swing, at the first
#: minimum after the swing's end. A walking shank's impact (1.5-4 g) scores like its push-off
#: and like the other leg's landing half a stride later; each contact must end a swing (the
#: foot's rule) and follow one (`Profile.follows_swing`: its late swing is a forward swing;
#: the tibia rotates backwards through stance into the push-off and swings forward after
#: it). At 1,000 Hz the gyroscope's noise crosses zero where the rate rises out of the
#: push-off into the swing, and the swing-end rule alone let jolts there through (synthetic
#: walks at 80 steps/min, 1,000 Hz, 8 seeds: F1 0.95, 0.87-1; with the rule 0.995, 0.97-1).
#: The rule reads the late swing's mean rate, not its peak (`SOFT_SWING_FRACTION`): 0.1-0.2 s
#: after the push-off the rate rising into the swing already peaks high in that window, while
#: its mean is still the push-off's. The contact dip (the heel strike stopping the tibia) lies
#: within 50 ms of the swing's end (`Profile.landing_s`); further on, the stance rotation, as
#: fast as the dip in a running stance, holds the minimum (synthetic runs at 155-200
#: steps/min: F1 0.98-0.99 searched over 0.1 s, 0.997-0.999 over 0.05). Timed by that minimum,
#: a walking contact at 50 Hz is no longer 15-40 ms late (the onset of a weak impact) nor, now
#: and then, 60-100 ms early (the swing's deceleration read as the onset). Without a
#: gyroscope the stride rule reads a shank as above.
SHANK = replace(
    FOOT, classify_s=None, relative_threshold=0.45, onset_anchor=0.5, stride_threshold=0.2,
    stronger_ends_refractory=True, landing_s=0.05, follows_swing=True,
)
#: Below `LOW_RATE_HZ` impacts are not resolved: the foot's 20 Hz high-pass needs 5 Hz of
#: band below Nyquist (at 40-45 Hz it kept 18-22 Hz: walking F1 0.59-0.66 without a
#: gyroscope on the DEV recordings resampled, against 0.71-0.75 read by the stride rhythm).
#: There a foot sensor is read by its stride rhythm. Without a gyroscope that score peaks
#: in the late swing, before the landing: 121-133 ms on the DEV walks resampled to
#: 25-45 Hz, 122-160 ms on synthetic walks and runs.
LOW_RATE_HZ = 50.0
#: With a gyroscope the band score's peak strays from mid-swing to the stance (DEV feet
#: resampled to 25 Hz: 113 contacts had no candidate within the gyroscope window of
#: (-0.15, +0.10) s; F1 0.915, at 40 Hz 0.922). Once the recent contacts have signed the
#: pitch axis the window reaches 0.20 s after the candidate (`Profile.gyro_reach_s`): a
#: candidate in mid-swing still finds the swing's end (0.2-0.3 s give the same DEV F1).
#: Three things make that safe (synthetic walks and runs at 25-45 Hz, 6 seeds: every cell
#: within 0.003 of the window of (-0.15, +0.10); the longer window alone read synthetic
#: runs at 170-200 steps/min with F1 0.01-0.8):
#:
#: - the pitch minimum is searched over the landing only, 0.1 s from the swing's end
#:   (`Profile.landing_s`: heel strike to foot flat): further on lies the push-off's dip,
#:   0.2-0.35 s after a running landing and 1.5 times the swing's peak rate (the DEV
#:   walks' median; synthetic 1.6-1.8), and the "clear minimum" test against the window's
#:   deepest sample passed the landing's dip over for it (contacts 0.2 s late);
#: - a bout's first contact, with no recent swings to sign the axis, keeps the short
#:   window: a candidate at a push-off signs the axis by the push-off before it, and with
#:   the longer window its swing's end was found and the wrong sign kept;
#: - a contact found past the short window votes on the sign by the late swing before
#:   the swing's end it was refined to (`ContactDetector._late_swing_vote`): before its
#:   candidate, in mid-swing, lie the push-off and the early swing (synthetic runs at
#:   140 steps/min: F1 0.97-0.99 otherwise, with a reach of 0.25 s).
#:
#: DEV feet resampled (with gyroscope): F1 0.934 at 25 Hz, 0.935 at 40 Hz.
FOOT_LOW_RATE = replace(
    FOOT, score="band_norm", band_hz=(0.5, 5.0), candidate_window_s=0.20, refine_s=None,
    event_offset_s=0.125, gyro_reach_s=0.20, landing_s=0.10,
)
PROFILES: dict[str, Profile] = {
    "foot": FOOT,
    "ankle": FOOT,
    "shank": SHANK,
    "lower_back": TRUNK,
    "hip": TRUNK,
    "wrist": WRIST,
    "phone_hand": PHONE_HAND,
    "phone_pocket": PHONE,
    "phone_bag": PHONE,
}

#: The detector reads steps and impacts from this rate up.
MIN_RATE_HZ = 25.0
#: A shank is read from `LOW_RATE_HZ` up. Below it a shank's sampled impact is smaller than
#: its late swing (at 25 Hz a sample period's average keeps 41-58 % of the impact: 2.7 g of
#: a 6.5 g running one against a 4.7 g swing), and no score tells the contacts from the swing
#: and the other leg's landings (synthetic walks at 25-30 Hz read 17-75 % too many steps).
#: A foot has the quiet-after test and its stride rhythm there (`FOOT_LOW_RATE`).
PLACEMENT_MIN_RATE_HZ = {"shank": LOW_RATE_HZ}


def min_rate_hz(placement: str) -> float:
    """Return the lowest sampling rate at which the detector reads a placement, Hz.

    Parameters
    ----------
    placement : str
        One of `loadmon.signal.types.PLACEMENTS`.

    Returns
    -------
    float
        `MIN_RATE_HZ`, or a placement's own higher minimum (a shank: `LOW_RATE_HZ`).
    """
    return PLACEMENT_MIN_RATE_HZ.get(placement, MIN_RATE_HZ)


#: Larger values are no body's motion but a corrupted sample (2.5 times the widest MEMS
#: ranges, +-400 g and +-4000 deg/s): the row is dropped, as it would ring through the
#: filters (or overflow them) for seconds.
MAX_ACC_G = 1000.0
MAX_RATE_DPS = 10_000.0
#: The relative threshold and the stride rhythm compare a candidate
#: with the recent contacts; after this long without one (two of the slowest walking
#: strides, `WALK_STRIDE_S`) there are none, and the next candidate starts afresh. Without
#: it a hard run followed by a gentle walk, or one ringing artefact, muted a sensor for good.
#: Where the running cadence is tracked (phones) a change of gait starts afresh too
#: (`ContactDetector._gait_changed`): a run straight into a walk lost its first walking steps
#: until the run's references were outvoted (pocket 4-12 of the first 19, in the hand 7-19).
FORGET_S = 3.2
#: An impact score (``hf_energy``) candidate must reach `FLOOR_RATIO` times the score's
#: lowest value over the `FLOOR_S` before it: a landing stands out of the sensor's noise
#: floor, which a walking or running foot reaches in every stance or swing. At rest the
#: score of white noise wanders within a factor of about 2 (1.5 at 1,000 Hz), and a
#: high-range sensor (a +-200 g tibial-shock accelerometer has tens of mg of noise)
#: passes `Profile.min_score_g`: a still shank pod reported 30-100 contacts a minute. The
#: floor is read once the score's smoothing has settled (a period of its low-pass corner
#: after a stream starts): no contact is reported before. Running at 50-60 Hz a landing's
#: blurred impact and the push-off keep the smoothed score from the floor between them,
#: and real landings fell under it (the DEV ankle run resampled to 52 Hz: 787 contacts
#: against 839 at 100 Hz; synthetic ankles with gyroscope at 60 Hz and 170 steps/min, 9
#: seeds: F1 0.957-1.000). Within a steady gait a candidate under the floor still counts
#: where the next contact of the stride is due and it reaches the relative threshold
#: (`ContactDetector._stride_due`): the ankle run keeps 808, the synthetic ankles read
#: 0.970-1.000. A sensor at rest cannot chain such contacts: the stride needs
#: `STRIDE_COUNT` regular intervals first.
FLOOR_S = 1.0
FLOOR_RATIO = 3.0
#: A contact ends a swing: over its late swing and its landing (from 0.3 s before the onset,
#: the window of `ContactDetector._swung`, to the end of `IMPACT_WINDOW_S`) the resultant
#: departs from its median over the window by `MOTION_G` at least, while a still sensor
#: reads gravity and its noise. At 50-60 Hz the noise floor alone does not tell them apart:
#: the 20 Hz high-pass keeps 5-10 Hz of band under Nyquist, and the smoothed energy of white
#: noise has 3-5 degrees of freedom (about twice that band times the 2.5 Hz low-pass's 0.18
#: s of integration; 12 at 100 Hz, 30 at 200 Hz), so its peaks passed 3 times the 1-s
#: minimum: a still shank with 40 mg of noise per axis reported 30-57 contacts a minute, a
#: foot or ankle up to 12. A ratio raised with the degrees of freedom drops landings first:
#: running at 50-52 Hz their scores stand as little above the floor, and the DEV ankle run
#: resampled to 52 Hz kept 780 / 713 / 535 of its 808 contacts at ratios 4 / 5 / 8 while the
#: still shank still read 28 / 18 / 6 a minute (a floor from a longer smoothing moves both
#: alike). The departure separates them at every rate: 0.2 g is 5 standard deviations of a
#: high-range (tibial-shock) sensor's 40 mg, which a window of its noise reaches once in
#: 70,000 at 50-100 Hz (once in 2,500 at 1,000 Hz, where the floor holds; with 50 mg once in
#: 400-800), and no DEV foot contact (50-200 Hz, the ankle run at 50-100 Hz) is lost under
#: 0.4 g, no synthetic one under 0.3 g (shank walks at 80 steps/min, 50-60 Hz, from 0.4 g);
#: the softest contacts found anywhere in the DEV foot recordings (steps into standing, some
#: after a trial's labels end) depart by 0.22-0.3 g. The median, not 1 g: a sensor's scale
#: is off by a few percent, and a still shank reading 0.9 or 1.1 g with 40 mg of noise
#: reported 5-13 contacts a minute at 50-60 Hz against 1 g; every figure above is the same
#: either way.
MOTION_G = 0.2
#: The first contact of a bout (no recent contacts to compare with, wrist and phones:
#: `Profile.load_fraction`) must load the body by this much over 1 g: every step raises the
#: resultant by the vertical oscillation of the centre of mass, and a sensor at rest reads
#: only its noise. Noise peaks at rest after a synthetic run reached 0.01-0.06 g (white
#: noise 0.02 g per axis) and were each a "first contact" once the references were forgotten
#: (15 on the wrist in 15 runs, 7 per phone placement); the DEV phones' contacts load 0.10 g
#: or more in 99.5 % of cases (median 0.44 g). Later contacts compare with the recent ones.
START_LOAD_G = 0.1
#: A contact's impact is the peak resultant over this window (from, to) around its time.
IMPACT_WINDOW_S = (-0.02, 0.08)
#: A contact timed by a smoothed score's peak (trunk, wrist, phones) sits within about this
#: much of the contact, either way (the sources' offsets run from -32 to +42 ms; synthetic
#: running, +40 to +100 ms): its impact window starts this long before it.
PEAK_TIMING_S = 0.05
#: Half-length of the Gaussian kernel of a ``smooth_norm`` score, in standard deviations.
SMOOTH_HALF_WIDTH = 3.0
#: `detect_contacts` feeds a recording to the online detector in blocks of this length.
OFFLINE_BLOCK_S = 60.0
#: Notifications are processed once this much stream has arrived (fewer filter calls
#: at high rates; counted in the latency).
BATCH_S = 0.04
MAX_LATENCY_S = 0.5
#: Smoothing of the angular-rate covariance whose main axis is the pitch axis.
PITCH_AXIS_LP_HZ = 0.2
#: The main axis of rotation comes with an arbitrary sign. A strapped sensor does not turn
#: over between contacts: while the axis stays within 30 degrees of the last contact's, it
#: keeps that sign, and the swing before each of the recent contacts votes on which way is
#: positive (`ContactDetector._pitch_axis`). One late-swing window alone misread it where
#: the onset strays from the landing: a band score peaking early in a running foot's swing at
#: 25 Hz put the window on the push-off (synthetic runs at 140 steps/min: F1 0.80, the
#: contacts 0.25 s early; with the vote 0.99). On the DEV feet the vote overrules the one
#: window 33 times in 1,936 (30 walks): F1 0.969 -> 0.975, 11 walks better, 2 worse. The
#: main axis of rotation moves off the pitch axis where the foot yaws (a turn: the DEV walks'
#: U-turns) and comes back with the eigenvector's arbitrary sign: an axis more than 30
#: degrees from the last contact's ends the vote (cosines of 0.7-0.95 give the same DEV
#: figures; carried through the turns, F1 0.965). A sensor turned over on its strap keeps
#: its axis line, and the vote keeps the old sign until `FORGET_S` passes without a contact
#: (synthetic runs and walks turned over mid-bout: 34 contacts lost in the next 10 s of 30
#: recordings, against 7 with one window).
AXIS_SAME_COS = math.cos(math.radians(30.0))
#: Axes of the angular-rate products smoothed into the covariance: xx, yy, zz, xy, xz, yz.
_PAIRS = np.array([(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]).T
#: Scales of the classification windows: walking, and running (shorter stance).
GAIT_SCALES = (1.0, 0.5, 0.35)
#: Cadence tracking (`CadenceTracker`): rate of the decimated stream, time constant of the
#: running autocorrelation, the step periods of running (lags of the autocorrelation
#: peak, s, searched within a slightly wider range) and the correlation it must reach.
#: The autocorrelation averages the products of the last `CADENCE_TAU_S`; a run puts 8-50
#: times a walk's power into the running band (synthetic phones and wrist). Weighed by their
#: power, the products of a run outweighed the walk after it for 5-11 s, and a stop for as
#: long (the normalising zero lag fades with the others): the first walking steps were read
#: in the running band and timed with its delay. So a quieter present weighs as much as the
#: louder past (`CadenceTracker`, ``follow_drops``): a run into a walk is left in 1-4 s, a
#: walk into a run entered in 1-2 s (a louder present outweighs the past by itself).
CADENCE_FS = 25.0
CADENCE_TAU_S = 3.0
RUN_STEP_S = (0.22, 0.40)
RUN_SEARCH_S = (0.18, 0.46)
RUN_MIN_CORR = 0.4
#: A maximum whose half lag is at least this fraction as correlated is read at the half lag.
OCTAVE_CORR = 0.7
#: While running, the refractory interval is this fraction of the tracked step period.
RUN_REFRACTORY = 0.6
#: A foot or ankle sensor without gyroscope walks while its impacts repeat with a stride of
#: `WALK_STRIDE_S` (under 126 steps/min; running strides are 0.6-0.85 s): a `CadenceTracker`
#: over `STRIDE_SEARCH_S`. While it walks only the walking scale of the quiet-after test
#: counts; the running scales let a walking push-off through (on the DEV walks 118 push-offs
#: passed them alone, against 13 contacts). So with a gyroscope below `LOW_RATE_HZ`: the band
#: score peaks just after the push-off as well as before the landing, and at 25-30 Hz the
#: running scales' windows are two samples, which can fall where the pitch rate crosses zero
#: between the push-off and the swing; a push-off read as a contact signs the pitch axis by
#: the push-off before it, so its end passes as a swing's end and the landing after it falls
#: in the refractory interval (synthetic foot walks at 90 steps/min and 30 Hz: F1 0.34,
#: every contact 0.3 s early; with the rule 0.95). The stride tracker weighs each product by
#: its power (``follow_drops`` False): following drops, the DEV foot walks without gyroscope
#: read F1 0.921 against 0.923.
WALK_STRIDE_S = (0.95, 1.6)
STRIDE_SEARCH_S = (0.45, 1.7)
WALK_MIN_CORR = 0.4
STRIDE_FS = 12.5
WALK_HOLD_S = 1.0
#: The peak pitch rate of the swing before a contact (which sets where the next swing starts,
#: `SWING_START_FRACTION`) is searched over this long before the onset.
SWING_PEAK_S = 0.5
#: A soft contact (`Profile.soft_threshold`) must follow a swing: the foot's pitch rate over
#: the 0.3 s before it peaks at this fraction of the recent contacts' mean late-swing
#: rate (their votes, `ContactDetector._pitch_axis`) or more. A slow walk's long stance holds
#: the pitch rate near zero, its noise crosses zero, and the other foot's landing there
#: passed as a soft contact ending a swing (synthetic ankle walks at 70 steps/min: up to 6
#: extra contacts in 35; at 60-70 steps/min F1 0.961 / 0.975 -> 0.972 / 0.988). The last step
#: into standing swings the foot a short way (0.2-0.45 of the walk's peak rate): on the DEV
#: feet 0.05-0.2 change nothing, 0.3 loses two such steps (one error more net) and 0.5
#: four, as asking for half of the recent swings' peak rate once lost 7.
SOFT_SWING_FRACTION = 0.1
#: The pitch minimum that times a contact is searched from this long before the
#: acceleration onset (further back it would be known later than `MAX_LATENCY_S`; 1 % of the
#: DEV recordings' minima lie earlier, by at most 0.12 s).
PITCH_LEAD_S = 0.06
#: A regular gait (`ContactDetector._continues_stride`): when each of the last
#: `STRIDE_COUNT` intervals between contacts lies within `STRIDE_REGULAR` of their median,
#: a candidate within `STRIDE_TOLERANCE` of that interval after the last contact is the
#: next contact even when its score is under the relative threshold (a running hip sensor
#: sees one side's steps much weaker now and then), and a candidate a foot sensor reads as
#: a push-off is a contact when its score also reaches `STRIDE_SCORE_FRACTION` of the
#: recent contacts' (the foot rings after a hard landing now and then, which the
#: quiet-after test misreads). A push-off comes a stance after its contact, a third to
#: two thirds of a stride, never a whole one.
STRIDE_COUNT = 4
STRIDE_REGULAR = 0.25
STRIDE_TOLERANCE = 0.15
STRIDE_SCORE_FRACTION = 0.5
#: Toe-off (placements with `Profile.classify_s`), searched from ``stance_s[0]`` after the
#: initial contact. With a gyroscope it is the minimum of the pitch angular velocity
#: before the next swing (Falbriard et al. 2018: 4 ms precision against force plates), the
#: swing starting where the pitch rate reaches `SWING_START_FRACTION` of the peak of the
#: swing before the contact, within ``stance_s[1]``. Without one it is the peak resultant
#: acceleration of the push-off, searched over `TOE_OFF_STRIDE_FRACTION` (from, to) of the
#: recent stride (stance is ~60 % of a walking stride, ~40 % of a running one; the landing's
#: ringing comes before, the next landing after the whole stride), when it stands
#: `PUSH_OFF_MIN_G` above the window's middle value (a last step into standing has no push-off).
#: The push-off is the first clear peak of the window, not its largest: the foot leaves the
#: ground at the end of the burst that lifts it out of the quiet stance, and the swing's own
#: accelerations come after it and may outgrow it (DEV ankle run, 158 steps/min: the
#: window's maximum timed 71 of 820 stances beyond 370 ms, at a swing hump; a synthetic
#: running foot's swing reaches 5-8 g against a 3-4 g push-off). Clear: on the resultant
#: smoothed over `PUSH_OFF_SMOOTH_S` (a centred mean: the push-off lasts 20-70 ms at half
#: height on the DEV feet and the ankle, a shoe's click in a gaitmap heel rise one sample),
#: the highest sample of that span around it, `PUSH_OFF_MIN_G` above the lowest before it
#: in the window (the quiet stance) and `PUSH_OFF_MIN_G` above the lowest after it before
#: anything exceeds it (the push ends before the swing accelerates the foot); without one,
#: the window's maximum. DEV feet without gyroscope, the same 1362 of 1542 stances timed:
#: error median +10 -> +0 ms, 90 % within 70 -> 59 ms (IPOL +20 -> +0, 70 -> 50; gaitmap
#: -68 -> -59, 83 -> 73); ankle run median 320 ms, IQR 310-330 -> 310-320, 95th percentile
#: 410 -> 340, beyond 370 ms 71 -> 14 stances.
SWING_START_FRACTION = 0.5
TOE_OFF_STRIDE_FRACTION = (0.2, 0.8)
PUSH_OFF_MIN_G = 0.5
PUSH_OFF_SMOOTH_S = 0.03


def profile_for(placement: str, fs_hz: float) -> Profile:
    """Return the detector parameters for a placement at a sampling rate.

    Parameters
    ----------
    placement : str
        One of `loadmon.signal.types.PLACEMENTS`.
    fs_hz : float
        Nominal sampling rate.

    Returns
    -------
    Profile
        `PROFILES[placement]`, or `FOOT_LOW_RATE` for a foot or ankle sensor
        sampled below `LOW_RATE_HZ`.
    """
    if fs_hz < LOW_RATE_HZ and PROFILES[placement] is FOOT:
        return FOOT_LOW_RATE
    return PROFILES[placement]


@dataclass(frozen=True, slots=True)
class Contact:
    """One detected initial contact (see `loadmon.signal.types.CONTACT_COLUMNS`).

    Its contact time comes later, in a `ToeOff`: a walking stance outlasts the
    detector's latency.
    """

    t_s: float
    side: str | None
    impact_g: float
    clipped: bool


@dataclass(frozen=True, slots=True)
class ToeOff:
    """The end of the stance of a contact reported earlier.

    Attributes
    ----------
    contact : Contact
        The initial contact whose stance ends here.
    contact_ms : float
        Ground contact time, initial contact to toe-off, ms.
    """

    contact: Contact
    contact_ms: float

    @property
    def t_s(self) -> float:
        """Time of the toe-off, s (on the contacts' clock)."""
        return self.contact.t_s + self.contact_ms / 1000.0


#: What `ContactDetector.push` and `ContactDetector.finish` return, in the order found.
GaitEvent = Contact | ToeOff


@dataclass(frozen=True, slots=True)
class _Stance:
    """An initial contact awaiting its toe-off (see `ContactDetector._toe_off`)."""

    ic: int  # sample index of the initial contact
    contact: Contact
    start: int  # first and last sample of the toe-off search
    end: int
    axis: np.ndarray | None  # signed pitch axis (gyroscope), else None
    swing_start: float  # pitch rate at which the next swing has started, deg/s


def _sos(kind: str, hz: float | Sequence[float], fs: float, order: int = 2) -> np.ndarray:
    nyq = 0.5 * fs
    if isinstance(hz, Sequence):
        lo, hi = hz
        hi = min(hi, 0.45 * fs)
        return sps.butter(order, [lo / nyq, hi / nyq], "bandpass", output="sos")
    return sps.butter(order, min(hz, 0.45 * fs) / nyq, kind, output="sos")


def _swing_ends(pitch: np.ndarray) -> np.ndarray:
    """Return where a pitch rate (swing positive) crosses from swing to stance (indices)."""
    return np.flatnonzero((pitch[:-1] > 0) & (pitch[1:] <= 0))


def _vertex(
    y0: np.ndarray, y1: np.ndarray, y2: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertex of the parabola through three consecutive samples ``y0, y1, y2``.

    Returns its position (in samples from the middle one), its height, and
    whether it is a maximum (elsewhere the first two are not meaningful).
    """
    den = y0 - 2 * y1 + y2
    with np.errstate(invalid="ignore", divide="ignore"):
        return 0.5 * (y0 - y2) / den, y1 - (y0 - y2) ** 2 / (8 * den), den < 0


def _group_delay_s(sos: np.ndarray, hz: float, fs: float) -> float:
    """Group delay of a filter at `hz`, s (phase slope; stable for narrow bands at high fs)."""
    w = np.array([hz * 0.999, hz * 1.001])
    _, h = sps.sosfreqz(sos, worN=w, fs=fs)
    phase = np.unwrap(np.angle(h))
    return float(-(phase[1] - phase[0]) / (2 * np.pi * (w[1] - w[0])))


class _Filter:
    """A causal IIR filter whose state carries over between chunks.

    A single second-order section runs as `scipy.signal.lfilter` of its
    coefficients (the same biquad, a quarter of `sosfilt`'s cost per call on the
    small chunks of a live stream); more sections run as `sosfilt`.
    """

    def __init__(self, sos: np.ndarray) -> None:
        self.sos = sos
        self._ba = (sos[0, :3], sos[0, 3:]) if sos.shape[0] == 1 else None
        self.zi: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.zi is None:  # start in the steady state of the first sample: no step transient
            zi = sps.lfilter_zi(*self._ba) if self._ba else sps.sosfilt_zi(self.sos)
            self.zi = (zi if x.ndim == 1 else zi[..., None] * np.ones(x.shape[1])) * x[0]
        if self._ba:
            y, self.zi = sps.lfilter(*self._ba, x, axis=0, zi=self.zi)
        else:
            y, self.zi = sps.sosfilt(self.sos, x, axis=0, zi=self.zi)
        return y


#: Denominator of an FIR filter run by `scipy.signal.lfilter` as a recursion (see `_SmoothBand`).
_NO_POLE = np.array([1.0, 0.0])


class _SmoothBand:
    """A high-pass (IIR) then a linear-phase Gaussian low-pass, state carried between chunks.

    The Gaussian kernel, truncated at `SMOOTH_HALF_WIDTH` standard deviations
    and applied causally, delays every frequency by the same half-length, so
    a peak of the smoothed signal keeps its place in the step's waveform
    whatever the waveform's harmonics; a causal IIR low-pass corner near the
    step frequency delays them unequally, and rings. The high-pass only
    removes gravity and slow drift.

    Parameters
    ----------
    band_hz : tuple of float
        High-pass corner, and the frequency where the Gaussian passes half
        the power.
    fs : float
        Sampling rate, Hz.
    """

    def __init__(self, band_hz: tuple[float, float], fs: float) -> None:
        hp = _sos("highpass", band_hz[0], fs)
        self._hp = _Filter(hp)
        # half power at band_hz[1]: exp(-(2 pi f sigma)^2 / 2) = 1 / sqrt(2)
        sigma = math.sqrt(math.log(2.0)) / (2 * math.pi * band_hz[1]) * fs
        half = max(1, math.floor(SMOOTH_HALF_WIDTH * sigma))
        kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
        self._b = kernel / kernel.sum()
        self._zi: np.ndarray | None = None
        # the kernel's half-length, and the high-pass's delay near walking steps (1.5-2 Hz)
        self.delay_s = half / fs + _group_delay_s(hp, band_hz[1], fs)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = self._hp(x)
        # as a recursion with a zero pole: scipy's FIR path convolves each chunk and adds
        # the carried state afterwards, which rounds differently at every chunk's start
        if self._zi is None:  # start in the steady state of the first sample
            self._zi = sps.lfilter_zi(self._b, _NO_POLE) * x[0]
        y, self._zi = sps.lfilter(self._b, _NO_POLE, x, zi=self._zi)
        return y


#: A sample this close to a grid point (in sample periods), either side, is on it: a clock
#: counting in its own units stamps samples an ulp either side of ``t0 + k / fs``.
GRID_TOL = 1e-9


class _Resampler:
    """Linear interpolation of an irregular stream onto the grid ``t0 + k / fs``."""

    def __init__(self, fs: float) -> None:
        self.fs = fs
        self.t0: float | None = None
        self.k = 0
        self.last_t: float | None = None
        self.last_x: np.ndarray | None = None
        self.gaps = 0

    def __call__(self, t: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(t) == 0:
            return np.empty(0), np.empty((0, x.shape[1]))
        if self.t0 is None:
            self.t0 = float(t[0])
        if self.last_t is not None:
            t = np.concatenate(([self.last_t], t))
            x = np.concatenate((self.last_x, x))
        self.gaps += int(np.count_nonzero(np.diff(t) > 4.0 / self.fs))
        k_end = math.floor((t[-1] - self.t0) * self.fs + GRID_TOL)
        ks = np.arange(self.k, k_end + 1)
        tg = self.t0 + ks / self.fs
        on_grid = t[len(t) - len(tg) :] if len(tg) <= len(t) else t[:0]
        if len(on_grid) == len(tg) and np.array_equal(on_grid, tg):
            xg = x[len(x) - len(tg) :]  # samples on the grid: interpolation would return them
        else:
            # a sample within `GRID_TOL` of a grid point is that point, whichever chunk
            # brings it: a chunk ending with it emits the point (see `k_end`) and np.interp
            # holds its value there, where a whole stream interpolated (not the same bits).
            # Either side: its position in sample periods and the grid point's time round
            # apart, so a sample an ulp before the point in time can read just after it.
            # Two samples that close to one point: the first, as a chunk ending with it does
            # (`k` does not decrease, and a sample after one beyond `GRID_TOL` past a point
            # is beyond it too: the first is the one after a sample on another point)
            u = (t - self.t0) * self.fs
            k = np.floor(u + GRID_TOL)  # as `k_end` reads it
            near = (k >= u - GRID_TOL) & (k >= self.k)
            near[1:] &= k[1:] != k[:-1]
            n_near = np.count_nonzero(near)
            if n_near < len(tg):  # some grid points lie between samples
                xg = np.column_stack([np.interp(tg, t, x[:, c]) for c in range(x.shape[1])])
            else:  # a sample on every grid point: nothing to interpolate
                xg = np.empty((len(tg), x.shape[1]))
            if n_near:
                xg[(k[near] - self.k).astype(np.int64)] = x[near]
        self.k = k_end + 1
        self.last_t, self.last_x = float(t[-1]), x[-1:].copy()
        return tg, xg


class _Tail:
    """The latest samples of a signal, appended in place.

    The detector keeps a couple of seconds of each feature signal; copying them
    whole at every batch (40 ms of stream) cost 10-25 us a batch at 1,600 Hz, a
    tenth of a batch's cost. New samples go into spare room after the kept ones
    instead, and when it runs out the kept ones move to a new array with as
    much room again: each sample is copied about once more, and memory stays
    within twice the kept and new samples. A view returned earlier is never
    written to.
    """

    def __init__(self) -> None:
        self._store: np.ndarray | None = None
        self._start = 0
        self._stop = 0

    def append(self, drop: int, values: np.ndarray) -> np.ndarray:
        """Drop the `drop` oldest samples and append `values`; return the samples kept.

        Parameters
        ----------
        drop : int
            Number of the oldest samples no longer needed.
        values : numpy.ndarray
            New samples, along the first axis.

        Returns
        -------
        numpy.ndarray
            The kept samples, oldest first (a view).
        """
        self._start += drop
        n = len(values)
        if self._store is None or self._stop + n > len(self._store):
            kept = self._stop - self._start
            store = np.empty((2 * (kept + n), *values.shape[1:]), values.dtype)
            if kept:
                store[:kept] = self._store[self._start : self._stop]
            self._store, self._start, self._stop = store, 0, kept
        self._store[self._stop : self._stop + n] = values
        self._stop += n
        return self._store[self._start : self._stop]


class CadenceTracker:
    """Causal running autocorrelation of a stream that tells a gait by its period.

    The stream is decimated to about `rate_hz` on its global sample index
    (so any chunking gives the same decimated samples); the products
    ``d[n] * d[n - lag]`` for lags up to ``search_s[1]`` are smoothed by a
    first-order low-pass of time constant `CADENCE_TAU_S` (carried state).
    The stream is in the gait when the normalised autocorrelation has an
    interior maximum at a lag inside `period_s` reaching `min_corr`. The
    defaults tell running steps: a clear periodicity of 150-270 steps/min.
    Walking steps (0.45-0.8 s) put the maximum at the edge of the search range
    or beyond it, and the harmonics of their double-humped pattern stay well
    below the threshold.

    Parameters
    ----------
    fs : float
        Rate of the stream, Hz.
    search_s : tuple of float
        Lags searched for the maximum, s.
    period_s : tuple of float
        Periods of the gait, s.
    min_corr : float
        Normalised autocorrelation the maximum must reach.
    rate_hz : float
        Rate of the decimated stream, Hz.
    hold_s : float
        The gait is reported once it has held this long without a break
        (its first estimates, from a few products, waver).
    follow_drops : bool
        Each product weighs at least as much as the stream's recent power
        (its squares smoothed as the products are): where the power of the
        samples it spans (the last lags) is below that, the product is
        scaled up to it. A stream that turns quieter (a run into a walk, or a
        stop) then weighs as much as its louder past, which fades within
        about `CADENCE_TAU_S` instead of outweighing it for several time
        constants (see `CADENCE_FS`); a louder one outweighs the past by
        itself. False: each product weighs as its power.
    """

    def __init__(
        self,
        fs: float,
        search_s: tuple[float, float] = RUN_SEARCH_S,
        period_s: tuple[float, float] = RUN_STEP_S,
        min_corr: float = RUN_MIN_CORR,
        rate_hz: float = CADENCE_FS,
        hold_s: float = 0.0,
        follow_drops: bool = True,
    ) -> None:
        self.k = max(1, round(fs / rate_hz))
        fsd = fs / self.k
        self.lags = np.arange(round(search_s[1] * fsd) + 1)
        self._lo = round(search_s[0] * fsd)
        # the lags of a gait's period: an interior maximum of the search range, within period_s
        self._step = (
            max(self._lo + 1, round(period_s[0] * fsd)),
            min(self.lags[-1] - 1, round(period_s[1] * fsd)),
        )
        self._ago = self.lags[-1] - self.lags  # d[n - lag] is ext[n + _ago[lag]] (`__call__`)
        self._min_corr = min_corr
        self._hold = round(hold_s * fs / self.k)
        self._held = 0  # decimated samples in the gait so far, without a break
        self._smooth = _Filter(_sos("lowpass", 1.0 / (2 * math.pi * CADENCE_TAU_S), fsd, order=1))
        # from rest: early estimates weigh the few products seen so far, with no start-up bias
        self._smooth.zi = np.zeros((2, len(self.lags)))
        self._hist = np.zeros(len(self.lags) - 1)  # last decimated samples, oldest first
        # the stream's recent power: the zero lag smoothed alike, without the scaling
        self._power: _Filter | None = None
        if follow_drops:
            self._power = _Filter(self._smooth.sos)
            self._power.zi = np.zeros(2)
        self._n = 0  # global index of the next sample
        self._fsd = fsd
        #: Period (s) found by the last decimated sample while in the gait, else 0.
        self.period_s = 0.0

    @property
    def running(self) -> bool:
        """Whether the stream is in the gait at its last decimated sample."""
        return self.period_s > 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Feed the next samples; return the period (s) in force at each, 0 out of the gait."""
        first = (-self._n) % self.k
        d = x[first :: self.k]
        self._n += len(x)
        if not len(d):
            return np.full(len(x), self.period_s)
        m = len(self._hist)
        ext = np.concatenate((self._hist, d))
        # products d[n] * d[n - lag] for every new decimated sample and lag
        idx = np.arange(len(d))[:, None] + self._ago
        prod = ext[m:, None] * ext[idx]
        if self._power is not None:
            # scaled up to the stream's recent power where the samples spanned are quieter:
            # the squares of the newest m of the m + 1 samples a row's products span,
            # over m + 1 (a steady stream reads 1 / (m + 1), 8 %, under its power: no
            # scaling), summed in one order whatever the chunking (a cumulative sum
            # rounds by where the chunk starts): oldest first, along each row
            sq = ext * ext
            spanned = np.add.accumulate(sq[idx[:, -2::-1]], axis=1)[:, -1] / (m + 1)
            recent = self._power(prod[:, 0])
            quieter = (spanned > 0) & (spanned < recent)
            prod = prod * np.where(quieter, recent / np.where(quieter, spanned, 1.0), 1.0)[
                :, None
            ]
        r = self._smooth(prod)
        rho = r / np.maximum(r[:, :1], 1e-12)
        peak = np.argmax(rho[:, self._lo :], axis=1) + self._lo
        best = rho[np.arange(len(rho)), peak]
        # an octave error: the maximum two periods away, the period itself nearly as
        # correlated (a steady gait repeats every stride and every two)
        half = peak // 2
        octave = rho[np.arange(len(rho)), half] >= OCTAVE_CORR * best
        peak = np.where(octave, half, peak)
        run = (peak >= self._step[0]) & (peak <= self._step[1]) & (best >= self._min_corr)
        if self._hold:  # in the gait for `hold_s` without a break (carried over calls)
            i = np.arange(len(run))
            last_out = np.maximum.accumulate(np.where(run, -1, i))
            held = np.where(last_out >= 0, i - last_out, i + 1 + self._held)
            held = np.where(run, held, 0)
            self._held = int(held[-1])
            run &= held >= self._hold
        self._hist = ext[len(ext) - m :]
        # each decimated sample's decision holds until the next one, the last call's
        # until the first
        per = np.where(run, peak / self._fsd, 0.0)
        lengths = np.full(len(d) + 1, self.k)
        lengths[0], lengths[-1] = first, len(x) - first - self.k * (len(d) - 1)
        periods = np.repeat(np.concatenate(([self.period_s], per)), lengths)
        self.period_s = float(per[-1])
        return periods


class ContactDetector:
    """Online foot-contact detector; feed it chunks with `push`, end with `finish`.

    Parameters
    ----------
    placement : str
        Where the sensor is worn (see `loadmon.signal.types.PLACEMENTS`).
    fs_hz : float
        Nominal sampling rate (the grid the stream is resampled onto).
    has_gyro : bool
        Whether `push` will receive angular rates.
    side : str or None
        Side of a single-foot sensor, copied to its contacts.
    range_g : float or None
        Sensor range (per axis): a contact whose impact window has an axis at
        98 % of it or more is marked clipped (its peak is a lower bound).
    profile : Profile or None
        Override the placement's parameters (not its lowest rate, `min_rate_hz`).

    Attributes
    ----------
    dropped : int
        Samples dropped: NaN/inf or beyond `MAX_ACC_G` / `MAX_RATE_DPS`, a
        timestamp not after the latest one, or a stray timestamp ahead.
    latency_s : float
        Stream time after a contact at which it is known at the latest.
    """

    def __init__(
        self,
        placement: str,
        fs_hz: float,
        has_gyro: bool = False,
        side: str | None = None,
        range_g: float | None = None,
        profile: Profile | None = None,
    ) -> None:
        # a placement's lowest rate is the sensor's physics, whatever the parameters
        lowest = min_rate_hz(placement)
        if not fs_hz >= lowest:  # also NaN
            need = "steps and impacts need" if lowest == MIN_RATE_HZ else (
                f"a {placement} sensor's impacts need (its swing outweighs them below)")
            raise ValueError(
                f"a sampling rate of {fs_hz:g} Hz is below the {lowest:g} Hz that {need}"
            )
        self.placement = placement
        self.p = profile or profile_for(placement, fs_hz)
        self.fs = float(fs_hz)
        self.has_gyro = has_gyro
        self.side = side if placement in SINGLE_FOOT else None
        self.range_g = range_g
        self.dropped = 0
        self._gaps_before = 0  # gaps of the streams before the last long gap
        self._bounds = np.array([MAX_ACC_G] * 3 + [MAX_RATE_DPS] * 3)[: 6 if has_gyro else 3]
        self._resample = _Resampler(self.fs)
        p, fs = self.p, self.fs
        if p.score == "hf_energy":
            self._hp = _Filter(_sos("highpass", p.band_hz[0], fs))
            self._lp = _Filter(_sos("lowpass", p.band_hz[1], fs))
            self.delay_s = 0.0  # times come from the onset of the high-passed transient
        elif p.score == "smooth_norm":
            self._bp = _SmoothBand(p.band_hz, fs)
            self.delay_s = self._bp.delay_s
        else:
            sos = _sos("bandpass", p.band_hz, fs)
            self._bp = _Filter(sos)
            centre = math.sqrt(p.band_hz[0] * min(p.band_hz[1], 0.45 * fs))
            self.delay_s = _group_delay_s(sos, centre, fs)
        self._cadence: CadenceTracker | None = None
        self._delay_run_s = self.delay_s
        if p.run_band_hz is not None and p.score != "hf_energy":
            sos = _sos("bandpass", p.run_band_hz, fs)
            self._bp_run = _Filter(sos)
            centre = math.sqrt(p.run_band_hz[0] * min(p.run_band_hz[1], 0.45 * fs))
            self._delay_run_s = _group_delay_s(sos, centre, fs)
            self._cadence = CadenceTracker(fs)
        self._cov = _Filter(_sos("lowpass", PITCH_AXIS_LP_HZ, fs, order=1))
        # contacts are read from the pitch rate (they end a swing, refined to its minimum)
        self._reads_pitch = has_gyro and p.gyro_refine_s is not None
        self._stride: CadenceTracker | None = None
        # the walking stride decides the quiet-after test's scale without a gyroscope, and
        # with one where the candidates come from a band score (a foot below `LOW_RATE_HZ`),
        # which peaks after the push-off too (see `WALK_STRIDE_S`)
        if p.classify_s is not None and (not self._reads_pitch or p.score != "hf_energy"):
            self._stride = CadenceTracker(
                fs, STRIDE_SEARCH_S, WALK_STRIDE_S, WALK_MIN_CORR, STRIDE_FS, WALK_HOLD_S,
                follow_drops=False,
            )
        w = lambda s: round(s * fs)  # noqa: E731 - local shorthand
        self._cw = max(1, w(p.candidate_window_s))
        self._ref = (w(p.refine_s[0]), w(p.refine_s[1])) if p.refine_s else (0, 0)
        self._cls = (w(p.classify_s[0]), w(p.classify_s[1])) if p.classify_s else (0, 0)
        start = IMPACT_WINDOW_S[0] if p.refine_s is not None else -PEAK_TIMING_S
        self._imp = (w(start), w(IMPACT_WINDOW_S[1]))
        self._gref = (w(p.gyro_refine_s[0]), w(p.gyro_refine_s[1])) if p.gyro_refine_s else (0, 0)
        # how far the window reaches once the axis is signed, and the landing's length
        self._reach = w(p.gyro_reach_s) if p.gyro_reach_s is not None else self._gref[1]
        self._land = w(p.landing_s) if p.landing_s is not None else None
        self._swing = (w(0.30), w(0.10))  # late swing, before the onset
        self._swp = w(SWING_PEAK_S)
        self._floor = w(FLOOR_S) if p.score == "hf_energy" else 0
        self._settle = w(1.0 / p.band_hz[1])  # the smoothing low-pass's settling
        cls_max = math.ceil(self._cls[1] * max(GAIT_SCALES))
        # a candidate is known once the score's window around it has arrived, with its onset
        self._ahead = max(self._cw, self._ref[1]) + 1
        # a contact timed by a delayed score happened up to `lag` samples before its peak,
        # or up to `lead` after it (an event offset beyond the delay)
        lag = math.ceil(max(0.0, max(self.delay_s, self._delay_run_s) - p.event_offset_s) * fs)
        lead = math.ceil(max(0.0, p.event_offset_s - min(self.delay_s, self._delay_run_s)) * fs)
        # an onset is decided once every window it reads has arrived and no later candidate
        # can still have an earlier onset: contacts are decided in time order
        self._decide = max(
            cls_max,
            self._imp[1] + lead,
            max(self._gref[1], self._reach) + self._imp[1],
            self._ahead - self._ref[0],
        )
        self._behind = (
            self._cw
            + max(-self._ref[0], 0)
            + max(cls_max, lag - self._imp[0], -self._gref[0], self._swing[0], self._swp,
                  self._floor)
            + 1
        )
        self._min_gap = w(p.min_interval_s)
        self._forget = w(FORGET_S)
        self._stance = (w(p.stance_s[0]), w(p.stance_s[1]))
        self._push_span = 2 * max(1, int(0.5 * PUSH_OFF_SMOOTH_S * fs)) + 1  # odd, centred
        # a contact reported at t is decided when the stream reaches this far past t: its
        # onset less the score's delay plus the event offset (a peak's sub-sample time may
        # be half a sample earlier), or a pitch minimum up to `_lead` samples before the
        # onset; notifications are batched only within the slack below MAX_LATENCY_S
        self._lead = w(PITCH_LEAD_S) if self._reads_pitch else 0
        timed_by_score = max(self.delay_s, self._delay_run_s) - p.event_offset_s
        if p.refine_s is None:
            timed_by_score += 0.5 / fs
        base = self._decide / fs + max(timed_by_score, self._lead / fs)
        slack = math.floor((MAX_LATENCY_S - base) * fs + 1e-9)
        # notifications of up to `_batch` samples fill a batch within 2 * _batch - 2 samples
        # of a contact being decided (a longer notification holds a contact for its length)
        self._batch = max(1, min(round(BATCH_S * fs), slack // 2 + 1))
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_n = 0
        self._done_s: float | None = None  # stream time up to which samples were processed
        self.latency_s = base + 2 * (self._batch - 1) / fs
        # grid buffers (global index of element 0 is self._base)
        self._base = 0
        self._n = 0
        self._t = np.empty(0)
        self._m = np.empty(0)
        self._a = np.empty(0)  # largest axis, with a range
        self._x = np.empty(0)
        self._r = np.empty(0)
        self._act = np.empty(0)
        self._gyro = np.empty((0, 3))
        self._gcov = np.empty((0, 6))
        self._period = np.empty(0)  # step period while running (cadence tracker), else 0
        self._walk = np.empty(0, dtype=bool)  # a foot sensor's stride is a walking one
        self._tails: defaultdict[str, _Tail] = defaultdict(_Tail)  # their storage, by name
        self._next = 0
        self._queue: list[tuple[int, int]] = []  # (onset, candidate) awaiting decision
        self._last_ic: int | None = None
        self._last_running = False  # the tracked gait at the last contact was running
        self._scores: list[float] = []
        self._loads: list[float] = []  # impacts of the recent contacts less 1 g
        self._strides: list[int] = []  # intervals between the recent contacts, samples
        # the pitch axis of the last contact as found, and the late-swing votes on its sign
        self._axis: np.ndarray | None = None
        self._found = np.zeros(3)
        self._moved = False  # the last `_pitch_axis` found another axis than the last contact's
        self._vote = 0.0
        self._votes: list[float] = []
        self._open: list[_Stance] = []  # initial contacts awaiting their toe-off

    # -- stages -------------------------------------------------------------------------

    def _features(self, tg: np.ndarray, xg: np.ndarray) -> None:
        acc = xg[:, :3]
        m = np.sqrt(np.einsum("ij,ij->i", acc, acc))
        if self.p.score == "hf_energy":
            r = self._hp(m)
            x = np.sqrt(np.maximum(self._lp(r * r), 0.0))
        else:
            v = m - 1.0
            x = self._bp(v)
            if self._cadence is not None:
                xr = self._bp_run(v)
                period = self._cadence(xr)
                x = np.where(period > 0, xr, x)
            r = x
        new = {"_t": tg, "_m": m, "_x": x}
        if self.range_g is not None:  # the sensor saturates axis by axis
            new["_a"] = np.abs(acc).max(axis=1)
        if r is not x:
            new["_r"] = r
        if self.has_gyro:
            gy = xg[:, 3:6]
            new["_act"] = np.sqrt(np.einsum("ij,ij->i", gy, gy))
            new["_gyro"] = gy
            new["_gcov"] = self._cov(gy[:, _PAIRS[0]] * gy[:, _PAIRS[1]])
        else:
            new["_act"] = np.abs(m - 1.0)
        if self._cadence is not None:
            new["_period"] = period
        if self._stride is not None:
            new["_walk"] = self._stride(x) > 0
        # keep what undecided samples may still look back at
        oldest = self._next - self._behind
        if self._queue:  # what the undecided onsets read
            oldest = min(oldest, self._queue[0][0] - self._ref[1] - self._behind)
        if self._open:  # and what an open stance's toe-off search still reads
            oldest = min(oldest, self._open[0].start)
        keep = min(len(self._t), max(0, oldest - self._base))
        for name, values in new.items():
            setattr(self, name, self._tails[name].append(keep, values))
        if r is x:
            self._r = self._x
        self._base += keep
        self._n += len(tg)

    def _candidates(self, final: bool) -> np.ndarray:
        end = self._n if final else self._n - self._ahead
        if end <= self._next:
            return np.empty(0, dtype=np.int64)
        lo = self._next - self._cw
        hi = min(end + self._cw, self._n)
        seg = self._x[max(lo, self._base) - self._base : hi - self._base]
        pad_left = max(0, self._base - lo) if lo < self._base else 0
        pad_right = (end + self._cw) - hi
        if pad_left or pad_right:  # the window reaches before the buffer or past the stream
            seg = np.concatenate((np.full(pad_left, -np.inf), seg, np.full(pad_right, -np.inf)))
        mx = maximum_filter1d(seg, 2 * self._cw + 1, mode="constant", cval=-np.inf)
        core = slice(self._cw, self._cw + (end - self._next))
        is_peak = (seg[core] >= mx[core]) & (seg[core] > self.p.min_score_g)
        idx = np.flatnonzero(is_peak) + self._next
        self._next = end
        return idx

    def _window(self, arr: np.ndarray, a: int, b: int) -> np.ndarray:
        a = max(a, self._base, 0)
        b = min(b, self._n)
        return arr[a - self._base : b - self._base] if b > a else arr[:0]

    def _windows(
        self, arr: np.ndarray, starts: np.ndarray, length: int, fill: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Windows ``arr[s : s + length]`` at global sample indices `starts`, one per row.

        Returns the windows (k x length) and which of their cells lie in the
        buffer; cells before the stream's first sample or past the last one
        received hold `fill`. The same cells as `_window` for each start.
        """
        idx = starts[:, None] + np.arange(length)
        valid = (idx >= max(self._base, 0)) & (idx < self._n)
        seg = np.where(valid, arr.take(idx - self._base, mode="clip"), fill)
        return seg, valid

    def _refine(self, idx: np.ndarray) -> np.ndarray:
        """Move candidate peaks (sample indices) to their onsets.

        The onset is the first sample of the refinement window where ``|r|``
        reaches `onset_fraction` of the window's maximum, or with
        `Profile.onset_anchor` the start of the run of such samples that leads
        to the first one reaching the anchor's fraction.
        """
        if self.p.refine_s is None or not len(idx):
            return idx
        lo, hi = self._ref
        seg = np.abs(self._windows(self._r, idx + lo, hi - lo + 1, 0.0)[0])
        peak = seg.max(axis=1)
        reach = seg >= (self.p.onset_fraction * peak)[:, None]
        if self.p.onset_anchor is None:
            first = np.argmax(reach, axis=1)
        else:  # back from the anchor to the last sample under the fraction
            anchor = np.argmax(seg >= (self.p.onset_anchor * peak)[:, None], axis=1)
            under = ~reach & (np.arange(seg.shape[1]) < anchor[:, None])
            last = seg.shape[1] - 1 - np.argmax(under[:, ::-1], axis=1)
            first = np.where(under.any(axis=1), last + 1, 0)
        return np.where(peak > 0, idx + lo + first, idx)

    def _peak_offsets(self, idx: np.ndarray) -> np.ndarray:
        """Sub-sample position of score peaks (sample indices), in samples, within +-0.5.

        A contact timed by its score's peak (no onset refinement) lies between
        samples: the vertex of the parabola through the peak sample and its
        neighbours places it (0 where a neighbour is not in the buffer).
        """
        if self.p.refine_s is not None or not len(idx):
            return np.zeros(len(idx))
        seg, valid = self._windows(self._x, idx - 1, 3, 0.0)
        shift, _, is_max = _vertex(seg[:, 0], seg[:, 1], seg[:, 2])
        return np.where(valid.all(axis=1) & is_max, np.clip(shift, -0.5, 0.5), 0.0)

    def _pitch_axis(self, j: int) -> np.ndarray | None:
        """Return the pitch axis at onset `j`, signed so that the swing before it is positive.

        The sign is the vote of the late swings before `j` and before the
        recent contacts while the axis holds (`AXIS_SAME_COS`). None when the
        late swing before `j` is not in the buffer. Sets `_vote` (this swing's
        mean rate about the axis as carried), `_found` (that axis) and
        `_moved`, which `_keep_axis` keeps if the candidate becomes a contact.
        """
        c = self._gcov[j - self._base]
        cov = np.array([[c[0], c[3], c[4]], [c[3], c[1], c[5]], [c[4], c[5], c[2]]])
        axis = np.linalg.eigh(cov)[1][:, -1]
        cos = 1.0 if self._axis is None else float(axis @ self._axis)
        self._moved = abs(cos) < AXIS_SAME_COS
        votes = [] if self._moved else self._votes  # another axis: the recent swings do not vote
        if cos < 0 and not self._moved:
            axis = -axis
        vote = self._late_swing_rate(j, axis)
        if vote is None:
            return None
        self._vote, self._found = vote, axis
        return -axis if sum(votes) + self._vote < 0 else axis

    def _late_swing_rate(self, j: int, axis: np.ndarray) -> float | None:
        """Mean rate about `axis` over the late swing before sample `j` (None: not buffered)."""
        swing = self._window(self._gyro, j - self._swing[0], j - self._swing[1]) @ axis
        return float(swing.mean()) if len(swing) else None

    def _keep_axis(self) -> None:
        """Carry the last `_pitch_axis` of a contact and its vote to the next contacts."""
        if self._moved:
            self._votes.clear()
        self._axis = self._found
        self._votes.append(self._vote)
        del self._votes[: -self.p.history]

    def _pitch(self, j: int, axis: np.ndarray | None) -> np.ndarray:
        """Pitch rate in the gyroscope window of onset `j` (empty without an axis).

        The window reaches `Profile.gyro_reach_s` after the onset when the
        recent contacts vote on the axis's sign (see `_pitch_axis`).
        """
        end = self._gref[1] if self._moved or not self._votes else self._reach
        pitch = self._window(self._gyro, j + self._gref[0], j + end + 1)
        return pitch[:0, 0] if axis is None else pitch @ axis

    def _late_swing_vote(self, j: int, onset: int) -> None:
        """Vote on the axis's sign by the late swing before contact `j` if far from its onset.

        A contact more than ``gyro_refine_s[1]`` after its onset (a candidate in
        mid-swing, `Profile.gyro_reach_s`) has the push-off and the early swing
        in the late-swing window of its onset; the window before the swing's end
        it was refined to is its late swing.
        """
        if j - onset <= self._gref[1]:
            return
        vote = self._late_swing_rate(j, self._found)
        if vote is not None:
            self._vote = vote

    def _toe_off(self, foot: _Stance, final: bool) -> tuple[bool, int | None]:
        """Look for the toe-off of an open stance.

        Returns whether it is decided, and its sample index (None when the
        stance has no clear end: the stream stopped, or no swing followed).
        The same for any chunking: the search window is fixed at the initial
        contact and the swing's start is the first sample to reach its rate.
        """
        a = foot.start
        if foot.axis is not None:
            pitch = self._window(self._gyro, a, foot.end + 1) @ foot.axis
            up = np.flatnonzero(pitch >= foot.swing_start)
            if len(up):
                return True, a + int(np.argmin(pitch[: up[0]])) if up[0] > 0 else None
            return final or self._n > foot.end, None
        if self._n <= foot.end:
            return final, None
        m = self._window(self._m, a, foot.end + 1)
        k = int(m.argmax())
        # a push-off stands out of the stance; the last step into standing has no clear one
        middle = float(np.partition(m, len(m) // 2)[len(m) // 2])
        if m[k] - middle < PUSH_OFF_MIN_G:
            return True, None
        push = self._push_off_peak(m)
        return True, a + (k if push is None else push)

    def _push_off_peak(self, m: np.ndarray) -> int | None:
        """Index of the first clear peak of a toe-off window's resultant (see `PUSH_OFF_SMOOTH_S`).

        Parameters
        ----------
        m : numpy.ndarray
            Resultant acceleration over the window, g.

        Returns
        -------
        int or None
            The peak's index in `m`, or None when no peak rises and falls by
            `PUSH_OFF_MIN_G` (see `PUSH_OFF_SMOOTH_S`).
        """
        s = uniform_filter1d(m, self._push_span, mode="nearest")
        peaks = (s == maximum_filter1d(s, self._push_span, mode="nearest")) & (
            s - np.minimum.accumulate(s) >= PUSH_OFF_MIN_G
        )
        for k in np.flatnonzero(peaks):
            higher = np.flatnonzero(s[k + 1 :] > s[k])
            stop = k + 1 + (int(higher[0]) if len(higher) else len(s))
            if s[k] - s[k:stop].min() >= PUSH_OFF_MIN_G:
                return int(k)
        return None

    def _is_soft_contact(self, score: float, ref: float) -> bool:
        """Whether a candidate under the relative threshold may still end a swing (gyroscope)."""
        return (
            self.p.soft_threshold is not None
            and self._reads_pitch
            and score >= self.p.soft_threshold * ref
        )

    def _swung(self, j: int, axis: np.ndarray) -> bool:
        """Whether the foot swung before onset `j` (a soft contact), about the signed `axis`.

        Its pitch rate over the 0.3 s before `j` must peak at
        `SOFT_SWING_FRACTION` of the recent contacts' mean late-swing rate
        (their votes, signed as `axis` by the last `_pitch_axis` call); with no
        recent votes on this axis there is nothing to compare with.
        """
        votes = [] if self._moved else self._votes
        if not votes:
            return True
        recent = statistics.median(votes) * self._axis_sign(axis)
        swing = self._window(self._gyro, j - self._swing[0], j) @ axis
        return len(swing) > 0 and float(swing.max()) > SOFT_SWING_FRACTION * recent

    def _axis_sign(self, axis: np.ndarray) -> float:
        """+1 where `_pitch_axis` returned `axis` as found (`_found`: its votes' frame), else -1."""
        return 1.0 if float(axis @ self._found) > 0 else -1.0

    def _continues_stride(self, j: int) -> bool:
        """`_stride_due`, but not for contacts read from a foot gyroscope (its swings decide)."""
        return not self._reads_pitch and self._stride_due(j)

    def _stride_due(self, j: int) -> bool:
        """Whether onset `j` falls where the next contact of a regular gait is due."""
        if self._last_ic is None or len(self._strides) < STRIDE_COUNT:
            return False
        stride = statistics.median(self._strides)
        if any(abs(s - stride) > STRIDE_REGULAR * stride for s in self._strides):
            return False
        return abs(j - self._last_ic - stride) <= STRIDE_TOLERANCE * stride

    def _stride_vouches(self, j: int, score: float, ref: float) -> bool:
        """Whether a regular stride vouches for a candidate under the relative threshold."""
        t = self.p.stride_threshold
        return (
            self.p.classify_s is None
            and t is not None
            and score >= t * ref
            and self._continues_stride(j)
        )

    def _pitch_minimum(self, j: int, pitch: np.ndarray) -> int:
        """Refine an initial contact to the pitch angular-velocity minimum after the swing.

        `pitch` is ``_pitch(j)``; the window's first clear minimum after the
        pitch rate crosses zero (the swing ends), else the window's minimum.
        """
        a = max(j + self._gref[0], 0)
        if len(pitch) == 0:
            return j
        # the first clear minimum after the swing ends (pitch rate crossing zero); ringing
        # later in loading response can dip deeper. Not before `PITCH_LEAD_S`: the
        # contact would be known later than the latency.
        first = max(0, j - self._lead - a)
        crossing = _swing_ends(pitch)
        start = max(int(crossing[0]) + 1 if len(crossing) else 0, first)
        if self._land is not None and len(crossing):
            # the landing, not the push-off after the stance
            pitch = pitch[: max(int(crossing[0]) + 2 + self._land, first + 1)]
        after = pitch[start:]
        if len(after) >= 3:
            inner = after[1:-1]
            is_min = (inner <= after[:-2]) & (inner <= after[2:]) & (inner < 0.3 * after.min())
            if is_min.any():
                return a + start + 1 + int(np.argmax(is_min))
        return a + first + int(np.argmin(pitch[first:]))

    def _initial(self, idx: np.ndarray) -> np.ndarray:
        """Whether each onset (sample indices) is an initial contact, not a push-off.

        Walking and running strides differ (stance ~0.6 s vs ~0.2 s): a contact
        is initial when the foot is quieter after it than before it at the
        walking or at one of the running scales (`GAIT_SCALES`); at the walking
        scale only while a sensor without gyroscope, or one read by a band score
        (a foot below `LOW_RATE_HZ`), walks (`WALK_STRIDE_S`).
        """
        if self.p.classify_s is None:
            return np.ones(len(idx), dtype=bool)
        out = np.zeros(len(idx), dtype=bool)
        walking = (
            self._walk[idx - self._base] if self._stride is not None else np.zeros(len(idx), bool)
        )
        for k in GAIT_SCALES:
            a, b = round(self._cls[0] * k), round(self._cls[1] * k)
            post, post_in = self._windows(self._act, idx + a, b - a, 0.0)
            pre, pre_in = self._windows(self._act, idx - b, b - a, 0.0)
            n_post, n_pre = post_in.sum(axis=1), pre_in.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                quiet = post.sum(axis=1) / n_post < self.p.quiet_ratio * np.maximum(
                    pre.sum(axis=1) / n_pre, 1e-12
                )
            quiet &= (n_post > 0) & (n_pre > 0)
            out |= quiet if k == GAIT_SCALES[0] else quiet & ~walking
        return out

    def _impacts(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Peak resultant (g) in the impact window of each contact (indices), and clipping.

        The sampled peak is refined by parabolic interpolation when both its
        neighbours are in the window; NaN when the window holds no sample.
        """
        lo, hi = self._imp
        seg, valid = self._windows(self._m, idx + lo, hi - lo + 1, -np.inf)
        rows = np.arange(len(idx))
        k = np.argmax(seg, axis=1)
        peak = seg[rows, k]
        inner = (k > 0) & (k < seg.shape[1] - 1)
        k0, k2 = np.where(inner, k - 1, k), np.where(inner, k + 1, k)
        inner &= valid[rows, k0] & valid[rows, k2]
        _, fitted, is_max = _vertex(seg[rows, k0], peak, seg[rows, k2])
        peak = np.where(inner & is_max, fitted, peak)
        peak = np.where(valid.any(axis=1), peak, np.nan)
        if self.range_g is None:
            return peak, np.zeros(len(idx), dtype=bool)
        axis = self._windows(self._a, idx + lo, hi - lo + 1, 0.0)[0].max(axis=1)
        return peak, axis >= 0.98 * self.range_g

    def _motion_g(self, idx: np.ndarray) -> np.ndarray:
        """Largest departure of the resultant from its median over an onset's swing and landing, g.

        From `_swing`'s start before the onset to the end of the impact window
        after it (sample indices); samples before the stream's start count as 1 g.
        """
        a, b = self._swing[0], self._imp[1]
        seg = self._windows(self._m, idx - a, a + b + 1, 1.0)[0]
        return np.abs(seg - np.median(seg, axis=1, keepdims=True)).max(axis=1)

    def _noise_floor(self, idx: np.ndarray) -> np.ndarray:
        """Lowest score over the `FLOOR_S` up to each candidate (sample indices).

        Read where the score's smoothing has settled: it starts from zero at the
        stream's start (infinite before then: no candidate passes).
        """
        first = idx - self._floor
        seg = self._windows(self._x, first, self._floor + 1, np.inf)[0]
        settled = first[:, None] + np.arange(self._floor + 1) >= self._settle
        return np.where(settled, seg, np.inf).min(axis=1)

    def _unloaded(self, impact: float) -> bool:
        """Whether a contact's impact loads the body too little (`Profile.load_fraction`)."""
        if not self.p.load_fraction:
            return False
        if not self._loads:  # a bout's first contact: a step, not a sensor at rest
            return impact - 1.0 < START_LOAD_G
        typical = statistics.median(self._loads[-self.p.history :])
        return impact - 1.0 < self.p.load_fraction * typical

    def _gait_changed(self, j: int) -> bool:
        """Whether the tracked gait at onset `j` is not the one of the last contact.

        Running and walking contacts score and load the body differently (a run's
        impacts are several times a walk's): the references of one gait do not
        judge the other's, and the first contacts after a change start afresh,
        as a new bout does after `FORGET_S`.
        """
        return self._cadence is not None and (self._period_at(j) > 0) != self._last_running

    def _period_at(self, j: int) -> float:
        """Step period the cadence tracker reads at sample `j`, s (0: not running, or none)."""
        if self._cadence is None:
            return 0.0
        return float(self._period[min(j, self._n - 1) - self._base])

    def _refractory(self, j: int) -> int:
        """Shortest interval (samples) to the previous contact for a contact at `j`."""
        period = self._period_at(j)
        if period > 0:  # running: a fraction of the tracked step period
            return min(self._min_gap, round(RUN_REFRACTORY * period * self.fs))
        return self._min_gap

    def _delay(self, j: int) -> float:
        """Return the score's delay at sample `j`, s (the running band's while running)."""
        return self._delay_run_s if self._period_at(j) > 0 else self.delay_s

    def _at_contact(self, idx: np.ndarray) -> np.ndarray:
        """Return the samples at which the contacts found at score samples `idx` happened.

        A contact timed by a delayed score's peak happened the delay less the
        profile's event offset earlier (an onset or a pitch minimum: no delay).
        """
        delays = np.array([self._delay(j) for j in idx.tolist()])
        return idx - np.round((delays - self.p.event_offset_s) * self.fs).astype(np.int64)

    def _time(self, j: int, delayed: bool = True) -> float:
        """Return the time of sample `j`, s; if `delayed`, of the contact its score's peak reads.

        That is the sample's time less the score's delay, plus the profile's
        event offset (where the contact sits relative to the feature). An
        onset or a pitch minimum is the contact itself.
        """
        if not delayed:
            return float(self._t[j - self._base])
        return float(self._t[j - self._base]) - self._delay(j) + self.p.event_offset_s

    def _process(self, final: bool) -> list[GaitEvent]:
        out: list[GaitEvent] = []
        cands = self._candidates(final)
        if len(cands):
            for i, o in zip(cands.tolist(), self._refine(cands).tolist(), strict=True):
                bisect.insort(self._queue, (o, i))
        k = 0
        while k < len(self._queue) and (final or self._queue[k][0] + self._decide < self._n):
            k += 1
        batch: Iterable[tuple[int, float, float, int, float, bool, float, bool, float]] = ()
        if k:  # (most small batches of a live stream decide none)
            # what each onset is, at once; a contact moved by the gyroscope gets its own impact
            onsets, cands = np.array(self._queue[:k], dtype=np.int64).T
            del self._queue[:k]
            scores = self._x[cands - self._base]
            # an impact score has a noise floor (see FLOOR_S) and the limb's motion (MOTION_G)
            floors, moves = np.zeros_like(scores), np.full_like(scores, np.inf)
            if self._floor:
                floors, moves = FLOOR_RATIO * self._noise_floor(cands), self._motion_g(onsets)
            at = self._at_contact(onsets)
            impacts, clips = self._impacts(at)
            batch = zip(
                at.tolist(),
                scores.tolist(),
                floors.tolist(),
                onsets.tolist(),
                (self._peak_offsets(onsets) / self.fs).tolist(),
                self._initial(onsets).tolist(),
                impacts.tolist(),
                clips.tolist(),
                moves.tolist(),
                strict=True,
            )
        for at, score, floor, j, shift_s, initial, impact, clipped, move in batch:
            paused = self._last_ic is not None and j - self._last_ic > self._forget
            if paused or (self._last_ic is not None and self._gait_changed(j)):
                # no recent contacts of this gait to compare with: a new bout starts (the last
                # contact still bounds the next one's interval across a change of gait)
                if paused:
                    self._last_ic = None
                self._scores.clear()
                self._loads.clear()
                self._strides.clear()
                self._votes.clear()
                self._axis = None
            # statistics.median: the same value as numpy's for a handful of floats, 20x faster
            ref = statistics.median(self._scores[-self.p.history :]) if self._scores else score
            weak = score < self.p.relative_threshold * ref  # under the relative threshold
            if score < floor and (weak or not self._stride_due(j)):
                continue  # in the sensor's noise, and not where a steady stride is due
            if move < MOTION_G:
                continue  # a still sensor's noise: the limb did not swing into a landing
            # a push-off (the foot busier after it than before) is not a contact; the
            # stride is asked only of the candidates the other tests would drop
            if not initial and not (
                score >= STRIDE_SCORE_FRACTION * ref and self._continues_stride(j)
            ):
                continue
            if (
                weak
                and not self._is_soft_contact(score, ref)
                and not self._stride_vouches(j, score, ref)
            ):
                continue
            if (
                self._last_ic is not None
                and j - self._last_ic < self._refractory(j)
                and not (
                    self.p.stronger_ends_refractory
                    and self._scores[-1] < self.p.relative_threshold * score
                )
            ):
                continue
            if self._unloaded(impact):  # a filter's ringing after the body stopped
                continue
            onset = j
            axis = None
            pitch = np.empty(0)  # stays empty unless the contact is timed by its pitch minimum
            if self._reads_pitch:
                axis = self._pitch_axis(j)
                pitch = self._pitch(j, axis)
                if len(pitch) and not len(_swing_ends(pitch)):
                    # a jolt during a swing (a scuff, a shuffle before the landing) is not
                    # a contact: the landing that ends the swing may still follow
                    continue
                if axis is not None and weak and not self._swung(j, axis):
                    continue  # a soft bump in a stance
                if self.p.follows_swing and axis is not None and (
                    self._vote * self._axis_sign(axis) <= 0  # its late swing's, as `axis` turns
                ):
                    continue  # a jolt in a stance or early in a swing
                j = self._pitch_minimum(j, pitch)
                if axis is not None:
                    self._late_swing_vote(j, onset)
                    self._keep_axis()
            if len(pitch):  # timed by the pitch minimum: its own sample and impact
                impact, clipped = (v.item() for v in self._impacts(np.array([j])))
                shift_s = 0.0
            if self._last_ic is not None:
                self._strides.append(j - self._last_ic)
                del self._strides[:-STRIDE_COUNT]
            self._last_ic = j
            self._last_running = self._period_at(j) > 0
            self._scores.append(score)
            del self._scores[: -self.p.history]
            if math.isfinite(impact):  # a median over a NaN depends on the list's order
                self._loads.append(impact - 1.0)
                del self._loads[: -self.p.history]
            # a pitch minimum is timed on the raw gyroscope, not on the delayed score
            t_s = self._time(j, delayed=not len(pitch)) + shift_s
            contact = Contact(t_s, self.side, impact, clipped)
            out.append(contact)
            if self.p.classify_s is not None:
                self._open_stance(j if len(pitch) else at, contact, onset, axis)
        while self._open:
            decided, tc = self._toe_off(self._open[0], final)
            if not decided:
                break
            foot = self._open.pop(0)
            if tc is not None:
                out.append(ToeOff(foot.contact, 1000.0 * (tc - foot.ic) / self.fs))
        return out

    def _open_stance(self, j: int, contact: Contact, onset: int, axis: np.ndarray | None) -> None:
        """Start the toe-off search of the initial contact at `j` (see `_toe_off`).

        Without a gyroscope the search needs the recent stride: the first
        contacts of a walk get no contact time.
        """
        if axis is not None:
            swing = self._window(self._gyro, onset - self._swp, onset) @ axis
            peak = float(swing.max()) if len(swing) else 0.0
            if peak <= 0:
                return
            self._open.append(
                _Stance(
                    j, contact, j + self._stance[0], j + self._stance[1], axis,
                    SWING_START_FRACTION * peak,
                )
            )
        elif not self._reads_pitch and self._strides:
            stride = statistics.median(self._strides)
            a = max(self._stance[0], round(TOE_OFF_STRIDE_FRACTION[0] * stride))
            b = min(self._stance[1], round(TOE_OFF_STRIDE_FRACTION[1] * stride))
            if b > a:
                self._open.append(_Stance(j, contact, j + a, j + b, None, 0.0))

    # -- public -------------------------------------------------------------------------

    def push(
        self, t_s: np.ndarray, acc_g: np.ndarray, gyro_dps: np.ndarray | None = None
    ) -> list[GaitEvent]:
        """Feed a chunk of samples; return the contacts and toe-offs it decides.

        Parameters
        ----------
        t_s : numpy.ndarray
            Sample times, s, shape (n,).
        acc_g : numpy.ndarray
            Accelerations, g, shape (n, 3).
        gyro_dps : numpy.ndarray or None
            Angular rates, deg/s, shape (n, 3); required when ``has_gyro``.

        Returns
        -------
        list of Contact or ToeOff
            Each `Contact` is known at most `latency_s` after it happened; the
            `ToeOff` ending its stance, where the placement gives one, follows
            once the next swing has started (a walking stance lasts longer than
            the latency). `contacts_frame` joins them.
        """
        t = np.asarray(t_s, dtype=np.float64)
        if t.ndim == 2 and t.shape[1] == 1:
            t = t[:, 0]
        if t.ndim != 1:
            raise ValueError(f"t_s must hold one time per sample, shape (n,); got {t.shape}")
        cols = [_samples("acc_g", acc_g, len(t))]
        if self.has_gyro:
            if gyro_dps is None:
                raise ValueError("this detector was created with has_gyro=True: pass gyro_dps")
            cols.append(_samples("gyro_dps", gyro_dps, len(t)))
        if len(t) == 0:
            return []
        self._pending.append((t, np.concatenate(cols, axis=1)))  # a copy: the caller may reuse
        self._pending_n += len(t)
        # small notifications are processed together, up to `_batch` samples counted in
        # stream time (an irregular stream's samples may come sparser than the grid) and in
        # samples (a clock that stalls or steps back)
        last = float(t[-1])
        if self._done_s is None:
            first = float(t[0]) if math.isfinite(t[0]) else last
            self._done_s = first - 1.0 / self.fs
        if self._pending_n < self._batch and last - self._done_s < (self._batch - 0.5) / self.fs:
            return []
        if math.isfinite(last):
            self._done_s = last
        return self._run(final=False)

    @property
    def gaps(self) -> int:
        """Gaps in the stream (over four sample periods) so far, bridged or split."""
        return self._gaps_before + self._resample.gaps

    def finish(self) -> list[GaitEvent]:
        """End the stream: decide the last samples; return the remaining contacts and toe-offs."""
        return self._run(final=True)

    def _run(self, final: bool) -> list[GaitEvent]:
        out: list[GaitEvent] = []
        if self._pending:
            t = np.concatenate([p[0] for p in self._pending])
            x = np.concatenate([p[1] for p in self._pending])
            self._pending.clear()
            self._pending_n = 0
            # a NaN fails the comparison and an inf exceeds the bounds: one test for both
            ok = np.isfinite(t) & (np.abs(x) <= self._bounds).all(axis=1)
            while True:
                # the latest time seen before each sample, this batch's and the earlier ones
                last = -np.inf if self._resample.last_t is None else self._resample.last_t
                seen = np.concatenate(([last], np.where(ok, t, -np.inf)))
                before = np.maximum.accumulate(seen)[:-1]
                ahead = ok & (t - before >= MAX_BRIDGE_S) & np.isfinite(before)
                cut = int(np.argmax(ahead)) if ahead.any() else len(t)
                # keep only strictly increasing timestamps (after the last one seen)
                keep = ok[:cut] & (t[:cut] > before[:cut])
                n_keep = int(np.count_nonzero(keep))
                self.dropped += cut - n_keep
                if n_keep == len(t):
                    tg, xg = self._resample(t, x)
                else:
                    tg, xg = self._resample(t[:cut][keep], x[:cut][keep])
                if len(tg):
                    self._features(tg, xg)
                if cut == len(t):
                    break
                # a jump ahead: a gap, unless the next sample comes back (a stray timestamp)
                valid = np.flatnonzero(ok[cut + 1 :])
                if not len(valid):
                    if final:  # nothing after it to read
                        self.dropped += len(t) - cut
                    else:  # the next sample tells
                        self._pending.append((t[cut:], x[cut:]))
                        self._pending_n = len(t) - cut
                    break
                if t[cut + 1 + valid[0]] <= t[cut] - MAX_BRIDGE_S:
                    ok[cut] = False  # stray: dropped (and counted) with the rest
                else:  # a gap: the stream so far ends here
                    out += self._process(final=True)
                    self._restart()
                t, x, ok = t[cut:], x[cut:], ok[cut:]
        return out + self._process(final=final)

    def _restart(self) -> None:
        """Start afresh after a long gap: new filters, buffers and recent contacts."""
        # what outlives a stream: the counts, and the batching clock (`_run` has taken the
        # pending samples)
        carried = {"dropped": self.dropped, "_done_s": self._done_s, "_gaps_before": self.gaps + 1}
        fresh = ContactDetector(
            self.placement, self.fs, self.has_gyro, self.side, self.range_g, self.p
        )
        self.__dict__.update(fresh.__dict__)
        self.__dict__.update(carried)


def _samples(name: str, values: np.ndarray, n: int) -> np.ndarray:
    """Return `values` as float64 of shape (n, 3), or raise ValueError naming `name`."""
    x = np.asarray(values, dtype=np.float64)
    if x.shape != (n, 3):
        raise ValueError(f"{name} must have shape ({n}, 3), one row per timestamp; got {x.shape}")
    return x


def contacts_frame(events: Sequence[GaitEvent]) -> pd.DataFrame:
    """Return detected contacts as a DataFrame with `CONTACT_COLUMNS`, one row a contact.

    Parameters
    ----------
    events : sequence of Contact or ToeOff
        What `ContactDetector.push` and `ContactDetector.finish` returned; a
        `ToeOff` gives the ``contact_ms`` of its contact (NaN without one).

    Returns
    -------
    pandas.DataFrame
        The contacts in the order given.
    """
    contacts = [e for e in events if isinstance(e, Contact)]
    # keyed by time and side: a contact's impact may be NaN, which equals nothing
    toe_offs = (e for e in events if isinstance(e, ToeOff))
    stance = {(e.contact.t_s, e.contact.side): e.contact_ms for e in toe_offs}
    return pd.DataFrame(
        {
            "t_s": np.array([c.t_s for c in contacts], dtype=np.float64),
            "side": pd.Series([c.side for c in contacts], dtype=object),
            "impact_g": np.array([c.impact_g for c in contacts], dtype=np.float64),
            "clipped": np.array([c.clipped for c in contacts], dtype=bool),
            "contact_ms": np.array(
                [stance.get((c.t_s, c.side), math.nan) for c in contacts], dtype=np.float64
            ),
        },
        columns=list(CONTACT_COLUMNS),
    )


def detect_contacts(rec: Recording, profile: Profile | None = None) -> pd.DataFrame:
    """Detect the foot contacts of a whole recording with the online detector.

    Parameters
    ----------
    rec : Recording
        The recording.
    profile : Profile or None
        Override the placement's parameters (not its lowest rate, `min_rate_hz`).

    Returns
    -------
    pandas.DataFrame
        One row a contact, with `CONTACT_COLUMNS`; ``attrs["dropped"]`` counts
        the samples the detector dropped (no finite or plausible value, a
        timestamp not after the latest one, a stray).

    Raises
    ------
    ValueError
        When the accelerations cannot be in g including gravity (m/s^2 or
        milli-g: see `loadmon.signal.types.units_problem`), the timestamps
        cannot be seconds at the nominal rate (`timing_problem`), or the rate
        is below `MIN_RATE_HZ` (the placement's `min_rate_hz`).
    """
    problem = units_problem(median_resultant_g(rec.acc_g)) or timing_problem(rec.t_s, rec.fs_hz)
    if problem:
        raise ValueError(problem)
    det = ContactDetector(
        rec.placement,
        rec.fs_hz,
        has_gyro=rec.gyro_dps is not None,
        side=rec.side,
        range_g=rec.range_g,
        profile=profile,
    )
    # Fed in blocks: the contacts are the same for any chunking, and memory stays bounded.
    block = max(1, round(OFFLINE_BLOCK_S * rec.fs_hz))
    found: list[GaitEvent] = []
    for i in range(0, len(rec.t_s), block):
        gyro = None if rec.gyro_dps is None else rec.gyro_dps[i : i + block]
        found += det.push(rec.t_s[i : i + block], rec.acc_g[i : i + block], gyro)
    found += det.finish()
    frame = contacts_frame(found)
    frame.attrs["dropped"] = det.dropped  # samples the detector dropped (see `ContactDetector`)
    return frame
