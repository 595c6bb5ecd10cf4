/* gc_render: from a raw map at layer resolution to pictures on the original
 * image: the inverse letterbox, bilinear resampling, min-max normalisation,
 * the colormap and the alpha blend, and box/label drawing. Pure functions on
 * raw arrays; file writing lives in gc_image. */
#ifndef GC_RENDER_H
#define GC_RENDER_H

#include <stddef.h>

/* Darknet's letterbox_image(im, net_w, net_h), same integer arithmetic:
 * the image is resized to new_w x new_h and pasted at (dx, dy) on a grey
 * net_w x net_h canvas. The window (win_*) is the part of the network input
 * that the layers see, in network-input pixels: the whole input, but for a
 * network whose first layer is a [crop] (at inference Darknet's crop takes
 * the centred crop_width x crop_height, so every layer above it covers only
 * that window). */
typedef struct gc_letterbox {
    int orig_w, orig_h;
    int net_w, net_h;
    int new_w, new_h;
    int dx, dy;
    int win_x, win_y, win_w, win_h;
} gc_letterbox;

/* The window is the whole network input. */
gc_letterbox gc_render_letterbox(int orig_w, int orig_h, int net_w, int net_h);
/* Sets the window: w x h at (x, y), inside the network input. */
void gc_render_letterbox_window(gc_letterbox *lb, int x, int y, int w, int h);

/* Darknet's new_w/new_h can round to 0 for extreme aspect ratios; they are
 * kept at 1 here so the mappings below stay defined. */

/* Continuous pixel coordinates (pixel centres at +0.5) between the network
 * input and the original image, following Darknet's resize_image() exactly:
 * resized pixel c samples original pixel c*(orig-1)/(new-1) (corners
 * aligned), i.e. orig = (net - d - 0.5)*(orig-1)/(new-1) + 0.5 per axis (d =
 * dx or dy); when orig or new is 1, plain scaling orig = (net - d)*orig/new.
 * The two functions are inverses of each other. */
void gc_render_letterbox_to_orig(const gc_letterbox *lb, float net_x, float net_y, float *ox, float *oy);
void gc_render_letterbox_to_net(const gc_letterbox *lb, float ox, float oy, float *net_x, float *net_y);

/* Resamples a map of mw x mh cells covering lb's window onto the original
 * image (orig_w x orig_h), through the inverse letterbox: bilinear, cell
 * centres aligned (align_corners=false), edges clamped; 0 where a pixel's
 * centre falls outside the window (the network never saw it). */
void gc_render_map_to_image(const float *map, int mw, int mh, const gc_letterbox *lb, float *out);
/* The same for a plane of the whole network input (net_w x net_h), such as
 * an input gradient, whatever the window. */
void gc_render_input_to_image(const float *plane, const gc_letterbox *lb, float *out);
/* The same two at another size, dw x dh: the original image resized (its
 * pixel x centred on original coordinate (x + .5) orig_w / dw, as an area
 * resize places it), for a picture drawn smaller or larger than the image.
 * A letterbox made for dw x dh instead (the sheet's, until this) scales
 * network coordinates by (dw - 1) / (new - 1), not (orig - 1) / (new - 1)
 * times orig / dw: its heat sat up to two network pixels off a 28 x 28
 * image's panel. */
void gc_render_map_to_display(const float *map, int mw, int mh, const gc_letterbox *lb, int dw, int dh, float *out);
void gc_render_input_to_display(const float *plane, const gc_letterbox *lb, int dw, int dh, float *out);
/* A map of mw x mh cells covering lb's window onto the network input (out:
 * net_w x net_h): gc_render_resize to the window's size, then
 * gc_render_window_expand. With the whole input as the window, bit for bit
 * gc_render_resize(map, mw, mh, out, net_w, net_h). */
void gc_render_map_to_input(const float *map, int mw, int mh, const gc_letterbox *lb, float *out);
/* In place, on a plane of net_w x net_h floats: expand moves its first
 * win_w x win_h (an array of the window's size) to the window, and sets the
 * rest to 0; crop does the reverse (the window's values to the front, the
 * rest left undefined). Both do nothing when the window is the whole input. */
