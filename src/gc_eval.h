/* gc_eval: `darknet gradcam eval`: explanation quality over a labeled image
 * list (Darknet's list + label-file conventions, see gc_labels). The network
 * is loaded once by the caller; one gc_session moves from image to image,
 * with one forward pass per image reused for every explained object, and the
 * extra forward passes the perturbation metrics need.
 *
 * Which maps: a classifier gets, for every labeled object (class c, box), the
 * map for class c; a detector gets, for every ground-truth object matched to
 * a detection (same class, IoU >= 0.5, greedy by probability, detections at
 * -thresh after NMS), that detection's map. Each map is scored against the
 * ground-truth box on the original image (through the inverse letterbox).
 * The metrics are defined in gc_metrics and README.md ("Evaluation"). */
#ifndef GC_EVAL_H
#define GC_EVAL_H

#include <stdio.h>

#include "darknet.h"
#include "gc_common.h"
#include "gc_detect.h"
#include "gc_explain.h"
#include "gc_metrics.h"

typedef enum gc_baseline {
    GC_BASELINE_NONE = 0, /* the explanation method's own maps */
    GC_BASELINE_CENTER,   /* isotropic Gaussian centred on the image, sigma = min(w, h) / 4 */
    GC_BASELINE_RANDOM,   /* uniform random values, one per network-input pixel, seeded */
    GC_BASELINE_BOX,      /* Gaussian on the explained box (the detection's; a classifier's labeled box),
                             sigma a quarter of its width and height */
    GC_BASELINE_CELL,     /* detectors: the box's own head cell alone, upsampled like a layer's map */
} gc_baseline;

const char *gc_eval_baseline_name(gc_baseline b);
int gc_eval_baseline_parse(const char *s, gc_baseline *out);

/* What weights a detector's RISE mask (classifiers: always the class's
 * probability). */
typedef enum gc_rise_weight {
    GC_RISE_WEIGHT_OWN = 0, /* the explained box's own score: objectness x class probability at its head, anchor, cell */
    GC_RISE_WEIGHT_IOU,     /* D-RISE: the best IoU with the box x class probability among all decoded boxes */
} gc_rise_weight;

const char *gc_eval_rise_weight_name(gc_rise_weight w);
int gc_eval_rise_weight_parse(const char *s, gc_rise_weight *out);

typedef struct gc_eval_opts {
    const char *cfg, *weights, *list; /* cfg and weights only for the report; list "-": standard input */
    /* the list's lines when the caller has read them (nlines of them; a list
     * from standard input can be read once); NULL: gc_eval_run reads list */
    char *const *lines;
    int nlines;
    gc_explain_opts ex;               /* method, counterfactual, target, layers (alpha unused) */
    float thresh;     /* detectors: detections matched to ground truth (default 0.25) */
    float map_thresh; /* detectors: detections ranked for mAP@0.5 (default 0.005) */
    float nms;        /* detectors: NMS IoU threshold (0 disables) */
    int steps;        /* deletion / insertion steps (default 16) */
    int limit;        /* the first `limit` images of the list; 0 = all */
    gc_baseline baseline;
    unsigned seed; /* for the random baseline, the randomised weights, RISE's masks, the random logit */
    /* Sanity checks (Adebayo et al. 2018), off when 0 (the CLI turns them on):
     * cascading model-parameter randomisation and the random-logit test. */
    int sanity;
    int cascade_below; /* cascade points below the randomisation point (the CLI's default: 4) */
    int rise;          /* RISE / D-RISE masks per image (0: no faithfulness rows) */
    gc_rise_weight rise_weight; /* detectors: the masks' weights (default: the box's own score) */
    char **names;  /* optional class names */
    int nnames;
    /* Called after every image (may be NULL). */
    void (*progress)(int done, int total, void *ctx);
    /* Called after every RISE mask (may be NULL): image (0-based) of
     * nimages, done of masks (-rise N: one forward pass each, which can take
     * hours for one image). */
    void (*rise_progress)(int image, int nimages, int done, int masks, void *ctx);
    void *progress_ctx; /* for both */
} gc_eval_opts;

typedef enum gc_eval_metric {
    GC_EVAL_ACCURACY = 0,    /* classifiers: top-1 == class of the label file's first line (per image) */
    GC_EVAL_MAP50,           /* detectors: mean over classes with ground truth of VOC AP at IoU 0.5 */
    GC_EVAL_MATCHED,         /* detectors: share of ground-truth objects matched to a detection */
    GC_EVAL_POINTING,        /* map maximum inside the box */
    GC_EVAL_POINTING_ALL,    /* classifiers, images with 2+ objects: every object's map points into its own box */
    GC_EVAL_ENERGY,          /* share of the map's sum inside the box */
    GC_EVAL_LOC_ERROR,       /* largest region above 15% of the max: its box's IoU < 0.5 */
    GC_EVAL_TOP1_LOC_ERROR,  /* classifiers: top-1 class wrong, or IoU < 0.5 */
    GC_EVAL_DELETION,        /* AUC of the score as pixels are deleted in map order (lower is better) */
    GC_EVAL_INSERTION,       /* AUC of the score as pixels are inserted in map order (higher is better) */
    GC_EVAL_AVG_DROP,        /* mean max(0, Y - O) / Y (lower is better) */
    GC_EVAL_INC_CONF,        /* mean 1[O > Y] (higher is better) */
    GC_EVAL_RANDOMIZATION,   /* median Spearman, trained vs. randomised from the explained layer up (-sanity) */
    GC_EVAL_RANDOMIZATION_BOX, /* the same inside the box (the support of a map outside it is structural) */
    GC_EVAL_RAND_PAIR,       /* median Spearman between the maps of two independent random draws of those layers:
                                what to read the randomisation row against (-sanity) */
    GC_EVAL_RAND_PAIR_BOX,   /* the same inside the box */
    GC_EVAL_RANDOM_LOGIT,    /* median Spearman, map for the class vs. for another class (-sanity) */
    GC_EVAL_RANDOM_LOGIT_BOX, /* the same inside the box */
    GC_EVAL_GINI,            /* mean Gini index of the map on the image */
    GC_EVAL_ALL_ZERO,        /* share of all-zero maps */
    GC_EVAL_RISE,            /* median Spearman with the RISE map of the same target, whole image (-rise) */
    GC_EVAL_RISE_BOX,        /* the same inside the box (-rise) */
    GC_EVAL_RISE_PEAK,       /* share of maps whose peak is within one map cell of RISE's (-rise) */
    GC_EVAL_INBOX_DELETION,  /* in-box deletion AUC: box pixels greyed in map order (lower is better) */
    GC_EVAL_INBOX_INSERTION, /* in-box insertion AUC: box pixels restored in map order (higher is better) */
    GC_EVAL_OWN_INSTANCE,    /* detectors: boxes with a matched same-class twin: map peaks in its own box */
    GC_EVAL_OWN_INSTANCE_ALL,/* detectors: images with same-class twins: every such map in its own box */
    GC_EVAL_NMETRICS
} gc_eval_metric;

