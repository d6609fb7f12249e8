#!/usr/bin/env bash
# Installs the Debian packages listed in setup/debian-packages.txt (or in the list file
# given as the argument, e.g. setup/debian-packages-test.txt) that are missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -euo pipefail
default_list="$(dirname "$0")/debian-packages.txt"
list="${1:-$default_list}"
missing=()
for pkg in $(sed 's/#.*//' "$list" | awk 'NF {print $1}'); do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
# Packages the pipeline fetches for the guest image (apt-get download, never
# installed here): apt's package lists must know them. Only the pipeline's list needs them.
guest_only=(nginx criu)
[[ "$list" -ef "$default_list" ]] || guest_only=()
lists_know() {
	for pkg in "${guest_only[@]}"; do
		policy=$(apt-cache policy "$pkg" 2>/dev/null || true)	# not piped: pipefail
		[[ "$policy" == *"Candidate: "[0-9]* ]] || return 1
	done
}
if [[ ${#missing[@]} -eq 0 ]]; then
	echo "I: Debian packages ($(basename "$list")): all $(sed 's/#.*//' "$list" | awk 'NF' | wc -l) present"
	lists_know && exit 0
	if [[ $(id -u) -ne 0 ]]; then
		echo "E: apt knows no ${guest_only[*]} (fetched for the guest image); run as root:" >&2
		echo "   apt-get update" >&2
		exit 1
	fi
	echo "I: apt's package lists do not know ${guest_only[*]}: apt-get update"
	apt-get update -q
	exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "E: missing Debian packages; run as root:" >&2
	echo "   apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi
echo "I: Debian packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
