# A secondary that serves the outside through the primary (see pcn-web.sh): its links
# up, its default route through the primary, and nginx with one worker serving
# /srv/www/nonce, a nonce made at this boot (so only this kernel can have served it).
. /exp/lib.sh
kv pcn_self "$(pcn_links)"
ip route add default via 10.78.0.1 dev pcn0
kv route_rc $?
kv date "$(date -u +%Y-%m-%dT%H:%M:%S)"
nginx_setup 1
nonce=$(head -c 16 /dev/urandom | md5sum | cut -d' ' -f1)
echo "$nonce" > /srv/www/nonce
kv nonce "$nonce"
nginx -c /etc/nginx/nginx.conf > /tmp/nginx.log 2>&1 &
kv nginx_started $?
