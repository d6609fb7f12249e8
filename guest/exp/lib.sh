# Helpers for experiment scripts. `kv key value` prints one result on the console,
# in the form the host parses (popart/console.py).
kv() {
	echo "@@POPCORN:KV $1=$2"
}

param() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p"; }

# bed_nic: brings up the NIC the load comes in on and sets $nic to it: on the hardware
# target the machine's NIC that hw-up.sh brought up (its name in /tmp/hw_nic), else eth0
# at popcorn.ip with gateway popcorn.gw on the host's test bed. Not zero if it failed.
bed_nic() {
	if [ "$(param popcorn.hw)" = 1 ]; then
		nic=$(cat /tmp/hw_nic 2> /dev/null)
		[ -n "$nic" ]
		return
	fi
	nic=eth0
	ip addr add "$(param popcorn.ip)/24" dev eth0 && ip link set eth0 up &&
		ip route add default via "$(param popcorn.gw)"
}

# nic_stats NIC COUNTER...: those counters of NIC, "name=value " each.
nic_stats() {
	_dev=$1
	shift
	for _f in "$@"; do
		printf '%s=%s ' "$_f" "$(cat "/sys/class/net/$_dev/statistics/$_f")"
	done
}

# uptime: this kernel's own clock, in seconds.
uptime() { cut -d' ' -f1 /proc/uptime; }

# What a secondary's command line needs: its console and its init. Everything else
# that keeps it off the others' devices and CPUs is the loader's and the secondary
# platform's business, whatever the command line says (the isolation tests boot
# secondaries with just this). Tests that start test code on a peer add
# popcorn_kmsg.test=1 to that peer's line. Every kernel of the artifact accepts
# migrated processes (popcorn_migrate.enable=1). The host's qemu.secondary_append
# arrives as popcorn.secondary_append, one word per comma.
SECONDARY_CMDLINE="console=hvc0 rdinit=/init popcorn_migrate.enable=1"
SECONDARY_CMDLINE="$SECONDARY_CMDLINE $(param popcorn.secondary_append | tr ',' ' ')"

# boot_secondary ID "EXPERIMENT [ARGS]" [INITRD]: boots secondary ID on the CPUs the
# host's plan gave it (popcorn.apics: APIC IDs, one group per secondary, groups split by
# ':'), its popcorn.mib MiB of the block reserved at popcorn.base, and its 64 KiB low
# window from 0x20000 up (popart/partition.py), with /boot/secondary.cpio.gz or INITRD.
boot_secondary() {
	boot_in_slot "$1" "$(apics_of "$1")" "$SECONDARY_CMDLINE popcorn.exp=$2" \
		--initrd "${3:-/boot/secondary.cpio.gz}"
}

# apics_of ID: secondary ID's APIC IDs in the host's plan, comma-separated.
apics_of() {
	param popcorn.apics | cut -d: -f"$1"
}

# boot_in_slot ID APIC_IDS CMDLINE [POPCORNCTL OPTIONS]: boots a secondary on those
# APIC IDs in slot ID of the plan (popcorn.mib MiB from popcorn.base, 64 KiB low
# windows from 0x20000); later options override the image paths.
boot_in_slot() {
	_mib=$(param popcorn.mib)
	_start=$(printf '0x%x' $(($(param popcorn.base) + ($1 - 1) * _mib * 1048576)))
	_low=$(printf '0x%x' $((0x20000 + ($1 - 1) * 0x10000)))
	_apics=$2
	_cmdline=$3
	shift 3
	popcornctl boot --apic "$_apics" --mem "$_start:$(printf '0x%x' $((_mib * 1048576)))" \
		--low "$_low" --kernel /boot/bzImage --initrd /boot/secondary.cpio.gz \
		--cmdline "$_cmdline" "$@"
}

# start_relay: every secondary's console here (@@K<id>| lines, which the host splits
# into console-k<id>.log) and into /tmp/relay.log for wait_report; $relay is its pid.
start_relay() {
	mkfifo /tmp/relay.fifo
	tee /tmp/relay.log < /tmp/relay.fifo &
	popcornctl console > /tmp/relay.fifo &
	relay=$!	# killing it ends tee too
}

