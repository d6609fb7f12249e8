# Platform checks (tests/test_e2e.py), on a primary with 4 CPUs and 1280 MiB: the top
# 256 MiB, from 1 GiB (the firmware's tables at its very end), and 128 KiB of low
# windows at 0x20000 are reserved for secondaries.
#  1. a 2-CPU secondary boots while the primary idles, and the host traces the
#     machine's shared devices (QEMU trace window "secondary-boot"); a second window,
#     "control", shows that the tracing sees the primary when it writes PCI config;
#  2. a kernel started on a lent CPU without its handover (as if the loader's
#     setup_data got lost) halts, and leaves the devices alone too (trace window
#     "no-handover");
#  3. bad requests are refused with one line and change nothing;
#  4. a running secondary is stopped and its CPU is the primary's again.
. /exp/lib.sh
kernel=/boot/bzImage
initrd=/boot/secondary.cpio.gz
cmdline=$SECONDARY_CMDLINE
popcornctl console &
relay=$!

kv trace secondary-boot
sleep 1	# the host turns the trace events on when it sees the line above
popcornctl boot --apic 1,2 --mem 0x40000000:0x8000000 --low 0x20000 --kernel $kernel \
	--initrd $initrd --cmdline "$cmdline popcorn.exp=platform-secondary popcorn.stay=1"
kv boot_rc $?
t=0
while [ "$(field 1 6)" = booting ] && [ "$t" -lt 600 ]; do
	sleep 0.1
	t=$((t + 1))
done
kv k1_state "$(field 1 6)"
sleep 4	# its init runs sleep 1 and reports
kv trace off
sleep 1
kv trace control
sleep 1
config=/sys/bus/pci/devices/0000:00:00.0/config
dd if=$config bs=1 skip=4 count=1 2>/dev/null | dd of=$config bs=1 seek=4 count=1 conv=notrunc 2>/dev/null
kv control_rc $?
sleep 1
kv trace off

echo 1 > /sys/module/popcorn/parameters/test_no_handover
kv trace no-handover
sleep 1
popcornctl boot --apic 3 --mem 0x48000000:0x4000000 --low 0x30000 --kernel $kernel \
	--initrd $initrd --cmdline "$cmdline popcorn.exp=report"
kv no_handover_boot_rc $?
echo 0 > /sys/module/popcorn/parameters/test_no_handover
sleep 8	# a PC kernel would have probed its PIC and timers long before
kv trace off
kv no_handover_state "$(field 2 6)"
kv no_handover_heartbeat "$(field 2 8)"
popcornctl stop 2
kv no_handover_stop_rc $?

# boot_with OPTION VALUE: a request that is good but for that one option.
boot_with() {
	apic=3 mem=0x48000000:0x4000000 low=0x30000 k=$kernel i=$initrd c="$cmdline"
	case $1 in
	--apic) apic=$2 ;;
	--mem) mem=$2 ;;
	--low) low=$2 ;;
	--kernel) k=$2 ;;
	--initrd) i=$2 ;;
	--cmdline) c=$2 ;;
	esac
	popcornctl boot --apic "$apic" --mem "$mem" --low "$low" --kernel "$k" --initrd "$i" \
		--cmdline "$c"
}
dd if=/dev/zero of=/tmp/zeros bs=1024 count=64 2>/dev/null
refuse cpu_online boot_with --apic 0
refuse cpu_lent boot_with --apic 2
refuse cpu_absent boot_with --apic 9
refuse cpu_twice boot_with --apic 3,3
refuse mem_primary boot_with --mem 0x1000000:0x4000000
refuse mem_outside_ram boot_with --mem 0xc0000000:0x4000000
refuse mem_secondary boot_with --mem 0x44000000:0x4000000
refuse mem_firmware boot_with --mem 0x4c000000:0x4000000	# the firmware's ACPI tables at the top
refuse low_secondary boot_with --low 0x20000
refuse kernel_missing boot_with --kernel /boot/missing
refuse kernel_corrupt boot_with --kernel /tmp/zeros
refuse initrd_corrupt boot_with --initrd /tmp/zeros
refuse cmdline_too_long boot_with --cmdline "$(head -c 2100 /dev/zero | tr '\0' x)"
refuse stop_unknown popcornctl stop 9
refuse online_lent sh -c 'echo 1 > /sys/devices/system/cpu/cpu1/online'
kv cpu1_online "$(cat /sys/devices/system/cpu/cpu1/online)"

popcornctl stop 1
kv stop_rc $?
kv k1_stopped_state "$(field 1 6)"
refuse stop_twice popcornctl stop 1
echo 1 > /sys/devices/system/cpu/cpu1/online
kv online_after_stop_rc $?
kv primary_online_cpus "$(cat /sys/devices/system/cpu/online)"
kill "$relay"
