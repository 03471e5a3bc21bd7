"""GPX, TCX and Strava activities.csv readers: fixtures, decisions and hostile input."""

from __future__ import annotations

import itertools
import math
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gpxpy
import pytest

from loadmon.io.errors import FileFormatError
from loadmon.io.gpx import RUN_STOP_SPEED_MPS, parse_gpx
from loadmon.io.sports import normalize_sport, steps_per_min
from loadmon.io.strava import read_strava_activities
from loadmon.io.tcx import parse_tcx
from loadmon.types import kind_for_sport

FIXTURES = Path(__file__).parent / "fixtures" / "activities"
GPX_NS = "{http://www.topografix.com/GPX/1/1}"
TPX_NS = "{http://www.garmin.com/xmlschemas/TrackPointExtension/v1}"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# ------------------------------------------------------------------------------------
# Independent computations on the fixture points (stdlib XML + math, no loadmon code)
# ------------------------------------------------------------------------------------

def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def gpx_points(data: bytes) -> list[dict]:
    """(t, lat, lon, hr, cad) of every trkpt, read with the standard library."""
    out = []
    for pt in ET.fromstring(data).iter(f"{GPX_NS}trkpt"):
        t = datetime.fromisoformat(pt.findtext(f"{GPX_NS}time"))
        hr = pt.findtext(f".//{TPX_NS}hr")
        cad = pt.findtext(f".//{TPX_NS}cad")
        out.append({
            "t": t, "lat": float(pt.get("lat")), "lon": float(pt.get("lon")),
            "hr": float(hr) if hr else None, "cad": float(cad) if cad else None,
        })
    return out


def path_length(points: list[dict]) -> float:
    return sum(haversine(a["lat"], a["lon"], b["lat"], b["lon"])
               for a, b in itertools.pairwise(points))


# ------------------------------------------------------------------------------------
# GPX
# ------------------------------------------------------------------------------------

class TestGarminConnectGpx:
    """15 min run: 0-300 s running, 300-330 s at a traffic light (GPS jitter, cad 0),
    330-600 s running, manual pause 600-720 s (no points, 15 m walked), 720-900 s running.
    """

    data = fixture("garmin_connect_run.gpx")

    def test_one_run_session(self):
        (s,) = parse_gpx(self.data)
        assert s.start_utc == datetime(2024, 3, 10, 7, 2, 11, tzinfo=UTC)
        assert s.sport == "running" and s.kind == "run"
        assert s.source == "gpx"
        assert s.notes == "Berlin Running"
        assert s.device is None  # "Garmin Connect" is the exporter, not the watch

    def test_duration_is_moving_time(self):
        (s,) = parse_gpx(self.data)
        points = gpx_points(self.data)
        elapsed = (points[-1]["t"] - points[0]["t"]).total_seconds()
        assert elapsed == 900
        # the light (30 s) and the pause (120 s) drop out
        assert s.duration_s == pytest.approx(900 - 30 - 120)

    def test_distance_matches_independent_haversine(self):
        (s,) = parse_gpx(self.data)
        expected = path_length(gpx_points(self.data))
        assert s.distance_m == pytest.approx(expected, rel=1e-9)
        # designed: 300 s x 3.0 + 270 s x 3.2 + 15 m walked + 180 s x 3.0 (+ jitter at the light)
        assert s.distance_m == pytest.approx(900 + 864 + 15 + 540, abs=6)
        # gpxpy's flat-earth/equatorial-radius length agrees to within 0.2 %
        gpx = gpxpy.parse(self.data.decode())
        assert s.distance_m == pytest.approx(gpx.length_2d(), rel=2e-3)

    def test_cadence_is_doubled_strides(self):
        (s,) = parse_gpx(self.data)
        # cad alternates 84/86 strides/min while running; the zeros at the light drop out
        assert s.cadence_spm == pytest.approx(170.0)

    def test_heart_rate_time_weighted_over_moving_intervals(self):
        (s,) = parse_gpx(self.data)
        pts = gpx_points(self.data)
        t0 = pts[0]["t"]
        num = den = 0.0
        for a, b in itertools.pairwise(pts):
            ta, tb = ((p["t"] - t0).total_seconds() for p in (a, b))
            if 300 <= ta < 330 or ta == 600:  # the light and the pause, by construction
                continue
            num += (a["hr"] + b["hr"]) / 2 * (tb - ta)
            den += tb - ta
        assert den == 750
        assert s.avg_hr_bpm == pytest.approx(num / den)


