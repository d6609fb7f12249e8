#!/bin/sh
# busybox udhcpc's script for hw-up.sh (popcorn.hw_addr=dhcp): applies the lease it
# got to $interface, and its router unless popcorn.hw_gw names one.
. /exp/lib.sh
case "$1" in
bound | renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${subnet:-255.255.255.0}" dev "$interface" || exit 1
	if [ -z "$(param popcorn.hw_gw)" ] && [ -n "$router" ]; then
		ip route replace default via "${router%% *}" dev "$interface"
	fi
	;;
deconfig)
	ip addr flush dev "$interface"
	ip link set "$interface" up
	;;
esac
exit 0
