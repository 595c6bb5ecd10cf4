/* gc_explain: one image through one network, and the one path that explains
 * a target on it. A session runs a single forward pass per image; then
 * gc_explain_target() explains a class of a classifier or a box of a
 * detector: it builds the seed (owned by the session, cleared in full), applies
 * the counterfactual sign, resolves and checks the layers, fills what the
 * method's kernel reads (gc_cam's table: one backward pass per layer for
 * gradients, CAM's class weights, Score-CAM's masked or Ablation-CAM's
 * ablated forward passes, restored afterwards), computes the map, fuses
 * several layers, and for methods that reach the input runs the guided pass
 * to the network input (Guided Backprop, Guided Grad-CAM). -smooth aug and
 * eigen apply here too. The main command, `gradcam eval` and the bench all
 * explain through it. Every buffer is sized once (no per-target allocation
 * once a target's layers have been prepared). */
#ifndef GC_EXPLAIN_H
#define GC_EXPLAIN_H

#include "darknet.h"
#include "gc_cam.h"
#include "gc_classify.h"
#include "gc_common.h"
#include "gc_detect.h"
#include "gc_hooks.h"
#include "gc_image.h"
#include "gc_png.h"
#include "gc_render.h"
#include "gc_writer.h"

#define GC_MAX_LAYERS 16
#define GC_SCORECAM_CHANNELS 32 /* Score-CAM's default channel cap */

/* Smoothing (pytorch-grad-cam's aug_smooth and eigen_smooth). */
typedef enum gc_smooth {
    GC_SMOOTH_NONE = 0,
    GC_SMOOTH_AUG,   /* mean over a horizontal flip x intensities 0.9, 1, 1.1 (6 passes), maps flipped back */
    GC_SMOOTH_EIGEN, /* first principal component of the weighted activations instead of their sum */
} gc_smooth;

/* Outputs a runner can leave out (-save): 0 writes them all. The report,
 * the -json file and a -list index are always written. */
#define GC_NOSAVE_PNG 1     /* each target's overlay, PREFIX_<k>.png */
#define GC_NOSAVE_NPY 2     /* each target's raw map, PREFIX_<k>.npy */
#define GC_NOSAVE_SUMMARY 4 /* detectors: PREFIX_summary.png */
#define GC_NOSAVE_ALL 7
/* -save's value: a comma-separated list of png, npy, summary (any case), or
 * all, or none; into the bits left out. 0, or -1 with e naming -save and
 * the value: a word given twice is said so ("npy is given twice"). */
int gc_explain_save_parse(const char *s, int *nosave, gc_err *e);

const char *gc_explain_smooth_name(gc_smooth m);
/* " smooth aug", " smooth eigen" (after a method's name in lines and titles), or "". */
const char *gc_explain_smooth_suffix(gc_smooth m);

/* "none", "aug", "eigen"; 0, or -1 if unknown. */
int gc_explain_smooth_parse(const char *s, gc_smooth *out);

typedef struct gc_explain_opts {
    gc_method method;
    int counterfactual; /* negate the gradients (Grad-CAM section on counterfactual explanations) */
    float alpha;        /* overlay opacity of the heatmap, 0..1 */
    gc_target target;   /* boxes: the score explained (class logit, score, objectness) */
    /* As -layer: absolute indexes, or negative counting back from the score
     * layer (the logit layer for a class, the head for a box). Several are
     * fused: each map min-max normalised, upsampled to the network input,
     * averaged. nlayers 0: the default rule (gc_explain_default_layers). */
    int layers[GC_MAX_LAYERS];
    int nlayers;
    /* Score-CAM: at most this many channels, those with the largest mean
     * activation (the others weigh 0); 0: GC_SCORECAM_CHANNELS. One forward
     * pass per channel. */
    int scorecam_channels;
    gc_smooth smooth;
    int sheet; /* runners: also write the paper's figure per target (gc_sheet) */
    int nosave; /* runners: the outputs left out (-save), GC_NOSAVE_* bits; 0 writes all */
} gc_explain_opts;

/* 1 if a runner writes a file under -out: an overlay, a map, a detector's
 * summary (-save) or a sheet. -out's folders are made only then: `-save
 * none` leaves no empty folder, as an image without a box leaves none. */
int gc_explain_writes_files(const gc_explain_opts *ex, int detector);

/* What is explained: a class of a classifier (det NULL), or a detection (its
 * head, anchor, cell and class). */
typedef struct gc_subject {
    int cls;
    const gc_det *det;
} gc_subject;

