"""Reads config fragments and checks that every requested option survived olddefconfig."""
import re
from pathlib import Path

from ..errors import KconfigError

_SET = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")


def parse_config(path: Path, strict: bool) -> dict[str, str]:
    """Maps option -> value ('n' for "is not set"). In strict mode (fragments written by
    people) a line that is neither an option, a comment nor blank is an error."""
    values: dict[str, str] = {}
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise KconfigError(f"{path}: fragment not found") from None
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if match := _SET.match(line):
            values[match.group(1)] = match.group(2)
        elif match := _UNSET.match(line):
            values[match.group(1)] = "n"
        elif strict and line and not line.startswith("#"):
            raise KconfigError(f"{path}:{number}: not a config line: {line!r}")
    return values


def requested_options(fragments: list[Path]) -> dict[str, tuple[str, Path]]:
    """Option -> (value, fragment that asked for it); later fragments win, as in merge_config."""
    requested: dict[str, tuple[str, Path]] = {}
    for fragment in fragments:
        for option, value in parse_config(fragment, strict=True).items():
            requested[option] = (value, fragment)
    return requested


def check_survivors(final_config: Path, fragments: list[Path]) -> None:
    """Raises naming the first requested option whose final value differs (and how many
    more did), so that one rebuild shows every problem."""
    final = parse_config(final_config, strict=False)
    lost = [(option, wanted, fragment)
            for option, (wanted, fragment) in requested_options(fragments).items()
            if final.get(option, "n") != wanted]
    if not lost:
        return
    option, wanted, fragment = lost[0]
    shown = f"{option}={wanted}" if wanted != "n" else f"{option} off"
    actual = final.get(option, "absent")
    others = f"; also {', '.join(o for o, _, _ in lost[1:])}" if len(lost) > 1 else ""
    raise KconfigError(f"{shown} from {fragment} did not survive olddefconfig "
                       f"(final value: {actual}): a dependency is missing, or another "
                       f"option selects it{others}")
