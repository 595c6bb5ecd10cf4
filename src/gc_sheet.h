/* gc_sheet: the Grad-CAM paper's figure for one target (Fig. 1 / Fig. 4
 * layout): the original with the box or class label, Grad-CAM, Guided
 * Backprop, Guided Grad-CAM and the counterfactual Grad-CAM, side by side,
 * titled, with a colour bar; and the display of a gradient image. Drawing
 * only (gc_render's primitives); the explanations come from gc_explain. */
#ifndef GC_SHEET_H
#define GC_SHEET_H

#include <stddef.h>

/* A gradient image (planar, 3 x h x w, raw values) for display, as the paper
 * and pytorch-grad-cam's deprocess_image show it: over all 3*w*h values,
 * x = (x - mean) / (std + 1e-5) * 0.1 + 0.5, clipped to [0, 1], to 8-bit
 * interleaved RGB. A constant image becomes uniform grey (128). */
void gc_sheet_gradient_rgb(const float *planar, int w, int h, unsigned char *rgb);

#endif
