# The flooded kernel of hardening.sh: kernel 0 sends it requests and reads none of
# its replies. Once some replies were dropped, and the counts stop moving (the flood
# is over), it reports what its messaging layer did with its replies to kernel 0.
. /exp/lib.sh
row() { awk -v n="$1" '$1 == 0 {print $n}' /proc/popcorn_kmsg; }
dropped() { [ "$(row 11)" -gt 0 ] 2>/dev/null; }
wait_for 120 dropped
kv saw_drops $?
last=-1
while [ "$(row 11)" != "$last" ]; do
	last=$(row 11)
	sleep 3
done
kv replies_to_0 "received=$(row 5) deferred=$(row 10) dropped=$(row 11)"
# What this kernel's mapping of the region lets it touch (kernel 2 runs beside it):
# its own ring from 0, the ring between 0 and 2, and the records of 0 and of itself.
kv probe_own "$(kmsgbench probe 0 1 0 2>&1)"
kv probe_others "$(kmsgbench probe 0 2 2 2>&1)"
