/* gc_pool: a fixed set of worker threads that run one parallel loop at a time
 * and SLEEP between loops (condition variables, no spinning).
 *
 * Why not OpenMP: GCC's libgomp spins for a while after every parallel region
 * (GOMP_SPINCOUNT, read from the environment before main), and OpenBLAS's
 * pthread workers spin in sched_yield after every call. On a 2-core machine
 * shared with other work, a spinning thread takes the core the next serial
 * step needs: measured on yolov3-tiny, the forward's CPU time doubled and its
 * wall time went up by 60%. Here a waiting thread costs nothing; a loop costs
 * one wake-up and a join, so small loops run inline.
 *
 * How small: the first pool of a process (per thread count) times what a
 * loop on the threads costs beyond its share of the work (see round_trip_ns
 * in the .c), and a loop goes to the threads only when its work, count * cost
 * units (an element touched or 8 multiply-adds, about 0.5 ns each), would
 * take the calling thread about GC_POOL_TRIPS_WORTH such round trips.
 * Measured: 25-80 us a round trip on the 2-vCPU KVM development machine (a
 * worker whose vCPU went idle is woken through the host), a threshold of
 * 0.3-0.9 M units; with the old fixed 32768, 200 demo scenes took 4.2-4.4 ms
 * of explaining each against 3.0-3.2 ms (README, Performance). Where a
 * wake-up takes a few microseconds the threshold stays near 32768. */
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
    size_t min_work;        /* count * cost below this runs inline */
    double round_trip_ns;   /* measured at init (0 when set from the environment or one thread) */
    /* How many parts a split product is cut into: the process's cores
     * (gc_pool_cores, at most 64), not this pool's threads, so that a -jobs N
     * worker with a share of them cuts it as -jobs 1 does. OpenBLAS's result
     * for one element can depend on the product's shape (its small-matrix
     * kernels on some CPUs): the same cuts give the same bits. */
    int split;
} gc_pool;

#define GC_POOL_TRIPS_WORTH 6.0
#define GC_POOL_UNITS_PER_NS 2.0
#define GC_POOL_MIN_WORK 32768
#define GC_POOL_MAX_WORK ((size_t)1 << 26)

/* The threshold for a measured round trip (ns): round_trip * GC_POOL_UNITS_PER_NS *
 * GC_POOL_TRIPS_WORTH, within [GC_POOL_MIN_WORK, GC_POOL_MAX_WORK]. */
size_t gc_pool_min_work_for(double round_trip_ns);

/* The cores this process may run on (its CPU affinity: what a Slurm task,
 * taskset or a container's cpuset allows), else the online cores. */
int gc_pool_cores(void);

/* Pools made later with threads < 1 share gc_pool_cores() with this many
 * processes (-jobs N): cores / processes threads each, at least one. */
void gc_pool_share(int processes);

/* Starts threads - 1 workers (threads < 1 means one per core of gc_pool_cores(), see
 * gc_pool_share) and sets min_work: from the environment's GC_POOL_MIN_WORK
 * (a number of units; the tests set it) when set, else from the timed round
 * trip. On
 * failure the pool runs everything on the calling thread (threads = 1) and
 * the message says why; that is not an error for the caller. */
int gc_pool_init(gc_pool *p, int threads, gc_err *e);
void gc_pool_free(gc_pool *p);

/* Runs fn over [0, count) split into contiguous blocks, one per thread, and
 * returns when all are done. Runs inline when count * cost (elements touched
 * per item, roughly) is too small to pay for a wake-up. */
void gc_pool_for(gc_pool *p, size_t count, size_t cost, gc_pool_fn fn, void *arg);

#endif
