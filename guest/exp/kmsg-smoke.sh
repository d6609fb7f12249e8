# Messaging smoke test: one secondary; the primary pings it in IPI and polling mode
# and streams to it, then both kernels show their counters.
. /exp/lib.sh
popcornctl console &
relay=$!
popcornctl boot --apic 1 --mem 0x40000000:0x8000000 --low 0x20000 --kernel /boot/bzImage \
	--initrd /boot/secondary.cpio.gz \
	--cmdline "console=hvc0 nokaslr no5lvl nowatchdog panic=0 no_ipi_broadcast=1 rdinit=/init popcorn.exp=probe popcorn.stay=1"
t=0	# until the secondary's heartbeat reaches us
while ! grep -q '^1 1 ' /proc/popcorn_kmsg 2>/dev/null && [ "$t" -lt 300 ]; do
	sleep 0.1
	t=$((t + 1))
done
cat /proc/popcorn_kmsg
for len in 8 64 1024 4096; do
	kv "ipi_ping_$len" "$(kmsgbench ping 1 $len 200)"
done
kv ipi_stream_1024 "$(kmsgbench stream 1 1024 2000)"
kmsgbench mode poll 1 && kmsgbench mode poll
kv mode_rc $?
for len in 8 64 1024 4096; do
	kv "poll_ping_$len" "$(kmsgbench ping 1 $len 200)"
done
kv poll_stream_1024 "$(kmsgbench stream 1 1024 2000)"
kmsgbench mode ipi && kmsgbench mode ipi 1
cat /proc/popcorn_kmsg
kv peer1 "$(awk '$1 == 1 {print "up=" $2, "sent=" $4, "received=" $5, "malformed=" $6}' /proc/popcorn_kmsg)"
sleep 1
kill $relay
