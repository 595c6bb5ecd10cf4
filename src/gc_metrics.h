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
#include <stdint.h>

#include "gc_rng.h"

/* Inclusive pixel box. */
typedef struct gc_pbox {
    int l, t, r, b;
} gc_pbox;

/* Centre-format box relative to the image (YOLO label format). */
typedef struct gc_rbox {
    float x, y, w, h;
} gc_rbox;

/* The pixels of a w x h image whose centres (x + 0.5, y + 0.5) lie inside a
 * relative box (edges included), clamped to the image: a ground-truth box
 * drawn from pixel edges x0 < x1 (exclusive) gives x0 .. x1 - 1, whatever
 * the rounding of the label file's decimals. A box that holds no pixel centre
 * gives the pixel under its centre. */
gc_pbox gc_metrics_pbox_cover(gc_rbox b, int w, int h);
/* The same for a box given by its edges in pixels (x0 <= x1, y0 <= y1). */
gc_pbox gc_metrics_pbox_cover_edges(double x0, double y0, double x1, double y1, int w, int h);

/* IoU of inclusive pixel boxes (area = (r-l+1)*(b-t+1)); 0 for empty ones. */
double gc_metrics_pbox_iou(gc_pbox a, gc_pbox b);
/* IoU of relative centre-format boxes (Darknet's box_iou); 0 if the union is 0. */
double gc_metrics_rbox_iou(gc_rbox a, gc_rbox b);

/* Pointing game: 1 if the map's maximum (first in raster order on ties) lies
 * inside box, else 0; an all-zero (or all non-positive) map is a miss. */
int gc_metrics_pointing(const float *map, int w, int h, gc_pbox box);

/* One pass over a w x h map, as a box's report needs it: the sum of every
 * value (negative ones too) and of those inside box (bounds inclusive; an
 * empty box sums nothing), each in double precision, and the first maximum
 * in raster order (NaN never taken; below -1 nothing: best -1 at (0, 0)). */
typedef struct gc_heat_stats {
    double total, inside;
    float best;
    int best_x, best_y;
} gc_heat_stats;
gc_heat_stats gc_metrics_heat_stats(const float *map, int w, int h, gc_pbox box);

/* Energy in box: sum of max(map, 0) inside box / sum of max(map, 0) over the
 * map; 0 when the map has no positive value. */
double gc_metrics_energy(const float *map, int w, int h, gc_pbox box);

/* Localization box (Grad-CAM paper, Sec. 4.1): pixels with value > frac *
 * max(map), the largest 8-connected region of them (the first found in
 * raster order on ties), and its bounding box in *out. labels and stack are
 * scratch of w*h ints each. Returns the region's pixel count, 0 when no
 * pixel qualifies (max <= 0); *out is then {0, 0, -1, -1} (empty). */
size_t gc_metrics_largest_region(const float *map, int w, int h, float frac, int *labels, int *stack,
                                gc_pbox *out);

/* Area under the curve (x[i], y[i]), i = 0..n-1, by the trapezoid rule; x
 * must be non-decreasing. 0 for n < 2. */
double gc_metrics_auc(const double *x, const double *y, int n);

/* VOC average precision with all-point interpolation. The n detections of one
 * class are ranked by score (descending; on ties the lower index first); tp[i]
 * says whether detection i was a true positive; npos is the number of
 * ground-truth objects. precision(r) is made monotone from the right and AP =
 * sum over recall steps of (r_{k} - r_{k-1}) * p_interp(r_k). order is scratch
 * of n ints. Returns 0 when npos is 0. */
double gc_metrics_ap(const float *score, const unsigned char *tp, int n, int npos, int *order);

/* VOC matching for one class: detections (image id, box, score) in any
 * order, ground truths (image id, box). Detections are visited by descending
 * score (ties: lower index first); each takes the ground truth of its image
 * with the highest IoU; if that IoU >= iou_thresh and the ground truth is not
 * taken yet, it is a true positive (tp[i] = 1) and takes it, else a false
 * positive. order (ndet ints) and used (ngt bytes) are scratch. */
void gc_metrics_match_voc(const int *det_image, const gc_rbox *det_box, const float *det_score, int ndet,
                  const int *gt_image, const gc_rbox *gt_box, int ngt, float iou_thresh, unsigned char *tp,
                  int *order, unsigned char *used);

/* Greedy one-to-one matching within one image: detections by descending
 * probability (ties: lower index first), each takes the not-yet-matched ground
 * truth of the same class with the highest IoU >= iou_thresh (ties: lower
 * index). gt_det[j] receives the matched detection's index, or -1. order is
 * scratch of ndet ints. Returns the number of matched ground truths. */
int gc_metrics_match_greedy(const gc_rbox *det_box, const int *det_cls, const float *det_prob, int ndet,
                    const gc_rbox *gt_box, const int *gt_cls, int ngt, float iou_thresh, int *gt_det,
                    int *order);

/* order[0..n-1] = indexes of map sorted by decreasing value (ties: lower index
 * first): the order in which deletion removes and insertion restores pixels. */
