#!/usr/bin/env bash
# The cgroup v2 test lane: boots Debian 12's stock kernel under QEMU on a pure
# cgroup v2 hierarchy (cgroup_no_v1=all) and runs nsrun's integration tests
# in it, as root and as an unprivileged user with a delegated subtree.  The
# exit status is the tests' (0 only if every run passed; 125 if the lane
# itself could not run).  See docs/vm-lane.md.
#
#   scripts/vm-lane.sh [--nsrun PATH] [--rootfs DIR] [--src DIR] [--users "root user"]
#       [--tests "PYTEST PATHS"] [--pytest-args "ARGS"] [--accel auto|kvm|tcg] [--cpus N]
#       [--mem MIB] [--timeout SECS] [--time-scale N] [--one-guest] [--keep] [--verbose]
#       [--no-install] [--cmd "SHELL COMMAND"]   (--cmd: run that as root in a guest instead)
#
# Defaults: build/nsrun, build/rootfs, this checkout's tests; the six checks,
# the lifecycle (limits and cleanup) tests and scripts/vm/test_*.py; as root
# and as uid 1000, each in a guest of its own, side by side (--one-guest: one
# after the other in one guest); TCG unless a hardware KVM works; a 290 s watchdog.
# Cache (kernel package, vmlinux, initramfs): $VM_LANE_DIR, else /var/tmp/vm-lane.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
t0=$(date +%s%N)

nsrun=$repo/build/nsrun
rootfs=$repo/build/rootfs
src=$repo
users="root user"
tests="tests/integration/test_security_checks.py tests/integration/test_lifecycle.py"
tests+=" tests/integration/test_vm_lane_cgroup_v2.py"
pytest_args="-v -rs -p no:cacheprovider"
accel=auto
cpus=2
mem=2048
timeout=290
boot_timeout=90
time_scale=""
parallel=1
cmd=""
keep=0
verbose=0
install=1
cache=${VM_LANE_DIR:-/var/tmp/vm-lane}

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
	case "$1" in
	--nsrun) nsrun=$2; shift 2 ;;
	--rootfs) rootfs=$2; shift 2 ;;
	--src) src=$2; shift 2 ;;
	--users) users=$2; shift 2 ;;
	--tests) tests=$2; shift 2 ;;
	--pytest-args) pytest_args=$2; shift 2 ;;
	--accel) accel=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--time-scale) time_scale=$2; shift 2 ;;
	--cmd) cmd=$2; shift 2 ;;
	--one-guest) parallel=0; shift ;;
	--keep) keep=1; shift ;;
	--verbose) verbose=1; shift ;;
	--no-install) install=0; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "vm-lane: unknown option $1" >&2; usage >&2; exit 125 ;;
	esac
done

# elapsed T: seconds since T (a date +%s%N), one decimal.
elapsed() { local d=$((($(date +%s%N) - $1) / 100000000)); echo "$((d / 10)).$((d % 10))"; }
log() { printf '[vm-lane %6ss] %s\n' "$(elapsed "$t0")" "$*"; }
die() { echo "vm-lane: $*" >&2; exit 125; }

[[ $(id -u) -eq 0 ]] || die "run as root (it installs packages with apt-get)"
[[ $(uname -m) == x86_64 ]] || die "x86_64 hosts only"
[[ $accel == auto || $accel == kvm || $accel == tcg ]] || die "--accel must be auto, kvm or tcg"

# ---------------------------------------------------------------- packages
need_pkgs() {
	local -a want=()
	command -v qemu-system-x86_64 >/dev/null || want+=(qemu-system-x86)
	# The static busybox: the dynamic one (package busybox) would need its libraries.
	if [[ ! -x /bin/busybox ]] || ldd /bin/busybox >/dev/null 2>&1; then want+=(busybox-static); fi
	command -v cpio >/dev/null || want+=(cpio)
	command -v depmod >/dev/null || want+=(kmod)
	command -v xz >/dev/null || want+=(xz-utils)
	command -v setpriv >/dev/null || want+=(util-linux)
	# The guest runs Debian's python3 from the host's /usr, never a pyenv or venv one.
	[[ -x /usr/bin/python3 ]] || want+=(python3)
	/usr/bin/python3 -c 'import pytest' 2>/dev/null || want+=(python3-pytest)
	echo "${want[*]}"
}
missing=$(need_pkgs)
if [[ -n $missing ]]; then
	[[ $install -eq 1 ]] || die "missing packages: $missing"
	log "installing $missing"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	if ! apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends $missing >/dev/null
	fi
	missing=$(need_pkgs)
	[[ -z $missing ]] || die "still missing after apt-get: $missing"
	log "installed"
