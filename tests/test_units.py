import pytest

from loadmon.types import InvalidValue
from loadmon.units import parse_distance_m, parse_duration_s


@pytest.mark.parametrize(("text", "metres"), [
    ("10", 10000.0), ("10km", 10000.0), (" 6.2 mi", 9977.933), ("5000m", 5000.0), (".5", 500.0),
])
def test_distances(text: str, metres: float) -> None:
    assert parse_distance_m(text) == pytest.approx(metres)


@pytest.mark.parametrize(("text", "seconds"), [
    ("55", 3300.0), ("55min", 3300.0), ("1.5h", 5400.0), ("45:30", 2730.0),
    ("1:05:00", 3900.0), ("90s", 90.0),
])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration_s(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("fn", "text", "message"), [
    (parse_distance_m, "10 parsecs", "unknown unit 'parsecs'"),
    (parse_distance_m, "-3", "must not be negative"),
    (parse_distance_m, "ten", "not a number"),
    (parse_duration_s, "1:2:3:4", "not MM:SS"),
    (parse_duration_s, "5 fortnights", "unknown unit"),
    (parse_duration_s, "-10", "must not be negative"),
])
def test_bad_quantities(fn, text: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        fn(text)
