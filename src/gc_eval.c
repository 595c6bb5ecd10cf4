#include "gc_eval.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gc_cam.h"
#include "gc_classify.h"
#include "gc_image.h"
#include "gc_json.h"
#include "gc_labels.h"
#include "gc_render.h"
#include "gc_rng.h"

/* Localization threshold of the Grad-CAM paper (Sec. 4.1): 15% of the max. */
#define GC_LOC_FRAC 0.15f
#define GC_IOU_HIT 0.5

static const char *const baseline_names[] = {"none", "center", "random"};

const char *gc_baseline_name(gc_baseline b)
{
    assert((unsigned)b < sizeof baseline_names / sizeof baseline_names[0]);
    return baseline_names[b];
}

int gc_baseline_parse(const char *s, gc_baseline *out)
{
    for (unsigned i = 1; i < sizeof baseline_names / sizeof baseline_names[0]; ++i)
        if (!strcasecmp(s, baseline_names[i])) {
            *out = (gc_baseline)i;
            return 0;
        }
    return -1;
}

static const char *const metric_label[GC_EVAL_NMETRICS] = {
    "classification accuracy", "mAP@0.5", "matched to a detection", "pointing game",
    "pointing, every object", "energy in box",
    "localization error", "top-1 localization error", "deletion AUC", "insertion AUC", "average drop",
    "increase in confidence"};
static const char *const metric_key[GC_EVAL_NMETRICS] = {
    "accuracy", "map50", "matched", "pointing", "pointing_all_objects", "energy_in_box", "localization_error",
    "top1_localization_error", "deletion_auc", "insertion_auc", "average_drop", "increase_in_confidence"};

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
    uint64_t rng;
    /* per image */
    gc_det *dets;        /* detections after NMS above min(thresh, map_thresh) */
    int ndets;
    gc_label *gt;
    int ngt;
    int *tcls, *tdet;    /* targets: class, and the detection (detectors) */
    gc_rbox *tbox;       /* targets: the explained box (detectors: the detection's) */
    int *tobj;           /* targets: ground-truth index */
    size_t cap_t_c, cap_t_d, cap_t_b, cap_t_o;
} eval_ctx;

static float next_uniform(uint64_t *s)
{
    /* the baseline's random map depends on -seed only */
    return gc_rng_unit(s);
}

/* Detector score of a box: max over every decoded candidate (before NMS) of
 * IoU(candidate, box) x the candidate's probability for cls. */
static int det_score(eval_ctx *c, gc_rbox want, int cls, double *out, gc_err *e)
{
    gc_boxes b;
    int W = c->s.orig.w, H = c->s.orig.h;
    if (gc_boxes_decode(c->net, W, H, 0.0f, 0.5f, &b, e)) return -1;
    double best = 0;
    for (int i = 0; i < b.n; ++i) {
        double p = b.dets[i].prob[cls];
        if (!(p > 0)) continue;
        box rb = gc_boxes_relative(&b, i);
        double v = gc_rbox_iou((gc_rbox){rb.x, rb.y, rb.w, rb.h}, want) * p;
        if (v > best) best = v;
    }
    gc_boxes_free(&b);
    *out = best;
    return 0;
}

