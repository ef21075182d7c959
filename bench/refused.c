/* bench/refused.c — N calls of a refused syscall (chroot) and of an allowed one (getppid);
 * prints nanoseconds per call of each. bench/refused runs it in jail with and without the
 * refusal report ([seccomp] report). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    double t0 = now();
    for (long i = 0; i < n; i++) syscall(SYS_chroot, "/");
    double t1 = now();
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    double t2 = now();
    printf("refused %.0f ns/call, allowed %.0f ns/call\n", (t1 - t0) / n, (t2 - t1) / n);
    return 0;
}
