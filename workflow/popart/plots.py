"""Figures with seaborn. Every title names the accelerator and timebase it was measured on."""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on build machines
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

STATUS_COLORS = {"ok": "tab:blue", "timeout": "tab:orange", "panic": "tab:red",
                 "error": "tab:purple"}


def measured_on(df: pd.DataFrame) -> str:
    pairs = sorted({f"{a}/{t}" for a, t in zip(df["accel"], df["timebase"])})
    label = ", ".join(pairs) or "no runs"
    if any(p.startswith("tcg") for p in pairs):
        label += " (emulated: compare ratios, not absolute times)"
    return label


def _finish(fig: plt.Figure, df: pd.DataFrame, what: str, out: Path) -> None:
    """Titles the figure with how many rows failed and where it was measured; saves it."""
    failed = int((df["status"] != "ok").sum())
    fig.suptitle(f"{what} ({failed} not ok); measured on {measured_on(df)}", fontsize=10)
    fig.tight_layout()
    _save(fig, out)


def _save(fig: plt.Figure, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.stem}.partial.png")
    fig.savefig(partial, dpi=120)
    plt.close(fig)
    partial.replace(out)


def multikernel_plot(mk: pd.DataFrame, out: Path) -> None:
    """Per kernel: its own uptime at init, and (secondaries) kick to first heartbeat."""
    sns.set_theme(style="whitegrid")
    long = mk.melt(id_vars=["kernel_id", "status"], value_vars=["boot_s", "kick_to_up_s"],
                   var_name="measure", value_name="seconds")
    fig, ax = plt.subplots(figsize=(8, 4))
    sns.barplot(data=long, x="kernel_id", y="seconds", hue="measure", ax=ax)
    ax.set_xlabel("kernel (0 = primary)")
    ax.set_ylabel("seconds")
    _finish(fig, mk, f"Multikernel boot, {len(mk)} kernels", out)


def boot_plot(boot: pd.DataFrame, out: Path) -> None:
    """Boot time per run: the guest's own uptime at init, and the host's wall time."""
    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    long = boot.assign(config=boot["vcpus"].astype(str) + " vCPU / "
                       + boot["mem_mib"].astype(str) + " MiB")
    for ax, column, label in [(axes[0], "boot_s", "guest uptime at init [s]"),
                              (axes[1], "wall_s", "host wall time to init [s]")]:
        sns.stripplot(data=long, x="config", y=column, hue="status", palette=STATUS_COLORS,
                      hue_order=[s for s in STATUS_COLORS if s in set(long["status"])],
                      size=7, jitter=0.15, ax=ax)
        ax.set_xlabel("")
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
    _finish(fig, boot, f"Boot to init, {len(boot)} runs", out)


def _series(df: pd.DataFrame) -> pd.Series:
    return df["mechanism"] + " (" + df["mode"] + ")"


def msg_latency_plot(latency: pd.DataFrame, out: Path) -> None:
    """Round-trip p50 (and p99, dashed) against payload, per mechanism and mode."""
    sns.set_theme(style="whitegrid")
    ok = latency[latency["status"] == "ok"].assign(series=_series)
    fig, ax = plt.subplots(figsize=(8, 5))
    if len(ok):
        sns.lineplot(data=ok, x="payload_bytes", y="p50_ns", hue="series", marker="o", ax=ax)
        sns.lineplot(data=ok, x="payload_bytes", y="p99_ns", hue="series", marker="x",
                     linestyle="--", legend=False, ax=ax)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
    ax.set_xlabel("payload [bytes]")
    ax.set_ylabel("round trip [ns] (solid p50, dashed p99)")
    _finish(fig, latency, "Message round trip", out)


