from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadmon.io.errors import FileFormatError
from loadmon.io.logcsv import M_PER_MI, read_log_csv, write_log_csv
from loadmon.types import Session

BERLIN = ZoneInfo("Europe/Berlin")


def sessions_of(text: str, zone: ZoneInfo = BERLIN) -> list[Session]:
    return [s for s, _ in read_log_csv(text.encode(), zone)]


def test_reads_dates_units_and_optional_columns() -> None:
    got = sessions_of(
        "Date,KIND,Distance_MI,duration_min,Shoe,surface,RPE,notes\n"
        "2026-03-01,run,6.2,55,Peg,Road,6,easy\n"
        "2026-03-02T18:30,cross,,45,,,4,\n"
        "2026-03-03T07:00:00+00:00,strength,,30,,,,\n"
    )
    assert got[0].distance_m == pytest.approx(6.2 * M_PER_MI, abs=1e-3)
    assert got[0].time_known is False
    assert got[0].start_utc == datetime(2026, 2, 28, 23, tzinfo=UTC)  # local midnight, CET
    assert (got[0].shoe, got[0].surface, got[0].rpe, got[0].notes) == ("Peg", "road", 6, "easy")
    assert got[1].start_utc == datetime(2026, 3, 2, 17, 30, tzinfo=UTC)  # naive = local time
    assert got[2].start_utc == datetime(2026, 3, 3, 7, tzinfo=UTC)
    assert got[2].kind == "strength" and got[2].duration_s == 1800


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("date,kind,distance\n2026-03-01,run,10\n", "distance_km or distance_mi"),
        ("date,kind,pace\n2026-03-01,run,5\n", "unknown column 'pace'"),
        ("date,distance_km\n2026-03-01,10\n", "missing column 'kind'"),
        ("date,kind,distance_km\n2026-03-01,run,-3\n", "row 2, distance_m: must not be neg"),
        ("date,kind,rpe\n2026-03-01,run,11\n", "row 2, rpe: must be between 0 and 10"),
        ("date,kind\n2026-13-01,run\n", "row 2, date: '2026-13-01' is not an ISO date"),
        ("date,kind\n2026-03-01,swim\n", "row 2, kind: 'swim' is not one of"),
        ("date,kind,surface\n2026-03-01,run,sand\n", "surface: 'sand' is not one of"),
        ("date,kind,distance_km\n2026-03-01,run,10km\n", "'10km' is not a number"),
        ("date,kind,distance_km,distance_mi\n2026-03-01,run,1,1\n", "not both"),
        ("date,kind,kind\n2026-03-01,run,run\n", "appears more than once"),
        ("date,kind\n2026-03-01,run,extra\n", "row 2: 3 values for 2 columns"),
        ("", "empty file"),
    ],
)
def test_bad_input_names_the_problem(csv_text: str, message: str) -> None:
    with pytest.raises(FileFormatError, match=message):
        read_log_csv(csv_text.encode(), BERLIN)


def test_binary_junk_is_rejected() -> None:
    with pytest.raises(FileFormatError, match="not UTF-8"):
        read_log_csv(b"\xff\xfe\x00junk\x9c", BERLIN)


def test_identical_rows_get_distinct_stable_checksums() -> None:
    text = "date,kind,distance_km\n2026-03-01,run,5\n2026-03-01,run,5\n"
    first = [c for _, c in read_log_csv(text.encode(), BERLIN)]
    again = [c for _, c in read_log_csv(text.encode(), BERLIN)]
    assert first == again and first[0] != first[1]


def test_dst_change_keeps_local_dates() -> None:
    # 2026-03-29: Europe/Berlin moves from +01:00 to +02:00.
    got = sessions_of("date,kind\n2026-03-28,run\n2026-03-29,run\n2026-03-30,run\n")
    assert [s.start_utc.astimezone(BERLIN).date().day for s in got] == [28, 29, 30]


session_strategy = st.builds(
    Session,
    start_utc=st.datetimes(datetime(2000, 1, 1), datetime(2035, 1, 1),
                           timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0)),
    duration_s=st.integers(0, 10**8).map(lambda ms: ms / 1000),
    kind=st.sampled_from(["run", "cross", "strength"]),
    distance_m=st.none() | st.integers(0, 10**9).map(lambda mm: mm / 1000),
    shoe=st.none() | st.sampled_from(["Peg", "Speed goat", "a,b \"quoted\""]),
    surface=st.none() | st.sampled_from(["road", "trail", "grass"]),
    rpe=st.none() | st.integers(0, 20).map(lambda x: x / 2),
    sport=st.none() | st.sampled_from(["cycling", "swimming"]),
    notes=st.none() | st.text(min_size=1, max_size=30).map(str.strip).filter(bool),
    time_known=st.just(True),
    source=st.just("log_csv"),
)


@given(st.lists(session_strategy, max_size=8), st.sampled_from(["UTC", "Europe/Berlin",
                                                                 "America/Santiago"]))
def test_write_then_read_reproduces_the_sessions(sessions: list[Session], tz: str) -> None:
    zone = ZoneInfo(tz)
    text = write_log_csv(sessions, zone)
    back = sessions_of(text, zone)
    assert back == sessions
    assert write_log_csv(back, zone) == text


def test_notes_with_line_breaks_survive_the_round_trip() -> None:
    # found by the property test: a lone carriage return inside notes
    day = datetime(2026, 3, 1, 7, tzinfo=UTC)
    sessions = [Session(day, 60.0, "run", notes="0\r0", source="log_csv"),
                Session(day, 60.0, "run", notes="a\nb, \"c\"", source="log_csv")]
    assert sessions_of(write_log_csv(sessions, BERLIN)) == sessions
