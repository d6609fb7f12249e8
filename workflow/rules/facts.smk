# The JSON facts of a run (kernel, accelerator, partition, link, stress, soak) as report
# tables: the report shows HTML inline but offers JSON and CSV only as downloads.

FACTS_SHELL = (
    "{POPART} facts-table --json {input.json} --table {RESULTS}/tables/{params.stem}"
    " --title {params.title:q} 2>&1 | tee {log}"
)


rule kernel_facts:
    input:
        json=res("kernel/kernel.json"),
        code=popart_code("facts-table"),
    output:
        html=report(
            res("tables/kernel.html"),
            caption="../report/kernel_facts.rst",
            category="1. Kernel and accelerator",
        ),
        table=multiext(res("tables/kernel"), ".csv", ".md"),
    params:
        stem="kernel",
        title="The kernel (kernel.json)",
    log:
        res("logs/facts/kernel.log"),
    shell:
        FACTS_SHELL


rule accel_facts:
    input:
        json=res("accel.json"),
        code=popart_code("facts-table"),
    output:
        html=report(
            res("tables/accel.html"),
            caption="../report/accel_facts.rst",
            category="1. Kernel and accelerator",
        ),
        table=multiext(res("tables/accel"), ".csv", ".md"),
    params:
        stem="accel",
        title="The accelerator (accel.json)",
    log:
        res("logs/facts/accel.log"),
    shell:
        FACTS_SHELL


rule partition_facts:
    input:
        json=res("boot/partition.json"),
        code=popart_code("facts-table"),
    output:
        html=report(
            res("tables/partition.html"),
            caption="../report/partition_facts.rst",
            category="Multikernel",
        ),
        table=multiext(res("tables/partition"), ".csv", ".md"),
    params:
        stem="partition",
        title="The multikernel's partition (partition.json)",
    log:
        res("logs/facts/partition.log"),
    shell:
        FACTS_SHELL


rule net_link_facts:
    input:
        json=res("net/link.json"),
        code=popart_code("facts-table"),
    output:
        html=report(
            res("tables/net_link.html"),
            caption="../report/net_link_facts.rst",
            category="Network",
        ),
        table=multiext(res("tables/net_link"), ".csv", ".md"),
    params:
        stem="net_link",
        title="The link (link.json)",
    log:
        res("logs/facts/net_link.log"),
    shell:
        FACTS_SHELL


rule msg_stress_facts:
    input:
        json=res("msg/stress.json"),
        code=popart_code("facts-table"),
    output:
        html=report(
            res("tables/msg_stress.html"),
            caption="../report/msg_stress_facts.rst",
            category="Messaging",
        ),
        table=multiext(res("tables/msg_stress"), ".csv", ".md"),
    params:
        stem="msg_stress",
        title="The messaging stress test (stress.json)",
    log:
        res("logs/facts/msg_stress.log"),
    shell:
        FACTS_SHELL


rule soak_facts:
    input:
        json=res("net/soak.json"),
        code=popart_code("facts-table"),
    output:
        html=report(
            res("tables/soak.html"),
            caption="../report/soak_facts.rst",
            category="Network",
        ),
        table=multiext(res("tables/soak"), ".csv", ".md"),
    params:
        stem="soak",
        title="The UDP soak between kernels (soak.json)",
    log:
        res("logs/facts/soak.log"),
    shell:
        FACTS_SHELL


def facts_outputs():
    """The facts tables of this configuration (final_outputs() adds them): kernel and
    accelerator when anything boots (every experiment does), the others with theirs."""
    experiments = config["experiments"]
    outputs = []
    if any(e["enabled"] for e in experiments.values()):
        outputs += [res("tables/kernel.html"), res("tables/accel.html")]
    if experiments["multikernel"]["enabled"]:
        outputs.append(res("tables/partition.html"))
    if experiments["net"]["enabled"] or experiments["web"]["enabled"]:
        outputs.append(res("tables/net_link.html"))
    if experiments["msg"]["enabled"]:
        outputs.append(res("tables/msg_stress.html"))
    if experiments["soak"]["enabled"]:
        outputs.append(res("tables/soak.html"))
    return outputs