void gc_render_window_expand(float *plane, const gc_letterbox *lb);
void gc_render_window_crop(float *plane, const gc_letterbox *lb);

/* Bilinear resize of a single-channel array (same conventions as above). */
void gc_render_resize(const float *in, int iw, int ih, float *out, int ow, int oh);

/* In place: (x - min) / (max - min). A constant array becomes all zero (no
 * NaN). Returns max - min of the input. */
float gc_render_normalize(float *x, size_t n);

/* Jet colormap of v in [0, 1] (clamped) to 8-bit RGB. */
void gc_render_jet(float v, unsigned char rgb[3]);

/* An image to draw on: Darknet's planar float RGB in [0,1] (f: c*w*h + y*w
 * + x), or the 8-bit interleaved RGB it is made from (rgb: (y*w + x)*3 + c),
 * each byte read as gc_byte_value, the float Darknet's loader makes of it:
 * the same picture, byte for byte. One of the two is set. */
typedef struct gc_pixels {
    const float *f;
    const unsigned char *rgb;
} gc_pixels;

static inline gc_pixels gc_pixels_float(const float *f)
{
    gc_pixels p = {f, NULL};
    return p;
}

static inline gc_pixels gc_pixels_bytes(const unsigned char *rgb)
{
    gc_pixels p = {NULL, rgb};
    return p;
}

/* Blends the colormapped heat (values in [0,1]) over the image, with an
 * opacity that grows with the heat, so that the image stays untinted where
 * the map is zero (an all-zero map gives the plain image):
 *   a = alpha * heat,
 *   rgb_out[(y*w + x)*3 + c] = round(255 * ((1 - a) * img_c + a * jet_c(heat)))
 * with img_c and jet_c in [0,1], heat and alpha clamped to [0,1]. img is
 * Darknet's planar float RGB in [0,1] (c*w*h + y*w + x), clamped; rgb_out is
 * interleaved. */
void gc_render_overlay(const float *img, int w, int h, const float *heat, float alpha, unsigned char *rgb_out);
/* The same of either kind of image. */
void gc_render_overlay_px(gc_pixels img, int w, int h, const float *heat, float alpha, unsigned char *rgb_out);

/* The same for img (w x h) scaled up f times (1 to 64) by nearest
 * neighbour: heat and rgb_out are (w f) x (h f). The bytes equal
 * gc_render_overlay's on the scaled-up image, without making it. */
void gc_render_overlay_scaled(const float *img, int w, int h, int f, const float *heat, float alpha,
                              unsigned char *rgb_out);
/* Only its rows [y0, y1) of the h f: a share of the work for a thread. */
void gc_render_overlay_scaled_rows(const float *img, int w, int h, int f, const float *heat, float alpha,
                                   unsigned char *rgb_out, size_t y0, size_t y1);
void gc_render_overlay_scaled_rows_px(gc_pixels img, int w, int h, int f, const float *heat, float alpha,
                                      unsigned char *rgb_out, size_t y0, size_t y1);
/* The same with heat at the image's own size (w x h), each row scaled up
 * bilinearly as it is drawn: bit for bit gc_render_resize(heat, w, h, up,
 * w f, h f) then gc_render_overlay_scaled_rows on up, without up, so that
 * the rows' threads share the resize too. w f at most GC_RENDER_MAX_ROW
 * (gc_render_display_scale keeps a scaled side within 4096). */
#define GC_RENDER_MAX_ROW 4096
/* Whether the overlay blends eight pixels at a time (AVX2, where the CPU has
 * it) or four (SSE2): the same bytes either way. set 0 or 1 chooses (1 only
 * where the CPU has it; for tests and benchmarks), -1 asks. Returns the
 * choice. */
int gc_render_avx2(int set);
void gc_render_overlay_scaled_up_rows(const float *img, int w, int h, int f, const float *heat, float alpha,
                                      unsigned char *rgb_out, size_t y0, size_t y1);
void gc_render_overlay_scaled_up_rows_px(gc_pixels img, int w, int h, int f, const float *heat, float alpha,
                                         unsigned char *rgb_out, size_t y0, size_t y1);

