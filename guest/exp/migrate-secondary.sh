# The migrate experiment, kernel 1 (see migrate.sh): its pcn link, then, for each
# CRIU migration, the images and the process's output file from the primary on port
# 9100, criu restore (which waits for the process), and back to the primary on port
# 9101 restore's exit code and what the process wrote here.
. /exp/lib.sh
kv pcn_self "$(pcn_links)"
kv criu_check "$(criu check 2>&1 | tail -1 | tr ' ' '_')"
while :; do
	rm -rf /tmp/criu-img /tmp/criu-hold.out
	tcpcopy recv 9100 | tar x -C /
	criu restore -D /tmp/criu-img -o restore.log -v2
	rc=$?
	{
		echo "restore_rc=$rc"
		cat /tmp/criu-hold.out
		[ "$rc" = 0 ] || tail -5 /tmp/criu-img/restore.log
	} | tcpcopy send 10.78.0.1 9101
done
