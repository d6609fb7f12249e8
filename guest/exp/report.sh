# What this kernel sees of its machine: release, online CPUs with their APIC IDs,
# its System RAM ranges (inclusive, from /proc/iomem) and MemTotal. init already
# printed its own start time (init_uptime_s), the kernel's boot time.
. /exp/lib.sh
kv kernel_release "$(uname -r)"
kv online_cpus "$(cat /sys/devices/system/cpu/online)"
kv apic_ids "$(awk -F': ' '/^apicid/ {printf "%s%s", sep, $2; sep=";"}' /proc/cpuinfo)"
kv mem_ranges "$(awk -F' : ' '$2 == "System RAM" && $1 !~ /^ / {printf "%s%s", sep, $1; sep=";"}' /proc/iomem)"
kv mem_total_kib "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
