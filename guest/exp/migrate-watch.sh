# Migration, a destination's side (kernel 2 of guest/exp/migrate-check.sh): says each
# time it changes how many processes are here from other kernels, and how many
# migtest processes and keeper threads this kernel has, until it is stopped.
. /exp/lib.sh
last=
while :; do
	here=$(($(wc -l < /proc/popcorn_migrate) - 1))
	procs=$(cat /proc/[0-9]*/comm 2> /dev/null | grep -c -e '^migtest$' -e '^popcorn_mig')
	if [ "here=$here procs=$procs" != "$last" ]; then
		last="here=$here procs=$procs"
		kv watch "$last"
	fi
	sleep 0.3
done
