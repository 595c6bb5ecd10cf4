/* gc_model: loading a Darknet network without letting Darknet exit or crash
 * on bad input. Darknet's parser exits (status 0!) on a missing file, aborts
 * on a bad first section, reads past the end of a truncated .weights file
 * without noticing, and dereferences garbage on an unknown section. So the
 * cfg is scanned and test-parsed in a child process first, and the weights
 * file's size is checked against what the parsed network will read. */
#ifndef GC_MODEL_H
#define GC_MODEL_H

#include <stddef.h>

#include "darknet.h"
#include "gc_common.h"
#include "gc_image.h"

/* Parses cfg (and loads weights unless NULL) with batch 1. Every failure is a
 * one-line message naming the file. */
network *gc_model_load(const char *cfg, const char *weights, gc_err *e);

/* Whether the parsed net can run at batch 1 on one image: a recurrent first
 * layer ([rnn], [gru], [lstm], [crnn]) keeps the batch its sub-layers were
 * made with and reads that many inputs from the input buffer, past one
 * image's end: time_steps when gc_model_load parsed it for one image
 * (patch 0006), batch / subdivisions x time_steps against stock Darknet.
 * Call before set_batch_network(net, 1).
 * 0, or -1 with e set naming cfg. */
int gc_model_batch1_check(const network *net, const char *cfg, gc_err *e);

/* Limits of a child process: address space beyond what the parent already
 * maps (0: none), CPU seconds and wall-clock seconds (0: none). */
typedef struct gc_trial_limits {
    size_t mem_bytes;
    int cpu_s, wall_s;
} gc_trial_limits;

/* Runs body(arg) in a forked child that dies with its parent
 * (PR_SET_PDEATHSIG), under lim; its stdout is discarded, and its stderr's last
 * line goes into the message when it fails. 0 when body returned 0; otherwise
 * -1 with e set ("<what>: ..."), killing the child when the wall time is up. */
int gc_model_trial_run(const char *what, int (*body)(void *), void *arg, const gc_trial_limits *lim, gc_err *e);

/* 0 if the .weights file has a Darknet header and exactly the size net's
 * load_weights() reads; else -1 naming both files. */
int gc_model_weights_check(const network *net, const char *cfg, const char *weights, gc_err *e);

/* Bytes a .weights file must have for net: header (given the header's
 * major/minor, see gc_model_weights_header_size) plus every parameter Darknet's
 * load_weights() reads. */
size_t gc_model_weights_param_count(const network *net);
size_t gc_model_weights_header_size(int major, int minor);

/* Gives every parameter a seeded pseudo-random value: weights uniform in
 * +-1.6/sqrt(fan-in), biases in +-0.2 and, for batch norm, scales in
 * [0.5, 1.5), rolling means in +-0.3 and rolling variances in [0.3, 2), so
 * frozen batch norm is far from the identity. Deterministic for a seed. */
void gc_model_randomize(network *net, unsigned seed);

/* Darknet's save_weights to path, without its "Saving weights to" line.
 * Darknet checks nothing it writes: the caller checks the file's size. */
void gc_model_save_weights(network *net, const char *path);

/* Seeded random values for the parameters of layers first..last only
 * (inclusive; the same ranges as gc_model_randomize). Each layer draws from
 * its own stream, a function of (seed, layer index), so randomising i..n-1
 * in one call or layer by layer from the top down gives the same network:
 * the cascading model-parameter randomisation of Adebayo et al. (2018). */
void gc_model_randomize_layers(network *net, int first, int last, unsigned seed);

/* 1 if gc_model_randomize* gives layer l new values (a convolution, a
 * deconvolution, a [connected], a [local] or a [batchnorm] layer), else 0. */
int gc_model_layer_has_params(const layer *l);

/* A copy of every parameter gc_model_randomize* can change (weights, biases,
 * batch-norm scales and rolling statistics), to put the caller's network back
 * exactly after a randomisation. */
typedef struct gc_model_snapshot {
    float *data;
    size_t n; /* floats in data */
} gc_model_snapshot;

int gc_model_snapshot_take(const network *net, gc_model_snapshot *s, gc_err *e);
/* Writes the snapshot back into net (the network it was taken from). */
void gc_model_snapshot_restore(network *net, const gc_model_snapshot *s);
void gc_model_snapshot_free(gc_model_snapshot *s);

/* Class names: one per line (Darknet's .names / labels list). Returns a
 * malloc'd array of *count malloc'd strings, or NULL with e set. */
char **gc_model_names_load(const char *path, int *count, gc_err *e);
void gc_model_names_free(char **names, int count);

/* Class cls's name in names[0..count), or NULL when the file does not name
 * it (no names, past its lines, or a blank line). */
const char *gc_model_class_name(char *const *names, int count, int cls);

/* The value of `key` in a Darknet .data file (key=value lines; a UTF-8
 * byte-order mark and the spaces around the value are not part of it),
 * malloc'd; NULL if the key is absent (e untouched), or the file cannot be
 * read or the value is empty (e set). */
char *gc_model_data_string(const char *data_path, const char *key, gc_err *e);

/* The path `key` names in a Darknet .data file (key=value lines), malloc'd;
 * NULL if the key is absent (e untouched), or the file cannot be read, the
 * value is empty or names no file (e set). A relative path is tried as
 * Darknet does (from the working directory), then from the .data file's
 * folder, then from the folder above it (Darknet's layout: cfg/coco.data's
 * data/coco.names). */
char *gc_model_data_value(const char *data_path, const char *key, gc_err *e);


#endif
