"""QEMU trace windows: the guest names a window with `kv trace <label>` (`off` closes
it), the host turns the chosen QEMU trace events on over QMP for exactly that window
and keeps what they logged as trace-<label>.log, with a count per event.

QEMU writes enabled trace events to its -D log file; a window is the part of that file
written between turning the events on and off. The guest cannot know when the host has
seen its marker, so it waits a moment (the host polls every 50 ms) before it acts.
"""
import re
from collections import Counter
from pathlib import Path

from qemu.qmp import QMPError
from qemu.qmp.legacy import QEMUMonitorProtocol

from ..errors import TargetError

LABEL = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
EVENT_NAME = re.compile(r"^(?:\d+@\d+\.\d+:)?([A-Za-z0-9_]+)\b")


def count_events(text: str) -> dict[str, int]:
    """Event name -> lines, from QEMU's log backend ("name args" or "pid@time:name args")."""
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        if match := EVENT_NAME.match(line):
            counts[match.group(1)] += 1
    return dict(sorted(counts.items()))


class TraceWindows:
    def __init__(self, events: tuple[str, ...], debug_log: Path, run_dir: Path) -> None:
        self.events = events
        self.debug_log = debug_log
        self.run_dir = run_dir
        self.label: str | None = None   # the open window
        self.start = 0                  # its first byte in the debug log
        self.counts: dict[str, dict[str, int]] = {}

    def follow(self, qmp: QEMUMonitorProtocol, requested: str | None) -> None:
        """Opens, switches or closes the window to match the guest's latest request."""
        requested = None if requested in (None, "off") else requested
        if requested == self.label or not self.events:
            return
        if self.label is not None:
            self.close(qmp)
        if requested is None:
            return
        if not LABEL.match(requested) or requested in self.counts:
            raise TargetError(f"guest asked for trace window {requested!r}: "
                              "not a new label of letters, digits, '.', '_' or '-'")
        self.start = self._size()
        self._set(qmp, True)
        self.label = requested

    def close(self, qmp: QEMUMonitorProtocol | None) -> None:
        """Turns the events off and keeps the window's part of the log."""
        if self.label is None:
            return
        if qmp is not None:
            self._set(qmp, False)
        with open(self.debug_log, "rb") as f:
            f.seek(self.start)
            text = f.read().decode(errors="replace")
        (self.run_dir / f"trace-{self.label}.log").write_text(text)
        self.counts[self.label] = count_events(text)
        self.label = None

    def _size(self) -> int:
        return self.debug_log.stat().st_size if self.debug_log.exists() else 0

    def _set(self, qmp: QEMUMonitorProtocol, enable: bool) -> None:
        for name in self.events:
            try:
                qmp.cmd("trace-event-set-state", name=name, enable=enable)
            except (QMPError, OSError, EOFError, RuntimeError) as e:
                raise TargetError(f"QEMU trace event {name}: {e}") from e
