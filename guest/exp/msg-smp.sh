# Messaging benchmark, SMP Linux side: the baselines in popcorn.baselines (default all
# four) between CPU 0 and CPU 1 of this one kernel, in the same VM configuration as the
# multikernel run. pipe and unix carry each payload size in popcorn.payloads; eventfd and
# the shared cache line carry 8 bytes.
#   lat_<mechanism>_<mode>_<bytes>  p50_ns=.. p99_ns=.. samples=..  (raw_...: every sample)
. /exp/lib.sh
pings=$(param popcorn.pings)
payloads=$(param popcorn.payloads | tr ',' ' ')
baselines=$(param popcorn.baselines | tr ',' ' ')
baselines=${baselines:-pipe unix eventfd cacheline}
# wanted NAME: whether popcorn.baselines lists it
wanted() {
	case " $baselines " in *" $1 "*) return 0 ;; esac
	return 1
}
# measure KEY COMMAND...: one baseline figure and its raw samples.
measure() {
	key=$1
	shift
	out=$(PINGPONG_RAW=1 "$@")
	kv "raw_$key" "$(echo "$out" | sed -n 's/^raw_ns=//p')"
	kv "lat_$key" "$(echo "$out" | grep '^p50_ns=')"
}
for len in $payloads; do
	if wanted pipe; then measure "pipe_blocking_$len" pingpong pipe "$len" "$pings"; fi
	if wanted unix; then measure "unix_blocking_$len" pingpong unix "$len" "$pings"; fi
done
if wanted eventfd; then measure eventfd_blocking_8 pingpong eventfd "$pings"; fi
if wanted cacheline; then measure cacheline_spin_8 pingpong cacheline "$pings"; fi
