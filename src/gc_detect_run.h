/* gc_detect_run: `darknet gradcam` on a detector cfg: one forward pass, the
 * boxes `darknet detect` would report, and per box one backward pass per
 * explained layer, an overlay with the box drawn, the raw map, a summary
 * image and an optional JSON report. */
#ifndef GC_DETECT_RUN_H
#define GC_DETECT_RUN_H

#include "darknet.h"
#include "gc_common.h"
#include "gc_detect.h"
#include "gc_explain.h"

#define GC_MAX_LAYERS 16

typedef struct gc_det_opts {
    const char *image, *out, *json;
    float thresh, hier, nms;
    gc_target target;
    int layers[GC_MAX_LAYERS]; /* as given to -layer: absolute, or negative from the box's head */
    int nlayers;               /* 0: the default rule (gc_detect_default_layer) */
    int maxboxes;              /* explain at most this many boxes, the most probable (-maxboxes); 0: all */
    gc_explain_opts ex;
    char **names;
    int nnames;
} gc_det_opts;

/* Default explained layer for a box from `head`: see the .c and README for
 * the rule and the measurements behind it. */
int gc_detect_default_layer(const network *net, int head);

/* Resolves one -layer value for a box of `head`. */
int gc_detect_resolve_layer(const network *net, int requested, int head, int *out, gc_err *e);

/* Runs everything; prints one line per box on stdout. Returns 0, or -1 with
 * e set (and no output file left behind). */
int gc_run_detector(network *net, const gc_det_opts *o, gc_err *e);

#endif
