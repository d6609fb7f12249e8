"""JSON facts files (kernel, accelerator, partition, link, stress, soak) to report tables."""
import argparse
from pathlib import Path

from ..errors import PopartError
from ..fsutil import read_json


def facts_table(a: argparse.Namespace) -> None:
    from ..facts import write_facts
    try:
        data = read_json(a.json)
    except ValueError as e:  # a truncated or hand-edited file: say which one
        raise PopartError(f"{a.json}: not JSON: {e}") from None
    write_facts(data, Path(a.table), a.title or Path(a.json).name)