class TestStravaGpx:
    data = fixture("strava_run.gpx")

    def test_numeric_type_9_is_a_run(self):
        (s,) = parse_gpx(self.data)
        assert s.sport == "running" and s.kind == "run"
        assert s.device == "iPhone"  # creator "StravaGPX iPhone"
        assert s.start_utc == datetime(2016, 11, 21, 7, 25, 2, tzinfo=UTC)

    def test_duration_distance_hr(self):
        (s,) = parse_gpx(self.data)
        pts = gpx_points(self.data)
        assert s.duration_s == pytest.approx(240)
        assert s.distance_m == pytest.approx(path_length(pts), rel=1e-9)
        assert s.distance_m == pytest.approx(2.9 * 240, rel=1e-3)
        # 2 s points throughout: time-weighted = mean of interval midpoints
        hrs = [p["hr"] for p in pts]
        mids = [(a + b) / 2 for a, b in itertools.pairwise(hrs)]
        assert s.avg_hr_bpm == pytest.approx(sum(mids) / len(mids))
        assert s.cadence_spm is None  # no cad recorded


def make_gpx(tracks: list[dict], creator: str = "test") -> bytes:
    """Build a GPX 1.1 document; each track: name, type, segments of (t_s, lat, lon, hr, cad)."""
    t0 = datetime(2024, 5, 4, 6, 30, tzinfo=UTC)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<gpx version="1.1" creator="{creator}" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2">',
    ]
    for trk in tracks:
        out.append("<trk>")
        if trk.get("name"):
            out.append(f"<name>{trk['name']}</name>")
        if trk.get("type") is not None:
            out.append(f"<type>{trk['type']}</type>")
        for seg in trk["segments"]:
            out.append("<trkseg>")
            for t_s, lat, lon, hr, cad in seg:
                when = trk.get("time_fmt", lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"))(
                    t0 + timedelta(seconds=t_s))
                ext = ""
                if hr is not None or cad is not None:
                    ext = "<extensions><gpxtpx:TrackPointExtension>"
                    ext += f"<gpxtpx:hr>{hr}</gpxtpx:hr>" if hr is not None else ""
                    ext += f"<gpxtpx:cad>{cad}</gpxtpx:cad>" if cad is not None else ""
                    ext += "</gpxtpx:TrackPointExtension></extensions>"
                out.append(f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}">'
                           f"<time>{when}</time>{ext}</trkpt>")
            out.append("</trkseg>")
        out.append("</trk>")
    out.append("</gpx>")
    return "\n".join(out).encode()


def straight(t_from: int, t_to: int, step: int, lat0: float, speed_mps: float,
             hr: int | None = 150, cad: int | None = 85) -> list[tuple]:
    """Points running due north at a constant speed."""
    deg_per_m = 1 / 111_195.0
    return [(t, lat0 + (t - t_from) * speed_mps * deg_per_m, 8.0, hr, cad)
            for t in range(t_from, t_to + 1, step)]


