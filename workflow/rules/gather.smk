# Tidy CSVs to tables, plots and the report's entries; the failures table and the final check.


rule boot_report:
    input:
        csv=res("boot/boot.csv"),
        code=popart_code("boot-report"),
    output:
        table=res("tables/boot.csv"),
        table_html=report(
            res("tables/boot.html"),
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
        table=res("tables/failures.csv"),
        table_html=report(
            res("tables/failures.html"),
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
        table=res("tables/multikernel.csv"),
        table_html=report(
            res("tables/multikernel.html"),
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
        latency=res("tables/msg_latency.csv"),
        latency_html=report(
            res("tables/msg_latency.html"),
            caption="../report/msg_latency_table.rst",
            category="Messaging",
        ),
        ratio=res("tables/msg_ratio.csv"),
        ratio_html=report(
            res("tables/msg_ratio.html"),
            caption="../report/msg_ratio_table.rst",
            category="Messaging",
        ),
        throughput=res("tables/msg_throughput.csv"),
        throughput_html=report(
            res("tables/msg_throughput.html"),
            caption="../report/msg_throughput_table.rst",
            category="Messaging",
        ),
        copy_ratio=res("tables/msg_copy_ratio.csv"),
        copy_ratio_html=report(
            res("tables/msg_copy_ratio.html"),
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
        table=res("tables/msg_ring_host.csv"),
        table_html=report(
            res("tables/msg_ring_host.html"),
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
        table=res("tables/net.csv"),
        table_html=report(
            res("tables/net.html"),
            caption="../report/net_table.rst",
            category="Network",
        ),
        ratio=res("tables/net_ratio.csv"),
        ratio_html=report(
            res("tables/net_ratio.html"),
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
        table=res("tables/web.csv"),
        table_html=report(
            res("tables/web.html"),
            caption="../report/web_table.rst",
            category="Web server",
        ),
        ratio=res("tables/web_ratio.csv"),
        ratio_html=report(
            res("tables/web_ratio.html"),
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
        table=res("tables/migrate.csv"),
        table_html=report(
            res("tables/migrate.html"),
            caption="../report/migrate_table.rst",
            category="Migration",
        ),
        ratio=res("tables/migrate_ratio.csv"),
        ratio_html=report(
            res("tables/migrate_ratio.html"),
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


# This run's tables beside the committed reference run's (reference/run, make reference).
rule reference_beside:
    input:
        tables=table_csvs(),
        reference=str(REFERENCE / "machine.json"),
        code=popart_code("reference-beside"),
    output:
        report(
            res("tables/reference.html"),
            caption="../report/reference.rst",
            category="Reference",
        ),
    log:
        res("logs/gather/reference.log"),
    shell:
        "{POPART} reference-beside --reference {REFERENCE}"
        " --out {output} {input.tables} 2>&1 | tee {log}"
