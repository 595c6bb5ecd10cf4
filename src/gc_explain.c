#include "gc_explain.h"
#include "gc_writer.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "gc_backward.h"
#include "gc_dnimage.h"
#include "gc_image.h"
#include "gc_prefetch.h"
#include "gc_sheet.h"


gc_result *gc_explain_results_add(gc_results *rs)
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

void gc_explain_results_free(gc_results *rs)
{
    free(rs->r);
    memset(rs, 0, sizeof *rs);
}


static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* gc_explain_open on a session already zeroed (but for what the owner set:
 * writer, prefetch). */
static int open_zeroed(gc_session *s, network *net, const char *image_path, gc_err *e)
{
    s->net = net;
    if (gc_hooks_init(&s->ctx, net, e)) return -1;
    s->detector = gc_darknet_is_detector(net);
    /* the seed holds the largest score layer's output: every head, or the logits */
    size_t most = 0;
    if (s->detector) {
        if (gc_detect_check(net, e)) return -1;
        for (int i = 0; i < net->n; ++i)
            if (gc_darknet_is_head(&net->layers[i]) && (size_t)net->layers[i].outputs > most) most = (size_t)net->layers[i].outputs;
    } else {
        if (gc_classify_find(net, &s->cl, e)) return -1;
        most = (size_t)net->layers[s->cl.logit_layer].outputs;
    }
    size_t npx = (size_t)net->w * (size_t)net->h;
    size_t nin = (size_t)net->inputs;
    s->seed = calloc(most ? most : 1, sizeof *s->seed);
    s->fused = malloc((npx ? npx : 1) * sizeof *s->fused);
    s->up = malloc((npx ? npx : 1) * sizeof *s->up);
    s->sal = malloc((npx ? npx : 1) * sizeof *s->sal);
    s->grad_in = malloc((nin ? nin : 1) * sizeof *s->grad_in);
    s->image = malloc((nin ? nin : 1) * sizeof *s->image);
    s->masked = malloc((nin ? nin : 1) * sizeof *s->masked);
    if (!s->seed || !s->fused || !s->up || !s->sal || !s->grad_in || !s->image || !s->masked)
        return gc_fail(e, "out of memory for the network's score and map buffers");
    s->cap_seed = most;
    gc_hooks_install(&s->ctx);
    return image_path ? gc_explain_next(s, image_path, e) : 0;
}

int gc_explain_open(gc_session *s, network *net, const char *image_path, gc_err *e)
{
    memset(s, 0, sizeof *s);
    return open_zeroed(s, net, image_path, e);
}

int gc_explain_load(gc_session *s, const char *image_path, image *orig, unsigned char **rgb, image *input, gc_err *e)
{
    unsigned char *px = NULL;
    int w = 0, h = 0;
    int rc = gc_prefetch_take(s->prefetch, image_path, &px, &w, &h, e);
    if (rc == 1) rc = gc_image_load_rgb(image_path, &px, &w, &h, e);
    if (rc) return -1;
    if (gc_image_fits_net(image_path, w, h, s->net->w, s->net->h, s->net->c, e)) {
        free(px);
        return -1;
    }
    /* The network's input straight from the bytes: Darknet's letterbox of
     * its float image, bit for bit, without that image (576 MB for an
     * 8000x6000 photo, held for the whole run before). An image of the
     * network's size letterboxes to itself (Darknet's resize_image at scale
     * 1 takes each pixel with weight 1, its neighbour with 0, and the embed
     * covers the whole canvas): its float image as it is. */
    image in;
    int ok = w == s->net->w && h == s->net->h ? gc_dnimage_from_rgb(px, w, h, &in)
                                              : gc_dnimage_letterbox_rgb(px, w, h, s->net->w, s->net->h, &in);
    if (!ok) {
        free(px);
        return gc_fail(e, "cannot load image %s: out of memory", image_path); /* gc_image_load's words */
    }
    *orig = (image){w, h, 3, NULL};
    *rgb = px;
    *input = in;
    return 0;
}

void gc_explain_image_free(image *orig, unsigned char **rgb, image *input)
{
    if (input->data && input->data != orig->data) free_image(*input);
    if (orig->data) free_image(*orig);
    free(*rgb);
    *rgb = NULL;
    memset(orig, 0, sizeof *orig);
    memset(input, 0, sizeof *input);
}

struct gc_shared_image {
    atomic_int refs;
    unsigned char *data;
};

const unsigned char *gc_explain_share_image(gc_session *s, struct gc_shared_image **hold)
{
    if (!s->orig_shared) {
        struct gc_shared_image *h = malloc(sizeof *h);
        if (!h) return NULL;
        atomic_init(&h->refs, 1); /* the session's */
        h->data = s->orig_rgb;
        s->orig_shared = h;
    }
    atomic_fetch_add(&s->orig_shared->refs, 1);
    *hold = s->orig_shared;
    return s->orig_rgb;
}

void gc_explain_unshare_image(struct gc_shared_image *hold)
{
    if (!hold || atomic_fetch_sub(&hold->refs, 1) != 1) return;
    free(hold->data);
    free(hold);
}

/* gc_explain_image_free of s's image, which may be shared. */
static void orig_free(gc_session *s)
{
    if (s->orig_shared) {
        gc_explain_unshare_image(s->orig_shared);
        s->orig_shared = NULL;
        s->orig_rgb = NULL;
    }
    gc_explain_image_free(&s->orig, &s->orig_rgb, &s->input);
}

int gc_explain_next(gc_session *s, const char *image_path, gc_err *e)
{
    image im, in;
    unsigned char *bytes = NULL;
    int ready = s->ready_path && !strcmp(s->ready_path, image_path);
    if (ready) {
        /* decoded, letterboxed and through the forward in a batch: the
         * owner points the network's layers at its activations */
        im = s->ready_orig;
        bytes = s->ready_rgb;
        in = s->ready_input;
        s->ready_path = NULL;
        s->ready_rgb = NULL;
        memset(&s->ready_orig, 0, sizeof s->ready_orig);
        memset(&s->ready_input, 0, sizeof s->ready_input);
    } else if (gc_explain_load(s, image_path, &im, &bytes, &in, e)) {
        return -1;
    }
    orig_free(s);
    s->orig = im;
    s->orig_rgb = bytes;
    s->input = in;
    s->lb = gc_render_letterbox(s->orig.w, s->orig.h, s->net->w, s->net->h);
    int wx, wy, ww, wh;
    gc_darknet_input_window(s->net, &wx, &wy, &ww, &wh);
    gc_render_letterbox_window(&s->lb, wx, wy, ww, wh);
    size_t npx = (size_t)s->orig.w * (size_t)s->orig.h;
    if (npx > s->cap_px) {
        float *heat = realloc(s->heat, npx * sizeof *s->heat);
        if (heat) s->heat = heat;
        unsigned char *rgb = heat ? realloc(s->rgb, npx * 3) : NULL;
        if (rgb) s->rgb = rgb;
        float *img3 = rgb ? realloc(s->img3, npx * 3 * sizeof *img3) : NULL;
        if (img3) s->img3 = img3;
        if (!heat || !rgb || !img3) return gc_fail(e, "out of memory for a %dx%d image", s->orig.w, s->orig.h);
        s->cap_px = npx;
    }
    s->image_valid = 0;
    s->cur_input = s->input.data;
    if (ready) return 0;
    double t0 = now_s();
    gc_hooks_forward(&s->ctx, s->input.data);
    double dt = now_s() - t0;
    s->explain_seconds += dt;
    s->pass_seconds += dt;
    return 0;
}