fi

nsrun=$(realpath "$nsrun")
rootfs=$(realpath "$rootfs")
src=$(realpath "$src")
[[ -x $nsrun ]] || die "no nsrun binary at $nsrun: build it first (scripts/build)"
[[ -x $rootfs/usr/bin/python3 ]] || die "no rootfs at $rootfs: run scripts/build-rootfs"
[[ -d $src/tests/integration ]] || die "no tests/integration in $src"

# ---------------------------------------------------------------- kernel and initramfs (cached)
# The kernel is Debian's linux-image-amd64 of apt's sources.  Its .deb is only
# unpacked (dpkg-deb), never installed: the host's /boot is not touched.
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

t_prep=$(date +%s%N)
kernel_pkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
kpkg=$(kernel_pkg || true)
if [[ -z $kpkg ]]; then
	apt-get update -qq
	kpkg=$(kernel_pkg || true)
fi
[[ -n $kpkg ]] || die "apt knows no linux-image-amd64"
kver=${kpkg#linux-image-}
vmlinux=$cache/vmlinux-$kver
# In Debian's kernel virtio, virtio-mmio, 9p and virtio-rng are modules.
modlist="virtio_mmio 9pnet_virtio 9p virtio_rng"
ihash=$( (cat "$here/vm/init"; md5sum /bin/busybox; echo "$modlist") | md5sum | cut -c1-12)
initrd=$cache/initramfs-$kver-$ihash.cpio

# The bzImage's payload, uncompressed: -M microvm boots the ELF vmlinux
# through PVH, and TCG then does not spend seconds decompressing it.
extract_vmlinux() {
	local bz=$1 out=$2 off entry
	for entry in '\xfd\x37\x7a\x58\x5a\x00:xz -dc --single-stream' '\x28\xb5\x2f\xfd:zstd -dcq' \
		'\x1f\x8b\x08:gzip -dc'; do
		off=$(LC_ALL=C grep -obUaP "${entry%%:*}" "$bz" | head -1 | cut -d: -f1 || true)
		[[ -n $off ]] || continue
		tail -c +$((off + 1)) "$bz" | ${entry#*:} >"$out.tmp" 2>/dev/null || true
		if [[ $(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' ') == 7f454c46 ]]; then
			mv "$out.tmp" "$out"
			return 0
		fi
	done
	rm -f "$out.tmp"
	return 1
}

if [[ ! -s $vmlinux || ! -s $initrd ]]; then
	deb=$(find "$cache" -maxdepth 1 -name "${kpkg}_*.deb" | sort | tail -1)
	if [[ -z $deb ]]; then
		log "downloading $kpkg"
		(cd "$cache" && apt-get download -qq -o APT::Sandbox::User=root "$kpkg")
		deb=$(find "$cache" -maxdepth 1 -name "${kpkg}_*.deb" | sort | tail -1)
	fi
	kdir=$(mktemp -d "$cache/kernel.XXXXXX")
	trap 'rm -rf "$kdir"' EXIT
	log "unpacking $(basename "$deb")"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kdir" --wildcards './boot/vmlinuz-*' \
		"./lib/modules/$kver/kernel/*" "./lib/modules/$kver/modules.*"
	if [[ ! -s $vmlinux ]]; then
		extract_vmlinux "$kdir/boot/vmlinuz-$kver" "$vmlinux" || die "cannot extract vmlinux from vmlinuz-$kver"
	fi
	if [[ ! -s $initrd ]]; then
		depmod -b "$kdir" "$kver"
		ird=$kdir/initramfs
		mkdir -p "$ird/bin" "$ird/modules" "$ird/proc" "$ird/sys" "$ird/dev" "$ird/newroot"
		cp /bin/busybox "$ird/bin/busybox"
		install -m 755 "$here/vm/init" "$ird/init"
		# The modules and their dependencies, in load order.
		for m in $modlist; do
			modprobe -d "$kdir" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
		done | awk '!seen[$0]++' | while read -r ko; do
			name=$(basename "$ko")
			case "$name" in
			*.xz) name=${name%.xz}; xz -dc "$ko" >"$ird/modules/$name" ;;
			*.zst) name=${name%.zst}; zstd -dcq "$ko" >"$ird/modules/$name" ;;
			*) cp "$ko" "$ird/modules/$name" ;;
			esac
			echo "$name" >>"$ird/modules/order"
		done
		# Uncompressed: the kernel would only spend TCG time inflating it.
		(cd "$ird" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) >"$initrd.tmp"
		mv "$initrd.tmp" "$initrd"
	fi
	rm -rf "$kdir"
	trap - EXIT
	log "kernel $kver and initramfs ready ($(elapsed "$t_prep")s)"
fi
exec 9>&-

# ---------------------------------------------------------------- accelerator
# /dev/kvm is used only when kvm_intel or kvm_amd backs it and a test boot
# works.  PVM hosts (kvm_pvm) run only PVM-enabled guest kernels: a stock one
# crawls through KVM's instruction emulator and dies, so those get TCG.
kvm_reason=""
kvm_candidate() {
	if [[ ! -w /dev/kvm ]]; then kvm_reason="no writable /dev/kvm"; return 1; fi
	if [[ ! -d /sys/module/kvm_intel && ! -d /sys/module/kvm_amd ]]; then
		local mods=(/sys/module/kvm*)
		kvm_reason="/dev/kvm is backed by ${mods[*]##*/}, not kvm_intel or kvm_amd"
		return 1
	fi
}

