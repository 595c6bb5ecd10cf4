/* gc_writer: one background thread that writes a list run's output files in
 * the order they were handed over, while the calling thread explains the
 * next image.
 *
 * Why: in -list mode every image ends with its files (overlay PNGs, .npy
 * maps, the summary), a folder rename and an index line. Done on the
 * explaining thread, that was most of a demo scene's time with every output
 * (PNG encoding, file creation) and a quarter of it with -save npy; on a
 * second core it overlaps the next image's forward and backward passes.
 *
 * Jobs run strictly in order: a file, a PNG (encoded here, on this thread,
 * from a copy of the pixels), or a call. A call gets the first error of the
 * file and PNG jobs queued since the previous call (NULL if none), so one
 * image's completion step (rename its folder and append its index line, or
 * remove it) sees exactly that image's failures and runs after its files
 * exist. Calls run on the writer's thread: what they touch must not be
 * touched by the caller meanwhile.
 *
 * The caller waits (gc_writer_put_*) while more than max_bytes of file data
 * and pixels are queued, so a slow disk bounds memory, not speed. */
#ifndef GC_WRITER_H
#define GC_WRITER_H

#include <stddef.h>

#include "gc_common.h"

typedef struct gc_writer gc_writer;

/* Starts the thread. NULL with e set when it cannot. Files whose path starts
 * with in_place (a folder with its '/', or NULL for none) are written in
 * place, without a temporary name of their own: list mode's image folders,
 * made under .tmp and renamed whole when complete. */
gc_writer *gc_writer_start(size_t max_bytes, const char *in_place, gc_err *e);

/* Queues `len` bytes to be written to path (gc_image_write_file: a
 * temporary name, then a rename; in place under the folder above). Takes ownership of data (malloc'ed), also
 * on failure. -1 with e set only when out of memory (nothing queued). */
int gc_writer_put_file(gc_writer *w, const char *path, unsigned char *data, size_t len, gc_err *e);

/* Queues a PNG of the w x h RGB pixels (copied now) to be encoded and
 * written to path. -1 with e set only when out of memory. */
int gc_writer_put_png(gc_writer *w, const char *path, int width, int height, const unsigned char *rgb, gc_err *e);

/* The same with the pixels handed over (malloc'ed; freed by the writer,
 * also on failure): no copy. */
int gc_writer_put_png_owned(gc_writer *w, const char *path, int width, int height, unsigned char *rgb, gc_err *e);

/* Queues a picture drawn on the output thread: draw(arg, &w, &h, &rgb, e)
 * makes it (rgb malloc'ed; 0, or -1 with e set) and frees arg whatever
 * happens; with rgb NULL it only frees arg (returns -1). The PNG is then
 * written to path like gc_writer_put_png's; a failure of either is the
 * next call's error. With path NULL nothing is written: draw runs for what
 * it does to arg's shared state (and must leave rgb NULL). bytes: what arg
 * holds, counted against max_bytes. -1 with e set only when out of memory
 * (arg freed). */
typedef int (*gc_writer_draw_fn)(void *arg, int *w, int *h, unsigned char **rgb, gc_err *e);
int gc_writer_put_draw(gc_writer *w, const char *path, gc_writer_draw_fn draw, void *arg, size_t bytes, gc_err *e);

/* Queues fn(arg, err): err is the first failure of the jobs queued since
 * the previous call (its message, and its errno in err->sys when a file
 * could not be written), or NULL. fn owns arg. -1 with e set only when out
 * of memory (fn is then not called). */
typedef void (*gc_writer_fn)(void *arg, const gc_err *err);
int gc_writer_put_call(gc_writer *w, gc_writer_fn fn, void *arg, gc_err *e);

/* Returns when every queued job has run. */
void gc_writer_drain(gc_writer *w);

/* Drains, stops the thread and frees w (NULL is a no-op). */
void gc_writer_stop(gc_writer *w);

#endif
