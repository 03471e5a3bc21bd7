"""The live line (`loadmon.cli.live`), pacing, and ``loadmon replay --live`` without waiting."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from loadmon import replay as replay_service
from loadmon.cli import cli
from loadmon.cli import replay as replay_mod
from loadmon.cli.live import LiveLine, LiveState, LiveStats, format_live
from loadmon.replay import Pacer
from loadmon.signal import Contact, ToeOff
from tests.test_io_exporters import FIXTURES

GENERIC = FIXTURES / "generic_epoch_ms.csv"  # 6.58 s of a foot pod, 100 Hz


def C(t_s: float, impact_g: float = float("nan")) -> Contact:
    """A contact as the detector reports it."""
    return Contact(t_s, "left", impact_g, False)


class FakeClock:
    """A wall clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.slept.append(seconds)
        self.now += seconds


# --------------------------------------------------------------------------- figures


def test_live_stats_steps_cadence_impact_contact() -> None:
    stats = LiveStats(single_foot=True, window_s=10.0)
    contacts = [C(0.7 * k, impact_g=5.0 + k) for k in range(10)]
    # a contact's time comes with its toe-off, after the contact itself
    events = [e for c in contacts[:8] for e in (c, ToeOff(c, 200.0 + 10 * c.t_s))]
    state = stats.update(6.5, 6.5, events[:-1])
    assert state.steps == 16  # one foot's contacts count twice; toe-offs are not steps
    assert state.cadence_spm == pytest.approx(2 * 60 / 0.7)
    assert (state.impact_g, state.contact_ms) == (12.0, pytest.approx(242.0))
    state = stats.update(7.0, 7.0, [events[-1], C(7.0, impact_g=9.5)])
    assert (state.steps, state.impact_g, state.contact_ms) == (18, 9.5, pytest.approx(249.0))
    state = stats.update(7.5, 7.5, [])  # no contact time yet for the last contact: keep it
    assert state.contact_ms == pytest.approx(249.0)
    stopped = stats.update(30.0, 30.0, [])  # nothing in the last 10 s
    assert stopped.cadence_spm is None and stopped.steps == 18
    both_feet = LiveStats(single_foot=False).update(2.0, 2.0, [C(0.0), C(0.4), C(0.8)])
    assert both_feet.steps == 3 and both_feet.cadence_spm == pytest.approx(150.0)


def test_format_live() -> None:
    assert format_live(LiveState(3754.9, 2150, 171.6, 8.44, 231.2)) == \
        "1:02:34  steps  2150  cadence 172 spm  impact  8.4 g  contact 231 ms"
    assert format_live(LiveState(0.0, 0, None, None, None)) == \
        "0:00:00  steps     0  cadence   - spm  impact    - g  contact   - ms"


def test_live_line_in_place_on_a_terminal_throttled() -> None:
    out, clock = io.StringIO(), FakeClock()
    line = LiveLine(out, terminal=True, clock=clock, redraw_every_s=0.1)
    line.show(LiveState(1.0, 2, None, None, None))
    line.show(LiveState(2.0, 4, None, None, None))  # too soon: not drawn
    clock.now += 0.1
    line.show(LiveState(3.0, 6, 150.0, 3.0, None))
    line.close(LiveState(4.0, 8, 150.0, 3.0, None))
    text = out.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert [part.split()[2] for part in text.strip().split("\r")] == ["2", "6", "8"]


def test_live_line_plain_lines_when_piped() -> None:
    out = io.StringIO()
    line = LiveLine(out, terminal=False, plain_every_s=10.0)
    for t in range(31):
        line.show(LiveState(float(t), t, None, None, None))
    line.close(LiveState(31.5, 31, None, None, None))
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert [ln.split()[0] for ln in lines] == ["0:00:10", "0:00:20", "0:00:30", "0:00:31"]


def test_live_line_plain_lines_after_a_leap_in_time() -> None:
    # the next line's time was stepped forward 10 s at a time: 1e15 steps after a stray
    # timestamp 1e16 s ahead, and forever once a float stopped growing by 10
    out = io.StringIO()
    line = LiveLine(out, terminal=False, plain_every_s=10.0)
    line.show(LiveState(12.0, 1, None, None, None))
    line.show(LiveState(1e15, 2, None, None, None))
    line.show(LiveState(1e15 + 5, 3, None, None, None))
    assert len(out.getvalue().splitlines()) == 2


