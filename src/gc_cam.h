/* gc_cam: the Grad-CAM family as pure functions on raw arrays.
 *
 * A and G have shape K x H x W (channel-major, as Darknet stores a layer's
 * output for batch 1): A are the activations of the chosen layer, G the
 * gradients dy^c/dA of the explained score. The map has H x W cells. */
#ifndef GC_CAM_H
#define GC_CAM_H

#include <stddef.h>

typedef enum gc_method {
    GC_METHOD_GRADCAM = 0, /* a_k = mean_ij g; L = ReLU(sum_k a_k A^k)      (Grad-CAM eq. 1-2) */
    GC_METHOD_GRADCAMPP,   /* w_k = sum_ij alpha_ij ReLU(g)                  (Grad-CAM++)       */
    GC_METHOD_XGRADCAM,    /* w_k = sum_ij g A / sum_ab A                     (XGrad-CAM)        */
    GC_METHOD_HIRESCAM,    /* L = ReLU(sum_k g^k .* A^k)                      (HiResCAM)         */
    GC_METHOD_LAYERCAM,    /* L = ReLU(sum_k ReLU(g^k) .* A^k)                (LayerCAM)         */
    GC_METHOD_EIGENCAM,    /* first principal component of A (gradient-free) (Eigen-CAM)        */
    GC_METHOD_GUIDEDBACKPROP, /* guided input gradient                     (Springenberg et al.) */
    GC_METHOD_GUIDEDGRADCAM,  /* guided input gradient x upsampled Grad-CAM (Grad-CAM sec. 3.1) */
    GC_METHOD_CAM,         /* w_k = the class's weight of a GAP + linear net (CAM, Zhou et al.) */
    GC_METHOD_SCORECAM,    /* w = softmax_k(score of the input masked by A^k) (Score-CAM)       */
    GC_METHOD_EIGENGRADCAM, /* first principal component of g .* A          (pytorch-grad-cam)  */
    GC_METHOD_ABLATIONCAM, /* w_k = (y - y with A^k zeroed) / y           (Ablation-CAM)       */
    GC_METHOD_COUNT
} gc_method;

/* What a method's G argument holds. */
typedef enum gc_g_kind {
    GC_G_NONE = 0,        /* not read */
    GC_G_GRAD,            /* dy^c/dA, K x H x W (one backward pass per target) */
    GC_G_CLASS_WEIGHTS,   /* K values: the class's weights of a GAP + linear classifier */
    GC_G_MASKED_SCORES,   /* K values: the score with the input masked by each channel */
    GC_G_ABLATED_SCORES,  /* K + 1 values: the score with each channel zeroed, then the score itself */
} gc_g_kind;

/* The methods as a table: what each needs, and its kernel. The CLI's method
 * list, help text and checks, and the explain path's dispatch, come from it;
 * adding a method is a kernel, a row and its test. */
typedef struct gc_method_info {
    const char *name;    /* as -method takes it */
    const char *summary; /* one line for the help text */
    int needs_grad;      /* reads dy^c/dA: one backward pass per target (and has a counterfactual) */
    int extra_forward;   /* runs forward passes on perturbed inputs */
    int reaches_input;   /* backpropagates to the network input */
    /* Channel-weight methods set `weights` (L = ReLU(sum_k w_k A^k), eq. 2);
     * the others set `map`. work: scratch floats for `map` (0 if none). */
    void (*weights)(const float *A, const float *G, size_t K, size_t HW, float *w);
    void (*map)(const float *A, const float *G, size_t K, size_t HW, float *map, float *work);
    size_t (*work)(size_t K, size_t HW); /* NULL: no scratch */
    gc_g_kind g;         /* what the layer kernel's G holds (gc_explain_target fills it) */
    /* reaches_input: out[c][p] from the guided input gradient grad[c][p] and,
     * when input_cam, cam[p]: the layer kernel's map min-max normalised and
     * upsampled to the input (else NULL). Methods without a layer kernel
     * (weights and map NULL) produce only the input-level result. */
    void (*input)(const float *grad, const float *cam, size_t C, size_t HW, float *out);
    int input_cam;
    /* Map methods: the K x HW terms whose sum over k (or, for the Eigen
     * methods, whose first principal component) is the map, for -smooth
     * eigen. Channel-weight methods use w_k A^k. */
    void (*terms)(const float *A, const float *G, size_t K, size_t HW, float *out);
} gc_method_info;

/* The row of method m (asserts m is in range). */
const gc_method_info *gc_cam_method_get(gc_method m);
/* "gradcam", "gradcam++", ...; "unknown" out of range. */
const char *gc_cam_method_name(gc_method m);
/* Parses a method name (case-insensitive); returns 0, or -1 if unknown. */
int gc_cam_method_parse(const char *name, gc_method *out);
/* The names, comma-separated, into buf ("gradcam, gradcam++, ..."). */
const char *gc_cam_method_list(char *buf, size_t n);

/* Computes the map for method m into map[H*W] (non-negative: every method
 * ends with a ReLU). weights[K], if non-NULL, receives the channel weights for
 * the methods that have them (Grad-CAM, Grad-CAM++, XGrad-CAM) and zeros for
 * the others. work must hold at least gc_cam_work_size(m, K, H, W) floats
 * (may be NULL when that is 0, and for Grad-CAM, Grad-CAM++ and XGrad-CAM
 * when weights is non-NULL: their work is the weights). G is not read by
 * EigenCAM and may be NULL for it. Returns 0, or -1 if any input or result
 * is not finite (the map and weights are then all zero). */
int gc_cam_compute(gc_method m, const float *A, const float *G, size_t K, size_t H, size_t W,
                   float *weights, float *map, float *work);
size_t gc_cam_work_size(gc_method m, size_t K, size_t H, size_t W);

/* -smooth eigen (pytorch-grad-cam's eigen_smooth): the map is the first
 * principal component (Eigen-CAM's projection, sign and ReLU) of the method's
 * weighted activations w_k A^k (or its terms, for the map methods) instead of
 * their sum. work: gc_cam_eigen_work_size floats. Same return as
 * gc_cam_compute. */
int gc_cam_compute_eigen(gc_method m, const float *A, const float *G, size_t K, size_t H, size_t W,
                         float *weights, float *map, float *work);
size_t gc_cam_eigen_work_size(gc_method m, size_t K, size_t H, size_t W);
/* 1 if method m has a layer kernel (a channel-weight or map function). */
int gc_cam_method_has_layer_map(gc_method m);

/* Grad-CAM channel weights alone: a_k = (1/Z) sum_ij G^k_ij (eq. 1). */
void gc_cam_gradcam_weights(const float *G, size_t K, size_t HW, float *a);
/* L = ReLU(sum_k w_k A^k) (eq. 2). */
void gc_cam_weighted_sum(const float *A, const float *w, size_t K, size_t HW, float *map);

/* The input-level kernel of a reaches_input method (see the table). */
void gc_cam_input_compute(gc_method m, const float *grad, const float *cam, size_t C, size_t HW, float *out);
/* A single-channel map of an input-level result: map[p] = max_c |x[c][p]|. */
void gc_cam_input_saliency(const float *x, size_t C, size_t HW, float *map);

/* Max of map and its position (row-major index); returns 0 for an all-zero
 * (or empty) map. */
float gc_cam_map_max(const float *map, size_t n, size_t *argmax);

#endif
