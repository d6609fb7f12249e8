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


# The values of this session's session-scoped fixtures by name (test_e2e.py's pipeline
# runs): a test in another module may reuse a run made already instead of making its own.
SESSION_VALUES: dict[str, object] = {}


class _SessionValues:
    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        value = yield
        if fixturedef.scope == "session":
            SESSION_VALUES[fixturedef.argname] = value
        return value


def pytest_configure(config):
    # A plugin, not this file's own hook: a session fixture's setup goes to the hooks of
    # the root directory only, and this file is in tests/.
    config.pluginmanager.register(_SessionValues(), "popart-session-values")
