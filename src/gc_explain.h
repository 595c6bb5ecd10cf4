/* gc_explain: one image through one network: a single forward pass, then one
 * backward pass per explained score, each turned into a map with the chosen
 * method and written as an overlay PNG and a raw .npy. Every buffer is sized
 * once per image (no per-target allocation). */
#ifndef GC_EXPLAIN_H
#define GC_EXPLAIN_H

#include "darknet.h"
#include "gc_cam.h"
#include "gc_common.h"
#include "gc_hooks.h"
#include "gc_render.h"

typedef struct gc_explain_opts {
    gc_method method;
    int counterfactual; /* negate the gradients (Grad-CAM section on counterfactual explanations) */
    float alpha;        /* overlay opacity of the heatmap, 0..1 */
} gc_explain_opts;

/* A map at layer resolution, valid until the next gc_session_explain(). */
typedef struct gc_map {
    const float *data; /* h*w, non-negative */
    int layer, w, h, k;
    float max;
    int argmax_x, argmax_y; /* cell of the maximum (layer resolution) */
    int all_zero;
} gc_map;

typedef struct gc_session {
    network *net;
    gc_ctx ctx;
    image orig;  /* the image as Darknet loads it (planar RGB in [0,1]) */
    image input; /* letterboxed to the network size */
    gc_letterbox lb;
    float *map, *weights, *work, *heat;
    unsigned char *rgb;
    size_t cap_px; /* pixels heat and rgb hold */
    size_t cap_hw, cap_k, cap_work;
    char **written; /* files written so far, removed by gc_session_rollback */
    int nwritten, cap_written;
} gc_session;

/* Checks and loads the image (Darknet's own loader, after a check that it
 * decodes), letterboxes it as `darknet detect` and `classifier predict` do,
 * installs the hooks and runs the forward pass. On failure the caller still
 * calls gc_session_close. */
int gc_session_open(gc_session *s, network *net, const char *image_path, gc_err *e);

/* Moves an open session on to another image: loads and letterboxes it and
 * runs the forward pass, keeping the hooks, the path cache and every buffer
 * (grown only when the image is larger). For runs over many images. On
 * failure the session holds no image; gc_session_close still frees it. */
int gc_session_next(gc_session *s, const char *image_path, gc_err *e);

/* Makes sure the buffers fit a map of layer `layer` (call for every layer the
 * session will explain before the first gc_session_explain, to allocate once). */
int gc_session_reserve(gc_session *s, int li, gc_method method, gc_err *e);

/* Seeds d score / d output[score_layer][index] = 1, or -1 for a
 * counterfactual (or, when seed is non-NULL, the full vector seed as given:
 * the caller negates it for a counterfactual), backpropagates to `layer` and
 * computes the map. */
int gc_session_explain(gc_session *s, int score_layer, const float *seed, size_t index, int li,
                       const gc_explain_opts *o, gc_map *out, gc_err *e);

/* Heat on the original image: min-max normalised map through the inverse
 * letterbox, into s->heat (orig.w * orig.h). */
void gc_session_heat(gc_session *s, const gc_map *m);
/* The same without the normalisation, for a map of w x h covering the
 * network input. */
void gc_session_heat_raw(gc_session *s, const float *map, int w, int h);

/* Writes base.png (overlay of s->heat, after gc_session_heat, with optional
 * drawing done by the caller in between through gc_session_overlay) and
 * base.npy (the raw map). */
unsigned char *gc_session_overlay(gc_session *s, const gc_explain_opts *o);
int gc_session_write_png(gc_session *s, const char *path, int w, int h, const unsigned char *rgb, gc_err *e);
int gc_session_write_npy(gc_session *s, const char *path, const gc_map *m, gc_err *e);

/* Removes every file this session wrote (after a failure). */
void gc_session_rollback(gc_session *s);
/* Removes the hooks, restores the network, frees everything but the network. */
void gc_session_close(gc_session *s);

/* Checks that the directory part of an output prefix exists and is writable. */
int gc_check_out_prefix(const char *prefix, gc_err *e);

#endif
