"""What the workflow declares for the report of one finished run, from Snakemake itself:
every output of every rule marked with report(), its category and caption, and whether
this run should have it. Run as a script (the workflow's files change the environment
and the working directory of the process that parses them):

    python tests/declared_report.py WORKDIR CONFIGFILE [KEY=VALUE ...]   -> JSON on stdout

(KEY=VALUE: what the run had on its --config).

An item is expected when its rule had what it consumes: every input of the rule exists in
the run's folder (a rule whose input is a function counts when its output exists). So a
table whose rule is left out of `all` is still expected, and found missing."""
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def declared(workdir: Path, configfile: Path, overrides: dict[str, str]) -> list[dict]:
    from snakemake.api import SnakemakeApi
    from snakemake.io import get_flag_value, glob_wildcards, is_flagged
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    items = []
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow_api = api.workflow(ResourceSettings(cores=1),
                                    ConfigSettings(configfiles=[configfile], config=overrides),
                                    snakefile=REPO / "Snakefile", workdir=workdir)
        # The parsed workflow: the API lists rules only by printing them.
        for rule in workflow_api._workflow.rules:
            inputs = list(rule.input)
            for output in rule.output:
                if not is_flagged(output, "report"):
                    continue
                flag = get_flag_value(output, "report")
                # One row per file: a pattern with wildcards stands for what exists.
                names = glob_wildcards(str(output))._asdict()
                paths = ([output.format(**dict(zip(names, v))) for v in zip(*names.values())]
                         if names else [str(output)])
                for path in paths:
                    if names or any(callable(i) for i in inputs):
                        expected = os.path.exists(path)
                    else:
                        expected = all(os.path.exists(str(i)) for i in inputs)
                    items.append({"rule": rule.name, "path": path,
                                  "category": flag.category or "Other",
                                  "subcategory": flag.subcategory or "Other",
                                  "caption": str(flag.caption), "expected": expected})
    return items


if __name__ == "__main__":
    overrides = dict(pair.split("=", 1) for pair in sys.argv[3:])
    print(json.dumps(declared(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve(),
                              overrides)))
