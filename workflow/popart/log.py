"""Greppable progress lines on stderr: ``I:``, ``W:``, ``E:`` prefixes."""
import sys
import time


def info(msg: str) -> None:
    print(f"I: {msg}", file=sys.stderr, flush=True)


def warn(msg: str) -> None:
    print(f"W: {msg}", file=sys.stderr, flush=True)


def error(msg: str) -> None:
    print(f"E: {msg}", file=sys.stderr, flush=True)


class Ticker:
    """Prints a progress line at most every ``period`` seconds during a long step."""

    def __init__(self, label: str, period: float = 15.0) -> None:
        self.label = label
        self.period = period
        self.start = time.monotonic()
        self._last = self.start

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def tick(self, detail: str) -> None:
        now = time.monotonic()
        if now - self._last >= self.period:
            self._last = now
            info(f"{self.label}: {detail} ({self.elapsed():.0f} s)")
