# Inter-kernel network, a secondary (see pcn.sh): its links up; secondary 1 takes a
# TCP transfer of popcorn.blob bytes on port 9000 and reports its checksum, pings
# secondary 2, and counts the primary's popcorn.bad_frames bad frames; secondary 2
# panics when a connection comes to port 9001. Secondary 1 then receives the primary's
# UDP soak of popcorn.soak bytes and reports what udpsoak found.
. /exp/lib.sh
self=$(pcn_links)
kv pcn_self "$self"
command -v iperf3 > /dev/null && iperf3 --server > /dev/null 2>&1 &
if [ "$self" = 2 ]; then
	(nc -l -p 9001 < /dev/null > /dev/null && echo c > /proc/sysrq-trigger) &
	exit 0
fi
(sleep 100000 | nc -l -p 9000 > /tmp/blob) &
echo 16777216 > /proc/sys/net/core/rmem_max	# udpsoak asks for an 8 MiB socket buffer
udpsoak recv 9002 "$(param popcorn.soak)" 1400 300 > /tmp/soak &
soak=$!
kv ping_secondary_2 "$(answered 10.78.0.3 3)"
t=0
while [ "$(wc -c < /tmp/blob)" -lt "$(param popcorn.blob)" ] && [ "$t" -lt 1200 ]; do
	sleep 0.1
	t=$((t + 1))
done
kv blob_bytes "$(wc -c < /tmp/blob)"
kv blob_md5 "$(md5sum < /tmp/blob | cut -d' ' -f1)"
# Then the primary's bad frames (impossible lengths, checksum offsets beyond the
# frame): each dropped and counted, and the link still works.
counted() {
	echo $(($(cat /sys/class/net/pcn0/statistics/rx_length_errors) +
		$(cat /sys/class/net/pcn0/statistics/rx_frame_errors)))
}
t=0
while [ "$(counted)" -lt "$(param popcorn.bad_frames)" ] && [ "$t" -lt 300 ]; do
	sleep 0.1
	t=$((t + 1))
done
kv rx_length_errors "$(cat /sys/class/net/pcn0/statistics/rx_length_errors)"
kv rx_frame_errors "$(cat /sys/class/net/pcn0/statistics/rx_frame_errors)"
kv ping_primary_after_bad_frames "$(answered 10.78.0.1 3)"
# Then the primary's UDP soak, checked here byte by byte.
wait "$soak"
kv soak "$(tail -n 1 /tmp/soak) rx_dropped=$(cat /sys/class/net/pcn0/statistics/rx_dropped)"
