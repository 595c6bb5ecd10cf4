#include "gc_writer.h"

#include "gc_image.h"
#include "gc_stop.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef enum { JOB_FILE, JOB_PNG, JOB_DRAW, JOB_CALL } job_kind;

typedef struct job {
    struct job *next;
    job_kind kind;
    char *path;
    unsigned char *data; /* file bytes, or RGB pixels */
    size_t len;
    int width, height;
    gc_writer_fn fn;
    gc_writer_draw_fn draw;
    void *arg;
} job;

struct gc_writer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work, room, idle;
    job *head, *tail;
    size_t queued, max_bytes;
    int busy, stop;
    gc_err err; /* first failure since the last call job; writer thread only */
    int failed;
    char *in_place; /* files under this folder are written in place, or NULL */
};

static int under(const gc_writer *w, const char *path)
{
    return w->in_place && !strncmp(path, w->in_place, strlen(w->in_place));
}

static void run(gc_writer *w, job *j)
{
    gc_err e = {0};
    int rc = 0;
    if (j->kind == JOB_FILE) {
        rc = under(w, j->path) ? gc_image_write_file_in_place(j->path, j->data, j->len, &e)
                               : gc_image_write_file(j->path, j->data, j->len, &e);
    } else if (j->kind == JOB_PNG) {
        rc = under(w, j->path) ? gc_image_write_png_in_place(j->path, j->width, j->height, j->data, &e)
                               : gc_image_write_png(j->path, j->width, j->height, j->data, &e);
    } else if (j->kind == JOB_DRAW) {
        int pw = 0, ph = 0;
        unsigned char *rgb = NULL;
        rc = j->draw(j->arg, &pw, &ph, &rgb, &e);
        if (rc == 0 && j->path)
            rc = under(w, j->path) ? gc_image_write_png_in_place(j->path, pw, ph, rgb, &e)
                                   : gc_image_write_png(j->path, pw, ph, rgb, &e);
        free(rgb);
    } else {
        j->fn(j->arg, w->failed ? &w->err : NULL);
        w->failed = 0;
        w->err = (gc_err){0};
    }
    if (rc && !w->failed) {
        w->failed = 1;
        w->err = e;
    }
}

static void job_free(job *j)
{
    free(j->path);
    free(j->data);
    free(j);
}

static void *writer_main(void *raw)
{
    gc_writer *w = raw;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stop) pthread_cond_wait(&w->work, &w->mu);
        if (!w->head) break; /* stopping, and nothing left */
        job *j = w->head;
        w->head = j->next;
        if (!w->head) w->tail = NULL;
        w->busy = 1;
        pthread_mutex_unlock(&w->mu);
        run(w, j);
        size_t bytes = j->len;
        job_free(j);
        pthread_mutex_lock(&w->mu);
        w->queued -= bytes;
        w->busy = 0;
        pthread_cond_broadcast(&w->room);
        if (!w->head) pthread_cond_broadcast(&w->idle);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

gc_writer *gc_writer_start(size_t max_bytes, const char *in_place, gc_err *e)
{
    gc_writer *w = calloc(1, sizeof *w);
    if (!w || (in_place && !(w->in_place = strdup(in_place)))) {
        free(w);
        return gc_fail(e, "out of memory for the output thread"), NULL;
    }
    w->max_bytes = max_bytes;
    if (pthread_mutex_init(&w->mu, NULL) || pthread_cond_init(&w->work, NULL) || pthread_cond_init(&w->room, NULL) ||
        pthread_cond_init(&w->idle, NULL)) {
        free(w->in_place);
        free(w);
        return gc_fail(e, "cannot create the output thread's locks"), NULL;
    }
    sigset_t mask;
    gc_stop_block(&mask); /* a list run's stop signals go to its own thread (gc_stop.h) */
    int failed = pthread_create(&w->thread, NULL, writer_main, w);
    gc_stop_unblock(&mask);
    if (failed) {
        pthread_cond_destroy(&w->work);
        pthread_cond_destroy(&w->room);
        pthread_cond_destroy(&w->idle);
        pthread_mutex_destroy(&w->mu);
        free(w->in_place);
        free(w);
        return gc_fail(e, "cannot start the output thread"), NULL;
    }
    return w;
}

