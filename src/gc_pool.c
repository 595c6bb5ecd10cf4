#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "gc_pool.h"

#include "gc_stop.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void block_of(size_t count, int t, int n, size_t *b, size_t *e)
{
    size_t per = count / (size_t)n, extra = count % (size_t)n, tt = (size_t)t;
    *b = tt * per + (tt < extra ? tt : extra);
    *e = *b + per + (tt < extra ? 1 : 0);
}

typedef struct worker_arg {
    gc_pool *p;
    int index;
} worker_arg;

static void *worker_main(void *raw)
{
    gc_pool *p = ((worker_arg *)raw)->p;
    int index = ((worker_arg *)raw)->index;
    free(raw);
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->gen == seen) pthread_cond_wait(&p->go, &p->mu);
        if (p->stop) break;
        seen = p->gen;
        gc_pool_fn fn = p->fn;
        void *arg = p->arg;
        size_t b, e;
        block_of(p->count, index, p->threads, &b, &e);
        pthread_mutex_unlock(&p->mu);
        if (b < e) fn(arg, b, e);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int share_processes = 1;

int gc_pool_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

void gc_pool_share(int processes)
{
    share_processes = processes < 1 ? 1 : processes;
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e9 * (double)t.tv_sec + (double)t.tv_nsec;
}

typedef struct probe_args {
    float *x;
} probe_args;

static void probe_body(void *raw, size_t b, size_t e)
{
    float *x = ((probe_args *)raw)->x;
    for (size_t i = b; i < e; ++i) x[i] = x[i] * 0.5f + 1.0f;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void dispatch(gc_pool *p, size_t count, gc_pool_fn fn, void *arg);

/* What a loop on the threads costs beyond its share of the work, as the
 * forward meets it: GC_POOL_PROBE floats (cache-resident) scaled once on the
 * calling thread and once split over the pool, GC_POOL_TRIPS times each,
 * every run after GC_POOL_GAP_NS of work on the calling thread (a worker
 * woken right after it went to sleep answers much faster than one whose CPU
 * has gone idle: on the KVM development machine 4-5 us against 50-80 us, and
 * a worker the scheduler put on the caller's CPU gives no speed-up at all;
 * this measures all three as they are). Returns median(split) -
 * median(inline) / threads, in ns; 0 without memory. */
#define GC_POOL_TRIPS 7
#define GC_POOL_GAP_NS 50000.0
#define GC_POOL_PROBE 65536
static double round_trip_ns(gc_pool *p)
{
    float *x = calloc(GC_POOL_PROBE, sizeof *x);
    if (!x) return 0;
    probe_args a = {x};
    double t[2][GC_POOL_TRIPS];
    dispatch(p, GC_POOL_PROBE, probe_body, &a); /* the new threads reach their first wait */
    for (int i = 0; i < GC_POOL_TRIPS; ++i)
        for (int k = 0; k < 2; ++k) {
            for (double g = now_ns(); now_ns() - g < GC_POOL_GAP_NS;) {
            }
            double t0 = now_ns();
            if (k) dispatch(p, GC_POOL_PROBE, probe_body, &a);
            else probe_body(&a, 0, GC_POOL_PROBE);
            t[k][i] = now_ns() - t0;
        }
    free(x);
    qsort(t[0], GC_POOL_TRIPS, sizeof t[0][0], cmp_double);
    qsort(t[1], GC_POOL_TRIPS, sizeof t[1][0], cmp_double);
    double over = t[1][GC_POOL_TRIPS / 2] - t[0][GC_POOL_TRIPS / 2] / p->threads;
    return over > 0 ? over : 0;
}

size_t gc_pool_min_work_for(double round_trip)
{
    double w = round_trip * GC_POOL_UNITS_PER_NS * GC_POOL_TRIPS_WORTH;
    if (!(w >= GC_POOL_MIN_WORK)) return GC_POOL_MIN_WORK; /* NaN too */
    if (w >= GC_POOL_MAX_WORK) return GC_POOL_MAX_WORK;
    return (size_t)w;
}

static void set_min_work(gc_pool *p)
{
    const char *v = getenv("GC_POOL_MIN_WORK");
    if (v && *v) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        if (!errno && !*end && v[0] != '-') {
            p->min_work = (size_t)n;
            return;
        }
    }
    const char *tune = getenv("GC_POOL_TUNE");
    int tuned = !(tune && !strcmp(tune, "0"));
    /* timed once per process and thread count: a later pool (a new
     * explanation session, a -jobs worker's share) reuses it */
    static int timed_threads;
    static double timed;
    if (timed_threads != p->threads) {
        timed = round_trip_ns(p);
        timed_threads = p->threads;
    }
    p->round_trip_ns = timed;
    p->min_work = gc_pool_min_work_for(timed);
    gc_pool_tune(p, tuned);
}

void gc_pool_tune(gc_pool *p, int on)
{
    if (p->tune.on) p->min_work = p->tune.ways[0]; /* the timed threshold again */
    memset(&p->tune, 0, sizeof p->tune);
    p->tune.way = -1;
    p->tune.chosen = -1;
    if (!on || p->threads <= 1) return;
    p->tune.on = 1;
    p->tune.ways[0] = p->min_work;
    p->tune.ways[1] = SIZE_MAX;
}

