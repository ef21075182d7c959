#!/bin/bash
# Build the Debian 12 (bookworm) guest used by tests/vm/run.sh: real systemd 252, cgroup v2
# (unified, systemd's default), dbus-user-session + libpam-systemd so a lingering user gets a
# systemd user manager and a session bus.
#
# usage: build-image.sh OUTDIR  ->  OUTDIR/{vmlinuz,initrd.img,rootfs.ext4.zst}
#
# runc and crun: tests/export/vm.rs starts the bundles `jail export oci` writes in the guest
# (cgroup v2 under systemd, which crun accepts; this CI host's hybrid cgroups it refuses).
#
# man-db and bash-completion: guest-tests.sh installs the jail .deb (dpkg -i, no network in the
# guest) and checks `man jail` and bash completion as the lingering user.
#
# A oneshot unit (vmtest.service) runs /mnt/host/run.sh from the 9p share "hostshare", writes
# out/{stdout,stderr,rc,timing} to the share and powers the machine off. The image is made with
# `mke2fs -d` (no loop mounts, so it builds in containers) and is only ever booted with
# snapshot=on. run.sh caches OUTDIR keyed by a hash of this file: edit it and the image is rebuilt.
set -euo pipefail
O=${1:?usage: build-image.sh OUTDIR}
mkdir -p "$O"
O=$(cd "$O" && pwd)
R=$O/rootfs.tmp
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v zstd >/dev/null || need+=(zstd)
command -v mke2fs >/dev/null || need+=(e2fsprogs)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${need[@]}" >/dev/null
fi

rm -rf "$R"
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,dbus-user-session,libpam-systemd,linux-image-amd64,procps,busybox-static,util-linux,passwd,python3-minimal,man-db,bash-completion,runc,crun \
  bookworm "$R" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

echo vmtest > "$R/etc/hostname"
printf '127.0.0.1 localhost vmtest\n' > "$R/etc/hosts"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\nhostshare /mnt/host 9p trans=virtio,version=9p2000.L,msize=262144,nofail 0 0\n' > "$R/etc/fstab"
mkdir -p "$R/mnt/host"
# The unprivileged desktop user; the guest script turns on lingering for it.
chroot "$R" useradd -m -u 1000 -s /bin/bash tester

cat > "$R/usr/local/sbin/vmtest-runner" <<'RUNNER'
#!/bin/sh
out=/mnt/host/out; mkdir -p $out
echo "uptime-at-runner-start: $(cut -d' ' -f1 /proc/uptime)" > $out/timing
if [ -x /mnt/host/run.sh ]; then /mnt/host/run.sh > $out/stdout 2> $out/stderr; echo $? > $out/rc
else echo "no /mnt/host/run.sh" > $out/stderr; echo 127 > $out/rc; fi
echo "uptime-at-runner-end: $(cut -d' ' -f1 /proc/uptime)" >> $out/timing
sync; systemctl poweroff --no-block
RUNNER
chmod +x "$R/usr/local/sbin/vmtest-runner"
cat > "$R/etc/systemd/system/vmtest.service" <<'UNIT'
[Unit]
Description=Run /mnt/host/run.sh then power off
After=multi-user.target systemd-logind.service systemd-user-sessions.service
RequiresMountsFor=/mnt/host
[Service]
Type=exec
ExecStart=/usr/local/sbin/vmtest-runner
StandardOutput=journal+console
[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/vmtest.service "$R/etc/systemd/system/multi-user.target.wants/vmtest.service"
# Nothing waits for a login prompt; skip units that only cost boot time under TCG.
chroot "$R" systemctl mask getty@tty1.service serial-getty@ttyS0.service \
  apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer man-db.timer \
  systemd-timesyncd.service >/dev/null 2>&1 || true
printf '9p\n9pnet\n9pnet_virtio\nvirtio_pci\nvirtio_blk\next4\n' >> "$R/etc/initramfs-tools/modules"
# Smaller initrd: only the modules listed above plus what the running hardware needs.
sed -i 's/^MODULES=.*/MODULES=list/' "$R/etc/initramfs-tools/initramfs.conf"
chroot "$R" update-initramfs -u -k all >/dev/null
chroot "$R" apt-get clean
rm -rf "$R"/var/lib/apt/lists/* "$R"/usr/share/doc/* "$R"/usr/share/man/* "$R"/usr/share/locale/*

cp "$R"/boot/vmlinuz-* "$O/vmlinuz"
cp "$R"/boot/initrd.img-* "$O/initrd.img"
rm -f "$O/rootfs.ext4" "$O/rootfs.ext4.zst"
truncate -s 2G "$O/rootfs.ext4"
mke2fs -q -t ext4 -d "$R" "$O/rootfs.ext4"
zstd -q -T0 -6 --sparse "$O/rootfs.ext4" -o "$O/rootfs.ext4.zst"
rm -rf "$R" "$O/rootfs.ext4"
echo "image ready in $O"
