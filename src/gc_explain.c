#include "gc_explain.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gc_image.h"

int gc_check_out_prefix(const char *prefix, gc_err *e)
{
    if (!prefix || !*prefix) return gc_fail(e, "-out needs a non-empty prefix");
    char dir[4096];
    const char *slash = strrchr(prefix, '/');
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == prefix) {
        snprintf(dir, sizeof dir, "/");
    } else {
        size_t len = (size_t)(slash - prefix);
        if (len >= sizeof dir) return gc_fail(e, "-out %s: path too long", prefix);
        memcpy(dir, prefix, len);
        dir[len] = '\0';
    }
    if (access(dir, W_OK | X_OK) != 0)
        return gc_fail(e, "-out %s: directory %s is not writable (%s)", prefix, dir, strerror(errno));
    return 0;
}

gc_result *gc_results_add(gc_results *rs)
{
    if (rs->n == rs->cap) {
        int cap = rs->cap ? 2 * rs->cap : 8;
        gc_result *p = realloc(rs->r, (size_t)cap * sizeof *p);
        if (!p) return NULL;
        rs->r = p;
        rs->cap = cap;
    }
    gc_result *r = &rs->r[rs->n++];
    memset(r, 0, sizeof *r);
    return r;
}

void gc_results_free(gc_results *rs)
{
    free(rs->r);
    memset(rs, 0, sizeof *rs);
}

static int is_head(const layer *l) { return l->type == YOLO || l->type == REGION || l->type == DETECTION; }

int gc_session_open(gc_session *s, network *net, const char *image_path, gc_err *e)
{
    memset(s, 0, sizeof *s);
    s->net = net;
    if (gc_ctx_init(&s->ctx, net, e)) return -1;
    s->detector = gc_is_detector(net);
    /* the seed holds the largest score layer's output: every head, or the logits */
    size_t most = 0;
    if (s->detector) {
        if (gc_detect_check(net, e)) return -1;
        for (int i = 0; i < net->n; ++i)
            if (is_head(&net->layers[i]) && (size_t)net->layers[i].outputs > most) most = (size_t)net->layers[i].outputs;
    } else {
        if (gc_classifier_find(net, &s->cl, e)) return -1;
        most = (size_t)net->layers[s->cl.logit_layer].outputs;
    }
    size_t npx = (size_t)net->w * (size_t)net->h;
    s->seed = calloc(most ? most : 1, sizeof *s->seed);
    s->fused = malloc((npx ? npx : 1) * sizeof *s->fused);
    s->up = malloc((npx ? npx : 1) * sizeof *s->up);
    if (!s->seed || !s->fused || !s->up) return gc_fail(e, "out of memory for the network's score and map buffers");
    s->cap_seed = most;
    gc_hooks_install(&s->ctx);
    return gc_session_next(s, image_path, e);
}

int gc_session_next(gc_session *s, const char *image_path, gc_err *e)
{
    int w = 0, h = 0;
    if (gc_image_check(image_path, &w, &h, e)) return -1;
    if (gc_image_fits_net(image_path, w, h, s->net->w, s->net->h, s->net->c, e)) return -1;
    if (s->input.data && s->input.data != s->orig.data) free_image(s->input);
    if (s->orig.data) free_image(s->orig);
    memset(&s->input, 0, sizeof s->input);
    memset(&s->orig, 0, sizeof s->orig);
    s->orig = load_image_color((char *)image_path, 0, 0);
    s->input = letterbox_image(s->orig, s->net->w, s->net->h);
    s->lb = gc_letterbox_make(s->orig.w, s->orig.h, s->net->w, s->net->h);
    size_t npx = (size_t)s->orig.w * (size_t)s->orig.h;
    if (npx > s->cap_px) {
        float *heat = realloc(s->heat, npx * sizeof *s->heat);
        if (heat) s->heat = heat;
        unsigned char *rgb = heat ? realloc(s->rgb, npx * 3) : NULL;
        if (rgb) s->rgb = rgb;
        if (!heat || !rgb) return gc_fail(e, "out of memory for a %dx%d image", s->orig.w, s->orig.h);
        s->cap_px = npx;
    }
    gc_forward(&s->ctx, s->input.data);
    return 0;
}

