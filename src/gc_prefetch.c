#include "gc_prefetch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gc_image.h"
#include "gc_stop.h"

enum { QUEUED, BUSY, DONE };

typedef struct entry {
    char *path;
    int state;
    int dropped; /* taken out of the queue while BUSY: the thread frees it */
    int rc;
    /* the decode as bytes: a queued 8000x6000 photo is 144 MB, not the
     * 576 MB of Darknet's float image */
    unsigned char *rgb;
    int w, h;
    gc_err err;
} entry;

struct gc_prefetch {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    int stop;
    entry **q; /* in the order put */
    int depth;  /* entries at most */
    int n;
};

static void entry_free(entry *x)
{
    free(x->rgb);
    free(x->path);
    free(x);
}

static void *run(void *arg)
{
    gc_prefetch *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        entry *x = NULL;
        for (int i = 0; i < p->n && !x; ++i)
            if (p->q[i]->state == QUEUED) x = p->q[i];
        if (p->stop) break;
        if (!x) {
            pthread_cond_wait(&p->work, &p->mu);
            continue;
        }
        x->state = BUSY;
        pthread_mutex_unlock(&p->mu);
        gc_err e = {0};
        unsigned char *rgb = NULL;
        int w = 0, h = 0;
        int rc = gc_image_load_rgb(x->path, &rgb, &w, &h, &e);
        pthread_mutex_lock(&p->mu);
        x->state = DONE;
        x->rc = rc;
        x->rgb = rgb;
        x->w = w;
        x->h = h;
        x->err = e;
        if (x->dropped) entry_free(x);
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

gc_prefetch *gc_prefetch_start(int depth, gc_err *e)
{
    gc_prefetch *p = calloc(1, sizeof *p);
    if (depth < 1) depth = 1;
    if (!p || !(p->q = calloc((size_t)depth, sizeof *p->q))) {
        free(p);
        gc_fail(e, "out of memory for the image reader");
        return NULL;
    }
    p->depth = depth;
    if (pthread_mutex_init(&p->mu, NULL)) goto fail_mu;
    if (pthread_cond_init(&p->work, NULL)) goto fail_work;
    if (pthread_cond_init(&p->done, NULL)) goto fail_done;
    sigset_t mask;
    gc_stop_block(&mask); /* a list run's stop signals go to its own thread (gc_stop.h) */
    int made = pthread_create(&p->thread, NULL, run, p) == 0;
    gc_stop_unblock(&mask);
    if (!made) goto fail_thread;
    return p;
fail_thread:
    pthread_cond_destroy(&p->done);
fail_done:
    pthread_cond_destroy(&p->work);
fail_work:
    pthread_mutex_destroy(&p->mu);
fail_mu:
    free(p->q);
    free(p);
    gc_fail(e, "cannot start the image reader's thread");
    return NULL;
}

int gc_prefetch_put(gc_prefetch *p, const char *path)
{
    entry *x = calloc(1, sizeof *x);
    if (!x || !(x->path = strdup(path))) {
        free(x);
        return -1;
    }
    x->state = QUEUED;
    pthread_mutex_lock(&p->mu);
    if (p->n == p->depth) {
        pthread_mutex_unlock(&p->mu);
        entry_free(x);
        return -1;
    }
    p->q[p->n++] = x;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static int find(const gc_prefetch *p, const char *path)
{
    for (int i = 0; i < p->n; ++i)
        if (!strcmp(p->q[i]->path, path)) return i;
    return -1;
}

int gc_prefetch_has(gc_prefetch *p, const char *path)
{
    pthread_mutex_lock(&p->mu);
    int i = find(p, path);
    pthread_mutex_unlock(&p->mu);
    return i >= 0;
}

/* Takes q[0] out of the queue. */
static entry *pop(gc_prefetch *p)
{
    entry *x = p->q[0];
    memmove(p->q, p->q + 1, (size_t)(p->n - 1) * sizeof *p->q);
    p->q[--p->n] = NULL;
    return x;
}

int gc_prefetch_take(gc_prefetch *p, const char *path, unsigned char **rgb, int *w, int *h, gc_err *e)
{
    if (!p) return 1;
    pthread_mutex_lock(&p->mu);
    int i = find(p, path);
    if (i < 0) {
        pthread_mutex_unlock(&p->mu);
        return 1;
    }
    while (i-- > 0) { /* skipped by the run */
        entry *x = pop(p);
        if (x->state == BUSY) x->dropped = 1;
        else entry_free(x);
    }
    while (p->q[0]->state != DONE) pthread_cond_wait(&p->done, &p->mu);
    entry *x = pop(p);
    pthread_mutex_unlock(&p->mu);
    int rc = x->rc;
    if (rc) {
        *e = x->err;
    } else {
        *rgb = x->rgb;
        *w = x->w;
        *h = x->h;
        x->rgb = NULL; /* the caller's now */
    }
    entry_free(x);
    return rc ? -1 : 0;
}

void gc_prefetch_stop(gc_prefetch *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    while (p->n) entry_free(pop(p));
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p->q);
    free(p);
}
