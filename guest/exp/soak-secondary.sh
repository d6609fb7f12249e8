# The receiving end of soak.sh: udpsoak checks every byte of popcorn.soak bytes from
# the primary; the report adds this link's drop counter.
. /exp/lib.sh
kv pcn_self "$(pcn_links)"
echo 16777216 > /proc/sys/net/core/rmem_max	# udpsoak asks for an 8 MiB socket buffer
udpsoak recv 9002 "$(param popcorn.soak)" 1400 3600 > /tmp/soak
kv soak "$(tail -n 1 /tmp/soak) rx_dropped=$(cat /sys/class/net/pcn0/statistics/rx_dropped)"
# Where the UDP layer dropped what it got: a full socket buffer, a bad checksum.
kv udp "$(awk '/^Udp:/ { if (!n) { split($0, k); n = 1 } else for (i = 2; i <= NF; i++) printf "%s=%s ", k[i], $i }' /proc/net/snmp)"
wait_for 30 connects 10.78.0.1 9003
