"""The kernel's own style check (scripts/checkpatch.pl) over the Popcorn sources and patches.

checkpatch.pl comes from the same source tarball the kernel is built from, so the rules
are those of that kernel. Sources are checked under their in-tree paths (checkpatch has
path-dependent rules: in_atomic() is allowed only in core kernel code, for example).
"""
import subprocess
import tarfile
from pathlib import Path

from .. import log
from ..errors import PopartError
from ..fsutil import locked
from ..hosttools import require
from .tree import in_tree_sources, read_series

# What checkpatch.pl reads besides itself, relative to the tree's root.
SCRIPT_FILES = ("scripts/checkpatch.pl", "scripts/spelling.txt", "scripts/const_structs.checkpatch")
CHECKED_SUFFIXES = {".c", ".h", ".S"}


def extract_checkpatch(tarball: Path, source_sha256: str, cache: Path) -> Path:
    """checkpatch.pl and its data files from the tarball, once per tarball; its path."""
    dest = cache / "checkpatch" / source_sha256[:16]
    script = dest / SCRIPT_FILES[0]
    with locked(cache / "checkpatch.lock"):
        if script.is_file():
            return script
        log.info(f"checkpatch: extracting {', '.join(SCRIPT_FILES)} from {tarball}")
        with tarfile.open(tarball) as tar:
            for member in tar:
                top, _, rel = member.name.partition("/")
                if rel in SCRIPT_FILES and member.isfile():
                    target = dest / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(tar.extractfile(member).read())
        if not script.is_file():
            raise PopartError(f"{tarball}: has no {SCRIPT_FILES[0]}")
    return script


def _run(script: Path, cwd: Path, args: list[str]) -> list[str]:
    """checkpatch's findings (one line each, --terse), without its summary lines."""
    require("perl")
    result = subprocess.run(["perl", str(script), "--no-tree", "--terse", "--show-types", *args],
                            cwd=cwd, capture_output=True, text=True, check=False)
    lines = [x for x in result.stdout.splitlines() if x and not x.startswith("total:")]
    if result.returncode != 0 and not lines:
        raise PopartError(f"checkpatch failed without findings: {result.stderr.strip()[-500:]}")
    return lines


def check_sources(script: Path, src_dir: Path) -> list[str]:
    files = [p.relative_to(src_dir).as_posix() for p in in_tree_sources(src_dir)
             if p.suffix in CHECKED_SUFFIXES]
    return _run(script, src_dir, ["-f", *files]) if files else []


def check_patches(script: Path, patch_dir: Path) -> list[str]:
    patches = read_series(patch_dir)
    return _run(script, patch_dir, [p.name for p in patches]) if patches else []
