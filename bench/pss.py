#!/usr/bin/env python3
"""bench/pss.py LAUNCHER USER N CMD... — proportional memory (PSS) per running sandbox, N at once.

Starts N copies of CMD (as USER through runuser, unless root); each must run `/bin/sleep S` in a
sandbox. Once all N payloads are up, sums Pss (from /proc/PID/smaps_rollup) over every process of
every launcher tree — the payload (`sleep`) and runuser left out — and prints one line:
  USER LAUNCHER pss n=<sandboxes> procs=<launcher processes> pss_kb=<total> per_sandbox_kb=<total/N>
PSS splits shared pages among the processes that map them, so N sandboxes of one launcher share
its binary's pages: this is what one more sandbox costs the machine.
"""
import os
import subprocess
import sys
import time

from procs import tree

launcher, user, n, cmd = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
if user != "root":
    env = ["env", "-i", "PATH=/usr/bin:/bin", f"JAIL_PROFILE_PATH={os.environ.get('JAIL_PROFILE_PATH', '')}"]
    cmd = ["runuser", "-u", user, "--"] + env + cmd


def name(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


ps = [subprocess.Popen(cmd, cwd="/", stdout=subprocess.DEVNULL) for _ in range(n)]
deadline = time.time() + 20
while time.time() < deadline:
    trees = [tree(p.pid) for p in ps]
    if all(any(name(q) == "sleep" for q in t) for t in trees):
        break
    time.sleep(0.05)
else:
    sys.exit("bench/pss.py: the sandboxes did not all start")
time.sleep(0.2)
own = [q for t in (tree(p.pid) for p in ps) for q in t if name(q) not in ("sleep", "runuser", None)]
total = sum(pss_kb(q) for q in own)
print(f"{user} {launcher} pss n={n} procs={len(own)} pss_kb={total} per_sandbox_kb={total // n}")
for p in ps:
    p.wait()
