#include "gc_detect.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const target_names[] = {"logit", "score", "obj"};

const char *gc_detect_target_name(gc_target t)
{
    assert((unsigned)t < sizeof target_names / sizeof target_names[0]);
    return target_names[t];
}

int gc_detect_target_parse(const char *s, gc_target *out)
{
    for (unsigned i = 0; i < sizeof target_names / sizeof target_names[0]; ++i)
        if (!strcasecmp(s, target_names[i])) {
            *out = (gc_target)i;
            return 0;
        }
    return -1;
}


int gc_detect_check(const network *net, gc_err *e)
{
    int heads = 0, classes = net->layers[net->n - 1].classes;
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        if (!gc_darknet_is_head(l)) continue;
        ++heads;
        if (l->type == REGION && (l->softmax_tree || l->background || l->coords != 4))
            return gc_fail(e, "layer %d: [region] with a softmax tree, background or coords != 4 is not supported", i);
        /* Darknet's get_detection_detections() and the decode below read 4
         * box values per box, whatever coords= says (its default is 1): with
         * fewer the last boxes lie past the end of the layer's output */
        if (l->type == DETECTION && l->coords != 4)
            return gc_fail(e, "layer %d: [detection] with coords=%d is not supported: its boxes are read as 4 values "
                              "each (set coords=4)", i, l->coords);
        if (l->type == YOLO)
            for (int n = 0; n < l->n; ++n)
                if (!l->mask || l->mask[n] < 0 || l->mask[n] >= l->total)
                    return gc_fail(e, "layer %d: [yolo] mask index %d is not one of its %d anchors", i,
                                   l->mask ? l->mask[n] : -1, l->total);
        if (l->classes != classes)
            return gc_fail(e, "layer %d: heads with different class counts (%d vs %d) are not supported", i,
                           l->classes, classes);
    }
    if (!heads) return gc_fail(e, "the network has no [yolo], [region] or [detection] head");
    return 0;
}

/* Every head's output must be finite before anything is decoded or drawn:
 * one NaN weight makes every downstream activation NaN, and a NaN objectness
 * passes neither `obj > thresh` nor `obj <= thresh`. */
static int check_heads_finite(const network *net, gc_err *e)
{
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        if (!gc_darknet_is_head(l)) continue;
        for (int j = 0; j < l->outputs; ++j)
            if (!isfinite(l->output[j]))
                return gc_fail(e, "layer %d (%s head): the network's output is not finite (NaN/Inf): check the weights",
                               i, l->type == YOLO ? "yolo" : l->type == REGION ? "region" : "detection");
    }
    return 0;
}

/* Darknet's entry_index() for [yolo] (coords = 4) and [region]. */
static int entry(const layer *l, int n, int loc, int e, int coords)
{
    return n * l->w * l->h * (coords + l->classes + 1) + e * l->w * l->h + loc;
}

static int count_boxes(const network *net, float thresh)
{
    int s = 0;
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        if (l->type == YOLO) {
            for (int loc = 0; loc < l->w * l->h; ++loc)
                for (int n = 0; n < l->n; ++n)
                    if (l->output[entry(l, n, loc, 4, 4)] > thresh) ++s; /* the decode's test, exactly */
        } else if (l->type == REGION || l->type == DETECTION) {
            s += l->w * l->h * l->n;
        }
    }
    return s;
}

/* The letterbox correction of correct_yolo_boxes()/correct_region_boxes(),
 * its products in 64 bits (Darknet's int ones overflow past 2^31, as
 * gc_image_fits_net's do not). */
static void correct_box(box *b, int w, int h, int netw, int neth)
{
    long long new_w, new_h;
    if (((float)netw / w) < ((float)neth / h)) {
        new_w = netw;
        new_h = (long long)h * netw / w;
    } else {
        new_h = neth;
        new_w = (long long)w * neth / h;
    }
    b->x = (b->x - (netw - new_w) / 2. / netw) / ((float)new_w / netw);
    b->y = (b->y - (neth - new_h) / 2. / neth) / ((float)new_h / neth);
    b->w *= (float)netw / new_w;
    b->h *= (float)neth / new_h;
}