void gc_metrics_order_by_value(const float *map, size_t n, int *order);

/* Separable Gaussian blur of a planar c x h x w image with standard
 * deviation sigma (pixels), kernel radius ceil(3 sigma) (at most 64), edges
 * clamped, kernel normalised to sum 1. tmp
 * holds w*h floats; in and out may not alias. sigma <= 0 copies. */
void gc_metrics_blur_gaussian(const float *in, int w, int h, int c, float sigma, float *tmp, float *out);

/* Centre prior: an isotropic Gaussian exp(-d^2 / (2 s^2)) centred on a
 * w x h image (at (w/2, h/2)), s = min(w, h) / 4, at image coordinates
 * (x, y) (pixel centres are at +0.5). */
float gc_metrics_center_prior(int w, int h, float x, float y);

/* ---- agreement and complexity of maps ---------------------------------------- */

/* Scratch for rank statistics over n values: gc_metrics_rank_scratch_size(n) bytes. */
size_t gc_metrics_rank_scratch_size(size_t n);

/* Ranks of x[0..n-1] into rank[] (1 = smallest; tied values share the
 * average of their ranks). scratch: gc_metrics_rank_scratch_size(n) bytes. */
void gc_metrics_ranks(const float *x, size_t n, double *rank, void *scratch);

/* Spearman's rank correlation of a and b (n values each): the Pearson
 * correlation of their average ranks. Defined everywhere, never NaN: when a
 * map is constant (all-zero maps included) its ranks have no variance, and
 * the value is 1 if both are constant (the same ordering: none) and 0 if only
 * one is (no agreement); 0 for n < 2. ra, rb: n doubles each; scratch as
 * above. */
double gc_metrics_spearman(const float *a, const float *b, size_t n, double *ra, double *rb, void *scratch);

/* Gini index of a non-negative map (Chalasani et al. 2020's complexity
 * measure as in Quantus): with the n values sorted ascending, x_(1..n),
 * G = sum_i (2i - n - 1) x_(i) / (n sum_i x_(i)). 0 for a constant map
 * (all-zero included), (n-1)/n for a single non-zero value. Negative values
 * count as 0. sorted: n floats of scratch. */
double gc_metrics_gini(const float *map, size_t n, float *sorted);

/* Values of a w x h map inside box (clamped to the map) into out, in raster
 * order; returns their count (0 for an empty box). */
size_t gc_metrics_box_gather(const float *map, int w, int h, gc_pbox box, float *out);

/* Index of the maximum (first in raster order on ties), or -1 when the map
 * has no positive value. */
long gc_metrics_peak(const float *map, size_t n);

/* 1 if the peaks of two w x h maps lie within (cell_w, cell_h) pixels of each
 * other on both axes, else 0 (also when either map has no positive value). */
int gc_metrics_peaks_near(const float *a, const float *b, int w, int h, float cell_w, float cell_h);

/* ---- box priors ---------------------------------------------------------- */

/* Gaussian on a box: exp(-(dx^2 / (2 sx^2) + dy^2 / (2 sy^2))) at the pixel
 * centres (x + 0.5, y + 0.5) of a w x h grid, centred on (cx, cy), with
 * sx = bw / 4 and sy = bh / 4 (a box of width and height in pixels; at least
 * 0.5 pixel each, so a degenerate box stays finite). */
void gc_metrics_box_gaussian(int w, int h, float cx, float cy, float bw, float bh, float *out);

/* The box's own cell: a gw x gh grid, 1 at (col, row), 0 elsewhere (to be
 * upsampled to the input like a layer's map). */
void gc_metrics_cell_map(int gw, int gh, int col, int row, float *out);

/* ---- RISE (Petsiuk et al., BMVC 2018; D-RISE, Petsiuk et al., CVPR 2021) --- */

/* RISE's random grid: gs x gs cells, each 1 with probability p, else 0. */
void gc_metrics_rise_grid(int gs, float p, uint64_t *state, float *grid);

/* The grid upsampled bilinearly (cell centres aligned, edges clamped) to
 * (gs + 1) * cw x (gs + 1) * ch pixels, cw = ceil(w / gs), ch = ceil(h / gs),
 * and the w x h window at (ox, oy) of it into mask (RISE Sec. 3.2: the
 * shifted crop makes the masks smooth at every pixel position). */
void gc_metrics_rise_upsample(const float *grid, int gs, int w, int h, int ox, int oy, float *mask);

/* One RISE mask: a grid, then a crop at a random offset in [0, cw) x [0, ch).
 * grid: gs*gs floats of scratch. */
void gc_metrics_rise_mask(int w, int h, int gs, float p, uint64_t *state, float *grid, float *mask);

/* sal += score * mask (n values): one masked forward pass's contribution. */
void gc_metrics_rise_accumulate(float *sal, const float *mask, size_t n, float score);

/* sal /= (nmasks * p): the Monte Carlo estimate of E[score | pixel kept]
 * (RISE eq. 6). No-op when nmasks * p is 0. */
void gc_metrics_rise_finish(float *sal, size_t n, int nmasks, float p);

#endif
