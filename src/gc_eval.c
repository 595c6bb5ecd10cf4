#include "gc_eval.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "gc_batch.h"
#include "gc_cam.h"
#include "gc_classify.h"
#include "gc_image.h"
#include "gc_json.h"
#include "gc_labels.h"
#include "gc_model.h"
#include "gc_render.h"
#include "gc_rng.h"

/* Localization threshold of the Grad-CAM paper (Sec. 4.1): 15% of the max. */
#define GC_LOC_FRAC 0.15f
#define GC_IOU_HIT 0.5

static const char *const baseline_names[] = {"none", "center", "random", "box", "cell"};

const char *gc_eval_baseline_name(gc_baseline b)
{
    assert((unsigned)b < sizeof baseline_names / sizeof baseline_names[0]);
    return baseline_names[b];
}

int gc_eval_baseline_parse(const char *s, gc_baseline *out)
{
    for (unsigned i = 1; i < sizeof baseline_names / sizeof baseline_names[0]; ++i)
        if (!strcasecmp(s, baseline_names[i])) {
            *out = (gc_baseline)i;
            return 0;
        }
    return -1;
}

static const char *const rise_weight_names[] = {"own", "iou"};

const char *gc_eval_rise_weight_name(gc_rise_weight w)
{
    assert((unsigned)w < sizeof rise_weight_names / sizeof rise_weight_names[0]);
    return rise_weight_names[w];
}

int gc_eval_rise_weight_parse(const char *s, gc_rise_weight *out)
{
    for (size_t i = 0; i < sizeof rise_weight_names / sizeof rise_weight_names[0]; ++i)
        if (!strcasecmp(s, rise_weight_names[i])) {
            *out = (gc_rise_weight)i;
            return 0;
        }
    return -1;
}

static const char *const metric_label[GC_EVAL_NMETRICS] = {
    "classification accuracy", "mAP@0.5", "matched to a detection", "pointing game",
    "pointing, every object", "energy in box",
    "localization error", "top-1 localization error", "deletion AUC", "insertion AUC", "average drop",
    "increase in confidence", "randomization Spearman", "randomization, in box", "random vs. random",
    "random vs. random, in box", "random-logit Spearman",
    "random-logit, in box", "Gini index",
    "all-zero maps", "RISE Spearman, image", "RISE Spearman, in box", "RISE peak within a cell",
    "in-box deletion AUC", "in-box insertion AUC", "own-instance pointing", "own instance, every twin"};
static const char *const metric_key[GC_EVAL_NMETRICS] = {
    "accuracy", "map50", "matched", "pointing", "pointing_all_objects", "energy_in_box", "localization_error",
    "top1_localization_error", "deletion_auc", "insertion_auc", "average_drop", "increase_in_confidence",
    "randomization_spearman", "randomization_spearman_box", "randomization_random_pair",
    "randomization_random_pair_box", "random_logit_spearman", "random_logit_spearman_box",
    "gini", "all_zero", "rise_spearman", "rise_spearman_box",
    "rise_peak_within_cell", "inbox_deletion_auc", "inbox_insertion_auc", "own_instance_pointing",
    "own_instance_scenes"};

const char *gc_eval_metric_label(gc_eval_metric m)
{
    assert((unsigned)m < GC_EVAL_NMETRICS);
    return metric_label[m];
}

const char *gc_eval_metric_key(gc_eval_metric m)
{
    assert((unsigned)m < GC_EVAL_NMETRICS);
    return metric_key[m];
}

double gc_eval_value(const gc_eval_stat *s, int *defined)
{
    *defined = s->n > 0;
    if (s->median) return s->n > 0 ? s->med : 0;
    return s->n > 0 ? s->sum / (double)s->n : 0;
}

static void add(gc_eval_stat *s, double v)
{
    s->sum += v;
    ++s->n;
}

/* ---- growable arrays ------------------------------------------------------ */

/* Grows *p to hold at least n elements of size sz (grow-only, doubling). */
static int grow(void *pp, size_t *cap, size_t n, size_t sz)
{
    if (n <= *cap) return 0;
    size_t c = *cap ? *cap : 16, bytes;
    while (c < n) c *= 2;
    if (gc_size_mul(c, sz, &bytes)) return -1;
    void *q = realloc(*(void **)pp, bytes);
    if (!q) return -1;
    *(void **)pp = q;
    *cap = c;
    return 0;
}

/* Every ranked detection and ground-truth object, over all images, for AP. */
typedef struct pool {
    int *img, *cls;
    gc_rbox *box;
    float *score;
    size_t n, cap_i, cap_c, cap_b, cap_s;
} pool;

static int pool_add(pool *p, int img, int cls, gc_rbox b, float score)
{
    size_t n = p->n + 1;
    if (grow(&p->img, &p->cap_i, n, sizeof *p->img) || grow(&p->cls, &p->cap_c, n, sizeof *p->cls) ||
        grow(&p->box, &p->cap_b, n, sizeof *p->box) || grow(&p->score, &p->cap_s, n, sizeof *p->score))
        return -1;
    p->img[p->n] = img;
    p->cls[p->n] = cls;
    p->box[p->n] = b;
    p->score[p->n] = score;
    p->n = n;
    return 0;
}

static void pool_free(pool *p)
{
    free(p->img);
    free(p->cls);
    free(p->box);
    free(p->score);
    memset(p, 0, sizeof *p);
}

/* ---- the driver's state: every buffer sized once, grown only when needed -- */

typedef struct eval_ctx {
    network *net;
    const gc_eval_opts *o;
    gc_eval_result *r;
    gc_session s;
    gc_classifier cl;
    size_t npx;     /* network-input pixels */
    size_t nin;     /* network-input floats (npx * 3) */
    float *probs;   /* classes */
    float *tmaps;   /* targets x npx: each target's map on the network input */
    size_t cap_tmaps;
    float *prior;   /* npx: the centre prior on this image's network input */
    float blur_sigma; /* insertion's blur: RISE's sigma 5 at 224 pixels, scaled */
    float *xin, *blurred, *blur_tmp, *norm;
    int *order;
    int *labels, *stack; /* orig pixels, for the localization region */
    size_t cap_px_l, cap_px_s;
    double *cx, *cy;     /* curve abscissae / ordinates, steps + 1 */
    uint64_t rng;        /* the random baseline's maps of the explained targets */
    /* per image */
    gc_det *dets;        /* detections after NMS above min(thresh, map_thresh) */
    int ndets;
    gc_label *gt;
    int ngt;
    int *tcls, *tdet;    /* targets: class, and the detection (detectors) */
    gc_rbox *tbox;       /* targets: the explained box (detectors: the detection's) */
    int *tobj;           /* targets: ground-truth index */
    int *tlow;           /* targets: lowest explained layer (the method's rule, for baselines too) */
    int *trand;          /* targets: the cascade point from which the explained layers' activations are random */
    size_t cap_t_c, cap_t_d, cap_t_b, cap_t_o, cap_t_l, cap_t_r;
    int *wsrc;           /* per layer: weights_source() memo (-2: not yet computed) */
    /* sanity checks, RISE, in-box perturbation */
    gc_model_snapshot snap;
    int have_snap;
    uint64_t rng_rl, rng_rise;
    uint64_t rng_alt;    /* the random baseline's maps made by the sanity checks: their own
                          * stream, so -nosanity leaves the explained maps' draws as they are */
    uint64_t rng_pair;   /* the random baseline's maps made for the random pair */
    float *alt;          /* npx: another map of a target on the network input */
    float *rmaps;        /* targets x npx: each target's map at its randomisation point (the cascade's draw) */
    size_t cap_rmaps;
    float *heat_a, *heat_b, *gath_a, *gath_b, *sorted; /* original-image pixels */
    double *ra, *rb;
    void *rank_scratch;
    size_t cap_orig;
    float *rise_sal;     /* targets x npx */
    size_t cap_rise;
    float *rise_mask, *rise_grid;
    int *box_idx, *box_order;
    float *box_val;
} eval_ctx;

static float next_uniform(uint64_t *s)
{
    /* the baseline's random map depends on -seed only */
    return gc_rng_unit(s);
}

/* Detector score of a box: max over every decoded candidate (before NMS) of
 * IoU(candidate, box) x the candidate's probability for cls. */
static double boxes_score(const gc_boxes *b, gc_rbox want, int cls)
{
    double best = 0;
    for (int i = 0; i < b->n; ++i) {
        double p = b->dets[i].prob[cls];
        if (!(p > 0)) continue;
        box rb = gc_detect_relative(b, i);
        double v = gc_metrics_rbox_iou((gc_rbox){rb.x, rb.y, rb.w, rb.h}, want) * p;
        if (v > best) best = v;
    }
    return best;
}

static int det_score(eval_ctx *c, gc_rbox want, int cls, double *out, gc_err *e)
{
    gc_boxes b;
    int W = c->s.orig.w, H = c->s.orig.h;
    if (gc_detect_decode(c->net, W, H, 0.0f, 0.5f, &b, e)) return -1;
    *out = boxes_score(&b, want, cls);
    gc_detect_boxes_free(&b);
    return 0;
}

/* The score of target t after a forward pass on `input`. */
static int score_of(eval_ctx *c, const float *input, int t, double *out, gc_err *e)
{
    gc_hooks_forward(&c->s.ctx, input);
    if (!c->r->detector) {
        gc_classify_probs(c->net, &c->cl, c->probs);
        *out = c->probs[c->tcls[t]];
        return 0;
    }
    return det_score(c, c->tbox[t], c->tcls[t], out, e);
}

static int record(eval_ctx *c, const gc_eval_map *m)
{
    gc_eval_result *r = c->r;
    size_t cap = (size_t)r->cap_maps;
    if (grow(&r->maps, &cap, (size_t)r->nmaps + 1, sizeof *r->maps)) return -1;
    r->cap_maps = (int)cap;
    r->maps[r->nmaps++] = *m;
    return 0;
}