/* A map, valid until the next explanation. One layer: at that layer's
 * resolution. Several: fused, at the network input's resolution. Either
 * covers the window of the input the layers see (the session's lb.win_*):
 * the whole input, but for a network whose first layer is a [crop], whose
 * maps cover its centred window (and a fused map is at that window's
 * resolution). */
typedef struct gc_map {
    const float *data; /* h*w, non-negative */
    int layer, w, h, k; /* layer: the first explained layer; k its channels */
    int layers[GC_MAX_LAYERS], nlayers;
    float max;
    int argmax_x, argmax_y; /* cell of the maximum */
    int all_zero;
    /* Methods that reach the input (Guided Backprop, Guided Grad-CAM): their
     * raw result at the network input, image_c x h x w planar (h, w: the
     * network's; data is then its saliency max_c |image| over the window,
     * for the metrics).
     * NULL for the others. gc_explain_write_npy writes it as (H, W, C) at the
     * original image's size; gc_explain_overlay draws it. */
    const float *image;
    int image_c;
} gc_map;

/* What one explained target produced, for reports (stdout, JSON, an index):
 * filled by gc_classify_run and gc_detect_run. */
typedef struct gc_result {
    int index;          /* box index in the image's detections; classifiers: the class */
    int cls;
    float prob;         /* class probability (classifiers: softmax output or score) */
    int box[4];         /* detectors: left, top, right, bottom in image pixels; classifiers: all -1 */
    int head, anchor, cell_row, cell_col; /* detectors: provenance; classifiers: -1 */
    int layers[GC_MAX_LAYERS], nlayers;
    int map_w, map_h;   /* the raw map's size (the .npy) */
    float peak;         /* the raw map's maximum */
    int peak_x, peak_y; /* where, in image pixels */
    double energy_in_box; /* detectors: share of the map on the image inside the box; classifiers: -1 */
    int all_zero;
    char png[4096], npy[4096];
    char sheet[4096];      /* -sheet: the paper-style figure, or "" */
    /* for the report (gc_report): */
    const char *name;      /* the names file's name of the class, whole (it lives as long as the
                            * options), or NULL: shown as "class N", null in the JSON */
    float objectness;      /* detectors; classifiers -1 */
    float bx, by, bw, bh;  /* detectors: the box's centre and size in image pixels */
    const char *head_type; /* detectors: the head's layer type; classifiers NULL */
    const char *layer_type; /* the first explained layer's type and output size */
    int layer_w, layer_h, layer_c;
    float map_lo, map_hi;  /* the map's range on the image (the overlay's colour bar) */
} gc_result;

/* x's class name as shown: the names file's, or "class N" (in buf, of n
 * bytes) for a class it does not name. */
const char *gc_result_name(const gc_result *x, char *buf, size_t n);

/* x's layers, layer type and the layer's size, from map m of the method:
 * the explained layers, or for Guided Backprop (a map that uses no layer,
 * only the input gradient) none, the type "input" and the input's size. */
void gc_explain_result_layers(const network *net, const gc_map *m, gc_method method, gc_result *x);

typedef struct gc_results {
    gc_result *r;
    int n, cap;
} gc_results;

/* Appends a zeroed record and returns it (NULL when out of memory). */
gc_result *gc_explain_results_add(gc_results *rs);
void gc_explain_results_free(gc_results *rs);

struct gc_shared_image; /* gc_explain_share_image's hold on a session's image */

