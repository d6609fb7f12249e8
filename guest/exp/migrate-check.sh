# Migration, what a user sees: the primary boots three secondaries and moves migtest
# between the kernels. Kernel 1 sends a migtest of its own to kernel 2
# (migrate-away.sh), kernel 2 says how many migrants and keepers it has
# (migrate-watch.sh), kernel 3 first runs with migration disabled. Each check is one
# KV line (tests/test_e2e.py reads them):
#   self_<size>      migtest moves itself 0 -> 1 -> 2 -> 0 mid-run: same=1 when its
#                    output is exactly an unmigrated run's, rc (its exit code, 7)
#   mig_<size>_<n>   its n-th migration: the @@MIG line (kernel, cycles, rc)
#   outside          popcornctl moves a running migtest to 1, then (through its
#                    shadow) to 2: same=, rc=, listed= (its line in /proc/popcorn_migrate)
#   sigterm, sigkill a migtest moved to kernel 1, then signalled at home: rc (143, 137)
#   refused_fd       migtest with a file open asks to move: rc of that ask (95:
#                    EOPNOTSUPP), same= (it ran on at home), reason=
#   refused_thread, refused_down, refused_disabled, refused_memory
#                    asks to move that must fail: rc (errno), same=, reason=
#   left_here        lines left in /proc/popcorn_migrate (0)
#   dest_stopped     a migtest moved to the kernel booted again in slot 3, then that
#                    kernel stopped: rc (137)
# popcorn.migrate_sizes: comma-separated sizes in bytes.
. /exp/lib.sh
sizes=$(param popcorn.migrate_sizes | tr ',' ' ')
start_relay
boot_secondary 1 "migrate-away popcorn.stay=1"
kv boot_1_rc $?
boot_secondary 2 "migrate-watch"
kv boot_2_rc $?
boot_in_slot 3 3 "console=hvc0 rdinit=/init popcorn.exp=probe popcorn.stay=1"
kv boot_3_rc $?

# wait_up N: until N peers' heartbeats reach us (60 s at most).
wait_up() {
	t=0
	while [ "$(awk '$1 != "peer" && $2 == 1' /proc/popcorn_kmsg | wc -l)" -lt "$1" ] &&
		[ "$t" -lt 600 ]; do
		sleep 0.1
		t=$((t + 1))
	done
	awk '$1 != "peer" && $2 == 1' /proc/popcorn_kmsg | wc -l
}
kv peers_up "$(wait_up 3)"
# A heartbeat comes before init: a process cannot move to a kernel whose root file
# system is not there yet (its files "cannot be opened here").
for i in 1 2 3; do
	seen "$i" BEGIN || kv "k${i}_begun" 0
done

same() { [ "$1" = "$2" ] && echo 1 || echo 0; }

# refused NAME SIZE KERNEL [ENV=VALUE]: migtest asks to move and must stay.
refused() {
	ref=$(migtest "$2" 2)
	out=$(env $4 migtest "$2" 2 "$3" 2> /tmp/mig.err)
	rc=$(sed -n 's/^@@MIG.* rc=\([0-9]*\).*/\1/p' /tmp/mig.err)
	reason=$(sed -n 's/^@@MIG.* reason=//p' /tmp/mig.err | tr ' ' '_')
	kv "refused_$1" "rc=$rc same=$(same "$ref" "$out") reason=$reason"
}

for size in $sizes; do
	ref=$(migtest "$size" 4)
	out=$(migtest "$size" 4 1 2 0 2> /tmp/mig.err)
	rc=$?
	kv "self_$size" "same=$(same "$ref" "$out") rc=$rc"
	n=1
	grep '^@@MIG' /tmp/mig.err | while read -r line; do
		kv "mig_${size}_$n" "$(echo "$line" | cut -d' ' -f2-)"
		n=$((n + 1))
	done
	[ "$(same "$ref" "$out")" = 1 ] || { echo "expected:"; echo "$ref"; echo "got:"; echo "$out"; cat /tmp/mig.err; }
done

# From outside, by its home pid; the second move goes through its shadow.
ref=$(migtest 65536 12)
MIGTEST_SPIN_MS=400 migtest 65536 12 > /tmp/outside.out &
pid=$!
sleep 1
popcornctl migrate "$pid" 1
moved1=$?
listed=$(awk -v p="$pid" '$1 == "away" && $2 == p {print $3}' /proc/popcorn_migrate)
popcornctl migrations
sleep 1
popcornctl migrate "$pid" 2
moved2=$?
wait "$pid"
rc=$?
kv outside "same=$(same "$ref" "$(cat /tmp/outside.out)") rc=$rc moved1=$moved1 moved2=$moved2 listed=$listed"

for sig in TERM KILL; do
	MIGTEST_SPIN_MS=1000 migtest 4096 600 > /dev/null &
	pid=$!
	sleep 0.5
	popcornctl migrate "$pid" 1 > /dev/null
	moved=$?
	kill -"$sig" "$pid"
	wait "$pid"
	kv "sig$(echo "$sig" | tr 'A-Z' 'a-z')" "rc=$? moved=$moved"
done

refused fd 16 1 MIGTEST_OPEN=/exp/lib.sh
refused thread 16 1 MIGTEST_THREAD=1
refused down 16 5
refused disabled 16 3
refused memory 150000000 2

sleep 1
kv left_here "$(($(wc -l < /proc/popcorn_migrate) - 1))"

# Kernel 1 stops while its migtest runs on kernel 2: kernel 2 ends it.
popcornctl stop 1 > /dev/null
kv stop_1_rc $?
sleep 3

# Kernel 3 again, migration enabled: a migtest moves there, and it stops.
# (The new kernel takes the lowest free id: kernel 1's.)
popcornctl stop 3 > /dev/null
id=$(boot_in_slot 3 3 "$SECONDARY_CMDLINE popcorn.exp=probe popcorn.stay=1" |
	sed -n 's/^kernel \([0-9]*\) started.*/\1/p')
kv reboot_3_id "$id"
kv peers_up_again "$(wait_up 2)"
MIGTEST_SPIN_MS=1000 migtest 4096 600 > /dev/null &
pid=$!
sleep 0.5
popcornctl migrate "$pid" "$id" > /dev/null
moved=$?
[ "$moved" = 0 ] || kill "$pid"
popcornctl stop "$id" > /dev/null
wait "$pid"
kv dest_stopped "rc=$? moved=$moved"
kv left_after "$(($(wc -l < /proc/popcorn_migrate) - 1))"
sleep 1	# the relay drains
kill $relay
