/* gc_darknet: what the plugin knows about Darknet's layers, in one place:
 * their cfg names, which are detection heads, and which layers each one
 * reads. */
#ifndef GC_DARKNET_H
#define GC_DARKNET_H

#include "darknet.h"

/* The cfg section name of a layer type ("convolutional", "maxpool", ...;
 * "activation" for ACTIVE, "logistic" for LOGXENT), "unknown" otherwise. */
const char *gc_darknet_type_name(LAYER_TYPE t);

/* 1 for a detection head: [yolo] (YOLOv3), [region] (YOLOv2), [detection] (YOLOv1). */
int gc_darknet_is_head(const layer *l);

/* 1 if the cfg has a detection head anywhere (the mode of `gradcam`). */
int gc_darknet_is_detector(const network *net);

/* The layers whose outputs layer i reads (previous layer, route sources,
 * shortcut source). Returns the count (at most max are written: with
 * inputs NULL and max 0, the count alone). */
int gc_darknet_layer_inputs(const network *net, int i, int *inputs, int max);

/* The window of the network input that the layers see, in network-input
 * pixels: the centred crop_width x crop_height when the first layer is a
 * [crop] (forward_crop_layer at inference: no flip, offsets (w - out_w) / 2
 * and (h - out_h) / 2), else the whole input. */
void gc_darknet_input_window(const network *net, int *x, int *y, int *w, int *h);

#endif
