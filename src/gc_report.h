/* gc_report: what a run tells its user, from its gc_results alone: one line
 * per target on stdout and the -json report, for classifiers and detectors
 * alike (the same keys where they apply, the same anchor numbering in both:
 * the index into the head's anchors= list). Computing and drawing happen
 * before; this module only writes. */
#ifndef GC_REPORT_H
#define GC_REPORT_H

#include <stdio.h>

#include "gc_cam.h"
#include "gc_common.h"
#include "gc_detect.h"
#include "gc_explain.h"

/* What the run was, for the report's header. */
typedef struct gc_report {
    const char *image;
    int width, height;
    int detector;
    gc_method method;
    gc_target target;       /* detectors */
    int counterfactual;
    int smooth;             /* gc_smooth: -smooth, named in the lines and the JSON */
    float thresh, nms;      /* detectors */
    int prob_is_score;      /* classifiers without a [softmax]: prob is the score */
    const char *summary;    /* detectors: the summary image, or NULL */
    const char *json_name;  /* how the "json" line names the report ("-" for -json -), or NULL: its path */
} gc_report;

/* The stdout lines: per class
 *   class 14 malamute: probability 0.1451, layer 19 convolutional 14x14x1000, gradcam out/tiny_14.png, max 0.594 at (5,7)
 *     map out/tiny_14.npy
 * per box
 *   box 0 dog: 61% [l t r b] head 30 anchor 3 cell 5,7, layer 28, layercam logit, in-box 0.83, peak (200,310) -> out/yolo_0.png
 * (peaks in image pixels); an all-zero map, which has no peak, says "no
 * peak (all-zero map)" in place of "max ... at (x,y)" or "peak (x,y)".
 * Without names, a class is "class 3". */
void gc_report_print(FILE *f, const gc_report *r, const gc_results *rs);

/* The JSON report, written atomically (PATH.tmp, then renamed). */
int gc_report_write_json(const char *path, const gc_report *r, const gc_results *rs, gc_err *e);

/* What every run does once its files are written: the -json report (when
 * json is non-NULL), a copy of each record appended to out (when non-NULL),
 * then the stdout lines and "json PATH" (PATH r->json_name where set). Returns 0, or -1 with e set and no
 * JSON file left behind. */
int gc_report_finish(const gc_report *r, const gc_results *rs, const char *json, gc_results *out, gc_err *e);

/* The same JSON to a stream. */
void gc_report_json(FILE *f, const gc_report *r, const gc_results *rs);

#endif
