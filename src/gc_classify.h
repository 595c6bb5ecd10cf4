/* gc_classify: what a classifier cfg explains. The score y^c is the class
 * logit, i.e. the input of the final [softmax] (Grad-CAM, eq. 1 uses the
 * score before the softmax); its probability is the softmax output, with
 * Darknet's hierarchy correction for tree softmaxes, as in
 * `darknet classifier predict`. */
#ifndef GC_CLASSIFY_H
#define GC_CLASSIFY_H

#include "darknet.h"
#include "gc_common.h"

typedef struct gc_classifier {
    int logit_layer; /* layer whose output holds the class logits */
    int prob_layer;  /* the [softmax] layer, or -1 when the cfg has none */
    int classes;
} gc_classifier;

/* 1 if the cfg ends in a detection head ([yolo] anywhere, [region], [detection]). */
int gc_is_detector(const network *net);

/* Finds the logit layer: the input of the last [softmax] (trailing [cost]
 * layers ignored), or the last layer itself when there is no softmax. */
int gc_classifier_find(const network *net, gc_classifier *out, gc_err *e);

/* Default explained layer: the last layer before `before` whose output is
 * spatial (w*h > 1), whatever its type. -1 with e set if there is none. */
int gc_default_layer(const network *net, int before, gc_err *e);

/* Resolves a -layer argument: absolute index >= 0, or negative counting back
 * from `before` (-1 is the layer right before it). Must be < before. */
int gc_resolve_layer(const network *net, int requested, int before, int *out, gc_err *e);

/* Class probabilities after one forward (softmax output, hierarchy-corrected),
 * copied into probs[classes]. */
void gc_classifier_probs(const network *net, const gc_classifier *c, float *probs);

/* Indexes of the n largest values of x[len], best first (ties: lower index). */
void gc_top_k(const float *x, int len, int n, int *idx);

#endif
