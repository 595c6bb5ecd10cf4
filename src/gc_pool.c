#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "gc_pool.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Below this many elements a loop runs on the calling thread: a wake-up and
 * the join cost about as much as touching this many floats. */
#define GC_POOL_MIN_WORK 32768

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

int gc_pool_init(gc_pool *p, int threads, gc_err *e)
{
    memset(p, 0, sizeof *p);
    if (threads < 1) {
        int n = gc_pool_cores() / share_processes;
        threads = n < 1 ? 1 : n > 64 ? 64 : n;
    }
    p->threads = 1;
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
    /* Workers read p->threads only inside a loop, which starts after this. */
    p->threads = started + 1;
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
    if (p->threads <= 1 || count < 2 || count * (cost ? cost : 1) < GC_POOL_MIN_WORK) {
        fn(arg, 0, count);
        return;
    }
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
