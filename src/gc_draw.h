/* gc_draw: one image's pictures (each target's overlay, the detector's
 * summary), drawn where they are cheapest for the run.
 *
 * Without an output thread (the main command) they are drawn here, the
 * overlay's rows spread over the forward's threads, and written at once.
 * With one (list mode, s->writer) they are drawn on that thread, between
 * its PNG jobs, while this thread explains the next target or image: each
 * overlay job holds a copy of its heat, and every job of the image shares
 * one copy of the image (and the summary, filled by the overlay jobs in the
 * order they were queued, then drawn by the summary job). Drawing was a
 * fifth of the explaining thread's time per demo scene with every output.
 * The pictures are the same bytes either way.
 *
 * Use: gc_draw_begin after the image has loaded, gc_draw_overlay per
 * target, gc_draw_summary once, gc_draw_end always (also after a failure:
 * queued jobs keep what they need). */
#ifndef GC_DRAW_H
#define GC_DRAW_H

#include "gc_explain.h"
#include "gc_figure.h"

typedef struct gc_draw gc_draw;

/* For the image now in s (s->orig), with a summary of nsum boxes (0: none).
 * NULL with e set when out of memory. */
gc_draw *gc_draw_begin(gc_session *s, int nsum, gc_err *e);

/* One target's picture: the panel of img (of the original image's size: the
 * photo, gc_pixels_bytes(s->orig_rgb), or a gradient image, planar float) with heat (display values, or
 * NULL), alpha and box (NULL for none); then, when png is set, the overlay
 * (label on the picture, title, colour bar lo..hi, the all-zero tag, or for
 * a gradient image the key to its colours)
 * written there. With a summary, box slot k (0..nsum-1) takes the panel as
 * its thumbnail with caption label; k < 0: none. img and heat are read (or
 * copied) before this returns. 0, or -1 with e set. */
typedef struct gc_draw_spec {
    gc_pixels img;
    const float *heat;
    float alpha;
    const gc_fig_box *box;
    const char *label, *title;
    float lo, hi;
    int all_zero;
    int gradient; /* img is a gradient image (Guided Backprop), not the photo under a heat */
} gc_draw_spec;
int gc_draw_overlay(gc_draw *d, const char *png, const gc_draw_spec *v, int k, gc_err *e);

/* The summary (after every box's gc_draw_overlay), written to path. */
int gc_draw_summary(gc_draw *d, const char *path, gc_err *e);

/* Drops the caller's hold (NULL is a no-op); queued jobs keep theirs. */
void gc_draw_end(gc_draw *d);

#endif