class TestGpxRules:
    def test_segments_and_tracks(self):
        seg1 = straight(0, 600, 5, 47.0, 3.0)
        seg2 = straight(900, 1200, 5, 47.1, 3.0)  # 11 km further north, 5 min later
        other = straight(0, 300, 5, 46.0, 6.0, cad=90)
        data = make_gpx([
            {"name": "two segments", "type": "running", "segments": [seg1, seg2]},
            {"name": "ride", "type": "cycling", "segments": [other]},
        ])
        run, ride = parse_gpx(data)
        first_track = ET.fromstring(data).find(f"{GPX_NS}trk")
        segments = [[{"lat": float(p.get("lat")), "lon": float(p.get("lon"))}
                     for p in seg.iter(f"{GPX_NS}trkpt")]
                    for seg in first_track.iter(f"{GPX_NS}trkseg")]
        assert len(segments) == 2
        # the 11 km jump between segments is not distance, the 300 s between them not time
        assert run.distance_m == pytest.approx(sum(path_length(s) for s in segments), rel=1e-9)
        assert run.distance_m == pytest.approx(3.0 * 900, rel=1e-3)
        assert run.duration_s == pytest.approx(900)
        assert ride.kind == "cross" and ride.sport == "cycling"
        assert ride.cadence_spm is None  # pedal rpm is not a running cadence

    def test_time_offsets_and_naive_times(self):
        pts = straight(0, 60, 5, 47.0, 3.0)
        with_offset = make_gpx([{"type": "running", "segments": [pts],
                                 "time_fmt": lambda t: (t + timedelta(hours=2)).strftime(
                                     "%Y-%m-%dT%H:%M:%S.%f+02:00")}])
        naive = make_gpx([{"type": "running", "segments": [pts],
                           "time_fmt": lambda t: t.strftime("%Y-%m-%dT%H:%M:%S")}])
        for data in (with_offset, naive):
            (s,) = parse_gpx(data)
            assert s.start_utc == datetime(2024, 5, 4, 6, 30, tzinfo=UTC)
            assert s.start_utc.utcoffset() == timedelta(0)

    def test_slow_walking_during_run_counts_as_stopped(self):
        run = straight(0, 100, 5, 47.0, 3.0)
        walk = straight(100, 200, 5, run[-1][1], RUN_STOP_SPEED_MPS * 0.9)[1:]
        (s,) = parse_gpx(make_gpx([{"type": "9", "segments": [run + walk]}]))
        assert s.duration_s == pytest.approx(100)  # slower than a 30 min/mile pace: stopped

    def test_no_type_gives_no_sport_unless_hinted(self):
        data = make_gpx([{"segments": [straight(0, 300, 5, 47.0, 3.0, cad=86)]}])
        (plain,) = parse_gpx(data)
        assert plain.sport is None and plain.kind == "cross" and plain.cadence_spm is None
        (hinted,) = parse_gpx(data, sport_hint="Run")
        assert hinted.sport == "running" and hinted.kind == "run"
        assert hinted.cadence_spm == pytest.approx(172)

    def test_cadence_already_in_steps_is_not_doubled(self):
        pts = straight(0, 300, 5, 47.0, 3.0, cad=172)
        data = make_gpx([{"type": "running", "segments": [pts]}])
        (s,) = parse_gpx(data)
        assert s.cadence_spm == pytest.approx(172)

    @pytest.mark.parametrize(("gpx_type", "sport", "kind"), [
        ("9", "running", "run"),
        ("running", "running", "run"),
        ("trail_running", "trail_running", "run"),
        ("treadmill_running", "treadmill_running", "run"),
        ("Running", "running", "run"),
        ("1", "cycling", "cross"),
        ("road_biking", "cycling", "cross"),
        ("16", "swimming", "cross"),
        ("10", "walking", "cross"),
        ("4", "hiking", "cross"),
        ("strength_training", "strength_training", "strength"),
        ("999", None, "cross"),
        ("other", None, "cross"),
    ])
    def test_track_type_mapping(self, gpx_type, sport, kind):
        data = make_gpx([{"type": gpx_type, "segments": [straight(0, 60, 5, 47.0, 3.0)]}])
        (s,) = parse_gpx(data)
        assert (s.sport, s.kind) == (sport, kind)

    def test_route_and_waypoints_only(self):
        data = b"""<?xml version="1.0"?>
<gpx version="1.1" creator="planner" xmlns="http://www.topografix.com/GPX/1/1">
  <wpt lat="47.0" lon="8.0"><name>start</name></wpt>
  <rte><rtept lat="47.0" lon="8.0"/><rtept lat="47.01" lon="8.0"/></rte>
  <trk><trkseg><trkpt lat="47.0" lon="8.0"/><trkpt lat="47.01" lon="8.0"/></trkseg></trk>
</gpx>"""
        with pytest.raises(FileFormatError, match="no timed track points"):
            parse_gpx(data)

    def test_utf16_with_bom(self):
        text = make_gpx([{"type": "running", "segments": [straight(0, 60, 5, 47.0, 3.0)]}])
        data = text.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
        (s,) = parse_gpx(data)
        assert s.duration_s == pytest.approx(60)