/* Target t's box on the network input (inclusive pixels, clamped). */
static gc_pbox net_box(const eval_ctx *c, int t)
{
    const gc_letterbox *lb = &c->s.lb;
    gc_rbox b = c->tbox[t];
    float x0, y0, x1, y1, W = (float)c->s.orig.w, H = (float)c->s.orig.h;
    /* the box's part on the image: a box past the image's edge (a label
     * may run past it, and Darknet does not clip detections) had taken in
     * the letterbox's grey bars, pixels that deletion and insertion cannot
     * change, and moved -baseline box's Gaussian onto them */
    float l = fmaxf((b.x - b.w / 2) * W, 0), t0 = fmaxf((b.y - b.h / 2) * H, 0);
    float r = fminf((b.x + b.w / 2) * W, W), b1 = fminf((b.y + b.h / 2) * H, H);
    gc_render_letterbox_to_net(lb, l, t0, &x0, &y0);
    gc_render_letterbox_to_net(lb, r > l ? r : l, b1 > t0 ? b1 : t0, &x1, &y1);
    /* the network pixels whose centres lie inside it, as on the image */
    return gc_metrics_pbox_cover_edges(x0, y0, x1, y1, c->net->w, c->net->h);
}

/* The map of target t explained as class cls, on the network input, into up
 * (npx floats; a method's map, which covers the window the layers see, is 0
 * outside it); *raw, *rw, *rh: the map as computed (up itself for the
 * baselines, made on the whole input), *layer its first layer (-1 for a baseline), and when
 * layers is not NULL every layer fused into it (*nlayers of them; none for a
 * baseline). The baselines do not depend on the class or the weights (the
 * random one draws new values from *rng). */
static int map_of(eval_ctx *c, int t, int cls, float *up, uint64_t *rng, const float **raw, int *rw, int *rh, int *first_layer,
                  int *layers, int *nlayers, gc_err *e)
{
    network *net = c->net;
    const gc_eval_opts *o = c->o;
    const float *map = up;
    int mw = net->w, mh = net->h;
    *first_layer = -1;
    if (layers) *nlayers = 0;
    switch (o->baseline) {
    case GC_BASELINE_CENTER: memcpy(up, c->prior, c->npx * sizeof *up); break;
    case GC_BASELINE_RANDOM:
        for (size_t p = 0; p < c->npx; ++p) up[p] = next_uniform(rng);
        break;
    case GC_BASELINE_BOX: {
        gc_pbox b = net_box(c, t);
        gc_metrics_box_gaussian(net->w, net->h, (b.l + b.r + 1) / 2.0f, (b.t + b.b + 1) / 2.0f, (float)(b.r - b.l + 1),
                        (float)(b.b - b.t + 1), up);
        break;
    }
    case GC_BASELINE_CELL: {
        const gc_det *d = &c->dets[c->tdet[t]];
        const layer *hl = &net->layers[d->head];
        float *cell = c->box_val; /* npx floats of scratch, free here */
        gc_metrics_cell_map(hl->w, hl->h, d->cell % hl->w, d->cell / hl->w, cell);
        gc_render_map_to_input(cell, hl->w, hl->h, &c->s.lb, up);
        break;
    }
    case GC_BASELINE_NONE: {
        gc_det d;
        gc_subject subj = {cls, NULL};
        if (c->r->detector) {
            d = c->dets[c->tdet[t]];
            d.cls = cls;
            subj.det = &d;
        }
        gc_map gm;
        if (gc_explain_target(&c->s, &subj, &o->ex, &gm, e)) return -1;
        map = gm.data;
        mw = gm.w;
        mh = gm.h;
        const gc_method_info *mi = gc_cam_method_get(o->ex.method);
        if (mi->weights || mi->map) { /* else the input gradient (Guided Backprop): at no layer, as a baseline */
            *first_layer = gm.layer;
            if (layers) {
                *nlayers = gm.nlayers;
                memcpy(layers, gm.layers, (size_t)gm.nlayers * sizeof *layers);
            }
        }
        break;
    }
    }
    if (map != up) { /* a method's map covers the window the layers see */
        const gc_letterbox *lb = &c->s.lb;
        if (mw == lb->win_w && mh == lb->win_h) {
            memcpy(up, map, (size_t)mw * (size_t)mh * sizeof *up);
            gc_render_window_expand(up, lb);
        } else {
            gc_render_map_to_input(map, mw, mh, lb, up);
        }
    }
    *raw = map;
    *rw = mw;
    *rh = mh;
    return 0;
}

/* Spearman of two maps on the network input, both resampled onto the
 * original image (through the inverse letterbox): over every pixel, or
 * inside box when box is non-NULL. */
static double compare_maps(eval_ctx *c, const float *a, const float *b, const gc_pbox *box)
{
    int W = c->s.orig.w, H = c->s.orig.h;
    gc_render_input_to_image(a, &c->s.lb, c->heat_a);
    gc_render_input_to_image(b, &c->s.lb, c->heat_b);
    if (!box) return gc_metrics_spearman(c->heat_a, c->heat_b, (size_t)W * H, c->ra, c->rb, c->rank_scratch);
    size_t n = gc_metrics_box_gather(c->heat_a, W, H, *box, c->gath_a);
    gc_metrics_box_gather(c->heat_b, W, H, *box, c->gath_b);
    return gc_metrics_spearman(c->gath_a, c->gath_b, n, c->ra, c->rb, c->rank_scratch);
}

/* Spearman of maps a and b (network input) over the image and over target
 * t's box. */
static void compare_both(eval_ctx *c, int t, const float *a, const float *b, double *img, double *inbox)
{
    *img = compare_maps(c, a, b, NULL);
    gc_pbox box = gc_metrics_pbox_cover(c->tbox[t], c->s.orig.w, c->s.orig.h);
    *inbox = compare_maps(c, a, b, &box);
}

/* The explanation map of target t into tmaps[t] (network-input resolution),
 * its heat on the original image into s.heat, and the map-only metrics. */
static int explain_target(eval_ctx *c, int t, gc_eval_map *m, gc_err *e)
{
    gc_session *s = &c->s;
    float *up = c->tmaps + (size_t)t * c->npx;
    const float *map;
    int mw, mh;
    if (map_of(c, t, c->tcls[t], up, &c->rng, &map, &mw, &mh, &m->layer, m->layers, &m->nlayers, e)) return -1;
    if (map == up) gc_render_input_to_image(up, &s->lb, s->heat); /* a baseline: made on the whole input */
    else gc_explain_heat_raw(s, map, mw, mh);
    int W = s->orig.w, H = s->orig.h;
    size_t am;
    m->all_zero = !(gc_cam_map_max(s->heat, (size_t)W * H, &am) > 0);
    m->pointing = gc_metrics_pointing(s->heat, W, H, m->gt_px);
    m->energy = gc_metrics_energy(s->heat, W, H, m->gt_px);
    gc_metrics_largest_region(s->heat, W, H, GC_LOC_FRAC, c->labels, c->stack, &m->loc_box);
    m->loc_iou = gc_metrics_pbox_iou(m->loc_box, m->gt_px);
    m->localized = m->loc_iou >= GC_IOU_HIT;
    m->gini = gc_metrics_gini(s->heat, (size_t)W * H, c->sorted);
    m->own_instance = -1;
    return 0;
}

/* Random-logit test: the map of target t for another class (seeded draw),
 * against its map for the explained class. Needs the unperturbed forward
 * pass. */
static int random_logit(eval_ctx *c, int t, gc_eval_map *m, gc_err *e)
{
    int C = c->r->classes;
    if (!c->r->random_logit) return 0;
    int other = (c->tcls[t] + 1 + (int)(gc_rng_unit(&c->rng_rl) * (float)(C - 1))) % C;
    if (other == c->tcls[t]) other = (other + 1) % C;
    const float *raw;
    int rw, rh, layer;
    if (map_of(c, t, other, c->alt, &c->rng_alt, &raw, &rw, &rh, &layer, NULL, NULL, e)) return -1;
    m->rl_cls = other;
    compare_both(c, t, c->tmaps + (size_t)t * c->npx, c->alt, &m->rl_spearman, &m->rl_spearman_box);
    return 0;
}

/* Deletion, insertion (RISE) and Average Drop / Increase in Confidence for
 * target t, whose map on the network input is tmaps[t] and whose score on the
 * unchanged input is m->y. Runs 2 * steps + 1 forward passes. */
static int perturb_target(eval_ctx *c, int t, gc_eval_map *m, gc_err *e)
{
    const gc_eval_opts *o = c->o;
    const float *in = c->s.input.data, *up = c->tmaps + (size_t)t * c->npx;
    size_t npx = c->npx;
    int N = o->steps;
    float *del = c->r->curves + m->curve, *ins = del + N + 1;
    gc_metrics_order_by_value(up, npx, c->order);
    for (int k = 0; k <= N; ++k) c->cx[k] = (double)((size_t)k * npx / (size_t)N) / (double)npx;

    /* deletion: pixels in map order replaced by 0 (every channel) */
    memcpy(c->xin, in, c->nin * sizeof *c->xin);
    del[0] = (float)m->y;
    c->cy[0] = m->y;
    for (int k = 1; k <= N; ++k) {
        for (size_t q = (size_t)(k - 1) * npx / N; q < (size_t)k * npx / N; ++q)
            for (int ch = 0; ch < 3; ++ch) c->xin[(size_t)ch * npx + c->order[q]] = 0;
        if (score_of(c, c->xin, t, &c->cy[k], e)) return -1;
        del[k] = (float)c->cy[k];
    }
    m->deletion_auc = gc_metrics_auc(c->cx, c->cy, N + 1);

    /* insertion: from the blurred input, original pixels put back in map
     * order; the last step is the input itself, whose score is y */
    memcpy(c->xin, c->blurred, c->nin * sizeof *c->xin);
    if (score_of(c, c->xin, t, &c->cy[0], e)) return -1;
    ins[0] = (float)c->cy[0];
    for (int k = 1; k <= N; ++k) {
        for (size_t q = (size_t)(k - 1) * npx / N; q < (size_t)k * npx / N; ++q)
            for (int ch = 0; ch < 3; ++ch) {
                size_t at = (size_t)ch * npx + c->order[q];
                c->xin[at] = in[at];
            }
        if (k == N) c->cy[k] = m->y;
        else if (score_of(c, c->xin, t, &c->cy[k], e)) return -1;
        ins[k] = (float)c->cy[k];
    }
    m->insertion_auc = gc_metrics_auc(c->cx, c->cy, N + 1);

    /* Average Drop / Increase in Confidence: O = score on input x map, the map
     * min-max normalised to [0,1] on the network input */
    memcpy(c->norm, up, npx * sizeof *c->norm);
    gc_render_normalize(c->norm, npx);
    for (int ch = 0; ch < 3; ++ch)
        for (size_t p = 0; p < npx; ++p) c->xin[(size_t)ch * npx + p] = in[(size_t)ch * npx + p] * c->norm[p];
    if (score_of(c, c->xin, t, &m->o, e)) return -1;
    m->drop_valid = m->y > 0;
    return 0;
}

