# A secondary of the multikernel network and web runs (see mk-net.sh): its links up,
# its default route through the primary, an iperf3 server, then nginx with one worker
# serving one random file per size in popcorn.files, and /srv/www/nonce, a nonce made
# at this boot (so that only this kernel can have served it). With popcorn.ss_to set, it waits
# for the primary's go (port 7001), measures iperf3 to that secondary for each of
# popcorn.streams, and tells the primary (port 7002).
. /exp/lib.sh
kv pcn_self "$(pcn_links)"
ip route add default via 10.78.0.1 dev pcn0
kv route_rc $?
kv date "$(date -u +%Y-%m-%dT%H:%M:%S)"	# it has no RTC: the primary's time of day
nginx_setup 1
head -c 16 /dev/urandom | md5sum | cut -d' ' -f1 > /srv/www/nonce
kv nonce "$(cat /srv/www/nonce)"
for size in $(param popcorn.files | tr ',' ' '); do
	head -c "$size" /dev/urandom > "/srv/www/$size"
done
iperf3 --server --port 5201 > /tmp/iperf3.log 2>&1 &
t=0
until netstat -ltn | grep -q ':5201 ' || [ "$t" -ge 100 ]; do
	sleep 0.1
	t=$((t + 1))
done
marks &
nginx -c /etc/nginx/nginx.conf > /tmp/nginx.log 2>&1 &
kv nginx_started $?
to=$(param popcorn.ss_to)
[ -n "$to" ] || exit 0
timeout 600 nc -l -p 7001 < /dev/null > /dev/null
self=$(awk 'NR == 1 {print $2}' /proc/popcorn_kmsg)
MARK_AT=$(seq 1 $(($(param popcorn.k) + 1)) | grep -v -x "$((self + 1))" | sed 's/^/10.78.0./' | tr '\n' ' ')
for s in $(param popcorn.streams | tr ',' ' '); do
	iperf3_out "secondary-secondary-$s" "$to" "$(param popcorn.inner_s)" "$s"
done
wait_for 30 connects 10.78.0.1 7002
