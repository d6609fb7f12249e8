# Boot experiment: what this kernel sees of its machine. init already reported its own
# uptime at start (init_uptime_s), the boot time.
. /exp/lib.sh
kv kernel_release "$(uname -r)"
kv online_cpus "$(cat /sys/devices/system/cpu/online)"
kv nproc "$(grep -c ^processor /proc/cpuinfo)"
kv mem_total_kib "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
