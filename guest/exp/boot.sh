# Boot experiment: what this kernel sees of its machine. init already reported its own
# uptime at start (init_uptime_s), the boot time.
. /exp/lib.sh
kv kernel_release "$(uname -r)"
kv online_cpus "$(cat /sys/devices/system/cpu/online)"
kv nproc "$(grep -c ^processor /proc/cpuinfo)"
kv mem_total_kib "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
# The RAM the firmware's map gave this kernel (/proc/iomem's top level), for the check
# of the host's model of QEMU's map (popart/partition.py qemu_memmap).
kv system_ram "$(sed -n 's/^\([0-9a-f]*\)-\([0-9a-f]*\) : System RAM$/\1-\2/p' /proc/iomem | tr '\n' ';')"