/* In-box deletion and insertion for target t: the pixels of its box on the
 * network input, ordered by its map, greyed (0.5) one step at a time from the
 * unchanged input (deletion), or restored from an all-grey box (insertion).
 * Scattered greying is destructive in itself: on a YOLO box a random order
 * drops the score faster than a smooth one, so a low deletion AUC is not
 * evidence of a faithful map on its own (README). 2 * steps forward passes. */
static int perturb_inbox(eval_ctx *c, int t, gc_eval_map *m, gc_err *e)
{
    const float *in = c->s.input.data, *up = c->tmaps + (size_t)t * c->npx;
    size_t npx = c->npx;
    int N = c->o->steps, nw = c->net->w;
    float *del = c->r->curves + m->inbox_curve, *ins = del + N + 1;
    gc_pbox b = net_box(c, t);
    size_t nb = 0;
    for (int y = b.t; y <= b.b; ++y)
        for (int x = b.l; x <= b.r; ++x) {
            c->box_idx[nb] = y * nw + x;
            c->box_val[nb++] = up[(size_t)y * nw + x];
        }
    gc_metrics_order_by_value(c->box_val, nb, c->box_order);
    for (int k = 0; k <= N; ++k) c->cx[k] = (double)k / N;

    memcpy(c->xin, in, c->nin * sizeof *c->xin);
    del[0] = (float)m->y;
    c->cy[0] = m->y;
    for (int k = 1; k <= N; ++k) {
        for (size_t q = (size_t)(k - 1) * nb / N; q < (size_t)k * nb / N; ++q)
            for (int ch = 0; ch < 3; ++ch) c->xin[(size_t)ch * npx + c->box_idx[c->box_order[q]]] = 0.5f;
        if (nb == 0) c->cy[k] = m->y;
        else if (score_of(c, c->xin, t, &c->cy[k], e)) return -1;
        del[k] = (float)c->cy[k];
    }
    m->inbox_deletion_auc = gc_metrics_auc(c->cx, c->cy, N + 1);

    memcpy(c->xin, in, c->nin * sizeof *c->xin);
    for (size_t q = 0; q < nb; ++q)
        for (int ch = 0; ch < 3; ++ch) c->xin[(size_t)ch * npx + c->box_idx[q]] = 0.5f;
    if (nb == 0) c->cy[0] = m->y;
    else if (score_of(c, c->xin, t, &c->cy[0], e)) return -1;
    ins[0] = (float)c->cy[0];
    for (int k = 1; k <= N; ++k) {
        for (size_t q = (size_t)(k - 1) * nb / N; q < (size_t)k * nb / N; ++q)
            for (int ch = 0; ch < 3; ++ch) {
                size_t at = (size_t)ch * npx + c->box_idx[c->box_order[q]];
                c->xin[at] = in[at];
            }
        if (k == N || nb == 0) c->cy[k] = m->y;
        else if (score_of(c, c->xin, t, &c->cy[k], e)) return -1;
        ins[k] = (float)c->cy[k];
    }
    m->inbox_insertion_auc = gc_metrics_auc(c->cx, c->cy, N + 1);
    return 0;
}

/* RISE grid size: RISE's 7 cells for classifiers, D-RISE's 16 for detectors. */
#define GC_RISE_GRID_CLS 7
#define GC_RISE_GRID_DET 16
#define GC_RISE_P 0.5f

/* The cell of a target's map in original-image pixels: the head's grid for a
 * detector, the explained (or default) layer's for a classifier. */
static void map_cell(const eval_ctx *c, int t, float *cw, float *ch)
{
    const network *net = c->net;
    int gw, gh;
    if (c->r->detector) {
        const layer *hl = &net->layers[c->dets[c->tdet[t]].head];
        gw = hl->w, gh = hl->h;
    } else {
        const layer *l = &net->layers[c->tlow[t]];
        gw = l->out_w, gh = l->out_h;
    }
    const gc_letterbox *lb = &c->s.lb; /* the grid covers the window the layers see */
    *cw = (float)lb->win_w / (float)(gw > 0 ? gw : 1) * (float)lb->orig_w / (float)lb->new_w;
    *ch = (float)lb->win_h / (float)(gh > 0 ? gh : 1) * (float)lb->orig_h / (float)lb->new_h;
}

/* RISE (D-RISE for boxes) for every target of the image from the same masked
 * forward passes: each mask multiplies the input (masked pixels black), the
 * target's score on the masked input weights the mask. Detectors: by default
 * the explained box's own score (objectness x class probability at its head,
 * anchor and cell: the box's output, whose class logit the default map
 * explains), or with -rise-weight iou the best IoU x class probability among
 * the decoded boxes (after D-RISE, whose similarity also has the objectness
 * and the cosine with a one-hot class vector). Then each map's agreement
 * with its RISE map. */
static int rise_image(eval_ctx *c, int img, int first, int nt, gc_err *e)
{
    const gc_eval_opts *o = c->o;
    network *net = c->net;
    size_t npx = c->npx, need;
    int gs = c->r->detector ? GC_RISE_GRID_DET : GC_RISE_GRID_CLS;
    int decode = c->r->detector && o->rise_weight == GC_RISE_WEIGHT_IOU;
    if (gc_size_mul((size_t)nt, npx, &need) || grow(&c->rise_sal, &c->cap_rise, need, sizeof *c->rise_sal))
        return gc_fail(e, "out of memory for %d RISE maps", nt);
    memset(c->rise_sal, 0, need * sizeof *c->rise_sal);
    const float *in = c->s.input.data;
    for (int i = 0; i < o->rise; ++i) {
        gc_metrics_rise_mask(net->w, net->h, gs, GC_RISE_P, &c->rng_rise, c->rise_grid, c->rise_mask);
        for (int ch = 0; ch < 3; ++ch)
            for (size_t p = 0; p < npx; ++p) c->xin[(size_t)ch * npx + p] = in[(size_t)ch * npx + p] * c->rise_mask[p];
        gc_hooks_forward(&c->s.ctx, c->xin);
        gc_boxes b;
        if (decode) {
            if (gc_detect_decode(net, c->s.orig.w, c->s.orig.h, 0.0f, 0.5f, &b, e)) return -1;
        } else if (!c->r->detector) {
            gc_classify_probs(net, &c->cl, c->probs);
        }
        for (int t = 0; t < nt; ++t) {
            double sc;
            if (!c->r->detector) {
                sc = c->probs[c->tcls[t]];
            } else if (decode) {
                sc = boxes_score(&b, c->tbox[t], c->tcls[t]);
            } else {
                gc_det d = c->dets[c->tdet[t]];
                d.cls = c->tcls[t];
                sc = gc_detect_own_score(net, &d);
                if (!isfinite(sc))
                    return gc_fail(e, "layer %d: the output is not finite on RISE mask %d", d.head, i + 1);
            }
            gc_metrics_rise_accumulate(c->rise_sal + (size_t)t * npx, c->rise_mask, npx, (float)sc);
        }
        if (decode) gc_detect_boxes_free(&b);
        if (o->rise_progress) o->rise_progress(img, c->r->nimages, i + 1, o->rise, o->progress_ctx);
    }
    int W = c->s.orig.w, H = c->s.orig.h;
    for (int t = 0; t < nt; ++t) {
        float *sal = c->rise_sal + (size_t)t * npx;
        const float *up = c->tmaps + (size_t)t * npx;
        gc_metrics_rise_finish(sal, npx, o->rise, GC_RISE_P);
        gc_eval_map *m = &c->r->maps[first + t];
        gc_pbox box = gc_metrics_pbox_cover(c->tbox[t], W, H);
        m->rise_spearman_box = compare_maps(c, up, sal, &box);
        m->rise_spearman = compare_maps(c, up, sal, NULL); /* leaves both heats for the peaks */
        float cw, ch;
        map_cell(c, t, &cw, &ch);
        m->rise_peak = gc_metrics_peaks_near(c->heat_a, c->heat_b, W, H, cw, ch);
        m->rise = 1;
    }
    return 0;
}

static int has_params(const layer *l) { return gc_model_layer_has_params(l); }

/* The lowest layer with parameters that reaches layer i's output without
 * passing another layer with parameters: i itself if it has them; otherwise
 * the lowest over its inputs (a route's inputs, a shortcut's two, the layer
 * below for pools, upsampling, dropout and the like); -1 where a path ends at
 * the network's input first. Randomising every layer from there up makes
 * i's activations wholly computed by random weights (from the trained
 * features below); randomising only the layers above i leaves a max pool's,
 * a route's or a shortcut's activations trained. */
static int weights_source(const network *net, int i, int *memo)
{
    if (i < 0) return -1;
    if (memo[i] != -2) return memo[i];
    const layer *l = &net->layers[i];
    int low = -1;
    if (has_params(l)) {
        low = i;
    } else {
        int in[2], nin = 0;
        const int *list = in;
        if (l->type == ROUTE) {
            list = l->input_layers, nin = l->n;
        } else if (l->type == SHORTCUT) {
            in[nin++] = i - 1;
            in[nin++] = l->index;
        } else {
            in[nin++] = i - 1;
        }
        for (int q = 0; q < nin; ++q) {
            /* inputs are below i (checked when the paths are built) */
            int s = list[q] < i ? weights_source(net, list[q], memo) : -1;
            if (s >= 0 && (low < 0 || s < low)) low = s;
        }
    }
    memo[i] = low;
    return low;
}

/* The randomisation point of a target explained at layers ls: the lowest
 * weights source of those layers (the lowest layer itself if none has any).
 * A method whose map is, or is weighted by, the guided input gradient
 * (Guided Backprop, Guided Grad-CAM) explains at the input: every layer with
 * weights (its point had been its default layer's, whose lower layers stayed
 * trained). */
static int rand_point(eval_ctx *c, const int *ls, int nl)
{
    if (c->o->baseline == GC_BASELINE_NONE && gc_cam_method_get(c->o->ex.method)->reaches_input)
        for (int k = 0; k < c->net->n; ++k)
            if (has_params(&c->net->layers[k])) return k;
    int low = -1, lowest = ls[0];
    for (int q = 0; q < nl; ++q) {
        int s = weights_source(c->net, ls[q], c->wsrc);
        if (s >= 0 && (low < 0 || s < low)) low = s;
        if (ls[q] < lowest) lowest = ls[q];
    }
    return low >= 0 ? low : lowest;
}

