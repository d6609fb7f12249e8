# Multikernel boot: the primary boots popcorn.k secondaries with popcorn.cpus CPUs each
# (APIC IDs 1, 2, ... in order), each in popcorn.mib MiB of the block reserved at 1 GiB
# (memmap= on this kernel's command line) with a 64 KiB low window from 0x20000 up.
# Every kernel, this one included, runs /exp/report.sh; the secondaries' reports come
# back through their consoles (relayed as @@K<id>| lines). The host checks the partition.
# With popcorn.serial=1 each secondary boots only once the one before has reported, so
# that no two boot at the same time (each boot's time is then its own, also under icount).
. /exp/lib.sh
k=$(param popcorn.k)
crash=$(param popcorn.panic)	# the isolation test: this secondary panics
serial=$(param popcorn.serial)
sh /exp/report.sh
start_relay
first_kick=$(uptime)
i=1
while [ "$i" -le "$k" ]; do
	exp=report
	[ -n "$crash" ] && exp="report popcorn.stay=1"	# the others must stay up
	[ "$i" = "$crash" ] && exp=panic
	boot_secondary "$i" "$exp"
	kv "k${i}_boot_rc" $?
	[ "$serial" = 1 ] && [ "$i" != "$crash" ] && wait_report "$i"
	i=$((i + 1))
done
# Wait until no secondary is still booting, then say what each is.
i=1
while [ "$i" -le "$k" ]; do
	wait_state "$i" booting
	i=$((i + 1))
done
# From the first kick to the last first heartbeat, on this kernel's clock (0.1 s polls).
kv all_up_s "$(awk -v a="$first_kick" -v b="$(uptime)" 'BEGIN {printf "%.2f", b - a}')"
if [ -z "$crash" ]; then
	# Each secondary halts once its report is out. Wait for that rather than for a fixed
	# time: under icount this kernel's idle time passes at once (sleep=off), and a
	# secondary still printing its report was cut off.
	i=1
	while [ "$i" -le "$k" ]; do
		wait_state "$i" running
		i=$((i + 1))
	done
fi
sleep 1	# let the relay drain the last console lines
if [ -n "$crash" ]; then
	# After the panic, every other kernel must still be alive: its heartbeat moves.
	i=1
	while [ "$i" -le "$k" ]; do
		kv "k${i}_alive_after_panic" "$(alive "$i")"
		i=$((i + 1))
	done
fi
while read -r id apic start end low state up hb; do
	[ "$id" = id ] && continue
	kv "k${id}_state" "$state"
	kv "k${id}_kick_to_up_us" "$up"
done < /proc/popcorn
if [ -n "$crash" ]; then
	# Recovery without a reboot: stop the panicked kernel, boot it again on the same
	# CPUs and memory, and see it answer.
	popcornctl stop "$crash"
	kv "k${crash}_stop_rc" $?
	kv "k${crash}_stopped_state" "$(field "$crash" 6)"
	boot_secondary "$crash" "report popcorn.stay=1"
	kv "k${crash}_reboot_rc" $?
	wait_state "$crash" booting
	kv "k${crash}_reboot_state" "$(field "$crash" 6)"
	kv "k${crash}_alive_after_reboot" "$(alive "$crash")"
	sleep 1	# the relay: the re-booted kernel's report
fi
kill "$relay"
