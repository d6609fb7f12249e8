"""The two sides of a comparison that need different boots (kmsg against SMP baselines,
the multikernel against SMP Linux), booted in turn by one job: A B A B ... Drift of a
noisy host then lands on both sides alike, and each row says its round, so that a ratio
pairs the two sides of one round of one run.
"""
import re
from collections.abc import Callable
from pathlib import Path

from . import log


def round_dirs(root: Path, rounds: int, sides: list[str]) -> list[tuple[int, str, Path]]:
    """(round, side, run folder) in the order they boot."""
    return [(r, side, root / f"round{r}" / side) for r in range(1, rounds + 1)
            for side in sides]


def alternate(root: Path, rounds: int, sides: list[str],
              run_side: Callable[[str, Path], object], stopped: Callable[[], bool]) -> None:
    """Boots each side of each round in turn; a stop (SIGTERM) ends the loop."""
    plan = round_dirs(root, rounds, sides)
    for i, (r, side, run_dir) in enumerate(plan, 1):
        if stopped():
            log.warn(f"rounds: stopped before {side} of round {r}")
            return
        log.info(f"round {r} of {rounds}: {side} (boot {i} of {len(plan)})")
        run_side(side, run_dir)


def round_of(run_dir: Path) -> int:
    """The round of a run folder .../round<r>/<side>."""
    match = re.fullmatch(r"round(\d+)", run_dir.parent.name)
    if not match:
        raise ValueError(f"{run_dir}: not a round's run folder (.../round<N>/<side>)")
    return int(match.group(1))
