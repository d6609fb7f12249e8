"""A JSON facts file (kernel.json, accel.json, partition.json, ...) as a tidy two-column
table: one row per leaf, its key path (``source.sha256``, ``pairs[0].lost``) and its value,
so the report can show it instead of offering it for download."""
import html
import json
from pathlib import Path
from typing import Any

import pandas as pd

from .tables import html_page, write_table

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
    """Key and value per row; long values wrap."""
    rows = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                     for k, v in zip(table["key"], table["value"]))
    body = (f'<table class="facts">\n<thead><tr><th>key</th><th>value</th></tr></thead>\n'
            f"<tbody>\n{rows}\n</tbody></table>")
    return html_page(title, body, "th { font-weight: normal; color: #444; }\n"
                                  "td { word-break: break-all; }\n")


def write_facts(data: Any, stem: Path, title: str) -> None:
    """stem.csv, stem.md and stem.html (key-value page), as every table."""
    table = facts_table(data)
    write_table(table, stem, facts_html(table, title))