int gc_explain_save_parse(const char *s, int *nosave, gc_err *e)
{
    static const struct {
        const char *word;
        int bits;
    } words[] = {{"png", GC_NOSAVE_PNG}, {"npy", GC_NOSAVE_NPY}, {"summary", GC_NOSAVE_SUMMARY},
                 {"all", GC_NOSAVE_ALL}, {"none", 0}};
    static const char *const expected = "expected png, npy, summary separated by commas, or all, or none";
    if (!s || !*s) return gc_fail(e, "-save %s: %s", s ? s : "", expected);
    int saved = 0, seen = 0;
    for (const char *p = s;;) {
        size_t n = strcspn(p, ",");
        int k = -1;
        for (int i = 0; i < (int)(sizeof words / sizeof *words); ++i)
            if (strlen(words[i].word) == n && !strncasecmp(p, words[i].word, n)) k = i; /* any case, as -method */
        if (k < 0) return gc_fail(e, "-save %s: %s", s, expected);
        /* as -layer 2,0,2: it had been told the generic "expected png, npy, ..." */
        if (seen & (1 << k)) return gc_fail(e, "-save %s: %s is given twice", s, words[k].word);
        seen |= 1 << k;
        saved |= words[k].bits;
        if (!p[n]) break;
        p += n + 1;
    }
    if ((seen & (1 << 3 | 1 << 4)) && seen != 1 << 3 && seen != 1 << 4) /* all, none: alone */
        return gc_fail(e, "-save %s: %s", s, expected);
    *nosave = GC_NOSAVE_ALL & ~saved;
    return 0;
}

int gc_explain_writes_files(const gc_explain_opts *ex, int detector)
{
    int kinds = GC_NOSAVE_PNG | GC_NOSAVE_NPY | (detector ? GC_NOSAVE_SUMMARY : 0);
    return ex->sheet || (ex->nosave & kinds) != kinds;
}

const char *gc_explain_smooth_name(gc_smooth m)
{
    switch (m) {
    case GC_SMOOTH_NONE: return "none";
    case GC_SMOOTH_AUG: return "aug";
    case GC_SMOOTH_EIGEN: return "eigen";
    }
    return "unknown";
}

const char *gc_explain_smooth_suffix(gc_smooth m)
{
    return m == GC_SMOOTH_AUG ? " smooth aug" : m == GC_SMOOTH_EIGEN ? " smooth eigen" : "";
}

int gc_explain_smooth_parse(const char *str, gc_smooth *out)
{
    for (int m = GC_SMOOTH_NONE; m <= GC_SMOOTH_EIGEN; ++m)
        if (str && !strcasecmp(str, gc_explain_smooth_name((gc_smooth)m))) {
            *out = (gc_smooth)m;
            return 0;
        }
    return -1;
}

/* Grows the buffers for a map of layer li (grow-only). */
static int reserve(gc_session *s, int li, gc_method method, gc_smooth smooth, gc_err *e)
{
    const layer *l = &s->net->layers[li];
    size_t hw = (size_t)l->out_w * (size_t)l->out_h, k = (size_t)l->out_c;
    size_t work = smooth == GC_SMOOTH_EIGEN ? gc_cam_eigen_work_size(method, k, (size_t)l->out_h, (size_t)l->out_w)
                                            : gc_cam_work_size(method, k, (size_t)l->out_h, (size_t)l->out_w);
    if (work == SIZE_MAX) return gc_fail(e, "layer %d: %zu channels are too many for %s", li, k, gc_cam_method_name(method));
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
        if (p) s->weights = p;
        float *q = p ? realloc(s->chan, (k + 1) * sizeof *q) : NULL;
        if (q) s->chan = q;
        if (!p || !q) return gc_fail(e, "out of memory for %zu channel weights", k);
        s->cap_k = k;
    }
    if (gc_cam_method_get(method)->extra_forward && hw * k > s->cap_acts) {
        float *p = realloc(s->acts, hw * k * sizeof *p);
        if (!p) return gc_fail(e, "out of memory for layer %d's activations", li);
        s->acts = p;
        s->cap_acts = hw * k;
    }
    if (work > s->cap_work) {
        float *p = realloc(s->work, work * sizeof *p);
        if (!p) return gc_fail(e, "out of memory for method scratch (%zu floats)", work);
        s->work = p;
        s->cap_work = work;
    }
    return 0;
}

int gc_explain_score_layer(const gc_session *s, const gc_subject *t)
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
 * norm, activation, a route: a concatenation keeps positions, its inputs
 * have the same size). Returns -1 for a layer it cannot follow (global
 * pooling, connected, reorg...): the walk stops there. */
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
    case ROUTE: return r;
    default: return -1;
    }
}

/* The layer the walk goes on to under a: for a route, its first input that
 * is not a [reorg]. A reorg in a concatenation is a passthrough: it brings a
 * finer, shallower layer to the coarse grid (YOLOv2's route -1,-4 lists it
 * first), the walk cannot follow it (support_below), and its output, a
 * 1x1 convolution of the shallow layer in YOLOv2, holds a small part of what
 * the head reads; the other input is the deep branch. */
static int layer_below(const network *net, int a)
{
    const layer *l = &net->layers[a];
    if (l->type != ROUTE) return a - 1;
    if (l->n < 1) return -1;
    for (int i = 0; i < l->n; ++i) {
        int in = l->input_layers[i];
        if (in >= 0 && in < net->n && net->layers[in].type != REORG) return in;
    }
    return l->input_layers[0];
}

/* A detection head's default layers (ODAM-style, Zhao & Chan 2023: where the
 * head's receptive field spreads the box's gradient). Under the head's 1x1
 * score convolution the gradient of one cell's score covers one cell of the
 * layers that feed it (LayerCAM there marks the box's cell and nothing else;
 * README "Detector default layer and method"). So walk down from the score
 * convolution, tracking the half-width r of that gradient (in cells of each
 * layer), and take two layers: the lowest layer whose r is the first value
 * >= 2 (a 5x5 cell support or more), and the lowest of the next group of
 * layers with a larger r >= 4. A concatenating route ends its group (it
 * holds every branch, so it is that group's candidate); the walk goes on
 * into its first input that is not a [reorg] (layer_below), and stops at a
 * layer it cannot follow. A layer under
 * a strided max pool is never taken (its gradient reaches one cell of each
 * pooling window). A head too shallow for r >= 2 gets the lowest layer the
 * walk reached with r >= 1, else the feature layer feeding the score
 * convolution. Returns the count (1 or 2). */
