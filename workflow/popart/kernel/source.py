"""Selects the Linux source tarball and records its exact identity.

Debian's linux-source package moves with security updates, so the package version and
the tarball's sha256 are part of every build's identity.
"""
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import log
from ..errors import SourceError
from ..fsutil import sha256_file
from ..hosttools import require


@dataclass(frozen=True)
class SourceInfo:
    kind: str        # debian | url
    version: str     # Debian package version, or the version in the tarball's name
    sha256: str
    tarball: str     # local path of the tarball
    origin: str      # the package name or the URL

    def to_dict(self) -> dict:
        return asdict(self)


def debian_source(package: str) -> SourceInfo:
    tarball = Path("/usr/src") / f"{package}.tar.xz"
    require("dpkg-query")
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise SourceError(f"Debian package {package} is not installed: apt-get install {package}")
    if not tarball.is_file():
        raise SourceError(f"{tarball} missing although {package} is installed: reinstall it")
    log.info(f"kernel source: {package} {result.stdout.strip()}, hashing {tarball}")
    return SourceInfo("debian", result.stdout.strip(), sha256_file(tarball), str(tarball), package)


def version_from_name(url: str) -> str:
    match = re.search(r"linux-(\d+\.\d+(?:\.\d+)?)\.tar\.", url)
    if not match:
        raise SourceError(f"{url}: cannot tell the kernel version from the file name "
                          "(expected linux-X.Y[.Z].tar.xz)")
    return match.group(1)


def url_source(url: str, sha256: str, downloads: Path) -> SourceInfo:
    """Downloads (once) and checks a tarball; a wrong checksum is an error, never used."""
    version = version_from_name(url)
    suffix = ".tar.xz" if url.endswith(".xz") else ".tar.gz"
    target = downloads / f"linux-{version}-{sha256[:16]}{suffix}"
    if target.is_file() and sha256_file(target) == sha256:
        log.info(f"kernel source: {target} already downloaded")
    else:
        downloads.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        log.info(f"kernel source: downloading {url}")
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
        except (urllib.error.URLError, OSError) as e:
            partial.unlink(missing_ok=True)
            raise SourceError(f"{url}: download failed ({e})") from None
        actual = sha256_file(partial)
        if actual != sha256:
            partial.unlink()
            raise SourceError(f"{url}: sha256 is {actual}, config says {sha256}")
        partial.replace(target)
    return SourceInfo("url", version, sha256, str(target), url)


def select_source(source_config: dict, downloads: Path) -> SourceInfo:
    if source_config["type"] == "debian":
        return debian_source(source_config["package"])
    return url_source(source_config["url"], source_config["sha256"], downloads)
