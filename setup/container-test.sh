#!/usr/bin/env bash
# make container-test: the Dockerfile built and tested with Debian's podman, no Docker
# engine or registry. A Debian 12 root made by debootstrap becomes the base image, the
# Dockerfile is built on it, and `make test`, then `make run`, run inside the image,
# privileged, with the kernel cache and results as volumes (`make run` reuses the kernel
# build of `make test`). Podman's settings and storage are private (CONTAINERS_CONF,
# CONTAINERS_STORAGE_CONF): the host's /etc/containers stays as it is. Everything lives
# under $POPCORN_CACHE/container.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
	echo "E: make container-test needs root (rootful podman, debootstrap): run it as root, e.g. sudo make container-test" >&2
	exit 1
fi
setup/install-debian-packages.sh setup/debian-packages-container.txt

state="${POPCORN_CACHE:-$HOME/.cache/popcorn-artifact}/container"
base=localhost/popcorn-base:bookworm
image=localhost/popcorn-artifact:test
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
mkdir -p "$state/conf" "$state/cache" "$state/results"

# This host may not raise a limit (no CAP_SYS_RESOURCE), and podman asks for 1048576
# open files and processes: its containers get this shell's limits instead, processes
# at most podman's own 32768.
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
cat >"$state/conf/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
CONF
cat >"$state/conf/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$state/storage"
runroot = "$state/run"
CONF
export CONTAINERS_CONF="$state/conf/containers.conf"
export CONTAINERS_STORAGE_CONF="$state/conf/storage.conf"

step_start=$SECONDS
step() {
	echo "I: container-test: $1 ($((SECONDS - step_start)) s so far)"
}

if podman image exists "$base"; then
	step "base image $base exists: kept (podman rmi it for a new one)"
else
	step "debootstrap: a Debian 12 root from $mirror"
	root="$state/base-root"
	rm -rf "$root"
	debootstrap --variant=minbase bookworm "$root" "$mirror" >"$state/debootstrap.log" 2>&1 || {
		echo "E: container-test: debootstrap failed, see $state/debootstrap.log" >&2
		exit 1
	}
	# Debian's own image's sources: bookworm, its updates and security (linux-source-6.12).
	rm -f "$root/etc/apt/sources.list"
	cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
	tar -C "$root" -c . | podman import - "$base" >/dev/null
	rm -rf "$root"
fi

# A proxy that intercepts TLS is trusted inside as it is here.
extra_ca=$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)
step "podman build (BASE=$base)"
podman build --pull=never --build-arg BASE="$base" --build-arg EXTRA_CA_CERTS="$extra_ca" \
	-t "$image" .

# Each command in its own container on the same volumes: `make run` after `make test`
# reuses the kernel build in the cache, and leaves its results and report on this host.
run_inside() {
	step "$* inside $image"
	podman run --rm --privileged \
		-v "$state/cache:/root/.cache/popcorn-artifact" \
		-v "$state/results:/artifact/results" \
		"$image" "$@"
}
status=0
run_inside make test || status=$?
step "make test exited $status"
if [[ $status -eq 0 ]]; then
	run_inside make run || status=$?
	step "make run exited $status; its results and report: $state/results"
fi
exit $status