/* Closes a group of consecutive walked layers with the same support r (its
 * lowest layer `low`): the first group with r >= 2 gives the first layer, the
 * next group with a larger r >= 4 the second. */
static void close_group(int r, int low, int *lvl1, int *lvl1_r, int *lvl2)
{
    if (r < 0 || low < 0) return;
    if (*lvl1 < 0 && r >= 2) *lvl1 = low, *lvl1_r = r;
    else if (*lvl1 >= 0 && *lvl2 < 0 && r >= 4 && r > *lvl1_r) *lvl2 = low;
}

static int head_default_layers(const network *net, int head, int *layers)
{
    int score = head_score_layer(net, head);
    int feature = score - 1;
    while (feature > 0 && net->layers[feature].type == DROPOUT) --feature;
    if (feature < 0) feature = 0;
    int a = score, r = 0, group_r = -1, low = -1, lvl1 = -1, lvl1_r = 0, lvl2 = -1, deep = -1;
    while (a > 0 && lvl2 < 0) {
        int rb = support_below(&net->layers[a], r), below = layer_below(net, a);
        if (rb < 0 || below < 0) break;
        const layer *lb = &net->layers[below];
        if (lb->out_w * lb->out_h <= 1) break;
        if (rb != group_r) {
            close_group(group_r, low, &lvl1, &lvl1_r, &lvl2);
            group_r = rb;
            low = -1;
        }
        if (lvl2 >= 0) break;
        /* a strided max pool passes the gradient to one input of each
         * window (its argmax): the layer under it has a sparse gradient,
         * one cell in stride^2, on the same cells in a flat region
         * whatever the weights above. Not a candidate: its group keeps the
         * layers above it, or the pool's output one group up. */
        const layer *al = &net->layers[a];
        if (!(al->type == MAXPOOL && al->stride > 1)) {
            low = below;
            if (rb >= 1) deep = below;
        }
        r = rb;
        a = below;
        /* a concatenating route (it holds every branch) is the lowest layer
         * of its group: the walk goes on below it in a new group */
        if (lb->type == ROUTE && lb->n > 1) {
            close_group(group_r, low, &lvl1, &lvl1_r, &lvl2);
            group_r = -2;
            low = -1;
        }
    }
    if (lvl2 < 0) close_group(group_r, low, &lvl1, &lvl1_r, &lvl2);
    int n = 0;
    if (lvl1 >= 0) layers[n++] = lvl1;
    if (lvl2 >= 0) layers[n++] = lvl2;
    if (n == 0) layers[n++] = deep >= 0 ? deep : feature;
    return n;
}

/* A classifier's logits: the last layer before them with a spatial output
 * (w*h > 1), whatever its type. */
static int classifier_default_layer(const network *net, int before, gc_err *e)
{
    for (int i = before - 1; i >= 0; --i) {
        const layer *l = &net->layers[i];
        if ((long)l->out_w * l->out_h > 1) return i;
    }
    gc_fail(e, "no layer before layer %d has a spatial output (w*h > 1): use -layer", before);
    return -1;
}

int gc_explain_default_layers(const network *net, int score_layer, int *layers, gc_err *e)
{
    assert(score_layer >= 0 && score_layer < net->n);
    if (gc_darknet_is_head(&net->layers[score_layer])) return head_default_layers(net, score_layer, layers);
    int li = classifier_default_layer(net, score_layer, e);
    if (li < 0) return -1;
    layers[0] = li;
    return 1;
}

/* The layer under `i` that feeds it, skipping [dropout] (an identity that
 * aliases its input); -1 if none. */
static int below(const network *net, int i)
{
    int j = i - 1;
    while (j >= 0 && net->layers[j].type == DROPOUT) --j;
    return j;
}

/* CAM's architecture (Zhou et al.): the logits are global average pooling
 * followed by a linear layer ([connected], or a 1x1 convolution on the 1x1
 * pooled map), or, equivalently, a linear 1x1 convolution followed by global
 * average pooling. Finds that linear layer and the feature layer under it. */
static int cam_structure(const network *net, int score, int *linear, int *feat, gc_err *e)
{
    const layer *L = net->layers;
    const layer *sl = &L[score];
    int lin = -1, gap = -1, f = -1;
    if (sl->type == CONNECTED || (sl->type == CONVOLUTIONAL && sl->size == 1 && sl->w == 1 && sl->h == 1)) {
        lin = score;
        gap = below(net, score);
        if (gap < 0 || L[gap].type != AVGPOOL) gap = -1;
        else f = below(net, gap);
    } else if (sl->type == AVGPOOL) {
        gap = score;
        lin = below(net, score);
        if (lin < 0 || L[lin].type != CONVOLUTIONAL || L[lin].size != 1 || L[lin].stride != 1) lin = -1;
        else f = below(net, lin);
    }
    if (lin < 0 || gap < 0 || f < 0)
        return gc_fail(e, "-method cam needs a classifier whose logits (layer %d, %s) are global average pooling "
                          "followed by a linear or 1x1 layer (or a 1x1 convolution followed by global average pooling)",
                       score, gc_darknet_type_name(sl->type));
    const layer *ll = &L[lin];
    if (ll->activation != LINEAR || (ll->type == CONVOLUTIONAL && ll->groups != 1))
        return gc_fail(e, "-method cam: layer %d (%s) is not a plain linear layer (activation or groups)", lin,
                       gc_darknet_type_name(ll->type));
    *linear = lin;
    *feat = f;
    return 0;
}

/* w[k] = the class's weight on feature channel k (batch norm folded in). */
static int cam_class_weights(const gc_session *s, const gc_subject *t, int score, int li, float *w, gc_err *e)
{
    const network *net = s->net;
    int lin, feat;
    if (t->det) return gc_fail(e, "-method cam explains classifier classes; detection heads have no CAM weights");
    if (cam_structure(net, score, &lin, &feat, e)) return -1;
    if (li != feat)
        return gc_fail(e, "-method cam explains layer %d (the features under the global average pooling), not %d",
                       feat, li);
    const layer *ll = &net->layers[lin];
    int K = net->layers[feat].out_c, in = ll->type == CONNECTED ? ll->inputs : ll->c;
    if (in != K) return gc_fail(e, "-method cam: layer %d reads %d values, layer %d has %d channels", lin, in, feat, K);
    float f = 1.0f;
    if (ll->batch_normalize) f = (float)(ll->scales[t->cls] / (sqrt(ll->rolling_variance[t->cls]) + .000001f));
    for (int k = 0; k < K; ++k) w[k] = ll->weights[(size_t)t->cls * K + k] * f;
    return 0;
}

