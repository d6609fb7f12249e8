"""JSON facts files as two-column report tables."""
import json

import pandas as pd

from popart.cli import main
from popart.facts import facts_html, facts_table, flatten

KERNEL = {"kernel_release": "6.12.117", "modules": False, "build_s": 155.0,
          "fragments": ["kernel/configs/base.config", "kernel/configs/popcorn.config"],
          "source": {"kind": "debian", "sha256": "585a"}}


def test_nested_keys_become_dotted_paths_in_file_order():
    assert flatten(KERNEL) == [
        ("kernel_release", "6.12.117"), ("modules", "false"), ("build_s", "155.0"),
        ("fragments[0]", "kernel/configs/base.config"),
        ("fragments[1]", "kernel/configs/popcorn.config"),
        ("source.kind", "debian"), ("source.sha256", "585a")]


def test_lists_of_records_and_missing_figures():
    stress = {"status": "ok", "stress_s": None, "pairs": [{"from": 0, "to": 1, "lost": 0}]}
    assert flatten(stress) == [("status", "ok"), ("stress_s", "null"), ("pairs[0].from", "0"),
                               ("pairs[0].to", "1"), ("pairs[0].lost", "0")]


def test_empty_containers_keep_their_row():
    partition = {"disjoint": True, "overlaps": [], "unshaped_mbit": {}}
    assert flatten(partition) == [("disjoint", "true"), ("overlaps", "[]"),
                                  ("unshaped_mbit", "{}")]


def test_a_top_level_scalar_or_empty_file_is_one_row():
    assert flatten("tcg") == [("", "tcg")]
    assert list(facts_table({}).itertuples(index=False, name=None)) == [("", "{}")]


def test_html_escapes_keys_and_values():
    page = facts_html(facts_table({"reason": "QEMU <exited> & said \"no\""}), "accel.json")
    assert "<td>QEMU &lt;exited&gt; &amp; said &quot;no&quot;</td>" in page
    assert "<title>accel.json</title>" in page and page.count("<tr>") == 2


def test_command_writes_csv_markdown_and_html(tmp_path):
    src = tmp_path / "kernel.json"
    src.write_text(json.dumps(KERNEL))
    stem = tmp_path / "tables" / "kernel"
    assert main(["facts-table", "--json", str(src), "--table", str(stem)]) == 0
    table = pd.read_csv(stem.with_suffix(".csv"), dtype=str, keep_default_na=False)
    assert list(table.columns) == ["key", "value"] and len(table) == 7
    assert table.loc[6].tolist() == ["source.sha256", "585a"]
    assert "source.sha256" in stem.with_suffix(".md").read_text()
    page = stem.with_suffix(".html").read_text()
    assert "<title>kernel.json</title>" in page and "<th>source.kind</th>" in page


def test_a_file_that_is_not_json_is_one_error_line(tmp_path, capsys):
    src = tmp_path / "link.json"
    src.write_text('{"status": "ok",')
    stem = tmp_path / "net_link"
    assert main(["facts-table", "--json", str(src), "--table", str(stem), "--title", "x"]) == 1
    assert "link.json: not JSON" in capsys.readouterr().err
    assert not stem.with_suffix(".html").exists()
