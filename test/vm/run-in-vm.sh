#!/bin/bash
# run-in-vm.sh -- run one command as root inside a throw-away QEMU VM that
# boots Debian's own kernel (linux-image-amd64: vrf, ipvlan, dummy, macvlan,
# veth, bridge as modules) and sees the host's whole / read-only over 9p, with
# a tmpfs overlay on top for writes.  No disk image is built.  nexthop's
# vrf/ipvlan/dummy suites (test/**/*.vm.test.ts) run here because the dev/CI
# kernel lacks those drivers and cannot load modules.
#
#   run-in-vm.sh [options] -- command [args...]
#   run-in-vm.sh --setup
#
# The command runs in the guest in the same directory as here (or -C DIR),
# with stdin = /dev/null; its stdout+stderr stream to this script's stdout
# (serial console).  Guest writes are thrown away, except under -w shares.
#
# Exit status: the command's status; 124 timeout; 125 the VM died, panicked
#   or init failed (no status came back; rerun with -v); 129/130/143
#   interrupted by HUP/INT/TERM; 2 usage.  Setup failures (not root, apt,
#   kernel download) exit non-zero before booting, with a "vmtest:" message.
#
# Options:
#   -t SECS     wall-clock limit, boot included (default 600)
#   -m MEM      guest memory (default 2G; guest writes live in RAM)
#   -C DIR      working directory in the guest (default: $PWD)
#   -w PATH     share host PATH read-write at the same path (repeatable)
#   -e VAR=VAL  environment variable for the command (repeatable)
#   -v          verbose: kernel messages and init stage timings
#   --setup     only install qemu/xz, fetch the kernel, build the initramfs
#
# Environment: VMTEST_CACHE (default /var/cache/vmtest, ~435 MB, keep it out
# of the repo) holds the unpacked kernel package, its module tree and the
# initramfs.  Needs root (apt-get, mknod, reading all of / for the guest).
# Each boot-time choice (always TCG, PVH direct boot of the vmlinux, qboot,
# the kernel command line) is explained where it is made, below.
set -euo pipefail

SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
INIT_SRC=$SELF_DIR/init
CACHE=${VMTEST_CACHE:-/var/cache/vmtest}
TIMEOUT=600
MEM=2G
GUEST_CWD=$PWD
VERBOSE=0
SETUP_ONLY=0
ENVS=()
RWS=()

log() { echo "vmtest: $*" >&2; }
vlog() { [ "$VERBOSE" = 1 ] && log "$@"; return 0; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
need_arg() { [ $# -ge 2 ] || { log "option $1 needs an argument"; usage; }; }

while [ $# -gt 0 ]; do
	case $1 in
	-t) need_arg "$@"; TIMEOUT=$2; shift 2 ;;
	-m) need_arg "$@"; MEM=$2; shift 2 ;;
	-C) need_arg "$@"; GUEST_CWD=$2; shift 2 ;;
	-w) need_arg "$@"; RWS+=("$(realpath "$2")"); shift 2 ;;
	-e) need_arg "$@"; ENVS+=("$2"); shift 2 ;;
	-v) VERBOSE=1; shift ;;
	--setup) SETUP_ONLY=1; shift ;;
	--) shift; break ;;
	-h | --help) usage ;;
	*) log "unknown option $1"; usage ;;
	esac
done
[ $# -gt 0 ] || [ "$SETUP_ONLY" = 1 ] || usage
case $TIMEOUT in '' | *[!0-9]*) log "-t needs whole seconds"; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { log "needs root (apt-get, mknod, reading all of / for the guest)"; exit 1; }

now() { date +%s.%N; }
T0=$(now)
elapsed() { awk -v a="$T0" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }

######################################################################
# host packages, kernel, initramfs (cached; the initramfs is keyed by init's hash)

# apt with retries: CI mirrors can be slow or flaky.  An install that fails
# is retried after `apt-get update` (a fresh machine has no package lists).
APT_OPTS=(-o Acquire::Retries=3 -o Acquire::http::Timeout=60 -o APT::Sandbox::User=root)
apt_retry() { # apt-get args...
	local i
	for i in 1 2 3; do
		DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" "$@" >/dev/null 2>&1 && return 0
		log "apt-get $1 failed (attempt $i); updating package lists"
		DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" update >/dev/null 2>&1 || sleep $((i * 5))
	done
	DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" "$@" >&2   # last try, errors shown
}

