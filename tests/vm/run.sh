#!/bin/bash
# Boot the Debian 12 test guest (systemd 252, cgroup v2, a lingering user) under QEMU (KVM when a
# guest really boots with it, TCG emulation otherwise) and run a guest script in it as root;
# print what the guest printed and exit with the script's status.
#
# usage: tests/vm/run.sh [GUEST_SCRIPT]      (default: tests/vm/guest-tests.sh)
#
# Environment:
#   JAIL_BIN      the jail binary to test (default: `cargo build --release`, honouring
#                 CARGO_TARGET_DIR). The guest is Debian 12 like the CI host, so a normal glibc
#                 build runs there.
#   JAIL_DEB      a jail .deb (tests/vm_harness.rs builds it with cargo deb): the guest installs
#                 it with dpkg -i and checks it as the lingering user; without it those checks
#                 say they skipped.
#   JAIL_VM_CACHE where images are cached (default: tests/vm/cache, git-ignored). The image is
#                 keyed by a hash of build-image.sh: edit that script and the next run rebuilds.
#   JAIL_VM_ACCEL auto (default): KVM if /dev/kvm is usable and a probe boot of the guest kernel
#                 reaches its init stage within JAIL_VM_PROBE_TIMEOUT s (default 20), else TCG,
#                 saying why; kvm or tcg force one (kvm without the probe).
#   JAIL_VM_CPU   the -cpu model (default under KVM: the first of "host" and
#                 "host,-arch-capabilities" that the probe boots; under TCG: QEMU's default).
#   JAIL_VM_TIMEOUT seconds one boot may take, boot to poweroff (default 300 under KVM, 720
#                 under TCG). On a timeout the last step the guest script reported
#                 (out/progress on the share) is printed.
#   JAIL_VM_KEEP=1 keep the share directory (guest output + serial log) and say where it is.
#
#   JAIL_VM_MODES modes to boot for, one boot each (default "root user" for guest-tests.sh; the
#                 guest gets JAIL_VM_MODE); JAIL_VM_LAUNCHES launches in the cleanup check
#                 (default 200 under KVM, 30 under TCG, where one launch costs 1.3-2.5 s).
#
# Exit status: the guest script's (non-zero if any boot's was); 125 when a guest produced no
# result (boot failure, timeout).
# The guest sees the share at /mnt/host: run.sh (the guest script), jail, jail.deb, env (settings),
# out/ (results: stdout, stderr, rc, timing, progress).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
guest=${1:-$here/guest-tests.sh}
[ -f "$guest" ] || { echo "run.sh: no guest script $guest" >&2; exit 2; }
cache=${JAIL_VM_CACHE:-$here/cache}
export DEBIAN_FRONTEND=noninteractive

if ! command -v qemu-system-x86_64 >/dev/null || ! command -v zstd >/dev/null; then
  echo "run.sh: installing qemu-system-x86 zstd" >&2
  apt-get update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq qemu-system-x86 zstd >/dev/null
fi

# 1. The image: build once per version of build-image.sh (flock: parallel runs build it once).
key=$(sha256sum "$here/build-image.sh" | cut -c1-16)
img=$cache/$key
mkdir -p "$cache"
(
  flock 9
  if [ ! -f "$img/rootfs.ext4.zst" ]; then
    echo "run.sh: building the guest image $img (once per build-image.sh change, ~3 min)" >&2
    t0=$(date +%s)
    rm -rf "$img.tmp"
    "$here/build-image.sh" "$img.tmp" >"$cache/build-$key.log" 2>&1 || {
      tail -n 30 "$cache/build-$key.log" >&2; echo "run.sh: image build failed" >&2; exit 125; }
    rm -rf "$img"; mv "$img.tmp" "$img"
    # Older images are dead weight for a CI cache.
    find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
    echo "run.sh: image built in $(( $(date +%s) - t0 )) s" >&2
  fi
  if [ ! -f "$img/rootfs.ext4" ]; then
    zstd -q -d --sparse "$img/rootfs.ext4.zst" -o "$img/rootfs.ext4.tmp" && mv "$img/rootfs.ext4.tmp" "$img/rootfs.ext4"
  fi
) 9>"$cache/.lock"

# 2. The jail binary.
if [ -z "${JAIL_BIN:-}" ]; then
  (cd "$repo" && cargo build --release --quiet --bin jail)
  JAIL_BIN=${CARGO_TARGET_DIR:-$repo/target}/release/jail
fi
[ -x "$JAIL_BIN" ] || { echo "run.sh: jail binary $JAIL_BIN not executable" >&2; exit 2; }

