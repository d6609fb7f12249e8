# Messaging benchmark, multikernel side: the primary boots one secondary (APIC ID 1,
# popcorn.mib MiB at 1 GiB) and measures kmsg to it in each mode of popcorn.modes (both
# kernels switched): popcorn.pings round trips and popcorn.stream one-way messages per
# payload size in popcorn.payloads (comma-separated). Each figure is one KV line:
#   lat_kmsg_<mode>_<bytes>  p50_ns=.. p99_ns=.. samples=..   (raw_kmsg_...: every sample)
#   tput_kmsg_<mode>_<bytes>_<r> elapsed_ns=.. msgs_per_s=.. mb_per_s=..  (r: 1..popcorn.reps)
#   tput_memcpy_<mode>_<bytes>_<r>  the same for memcpy of that size in this guest, run
#                                   right after each stream (the copy baseline)
. /exp/lib.sh
mib=$(param popcorn.mib)
pings=$(param popcorn.pings)
stream=$(param popcorn.stream)
reps=$(param popcorn.reps)
payloads=$(param popcorn.payloads | tr ',' ' ')
modes=$(param popcorn.modes | tr ',' ' ')
start_relay
popcornctl boot --apic 1 --mem "0x40000000:$(printf '0x%x' $((mib * 1048576)))" --low 0x20000 \
	--kernel /boot/bzImage --initrd /boot/secondary.cpio.gz \
	--cmdline "$SECONDARY_CMDLINE popcorn_kmsg.test=1 popcorn.exp=probe popcorn.stay=1"
kv boot_rc $?
t=0	# until the secondary's heartbeat reaches us
while ! grep -q '^1 1 ' /proc/popcorn_kmsg 2>/dev/null && [ "$t" -lt 300 ]; do
	sleep 0.1
	t=$((t + 1))
done
kv peer_up "$(awk '$1 == 1 {print $2}' /proc/popcorn_kmsg)"
wait_report 1	# measure only once the secondary is idle
for mode in ${modes:-ipi poll}; do
	kmsgbench mode $mode 1 && kmsgbench mode $mode
	kv "mode_${mode}_rc" $?
	for len in $payloads; do
		out=$(PINGPONG_RAW=1 kmsgbench ping 1 "$len" "$pings")
		kv "raw_kmsg_${mode}_$len" "$(echo "$out" | sed -n 's/^raw_ns=//p')"
		kv "lat_kmsg_${mode}_$len" "$(echo "$out" | grep '^p50_ns=')"
		r=1
		while [ "$r" -le "$reps" ]; do
			kv "tput_kmsg_${mode}_${len}_$r" "$(kmsgbench stream 1 "$len" "$stream")"
			# The copy baseline, in this guest, alternating with the streams.
			kv "tput_memcpy_${mode}_${len}_$r" "$(pingpong memcpy "$len" "$stream")"
			r=$((r + 1))
		done
	done
done
kmsgbench mode ipi && kmsgbench mode ipi 1
kv peer1 "$(awk '$1 == 1 {print "up=" $2, "sent=" $4, "received=" $5, "malformed=" $6}' /proc/popcorn_kmsg)"
sleep 1	# the relay drains
kill $relay
