/* gc_detect: the detections `darknet detect` reports, each with its
 * provenance (head layer, anchor, cell, class), and the seed that explains it.
 *
 * Decoding mirrors get_network_boxes() for [yolo] (YOLOv3), [region] (YOLOv2)
 * and [detection] (YOLOv1) heads, then Darknet's own do_nms_sort(); the
 * reported (box, class) pairs are those draw_detections() prints: every class
 * whose probability is above the threshold, in the post-NMS order.
 *
 * Seeds are gradients w.r.t. the head's INPUT (its pre-activation logits):
 * the head layers' backward in gc_backward is the identity, and the
 * activations a head applies (logistic, softmax) are differentiated here. */
#ifndef GC_DETECT_H
#define GC_DETECT_H

#include "darknet.h"
#include "gc_common.h"
#include "gc_darknet.h"

typedef enum gc_target {
    GC_TARGET_LOGIT = 0, /* the class logit: pre-sigmoid ([yolo]), pre-softmax ([region]), class output ([detection]) */
    GC_TARGET_SCORE,     /* objectness x class probability, through the head's activations */
    GC_TARGET_OBJ,       /* the objectness logit (confidence output for [detection]) */
} gc_target;

const char *gc_detect_target_name(gc_target t);
int gc_detect_target_parse(const char *s, gc_target *out);

typedef struct gc_det {
    box bbox;         /* relative to the original image, as get_network_boxes(relative=1) */
    float prob;       /* objectness x class probability: the percentage darknet detect prints */
    float objectness;
    int cls;
    int head;         /* layer index of the head */
    int anchor;       /* anchor slot n of that head ([yolo]: anchor id mask[n]) */
    int cell;         /* row * w + col in the head's grid */
} gc_det;

/* Raw decoded boxes in get_network_boxes()'s order, with provenance. */
typedef struct gc_boxes {
    detection *dets; /* boxes as Darknet has them: YOLOv1 ([detection]) ones in image pixels */
    int n, classes;
    int *head, *anchor, *cell;
    const network *net; /* the decoded network, and the image size */
    int im_w, im_h;
} gc_boxes;

/* 0 if every head of net can be decoded and explained, else -1 naming it. */
int gc_detect_check(const network *net, gc_err *e);

/* Decodes the heads' outputs after a forward pass (im_w x im_h: the original
 * image size, for the letterbox correction). */
int gc_detect_decode(const network *net, int im_w, int im_h, float thresh, float hier, gc_boxes *b, gc_err *e);
void gc_detect_boxes_free(gc_boxes *b);

/* Darknet's do_nms_sort(dets, total, classes, thresh): the same zeroed
 * probabilities and the same final order of dets, with one sort per class
 * over the boxes nonzero in it instead of a sort of all boxes per class.
 * Returns 0, or -1 out of memory (dets unchanged but for the objectness-0
 * boxes moved to the end). */
int gc_detect_nms(detection *dets, int total, int classes, float thresh);

/* Box i relative to the image (0..1), whatever the head: Darknet keeps
 * YOLOv1 boxes in pixels. Every gc_det's bbox is already relative. */
box gc_detect_relative(const gc_boxes *b, int i);

/* NMS (do_nms_sort, skipped when nms <= 0) and the (box, class) pairs above
 * thresh, in the order darknet detect prints them. *out is malloc'd. */
int gc_detect_boxes(gc_boxes *b, float thresh, float nms, gc_det **out, int *count, gc_err *e);

/* Default cap on explained boxes per image (-maxboxes). */
#define GC_MAXBOXES_DEFAULT 100

/* gc_detect_boxes keeping only the max most probable pairs (ties: the
 * earlier one), in their order; max <= 0: all. Memory for the pairs is
 * O(max), not O(pairs above thresh): a detector with many classes and a low
 * threshold has millions. *above (when not NULL): how many passed thresh. */
int gc_detect_boxes_top(gc_boxes *b, float thresh, float nms, int max, gc_det **out, int *count, size_t *above,
                        gc_err *e);

/* Adds the seed for explaining d with target t into seed[] (the head's
 * l.outputs floats, all zero on entry). When idx and nnz are non-NULL, the
 * entries it sets are listed in idx (at most *nnz on entry) and counted in
 * *nnz. gc_explain_target owns the seed and clears it in full. */
int gc_detect_seed(const network *net, const gc_det *d, gc_target t, float *seed, int *idx, int *nnz, gc_err *e);

/* d's own score in the network's current output: objectness x the
 * probability of class d->cls at d's head, anchor and cell, through the
 * head's activations, without a threshold (what gc_detect_decode reports as
 * that box's prob[cls] when it is above the threshold). The detection's
 * score after a forward pass on a changed input (D-RISE weighted by the
 * explained target itself). */
float gc_detect_own_score(const network *net, const gc_det *d);

/* The box in original-image pixels, with draw_detections()'s arithmetic. */
void gc_detect_pixels(const gc_det *d, int im_w, int im_h, int *left, int *top, int *right, int *bottom);

#endif
