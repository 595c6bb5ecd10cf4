/* gc_classify_run: `darknet gradcam` on a classifier cfg: one forward pass,
 * then per explained class one explanation (gc_explain_target), an
 * overlay PNG and the raw map as .npy, and a line on stdout. */
#ifndef GC_CLASSIFY_RUN_H
#define GC_CLASSIFY_RUN_H

#include "darknet.h"
#include "gc_common.h"
#include "gc_explain.h"

typedef struct gc_cls_opts {
    const char *image, *out;
    const char *json; /* -json report, or NULL */
    const char *json_name; /* how the "json" line names it ("-" for -json -), or NULL: json */
    int cls;  /* the class to explain, or -1: the `top` most probable */
    int top;
    gc_explain_opts ex; /* method, counterfactual, layers (negative: from the logit layer) */
    char **names;
    int nnames;
    /* A session kept open across calls (list mode: hooks, forward set-up and
     * buffers made once per process), or NULL: the run opens and closes its own. */
    gc_session *session;
} gc_cls_opts;

/* Runs everything; prints two lines per class on stdout (gc_report), writes
 * the -json report and, when out is non-NULL, appends one record per class
 * to it. Returns 0, or -1 with e set
 * (and no output file left behind). */
int gc_classify_run(network *net, const gc_cls_opts *o, gc_results *out, gc_err *e);

#endif
