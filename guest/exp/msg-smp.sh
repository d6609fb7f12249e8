# Messaging benchmark, SMP Linux side: the baselines between CPU 0 and CPU 1 of this
# one kernel, in the same VM configuration as the multikernel run. pipe and unix carry
# each payload size in popcorn.payloads; eventfd and the shared cache line carry 8 bytes.
#   lat_<mechanism>_<mode>_<bytes>  p50_ns=.. p99_ns=.. samples=..  (raw_...: every sample)
. /exp/lib.sh
pings=$(param popcorn.pings)
payloads=$(param popcorn.payloads | tr ',' ' ')
# measure KEY COMMAND...: one baseline figure and its raw samples.
measure() {
	key=$1
	shift
	out=$(PINGPONG_RAW=1 "$@")
	kv "raw_$key" "$(echo "$out" | sed -n 's/^raw_ns=//p')"
	kv "lat_$key" "$(echo "$out" | grep '^p50_ns=')"
}
for len in $payloads; do
	measure "pipe_blocking_$len" pingpong pipe "$len" "$pings"
	measure "unix_blocking_$len" pingpong unix "$len" "$pings"
done
measure eventfd_blocking_8 pingpong eventfd "$pings"
measure cacheline_spin_8 pingpong cacheline "$pings"
