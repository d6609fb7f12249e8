# The hardware target's image (popcorn.hw=1), before the experiment: the NIC with the
# MAC the host found the machine's address on, up at that address (popcorn.hw_addr, a
# CIDR, or dhcp: a lease through udhcpc.sh), the default route, and an SSH server
# (Debian's dropbear, with the host key and authorized key the host put in the image)
# through which the host follows and collects the run.
. /exp/lib.sh
# An image the host cannot reach (no address, no SSH server) says why on its console and
# reboots into the machine's own kernel, which the host notices: no power cycle needed.
unreachable() {
	echo "@@POPCORN:WARN hw-up: $1; rebooting into the machine's own kernel"
	sync
	reboot -f
	exit 1
}
mac=$(param popcorn.hw_mac)
dev=
for n in /sys/class/net/*; do
	[ "$(cat "$n/address")" = "$mac" ] && dev=${n##*/}
done
[ -n "$dev" ] || unreachable "no NIC with MAC $mac"
ip link set lo up
ip link set "$dev" up
if [ "$(param popcorn.hw_addr)" = dhcp ]; then
	# a lease, or give up after about 30 s (-n); once it has one, udhcpc goes to the
	# background and renews it while the run lasts
	udhcpc -i "$dev" -s /exp/udhcpc.sh -n -t 10 -T 3 > /tmp/udhcpc.log 2>&1 ||
		unreachable "no DHCP lease on $dev: $(tail -n 1 /tmp/udhcpc.log)"
	lease=$(ip -4 -o addr show dev "$dev" | awk '{print $4; exit}')
	kv hw_lease "$lease"
	[ "${lease%/*}" = "$(param popcorn.hw_expect)" ] ||
		unreachable "the lease $lease is not $(param popcorn.hw_expect), where the host looks"
else
	ip addr add "$(param popcorn.hw_addr)" dev "$dev" ||
		unreachable "cannot add $(param popcorn.hw_addr) to $dev"
fi
gw=$(param popcorn.hw_gw)
[ -z "$gw" ] || ip route replace default via "$gw"
kv hw_nic "$dev"
echo "$dev" > /tmp/hw_nic	# the experiments' bed_nic (lib.sh)
dropbear -r /etc/dropbear/host_key -s -p 22 2>>/tmp/dropbear.log ||
	unreachable "dropbear did not start: $(tail -n 1 /tmp/dropbear.log)"
