/* gc_dnimage: asks Darknet's own image decoder (the stb_image v1.09 built
 * into libdarknet, older than Debian's) whether it can read a file. Darknet's
 * load_image_color() exits with status 0 on any file its decoder refuses, and
 * the newer decoder gc_image_check() uses accepts more (16-bit PNM, say). */
#ifndef GC_DNIMAGE_H
#define GC_DNIMAGE_H

#include "darknet.h"

/* 1 if Darknet's decoder reads path (its size in *w, *h), else 0 with its
 * reason in *why (a static string). */
int gc_dnimage_can_load(const char *path, int *w, int *h, const char **why);

/* The same decode, kept: the image exactly as Darknet's load_image_color(path,
 * 0, 0) returns it (planar float RGB in [0,1]; free_image() it), without
 * decoding the file a second time. 0 with *why on failure. */
int gc_dnimage_load(const char *path, image *out, const char **why);

/* The same decode as 8-bit interleaved RGB (malloc'ed, free() it; its size
 * in *w, *h): a quarter of the float image's memory, for images held before
 * they are used (gc_prefetch). NULL with *why on failure. */
unsigned char *gc_dnimage_load_rgb(const char *path, int *w, int *h, const char **why);

/* Interleaved 8-bit RGB (w x h) as load_image_stb() converts it: planar
 * float RGB in [0,1]. 0 when out of memory. */
int gc_dnimage_from_rgb(const unsigned char *px, int w, int h, image *out);

/* Darknet's letterbox_image(im, net_w, net_h) of the float image of px (w x
 * h, interleaved 8-bit RGB, as gc_dnimage_from_rgb makes it), the same
 * floats bit for bit, without the float image (576 MB for an 8000x6000
 * photo): the resize reads each byte's value from gc_byte_value (on
 * x86-64; elsewhere, where a build may fuse a multiply-add, Darknet's own
 * letterbox_image of the float image, made for it and freed). The image
 * must letterbox to at least 2 x 2 (gc_image_fits_net). 0 when out of
 * memory (*out all zero), else 1 (free_image() *out). */
int gc_dnimage_letterbox_rgb(const unsigned char *px, int w, int h, int net_w, int net_h, image *out);

#endif
