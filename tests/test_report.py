"""The HTML report of real pipeline runs, read in headless Chromium the way a reader does:
every item the workflow declares for a run (asked of Snakemake: tests/declared_report.py)
is listed in its category and shows (a plot loads, an HTML table has its rows, a CSV
table downloads as the file), with its caption; no category is empty.

Each run is test_e2e.py's, when this session made it already (conftest.SESSION_VALUES),
else made here: `pytest tests/test_report.py -k boot` costs one short pipeline."""
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import test_e2e
from chromium import Chromium, chromium_binary, file_url
from conftest import REPO, SESSION_VALUES

pytestmark = pytest.mark.e2e
PROBE = (Path(__file__).parent / "report_probe.js").read_text()
# (test_e2e.py's fixture, its configuration): between them every category of the report.
RUNS = {"boot": ("boot_run", ".test/e2e.yaml"), "msg": ("msg_run", ".test/msg.yaml"),
        "net": ("net_run", ".test/net.yaml"),
        "multikernel": ("multikernel_run", ".test/multikernel-8.yaml"),
        "migrate": ("migrate_run", ".test/migrate.yaml"),
        "panic": ("panic_run", ".test/e2e-panic.yaml")}  # a run with failed rows
FAILED_ROWS = {"panic"}
DOCUTILS_PROBLEMS = ("system-message", "problematic")  # a broken caption, rendered


@pytest.fixture(scope="module", params=list(RUNS))
def report(request, tmp_path_factory) -> tuple[Path, list[dict], Path]:
    """(run folder, what the workflow declares for its report, the report)."""
    fixture, configfile = RUNS[request.param]
    workdir = SESSION_VALUES.get(fixture) or test_e2e.pipeline(
        tmp_path_factory, configfile, failed_rows=request.param in FAILED_ROWS)
    # As `make report` makes it: the target of every output, ok or not.
    result = test_e2e.snakemake(workdir, configfile, "outputs", "--report",
                                "results/report.html")
    assert result.returncode == 0, result.stderr[-3000:]
    listing = subprocess.run([sys.executable, str(Path(__file__).parent / "declared_report.py"),
                              str(workdir), str(REPO / configfile), *test_e2e.OVERRIDES],
                             capture_output=True, text=True, check=True)
    return workdir, json.loads(listing.stdout), workdir / "results/report.html"


@pytest.fixture(scope="module")
def browser():
    if chromium_binary() is None:
        pytest.fail("no chromium: `make test-packages` installs setup/debian-packages-test.txt")
    with Chromium() as page:
        yield page


def call(page: Chromium, function: str, *args) -> object:
    return page.run(f"reportProbe.{function}({', '.join(json.dumps(a) for a in args)})")


def frame_rows(page: Chromium, timeout_s: float = 10) -> int:
    """Rows of the table in the content pane's iframe (a data: URL) once it has loaded."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames()[1:]:
            if frame["url"].startswith("data:text/html"):
                rows = page.run_in_frame(frame["id"], "document.querySelectorAll('tbody tr')"
                                                      ".length")
                if rows:
                    return rows
        time.sleep(0.1)
    return 0


def sections(items: list[dict]) -> dict[str, dict[str, list[str]]]:
    """category -> subcategory -> paths."""
    out: dict[str, dict[str, list[str]]] = {}
    for item in items:
        out.setdefault(item["category"], {}).setdefault(item["subcategory"], []).append(
            item["path"])
    return out


def test_every_declared_item_is_in_its_category_and_shows(report, browser):
    workdir, declared, html = report
    expected = [i for i in declared if i["expected"]]
    assert expected, declared
    browser.open(file_url(html))
    browser.run(PROBE)
    menu = call(browser, "menu")
    assert menu["description"] and not any(p in menu["description_html"]
                                           for p in DOCUTILS_PROBLEMS), menu["description_html"]
    wanted = sections(expected)
    assert sorted(menu["categories"]) == sorted(wanted), menu["categories"]
    for category, subcategories in wanted.items():
        for subcategory, paths in subcategories.items():
            sub = subcategory if len(subcategories) > 1 else None
            rows = call(browser, "rows", category, sub)
            shown = [row["labels"][0] for row in rows]
            assert shown, f"{category}: empty"
            assert sorted(shown) == sorted(paths), (category, subcategory)
            for index, path in enumerate(shown):
                check_view(browser, workdir, path, call(browser, "view", category, sub, index))
                info = call(browser, "info", category, sub, index)
                assert info["path"] == path
                assert info["caption"] and "{{" not in info["caption"], (path, info)
                assert not any(p in info["caption_html"] for p in DOCUTILS_PROBLEMS), (
                    path, info["caption_html"])


def check_view(page: Chromium, workdir: Path, path: str, view: dict) -> None:
    file = workdir / path
    if file.suffix == ".png":
        assert view["kind"] == "img" and view["width"] > 100 and view["height"] > 100, view
    elif file.name == "reference.html":  # a section per table the reference has too
        assert view["kind"] == "iframe", view
        from popart.reference import case_keys
        text = file.read_text()
        for mine in file.parent.glob("*.csv"):
            df = pd.read_csv(mine)
            if ((REPO / "reference/run/tables" / mine.name).exists() and len(df)
                    and (case_keys(df) or "key" in df.columns)):
                assert f"<h2>{mine.stem}</h2>" in text, (path, mine.name)
        assert frame_rows(page) > 0, path
    elif file.suffix == ".html":  # a table: as many rows as its CSV beside it
        assert view["kind"] == "iframe", view
        rows = len(pd.read_csv(file.with_suffix(".csv")))
        if rows:
            assert frame_rows(page) == rows, path
        else:  # an empty table (no failures) says so
            assert "(no rows)" in file.read_text(), path
    elif file.suffix == ".csv":
        assert view["kind"] == "download" and view["mime"] == "text/csv", view
        assert view["name"] == file.name and view["text"] == file.read_text(), path
    else:
        pytest.fail(f"{path}: no check for this kind of report item")
