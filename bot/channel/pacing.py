"""How fast the outbox may send: a bound on sends in flight that WeChat's "too fast" answers shrink.

WeChat answers 45009 ("api freq out of limit", or "reach max api daily quota limit") or -1 (system busy) when
the account calls too fast. Those are about the account, not one message, so the whole worker slows down: sending
pauses (1 s, doubling on each new episode up to a minute) and the number of sends in flight halves, then grows back
by one for each full bound of sends that go through (additive increase, multiplicative decrease, as TCP does).
Each worker process paces itself on the answers it sees; all of them see the limit, so all of them slow down.
"""

from __future__ import annotations

from datetime import datetime, timedelta

FIRST_PAUSE = timedelta(seconds=1)
LONGEST_PAUSE = timedelta(seconds=60)


class Pace:
    """The in-flight bound and the pause, read by one worker's delivery loop (not shared between threads)."""

    def __init__(self, ceiling: int) -> None:
        if ceiling < 1:
            raise ValueError("the outbox needs at least one send in flight")
        self.ceiling = ceiling
        self.limit = ceiling
        self._pause = FIRST_PAUSE
        self._paused_until: datetime | None = None
        self._streak = 0  # sends through since the bound last grew
        self._clean = 0  # sends through since the last slow-down

    def paused(self, now: datetime) -> bool:
        return self._paused_until is not None and now < self._paused_until

    def pause_left(self, now: datetime) -> timedelta:
        return max(self._paused_until - now, timedelta(0)) if self._paused_until else timedelta(0)

    def slow_down(self, now: datetime) -> None:
        """WeChat said "too fast". The sends already in flight when the pause began are the same episode."""
        if self.paused(now):
            return
        self.limit = max(1, self.limit // 2)
        self._paused_until = now + self._pause
        self._pause = min(self._pause * 2, LONGEST_PAUSE)
        self._streak = self._clean = 0

    def went_through(self, count: int = 1) -> None:
        """`count` sends were accepted: grow the bound back, and forget past episodes after a clean stretch."""
        self._streak += count
        self._clean += count
        while self.limit < self.ceiling and self._streak >= self.limit:
            self._streak -= self.limit
            self.limit += 1
        if self._clean >= self.ceiling:
            self._pause = FIRST_PAUSE
