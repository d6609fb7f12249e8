# Tidy CSVs to tables, plots and the report's entries. Failed rows come first.


rule boot_report:
    input:
        csv=res("boot/boot.csv"),
        code=popart_code("boot-report"),
    output:
        table=report(
            res("tables/boot.csv"),
            caption="../report/boot_table.rst",
            category="Boot",
        ),
        markdown=res("tables/boot.md"),
        plot=report(
            res("plots/boot.png"), caption="../report/boot_plot.rst", category="Boot"
        ),
    log:
        res("logs/gather/boot.log"),
    shell:
        "{POPART} boot-report --csv {input.csv} --table {RESULTS}/tables/boot"
        " --plot {output.plot} 2>&1 | tee {log}"


rule failures:
    input:
        list(tidy_csvs().values()),
        code=popart_code("failures"),
    output:
        table=report(
            res("tables/failures.csv"),
            caption="../report/failures.rst",
            category="0. Failed runs",
        ),
        markdown=res("tables/failures.md"),
    params:
        pairs=" ".join(f"{name}={path}" for name, path in tidy_csvs().items()),
    log:
        res("logs/gather/failures.log"),
    shell:
        "{POPART} failures --table {RESULTS}/tables/failures {params.pairs}"
        " 2>&1 | tee {log}"


# Last: the workflow itself fails when a row is not ok, after every other output (the
# failures table and the report's inputs) is written. Its output exists only when all is ok,
# so a rerun checks again, and reruns nothing else.
rule check_results:
    input:
        outputs=final_outputs(),
        failures=res("tables/failures.csv"),
        code=popart_code("check-results"),
    output:
        res("tables/all-ok.txt"),
    log:
        res("logs/gather/check.log"),
    shell:
        "{POPART} check-results {input.failures} --out {output} 2>&1 | tee {log}"


rule multikernel_report:
    input:
        csv=res("boot/multikernel.csv"),
        code=popart_code("multikernel-report"),
    output:
        table=report(
            res("tables/multikernel.csv"),
            caption="../report/multikernel_table.rst",
            category="Multikernel",
        ),
        markdown=res("tables/multikernel.md"),
        plot=report(
            res("plots/multikernel.png"),
            caption="../report/multikernel_plot.rst",
            category="Multikernel",
        ),
    log:
        res("logs/gather/multikernel.log"),
    shell:
        "{POPART} multikernel-report --csv {input.csv} --table {RESULTS}/tables/multikernel"
        " --plot {output.plot} 2>&1 | tee {log}"


rule msg_report:
    input:
        latency=res("msg/latency.csv"),
        throughput=res("msg/throughput.csv"),
        code=popart_code("msg-report"),
    output:
        latency=report(
            res("tables/msg_latency.csv"),
            caption="../report/msg_latency_table.rst",
            category="Messaging",
        ),
        ratio=report(
            res("tables/msg_ratio.csv"),
            caption="../report/msg_ratio_table.rst",
            category="Messaging",
        ),
        throughput=report(
            res("tables/msg_throughput.csv"),
            caption="../report/msg_throughput_table.rst",
            category="Messaging",
        ),
        copy_ratio=report(
            res("tables/msg_copy_ratio.csv"),
            caption="../report/msg_copy_ratio_table.rst",
            category="Messaging",
        ),
        markdown=multiext(
            res("tables/msg_"), "latency.md", "ratio.md", "throughput.md", "copy_ratio.md"
        ),
        latency_plot=report(
            res("plots/msg_latency.png"),
            caption="../report/msg_latency_plot.rst",
            category="Messaging",
        ),
        throughput_plot=report(
            res("plots/msg_throughput.png"),
            caption="../report/msg_throughput_plot.rst",
            category="Messaging",
        ),
    log:
        res("logs/gather/msg.log"),
    shell:
        "{POPART} msg-report --latency {input.latency} --throughput {input.throughput}"
        " --tables {RESULTS}/tables --latency-plot {output.latency_plot}"
        " --throughput-plot {output.throughput_plot} 2>&1 | tee {log}"


rule msg_ring_host_report:
    input:
        csv=res("msg/ring_host.csv"),
        code=popart_code("ring-host-report"),
    output:
        table=report(
            res("tables/msg_ring_host.csv"),
            caption="../report/msg_ring_host_table.rst",
            category="Messaging",
        ),
        markdown=res("tables/msg_ring_host.md"),
    log:
        res("logs/gather/msg_ring_host.log"),
    shell:
        "{POPART} ring-host-report --csv {input.csv} --table {RESULTS}/tables/msg_ring_host"
        " 2>&1 | tee {log}"


rule net_report:
    input:
        csv=res("net/net.csv"),
        code=popart_code("net-report"),
    output:
        table=report(
            res("tables/net.csv"), caption="../report/net_table.rst", category="Network"
        ),
        ratio=report(
            res("tables/net_ratio.csv"),
            caption="../report/net_ratio_table.rst",
            category="Network",
        ),
        markdown=multiext(res("tables/net"), ".md", "_ratio.md"),
        plot=report(res("plots/net.png"), caption="../report/net_plot.rst", category="Network"),
    log:
        res("logs/gather/net.log"),
    shell:
        "{POPART} net-report --net {input.csv} --tables {RESULTS}/tables --net-plot {output.plot}"
        " 2>&1 | tee {log}"


rule web_report:
    input:
        csv=res("web/web.csv"),
        code=popart_code("net-report"),
    output:
        table=report(
            res("tables/web.csv"), caption="../report/web_table.rst", category="Web server"
        ),
        ratio=report(
            res("tables/web_ratio.csv"),
            caption="../report/web_ratio_table.rst",
            category="Web server",
        ),
        markdown=multiext(res("tables/web"), ".md", "_ratio.md"),
        plot=report(
            res("plots/web.png"), caption="../report/web_plot.rst", category="Web server"
        ),
    log:
        res("logs/gather/web.log"),
    shell:
        "{POPART} net-report --web {input.csv} --tables {RESULTS}/tables --web-plot {output.plot}"
        " 2>&1 | tee {log}"


rule migrate_report:
    input:
        csv=res("migrate/migrate.csv"),
        code=popart_code("migrate-report"),
    output:
        table=report(
            res("tables/migrate.csv"),
            caption="../report/migrate_table.rst",
            category="Migration",
        ),
        ratio=report(
            res("tables/migrate_ratio.csv"),
            caption="../report/migrate_ratio_table.rst",
            category="Migration",
        ),
        markdown=multiext(res("tables/migrate"), ".md", "_ratio.md"),
        plot=report(
            res("plots/migrate.png"),
            caption="../report/migrate_plot.rst",
            category="Migration",
        ),
    log:
        res("logs/gather/migrate.log"),
    shell:
        "{POPART} migrate-report --csv {input.csv} --tables {RESULTS}/tables --plot {output.plot}"
        " 2>&1 | tee {log}"