/* The score of target t after a forward pass on `input`. */
static int score_of(eval_ctx *c, const float *input, int t, double *out, gc_err *e)
{
    gc_forward(&c->s.ctx, input);
    if (!c->r->detector) {
        gc_classifier_probs(c->net, &c->cl, c->probs);
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

/* The explanation map of target t into tmaps[t] (network-input resolution),
 * its heat on the original image into s.heat, and the map-only metrics. */
static int explain_target(eval_ctx *c, int t, gc_eval_map *m, gc_err *e)
{
    network *net = c->net;
    const gc_eval_opts *o = c->o;
    gc_session *s = &c->s;
    float *up = c->tmaps + (size_t)t * c->npx;
    const float *map = NULL;
    int mw = net->w, mh = net->h;
    m->layer = -1;
    if (o->baseline == GC_BASELINE_CENTER) {
        map = c->prior;
    } else if (o->baseline == GC_BASELINE_RANDOM) {
        for (size_t p = 0; p < c->npx; ++p) up[p] = next_uniform(&c->rng);
        map = up;
    } else {
        gc_subject subj = {c->tcls[t], c->r->detector ? &c->dets[c->tdet[t]] : NULL};
        gc_map gm;
        if (gc_session_explain_target(s, &subj, &o->ex, &gm, e)) return -1;
        map = gm.data;
        mw = gm.w;
        mh = gm.h;
        m->layer = gm.layer;
    }
    if (map != up) {
        if (mw == net->w && mh == net->h) memcpy(up, map, c->npx * sizeof *up);
        else gc_resize_bilinear(map, mw, mh, up, net->w, net->h);
    }
    gc_session_heat_raw(s, map, mw, mh);
    int W = s->orig.w, H = s->orig.h;
    size_t am;
    m->all_zero = !(gc_map_max(s->heat, (size_t)W * H, &am) > 0);
    m->pointing = gc_metric_pointing(s->heat, W, H, m->gt_px);
    m->energy = gc_metric_energy(s->heat, W, H, m->gt_px);
    gc_metric_largest_region(s->heat, W, H, GC_LOC_FRAC, c->labels, c->stack, &m->loc_box);
    m->loc_iou = gc_pbox_iou(m->loc_box, m->gt_px);
    m->localized = m->loc_iou >= GC_IOU_HIT;
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
    gc_order_by_value(up, npx, c->order);
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
    m->deletion_auc = gc_metric_auc(c->cx, c->cy, N + 1);

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
    m->insertion_auc = gc_metric_auc(c->cx, c->cy, N + 1);

    /* Average Drop / Increase in Confidence: O = score on input x map, the map
     * min-max normalised to [0,1] on the network input */
    memcpy(c->norm, up, npx * sizeof *c->norm);
    gc_normalize_minmax(c->norm, npx);
    for (int ch = 0; ch < 3; ++ch)
        for (size_t p = 0; p < npx; ++p) c->xin[(size_t)ch * npx + p] = in[(size_t)ch * npx + p] * c->norm[p];
    if (score_of(c, c->xin, t, &m->o, e)) return -1;
    m->drop_valid = m->y > 0;
    return 0;
}

static int ensure_targets(eval_ctx *c, int n)
{
    size_t need;
    if (gc_size_mul((size_t)n, c->npx, &need)) return -1;
    if (grow(&c->tmaps, &c->cap_tmaps, need, sizeof *c->tmaps)) return -1;
    if (grow(&c->tcls, &c->cap_t_c, (size_t)n, sizeof *c->tcls) ||
        grow(&c->tdet, &c->cap_t_d, (size_t)n, sizeof *c->tdet) ||
        grow(&c->tbox, &c->cap_t_b, (size_t)n, sizeof *c->tbox) ||
        grow(&c->tobj, &c->cap_t_o, (size_t)n, sizeof *c->tobj))
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
    if (gc_boxes_decode(c->net, W, H, lo, 0.5f, &b, e)) return -1;
    int frc = gc_detections(&b, lo, o->nms, &c->dets, &c->ndets, e);
    gc_boxes_free(&b);
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
    gc_match_greedy(cb, ccls, cprob, nc, gb, gcls, m, GC_IOU_HIT, gt_det, order);
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

    if (!r->detector) {
        gc_classifier_probs(net, &c->cl, c->probs);
        gc_top_k(c->probs, c->cl.classes, 1, &top1);
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
                gc_letterbox_to_orig(&s->lb, x + 0.5f, y + 0.5f, &ox, &oy);
                c->prior[(size_t)y * net->w + x] = gc_center_prior(W, H, ox, oy);
            }

    /* every map and the scores on the unchanged input, before any forward
     * pass on a perturbed input changes the network's activations */
    int first = r->nmaps;
    for (int t = 0; t < nt; ++t) {
        gc_eval_map m;
        memset(&m, 0, sizeof m);
        int j = c->tobj[t];
        m.image = img;
        m.object = j;
        m.cls = c->tcls[t];
        m.gt = c->gt[j].box;
        m.gt_px = gc_pbox_from_rel(m.gt, W, H);
        m.det = -1;
        if (r->detector) {
            m.det = c->tdet[t];
            m.det_prob = c->dets[m.det].prob;
            m.det_box = c->tbox[t];
        }
        if (explain_target(c, t, &m, e)) return -1;
        m.top1_localized = !r->detector && m.localized && top1 == m.cls;
        if (!r->detector) m.y = c->probs[m.cls];
        else if (det_score(c, c->tbox[t], m.cls, &m.y, e)) return -1;
        size_t per = 2 * (size_t)(o->steps + 1);
        if (grow(&r->curves, &r->cap_curves, r->ncurves + per, sizeof *r->curves))
            return gc_fail(e, "out of memory");
        m.curve = r->ncurves;
        r->ncurves += per;
        if (record(c, &m)) return gc_fail(e, "out of memory");
    }
    if (nt) gc_blur_gaussian(s->input.data, net->w, net->h, 3, c->blur_sigma, c->blur_tmp, c->blurred);
    int all_point = 1;
    for (int t = 0; t < nt; ++t) {
        gc_eval_map *m = &r->maps[first + t];
        if (perturb_target(c, t, m, e)) return -1;
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
    }
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
        gc_match_voc(di, db, ds, n, gi, gb, m, GC_IOU_HIT, tp, order, used);
        r->ap[k] = gc_metric_ap(ds, tp, n, m, order);
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

static void ctx_free(eval_ctx *c)
{
    gc_session_close(&c->s);
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
    gc_list_free(r->images, r->nlist);
    free(r->ap);
    free(r->ap_npos);
    free(r->ap_ndet);
    free(r->maps);
    free(r->curves);
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
    r->detector = gc_is_detector(net);
    r->steps = o->steps;
    if (!r->detector) {
        if (gc_classifier_find(net, &c->cl, e)) return -1;
        r->classes = c->cl.classes;
        return 0;
    }
    if (gc_detect_check(net, e)) return -1;
    r->classes = net->layers[net->n - 1].classes;
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
        return gc_session_prepare(&c->s, &subj, &c->o->ex, e);
    }
    for (int i = 0; i < net->n; ++i) {
        LAYER_TYPE t = net->layers[i].type;
        if (t != YOLO && t != REGION && t != DETECTION) continue;
        gc_det d = {.head = i};
        gc_subject subj = {0, &d};
        if (gc_session_prepare(&c->s, &subj, &c->o->ex, e)) return -1;
    }
    return 0;
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
    int rc = -1;
    gc_label **labels = NULL;
    int *nlabels = NULL;

    if (setup_mode(&c, e)) goto done;
    int nlist = 0;
    r->images = gc_list_load(o->list, &nlist, e);
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
        if (gc_label_path(r->images[i], lp, sizeof lp, e)) goto done;
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
    if (!c.probs || !c.prior || !c.xin || !c.blurred || !c.blur_tmp || !c.norm ||
        !c.order || !c.cx || !c.cy) {
        gc_fail(e, "out of memory for the network input buffers");
        goto done;
    }

    for (int i = 0; i < r->nimages; ++i) {
        int orc = i == 0 ? gc_session_open(&c.s, net, r->images[i], e) : gc_session_next(&c.s, r->images[i], e);
        if (orc) goto done;
        /* a layer that cannot be explained fails here, not as an image's error */
        if (i == 0 && check_layers(&c, e)) goto done;
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

static int metric_applies(const gc_eval_result *r, gc_eval_metric m)
{
    switch (m) {
    case GC_EVAL_ACCURACY:
    case GC_EVAL_TOP1_LOC_ERROR: return !r->detector;
    case GC_EVAL_MAP50:
    case GC_EVAL_MATCHED: return r->detector;
    case GC_EVAL_POINTING_ALL: return !r->detector && r->stat[m].n > 0;
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
    default: return "maps";
    }
}

static void layers_text(const gc_eval_result *r, const gc_eval_opts *o, char *buf, size_t n)
{
    buf[0] = '\0';
    if (o->baseline != GC_BASELINE_NONE) {
        snprintf(buf, n, "baseline %s%s", gc_baseline_name(o->baseline), o->baseline == GC_BASELINE_RANDOM ? " (seeded)" : "");
        return;
    }
    size_t len = (size_t)snprintf(buf, n, "%s%s, layer ", gc_method_name(o->ex.method),
                                  o->ex.counterfactual ? " counterfactual" : "");
    if (!r->detector && r->nmaps) snprintf(buf + len, n - len, "%d", r->maps[0].layer);
    else if (!o->ex.nlayers) snprintf(buf + len, n - len, "%s", r->detector ? "default (per head)" : "default");
    else
        for (int j = 0; j < o->ex.nlayers && len < n; ++j)
            len += (size_t)snprintf(buf + len, n - len, "%s%d", j ? "," : "", o->ex.layers[j]);
}

void gc_eval_print_table(const gc_eval_result *r, const gc_eval_opts *o, FILE *f)
{
    char lt[256];
    layers_text(r, o, lt, sizeof lt);
    fprintf(f, "gradcam eval: %s, %d images, %d labeled objects, %d maps; %s; %d deletion/insertion steps\n",
            r->detector ? "detector" : "classifier", r->nimages, r->nobjects, r->nmaps, lt, r->steps);
    if (r->detector)
        fprintf(f, "detections: -thresh %g for the maps, %g for mAP, -nms %g\n", o->thresh, o->map_thresh, o->nms);
    fprintf(f, "%-26s %8s %8s\n", "metric", "value", "n");
    for (int m = 0; m < GC_EVAL_NMETRICS; ++m) {
        if (!metric_applies(r, (gc_eval_metric)m)) continue;
        int def;
        double v = gc_eval_value(&r->stat[m], &def);
        if (def) fprintf(f, "%-26s %8.4f %8ld %s\n", metric_label[m], v, r->stat[m].n, metric_unit((gc_eval_metric)m));
        else fprintf(f, "%-26s %8s %8ld %s\n", metric_label[m], "-", r->stat[m].n, metric_unit((gc_eval_metric)m));
    }
}

static void json_pbox(FILE *f, gc_pbox b)
{
    if (b.r < b.l || b.b < b.t) fputs("null", f);
    else fprintf(f, "{\"left\": %d, \"top\": %d, \"right\": %d, \"bottom\": %d}", b.l, b.t, b.r, b.b);
}

static void json_rbox(FILE *f, gc_rbox b)
{
    fprintf(f, "{\"x\": %.6g, \"y\": %.6g, \"w\": %.6g, \"h\": %.6g}", b.x, b.y, b.w, b.h);
}

static const char *class_name(const gc_eval_opts *o, int cls) { return o->names && cls < o->nnames ? o->names[cls] : NULL; }

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
    fprintf(f, "  \"method\": \"%s\",\n  \"counterfactual\": %s,\n  \"baseline\": \"%s\",\n",
            gc_method_name(o->ex.method), o->ex.counterfactual ? "true" : "false", gc_baseline_name(o->baseline));
    if (o->baseline == GC_BASELINE_RANDOM) fprintf(f, "  \"seed\": %u,\n", o->seed);
    fputs("  \"layers\": [", f);
    for (int j = 0; j < o->ex.nlayers; ++j) fprintf(f, "%s%d", j ? ", " : "", o->ex.layers[j]);
    fprintf(f, "],\n  \"steps\": %d,\n", r->steps);
    if (r->detector) {
        fprintf(f, "  \"target\": \"%s\",\n  \"thresh\": %g,\n  \"map_thresh\": %g,\n  \"nms\": %g,\n",
                gc_target_name(o->ex.target), o->thresh, o->map_thresh, o->nms);
    }
    fputs("  \"metrics\": {\n", f);
    int first = 1;
    for (int m = 0; m < GC_EVAL_NMETRICS; ++m) {
        if (!metric_applies(r, (gc_eval_metric)m)) continue;
        int def;
        double v = gc_eval_value(&r->stat[m], &def);
        fprintf(f, "%s    \"%s\": {\"value\": ", first ? "" : ",\n", metric_key[m]);
        if (def) gc_json_number(f, v);
        else fputs("null", f);
        fprintf(f, ", \"n\": %ld, \"of\": \"%s\"}", r->stat[m].n, metric_unit((gc_eval_metric)m));
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
        fprintf(f, ",\n     \"layer\": %d, \"all_zero\": %s, \"pointing\": %d, \"energy_in_box\": ", m->layer,
                m->all_zero ? "true" : "false", m->pointing);
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
        fputc('}', f);
    }
    fputs(r->nmaps ? "\n  ]\n}\n" : "]\n}\n", f);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return gc_fail(e, "cannot write %s: out of memory", path);
    }
    int rc = gc_write_file(path, buf, len, e);
    free(buf);
    return rc;
}
