/* gc_cfgcheck: validates a Darknet cfg before Darknet parses anything.
 *
 * Darknet's parser trusts its cfg: a [shortcut] to a missing layer reads past
 * its layer array, a [reorg] stride that does not divide the channels divides
 * by zero in the forward pass, a mask index past the anchors reads before the
 * biases, a huge batch overflows an int size and calloc()s garbage. This
 * module reads the cfg the way Darknet's read_cfg() does (every space and tab
 * removed from a line, '#' and ';' comments, the first key wins), replays the
 * shape arithmetic of parse_network_cfg() layer by layer in 64-bit integers,
 * and refuses anything Darknet's forward or the plugin's backward cannot run.
 * Every error names the file, the line, the section and the key. */
#ifndef GC_CFGCHECK_H
#define GC_CFGCHECK_H

#include <stddef.h>

#include "gc_common.h"

typedef struct gc_cfg_info {
    int layers;          /* layer sections after [net] */
    int w, h, c;         /* [net] input size (0 for a net that reads flat inputs) */
    int batch;           /* batch Darknet parses with: time_steps (one image, patch 0006), or
                            batch / subdivisions * time_steps against stock Darknet */
    size_t bytes;        /* what parse_network_cfg() allocates, roughly (outputs, deltas, weights) */
    double flops;        /* one forward pass of one image: convolutions, connected and recurrent
                            layers, max pooling (elementwise layers are not counted) */
} gc_cfg_info;

/* 1 when Darknet carries patch 0006 (parse_batch) and gc_model_load parses a
 * cfg for one image, times time_steps; 0 against stock Darknet (the bench's
 * build), which parses for the cfg's batch / subdivisions. gc_cfgcheck_text
 * sizes its checks for the batch the parse will use. */
int gc_cfgcheck_one_image_parse(void);

/* Largest forward pass accepted, in floating-point operations. */
#define GC_CFG_MAX_FLOPS 2e12

/* Largest allocation estimate gc_cfgcheck_file() accepts: the physical memory, at
 * most 32 GiB (the trial parse's address-space limit is derived from it). */
size_t gc_cfgcheck_memory_limit(void);

/* Validates the cfg text (len bytes, not necessarily NUL-terminated); name is
 * used in messages. info may be NULL. Returns 0, or -1 with e set. */
int gc_cfgcheck_text(const char *name, const char *text, size_t len, size_t max_bytes, gc_cfg_info *info,
                      gc_err *e);

/* Reads path (at most 16 MiB) and validates it with gc_cfgcheck_memory_limit(). */
int gc_cfgcheck_file(const char *path, gc_cfg_info *info, gc_err *e);

#endif
