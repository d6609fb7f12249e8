"""Source selection and checksums, with a file:// tarball standing in for kernel.org."""
import hashlib
import io
import tarfile

import pytest

from popart.errors import SourceError
from popart.kernel.source import debian_source, select_source, version_from_name


def make_tarball(path, top="linux-6.12.99", files=None):
    files = files or {"Makefile": "VERSION = 6\nPATCHLEVEL = 12\n", "init/main.c": "int x;\n"}
    with tarfile.open(path, "w:xz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_url_source_checks_sha256_and_reuses_download(tmp_path):
    tarball = tmp_path / "linux-6.12.99.tar.xz"
    sha = make_tarball(tarball)
    config = {"type": "url", "url": tarball.as_uri(), "sha256": sha}
    info = select_source(config, tmp_path / "downloads")
    assert (info.kind, info.version, info.sha256) == ("url", "6.12.99", sha)
    assert hashlib.sha256(open(info.tarball, "rb").read()).hexdigest() == sha
    tarball.unlink()  # second time: the checked download is reused, no fetch
    assert select_source(config, tmp_path / "downloads").tarball == info.tarball


def test_url_source_with_wrong_sha256_is_refused_and_not_kept(tmp_path):
    tarball = tmp_path / "linux-6.12.99.tar.xz"
    actual = make_tarball(tarball)
    with pytest.raises(SourceError) as err:
        select_source({"type": "url", "url": tarball.as_uri(), "sha256": "0" * 64},
                      tmp_path / "downloads")
    assert actual in str(err.value) and "0" * 64 in str(err.value)
    assert tarball.as_uri() in str(err.value)
    assert not any((tmp_path / "downloads").iterdir())


def test_unreachable_url_is_a_one_line_error(tmp_path):
    with pytest.raises(SourceError, match="download failed"):
        select_source({"type": "url", "url": (tmp_path / "linux-6.12.1.tar.xz").as_uri(),
                       "sha256": "0" * 64}, tmp_path / "downloads")


def test_version_comes_from_the_file_name():
    assert version_from_name("https://cdn.kernel.org/x/linux-6.12.58.tar.xz") == "6.12.58"
    with pytest.raises(SourceError, match="cannot tell the kernel version"):
        version_from_name("file:///tmp/kernel.tar.xz")


def test_missing_debian_package_names_it():
    with pytest.raises(SourceError, match="linux-source-9.99 is not installed"):
        debian_source("linux-source-9.99")
