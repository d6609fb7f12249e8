# Multikernel smoke test: boot one secondary on APIC ID 1, give it time to reach its
# init, and list the kernels (state, kick-to-up time, heartbeat).
. /exp/lib.sh
popcornctl console &
popcornctl boot --apic 1 --mem 0x40000000:0x8000000 --low 0x20000 \
	--kernel /boot/bzImage --initrd /boot/secondary.cpio.gz \
	--cmdline "console=hvc0 nokaslr no5lvl nowatchdog panic=0 no_ipi_broadcast=1 rdinit=/init popcorn.exp=boot"
kv boot_rc $?
sleep 8
popcornctl list