/* Grows the buffers for a map of layer li (grow-only). */
static int reserve(gc_session *s, int li, gc_method method, gc_err *e)
{
    const layer *l = &s->net->layers[li];
    size_t hw = (size_t)l->out_w * (size_t)l->out_h, k = (size_t)l->out_c;
    size_t work = gc_cam_work_size(method, k, (size_t)l->out_h, (size_t)l->out_w);
    if (work == SIZE_MAX) return gc_fail(e, "layer %d: %zu channels are too many for %s", li, k, gc_method_name(method));
    if (hw > s->cap_hw) {
        float *p = realloc(s->map, hw * sizeof *p);
        if (p) s->map = p;
        float *q = p ? realloc(s->norm, hw * sizeof *q) : NULL;
        if (q) s->norm = q;
        if (!p || !q) return gc_fail(e, "out of memory for a %zu-cell map", hw);
        s->cap_hw = hw;
    }
    if (k > s->cap_k) {
        float *p = realloc(s->weights, k * sizeof *p);
        if (!p) return gc_fail(e, "out of memory for %zu channel weights", k);
        s->weights = p;
        s->cap_k = k;
    }
    if (work > s->cap_work) {
        float *p = realloc(s->work, work * sizeof *p);
        if (!p) return gc_fail(e, "out of memory for method scratch (%zu floats)", work);
        s->work = p;
        s->cap_work = work;
    }
    return 0;
}

int gc_subject_score_layer(const gc_session *s, const gc_subject *t)
{
    assert(!t->det == !s->detector);
    return t->det ? t->det->head : s->cl.logit_layer;
}

/* The head's 1x1 score convolution (dropouts skipped). */
static int head_score_layer(const network *net, int head)
{
    int score = head - 1;
    while (score > 0 && net->layers[score].type == DROPOUT) --score;
    return score;
}

/* The gradient of one head cell, seen from below layer a: its half-width
 * grows by r at a's output -> r * stride + size / 2 at a's input for a
 * convolution or pooling, shrinks by the factor of an upsampling, and passes
 * unchanged through layers that keep positions (dropout, shortcut, batch
 * norm, activation, a route of one input). Returns -1 for a layer it cannot
 * follow (a concatenating route, global pooling, connected, reorg...): the
 * walk stops there. */
static int support_below(const layer *a, int r)
{
    switch (a->type) {
    case CONVOLUTIONAL:
    case MAXPOOL:
    case LOCAL: return a->out_w > 1 || a->out_h > 1 ? r * a->stride + a->size / 2 : -1;
    case UPSAMPLE: return a->stride > 0 ? (r + a->stride - 1) / a->stride : r * -a->stride;
    case DROPOUT:
    case SHORTCUT:
    case BATCHNORM:
    case ACTIVE: return r;
    case ROUTE: return a->n == 1 ? r : -1;
    default: return -1;
    }
}

static int layer_below(const network *net, int a)
{
    const layer *l = &net->layers[a];
    if (l->type == ROUTE) return l->n == 1 ? l->input_layers[0] : -1;
    return a - 1;
}

/* A detection head's default layers (ODAM-style, Zhao & Chan 2023: where the
 * head's receptive field spreads the box's gradient). Under the head's 1x1
 * score convolution the gradient of one cell's score covers one cell of the
 * layers that feed it (LayerCAM there marks the box's cell and nothing else;
 * README "Detector default layer and method"). So walk down from the score
 * convolution, tracking the half-width r of that gradient (in cells of each
 * layer), and take two layers: the lowest layer whose r is the first value
 * >= 2 (a 5x5 cell support or more), and the lowest of the next group of
 * layers with a larger r >= 4. The walk stops at a concatenating route (the
 * route itself is taken: it holds every branch) or at a layer it cannot
 * follow. A head too shallow for r >= 2 gets the deepest layer the walk
 * reached with r >= 1, else the feature layer feeding the score convolution.
 * Returns the count (1 or 2). */
/* Closes a group of consecutive walked layers with the same support r (its
 * lowest layer `low`): the first group with r >= 2 gives the first layer, the
 * next group with a larger r >= 4 the second. */
static void close_group(int r, int low, int *lvl1, int *lvl1_r, int *lvl2)
{
    if (r < 0) return;
    if (*lvl1 < 0 && r >= 2) *lvl1 = low, *lvl1_r = r;
    else if (*lvl1 >= 0 && *lvl2 < 0 && r >= 4 && r > *lvl1_r) *lvl2 = low;
}

