"""BLE codecs: the shared byte vectors, round trips, and fuzzing (only ParseError ever)."""

from __future__ import annotations

import contextlib
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadmon.ble import codecs as c

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ble"
needs_vectors = pytest.mark.skipif(
    not (VECTORS / "polar_pmd_vectors.json").is_file(),
    reason=f"BLE byte vectors {VECTORS} are absent (a user's clone); CI always has them",
)


def _hex(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", ""))


def _load(name: str) -> dict:
    return json.loads((VECTORS / name).read_text())


def _pmd(case: str) -> dict:
    for v in _load("polar_pmd_vectors.json")["vectors"]:
        if v["case"] == case:
            return v
    raise KeyError(case)


def _pmd_cases(measurement: str) -> list[str]:
    if not (VECTORS / "polar_pmd_vectors.json").is_file():
        return ["absent"]
    vs = _load("polar_pmd_vectors.json")["vectors"]
    return [v["case"] for v in vs if v["measurement"] == measurement]


# --- shared vectors ----------------------------------------------------------------------


@needs_vectors
def test_nordic_rsc_vectors() -> None:
    vectors = _load("nordic_rsc_vectors.json")["rsc_measurement_0x2A53"]
    assert len(vectors) == 4
    for v in vectors:
        data = _hex(v["hex"])
        if v["expect"] == "invalid":
            with pytest.raises(c.ParseError):
                c.decode_rsc_measurement(data)
            continue
        m = c.decode_rsc_measurement(data)
        e = v["expect"]
        assert m.running is e["running"]
        assert m.cadence == e["cadence_spm"]
        if "speed_mps" in e:
            assert m.speed_mps == e["speed_mps"]
        else:
            assert m.speed_raw == e["speed_raw_1_256mps"]
        assert m.stride_length_cm == e.get("stride_length_cm")
        assert m.total_distance_dm == e.get("total_distance_dm")
        assert c.encode_rsc_measurement(m) == data


@needs_vectors
@pytest.mark.parametrize("case", _pmd_cases("rsc"))
def test_polar_rsc_vectors(case: str) -> None:
    v = _pmd(case)
    e = v["expected"]
    m = c.decode_rsc_measurement(_hex(v["frame_hex"]))
    assert m.running is e["running"]
    assert m.speed_raw == e["speed_raw_1_256_mps"]
    assert m.cadence == e["cadence_per_min"]
    assert (m.stride_length_cm is not None) is e["stride_length_present"]
    assert (m.total_distance_dm is not None) is e["total_distance_present"]
    assert (m.stride_length_cm or 0) == e["stride_length_cm"]
    assert (m.total_distance_dm or 0) == e["total_distance_dm"]


def _check_times(v: dict, n: int) -> None:
    frame = c.decode_pmd_frame(_hex(v["frame_hex"]))
    t = c.sample_times_ns(frame.timestamp_ns, v["previous_timestamp_ns"], n, v["sample_rate_hz"])
    e = v["expected"]
    if "sample_timestamps_ns" in e:
        assert t.tolist() == e["sample_timestamps_ns"]
    if "first_sample_timestamp_ns" in e:
        assert t[0] == e["first_sample_timestamp_ns"]
    if "last_sample_timestamp_ns" in e:
        assert t[-1] == e["last_sample_timestamp_ns"]
    for i, ts in e.get("timestamp_ns_by_sample_index", {}).items():
        assert t[int(i)] == ts
    check = v["decoded_by_check_decoder"]["sample_timestamps_ns"]
    assert t.tolist() == check


@needs_vectors
@pytest.mark.parametrize("case", _pmd_cases("acc"))
def test_polar_acc_vectors(case: str) -> None:
    v = _pmd(case)
    frame = c.decode_pmd_frame(_hex(v["frame_hex"]))
    assert frame.frame_byte == v["frame_type"]
    assert frame.compressed is v["compressed"]
    mg = c.decode_acc_mg(frame, v["factor"])
    e = v["expected"]
    assert len(mg) == e["sample_count"]
    assert mg[: len(e["samples_first"])].tolist() == e["samples_first"]
    if "raw_samples_first" in e:
        raw = c.pmd_raw_samples(frame)
        assert raw[:2].tolist() == e["raw_samples_first"]
    if "all_abs_within_mG" in e:
        assert np.abs(mg).max() <= e["all_abs_within_mG"]
    assert mg.tolist() == v["decoded_by_check_decoder"]["samples"]
    _check_times(v, len(mg))
    # and back: the same samples in mG encode and decode losslessly
    again = c.decode_acc_mg(c.decode_pmd_frame(c.encode_acc_frame(mg, frame.timestamp_ns)))
    assert again.tolist() == mg.tolist()


def _f32(values: list[float]) -> list[float]:
    return np.asarray(values, dtype=np.float32).astype(np.float64).tolist()


@needs_vectors
@pytest.mark.parametrize("case", _pmd_cases("gyr"))
def test_polar_gyro_vectors(case: str) -> None:
    v = _pmd(case)
    frame = c.decode_pmd_frame(_hex(v["frame_hex"]))
    dps = c.decode_gyro_dps(frame, v["factor"])
    e = v["expected"]
    assert len(dps) == e["sample_count"]
    assert dps[:2].tolist() == _f32(e["samples_first"])
    if "raw_int_bits_first" in e:
        raw = c.pmd_raw_samples(frame) & 0xFFFFFFFF
        assert raw[:2].tolist() == [[int(b, 16) for b in row] for row in e["raw_int_bits_first"]]
    _check_times(v, len(dps))


@needs_vectors
@pytest.mark.parametrize("case", _pmd_cases("mag"))
def test_polar_mag_vectors(case: str) -> None:
    v = _pmd(case)
    frame = c.decode_pmd_frame(_hex(v["frame_hex"]))
    field, status = c.decode_mag(frame, v["factor"])
    e = v["expected"]
    assert len(field) == e["sample_count"]
    tol = e.get("tolerance", 0.0)
    np.testing.assert_allclose(field[:2], np.asarray(e["samples_first"])[:, :3], atol=tol, rtol=0)
    if "calibration_status_id" in e:
        assert status is not None and status.tolist() == e["calibration_status_id"]
    else:
        assert status is None
    if "raw_samples_first" in e:
        assert c.pmd_raw_samples(frame)[:2].tolist() == e["raw_samples_first"]
    _check_times(v, len(field))


@needs_vectors
@pytest.mark.parametrize("case", _pmd_cases("other"))
def test_polar_delta_codec_vectors(case: str) -> None:
    v = _pmd(case)
    data = _hex(v["frame_hex"])
    e = v["expected"]
    res, ch = v["resolution_bits"], v["channels"]
    if "reference_sample" in e or "reference_sample_int32" in e:
        ref = c.decode_delta_samples(data, ch, res)
        assert len(ref) == 1
        want = e.get("reference_sample") or e["reference_sample_int32"]
        assert ref[0].tolist() == want
        return
    s = c.decode_delta_samples(data, ch, res)
    assert s.shape == (e["sample_count"], e["channels_per_sample"])
    if "samples_first" in e:
        assert s[:2].tolist() == e["samples_first"]
    if "samples_first_int_bits" in e:
        bits = (s[:2] & 0xFFFFFFFF).tolist()
        assert bits == [[int(b, 16) for b in row] for row in e["samples_first_int_bits"]]
    if "samples_first_int32" in e:
        assert s[:2].tolist() == e["samples_first_int32"]
    if "samples_first_float32" in e:
        f = (s[:2] & 0xFFFFFFFF).astype(np.uint32).view(np.float32)
        assert f.astype(np.float64).tolist() == _f32(e["samples_first_float32"])
    check = v.get("decoded_by_check_decoder") or {}
    if "samples" in check and res == 16:
        assert s.tolist() == check["samples"]
    elif "samples" in check:
        bits = (s & 0xFFFFFFFF).tolist()
        assert bits == [[int(b, 16) for b in row] for row in check["samples"]]
    # the encoder reproduces a section that decodes to the same samples
    assert c.decode_delta_samples(c.encode_delta_samples(s, res), ch, res).tolist() == s.tolist()


# --- hand-made cases --------------------------------------------------------------------


def test_heart_rate_forms() -> None:
    m = c.decode_heart_rate(bytes([0x16, 150, 0x00, 0x02, 0x00, 0x04]))
    assert m.bpm == 150 and m.contact is True and m.energy_kj is None
    assert m.rr_s == (0.5, 1.0)
    m = c.decode_heart_rate(bytes([0x09, 0x2C, 0x01, 0x10, 0x00]))
    assert (m.bpm, m.wide, m.energy_kj, m.contact, m.rr_raw) == (300, True, 16, None, ())
    with pytest.raises(c.ParseError):
        c.decode_heart_rate(bytes([0x10, 60, 1]))  # half an RR interval


def test_pmd_control_point_messages() -> None:
    req = c.encode_pmd_request(c.PMD_START, c.PMD_ACC, c.acc_settings(200, 8))
    assert req == _hex("02 02 00 01 C8 00 01 01 10 00 02 01 08 00")
    back = c.decode_pmd_request(req)
    assert back.settings.first(c.SET_SAMPLE_RATE) == 200
    assert back.settings.first(c.SET_RANGE) == 8
    assert c.encode_pmd_request(c.PMD_STOP, c.PMD_ACC) == b"\x03\x02"
    r = c.decode_pmd_response(_hex("F0 02 02 00 00") + c.factor_parameters(0.000244))
    assert r.ok and r.op == c.PMD_START and r.measurement == c.PMD_ACC
    assert r.settings().factor == pytest.approx(0.000244, rel=1e-6)
    bad = c.decode_pmd_response(_hex("F0 02 02 08"))
    assert not bad.ok and bad.status_text == "invalid sample rate"
    assert c.decode_pmd_features(_hex("0F 04 00")) == {c.PMD_ACC}
    settings_reply = c.decode_pmd_response(
        _hex("F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00")
    )
    s = settings_reply.settings()
    assert s.values[c.SET_SAMPLE_RATE] == (25, 50, 100, 200)
    assert s.values[c.SET_RANGE] == (2, 4, 8)


def test_sc_control_point() -> None:
    r = c.decode_sc_response(_hex("10 04 01 01 02"))
    assert r.ok and r.locations == (1, 2)
    assert c.decode_sc_response(_hex("10 01 02")).result == 2
    with pytest.raises(c.ParseError):
        c.decode_sc_response(_hex("04 01 01"))
    assert c.decode_rsc_feature(b"\x07\x00").walking_running
    assert c.SENSOR_LOCATIONS[c.decode_sensor_location(b"\x02")] == "in shoe"


def test_sample_times_first_frame_uses_rate() -> None:
    t = c.sample_times_ns(1_000_000_000, 0, 3, 100.0)
    assert t.tolist() == [980_000_000, 990_000_000, 1_000_000_000]


# --- round trips --------------------------------------------------------------------------

u8, u16, u32 = (st.integers(0, 2**b - 1) for b in (8, 16, 32))


@given(u16, u8, st.none() | u16, st.none() | u32, st.booleans())
def test_rsc_round_trip(speed: int, cad: int, stride: int | None, dist: int | None,
                        run: bool) -> None:
    m = c.RscMeasurement(speed, cad, stride, dist, run)
    assert c.decode_rsc_measurement(c.encode_rsc_measurement(m)) == m


@given(st.booleans(), u16, st.none() | st.booleans(), st.none() | u16,
       st.lists(u16, max_size=8).map(tuple))
def test_heart_rate_round_trip(wide: bool, bpm: int, contact: bool | None, energy: int | None,
                               rr: tuple[int, ...]) -> None:
    m = c.HeartRateMeasurement(bpm if wide else bpm & 0xFF, contact, energy, rr, wide)
    assert c.decode_heart_rate(c.encode_heart_rate(m)) == m


@given(u8, u8, u8, st.booleans(), st.binary(max_size=20))
def test_pmd_response_round_trip(op: int, typ: int, status: int, more: bool, params: bytes) -> None:
    r = c.PmdResponse(op, typ, status, more, params)
    assert c.decode_pmd_response(c.encode_pmd_response(r)) == r


@given(st.dictionaries(st.sampled_from(sorted(c.SETTING_SIZES)), st.lists(u8, max_size=4)
                       .map(tuple)))
def test_pmd_settings_round_trip(values: dict[int, tuple[int, ...]]) -> None:
    s = c.PmdSettings(values)
    assert c.decode_pmd_settings(c.encode_pmd_settings(s)) == s


@given(st.integers(1, 40), st.integers(0, 2**62), st.booleans(), st.integers(1, 255),
       st.integers(0, 2**32 - 1))
@settings(max_examples=60)
def test_acc_frame_round_trip(n: int, ts: int, compressed: bool, block: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    mg = rng.integers(-32768, 32768, size=(n, 3))
    if seed % 2:  # smooth signals give narrow deltas
        mg = np.clip(np.cumsum(rng.integers(-20, 21, size=(n, 3)), axis=0), -32768, 32767)
    frame = c.decode_pmd_frame(c.encode_acc_frame(mg, ts, compressed, block))
    assert frame.timestamp_ns == ts and frame.compressed is compressed
    assert c.decode_acc_mg(frame).tolist() == mg.tolist()


@given(st.integers(1, 30), st.integers(1, 4), st.sampled_from([16, 32]), st.integers(0, 2**32 - 1))
@settings(max_examples=60)
def test_delta_section_round_trip(n: int, ch: int, res: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lim = 2 ** (res - 1)
    s = rng.integers(-lim, lim, size=(n, ch))
    assert c.decode_delta_samples(c.encode_delta_samples(s, res), ch, res).tolist() == s.tolist()


# --- fuzz: arbitrary bytes raise ParseError or nothing ------------------------------------

DECODERS = [
    c.decode_rsc_measurement, c.decode_rsc_feature, c.decode_sensor_location,
    c.decode_sc_response, c.decode_heart_rate, c.decode_pmd_features, c.decode_pmd_settings,
    c.decode_pmd_request, c.decode_pmd_response, c.decode_pmd_frame,
    lambda b: c.decode_acc_mg(c.decode_pmd_frame(b), 0.000244),
    lambda b: c.decode_gyro_dps(c.decode_pmd_frame(b)),
    lambda b: c.decode_mag(c.decode_pmd_frame(b)),
    lambda b: c.decode_delta_samples(b, 3, 16),
    lambda b: c.decode_delta_samples(b, 3, 32),
]


def _pmd_like() -> st.SearchStrategy[bytes]:
    header = st.builds(lambda m, ts, ft: struct.pack("<BQB", m, ts, ft),
                       st.sampled_from([2, 5, 6, 7]), st.integers(0, 2**64 - 1),
                       st.sampled_from([0x00, 0x01, 0x80, 0x81, 0x82]))
    return st.builds(lambda h, b: h + b, header, st.binary(max_size=80))


@given(st.one_of(st.binary(max_size=64), _pmd_like()))
@settings(max_examples=400)
def test_fuzz_only_parse_error(data: bytes) -> None:
    for decode in DECODERS:
        with contextlib.suppress(c.ParseError):
            decode(data)
