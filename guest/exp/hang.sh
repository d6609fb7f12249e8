# A machine that stops answering, for the hardware target's power-cycle test: the SSH
# server goes away and the experiment never ends, as a hung kernel would look from the
# host. Only a power cycle brings such a machine back.
. /exp/lib.sh
kv hang begun
# Once the host follows this console (its tail over SSH), so that it sees the run begin.
while ! pidof tail > /dev/null; do sleep 0.2; done
killall dropbear
while :; do sleep 60; done
