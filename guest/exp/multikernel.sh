# Multikernel boot: the primary boots popcorn.k secondaries, one CPU each (APIC IDs
# 1..k), each in popcorn.mib MiB of the block reserved at 1 GiB (memmap= on this
# kernel's command line) with a 64 KiB low window from 0x20000 up. Every kernel,
# this one included, runs /exp/report.sh; the secondaries' reports come back through
# their consoles (relayed as @@K<id>| lines). The host checks the partition.
. /exp/lib.sh
param() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p"; }
k=$(param popcorn.k)
mib=$(param popcorn.mib)
crash=$(param popcorn.panic)	# the isolation test: this secondary panics
sh /exp/report.sh
popcornctl console &
relay=$!
uptime() { cut -d' ' -f1 /proc/uptime; }
first_kick=$(uptime)
i=1
while [ "$i" -le "$k" ]; do
	start=$(printf '0x%x' $((0x40000000 + (i - 1) * mib * 1048576)))
	low=$(printf '0x%x' $((0x20000 + (i - 1) * 0x10000)))
	exp=report
	[ -n "$crash" ] && exp="report popcorn.stay=1"	# the others must stay up
	[ "$i" = "$crash" ] && exp=panic
	popcornctl boot --apic "$i" --mem "$start:$(printf '0x%x' $((mib * 1048576)))" \
		--low "$low" --kernel /boot/bzImage --initrd /boot/secondary.cpio.gz \
		--cmdline "console=hvc0 nokaslr no5lvl nr_cpus=1 nowatchdog panic=0 no_ipi_broadcast=1 rdinit=/init popcorn.exp=$exp"
	kv "k${i}_boot_rc" $?
	i=$((i + 1))
done
# Wait (at most 60 s) until no secondary is still booting, then say what each is.
t=0
while grep -q ' booting ' /proc/popcorn && [ "$t" -lt 600 ]; do
	sleep 0.1
	t=$((t + 1))
done
# From the first kick to the last first heartbeat, on this kernel's clock (0.1 s polls).
kv all_up_s "$(awk -v a="$first_kick" -v b="$(uptime)" 'BEGIN {printf "%.2f", b - a}')"
sleep 1	# let the relay drain the last console lines
heartbeat() { awk -v id="$1" '$1 == id {print $8}' /proc/popcorn; }
if [ -n "$crash" ]; then
	# After the panic, every other kernel must still be alive: its heartbeat moves.
	i=1
	while [ "$i" -le "$k" ]; do
		eval "hb_$i=$(heartbeat "$i")"
		i=$((i + 1))
	done
	sleep 2
	i=1
	while [ "$i" -le "$k" ]; do
		before=$(eval echo "\$hb_$i")
		alive=no
		[ "$(heartbeat "$i")" -gt "$before" ] && alive=yes
		kv "k${i}_alive_after_panic" "$alive"
		i=$((i + 1))
	done
fi
while read -r id apic start end low state up hb; do
	[ "$id" = id ] && continue
	kv "k${id}_state" "$state"
	kv "k${id}_kick_to_up_us" "$up"
done < /proc/popcorn
kill "$relay"
