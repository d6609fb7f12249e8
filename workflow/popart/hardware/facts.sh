# The machine's facts, read before anything on it changes (popart/hardware/facts.py
# parses them). POSIX sh and busybox tools only: it runs on whatever the machine has.
echo "uid=$(id -u)"
echo "release=$(uname -r)"
echo "kexec=$(command -v kexec || true)"
echo "kexec_loaded=$(cat /sys/kernel/kexec_loaded 2>/dev/null)"
echo "lockdown=$(cat /sys/kernel/security/lockdown 2>/dev/null)"
echo "sys_vendor=$(cat /sys/class/dmi/id/sys_vendor 2>/dev/null)"
echo "product_name=$(cat /sys/class/dmi/id/product_name 2>/dev/null)"
echo "model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
grep -qw hypervisor /proc/cpuinfo && echo "hypervisor_bit=1" || echo "hypervisor_bit=0"
echo "hypervisor=$(dmesg 2>/dev/null | sed -n 's/.*Hypervisor detected: //p' | head -n 1)"
# x2APIC mode: IA32_APIC_BASE (MSR 0x1b) bit 10, else what the kernel logged. The msr
# device wants one 8-byte read at the MSR's number: the first dd only moves the offset.
modprobe msr 2>/dev/null
apic_base=$({ dd bs=27 skip=1 count=0 && dd bs=8 count=1; } 2>/dev/null </dev/cpu/0/msr |
	od -An -tx8 | tr -d ' ')
echo "apic_base=$apic_base"
echo "x2apic_log=$(dmesg 2>/dev/null | grep -i -m 1 -E 'x2apic enabled|APIC routing to.*x2apic')"
awk -F': *' '/^processor/ {p=$2} /^physical id/ {pk=$2} /^core id/ {c=$2}
	/^apicid/ {a=$2} /^$/ && p != "" {print "cpu", p, a, (c == "" ? p : c), (pk == "" ? 0 : pk); p=""; c=""; pk=""}' /proc/cpuinfo
for m in /sys/firmware/memmap/*; do
	[ -r "$m/start" ] && echo "mem $(cat "$m/start") $(cat "$m/end") $(cat "$m/type")"
done
for n in /sys/class/net/*; do
	[ -e "$n/device/driver" ] || continue
	name=${n##*/}
	addrs=$(ip -o -4 addr show dev "$name" 2>/dev/null | awk '{print $4}' | tr '\n' ',')
	# the link's rate in Mbit/s; a link that is down reads as an error or -1
	speed=$(cat "$n/speed" 2>/dev/null) || speed=-1
	echo "nic $name $(basename "$(readlink "$n/device/driver")") $(cat "$n/address") speed=${speed:--1} $addrs"
done
echo "gateway=$(ip -4 route show default 2>/dev/null | awk '{print $3; exit}')"
