# Migration, what a user sees: the primary boots two secondaries and moves migtest
# between the three kernels. Each check is one KV line (tests/test_e2e.py reads them):
#   self_<size>      migtest moves itself 0 -> 1 -> 2 -> 0 mid-run: same=1 when its
#                    output is exactly an unmigrated run's, rc (its exit code, 7)
#   mig_<size>_<n>   its n-th migration: the @@MIG line (kernel, cycles, rc)
#   outside          popcornctl moves a running migtest to 1, then (through its
#                    shadow) to 2: same=, rc=, listed= (its line in /proc/popcorn_migrate)
#   sigterm, sigkill a migtest moved to kernel 1, then signalled at home: rc (143, 137)
#   refused_fd       migtest with a file open asks to move: rc of that ask (95:
#                    EOPNOTSUPP), same= (it ran on at home), reason=
#   left_here        lines left in /proc/popcorn_migrate at the end (0)
# popcorn.migrate_sizes: comma-separated sizes in bytes.
. /exp/lib.sh
sizes=$(param popcorn.migrate_sizes | tr ',' ' ')
popcornctl console &
relay=$!
for id in 1 2; do
	boot_secondary "$id" "probe popcorn.stay=1"
	kv "boot_${id}_rc" $?
done
t=0	# until both heartbeats reach us
while [ "$(awk '$1 != "peer" && $2 == 1' /proc/popcorn_kmsg | wc -l)" -lt 2 ] && [ "$t" -lt 600 ]; do
	sleep 0.1
	t=$((t + 1))
done
kv peers_up "$(awk '$1 != "peer" && $2 == 1' /proc/popcorn_kmsg | wc -l)"

same() { [ "$1" = "$2" ] && echo 1 || echo 0; }

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

ref=$(migtest 16 2)
out=$(MIGTEST_OPEN=/exp/lib.sh migtest 16 2 1 2> /tmp/mig.err)
rc=$(sed -n 's/^@@MIG.* rc=\([0-9]*\).*/\1/p' /tmp/mig.err)
reason=$(sed -n 's/^@@MIG.* reason=//p' /tmp/mig.err | tr ' ' '_')
kv refused_fd "rc=$rc same=$(same "$ref" "$out") reason=$reason"

sleep 1
kv left_here "$(($(wc -l < /proc/popcorn_migrate) - 1))"
sleep 1	# the relay drains
kill $relay