def test_pacer_holds_the_stream_to_real_time_x_speed() -> None:
    clock = FakeClock()
    pacer = Pacer(speed=4.0, clock=clock, sleep=clock.sleep)
    pacer.wait_until(np.array([100.0]))  # the first sample starts the clock
    pacer.wait_until(np.arange(100.01, 102.005, 0.01))
    assert clock.slept == pytest.approx([0.5])
    clock.now += 2.0  # the caller was slow: no sleeping to catch up
    pacer.wait_until(np.arange(102.01, 104.005, 0.01))
    assert clock.slept == pytest.approx([0.5])
    # a stray timestamp, or an hour without samples, is not waited out (it crashed
    # time.sleep, or slept for days); the samples after it are paced again
    pacer.wait_until(np.array([104.01, 1e20, 104.02]))
    pacer.wait_until(np.arange(3704.0, 3710.005, 0.01))
    # 10.01 s of samples in all at speed 4 are due 2.5025 s after the start; 2.5 s have passed
    assert clock.slept == pytest.approx([0.5, 0.0025], abs=1e-6)
    assert pacer.slice_samples(100.0) == 40 and Pacer(0.01).slice_samples(100.0) == 1
    with pytest.raises(ValueError, match="speed"):
        Pacer(0.0)


# --------------------------------------------------------------------------- command


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock()
    monkeypatch.setattr(replay_mod, "clock", clock)
    monkeypatch.setattr(replay_mod, "sleep", clock.sleep)
    return clock


@pytest.mark.parametrize("speed", [None, "10"])
def test_replay_live_paces_and_matches_the_plain_replay(fake_clock: FakeClock,
                                                         speed: str | None) -> None:
    runner = CliRunner()
    args = ["replay", str(GENERIC), "-p", "foot", "--live"] + (["--speed", speed] if speed else [])
    start = fake_clock.now
    live = runner.invoke(cli, [*args, "--json"])
    assert live.exit_code == 0, live.output
    duration = 6.58
    factor = float(speed or 1)
    # the stream took its duration / speed of (fake) wall-clock time, in slices of 0.1 s
    assert fake_clock.now - start == pytest.approx(duration / factor, abs=0.1)
    assert max(fake_clock.slept) <= 0.1 + 1e-9
    plain = runner.invoke(cli, ["replay", str(GENERIC), "-p", "foot", "--json"])
    assert json.loads(live.stdout) == json.loads(plain.stdout)
    # piped: plain lines on stderr (stdout holds the JSON), the last one the final figures
    lines = live.stderr.splitlines()
    doc = json.loads(plain.stdout)
    assert lines[-1].startswith("0:00:06") and f"steps {doc['summary']['steps']:>5}" in lines[-1]
    assert all("\r" not in ln for ln in lines)


def test_replay_live_human_output_after_the_line(fake_clock: FakeClock) -> None:
    result = CliRunner().invoke(cli, ["replay", str(GENERIC), "-p", "foot", "--live",
                                      "--speed", "2"])
    assert result.exit_code == 0, result.output
    first, second = result.stdout.splitlines()[:2]
    assert first.startswith("0:00:06  steps    12  cadence 170 spm  impact")
    assert second == str(GENERIC)


def test_replay_live_streams_every_file(fake_clock: FakeClock,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    real = replay_service.replay

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        seen.append(result.streamed)
        return result

    monkeypatch.setattr(replay_service, "replay", spy)
    assert CliRunner().invoke(cli, ["replay", str(GENERIC), "-p", "foot", "--live"]).exit_code == 0
    assert seen == [True]  # a small file too: the same online detector, paced


def test_speed_needs_live(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["replay", str(GENERIC), "-p", "foot", "--speed", "5"])
    assert result.exit_code == 2 and "--speed applies to --live only" in result.stderr
    zero = CliRunner().invoke(cli, ["replay", str(GENERIC), "-p", "foot", "--live",
                                    "--speed", "0"])
    assert zero.exit_code == 2
