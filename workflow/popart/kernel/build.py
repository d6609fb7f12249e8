"""Configures and builds the kernel out of tree with ccache, and records what was built.

The build directory is keyed by the tarball, base config and fragments; patches and
in-tree sources change the tree in place, so kbuild recompiles only what they touch.
kernel.json's identity hashes every input.
"""
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from .. import log
from ..errors import BuildError
from ..fsutil import atomic_write_json, locked, read_json, sha256_file, sha256_files
from ..hosttools import require
from ..paths import cache_root
from .kconfig import check_survivors, parse_config
from .progress import done_line, is_file_step, progress_line, read_count, write_count
from .tree import prepare_tree

BUILD_TOOLS = ["make", "gcc", "flex", "bison", "bc", "ccache", "/usr/include/libelf.h",
               "/usr/include/openssl/ssl.h"]
PROGRESS_S = 15.0  # at most one progress line this often while make runs


def build_key(tree: str, base_config: str, fragments: list[Path], repo: Path) -> str:
    h = hashlib.sha256(f"{tree}\0{base_config}\0".encode())
    h.update(sha256_files(fragments, repo).encode())
    return h.hexdigest()[:16]


def _make_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("CCACHE_DIR", str(cache_root() / "ccache"))
    env.update(KBUILD_BUILD_USER="popcorn", KBUILD_BUILD_HOST="artifact", LC_ALL="C")
    return env


def _make(tree: Path, build_dir: Path, targets: list[str], jobs: int, logfile: Path,
          label: str, fresh: bool | None = None, expected: int | None = None) -> int:
    """Runs make, writing everything to the log and a progress line every PROGRESS_S;
    returns how many files kbuild said it made. ``fresh``/``expected``: see
    progress.progress_line (None for make steps that are not the build itself)."""
    argv = ["make", "-C", str(tree), f"O={build_dir}", "CC=ccache gcc", "HOSTCC=ccache gcc",
            f"-j{jobs}", *targets]
    log.info(f"{label}: {' '.join(argv)}")
    started = time.monotonic()
    next_line = started + PROGRESS_S
    made = 0
    with open(logfile, "a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=_make_env())
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            made += is_file_step(line)
            if (now := time.monotonic()) >= next_line:
                next_line = now + PROGRESS_S
                out.flush()
                log.info(f"{label}: {progress_line(made, expected, fresh, now - started)}")
        rc = proc.wait()
    if rc != 0:
        raise BuildError(f"make {' '.join(targets)} failed (exit {rc}): see {logfile}")
    log.info(f"{label}: {done_line(made, fresh, time.monotonic() - started)}")
    return made


def configure(tree: Path, build_dir: Path, base_config: str, fragments: list[Path],
              logfile: Path) -> None:
    """base config, then the kernel's own merge_config.sh, then olddefconfig, then a check."""
    _make(tree, build_dir, [base_config], 1, logfile, "kernel config")
    argv = [str(tree / "scripts/kconfig/merge_config.sh"), "-m", "-O", str(build_dir),
            str(build_dir / ".config"), *(str(f) for f in fragments)]
    with open(logfile, "a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, cwd=tree, check=False)
    if result.returncode != 0:
        raise BuildError(f"merge_config.sh failed (exit {result.returncode}): see {logfile}")
    _make(tree, build_dir, ["olddefconfig"], 1, logfile, "kernel config")
    check_survivors(build_dir / ".config", fragments)


def build_kernel(kernel_config: dict, source_json: Path, repo: Path, out_dir: Path,
                 jobs: int) -> dict:
    """Builds bzImage (and modules if configured); writes bzImage and kernel.json to out_dir."""
    for tool in BUILD_TOOLS:
        require(tool)
    source = read_json(source_json)
    fragments = [repo / f for f in kernel_config["fragments"]]
    for fragment in fragments:
        parse_config(fragment, strict=True)  # fail on a bad fragment before unpacking
    cache = cache_root()
    tree, tree_key = prepare_tree(Path(source["tarball"]), source["sha256"],
                                  repo / "kernel/patches", repo / "kernel/src", cache / "trees")
    # The build directory outlives patch changes (incremental builds); the identity does not.
    key = build_key(tree.name, kernel_config["base_config"], fragments, repo)
    identity = hashlib.sha256(f"{tree_key}\0{key}".encode()).hexdigest()[:16]
    build_dir = cache / "builds" / key
    logfile = out_dir / "build.log"
    out_dir.mkdir(parents=True, exist_ok=True)
    logfile.write_text(f"tree {tree}\nbuild directory {build_dir}\n")
    started = time.monotonic()
    with locked(cache / "builds" / f".{key}.lock"):
        stamp = build_dir / ".popcorn-configured"
        fresh = not stamp.is_file()  # from an empty build directory: a full build
        if fresh:
            shutil.rmtree(build_dir, ignore_errors=True)
            build_dir.mkdir(parents=True)
            configure(tree, build_dir, kernel_config["base_config"], fragments, logfile)
            stamp.write_text(key + "\n")
        modules = parse_config(build_dir / ".config", strict=False).get("CONFIG_MODULES") == "y"
        build_started = time.monotonic()
        made = _make(tree, build_dir, ["bzImage", *(["modules"] if modules else [])], jobs,
                     logfile, "kernel build", fresh, read_count(build_dir))
        if fresh:
            write_count(build_dir, made, time.monotonic() - build_started)
        # kbuild re-syncs .config when a patch changes a Kconfig file: check again.
        check_survivors(build_dir / ".config", fragments)
        release = (build_dir / "include/config/kernel.release").read_text().strip()
        image = build_dir / "arch/x86/boot/bzImage"
        tmp_image = out_dir / ".bzImage.partial"
        shutil.copy2(image, tmp_image)
        tmp_image.replace(out_dir / "bzImage")
        if modules:
            modules_dir = out_dir / "modules"
            shutil.rmtree(modules_dir, ignore_errors=True)
            _make(tree, build_dir, ["modules_install", f"INSTALL_MOD_PATH={modules_dir}"], 1,
                  logfile, "kernel modules")
        shutil.copy2(build_dir / ".config", out_dir / "config")
    info = {
        "kernel_release": release,
        "identity": identity,
        "tree_key": tree_key,
        "tree_dir": str(tree),
        "source": source,
        "base_config": kernel_config["base_config"],
        "fragments": [str(f.relative_to(repo)) for f in fragments],
        "modules": modules,
        "bzimage_sha256": sha256_file(out_dir / "bzImage"),
        "build_dir": str(build_dir),
        "build_s": round(time.monotonic() - started, 1),
    }
    atomic_write_json(out_dir / "kernel.json", info)
    return info
