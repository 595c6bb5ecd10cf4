/* gc_sheet: the Grad-CAM paper's figure for one target (its Fig. 1 layout):
 * the original with the box or class label, Grad-CAM, Guided Backprop,
 * Guided Grad-CAM and the counterfactual Grad-CAM side by side, each titled,
 * with a colour bar, at a display size that suits 96-pixel scenes (integer
 * upscale) and 4000-pixel photos (area downscale) alike. The maps are drawn
 * straight at the display size through the inverse letterbox. Drawing uses
 * gc_render's primitives; the explanations come from gc_explain's one path. */
#ifndef GC_SHEET_H
#define GC_SHEET_H

#include <stddef.h>

#include "gc_explain.h"

/* The long side of a panel, in pixels (images are upscaled by an integer
 * factor up to it, or downscaled to it). */
#define GC_SHEET_PANEL 320

/* A gradient image (planar, 3 x h x w, raw values) for display, as the paper
 * and pytorch-grad-cam's deprocess_image show it: over all 3*w*h values,
 * x = (x - mean) / (std + 1e-5) * 0.1 + 0.5, clipped to [0, 1], to 8-bit
 * interleaved RGB. A constant image becomes uniform grey (128). */
void gc_sheet_gradient_rgb(const float *planar, int w, int h, unsigned char *rgb);

/* The display size of a w x h image's panels. */
void gc_sheet_panel_size(int w, int h, int *pw, int *ph);

/* Planar float image resize: area average when shrinking, nearest pixel
 * when enlarging (per axis). in: c x ih x iw, out: c x oh x ow. */
void gc_sheet_resize_planar(const float *in, int iw, int ih, int c, float *out, int ow, int oh);
/* The same of an 8-bit interleaved RGB image (iw x ih x 3), each byte read
 * as gc_byte_value: the floats gc_sheet_resize_planar makes of Darknet's
 * float image of it, bit for bit. out: 3 x oh x ow. */
void gc_sheet_resize_rgb(const unsigned char *in, int iw, int ih, float *out, int ow, int oh);

/* Explains t four times on s (Grad-CAM, Guided Backprop, Guided Grad-CAM, and
 * the counterfactual Grad-CAM; o's layers, target and smoothing) and writes
 * the sheet to path (recorded by the session, so a rollback removes it).
 * label: the target's line (class or box, probability); box: the box in the
 * original image's pixels (left, top, right, bottom), or NULL. The session's
 * map buffers are overwritten: call it after the target's own outputs. */
int gc_sheet_write(gc_session *s, const gc_subject *t, const gc_explain_opts *o, const char *label, const int *box,
                   const char *path, gc_err *e);

#endif
