#include "gc_classify.h"

#include <math.h>
#include <string.h>

int gc_classify_find(const network *net, gc_classifier *out, gc_err *e)
{
    int last = net->n - 1;
    while (last >= 0 && net->layers[last].type == COST) --last;
    if (last < 0) return gc_fail(e, "network has no layer before its [cost]");
    memset(out, 0, sizeof *out);
    if (net->layers[last].type == SOFTMAX || net->layers[last].type == LOGXENT) {
        /* a [logistic] (multi-label: a sigmoid per class) as a [softmax]:
         * its input is the logit, its output the probability */
        const char *kind = net->layers[last].type == SOFTMAX ? "[softmax]" : "[logistic]";
        if (last == 0) return gc_fail(e, "%s is the first layer: there is no logit layer", kind);
        out->logit_layer = last - 1;
        out->prob_layer = last;
        if (net->layers[last - 1].outputs != net->layers[last].inputs)
            return gc_fail(e, "%s layer %d does not read layer %d's output", kind, last, last - 1);
    } else {
        out->logit_layer = last;
        out->prob_layer = -1;
    }
    out->classes = net->layers[out->logit_layer].outputs;
    return 0;
}

void gc_classify_probs(const network *net, const gc_classifier *c, float *probs)
{
    const layer *src = &net->layers[c->prob_layer >= 0 ? c->prob_layer : c->logit_layer];
    memcpy(probs, src->output, (size_t)c->classes * sizeof(float));
    if (c->prob_layer >= 0 && net->hierarchy)
        hierarchy_predictions(probs, c->classes, net->hierarchy, 1, 1);
}

int gc_classify_check_finite(const gc_classifier *c, const float *probs, gc_err *e)
{
    for (int i = 0; i < c->classes; ++i)
        if (!isfinite(probs[i]))
            return gc_fail(e, "layer %d: the network's output is not finite (NaN/Inf): check the weights",
                           c->prob_layer >= 0 ? c->prob_layer : c->logit_layer);
    return 0;
}

void gc_classify_top_k(const float *x, int len, int n, int *idx)
{
    /* Insertion into a sorted prefix: n is small (top-N of a few classes). */
    int have = 0;
    for (int i = 0; i < len; ++i) {
        int pos = have;
        while (pos > 0 && x[idx[pos - 1]] < x[i]) --pos;
        if (pos >= n) continue;
        int last = have < n ? have : n - 1;
        for (int j = last; j > pos; --j) idx[j] = idx[j - 1];
        idx[pos] = i;
        if (have < n) ++have;
    }
}
