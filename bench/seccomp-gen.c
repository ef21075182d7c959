/* bench/seccomp-gen.c — writes, with libseccomp, a BPF filter equivalent to jail's default one,
 * for `bwrap --seccomp FD` in bench/run.
 *
 * usage: seccomp-gen OUT.bpf OPTIMIZE SYSCALL...
 *   OPTIMIZE  1: libseccomp's default layout (a linear chain of syscall checks)
 *             2: SCMP_FLTATR_CTL_OPTIMIZE=2 (a binary tree over syscall numbers)
 *   SYSCALL   names refused with EPERM: bench/run passes jail's @default-deny list as printed by
 *             `jail explain --format json`. Names this libseccomp does not know are skipped
 *             with a note on stderr.
 * Also, like jail's always-on rules (SPEC §4): ioctl TIOCSTI/TIOCLINUX (low 32 bits) → EPERM,
 * clone3 → ENOSYS, clone/unshare/setns with a namespace flag → EPERM. Other architectures and
 * x32 are killed by libseccomp's bad-arch action.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static void must(int rc, const char *what) {
    if (rc < 0) {
        fprintf(stderr, "seccomp-gen: %s: %s\n", what, strerror(-rc));
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: seccomp-gen OUT.bpf OPTIMIZE SYSCALL...\n");
        return 2;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) { fprintf(stderr, "seccomp-gen: seccomp_init failed\n"); return 1; }
    must(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, (uint32_t)atoi(argv[2])), "optimize");

    for (int i = 3; i < argc; i++) {
        int nr = seccomp_syscall_resolve_name(argv[i]);
        if (nr == __NR_SCMP_ERROR) {
            fprintf(stderr, "seccomp-gen: note: libseccomp does not know %s, skipped\n", argv[i]);
            continue;
        }
        must(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0), argv[i]);
    }

    /* always-on rules */
    must(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                          SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI)), "ioctl TIOCSTI");
    must(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                          SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX)), "ioctl TIOCLINUX");
    must(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0), "clone3");

    const unsigned long ns[] = {CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWTIME};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        if (ns[i] != CLONE_NEWTIME) /* CLONE_NEWTIME shares its bit with CSIGNAL in clone() */
            must(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                  SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i], ns[i])), "clone");
        must(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i], ns[i])), "unshare");
        must(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setns), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, ns[i], ns[i])), "setns");
    }
    must(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setns), 1,
                          SCMP_A1(SCMP_CMP_EQ, 0)), "setns 0");

    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { perror(argv[1]); return 1; }
    must(seccomp_export_bpf(ctx, fd), "export");
    close(fd);
    seccomp_release(ctx);
    return 0;
}