ensure_host_packages() {
	local pkgs=()
	command -v qemu-system-x86_64 >/dev/null || pkgs+=(qemu-system-x86)
	command -v xz >/dev/null || pkgs+=(xz-utils)
	[ ${#pkgs[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null || { log "missing ${pkgs[*]} and no apt-get to install them"; exit 1; }
	log "installing ${pkgs[*]} (Debian, no recommends)"
	apt_retry install -y --no-install-recommends "${pkgs[@]}"
}

# copy module $1 and its dependencies (per modules.dep) into initramfs $2
add_module_closure() {
	local name=$1 ir=$2 line path dep
	line=$(grep -E "(^|/)${name}\.ko(\.[a-z]+)?:" "$KMODS/modules.dep" | head -n1) ||
		{ log "module $name not found"; return 1; }
	path=${line%%:*}
	[ -e "$ir/lib/modules/$KVER/$path" ] && return 0
	mkdir -p "$ir/lib/modules/$KVER/$(dirname "$path")"
	cp "$KMODS/$path" "$ir/lib/modules/$KVER/$path"
	echo "$line" >>"$ir/lib/modules/$KVER/modules.dep"
	for dep in ${line#*:}; do
		dep=$(basename "$dep"); add_module_closure "${dep%%.ko*}" "$ir"
	done
}

# Under TCG, decompressing the bzImage in the guest costs ~2 s; qemu boots the
# uncompressed ELF vmlinux directly through its PVH entry point (CONFIG_PVH=y
# in Debian's kernel), so extract it once.  busybox xzcat cannot (BCJ filter).
extract_vmlinux() { # $1 = kernel dir in cache
	local kd=$1 off
	grep -q '^CONFIG_PVH=y' "$kd/config" || return 0
	off=$(LC_ALL=C grep -aboP '\xfd7zXZ\x00' "$kd/vmlinuz" | head -n1 | cut -d: -f1)
	[ -n "$off" ] || return 0
	# xz complains about the bytes that follow the stream; the output is whole
	tail -c +$((off + 1)) "$kd/vmlinuz" | xz -dc >"$kd/vmlinux.tmp" 2>/dev/null || true
	if [ "$(head -c4 "$kd/vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
		mv "$kd/vmlinux.tmp" "$kd/vmlinux"
	else
		rm -f "$kd/vmlinux.tmp"
	fi
}

build_initramfs() { # $1 = kernel dir, $2 = output file
	local kd=$1 out=$2 ir
	ir=$(mktemp -d "$CACHE/.initramfs.XXXXXX")
	mkdir -p "$ir/bin" "$ir/dev" "$ir/lib/modules/$KVER"
	cp "$kd/busybox" "$ir/bin/busybox"
	install -m 0755 "$INIT_SRC" "$ir/init"
	mknod "$ir/dev/console" c 5 1
	for m in virtio_pci 9pnet_virtio 9p overlay; do add_module_closure "$m" "$ir"; done
	(cd "$ir" && find . | "$kd/busybox" cpio -o -H newc 2>/dev/null) | gzip -1 >"$out.tmp"
	mv "$out.tmp" "$out"
	rm -rf "$ir"
}

# The kernel package is the one linux-image-amd64 depends on; it is only
# downloaded and unpacked (dpkg -x), never installed: /boot stays untouched.
ensure_kernel() {
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	flock 9
	rm -rf "$CACHE"/.build.* "$CACHE"/.initramfs.* # leftovers of an interrupted build
	local kd=""
	[ -e "$CACHE/default/.complete" ] && kd=$(readlink -f "$CACHE/default")
	if [ -z "$kd" ]; then
		command -v apt-get >/dev/null || { log "no kernel in $CACHE and no apt-get to fetch one"; exit 1; }
		local pkg
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
		if [ -z "$pkg" ]; then
			apt_retry update
			pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
		fi
		[ -n "$pkg" ] || { log "cannot resolve linux-image-amd64"; exit 1; }
		kd=$CACHE/$pkg
		log "preparing $pkg in $kd (one-time)"
		local tmp kver
		tmp=$(mktemp -d "$CACHE/.build.XXXXXX")
		(cd "$tmp" && apt_retry download "$pkg" busybox-static)
		dpkg -x "$tmp"/linux-image-*.deb "$tmp/k"
		dpkg -x "$tmp"/busybox-static_*.deb "$tmp/bb"
		rm -rf "$kd"; mkdir -p "$kd/root/lib/modules"
		kver=$(ls "$tmp/k/lib/modules")
		mv "$tmp/k/boot/vmlinuz-$kver" "$kd/vmlinuz"
		mv "$tmp/k/boot/config-$kver" "$kd/config"
		mv "$tmp/k/lib/modules/$kver" "$kd/root/lib/modules/$kver"
		cp "$tmp/bb/bin/busybox" "$kd/busybox"
		echo "$kver" >"$kd/kver"
		extract_vmlinux "$kd"
		# modules.dep/alias for busybox modprobe (the host needs no kmod)
		"$kd/busybox" depmod -b "$kd/root" "$kver"
		rm -rf "$tmp"
		touch "$kd/.complete"
		ln -sfn "$(basename "$kd")" "$CACHE/default"
	fi
	KD=$kd
	KVER=$(cat "$kd/kver")
	KMODS=$kd/root/lib/modules/$KVER
	# One initramfs per init version: runs with different init scripts (another
	# checkout or worktree) can share the cache without rebuilding it
	# under each other's feet.
	INITRAMFS=$kd/initramfs-$(sha256sum <"$INIT_SRC" | cut -c1-16).cpio.gz
	if [ ! -e "$INITRAMFS" ]; then
		vlog "building $INITRAMFS"
		build_initramfs "$kd" "$INITRAMFS"
	fi
	flock -u 9
}

ensure_host_packages
ensure_kernel
vlog "kernel $KVER ready at $(elapsed)s"
[ "$SETUP_ONLY" = 1 ] && { log "ready: qemu $(qemu-system-x86_64 --version | head -n1 | awk '{print $4}'), kernel $KVER in $KD"; exit 0; }

######################################################################
# control share: config, command, exit code

CTL=$(mktemp -d /tmp/vmtest-ctl.XXXXXX)
QPID=""
cleanup() { [ -n "$QPID" ] && kill -TERM "$QPID" 2>/dev/null; rm -rf "$CTL"; }
trap cleanup EXIT

q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# the guest command gets a tty only if our stdout is one (checked here: inside
# the { } >file blocks below, fd 1 is the file)
STDOUT_TTY=0 COLS=80 ROWS=24
if [ -t 1 ]; then
	STDOUT_TTY=1
	read -r ROWS COLS < <(stty size 2>/dev/null </dev/tty || echo 24 80)
fi

{
	echo "VM_CWD=$(q "$GUEST_CWD")"
	echo "VM_KMODS=$(q "$KMODS")"
	echo "VM_VERBOSE=$VERBOSE"
	echo "VM_TTY=$STDOUT_TTY VM_COLS=$COLS VM_ROWS=$ROWS"
} >"$CTL/config"

{
	echo "export PATH=$(q "$PATH") HOME=/root TERM=$(q "${TERM:-dumb}") LANG=$(q "${LANG:-C.UTF-8}")"
	for e in "${ENVS[@]}"; do echo "export $(q "$e")"; done
	printf 'exec'
	for a in "$@"; do printf ' %s' "$(q "$a")"; done
	echo
} >"$CTL/cmd.sh"

RW_ARGS=()
: >"$CTL/rwshares"
i=0
for p in "${RWS[@]}"; do
	RW_ARGS+=(-virtfs "local,path=$p,mount_tag=rw$i,security_model=passthrough")
	echo "rw$i $p" >>"$CTL/rwshares"
	i=$((i + 1))
done

# panic=-1: reboot at once on a panic, and -no-reboot turns that into qemu
# exiting.  cryptomgr.notests saves ~0.15 s of crypto self-tests under TCG.
APPEND="console=ttyS0 panic=-1 reboot=t i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
APPEND+=" random.trust_cpu=on cryptomgr.notests mitigations=off"
if [ "$VERBOSE" = 1 ]; then APPEND+=" vmtest.verbose=1 printk.time=1"; else APPEND+=" quiet loglevel=1"; fi

KERNEL=$KD/vmlinuz
[ -e "$KD/vmlinux" ] && KERNEL=$KD/vmlinux # PVH direct boot, no decompression
FW=()
[ -e /usr/share/qemu/qboot.rom ] && FW=(-bios /usr/share/qemu/qboot.rom) # faster than SeaBIOS

# Always TCG: on the dev/CI machines /dev/kvm is PVM, which only runs
# PVM-enabled guest kernels (a stock kernel spins forever), and probing qemu
# cannot tell.  -cpu max exposes AVX2, which the normal Bun build needs.
QEMU=(qemu-system-x86_64 -machine q35 "${FW[@]}" -accel tcg,thread=multi -cpu max
	-m "$MEM" -smp "$(nproc)"
	-nodefaults -no-user-config -display none -vga none -monitor none -no-reboot
	-serial stdio
	-kernel "$KERNEL" -initrd "$INITRAMFS" -append "$APPEND"
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$CTL,mount_tag=vmctl,security_model=none"
	"${RW_ARGS[@]}"
	-device virtio-rng-pci) # no NIC: the guest cannot reach any network

vlog "starting qemu at $(elapsed)s"
set +e
# In the background with a trap, because bash defers traps while a foreground
# child runs and a background `timeout` ignores SIGINT in scripts.  stdin from
# /dev/null: -serial stdio would put a terminal into raw mode.
timeout -k 10 "$TIMEOUT" "${QEMU[@]}" </dev/null &
QPID=$!
SIGNALLED=""
for sig in INT TERM HUP; do
	# shellcheck disable=SC2064
	trap "SIGNALLED=$sig; kill -TERM \$QPID 2>/dev/null" $sig
done
while :; do
	wait "$QPID"; QRC=$?
	kill -0 "$QPID" 2>/dev/null || break # wait was interrupted by a trapped signal
done
QPID=""
set -e
vlog "qemu exited rc=$QRC at $(elapsed)s"

if [ -n "$SIGNALLED" ]; then
	log "interrupted by SIG$SIGNALLED"
	case $SIGNALLED in INT) exit 130 ;; HUP) exit 129 ;; *) exit 143 ;; esac
elif [ -s "$CTL/exitcode" ]; then
	exit "$(cat "$CTL/exitcode")"
elif [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
	log "timed out after ${TIMEOUT}s"
	exit 124
else
	log "VM exited without reporting an exit status (qemu rc=$QRC); rerun with -v for kernel messages"
	exit 125
fi