static void put(gc_boxes *b, int k, int head, int anchor, int cell)
{
    b->head[k] = head;
    b->anchor[k] = anchor;
    b->cell[k] = cell;
}

int gc_detect_decode(const network *net, int im_w, int im_h, float thresh, float hier, gc_boxes *b, gc_err *e)
{
    (void)hier; /* used by tree softmaxes only, which gc_detect_check refuses */
    memset(b, 0, sizeof *b);
    if (gc_detect_check(net, e) || check_heads_finite(net, e)) return -1;
    b->net = net;
    b->im_w = im_w;
    b->im_h = im_h;
    int total = count_boxes(net, thresh);
    b->classes = net->layers[net->n - 1].classes;
    b->dets = calloc((size_t)(total ? total : 1), sizeof *b->dets);
    b->head = malloc((size_t)(total ? total : 1) * sizeof(int));
    b->anchor = malloc((size_t)(total ? total : 1) * sizeof(int));
    b->cell = malloc((size_t)(total ? total : 1) * sizeof(int));
    if (!b->dets || !b->head || !b->anchor || !b->cell) goto oom;
    for (int k = 0; k < total; ++k) {
        b->dets[k].classes = b->classes;
        if (!(b->dets[k].prob = calloc((size_t)b->classes, sizeof(float)))) goto oom;
        b->n = k + 1;
    }
    int k = 0;
    for (int li = 0; li < net->n; ++li) {
        const layer *l = &net->layers[li];
        const float *p = l->output;
        int wh = l->w * l->h;
        if (l->type == YOLO) {
            int first = k;
            for (int loc = 0; loc < wh; ++loc) {
                for (int n = 0; n < l->n; ++n) {
                    float obj = p[entry(l, n, loc, 4, 4)];
                    if (!(obj > thresh)) continue;
                    int bi = entry(l, n, loc, 0, 4), a = l->mask[n];
                    detection *d = &b->dets[k];
                    d->bbox.x = (loc % l->w + p[bi]) / l->w;
                    d->bbox.y = (loc / l->w + p[bi + wh]) / l->h;
                    d->bbox.w = exp(p[bi + 2 * wh]) * l->biases[2 * a] / net->w;
                    d->bbox.h = exp(p[bi + 3 * wh]) * l->biases[2 * a + 1] / net->h;
                    d->objectness = obj;
                    for (int j = 0; j < l->classes; ++j) {
                        float prob = obj * p[entry(l, n, loc, 5 + j, 4)];
                        d->prob[j] = prob > thresh ? prob : 0;
                    }
                    put(b, k++, li, n, loc);
                }
            }
            for (int q = first; q < k; ++q) correct_box(&b->dets[q].bbox, im_w, im_h, net->w, net->h);
        } else if (l->type == REGION) {
            for (int loc = 0; loc < wh; ++loc) {
                for (int n = 0; n < l->n; ++n) {
                    int q = k + n * wh + loc, bi = entry(l, n, loc, 0, l->coords);
                    detection *d = &b->dets[q];
                    float scale = p[entry(l, n, loc, l->coords, l->coords)];
                    d->bbox.x = (loc % l->w + p[bi]) / l->w;
                    d->bbox.y = (loc / l->w + p[bi + wh]) / l->h;
                    d->bbox.w = exp(p[bi + 2 * wh]) * l->biases[2 * n] / l->w;
                    d->bbox.h = exp(p[bi + 3 * wh]) * l->biases[2 * n + 1] / l->h;
                    d->objectness = scale > thresh ? scale : 0;
                    if (d->objectness)
                        for (int j = 0; j < l->classes; ++j) {
                            float prob = scale * p[entry(l, n, loc, l->coords + 1 + j, l->coords)];
                            d->prob[j] = prob > thresh ? prob : 0;
                        }
                    correct_box(&d->bbox, im_w, im_h, net->w, net->h);
                    put(b, q, li, n, loc);
                }
            }
            k += wh * l->n;
        } else if (l->type == DETECTION) {
            int side = l->side;
            for (int loc = 0; loc < side * side; ++loc) {
                for (int n = 0; n < l->n; ++n) {
                    int q = k + loc * l->n + n;
                    int pi = side * side * l->classes + loc * l->n + n;
                    int bi = side * side * (l->classes + l->n) + (loc * l->n + n) * 4;
                    detection *d = &b->dets[q];
                    float scale = p[pi];
                    /* YOLOv1 boxes are absolute (x im_w) in Darknet's own code */
                    d->bbox.x = (p[bi + 0] + loc % side) / side * im_w;
                    d->bbox.y = (p[bi + 1] + loc / side) / side * im_h;
                    d->bbox.w = pow(p[bi + 2], l->sqrt ? 2 : 1) * im_w;
                    d->bbox.h = pow(p[bi + 3], l->sqrt ? 2 : 1) * im_h;
                    d->objectness = scale;
                    for (int j = 0; j < l->classes; ++j) {
                        float prob = scale * p[loc * l->classes + j];
                        d->prob[j] = prob > thresh ? prob : 0;
                    }
                    put(b, q, li, n, loc);
                }
            }
            k += side * side * l->n;
        }
    }
    assert(k == total);
    return 0;
oom:
    gc_detect_boxes_free(b);
    return gc_fail(e, "out of memory for %d boxes", total);
}

