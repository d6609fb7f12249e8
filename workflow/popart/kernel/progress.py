"""How far a kernel build is: kbuild (V=0) prints one line per file it makes, and the
count of the last build that started from an empty build directory is the expected total.

An incremental build makes only what changed (plus the final link steps), so it gets no
percentage: its lines say how many files were remade and how big a full build is.
"""
import re
from pathlib import Path

from ..fsutil import atomic_write_json, read_json

# "  CC      kernel/fork.o", "  CC [M]  fs/foo.o", "  AR      lib/built-in.a", "  LD ..."
KBUILD_STEP = re.compile(r"^  ([A-Z][A-Z0-9_]*)(?: \[M\])? +\S")
# Printed by every build, even one with nothing to do, and not files.
NOT_FILES = frozenset({"DESCEND", "CALL"})


def is_file_step(line: str) -> bool:
    """True for a kbuild line that says it makes one file."""
    match = KBUILD_STEP.match(line)
    return bool(match) and match.group(1) not in NOT_FILES


def duration(seconds: float) -> str:
    """42 -> "42 s", 190 -> "3 min 10 s", 3725 -> "1 h 2 min"."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def progress_line(done: int, expected: int | None, fresh: bool | None, elapsed: float) -> str:
    """One progress line of a make run (without its label, e.g. "kernel build: ").

    ``fresh``: the build started from an empty build directory, so ``expected`` (the
    last such build's count) is its total; False: an incremental build; None: a make
    step that is not the build (config, modules_install). The percentage stops at 99.
    """
    took = duration(elapsed)
    if fresh is None:
        return f"{done} files, {took}"
    if not fresh:
        full = f"a full build is ~{expected} files" if expected else "no full build counted yet"
        return f"{done} files remade, incremental build ({full}), {took}"
    if not expected:
        return f"{done} files, no earlier build to compare, {took}"
    if done > expected:
        return f"{done} files, more than the last full build's {expected}, {took}"
    return f"{done} of ~{expected} files ({min(99, done * 100 // expected)} %), {took}"


def done_line(done: int, fresh: bool | None, elapsed: float) -> str:
    kind = {None: "", True: " (a full build: the next full build's expected total)",
            False: " (incremental build)"}[fresh]
    return f"done in {duration(elapsed)}, {done} files{kind}"


def count_path(build_dir: Path) -> Path:
    """The count lives beside the build directory, which a fresh build empties."""
    return build_dir.parent / f".{build_dir.name}.files.json"


def read_count(build_dir: Path) -> int | None:
    try:
        files = read_json(count_path(build_dir)).get("files")
    except (OSError, ValueError, AttributeError):
        return None
    return files if isinstance(files, int) and files > 0 else None


def write_count(build_dir: Path, files: int, elapsed: float) -> None:
    atomic_write_json(count_path(build_dir), {"files": files, "build_s": round(elapsed, 1)})
