# Multikernel smoke test: boot one secondary on APIC ID 1 with the calibration the
# primary measured, list the kernels, and give the secondary time to reach its init.
. /exp/lib.sh
khz=$(dmesg | sed -n 's/.*tsc: Detected \([0-9]*\)\.\([0-9]\{3\}\) MHz.*/\1\2/p' | head -1)
lpj=$(dmesg | sed -n 's/.*(lpj=\([0-9]*\)).*/\1/p' | head -1)
kv tsc_khz "$khz"
kv lpj "$lpj"
popcornctl boot --apic 1 --mem 0x40000000:0x8000000 --low 0x20000 \
	--kernel /boot/bzImage --initrd /boot/secondary.cpio.gz \
	--cmdline "earlyprintk=serial,ttyS1,115200,keep 8250.nr_uarts=0 nokaslr no5lvl acpi=off noapic nr_cpus=1 pci=off nowatchdog panic=0 no_ipi_broadcast=1 tsc_early_khz=$khz lpj=$lpj rdinit=/init popcorn.exp=boot"
kv boot_rc $?
popcornctl list
sleep 10
