# Interactive shell on the console (popcorn.exp=shell, `make shell`): for trying things
# by hand. Leaving the shell ends the machine.
echo "popcorn: interactive shell. Try:"
echo "  sh /exp/multikernel.sh     boot the configured secondaries, report, list them"
echo "  popcornctl list            the secondaries: CPUs, memory, state, heartbeat"
echo "  popcornctl console &       relay their consoles here (@@K<id>| lines)"
echo "  popcornctl stop ID         halt one; its CPUs and memory can boot again"
echo "  exit                       end the machine"
exec setsid cttyhack /bin/sh -i