# 3. The share: readable by the guest's unprivileged user; out/ is written by root in the guest.
share=$(mktemp -d /tmp/jail-vm.XXXXXX)
cleanup() { if [ "${JAIL_VM_KEEP:-}" = 1 ]; then echo "run.sh: kept $share" >&2; else rm -rf "$share"; fi; }
trap cleanup EXIT
chmod 755 "$share"
install -m 755 "$JAIL_BIN" "$share/jail"
install -m 755 "$guest" "$share/run.sh"
if [ -n "${JAIL_DEB:-}" ]; then install -m 644 "$JAIL_DEB" "$share/jail.deb"; fi

# 4. The accelerator. /dev/kvm can exist and still not run this guest (no access; a nested or
# paravirtual host whose KVM aborts on an MSR or never gets a stock kernel past the boot loader),
# so KVM is used only when the guest kernel, booted alone, reaches the point where it looks for
# its root file system (it then panics, and panic=-1 -no-reboot ends QEMU).
probe_log=$share/kvm-probe.log
kvm_boots() {  # $1 = -cpu model; says why not on stdout
  local t0 q
  t0=$(date +%s%N)
  set +e
  # (In a subshell whose stderr is dropped: bash's own "Aborted" line when QEMU aborts.)
  ( timeout "${JAIL_VM_PROBE_TIMEOUT:-20}" qemu-system-x86_64 -accel kvm -cpu "$1" -m 256M -smp 2 \
      -nographic -no-reboot -nic none -kernel "$img/vmlinuz" \
      -append "console=ttyS0 panic=-1 root=/dev/jail-probe-none" >"$probe_log" 2>&1 ) 2>/dev/null
  q=$?
  set -e
  probe_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  if [ $q = 0 ] && grep -aq 'Kernel panic' "$probe_log"; then return 0; fi
  if [ $q = 124 ]; then
    if grep -aq 'Linux version' "$probe_log"; then
      echo "the guest kernel started but did not reach its init stage in ${JAIL_VM_PROBE_TIMEOUT:-20} s"
    else
      echo "the guest kernel printed nothing in ${JAIL_VM_PROBE_TIMEOUT:-20} s (the console's last line: $(sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g; s/\r//g' "$probe_log" | grep -a -v -e '^ *$' -e 'terminating on signal' | tail -n 1))"
    fi
  else
    echo "QEMU exited with status $q: $(grep -a -m 1 -i 'error' "$probe_log" || tail -n 1 "$probe_log")"
  fi
  return 1
}
accel=${JAIL_VM_ACCEL:-auto}
cpu=${JAIL_VM_CPU:-}
case $accel in
  kvm) cpu=${cpu:-host}; echo "run.sh: KVM (JAIL_VM_ACCEL=kvm), -cpu $cpu" ;;
  tcg) echo "run.sh: TCG emulation (JAIL_VM_ACCEL=tcg)" ;;
  auto)
    accel=tcg why=
    if [ ! -e /dev/kvm ]; then why="no /dev/kvm"
    elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
      why="no read-write access to /dev/kvm for $(id -un) ($(ls -l /dev/kvm | cut -d' ' -f1,3,4); join its group)"
    else
      for c in ${cpu:-host host,-arch-capabilities}; do
        if kvm_boots "$c" >"$share/probe-why"; then
          accel=kvm cpu=$c
          echo "run.sh: KVM: a probe boot with -cpu $c reached the guest kernel's init stage in $probe_ms ms"
          break
        fi
        why="${why:+$why; }-cpu $c: $(cat "$share/probe-why")"
      done
    fi
    [ $accel = kvm ] || echo "run.sh: KVM not usable ($why); falling back to TCG emulation (slow: the guest work is sized down)"
    ;;
  *) echo "run.sh: JAIL_VM_ACCEL must be auto, kvm or tcg, not $accel" >&2; exit 2 ;;
esac

