"""Which network drivers the experiment kernel has built in: a driver's name is its
module's, and the kernel tree's own Makefiles say which option builds it."""
import re
from pathlib import Path

OBJ_LINE = re.compile(r"^obj-\$\((CONFIG_[A-Z0-9_]+)\)\s*\+?=\s*(.+)$")


def builtin_net_drivers(tree: Path, config_text: str) -> set[str]:
    """Module names under drivers/net whose option is =y in the .config."""
    enabled = {m.group(1) for m in re.finditer(r"^(CONFIG_[A-Z0-9_]+)=y$", config_text,
                                               re.MULTILINE)}
    drivers = set()
    for makefile in (tree / "drivers" / "net").rglob("Makefile"):
        for line in makefile.read_text(errors="replace").splitlines():
            m = OBJ_LINE.match(line.strip())
            if m and m.group(1) in enabled:
                drivers |= {w[:-2].replace("-", "_") for w in m.group(2).split()
                            if w.endswith(".o")}
    return drivers
