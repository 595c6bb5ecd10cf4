/* gc_metrics: explanation-quality and detection metrics as pure functions on
 * raw arrays (no Darknet types): pointing game, energy in box, the Grad-CAM
 * paper's localization box (largest connected region above a fraction of the
 * maximum), box IoU, trapezoid AUC (RISE deletion / insertion), VOC average
 * precision, greedy detection matching, pixel ordering and the blur that
 * insertion starts from.
 *
 * Maps are row-major, w x h, one float per pixel. Pixel boxes are inclusive
 * (l <= x <= r, t <= y <= b); relative boxes are Darknet's centre format,
 * normalised to the image. Nothing here returns NaN. */
#ifndef GC_METRICS_H
#define GC_METRICS_H

#include <stddef.h>

/* Inclusive pixel box. */
typedef struct gc_pbox {
    int l, t, r, b;
} gc_pbox;

/* Centre-format box relative to the image (YOLO label format). */
typedef struct gc_rbox {
    float x, y, w, h;
} gc_rbox;

/* A relative box in pixels of a w x h image, with draw_detections()'s
 * arithmetic (truncation, then clamping to the image), as the main command
 * uses for its boxes (gc_det_pixels). */
gc_pbox gc_pbox_from_rel(gc_rbox b, int w, int h);

/* IoU of inclusive pixel boxes (area = (r-l+1)*(b-t+1)); 0 for empty ones. */
double gc_pbox_iou(gc_pbox a, gc_pbox b);
/* IoU of relative centre-format boxes (Darknet's box_iou); 0 if the union is 0. */
double gc_rbox_iou(gc_rbox a, gc_rbox b);

/* Pointing game: 1 if the map's maximum (first in raster order on ties) lies
 * inside box, else 0; an all-zero (or all non-positive) map is a miss. */
int gc_metric_pointing(const float *map, int w, int h, gc_pbox box);

/* Energy in box: sum of max(map, 0) inside box / sum of max(map, 0) over the
 * map; 0 when the map has no positive value. */
double gc_metric_energy(const float *map, int w, int h, gc_pbox box);

/* Localization box (Grad-CAM paper, Sec. 4.1): pixels with value > frac *
 * max(map), the largest 8-connected region of them (the first found in
 * raster order on ties), and its bounding box in *out. labels and stack are
 * scratch of w*h ints each. Returns the region's pixel count, 0 when no
 * pixel qualifies (max <= 0); *out is then {0, 0, -1, -1} (empty). */
size_t gc_metric_largest_region(const float *map, int w, int h, float frac, int *labels, int *stack,
                                gc_pbox *out);

/* Area under the curve (x[i], y[i]), i = 0..n-1, by the trapezoid rule; x
 * must be non-decreasing. 0 for n < 2. */
double gc_metric_auc(const double *x, const double *y, int n);

/* VOC average precision with all-point interpolation. The n detections of one
 * class are ranked by score (descending; on ties the lower index first); tp[i]
 * says whether detection i was a true positive; npos is the number of
 * ground-truth objects. precision(r) is made monotone from the right and AP =
 * sum over recall steps of (r_{k} - r_{k-1}) * p_interp(r_k). order is scratch
 * of n ints. Returns 0 when npos is 0. */
double gc_metric_ap(const float *score, const unsigned char *tp, int n, int npos, int *order);

/* VOC matching for one class: detections (image id, box, score) in any
 * order, ground truths (image id, box). Detections are visited by descending
 * score (ties: lower index first); each takes the ground truth of its image
 * with the highest IoU; if that IoU >= iou_thresh and the ground truth is not
 * taken yet, it is a true positive (tp[i] = 1) and takes it, else a false
 * positive. order (ndet ints) and used (ngt bytes) are scratch. */
void gc_match_voc(const int *det_image, const gc_rbox *det_box, const float *det_score, int ndet,
                  const int *gt_image, const gc_rbox *gt_box, int ngt, float iou_thresh, unsigned char *tp,
                  int *order, unsigned char *used);

/* Greedy one-to-one matching within one image: detections by descending
 * probability (ties: lower index first), each takes the not-yet-matched ground
 * truth of the same class with the highest IoU >= iou_thresh (ties: lower
 * index). gt_det[j] receives the matched detection's index, or -1. order is
 * scratch of ndet ints. Returns the number of matched ground truths. */
int gc_match_greedy(const gc_rbox *det_box, const int *det_cls, const float *det_prob, int ndet,
                    const gc_rbox *gt_box, const int *gt_cls, int ngt, float iou_thresh, int *gt_det,
                    int *order);

/* order[0..n-1] = indexes of map sorted by decreasing value (ties: lower index
 * first): the order in which deletion removes and insertion restores pixels. */
void gc_order_by_value(const float *map, size_t n, int *order);

/* Separable Gaussian blur of a planar c x h x w image with standard
 * deviation sigma (pixels), kernel radius ceil(3 sigma) (at most 64), edges
 * clamped, kernel normalised to sum 1. tmp
 * holds w*h floats; in and out may not alias. sigma <= 0 copies. */
void gc_blur_gaussian(const float *in, int w, int h, int c, float sigma, float *tmp, float *out);

/* Centre prior: an isotropic Gaussian exp(-d^2 / (2 s^2)) centred on a
 * w x h image (at (w/2, h/2)), s = min(w, h) / 4, at image coordinates
 * (x, y) (pixel centres are at +0.5). */
float gc_center_prior(int w, int h, float x, float y);

#endif
