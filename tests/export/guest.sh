#!/bin/bash
# Runs in the systemd + cgroup v2 test guest (tests/vm/run.sh), as root; tests/export/vm.rs puts
# PROBE_B64 (the static probe, base64), NS_NAMES and PATHS above this line. For each profile in
# PROFILES: the probe's facts inside `jail run`, and inside the exported bundle under runc and
# crun (both from Debian 12, installed in the guest image), must be the same. Prints one PASS or
# FAIL line per comparison (with the diff), exits 1 on any FAIL.
set -u
J=/mnt/host/jail
step() { echo "$(cut -d' ' -f1 /proc/uptime) $*" >> /mnt/host/out/progress; }
echo "guest: $(stat -fc %T /sys/fs/cgroup) at /sys/fs/cgroup; $(crun --version | head -n 1); $(runc --version | head -n 1)"
# runc (Go) raises its soft open-files limit to the hard one and passes it on; jail and crun keep
# the caller's. Start everything with soft = hard so the rlimit line compares.
ulimit -n "$(ulimit -Hn)"
d=$(mktemp -d /tmp/jail-export-vm.XXXXXX)
chmod 755 "$d"
echo "$PROBE_B64" | base64 -d > "$d/probe"
chmod 755 "$d/probe"
ns=
for n in $NS_NAMES; do ns="$ns$n:$(stat -L -c %i "/proc/self/ns/$n"),"; done
mkdir "$d/work"
cd "$d/work" || exit 1
fail=0
# Nothing a run mounts may show up in the guest's own mount table (its / is shared, as systemd
# makes it).
mounts() { grep -cF " $d" /proc/self/mountinfo; }
left() {  # left WHAT: FAIL if the mount table gained entries under $d since the last call
  local now; now=$(mounts)
  if [ "$now" != "$base" ]; then
    echo "FAIL $1 left $((now - base)) mounts under $d:"; grep -F " $d" /proc/self/mountinfo | head -n 3
    fail=1; base=$now
  fi
}
base=$(mounts)
for e in $PROFILES; do
  # An entry is NAME or NAME:OPTION (one option for both jail run and export, e.g. --memory=64MiB).
  prof=${e%%:*} opt=
  [ "$e" = "$prof" ] || opt=${e#*:}
  p=$(printf %s "$e" | tr -c 'a-zA-Z0-9' _)
  step "profile $e"
  # shellcheck disable=SC2086 # PATHS is a list; opt is one word or none
  # Under a memory limit on cgroup v2 the whole sandbox ends when the probe's child runs out
  # (memory.oom.group = 1, in jail and in the bundle): then the probe is killed too, and jail
  # and the runtimes must agree on that and on what it printed until then.
  "$J" run --profile "$prof" $opt --ro-bind "$d" -- "$d/probe" "$ns" $PATHS > "$d/jail.$p" 2> "$d/jail.$p.err"
  jrc=$?
  if [ $jrc != 0 ] && ! grep -q 'memory limit .* was reached' "$d/jail.$p.err"; then
    echo "FAIL $e: jail run exit $jrc:"; tail -n 15 "$d/jail.$p.err"; fail=1; continue
  fi
  left "$e: jail run"
  # shellcheck disable=SC2086
  "$J" export oci --profile "$prof" $opt --ro-bind "$d" --bundle "$d/b-$p" -- "$d/probe" "$ns" $PATHS 2> "$d/export.$p.err" \
    || { echo "FAIL $e: jail export oci: $(tail -n 3 "$d/export.$p.err")"; fail=1; continue; }
  for rt in runc crun; do
    "$rt" run --bundle "$d/b-$p" "jail-vm-$rt-$p" < /dev/null > "$d/$rt.$p" 2> "$d/$rt.$p.err"
    rc=$?
    "$rt" delete -f "jail-vm-$rt-$p" >/dev/null 2>&1
    left "$e: $rt"
    if [ $rc != 0 ] && [ $jrc = 0 ] || [ $rc = 0 ] && [ $jrc != 0 ]; then
      echo "FAIL $e: $rt run exit $rc, jail run exit $jrc: $(tail -n 3 "$d/$rt.$p.err")"; fail=1
    elif diff -u "$d/jail.$p" "$d/$rt.$p" > "$d/diff"; then
      echo "PASS $e: jail run and $rt print the same $(wc -l < "$d/jail.$p") facts (exit $jrc, $rc)"
    else
      echo "FAIL $e: jail run (-) and $rt (+) differ:"; cat "$d/diff"; fail=1
    fi
  done
  grep -E '^(pids|memory [0-9]+MiB)=|^ns ' "$d/jail.$p" | tr '\n' ' ' | sed "s/^/facts $e: /"; echo
done
cd / || exit 1
if ! rm -rf "$d"; then
  echo "FAIL: $d cannot be removed"
  fail=1
fi
exit $fail