typedef struct gc_session {
    network *net;
    gc_ctx ctx;
    int detector;       /* the cfg has a detection head */
    gc_classifier cl;   /* classifiers: logit and probability layers */
    /* the image's size (orig.data is NULL: the float image Darknet's
     * loader makes, 576 MB for an 8000x6000 photo, is not kept) */
    image orig;
    /* the image as decoded, 8-bit interleaved RGB (orig.w x orig.h): Darknet's
     * float image of it is gc_byte_value of each byte, and the pictures are
     * drawn from it (gc_pixels_bytes) */
    unsigned char *orig_rgb;
    /* set once orig_rgb is shared with pictures still to be drawn on the
     * output thread (gc_explain_share_image): it frees orig_rgb when the
     * last holder lets go */
    struct gc_shared_image *orig_shared;
    image input; /* letterboxed to the network size */
    gc_letterbox lb;
    float *seed;        /* d score / d output of the score layer; all zero between explanations */
    size_t cap_seed;
    float *map, *weights, *work, *heat;
    float *fused, *up;  /* network-input sized: fused map, one layer's map upsampled */
    float *norm;        /* one layer's map, normalised (cap_hw) */
    unsigned char *rgb;
    size_t cap_px; /* pixels heat and rgb hold */
    /* network-input sized (net->inputs): the guided input gradient, a
     * reaches_input method's result, an input masked for Score-CAM; and the
     * saliency (w*h) */
    float *grad_in, *image, *masked, *sal;
    int image_valid; /* image holds the last explained target's result */
    float *chan;  /* cap_k: CAM's class weights, Score-CAM's scores */
    float *acts;  /* Score-CAM: the layer's activations, kept across the masked passes */
    size_t cap_acts;
    float *img3;  /* 3 planes of the original image's size (cap_px each) */
    float *acc_map, *acc_img, *aug_in; /* -smooth aug: the running sums, the augmented input */
    const float *cur_input; /* what the network's current state was computed from */
    size_t cap_acc;
    size_t cap_hw, cap_k, cap_work;
    char **written; /* files written so far, removed by gc_explain_rollback */
    int nwritten, cap_written;
    /* When set (list mode, gc_batch), gc_explain_write_png and _npy queue
     * their files on this thread (gc_writer.h) instead of writing them: they
     * exist once the writer has run the jobs, and a write failure reaches the
     * writer's next call job, not the caller. Not owned; cleared by a failed
     * open, so the owner sets it before each image. */
    struct gc_writer *writer;
    /* When set (list mode), gc_explain_next takes its image from this reader
     * when the path was queued there (decoded ahead, gc_prefetch.h), else
     * loads it. Not owned; set by the owner before each image, as writer. */
    struct gc_prefetch *prefetch;
    /* List mode's -batch: the image ready_path, decoded and letterboxed
     * (gc_explain_load) and through a batched forward whose activations the
     * owner has put in the network's layers (gc_forward_batch_view). The
     * next gc_explain_next on that path takes both images and runs no
     * forward; the owner frees them (gc_explain_image_free) when it did not,
     * as gc_explain_close does. */
    const char *ready_path;
    image ready_orig, ready_input;
    unsigned char *ready_rgb; /* its bytes (gc_explain_load's *rgb) */
    /* Wall seconds this session spent in forward passes (gc_explain_next) and
     * in gc_explain_target (the backward passes and the maps): the part of a
     * run that is explaining, not decoding or writing. */
    double explain_seconds;
    /* The part of it in the forward pass and the backward passes alone
     * (gc_hooks_forward, gc_hooks_backprop*), without the maps. */
    double pass_seconds;
} gc_session;

/* Checks and loads the image (Darknet's own loader, after a check that it
 * decodes), letterboxes it as `darknet detect` and `classifier predict` do,
 * installs the hooks and runs the forward pass. On failure the caller still
 * calls gc_explain_close. */
int gc_explain_open(gc_session *s, network *net, const char *image_path, gc_err *e);

/* Moves an open session on to another image: loads and letterboxes it and
 * runs the forward pass, keeping the hooks, the path cache and every buffer
 * (grown only when the image is larger). For runs over many images. On
 * failure the session holds no image; gc_explain_close still frees it. */
int gc_explain_next(gc_session *s, const char *image_path, gc_err *e);

/* gc_explain_next's first step: image_path decoded (from s->prefetch when
 * queued there) and checked against the network: its size in *orig (data
 * NULL), its bytes in *rgb (as gc_image_load_rgb gives them) and the
 * network's input in *input, the letterbox Darknet makes of its float image
 * (gc_dnimage_letterbox_rgb; for an image of the network's size, that float
 * image itself). 0, or -1 with e set and nothing to free. */
int gc_explain_load(gc_session *s, const char *image_path, image *orig, unsigned char **rgb, image *input, gc_err *e);
/* Frees what gc_explain_load made (any may be empty) and zeroes it. */
void gc_explain_image_free(image *orig, unsigned char **rgb, image *input);

/* s->orig_rgb for another thread (the output thread's pictures), without a
 * copy: valid until the *hold returned is passed to
 * gc_explain_unshare_image, even after s has moved on to another image or
 * closed. NULL when out of memory. */
const unsigned char *gc_explain_share_image(gc_session *s, struct gc_shared_image **hold);
/* Lets go of a hold (NULL is a no-op); the last one frees the image. */
void gc_explain_unshare_image(struct gc_shared_image *hold);

/* For a runner that may be handed a session kept across images (list
 * mode): opens s on net and image_path if it is not open yet, else moves it
 * on (gc_explain_next). A failed open leaves s closed (all zero), so the next
 * image tries again. image_path NULL: only opens (hooks installed, no image). */
int gc_explain_begin(gc_session *s, network *net, const char *image_path, gc_err *e);
/* Ends a runner's use of a kept session: the files it wrote are kept (a
 * later gc_explain_rollback leaves them) and the session stays open. */