static int score_layer_of(const eval_ctx *c, int t)
{
    return c->r->detector ? c->dets[c->tdet[t]].head : c->cl.logit_layer;
}

unsigned gc_eval_cascade_seed(unsigned s)
{
    return s * 7919u + 17u;
}

unsigned gc_eval_pair_seed(unsigned s)
{
    return gc_eval_cascade_seed(s) ^ 0x5bd1e995u;
}

/* Whether target t's map can change once the layers from k up are random:
 * not where they are all above its score layer (another head's branch; the
 * random baseline draws anew whatever the layers). */
static int map_changes_at(const eval_ctx *c, int t, int k)
{
    return k <= score_layer_of(c, t) || c->o->baseline == GC_BASELINE_RANDOM;
}

/* The random-pair rows, what the randomisation Spearman is to be read
 * against: for each target, the layers from its randomisation point up drawn
 * a second time (another seed, the layers below trained), the map explained
 * again, and its Spearman with the map of the cascade's draw (rmaps). Two
 * such networks share no trained weight from the point up; what their maps
 * share comes from the architecture (the gradient's support and its fall-off
 * around the box's cell) and the trained features below the point. One pair
 * of draws, not a bound. Targets with the same point share one forward pass
 * (none for a baseline, which ignores the network; the random one draws from
 * its own stream, so the other rows' draws stay as they were). A target whose
 * point the cascade never reached (no layer with weights at or above it)
 * keeps 0, as the randomisation row does. */
static int random_pair_image(eval_ctx *c, int first, int nt, gc_err *e)
{
    network *net = c->net;
    gc_eval_result *r = c->r;
    for (int t = 0; t < nt; ++t) {
        int p = r->maps[first + t].rand_layer, done = p < 0;
        for (int u = 0; u < t; ++u) done |= r->maps[first + u].rand_layer == p;
        if (done) continue;
        gc_model_snapshot_restore(net, &c->snap);
        gc_model_randomize_layers(net, p, net->n - 1, gc_eval_pair_seed(c->o->seed));
        gc_hooks_weights_changed(&c->s.ctx);
        if (c->o->baseline == GC_BASELINE_NONE) gc_hooks_forward(&c->s.ctx, c->s.input.data);
        for (int u = t; u < nt; ++u) {
            gc_eval_map *m = &r->maps[first + u];
            if (m->rand_layer != p) continue;
            const float *raw;
            int rw, rh, layer;
            if (map_of(c, u, c->tcls[u], c->alt, &c->rng_pair, &raw, &rw, &rh, &layer, NULL, NULL, e)) return -1;
            compare_both(c, u, c->rmaps + (size_t)u * c->npx, c->alt, &m->pair_spearman, &m->pair_spearman_box);
        }
    }
    return 0;
}

/* Cascading model-parameter randomisation (Adebayo et al. 2018, Sec. 3.1)
 * for every target of the image: from the top layer down, point j
 * re-initialises every layer >= cascade[j] (seeded per layer), runs the
 * forward pass and explains each target again, at the same box or class;
 * the Spearman with its trained map is point j of its curve. Then the random
 * pair (random_pair_image). The network is restored exactly afterwards, also
 * on failure. */
static int cascade_image(eval_ctx *c, int first, int nt, gc_err *e)
{
    network *net = c->net;
    gc_eval_result *r = c->r;
    int prev = net->n, rc = 0;
    unsigned seed = gc_eval_cascade_seed(c->o->seed);
    for (int j = 0; j < r->ncascade && !rc; ++j) {
        int k = r->cascade[j];
        if (k < prev) gc_model_randomize_layers(net, k, prev - 1, seed);
        gc_hooks_weights_changed(&c->s.ctx);
        prev = k;
        /* a map that cannot change is the trained one exactly: Spearman 1
         * without a forward pass */
        int need = 0;
        for (int t = 0; t < nt; ++t) need |= map_changes_at(c, t, k);
        if (need) gc_hooks_forward(&c->s.ctx, c->s.input.data);
        for (int t = 0; t < nt && !rc; ++t) {
            gc_eval_map *m = &r->maps[first + t];
            const float *trained = c->tmaps + (size_t)t * c->npx;
            double sp = 1, spb = 1;
            int changes = map_changes_at(c, t, k);
            if (changes) {
                const float *raw;
                int rw, rh, layer;
                if ((rc = map_of(c, t, c->tcls[t], c->alt, &c->rng_alt, &raw, &rw, &rh, &layer, NULL, NULL, e))) break;
                compare_both(c, t, trained, c->alt, &sp, &spb);
            }
            r->rand_curves[m->rand_curve + (size_t)j] = (float)sp;
            /* the lowest point at or above trand: the explained layers'
             * activations and everything above them are random; its map is
             * the random pair's first */
            if (k >= c->trand[t] && (j + 1 == r->ncascade || r->cascade[j + 1] < c->trand[t])) {
                m->rand_spearman = sp;
                m->rand_spearman_box = spb;
                m->rand_layer = k;
                memcpy(c->rmaps + (size_t)t * c->npx, changes ? c->alt : trained, c->npx * sizeof *c->alt);
            }
        }
    }
    if (!rc) rc = random_pair_image(c, first, nt, e);
    gc_model_snapshot_restore(net, &c->snap);
    gc_hooks_weights_changed(&c->s.ctx);
    gc_hooks_forward(&c->s.ctx, c->s.input.data);
    return rc ? -1 : 0;
}

/* Instance discrimination: every matched box whose class has another matched
 * box in the image must peak inside its own ground-truth box. */
static void instances_image(eval_ctx *c, int first, int nt)
{
    gc_eval_result *r = c->r;
    int any = 0, all = 1;
    for (int t = 0; t < nt; ++t) {
        int twin = 0;
        for (int u = 0; u < nt; ++u) twin |= u != t && c->tcls[u] == c->tcls[t];
        if (!twin) continue;
        gc_eval_map *m = &r->maps[first + t];
        m->own_instance = m->pointing != 0;
        add(&r->stat[GC_EVAL_OWN_INSTANCE], m->own_instance);
        all &= m->own_instance;
        any = 1;
    }
    if (any) add(&r->stat[GC_EVAL_OWN_INSTANCE_ALL], all);
}

static int ensure_targets(eval_ctx *c, int n)
{
    size_t need;
    if (gc_size_mul((size_t)n, c->npx, &need)) return -1;
    if (grow(&c->tmaps, &c->cap_tmaps, need, sizeof *c->tmaps)) return -1;
    if (grow(&c->tcls, &c->cap_t_c, (size_t)n, sizeof *c->tcls) ||
        grow(&c->tdet, &c->cap_t_d, (size_t)n, sizeof *c->tdet) ||
        grow(&c->tbox, &c->cap_t_b, (size_t)n, sizeof *c->tbox) ||
        grow(&c->tobj, &c->cap_t_o, (size_t)n, sizeof *c->tobj) ||
        grow(&c->tlow, &c->cap_t_l, (size_t)n, sizeof *c->tlow) ||
        grow(&c->trand, &c->cap_t_r, (size_t)n, sizeof *c->trand) ||
        (c->o->sanity && grow(&c->rmaps, &c->cap_rmaps, need, sizeof *c->rmaps)))
        return -1;
    return 0;
}

/* Detections of the current image: decoded, NMS, every (box, class) above
 * min(thresh, map_thresh) into c->dets; those above map_thresh into the AP
 * pool, the ground truth too; those above thresh matched to the ground truth
 * (the targets). */
static int detect_image(eval_ctx *c, int img, pool *dp, pool *gp, int *ntargets, gc_err *e)
{
    const gc_eval_opts *o = c->o;
    int W = c->s.orig.w, H = c->s.orig.h, rc = -1;
    float lo = o->thresh < o->map_thresh ? o->thresh : o->map_thresh;
    gc_boxes b;
    gc_rbox *cb = NULL, *gb = NULL;
    int *ccls = NULL, *gcls = NULL, *cidx = NULL, *gt_det = NULL, *order = NULL;
    float *cprob = NULL;
    free(c->dets);
    c->dets = NULL;
    c->ndets = 0;
    *ntargets = 0;
    if (gc_detect_decode(c->net, W, H, lo, 0.5f, &b, e)) return -1;
    int frc = gc_detect_boxes(&b, lo, o->nms, &c->dets, &c->ndets, e);
    gc_detect_boxes_free(&b);
    if (frc) return -1;
    int n = c->ndets, m = c->ngt;
    size_t nn = (size_t)(n ? n : 1), mm = (size_t)(m ? m : 1);
    cb = malloc(nn * sizeof *cb);
    ccls = malloc(nn * sizeof *ccls);
    cidx = malloc(nn * sizeof *cidx);
    cprob = malloc(nn * sizeof *cprob);
    order = malloc(nn * sizeof *order);
    gb = malloc(mm * sizeof *gb);
    gcls = malloc(mm * sizeof *gcls);
    gt_det = malloc(mm * sizeof *gt_det);
    if (!cb || !ccls || !cidx || !cprob || !order || !gb || !gcls || !gt_det) {
        gc_fail(e, "out of memory");
        goto done;
    }
    int nc = 0;
    for (int i = 0; i < n; ++i) {
        const gc_det *d = &c->dets[i];
        gc_rbox r = {d->bbox.x, d->bbox.y, d->bbox.w, d->bbox.h};
        if (d->prob > o->map_thresh && pool_add(dp, img, d->cls, r, d->prob)) goto oom;
        if (d->prob > o->thresh) {
            cb[nc] = r;
            ccls[nc] = d->cls;
            cprob[nc] = d->prob;
            cidx[nc++] = i;
        }
    }
    for (int j = 0; j < m; ++j) {
        gb[j] = c->gt[j].box;
        gcls[j] = c->gt[j].cls;
        if (pool_add(gp, img, gcls[j], gb[j], 1.0f)) goto oom;
    }
    gc_metrics_match_greedy(cb, ccls, cprob, nc, gb, gcls, m, GC_IOU_HIT, gt_det, order);
    if (ensure_targets(c, m ? m : 1)) goto oom;
    int nt = 0;
    for (int j = 0; j < m; ++j) {
        add(&c->r->stat[GC_EVAL_MATCHED], gt_det[j] >= 0);
        if (gt_det[j] < 0) continue;
        c->tobj[nt] = j;
        c->tcls[nt] = gcls[j];
        c->tdet[nt] = cidx[gt_det[j]];
        c->tbox[nt] = cb[gt_det[j]];
        ++nt;
    }
    *ntargets = nt;
    rc = 0;
    goto done;
oom:
    gc_fail(e, "out of memory");
done:
    free(cb);
    free(ccls);
    free(cidx);
    free(cprob);
    free(order);
    free(gb);
    free(gcls);
    free(gt_det);
    return rc;
}

