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

typedef struct gc_det_opts {
    const char *image, *out, *json;
    float thresh, hier, nms;
    gc_explain_opts ex; /* method, counterfactual, target, layers (negative: from the box's head) */
    int maxboxes;       /* explain at most this many boxes, the most probable (-maxboxes); 0: all */
    char **names;
    int nnames;
} gc_det_opts;

/* Runs everything; prints one line per box on stdout and, when out is
 * non-NULL, appends one record per box to it. Returns 0, or -1 with e set
 * (and no output file left behind). */
int gc_run_detector(network *net, const gc_det_opts *o, gc_results *out, gc_err *e);

#endif
