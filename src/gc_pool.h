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
 * wake-up takes a few microseconds the threshold stays near 32768. Then,
 * over a run's first forwards, that threshold is checked against running
 * every loop inline (gc_pool_pass_begin, below). */
#ifndef GC_POOL_H
#define GC_POOL_H

#include <pthread.h>
#include <stddef.h>

#include "gc_common.h"

/* Body of a parallel loop: handles items [begin, end) of the loop. */
typedef void (*gc_pool_fn)(void *arg, size_t begin, size_t end);

#define GC_POOL_TUNE_PASSES 5 /* timed passes each way (see gc_pool_pass_begin) */

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
    /* Which threshold a whole pass runs faster with (gc_pool_pass_begin) */
    struct gc_pool_tune {
        int on;
        size_t ways[2]; /* min_work: the timed threshold; everything inline */
        int warm;       /* the first pass (first touches, cold caches) is not timed */
        int n[2];
        double t[2][GC_POOL_TUNE_PASSES];
        int chosen;     /* -1: still timing */
        unsigned since; /* passes since the choice */
        int way;        /* of the pass under way; -1: not timed */
        double t0;
    } tune;
} gc_pool;

/* Whole-pass tuning. The round trip timed at start is a guess made on a
 * probe: how a network's loops fare split depends on their memory traffic,
 * on the core their data was left in by the loop before, and on whether the
 * other cores are busy (a list run's reader and output threads take them),
 * which no probe sees. Measured on the 2-vCPU development machine, in an
 * hour when its splits were costly: the demo detector's forward took
 * 1.01-1.04 ms with every loop inline against 1.16-1.72 ms with the timed
 * threshold's splits, while yolov3-tiny's took 34-45 ms with them against
 * 46 ms inline (in another hour both ways read 0.9 ms on the demo net). Timing each loop both ways
 * does not find this out: a split's cost falls partly on the loops after it
 * (their input is half in the other core's cache), and a split after an
 * inline loop wakes a worker that has gone idle. So whole passes are timed:
 * the forwards run between gc_pool_pass_begin and _end alternate between
 * the timed threshold and everything inline, GC_POOL_TUNE_PASSES of each
 * after one not counted, and then keep the way whose median pass was
 * shorter (inline by GC_POOL_INLINE_GAIN at least), timed again every
 * GC_POOL_RETUNE passes (what else runs on the machine changes). Split or inline, a loop computes the same bits (the
 * same blocks; tested), so only the time depends on it. GC_POOL_MIN_WORK in
 * the environment turns this off (the fixed threshold, as the tests use);
 * so does GC_POOL_TUNE=0. */
#define GC_POOL_RETUNE 200
/* Everything inline is kept only when its median pass is under this share
 * of the threshold's: when the second core is taken by other work the two
 * ways time alike (yolov3-tiny: 47.5 ms split, 46.7 ms inline), and a coin
 * toss for inline then costs a third of each pass once the core is free
 * again (30 ms split), until the next timing. */
#define GC_POOL_INLINE_GAIN 0.9

/* Starts tuning p between its min_work and everything inline (on = 1; a
 * pool of one thread has nothing to tune), or stops it (0: min_work back to
 * the threshold it tuned against). gc_pool_init calls it with 1 unless the
 * environment says otherwise. */
void gc_pool_tune(gc_pool *p, int on);

/* Around one pass (a forward): sets min_work for it, and times it while
 * the choice is being made. p NULL: nothing. */
void gc_pool_pass_begin(gc_pool *p);
void gc_pool_pass_end(gc_pool *p);

/* The tuner's choice from its samples: 1 (everything inline) when the median
 * of inl[0..n) is below GC_POOL_INLINE_GAIN times that of split[0..n), else
 * 0 (the timed threshold). */
int gc_pool_tune_choice(const double *split, const double *inl, int n);

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