int gc_explain_check_heads(const network *net, const gc_explain_opts *o, gc_err *e)
{
    if (o->method == GC_METHOD_CAM)
        return gc_fail(e, "-method cam explains classifier classes; detection heads have no CAM weights");
    unsigned char *reach = NULL;
    int rc = 0;
    for (int j = 0; j < o->nlayers && rc == 0; ++j) {
        int req = o->layers[j];
        if (req < 0 || req >= net->n) continue; /* relative, or out of range: named per box */
        if (!reach && !(reach = malloc((size_t)net->n))) return gc_fail(e, "out of memory");
        /* reach[i]: layer i's output depends on layer req's */
        memset(reach, 0, (size_t)net->n);
        reach[req] = 1;
        for (int i = req + 1; i < net->n; ++i) {
            int k = gc_darknet_layer_inputs(net, i, NULL, 0), in[k > 0 ? k : 1]; /* a route has any number */
            gc_darknet_layer_inputs(net, i, in, k);
            for (int q = 0; q < k; ++q)
                if (in[q] >= 0 && in[q] < net->n && reach[in[q]]) reach[i] = 1;
        }
        for (int h = 0; h < net->n && rc == 0; ++h)
            if (gc_darknet_is_head(&net->layers[h]) && !reach[h])
                rc = gc_fail(e, "-layer %d does not feed the %s head at layer %d, whose boxes are explained at the same "
                                "layers: give layers that feed every head, or count down from each box's head (-layer -5)",
                             req, gc_darknet_type_name(net->layers[h].type), h);
    }
    free(reach);
    /* an index and a count from the head naming one layer at some head: said
     * once, before any image (gc_explain_layers would fail every such box) */
    for (int h = 0; h < net->n && rc == 0; ++h) {
        if (!gc_darknet_is_head(&net->layers[h])) continue;
        for (int j = 0; j < o->nlayers && rc == 0; ++j)
            for (int k = 0; k < j && rc == 0; ++k) {
                int a = o->layers[k] < 0 ? h + o->layers[k] : o->layers[k];
                int b = o->layers[j] < 0 ? h + o->layers[j] : o->layers[j];
                if (a == b)
                    rc = gc_fail(e, "-layer %d and %d both name layer %d, for the %s head at layer %d: give it once",
                                 o->layers[k], o->layers[j], a, gc_darknet_type_name(net->layers[h].type), h);
            }
    }
    return rc;
}

int gc_explain_check_all(network *net, const gc_explain_opts *o, gc_err *e)
{
    gc_session s;
    int rc = gc_explain_open(&s, net, NULL, e);
    if (rc == 0 && !s.detector) {
        rc = gc_explain_prepare(&s, &(gc_subject){0, NULL}, o, e);
    } else if (rc == 0) {
        int fit = 0, unfit = 0;
        gc_err first = {0}, he;
        for (int i = 0; i < net->n; ++i) {
            if (!gc_darknet_is_head(&net->layers[i])) continue;
            gc_det d = {.head = i};
            if (gc_explain_prepare(&s, &(gc_subject){0, &d}, o, &he) == 0) ++fit;
            else if (!unfit++) first = he;
        }
        if (!fit && unfit) {
            *e = first;
            rc = -1;
        }
    }
    gc_explain_close(&s);
    return rc;
}

int gc_explain_layers(gc_session *s, const gc_subject *t, const gc_explain_opts *o, int *layers, gc_err *e)
{
    const network *net = s->net;
    int score = gc_explain_score_layer(s, t), n;
    const char *what = t->det ? "the box's head" : "the logit layer";
    if (!o->nlayers && gc_cam_method_get(o->method)->g == GC_G_CLASS_WEIGHTS) {
        int lin;
        if (t->det) return gc_fail(e, "-method cam explains classifier classes; detection heads have no CAM weights");
        if (cam_structure(net, score, &lin, &layers[0], e)) return -1;
        n = 1;
    } else if (!o->nlayers) {
        if ((n = gc_explain_default_layers(net, score, layers, e)) < 0) return -1;
    } else {
        n = o->nlayers;
        assert(n <= GC_MAX_LAYERS);
        for (int j = 0; j < n; ++j) {
            int req = o->layers[j], idx = req < 0 ? score + req : req;
            if (idx < 0 || idx >= score)
                return gc_fail(e, "-layer %d is out of range for %s (layer %d): explainable layers are 0..%d (or -1..-%d)",
                               req, what, score, score - 1, score);
            for (int k = 0; k < j; ++k) /* by two names (7 and -1): it fused a layer with itself */
                if (layers[k] == idx)
                    return gc_fail(e, "-layer %d and %d both name layer %d, for %s (layer %d): give it once",
                                   o->layers[k], req, idx, what, score);
            layers[j] = idx;
        }
    }
    for (int j = 0; j < n; ++j) {
        gc_err pe;
        if (gc_hooks_path(&s->ctx, layers[j], score, &pe))
            return gc_fail(e, "-layer %d, for %s (layer %d): %s", layers[j], what, score, pe.msg);
    }
    return n;
}

int gc_explain_prepare(gc_session *s, const gc_subject *t, const gc_explain_opts *o, gc_err *e)
{
    int layers[GC_MAX_LAYERS];
    int n = gc_explain_layers(s, t, o, layers, e);
    if (n < 0) return -1;
    const gc_method_info *mi = gc_cam_method_get(o->method);
    for (int j = 0; j < n; ++j) {
        if (reserve(s, layers[j], o->method, o->smooth, e)) return -1;
        if (mi->g == GC_G_CLASS_WEIGHTS &&
            cam_class_weights(s, t, gc_explain_score_layer(s, t), layers[j], s->chan, e))
            return -1;
    }
    if (mi->reaches_input || o->sheet) {
        gc_err pe;
        int score = gc_explain_score_layer(s, t);
        if (gc_hooks_path(&s->ctx, GC_INPUT, score, &pe))
            return gc_fail(e, "%s needs the gradient at the input: %s", o->sheet ? "-sheet" : mi->name, pe.msg);
    }
    return 0;
}

/* The explained score on the network's current state (the head run too):
 * the seed applied to the score layer's output (a class logit) or to a
 * head's input (the box's logit for -target logit and obj: the seed is one
 * there); for -target score, objectness x class probability read off the
 * head's output (the seed there is that score's gradient, and the seed
 * applied to the input a linearisation without its constant, which can be
 * negative: Score-CAM's softmax and Ablation-CAM's drops need the score). */
static double seed_value(const gc_session *s, const gc_subject *t, int score, gc_target target)
{
    if (t->det && target == GC_TARGET_SCORE) return gc_detect_own_score(s->net, t->det);
    const layer *L = s->net->layers;
    /* a [detection] head's softmax class output (what -target logit explains
     * there) read off the head: the seed applied to the head's input is only
     * its linearisation */
    const layer *h = t->det ? &L[t->det->head] : NULL;
    if (h && h->type == DETECTION && h->softmax && target == GC_TARGET_LOGIT)
        return h->output[t->det->cell * h->classes + t->det->cls];
    const float *x = t->det ? L[score - 1].output : L[score].output;
    double v = 0;
    for (int i = 0; i < L[score].outputs; ++i)
        if (s->seed[i] != 0) v += (double)s->seed[i] * x[i];
    return v;
}

