"""Byte codecs of the BLE sensors: bytes in, values out, `ParseError` otherwise.

Pure functions, no I/O. Every decoder raises `ParseError` (a `ValueError`)
for bytes it cannot read and nothing else; every message the fake devices
send has its encoder here, one function per message.

GATT (Bluetooth SIG, all little-endian):

* Running Speed and Cadence: Measurement 0x2A53, Feature 0x2A54,
  SC Control Point 0x2A55, Sensor Location 0x2A5D;
* Heart Rate Measurement 0x2A37.

Polar Measurement Data (PMD, service ``FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8``),
as the Polar BLE SDK describes it:

* control point ``...5C81``: a read gives the features (``0F`` and a bit
  mask of measurement types); writes are requests (``01 type`` settings,
  ``02 type settings...`` start, ``03 type`` stop), each answered by an
  indication ``F0 op type status more parameters...``; settings are
  type / count / values triples (sample rate, resolution and range are
  uint16, range in milli-units and factor uint32, channels uint8);
* data ``...5C82``: ``type``, uint64 timestamp (ns) of the *last* sample,
  frame type (bit 7 set = compressed), then samples: raw ACC type 1 is
  int16 x, y, z triplets in mG; a compressed frame is a reference sample
  followed by delta blocks (bit width W, count N, then N x channels W-bit
  two's-complement deltas packed least-significant bit first).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Final

import numpy as np


class ParseError(ValueError):
    """Bytes that are not a valid message of the expected kind."""


def _uuid16(short: int) -> str:
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


#: Service and characteristic UUIDs (lower case, as bleak reports them).
RSC_SERVICE: Final = _uuid16(0x1814)
RSC_MEASUREMENT: Final = _uuid16(0x2A53)
RSC_FEATURE: Final = _uuid16(0x2A54)
SC_CONTROL_POINT: Final = _uuid16(0x2A55)
SENSOR_LOCATION: Final = _uuid16(0x2A5D)
HR_SERVICE: Final = _uuid16(0x180D)
HR_MEASUREMENT: Final = _uuid16(0x2A37)
CCCD: Final = _uuid16(0x2902)
PMD_SERVICE: Final = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL: Final = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA: Final = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

# --------------------------------------------------------------------------------------
# Running Speed and Cadence
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RscMeasurement:
    """An RSC Measurement (0x2A53), in the units on the wire.

    Attributes
    ----------
    speed_raw : int
        Instantaneous speed, 1/256 m/s.
    cadence : int
        Instantaneous cadence, per minute.
    stride_length_cm : int or None
        Instantaneous stride length, cm, when present.
    total_distance_dm : int or None
        Total distance, dm (uint32, wraps), when present.
    running : bool
        Walking (False) or running (True) status bit.
    """

    speed_raw: int
    cadence: int
    stride_length_cm: int | None = None
    total_distance_dm: int | None = None
    running: bool = False

    @property
    def speed_mps(self) -> float:
        """Speed, m/s."""
        return self.speed_raw / 256.0

    @property
    def stride_length_m(self) -> float | None:
        """Stride length, m, when present."""
        return None if self.stride_length_cm is None else self.stride_length_cm / 100.0

    @property
    def total_distance_m(self) -> float | None:
        """Total distance, m, when present."""
        return None if self.total_distance_dm is None else self.total_distance_dm / 10.0


def _need(data: bytes, n: int, what: str) -> None:
    if len(data) < n:
        raise ParseError(f"{what}: {len(data)} bytes, at least {n} needed")


def decode_rsc_measurement(data: bytes) -> RscMeasurement:
    """Decode an RSC Measurement (0x2A53).

    Parameters
    ----------
    data : bytes
        The characteristic value.

    Returns
    -------
    RscMeasurement
        The decoded measurement.

    Raises
    ------
    ParseError
        Too short for its flags, or longer than they allow.
    """
    data = bytes(data)
    _need(data, 4, "RSC measurement")
    flags = data[0]
    size = 4 + 2 * (flags & 1) + 4 * (flags >> 1 & 1)
    if len(data) != size:
        raise ParseError(f"RSC measurement: flags 0x{flags:02x} need {size} bytes, got {len(data)}")
    speed, cadence = struct.unpack_from("<HB", data, 1)
    pos = 4
    stride = distance = None
    if flags & 1:
        (stride,) = struct.unpack_from("<H", data, pos)
        pos += 2
    if flags & 2:
        (distance,) = struct.unpack_from("<I", data, pos)
    return RscMeasurement(speed, cadence, stride, distance, bool(flags & 4))


def encode_rsc_measurement(m: RscMeasurement) -> bytes:
    """Encode an RSC Measurement (0x2A53); the inverse of `decode_rsc_measurement`.

    Parameters
    ----------
    m : RscMeasurement
        The measurement (fields must fit their wire sizes).

    Returns
    -------
    bytes
        The characteristic value.
    """
    flags = (m.stride_length_cm is not None) | (m.total_distance_dm is not None) << 1
    flags |= bool(m.running) << 2
    out = bytearray(struct.pack("<BHB", flags, m.speed_raw, m.cadence))
    if m.stride_length_cm is not None:
        out += struct.pack("<H", m.stride_length_cm)
    if m.total_distance_dm is not None:
        out += struct.pack("<I", m.total_distance_dm)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class RscFeature:
    """RSC Feature (0x2A54) bits.

    Attributes
    ----------
    bits : int
        The uint16 feature field.
    """

    bits: int

    @property
    def stride_length(self) -> bool:
        """Instantaneous stride length measurement supported."""
        return bool(self.bits & 0x01)

    @property
    def total_distance(self) -> bool:
        """Total distance measurement supported."""
        return bool(self.bits & 0x02)

    @property
    def walking_running(self) -> bool:
        """Walking or running status supported."""
        return bool(self.bits & 0x04)

    @property
    def calibration(self) -> bool:
        """Calibration procedure supported."""
        return bool(self.bits & 0x08)

    @property
    def multiple_locations(self) -> bool:
        """Multiple sensor locations supported."""
        return bool(self.bits & 0x10)


def decode_rsc_feature(data: bytes) -> RscFeature:
    """Decode an RSC Feature value (0x2A54, uint16).

    Parameters
    ----------
    data : bytes
        The characteristic value.

    Returns
    -------
    RscFeature
        The feature bits.

    Raises
    ------
    ParseError
        Not two bytes.
    """
    if len(data) != 2:
        raise ParseError(f"RSC feature: {len(data)} bytes, 2 expected")
    return RscFeature(int.from_bytes(bytes(data), "little"))


def encode_rsc_feature(f: RscFeature) -> bytes:
    """Encode an RSC Feature value (0x2A54).

    Parameters
    ----------
    f : RscFeature
        The feature bits.

    Returns
    -------
    bytes
        Two bytes.
    """
    return struct.pack("<H", f.bits)


#: Sensor Location (0x2A5D) values.
SENSOR_LOCATIONS: Final[dict[int, str]] = {
    0: "other", 1: "top of shoe", 2: "in shoe", 3: "hip", 4: "front wheel", 5: "left crank",
    6: "right crank", 7: "left pedal", 8: "right pedal", 9: "front hub", 10: "rear dropout",
    11: "chainstay", 12: "rear wheel", 13: "rear hub", 14: "chest", 15: "spider",
    16: "chain ring",
}


def decode_sensor_location(data: bytes) -> int:
    """Decode a Sensor Location value (0x2A5D).

    Parameters
    ----------
    data : bytes
        The characteristic value (one byte).

    Returns
    -------
    int
        The location code (see `SENSOR_LOCATIONS`; unknown codes are kept).

    Raises
    ------
    ParseError
        Not one byte.
    """
    if len(data) != 1:
        raise ParseError(f"sensor location: {len(data)} bytes, 1 expected")
    return data[0]


def encode_sensor_location(code: int) -> bytes:
    """Encode a Sensor Location value (0x2A5D).

    Parameters
    ----------
    code : int
        Location code, 0-255.

    Returns
    -------
    bytes
        One byte.
    """
    return bytes([code])


#: SC Control Point op codes and result codes.
SC_SET_CUMULATIVE, SC_START_CALIBRATION, SC_UPDATE_LOCATION, SC_SUPPORTED_LOCATIONS = 1, 2, 3, 4
SC_RESPONSE = 0x10
SC_RESULTS: Final[dict[int, str]] = {
    1: "success", 2: "op code not supported", 3: "invalid parameter", 4: "operation failed",
}


@dataclass(frozen=True, slots=True)
class ScControlResponse:
    """An SC Control Point (0x2A55) response indication.

    Attributes
    ----------
    request_op : int
        The op code answered.
    result : int
        Result code (1 = success, see `SC_RESULTS`).
    locations : tuple of int
        Supported sensor locations (response to op code 4 only).
    """

    request_op: int
    result: int
    locations: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the request succeeded."""
        return self.result == 1


