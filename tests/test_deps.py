"""Each command's sources, as the rules depend on them."""
from popart.deps import PACKAGE, command_sources, command_table


def names(command: str) -> set[str]:
    return {str(p.relative_to(PACKAGE)) for p in command_sources(command)}


def test_every_command_of_the_parser_has_its_sources():
    table = command_table()
    assert {"boot-run", "boot-report", "msg-csv", "failures"} <= set(table)
    for command in table:
        assert f"commands/{table[command].split('.')[0]}.py" in names(command)


def test_a_plot_is_a_report_dependency_and_never_a_measurements():
    assert {"plots.py", "tables.py"} <= names("boot-report")
    run = names("boot-run")
    assert {"targets/qemu.py", "experiments/boot.py", "machines.py", "console.py"} <= run
    assert "plots.py" not in run and "cli.py" not in run
    # transitive: net-rounds -> experiments/net.py -> netrun.py -> netbed.py
    assert {"experiments/netrun.py", "netbed.py", "loadgen.py"} <= names("net-rounds")
    assert "experiments/msg.py" in names("msg-csv") and "plots.py" not in names("msg-csv")
    # the packages a module lives in run first: their __init__.py count
    assert {"__init__.py", "experiments/__init__.py", "commands/__init__.py"} <= names(
        "ring-host-run")
