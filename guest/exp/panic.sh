# Crash this kernel on purpose (the isolation test): a real panic, through sysrq. A
# second first, so that the other kernels' messaging layers have seen it up.
. /exp/lib.sh
sleep 1
kv crashing now
echo c > /proc/sysrq-trigger