/* Score-CAM's scores into s->chan: for each kept channel k of layer li, the
 * explained score on the input multiplied by A^k, bilinearly upsampled to
 * the input and min-max normalised to [0, 1] (upsampled to the window the
 * layers see and normalised there; 0 outside it, which the network does not
 * read). A^k is kept in s->acts (the masked passes overwrite the layer); the
 * image's own forward pass is run again at the end, so the network is left
 * as the session found it. */
static int masked_scores(gc_session *s, const gc_subject *t, int score, int li, int cap, gc_target target,
                         gc_err *e)
{
    network *net = s->net;
    const layer *l = &net->layers[li];
    size_t K = (size_t)l->out_c, HW = (size_t)l->out_w * (size_t)l->out_h;
    size_t npx = (size_t)net->w * (size_t)net->h, C = (size_t)net->c;
    memcpy(s->acts, l->output, K * HW * sizeof *s->acts);
    if (cap <= 0) cap = GC_SCORECAM_CHANNELS;
    size_t keep = (size_t)cap < K ? (size_t)cap : K;
    float *mean = s->weights; /* scratch until the kernel fills the weights */
    for (size_t k = 0; k < K; ++k) {
        double m = 0;
        for (size_t p = 0; p < HW; ++p) m += s->acts[k * HW + p];
        /* -Inf marks a taken channel below, so a channel whose mean is not a
         * number or -Inf (overflowing activations) ranks last instead; the
         * kernel then refuses the non-finite layer. */
        float mk = (float)(m / (double)HW);
        mean[k] = isnan(mk) || mk == -INFINITY ? -FLT_MAX : mk;
        s->chan[k] = -FLT_MAX;
    }
    for (size_t n = 0; n < keep; ++n) {
        size_t k = K;
        for (size_t j = 0; j < K; ++j)
            if (s->chan[j] == -FLT_MAX && mean[j] != -INFINITY && (k == K || mean[j] > mean[k])) k = j;
        assert(k < K);
        mean[k] = -INFINITY; /* taken */
        gc_render_resize(s->acts + k * HW, l->out_w, l->out_h, s->up, s->lb.win_w, s->lb.win_h);
        gc_render_normalize(s->up, (size_t)s->lb.win_w * (size_t)s->lb.win_h);
        gc_render_window_expand(s->up, &s->lb);
        for (size_t c = 0; c < C; ++c)
            for (size_t p = 0; p < npx; ++p) s->masked[c * npx + p] = s->cur_input[c * npx + p] * s->up[p];
        gc_hooks_forward(&s->ctx, s->masked);
        double v = seed_value(s, t, score, target);
        s->chan[k] = isfinite(v) ? (float)v : -FLT_MAX;
    }
    gc_hooks_forward(&s->ctx, s->cur_input);
    (void)e;
    return 0;
}

/* Ablation-CAM's scores into s->chan[0..K]: the explained score with each
 * channel of layer li zeroed (layers li+1..score re-run), then the score
 * itself; the layer and the layers above it are restored afterwards. */
static int ablated_scores(gc_session *s, const gc_subject *t, int score, int li, gc_target target)
{
    layer *l = &s->net->layers[li];
    size_t K = (size_t)l->out_c, HW = (size_t)l->out_w * (size_t)l->out_h;
    s->chan[K] = (float)seed_value(s, t, score, target);
    for (size_t k = 0; k < K; ++k) {
        float *a = l->output + k * HW;
        memcpy(s->acts, a, HW * sizeof *a);
        memset(a, 0, HW * sizeof *a);
        gc_hooks_forward_range(&s->ctx, li + 1, score);
        s->chan[k] = (float)seed_value(s, t, score, target);
        memcpy(a, s->acts, HW * sizeof *a);
    }
    gc_hooks_forward_range(&s->ctx, li + 1, score);
    return 0;
}

/* The map of layer li into s->map: what the method's G holds (one backward
 * pass from the seed at `score` for gradients, CAM's class weights, or
 * Score-CAM's masked forward passes), then the method's kernel. */
/* have_grad: layer li's delta already holds the score's gradient (a pass
 * with stops), no backward pass needed. */
static int explain_layer(gc_session *s, const gc_subject *t, int score, int li, gc_method method,
                         const gc_explain_opts *o, int have_grad, gc_err *e)
{
    const layer *l = &s->net->layers[li];
    const gc_method_info *mi = gc_cam_method_get(method);
    if (reserve(s, li, method, o->smooth, e)) return -1;
    const float *A = l->output, *G = NULL;
    if (mi->needs_grad) {
        if (!have_grad) {
            double t0 = now_s();
            int rc = gc_hooks_backprop(&s->ctx, score, s->seed, 0, 0, li, e);
            s->pass_seconds += now_s() - t0;
            if (rc) return -1;
        }
        G = l->delta;
    } else if (mi->g == GC_G_CLASS_WEIGHTS) {
        if (cam_class_weights(s, t, score, li, s->chan, e)) return -1;
        G = s->chan;
    } else if (mi->g == GC_G_MASKED_SCORES) {
        if (masked_scores(s, t, score, li, o->scorecam_channels, o->target, e)) return -1;
        A = s->acts;
        G = s->chan;
    } else if (mi->g == GC_G_ABLATED_SCORES) {
        ablated_scores(s, t, score, li, o->target);
        G = s->chan;
    }
    size_t K = (size_t)l->out_c, H = (size_t)l->out_h, W = (size_t)l->out_w;
    int rc = o->smooth == GC_SMOOTH_EIGEN ? gc_cam_compute_eigen(method, A, G, K, H, W, s->weights, s->map, s->work)
                                          : gc_cam_compute(method, A, G, K, H, W, s->weights, s->map, s->work);
    if (rc)
        return gc_fail(e, "layer %d: activations or gradients are not finite (NaN/Inf): check the weights", li);
    return 0;
}

/* Layer j of nl into the fused map: its map (s->map) normalised, upsampled
 * to the window the layers see (the network input but for a [crop] net) and
 * averaged in. */
static void fuse_layer(gc_session *s, int li, int j, int nl)
{
    const network *net = s->net;
    size_t npx = (size_t)s->lb.win_w * (size_t)s->lb.win_h;
    const layer *l = &net->layers[li];
    size_t hw = (size_t)l->out_w * (size_t)l->out_h;
    memcpy(s->norm, s->map, hw * sizeof *s->norm);
    gc_render_normalize(s->norm, hw);
    gc_render_resize(s->norm, l->out_w, l->out_h, s->up, s->lb.win_w, s->lb.win_h);
    if (j == 0) memset(s->fused, 0, npx * sizeof *s->fused);
    for (size_t p = 0; p < npx; ++p) s->fused[p] += s->up[p] / (float)nl;
}

/* One backward pass for all of a fused map's layers fits when they are given
 * from the highest down (the fusion's order is the pass's) and each lies on
 * the path from the score to the lowest. Otherwise (a layer beside the
 * lowest one's path, an order the user chose) a pass per layer. */
