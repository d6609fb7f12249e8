# Messaging with several kernels: the primary boots popcorn.k secondaries (one CPU and
# popcorn.mib MiB each, APIC IDs 1..k). First all-to-one: 1, 2, .. k secondaries each
# stream popcorn.fanin messages of popcorn.fanin_len bytes to the primary at once,
# popcorn.reps times (fanin_<n>_<r> KV lines). Then it starts the stress test on all
# kernels: each sends popcorn.stress messages of random sizes to every other one, with
# popcorn.malformed raw malformed messages among them. Then, once every sender is done
# and nothing more arrives, each kernel's counts (checked by the test's own sequence
# numbers and checksums) as stress_k<id> KV lines.
. /exp/lib.sh
k=$(param popcorn.k)
mib=$(param popcorn.mib)
start_relay
i=1
while [ "$i" -le "$k" ]; do
	popcornctl boot --apic "$i" --mem "$(printf '0x%x' $((0x40000000 + (i - 1) * mib * 1048576))):$(printf '0x%x' $((mib * 1048576)))" \
		--low "$(printf '0x%x' $((0x20000 + (i - 1) * 0x10000)))" \
		--kernel /boot/bzImage --initrd /boot/secondary.cpio.gz \
		--cmdline "$SECONDARY_CMDLINE popcorn_kmsg.test=1 popcorn.exp=probe popcorn.stay=1"
	kv "k${i}_boot_rc" $?
	i=$((i + 1))
done
t=0	# until every secondary's heartbeat reaches us
while [ "$(awk 'NR > 2 && $2 == 1' /proc/popcorn_kmsg | wc -l)" -lt "$k" ] && [ "$t" -lt 600 ]; do
	sleep 0.1
	t=$((t + 1))
done
sleep 1	# and each other's
kv peers_up "$(awk 'NR > 2 && $2 == 1' /proc/popcorn_kmsg | wc -l)"
i=1	# and until each is idle: measure nothing beside a kernel still booting
while [ "$i" -le "$k" ]; do
	wait_report "$i"
	i=$((i + 1))
done
# All-to-one first: 1..k secondaries stream to this kernel at once, popcorn.reps times.
senders=""
i=1
while [ "$i" -le "$k" ]; do
	senders="$senders${senders:+,}$i"
	r=1
	while [ "$r" -le "$(param popcorn.reps)" ]; do
		kv "fanin_${i}_$r" "$(kmsgbench fanin 0 "$senders" "$(param popcorn.fanin_len)" "$(param popcorn.fanin)")"
		r=$((r + 1))
	done
	i=$((i + 1))
done
start=$(cut -d' ' -f1 /proc/uptime)
kmsgbench stress "$(param popcorn.stress)" "$(param popcorn.malformed)" 1
kv start_rc $?
# received: the sum of every kernel's received counts.
received() {
	j=0
	while [ "$j" -le "$k" ]; do
		kmsgbench stress-stats "$j"
		j=$((j + 1))
	done | sed -n 's/.* received=\([0-9;]*\) .*/\1/p' | tr ';' '\n' | awk '{s += $1} END {print s + 0}'
}
running() {
	j=0
	while [ "$j" -le "$k" ]; do
		kmsgbench stress-stats "$j"
		j=$((j + 1))
	done | grep -c 'running=1'
}
last=-1
while true; do
	sleep 2
	now=$(received)
	[ "$(running)" = 0 ] && [ "$now" = "$last" ] && break
	last=$now
done
kv stress_s "$(awk -v a="$start" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN {printf "%.1f", b - a}')"
j=0
while [ "$j" -le "$k" ]; do
	kv "stress_k$j" "$(kmsgbench stress-stats "$j")"
	j=$((j + 1))
done
sleep 1
kill $relay
