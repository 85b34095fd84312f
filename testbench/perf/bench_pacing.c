/*
** bench_pacing.c — serial timing fidelity of the pty backend: when each paced byte
** reaches a reader on the slave, against its wire time.
** SPDX-License-Identifier: MIT
**
** Target (DESIGN.md "Targets"): paced output within 0.5 ms mean, 2 ms worst, of the
** wire time at 300–19200 baud.
**
** For each rate the pty backend (8N1, paced) sends frames of 1..32 bytes, back to back or
** with gaps of up to 3 character times (not_before), so that both continuous runs and
** the starts of messages are measured. A reader thread blocks in read() on the slave and
** timestamps every read with CLOCK_MONOTONIC (the clock of uv_hrtime()); byte k of a
** frame that starts at s is due at s + (k + 1) * character time. Reported: mean and
** worst absolute error, the 99th percentile, and the mean signed error (late > 0).
**
** Each rate is also measured for a reference writer: a bare thread on a plain openpty()
** pair that sleeps with clock_nanosleep(TIMER_ABSTIME) to each byte's wire time and
** writes it (the method of DESIGN.md "Platform facts"), with the same frames and reader.
** It shows what the machine allows: a late wake-up of the scheduler (or of the VM's
** vCPU) delays every pacer alike.
**
** Usage: bench_pacing [-t seconds_per_rate] [-R] [rate ...]   (default 2 s; 300 2400
** 9600 19200). -R runs the process SCHED_FIFO (loop, writer and reader threads), as a
** simulator started with real-time priority would. Exit status 0 when every rate met
** the target with the pty backend, 1 otherwise.
*/
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pty.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "ms_err.h"
#include "phy.h"

#define TARGET_MEAN_NS  500000.0
#define TARGET_WORST_NS 2000000.0

/* The bytes to send and when each is due (the wire end of its stop bit). */
typedef struct plan {
    size_t n;
    uint8_t *data;
    uint64_t *due_ns;
    size_t nframes;
    size_t *frame_len;
    uint64_t *frame_start_ns;
} plan_t;

/* The reader on the slave. */
typedef struct reader {
    const char *slave;
    size_t n;
    uint64_t *arrival_ns;
    int fd;
    int err;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool ready;
} reader_t;

typedef struct result {
    size_t n;
    double mean_abs_ns;
    double worst_ns;
    double p99_ns;
    double mean_signed_ns;
} result_t;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_pacing: %s: %s\n", what, why);
    exit(2);
}

/* ---- plan ----------------------------------------------------------------------- */

/* Deterministic frame shapes (xorshift32). */
static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Frames with explicit starts: the first 20 ms after t0, each next one back to back or
 * after a gap of up to 3 character times. */
static void plan_make(plan_t *pl, unsigned baud, size_t n, uint64_t char_ns, uint64_t t0)
{
    pl->n = n;
    pl->data = malloc(n);
    pl->due_ns = calloc(n, sizeof *pl->due_ns);
    pl->frame_len = calloc(n, sizeof *pl->frame_len);
    pl->frame_start_ns = calloc(n, sizeof *pl->frame_start_ns);
    pl->nframes = 0;
    uint32_t seed = 0x2545F491u ^ baud;
    uint64_t start = t0 + 20000000u;
    for (size_t k = 0; k < n;) {
        size_t len = 1 + rnd(&seed) % 32;
        if (len > n - k)
            len = n - k;
        for (size_t i = 0; i < len; i++) {
            pl->data[k + i] = (uint8_t)(k + i);
            pl->due_ns[k + i] = start + (uint64_t)(i + 1) * char_ns;
        }
        pl->frame_len[pl->nframes] = len;
        pl->frame_start_ns[pl->nframes++] = start;
        k += len;
        start += (uint64_t)len * char_ns + (uint64_t)(rnd(&seed) % 4) * char_ns;
    }
}

static void plan_free(plan_t *pl)
{
    free(pl->data);
    free(pl->due_ns);
    free(pl->frame_len);
    free(pl->frame_start_ns);
}

/* ---- reader ----------------------------------------------------------------------- */

