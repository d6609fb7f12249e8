# Inter-kernel network: the primary boots popcorn.k (2) secondaries, each running
# /exp/pcn-secondary.sh, and checks the pcn links: their carriers come up, both answer
# pings, a short iperf3 reaches secondary 1 (with the network image), secondary 1 receives popcorn.blob bytes over TCP with their checksum intact and
# pings secondary 2 itself; frames of impossible length to it are dropped and counted
# there, and it keeps answering; a UDP soak of popcorn.soak bytes to it arrives with no
# byte corrupted (udpsoak checks every byte). Then secondary 2 panics on request: its link goes down
# here, frames to it are dropped and counted, and after it boots again the link comes
# back and it answers again.
. /exp/lib.sh
kv pcn_self "$(pcn_links)"
popcornctl console &
relay=$!
# carrier PEER [TENTHS]: until pcn<PEER>'s carrier is not what it was (60 s at most).
carrier() { cat "/sys/class/net/pcn$1/carrier" 2> /dev/null || echo none; }
wait_carrier() {
	t=0
	while [ "$(carrier "$1")" != "$2" ] && [ "$t" -lt 600 ]; do
		sleep 0.1
		t=$((t + 1))
	done
	carrier "$1"
}
stat() { cat "/sys/class/net/pcn$1/statistics/$2"; }
initrd=/boot/secondary.cpio.gz
[ -f /boot/secondary-net.cpio.gz ] && initrd=/boot/secondary-net.cpio.gz
for i in 1 2; do
	boot_secondary "$i" "pcn-secondary popcorn.stay=1 popcorn.blob=$(param popcorn.blob) popcorn.bad_frames=$(param popcorn.bad_frames) popcorn.soak=$(param popcorn.soak)" "$initrd"
	kv "k${i}_boot_rc" $?
done
for i in 1 2; do
	kv "carrier_$i" "$(wait_carrier "$i" 1)"
	kv "ping_$i" "$(answered "10.78.0.$((i + 1))" 5)"
done
# A short iperf3 to secondary 1, if this image has it (the network image does).
if command -v iperf3 > /dev/null; then
	sleep 1	# its server starts after its links
	iperf3 --client 10.78.0.2 --time 2 --json > /tmp/iperf3.json 2>&1
	kv iperf3_rc $?
	kv iperf3_mbit "$(sed -n '/"sum_received"/,/}/s/.*"bits_per_second":[[:space:]]*\([0-9.e+]*\).*/\1/p' /tmp/iperf3.json | awk '{printf "%.1f", $1 / 1e6}')"
fi
# A checksummed transfer to secondary 1, which reports the checksum of what it got.
head -c "$(param popcorn.blob)" /dev/urandom > /tmp/blob
kv blob_md5 "$(md5sum < /tmp/blob | cut -d' ' -f1)"
t=0
until nc 10.78.0.2 9000 < /tmp/blob; do
	[ "$t" -ge 30 ] && break
	sleep 1
	t=$((t + 1))
done
kv blob_sent_rc $?
# Frames of impossible length to secondary 1: it must drop and count each, and go on.
echo "1 $(param popcorn.bad_frames)" > /sys/module/popcorn_net/parameters/inject_bad_frames
kv bad_frames_rc $?
# A UDP soak to secondary 1, paced to popcorn.soak_mbit, checked there byte by byte.
kv soak_sent "$(udpsoak send 10.78.0.2 9002 "$(param popcorn.soak)" 1400 "$(param popcorn.soak_mbit)") tx_dropped=$(stat 1 tx_dropped)"
# Secondary 2 panics when asked on port 9001; its link must go down, not hang.
nc 10.78.0.3 9001 < /dev/null
kv carrier_2_after_panic "$(wait_carrier 2 0)"
before=$(stat 2 tx_dropped)
n=$(ping -c 3 -i 0.2 -W 1 10.78.0.3 2>&1 | sed -n 's/.* \([0-9][0-9]*\) packets received.*/\1/p')
kv ping_2_while_down "${n:-0}"
kv tx_dropped_while_down $(($(stat 2 tx_dropped) - before))
popcornctl stop 2
kv k2_stop_rc $?
boot_secondary 2 "pcn-secondary popcorn.stay=1" "$initrd"
kv k2_reboot_rc $?
kv carrier_2_after_reboot "$(wait_carrier 2 1)"
kv ping_2_after_reboot "$(answered 10.78.0.3 5)"
kv pcn1_stats "rx_packets=$(stat 1 rx_packets) tx_packets=$(stat 1 tx_packets) rx_errors=$(stat 1 rx_errors) rx_dropped=$(stat 1 rx_dropped)"
sleep 2	# the relay: the secondaries' last lines
kill $relay