def decode_sc_response(data: bytes) -> ScControlResponse:
    """Decode an SC Control Point response (``10 op result [locations...]``).

    Parameters
    ----------
    data : bytes
        The indicated value.

    Returns
    -------
    ScControlResponse
        The response.

    Raises
    ------
    ParseError
        Not a response, or trailing bytes on a response that has none.
    """
    data = bytes(data)
    _need(data, 3, "SC control point response")
    if data[0] != SC_RESPONSE:
        raise ParseError(f"SC control point: op 0x{data[0]:02x} is not a response (0x10)")
    extra = data[3:]
    if extra and not (data[1] == SC_SUPPORTED_LOCATIONS and data[2] == 1):
        raise ParseError("SC control point response: unexpected trailing bytes")
    return ScControlResponse(data[1], data[2], tuple(extra))


def encode_sc_response(r: ScControlResponse) -> bytes:
    """Encode an SC Control Point response; the inverse of `decode_sc_response`.

    Parameters
    ----------
    r : ScControlResponse
        The response.

    Returns
    -------
    bytes
        The indicated value.
    """
    return bytes([SC_RESPONSE, r.request_op, r.result, *r.locations])


def encode_sc_request(op: int, parameter: bytes = b"") -> bytes:
    """Encode an SC Control Point request.

    Parameters
    ----------
    op : int
        Op code (`SC_SET_CUMULATIVE` takes a uint32 distance in dm,
        `SC_UPDATE_LOCATION` a location byte).
    parameter : bytes
        The op's parameter.

    Returns
    -------
    bytes
        The value to write.
    """
    return bytes([op]) + bytes(parameter)