# ------------------------------------------------------------------------------------
# Hostile and broken XML (GPX and TCX alike)
# ------------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE gpx [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1">
<trk><name>&lol9;</name><type>running</type><trkseg>
<trkpt lat="47.0" lon="8.0"><time>2024-05-04T06:30:00Z</time></trkpt>
<trkpt lat="47.001" lon="8.0"><time>2024-05-04T06:31:00Z</time></trkpt>
</trkseg></trk></gpx>"""

QUADRATIC_BLOWUP = (
    b'<?xml version="1.0"?>\n<!DOCTYPE gpx [<!ENTITY a "' + b"x" * 50_000 + b'">]>\n'
    b'<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>'
    + b"&a;" * 5_000 + b"</name></trk></gpx>"
)

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE gpx [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1">
<trk><name>&secret;</name><type>running</type><trkseg>
<trkpt lat="47.0" lon="8.0"><time>2024-05-04T06:30:00Z</time></trkpt>
<trkpt lat="47.001" lon="8.0"><time>2024-05-04T06:31:00Z</time></trkpt>
</trkseg></trk></gpx>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE gpx SYSTEM "http://attacker.example/evil.dtd">
<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1"/>"""

TCX_BOMB = BILLION_LAUGHS.replace(b"<!DOCTYPE gpx", b"<!DOCTYPE TrainingCenterDatabase").replace(
    b'<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1">',
    b'<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
    b'<Activities><Activity Sport="Running"><Id>2024-05-04T06:30:00Z</Id><Lap><TotalTimeSeconds>'
    b"60</TotalTimeSeconds></Lap><Notes>&lol9;</Notes></Activity></Activities>"
    b"</TrainingCenterDatabase><!--",
).replace(b"</trk></gpx>", b"</trk></gpx>-->")

JUNK = bytes(range(256)) * 8


@pytest.mark.parametrize("parse", [parse_gpx, parse_tcx], ids=["gpx", "tcx"])
@pytest.mark.parametrize("payload", [BILLION_LAUGHS, QUADRATIC_BLOWUP, XXE, EXTERNAL_DTD, TCX_BOMB],
                         ids=["billion_laughs", "quadratic_blowup", "xxe", "external_dtd",
                              "tcx_bomb"])
