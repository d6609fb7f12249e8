"""Host programs the pipeline runs, and the Debian package that provides each."""
import shutil
from functools import cache
from pathlib import Path

from .errors import MissingToolError

PACKAGES_FILE = Path(__file__).resolve().parents[2] / "setup" / "debian-packages.txt"


@cache
def package_of() -> dict[str, str]:
    """Maps each program or file named in setup/debian-packages.txt to its package."""
    mapping: dict[str, str] = {}
    for line in PACKAGES_FILE.read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        for tool in fields[1:]:
            mapping[tool] = fields[0]
    return mapping


def require(tool: str, package: str | None = None) -> str:
    """Returns the path of a host program (or file), or names the package to install
    (``package``, else the one setup/debian-packages.txt lists for it)."""
    found = str(Path(tool)) if tool.startswith("/") and Path(tool).exists() else None
    found = found or (None if tool.startswith("/") else shutil.which(tool))
    if found:
        return found
    package = package or package_of().get(tool) or package_of().get(Path(tool).name)
    hint = f"install the Debian package {package}" if package else "install it"
    raise MissingToolError(f"{tool} not found: {hint} (or run `make setup`)")