# seen ID WORD [TENTHS]: until secondary ID's console says @@POPCORN:WORD (BEGIN: its
# init started, its root file system is there; END: its experiment is done) through the
# relay (start_relay), 30 s at most; 1 if it never did.
seen() {
	_t=0
	while ! grep -q "^@@K$1| @@POPCORN:$2" /tmp/relay.log 2>/dev/null; do
		[ "$_t" -ge "${3:-300}" ] && return 1
		sleep 0.1
		_t=$((_t + 1))
	done
}

# wait_report ID: until secondary ID's init has run its experiment, and says
# k<ID>_reported=1 or 0 (the host then fails the figures measured beside it). Until
# then that kernel is still booting beside whatever this one measures: on its own vCPU,
# which shares the emulator's threads, and under icount (one thread for all vCPUs) its
# instructions are our time.
wait_report() {
	if seen "$1" END; then
		kv "k$1_reported" 1
	else
		kv "k$1_reported" 0
		return 1
	fi
}

# field ID N: field N of kernel ID's line in /proc/popcorn (6: state, 8: heartbeat).
field() { awk -v id="$1" -v n="$2" '$1 == id {print $n}' /proc/popcorn; }

# layout: the loader's table without the timings, to compare before and after.
layout() { awk '{print $1, $2, $3, $4, $5, $6}' /proc/popcorn; }

# wait_state ID STATE [TENTHS]: until kernel ID is no longer in STATE (60 s at most).
wait_state() {
	_t=0
	while [ "$(field "$1" 6)" = "$2" ] && [ "$_t" -lt "${3:-600}" ]; do
		sleep 0.1
		_t=$((_t + 1))
	done
}

# alive ID: does kernel ID's heartbeat move within 2 s?
alive() {
	_before=$(field "$1" 8)
	sleep 2
	[ "$(field "$1" 8)" -gt "$_before" ] && echo yes || echo no
}

# refuse CASE COMMAND...: the command must fail, with one line on stderr, and leave
# the loader's table as it was; the outcome is the value bad_CASE.
refuse() {
	_case=$1
	shift
	_before=$(layout)
	_err=$("$@" 2>&1 >/dev/null)
	_rc=$?
	_same=no
	[ "$(layout)" = "$_before" ] && _same=yes
	kv "bad_$_case" "rc=$_rc lines=$(printf '%s\n' "$_err" | wc -l) unchanged=$_same $(printf '%s\n' "$_err" | head -n 1)"
}