# --------------------------------------------------------------------------------------
# Heart rate
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """A Heart Rate Measurement (0x2A37).

    Attributes
    ----------
    bpm : int
        Heart rate, beats per minute.
    contact : bool or None
        Skin contact detected; None when the sensor does not report it.
    energy_kj : int or None
        Energy expended, kJ, when present.
    rr_raw : tuple of int
        RR intervals, 1/1024 s.
    wide : bool
        Whether the rate was sent as uint16.
    """

    bpm: int
    contact: bool | None = None
    energy_kj: int | None = None
    rr_raw: tuple[int, ...] = ()
    wide: bool = False

    @property
    def rr_s(self) -> tuple[float, ...]:
        """RR intervals, s."""
        return tuple(r / 1024.0 for r in self.rr_raw)


def decode_heart_rate(data: bytes) -> HeartRateMeasurement:
    """Decode a Heart Rate Measurement (0x2A37).

    Parameters
    ----------
    data : bytes
        The characteristic value.

    Returns
    -------
    HeartRateMeasurement
        The measurement.

    Raises
    ------
    ParseError
        Too short for its flags, or an odd number of RR bytes.
    """
    data = bytes(data)
    _need(data, 2, "heart rate")
    flags = data[0]
    wide = bool(flags & 1)
    pos = 1
    if wide:
        _need(data, 3, "heart rate (uint16)")
        (bpm,) = struct.unpack_from("<H", data, 1)
        pos = 3
    else:
        bpm = data[1]
        pos = 2
    contact = bool(flags & 2) if flags & 4 else None
    energy = None
    if flags & 8:
        _need(data, pos + 2, "heart rate energy")
        (energy,) = struct.unpack_from("<H", data, pos)
        pos += 2
    rest = data[pos:]
    if flags & 16:
        if len(rest) % 2:
            raise ParseError("heart rate: odd number of RR-interval bytes")
        rr = struct.unpack(f"<{len(rest) // 2}H", rest)
    elif rest:
        raise ParseError("heart rate: trailing bytes")
    else:
        rr = ()
    return HeartRateMeasurement(bpm, contact, energy, tuple(rr), wide)


def encode_heart_rate(m: HeartRateMeasurement) -> bytes:
    """Encode a Heart Rate Measurement; the inverse of `decode_heart_rate`.

    Parameters
    ----------
    m : HeartRateMeasurement
        The measurement (a rate over 255 needs ``wide``).

    Returns
    -------
    bytes
        The characteristic value.
    """
    flags = int(m.wide) | (m.contact is not None) << 2 | bool(m.contact) << 1
    flags |= (m.energy_kj is not None) << 3 | bool(m.rr_raw) << 4
    out = bytearray([flags])
    out += struct.pack("<H", m.bpm) if m.wide else bytes([m.bpm])
    if m.energy_kj is not None:
        out += struct.pack("<H", m.energy_kj)
    out += struct.pack(f"<{len(m.rr_raw)}H", *m.rr_raw)
    return bytes(out)