/* Appends j; waits first while the queue holds more than max_bytes (a job
 * larger than that alone still goes in when the queue is empty). */
static void put(gc_writer *w, job *j)
{
    pthread_mutex_lock(&w->mu);
    while (w->head && w->queued + j->len > w->max_bytes) pthread_cond_wait(&w->room, &w->mu);
    if (w->tail) w->tail->next = j;
    else w->head = j;
    w->tail = j;
    w->queued += j->len;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
}

int gc_writer_put_file(gc_writer *w, const char *path, unsigned char *data, size_t len, gc_err *e)
{
    job *j = calloc(1, sizeof *j);
    char *p = strdup(path);
    if (!j || !p) {
        free(j);
        free(p);
        free(data);
        return gc_fail(e, "cannot write %s: out of memory", path);
    }
    j->kind = JOB_FILE;
    j->path = p;
    j->data = data;
    j->len = len;
    put(w, j);
    return 0;
}

int gc_writer_put_png(gc_writer *w, const char *path, int width, int height, const unsigned char *rgb, gc_err *e)
{
    if (width <= 0 || height <= 0) return gc_fail(e, "cannot write %s: bad image size %dx%d", path, width, height);
    size_t n = (size_t)width * (size_t)height * 3;
    unsigned char *d = malloc(n);
    if (!d) return gc_fail(e, "cannot write %s: out of memory", path);
    memcpy(d, rgb, n);
    return gc_writer_put_png_owned(w, path, width, height, d, e);
}

int gc_writer_put_png_owned(gc_writer *w, const char *path, int width, int height, unsigned char *rgb, gc_err *e)
{
    if (width <= 0 || height <= 0) {
        free(rgb);
        return gc_fail(e, "cannot write %s: bad image size %dx%d", path, width, height);
    }
    job *j = calloc(1, sizeof *j);
    char *p = strdup(path);
    if (!j || !p) {
        free(j);
        free(p);
        free(rgb);
        return gc_fail(e, "cannot write %s: out of memory", path);
    }
    j->kind = JOB_PNG;
    j->path = p;
    j->data = rgb;
    j->len = (size_t)width * (size_t)height * 3;
    j->width = width;
    j->height = height;
    put(w, j);
    return 0;
}

int gc_writer_put_draw(gc_writer *w, const char *path, gc_writer_draw_fn draw, void *arg, size_t bytes, gc_err *e)
{
    job *j = calloc(1, sizeof *j);
    char *p = path ? strdup(path) : NULL;
    if (!j || (path && !p)) {
        free(j);
        free(p);
        int pw, ph;
        gc_err ignored;
        draw(arg, &pw, &ph, NULL, &ignored); /* with rgb NULL: frees arg, nothing else */
        return path ? gc_fail(e, "cannot write %s: out of memory", path) : gc_fail(e, "out of memory for a picture");
    }
    j->kind = JOB_DRAW;
    j->path = p;
    j->draw = draw;
    j->arg = arg;
    j->len = bytes;
    put(w, j);
    return 0;
}

int gc_writer_put_call(gc_writer *w, gc_writer_fn fn, void *arg, gc_err *e)
{
    job *j = calloc(1, sizeof *j);
    if (!j) return gc_fail(e, "out of memory for the output thread");
    j->kind = JOB_CALL;
    j->fn = fn;
    j->arg = arg;
    put(w, j);
    return 0;
}

void gc_writer_drain(gc_writer *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->head || w->busy) pthread_cond_wait(&w->idle, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

void gc_writer_stop(gc_writer *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->room);
    pthread_cond_destroy(&w->idle);
    pthread_mutex_destroy(&w->mu);
    free(w->in_place);
    free(w);
}