static int head_default_layers(const network *net, int head, int *layers)
{
    int score = head_score_layer(net, head);
    int feature = score - 1;
    while (feature > 0 && net->layers[feature].type == DROPOUT) --feature;
    if (feature < 0) feature = 0;
    int a = score, r = 0, group_r = -1, low = -1, lvl1 = -1, lvl1_r = 0, lvl2 = -1;
    while (a > 0 && lvl2 < 0) {
        int rb = support_below(&net->layers[a], r), below = layer_below(net, a);
        if (rb < 0 || below < 0) break;
        const layer *lb = &net->layers[below];
        if (lb->out_w * lb->out_h <= 1) break;
        if (rb != group_r) close_group(group_r, low, &lvl1, &lvl1_r, &lvl2);
        if (rb != group_r) group_r = rb;
        if (lvl2 >= 0) break;
        low = below;
        r = rb;
        a = below;
        /* a concatenating route holds every branch: the walk ends on it */
        if (lb->type == ROUTE && lb->n > 1) break;
    }
    if (lvl2 < 0) close_group(group_r, low, &lvl1, &lvl1_r, &lvl2);
    int n = 0;
    if (lvl1 >= 0) layers[n++] = lvl1;
    if (lvl2 >= 0) layers[n++] = lvl2;
    if (n == 0) layers[n++] = low >= 0 && group_r >= 1 ? low : feature;
    return n;
}

int gc_explain_default_layers(const network *net, int score_layer, int *layers, gc_err *e)
{
    assert(score_layer >= 0 && score_layer < net->n);
    if (is_head(&net->layers[score_layer])) return head_default_layers(net, score_layer, layers);
    int li = gc_default_layer(net, score_layer, e);
    if (li < 0) return -1;
    layers[0] = li;
    return 1;
}

int gc_session_layers(gc_session *s, const gc_subject *t, const gc_explain_opts *o, int *layers, gc_err *e)
{
    const network *net = s->net;
    int score = gc_subject_score_layer(s, t), n;
    const char *what = t->det ? "the box's head" : "the logit layer";
    if (!o->nlayers) {
        if ((n = gc_explain_default_layers(net, score, layers, e)) < 0) return -1;
    } else {
        n = o->nlayers;
        assert(n <= GC_MAX_LAYERS);
        for (int j = 0; j < n; ++j) {
            int req = o->layers[j], idx = req < 0 ? score + req : req;
            if (idx < 0 || idx >= score)
                return gc_fail(e, "-layer %d is out of range for %s (layer %d): explainable layers are 0..%d (or -1..-%d)",
                               req, what, score, score - 1, score);
            layers[j] = idx;
        }
    }
    for (int j = 0; j < n; ++j) {
        gc_err pe;
        if (gc_path(&s->ctx, layers[j], score, &pe))
            return gc_fail(e, "-layer %d, for %s (layer %d): %s", layers[j], what, score, pe.msg);
    }
    return n;
}

int gc_session_prepare(gc_session *s, const gc_subject *t, const gc_explain_opts *o, gc_err *e)
{
    int layers[GC_MAX_LAYERS];
    int n = gc_session_layers(s, t, o, layers, e);
    if (n < 0) return -1;
    for (int j = 0; j < n; ++j)
        if (reserve(s, layers[j], o->method, e)) return -1;
    return 0;
}

/* The map of layer li into s->map: one backward pass from the seed at
 * `score` when the method reads gradients, then the method's kernel. */
static int explain_layer(gc_session *s, int score, int li, gc_method method, gc_err *e)
{
    const layer *l = &s->net->layers[li];
    if (reserve(s, li, method, e)) return -1;
    if (gc_method_get(method)->needs_grad && gc_backprop(&s->ctx, score, s->seed, 0, 0, li, e)) return -1;
    size_t K = (size_t)l->out_c, H = (size_t)l->out_h, W = (size_t)l->out_w;
    if (gc_cam_compute(method, l->output, l->delta, K, H, W, s->weights, s->map, s->work))
        return gc_fail(e, "layer %d: activations or gradients are not finite (NaN/Inf): check the weights", li);
    return 0;
}

