// bench/floor.c — the kernel's floor for a launch: the isolation jail and bubblewrap set up in
// bench/run, done by the shortest C program that does it, and nothing else. It is what a launcher
// cannot go below on this machine; BENCHMARKS.md puts jail, bwrap and firejail beside it.
//
//   floor [--share-net] [--seccomp FILE] -- COMMAND [ARG...]
//
// What it does, in order (the same tree as `jail run --profile bench` and the bwrap command):
//   clone() with a new user, mount, pid, ipc, uts, cgroup (and net) namespace; the caller's uid
//   and gid mapped to themselves (setgroups denied); a tmpfs as the new root; /usr and /etc bound
//   read-only (nosuid, nodev); the host's /bin /sbin /lib /lib64 symlinks (or read-only binds);
//   a fresh /proc; a minimal /dev (null zero full random urandom tty bound from the host, devpts,
//   ptmx, shm, the fd links); a private /tmp; pivot_root and detach of the old root; loopback up;
//   a PID 1 that reaps (as bwrap and jail have); setsid; every capability dropped (bounding,
//   ambient, effective/permitted/inheritable); no_new_privs; the seccomp program from FILE (a raw
//   `struct sock_filter` array, as bwrap's --seccomp takes); die-with-parent; execvp.
// No error recovery and no options beyond these: a failure prints the step and exits 125.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what) {
    fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
    _exit(125);
}

static int sync_pipe[2];
static char **command;
static struct sock_fprog filter;
static int have_filter;

static void write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) die(path);
    close(fd);
}

static void ro_bind(const char *src, const char *dst) {
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL)) die(dst);
    if (mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL))
        die(dst);
}

static void host_link_or_bind(const char *name) {  // "/bin" etc.
    char target[256], where[256];
    ssize_t n = readlink(name, target, sizeof target - 1);
    snprintf(where, sizeof where, "/tmp/root%s", name);
    if (n > 0) {
        target[n] = 0;
        if (symlink(target, where)) die(where);
        return;
    }
    struct stat st;
    if (stat(name, &st) || !S_ISDIR(st.st_mode)) return;
    if (mkdir(where, 0755)) die(where);
    ro_bind(name, where);
}

static void dev_node(const char *name) {
    char src[64], dst[64];
    snprintf(src, sizeof src, "/dev/%s", name);
    snprintf(dst, sizeof dst, "/tmp/root/dev/%s", name);
    int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) die(dst);
    close(fd);
    if (mount(src, dst, NULL, MS_BIND, NULL)) die(dst);
}

static void loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr)) die("lo");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr)) die("lo up");
    close(s);
}

static void drop_caps(void) {
    for (int c = 0; c <= 63; c++)
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL) die("capbset");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)) die("ambient");
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {{0}};
    if (syscall(SYS_capset, &h, d)) die("capset");
}

static int child(void *net_arg) {
    char c;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL)) die("pdeathsig");
    close(sync_pipe[1]);
    if (read(sync_pipe[0], &c, 1) != 1) die("sync");  // the id maps are written
    close(sync_pipe[0]);

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) die("private /");
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")) die("tmpfs");
    if (mkdir("/tmp/root", 0755)) die("mkdir root");
    if (mount("tmpfs", "/tmp/root", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")) die("root");
    const char *dirs[] = {"usr", "etc", "proc", "dev", "tmp", "oldroot"};
    char p[256];
    for (unsigned i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        snprintf(p, sizeof p, "/tmp/root/%s", dirs[i]);
        if (mkdir(p, 0755)) die(p);
    }
    ro_bind("/usr", "/tmp/root/usr");
    ro_bind("/etc", "/tmp/root/etc");
    host_link_or_bind("/bin");
    host_link_or_bind("/sbin");
    host_link_or_bind("/lib");
    host_link_or_bind("/lib64");
    if (mount("proc", "/tmp/root/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) die("proc");

    if (mount("tmpfs", "/tmp/root/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755")) die("dev");
    const char *nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
    for (unsigned i = 0; i < sizeof nodes / sizeof *nodes; i++) dev_node(nodes[i]);
    if (mkdir("/tmp/root/dev/pts", 0755) || mkdir("/tmp/root/dev/shm", 01777)) die("dev dirs");
    if (mount("devpts", "/tmp/root/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=620"))
        die("devpts");
    if (mount("tmpfs", "/tmp/root/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"))
        die("shm");
    if (symlink("pts/ptmx", "/tmp/root/dev/ptmx") || symlink("/proc/self/fd", "/tmp/root/dev/fd") ||
        symlink("/proc/self/fd/0", "/tmp/root/dev/stdin") ||
        symlink("/proc/self/fd/1", "/tmp/root/dev/stdout") ||
        symlink("/proc/self/fd/2", "/tmp/root/dev/stderr"))
        die("dev links");
    if (mount("tmpfs", "/tmp/root/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")) die("/tmp");

    if (chdir("/tmp/root")) die("chdir");
    if (syscall(SYS_pivot_root, ".", "oldroot")) die("pivot_root");
    if (umount2("/oldroot", MNT_DETACH) || rmdir("/oldroot")) die("detach");
    if (chdir("/")) die("chdir /");
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL))
        die("ro /");
    if (net_arg) loopback_up();

    // PID 1 reaps; its child runs COMMAND (bwrap and jail both keep such a PID 1).
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid > 0) {
        int status;
        pid_t w;
        while ((w = wait(&status)) != pid)
            if (w < 0 && errno != EINTR) die("wait");
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    if (setsid() < 0) die("setsid");
    drop_caps();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) die("no_new_privs");
    if (have_filter && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter)) die("seccomp");
    execvp(command[0], command);
    die(command[0]);
    return 125;
}

int main(int argc, char **argv) {
    int share_net = 0, i = 1;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "--share-net")) {
            share_net = 1;
        } else if (!strcmp(argv[i], "--seccomp") && i + 1 < argc) {
            int fd = open(argv[++i], O_RDONLY | O_CLOEXEC);
            static struct sock_filter prog[4096];
            ssize_t n = fd < 0 ? -1 : read(fd, prog, sizeof prog);
            if (n <= 0 || n % sizeof *prog) die("seccomp file");
            filter.len = n / sizeof *prog;
            filter.filter = prog;
            have_filter = 1;
            close(fd);
        } else if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else {
            break;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "usage: floor [--share-net] [--seccomp FILE] -- COMMAND [ARG...]\n");
        return 2;
    }
    command = argv + i;
    if (pipe2(sync_pipe, O_CLOEXEC)) die("pipe");

    int flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
                CLONE_NEWCGROUP | SIGCHLD;
    if (!share_net) flags |= CLONE_NEWNET;
    static char stack[64 * 1024] __attribute__((aligned(16)));
    pid_t pid = clone(child, stack + sizeof stack, flags, share_net ? NULL : (void *)1);
    if (pid < 0) die("clone");
    close(sync_pipe[0]);

    char path[64], map[64];
    snprintf(path, sizeof path, "/proc/%d/setgroups", pid);
    write_file(path, "deny");
    snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
    snprintf(map, sizeof map, "%u %u 1", getuid(), getuid());
    write_file(path, map);
    snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
    snprintf(map, sizeof map, "%u %u 1", getgid(), getgid());
    write_file(path, map);
    if (write(sync_pipe[1], "x", 1) != 1) die("sync");
    close(sync_pipe[1]);

    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) die("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
