/* gc_image: file formats. Reading checks an image with Debian's stb_image
 * before Darknet's own loader (which exits on failure) ever sees it; writers
 * never leave a half-written file: they write PATH.tmp and rename. */
#ifndef GC_IMAGE_H
#define GC_IMAGE_H

#include <stddef.h>
#include "darknet.h"
#include "gc_common.h"
#include "gc_png.h"

/* 0 if path decodes as an image (any stb format), else -1 naming the file and
 * stb's reason. On success *w, *h (may be NULL) receive its size. */
int gc_image_check(const char *path, int *w, int *h, gc_err *e);

/* gc_image_check, then the image as Darknet's load_image_color(path, 0, 0)
 * returns it (free_image() it), from the decode that checked it (issue #13:
 * the file was decoded three times). On failure *out is all zero. */
int gc_image_load(const char *path, image *out, gc_err *e);

/* The same image as 8-bit interleaved RGB (malloc'ed, free() it; its size in
 * *w, *h), a quarter of the float image's memory: gc_dnimage_from_rgb makes
 * gc_image_load's image of it. On failure *rgb is NULL. */
int gc_image_load_rgb(const char *path, unsigned char **rgb, int *w, int *h, gc_err *e);

/* The cheap part of gc_image_check: the file and its header only (format and
 * size), no decode. For checking a whole list up front. */
int gc_image_check_header(const char *path, int *w, int *h, gc_err *e);

/* 0 if an im_w x im_h image can feed a network of net_w x net_h x net_c:
 * images are loaded as RGB, so net_c must be 3, and Darknet's letterbox must
 * give at least 2 x 2 pixels (its resize_image() computes NaN offsets for a
 * 1-pixel target). Else -1 naming the image and the [net] size. */
int gc_image_fits_net(const char *path, int im_w, int im_h, int net_w, int net_h, int net_c, gc_err *e);

/* 0 if path's directory exists and is writable, path is not a directory, and
 * the file PATH.tmp can be created there (it is removed again); else -1,
 * naming `what` (e.g. "-json", "gradcam init") and the path. */
int gc_image_check_out_path(const char *what, const char *path, gc_err *e);

/* 0 if path exists and is a readable regular file, else -1 naming it. */
int gc_image_check_readable(const char *path, const char *what, gc_err *e);

/* Checks that the directory part of an output prefix exists and is writable. */
int gc_image_check_out_prefix(const char *prefix, gc_err *e);

/* Writes interleaved 8-bit RGB as PNG (gc_png). */
int gc_image_write_png(const char *path, int w, int h, const unsigned char *rgb, gc_err *e);
/* The same, the encoding spread over par's threads (NULL: serially); the
 * file is the same. */
int gc_image_write_png_par(const char *path, int w, int h, const unsigned char *rgb, const gc_png_par *par, gc_err *e);
/* The same written in place (gc_image_write_file_in_place). */
int gc_image_write_png_in_place(const char *path, int w, int h, const unsigned char *rgb, gc_err *e);

/* The bytes of a float32 .npy of shape (rows, cols) or, with depth > 0,
 * (rows, cols, depth), in *out (malloc'ed); path only names it in errors. */
int gc_image_npy_bytes(const char *path, const float *data, size_t rows, size_t cols, size_t depth,
                       unsigned char **out, size_t *out_len, gc_err *e);

/* Writes a float32 little-endian .npy (format 1.0, C order) of shape
 * (rows, cols). */
int gc_image_write_npy(const char *path, const float *data, size_t rows, size_t cols, gc_err *e);

/* The same, of shape (rows, cols, depth) (depth >= 1), data in that order
 * (e.g. an interleaved H x W x 3 image). */
int gc_image_write_npy3(const char *path, const float *data, size_t rows, size_t cols, size_t depth, gc_err *e);

/* Reads back a .npy written by gc_image_write_npy (for tests and tools): returns a
 * malloc'd array and its shape, or NULL with e set. */
float *gc_image_read_npy(const char *path, size_t *rows, size_t *cols, gc_err *e);

/* Writes `len` bytes atomically (PATH.tmp + rename). Refuses a path that is
 * one of the run's inputs (gc_image_protect) or a folder. Through a symbolic
 * link the link's target is replaced (the link stays); a device or FIFO
 * (-json /dev/null, /dev/stdout) is written in place, never replaced. */
int gc_image_write_file(const char *path, const void *data, size_t len, gc_err *e);

/* Records a file the run reads (cfg, weights, image, names, list, ...): no
 * output written by gc_image_write_file may replace it, by any name (the
 * same file: device and inode). A path that does not exist is ignored.
 * Returns -1 only when out of memory. */
int gc_image_protect(const char *path);

/* The input a path is (its name as protected), or NULL. */
const char *gc_image_protected(const char *path);

/* Forgets every protected input (the run is over). */
void gc_image_protect_clear(void);

/* Removes an output of a failed run: only a plain file (never a device, a
 * link, a folder) that is not an input. */
void gc_image_remove_output(const char *path);

/* The same in place, for a file inside a folder that is itself made under a
 * temporary name and renamed when complete (list mode's image folders): the
 * folder's rename already makes it appear whole. A failure removes path. */
int gc_image_write_file_in_place(const char *path, const void *data, size_t len, gc_err *e);

/* The image format whose signature head (n bytes, 4 suffice) starts with:
 * "PNG", "JPEG", "GIF", "BMP", "PSD", "PNM" (binary P5/P6), "HDR", "PIC";
 * NULL for none (a TGA has no signature). */
const char *gc_image_signature(const unsigned char *head, size_t n);

/* 0 if path's first 64 KiB look like text (no NUL byte, no image
 * signature), else -1: "<what> file PATH is binary (a PNG image?), not a
 * text file". For lists given where an image could be given by mistake. */
int gc_image_check_text_file(const char *path, const char *what, gc_err *e);
/* The same, the messages naming the file as label ("-list - (standard
 * input)" for /dev/stdin) in place of "<what> file PATH". */
int gc_image_check_text_file_as(const char *path, const char *label, gc_err *e);

/* Creates the folders above path (its directory part), like mkdir -p, so
 * that `-out newdir/p` works; `what` names the path in messages ("-json";
 * NULL: "output path"). Existing folders are fine. The folders it
 * creates are recorded (and with gc_interrupt, for a signal): a failed run
 * removes them with gc_image_remove_made_dirs. */
int gc_image_make_parent_dirs(const char *what, const char *path, gc_err *e);

/* Removes the folders gc_image_make_parent_dirs created, deepest first, that
 * are empty (what a failed run leaves once its files are gone), and forgets
 * them. */
void gc_image_remove_made_dirs(void);

/* Forgets them, leaving them in place (the run went through). */
void gc_image_forget_made_dirs(void);

#endif