static int eval_image(eval_ctx *c, int img, pool *dp, pool *gp, gc_err *e)
{
    const gc_eval_opts *o = c->o;
    network *net = c->net;
    gc_session *s = &c->s;
    gc_eval_result *r = c->r;
    int W = s->orig.w, H = s->orig.h, top1 = -1, nt = 0;
    size_t px = (size_t)W * (size_t)H;
    if (grow(&c->labels, &c->cap_px_l, px, sizeof *c->labels) || grow(&c->stack, &c->cap_px_s, px, sizeof *c->stack))
        return gc_fail(e, "out of memory for a %dx%d image", W, H);
    if (px > c->cap_orig) {
        size_t cap = c->cap_orig, cap2 = c->cap_orig, cap3 = c->cap_orig, cap4 = c->cap_orig, cap5 = c->cap_orig,
               cap6 = c->cap_orig, cap7 = c->cap_orig;
        void *scr = realloc(c->rank_scratch, gc_metrics_rank_scratch_size(px));
        if (scr) c->rank_scratch = scr;
        if (!scr || grow(&c->heat_a, &cap, px, sizeof *c->heat_a) || grow(&c->heat_b, &cap2, px, sizeof *c->heat_b) ||
            grow(&c->gath_a, &cap3, px, sizeof *c->gath_a) || grow(&c->gath_b, &cap4, px, sizeof *c->gath_b) ||
            grow(&c->sorted, &cap5, px, sizeof *c->sorted) || grow(&c->ra, &cap6, px, sizeof *c->ra) ||
            grow(&c->rb, &cap7, px, sizeof *c->rb))
            return gc_fail(e, "out of memory for a %dx%d image", W, H);
        c->cap_orig = px;
    }

    if (!r->detector) {
        gc_classify_probs(net, &c->cl, c->probs);
        if (gc_classify_check_finite(&c->cl, c->probs, e)) return -1;
        gc_classify_top_k(c->probs, c->cl.classes, 1, &top1);
        add(&r->stat[GC_EVAL_ACCURACY], top1 == c->gt[0].cls);
        if (ensure_targets(c, c->ngt)) return gc_fail(e, "out of memory");
        for (int j = 0; j < c->ngt; ++j) {
            c->tobj[j] = j;
            c->tcls[j] = c->gt[j].cls;
            c->tdet[j] = -1;
            c->tbox[j] = c->gt[j].box;
        }
        nt = c->ngt;
    } else if (detect_image(c, img, dp, gp, &nt, e)) {
        return -1;
    }
    if (o->baseline == GC_BASELINE_CENTER)
        for (int y = 0; y < net->h; ++y)
            for (int x = 0; x < net->w; ++x) {
                float ox, oy;
                gc_render_letterbox_to_orig(&s->lb, x + 0.5f, y + 0.5f, &ox, &oy);
                c->prior[(size_t)y * net->w + x] = gc_metrics_center_prior(W, H, ox, oy);
            }

    /* every map and the scores on the unchanged input, before any forward
     * pass on a perturbed input changes the network's activations */
    int first = r->nmaps;
    for (int t = 0; t < nt; ++t) {
        gc_eval_map m;
        memset(&m, 0, sizeof m);
        m.rand_layer = -1; /* until the cascade reaches the randomisation point */
        int j = c->tobj[t];
        m.image = img;
        m.object = j;
        m.cls = c->tcls[t];
        m.gt = c->gt[j].box;
        m.gt_px = gc_metrics_pbox_cover(m.gt, W, H);
        m.det = -1;
        if (r->detector) {
            m.det = c->tdet[t];
            m.det_prob = c->dets[m.det].prob;
            m.det_box = c->tbox[t];
        }
        /* the lowest layer the method explains t at (baselines too: their
         * randomisation point is the method's) */
        {
            gc_subject subj = {c->tcls[t], r->detector ? &c->dets[c->tdet[t]] : NULL};
            int ls[GC_MAX_LAYERS], nl = gc_explain_layers(s, &subj, &o->ex, ls, e);
            if (nl < 0) return -1;
            c->tlow[t] = ls[0];
            for (int q = 1; q < nl; ++q)
                if (ls[q] < c->tlow[t]) c->tlow[t] = ls[q];
            if (o->sanity) c->trand[t] = rand_point(c, ls, nl);
        }
        if (explain_target(c, t, &m, e)) return -1;
        m.top1_localized = !r->detector && m.localized && top1 == m.cls;
        if (!r->detector) m.y = c->probs[m.cls];
        else if (det_score(c, c->tbox[t], m.cls, &m.y, e)) return -1;
        /* the cascade below fills the randomisation fields whatever the
         * number of classes; the random logit needs another class */
        m.sanity = o->sanity;
        if (o->sanity && random_logit(c, t, &m, e)) return -1;
        size_t per = 4 * (size_t)(o->steps + 1);
        if (grow(&r->curves, &r->cap_curves, r->ncurves + per, sizeof *r->curves))
            return gc_fail(e, "out of memory");
        m.curve = r->ncurves;
        m.inbox_curve = r->ncurves + 2 * (size_t)(o->steps + 1);
        r->ncurves += per;
        if (o->sanity) {
            if (grow(&r->rand_curves, &r->cap_rand, r->nrand + (size_t)r->ncascade, sizeof *r->rand_curves))
                return gc_fail(e, "out of memory");
            m.rand_curve = r->nrand;
            r->nrand += (size_t)r->ncascade;
        }
        if (record(c, &m)) return gc_fail(e, "out of memory");
    }
    if (nt) gc_metrics_blur_gaussian(s->input.data, net->w, net->h, 3, c->blur_sigma, c->blur_tmp, c->blurred);
    int all_point = 1;
    for (int t = 0; t < nt; ++t) {
        gc_eval_map *m = &r->maps[first + t];
        if (perturb_target(c, t, m, e) || perturb_inbox(c, t, m, e)) return -1;
        add(&r->stat[GC_EVAL_POINTING], m->pointing);
        all_point &= m->pointing != 0;
        add(&r->stat[GC_EVAL_ENERGY], m->energy);
        add(&r->stat[GC_EVAL_LOC_ERROR], !m->localized);
        if (!r->detector) add(&r->stat[GC_EVAL_TOP1_LOC_ERROR], !m->top1_localized);
        add(&r->stat[GC_EVAL_DELETION], m->deletion_auc);
        add(&r->stat[GC_EVAL_INSERTION], m->insertion_auc);
        if (m->drop_valid) {
            add(&r->stat[GC_EVAL_AVG_DROP], (m->y - m->o > 0 ? m->y - m->o : 0) / m->y);
            add(&r->stat[GC_EVAL_INC_CONF], m->o > m->y);
        }
        add(&r->stat[GC_EVAL_GINI], m->gini);
        add(&r->stat[GC_EVAL_ALL_ZERO], m->all_zero);
        add(&r->stat[GC_EVAL_INBOX_DELETION], m->inbox_deletion_auc);
        add(&r->stat[GC_EVAL_INBOX_INSERTION], m->inbox_insertion_auc);
    }
    if (nt && o->rise > 0 && rise_image(c, img, first, nt, e)) return -1;
    if (nt && o->sanity && cascade_image(c, first, nt, e)) return -1;
    if (r->detector) instances_image(c, first, nt);
    /* two or more garments: does each class's map find its own garment? */
    if (!r->detector && nt >= 2) add(&r->stat[GC_EVAL_POINTING_ALL], all_point);
    return 0;
}

/* AP per class over the pooled detections, mAP over the classes with
 * ground truth. */
static int finish_ap(eval_ctx *c, const pool *dp, const pool *gp, gc_err *e)
{
    gc_eval_result *r = c->r;
    int C = r->classes, rc = -1;
    size_t nd = dp->n ? dp->n : 1, ng = gp->n ? gp->n : 1;
    int *di = malloc(nd * sizeof *di), *gi = malloc(ng * sizeof *gi), *order = malloc(nd * sizeof *order);
    gc_rbox *db = malloc(nd * sizeof *db), *gb = malloc(ng * sizeof *gb);
    float *ds = malloc(nd * sizeof *ds);
    unsigned char *tp = malloc(nd), *used = malloc(ng);
    r->ap = calloc((size_t)C, sizeof *r->ap);
    r->ap_npos = calloc((size_t)C, sizeof *r->ap_npos);
    r->ap_ndet = calloc((size_t)C, sizeof *r->ap_ndet);
    if (!di || !gi || !order || !db || !gb || !ds || !tp || !used || !r->ap || !r->ap_npos || !r->ap_ndet) {
        gc_fail(e, "out of memory for the AP computation");
        goto done;
    }
    for (int k = 0; k < C; ++k) {
        int n = 0, m = 0;
        for (size_t i = 0; i < dp->n; ++i)
            if (dp->cls[i] == k) di[n] = dp->img[i], db[n] = dp->box[i], ds[n++] = dp->score[i];
        for (size_t j = 0; j < gp->n; ++j)
            if (gp->cls[j] == k) gi[m] = gp->img[j], gb[m++] = gp->box[j];
        r->ap_npos[k] = m;
        r->ap_ndet[k] = n;
        if (!m) continue;
        gc_metrics_match_voc(di, db, ds, n, gi, gb, m, GC_IOU_HIT, tp, order, used);
        r->ap[k] = gc_metrics_ap(ds, tp, n, m, order);
        add(&r->stat[GC_EVAL_MAP50], r->ap[k]);
    }
    rc = 0;
done:
    free(di);
    free(gi);
    free(order);
    free(db);
    free(gb);
    free(ds);
    free(tp);
    free(used);
    return rc;
}

