/* bench/sysbench.c — per-syscall cost of a seccomp filter.
 *
 * Makes N (default 10,000,000) calls of two cheap system calls and prints the mean wall time of
 * one call in nanoseconds, measured inside the process (startup is not included):
 *   getppid               — a syscall whose verdict is constant in every filter measured, so the
 *                           kernel's seccomp action cache may skip running the filter at all;
 *   ioctl(pipe, FIONREAD) — ioctl has argument rules in jail's always-on filter (TIOCSTI,
 *                           TIOCLINUX), so every filter in the stack runs for every call.
 * The N calls are made in 20 chunks of N/20; what is printed is the median chunk's time per call,
 * so a chunk in which the process was preempted (these machines are shared) does not count.
 * Output: "getppid <ns>\nioctl <ns>\n". bench/run subtracts the bare numbers.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

#define CHUNKS 20

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v) {
    qsort(v, CHUNKS, sizeof *v, cmp);
    return (v[CHUNKS / 2 - 1] + v[CHUNKS / 2]) / 2;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 10000000L;
    long per = n / CHUNKS;
    if (per < 1) per = 1;
    int p[2], avail;
    if (pipe(p) != 0) { perror("pipe"); return 1; }

    double g[CHUNKS], io[CHUNKS];
    for (int c = 0; c < CHUNKS; c++) {
        double t0 = now();
        for (long i = 0; i < per; i++) syscall(SYS_getppid);
        double t1 = now();
        for (long i = 0; i < per; i++) {
            if (syscall(SYS_ioctl, p[0], FIONREAD, &avail) != 0) { perror("ioctl FIONREAD"); return 1; }
        }
        double t2 = now();
        g[c] = (t1 - t0) / per;
        io[c] = (t2 - t1) / per;
    }
    printf("getppid %.2f\nioctl %.2f\n", median(g), median(io));
    return 0;
}
