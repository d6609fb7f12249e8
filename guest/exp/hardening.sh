# Isolation against a faulty peer or caller (tests/test_e2e.py), on a primary with 6
# CPUs, all online at boot, and no no_ipi_broadcast=1: three 96 MiB slots from 1 GiB
# and their low windows from 0x20000 are reserved for secondaries (popcorn.mib=96).
#  1. broadcast IPIs: while every present CPU has run here, this kernel broadcasts,
#     and lending a CPU is refused; once a CPU is lent, broadcast stays off for good;
#  2. a peer that did not opt in refuses to run test code for another kernel;
#  3. a peer that floods requests and never drains the replies: the flooded kernel's
#     heartbeat and its traffic with a third kernel keep moving (flooded.sh counts);
#  4. a stopped kernel is down for its peers at once;
#  5. image lengths that the partition cannot hold are refused (platform.sh: a command
#     line longer than the boot protocol takes);
#  6. a CPU that is being lent cannot be onlined while its boot is held;
#  7. a 2-CPU secondary booted with no_ipi_broadcast=0 panics; the others live on;
#  8. a secondary is stopped and booted again popcorn.restarts times while another
#     streams to it: the stream resumes each time, and no message meant for an
#     earlier boot is ever taken (counted above the layer, kmsg_restart.c).
. /exp/lib.sh
cpu() { echo "$2" > "/sys/devices/system/cpu/cpu$1/online"; }
peer_up() { [ "$(awk -v k="$1" '$1 == k {print $2}' /proc/popcorn_kmsg)" = 1 ]; }
# beats ID SECONDS: in how many of SECONDS one-second windows kernel ID's heartbeat moved.
beats() {
	_n=0
	_i=0
	_last=$(field "$1" 8)
	while [ "$_i" -lt "$2" ]; do
		sleep 1
		_now=$(field "$1" 8)
		[ "$_now" -gt "$_last" ] && _n=$((_n + 1))
		_last=$_now
		_i=$((_i + 1))
	done
	echo "$_n"
}
popcornctl console &
relay=$!

# 1. CPUs 0-4 online, 5 offline: every present CPU has been booted once here.
cpu 5 0
refuse broadcast boot_in_slot 2 5 "$SECONDARY_CMDLINE popcorn.exp=report"
for c in 1 2 3 4; do
	cpu "$c" 0
done
boot_in_slot 1 1 "$SECONDARY_CMDLINE popcorn.exp=flooded popcorn.stay=1"
kv k1_boot_rc $?
# CPUs 0 and 2 online, all booted once: this kernel would broadcast again, but for
# the lent CPU.
cpu 2 1
kv cpu2_online_rc $?
boot_in_slot 2 5 "$SECONDARY_CMDLINE popcorn_kmsg.test=1 popcorn.exp=report popcorn.stay=1"
kv k2_boot_rc $?
wait_state 1 booting
wait_state 2 booting
wait_for 60 peer_up 1
wait_for 60 peer_up 2
kv k1_state "$(field 1 6)"
kv k2_state "$(field 2 6)"

# 2. Test code on a peer: refused where the peer did not opt in.
err=$(kmsgbench mode poll 1 2>&1)
kv mode_k1 "rc=$? $err"
err=$(kmsgbench mode poll 2 2>&1 && kmsgbench mode ipi 2 2>&1)
kv mode_k2 "rc=$? $err"

# 3. Kernel 0 floods kernel 1; kernel 2 streams to kernel 1 meanwhile.
kmsgbench flood 1 8000 > /tmp/flood.out 2>&1 &
flood=$!
sleep 1
kmsgbench fanin 1 2 64 2000 > /tmp/fanin.out 2>&1 &
fanin=$!
kv k1_beats_during_flood "$(beats 1 5)"
wait $fanin
kv fanin_during_flood "rc=$? $(cat /tmp/fanin.out)"
wait $flood
kv flood "rc=$? $(cat /tmp/flood.out)"
kv ping_k1_after_flood "$(kmsgbench ping 1 8 20 2>&1 | head -n 1)"

# 4. A stopped kernel: its peers see it down at once, not after the heartbeat timeout.
popcornctl stop 2
kv k2_stop_rc $?
t0=$(uptime)
err=$(kmsgbench ping 2 8 1 2>&1)
kv ping_stopped "rc=$? s=$(awk -v a="$t0" -v b="$(uptime)" 'BEGIN {printf "%.1f", b - a}') $err"
kv k2_listed_after_stop "$(awk '$1 == 2' /proc/popcorn_kmsg | wc -l)"

# 5. Lengths and command lines that must be refused by name.
refuse huge_initrd boot_in_slot 2 5 "$SECONDARY_CMDLINE" --initrd-len 0xfffffffffff00000
refuse huge_kernel boot_in_slot 2 5 "$SECONDARY_CMDLINE" --kernel-len 0xfffffffffff00000
refuse wrapping_initrd boot_in_slot 2 5 "$SECONDARY_CMDLINE" --initrd-len 0x5000000

# 6. A boot held between lending its CPU and waking it: the CPU stays lent.
reserved() { [ "$(field 2 6)" = reserved ]; }
echo 5000 > /sys/module/popcorn/parameters/test_hold_ms
boot_in_slot 2 5 "$SECONDARY_CMDLINE popcorn_kmsg.test=1 popcorn.exp=report popcorn.stay=1" &
held=$!
wait_for 5 reserved
kv held_state "$(field 2 6)"
err=$(cpu 5 1 2>&1)
kv online_held "rc=$? $err"
kv held_state_after "$(field 2 6)"
wait $held
kv held_boot_rc $?
echo 0 > /sys/module/popcorn/parameters/test_hold_ms
wait_state 2 booting
kv held_boot_state "$(field 2 6)"

# 7. A 2-CPU secondary that asks for broadcast IPIs, and panics.
boot_in_slot 3 3,4 "$SECONDARY_CMDLINE no_ipi_broadcast=0 popcorn.exp=panic"
kv k3_boot_rc $?
wait_state 3 booting
wait_state 3 running
kv k3_state "$(field 3 6)"
kv k1_alive_after_panic "$(alive 1)"
kv k2_alive_after_panic "$(alive 2)"

# 8. Kernel 3 again, on one CPU, restarted while kernel 2 streams to it.
popcornctl stop 3
target="$SECONDARY_CMDLINE popcorn_kmsg.test=1 popcorn.exp=probe popcorn.stay=1"
stats() { kmsgbench restart stats 3 2>&1; }
streamed() { stats | grep -q 'received=[1-9][0-9]'; }	# 10 or more
boot_in_slot 3 3 "$target"
wait_for 60 peer_up 3
kmsgbench restart start 2 3
kv restart_stream_rc $?
r=1
while [ "$r" -le "$(param popcorn.restarts)" ]; do
	wait_for 30 streamed
	kv "restart_$r" "$(stats)"
	popcornctl stop 3
	boot_in_slot 3 3 "$target"
	wait_for 60 peer_up 3
	r=$((r + 1))
done
wait_for 30 streamed
kv restart_last "$(stats)"
kmsgbench restart stop 2
kv restart_stop_rc $?
sleep 2	# the relay drains the last console lines
kill "$relay"
