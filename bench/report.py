#!/usr/bin/env python3
"""bench/report.py OUT USER... — turns bench/run's raw results into Markdown tables and goal lines."""
import json
import os
import re
import statistics as st
import sys

out, users = sys.argv[1], sys.argv[2:]
J = os.path.join(out, "json")


def load(name):
    try:
        with open(os.path.join(J, name + ".json")) as f:
            return {r["command"]: r for r in json.load(f)["results"]}
    except OSError:
        return None


def ms(r):
    return st.median(r["times"]) * 1e3


goals = []
print(f"# jail benchmarks — raw data in {J}\n")

# 1, 2 -----------------------------------------------------------------------------------------
launch = {}
for kind, title in (("net", "full isolation (new network namespace)"),
                    ("nonet", "host network (no new network namespace)")):
    rows = {u: load(f"launch-{kind}-{u}") for u in users}
    if not any(rows.values()):
        continue
    print(f"## Launch of /bin/true, {title}: median ms (ratio to bwrap; to the floor), "
          "and the fastest run\n")
    print("| launcher | " + " | ".join(f"as {u}" for u in users) + " |")
    print("|---|" + "---|" * len(users))
    for name in ("bare", "jail", "bwrap", "firejail", "floor"):
        cells = []
        for u in users:
            r = rows[u]
            if not r or name not in r:
                cells.append("—")
                continue
            m, b = ms(r[name]), ms(r["bwrap"])
            fl = f"; {m / ms(r['floor']):.2f}× floor" if "floor" in r else ""
            launch[(kind, u, name)] = m
            cells.append(f"{m:.2f} ({m / b:.2f}×{fl}) min {min(r[name]['times']) * 1e3:.2f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
for kind in ("net", "nonet"):
    for u in users:
        if (kind, u, "jail") in launch:
            j, b, f = (launch[(kind, u, k)] for k in ("jail", "bwrap", "firejail"))
            fl = launch.get((kind, u, "floor"))
            goals.append(f"launch ({kind}, {u}): jail/bwrap = {j / b:.2f} (goal ≤ 0.65: "
                         f"{'met' if j / b <= 0.65 else 'MISSED'}); jail/firejail = {j / f:.3f}"
                         + (f"; jail − floor = {j - fl:.2f} ms (floor/bwrap = {fl / b:.2f})"
                            if fl else ""))

pt = os.path.join(J, "throughput.params")
if os.path.exists(pt):
    par, per = (int(x) for x in open(pt).read().split())
    rows = {u: {**(load(f"throughput-{u}") or {}), **(load(f"throughput-{u}-firejail") or {})}
            for u in users}
    print(f"## Throughput: {par} concurrent launchers × {per} launches of /bin/true, "
          "launches per second (ratio to bwrap)\n")
    print("| launcher | " + " | ".join(f"as {u}" for u in users) + " |")
    print("|---|" + "---|" * len(users))
    tput = {}
    for name in ("jail", "bwrap", "firejail", "floor"):
        cells = []
        for u in users:
            r = rows[u]
            if not r or name not in r:
                cells.append("—")
                continue
            t = par * per / (ms(r[name]) / 1e3)
            tput[(u, name)] = t
            b = par * per / (ms(r["bwrap"]) / 1e3)
            cells.append(f"{t:.0f}/s ({t / b:.2f}×)")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    for u in users:
        if (u, "jail") in tput and (u, "bwrap") in tput:
            k = tput[(u, "jail")] / tput[(u, "bwrap")]
            goals.append(f"throughput ({u}, {par} launchers): jail/bwrap = {k:.2f}× "
                         f"(goal ≥ 1.3: {'met' if k >= 1.3 else 'MISSED'})")

r = load("launch-breakdown-root")
if r:
    print("## Launch breakdown, as root, host network: median ms\n")
    print("| command | median ms | min ms |")
    print("|---|---|---|")
    for name, x in r.items():
        print(f"| {name} | {ms(x):.2f} | {min(x['times']) * 1e3:.2f} |")
    print()

# 3 --------------------------------------------------------------------------------------------
p = os.path.join(J, "seccomp.txt")
if os.path.exists(p):
    data = {}
    for line in open(p):
        cfg, call, ns = line.split()
        data.setdefault((cfg, call), []).append(float(ns))
    cfgs = ["bare", "jail", "bwrap-default", "bwrap-opt2", "firejail"]
    med = {k: st.median(v) for k, v in data.items()}
    try:
        fl = json.load(open(os.path.join(J, "jail-filter.json")))
        jail_desc = f"jail (one program: {'+'.join(map(str, fl['insns']))} insns, merged at install)"
    except OSError:
        jail_desc = "jail"
    sizes = {}
    for c, fn in (("bwrap-default", "filter-default.bpf"), ("bwrap-opt2", "filter-opt2.bpf")):
        try:
            sizes[c] = os.path.getsize(os.path.join(out, "bin", fn)) // 8
        except OSError:
            pass
    label = {"bare": "bare (no filter)", "jail": jail_desc,
             "bwrap-default": f"bwrap + libseccomp, default ({sizes.get('bwrap-default', '?')} insns)",
             "bwrap-opt2": f"bwrap + libseccomp, OPTIMIZE=2 ({sizes.get('bwrap-opt2', '?')} insns)",
             "firejail": "firejail --seccomp (its default list)"}
    mins = {k: min(v) for k, v in data.items()}
    n = len(data.get(("bare", "getppid"), []))
    print(f"## Per-syscall cost of the seccomp filter: ns per call, median of {n} rounds "
          "(overhead over bare); each round is the median of 20 chunks; [fastest round]\n")
    print("| filter | getppid | ioctl(FIONREAD) |")
    print("|---|---|---|")
    for c in cfgs:
        if (c, "getppid") not in med:
            continue
        cells = []
        for call in ("getppid", "ioctl"):
            m, b = med[(c, call)], med[("bare", call)]
            cells.append(f"{m:.1f}" + ("" if c == "bare" else f" ({m - b:+.1f})")
                         + f" [{mins[(c, call)]:.1f}]")
        print(f"| {label[c]} | " + " | ".join(cells) + " |")
    print()
    if ("jail", "ioctl") in med and ("bwrap-opt2", "ioctl") in med:
        for call in ("getppid", "ioctl"):
            jo = med[("jail", call)] - med[("bare", call)]
            bo = med[("bwrap-opt2", call)] - med[("bare", call)]
            goals.append(f"seccomp {call}: jail {jo:+.1f} ns vs bwrap+libseccomp OPTIMIZE=2 {bo:+.1f} ns "
                         f"(goal ≤: {'met' if jo <= bo + 2 else 'MISSED'}; within 2 ns counts as equal)")

# 4 --------------------------------------------------------------------------------------------
r = load("compile-explain")
if r:
    base = ms(r["jail --version"])
    print("## Compile: `jail explain --profile X --format json`, median ms (minus `jail --version`)\n")
    print("| command | median ms | compile ≈ ms |")
    print("|---|---|---|")
    worst = 0
    for name, x in r.items():
        m = ms(x)
        d = m - base if name != "jail --version" else 0
        if name != "jail --version":
            worst = max(worst, d)
        print(f"| {name} | {m:.2f} | {'' if name == 'jail --version' else f'{d:.2f}'} |")
    print()
    try:
        skipped = [l.strip() for l in open(os.path.join(J, "compile-skipped.txt")) if l.strip()]
    except OSError:
        skipped = []
    if skipped:
        print(f"Not compilable on this machine, so not timed ({len(skipped)}):\n")
        for l in skipped:
            print(f"- {l}")
        print()
    goals.append(f"compile per shipped profile: worst ≈ {worst:.2f} ms over process startup "
                 f"(goal < 1 ms: {'met' if worst < 1 else 'MISSED'})")
r = load("compile-check")
if r:
    print("## `jail check` of generated profiles\n")
    print("| command | median ms |")
    print("|---|---|")
    for name, x in r.items():
        print(f"| {name} | {ms(x):.1f} |")
    big = [x for name, x in r.items() if "generated" in name]
    if big:
        nprof = int(re.search(r"\((\d+) generated", [n for n in r if "generated" in n][0]).group(1))
        m = ms(big[0])
        print(f"\nper profile: {m / nprof * 1e3:.0f} µs")
        goals.append(f"jail check of {nprof} profiles: {m:.0f} ms (goal < 1000 ms: "
                     f"{'met' if m < 1000 else 'MISSED'})")
    print()

# 4b -------------------------------------------------------------------------------------------
r = load("scale-check")
if r:
    ns = [int(k.split()[-1]) for k in r]
    print("## Scaling with the number of read-only grants: median ms (ratio to 10× fewer grants)\n")
    print("`jail check` of one profile with N grants:\n")
    print("| grants | " + " | ".join(f"{n:,}" for n in ns) + " |")
    print("|---|" + "---|" * len(ns) + "")
    cells, prev = [], None
    for n in ns:
        m = ms(r[f"jail check {n}"])
        cells.append(f"{m:.1f}" + (f" ({m / prev:.1f}×)" if prev else ""))
        prev = m
    print("| jail check | " + " | ".join(cells) + " |\n")
    if 1000 in ns and 10000 in ns:
        k = ms(r["jail check 10000"]) / ms(r["jail check 1000"])
        goals.append(f"jail check, 10,000 vs 1,000 grants: {k:.1f}× (goal ≤ ~10×: "
                     f"{'met' if k <= 12 else 'MISSED'})")
    print("`run -- /bin/true` with N grants (jail: `ro = [...]`; bwrap: `--ro-bind P P` each); "
          "cells: median ms (jail/bwrap):\n")
    print("| launcher | user | " + " | ".join(f"{n:,}" for n in ns) + " |")
    print("|---|---|" + "---|" * len(ns))
    for u in users:
        jr = {n: load(f"scale-launch-{u}-{n}") for n in ns}
        br = {n: load(f"scale-bwrap-{u}-{n}") for n in ns}
        for l, rows in (("jail", jr), ("bwrap", br)):
            cells = []
            for n in ns:
                x = rows[n]
                if not x:
                    cells.append("—")
                    continue
                m = ms(x[f"{l} {n}"])
                cell = f"{m:.1f}"
                if l == "jail" and br[n]:
                    cell += f" ({m / ms(br[n][f'bwrap {n}']):.2f}×)"
                if l == "bwrap" and len(x[f"{l} {n}"]["times"]) == 1:
                    cell += " (1 run)"
                cells.append(cell)
            print(f"| {l} | {u} | " + " | ".join(cells) + " |")
        if jr.get(1000) and jr.get(10000):
            k = ms(jr[10000]["jail 10000"]) / ms(jr[1000]["jail 1000"])
            goals.append(f"jail run, 10,000 vs 1,000 grants ({u}): {k:.1f}× (goal ≤ ~10×: "
                         f"{'met' if k <= 12 else 'MISSED'})")
        if jr.get(1000) and br.get(1000):
            k = ms(jr[1000]["jail 1000"]) / ms(br[1000]["bwrap 1000"])
            goals.append(f"jail/bwrap at 1,000 grants ({u}): {k:.2f}×")
    print()

# 5 --------------------------------------------------------------------------------------------
p = os.path.join(J, "rss.txt")
if os.path.exists(p):
    tm, tree = {}, {}
    for line in open(p):
        f = line.split()
        if f[2] == "time_maxrss_kb" and f[3].isdigit():
            tm.setdefault((f[0], f[1]), []).append(int(f[3]))
        elif f[2] == "tree":
            kv = dict(x.split("=", 1) for x in f[3:])
            tree.setdefault((f[0], f[1]), []).append(kv)
    print("## Memory: peak RSS, MB (median)\n")
    print("| launcher | user | /usr/bin/time %M | launcher process VmHWM while running | "
          "all launcher processes' RSS | processes |")
    print("|---|---|---|---|---|---|")
    for u in users:
        for l in ("jail", "bwrap", "firejail"):
            t = tm.get((u, l))
            tr = tree.get((u, l), [])
            hwm = st.median(int(x["top_hwm_kb"]) for x in tr) / 1024 if tr else float("nan")
            rs = st.median(int(x["sum_rss_kb"]) for x in tr) / 1024 if tr else float("nan")
            procs = tr[-1]["procs"] if tr else ""
            print(f"| {l} | {u} | {st.median(t) / 1024:.2f} | {hwm:.2f} | {rs:.2f} | {procs} |"
                  if t else f"| {l} | {u} | — | {hwm:.2f} | {rs:.2f} | {procs} |")
    print()
    for u in users:
        tj, tb = tree.get((u, "jail")), tree.get((u, "bwrap"))
        if tj and tb:
            j = st.median(int(x["top_hwm_kb"]) for x in tj)
            b = st.median(int(x["top_hwm_kb"]) for x in tb)
            goals.append(f"launcher RSS ({u}): jail {j / 1024:.2f} MB vs bwrap {b / 1024:.2f} MB "
                         f"(goal ≤: {'met' if j <= b else 'MISSED'} — {j / b:.2f}×)")

p = os.path.join(J, "pss.txt")
if os.path.exists(p):
    pss = {}
    for line in open(p):
        f = line.split()
        kv = dict(x.split("=", 1) for x in f[3:])
        pss.setdefault((f[0], f[1]), []).append(kv)
    n = next(iter(pss.values()))[0]["n"]
    print(f"## Memory per running sandbox, {n} at once: PSS of the launcher's own processes, kB "
          "(median of 3; ratio to bwrap)\n")
    print("| launcher | " + " | ".join(f"as {u}" for u in users) + " |")
    print("|---|" + "---|" * len(users))
    med = {k: st.median(int(x["per_sandbox_kb"]) for x in v) for k, v in pss.items()}
    for l in ("jail", "bwrap", "firejail"):
        cells = []
        for u in users:
            if (u, l) not in med:
                cells.append("—")
                continue
            b = med.get((u, "bwrap"))
            procs = pss[(u, l)][-1]["procs"]
            cells.append(f"{med[(u, l)]:.0f} ({med[(u, l)] / b:.2f}×; {int(procs) // int(n)} proc.)"
                         if b else f"{med[(u, l)]:.0f}")
        print(f"| {l} | " + " | ".join(cells) + " |")
    print()
    for u in users:
        if (u, "jail") in med and (u, "bwrap") in med:
            j, b = med[(u, "jail")], med[(u, "bwrap")]
            goals.append(f"PSS per sandbox ({u}, {n} at once): jail {j:.0f} kB vs bwrap {b:.0f} kB "
                         f"(goal ≤: {'met' if j <= b else 'MISSED'} — {j / b:.2f}×)")

print("## Goals of issue 20\n")
for g in goals:
    print(f"- {g}")