static int one_pass_fits(gc_session *s, int score, const int *layers, int nl)
{
    if (getenv("GC_PASS_PER_LAYER")) return 0;
    for (int j = 1; j < nl; ++j)
        if (layers[j] >= layers[j - 1]) return 0;
    gc_err ignore;
    for (int j = 0; j < nl - 1; ++j)
        if (gc_hooks_on_path(&s->ctx, score, layers[nl - 1], layers[j], &ignore) != 1) return 0;
    return 1;
}

typedef struct fuse_pass {
    gc_session *s;
    const gc_subject *t;
    const gc_explain_opts *o;
    int score;
    const int *layers;
    int nl, j;
    double map_seconds; /* in the maps, inside the pass */
} fuse_pass;

static int fuse_stop_map(fuse_pass *p, int li, gc_err *e)
{
    assert(p->j < p->nl && p->layers[p->j] == li);
    if (explain_layer(p->s, p->t, p->score, li, p->o->method, p->o, 1, e)) return -1;
    fuse_layer(p->s, li, p->j, p->nl);
    p->j++;
    return 0;
}

static int fuse_stop(void *arg, int li, gc_err *e)
{
    fuse_pass *p = arg;
    double t0 = now_s();
    int rc = fuse_stop_map(p, li, e);
    p->map_seconds += now_s() - t0;
    return rc;
}

/* The saliency max_c |x| of s->image into s->sal, cropped to the window the
 * layers see (the gradient is 0 outside it), so that it covers what every
 * other map covers. */
static void input_saliency(gc_session *s)
{
    gc_cam_input_saliency(s->image, (size_t)s->net->c, (size_t)s->net->w * (size_t)s->net->h, s->sal);
    gc_render_window_crop(s->sal, &s->lb);
}

/* A method that reaches the input: the guided gradient at the network input,
 * combined by the method's input kernel with the layer map (normalised,
 * upsampled to the input: s->up, prepared by the caller) into s->image, and
 * its saliency into s->sal. */
static int explain_input(gc_session *s, int score, gc_method method, gc_err *e)
{
    network *net = s->net;
    size_t npx = (size_t)net->w * (size_t)net->h, C = (size_t)net->c;
    double t0 = now_s();
    int rc = gc_hooks_backprop_input(&s->ctx, score, s->seed, s->cur_input, 1, s->grad_in, e);
    s->pass_seconds += now_s() - t0;
    if (rc) return -1;
    gc_cam_input_compute(method, s->grad_in, gc_cam_method_get(method)->input_cam ? s->up : NULL, C, npx, s->image);
    for (size_t i = 0; i < C * npx; ++i)
        if (!isfinite(s->image[i])) return gc_fail(e, "the input gradient is not finite (NaN/Inf): check the weights");
    input_saliency(s);
    return 0;
}

/* One explanation on the network's current state (no -smooth aug). */
static int explain_once(gc_session *s, const gc_subject *t, const gc_explain_opts *o, gc_map *out, gc_err *e)
{
    network *net = s->net;
    int score = gc_explain_score_layer(s, t), layers[GC_MAX_LAYERS];
    size_t ns = (size_t)net->layers[score].outputs;
    const gc_method_info *mi = gc_cam_method_get(o->method);
    assert(ns <= s->cap_seed);
    s->image_valid = 0;
    if (o->counterfactual && !mi->needs_grad)
        return gc_fail(e, "-counterfactual needs gradients; %s uses none", gc_cam_method_name(o->method));
    int nl = gc_explain_layers(s, t, o, layers, e);
    if (nl < 0) return -1;

    /* The seed d score / d output[score]: a one-hot at the class logit, or
     * the box's seed through its head's activations (gc_detect_seed). A
     * counterfactual map uses -dy^c/dA (the paper negates the gradients); the
     * backward pass is linear in its seed, so negating the seed does exactly
     * that, for classes and boxes alike. */
    int rc = 0;
    if (t->det) rc = gc_detect_seed(net, t->det, o->target, s->seed, NULL, NULL, e);
    else if (t->cls < 0 || (size_t)t->cls >= ns)
        rc = gc_fail(e, "class %d is out of range: the network has %zu classes", t->cls, ns);
    else s->seed[t->cls] = 1.0f;
    if (!rc && o->counterfactual)
        for (size_t i = 0; i < ns; ++i) s->seed[i] = -s->seed[i];

    size_t wpx = (size_t)s->lb.win_w * (size_t)s->lb.win_h;
    int layer_map = gc_cam_method_has_layer_map(o->method);
    if (!rc && layer_map && nl > 1 && mi->needs_grad && one_pass_fits(s, score, layers, nl)) {
        /* one backward pass to the lowest layer, each higher one's map made
         * on the way down (gc_hooks_backprop_stops: the same gradients, bit
         * for bit, as a pass per layer) */
        fuse_pass p = {s, t, o, score, layers, nl, 0, 0};
        for (int j = 0; j < nl && !rc; ++j) rc = reserve(s, layers[j], o->method, o->smooth, e);
        double t0 = now_s();
        if (!rc) rc = gc_hooks_backprop_stops(&s->ctx, score, s->seed, layers[nl - 1], layers, nl - 1, fuse_stop, &p, e);
        s->pass_seconds += now_s() - t0 - p.map_seconds;
        if (!rc) rc = fuse_stop_map(&p, layers[nl - 1], e);
    } else {
        for (int j = 0; j < nl && !rc && layer_map; ++j) {
            if ((rc = explain_layer(s, t, score, layers[j], o->method, o, 0, e))) break;
            if (nl == 1) break;
            fuse_layer(s, layers[j], j, nl);
        }
    }
    const layer *l0 = &net->layers[layers[0]];
    if (!rc && mi->reaches_input) {
        if (mi->input_cam) {
            /* the layer map min-max normalised, then upsampled to the input
             * (pytorch-grad-cam's scale_cam_image order); a fused map is
             * already at the window's size and is normalised there */
            if (nl == 1) {
                size_t hw = (size_t)l0->out_w * (size_t)l0->out_h;
                memcpy(s->norm, s->map, hw * sizeof *s->norm);
                gc_render_normalize(s->norm, hw);
                gc_render_map_to_input(s->norm, l0->out_w, l0->out_h, &s->lb, s->up);
            } else {
                memcpy(s->up, s->fused, wpx * sizeof *s->up);
                gc_render_normalize(s->up, wpx);
                gc_render_window_expand(s->up, &s->lb);
            }
        }
        rc = explain_input(s, score, o->method, e);
    }
    memset(s->seed, 0, ns * sizeof *s->seed);
    if (rc) return -1;

    memset(out, 0, sizeof *out);
    out->layer = layers[0];
    out->k = l0->out_c;
    memcpy(out->layers, layers, (size_t)nl * sizeof *layers);
    out->nlayers = nl;
    out->data = nl == 1 ? s->map : s->fused;
    out->w = nl == 1 ? l0->out_w : s->lb.win_w;
    out->h = nl == 1 ? l0->out_h : s->lb.win_h;
    if (mi->reaches_input) {
        out->data = s->sal;
        out->w = s->lb.win_w;
        out->h = s->lb.win_h;
        out->image = s->image;
        out->image_c = net->c;
        s->image_valid = 1;
    }
    size_t am = 0;
    out->max = gc_cam_map_max(out->data, (size_t)out->w * (size_t)out->h, &am);
    out->all_zero = !(out->max > 0.0f);
    out->argmax_x = (int)(am % (size_t)out->w);
    out->argmax_y = (int)(am / (size_t)out->w);
    return 0;
}

