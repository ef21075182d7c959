#!/bin/bash
# Boot the Debian 12 test guest (systemd 252, cgroup v2, a lingering user) under QEMU TCG and run
# a guest script in it as root; print what the guest printed and exit with the script's status.
#
# usage: tests/vm/run.sh [GUEST_SCRIPT]      (default: tests/vm/guest-tests.sh)
#
# Environment:
#   JAIL_BIN      the jail binary to test (default: `cargo build --release`, honouring
#                 CARGO_TARGET_DIR). The guest is Debian 12 like the CI host, so a normal glibc
#                 build runs there.
#   JAIL_VM_CACHE where images are cached (default: tests/vm/cache, git-ignored). The image is
#                 keyed by a hash of build-image.sh: edit that script and the next run rebuilds.
#   JAIL_VM_TIMEOUT seconds one boot may take, boot to poweroff (default 300).
#   JAIL_VM_KEEP=1 keep the share directory (guest output + serial log) and say where it is.
#
#   JAIL_VM_MODES modes to boot for, one boot each (default "root user" for guest-tests.sh; the
#                 guest gets JAIL_VM_MODE); JAIL_VM_LAUNCHES launches in the cleanup check (200).
#
# Exit status: the guest script's (non-zero if any boot's was); 125 when a guest produced no
# result (boot failure, timeout).
# The guest sees the share at /mnt/host: run.sh (the guest script), jail, out/ (results).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
guest=${1:-$here/guest-tests.sh}
[ -f "$guest" ] || { echo "run.sh: no guest script $guest" >&2; exit 2; }
cache=${JAIL_VM_CACHE:-$here/cache}
timeout_s=${JAIL_VM_TIMEOUT:-300}
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

# 4. Boot, once per mode (each boot time-boxed): guest-tests.sh checks root (v2 back end) and the
# unprivileged user (systemd user scope) in separate boots; another guest script boots once.
if [ $# -eq 0 ]; then modes=${JAIL_VM_MODES:-root user}; else modes=${JAIL_VM_MODES:-default}; fi
status=0
for mode in $modes; do
  rm -rf "$share/out"
  { env | grep '^JAIL_VM_' | grep -v '^JAIL_VM_MODE=' | sed "s/=\(.*\)/='\1'/" || true
    echo "JAIL_VM_MODE='$mode'"; } > "$share/env"
  echo "==== boot ($mode)"
  # snapshot=on: guest writes go to a temporary overlay, the cached image never changes.
  t0=$(date +%s%N)
  set +e
  timeout "$timeout_s" qemu-system-x86_64 -accel tcg ${JAIL_VM_CPU:+-cpu $JAIL_VM_CPU} -m 2G -smp 2 -nographic -no-reboot \
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
  echo "run.sh: [$mode] qemu exit $q after $(( (t1 - t0) / 1000000000 )).$(( (t1 - t0) / 100000000 % 10 )) s; guest $(tr '\n' ' ' < "$out/timing" 2>/dev/null || echo 'wrote no timing')"
  if [ ! -f "$out/rc" ]; then
    echo "run.sh: [$mode] the guest produced no result (qemu exit $q; 124 = timed out after ${timeout_s}s); serial log tail:"
    tail -n 40 "$share/serial-$mode.log"
    status=125
    continue
  fi
  rc=$(cat "$out/rc")
  echo "run.sh: [$mode] guest script exit status $rc"
  [ "$rc" = 0 ] || [ $status = 125 ] || status=$rc
done
exit $status
