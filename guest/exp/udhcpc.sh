#!/bin/sh
# busybox udhcpc's script for hw-up.sh (popcorn.hw_addr=dhcp): applies the lease to
# $interface, and the default route: popcorn.hw_gw if it names one, else the lease's
# router. A renewal that keeps the address changes nothing (the load runs on it).
. /exp/lib.sh
case "$1" in
bound | renew)
	have=$(ip -4 -o addr show dev "$interface" | awk '{print $4; exit}')
	if [ "${have%/*}" != "$ip" ]; then
		ip addr flush dev "$interface"
		ip addr add "$ip/${subnet:-255.255.255.0}" dev "$interface" || exit 1
	fi
	gw=$(param popcorn.hw_gw)
	[ -n "$gw" ] || gw=${router%% *}
	[ -z "$gw" ] || ip route replace default via "$gw" dev "$interface"
	;;
deconfig)
	ip addr flush dev "$interface"
	ip link set "$interface" up
	;;
esac
exit 0