# ---------------------------------------------------------------- boots
# Each guest runs in a background subshell (boot below); the script waits for
# them.  By default the root run and the user run get a guest each, side by
# side: a run keeps about one vCPU busy, so two guests nearly halve the time.
run_dirs=()
jobs_=()
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	local j d
	for j in "${jobs_[@]}"; do kill -TERM "$j" 2>/dev/null || true; done
	for j in "${jobs_[@]}"; do wait "$j" 2>/dev/null || true; done
	if ((keep == 0)); then for d in "${run_dirs[@]}"; do rm -rf "$d"; done; fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM HUP

sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
khz=$(awk -F: '/^cpu MHz/ {printf "%d", $2 * 1000; exit}' /proc/cpuinfo)

# boot DIR MODE ACCEL SECS USERS LABEL: one guest (run it in a subshell).
# Writes DIR/result: the guest's overall rc (125 if it wrote none) and the
# seconds QEMU ran.
boot() {
	local dir=$1 mode=$2 acc=$3 secs=$4 vm_users=$5 label=$6
	local qrc=0 tb share tag path ro rc out_pid="" up=0 now deadline boot_deadline
	local -a q accel_opts
	qemu_pid=""
	trap 'if [[ -n $qemu_pid ]]; then kill -9 "$qemu_pid" 2>/dev/null; fi; exit 143' TERM INT HUP
	mkdir -p "$dir/lane/build" "$dir/lane/policy" "$dir/lane/out" "$dir/lane/tests"
	cp "$nsrun" "$dir/lane/build/nsrun"
	if [[ -f $src/policy/seccomp.json ]]; then cp "$src/policy/seccomp.json" "$dir/lane/policy/"; fi
	cp -r "$src/tests/integration" "$dir/lane/tests/"
	cp "$here"/vm/test_*.py "$dir/lane/tests/integration/"
	cp "$here/vm/stage2" "$dir/lane/stage2"
	find "$dir/lane/tests" -name __pycache__ -prune -exec rm -rf {} +
	chmod -R a+rX "$dir/lane"
	{
		echo "LANE_MODE=$(sq "$mode")"
		echo "LANE_USERS=$(sq "$vm_users")"
		echo "LANE_UID=1000"
		echo "LANE_TESTS=$(sq "$tests")"
		echo "LANE_PYTEST_ARGS=$(sq "$pytest_args")"
		echo "LANE_RUN_TIMEOUT=$(sq "$((secs - 15))")"
		echo "LANE_TIME_SCALE=$(sq "${time_scale:-$([[ $acc == tcg ]] && echo 10 || echo 3)}")"
		echo "LANE_CMD=$(sq "$cmd")"
	} >"$dir/lane/lane.conf"
	: >"$dir/lane/out/lane.log"

	if [[ $acc == kvm ]]; then
		accel_opts=(-accel kvm -cpu "host,-arch-capabilities")
	else
		# qemu64 rather than max: guest code that finds no AVX takes paths TCG
		# runs faster (measured: about 0.55 s against 0.9 s per sandbox run).
		accel_opts=(-accel "tcg,thread=multi" -cpu "${VM_LANE_CPU:-qemu64}")
	fi
	local append="console=ttyS0 loglevel=4 rdinit=/init reboot=t panic=-1 mitigations=off"
	append+=" cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 random.trust_cpu=on tsc=reliable"
	# microvm has no HPET or ACPI PM timer: without this, TSC calibration
	# against the emulated PIT fails on a busy host and the boot hangs.
	if [[ -n $khz && $acc == tcg ]]; then append+=" tsc_early_khz=$khz"; fi
	q=(qemu-system-x86_64 -M "microvm,x-option-roms=off,isa-serial=on,rtc=on" "${accel_opts[@]}"
		-smp "$cpus" -m "$mem" -nodefaults -no-user-config -display none -monitor none -no-reboot
		-serial "file:$dir/console.log"
		-kernel "$vmlinux" -initrd "$initrd" -append "$append"
		-device virtio-rng-device)
	for share in "usr:/usr:on" "etc:/etc:on" "rootfs:$rootfs:on" "lane:$dir/lane:off"; do
		IFS=: read -r tag path ro <<<"$share"
		q+=(-fsdev "local,id=fs_$tag,path=$path,security_model=none,readonly=$ro,multidevs=remap"
			-device "virtio-9p-device,fsdev=fs_$tag,mount_tag=$tag")
	done

	tb=$(date +%s%N)
	# No stdio chardev (it reads stdin too, and EOF there stalls the guest):
	# the guest writes its log and status to the 9p share, the kernel to a file.
	"${q[@]}" </dev/null >"$dir/qemu.log" 2>&1 &
	qemu_pid=$!
	if [[ $mode != probe ]]; then
		tail -n +1 -s 0.5 -F --pid="$qemu_pid" "$dir/lane/out/lane.log" 2>/dev/null |
			sed -u "s/^/${label:+$label| }/" &
		out_pid=$!
	fi
	deadline=$(($(date +%s) + secs))
	boot_deadline=$(($(date +%s) + boot_timeout))
	while kill -0 "$qemu_pid" 2>/dev/null; do
		now=$(date +%s)
		if ((!up)) && grep -q '^\[guest .*\] up;' "$dir/lane/out/lane.log" 2>/dev/null; then up=1; fi
		if ((!up && now >= boot_deadline)); then
			log "${label:+$label: }the guest did not come up within ${boot_timeout}s; killing QEMU"
			kill -9 "$qemu_pid" 2>/dev/null || true
			break
		fi
		if ((now >= deadline)); then
			log "${label:+$label: }the guest ran for more than ${secs}s; killing QEMU"
			kill -9 "$qemu_pid" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
	wait "$qemu_pid" 2>/dev/null || qrc=$?
	qemu_pid=""
	if [[ -n $out_pid ]]; then wait "$out_pid" 2>/dev/null || true; fi
	rc=$(awk '$1 == "rc" {print $2}' "$dir/lane/out/status" 2>/dev/null | tail -1 || true)
	if [[ -z $rc ]]; then
		rc=125
		{
			log "${label:+$label: }the guest wrote no status (QEMU exit $qrc); its console and QEMU's messages:"
			tail -n 40 "$dir/console.log" | sed 's/^/  console| /' || true
			sed 's/^/  qemu| /' "$dir/qemu.log" || true
		} >"$dir/failure.log"
		if [[ $mode != probe ]]; then cat "$dir/failure.log"; fi
	elif [[ $verbose -eq 1 ]]; then
		sed "s/^/  ${label:+$label }console| /" "$dir/console.log"
	fi
	echo "$rc $(elapsed "$tb")" >"$dir/result"
}

