# The outside reaches a secondary through the primary. The primary's eth0 is on the
# network test bed (popcorn.ip, gateway popcorn.gw) and it routes to its pcn links;
# secondary 1, booted with the network image, serves with nginx a page holding a nonce
# it made at its own boot (pcn-web-secondary.sh). The primary reports net_ready once
# that page's server answers through pcn1, then waits (popcorn.wait_s at most) for the
# host to connect to port 7777.
. /exp/lib.sh
kv pcn_self "$(pcn_links)"
ip addr add "$(param popcorn.ip)/24" dev eth0 && ip link set eth0 up &&
	ip route add default via "$(param popcorn.gw)"
kv net_rc $?
echo 1 > /proc/sys/net/ipv4/ip_forward
popcornctl console &
relay=$!
boot_secondary 1 "pcn-web-secondary popcorn.stay=1" /boot/secondary-net.cpio.gz
kv k1_boot_rc $?
t=0
until nc 10.78.0.2 80 < /dev/null > /dev/null 2>&1 || [ "$t" -ge 120 ]; do
	sleep 1
	t=$((t + 1))
done
nc 10.78.0.2 80 < /dev/null > /dev/null 2>&1
kv net_ready $((1 - $?))
timeout "$(param popcorn.wait_s)" nc -l -p 7777 > /dev/null
kv host_done $?
kv pcn1_stats "rx_packets=$(cat /sys/class/net/pcn1/statistics/rx_packets) tx_packets=$(cat /sys/class/net/pcn1/statistics/tx_packets)"
sleep 1	# the relay
kill $relay
