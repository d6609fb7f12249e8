# The hardware target's image (popcorn.hw=1), before the experiment: the NIC with the
# MAC the host found the machine's address on, up at that address (popcorn.hw_addr, a
# CIDR), the default route, and an SSH server (Debian's dropbear, with the host key and
# authorized key the host put in the image) through which the host follows and
# collects the run.
. /exp/lib.sh
mac=$(param popcorn.hw_mac)
dev=
for n in /sys/class/net/*; do
	[ "$(cat "$n/address")" = "$mac" ] && dev=${n##*/}
done
if [ -z "$dev" ]; then
	echo "@@POPCORN:WARN hw-up: no NIC with MAC $mac"
	exit 1
fi
ip link set lo up
ip link set "$dev" up
ip addr add "$(param popcorn.hw_addr)" dev "$dev" || exit 1
gw=$(param popcorn.hw_gw)
[ -z "$gw" ] || ip route add default via "$gw"
kv hw_nic "$dev"
dropbear -r /etc/dropbear/host_key -s -p 22 2>>/tmp/dropbear.log