void gc_detect_boxes_free(gc_boxes *b)
{
    if (b->dets)
        for (int i = 0; i < b->n; ++i) free(b->dets[i].prob);
    free(b->dets);
    free(b->head);
    free(b->anchor);
    free(b->cell);
    memset(b, 0, sizeof *b);
}

box gc_detect_relative(const gc_boxes *b, int i)
{
    assert(i >= 0 && i < b->n);
    box r = b->dets[i].bbox;
    if (b->net->layers[b->head[i]].type == DETECTION) {
        r.x /= b->im_w;
        r.w /= b->im_w;
        r.y /= b->im_h;
        r.h /= b->im_h;
    }
    return r;
}

/* ---- NMS: do_nms_sort's result, without its 80 full sorts ----------------
 *
 * Darknet's do_nms_sort() moves the boxes with objectness 0 to the end, then
 * for each class k qsort()s every box by prob[k] (descending) and lets each
 * box with prob[k] != 0 zero prob[k] of every later box it overlaps by more
 * than thresh. glibc's qsort is a stable merge sort, so the order before class
 * k's pass is the boxes sorted by (prob[k-1], ..., prob[0]) descending, then
 * by position; each pass sorts by its class's values before it zeroes any, so
 * every order depends on the decoded values alone. Here each class's pass
 * visits only the boxes nonzero in it, in that order, and the array is put in
 * the final order (by prob[C-1], ..., prob[0]) once. Same boxes, same zeros,
 * same order (tested against do_nms_sort, ties included). */
typedef struct nms_edges {
    float l, r, t, b, eps; /* a box's edges, and its rounding margin */
    box bb;
    float *p; /* its probability in the class being suppressed */
} nms_edges;

typedef struct nms_ctx {
    const detection *d;
    const int *nz, *nz_at; /* per box: its nonzero classes, highest first */
    int k;                 /* the class a per-class sort starts from */
} nms_ctx;

static __thread nms_ctx nms_sort_ctx; /* qsort has no context argument; one per thread */

/* Lexicographic over classes k, k-1, ..., 0 (descending values), then by
 * position: a box's classes without a nonzero value compare as 0. */
