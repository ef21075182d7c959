"""bench/procs.py — the process tree of a launcher, shared by rss.py and pss.py."""
import os


def children(pid):
    """The direct children of `pid` (of every thread), from /proc."""
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def tree(pid):
    """`pid` and all its descendants, breadth first."""
    seen, todo = [], [pid]
    while todo:
        p = todo.pop(0)
        seen.append(p)
        todo += children(p)
    return seen