def test_entity_attacks_are_refused_fast(parse, payload):
    started = time.perf_counter()
    with pytest.raises(FileFormatError, match="DOCTYPE") as err:
        parse(payload)
    assert time.perf_counter() - started < 1.0
    assert "root:" not in str(err.value)  # nothing of /etc/passwd leaks into the message
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("parse", [parse_gpx, parse_tcx], ids=["gpx", "tcx"])
@pytest.mark.parametrize(("payload", "message"), [
    (b"", "empty"),
    (b"   \n", "empty"),
    (JUNK, "not"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not"),
    (b"<gpx><trk>", "not well-formed"),
    (b"lat,lon\n1,2\n", "not well-formed"),
])
def test_broken_input(parse, payload, message):
    with pytest.raises(FileFormatError, match=message) as err:
        parse(payload)
    assert "\n" not in str(err.value)


def test_wrong_format_is_named():
    with pytest.raises(FileFormatError, match="not a GPX file"):
        parse_gpx(fixture("garmin_run.tcx"))
    with pytest.raises(FileFormatError, match="not a TCX file"):
        parse_tcx(fixture("strava_run.gpx"))


# ------------------------------------------------------------------------------------
# TCX
# ------------------------------------------------------------------------------------

class TestGarminTcx:
    data = fixture("garmin_run.tcx")

    def test_laps_summed(self):
        (s,) = parse_tcx(self.data)
        assert s.start_utc == datetime(2024, 3, 12, 17, 45, 3, tzinfo=UTC)
        assert s.sport == "running" and s.kind == "run" and s.source == "tcx"
        assert s.duration_s == pytest.approx(300.0 + 280.5)
        assert s.distance_m == pytest.approx(2000.0)
        assert s.device == "Forerunner 255"

    def test_run_cadence_doubled_and_hr_weighted_by_lap_time(self):
        (s,) = parse_tcx(self.data)
        assert s.cadence_spm == pytest.approx(2 * (84 * 300 + 88 * 280.5) / 580.5)
        assert s.avg_hr_bpm == pytest.approx((142 * 300 + 155 * 280.5) / 580.5)

    def test_trackpoint_run_cadence_when_laps_have_none(self):
        root = ET.fromstring(self.data)
        for lx in root.iter("{http://www.garmin.com/xmlschemas/ActivityExtension/v2}LX"):
            for child in list(lx):
                if child.tag.endswith("AvgRunCadence"):
                    lx.remove(child)
        (s,) = parse_tcx(ET.tostring(root))
        tpx = [float(e.text) for e in root.iter(
            "{http://www.garmin.com/xmlschemas/ActivityExtension/v2}RunCadence")]
        assert s.cadence_spm == pytest.approx(2 * sum(tpx) / len(tpx))


class TestMultisportTcx:
    data = fixture("garmin_triathlon_multisport.tcx")

    def test_one_session_per_leg(self):
        swim, bike, run = parse_tcx(self.data)
        assert [x.sport for x in (swim, bike, run)] == [None, "cycling", "running"]
        assert [x.kind for x in (swim, bike, run)] == ["cross", "cross", "run"]
        # transitions (95 s and 62 s) belong to no leg
        assert [x.duration_s for x in (swim, bike, run)] == [720.0, 1860.0, 1275.0]
        assert [x.distance_m for x in (swim, bike, run)] == [750.0, 20000.0, 5000.0]
        t0 = datetime(2023, 6, 18, 6, 0, tzinfo=UTC)
        assert bike.start_utc == t0 + timedelta(seconds=720 + 95)
        assert run.start_utc == t0 + timedelta(seconds=720 + 95 + 1860 + 62)

    def test_bike_rpm_is_not_running_cadence(self):
        _, bike, run = parse_tcx(self.data)
        assert bike.cadence_spm is None
        assert run.cadence_spm == pytest.approx(172)
        assert run.avg_hr_bpm == pytest.approx(162)


def small_tcx(sport: str = "Running", activity_id: str = "2024-05-04T06:30:00Z",
              lap: str = "<TotalTimeSeconds>600</TotalTimeSeconds><DistanceMeters>2000"
                         "</DistanceMeters>",
              ns: str = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2") -> bytes:
    return (f'<?xml version="1.0"?><TrainingCenterDatabase xmlns="{ns}"><Activities>'
            f'<Activity Sport="{sport}"><Id>{activity_id}</Id>'
            f'<Lap StartTime="2024-05-04T06:31:00Z">{lap}</Lap>'
            "</Activity></Activities></TrainingCenterDatabase>").encode()


class TestTcxRules:
    def test_other_uses_hint(self):
        (s,) = parse_tcx(small_tcx("Other"))
        assert s.sport is None and s.kind == "cross"
        (s,) = parse_tcx(small_tcx("Other"), sport_hint="Trail Run")
        assert s.sport == "trail_running" and s.kind == "run"

    def test_start_falls_back_to_lap_start(self):
        (s,) = parse_tcx(small_tcx(activity_id="not-a-date"))
        assert s.start_utc == datetime(2024, 5, 4, 6, 31, tzinfo=UTC)

    def test_plain_cadence_element_on_a_run(self):
        (s,) = parse_tcx(small_tcx(lap="<TotalTimeSeconds>600</TotalTimeSeconds>"
                                       "<Cadence>83</Cadence>"))
        assert s.cadence_spm == pytest.approx(166)
        assert s.distance_m is None

    def test_errors(self):
        with pytest.raises(FileFormatError, match="TotalTimeSeconds"):
            parse_tcx(small_tcx(lap="<DistanceMeters>10</DistanceMeters>"))
        with pytest.raises(FileFormatError, match="v1"):
            parse_tcx(small_tcx(ns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v1"))
        with pytest.raises(FileFormatError, match="no activities"):
            parse_tcx(b'<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/'
                      b'TrainingCenterDatabase/v2"><Courses/></TrainingCenterDatabase>')


# ------------------------------------------------------------------------------------
# Strava activities.csv
# ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def strava_acts():
    return read_strava_activities(fixture("strava_activities.csv"))


class TestStravaCsv:
    @pytest.fixture(autouse=True)
    def _acts(self, strava_acts):
        self.acts = strava_acts
        self.by_id = {a.activity_id: a for a in strava_acts}

    def test_rows_and_files(self):
        assert len(self.acts) == 6
        assert [a.filename is None for a in self.acts] == [False, True, True, False, False, False]
        assert self.by_id[10834567891].filename == "activities/11623456789.fit.gz"

    def test_types_mapped(self):
        assert [(a.activity_type, a.sport, a.session.kind) for a in self.acts] == [
            ("Run", "running", "run"),
            ("Run", "running", "run"),
            ("Weight Training", "strength_training", "strength"),
            ("Ride", "cycling", "cross"),
            ("Swim", "swimming", "cross"),
            ("Virtual Run", "virtual_run", "run"),
        ]

    def test_manual_run(self):
        s = self.by_id[87654321].session
        assert s.start_utc == datetime(2013, 2, 6, 12, 11, 14, tzinfo=UTC)
        assert s.duration_s == 1800
        assert s.distance_m == pytest.approx(5000)
        assert s.source == "strava_csv"
        assert s.shoe == "Ghost 15" and s.rpe == 6
        assert s.notes == "Lunch run (watch died)"

    def test_weight_training(self):
        s = self.by_id[10840000001].session
        assert s.kind == "strength" and s.distance_m is None and s.duration_s == 2700
        assert s.shoe is None

    def test_metre_column_moving_time_cadence(self):
        s = self.by_id[10834567891].session
        assert s.distance_m == pytest.approx(18243.400390625)  # not 18.24 km x 1000
        assert s.duration_s == 5390  # moving, not elapsed 5512
        assert s.cadence_spm == pytest.approx(2 * 84.59)
        assert s.avg_hr_bpm == pytest.approx(146.3)
        ride = self.by_id[10845555555].session
        assert ride.cadence_spm is None and ride.shoe is None
        assert self.by_id[10850000002].session.distance_m == pytest.approx(1500)

    def test_legacy_lowercase_layout(self):
        data = (b"id,date,name,type,description,elapsed_time,distance,commute,gear,filename\n"
                b"1836776031,2018-09-12 15:02:23,Evening Run,Run,,1783,5681.0,false,Kinvara,\n"
                b"1836776032,2018-09-13 06:00:00,Ride,Ride,,783,3681.0,true,Merida,"
                b"activities/1836776032.gpx\n")
        run, ride = read_strava_activities(data)
        assert run.filename is None and ride.filename == "activities/1836776032.gpx"
        assert run.session.distance_m == pytest.approx(5681.0)
        assert run.session.start_utc == datetime(2018, 9, 12, 15, 2, 23, tzinfo=UTC)
        assert run.session.shoe == "Kinvara"

    def test_single_distance_column_is_km_and_columns_any_order(self):
        data = (b"Filename,Extra Column,Activity Type,Activity ID,Distance,Elapsed Time,"
                b"Activity Date\n"
                b',x,Run,5,8.41,2700,"Sep 12, 2018, 3:02:23 PM"\n'
                b',y,Swim,6,"1,250",1900,"Sep 13, 2018, 6:00:00 AM"\n')
        run, swim = read_strava_activities(data)
        assert run.session.distance_m == pytest.approx(8410)
        assert run.session.start_utc == datetime(2018, 9, 12, 15, 2, 23, tzinfo=UTC)
        assert swim.session.distance_m == pytest.approx(1250)

    def test_missing_columns_named(self):
        data = b"Activity ID,Activity Name,Distance\n1,Run,5\n"
        with pytest.raises(FileFormatError) as err:
            read_strava_activities(data)
        msg = str(err.value)
        for col in ("Activity Date", "Activity Type", "Elapsed Time", "Filename"):
            assert col in msg
        assert "Activity Name" not in msg

    def test_localized_export_explained(self):
        data = ("Aktivitäts-ID,Aktivitätsdatum,Name der Aktivität,Aktivitätsart,"
                "Verstrichene Zeit,Distanz,Dateiname\n"
                '8228026758,"09.12.2022, 15:24:49",Radfahrt,Radfahrt,3189,"9,44",\n').encode()
        with pytest.raises(FileFormatError, match="localized"):
            read_strava_activities(data)

    def test_bad_rows(self):
        head = b"Activity ID,Activity Date,Activity Type,Elapsed Time,Filename\n"
        with pytest.raises(FileFormatError, match="activity 7: cannot read Activity Date"):
            read_strava_activities(head + b"7,yesterday,Run,100,\n")
        with pytest.raises(FileFormatError, match="Activity ID 'abc'"):
            read_strava_activities(head + b'abc,"Feb 6, 2013, 12:11:14 PM",Run,100,\n')
        with pytest.raises(FileFormatError, match="activity 8: no Elapsed Time"):
            read_strava_activities(head + b'8,"Feb 6, 2013, 12:11:14 PM",Run,,\n')
        # with a file, the file gives the duration: no session from the row, no error
        (act,) = read_strava_activities(head + b'9,"Feb 6, 2013, 12:11:14 PM",Run,,a/9.fit\n')
        assert act.session is None and act.filename == "a/9.fit"

    @pytest.mark.parametrize("data", [b"", b"\n\n", JUNK, b"\xff\xfe\x00\x00garbage"])
    def test_not_a_csv(self, data):
        with pytest.raises(FileFormatError):
            read_strava_activities(data)

    def test_bom_and_blank_lines(self):
        data = ("\ufeffActivity ID,Activity Date,Activity Type,Elapsed Time,Filename\n"
                '1,"Feb 6, 2013, 12:11:14 PM",Walk,600,\n\n').encode()
        (act,) = read_strava_activities(data)
        assert act.sport == "walking" and act.session.kind == "cross"


@pytest.mark.parametrize(("strava_type", "sport", "kind"), [
    ("Run", "running", "run"),
    ("Trail Run", "trail_running", "run"),
    ("TrailRun", "trail_running", "run"),
    ("Virtual Run", "virtual_run", "run"),
    ("VirtualRun", "virtual_run", "run"),
    ("Ride", "cycling", "cross"),
    ("Mountain Bike Ride", "cycling", "cross"),
    ("E-Bike Ride", "e_biking", "cross"),
    ("EBikeRide", "e_biking", "cross"),
    ("Swim", "swimming", "cross"),
    ("Walk", "walking", "cross"),
    ("Hike", "hiking", "cross"),
    ("Weight Training", "strength_training", "strength"),
    ("WeightTraining", "strength_training", "strength"),
    ("Workout", "training", "cross"),
    ("High Intensity Interval Training", "hiit", "cross"),
    ("Yoga", "yoga", "cross"),
    ("Stair-Stepper", "stair_climbing", "cross"),
    ("Nordic Ski", "cross_country_skiing", "cross"),
    ("Pickleball", "pickleball", "cross"),
    ("Other", None, "cross"),
    ("", None, "cross"),
    (None, None, "cross"),
])
def test_normalize_sport(strava_type, sport, kind):
    assert normalize_sport(strava_type) == sport
    assert kind_for_sport(normalize_sport(strava_type)) == kind


@pytest.mark.parametrize(("stored", "spm"), [
    (85, 170.0), (84.5, 169.0), (172, 172.0), (0, None), (None, None), (math.nan, None),
])
def test_steps_per_min(stored, spm):
    assert steps_per_min(stored) == spm


@pytest.mark.parametrize(("text", "expected"), [
    ("Feb 6, 2013, 12:11:14 PM", datetime(2013, 2, 6, 12, 11, 14, tzinfo=UTC)),
    ("Feb 6, 2013, 12:11:14 AM", datetime(2013, 2, 6, 0, 11, 14, tzinfo=UTC)),
    ("Sept 12, 2018, 3:02:23 PM", datetime(2018, 9, 12, 15, 2, 23, tzinfo=UTC)),
    ("2018-09-12 15:02:23", datetime(2018, 9, 12, 15, 2, 23, tzinfo=UTC)),
])
def test_strava_dates(text, expected):
    data = (f'Activity ID,Activity Date,Activity Type,Elapsed Time,Filename\n1,"{text}",Run,60,\n')
    (act,) = read_strava_activities(data.encode())
    assert act.session.start_utc == expected
