/* gc_backward: inference-mode vector-Jacobian products for Darknet layers.
 *
 * Stock Darknet's backward functions are training code: at inference they are
 * wrong for batch norm (training formula with rolling statistics), [dropout]
 * (stale mask), and several of them overwrite net.delta instead of adding to
 * it (1x1 convolutions, [reorg], [upsample] reversed, [activation]). This
 * module brings its own: for each supported layer type, given dy (the layer's
 * l.delta, gradient w.r.t. its output) it ADDS dy^T * d(output)/d(input) into
 * the gradient of every input: net.delta for the previous layer, and
 * net.layers[j].delta for [route] / [shortcut] sources. Weight gradients are
 * never computed. Frozen batch norm is the affine map
 *   y = scale * (x - mean) / (sqrt(var) + .000001f) + bias
 * exactly as Darknet's normalize_cpu() evaluates it at inference.
 *
 * The kernels may scale l.delta in place (activation derivative), so dy/dA
 * of a layer must be read before that layer's own backward runs. */
#ifndef GC_BACKWARD_H
#define GC_BACKWARD_H

#include "darknet.h"
#include "gc_common.h"
#include "gc_darknet.h"

/* 1 if gc_backward_layer() can differentiate layer l exactly, else 0 with a
 * message naming the layer type (and index, when e is non-NULL). */
int gc_backward_supported(const network *net, int index, gc_err *e);

/* The function installed into each layer's `backward` slot (see gc_hooks).
 * Same contract as Darknet's backward slots: net.index is the layer index,
 * net.input the previous layer's output, net.delta the previous layer's delta
 * (NULL for layer 0: then nothing is propagated to the image). Asserts that
 * the type is supported: callers check gc_backward_supported() first. */
void gc_backward_layer(layer l, network net);

/* Multiplies dy[i] by the derivative of activation a, evaluated from the
 * activation's output y[i] (every Darknet activation is invertible enough for
 * this; see the .c for the per-type formulas). */
void gc_backward_activation(float *dy, const float *y, size_t n, ACTIVATION a);

/* Derivative of activation a at output value y. */
float gc_backward_activation_derivative(float y, ACTIVATION a);

/* Guided Backpropagation (Springenberg et al., "Striving for Simplicity",
 * section 3.4). The rectifiers are relu, leaky, relie, ramp, elu and selu:
 * each is increasing and keeps the sign of its input (y > 0 exactly when its
 * input x > 0). At a rectifier, the gradient passes only where the input was
 * positive AND the incoming gradient is positive:
 *   dx = dy * f'(x) * [x > 0] * [dy > 0]
 * For relu this is pytorch-grad-cam's GuidedBackpropReLU
 * (grad_out * (x > 0) * (grad_out > 0)). A leaky unit (and relie, ramp, elu,
 * selu) whose input was negative blocks the gradient exactly as a relu does:
 * the leak is there for training; the guided rule keeps only the evidence
 * that flowed forward through positive units. The other activations (linear,
 * logistic, loggy, tanh, plse, hardtan, lhtan, stair) are not rectifiers and
 * keep their plain derivative, as pytorch-grad-cam leaves non-ReLU modules
 * alone. */
int gc_backward_is_rectifier(ACTIVATION a);
/* dy: [n] gated in place by the rule above (plain derivative for the
 * non-rectifiers); y: [n] the activation's outputs. */
void gc_backward_guided_activation(float *dy, const float *y, size_t n, ACTIVATION a);

/* gc_backward_layer with the guided rule at the layer's activation (the
 * layers that apply one: convolutional, connected, local, shortcut,
 * activation). After it, l.delta of such a layer holds the gated gradient at
 * the activation's input. */
void gc_backward_layer_guided(layer l, network net);

#endif
