# Helpers for experiment scripts. `kv key value` prints one result on the console,
# in the form the host parses (popart/console.py).
kv() {
	echo "@@POPCORN:KV $1=$2"
}