# pcn_links: this kernel's link to every other kernel, pcn<peer>, up with the
# point-to-point addresses 10.78.0.<own id + 1> and 10.78.0.<peer + 1>.
pcn_links() {
	_self=$(awk 'NR == 1 {print $2}' /proc/popcorn_kmsg)
	ip link set lo up
	for _dev in /sys/class/net/pcn*; do
		_peer=${_dev##*/pcn}
		ip addr add "10.78.0.$((_self + 1))" peer "10.78.0.$((_peer + 1))" dev "pcn$_peer"
		ip link set "pcn$_peer" up
	done
	echo "$_self"
}

# mark LABEL: this kernel's CPU time so far (the cpu line of /proc/stat, in USER_HZ
# ticks) under LABEL, cpu_<LABEL>; with pcn links also their counters (/proc/popcorn_net,
# a link per ';') and the message IPIs it took, links_<LABEL>. Before and after a step
# of the load, the difference is what this kernel spent on it.
mark() {
	kv "cpu_$1" "$(head -n 1 /proc/stat)"
	[ -r /proc/popcorn_net ] || return 0
	kv "links_$1" "$(tail -n +2 /proc/popcorn_net | tr '\n' ';')ipis_received=$(awk 'NR == 1 {print $6}' /proc/popcorn_kmsg)"
}

# marks: for as long as this kernel runs, a mark for each label sent to port 7778 (the
# host marks every kernel of the run around each step of its load). In the background.
marks() {
	while :; do
		_label=$(nc -l -p 7778 < /dev/null 2> /dev/null | tr -cd 'A-Za-z0-9_.-')
		[ -n "$_label" ] && mark "$_label"
	done
}

# mark_all LABEL ADDRESS...: a mark here, then at each kernel at ADDRESS (its marks).
mark_all() {
	_label=$1
	shift
	mark "$_label"
	for _at in "$@"; do
		echo "$_label" | nc "$_at" 7778 > /dev/null 2>&1
	done
}

# connects ADDRESS PORT: does a TCP connection to it succeed (and close at once)?
connects() {
	nc "$1" "$2" < /dev/null > /dev/null 2>&1
}

# wait_for SECONDS COMMAND...: runs COMMAND once a second until it succeeds, for at most
# SECONDS; its status is COMMAND's last.
wait_for() {
	_limit=$1
	shift
	_t=0
	until "$@"; do
		[ "$_t" -ge "$_limit" ] && return 1
		sleep 1
		_t=$((_t + 1))
	done
}

# answered ADDRESS N: how many of N pings ADDRESS answered (0 also when ping could not
# send), after waiting up to 30 s for a first answer (a kernel whose link just came up
# may not have its address yet).
answered() {
	_t=0
	until ping -c 1 -W 1 "$1" > /dev/null 2>&1 || [ "$_t" -ge 30 ]; do
		_t=$((_t + 1))
	done
	_n=$(ping -c "$2" -i 0.2 -W 2 "$1" 2>&1 | sed -n 's/.* \([0-9][0-9]*\) packets received.*/\1/p')
	echo "${_n:-0}"
}

# nginx_setup WORKERS: what Debian's nginx needs in this image, and a configuration with
# WORKERS worker processes serving /srv/www on port 80 (errors to its stderr).
nginx_setup() {
	mkdir -p /srv/www /var/lib/nginx /var/log/nginx /run /etc/nginx
	echo "root:x:0:0:root:/root:/bin/sh" > /etc/passwd
	echo "root:x:0:" > /etc/group
	cat > /etc/nginx/nginx.conf <<-EOF
	daemon off;
	master_process on;
	worker_processes $1;
	user root root;
	pid /run/nginx.pid;
	error_log stderr warn;
	events {
		worker_connections 4096;
		use epoll;
	}
	http {
		access_log off;
		sendfile on;
		tcp_nopush on;
		tcp_nodelay on;
		keepalive_requests 1000000;
		default_type application/octet-stream;
		server {
			listen 80 backlog=4096;
			root /srv/www;
		}
	}
	EOF
}

# out NAME FILE: FILE on the console, each line as "@@POPCORN:OUT NAME|<line>", for the
# host to keep and parse: a tool's own output, not a number this script made of it.
out() {
	sed "s/^/@@POPCORN:OUT $1|/" "$2"
}

# iperf3_out NAME ADDRESS SECONDS STREAMS: an iperf3 client run (in megabits, through
# $IPERF3_VIA if set, e.g. nsenter) whose output goes to the console as NAME. A server
# that still tears down its previous test refuses or resets: after a pause it is tried
# again, up to 5 attempts, each attempt's output kept (NAME, NAME-attempt2, ...). Each
# attempt is marked NAME.start and NAME.end, here and at the kernels at $MARK_AT.
iperf3_out() {
	_try=1
	_name=$1
	while :; do
		sleep 1
		mark_all "$1.start" $MARK_AT
		$IPERF3_VIA iperf3 --client "$2" --time "$3" --parallel "$4" --format m \
			> /tmp/iperf3.out 2>&1
		_rc=$?
		mark_all "$1.end" $MARK_AT
		out "$_name" /tmp/iperf3.out
		[ "$_rc" -eq 0 ] || [ "$_try" -ge 5 ] && break
		grep -q -E 'refused|busy|reset|unable to receive' /tmp/iperf3.out || break
		_try=$((_try + 1))
		_name="$1-attempt$_try"
	done
	kv "$1_rc" "$_rc"
}
