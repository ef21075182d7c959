/* The isolation facts a sandboxed process can see, one `key=value` line each, so the same
 * program run under `jail run` and under an OCI runtime (runc, crun) of the exported bundle can
 * be compared line by line (tests/export/main.rs, vm.rs, engines.rs): capabilities, no_new_privs,
 * seccomp mode, ids, namespaces, the errno of denied system calls, rlimits, the pids and memory
 * limits as a process meets them, cgroup limit files where visible, the hostname, paths.
 *
 * argv: HOST_NS  PATH...   HOST_NS = "user:INODE,pid:INODE,..." (the caller's namespaces);
 * each PATH is reported as missing / hidden (exists but empty or unreadable) / ro / rw. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

static void status_line(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            char *v = line + n + 1;
            while (*v == ' ' || *v == '\t') v++;
            v[strcspn(v, "\n")] = 0;
            printf("%s=%s\n", key, v);
        }
    }
    if (f) fclose(f);
}

static const char *err(int r) { return r == 0 ? "ok" : strerrorname_np(errno); }

static void path_fact(const char *p) {
    struct stat st;
    const char *what;
    if (lstat(p, &st) != 0) {
        what = "missing";
    } else if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(p);
        int entries = 0;
        struct dirent *e;
        while (d && (e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) entries++;
        if (d) closedir(d);
        if (!d || entries == 0) what = "hidden";
        else if (access(p, W_OK) == 0) what = "rw";
        else what = "ro";
    } else {
        /* Hidden: nothing to read. jail masks a file with an empty unreadable one; runc and crun
         * (maskedPaths) bind /dev/null over it, which opens and reads as empty. */
        int fd = open(p, O_RDONLY | O_NONBLOCK);
        char c;
        if (fd < 0 || read(fd, &c, 1) <= 0) what = "hidden";
        else if (access(p, W_OK) == 0) what = "rw";
        else what = "ro";
        if (fd >= 0) close(fd);
    }
    printf("path %s=%s\n", p, what);
}

/* The pids limit as a process sees it: children (blocked on a pipe) are started until fork fails;
 * the processes then in the pid namespace are what the limit allows. Capped at PIDS_CAP. */
#define PIDS_CAP 400
static void pids_fact(void) {
    int p[2];
    if (pipe(p) != 0) { printf("pids=no pipe\n"); return; }
    pid_t kids[PIDS_CAP];
    int n = 0, e = 0;
    while (n < PIDS_CAP) {
        pid_t k = fork();
        if (k == 0) { char c; close(p[1]); (void)!read(p[0], &c, 1); _exit(0); }
        if (k < 0) { e = errno; break; }
        kids[n++] = k;
    }
    int procs = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] >= '1' && de->d_name[0] <= '9') procs++;
    if (d) closedir(d);
    close(p[1]);
    close(p[0]);
    for (int i = 0; i < n; i++) waitpid(kids[i], NULL, 0);
    if (n == PIDS_CAP) printf("pids=more than %d\n", PIDS_CAP);
    else printf("pids=fork %s with %d processes\n", strerrorname_np(e), procs);
}

/* The memory limit as a process meets it: a child touches MEM_MIB MiB, 1 MiB at a time. Under a
 * lower cgroup limit it is killed (SIGKILL of the OOM killer); under RLIMIT_AS malloc fails. */
#define MEM_MIB 96
static void memory_fact(void) {
    fflush(stdout);
    pid_t k = fork();
    if (k == 0) {
        for (int i = 0; i < MEM_MIB; i++) {
            char *m = malloc(1 << 20);
            if (!m) _exit(2);
            memset(m, i + 1, 1 << 20);
        }
        _exit(0);
    }
    int st = 0;
    if (k < 0 || waitpid(k, &st, 0) < 0) printf("memory %dMiB=no child\n", MEM_MIB);
    else if (WIFSIGNALED(st)) printf("memory %dMiB=killed by %s\n", MEM_MIB, sigabbrev_np(WTERMSIG(st)));
    else if (WEXITSTATUS(st) == 2) printf("memory %dMiB=malloc failed\n", MEM_MIB);
    else printf("memory %dMiB=touched\n", MEM_MIB);
}

/* Cgroup limit files, where the sandbox shows them (neither jail nor the bundles mount /sys). */
static void cgroup_facts(void) {
    static const char *files[] = {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/pids.max",
                                  "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                  "/sys/fs/cgroup/pids/pids.max"};
    int seen = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        FILE *f = fopen(files[i], "r");
        char v[64] = "";
        if (!f) continue;
        seen = 1;
        if (fgets(v, sizeof v, f)) v[strcspn(v, "\n")] = 0;
        fclose(f);
        printf("cgroup %s=%s\n", files[i], v);
    }
    if (!seen) printf("cgroup files=not visible\n");
}

int main(int argc, char **argv) {
    status_line("CapEff");
    status_line("CapPrm");
    status_line("CapBnd");
    status_line("CapAmb");
    status_line("NoNewPrivs");
    status_line("Seccomp");
    printf("uid=%d gid=%d\n", getuid(), getgid());

    /* Namespaces: new or the caller's. */
    char *host = argc > 1 ? strdup(argv[1]) : strdup("");
    for (char *tok = strtok(host, ","); tok; tok = strtok(NULL, ",")) {
        char *colon = strchr(tok, ':');
        if (!colon) continue;
        *colon = 0;
        char p[64];
        snprintf(p, sizeof p, "/proc/self/ns/%s", tok);
        struct stat st;
        if (stat(p, &st) != 0) printf("ns %s=unreadable\n", tok);
        else printf("ns %s=%s\n", tok, (unsigned long)st.st_ino == strtoul(colon + 1, 0, 10) ? "host" : "new");
    }

    /* Denied system calls and the errno they get. */
    printf("unshare(CLONE_NEWUSER)=%s\n", err(unshare(CLONE_NEWUSER)));
    printf("unshare(CLONE_NEWNET)=%s\n", err(unshare(CLONE_NEWNET)));
    printf("mount(tmpfs)=%s\n", err(mount("none", "/tmp", "tmpfs", 0, NULL)));
    char c = 'x';
    printf("ioctl(TIOCSTI)=%s\n", err(ioctl(0, TIOCSTI, &c)));
    printf("clone3=%s\n", err((int)syscall(SYS_clone3, NULL, 0)));
    char f[] = "/tmp/jail-probe-XXXXXX";
    int fd = mkstemp(f);
    if (fd >= 0) {
        printf("fchmod(S_ISUID)=%s\n", err(fchmod(fd, 04755)));
        close(fd);
        unlink(f);
    } else {
        printf("fchmod(S_ISUID)=no /tmp\n");
    }

    /* Limits. */
    static const struct { int r; const char *n; } lim[] = {
        {RLIMIT_NOFILE, "nofile"}, {RLIMIT_NPROC, "nproc"}, {RLIMIT_CORE, "core"},
        {RLIMIT_AS, "as"}, {RLIMIT_FSIZE, "fsize"}, {RLIMIT_STACK, "stack"},
    };
    for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++) {
        struct rlimit rl;
        getrlimit(lim[i].r, &rl);
        printf("rlimit %s=%llu/%llu\n", lim[i].n, (unsigned long long)rl.rlim_cur,
               (unsigned long long)rl.rlim_max);
    }
    pids_fact();
    memory_fact();
    cgroup_facts();
    char hn[256] = "";
    gethostname(hn, sizeof hn);
    printf("hostname=%s\n", hn);

    for (int i = 2; i < argc; i++) path_fact(argv[i]);
    return 0;
}