static void *reader_main(void *arg)
{
    reader_t *r = arg;
    r->fd = open(r->slave, O_RDONLY | O_NOCTTY);
    pthread_mutex_lock(&r->mu);
    r->err = r->fd < 0 ? errno : 0;
    r->ready = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (r->fd < 0)
        return NULL;
    size_t got = 0;
    uint8_t buf[4096];
    while (got < r->n) {
        ssize_t k = read(r->fd, buf, sizeof buf);
        uint64_t t = mono_ns();
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            r->err = k < 0 ? errno : EIO;
            break;
        }
        for (ssize_t i = 0; i < k && got < r->n; i++)
            r->arrival_ns[got++] = t;
    }
    close(r->fd);
    return NULL;
}

static void reader_start(reader_t *r, const char *slave, size_t n)
{
    memset(r, 0, sizeof *r);
    r->slave = slave;
    r->n = n;
    r->arrival_ns = calloc(n, sizeof *r->arrival_ns);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    pthread_create(&r->th, NULL, reader_main, r);
    pthread_mutex_lock(&r->mu);
    while (!r->ready)
        pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
    if (r->err)
        die(slave, strerror(r->err));
}

static void reader_join(reader_t *r)
{
    pthread_join(r->th, NULL);
    if (r->err)
        die("read", strerror(r->err));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void evaluate(const plan_t *pl, reader_t *r, result_t *res)
{
    size_t n = pl->n;
    double sum_abs = 0, sum = 0;
    uint64_t *abs_err = calloc(n, sizeof *abs_err);
    for (size_t i = 0; i < n; i++) {
        int64_t e = (int64_t)(r->arrival_ns[i] - pl->due_ns[i]);
        abs_err[i] = (uint64_t)(e < 0 ? -e : e);
        sum_abs += (double)abs_err[i];
        sum += (double)e;
    }
    qsort(abs_err, n, sizeof *abs_err, cmp_u64);
    res->n = n;
    res->mean_abs_ns = sum_abs / (double)n;
    res->mean_signed_ns = sum / (double)n;
    res->worst_ns = (double)abs_err[n - 1];
    res->p99_ns = (double)abs_err[(n * 99) / 100];
    free(abs_err);
    free(r->arrival_ns);
}

/* ---- the pty backend ------------------------------------------------------------------
 */

static void on_drained(ms_phy_t *p, uint64_t t_ns, void *ud)
{
    *(bool *)ud = true;
}

static void bench_phy(unsigned baud, size_t n, result_t *res)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    ms_line_t line = MS_LINE_8N1(baud);
    bool drained = false;
    ms_phy_cb_t cb = { .on_drained = on_drained };
    ms_phy_pty_opts_t o = { .line = line };
    ms_phy_t *p;
    int r = ms_phy_pty_open(&loop, &o, &cb, &drained, &p);
    if (r < 0)
        die("ms_phy_pty_open", ms_strerror(r));
    reader_t rd;
    reader_start(&rd, ms_phy_pty_slave(p), n);

    plan_t pl;
    plan_make(&pl, baud, n, ms_line_char_ns(&line), uv_hrtime());
    for (size_t f = 0, k = 0; f < pl.nframes; k += pl.frame_len[f++]) {
        r = ms_phy_write(p, pl.data + k, pl.frame_len[f], pl.frame_start_ns[f]);
        if (r < 0)
            die("ms_phy_write", ms_strerror(r));
    }
    while (!drained)
        uv_run(&loop, UV_RUN_ONCE);
    reader_join(&rd);
    ms_phy_close(p);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    evaluate(&pl, &rd, res);
    plan_free(&pl);
}

/* ---- the reference writer -------------------------------------------------------------
 */

