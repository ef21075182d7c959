#!/usr/bin/env python3
"""bench/genprofiles.py OUT_DIR N — writes N valid, varied profiles for timing `jail check`.

Each uses a different mix of what real profiles hold: includes of the shipped profiles, optional
read-only and read-write paths, tmpfs, hides, namespaces, environment, limits, rlimits, seccomp
groups, names and argument rules, landlock ports. Deterministic (seeded), so runs compare.
"""
import os
import random
import sys

out, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
GROUPS = ["@clock", "@cpu-emulation", "@debug", "@module", "@mount", "@obsolete", "@raw-io",
          "@reboot", "@swap", "@keyring"]
CALLS = ["ptrace", "personality", "acct", "bpf", "perf_event_open", "userfaultfd", "kcmp",
         "process_vm_readv", "process_vm_writev", "io_uring_setup", "syslog", "vhangup"]
ENVK = ["EDITOR", "PAGER", "LC_ALL", "SHELL", "COLORTERM", "DISPLAY"]

def q(xs):
    return "[" + ", ".join(f'"{x}"' for x in xs) + "]"

os.makedirs(out, exist_ok=True)
for i in range(n):
    L = [f'description = "generated profile {i}"']
    inc = rng.choice([[], ["base"], ["default"], ["base", "shell"]])
    if inc:
        L.append(f"include = {q(inc)}")
    L += ["", "[namespaces]", f"net = {str(rng.random() < 0.5).lower()}",
          f"ipc = {str(rng.random() < 0.8).lower()}"]
    L += ["", "[process]", f'hostname = "gen{i}"', f"init = {str(rng.random() < 0.7).lower()}"]
    L += ["", "[filesystem]",
          f"ro = {q([f'?/opt/app{i}/{k}' for k in range(rng.randint(1, 6))] + ['/usr'])}",
          f"rw = {q([f'?~/work/p{i}-{k}' for k in range(rng.randint(0, 3))])}",
          f"tmpfs = {q([f'/var/cache/g{i}', '~/.cache'][:rng.randint(0, 2)])}",
          f"hide = {q([f'?~/.secret{k}' for k in range(rng.randint(0, 4))])}"]
    L += ["", "[env]", f"keep = {q(rng.sample(ENVK, rng.randint(0, 3)))}",
          f'set = {{ GEN_PROFILE = "{i}" }}', f"unset = {q(['SSH_AUTH_SOCK'])}"]
    if rng.random() < 0.5:
        L += ["", "[limits]", f'memory = "{rng.choice([256, 512, 1024])}MiB"',
              f"pids = {rng.randint(64, 4096)}", 'enforce = "best-effort"']
    L += ["", "[rlimits]", f"nofile = {rng.choice([1024, 4096, 65536])}", "core = 0"]
    deny = rng.sample(GROUPS, rng.randint(0, 4)) + rng.sample(CALLS, rng.randint(0, 5))
    L += ["", "[seccomp]", f"deny = {q(['@default-deny'] + deny)}"]
    for k in range(rng.randint(0, 3)):
        L += ["", "[[seccomp.rule]]", 'syscall = "personality"', "arg = 0", 'op = "ne"',
              f"value = {k}", 'action = "errno"']
    if rng.random() < 0.3:
        L += ["", "[landlock]", f"connect_tcp = [{rng.choice([80, 443, 8080])}]"]
    with open(os.path.join(out, f"gen{i:05d}.toml"), "w") as f:
        f.write("\n".join(L) + "\n")
