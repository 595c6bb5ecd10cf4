/* gc_detect_run: `darknet gradcam` on a detector cfg, as a list of steps:
 * one forward pass and the boxes `darknet detect` would report; per box,
 * explain (gc_explain_target, measures into a gc_result), render
 * (gc_figure: overlay PNG, raw .npy, its place in the summary); then the
 * summary image, and the report (gc_report: stdout, -json). */
#ifndef GC_DETECT_RUN_H
#define GC_DETECT_RUN_H

#include "darknet.h"
#include "gc_common.h"
#include "gc_detect.h"
#include "gc_explain.h"

typedef struct gc_det_opts {
    const char *image, *out, *json;
    const char *json_name; /* how the "json" line names json ("-" for -json -), or NULL: json */
    float thresh, hier, nms;
    gc_explain_opts ex; /* method, counterfactual, target, layers (negative: from the box's head) */
    int maxboxes;       /* explain at most this many boxes, the most probable (-maxboxes); 0: all */
    int box_progress;   /* "explain: K/N boxes" on stderr for an image of over 20 boxes (the
                         * single-image command; a -list run has its own progress, and -quiet) */
    char **names;
    int nnames;
    /* A session kept open across calls (list mode: hooks, forward set-up and
     * buffers made once per process), or NULL: the run opens and closes its own. */
    gc_session *session;
} gc_det_opts;

/* Runs everything; once every file is written, prints one line per box on
 * stdout (gc_report) and, when out is non-NULL, appends one record per box
 * to it. Returns 0, or -1 with e set
 * (and no output file left behind). */
int gc_detect_run(network *net, const gc_det_opts *o, gc_results *out, gc_err *e);

#endif
