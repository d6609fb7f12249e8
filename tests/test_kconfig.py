"""Fragment parsing and the check that requested options survived olddefconfig."""
import pytest

from popart.errors import KconfigError
from popart.kernel.kconfig import check_survivors, requested_options


def test_dropped_option_is_named_with_its_fragment(tmp_path):
    frag = tmp_path / "smp.config"
    frag.write_text("CONFIG_SMP=y\nCONFIG_X86_X2APIC=y\n# CONFIG_IPV6 is not set\n")
    final = tmp_path / ".config"
    final.write_text("CONFIG_SMP=y\n# CONFIG_X86_X2APIC is not set\n")
    with pytest.raises(KconfigError) as err:
        check_survivors(final, [frag])
    assert "CONFIG_X86_X2APIC=y" in str(err.value) and str(frag) in str(err.value)
    final.write_text("CONFIG_SMP=y\nCONFIG_X86_X2APIC=y\n")
    check_survivors(final, [frag])  # an option absent from .config counts as off


def test_option_turned_on_although_requested_off_is_an_error(tmp_path):
    frag = tmp_path / "a.config"
    frag.write_text("# CONFIG_INPUT is not set\n")
    final = tmp_path / ".config"
    final.write_text("CONFIG_INPUT=y\n")
    with pytest.raises(KconfigError, match=r"CONFIG_INPUT off .*\(final value: y\)"):
        check_survivors(final, [frag])


def test_later_fragment_wins_and_bad_lines_are_errors(tmp_path):
    a, b = tmp_path / "a.config", tmp_path / "b.config"
    a.write_text("CONFIG_NR_CPUS=8\n")
    b.write_text("CONFIG_NR_CPUS=64\n")
    assert requested_options([a, b])["CONFIG_NR_CPUS"] == ("64", b)
    b.write_text("CONFIG_NR_CPUS=64\nSMP=y\n")
    with pytest.raises(KconfigError, match=r"b.config:2: not a config line"):
        requested_options([a, b])


def test_every_lost_option_is_listed_on_the_one_line(tmp_path):
    frag = tmp_path / "a.config"
    frag.write_text("CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=y\n")
    final = tmp_path / ".config"
    final.write_text("CONFIG_B=y\n")
    with pytest.raises(KconfigError) as err:
        check_survivors(final, [frag])
    assert str(err.value).startswith("kernel config: CONFIG_A=y from")
    assert str(err.value).endswith("also CONFIG_C") and "\n" not in str(err.value)
