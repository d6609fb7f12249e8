"""Reads what the guest printed: the init's markers and kernel panics.

Protocol (guest/init.c, guest/exp/lib.sh), one marker per line, anywhere in the line
because kernel messages may share it:
    @@POPCORN:BEGIN exp=<name>
    @@POPCORN:KV <key>=<value>
    @@POPCORN:END exp=<name> rc=<n>
"""
import re
from dataclasses import dataclass, field

MARKER = re.compile(r"@@POPCORN:(BEGIN|KV|END|WARN) ?(.*?)\r?$")
PANIC = re.compile(r"Kernel panic - not syncing.*")


@dataclass
class ConsoleReport:
    begun: bool = False
    ended: bool = False
    experiment: str | None = None
    rc: int | None = None
    values: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    panic: str | None = None


def _fields(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in text.split() if "=" in part)


def parse_console(text: str) -> ConsoleReport:
    report = ConsoleReport()
    for line in text.splitlines():
        if report.panic is None and (panic := PANIC.search(line)):
            report.panic = panic.group(0).strip()
        match = MARKER.search(line)
        if not match:
            continue
        kind, rest = match.groups()
        if kind == "BEGIN":
            report.begun = True
            report.experiment = _fields(rest).get("exp")
        elif kind == "KV" and "=" in rest:
            key, value = rest.split("=", 1)
            report.values[key.strip()] = value.strip()
        elif kind == "END":
            fields = _fields(rest)
            report.ended = True
            report.rc = int(fields["rc"]) if fields.get("rc", "").lstrip("-").isdigit() else None
        elif kind == "WARN":
            report.warnings.append(rest)
    return report
