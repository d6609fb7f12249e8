"""One run against the baseline: per figure, the ratio now / baseline and a verdict.

same: within the tolerance; worse / better: beyond it, in the direction the figure's
`better` says; broken: the figure failed now (its row's status), is gone, or a
functional outcome changed; new: not in the baseline (refresh it to compare)."""
import pandas as pd

COLUMNS = ["figure", "unit", "timebase", "baseline", "now", "ratio", "tolerance", "verdict",
           "status"]
FAILING = ("worse", "broken")


def verdict(base: dict, now: dict | None) -> tuple[str, float | None]:
    """(verdict, ratio) of one figure; base is the baseline's entry, now this run's."""
    if now is None or now["status"] != "ok":
        return "broken", None
    if base["better"] == "equal":
        return ("same" if now["value"] == base["value"] else "broken"), None
    if not base["value"]:  # no ratio: any change from 0 is beyond every tolerance
        if not now["value"]:
            return "same", None
        grew = now["value"] > 0
        return ("worse" if grew == (base["better"] == "lower") else "better"), None
    ratio = now["value"] / base["value"]
    slower = ratio if base["better"] == "lower" else 1 / ratio if ratio else float("inf")
    limit = 1 + base["tolerance"]
    if slower > limit:
        return "worse", ratio
    if slower < 1 / limit:
        return "better", ratio
    return "same", ratio


def compare(baseline: dict, figures: list[dict]) -> pd.DataFrame:
    """Every baseline figure (broken when it is gone now), then the new ones."""
    now = {f["figure"]: f for f in figures}
    rows = []
    for base in baseline["figures"]:
        mine = now.pop(base["figure"], None)
        name, ratio = verdict(base, mine)
        rows.append({"figure": base["figure"], "unit": base["unit"],
                     "timebase": base["timebase"], "baseline": base["value"],
                     "now": mine["value"] if mine else None, "ratio": ratio,
                     "tolerance": base["tolerance"], "verdict": name,
                     "status": mine["status"] if mine else "missing"})
    for mine in now.values():
        rows.append({"figure": mine["figure"], "unit": mine["unit"],
                     "timebase": mine["timebase"], "baseline": None, "now": mine["value"],
                     "ratio": None, "tolerance": None, "verdict": "new",
                     "status": mine["status"]})
    return pd.DataFrame(rows, columns=COLUMNS)


def summary(table: pd.DataFrame) -> list[str]:
    """The lines a person reads: each failing figure, and whether to refresh."""
    lines = [f"{r.verdict}: {r.figure}: baseline {r.baseline}, now {r.now}"
             + (f" (x{r.ratio:.3f}, tolerance {r.tolerance:.1%})" if pd.notna(r.ratio) else
                f" ({r.status})")
             for r in table.itertuples() if r.verdict in FAILING]
    better = table[table["verdict"].isin(["better", "new"])]
    if len(better):
        lines.append(f"{len(better)} figure(s) better than the baseline or new in this run "
                     f"({', '.join(better['figure'])}): refresh the baseline (make baseline)")
    return lines