static int nms_key_cmp(int a, int b, int k)
{
    const nms_ctx *c = &nms_sort_ctx;
    const float *pa = c->d[a].prob, *pb = c->d[b].prob;
    int ia = c->nz_at[a], ea = c->nz_at[a + 1], ib = c->nz_at[b], eb = c->nz_at[b + 1];
    while (ia < ea && c->nz[ia] > k) ++ia;
    while (ib < eb && c->nz[ib] > k) ++ib;
    while (ia < ea || ib < eb) {
        int ca = ia < ea ? c->nz[ia] : -1, cb = ib < eb ? c->nz[ib] : -1;
        int cls = ca > cb ? ca : cb;
        float va = ca == cls ? pa[cls] : 0, vb = cb == cls ? pb[cls] : 0;
        if (va != vb) return va > vb ? -1 : 1;
        ia += ca == cls;
        ib += cb == cls;
    }
    return (a > b) - (a < b);
}

static int nms_by_key(const void *x, const void *y)
{
    return nms_key_cmp(*(const int *)x, *(const int *)y, nms_sort_ctx.k);
}

int gc_detect_nms(detection *dets, int total, int classes, float thresh)
{
    /* boxes with objectness 0 to the end, exactly as do_nms_sort swaps them */
    int k = total - 1;
    for (int i = 0; i <= k; ++i)
        if (dets[i].objectness == 0) {
            detection t = dets[i];
            dets[i] = dets[k];
            dets[k] = t;
            --k;
            --i;
        }
    int n = k + 1;
    if (n <= 0 || classes <= 0) return 0;
    int *nz_at = malloc(((size_t)n + 1) * sizeof *nz_at), *cls_at = calloc((size_t)classes + 1, sizeof *cls_at);
    if (!nz_at || !cls_at) {
        free(nz_at), free(cls_at);
        return -1;
    }
    size_t nnz = 0;
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < classes; ++j)
            if (dets[i].prob[j] != 0) ++nnz, ++cls_at[j + 1];
    int *nz = malloc((nnz ? nnz : 1) * sizeof *nz), *members = malloc((nnz ? nnz : 1) * sizeof *members);
    int *order = malloc((size_t)n * sizeof *order);
    detection *tmp = malloc((size_t)n * sizeof *tmp);
    int *fill = malloc((size_t)classes * sizeof *fill);
    nms_edges *edges = malloc((size_t)n * sizeof *edges);
    if (!nz || !members || !order || !tmp || !fill || !edges) {
        free(nz_at), free(cls_at), free(nz), free(members), free(order), free(tmp), free(fill), free(edges);
        return -1;
    }
    size_t q = 0;
    for (int j = 0; j < classes; ++j) cls_at[j + 1] += cls_at[j], fill[j] = cls_at[j];
    for (int i = 0; i < n; ++i) {
        nz_at[i] = (int)q;
        for (int j = classes - 1; j >= 0; --j)
            if (dets[i].prob[j] != 0) nz[q++] = j, members[fill[j]++] = i;
    }
    nz_at[n] = (int)q;
    nms_sort_ctx = (nms_ctx){dets, nz, nz_at, 0};
    /* every class's visiting order first, from the values as decoded */
    for (int j = 0; j < classes; ++j) {
        nms_sort_ctx.k = j;
        qsort(members + cls_at[j], (size_t)(cls_at[j + 1] - cls_at[j]), sizeof *members, nms_by_key);
    }
    for (int i = 0; i < n; ++i) order[i] = i;
    nms_sort_ctx.k = classes - 1;
    qsort(order, (size_t)n, sizeof *order, nms_by_key);
    /* then the greedy passes, each zeroing its own class only. A pair whose
     * boxes are apart by more than a rounding margin has box_iou 0, which
     * suppresses nothing at thresh >= 0: only the others call box_iou. */
    int reject = thresh >= 0;
    for (int j = 0; j < classes; ++j) {
        const int *m = members + cls_at[j];
        int cnt = cls_at[j + 1] - cls_at[j];
        nms_edges *ed = edges;
        for (int a = 0; a < cnt; ++a) {
            box bb = dets[m[a]].bbox;
            ed[a] = (nms_edges){bb.x - bb.w / 2, bb.x + bb.w / 2, bb.y - bb.h / 2, bb.y + bb.h / 2,
                                1e-5f * (fabsf(bb.w) + fabsf(bb.h) + fabsf(bb.x) + fabsf(bb.y)), bb,
                                &dets[m[a]].prob[j]};
        }
        for (int a = 0; a < cnt; ++a) {
            if (*ed[a].p == 0) continue;
            const nms_edges A = ed[a];
            for (int b = a + 1; b < cnt; ++b) {
                const nms_edges *B = &ed[b];
                if (reject) {
                    float margin = A.eps + B->eps;
                    float r = A.r < B->r ? A.r : B->r, l = A.l > B->l ? A.l : B->l;
                    float bo = A.b < B->b ? A.b : B->b, t = A.t > B->t ? A.t : B->t;
                    if (r - l < -margin || bo - t < -margin) continue;
                }
                if (*B->p != 0 && box_iou(A.bb, B->bb) > thresh) *B->p = 0;
            }
        }
    }
    for (int i = 0; i < n; ++i) tmp[i] = dets[order[i]];
    memcpy(dets, tmp, (size_t)n * sizeof *dets);
    free(nz_at), free(cls_at), free(nz), free(members), free(order), free(tmp), free(fill), free(edges);
    return 0;
}