/* The cascade's points, top down: every layer with parameters from the top
 * to the lowest randomisation point of any target (rand_point), then up to cascade_below
 * more spread over the layers below it (the last one the lowest). Called on
 * the first image (the layers' paths are checked there). */
static int setup_cascade(eval_ctx *c, gc_err *e)
{
    network *net = c->net;
    gc_eval_result *r = c->r;
    int low = net->n, ls[GC_MAX_LAYERS];
    c->wsrc = malloc((size_t)net->n * sizeof *c->wsrc);
    if (!c->wsrc) return gc_fail(e, "out of memory");
    for (int i = 0; i < net->n; ++i) c->wsrc[i] = -2;
    for (int i = 0; i < net->n; ++i) {
        gc_det d = {.head = i};
        gc_subject subj = {0, r->detector ? &d : NULL};
        if (r->detector && !gc_darknet_is_head(&net->layers[i])) continue;
        int nl = gc_explain_layers(&c->s, &subj, &c->o->ex, ls, e);
        if (nl < 0) return -1;
        int p = rand_point(c, ls, nl);
        if (p < low) low = p;
        if (!r->detector) break;
    }
    r->cascade = malloc((size_t)net->n * sizeof *r->cascade);
    int *below = malloc((size_t)net->n * sizeof *below);
    if (!r->cascade || !below) {
        free(below);
        return gc_fail(e, "out of memory");
    }
    int n = 0, nb = 0;
    for (int k = net->n - 1; k >= 0; --k) {
        if (!has_params(&net->layers[k])) continue;
        if (k >= low) r->cascade[n++] = k;
        else below[nb++] = k;
    }
    int want = c->o->cascade_below < nb ? c->o->cascade_below : nb;
    for (int i = 0; i < want; ++i) r->cascade[n++] = below[(size_t)(i + 1) * (size_t)nb / (size_t)want - 1];
    free(below);
    r->ncascade = n;
    if (gc_model_snapshot_take(net, &c->snap, e)) return -1;
    c->have_snap = 1;
    return 0;
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* The median rows: the median of the per-map values (n: maps that have one). */
static int finish_medians(gc_eval_result *r, gc_err *e)
{
    static const gc_eval_metric med[] = {GC_EVAL_RANDOMIZATION, GC_EVAL_RANDOMIZATION_BOX, GC_EVAL_RAND_PAIR,
                                         GC_EVAL_RAND_PAIR_BOX, GC_EVAL_RANDOM_LOGIT, GC_EVAL_RANDOM_LOGIT_BOX,
                                         GC_EVAL_RISE, GC_EVAL_RISE_BOX};
    double *v = malloc((size_t)(r->nmaps ? r->nmaps : 1) * sizeof *v);
    if (!v) return gc_fail(e, "out of memory");
    for (size_t q = 0; q < sizeof med / sizeof med[0]; ++q) {
        gc_eval_metric m = med[q];
        int n = 0;
        for (int i = 0; i < r->nmaps; ++i) {
            const gc_eval_map *mp = &r->maps[i];
            if (m == GC_EVAL_RANDOMIZATION && mp->sanity) v[n++] = mp->rand_spearman;
            if (m == GC_EVAL_RANDOMIZATION_BOX && mp->sanity) v[n++] = mp->rand_spearman_box;
            if (m == GC_EVAL_RAND_PAIR && mp->sanity) v[n++] = mp->pair_spearman;
            if (m == GC_EVAL_RAND_PAIR_BOX && mp->sanity) v[n++] = mp->pair_spearman_box;
            if (m == GC_EVAL_RANDOM_LOGIT && mp->sanity && r->random_logit) v[n++] = mp->rl_spearman;
            if (m == GC_EVAL_RANDOM_LOGIT_BOX && mp->sanity && r->random_logit) v[n++] = mp->rl_spearman_box;
            if (m == GC_EVAL_RISE && mp->rise) v[n++] = mp->rise_spearman;
            if (m == GC_EVAL_RISE_BOX && mp->rise) v[n++] = mp->rise_spearman_box;
        }
        gc_eval_stat *st = &r->stat[m];
        st->median = 1;
        st->n = n;
        st->sum = 0;
        for (int i = 0; i < n; ++i) st->sum += v[i];
        qsort(v, (size_t)n, sizeof *v, cmp_double);
        st->med = n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
    free(v);
    for (int i = 0; i < r->nmaps; ++i)
        if (r->maps[i].rise) add(&r->stat[GC_EVAL_RISE_PEAK], r->maps[i].rise_peak);
    return 0;
}

static void ctx_free(eval_ctx *c)
{
    if (c->have_snap) gc_model_snapshot_free(&c->snap);
    free(c->tlow);
    free(c->trand);
    free(c->wsrc);
    free(c->alt);
    free(c->rmaps);
    free(c->heat_a);
    free(c->heat_b);
    free(c->gath_a);
    free(c->gath_b);
    free(c->sorted);
    free(c->ra);
    free(c->rb);
    free(c->rank_scratch);
    free(c->rise_sal);
    free(c->rise_mask);
    free(c->rise_grid);
    free(c->box_idx);
    free(c->box_order);
    free(c->box_val);
    gc_explain_close(&c->s);
    free(c->probs);
    free(c->tmaps);
    free(c->prior);
    free(c->xin);
    free(c->blurred);
    free(c->blur_tmp);
    free(c->norm);
    free(c->order);
    free(c->labels);
    free(c->stack);
    free(c->cx);
    free(c->cy);
    free(c->dets);
    free(c->tcls);
    free(c->tdet);
    free(c->tbox);
    free(c->tobj);
}

void gc_eval_result_free(gc_eval_result *r)
{
    gc_labels_list_free(r->images, r->nlist);
    free(r->ap);
    free(r->ap_npos);
    free(r->ap_ndet);
    free(r->maps);
    free(r->curves);
    free(r->cascade);
    free(r->rand_curves);
    memset(r, 0, sizeof *r);
}

/* Mode, layer and option checks that need the network, before any image. */
static int setup_mode(eval_ctx *c, gc_err *e)
{
    network *net = c->net;
    const gc_eval_opts *o = c->o;
    gc_eval_result *r = c->r;
    if (net->c != 3) return gc_fail(e, "the network reads %d channels; gradcam eval needs RGB (3)", net->c);
    if (o->steps < 1) return gc_fail(e, "-steps %d: need at least 1 step", o->steps);
    if (o->rise < 0) return gc_fail(e, "-rise %d: the number of masks cannot be negative", o->rise);
    r->detector = gc_darknet_is_detector(net);
    if (o->baseline == GC_BASELINE_CELL && !r->detector)
        return gc_fail(e, "-baseline cell needs a detector (a box's head cell); %s is a classifier", o->cfg ? o->cfg : "the network");
    r->steps = o->steps;
    if (!r->detector) {
        if (gc_classify_find(net, &c->cl, e)) return -1;
        r->classes = c->cl.classes;
        r->random_logit = r->classes > 1;
        return 0;
    }
    if (gc_detect_check(net, e)) return -1;
    r->classes = net->layers[net->n - 1].classes;
    /* -target obj explains the objectness, one map whatever the class: another
     * class's map is the same map, a Spearman of 1 that says nothing */
    r->random_logit = r->classes > 1 && o->ex.target != GC_TARGET_OBJ;
    return 0;
}

/* The maps' layers, checked on the first image before any is scored: a
 * classifier's for its logits; a detector's for each head. */
static int check_layers(eval_ctx *c, gc_err *e)
{
    network *net = c->net;
    if (c->o->baseline != GC_BASELINE_NONE) return 0;
    if (!c->r->detector) {
        gc_subject subj = {0, NULL};
        return gc_explain_prepare(&c->s, &subj, &c->o->ex, e);
    }
    for (int i = 0; i < net->n; ++i) {
        if (!gc_darknet_is_head(&net->layers[i])) continue;
        gc_det d = {.head = i};
        gc_subject subj = {0, &d};
        if (gc_explain_prepare(&c->s, &subj, &c->o->ex, e)) return -1;
    }
    return 0;
}

/* A file listed more than once (by the same path or another: ./a.png and
 * a.png) counts once a copy (a list is taken as given); said on stderr,
 * once a run, with how many copies and the first file repeated. */
typedef struct file_id {
    dev_t dev;
    ino_t ino;
    int pos;
} file_id;

static int file_id_cmp(const void *a, const void *b)
{
    const file_id *x = a, *y = b;
    if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static void warn_repeated_images(const char *list, char *const *images, int n)
{
    file_id *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
    if (!ids) return; /* a warning only */
    int m = 0;
    for (int i = 0; i < n; ++i) {
        struct stat st;
        if (stat(images[i], &st) == 0) ids[m++] = (file_id){st.st_dev, st.st_ino, i};
    }
    qsort(ids, (size_t)m, sizeof *ids, file_id_cmp);
    int copies = 0, first = -1, again = -1;
    for (int i = 1, start = 0; i < m; ++i) {
        if (ids[i].dev != ids[start].dev || ids[i].ino != ids[start].ino) { /* a new file */
            start = i;
            continue;
        }
        ++copies; /* ids[start] is its first listing (sorted by position within a file) */
        if (again < 0 || ids[i].pos < again) again = ids[i].pos, first = ids[start].pos;
    }
    if (copies)
        gc_print_line(stderr, "gradcam: warning: image list %s: %d image%s listed again (first: image %d, %s, is "
                              "image %d too); each copy counts in the metrics",
                      list, copies, copies == 1 ? " is" : "s are", first + 1, images[first], again + 1);
    free(ids);
}

/* A malloc'd copy of n lines (the result owns its list), or NULL with e set. */
static char **dup_lines(char *const *lines, int n, gc_err *e)
{
    char **d = calloc((size_t)n, sizeof *d);
    for (int i = 0; d && i < n; ++i)
        if (!(d[i] = strdup(lines[i]))) {
            gc_labels_list_free(d, i);
            d = NULL;
        }
    if (!d) gc_fail(e, "out of memory");
    return d;
}

int gc_eval_run(network *net, const gc_eval_opts *o, gc_eval_result *r, gc_err *e)
{
    eval_ctx c;
    pool dp, gp;
    memset(&c, 0, sizeof c);
    memset(&dp, 0, sizeof dp);
    memset(&gp, 0, sizeof gp);
    memset(r, 0, sizeof *r);
    c.net = net;
    c.o = o;
    c.r = r;
    c.rng = (uint64_t)o->seed * 0x2545F4914F6CDD1Dull + 1;
    c.rng_rl = (uint64_t)o->seed * 0x9E3779B97F4A7C15ull + 3;
    c.rng_rise = (uint64_t)o->seed * 0xD1B54A32D192ED03ull + 5;
    c.rng_alt = (uint64_t)o->seed * 0xBF58476D1CE4E5B9ull + 7;
    c.rng_pair = (uint64_t)o->seed * 0x94D049BB133111EBull + 9;
    int rc = -1;
    gc_label **labels = NULL;
    int *nlabels = NULL;

    if (setup_mode(&c, e)) goto done;
    int nlist = 0;
    r->images = o->lines ? dup_lines(o->lines, o->nlines, e) : gc_labels_list_load(o->list, &nlist, e);
    if (o->lines) nlist = o->nlines;
    if (!r->images) goto done;
    r->nlist = nlist;
    r->nimages = o->limit > 0 && o->limit < nlist ? o->limit : nlist;

    /* every label file read and checked before the first forward pass */
    labels = calloc((size_t)r->nimages, sizeof *labels);
    nlabels = calloc((size_t)r->nimages, sizeof *nlabels);
    if (!labels || !nlabels) {
        gc_fail(e, "out of memory");
        goto done;
    }
    for (int i = 0; i < r->nimages; ++i) {
        char lp[4096];
        gc_err le;
        int iw, ih; /* each image decoded too: a bad image at line 5000, even one cut short
                     * behind a whole header, fails now, not after 4999 */
        if (gc_image_check(r->images[i], &iw, &ih, &le) ||
            gc_image_fits_net(r->images[i], iw, ih, net->w, net->h, net->c, &le)) {
            gc_fail(e, "image list %s, image %d: %s", gc_batch_list_name(o->list), i + 1, le.msg);
            goto done;
        }
        if (gc_labels_path(r->images[i], lp, sizeof lp, e)) goto done;
        if (gc_labels_load(lp, r->classes, &labels[i], &nlabels[i], &le)) {
            gc_fail(e, "%s (image %s)", le.msg, r->images[i]);
            goto done;
        }
        if (!r->detector && nlabels[i] == 0) {
            gc_fail(e, "label file %s (image %s) has no object: a classifier needs its class", lp, r->images[i]);
            goto done;
        }
        r->nobjects += nlabels[i];
    }
    warn_repeated_images(gc_batch_list_name(o->list), r->images, r->nimages);

    c.npx = (size_t)net->w * (size_t)net->h;
    c.nin = c.npx * 3;
    c.blur_sigma = (net->w < net->h ? net->w : net->h) / 45.0f;
    if (c.blur_sigma < 1) c.blur_sigma = 1;
    c.probs = malloc((size_t)r->classes * sizeof *c.probs);
    c.prior = malloc(c.npx * sizeof *c.prior);
    c.xin = malloc(c.nin * sizeof *c.xin);
    c.blurred = malloc(c.nin * sizeof *c.blurred);
    c.blur_tmp = malloc(c.npx * sizeof *c.blur_tmp);
    c.norm = malloc(c.npx * sizeof *c.norm);
    c.order = malloc(c.npx * sizeof *c.order);
    c.cx = malloc((size_t)(o->steps + 1) * sizeof *c.cx);
    c.cy = malloc((size_t)(o->steps + 1) * sizeof *c.cy);
    c.alt = malloc(c.npx * sizeof *c.alt);
    c.rise_mask = malloc(c.npx * sizeof *c.rise_mask);
    c.rise_grid = malloc((size_t)GC_RISE_GRID_DET * GC_RISE_GRID_DET * sizeof *c.rise_grid);
    c.box_idx = malloc(c.npx * sizeof *c.box_idx);
    c.box_order = malloc(c.npx * sizeof *c.box_order);
    c.box_val = malloc(c.npx * sizeof *c.box_val);
    if (!c.probs || !c.prior || !c.xin || !c.blurred || !c.blur_tmp || !c.norm ||
        !c.order || !c.cx || !c.cy || !c.alt || !c.rise_mask || !c.rise_grid || !c.box_idx || !c.box_order ||
        !c.box_val) {
        gc_fail(e, "out of memory for the network input buffers");
        goto done;
    }

    for (int i = 0; i < r->nimages; ++i) {
        int orc = i == 0 ? gc_explain_open(&c.s, net, r->images[i], e) : gc_explain_next(&c.s, r->images[i], e);
        if (orc) goto done;
        /* a layer that cannot be explained fails here, not as an image's error */
        if (i == 0 && check_layers(&c, e)) goto done;
        if (i == 0 && o->sanity && setup_cascade(&c, e)) goto done;
        c.gt = labels[i];
        c.ngt = nlabels[i];
        if (eval_image(&c, i, &dp, &gp, e)) {
            char msg[GC_ERRLEN];
            snprintf(msg, sizeof msg, "%s", e->msg);
            gc_fail(e, "image %s: %s", r->images[i], msg);
            goto done;
        }
        if (o->progress) o->progress(i + 1, r->nimages, o->progress_ctx);
    }
    c.gt = NULL;
    if (r->detector && finish_ap(&c, &dp, &gp, e)) goto done;
    if (finish_medians(r, e)) goto done;
    rc = 0;
done:
    c.gt = NULL;
    if (labels)
        for (int i = 0; i < r->nimages; ++i) free(labels[i]);
    free(labels);
    free(nlabels);
    pool_free(&dp);
    pool_free(&gp);
    ctx_free(&c);
    if (rc) gc_eval_result_free(r);
    return rc;
}

/* ---- report ---------------------------------------------------------------- */

/* Whether row m is in the table and the JSON: the rows of the mode, and
 * those asked for (the sanity checks, RISE) even when no map qualified
 * (then "-" and null), so that a script finds every key it asked for. */
static int metric_applies(const gc_eval_result *r, const gc_eval_opts *o, gc_eval_metric m)
{
    switch (m) {
    case GC_EVAL_ACCURACY:
    case GC_EVAL_TOP1_LOC_ERROR: return !r->detector;
    case GC_EVAL_MAP50:
    case GC_EVAL_MATCHED: return r->detector;
    case GC_EVAL_POINTING_ALL: return !r->detector && r->stat[m].n > 0;
    case GC_EVAL_RANDOMIZATION:
    case GC_EVAL_RANDOMIZATION_BOX:
    case GC_EVAL_RAND_PAIR:
    case GC_EVAL_RAND_PAIR_BOX:
    case GC_EVAL_RANDOM_LOGIT:
    case GC_EVAL_RANDOM_LOGIT_BOX: return o->sanity || r->stat[m].n > 0;
    case GC_EVAL_RISE:
    case GC_EVAL_RISE_BOX:
    case GC_EVAL_RISE_PEAK: return o->rise > 0 || r->stat[m].n > 0;
    case GC_EVAL_OWN_INSTANCE:
    case GC_EVAL_OWN_INSTANCE_ALL: return r->detector && r->stat[m].n > 0;
    default: return 1;
    }
}

static const char *metric_unit(gc_eval_metric m)
{
    switch (m) {
    case GC_EVAL_ACCURACY: return "images";
    case GC_EVAL_POINTING_ALL: return "images with 2+ objects";
    case GC_EVAL_MAP50: return "classes";
    case GC_EVAL_MATCHED: return "objects";
    case GC_EVAL_OWN_INSTANCE: return "boxes with a same-class twin";
    case GC_EVAL_OWN_INSTANCE_ALL: return "images with same-class twins";
    default: return "maps";
    }
}

static void layers_text(const gc_eval_result *r, const gc_eval_opts *o, char *buf, size_t n)
{
    buf[0] = '\0';
    if (o->baseline != GC_BASELINE_NONE) {
        snprintf(buf, n, "baseline %s%s", gc_eval_baseline_name(o->baseline), o->baseline == GC_BASELINE_RANDOM ? " (seeded)" : "");
        return;
    }
    size_t len = (size_t)snprintf(buf, n, "%s%s%s, layer ", gc_cam_method_name(o->ex.method),
                                  o->ex.counterfactual ? " counterfactual" : "", gc_explain_smooth_suffix(o->ex.smooth));
    const gc_method_info *mi = gc_cam_method_get(o->ex.method);
    if (!mi->weights && !mi->map) snprintf(buf + len, n - len, "input"); /* Guided Backprop, as the main command says */
    else if (!r->detector && r->nmaps && o->ex.nlayers <= 1) snprintf(buf + len, n - len, "%d", r->maps[0].layer);
    else if (!o->ex.nlayers) snprintf(buf + len, n - len, "%s", r->detector ? "default (per head)" : "default");
    else
        for (int j = 0; j < o->ex.nlayers && len < n; ++j)
            len += (size_t)snprintf(buf + len, n - len, "%s%d", j ? "," : "", o->ex.layers[j]);
}

void gc_eval_print_table(const gc_eval_result *r, const gc_eval_opts *o, FILE *f)
{
    char lt[256];
    layers_text(r, o, lt, sizeof lt);
    fprintf(f, "gradcam eval: %s, %d image%s, %d labeled object%s, %d map%s; %s; %d deletion/insertion step%s\n",
            r->detector ? "detector" : "classifier", r->nimages, gc_plural(r->nimages), r->nobjects,
            gc_plural(r->nobjects), r->nmaps, gc_plural(r->nmaps), lt, r->steps, gc_plural(r->steps));
    if (r->detector)
        fprintf(f, "detections: -thresh %g for the maps, %g for mAP, -nms %g\n", o->thresh, o->map_thresh, o->nms);
    fprintf(f, "%-26s %8s %8s\n", "metric", "value", "n");
    for (int m = 0; m < GC_EVAL_NMETRICS; ++m) {
        if (!metric_applies(r, o, (gc_eval_metric)m)) continue;
        int def;
        double v = gc_eval_value(&r->stat[m], &def);
        const char *med = r->stat[m].median ? " (median)" : "";
        if (def) fprintf(f, "%-26s %8.4f %8ld %s%s\n", metric_label[m], v, r->stat[m].n, metric_unit((gc_eval_metric)m), med);
        else fprintf(f, "%-26s %8s %8ld %s%s\n", metric_label[m], "-", r->stat[m].n, metric_unit((gc_eval_metric)m), med);
    }
}

static void json_pbox(FILE *f, gc_pbox b)
{
    if (b.r < b.l || b.b < b.t) fputs("null", f);
    else fprintf(f, "{\"left\": %d, \"top\": %d, \"right\": %d, \"bottom\": %d}", b.l, b.t, b.r, b.b);
}

static void json_rbox(FILE *f, gc_rbox b)
{
    fputs("{\"x\": ", f);
    gc_json_number(f, b.x);
    fputs(", \"y\": ", f);
    gc_json_number(f, b.y);
    fputs(", \"w\": ", f);
    gc_json_number(f, b.w);
    fputs(", \"h\": ", f);
    gc_json_number(f, b.h);
    fputc('}', f);
}

static const char *class_name(const gc_eval_opts *o, int cls) { return gc_model_class_name(o->names, o->nnames, cls); }

static void json_curve(FILE *f, const float *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; ++i) {
        if (i) fputs(", ", f);
        gc_json_number(f, v[i]);
    }
    fputc(']', f);
}

int gc_eval_write_json(const gc_eval_result *r, const gc_eval_opts *o, const char *path, gc_err *e)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return gc_fail(e, "cannot write %s: out of memory", path);
    fputs("{\n  \"mode\": ", f);
    gc_json_string(f, r->detector ? "detector" : "classifier");
    fputs(",\n  \"cfg\": ", f);
    gc_json_string(f, o->cfg);
    fputs(",\n  \"weights\": ", f);
    gc_json_string(f, o->weights);
    fputs(",\n  \"list\": ", f);
    gc_json_string(f, o->list);
    fprintf(f, ",\n  \"images\": %d,\n  \"objects\": %d,\n  \"maps\": %d,\n  \"classes\": %d,\n", r->nimages,
            r->nobjects, r->nmaps, r->classes);
    fprintf(f, "  \"method\": \"%s\",\n  \"counterfactual\": %s,\n", gc_cam_method_name(o->ex.method),
            o->ex.counterfactual ? "true" : "false");
    if (o->ex.smooth != GC_SMOOTH_NONE) fprintf(f, "  \"smooth\": \"%s\",\n", gc_explain_smooth_name(o->ex.smooth));
    else fputs("  \"smooth\": null,\n", f);
    if (o->ex.method == GC_METHOD_SCORECAM)
        fprintf(f, "  \"scorecam_channels\": %d,\n",
                o->ex.scorecam_channels > 0 ? o->ex.scorecam_channels : GC_SCORECAM_CHANNELS);
    fprintf(f, "  \"baseline\": \"%s\",\n", gc_eval_baseline_name(o->baseline));
    /* what the random draws depend on: the random baseline, RISE's masks, the
     * randomised weights and the random-logit classes */
    fprintf(f, "  \"seed\": %u,\n", o->seed);
    fputs("  \"layers\": [", f);
    for (int j = 0; j < o->ex.nlayers; ++j) fprintf(f, "%s%d", j ? ", " : "", o->ex.layers[j]);
    fprintf(f, "],\n  \"steps\": %d,\n  \"rise\": %d,\n  \"sanity\": %s,\n", r->steps, o->rise,
            o->sanity ? "true" : "false");
    if (o->rise > 0 && r->detector) fprintf(f, "  \"rise_weight\": \"%s\",\n", gc_eval_rise_weight_name(o->rise_weight));
    if (o->sanity) {
        fputs("  \"cascade_layers\": [", f);
        for (int j = 0; j < r->ncascade; ++j) fprintf(f, "%s%d", j ? ", " : "", r->cascade[j]);
        fputs("],\n", f);
    }
    if (r->detector) {
        fprintf(f, "  \"target\": \"%s\",\n  \"thresh\": %g,\n  \"map_thresh\": %g,\n  \"nms\": %g,\n",
                gc_detect_target_name(o->ex.target), o->thresh, o->map_thresh, o->nms);
    }
    fputs("  \"metrics\": {\n", f);
    int first = 1;
    for (int m = 0; m < GC_EVAL_NMETRICS; ++m) {
        if (!metric_applies(r, o, (gc_eval_metric)m)) continue;
        int def;
        double v = gc_eval_value(&r->stat[m], &def);
        fprintf(f, "%s    \"%s\": {\"value\": ", first ? "" : ",\n", metric_key[m]);
        if (def) gc_json_number(f, v);
        else fputs("null", f);
        fprintf(f, ", \"n\": %ld, \"of\": \"%s\"", r->stat[m].n, metric_unit((gc_eval_metric)m));
        if (r->stat[m].median) {
            fputs(", \"statistic\": \"median\", \"mean\": ", f);
            if (def) gc_json_number(f, r->stat[m].sum / (double)r->stat[m].n);
            else fputs("null", f);
        }
        fputc('}', f);
        first = 0;
    }
    fputs("\n  },\n", f);
    if (r->detector && r->ap) {
        fputs("  \"ap\": [", f);
        first = 1;
        for (int k = 0; k < r->classes; ++k) {
            if (!r->ap_npos[k]) continue;
            fprintf(f, "%s\n    {\"class\": %d, \"name\": ", first ? "" : ",", k);
            if (class_name(o, k)) gc_json_string(f, class_name(o, k));
            else fputs("null", f);
            fputs(", \"ap\": ", f);
            gc_json_number(f, r->ap[k]);
            fprintf(f, ", \"objects\": %d, \"detections\": %d}", r->ap_npos[k], r->ap_ndet[k]);
            first = 0;
        }
        fputs(first ? "],\n" : "\n  ],\n", f);
    }
    fputs("  \"per_map\": [", f);
    for (int i = 0; i < r->nmaps; ++i) {
        const gc_eval_map *m = &r->maps[i];
        fprintf(f, "%s\n    {\"image\": ", i ? "," : "");
        gc_json_string(f, r->images[m->image]);
        fprintf(f, ", \"image_index\": %d, \"object\": %d, \"class\": %d, \"name\": ", m->image, m->object, m->cls);
        const char *nm = class_name(o, m->cls);
        if (nm) gc_json_string(f, nm);
        else fputs("null", f);
        fputs(",\n     \"box\": ", f);
        json_pbox(f, m->gt_px);
        fputs(", \"label\": ", f);
        json_rbox(f, m->gt);
        if (r->detector) {
            fputs(",\n     \"detection\": {\"probability\": ", f);
            gc_json_number(f, m->det_prob);
            fputs(", \"box\": ", f);
            json_rbox(f, m->det_box);
            fputc('}', f);
        }
        fprintf(f, ",\n     \"layer\": %d, \"layers\": [", m->layer);
        for (int j = 0; j < m->nlayers; ++j) fprintf(f, "%s%d", j ? ", " : "", m->layers[j]);
        fprintf(f, "], \"all_zero\": %s, \"pointing\": %d, \"energy_in_box\": ", m->all_zero ? "true" : "false",
                m->pointing);
        gc_json_number(f, m->energy);
        fputs(",\n     \"loc_box\": ", f);
        json_pbox(f, m->loc_box);
        fputs(", \"loc_iou\": ", f);
        gc_json_number(f, m->loc_iou);
        fprintf(f, ", \"localized\": %s", m->localized ? "true" : "false");
        if (!r->detector) fprintf(f, ", \"top1_localized\": %s", m->top1_localized ? "true" : "false");
        fputs(",\n     \"score\": ", f);
        gc_json_number(f, m->y);
        fputs(", \"masked_score\": ", f);
        gc_json_number(f, m->o);
        fputs(", \"deletion_auc\": ", f);
        gc_json_number(f, m->deletion_auc);
        fputs(", \"insertion_auc\": ", f);
        gc_json_number(f, m->insertion_auc);
        fputs(",\n     \"deletion\": ", f);
        json_curve(f, r->curves + m->curve, r->steps + 1);
        fputs(",\n     \"insertion\": ", f);
        json_curve(f, r->curves + m->curve + r->steps + 1, r->steps + 1);
        fputs(",\n     \"gini\": ", f);
        gc_json_number(f, m->gini);
        fputs(", \"inbox_deletion_auc\": ", f);
        gc_json_number(f, m->inbox_deletion_auc);
        fputs(", \"inbox_insertion_auc\": ", f);
        gc_json_number(f, m->inbox_insertion_auc);
        fputs(",\n     \"inbox_deletion\": ", f);
        json_curve(f, r->curves + m->inbox_curve, r->steps + 1);
        fputs(",\n     \"inbox_insertion\": ", f);
        json_curve(f, r->curves + m->inbox_curve + r->steps + 1, r->steps + 1);
        if (m->sanity) {
            fprintf(f, ",\n     \"randomization\": {\"layer\": %d, \"spearman\": ", m->rand_layer);
            gc_json_number(f, m->rand_spearman);
            fputs(", \"spearman_box\": ", f);
            gc_json_number(f, m->rand_spearman_box);
            fputs(", \"random_pair\": ", f);
            gc_json_number(f, m->pair_spearman);
            fputs(", \"random_pair_box\": ", f);
            gc_json_number(f, m->pair_spearman_box);
            fputs(", \"curve\": ", f);
            json_curve(f, r->rand_curves + m->rand_curve, r->ncascade);
            if (!r->random_logit) {
                fputs("},\n     \"random_logit\": null", f); /* no other class to draw, or -target obj */
            } else {
                fprintf(f, "},\n     \"random_logit\": {\"class\": %d, \"spearman\": ", m->rl_cls);
                gc_json_number(f, m->rl_spearman);
                fputs(", \"spearman_box\": ", f);
                gc_json_number(f, m->rl_spearman_box);
                fputc('}', f);
            }
        }
        if (m->rise) {
            fputs(",\n     \"rise\": {\"spearman\": ", f);
            gc_json_number(f, m->rise_spearman);
            fputs(", \"spearman_box\": ", f);
            gc_json_number(f, m->rise_spearman_box);
            fprintf(f, ", \"peak_within_cell\": %s}", m->rise_peak ? "true" : "false");
        }
        if (r->detector)
            fprintf(f, ",\n     \"own_instance\": %s", m->own_instance < 0 ? "null" : m->own_instance ? "true" : "false");
        fputc('}', f);
    }
    fputs(r->nmaps ? "\n  ]\n}\n" : "]\n}\n", f);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return gc_fail(e, "cannot write %s: out of memory", path);
    }
    int rc = gc_image_write_file(path, buf, len, e);
    free(buf);
    return rc;
}
