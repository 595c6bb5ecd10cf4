/* gc_classify: what a classifier cfg explains. The score y^c is the class
 * logit, i.e. the input of the final [softmax] (Grad-CAM, eq. 1 uses the
 * score before the softmax); its probability is the softmax output, with
 * Darknet's hierarchy correction for tree softmaxes, as in
 * `darknet classifier predict`. A final [logistic] (a multi-label
 * classifier: a sigmoid per class) is taken the same way: its input the
 * logit, its output the probability. */
#ifndef GC_CLASSIFY_H
#define GC_CLASSIFY_H

#include "darknet.h"
#include "gc_common.h"
#include "gc_darknet.h"

typedef struct gc_classifier {
    int logit_layer; /* layer whose output holds the class logits */
    int prob_layer;  /* the [softmax] or [logistic] layer, or -1 when the cfg has neither */
    int classes;
} gc_classifier;

/* Finds the logit layer: the input of the last [softmax] or [logistic]
 * (trailing [cost] layers ignored), or the last layer itself when there is
 * neither. */
int gc_classify_find(const network *net, gc_classifier *out, gc_err *e);

/* Class probabilities after one forward (softmax output, hierarchy-corrected),
 * copied into probs[classes]. */
void gc_classify_probs(const network *net, const gc_classifier *c, float *probs);

/* Every probability finite, else a message naming the output layer: weights
 * whose activations overflow make the softmax NaN, which no ranking or
 * metric can use (detectors check their heads the same way). */
int gc_classify_check_finite(const gc_classifier *c, const float *probs, gc_err *e);

/* Indexes of the n largest values of x[len], best first (ties: lower index). */
void gc_classify_top_k(const float *x, int len, int n, int *idx);

#endif