# 5. Boot, once per mode (each boot time-boxed): guest-tests.sh checks root (v2 back end) and the
# unprivileged user (systemd user scope) in separate boots; another guest script boots once.
# A KVM boot that gives no result is retried once under TCG.
if [ $# -eq 0 ]; then modes=${JAIL_VM_MODES:-root user}; else modes=${JAIL_VM_MODES:-default}; fi
# Sized so that a boot fits with a wide margin: under TCG on a 2-core host loaded by other work
# (load 10) a boot took 366-428 s with 40 launches: ~2 min to boot, ~2.5 s per launch.
launches() { echo "${JAIL_VM_LAUNCHES:-$([ "$1" = kvm ] && echo 200 || echo 30)}"; }
timeout_of() { echo "${JAIL_VM_TIMEOUT:-$([ "$1" = kvm ] && echo 300 || echo 720)}"; }
[ $# -gt 0 ] || echo "run.sh: $(launches $accel) launches per cleanup check under ${accel^^}${JAIL_VM_LAUNCHES:+ (JAIL_VM_LAUNCHES)}; each boot may take $(timeout_of $accel) s"
status=0
boot() {  # $1 = mode, $2 = accelerator; sets q and timeout_s
  local mode=$1 acc=$2 t0 t1
  timeout_s=$(timeout_of "$acc")
  rm -rf "$share/out"
  { env | grep '^JAIL_VM_' | grep -v -e '^JAIL_VM_MODE=' -e '^JAIL_VM_LAUNCHES=' -e '^JAIL_VM_ACCEL=' \
      | sed "s/=\(.*\)/='\1'/" || true
    echo "JAIL_VM_MODE='$mode'"; echo "JAIL_VM_ACCEL='$acc'"; echo "JAIL_VM_LAUNCHES='$(launches "$acc")'"
  } > "$share/env"
  echo "==== boot ($mode, ${acc^^})"
  local accel_args=(-accel tcg ${JAIL_VM_CPU:+-cpu "$JAIL_VM_CPU"})
  [ "$acc" = kvm ] && accel_args=(-accel kvm -cpu "$cpu")
  # snapshot=on: guest writes go to a temporary overlay, the cached image never changes.
  t0=$(date +%s%N)
  set +e
  timeout "$timeout_s" qemu-system-x86_64 "${accel_args[@]}" -m 2G -smp 2 -nographic -no-reboot \
    -kernel "$img/vmlinuz" -initrd "$img/initrd.img" \
    -append "console=ttyS0 root=/dev/vda rw panic=-1 quiet systemd.show_status=0 ${JAIL_VM_KERNEL_ARGS:-}" \
    -drive "file=$img/rootfs.ext4,format=raw,if=virtio,snapshot=on" \
    -virtfs "local,path=$share,mount_tag=hostshare,security_model=none,id=hs" \
    -nic none >"$share/serial-$mode.log" 2>&1
  q=$?
  set -e
  t1=$(date +%s%N)
  out=$share/out
  echo "---- guest stdout"; cat "$out/stdout" 2>/dev/null || true
  if [ -s "$out/stderr" ]; then echo "---- guest stderr"; cat "$out/stderr"; fi
  echo "----"
  echo "run.sh: [$mode] ${acc^^}: qemu exit $q after $(( (t1 - t0) / 1000000000 )).$(( (t1 - t0) / 100000000 % 10 )) s; guest $(tr '\n' ' ' < "$out/timing" 2>/dev/null || echo 'wrote no timing')"
  # The guest script's progress markers ("UPTIME STEP" lines), as one line per boot.
  if [ -s "$out/progress" ]; then
    echo "run.sh: [$mode] steps at guest uptime (s): $(awk '{t=$1; $1=""; printf "%s%s %s", (NR>1?";":""), substr($0,2), t}' "$out/progress")"
  fi
}
for mode in $modes; do
  boot "$mode" "$accel"
  if [ ! -f "$out/rc" ] && [ "$accel" = kvm ]; then
    echo "run.sh: [$mode] the KVM guest produced no result (qemu exit $q); serial log tail:"
    tail -n 20 "$share/serial-$mode.log"
    echo "run.sh: [$mode] retrying this boot under TCG"
    boot "$mode" tcg
  fi
  if [ ! -f "$out/rc" ]; then
    if [ $q = 124 ]; then echo "run.sh: [$mode] TIMED OUT after ${timeout_s} s (JAIL_VM_TIMEOUT)"
    else echo "run.sh: [$mode] the guest produced no result (qemu exit $q)"; fi
    if [ -s "$out/progress" ]; then
      echo "run.sh: [$mode] the last step the guest script reached: $(tail -n 1 "$out/progress" | cut -d' ' -f2-) (since guest uptime $(tail -n 1 "$out/progress" | cut -d' ' -f1) s)"
    elif [ -f "$out/timing" ]; then
      echo "run.sh: [$mode] the guest script started ($(head -n 1 "$out/timing")) but reported no step"
    else
      echo "run.sh: [$mode] the guest never started the test script (stuck booting: see the serial log)"
    fi
    echo "run.sh: [$mode] serial log tail:"
    tail -n 40 "$share/serial-$mode.log"
    status=125
    continue
  fi
  rc=$(cat "$out/rc")
  echo "run.sh: [$mode] guest script exit status $rc"
  [ "$rc" = 0 ] || [ $status = 125 ] || status=$rc
done
exit $status