void gc_explain_keep(gc_session *s);

/* The layer of the network that holds subject t's score. */
int gc_explain_score_layer(const gc_session *s, const gc_subject *t);

/* The default layers for a score layer: for a classifier's logits, the last
 * layer before them with a spatial output; for a detection head, see the .c
 * and README for the rule and the measurements behind it. Returns the count
 * (>= 1), or -1 with e set. */
int gc_explain_default_layers(const network *net, int score_layer, int *layers, gc_err *e);

/* A detector's method and -layer (o->layers), before any image: CAM has no
 * weights for a box (an image without a box passed it before); every layer
 * given as an index (>= 0) must feed every head, since each box, of
 * whichever head, is explained there (a negative one counts down from each
 * box's head and is checked per box). 0, or -1 with e naming the method, or
 * the layer and the head. */
int gc_explain_check_heads(const network *net, const gc_explain_opts *o, gc_err *e);

/* o for every target of a run over many images, before any image (a -list
 * run): a classifier's layers, method and paths are the same for every
 * image; a detector's are checked at each head and refused when no head's
 * boxes could be explained (a head some boxes cannot use stays their own
 * error). Opens and closes a session of its own on net (restored). 0, or -1
 * with e naming the option. */
int gc_explain_check_all(network *net, const gc_explain_opts *o, gc_err *e);

/* The layers t is explained at under o (resolved, every path checked), into
 * layers[GC_MAX_LAYERS]. Returns the count, or -1 with e naming the layer. */
int gc_explain_layers(gc_session *s, const gc_subject *t, const gc_explain_opts *o, int *layers, gc_err *e);

/* Everything explaining t needs (layers, paths, buffers), checked and
 * allocated, so that a caller can check every target before writing a file
 * and explain without allocating. */
int gc_explain_prepare(gc_session *s, const gc_subject *t, const gc_explain_opts *o, gc_err *e);

/* Explains t: see the top of this file. */
int gc_explain_target(gc_session *s, const gc_subject *t, const gc_explain_opts *o, gc_map *out, gc_err *e);

/* Heat on the original image: min-max normalised map through the inverse
 * letterbox, into s->heat (orig.w * orig.h). */
void gc_explain_heat(gc_session *s, const gc_map *m);
/* The same without the normalisation, for a map of w x h covering the
 * window of the network input the layers see (lb.win_*; the whole input
 * unless the first layer is a [crop]). */
void gc_explain_heat_raw(gc_session *s, const float *map, int w, int h);

/* Writes base.png (overlay of s->heat, after gc_explain_heat, with optional
 * drawing done by the caller in between through gc_explain_overlay) and
 * base.npy (the raw map). For a method that reaches the input, the overlay
 * is its result on the original image, normalised for display as the paper
 * and pytorch-grad-cam show it (gc_sheet_gradient_rgb), and the .npy its raw
 * values, float32 (H, W, 3) RGB at the original image's size (through the
 * inverse letterbox). */
unsigned char *gc_explain_overlay(gc_session *s, const gc_explain_opts *o);
/* For a map that reaches the input (m->image: Guided Backprop, Guided
 * Grad-CAM): the input gradient on the original image, displayed as the
 * paper and pytorch-grad-cam show it (per image: mean 0.5, std 0.1,
 * clipped), as planar RGB in [0,1] (valid until the next call). NULL for
 * other maps. */
const float *gc_explain_gradient_image(gc_session *s, const gc_map *m);
int gc_explain_write_png(gc_session *s, const char *path, int w, int h, const unsigned char *rgb, gc_err *e);
/* A picture drawn later on the output thread (s->writer must be set; see
 * gc_writer_put_draw: draw frees arg, also when this fails; path NULL:
 * drawn, not written). */
int gc_explain_write_drawn(gc_session *s, const char *path, gc_writer_draw_fn draw, void *arg, size_t bytes,
                           gc_err *e);
/* The forward's threads as a parallel loop for drawing and encoding
 * (idle between passes); .run NULL before the first forward. */
gc_png_par gc_explain_par(gc_session *s);
/* The same with rgb (malloc'ed) handed over, freed here or by the output
 * thread, also on failure: list mode queues it without a copy. */
int gc_explain_write_png_owned(gc_session *s, const char *path, int w, int h, unsigned char *rgb, gc_err *e);
int gc_explain_write_npy(gc_session *s, const char *path, const gc_map *m, gc_err *e);

/* Removes every file this session wrote (after a failure). */
void gc_explain_rollback(gc_session *s);
/* Removes the hooks, restores the network, frees everything but the network. */
void gc_explain_close(gc_session *s);

#endif
