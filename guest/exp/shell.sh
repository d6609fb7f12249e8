# Interactive shell on the console (popcorn.exp=shell): for trying things by hand.
# Leaving the shell ends the machine.
echo "popcorn: interactive shell; try 'popcornctl list', 'sh /exp/mk-smoke.sh'; exit ends the VM"
exec setsid cttyhack /bin/sh -i