int gc_session_explain_target(gc_session *s, const gc_subject *t, const gc_explain_opts *o, gc_map *out, gc_err *e)
{
    network *net = s->net;
    int score = gc_subject_score_layer(s, t), layers[GC_MAX_LAYERS];
    size_t ns = (size_t)net->layers[score].outputs;
    assert(ns <= s->cap_seed);
    if (o->counterfactual && !gc_method_get(o->method)->needs_grad)
        return gc_fail(e, "-counterfactual needs gradients; %s uses none", gc_method_name(o->method));
    int nl = gc_session_layers(s, t, o, layers, e);
    if (nl < 0) return -1;

    /* The seed d score / d output[score]: a one-hot at the class logit, or
     * the box's seed through its head's activations (gc_det_seed). A
     * counterfactual map uses -dy^c/dA (the paper negates the gradients); the
     * backward pass is linear in its seed, so negating the seed does exactly
     * that, for classes and boxes alike. */
    int rc = 0;
    if (t->det) rc = gc_det_seed(net, t->det, o->target, s->seed, NULL, NULL, e);
    else if (t->cls < 0 || (size_t)t->cls >= ns)
        rc = gc_fail(e, "class %d is out of range: the network has %zu classes", t->cls, ns);
    else s->seed[t->cls] = 1.0f;
    if (!rc && o->counterfactual)
        for (size_t i = 0; i < ns; ++i) s->seed[i] = -s->seed[i];

    size_t npx = (size_t)net->w * (size_t)net->h;
    for (int j = 0; j < nl && !rc; ++j) {
        if ((rc = explain_layer(s, score, layers[j], o->method, e))) break;
        if (nl == 1) break;
        /* several layers: each normalised, upsampled to the input, averaged */
        const layer *l = &net->layers[layers[j]];
        size_t hw = (size_t)l->out_w * (size_t)l->out_h;
        memcpy(s->norm, s->map, hw * sizeof *s->norm);
        gc_normalize_minmax(s->norm, hw);
        gc_resize_bilinear(s->norm, l->out_w, l->out_h, s->up, net->w, net->h);
        if (j == 0) memset(s->fused, 0, npx * sizeof *s->fused);
        for (size_t p = 0; p < npx; ++p) s->fused[p] += s->up[p] / (float)nl;
    }
    memset(s->seed, 0, ns * sizeof *s->seed);
    if (rc) return -1;

    const layer *l0 = &net->layers[layers[0]];
    memset(out, 0, sizeof *out);
    out->layer = layers[0];
    out->k = l0->out_c;
    memcpy(out->layers, layers, (size_t)nl * sizeof *layers);
    out->nlayers = nl;
    out->data = nl == 1 ? s->map : s->fused;
    out->w = nl == 1 ? l0->out_w : net->w;
    out->h = nl == 1 ? l0->out_h : net->h;
    size_t am = 0;
    out->max = gc_map_max(out->data, (size_t)out->w * (size_t)out->h, &am);
    out->all_zero = !(out->max > 0.0f);
    out->argmax_x = (int)(am % (size_t)out->w);
    out->argmax_y = (int)(am / (size_t)out->w);
    return 0;
}

void gc_session_heat_raw(gc_session *s, const float *map, int w, int h)
{
    gc_map_to_image(map, w, h, &s->lb, s->heat);
}

void gc_session_heat(gc_session *s, const gc_map *m)
{
    gc_session_heat_raw(s, m->data, m->w, m->h);
    gc_normalize_minmax(s->heat, (size_t)s->orig.w * (size_t)s->orig.h);
}

unsigned char *gc_session_overlay(gc_session *s, const gc_explain_opts *o)
{
    gc_overlay(s->orig.data, s->orig.w, s->orig.h, s->heat, o->alpha, s->rgb);
    return s->rgb;
}

static int remember(gc_session *s, const char *path, gc_err *e)
{
    if (s->nwritten == s->cap_written) {
        int cap = s->cap_written ? 2 * s->cap_written : 16;
        char **p = realloc(s->written, (size_t)cap * sizeof *p);
        if (!p) return gc_fail(e, "out of memory before writing %s", path);
        s->written = p;
        s->cap_written = cap;
    }
    if (!(s->written[s->nwritten] = strdup(path))) return gc_fail(e, "out of memory before writing %s", path);
    ++s->nwritten;
    return 0;
}

/* The path is remembered before the file exists, so a failure to remember
 * can never leave a file that the rollback does not know. */
int gc_session_write_png(gc_session *s, const char *path, int w, int h, const unsigned char *rgb, gc_err *e)
{
    if (remember(s, path, e)) return -1;
    if (gc_write_png(path, w, h, rgb, e)) return free(s->written[--s->nwritten]), -1;
    return 0;
}

int gc_session_write_npy(gc_session *s, const char *path, const gc_map *m, gc_err *e)
{
    if (remember(s, path, e)) return -1;
    if (gc_write_npy(path, m->data, (size_t)m->h, (size_t)m->w, e)) return free(s->written[--s->nwritten]), -1;
    return 0;
}

void gc_session_rollback(gc_session *s)
{
    for (int i = 0; i < s->nwritten; ++i) {
        unlink(s->written[i]);
        free(s->written[i]);
    }
    s->nwritten = 0;
}

void gc_session_close(gc_session *s)
{
    if (s->ctx.net) gc_ctx_free(&s->ctx);
    if (s->input.data && s->input.data != s->orig.data) free_image(s->input);
    if (s->orig.data) free_image(s->orig);
    for (int i = 0; i < s->nwritten; ++i) free(s->written[i]);
    free(s->written);
    free(s->seed);
    free(s->fused);
    free(s->up);
    free(s->norm);
    free(s->map);
    free(s->weights);
    free(s->work);
    free(s->heat);
    free(s->rgb);
    memset(s, 0, sizeof *s);
}
