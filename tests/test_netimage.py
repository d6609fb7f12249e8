"""The network image's overlay listing: each program with the libraries ldd resolves."""
from pathlib import Path

import pytest

from popart.errors import BuildError
from popart.netimage import overlay_listing, shared_libraries


def test_a_program_comes_with_its_libraries_and_their_directories():
    listing = overlay_listing({"/usr/bin/true": Path("/bin/true")}).splitlines()
    files = {line.split()[1]: line.split()[2] for line in listing if line.startswith("file ")}
    assert files["/usr/bin/true"] == "/bin/true"
    libc = [guest for guest in files if guest.endswith("/libc.so.6")]
    assert libc and Path(files[libc[0]]).is_file() and not Path(files[libc[0]]).is_symlink()
    loader = [guest for guest in files if "ld-linux" in guest]
    assert loader  # the program's interpreter, where the program looks for it
    dirs = {line.split()[1] for line in listing if line.startswith("dir ")}
    assert {str(Path(g).parent) for g in files} <= dirs | {"/"}


def test_a_program_ldd_cannot_read_is_a_named_error(tmp_path):
    with pytest.raises(BuildError, match="absent.*No such file"):
        shared_libraries(tmp_path / "absent")
