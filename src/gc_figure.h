/* gc_figure: the pictures a run writes, composed from gc_render's kernels.
 *   - A panel: the image, enlarged for display when small (gc_render_display_scale),
 *     with the heat faded in by its value (zero heat leaves the image as it
 *     is) and the box outlined.
 *   - An overlay: a panel, the box's label placed inside the picture, and a
 *     footer with a title (class, name, probability, method, layer) and a
 *     colour bar labelled with the map's range; an all-zero map is the plain
 *     image, tagged "all-zero map" on the picture and in the footer.
 *   - The detector's summary: the image with every box outlined and
 *     numbered (numbers never overlap), a legend beside it (number, class,
 *     probability), and a grid of the per-box maps with captions.
 * Pure pixel work on raw arrays: no Darknet, no files. */
#ifndef GC_FIGURE_H
#define GC_FIGURE_H

#include "gc_common.h"
#include "gc_png.h"
#include "gc_render.h"

/* An interleaved 8-bit RGB picture, owned (gc_figure_picture_free). */
typedef struct gc_picture {
    unsigned char *rgb;
    int w, h;
} gc_picture;

void gc_figure_picture_free(gc_picture *p);
/* The pixels, handed to the caller (p keeps its size and no pixels). */
unsigned char *gc_figure_picture_take(gc_picture *p);

/* A box in the original image's pixels, corners inclusive. */
typedef struct gc_fig_box {
    int l, t, r, b;
    int cls;
} gc_fig_box;

/* The colour boxes of class cls are drawn in (bright: black text reads on it). */
void gc_figure_class_color(int cls, unsigned char rgb[3]);

/* The panel: img (w x h, gc_pixels: Darknet's planar RGB or its bytes) enlarged by
 * gc_render_display_scale(w, h), heat (w*h display values in [0,1], from
 * gc_render_heat_scale; NULL for none) blended with opacity alpha * heat, and box
 * (NULL for none) outlined in its class colour. Returns 0, or -1 with e set. */
int gc_figure_panel(gc_picture *out, gc_pixels img, int w, int h, const float *heat, float alpha,
                 const gc_fig_box *box, gc_err *e);
/* The same, the overlay's rows drawn through par (NULL: on this thread): the
 * same picture. */
int gc_figure_panel_par(gc_picture *out, gc_pixels img, int w, int h, const float *heat, float alpha,
                        const gc_fig_box *box, const gc_png_par *par, gc_err *e);
/* The same drawn into the top rows of out (as wide as the panel, at least
 * as high): an overlay's, without a panel of its own. */
void gc_figure_panel_into(gc_picture *out, gc_pixels img, int w, int h, const float *heat, float alpha,
                          const gc_fig_box *box, const gc_png_par *par);

/* The overlay: the panel (as made by gc_figure_panel for an image of img_w x
 * img_h), box's label (NULL for none) placed inside the picture, and the
 * footer: title, then a colour bar from lo to hi (the raw map's range), the
 * all-zero note, or for a gradient picture (gradient set: the panel is an
 * input gradient, Guided Backprop's, not a heat) the key to its colours.
 * Where a line is too wide even at the smallest text (a narrow, tall image,
 * which is not enlarged), it is wrapped at its spaces onto more rows, and
 * the colour bar's labels go below the bar: the picture grows taller.
 * Returns 0, or -1 with e set. */
int gc_figure_overlay(gc_picture *out, const gc_picture *panel, int img_w, int img_h, const gc_fig_box *box,
                   const char *label, const char *title, float lo, float hi, int all_zero, int gradient, gc_err *e);
/* The same in place, for a large image (no panel beside the overlay):
 * _begin allocates out with its footer's background, the caller draws the
 * panel into its top rows (gc_figure_panel_into), _finish adds the label and
 * the footer. _begin takes the footer's contents (they set its height), the
 * same as _finish's. The same picture as gc_figure_overlay's. */
int gc_figure_overlay_begin(gc_picture *out, int img_w, int img_h, const char *title, float lo, float hi,
                            int all_zero, int gradient, gc_err *e);
void gc_figure_overlay_finish(gc_picture *out, int img_w, int img_h, const gc_fig_box *box, const char *label,
                              const char *title, float lo, float hi, int all_zero, int gradient);

/* The summary of n boxes, filled box by box (gc_figure_summary_set) then drawn
 * (gc_figure_summary_render). */
typedef struct gc_summary {
    int n, img_w, img_h;
    int cols, tw, th;         /* grid of thumbnails, each tw x th */
    unsigned char *thumbs;    /* n * tw * th * 3 */
    gc_fig_box *boxes;
    char (*captions)[128];
} gc_summary;

int gc_figure_summary_init(gc_summary *s, int n, int img_w, int img_h, gc_err *e);
/* Box k: its panel (gc_figure_panel) shrunk into the grid, its box and its
 * caption (number, class name, probability). */
void gc_figure_summary_set(gc_summary *s, int k, const gc_picture *panel, const gc_fig_box *box, const char *caption);
/* Draws the summary of img (img_w x img_h). */
int gc_figure_summary_render(gc_summary *s, gc_pixels img, gc_picture *out, gc_err *e);
void gc_figure_summary_free(gc_summary *s);

/* Fits text into max_w px: the largest scale from max_scale down to 1 at
 * which it fits, else scale 1 with the text cut and ending in "..". Writes
 * the (possibly cut) text to buf and returns the scale. */
int gc_figure_fit_text(const char *text, int max_w, int max_scale, char *buf, size_t n);

#endif
