# The hardware target's image (popcorn.hw=1), before the experiment: the NIC with the
# MAC the host found the machine's address on, up at that address (popcorn.hw_addr, a
# CIDR, or dhcp: a lease through udhcpc.sh), the default route, and an SSH server
# (Debian's dropbear, with the host key and authorized key the host put in the image)
# through which the host follows and collects the run.
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
if [ "$(param popcorn.hw_addr)" = dhcp ]; then
	# a lease, or give up after about 30 s (-n); once it has one, udhcpc goes to the
	# background and renews it while the run lasts
	udhcpc -i "$dev" -s /exp/udhcpc.sh -n -t 10 -T 3 > /tmp/udhcpc.log 2>&1 || {
		echo "@@POPCORN:WARN hw-up: no DHCP lease on $dev: $(tail -n 1 /tmp/udhcpc.log)"
		exit 1
	}
	kv hw_lease "$(ip -4 -o addr show dev "$dev" | awk '{print $4; exit}')"
else
	ip addr add "$(param popcorn.hw_addr)" dev "$dev" || exit 1
fi
gw=$(param popcorn.hw_gw)
[ -z "$gw" ] || ip route add default via "$gw"
kv hw_nic "$dev"
echo "$dev" > /tmp/hw_nic	# the experiments' bed_nic (lib.sh)
dropbear -r /etc/dropbear/host_key -s -p 22 2>>/tmp/dropbear.log