# --------------------------------------------------------------------------------------
# Polar PMD: control point
# --------------------------------------------------------------------------------------

PMD_ECG, PMD_PPG, PMD_ACC, PMD_PPI, PMD_GYRO, PMD_MAG = 0, 1, 2, 3, 5, 6
PMD_TYPES: Final[dict[int, str]] = {
    0: "ecg", 1: "ppg", 2: "acc", 3: "ppi", 5: "gyro", 6: "mag", 9: "sdk_mode",
}
PMD_GET_SETTINGS, PMD_START, PMD_STOP = 0x01, 0x02, 0x03
PMD_RESPONSE = 0xF0
PMD_FEATURES = 0x0F
#: Setting types and their value sizes in bytes.
SET_SAMPLE_RATE, SET_RESOLUTION, SET_RANGE, SET_RANGE_MILLI, SET_CHANNELS, SET_FACTOR = range(6)
SETTING_SIZES: Final[dict[int, int]] = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4}
PMD_STATUS: Final[dict[int, str]] = {
    0: "success", 1: "invalid op code", 2: "invalid measurement type", 3: "not supported",
    4: "invalid length", 5: "invalid parameter", 6: "already in state",
    7: "invalid resolution", 8: "invalid sample rate", 9: "invalid range", 10: "invalid MTU",
    11: "invalid number of channels", 12: "invalid state", 13: "device in charger",
    14: "disk full",
}


def decode_pmd_features(data: bytes) -> frozenset[int]:
    """Decode the PMD control point's read value: the measurement types offered.

    Parameters
    ----------
    data : bytes
        ``0F`` followed by a bit mask (bit n = measurement type n).

    Returns
    -------
    frozenset of int
        The measurement types (`PMD_ACC`, ...).

    Raises
    ------
    ParseError
        Not a feature value.
    """
    data = bytes(data)
    _need(data, 2, "PMD features")
    if data[0] != PMD_FEATURES:
        raise ParseError(f"PMD features: first byte 0x{data[0]:02x}, 0x0f expected")
    mask = int.from_bytes(data[1:], "little")
    return frozenset(i for i in range(8 * (len(data) - 1)) if mask >> i & 1)


def encode_pmd_features(types: set[int] | frozenset[int]) -> bytes:
    """Encode the PMD feature read value; the inverse of `decode_pmd_features`.

    Parameters
    ----------
    types : set of int
        Measurement types offered (0-15).

    Returns
    -------
    bytes
        ``0F`` and a two-byte mask.
    """
    mask = sum(1 << t for t in types)
    return bytes([PMD_FEATURES]) + mask.to_bytes(2, "little")


@dataclass(frozen=True, slots=True)
class PmdSettings:
    """PMD settings: each setting type with its values (a choice in a request or start).

    Attributes
    ----------
    values : dict of int to tuple of int
        Setting type (`SET_SAMPLE_RATE`, ...) to its values; a factor is
        kept as the bits of its float32.
    """

    values: dict[int, tuple[int, ...]] = field(default_factory=dict)

    @property
    def factor(self) -> float | None:
        """The factor (float32) of a start response, when present."""
        bits = self.values.get(SET_FACTOR)
        if not bits:
            return None
        return struct.unpack("<f", struct.pack("<I", bits[0]))[0]

    def first(self, kind: int) -> int | None:
        """Return the first value of a setting type, or None."""
        vals = self.values.get(kind)
        return vals[0] if vals else None


def decode_pmd_settings(data: bytes) -> PmdSettings:
    """Decode PMD settings (type, count, values... triples).

    Parameters
    ----------
    data : bytes
        The settings bytes.

    Returns
    -------
    PmdSettings
        The settings.

    Raises
    ------
    ParseError
        An unknown setting type or values cut short.
    """
    data = bytes(data)
    out: dict[int, tuple[int, ...]] = {}
    pos = 0
    while pos < len(data):
        _need(data[pos:], 2, "PMD setting")
        kind, count = data[pos], data[pos + 1]
        size = SETTING_SIZES.get(kind)
        if size is None:
            raise ParseError(f"PMD settings: unknown setting type {kind}")
        pos += 2
        end = pos + count * size
        if end > len(data):
            raise ParseError("PMD settings: values cut short")
        out[kind] = tuple(
            int.from_bytes(data[p : p + size], "little") for p in range(pos, end, size)
        )
        pos = end
    return PmdSettings(out)


