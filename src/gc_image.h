/* gc_image: file formats. Reading checks an image with Debian's stb_image
 * before Darknet's own loader (which exits on failure) ever sees it; writers
 * never leave a half-written file: they write PATH.tmp and rename. */
#ifndef GC_IMAGE_H
#define GC_IMAGE_H

#include <stddef.h>
#include "gc_common.h"

/* 0 if path decodes as an image (any stb format), else -1 naming the file and
 * stb's reason. On success *w, *h (may be NULL) receive its size. */
int gc_image_check(const char *path, int *w, int *h, gc_err *e);

/* Writes interleaved 8-bit RGB as PNG. */
int gc_write_png(const char *path, int w, int h, const unsigned char *rgb, gc_err *e);

/* Writes a float32 little-endian .npy (format 1.0, C order) of shape
 * (rows, cols). */
int gc_write_npy(const char *path, const float *data, size_t rows, size_t cols, gc_err *e);

/* Reads back a .npy written by gc_write_npy (for tests and tools): returns a
 * malloc'd array and its shape, or NULL with e set. */
float *gc_read_npy(const char *path, size_t *rows, size_t *cols, gc_err *e);

/* Writes `len` bytes atomically (PATH.tmp + rename). */
int gc_write_file(const char *path, const void *data, size_t len, gc_err *e);

/* 0 if path's first 64 KiB look like text (no NUL byte, no image
 * signature), else -1: "<what> file PATH is binary (a PNG image?), not a
 * text file". For lists given where an image could be given by mistake. */
int gc_check_text_file(const char *path, const char *what, gc_err *e);

/* Creates the folders above path (its directory part), like mkdir -p, so
 * that `-out newdir/p` works. Existing folders are fine. */
int gc_make_parent_dirs(const char *path, gc_err *e);

#endif
