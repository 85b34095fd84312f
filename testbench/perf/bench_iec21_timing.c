/*
** bench_iec21_timing.c — IEC 62056-21 timing of metersim as a reader on its pty sees
** it: the reaction time tr of the identification and of the readout after the option
** select, and how far each paced byte's arrival is from its wire time, at 300 and
** 9600 Bd (DESIGN.md "Targets": serial timing fidelity, paced output within 0.5 ms mean
** and 2 ms worst of the wire time).
** SPDX-License-Identifier: MIT
**
** Usage: bench_iec21_timing [METERSIM] [RUNS]   (default build/sim/metersim, 3 runs)
** The wire time of byte k of a message is start + (k + 1) x 10 bits / rate, where start
** is the end of the reader's message + the meter's configured reaction time; the
** reaction time reported is (first byte's arrival - one character time) - end of the
** reader's message. Starts one metersim per run and stops it by its PID.
*/
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_BYTES 4096

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void set_rate(int fd, speed_t s)
{
    struct termios t;
    tcgetattr(fd, &t);
    cfmakeraw(&t);
    cfsetispeed(&t, s);
    cfsetospeed(&t, s);
    tcsetattr(fd, TCSANOW, &t);
}

/* Read until `stop` (a byte) is seen and `after` more bytes came, or the time limit.
 * Each byte gets the time of the read() that returned it. */
static int receive(int fd, uint8_t stop, int after, double limit_ms, uint8_t *buf,
                   double *t)
{
    int n = 0, tail = -1;
    double end = now_ms() + limit_ms;
    while (n < MAX_BYTES && now_ms() < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 50) <= 0)
            continue;
        uint8_t chunk[512];
        ssize_t k = read(fd, chunk, sizeof chunk);
        double at = now_ms();
        for (ssize_t i = 0; i < k && n < MAX_BYTES; i++) {
            buf[n] = chunk[i] & 0x7F;
            t[n++] = at;
            if (tail < 0 && buf[n - 1] == stop)
                tail = after;
            else if (tail > 0)
                tail--;
            if (tail == 0)
                return n;
        }
    }
    return n;
}

typedef struct stats {
    double sum, worst;
    long n;
} stats_t;

/* Errors of n arrivals against start + (k+1) x char time. */
static void pacing(stats_t *s, const double *t, int n, double start, double char_ms)
{
    for (int k = 0; k < n; k++) {
        double e = fabs(t[k] - (start + (k + 1) * char_ms));
        if (getenv("BENCH_VERBOSE") && e > 1.0)
            fprintf(stderr, "  byte %d of %d: error %.3f ms\n", k, n, e);
        s->sum += e;
        s->n++;
        if (e > s->worst)
            s->worst = e;
    }
}

static pid_t start_meter(const char *metersim, const char *link)
{
    int out[2];
    if (pipe(out) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        execl(metersim, metersim, "--model", "testbench/perf/models/bench-small.lua",
              "--load", "constant:1000", "--pty", link, "--clock", "stepped", "--start",
              "2016-01-01T00:00:00Z", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[4096];
    size_t n = 0;
    double end = now_ms() + 10000;
    while (n < sizeof line - 1 && now_ms() < end) {
        struct pollfd p = { out[0], POLLIN, 0 };
        if (poll(&p, 1, 100) > 0) {
            if (read(out[0], line + n, 1) != 1)
                break;
            if (line[n++] == '\n')
                break;
        }
    }
    line[n] = 0;
    close(out[0]);
    if (strncmp(line, "ready ", 6) != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

int main(int argc, char **argv)
{
    const char *metersim = argc > 1 ? argv[1] : "build/sim/metersim";
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    char link[64];
    snprintf(link, sizeof link, "/tmp/ms-bench-%d", (int)getpid());
    static uint8_t buf[MAX_BYTES];
    static double t[MAX_BYTES];
    stats_t p300 = { 0 }, p9600 = { 0 };
    double tr_id_sum = 0, tr_id_min = 1e9, tr_id_max = 0;
    double tr_ro_sum = 0, tr_ro_min = 1e9, tr_ro_max = 0;
    const double c300 = 10 * 1000.0 / 300, c9600 = 10 * 1000.0 / 9600;
    for (int r = 0; r < runs; r++) {
        pid_t pid = start_meter(metersim, link);
        if (pid < 0) {
            fprintf(stderr, "bench: %s did not start\n", metersim);
            return 1;
        }
        int fd = open(link, O_RDWR | O_NOCTTY);
        set_rate(fd, B300);
        tcflush(fd, TCIOFLUSH);
        usleep(100000);

        /* 1. identification at 300 Bd, then a readout at 300 Bd (option select with a Z
         *    that is not the identification's: the meter stays at 300). */
        double t_req = now_ms();
        if (write(fd, "/?!\r\n", 5) != 5)
            return 1;
        int n = receive(fd, '\n', 0, 5000, buf, t);
        double tr = t[0] - c300 - t_req;
        tr_id_sum += tr;
        tr_id_min = fmin(tr_id_min, tr);
        tr_id_max = fmax(tr_id_max, tr);
        pacing(&p300, t, n, t_req + 200.0, c300);
        usleep(250000);
        double t_opt = now_ms();
        if (write(fd,
                  "\x06"
                  "000\r\n",
                  6) != 6)
            return 1;
        n = receive(fd, 0x03, 1, 20000, buf, t);
        pacing(&p300, t, n, t_opt + 500.0, c300);

        /* 2. a second session: readout at 9600 Bd after the switch. */
        usleep(300000);
        t_req = now_ms();
        if (write(fd, "/?!\r\n", 5) != 5)
            return 1;
        receive(fd, '\n', 0, 5000, buf, t);
        usleep(250000);
        t_opt = now_ms();
        if (write(fd,
                  "\x06"
                  "050\r\n",
                  6) != 6)
            return 1;
        tcdrain(fd);
        set_rate(fd, B9600);
        n = receive(fd, 0x03, 1, 10000, buf, t);
        tr = t[0] - c9600 - t_opt;
        tr_ro_sum += tr;
        tr_ro_min = fmin(tr_ro_min, tr);
        tr_ro_max = fmax(tr_ro_max, tr);
        pacing(&p9600, t, n, t_opt + 500.0, c9600);
        close(fd);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    printf("metersim IEC 62056-21 timing, %d runs (reader on the pty slave)\n", runs);
    printf("  reaction time, identification (configured 200 ms): mean %.2f ms, min %.2f, "
           "max %.2f\n",
           tr_id_sum / runs, tr_id_min, tr_id_max);
    printf(
        "  reaction time, readout after option select (configured 500 ms): mean %.2f ms, "
        "min %.2f, max %.2f\n",
        tr_ro_sum / runs, tr_ro_min, tr_ro_max);
    printf(
        "  paced vs wire time,  300 Bd: %ld bytes, mean error %.3f ms, worst %.3f ms\n",
        p300.n, p300.sum / p300.n, p300.worst);
    printf(
        "  paced vs wire time, 9600 Bd: %ld bytes, mean error %.3f ms, worst %.3f ms\n",
        p9600.n, p9600.sum / p9600.n, p9600.worst);
    printf("  target: mean <= 0.5 ms, worst <= 2 ms (DESIGN.md)\n");
    return 0;
}
