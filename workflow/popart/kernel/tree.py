"""Prepares a patched kernel tree: unpack the tarball, apply the patch series, copy the
in-tree Popcorn sources.

There is one working tree per source tarball, kept across changes of the patches and
in-tree sources: the previous patches are reverted and the previous files removed before
the current ones go in, so that kbuild recompiles only what changed (a new tree path would
make every object, and every ccache entry, new). Whatever looks wrong gives a fresh unpack.
"""
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from .. import log
from ..errors import PatchError, SourceError
from ..fsutil import locked, sha256_files
from ..hosttools import require

TREES_KEPT = 2
SKIPPED_SOURCES = {"README.md"}
STATE = ".popcorn-tree.json"   # what is applied; absent while the tree is being changed
APPLIED = ".popcorn-applied"   # copies of the applied patches, to revert them later


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


def _patch(tree: Path, patch: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["patch", "-p1", "--batch", "--forward", "--fuzz=0", "--no-backup-if-mismatch",
         *flags, "-d", str(tree), "-i", str(patch.resolve())],
        capture_output=True, text=True, check=False,
    )


def apply_patches(tree: Path, patches: list[Path]) -> None:
    require("patch")
    for patch in patches:
        result = _patch(tree, patch)
        if result.returncode != 0:
            lines = (result.stdout + result.stderr).splitlines()
            failed = [line for line in lines if "FAILED" in line or "can't find" in line]
            detail = (failed or lines or ["patch gave no output"])[0].strip()
            raise PatchError(f"{patch.name} does not apply: {detail}")
        log.info(f"kernel tree: applied {patch.name}")


def copy_sources(tree: Path, src_dir: Path, before: dict[str, str]) -> dict[str, str]:
    """New Popcorn files go in as files; changing an existing kernel file takes a patch.
    Returns the copied paths, relative to the tree, with their SHA-256. A file keeps its
    mtime when the tree had the same content before (before: the last state's), so that
    kbuild does not rebuild it; any other gets the time now, since its own mtime may be
    older than the objects (another checkout sharing this cache built them)."""
    copied = {}
    for source in in_tree_sources(src_dir):
        relative = source.relative_to(src_dir)
        target = tree / relative
        if target.exists():
            raise PatchError(f"{source} would overwrite the kernel's own "
                             f"{relative}: change it through a patch")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        if before.get(str(relative)) != digest:
            os.utime(target)
        copied[str(relative)] = digest
    return copied


def _read_state(tree: Path) -> dict | None:
    try:
        return json.loads((tree / STATE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _revert(tree: Path, state: dict) -> bool:
    """Takes the previous patches and files out again; False if anything does not fit."""
    (tree / STATE).unlink()
    for name in reversed(state["patches"]):
        if _patch(tree, tree / APPLIED / name, "-R").returncode != 0:
            log.warn(f"kernel tree: cannot revert {name}; unpacking afresh")
            return False
    for relative in state["files"]:
        (tree / relative).unlink(missing_ok=True)
    shutil.rmtree(tree / APPLIED, ignore_errors=True)
    return True


def _unpack_fresh(tarball: Path, tree: Path) -> None:
    staging = tree.with_name(f".{tree.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    log.info(f"kernel tree: unpacking {tarball} into {tree}")
    unpack(tarball, staging)
    shutil.rmtree(tree, ignore_errors=True)
    staging.rename(tree)


def prepare_tree(tarball: Path, source_sha256: str, patch_dir: Path, src_dir: Path,
                 trees: Path) -> tuple[Path, str]:
    """Returns the tree for these inputs and their key (a hash of tarball, patches and
    in-tree sources). The state file is written last: a tree interrupted while being
    changed has none, and is unpacked afresh next time."""
    key = tree_key(source_sha256, patch_dir, src_dir)
    tree = trees / source_sha256[:16]
    with locked(trees / ".lock"):
        state = _read_state(tree)
        if state and state["key"] == key:
            log.info(f"kernel tree: reusing {tree}")
            return tree, key
        # What the previous sources were (a tree of before the digests: none known).
        before = state["files"] if state and isinstance(state["files"], dict) else {}
        if state is None or not _revert(tree, state):
            _unpack_fresh(tarball, tree)
        patches = read_series(patch_dir)
        apply_patches(tree, patches)
        files = copy_sources(tree, src_dir, before)
        (tree / APPLIED).mkdir()
        for patch in patches:
            shutil.copy2(patch, tree / APPLIED / patch.name)
        (tree / STATE).write_text(json.dumps(
            {"key": key, "patches": [p.name for p in patches], "files": files}))
        _prune(trees, keep=tree)
    return tree, key


def _prune(trees: Path, keep: Path) -> None:
    """Keeps the newest few trees (one per source tarball)."""
    others = sorted((p for p in trees.iterdir() if p.is_dir() and p != keep
                     and not p.name.startswith(".")),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in others[TREES_KEPT - 1:]:
        log.info(f"kernel tree: removing old tree {old}")
        shutil.rmtree(old, ignore_errors=True)