/* Table label and JSON key of a metric. */
const char *gc_eval_metric_label(gc_eval_metric m);
const char *gc_eval_metric_key(gc_eval_metric m);

typedef struct gc_eval_stat {
    double sum;
    long n; /* what the value covers: images, classes, objects or maps */
    int median; /* the value is the median of the per-map values, not sum / n */
    double med;
} gc_eval_stat;

/* One explained object. */
typedef struct gc_eval_map {
    int image, object, cls;
    gc_rbox gt;
    gc_pbox gt_px;    /* ground-truth box in original-image pixels */
    int det;          /* detectors: index among the image's detections above -thresh; else -1 */
    float det_prob;
    gc_rbox det_box;
    int layer;        /* first explained layer (-1 for a baseline) */
    int layers[GC_MAX_LAYERS], nlayers; /* every layer fused into the map (none for a baseline) */
    int all_zero;
    int pointing;
    double energy;
    gc_pbox loc_box;  /* empty (r < l) when the map has no positive value */
    double loc_iou;
    int localized, top1_localized;
    double y, o;      /* score on the input and on the input x normalised map */
    int drop_valid;   /* y > 0 */
    double deletion_auc, insertion_auc;
    size_t curve;     /* offset in gc_eval_result.curves: steps+1 deletion, then steps+1 insertion scores */
    double gini;
    double inbox_deletion_auc, inbox_insertion_auc;
    size_t inbox_curve; /* offset in curves, as curve, for the in-box variants */
    int sanity;       /* the randomisation fields are set, and the random-logit ones where random_logit */
    double rand_spearman_box; /* the same inside the box */
    double rand_spearman; /* at the cascade point from which the explained layers' activations and everything above are random */
    int rand_layer;   /* that point's first randomised layer */
    double pair_spearman, pair_spearman_box; /* the map of that point's random network against the map of a
                                                second, independent draw of the same layers */
    size_t rand_curve;/* offset in gc_eval_result.rand_curves: one Spearman per cascade point */
    int rl_cls;       /* the random logit's class */
    double rl_spearman, rl_spearman_box; /* over the image, inside the box */
    int rise;         /* the RISE fields are set */
    double rise_spearman, rise_spearman_box;
    int rise_peak;
    int own_instance; /* detectors: -1 no same-class twin matched in the image, else 1 if the map peaks in its box */
} gc_eval_map;

typedef struct gc_eval_result {
    int detector, classes, steps;
    int random_logit; /* the random-logit test applies: 2+ classes and a map that depends on the class (not -target obj) */
    int nimages, nobjects;
    char **images; /* the evaluated list entries (nimages) */
    int nlist;     /* entries allocated in images */
    gc_eval_stat stat[GC_EVAL_NMETRICS];
    double *ap;    /* detectors: AP per class (classes), for classes with ap_npos > 0 */
    int *ap_npos;  /* ground-truth objects per class */
    int *ap_ndet;  /* ranked detections per class */
    gc_eval_map *maps;
    int nmaps, cap_maps;
    float *curves;
    size_t ncurves, cap_curves;
    int *cascade;      /* cascade points, top down: point j randomises every layer >= cascade[j] */
    int ncascade;
    float *rand_curves;
    size_t nrand, cap_rand;
} gc_eval_result;

/* The seed of the randomisation cascade's draw for eval's -seed s, and of the
 * second, independent draw of the same layers that the random-pair rows
 * compare it with (gc_model_randomize_layers' seed: one stream per layer). */
unsigned gc_eval_cascade_seed(unsigned s);
unsigned gc_eval_pair_seed(unsigned s);

/* Runs the evaluation of net (loaded with batch 1) over o->list. Returns 0,
 * or -1 with e naming the file, line or argument at fault (the result is then
 * freed). */
int gc_eval_run(network *net, const gc_eval_opts *o, gc_eval_result *r, gc_err *e);
void gc_eval_result_free(gc_eval_result *r);

/* sum / n, or NAN-free 0 with *defined = 0 when n == 0. */
double gc_eval_value(const gc_eval_stat *s, int *defined);

/* The table: one row per metric that applies to the mode, with its value and
 * what it covers. */
void gc_eval_print_table(const gc_eval_result *r, const gc_eval_opts *o, FILE *f);

/* The same, plus every map's record, as JSON written atomically (PATH.tmp +
 * rename). */
int gc_eval_write_json(const gc_eval_result *r, const gc_eval_opts *o, const char *path, gc_err *e);

#endif