/* Mirrors each row of a w x h plane (c planes), in place. */
static void flip_rows(float *x, int w, int h, int c)
{
    for (int k = 0; k < c; ++k)
        for (int y = 0; y < h; ++y) {
            float *r = x + ((size_t)k * h + y) * w;
            for (int a = 0, b = w - 1; a < b; ++a, --b) {
                float tmp = r[a];
                r[a] = r[b];
                r[b] = tmp;
            }
        }
}

/* -smooth aug (pytorch-grad-cam's aug_smooth: ttach's horizontal flip and
 * Multiply(0.9, 1, 1.1)): the target explained on 6 versions of the
 * network input, each map (and input-level result) flipped back to the
 * image's orientation and averaged. A box is explained at its mirrored cell
 * (same anchor and class) on the flipped input. The image's own forward pass
 * is run again afterwards. */
static int explain_aug(gc_session *s, const gc_subject *t, const gc_explain_opts *o, gc_map *out, gc_err *e)
{
    static const float factors[3] = {0.9f, 1.0f, 1.1f};
    network *net = s->net;
    size_t nin = (size_t)net->inputs;
    gc_explain_opts one = *o;
    one.smooth = GC_SMOOTH_NONE;
    int n = 0, rc = 0;
    size_t mn = 0;
    for (int flip = 0; flip < 2 && !rc; ++flip)
        for (int f = 0; f < 3 && !rc; ++f) {
            if (!s->aug_in && !(s->aug_in = malloc(nin * sizeof *s->aug_in))) {
                rc = gc_fail(e, "out of memory for -smooth aug");
                break;
            }
            for (size_t i = 0; i < nin; ++i) s->aug_in[i] = s->input.data[i] * factors[f];
            if (flip) flip_rows(s->aug_in, net->w, net->h, net->c);
            s->cur_input = s->aug_in;
            gc_hooks_forward(&s->ctx, s->aug_in);
            gc_det d2;
            gc_subject t2 = *t;
            if (flip && t->det) {
                int hw = net->layers[t->det->head].w;
                d2 = *t->det;
                d2.cell = (d2.cell / hw) * hw + (hw - 1 - d2.cell % hw);
                t2.det = &d2;
            }
            if ((rc = explain_once(s, &t2, &one, out, e))) break;
            mn = (size_t)out->w * (size_t)out->h;
            if (mn > s->cap_acc || nin > s->cap_acc) {
                size_t cap = mn > nin ? mn : nin;
                float *a = realloc(s->acc_map, cap * sizeof *a);
                if (a) s->acc_map = a;
                float *b = a ? realloc(s->acc_img, cap * sizeof *b) : NULL;
                if (b) s->acc_img = b;
                if (!a || !b) {
                    rc = gc_fail(e, "out of memory for -smooth aug");
                    break;
                }
                s->cap_acc = cap;
            }
            /* the session's own buffers: flipped back in place */
            float *map = (float *)out->data, *img = (float *)out->image;
            if (flip) {
                flip_rows(map, out->w, out->h, 1);
                if (img) flip_rows(img, net->w, net->h, out->image_c);
            }
            if (n == 0) {
                memset(s->acc_map, 0, mn * sizeof *s->acc_map);
                memset(s->acc_img, 0, nin * sizeof *s->acc_img);
            }
            for (size_t p = 0; p < mn; ++p) s->acc_map[p] += map[p] / 6.0f;
            if (img)
                for (size_t i = 0; i < nin; ++i) s->acc_img[i] += img[i] / 6.0f;
            ++n;
        }
    s->cur_input = s->input.data;
    gc_hooks_forward(&s->ctx, s->input.data);
    if (rc) return -1;
    float *map = (float *)out->data;
    memcpy(map, s->acc_map, mn * sizeof *map);
    if (out->image) {
        memcpy(s->image, s->acc_img, nin * sizeof *s->image);
        input_saliency(s);
    }
    size_t am = 0;
    out->max = gc_cam_map_max(out->data, mn, &am);
    out->all_zero = !(out->max > 0.0f);
    out->argmax_x = (int)(am % (size_t)out->w);
    out->argmax_y = (int)(am / (size_t)out->w);
    return 0;
}

int gc_explain_target(gc_session *s, const gc_subject *t, const gc_explain_opts *o, gc_map *out, gc_err *e)
{
    double t0 = now_s();
    int rc = o->smooth == GC_SMOOTH_AUG ? explain_aug(s, t, o, out, e) : explain_once(s, t, o, out, e);
    s->explain_seconds += now_s() - t0;
    return rc;
}

void gc_explain_heat_raw(gc_session *s, const float *map, int w, int h)
{
    gc_render_map_to_image(map, w, h, &s->lb, s->heat);
}

void gc_explain_heat(gc_session *s, const gc_map *m)
{
    gc_explain_heat_raw(s, m->data, m->w, m->h);
    gc_render_normalize(s->heat, (size_t)s->orig.w * (size_t)s->orig.h);
}

/* s->image (the network input's planes) on the original image, planar,
 * into s->img3: each plane (the whole input) through the inverse letterbox. */
static void image_to_orig(gc_session *s, const float *image, int C)
{
    size_t npx = (size_t)s->net->w * (size_t)s->net->h, opx = (size_t)s->orig.w * (size_t)s->orig.h;
    assert(C <= 3);
    for (int c = 0; c < C; ++c) gc_render_input_to_image(image + c * npx, &s->lb, s->img3 + c * opx);
}

const float *gc_explain_gradient_image(gc_session *s, const gc_map *m)
{
    if (!m->image || m->image_c != 3) return NULL;
    size_t opx = (size_t)s->orig.w * (size_t)s->orig.h;
    image_to_orig(s, m->image, 3);
    gc_sheet_gradient_rgb(s->img3, s->orig.w, s->orig.h, s->rgb);
    for (size_t p = 0; p < opx; ++p)
        for (int c = 0; c < 3; ++c) s->img3[(size_t)c * opx + p] = s->rgb[p * 3 + (size_t)c] / 255.0f;
    return s->img3;
}

