/* Fixtures for the end-to-end suites: temporary directories, random weights
 * written with Darknet's own save_weights(), running ./darknet. */
#ifndef GC_FIXTURE_H
#define GC_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "darknet.h"

/* Parses cfg with batch 1 and gives every parameter a seeded random value
 * (weights, biases, and batch-norm scales, rolling means and positive
 * rolling variances, so batch norm is far from the identity). */
network *gcf_random_network(const char *cfg, unsigned seed);
/* Same, saved as a .weights file at path. Returns 0 on success. */
int gcf_write_random_weights(const char *cfg, const char *path, unsigned seed);

/* mkdtemp under $TMPDIR; the returned string is static per call site copy. */
char *gcf_tempdir(void);
/* rm -rf dir. */
void gcf_rmtree(const char *dir);
/* Number of entries in dir (excluding . and ..). */
int gcf_count_files(const char *dir);
/* The whole file, malloc'ed, with a '\0' after it (not counted in *len;
 * len may be NULL); NULL when it cannot be opened or read. */
char *gcf_read_file(const char *path, size_t *len);

/* Sets this process's address-space limit (RLIMIT_AS, soft and hard) to its
 * present size plus headroom bytes, as `ulimit -v` would. For a forked child:
 * the limit cannot be raised again. 0, or -1. */
int gcf_limit_address_space(size_t headroom);

/* Runs argv (argv[0] a path), capturing stdout and stderr (each truncated to
 * cap bytes); returns the exit status, or -1 if it died of a signal. */
int gcf_run(char *const argv[], char *out, size_t out_cap, char *err, size_t err_cap);
/* The binary under test as a path for a shell command (`make test` names it
 * "darknet" in GC_DARKNET_BIN, which exec through sh would look up in PATH). */
const char *gcf_shell_binary(void);

/* Starts argv as gcf_run does (GC_DARKNET_BIN for "./darknet") without
 * waiting, stdout and stderr to /dev/null, SIGINT and SIGTERM at their
 * default actions, SIGHUP ignored when ign_hup (as under nohup). Returns the
 * pid, or -1 when fork fails: for tests that signal or kill a run. */
pid_t gcf_spawn(char *const argv[], int ign_hup);
/* The last n characters of s (all of it when shorter): for assertion messages
 * about a program's stderr, whose error is at its end. */
const char *gcf_tail(const char *s, size_t n);
/* `./darknet gradcam A0 ...` (the arguments NULL-terminated; at most
 * GCF_MAX_ARGS of them) through gcf_run: the end-to-end suites' one way to
 * run the binary under test. Returns what gcf_run returns. */
#define GCF_MAX_ARGS 37
int gcf_run_gradcam(char *out, size_t out_cap, char *err, size_t err_cap, const char *a0, ...)
    __attribute__((sentinel));

/* Darknet's source tree (GC_DARKNET_DIR, default build/darknet) joined with
 * rel, in a static buffer. */
const char *gcf_darknet_path(const char *rel);
/* ../shared/models/<rel> if it exists (GC_SHARED_MODELS overrides), else NULL. */
const char *gcf_shared_model(const char *rel);

/* Re-runs layers first..last as forward_network() does at inference. */
void gcf_forward_range(network *net, int first, int last);

/* A scalar function of the network's state after a forward pass. */
typedef double (*gcf_scalar_fn)(const network *net, const void *ctx);

/* Central differences of f w.r.t. every element of layers[target].output,
 * re-running layers target+1..last for each perturbation, into fd. A maxpool
 * is not differentiable where two inputs tie: an element whose perturbation
 * moves any arg-max gets fd = NAN (left out of gcf_rel_error); returns how
 * many did. */
int gcf_finite_differences(network *net, int target, int last, gcf_scalar_fn f, const void *ctx, float eps,
                           double *fd);
/* ||g - fd|| / ||fd|| over the elements where fd is not NAN. */
double gcf_rel_error(const float *g, const double *fd, int n);

/* Uniform random float in [lo, hi) from a tiny deterministic generator. */
float gcf_uniform(uint64_t *state, float lo, float hi);

#endif
