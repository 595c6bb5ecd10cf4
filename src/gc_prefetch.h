/* gc_prefetch: one background thread that decodes the next images of a list
 * run (gc_image_load) while the current one is explained.
 *
 * Why: a demo scene's PNG decode was 9-10% of the explaining thread's time
 * in a -save npy list run (perf, 500 scenes); the list's order is known, so
 * the next image can be decoded ahead on another core.
 *
 * A queue of at most depth paths, decoded in the order put. The
 * explaining thread takes them in that order: gc_prefetch_take(p, path)
 * waits for path's decode and hands over its image, or its error exactly as
 * gc_image_load would have given it. A path that is not next in the queue
 * (the run skipped it) drops the entries before it; one that is not queued
 * at all is the caller's to load (return 1), the queue left as it is (with
 * -batch it holds the next batch's images). */
#ifndef GC_PREFETCH_H
#define GC_PREFETCH_H

#include "darknet.h"
#include "gc_common.h"

/* One image at a time: the next one decodes while this one is explained.
 * With -batch N the next batch's N images do. */
#define GC_PREFETCH_DEPTH 2

typedef struct gc_prefetch gc_prefetch;

/* Starts the thread, for at most depth queued images. NULL with e set when it cannot. */
gc_prefetch *gc_prefetch_start(int depth, gc_err *e);

/* Queues path (copied) for decoding. Returns 0, or -1 when the queue is full
 * or out of memory (nothing queued: the image is loaded when taken). */
int gc_prefetch_put(gc_prefetch *p, const char *path);

/* Whether path is queued (waiting, being decoded or decoded). */
int gc_prefetch_has(gc_prefetch *p, const char *path);

/* path's image: 0 with *rgb, *w, *h set as gc_image_load_rgb sets them
 * (the caller frees *rgb), -1 with e set (the decode's error), or 1 when
 * path was not queued (nothing set, nothing dropped). The entries queued
 * before a queued path are dropped. p may be NULL (returns 1). */
int gc_prefetch_take(gc_prefetch *p, const char *path, unsigned char **rgb, int *w, int *h, gc_err *e);

/* Stops the thread, frees every queued image and p (NULL is a no-op). */
void gc_prefetch_stop(gc_prefetch *p);

#endif