def encode_pmd_settings(s: PmdSettings) -> bytes:
    """Encode PMD settings; the inverse of `decode_pmd_settings`.

    Parameters
    ----------
    s : PmdSettings
        The settings.

    Returns
    -------
    bytes
        Type, count, values for each setting.
    """
    out = bytearray()
    for kind, vals in s.values.items():
        size = SETTING_SIZES[kind]
        out += bytes([kind, len(vals)])
        for v in vals:
            out += int(v).to_bytes(size, "little")
    return bytes(out)


def acc_settings(rate_hz: int, range_g: int, resolution: int = 16) -> PmdSettings:
    """Return the settings of an ACC start request.

    Parameters
    ----------
    rate_hz : int
        Sample rate, Hz.
    range_g : int
        Range, g.
    resolution : int
        Bits per sample.

    Returns
    -------
    PmdSettings
        One value each for sample rate, resolution and range.
    """
    return PmdSettings({SET_SAMPLE_RATE: (rate_hz,), SET_RESOLUTION: (resolution,),
                        SET_RANGE: (range_g,)})


def encode_pmd_request(op: int, measurement: int, settings: PmdSettings | None = None) -> bytes:
    """Encode a PMD control point request (settings, start or stop).

    Parameters
    ----------
    op : int
        `PMD_GET_SETTINGS`, `PMD_START` or `PMD_STOP`.
    measurement : int
        Measurement type (`PMD_ACC`, ...).
    settings : PmdSettings or None
        The chosen settings of a start request.

    Returns
    -------
    bytes
        The value to write.
    """
    body = encode_pmd_settings(settings) if settings is not None else b""
    return bytes([op, measurement]) + body


@dataclass(frozen=True, slots=True)
class PmdRequest:
    """A decoded PMD control point request (what a device receives).

    Attributes
    ----------
    op : int
        Op code.
    measurement : int
        Measurement type.
    settings : PmdSettings
        Settings of a start request (empty otherwise).
    """

    op: int
    measurement: int
    settings: PmdSettings


def decode_pmd_request(data: bytes) -> PmdRequest:
    """Decode a PMD control point request; the inverse of `encode_pmd_request`.

    Parameters
    ----------
    data : bytes
        The written value.

    Returns
    -------
    PmdRequest
        The request.

    Raises
    ------
    ParseError
        Too short, or malformed settings.
    """
    data = bytes(data)
    _need(data, 2, "PMD request")
    return PmdRequest(data[0], data[1], decode_pmd_settings(data[2:]))


@dataclass(frozen=True, slots=True)
class PmdResponse:
    """A PMD control point response (``F0 op type status more parameters...``).

    Attributes
    ----------
    op : int
        The op code answered.
    measurement : int
        Measurement type.
    status : int
        0 = success (see `PMD_STATUS`).
    more : bool
        More parameters follow in another indication.
    parameters : bytes
        Settings (for a settings request) or the start response's factor.
    """

    op: int
    measurement: int
    status: int
    more: bool = False
    parameters: bytes = b""

    @property
    def ok(self) -> bool:
        """Whether the request succeeded."""
        return self.status == 0

    @property
    def status_text(self) -> str:
        """The status in words."""
        return PMD_STATUS.get(self.status, f"error {self.status}")

    def settings(self) -> PmdSettings:
        """Decode the parameters as settings.

        Raises
        ------
        ParseError
            The parameters are not settings.
        """
        return decode_pmd_settings(self.parameters)


def decode_pmd_response(data: bytes) -> PmdResponse:
    """Decode a PMD control point response.

    Parameters
    ----------
    data : bytes
        The indicated value.

    Returns
    -------
    PmdResponse
        The response.

    Raises
    ------
    ParseError
        Not a response.
    """
    data = bytes(data)
    _need(data, 4, "PMD response")
    if data[0] != PMD_RESPONSE:
        raise ParseError(f"PMD response: first byte 0x{data[0]:02x}, 0xf0 expected")
    more = len(data) > 4 and data[4] != 0
    return PmdResponse(data[1], data[2], data[3], more, data[5:])


def encode_pmd_response(r: PmdResponse) -> bytes:
    """Encode a PMD control point response; the inverse of `decode_pmd_response`.

    Parameters
    ----------
    r : PmdResponse
        The response.

    Returns
    -------
    bytes
        The indicated value (status only when there is nothing more to say).
    """
    head = bytes([PMD_RESPONSE, r.op, r.measurement, r.status])
    if not r.more and not r.parameters:
        return head
    return head + bytes([int(r.more)]) + r.parameters


