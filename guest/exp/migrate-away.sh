# Migration, a secondary's side (kernel 1 of guest/exp/migrate-check.sh): once kernel 2
# is up, a migtest started here moves there and computes on, its shadow here, until
# this kernel is stopped: then kernel 2 must end it.
. /exp/lib.sh
t=0
while ! grep -q '^2 1 ' /proc/popcorn_kmsg && [ "$t" -lt 600 ]; do
	sleep 0.1
	t=$((t + 1))
done
MIGTEST_SPIN_MS=200 migtest 4096 100000 2 > /dev/null 2> /tmp/away.err &
sleep 3
kv away "$(grep '^@@MIG' /tmp/away.err | cut -d' ' -f2- | sed 's/ mono_ns.*rc=/ rc=/')"
wait
