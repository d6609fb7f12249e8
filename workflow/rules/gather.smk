# Tidy CSVs to tables, plots and the report's entries. Failed rows come first.


rule boot_report:
    input:
        "results/boot/boot.csv",
    output:
        table=report(
            "results/tables/boot.csv",
            caption="../report/boot_table.rst",
            category="Boot",
        ),
        markdown="results/tables/boot.md",
        plot=report(
            "results/plots/boot.png", caption="../report/boot_plot.rst", category="Boot"
        ),
    log:
        "results/logs/gather/boot.log",
    shell:
        "{POPART} boot-report --csv {input} --table results/tables/boot"
        " --plot {output.plot} 2>&1 | tee {log}"


rule failures:
    input:
        list(tidy_csvs().values()),
    output:
        table=report(
            "results/tables/failures.csv",
            caption="../report/failures.rst",
            category="0. Failed runs",
        ),
        markdown="results/tables/failures.md",
    params:
        pairs=" ".join(f"{name}={path}" for name, path in tidy_csvs().items()),
    log:
        "results/logs/gather/failures.log",
    shell:
        "{POPART} failures --table results/tables/failures {params.pairs}"
        " 2>&1 | tee {log}"


rule multikernel_report:
    input:
        "results/boot/multikernel.csv",
    output:
        table=report(
            "results/tables/multikernel.csv",
            caption="../report/multikernel_table.rst",
            category="Multikernel",
        ),
        markdown="results/tables/multikernel.md",
        plot=report(
            "results/plots/multikernel.png",
            caption="../report/multikernel_plot.rst",
            category="Multikernel",
        ),
    log:
        "results/logs/gather/multikernel.log",
    shell:
        "{POPART} multikernel-report --csv {input} --table results/tables/multikernel"
        " --plot {output.plot} 2>&1 | tee {log}"


rule msg_report:
    input:
        latency="results/msg/latency.csv",
        throughput="results/msg/throughput.csv",
    output:
        latency=report(
            "results/tables/msg_latency.csv",
            caption="../report/msg_latency_table.rst",
            category="Messaging",
        ),
        ratio=report(
            "results/tables/msg_ratio.csv",
            caption="../report/msg_ratio_table.rst",
            category="Messaging",
        ),
        throughput="results/tables/msg_throughput.csv",
        copy_ratio=report(
            "results/tables/msg_copy_ratio.csv",
            caption="../report/msg_copy_ratio_table.rst",
            category="Messaging",
        ),
        markdown=multiext(
            "results/tables/msg_", "latency.md", "ratio.md", "throughput.md", "copy_ratio.md"
        ),
        latency_plot=report(
            "results/plots/msg_latency.png",
            caption="../report/msg_latency_plot.rst",
            category="Messaging",
        ),
        throughput_plot=report(
            "results/plots/msg_throughput.png",
            caption="../report/msg_throughput_plot.rst",
            category="Messaging",
        ),
    log:
        "results/logs/gather/msg.log",
    shell:
        "{POPART} msg-report --latency {input.latency} --throughput {input.throughput}"
        " --tables results/tables --latency-plot {output.latency_plot}"
        " --throughput-plot {output.throughput_plot} 2>&1 | tee {log}"


rule msg_ring_host_report:
    input:
        "results/msg/ring_host.csv",
    output:
        table=report(
            "results/tables/msg_ring_host.csv",
            caption="../report/msg_ring_host_table.rst",
            category="Messaging",
        ),
        markdown="results/tables/msg_ring_host.md",
    log:
        "results/logs/gather/msg_ring_host.log",
    shell:
        "{POPART} ring-host-report --csv {input} --table results/tables/msg_ring_host"
        " 2>&1 | tee {log}"


rule net_report:
    input:
        "results/net/net.csv",
    output:
        table=report(
            "results/tables/net.csv", caption="../report/net_table.rst", category="Network"
        ),
        ratio=report(
            "results/tables/net_ratio.csv",
            caption="../report/net_ratio_table.rst",
            category="Network",
        ),
        markdown=multiext("results/tables/net", ".md", "_ratio.md"),
        plot=report("results/plots/net.png", caption="../report/net_plot.rst", category="Network"),
    log:
        "results/logs/gather/net.log",
    shell:
        "{POPART} net-report --net {input} --tables results/tables --net-plot {output.plot}"
        " 2>&1 | tee {log}"


rule web_report:
    input:
        "results/web/web.csv",
    output:
        table=report(
            "results/tables/web.csv", caption="../report/web_table.rst", category="Web server"
        ),
        ratio=report(
            "results/tables/web_ratio.csv",
            caption="../report/web_ratio_table.rst",
            category="Web server",
        ),
        markdown=multiext("results/tables/web", ".md", "_ratio.md"),
        plot=report(
            "results/plots/web.png", caption="../report/web_plot.rst", category="Web server"
        ),
    log:
        "results/logs/gather/web.log",
    shell:
        "{POPART} net-report --web {input} --tables results/tables --web-plot {output.plot}"
        " 2>&1 | tee {log}"


rule migrate_report:
    input:
        "results/migrate/migrate.csv",
    output:
        table=report(
            "results/tables/migrate.csv",
            caption="../report/migrate_table.rst",
            category="Migration",
        ),
        ratio=report(
            "results/tables/migrate_ratio.csv",
            caption="../report/migrate_ratio_table.rst",
            category="Migration",
        ),
        markdown=multiext("results/tables/migrate", ".md", "_ratio.md"),
        plot=report(
            "results/plots/migrate.png",
            caption="../report/migrate_plot.rst",
            category="Migration",
        ),
    log:
        "results/logs/gather/migrate.log",
    shell:
        "{POPART} migrate-report --csv {input} --tables results/tables --plot {output.plot}"
        " 2>&1 | tee {log}"
