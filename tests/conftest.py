from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FAKE_QEMU = Path(__file__).parent / "fakes" / "fake_qemu.py"


@pytest.fixture
def fake_qemu(monkeypatch):
    """Returns a function that sets the fake's mode and gives its path."""
    def use(mode: str) -> str:
        monkeypatch.setenv("FAKE_QEMU_MODE", mode)
        return str(FAKE_QEMU)
    return use
