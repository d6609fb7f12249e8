"""A JSON facts file (kernel.json, accel.json, partition.json, ...) as a tidy two-column
table: one row per leaf, its key path (``source.sha256``, ``pairs[0].lost``) and its value,
so the report can show it instead of offering it for download."""
import html
import json
from pathlib import Path
from typing import Any

import pandas as pd

from .fsutil import atomic_write_text
from .tables import write_table

COLUMNS = ["key", "value"]


def leaf_text(value: Any) -> str:
    """Strings as they are; anything else in JSON spelling (null, true, 1.5) so that a
    missing figure never reads as the string "None"."""
    return value if isinstance(value, str) else json.dumps(value)


def flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(key path, value) for every leaf, in the file's order. An empty dict or list keeps
    its row ({} or []): the key was there, with nothing in it."""
    if isinstance(data, dict) and data:
        rows = []
        for key, value in data.items():
            rows += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(data, list) and data:
        return [row for i, value in enumerate(data) for row in flatten(value, f"{prefix}[{i}]")]
    return [(prefix, leaf_text(data))]


def facts_table(data: Any) -> pd.DataFrame:
    return pd.DataFrame(flatten(data), columns=COLUMNS)


def facts_html(table: pd.DataFrame, title: str) -> str:
    """A standalone page: the report shows HTML items inline (CSV only as a download)."""
    rows = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                     for k, v in zip(table["key"], table["value"]))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; font-size: 14px; margin: 1em; }}
table {{ border-collapse: collapse; }}
th, td {{ text-align: left; padding: 2px 12px 2px 4px; border-bottom: 1px solid #ddd;
         vertical-align: top; }}
th {{ font-weight: normal; font-family: monospace; color: #444; }}
td {{ font-family: monospace; word-break: break-all; }}
</style></head>
<body><h1>{html.escape(title)}</h1>
<table class="facts">
<thead><tr><th>key</th><th>value</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""


def write_facts(data: Any, stem: Path, title: str) -> None:
    """stem.csv and stem.md (as every table), and stem.html for the report."""
    table = facts_table(data)
    write_table(table, stem)
    atomic_write_text(stem.with_suffix(".html"), facts_html(table, title))
