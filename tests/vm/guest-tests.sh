#!/bin/bash
# Runs as root inside the test guest (Debian 12: systemd 252, cgroup v2), started by
# tests/vm/run.sh. Checks jail's [limits] for real, twice:
#   root  through the cgroup v2 back end (jail started in a delegated scope of its own:
#         `systemd-run --scope -p Delegate=yes jail run …`, the documented way for root);
#   user  (uid 1000, lingering, its systemd user manager running) through the systemd user scope
#         back end: jail asks the user manager on the user bus for app-jail-*.scope.
# Each check prints PASS/FAIL lines, each with a control that shows the same action works
# without the limit; the script exits 1 on any FAIL.
set -u
# Executing from the 9p share re-reads (and under TCG re-translates) the binary at every exec.
install -m 755 /mnt/host/jail /usr/local/bin/jail; J=/usr/local/bin/jail
# run.sh passes settings in /mnt/host/env (JAIL_VM_LAUNCHES: launches in the cleanup check,
# fewer under TCG emulation; JAIL_VM_ACCEL: kvm or tcg).
[ -f /mnt/host/env ] && . /mnt/host/env
LAUNCHES=${JAIL_VM_LAUNCHES:-200}
# Progress markers ("UPTIME STEP" lines) on the share: when a boot times out, run.sh prints the
# last step reached.
step() { echo "$(cut -d' ' -f1 /proc/uptime) $*" >> /mnt/host/out/progress; }
step "script start"
# JAIL_VM_MODE: root, user, or "root user" (run.sh boots once per mode to time-box each boot).
MODES=${JAIL_VM_MODE:-root user}; [ "$MODES" = default ] && MODES="root user"
UID_T=1000 USER_T=tester
fails=0 passes=0
pass() { echo "PASS: $*"; passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
now_us() { local s; s=$(date +%s%N); echo $((s / 1000)); }

echo "== guest: $(uname -r), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup), $(systemctl --version | head -1)"
echo "== uptime at script start: $(cut -d' ' -f1 /proc/uptime) s; ${JAIL_VM_ACCEL:-accelerator not said}, $LAUNCHES launches per cleanup check"
echo "== boot: $(systemd-analyze time 2>/dev/null | head -n 1); slowest units: $(systemd-analyze blame 2>/dev/null | head -n 5 | awk '{printf "%s%s %s", (NR>1?", ":""), $2, $1}')"

# A world-writable work folder: sandboxes get the current folder read-write and write the path
# of their cgroup there, so the checks can measure it from the outside.
W=/var/tmp/jailvm; rm -rf $W; mkdir -m 1777 $W; cd $W

# The unprivileged user's session: lingering + its systemd user manager + session bus.
step "starting the user manager of $USER_T"
loginctl enable-linger $USER_T
systemctl start user@$UID_T.service
for _ in $(seq 100); do [ -S /run/user/$UID_T/bus ] && break; sleep 0.1; done
echo "== user manager: $(systemctl is-active user@$UID_T.service), delegated controllers:" \
  "$(cat /sys/fs/cgroup/user.slice/user-$UID_T.slice/user@$UID_T.service/cgroup.controllers)"

# How each mode starts jail.
as_root() { systemd-run --scope --quiet -p Delegate=yes -- "$@"; }
as_user() {
  runuser -u $USER_T -- env -C $W XDG_RUNTIME_DIR=/run/user/$UID_T \
    DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/$UID_T/bus "$@"
}
# Root's launcher in the launch loop: a fresh cgroup of its own per jail, like the scope of
# systemd-run --scope -p Delegate=yes but without a round trip through PID 1 for each launch
# (slow under TCG). As systemd does for a scope, the launcher then removes that cgroup: jail's
# supervisor leaf, then the cgroup itself, which fails if jail left a sandbox cgroup in it.
as_root_fast() {
  local c=/sys/fs/cgroup/jailvm-launch rc
  mkdir $c || return 1
  sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' $c "$@"; rc=$?
  rmdir $c/jail-*-supervisor 2>/dev/null
  rmdir $c 2>/dev/null || { echo "left behind in $c: $(ls -d $c/*/)"; return 1; }
  return $rc
}
# Wait (up to 5 s) until the cgroups of earlier sandboxes are gone (systemd removes scopes
# asynchronously), so a measurement cannot pick a cgroup that is being torn down.
settle() { for _ in $(seq 50); do [ -z "$(jail_cgroups)" ] && return; sleep 0.1; done; }
user_units() { as_user systemctl --user list-units --all --no-legend --plain 'app-jail-*'; }
jail_cgroups() { find /sys/fs/cgroup -type d \( -name 'jail-*' -o -name 'app-jail-*' \) 2>/dev/null; }

# A fork storm: up to 200 children that sleep; says how many forks succeeded.
FORK_STORM='import os, time
kids = []
try:
    for i in range(200):
        p = os.fork()
        if p == 0:
            time.sleep(30); os._exit(0)
        kids.append(p)
    print("forked", len(kids))
except OSError as e:
    print("forked", len(kids), "then", e.strerror)
for k in kids:
    os.kill(k, 9)'
# 300 MiB held in memory, every page written (one memset: a pipe through `tail` took ~95 s
# under TCG on a busy host).
ALLOC="python3 -c 'b = b\"x\" * (300 << 20); print(\"survived\")'"
# Two busy loops (more than one CPU's worth of demand), after a mark that it started, until the
# measurement is done (a file `stop`; 60 s at most): a fixed duration was over before the
# measurement under TCG on a busy host.
# (Inside, /proc/self/cgroup is relative to the sandbox's cgroup namespace, so the checks find the
# sandbox's cgroup from the outside: jail-*-<seq>-<profile> (v2) or app-jail-*.scope (systemd).)
HOG='touch started
for i in 1 2; do timeout 60 sh -c "while [ ! -e stop ]; do :; done" & done; wait'

# CPU used by the cgroup of the running sandbox, from its own cpu.stat, over 3 s:
# "WALL PERIOD CPUMAX" = usage per wall-clock second and usage per elapsed bandwidth period (both
# in thousandths of a CPU; PERIOD is "-" when no bandwidth limit is in force), and cpu.max.
# Under TCG on a busy host the guest's period timer fires late, so the wall-clock share can fall
# below the quota; the per-period share is what the kernel grants, and the wall share must never
# exceed the quota.
stat_of() { awk -v k=$2 '$1==k{print $2}' $1/cpu.stat; }
measure_cpu() {
  local d u0 u1 t0 t1 p0 p1
  for _ in $(seq 100); do [ -e started ] && break; sleep 0.1; done
  d=$(jail_cgroups | grep -v -- '-supervisor$' | head -1)
  [ -n "$d" ] || { echo "no-cgroup - -"; return; }
  sleep 1   # let the hog get going
  u0=$(stat_of $d usage_usec); p0=$(stat_of $d nr_periods); t0=$(now_us)
  sleep 3
  u1=$(stat_of $d usage_usec); p1=$(stat_of $d nr_periods); t1=$(now_us)
  local per=-
  [ -n "$p1" ] && [ "$p1" -gt "$p0" ] && per=$(( (u1 - u0) * 10 / (p1 - p0) / 1000 ))
  echo "$(( (u1 - u0) * 1000 / (t1 - t0) )) $per $(tr ' ' / < $d/cpu.max 2>/dev/null || echo none)"
}

run_checks() {
  local mode=$1 X=$2 L=$3 out rc got n i left procs

  step "[$mode] jail doctor"
  echo "== [$mode] jail doctor"
  $X $J doctor 2>&1 | grep -i -A1 'cgroup' | head -4

  # (a) fork storm
  step "[$mode] fork storm under --pids 20"
  out=$($X $J run --pids 20 -- python3 -c "$FORK_STORM" 2>&1); rc=$?
  n=$(echo "$out" | awk '/^forked/{print $2}')
  ctl=$($X $J run -- python3 -c "$FORK_STORM" 2>&1 | awk '/^forked/{print $2}')
  if [ "$rc" = 0 ] && [ -n "$n" ] && [ "$n" -lt 20 ] && [ "$n" -ge 10 ] && [ "${ctl:-0}" = 200 ]; then
    pass "[$mode] fork storm stops at --pids 20: $n children forked, then: $(echo "$out" | grep -o 'then.*') (without --pids: $ctl)"
  else
    fail "[$mode] fork storm under --pids 20: rc=$rc, forked=${n:-?} (without --pids: ${ctl:-?}); output: $out"
  fi

  # (b) memory
  step "[$mode] 300 MiB under --memory 64MiB"
  out=$($X $J run --memory 64MiB -- sh -c "$ALLOC" 2>&1); rc=$?
  ctl=$($X $J run -- sh -c "$ALLOC" 2>&1)
  if [ "$rc" = 137 ] && echo "$out" | grep -q "memory limit.*was reached" && [ "$ctl" = survived ]; then
    pass "[$mode] 300 MiB under --memory 64MiB: exit 137, jail says: $(echo "$out" | grep 'memory limit') (without --memory: $ctl)"
  else
    fail "[$mode] 300 MiB under --memory 64MiB: rc=$rc (want 137), output: $out; without --memory: $ctl"
  fi

  # (c) CPU
  local wall per cmax cwall cper ccmax
  for lim in 0.5 none; do
    step "[$mode] CPU hog, --cpus $lim"
    rm -f started stop; settle
    # The control has a cgroup (to measure) but no CPU limit: --pids only.
    if [ $lim = none ]; then $X $J run --pids 100 -- sh -c "$HOG" >/dev/null 2>&1 &
    else $X $J run --cpus $lim -- sh -c "$HOG" >/dev/null 2>&1 & fi
    got=$(measure_cpu); touch stop; wait
    if [ $lim = 0.5 ]; then read -r wall per cmax <<< "$got"; else read -r cwall cper ccmax <<< "$got"; fi
  done
  if [ "$wall" != no-cgroup ] && [ "$per" != - ] && [ "$per" -ge 425 ] && [ "$per" -le 575 ] \
     && [ "$wall" -le 575 ] && [ "$cwall" != no-cgroup ] && [ "$cwall" -gt 575 ]; then
    pass "[$mode] CPU hog under --cpus 0.5 (cpu.max $cmax): $per/1000 CPU per bandwidth period, $wall/1000 per wall second (without --cpus: $cwall/1000 per wall second)"
  else
    fail "[$mode] CPU hog under --cpus 0.5 (cpu.max $cmax): $per/1000 CPU per period (want 425..575), $wall/1000 per wall second (want <= 575); without --cpus: $cwall/1000 (want > 575)"
  fi

  # (d) cleanup after $LAUNCHES launches (each leaves a background process for the teardown to kill)
  local t0 bad=0
  t0=$(now_us)
  for i in $(seq $LAUNCHES); do
    [ $((i % 10)) = 1 ] && step "[$mode] cleanup check: launch $i of $LAUNCHES"
    $L $J run -q --pids 50 --memory 64MiB -- sh -c 'sleep 6161 & exit 0' || bad=$((bad + 1))
  done
  echo "   $LAUNCHES launches in $(( ($(now_us) - t0) / 1000 )) ms, $bad failed"
  sleep 0.5
  left=$(jail_cgroups); units=$(user_units); procs=$(pgrep -f 'sleep 6161')
  if [ $bad = 0 ] && [ -z "$left$units$procs" ]; then
    pass "[$mode] $LAUNCHES launches: no cgroup, scope or process left"
  else
    fail "[$mode] $LAUNCHES launches: failed=$bad cgroups=[$left] units=[$units] procs=[$procs]"
  fi

  # (d') SIGKILL of jail mid-run; then `jail doctor` (and the next run) clean up
  step "[$mode] SIGKILL of jail mid-run"
  rm -f started
  $X $J run --pids 50 --memory 64MiB -- sh -c 'touch started; sleep 6262' &
  for _ in $(seq 100); do [ -e started ] && break; sleep 0.1; done
  local jpid; jpid=$(pgrep -x -u $([ $mode = root ] && echo 0 || echo $UID_T) jail | head -1)
  local during; during=$(jail_cgroups | wc -l)
  kill -9 "$jpid"; wait 2>/dev/null
  sleep 1
  $X $J doctor >/dev/null 2>&1
  $X $J run -q --pids 50 -- true
  sleep 0.5
  left=$(jail_cgroups); units=$(user_units); procs=$(pgrep -f 'sleep 6262')
  if [ -n "$jpid" ] && [ "$during" -gt 0 ] && [ -z "$left$units$procs" ]; then
    pass "[$mode] SIGKILL of jail (pid $jpid, $during cgroup(s) while running): nothing left afterwards"
  else
    fail "[$mode] SIGKILL of jail (pid ${jpid:-not found}, $during cgroups while running): cgroups=[$left] units=[$units] procs=[$procs]"
  fi
}

# Root from a cgroup shared with other processes (this service: runner, shell, jail), where the
# v2 back end cannot enable controllers (no-internal-processes rule): jail asks the system manager
# for a scope on the system bus instead.
root_shared_cgroup() {
  local out rc n back left
  step "[root, shared cgroup] fork storm, memory, cleanup"
  back=$($J doctor 2>&1 | grep -o 'back end: [A-Za-z0-9-]*')
  out=$($J run --pids 20 -- python3 -c "$FORK_STORM" 2>&1); rc=$?
  n=$(echo "$out" | awk '/^forked/{print $2}')
  if [ "$rc" = 0 ] && [ -n "$n" ] && [ "$n" -lt 20 ] && [ "$n" -ge 10 ]; then
    pass "[root, shared cgroup] $back: fork storm stops at --pids 20 ($n children forked)"
  else
    fail "[root, shared cgroup] $back: fork storm under --pids 20: rc=$rc, forked=${n:-?}; output: $out"
  fi
  out=$($J run --memory 64MiB -- sh -c "$ALLOC" 2>&1); rc=$?
  if [ "$rc" = 137 ] && echo "$out" | grep -q "memory limit.*was reached"; then
    pass "[root, shared cgroup] 300 MiB under --memory 64MiB: exit 137, jail says: $(echo "$out" | grep 'memory limit')"
  else
    fail "[root, shared cgroup] 300 MiB under --memory 64MiB: rc=$rc (want 137), output: $out"
  fi
  settle
  left=$(jail_cgroups; systemctl list-units --all --no-legend --plain 'app-jail-*')
  if [ -z "$left" ]; then pass "[root, shared cgroup] no cgroup or scope left"
  else fail "[root, shared cgroup] left behind: $left"; fi
}

# The Debian package (run.sh puts JAIL_DEB on the share as jail.deb), installed as an admin
# would and used as the lingering user would: a sandbox, the man page, bash completion, the
# collection in /usr/share, the AppArmor line of doctor, and a menu wrapper that calls
# /usr/bin/jail even when written by a jail from a build tree (issue 16).
package_checks() {
  local out rc P=/usr/bin/jail n total home=/home/$USER_T
  if [ ! -f /mnt/host/jail.deb ]; then
    echo "SKIPPED: no jail.deb on the share (JAIL_DEB unset): the package checks did not run"
    return
  fi
  step "[package] dpkg -i jail.deb"
  out=$(dpkg -i /mnt/host/jail.deb 2>&1); rc=$?
  if [ $rc = 0 ] && [ -x $P ] && [ -f /etc/apparmor.d/jail ]; then
    pass "[package] dpkg -i: $(dpkg-query -W -f '${Package} ${Version}' jail) installed; postinst said: $(echo "$out" | grep '^jail:' || echo nothing)"
  else
    fail "[package] dpkg -i failed (rc=$rc): $out"; return
  fi
  out=$(as_user $P --version 2>&1)
  if echo "$out" | grep -Eq '^jail [0-9.]+ \(commit [0-9a-f]{7}(-dirty)?\)$'; then pass "[package] $P --version: $out"
  else fail "[package] $P --version: $out"; fi
  out=$(as_user $P run -- /bin/true 2>&1); rc=$?
  if [ $rc = 0 ]; then pass "[package] as $USER_T: jail run -- /bin/true exits 0"
  else fail "[package] as $USER_T: jail run -- /bin/true: rc=$rc: $out"; fi
  step "[package] man, completion, list, doctor"
  out=$(as_user env MANWIDTH=200 MANPAGER=cat man jail 2>&1)
  if echo "$out" | grep -q 'Run an application in a sandbox described by a short TOML profile' \
     && as_user env MANPAGER=cat man 5 jail-profile 2>/dev/null | grep -q . \
     && as_user env MANPAGER=cat man jail-run 2>/dev/null | grep -q 'jail run'; then
    pass "[package] man jail, man 5 jail-profile and man jail-run show the pages"
  else fail "[package] man jail: $(echo "$out" | head -5)"; fi
  # What bash does on `jail ru<TAB>`: bash-completion loads the package's completion for jail on
  # demand and its function fills COMPREPLY.
  out=$(as_user bash -c '. /usr/share/bash-completion/bash_completion
    _completion_loader jail
    f=$(complete -p jail | sed -E "s/.*-F ([^ ]+).*/\1/")
    COMP_WORDS=(jail ru); COMP_CWORD=1; COMP_LINE="jail ru"; COMP_POINT=7
    "$f" jail ru jail; echo "${COMPREPLY[*]}"' 2>&1)
  if [ "$out" = run ]; then pass "[package] bash completes \`jail ru<TAB>\` to run"
  else fail "[package] bash completion of \`jail ru<TAB>\`: got [$out], want [run]"; fi
  out=$(as_user $P list 2>&1)
  n=$(echo "$out" | grep -c ' /usr/share/jail/profiles/[a-z0-9.-]*\.toml ')
  total=$(ls /usr/share/jail/profiles/*.toml | wc -l)
  if [ "$n" -gt 0 ] && [ "$n" = "$total" ] && ! echo "$out" | grep -q 'builtin:'; then
    pass "[package] jail list: all $n profiles come from /usr/share/jail/profiles"
  else fail "[package] jail list: $n of $total from /usr/share/jail/profiles: $(echo "$out" | head -5)"; fi
  out=$(as_user $P doctor 2>&1 | grep apparmor)
  if echo "$out" | grep -q '^ok   apparmor .*\(not enabled\|installed\)'; then pass "[package] jail doctor: $out"
  else fail "[package] jail doctor's apparmor line: [$out]"; fi
  # A menu entry for an app of the collection; wrappers written by the installed jail (first on
  # $PATH once the test build is gone) and by a copy in the user's build tree both call it.
  mkdir -p /usr/share/applications
  printf '[Desktop Entry]\nType=Application\nName=VLC\nExec=/usr/bin/vlc --started-from-file %%U\n' \
    > /usr/share/applications/vlc.desktop
  rm -f /usr/local/bin/jail
  runuser -u $USER_T -- install -D -m 755 /mnt/host/jail $home/src/jail/target/release/jail
  for who in jail $home/src/jail/target/release/jail; do
    rm -f $home/.local/share/applications/vlc.desktop
    out=$(as_user $who desktop install vlc 2>&1); rc=$?
    got=$(grep '^Exec=' $home/.local/share/applications/vlc.desktop 2>/dev/null)
    if [ $rc = 0 ] && [ "$got" = "Exec=$P run --profile vlc -- /usr/bin/vlc --started-from-file %U" ]; then
      pass "[package] \`$who desktop install vlc\` writes $got"
    else fail "[package] \`$who desktop install vlc\`: rc=$rc, $out; wrapper: [$got]"; fi
  done
  rm -rf $home/src $home/.local/share/applications/vlc.desktop
}

for m in $MODES; do
  case $m in
    root) run_checks root as_root as_root_fast; root_shared_cgroup ;;
    user) run_checks user as_user as_user; package_checks ;;
    *) fail "unknown JAIL_VM_MODE $m" ;;
  esac
done

step "done: $passes passed, $fails failed"
echo "== $passes passed, $fails failed (uptime $(cut -d' ' -f1 /proc/uptime) s)"
[ $fails = 0 ]
