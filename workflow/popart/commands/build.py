"""Build steps: the kernel's source and build, the boot images, the config check."""
import argparse
import json
from pathlib import Path

from .. import log
from ..fsutil import atomic_write_json, read_json
from ..paths import REPO, cache_root



def kernel_source(a: argparse.Namespace) -> None:
    from ..kernel.source import select_source
    info = select_source(json.loads(a.source), cache_root() / "downloads")
    atomic_write_json(a.out, info.to_dict())


def kernel_build(a: argparse.Namespace) -> None:
    from ..kernel.build import build_kernel
    info = build_kernel(json.loads(a.kernel), Path(a.source), REPO, Path(a.out_dir), a.jobs)
    log.info(f"kernel: {info['kernel_release']} identity {info['identity']}")


def initramfs(a: argparse.Namespace) -> None:
    from ..initramfs import build_initramfs
    tree = Path(read_json(a.kernel_info)["tree_dir"])
    out = Path(a.out)
    build_initramfs(Path(a.guest), tree, Path(a.kernel), REPO / "kernel/src/include/uapi", out,
                    out.parent / "work")


def net_image(a: argparse.Namespace) -> None:
    from ..netimage import build_net_image
    tree = Path(read_json(a.kernel_info)["tree_dir"])
    out = Path(a.out)
    build_net_image(Path(a.base), Path(a.secondary), tree, cache_root() / "debs", out,
                    out.parent / "net-work")


def results_dir(a: argparse.Namespace) -> None:
    """Prints the results_dir that `snakemake --configfile <files>` uses: the last of
    config.yaml and the files that sets it (for the Makefile)."""
    import yaml
    value = "results"
    from ..errors import ConfigError
    for path in [REPO / "config.yaml", *a.configfiles]:
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as e:
            raise ConfigError(f"{path}: {e.strerror}") from None
        value = data.get("results_dir", value) if isinstance(data, dict) else value
    print(str(value).rstrip("/"))


def check_config(a: argparse.Namespace) -> None:
    from ..config import load_config
    load_config(a.config, REPO / "workflow/schemas/config.schema.yaml")
    log.info(f"{a.config}: valid")