# new_run_dir: a fresh staging dir in $new_dir, removed at exit unless --keep.
new_run_dir() {
	new_dir=$(mktemp -d "$cache/run.XXXXXX")
	run_dirs+=("$new_dir")
}

if [[ $accel == auto ]]; then
	accel=tcg
	if kvm_candidate; then
		log "probing KVM with a test boot"
		new_run_dir
		(boot "$new_dir" probe kvm 30 "" "") || true
		if [[ $(cut -d' ' -f1 "$new_dir/result" 2>/dev/null) == 0 ]]; then
			accel=kvm
		else
			kvm_reason="the KVM test boot failed"
		fi
	fi
fi
log "accelerator: $accel${kvm_reason:+ (no KVM: $kvm_reason)}"

# What each guest runs: the command, all runs in one guest, or one guest per run.
vms=()
if [[ -n $cmd ]]; then
	vms=("cmd::")
elif [[ $parallel -eq 1 ]]; then
	for who in $users; do vms+=("tests:$who:$who"); done
else
	vms=("tests:$users:")
fi
log "booting ${#vms[@]} guest(s) of $kver (-M microvm, $cpus vCPUs, $mem MiB each); nsrun $nsrun"
log "runs: ${cmd:+the command }${cmd:-$users}"
vm_dirs=()
for vm in "${vms[@]}"; do
	IFS=: read -r mode vm_users label <<<"$vm"
	new_run_dir
	vm_dirs+=("$new_dir")
	(boot "$new_dir" "$mode" "$accel" "$timeout" "$vm_users" "$label") &
	jobs_+=("$!")
