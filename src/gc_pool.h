/* gc_pool: a fixed set of worker threads that run one parallel loop at a time
 * and SLEEP between loops (condition variables, no spinning).
 *
 * Why not OpenMP: GCC's libgomp spins for a while after every parallel region
 * (GOMP_SPINCOUNT, read from the environment before main), and OpenBLAS's
 * pthread workers spin in sched_yield after every call. On a 2-core machine
 * shared with other work, a spinning thread takes the core the next serial
 * step needs: measured on yolov3-tiny, the forward's CPU time doubled and its
 * wall time went up by 60%. Here a waiting thread costs nothing; a loop costs
 * one wake-up (tens of microseconds), so small loops run inline. */
#ifndef GC_POOL_H
#define GC_POOL_H

#include <pthread.h>
#include <stddef.h>

#include "gc_common.h"

/* Body of a parallel loop: handles items [begin, end) of the loop. */
typedef void (*gc_pool_fn)(void *arg, size_t begin, size_t end);

typedef struct gc_pool {
    int threads;            /* workers + the calling thread */
    pthread_t *workers;     /* threads - 1 of them */
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    unsigned long gen;      /* bumped for each loop */
    int pending;            /* workers still running the current loop */
    int stop;
    int locks;              /* mu, go, done were created */
    gc_pool_fn fn;
    void *arg;
    size_t count;
} gc_pool;

/* The cores this process may run on (its CPU affinity: what a Slurm task,
 * taskset or a container's cpuset allows), else the online cores. */
int gc_pool_cores(void);

/* Pools made later with threads < 1 share gc_pool_cores() with this many
 * processes (-jobs N): cores / processes threads each, at least one. */
void gc_pool_share(int processes);

/* Starts threads - 1 workers (threads < 1 means one per core of gc_pool_cores(), see
 * gc_pool_share). On
 * failure the pool runs everything on the calling thread (threads = 1) and
 * the message says why; that is not an error for the caller. */
int gc_pool_init(gc_pool *p, int threads, gc_err *e);
void gc_pool_free(gc_pool *p);

/* Runs fn over [0, count) split into contiguous blocks, one per thread, and
 * returns when all are done. Runs inline when count * cost (elements touched
 * per item, roughly) is too small to pay for a wake-up. */
void gc_pool_for(gc_pool *p, size_t count, size_t cost, gc_pool_fn fn, void *arg);

#endif
