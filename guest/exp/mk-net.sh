# Multikernel network and web server, the primary's side. Its NIC is on the test bed
# (lib.sh's bed_nic) and this kernel routes between it and its pcn links:
# it forwards, it serves nothing of the web load. It boots popcorn.k secondaries from
# the network image (mk-net-secondary.sh: an iperf3 server, and nginx with one worker
# serving popcorn.files), and runs one iperf3 server of its own per secondary, so that
# the same outside clients can drive this kernel alone.
# If popcorn.inner_s > 0 it first measures iperf3 between kernels, popcorn.streams each:
# from here to secondary 1, then (asked on port 7001, done on 7002) from secondary 1 to
# secondary 2. Then it reports net_ready (servers that answer, 2 per secondary) and
# waits (popcorn.wait_s at most) for the host to connect to port 7777. Every kernel
# answers the host's marks (lib.sh's marks); each iperf3 between kernels is marked on
# all of them.
. /exp/lib.sh
kv pcn_self "$(pcn_links)"
bed_nic
kv net_rc $?
echo 1 > /proc/sys/net/ipv4/ip_forward
popcornctl console &
relay=$!
marks &
marks_pid=$!
k=$(param popcorn.k)
MARK_AT=$(seq 2 $((k + 1)) | sed 's/^/10.78.0./' | tr '\n' ' ')
inner=$(param popcorn.inner_s)
streams=$(param popcorn.streams)
for i in $(seq 1 "$k"); do
	ask=""
	[ "$i" -eq 1 ] && [ "$k" -ge 2 ] && [ "$inner" -gt 0 ] &&
		ask="popcorn.ss_to=10.78.0.3 popcorn.inner_s=$inner popcorn.streams=$streams popcorn.k=$k"
	boot_secondary "$i" "mk-net-secondary popcorn.stay=1 popcorn.files=$(param popcorn.files) $ask" \
		/boot/secondary-net.cpio.gz
	kv "k${i}_boot_rc" $?
	iperf3 --server --port $((5200 + i)) > "/tmp/iperf3-$i.log" 2>&1 &
done
# A secondary starts nginx once its iperf3 server listens: nginx answering means both.
ready=0
for i in $(seq 1 "$k"); do
	wait_for 180 connects "10.78.0.$((i + 1))" 80 && ready=$((ready + 1))
done
kv secondaries_serving "$ready"
if [ "$inner" -gt 0 ] && [ "$ready" -eq "$k" ]; then
	for s in $(echo "$streams" | tr ',' ' '); do
		iperf3_out "primary-secondary-$s" 10.78.0.2 "$inner" "$s"
	done
	if [ "$k" -ge 2 ]; then
		wait_for 30 connects 10.78.0.2 7001
		timeout $((20 * (inner + 10))) nc -l -p 7002 < /dev/null > /dev/null
		kv secondary_pair_done $?
	fi
fi
listening=$(netstat -ltn | grep -c -E ":52(0[1-9]|[1-9][0-9]) ")
kv net_ready $((ready + listening))
timeout "$(param popcorn.wait_s)" nc -l -p 7777 > /dev/null
kv host_done $?
for i in $(seq 1 "$k"); do
	kv "pcn${i}_stats" "$(nic_stats "pcn$i" rx_packets tx_packets rx_dropped tx_dropped rx_errors)"
done
kv eth0 "$(nic_stats "$nic" rx_packets tx_packets rx_dropped tx_dropped)"
sleep 1	# the relay
kill $relay $marks_pid