def msg_throughput_plot(throughput: pd.DataFrame, out: Path) -> None:
    """Left: one to one, MB/s against payload, per mode. Right: all to one, messages/s
    against the number of senders."""
    sns.set_theme(style="whitegrid")
    ok = throughput[throughput["status"] == "ok"].assign(series=_series)
    one, many = ok[ok["pattern"] == "one_to_one"], ok[ok["pattern"] == "all_to_one"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    if len(one):
        sns.lineplot(data=one, x="payload_bytes", y="mb_per_s", hue="series", marker="o",
                     ax=axes[0])
        axes[0].set_xscale("log", base=2)
    axes[0].set_xlabel("payload [bytes], one sender")
    axes[0].set_ylabel("MB/s")
    if len(many):
        sns.barplot(data=many, x="senders", y="msgs_per_s", ax=axes[1])
    axes[1].set_xlabel("senders, all to one")
    axes[1].set_ylabel("messages/s")
    _finish(fig, throughput, "One-way message throughput", out)


INSIDE_PATHS = ["ns-ns", "primary-secondary", "secondary-secondary"]


def net_plot(net: pd.DataFrame, out: Path) -> None:
    """TCP throughput per number of streams: through the shaped link (left, per system,
    path and direction) and inside the guest (right, veth against pcn)."""
    sns.set_theme(style="whitegrid")
    ok = net[(net["status"] == "ok") & net["throughput_mbit"].notna()]
    k = (ok["secondaries"].map(lambda v: "" if pd.isna(v) else f" K={int(v)}")
         if "secondaries" in ok else "")
    ok = ok.assign(case=ok["system"] + k + " " + ok["path"] + " " + ok["direction"])
    through, inside = ok[~ok["path"].isin(INSIDE_PATHS)], ok[ok["path"].isin(INSIDE_PATHS)]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
    if len(through):
        sns.barplot(data=through, x="streams", y="throughput_mbit", hue="case", ax=axes[0])
        for rate in sorted(set(through["link_mbit"].dropna())):
            axes[0].axhline(rate, color="grey", linestyle="--", linewidth=1)
    axes[0].set_xlabel("TCP streams, or clients at once (dashed: the shaped link)")
    axes[0].set_ylabel("throughput [Mbit/s]")
    if len(inside):
        sns.barplot(data=inside, x="streams", y="throughput_mbit", hue="case", ax=axes[1])
    axes[1].set_xlabel("TCP streams, inside the guest")
    axes[1].set_ylabel("throughput [Mbit/s]")
    for ax in axes:
        if ax.get_legend():  # below the bars, which reach the link rate
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    _finish(fig, net, "TCP throughput", out)


def web_plot(web: pd.DataFrame, out: Path) -> None:
    """Requests/s and p99 latency against connections, per system, vCPUs and file size."""
    sns.set_theme(style="whitegrid")
    ok = web[web["status"] == "ok"]
    ok = ok.assign(series=ok["system"] + ", " + ok["vcpus"].astype(str) + " vCPUs, "
                   + ok["file_bytes"].astype(str) + " B")
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.5))
    if len(ok):
        sns.lineplot(data=ok, x="connections", y="rps", hue="series", marker="o", ax=axes[0])
        sns.lineplot(data=ok, x="connections", y="p99_ms", hue="series", marker="o",
                     legend=False, ax=axes[1])
        for ax in axes:
            ax.set_xscale("log", base=2)
        axes[0].legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    axes[0].set_ylabel("requests/s")
    axes[1].set_ylabel("p99 latency [ms]")
    _finish(fig, web, "Static files from nginx", out)


def migrate_plot(df: pd.DataFrame, out: Path) -> None:
    """Median migration time (trigger to running, left) and downtime (right) against
    the process's memory, per mechanism, log-log."""
    sns.set_theme(style="whitegrid")
    ok = df[df["status"] == "ok"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax, column, label in ((axes[0], "migrate_ms_p50", "asked to running [ms]"),
                              (axes[1], "downtime_ms_p50", "last instruction to first [ms]")):
        if len(ok):
            sns.lineplot(data=ok, x="size_bytes", y=column, hue="mechanism", marker="o", ax=ax)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("memory of the process [bytes]")
        ax.set_ylabel(label)
    _finish(fig, df, "Migration to another kernel: popcorn against CRIU", out)
