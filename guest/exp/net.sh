# Network test bed, guest side: the NIC lib.sh's bed_nic brings up (eth0 at popcorn.ip
# under QEMU, the machine's own NIC on the hardware target); veth between
# namespaces measured first if popcorn.inner_s > 0; then an iperf3 server, and nginx
# with popcorn.workers worker processes serving /srv/www/<bytes>, one random file per
# size in popcorn.files. It reports net_ready once both servers listen,
# then waits (at most popcorn.wait_s seconds) for the host to connect to port 7777, which
# means the host is done, and reports whether both servers are still alive. Meanwhile
# it answers the host's marks (lib.sh's marks) around each step of the load.
. /exp/lib.sh
listening() { netstat -ltn | grep -c -E ":($1) "; }
ip link set lo up
bed_nic
kv net_rc $?
kv nic "$(basename "$(readlink "/sys/class/net/$nic/device/driver")")"
# SMP Linux's local equivalent of a link between kernels, measured before the servers
# start: veth between two network namespaces (busybox's unshare holds each one open;
# busybox ip names the pair's other end veth0), iperf3 for each of popcorn.streams.
veth_iperf3() {
	unshare -n sleep 100000 &
	server_ns=$!
	unshare -n sleep 100000 &
	client_ns=$!
	sleep 0.5
	ip link add va type veth && ip link set va netns "$server_ns" &&
		ip link set veth0 netns "$client_ns" &&
		nsenter -t "$server_ns" -n sh -c 'ip link set lo up && ip addr add 10.79.0.1/24 dev va && ip link set va up' &&
		nsenter -t "$client_ns" -n sh -c 'ip link set lo up && ip addr add 10.79.0.2/24 dev veth0 && ip link set veth0 up'
	kv veth_rc $?
	nsenter -t "$server_ns" -n iperf3 --server --port 5201 > /tmp/iperf3-veth.log 2>&1 &
	sleep 1
	for streams in $(param popcorn.streams | tr ',' ' '); do
		IPERF3_VIA="nsenter -t $client_ns -n" iperf3_out "veth-$streams" 10.79.0.1 \
			"$(param popcorn.inner_s)" "$streams"
	done
	kill $! "$server_ns" "$client_ns"
	wait
}
[ "$(param popcorn.inner_s)" -gt 0 ] 2> /dev/null && veth_iperf3
nginx_setup "$(param popcorn.workers)"
for size in $(param popcorn.files | tr ',' ' '); do
	head -c "$size" /dev/urandom > "/srv/www/$size"
done
iperf3 --server --port 5201 > /tmp/iperf3.log 2>&1 &
iperf3_pid=$!
nginx -c /etc/nginx/nginx.conf > /tmp/nginx.log 2>&1 &
nginx_pid=$!
t=0
while [ "$(listening '80|5201')" -lt 2 ] && [ "$t" -lt 100 ]; do
	sleep 0.1
	t=$((t + 1))
done
marks &
marks_pid=$!
kv nginx_processes "$(cat /proc/[0-9]*/comm | grep -c '^nginx$')"
kv net_ready "$(listening '80|5201')"
# For testing the host's side: the web server crashes (SIGKILL) or hangs (SIGSTOP)
# popcorn.fault_after_s seconds after it was ready.
nginx_pids() { for p in /proc/[0-9]*; do [ "$(cat "$p/comm" 2> /dev/null)" = nginx ] && echo "${p#/proc/}"; done; }
case "$(param popcorn.fault)" in
crash | hang)
	sig=$([ "$(param popcorn.fault)" = crash ] && echo KILL || echo STOP)
	(sleep "$(param popcorn.fault_after_s)"; kill -s "$sig" $(nginx_pids); kv fault "$sig") &
	;;
esac
timeout "$(param popcorn.wait_s)" nc -l -p 7777 > /dev/null
kv host_done $?
kill -0 "$iperf3_pid" 2> /dev/null
kv iperf3_alive $((1 - $?))
kill -0 "$nginx_pid" 2> /dev/null
kv nginx_alive $((1 - $?))
kv eth0 "$(nic_stats "$nic" rx_packets tx_packets rx_dropped tx_dropped rx_errors tx_errors)"
tail -n 5 /tmp/nginx.log /tmp/iperf3.log
kill "$iperf3_pid" "$marks_pid" 2> /dev/null
kill -s KILL $(nginx_pids) 2> /dev/null	# a stopped nginx would not take TERM
wait