def factor_parameters(factor: float) -> bytes:
    """Return a start response's parameters carrying a factor (float32).

    Parameters
    ----------
    factor : float
        Scale of the raw values.

    Returns
    -------
    bytes
        The settings bytes ``05 01 <float32>``.
    """
    (bits,) = struct.unpack("<I", struct.pack("<f", factor))
    return encode_pmd_settings(PmdSettings({SET_FACTOR: (bits,)}))


# --------------------------------------------------------------------------------------
# Polar PMD: data frames
# --------------------------------------------------------------------------------------

PMD_HEADER = 10


@dataclass(frozen=True, slots=True)
class PmdFrame:
    """A PMD data frame, its header decoded and its samples still bytes.

    Attributes
    ----------
    measurement : int
        Measurement type (`PMD_ACC`, ...).
    timestamp_ns : int
        Time of the last sample, ns (Polar: since 2000-01-01 UTC).
    frame_type : int
        Frame type with bit 7 (compressed) cleared.
    compressed : bool
        Delta-coded samples.
    data : bytes
        The sample bytes.
    """

    measurement: int
    timestamp_ns: int
    frame_type: int
    compressed: bool
    data: bytes

    @property
    def frame_byte(self) -> int:
        """The frame-type byte as sent."""
        return self.frame_type | (0x80 if self.compressed else 0)


def decode_pmd_frame(data: bytes) -> PmdFrame:
    """Decode a PMD data frame's header.

    Parameters
    ----------
    data : bytes
        The notification value.

    Returns
    -------
    PmdFrame
        The frame.

    Raises
    ------
    ParseError
        Shorter than the header.
    """
    data = bytes(data)
    _need(data, PMD_HEADER, "PMD frame")
    (ts,) = struct.unpack_from("<Q", data, 1)
    return PmdFrame(data[0], ts, data[9] & 0x7F, bool(data[9] & 0x80), data[PMD_HEADER:])


def encode_pmd_frame(f: PmdFrame) -> bytes:
    """Encode a PMD data frame; the inverse of `decode_pmd_frame`.

    Parameters
    ----------
    f : PmdFrame
        The frame.

    Returns
    -------
    bytes
        Header and sample bytes.
    """
    return struct.pack("<BQB", f.measurement, f.timestamp_ns, f.frame_byte) + f.data


