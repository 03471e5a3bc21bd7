"""The live line: elapsed time, steps, current cadence, last impact and contact time.

Shared by ``loadmon replay --live`` and ``loadmon record`` (a BLE sensor):
the caller feeds `LiveStats` the contacts of an online detector as they come
and hands its `LiveState` to a `LiveLine`, which rewrites one line in place
on a terminal and prints plain lines, one every `PLAIN_EVERY_S` of stream
time, when the output is piped or captured.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from loadmon.signal import GaitEvent, ToeOff

#: Contacts of the last this many seconds give the current cadence.
CADENCE_WINDOW_S = 10.0
#: Piped output: one line per this many seconds of stream time.
PLAIN_EVERY_S = 10.0
#: Terminal output: at most one redraw per this many seconds of wall-clock time.
REDRAW_EVERY_S = 0.1


@dataclass(frozen=True, slots=True)
class LiveState:
    """The figures of the live line.

    Attributes
    ----------
    elapsed_s : float
        Stream time since the start, s.
    steps : int
        Steps so far (both feet).
    cadence_spm : float or None
        Steps per minute over the last `CADENCE_WINDOW_S`; None when stopped
        or not yet known.
    impact_g : float or None
        Peak impact of the last contact, g.
    contact_ms : float or None
        Ground contact time of the last contact that has one, ms.
    """

    elapsed_s: float
    steps: int
    cadence_spm: float | None
    impact_g: float | None
    contact_ms: float | None


class LiveStats:
    """Running figures of a stream of contacts.

    Parameters
    ----------
    single_foot : bool
        Whether the sensor sees one foot only (each contact then counts as
        two steps, as in `loadmon.signal.summarize`).
    window_s : float
        Span of recent contacts that gives the current cadence, s.
    """

    def __init__(self, single_foot: bool, window_s: float = CADENCE_WINDOW_S) -> None:
        self.per_contact = 2 if single_foot else 1
        self.window_s = window_s
        self.contacts = 0
        self._recent: deque[float] = deque()
        self._impact: float | None = None
        self._contact_ms: float | None = None

    def update(self, elapsed_s: float, now_s: float, contacts: Sequence[GaitEvent]) -> LiveState:
        """Take the contacts and toe-offs found since the last call; return the figures now.

        Parameters
        ----------
        elapsed_s : float
            Stream time since the start, s.
        now_s : float
            Stream time on the contacts' clock, s.
        contacts : sequence of Contact or ToeOff
            New contacts, and toe-offs giving the contact time of earlier ones.

        Returns
        -------
        LiveState
            The figures to show.
        """
        for c in contacts:
            if isinstance(c, ToeOff):
                self._contact_ms = float(c.contact_ms)
                continue
            self.contacts += 1
            self._recent.append(float(c.t_s))
            if _known(c.impact_g):
                self._impact = float(c.impact_g)
        while self._recent and self._recent[0] < now_s - self.window_s:
            self._recent.popleft()
        cadence = None
        if len(self._recent) >= 2 and self._recent[-1] > self._recent[0]:
            span = self._recent[-1] - self._recent[0]
            cadence = 60.0 * self.per_contact * (len(self._recent) - 1) / span
        return LiveState(elapsed_s, self.per_contact * self.contacts, cadence, self._impact,
                         self._contact_ms)


def _known(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def format_live(state: LiveState) -> str:
    """Return the live line of `state` (unknown figures as ``-``).

    Parameters
    ----------
    state : LiveState
        The figures.

    Returns
    -------
    str
        E.g. ``0:12:34  steps 2150  cadence 172 spm  impact 8.4 g  contact 231 ms``.
    """
    sec = max(int(state.elapsed_s), 0)
    clock = f"{sec // 3600}:{sec // 60 % 60:02d}:{sec % 60:02d}"
    cadence = "-" if state.cadence_spm is None else f"{state.cadence_spm:.0f}"
    impact = "-" if state.impact_g is None else f"{state.impact_g:.1f}"
    contact = "-" if state.contact_ms is None else f"{state.contact_ms:.0f}"
    return (f"{clock}  steps {state.steps:>5}  cadence {cadence:>3} spm  "
            f"impact {impact:>4} g  contact {contact:>3} ms")


class LiveLine:
    """Show `LiveState` s: one line rewritten in place on a terminal, plain lines when piped.

    Parameters
    ----------
    out : TextIO
        Where to write (stdout, or stderr when stdout carries JSON).
    terminal : bool
        Rewrite one line in place (a terminal), else print a line every
        `plain_every_s` of stream time (piped, captured).
    clock : callable
        Monotonic wall clock, s, that throttles the terminal redraws.
    plain_every_s : float
        Stream time between two plain lines, s.
    redraw_every_s : float
        Wall-clock time between two terminal redraws, s.
    """

    def __init__(
        self,
        out: TextIO,
        terminal: bool,
        clock: Callable[[], float] = time.monotonic,
        plain_every_s: float = PLAIN_EVERY_S,
        redraw_every_s: float = REDRAW_EVERY_S,
    ) -> None:
        self.out = out
        self.terminal = terminal
        self.clock = clock
        self.plain_every_s = plain_every_s
        self.redraw_every_s = redraw_every_s
        self._next_plain = plain_every_s
        self._last_draw: float | None = None
        self._width = 0
        self.lines = 0

    def show(self, state: LiveState) -> None:
        """Show the figures now (throttled; see the class docstring).

        Parameters
        ----------
        state : LiveState
            The figures.
        """
        if self.terminal:
            now = self.clock()
            if self._last_draw is not None and now - self._last_draw < self.redraw_every_s:
                return
            self._last_draw = now
            self._draw(state)
        elif state.elapsed_s >= self._next_plain:
            self._print(state)
            self._next_plain = (
                math.floor(state.elapsed_s / self.plain_every_s) + 1
            ) * self.plain_every_s

    def close(self, state: LiveState) -> None:
        """Show the final figures and end the line.

        Parameters
        ----------
        state : LiveState
            The figures at the end of the stream.
        """
        if self.terminal:
            self._draw(state)
            self.out.write("\n")
            self.out.flush()
        else:
            self._print(state)

    def _draw(self, state: LiveState) -> None:
        text = format_live(state)
        pad = " " * max(self._width - len(text), 0)  # wipe a longer line drawn before
        self._width = len(text)
        self.out.write(f"\r{text}{pad}")
        self.out.flush()
        self.lines += 1

    def _print(self, state: LiveState) -> None:
        self.out.write(format_live(state) + "\n")
        self.out.flush()
        self.lines += 1