static void bench_reference(unsigned baud, size_t n, result_t *res)
{
    int m, s;
    char name[64];
    if (openpty(&m, &s, NULL, NULL, NULL) < 0)
        die("openpty", strerror(errno));
    struct termios t;
    tcgetattr(s, &t);
    cfmakeraw(&t);
    tcsetattr(s, TCSANOW, &t);
    if (ptsname_r(m, name, sizeof name) != 0)
        die("ptsname_r", strerror(errno));
    reader_t rd;
    reader_start(&rd, name, n);

    ms_line_t line = MS_LINE_8N1(baud);
    plan_t pl;
    plan_make(&pl, baud, n, ms_line_char_ns(&line), mono_ns());
    for (size_t k = 0; k < n;) {
        struct timespec ts = { (time_t)(pl.due_ns[k] / 1000000000u),
                               (long)(pl.due_ns[k] % 1000000000u) };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
        }
        /* late: everything due goes in one write, as the pacer does */
        uint64_t now = mono_ns();
        size_t cnt = 1;
        while (k + cnt < n && pl.due_ns[k + cnt] <= now)
            cnt++;
        if (write(m, pl.data + k, cnt) != (ssize_t)cnt)
            die("write", strerror(errno));
        k += cnt;
    }
    reader_join(&rd);
    close(s);
    close(m);
    evaluate(&pl, &rd, res);
    plan_free(&pl);
}

/* ---- main
 * ------------------------------------------------------------------------------ */

static void print_row(const char *who, unsigned baud, const result_t *r,
                      const char *verdict)
{
    ms_line_t l = MS_LINE_8N1(baud);
    printf("| %-9s | %5u | %5zu | %9.3f | %9.3f | %6.3f | %8.3f | %9.3f | %-7s |\n", who,
           baud, r->n, (double)ms_line_char_ns(&l) / 1e6, r->mean_abs_ns / 1e6,
           r->p99_ns / 1e6, r->worst_ns / 1e6, r->mean_signed_ns / 1e6, verdict);
}

int main(int argc, char **argv)
{
    double seconds = 2.0;
    bool rt = false;
    unsigned rates[16];
    size_t nrates = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "-R") == 0) {
            rt = true;
        } else if (nrates < 16 && atoi(argv[i]) > 0) {
            rates[nrates++] = (unsigned)atoi(argv[i]);
        } else {
            fprintf(stderr,
                    "usage: bench_pacing [-t seconds_per_rate] [-R] [rate ...]\n");
            return 2;
        }
    }
    if (nrates == 0) {
        static const unsigned def[] = { 300, 2400, 9600, 19200 };
        for (nrates = 0; nrates < 4; nrates++)
            rates[nrates] = def[nrates];
    }
    const char *sched = "SCHED_OTHER";
    if (rt) {
        /* Set before any thread exists: the reader threads inherit the policy. */
        struct sched_param sp = { .sched_priority = 50 };
        if (sched_setscheduler(0, SCHED_FIFO, &sp) == 0)
            sched = "SCHED_FIFO 50";
        else
            fprintf(stderr, "bench_pacing: SCHED_FIFO: %s (going on without)\n",
                    strerror(errno));
    }

    printf("Paced pty output: arrival at a reader on the slave vs wire time (8N1, frames "
           "of 1-32 bytes, gaps 0-3 chars)\n");
    printf(
        "target: mean |error| <= %.1f ms, worst <= %.1f ms; scheduling: %s; %.1f s per "
        "rate\n\n",
        TARGET_MEAN_NS / 1e6, TARGET_WORST_NS / 1e6, sched, seconds);
    printf("| writer    | baud  | chars | char ms   | mean|e| ms | p99 ms | worst ms | "
           "signed ms | target  |\n");
    printf(
        "|-----------|------:|------:|----------:|----------:|-------:|---------:|------"
        "----:|---------|\n");
    int ok = 1;
    for (size_t i = 0; i < nrates; i++) {
        ms_line_t l = MS_LINE_8N1(rates[i]);
        size_t n = (size_t)(seconds * 1e9 / (double)ms_line_char_ns(&l));
        if (n < 40)
            n = 40;
        result_t phy, ref;
        bench_phy(rates[i], n, &phy);
        int met = phy.mean_abs_ns <= TARGET_MEAN_NS && phy.worst_ns <= TARGET_WORST_NS;
        ok &= met;
        print_row("ms_phy", rates[i], &phy, met ? "met" : "MISSED");
        bench_reference(rates[i], n, &ref);
        print_row("reference", rates[i], &ref, "");
        fflush(stdout);
    }
    return ok ? 0 : 1;
}