typedef struct prov {
    const float *key; /* a detection's prob buffer: unique, and it survives NMS's reordering */
    int raw;
} prov;

static int by_key(const void *a, const void *b)
{
    const float *x = ((const prov *)a)->key, *y = ((const prov *)b)->key;
    return (x > y) - (x < y);
}

/* The reported pair (box i after NMS, class j). */
static gc_det pair(const gc_boxes *b, int i, int j)
{
    return (gc_det){gc_detect_relative(b, i), b->dets[i].prob[j], b->dets[i].objectness, j,
                    b->head[i], b->anchor[i], b->cell[i]};
}

/* -maxboxes without building every pair: a heap of the max best seen so
 * far, its worst on top. "Better" is a higher probability, then the earlier
 * pair: the max most probable, ties to the earlier one, as a sort of all
 * pairs by (prob descending, position) and a cut after max would keep. */
typedef struct top_pair {
    gc_det d;
    size_t seq; /* position among the pairs above thresh */
} top_pair;

static int top_worse(const top_pair *x, const top_pair *y)
{
    return x->d.prob < y->d.prob || (x->d.prob == y->d.prob && x->seq > y->seq);
}

static void top_sift_down(top_pair *h, int n, int i)
{
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n) return;
        if (c + 1 < n && top_worse(&h[c + 1], &h[c])) ++c;
        if (!top_worse(&h[c], &h[i])) return;
        top_pair t = h[i];
        h[i] = h[c];
        h[c] = t;
        i = c;
    }
}