/* The heat of a map for display: out = (v - lo) / (hi - lo) with lo =
 * min(0, min v) and hi = max v, so that a zero of a non-negative map stays 0
 * (untinted) and the map's maximum is 1. *lo and *hi receive the range (the
 * colour bar's labels). Returns 1 when the map is all zero (or constant, or
 * not finite): then out is all zero. out may be NULL: the range and the
 * flag only (nothing will be drawn). */
int gc_render_heat_scale(const float *in, size_t n, float *out, float *lo, float *hi);

/* ---- display --------------------------------------------------------------- */

/* Integer upscale factor for showing a w x h image: small images (shorter
 * side under GC_DISPLAY_MIN px) are enlarged so that it reaches at least
 * that, at most 8x and at most 4096 px on the longer side; others are shown
 * at their own size (1). */
#define GC_DISPLAY_MIN 384
int gc_render_display_scale(int w, int h);
/* Text scale for a picture of w x h display pixels: 2 up to 719 px on the
 * shorter side, then one more per 360 px (a 3000 px photo gets 9: 81 px
 * high text). */
int gc_render_text_scale(int w, int h);
/* Box outline thickness for a picture of w x h display pixels. */
int gc_render_line_width(int w, int h);

/* Resizes interleaved RGB: nearest neighbour when enlarging, the mean of
 * the covered source pixels when shrinking (thumbnails stay smooth). */
void gc_render_resize_rgb(const unsigned char *in, int iw, int ih, unsigned char *out, int ow, int oh);

/* Draws the jet colour bar, 0 at the left to 1 at the right, filling the
 * inclusive rectangle (x, y)-(x+bw-1, y+bh-1); clipped. */
void gc_render_colorbar(unsigned char *rgb, int w, int h, int x, int y, int bw, int bh);

/* Draws a rectangle outline on interleaved RGB: corners inclusive, in any
 * order, thickness t pixels (t < 1 means 1) growing inwards; clipped. */
void gc_render_box(unsigned char *rgb, int w, int h, int x0, int y0, int x1, int y1, int t,
                 const unsigned char color[3]);
/* Draws ASCII text with a built-in 5x7 bitmap font scaled by `scale` (< 1
 * means 1), top-left at (x, y), on a filled background; clipped. Characters
 * outside 32..126 are drawn as '?'. Each character takes a GC_FONT_CELL_W x
 * GC_FONT_CELL_H cell, plus a 1-pixel margin: the label is
 * (GC_FONT_CELL_W*strlen + 1)*scale wide and (GC_FONT_CELL_H + 1)*scale high.
 * Returns the text width in px. */
int gc_render_text(unsigned char *rgb, int w, int h, int x, int y, const char *text, int scale,
                 const unsigned char fg[3], const unsigned char bg[3]);

#define GC_FONT_CELL_W 6
#define GC_FONT_CELL_H 8
/* The 7 rows of the 5x7 glyph of ch (bit 4 = leftmost column); '?' for
 * characters outside printable ASCII 32..126. */
const unsigned char *gc_render_glyph(int ch);

/* Width and height in px of gc_render_text's label for text at scale. */
int gc_render_text_width(const char *text, int scale);
int gc_render_text_height(int scale);

/* ---- label placement ------------------------------------------------------ */

typedef struct gc_rect {
    int x, y, w, h; /* top-left, size; w == 0: empty */
} gc_rect;

/* 1 when a and b share a pixel. */
int gc_render_rect_overlap(const gc_rect *a, const gc_rect *b);

/* Places a label for each of n boxes (boxes[i]: the box's pixels, texts[i]
 * its text) on an image of w x h pixels, in order: each label is tried at
 * scale from max_scale down to min_scale, at positions around its box
 * (above it, inside its top, below it, inside its bottom; left-aligned then
 * right-aligned; moved inside the image), first where it covers neither
 * another label nor another box, then where it covers no other label.
 * fixed[0..nfixed) are rectangles no label may cover (e.g. a tag drawn
 * first). A label that fits nowhere gets w = 0 and scale 0. Every placed
 * label lies inside the image, and no two placed labels overlap each other
 * or a fixed rectangle. Returns how many were placed. */
int gc_render_place_labels(const gc_rect *boxes, const char *const *texts, int n, int w, int h, int max_scale,
                    int min_scale, const gc_rect *fixed, int nfixed, gc_rect *out, int *scales);

#endif
