# The migrate experiment: the primary boots one secondary (kernel 1, the network image)
# and moves `migtest hold SIZE` there, for each size in popcorn.migrate_sizes, in
# popcorn.migrate_reps rounds, each round both mechanisms one after the other (their
# order alternating): popcorn (popcornctl migrate) and criu (criu dump to /tmp, the
# images and the process's output file to kernel 1 over the pcn link with tcpcopy,
# criu restore there: guest/exp/migrate-secondary.sh). Each migration is one KV line:
#   <mech>_<size>_<round>  rc=.. trigger=<TSC when it was asked> bytes=<moved>
#                          from=<TSC, its last instruction here> to=<TSC, its first
#                          there> rate=<TSC cycles per ns> correct=<its memory intact>
# (the migtest itself says from, to, rate and correct; popcorn: bytes are the image and
# the pages its kernel sent; criu: the images' size).
. /exp/lib.sh
sizes=$(param popcorn.migrate_sizes | tr ',' ' ')
reps=$(param popcorn.migrate_reps)
kv pcn_self "$(pcn_links)"
popcornctl console &
relay=$!
boot_secondary 1 "migrate-secondary popcorn.stay=1" /boot/secondary-net.cpio.gz
kv boot_rc $?
kv ping_1 "$(answered 10.78.0.2 3)"
kv criu_check "$(criu check 2>&1 | tail -1 | tr ' ' '_')"

# ready FILE: until migtest hold said ready in FILE (60 s at most).
ready() {
	_t=0
	while ! grep -q '^ready' "$1" 2> /dev/null && [ "$_t" -lt 600 ]; do
		sleep 0.1
		_t=$((_t + 1))
	done
}

gap() { grep '^@@GAP' "$1" | cut -d' ' -f2- | sed 's/^size=[0-9]* //'; }

popcorn() {
	rm -f /tmp/hold.out	# or the last run's "ready" is read before the new one starts
	migtest hold "$1" > /tmp/hold.out 2>&1 &
	pid=$!
	ready /tmp/hold.out
	t0=$(migtest tsc)
	popcornctl migrate "$pid" 1 > /dev/null 2> /tmp/popcorn.err
	rc=$?
	[ "$rc" = 0 ] || kill -9 "$pid"
	wait "$pid"
	moved=$(dmesg | sed -n "s/.*pid $pid runs on kernel 1 as pid [0-9]* (\([0-9]*\) image bytes, \([0-9]*\) pages sent).*/\1 \2/p" | tail -1)
	bytes=$(echo "$moved" | awk '{print $1 + $2 * 4096}')
	kv "popcorn_$1_$2" "rc=$rc trigger=$t0 bytes=${bytes:-0} $(gap /tmp/hold.out)"
	[ "$rc" = 0 ] || cat /tmp/popcorn.err
}

criu_move() {
	rm -rf /tmp/criu-img /tmp/criu-hold.out /tmp/criu-result
	mkdir /tmp/criu-img
	setsid migtest hold "$1" < /dev/null > /tmp/criu-hold.out 2>&1 &
	pid=$!
	ready /tmp/criu-hold.out
	tcpcopy recv 9101 > /tmp/criu-result &
	result=$!
	t0=$(migtest tsc)
	criu dump -t "$pid" -D /tmp/criu-img -o dump.log -v2
	rc=$?
	bytes=$(cat /tmp/criu-img/*.img | wc -c)
	tar c -C / tmp/criu-img tmp/criu-hold.out | tcpcopy send 10.78.0.2 9100
	rc=$((rc | $?))
	wait "$result"
	restored=$(sed -n 's/^restore_rc=//p' /tmp/criu-result)
	kv "criu_$1_$2" "rc=$((rc | ${restored:-1})) trigger=$t0 bytes=$bytes $(gap /tmp/criu-result)"
	[ "$rc" = 0 ] || tail -5 /tmp/criu-img/dump.log
	[ "${restored:-1}" = 0 ] || grep -v '^@@GAP' /tmp/criu-result | tail -8
}

r=1
while [ "$r" -le "$reps" ]; do
	for size in $sizes; do
		if [ $((r % 2)) = 1 ]; then
			popcorn "$size" "$r"
			criu_move "$size" "$r"
		else
			criu_move "$size" "$r"
			popcorn "$size" "$r"
		fi
	done
	r=$((r + 1))
done
sleep 1	# the relay drains
kill $relay
