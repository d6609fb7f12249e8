# Crash this kernel on purpose (the isolation test): a real panic, through sysrq.
. /exp/lib.sh
kv crashing now
echo c > /proc/sysrq-trigger