static double median_of(const double *x, int n)
{
    double t[GC_POOL_TUNE_PASSES];
    memcpy(t, x, (size_t)n * sizeof *t);
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

int gc_pool_tune_choice(const double *split, const double *inl, int n)
{
    if (n < 1 || n > GC_POOL_TUNE_PASSES) return 0;
    return median_of(inl, n) < GC_POOL_INLINE_GAIN * median_of(split, n);
}

void gc_pool_pass_begin(gc_pool *p)
{
    if (!p || !p->tune.on) return;
    struct gc_pool_tune *t = &p->tune;
    t->way = -1;
    if (t->chosen >= 0 && ++t->since >= GC_POOL_RETUNE) { /* time both ways again */
        t->chosen = -1;
        t->n[0] = t->n[1] = 0;
    }
    if (t->chosen >= 0 || !t->warm) {
        p->min_work = t->ways[t->chosen > 0];
        t->warm = 1;
        return;
    }
    t->way = t->n[0] > t->n[1]; /* alternately, the timed threshold first */
    p->min_work = t->ways[t->way];
    t->t0 = now_ns();
}

void gc_pool_pass_end(gc_pool *p)
{
    if (!p || !p->tune.on || p->tune.way < 0) return;
    struct gc_pool_tune *t = &p->tune;
    t->t[t->way][t->n[t->way]++] = now_ns() - t->t0;
    t->way = -1;
    if (t->n[0] == GC_POOL_TUNE_PASSES && t->n[1] == GC_POOL_TUNE_PASSES) {
        t->chosen = gc_pool_tune_choice(t->t[0], t->t[1], GC_POOL_TUNE_PASSES);
        t->since = 0;
        p->min_work = t->ways[t->chosen];
        if (getenv("GC_POOL_LOG"))
            fprintf(stderr, "gc_pool: passes split %.3f ms, inline %.3f ms: %s\n",
                    median_of(t->t[0], GC_POOL_TUNE_PASSES) / 1e6, median_of(t->t[1], GC_POOL_TUNE_PASSES) / 1e6,
                    t->chosen ? "inline" : "split");
    }
}

int gc_pool_init(gc_pool *p, int threads, gc_err *e)
{
    memset(p, 0, sizeof *p);
    if (threads < 1) {
        int n = gc_pool_cores() / share_processes;
        threads = n < 1 ? 1 : n > 64 ? 64 : n;
    }
    p->threads = 1;
    p->split = gc_pool_cores() > 64 ? 64 : gc_pool_cores();
    if (pthread_mutex_init(&p->mu, NULL)) return gc_fail(e, "cannot create the thread pool's lock");
    if (pthread_cond_init(&p->go, NULL)) {
        pthread_mutex_destroy(&p->mu);
        return gc_fail(e, "cannot create the thread pool's condition");
    }
    if (pthread_cond_init(&p->done, NULL)) {
        pthread_cond_destroy(&p->go);
        pthread_mutex_destroy(&p->mu);
        return gc_fail(e, "cannot create the thread pool's condition");
    }
    p->locks = 1;
    if (threads == 1) return 0;
    p->workers = calloc((size_t)threads - 1, sizeof *p->workers);
    if (!p->workers) return gc_fail(e, "out of memory for %d threads", threads);
    int started = 0;
    sigset_t mask;
    gc_stop_block(&mask); /* a list run's stop signals go to its own thread (gc_stop.h) */
    for (; started < threads - 1; ++started) {
        worker_arg *a = malloc(sizeof *a);
        if (!a) break;
        a->p = p;
        a->index = started + 1;
        if (pthread_create(&p->workers[started], NULL, worker_main, a)) {
            free(a);
            break;
        }
    }
    gc_stop_unblock(&mask);
    /* Workers read p->threads only inside a loop, which starts after this. */
    p->threads = started + 1;
    if (p->threads > 1) set_min_work(p);
    if (started < threads - 1) return gc_fail(e, "started %d of %d threads", started + 1, threads);
    return 0;
}

void gc_pool_free(gc_pool *p)
{
    if (p->threads > 1) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->go);
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < p->threads - 1; ++i) pthread_join(p->workers[i], NULL);
    }
    free(p->workers);
    if (p->locks) {
        pthread_cond_destroy(&p->go);
        pthread_cond_destroy(&p->done);
        pthread_mutex_destroy(&p->mu);
    }
    memset(p, 0, sizeof *p);
}

void gc_pool_for(gc_pool *p, size_t count, size_t cost, gc_pool_fn fn, void *arg)
{
    if (count == 0) return;
    if (p->threads <= 1 || count < 2 || count * (cost ? cost : 1) < p->min_work) {
        fn(arg, 0, count);
        return;
    }
    dispatch(p, count, fn, arg);
}

static void dispatch(gc_pool *p, size_t count, gc_pool_fn fn, void *arg)
{
    pthread_mutex_lock(&p->mu);
    assert(p->pending == 0 && "gc_pool_for is not reentrant");
    p->fn = fn;
    p->arg = arg;
    p->count = count;
    p->pending = p->threads - 1;
    ++p->gen;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    size_t b, e;
    block_of(count, 0, p->threads, &b, &e);
    if (b < e) fn(arg, b, e);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
