# The KVM probe: reaching this script proves the kernel decompressed, booted and ran init.
. /exp/lib.sh
kv probe ok