static void top_push(top_pair *h, int *n, int max, const top_pair *x)
{
    if (*n == max) {
        if (!top_worse(&h[0], x)) return; /* no better than the worst kept */
        h[0] = *x;
        top_sift_down(h, *n, 0);
        return;
    }
    int i = (*n)++;
    h[i] = *x;
    while (i > 0 && top_worse(&h[i], &h[(i - 1) / 2])) {
        top_pair t = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static int by_seq(const void *a, const void *b)
{
    size_t x = ((const top_pair *)a)->seq, y = ((const top_pair *)b)->seq;
    return (x > y) - (x < y);
}

static int keep_top(const gc_boxes *b, float thresh, int max, gc_det **out, int *count, size_t *above, gc_err *e)
{
    top_pair *h = malloc((size_t)max * sizeof *h);
    gc_det *d = malloc((size_t)max * sizeof *d);
    if (!h || !d) {
        free(h), free(d);
        return gc_fail(e, "out of memory for %d detections", max);
    }
    int k = 0;
    size_t seq = 0;
    for (int i = 0; i < b->n; ++i)
        for (int j = 0; j < b->classes; ++j)
            if (b->dets[i].prob[j] > thresh) {
                top_pair x = {pair(b, i, j), seq++};
                top_push(h, &k, max, &x);
            }
    qsort(h, (size_t)k, sizeof *h, by_seq);
    for (int i = 0; i < k; ++i) d[i] = h[i].d;
    free(h);
    *out = d;
    *count = k;
    if (above) *above = seq;
    return 0;
}

int gc_detect_boxes_top(gc_boxes *b, float thresh, float nms, int max, gc_det **out, int *count, size_t *above,
                        gc_err *e)
{
    *out = NULL;
    *count = 0;
    if (above) *above = 0;
    int n = b->n;
    prov *keys = malloc((size_t)(n ? n : 1) * sizeof *keys);
    int *head = malloc((size_t)(n ? n : 1) * sizeof *head), *anchor = malloc((size_t)(n ? n : 1) * sizeof *anchor),
        *cell = malloc((size_t)(n ? n : 1) * sizeof *cell);
    if (!keys || !head || !anchor || !cell) {
        free(keys), free(head), free(anchor), free(cell);
        return gc_fail(e, "out of memory");
    }
    for (int i = 0; i < n; ++i) keys[i] = (prov){b->dets[i].prob, i};
    memcpy(head, b->head, (size_t)n * sizeof *head);
    memcpy(anchor, b->anchor, (size_t)n * sizeof *anchor);
    memcpy(cell, b->cell, (size_t)n * sizeof *cell);
    qsort(keys, (size_t)n, sizeof *keys, by_key);
    if (nms > 0 && gc_detect_nms(b->dets, n, b->classes, nms)) {
        free(keys), free(head), free(anchor), free(cell);
        return gc_fail(e, "out of memory for the non-maximum suppression of %d boxes", n);
    }
    /* provenance follows each detection through the sort */
    for (int i = 0; i < n; ++i) {
        prov want = {b->dets[i].prob, 0};
        prov *hit = bsearch(&want, keys, (size_t)n, sizeof *keys, by_key);
        assert(hit);
        b->head[i] = head[hit->raw];
        b->anchor[i] = anchor[hit->raw];
        b->cell[i] = cell[hit->raw];
    }
    free(keys), free(head), free(anchor), free(cell);

    if (max > 0) return keep_top(b, thresh, max, out, count, above, e);
    size_t m = 0;
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < b->classes; ++j) m += b->dets[i].prob[j] > thresh;
    if (m > INT_MAX) return gc_fail(e, "%zu detections above the threshold: too many", m);
    gc_det *d = malloc((m ? m : 1) * sizeof *d);
    if (!d) return gc_fail(e, "out of memory for %zu detections", m);
    int k = 0;
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < b->classes; ++j)
            if (b->dets[i].prob[j] > thresh) d[k++] = pair(b, i, j);
    *out = d;
    *count = (int)m;
    if (above) *above = m;
    return 0;
}

int gc_detect_boxes(gc_boxes *b, float thresh, float nms, gc_det **out, int *count, gc_err *e)
{
    return gc_detect_boxes_top(b, thresh, nms, 0, out, count, NULL, e);
}

/* Adds v * d softmax_j / d t_k over the classes (stride apart) into seed. */
static void softmax_chain(const float *pr, int j, int classes, int first, int stride, float v, float *seed, int *idx,
                          int *nnz, int cap)
{
    float pj = pr[first + j * stride];
    for (int k = 0; k < classes; ++k) {
        int at = first + k * stride;
        float pk = pr[at];
        seed[at] += v * pj * ((k == j) - pk);
        if (idx && *nnz < cap) idx[(*nnz)++] = at;
    }
}

