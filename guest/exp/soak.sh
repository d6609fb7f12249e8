# Soak between kernels: the primary boots secondary 1 from the network image
# (soak-secondary.sh, udpsoak's receiver) and sends it popcorn.soak bytes of UDP at
# popcorn.soak_mbit Mbit/s over pcn1. The receiver checks every byte and reports; it
# then tells the primary (port 9003) that it is done.
. /exp/lib.sh
kv pcn_self "$(pcn_links)"
popcornctl console &
relay=$!
boot_secondary 1 "soak-secondary popcorn.stay=1 popcorn.soak=$(param popcorn.soak)" /boot/secondary-net.cpio.gz
kv k1_boot_rc $?
kv ping_1 "$(answered 10.78.0.2 3)"
sleep 1	# its receiver starts right after its links
kv soak_sent "$(udpsoak send 10.78.0.2 9002 "$(param popcorn.soak)" 1400 "$(param popcorn.soak_mbit)") tx_dropped=$(cat /sys/class/net/pcn1/statistics/tx_dropped)"
timeout 600 nc -l -p 9003 < /dev/null > /dev/null
kv receiver_done $?
sleep 1	# the relay
kill $relay
