/* gc_render: from a raw map at layer resolution to pictures on the original
 * image: the inverse letterbox, bilinear resampling, min-max normalisation,
 * the colormap and the alpha blend, and box/label drawing. Pure functions on
 * raw arrays; file writing lives in gc_image. */
#ifndef GC_RENDER_H
#define GC_RENDER_H

#include <stddef.h>

/* Darknet's letterbox_image(im, net_w, net_h), same integer arithmetic:
 * the image is resized to new_w x new_h and pasted at (dx, dy) on a grey
 * net_w x net_h canvas. */
typedef struct gc_letterbox {
    int orig_w, orig_h;
    int net_w, net_h;
    int new_w, new_h;
    int dx, dy;
} gc_letterbox;

gc_letterbox gc_letterbox_make(int orig_w, int orig_h, int net_w, int net_h);

/* Continuous pixel coordinates (pixel centres at +0.5) between the network
 * input and the original image. */
void gc_letterbox_to_orig(const gc_letterbox *lb, float net_x, float net_y, float *ox, float *oy);
void gc_letterbox_to_net(const gc_letterbox *lb, float ox, float oy, float *net_x, float *net_y);

/* Resamples a map of mw x mh cells covering the whole network input onto the
 * original image (orig_w x orig_h), through the inverse letterbox: bilinear,
 * cell centres aligned (align_corners=false), edges clamped. */
void gc_map_to_image(const float *map, int mw, int mh, const gc_letterbox *lb, float *out);

/* Bilinear resize of a single-channel array (same conventions as above). */
void gc_resize_bilinear(const float *in, int iw, int ih, float *out, int ow, int oh);

/* In place: (x - min) / (max - min). A constant array becomes all zero (no
 * NaN). Returns max - min of the input. */
float gc_normalize_minmax(float *x, size_t n);

/* Jet colormap of v in [0, 1] (clamped) to 8-bit RGB. */
void gc_colormap_jet(float v, unsigned char rgb[3]);

/* rgb_out[(y*w + x)*3 + c] = (1 - alpha * heat) ... see .c: blends the
 * colormapped heat (values in [0,1]) over the image. img is Darknet's planar
 * float RGB in [0,1] (c*w*h + y*w + x). */
void gc_overlay(const float *img, int w, int h, const float *heat, float alpha, unsigned char *rgb_out);

/* Draws a rectangle outline (thickness t pixels, clipped) on interleaved RGB. */
void gc_draw_box(unsigned char *rgb, int w, int h, int x0, int y0, int x1, int y1, int t,
                 const unsigned char color[3]);
/* Draws ASCII text with a built-in 5x7 bitmap font scaled by `scale`, top-left
 * at (x, y), on a filled background; clipped. Returns the text width in px. */
int gc_draw_text(unsigned char *rgb, int w, int h, int x, int y, const char *text, int scale,
                 const unsigned char fg[3], const unsigned char bg[3]);

#endif
