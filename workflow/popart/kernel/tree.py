"""Prepares a patched kernel tree: unpack the tarball, apply the patch series, copy the
in-tree Popcorn sources. Trees live in the cache, keyed by everything that went into them."""
import hashlib
import shutil
import subprocess
from pathlib import Path

from .. import log
from ..errors import PatchError, SourceError
from ..fsutil import locked, sha256_files
from ..hosttools import require

TREES_KEPT = 2
SKIPPED_SOURCES = {"README.md"}


def read_series(patch_dir: Path) -> list[Path]:
    """The patches named in ``series``, in order; comments and blank lines ignored."""
    series = patch_dir / "series"
    if not series.is_file():
        raise PatchError(f"{series}: missing (an empty file means no patches)")
    patches = []
    for number, line in enumerate(series.read_text().splitlines(), 1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        patch = patch_dir / name
        if not patch.is_file():
            raise PatchError(f"{series}:{number}: {name} does not exist")
        patches.append(patch)
    return patches


def in_tree_sources(src_dir: Path) -> list[Path]:
    if not src_dir.is_dir():
        return []
    return sorted(p for p in src_dir.rglob("*")
                  if p.is_file() and p.relative_to(src_dir).as_posix() not in SKIPPED_SOURCES)


def tree_key(source_sha256: str, patch_dir: Path, src_dir: Path) -> str:
    """Hash of the tarball, the series with its patches, and the in-tree sources."""
    h = hashlib.sha256(source_sha256.encode())
    series_files = [patch_dir / "series", *read_series(patch_dir)]
    h.update(sha256_files(series_files, patch_dir).encode())
    sources = in_tree_sources(src_dir)
    if sources:
        h.update(sha256_files(sources, src_dir).encode())
    return h.hexdigest()[:16]


def unpack(tarball: Path, dest: Path) -> None:
    """Unpacks into dest, dropping the tarball's top directory (linux-source-6.12/, linux-6.12.x/)."""
    require("tar")
    require("xz")
    dest.mkdir(parents=True)
    result = subprocess.run(["tar", "-xf", str(tarball), "-C", str(dest), "--strip-components=1"],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SourceError(f"{tarball}: cannot unpack ({result.stderr.strip().splitlines()[-1:]})")
    if not (dest / "Makefile").is_file():
        raise SourceError(f"{tarball}: no top-level Makefile after unpacking: not a kernel tree")


def apply_patches(tree: Path, patches: list[Path]) -> None:
    require("patch")
    for patch in patches:
        result = subprocess.run(
            ["patch", "-p1", "--batch", "--forward", "--fuzz=0", "--no-backup-if-mismatch",
             "-d", str(tree), "-i", str(patch.resolve())],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            lines = (result.stdout + result.stderr).splitlines()
            failed = [line for line in lines if "FAILED" in line or "can't find" in line]
            detail = (failed or lines or ["patch gave no output"])[0].strip()
            raise PatchError(f"{patch.name} does not apply: {detail}")
        log.info(f"kernel tree: applied {patch.name}")


def copy_sources(tree: Path, src_dir: Path) -> None:
    """New Popcorn files go in as files; changing an existing kernel file takes a patch."""
    for source in in_tree_sources(src_dir):
        target = tree / source.relative_to(src_dir)
        if target.exists():
            raise PatchError(f"{source} would overwrite the kernel's own "
                             f"{source.relative_to(src_dir)}: change it through a patch")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def prepare_tree(tarball: Path, source_sha256: str, patch_dir: Path, src_dir: Path,
                 trees: Path) -> Path:
    """Returns a ready tree for these inputs, making it if needed (atomically: a tree only
    gets its final name once every patch applied)."""
    key = tree_key(source_sha256, patch_dir, src_dir)
    tree = trees / key
    with locked(trees / ".lock"):
        if tree.is_dir():
            log.info(f"kernel tree: reusing {tree}")
            return tree
        staging = trees / f".{key}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        log.info(f"kernel tree: unpacking {tarball} into {tree}")
        unpack(tarball, staging)
        apply_patches(staging, read_series(patch_dir))
        copy_sources(staging, src_dir)
        staging.rename(tree)
        _prune(trees, keep=tree)
    return tree


def _prune(trees: Path, keep: Path) -> None:
    """Keeps the newest few trees so that switching back and forth stays cheap."""
    others = sorted((p for p in trees.iterdir() if p.is_dir() and p != keep
                     and not p.name.startswith(".")),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in others[TREES_KEPT - 1:]:
        log.info(f"kernel tree: removing old tree {old}")
        shutil.rmtree(old, ignore_errors=True)