unsigned char *gc_explain_overlay(gc_session *s, const gc_explain_opts *o)
{
    if (gc_cam_method_get(o->method)->reaches_input && s->image_valid && s->net->c == 3) {
        image_to_orig(s, s->image, 3);
        gc_sheet_gradient_rgb(s->img3, s->orig.w, s->orig.h, s->rgb);
        return s->rgb;
    }
    gc_render_overlay_px(gc_pixels_bytes(s->orig_rgb), s->orig.w, s->orig.h, s->heat, o->alpha, s->rgb);
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
static void pool_run(void *ctx, size_t count, size_t cost, void (*fn)(void *, size_t, size_t), void *arg)
{
    gc_pool_for(ctx, count, cost, fn, arg);
}

gc_png_par gc_explain_par(gc_session *s)
{
    gc_png_par par = {pool_run, s->ctx.fwd.pool_ready ? &s->ctx.fwd.pool : NULL};
    if (!par.ctx) par.run = NULL;
    return par;
}

int gc_explain_write_png(gc_session *s, const char *path, int w, int h, const unsigned char *rgb, gc_err *e)
{
    if (remember(s, path, e)) return -1;
    if (s->writer) {
        if (gc_writer_put_png(s->writer, path, w, h, rgb, e)) return free(s->written[--s->nwritten]), -1;
        return 0;
    }
    /* the forward's threads, idle between passes, encode the PNG's blocks */
    gc_png_par par = {pool_run, s->ctx.fwd.pool_ready ? &s->ctx.fwd.pool : NULL};
    if (gc_image_write_png_par(path, w, h, rgb, par.ctx ? &par : NULL, e)) return free(s->written[--s->nwritten]), -1;
    return 0;
}

int gc_explain_write_png_owned(gc_session *s, const char *path, int w, int h, unsigned char *rgb, gc_err *e)
{
    if (!s->writer) {
        int rc = gc_explain_write_png(s, path, w, h, rgb, e);
        free(rgb);
        return rc;
    }
    if (remember(s, path, e)) return free(rgb), -1;
    if (gc_writer_put_png_owned(s->writer, path, w, h, rgb, e)) return free(s->written[--s->nwritten]), -1;
    return 0;
}

int gc_explain_write_drawn(gc_session *s, const char *path, gc_writer_draw_fn draw, void *arg, size_t bytes,
                           gc_err *e)
{
    assert(s->writer);
    if (!path) return gc_writer_put_draw(s->writer, NULL, draw, arg, bytes, e);
    if (remember(s, path, e)) {
        int w, h;
        gc_err ignored;
        draw(arg, &w, &h, NULL, &ignored);
        return -1;
    }
    if (gc_writer_put_draw(s->writer, path, draw, arg, bytes, e)) return free(s->written[--s->nwritten]), -1;
    return 0;
}

/* depth 0: (rows, cols), else (rows, cols, depth); queued on s->writer when set */
static int write_npy(gc_session *s, const char *path, const float *data, size_t rows, size_t cols, size_t depth,
                     gc_err *e)
{
    if (!s->writer)
        return depth ? gc_image_write_npy3(path, data, rows, cols, depth, e) : gc_image_write_npy(path, data, rows, cols, e);
    unsigned char *buf;
    size_t len;
    if (gc_image_npy_bytes(path, data, rows, cols, depth, &buf, &len, e)) return -1;
    return gc_writer_put_file(s->writer, path, buf, len, e);
}

int gc_explain_write_npy(gc_session *s, const char *path, const gc_map *m, gc_err *e)
{
    if (remember(s, path, e)) return -1;
    int rc;
    if (m->image) {
        /* (H, W, C) at the original image's size */
        int C = m->image_c;
        size_t opx = (size_t)s->orig.w * (size_t)s->orig.h;
        float *hwc = C >= 1 && C <= 3 ? malloc(opx * (size_t)C * sizeof *hwc) : NULL;
        if (C < 1 || C > 3) rc = gc_fail(e, "cannot write %s: %d input channels (1 to 3 supported)", path, C);
        else if (!hwc) rc = gc_fail(e, "cannot write %s: out of memory", path);
        else {
            image_to_orig(s, m->image, C);
            for (size_t p = 0; p < opx; ++p)
                for (int c = 0; c < C; ++c) hwc[p * (size_t)C + (size_t)c] = s->img3[(size_t)c * opx + p];
            rc = write_npy(s, path, hwc, (size_t)s->orig.h, (size_t)s->orig.w, (size_t)C, e);
        }
        free(hwc);
    } else {
        rc = write_npy(s, path, m->data, (size_t)m->h, (size_t)m->w, 0, e);
    }
    if (rc) return free(s->written[--s->nwritten]), -1;
    return 0;
}

void gc_explain_rollback(gc_session *s)
{
    for (int i = 0; i < s->nwritten; ++i) {
        gc_image_remove_output(s->written[i]);
        free(s->written[i]);
    }
    s->nwritten = 0;
}

int gc_explain_begin(gc_session *s, network *net, const char *image_path, gc_err *e)
{
    if (s->net && s->ctx.installed) return image_path ? gc_explain_next(s, image_path, e) : 0;
    struct gc_writer *writer = s->writer; /* the owner's, for this image */
    struct gc_prefetch *prefetch = s->prefetch;
    const char *ready_path = s->ready_path;
    image ready_orig = s->ready_orig, ready_input = s->ready_input;
    unsigned char *ready_rgb = s->ready_rgb;
    s->ready_path = NULL;
    s->ready_rgb = NULL;
    memset(&s->ready_orig, 0, sizeof s->ready_orig);
    memset(&s->ready_input, 0, sizeof s->ready_input);
    if (s->net) gc_explain_close(s);
    memset(s, 0, sizeof *s);
    s->writer = writer;
    s->prefetch = prefetch;
    s->ready_path = ready_path;
    s->ready_orig = ready_orig;
    s->ready_rgb = ready_rgb;
    s->ready_input = ready_input;
    if (open_zeroed(s, net, image_path, e) == 0) return 0;
    if (!s->ctx.installed) gc_explain_close(s);
    return -1;
}

void gc_explain_keep(gc_session *s)
{
    for (int i = 0; i < s->nwritten; ++i) free(s->written[i]);
    s->nwritten = 0;
}

void gc_explain_close(gc_session *s)
{
    if (s->ctx.net) gc_hooks_free(&s->ctx);
    orig_free(s);
    gc_explain_image_free(&s->ready_orig, &s->ready_rgb, &s->ready_input);
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
    free(s->grad_in);
    free(s->image);
    free(s->masked);
    free(s->sal);
    free(s->chan);
    free(s->acts);
    free(s->img3);
    free(s->acc_map);
    free(s->acc_img);
    free(s->aug_in);
    memset(s, 0, sizeof *s);
}

const char *gc_result_name(const gc_result *x, char *buf, size_t n)
{
    if (x->name) return x->name;
    snprintf(buf, n, "class %d", x->cls);
    return buf;
}

void gc_explain_result_layers(const network *net, const gc_map *m, gc_method method, gc_result *x)
{
    const gc_method_info *mi = gc_cam_method_get(method);
    if (!mi->weights && !mi->map) {
        x->nlayers = 0;
        x->layer_type = "input";
        x->layer_w = net->w;
        x->layer_h = net->h;
        x->layer_c = net->c;
        return;
    }
    const layer *ll = &net->layers[m->layer];
    x->nlayers = m->nlayers;
    memcpy(x->layers, m->layers, sizeof x->layers);
    x->layer_type = gc_darknet_type_name(ll->type);
    x->layer_w = ll->out_w;
    x->layer_h = ll->out_h;
    x->layer_c = ll->out_c;
}