done
for j in "${jobs_[@]}"; do wait "$j" || true; done
jobs_=()

echo
log "summary"
status=0
for d in "${vm_dirs[@]}"; do
	read -r rc secs <"$d/result" 2>/dev/null || { rc=125; secs='?'; }
	out=$d/lane/out
	up=$(sed -n 's/^\[guest \([0-9.]*\)s\] up;.*/\1/p' "$out/lane.log" 2>/dev/null | head -1 || true)
	log "  guest $(basename "$d"): up at ${up:-?}s of its uptime; QEMU ran ${secs}s; rc $rc"
	if [[ -f $out/status ]]; then
		while read -r who wrc; do
			[[ $who == rc ]] && continue
			took=$(sed -n "s/^\[guest [0-9.]*s\] run '$who' exited [0-9]* after \([0-9.]*\)s$/\1/p" "$out/lane.log")
			line=$(awk -v who="$who" '
				/^\[guest .*=== as / {cur = ($0 ~ /=== as root/) ? "root" : "user"}
				cur == who && /^=+ .*(passed|failed|error|skipped|no tests ran).* in [0-9.]+s/ {last = $0}
				END {print last}' "$out/lane.log")
			log "    $who: exit $wrc after ${took:-?}s; ${line:-no pytest summary}"
		done <"$out/status"
	fi
	if [[ $rc -eq 125 ]]; then
		status=125
	elif [[ $rc -ne 0 && $status -eq 0 ]]; then
		status=1
	fi
	if [[ $keep -eq 1 ]]; then log "    kept $d (lane/out: lane.log, dmesg.log, status; console.log)"; fi
done
log "total wall time $(elapsed "$t0")s; exit status $status"
exit "$status"