def _wrap(values: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement wrap of int64 values to `bits` bits."""
    mask = (1 << bits) - 1
    v = values & mask
    return np.where(v >> (bits - 1) & 1, v - (1 << bits), v)


def decode_delta_samples(data: bytes, channels: int, resolution: int) -> np.ndarray:
    """Decode a compressed PMD data section: reference sample, then delta blocks.

    Parameters
    ----------
    data : bytes
        The data section (after the 10-byte header).
    channels : int
        Values per sample.
    resolution : int
        Bits of the reference values: 16 (int16) or 32 (int32, or the bits
        of a float32).

    Returns
    -------
    numpy.ndarray
        int64 samples, shape (n, channels), wrapped to `resolution` bits.

    Raises
    ------
    ParseError
        A block cut short or a bit width outside 1-32.
    """
    data = bytes(data)
    size = resolution // 8
    ref_len = channels * size
    _need(data, ref_len, "PMD reference sample")
    ref = np.frombuffer(data[:ref_len], dtype="<i2" if size == 2 else "<i4").astype(np.int64)
    parts = [ref[None, :]]
    pos = ref_len
    while pos < len(data):
        if pos + 2 > len(data):
            raise ParseError("PMD delta block: header cut short")
        width, count = data[pos], data[pos + 1]
        if not 1 <= width <= 32:
            raise ParseError(f"PMD delta block: bit width {width} outside 1-32")
        nbits = width * count * channels
        nbytes = math.ceil(nbits / 8)
        pos += 2
        if pos + nbytes > len(data):
            raise ParseError("PMD delta block: deltas cut short")
        if count:
            bits = np.unpackbits(
                np.frombuffer(data, np.uint8, nbytes, pos), bitorder="little"
            )[:nbits].reshape(-1, width).astype(np.int64)
            deltas = _wrap(bits @ (np.int64(1) << np.arange(width, dtype=np.int64)), width)
            parts.append(deltas.reshape(count, channels))
        pos += nbytes
    return _wrap(np.cumsum(np.vstack(parts), axis=0), resolution)


def encode_delta_samples(samples: np.ndarray, resolution: int, block: int = 255) -> bytes:
    """Encode samples as a compressed PMD data section; inverse of `decode_delta_samples`.

    Parameters
    ----------
    samples : numpy.ndarray
        Integer samples, shape (n, channels), n >= 1, within `resolution` bits.
    resolution : int
        16 or 32.
    block : int
        Samples per delta block (at most 255); each block uses the smallest
        bit width that holds its deltas.

    Returns
    -------
    bytes
        Reference sample and delta blocks.
    """
    s = np.asarray(samples, dtype=np.int64)
    out = bytearray(s[0].astype("<i2" if resolution == 16 else "<i4").tobytes())
    deltas = _wrap(np.diff(s, axis=0), resolution)
    for i in range(0, len(deltas), block):
        d = deltas[i : i + block]
        peak = int(max(d.max(), -d.min() - 1, 0))
        width = max(1, peak.bit_length() + 1)
        flat = d.reshape(-1) & ((1 << width) - 1)
        bits = (flat[:, None] >> np.arange(width)) & 1
        out += bytes([width, len(d)])
        out += np.packbits(bits.reshape(-1).astype(np.uint8), bitorder="little").tobytes()
    return bytes(out)


#: (channels, resolution bits) of the compressed frame types per measurement.
_LAYOUT: Final[dict[tuple[int, int], tuple[int, int]]] = {
    (PMD_ACC, 0): (3, 16), (PMD_ACC, 1): (3, 16),
    (PMD_GYRO, 0): (3, 16), (PMD_GYRO, 1): (3, 32),
    (PMD_MAG, 0): (3, 16), (PMD_MAG, 1): (4, 16),
}


def pmd_raw_samples(frame: PmdFrame) -> np.ndarray:
    """Return a frame's samples as stored: int64, shape (n, channels).

    Raw ACC type 1 frames hold int16 x, y, z; compressed ACC, GYRO and MAG
    frames are delta-decoded (GYRO type 1 values are float32 bit patterns).

    Parameters
    ----------
    frame : PmdFrame
        The frame.

    Returns
    -------
    numpy.ndarray
        The samples.

    Raises
    ------
    ParseError
        An unsupported frame type or malformed sample bytes.
    """
    if not frame.compressed:
        if (frame.measurement, frame.frame_type) != (PMD_ACC, 1):
            raise ParseError(
                f"PMD: raw frame type {frame.frame_type} of "
                f"{PMD_TYPES.get(frame.measurement, frame.measurement)} is not supported"
            )
        if not frame.data or len(frame.data) % 6:
            raise ParseError(f"PMD raw ACC: {len(frame.data)} bytes is not whole samples")
        return np.frombuffer(frame.data, "<i2").astype(np.int64).reshape(-1, 3)
    layout = _LAYOUT.get((frame.measurement, frame.frame_type))
    if layout is None:
        raise ParseError(
            f"PMD: compressed frame type {frame.frame_type} of "
            f"{PMD_TYPES.get(frame.measurement, frame.measurement)} is not supported"
        )
    return decode_delta_samples(frame.data, *layout)


def decode_acc_mg(frame: PmdFrame, factor: float = 1.0) -> np.ndarray:
    """Return the accelerations of an ACC frame in mG (int64, shape (n, 3)).

    Compressed type 0 values are in units of `factor` g; raw type 1 and
    compressed type 1 values are mG (times `factor`, normally 1).

    Parameters
    ----------
    frame : PmdFrame
        An ACC frame.
    factor : float
        The factor of the stream's start response.

    Returns
    -------
    numpy.ndarray
        Accelerations, mG, truncated toward zero as the Polar SDK does.

    Raises
    ------
    ParseError
        Not an ACC frame, or malformed.
    """
    if frame.measurement != PMD_ACC:
        raise ParseError(f"PMD: measurement {frame.measurement} is not ACC")
    raw = pmd_raw_samples(frame)
    f32 = np.float32(factor)
    if frame.compressed and frame.frame_type == 0:
        return np.trunc(raw.astype(np.float32) * f32 * np.float32(1000.0)).astype(np.int64)
    if factor == 1.0:
        return raw
    return np.trunc(raw.astype(np.float32) * f32).astype(np.int64)


def decode_gyro_dps(frame: PmdFrame, factor: float = 1.0) -> np.ndarray:
    """Return the angular rates of a GYRO frame, deg/s (float32 values as float64).

    Parameters
    ----------
    frame : PmdFrame
        A GYRO frame.
    factor : float
        The stream's factor.

    Returns
    -------
    numpy.ndarray
        Shape (n, 3).

    Raises
    ------
    ParseError
        Not a GYRO frame, or malformed.
    """
    if frame.measurement != PMD_GYRO:
        raise ParseError(f"PMD: measurement {frame.measurement} is not GYRO")
    raw = pmd_raw_samples(frame)
    if frame.frame_type == 1:
        vals = (raw & 0xFFFFFFFF).astype(np.uint32).view(np.float32)
    else:
        vals = raw.astype(np.float32)
    return (vals * np.float32(factor)).astype(np.float64)


def decode_mag(frame: PmdFrame, factor: float = 1.0) -> tuple[np.ndarray, np.ndarray | None]:
    """Return the field of a MAG frame and, for type 1, each sample's calibration status.

    Parameters
    ----------
    frame : PmdFrame
        A MAG frame.
    factor : float
        The stream's factor.

    Returns
    -------
    field : numpy.ndarray
        Shape (n, 3): raw x factor for type 0, Gauss (raw mG x factor / 1000) for type 1.
    status : numpy.ndarray or None
        Calibration status ids (type 1 only).

    Raises
    ------
    ParseError
        Not a MAG frame, or malformed.
    """
    if frame.measurement != PMD_MAG:
        raise ParseError(f"PMD: measurement {frame.measurement} is not MAG")
    raw = pmd_raw_samples(frame)
    if frame.frame_type == 1:
        gauss = raw[:, :3].astype(np.float32) * np.float32(factor) / np.float32(1000.0)
        return gauss.astype(np.float64), raw[:, 3].copy()
    return (raw.astype(np.float32) * np.float32(factor)).astype(np.float64), None


def sample_times_ns(last_ns: int, previous_ns: int, n: int, rate_hz: float) -> np.ndarray:
    """Return the time of each sample of a frame, ns (the Polar SDK's rule).

    The last sample has the frame's timestamp. After a previous frame the
    interval is the time between the frames over `n`; for the first frame it
    is ``1e9 / rate_hz``. Offsets from the previous (first frame: the last)
    timestamp are rounded half-to-even and added in integers, so times keep
    ns resolution on Polar's clock (ns since 2000).

    Parameters
    ----------
    last_ns : int
        The frame's timestamp.
    previous_ns : int
        The previous frame's timestamp, 0 for the first frame.
    n : int
        Samples in the frame.
    rate_hz : float
        Nominal rate (used for the first frame).

    Returns
    -------
    numpy.ndarray
        int64 times, shape (n,).

    Raises
    ------
    ValueError
        A first frame with no rate to go by.
    """
    i = np.arange(n, dtype=np.float64)
    if previous_ns > 0:
        delta = (last_ns - previous_ns) / n
        base, rel = previous_ns, delta + delta * i
    else:
        if rate_hz <= 0:
            raise ValueError("the first frame needs the sample rate")
        delta = 1e9 / rate_hz
        base, rel = last_ns, delta * i - delta * (n - 1)
    if 0 <= base < 2**62 and (not n or np.abs(rel).max() < 2.0**61):
        # offsets from an integer base: Polar's clock counts ns since 2000 (~8e17), where
        # a double only resolves 128 ns
        out = base + np.rint(rel).astype(np.int64)
    else:  # corrupt or far-off timestamps: doubles, cast in range (timestamps are uint64)
        t = np.rint(base + rel)
        out = np.clip(t, -(2.0**63), np.nextafter(2.0**63, 0)).astype(np.int64)
    if n:
        out[-1] = min(last_ns, 2**63 - 1)
    return out


def encode_acc_frame(
    samples_mg: np.ndarray, timestamp_ns: int, compressed: bool = True, block: int = 255
) -> bytes:
    """Encode accelerations (mG) as an ACC frame: compressed type 1 or raw type 1.

    Parameters
    ----------
    samples_mg : numpy.ndarray
        Integer mG, shape (n, 3), within int16.
    timestamp_ns : int
        Time of the last sample, ns.
    compressed : bool
        Delta-coded (frame byte 0x81) or raw (0x01).
    block : int
        Samples per delta block.

    Returns
    -------
    bytes
        The notification value.
    """
    s = np.asarray(samples_mg, dtype=np.int64)
    data = encode_delta_samples(s, 16, block) if compressed else s.astype("<i2").tobytes()
    return encode_pmd_frame(PmdFrame(PMD_ACC, timestamp_ns, 1, compressed, data))
