#!/usr/bin/env python3
"""bench/rss.py LAUNCHER USER CMD... — memory of a launcher's own processes while its sandbox runs.

Starts CMD (as USER through runuser, unless root), which must run `/bin/sleep N` in a sandbox;
after half a second walks the process tree and prints one line:
  USER LAUNCHER tree n=<processes> top_hwm_kb=<VmHWM of the launcher process>
      sum_rss_kb=<VmRSS summed over every launcher process> procs=<comm:rss,...>
The payload (`sleep`) and runuser are left out. Read while the sandbox runs, so what a launcher
frees only at exit still counts.
"""
import os
import subprocess
import sys
import time

from procs import tree

launcher, user, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
if user != "root":
    env = ["env", "-i", "PATH=/usr/bin:/bin", f"JAIL_PROFILE_PATH={os.environ.get('JAIL_PROFILE_PATH', '')}"]
    cmd = ["runuser", "-u", user, "--"] + env + cmd
p = subprocess.Popen(cmd, cwd="/", stdout=subprocess.DEVNULL)
time.sleep(0.5)

def status(pid):
    d = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                d[k] = v.strip()
    except OSError:
        pass
    return d

def kb(s, key):
    return int(s.get(key, "0 kB").split()[0])

procs = [(pid, status(pid)) for pid in tree(p.pid)]
procs = [(pid, s) for pid, s in procs if s.get("Name") not in ("sleep", "runuser", None)]
top = procs[0][1] if procs else {}
print(f"{user} {launcher} tree n={len(procs)} top_hwm_kb={kb(top, 'VmHWM')} "
      f"sum_rss_kb={sum(kb(s, 'VmRSS') for _, s in procs)} "
      f"procs={','.join(s['Name'] + ':' + str(kb(s, 'VmRSS')) for _, s in procs)}")
p.wait()
