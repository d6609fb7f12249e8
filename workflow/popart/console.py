"""Reads what the guest printed: the init's markers and kernel panics.

Protocol (guest/init.c, guest/exp/lib.sh), one marker per line, anywhere in the line
because kernel messages may share it:
    @@POPCORN:BEGIN exp=<name>
    @@POPCORN:KV <key>=<value>
    @@POPCORN:END exp=<name> rc=<n>
    @@POPCORN:OUT <name>|<a line of a tool's output>
"""
import re
from dataclasses import dataclass, field
from pathlib import Path

MARKER = re.compile(r"@@POPCORN:(BEGIN|KV|END|WARN|OUT) ?(.*?)\r?$")
# A secondary kernel's console line, relayed by the primary (popcornctl console).
SECONDARY = re.compile(r"^@@K(\d+)\| ?(.*?)\r?$")
PANIC = re.compile(r"Kernel panic - not syncing.*")
MARKER_SHOWN = 80  # characters of the last marker that progress lines show


@dataclass
class ConsoleReport:
    begun: bool = False
    ended: bool = False
    experiment: str | None = None
    rc: int | None = None
    values: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    panic: str | None = None
    outputs: dict[str, list[str]] = field(default_factory=dict)
    last_marker: str | None = None  # the latest "@@POPCORN:..." line, shortened


def kernel_console(run_dir: Path, kernel: int) -> Path:
    """Where a run keeps kernel k's console: the primary's console.log, a secondary's
    console-k<k>.log (split from the primary's relay)."""
    return run_dir / ("console.log" if kernel == 0 else f"console-k{kernel}.log")


def shorten(text: str, limit: int = MARKER_SHOWN) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def key_values(text: str | None) -> dict[str, str]:
    """"a=1 b=2" -> {"a": "1", "b": "2"}; words without "=" are skipped."""
    return dict(part.split("=", 1) for part in (text or "").split() if "=" in part)


def feed(report: ConsoleReport, line: str) -> None:
    """Adds one console line of this kernel to the report; relayed lines of secondaries
    are theirs, not this kernel's."""
    if line.startswith("@@K"):
        return
    if report.panic is None and (panic := PANIC.search(line)):
        report.panic = panic.group(0).strip()
    match = MARKER.search(line)
    if not match:
        return
    kind, rest = match.groups()
    report.last_marker = shorten(line[match.start():].rstrip())
    if kind == "BEGIN":
        report.begun = True
        report.experiment = key_values(rest).get("exp")
    elif kind == "KV" and "=" in rest:
        key, value = rest.split("=", 1)
        report.values[key.strip()] = value.strip()
    elif kind == "END":
        fields = key_values(rest)
        report.ended = True
        report.rc = int(fields["rc"]) if fields.get("rc", "").lstrip("-").isdigit() else None
    elif kind == "WARN":
        report.warnings.append(rest)
    elif kind == "OUT" and "|" in rest:
        name, text = rest.split("|", 1)
        report.outputs.setdefault(name.strip(), []).append(text)


def parse_console(text: str) -> ConsoleReport:
    report = ConsoleReport()
    for line in text.splitlines():
        feed(report, line)
    return report


def split_secondaries(text: str) -> dict[int, str]:
    """Kernel id -> that secondary's console text, from the primary's console."""
    streams: dict[int, list[str]] = {}
    for line in text.splitlines():
        if match := SECONDARY.match(line):
            streams.setdefault(int(match.group(1)), []).append(match.group(2))
    return {k: "\n".join(lines) + "\n" for k, lines in sorted(streams.items())}


def boots(text: str) -> list[str]:
    """One kernel's console split at each "Linux version" banner: a secondary that was
    stopped and booted again has several boots in one log."""
    parts = re.split(r"(?m)^(?=Linux version )", text)
    return [part for part in parts if part] or [""]


class ConsoleFollower:
    """Reads a growing console log incrementally: each poll parses only the new lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.report = ConsoleReport()
        self._offset = 0
        self._partial = b""

    def poll(self, final: bool = False) -> ConsoleReport:
        """``final`` also takes a last line that has no newline (the guest is gone)."""
        if self.path.exists():
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
            self._offset += len(data)
            lines = (self._partial + data).split(b"\n")
            self._partial = lines.pop()
            for line in lines:
                feed(self.report, line.decode(errors="replace"))
        if final and self._partial:
            feed(self.report, self._partial.decode(errors="replace"))
            self._partial = b""
        return self.report