int gc_detect_seed(const network *net, const gc_det *d, gc_target t, float *seed, int *idx, int *nnz, gc_err *e)
{
    const layer *l = &net->layers[d->head];
    const float *p = l->output;
    int none = 0, cap = nnz ? *nnz : 0, n = d->anchor, loc = d->cell;
    if (!nnz) nnz = &none;
    *nnz = 0;
#define SET(at, v) do { seed[(at)] += (v); if (idx && *nnz < cap) idx[(*nnz)++] = (at); } while (0)
    if (l->type == YOLO || l->type == REGION) {
        int coords = l->type == YOLO ? 4 : l->coords;
        int oi = entry(l, n, loc, coords, coords), ci = entry(l, n, loc, coords + 1 + d->cls, coords);
        float obj = p[oi], pc = p[ci];
        int softmax = l->type == REGION && l->softmax;
        switch (t) {
        case GC_TARGET_LOGIT: SET(ci, 1.0f); break;
        case GC_TARGET_OBJ: SET(oi, 1.0f); break;
        case GC_TARGET_SCORE:
            /* s = sigmoid(t_o) * p_c: ds/dt_o = obj (1 - obj) p_c; through the
             * class activation: logistic, or the softmax over the classes. */
            SET(oi, obj * (1.0f - obj) * pc);
            if (softmax)
                softmax_chain(p, d->cls, l->classes, entry(l, n, loc, coords + 1, coords), l->w * l->h, obj, seed,
                              idx, nnz, cap);
            else
                SET(ci, obj * pc * (1.0f - pc));
            break;
        }
    } else if (l->type == DETECTION) {
        int side = l->side;
        int pi = side * side * l->classes + loc * l->n + n, first = loc * l->classes;
        switch (t) {
        case GC_TARGET_LOGIT:
            if (l->softmax) softmax_chain(p, d->cls, l->classes, first, 1, 1.0f, seed, idx, nnz, cap);
            else SET(first + d->cls, 1.0f);
            break;
        case GC_TARGET_OBJ: SET(pi, 1.0f); break;
        case GC_TARGET_SCORE:
            SET(pi, p[first + d->cls]);
            if (l->softmax) softmax_chain(p, d->cls, l->classes, first, 1, p[pi], seed, idx, nnz, cap);
            else SET(first + d->cls, p[pi]);
            break;
        }
    } else {
        return gc_fail(e, "layer %d is not a detection head", d->head);
    }
#undef SET
    return 0;
}

float gc_detect_own_score(const network *net, const gc_det *d)
{
    assert(d->head >= 0 && d->head < net->n);
    const layer *l = &net->layers[d->head];
    const float *p = l->output;
    int n = d->anchor, loc = d->cell;
    assert(d->cls >= 0 && d->cls < l->classes && n >= 0 && n < l->n);
    if (l->type == YOLO || l->type == REGION) {
        int coords = l->type == YOLO ? 4 : l->coords;
        assert(loc >= 0 && loc < l->w * l->h);
        return p[entry(l, n, loc, coords, coords)] * p[entry(l, n, loc, coords + 1 + d->cls, coords)];
    }
    assert(l->type == DETECTION && loc >= 0 && loc < l->side * l->side);
    int side = l->side;
    return p[side * side * l->classes + loc * l->n + n] * p[loc * l->classes + d->cls];
}

/* Clamped before the conversion: a box decoded from exp() of a large logit can
 * be Inf, and converting that to int is undefined. */
static int clamp_px(double v, int hi)
{
    if (!(v > 0)) return 0; /* also NaN */
    return v > hi ? hi : (int)v;
}

void gc_detect_pixels(const gc_det *d, int im_w, int im_h, int *left, int *top, int *right, int *bottom)
{
    box b = d->bbox;
    *left = clamp_px((b.x - b.w / 2.) * im_w, im_w - 1);
    *right = clamp_px((b.x + b.w / 2.) * im_w, im_w - 1);
    *top = clamp_px((b.y - b.h / 2.) * im_h, im_h - 1);
    *bottom = clamp_px((b.y + b.h / 2.) * im_h, im_h - 1);
}
