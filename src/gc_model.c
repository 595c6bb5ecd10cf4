#include "gc_model.h"

#include "gc_cfgcheck.h"
#include "gc_darknet.h"
#include "gc_rng.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t vm_size(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1) pages = 0;
        fclose(f);
    }
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int gc_model_trial_run(const char *what, int (*body)(void *), void *arg, const gc_trial_limits *lim, gc_err *e)
{
    int fds[2];
    if (pipe(fds) != 0) return gc_fail(e, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return gc_fail(e, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* Die with the parent (SIGTERM to it must not leave us running), and
         * within a memory and CPU budget: a cfg can make Darknet allocate
         * without bound. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(4);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        close(fds[0]);
        dup2(fds[1], 2);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, 1);
        if (lim->mem_bytes) {
            rlim_t as = (rlim_t)(vm_size() + lim->mem_bytes);
            struct rlimit rl = {as, as};
            setrlimit(RLIMIT_AS, &rl);
        }
        if (lim->cpu_s > 0) {
            struct rlimit rl = {(rlim_t)lim->cpu_s, (rlim_t)lim->cpu_s + 1};
            setrlimit(RLIMIT_CPU, &rl);
        }
        _exit(body(arg));
    }
    close(fds[1]);
    /* Keep the last non-empty line the child printed: Darknet's reason. */
    char buf[4096], last[256] = "";
    size_t have = 0;
    double deadline = now_s() + (lim->wall_s > 0 ? lim->wall_s : 1e9);
    int timed_out = 0;
    for (;;) {
        double left = deadline - now_s();
        if (left <= 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        struct pollfd pfd = {fds[0], POLLIN, 0};
        int pr = poll(&pfd, 1, left > 1e6 ? -1 : (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) continue;
        ssize_t r = read(fds[0], buf + have, sizeof buf - 1 - have);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        have += (size_t)r;
        buf[have] = '\0';
        char *nl;
        while ((nl = strchr(buf, '\n'))) {
            *nl = '\0';
            if (buf[0]) snprintf(last, sizeof last, "%.255s", buf);
            size_t used = (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, have - used + 1);
            have -= used;
        }
        if (have == sizeof buf - 1) have = 0;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    for (char *p = last; *p; ++p)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f) *p = '?';
    if (timed_out) return gc_fail(e, "%s: gave up after %d s (time limit)", what, lim->wall_s);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGXCPU || WTERMSIG(status) == SIGKILL))
        return gc_fail(e, "%s: gave up after %d s of CPU time (time limit)", what, lim->cpu_s);
    if (WIFSIGNALED(status))
        return gc_fail(e, "%s: Darknet's parser crashed (signal %d)%s%s%s", what, WTERMSIG(status),
                       lim->mem_bytes ? " (or ran out of its memory limit)" : "", last[0] ? "; last message: " : "",
                       last);
    return gc_fail(e, "%s: Darknet could not parse it%s%s", what, last[0] ? ": " : "", last);
}

/* Darknet's make_*_layer draw random weights at parse time (patch 0005 of
 * darknet_patch/ lets a caller skip that). A weak reference, so that the
 * bench's build against stock Darknet, which lacks the switch, still links:
 * there the address is NULL and the weights are drawn as before. */
extern int skip_weight_init __attribute__((weak));
/* Patch 0006: the parse sizes the layers for this many images instead of the
 * cfg's batch / subdivisions (weak for the same reason). */
extern int parse_batch __attribute__((weak));

/* Darknet's parse_network_cfg, with the random weights skipped when skip is
 * set (the caller loads every weight next, or never runs the network), and
 * every layer sized for one image: the plugin runs one at a time (its batched
 * forward has buffers of its own), and a training cfg's batch of 32-128 images
 * would reserve gigabytes that set_batch_network(net, 1) keeps. */
static network *parse_cfg(const char *cfg, int skip)
{
    int *flag = &skip_weight_init, *batch = &parse_batch;
    if (flag) *flag = skip;
    if (batch) *batch = 1;
    network *net = parse_network_cfg((char *)cfg);
    if (flag) *flag = 0;
    if (batch) *batch = 0;
    return net;
}

/* Layers whose weights load_weights() leaves (partly) as parsed: dontload,
 * dontloadscales, numload. Their random values are what stock Darknet runs
 * with, so such a network is parsed again with the random init. */
static int keeps_parsed_weights(const network *net)
{
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        if (l->dontload || l->dontloadscales || (l->numload && l->numload != l->n)) return 1;
    }
    return 0;
}

static int trial_body(void *arg)
{
    /* the trial only checks that the parse survives: no weights needed */
    network *net = parse_cfg((const char *)arg, 1);
    int ok = net && net->n > 0 && net->layers[net->n - 1].outputs > 0;
    for (int i = 0; ok && i < net->n; ++i)
        if (net->layers[i].outputs <= 0 || !net->layers[i].forward) ok = 0;
    return ok ? 0 : 3;
}

/* Darknet's parser asserts, exits or crashes on cfgs the validator may still
 * miss. Parse once in a child process with memory, CPU and wall-clock limits;
 * the real parse happens only if that one survived. */
static int trial_parse(const char *cfg, gc_err *e)
{
    char what[4200];
    snprintf(what, sizeof what, "cfg file %s", cfg);
    gc_trial_limits lim = {gc_cfgcheck_memory_limit() + ((size_t)1 << 30), 20, 25};
    return gc_model_trial_run(what, trial_body, (void *)cfg, &lim, e);
}

size_t gc_model_weights_header_size(int major, int minor)
{
    /* load_weights_upto(): `seen` is a size_t from version 0.2 on. */
    /* Darknet's int arithmetic, wrapped as it wraps in practice, without the
     * overflow being undefined here (a header of garbage must not be UB). */
    int version = (int)((unsigned)major * 10u + (unsigned)minor);
    int wide = version >= 2 && major < 1000 && minor < 1000;
    return 3 * sizeof(int) + (wide ? sizeof(size_t) : sizeof(int));
}

static size_t conv_params(const layer *l)
{
    size_t n = (size_t)(l->numload ? l->numload : l->n);
    size_t p = n + (size_t)l->c / (size_t)l->groups * n * (size_t)l->size * (size_t)l->size;
    if (l->batch_normalize && !l->dontloadscales) p += 3 * n;
    return p;
}

static size_t connected_params(const layer *l)
{
    size_t p = (size_t)l->outputs + (size_t)l->outputs * (size_t)l->inputs;
    if (l->batch_normalize && !l->dontloadscales) p += 3 * (size_t)l->outputs;
    return p;
}

size_t gc_model_weights_param_count(const network *net)
{
    /* Mirrors load_weights_upto() layer by layer. */
    size_t total = 0;
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        if (l->dontload) continue;
        switch (l->type) {
        case CONVOLUTIONAL:
        case DECONVOLUTIONAL: total += conv_params(l); break;
        case CONNECTED: total += connected_params(l); break;
        case BATCHNORM: total += 3 * (size_t)l->c; break;
        case CRNN:
            total += conv_params(l->input_layer) + conv_params(l->self_layer) + conv_params(l->output_layer);
            break;
        case RNN:
            total += connected_params(l->input_layer) + connected_params(l->self_layer) +
                     connected_params(l->output_layer);
            break;
        case LSTM:
            total += connected_params(l->wi) + connected_params(l->wf) + connected_params(l->wo) +
                     connected_params(l->wg) + connected_params(l->ui) + connected_params(l->uf) +
                     connected_params(l->uo) + connected_params(l->ug);
            break;
        case GRU:
            total += connected_params(l->wz) + connected_params(l->wr) + connected_params(l->wh) +
                     connected_params(l->uz) + connected_params(l->ur) + connected_params(l->uh);
            break;
        case LOCAL:
            total += (size_t)l->outputs +
                     (size_t)l->size * l->size * l->c * l->n * (size_t)l->out_w * l->out_h;
            break;
        default: break;
        }
    }
    return total;
}

int gc_model_weights_check(const network *net, const char *cfg, const char *weights, gc_err *e)
{
    FILE *f = fopen(weights, "rb");
    if (!f) return gc_fail(e, "weights file %s: %s", weights, strerror(errno));
    int hdr[3];
    size_t got = fread(hdr, sizeof(int), 3, f);
    struct stat st;
    int ok = fstat(fileno(f), &st) == 0;
    fclose(f);
    if (!ok) return gc_fail(e, "weights file %s: cannot stat", weights);
    if (got != 3) return gc_fail(e, "weights file %s is too short for a Darknet header (%lld bytes)",
                                 weights, (long long)st.st_size);
    size_t header = gc_model_weights_header_size(hdr[0], hdr[1]);
    size_t params = gc_model_weights_param_count(net);
    size_t want = header + params * sizeof(float);
    if ((size_t)st.st_size != want)
        return gc_fail(e, "weights file %s has %lld bytes but cfg %s needs %zu (%zu-byte header + %zu floats): "
                          "weights and cfg do not match",
                       weights, (long long)st.st_size, cfg, want, header, params);
    return 0;
}

static int quiet_stderr(void)
{
    fflush(stderr);
    int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
    if (saved < 0 || devnull < 0) {
        if (saved >= 0) close(saved);
        if (devnull >= 0) close(devnull);
        return -1;
    }
    dup2(devnull, 2);
    close(devnull);
    return saved;
}

static void restore_stderr(int saved)
{
    if (saved < 0) return;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

void gc_model_save_weights(network *net, const char *path)
{
    int saved = quiet_stderr();
    save_weights(net, (char *)path);
    restore_stderr(saved);
}

static int check_params(const network *net, const char *weights, gc_err *e);

/* Darknet's make_*_layer do not check their callocs. Where one failed (an
 * address-space limit, a cfg too large for the machine), load_weights would
 * fread into NULL and the forward write through it. l's output and the arrays
 * load_weights fills, or 0 when one is missing. */
static int layer_buffers_ok(const layer *l)
{
    if (l->outputs > 0 && !l->output) return 0;
    switch (l->type) {
    case CONVOLUTIONAL:
    case DECONVOLUTIONAL:
    case CONNECTED:
    case LOCAL:
        if (!l->weights || !l->biases) return 0;
        if (l->batch_normalize && (!l->scales || !l->rolling_mean || !l->rolling_variance)) return 0;
        break;
    case BATCHNORM:
        if (!l->scales || !l->rolling_mean || !l->rolling_variance) return 0;
        break;
    default: break;
    }
    /* the sub-layers of [rnn], [crnn], [gru] and [lstm] */
    const layer *sub[] = {l->input_layer, l->self_layer, l->output_layer, l->wz, l->uz, l->wr, l->ur, l->wh,
                          l->uh, l->wi, l->ui, l->wf, l->uf, l->wo, l->uo, l->wg, l->ug};
    for (size_t k = 0; k < sizeof sub / sizeof sub[0]; ++k)
        if (sub[k] && !layer_buffers_ok(sub[k])) return 0;
    return 1;
}

static int parsed_buffers_check(const network *net, const char *cfg, gc_err *e)
{
    if (!net->input) return gc_fail(e, "cfg file %s: out of memory for the network's input", cfg);
    for (int i = 0; i < net->n; ++i)
        if (!layer_buffers_ok(&net->layers[i]))
            return gc_fail(e, "cfg file %s: out of memory: Darknet could not allocate layer %d's (%s) buffers", cfg,
                           i, gc_darknet_type_name(net->layers[i].type));
    return 0;
}

int gc_model_batch1_check(const network *net, const char *cfg, gc_err *e)
{
    const layer *l = &net->layers[0];
    int recurrent = l->type == RNN || l->type == GRU || l->type == LSTM || l->type == CRNN;
    if (!recurrent || net->batch <= 1) return 0;
    if (gc_cfgcheck_one_image_parse()) /* parsed for one image: only time_steps is left */
        return gc_fail(e, "cfg file %s: its first layer (%s) reads time_steps = %d inputs at once, and gradcam "
                          "gives it one image: set time_steps=1 in [net]",
                       cfg, gc_darknet_type_name(l->type), net->batch);
    return gc_fail(e, "cfg file %s: its first layer (%s) reads batch / subdivisions x time_steps = %d inputs at "
                      "once, and gradcam gives it one image: set batch=1 and time_steps=1 in [net]",
                   cfg, gc_darknet_type_name(l->type), net->batch);
}

network *gc_model_load(const char *cfg, const char *weights, gc_err *e)
{
    if (gc_image_check_readable(cfg, "cfg", e)) return NULL;
    if (weights && gc_image_check_readable(weights, "weights", e)) return NULL;
    if (gc_cfgcheck_file(cfg, NULL, e) || trial_parse(cfg, e)) return NULL;
    /* The trial parse passed: Darknet's layer table would only bury the
     * one-line error that may follow, so its stderr is silenced here. */
    int saved = quiet_stderr();
    network *net = parse_cfg(cfg, weights != NULL);
    if (net && weights && keeps_parsed_weights(net)) {
        free_network(net);
        net = parse_cfg(cfg, 0);
    }
    restore_stderr(saved);
    if (!net) {
        gc_fail(e, "cfg file %s: Darknet could not parse it", cfg);
        return NULL;
    }
    if (parsed_buffers_check(net, cfg, e) || gc_model_batch1_check(net, cfg, e)) {
        free_network(net);
        return NULL;
    }
    if (weights) {
        if (gc_model_weights_check(net, cfg, weights, e)) {
            free_network(net);
            return NULL;
        }
        saved = quiet_stderr();
        load_weights(net, (char *)weights);
        restore_stderr(saved);
        if (check_params(net, weights, e)) {
            free_network(net);
            return NULL;
        }
    }
    set_batch_network(net, 1);
    return net;
}

static void fill_uniform(float *x, size_t n, uint64_t *st, float lo, float hi)
{
    for (size_t i = 0; x && i < n; ++i) x[i] = lo + (hi - lo) * gc_rng_unit(st);
}

/* A [local] layer's weights: Darknet keeps no count of them (nweights is 0). */
static size_t local_weights(const layer *l)
{
    return (size_t)l->size * (size_t)l->size * (size_t)l->c * (size_t)l->n * (size_t)l->out_w * (size_t)l->out_h;
}

/* Layer l's randomised values from state st (see gc_model_randomize). */
static void randomize_layer(layer *l, uint64_t *st)
{
    size_t nout;
    if (l->type == CONVOLUTIONAL) {
        nout = (size_t)l->n;
        float s = 1.6f / sqrtf((float)(l->size * l->size * l->c / l->groups));
        fill_uniform(l->weights, (size_t)l->nweights, st, -s, s);
    } else if (l->type == DECONVOLUTIONAL) {
        /* size x size x n per input channel; stock Darknet leaves groups unset */
        nout = (size_t)l->n;
        float s = 1.6f / sqrtf((float)(l->size * l->size * l->c));
        fill_uniform(l->weights, (size_t)l->nweights, st, -s, s);
    } else if (l->type == CONNECTED) {
        nout = (size_t)l->outputs;
        float s = 1.6f / sqrtf((float)l->inputs);
        fill_uniform(l->weights, (size_t)l->outputs * (size_t)l->inputs, st, -s, s);
    } else if (l->type == LOCAL) {
        /* one size x size x c filter bank per output location, a bias per output */
        nout = (size_t)l->outputs;
        float s = 1.6f / sqrtf((float)(l->size * l->size * l->c));
        fill_uniform(l->weights, local_weights(l), st, -s, s);
    } else if (l->type == BATCHNORM) {
        nout = (size_t)l->c;
    } else {
        return;
    }
    fill_uniform(l->biases, nout, st, -0.2f, 0.2f);
    if (l->batch_normalize || l->type == BATCHNORM) {
        fill_uniform(l->scales, nout, st, 0.5f, 1.5f);
        fill_uniform(l->rolling_mean, nout, st, -0.3f, 0.3f);
        fill_uniform(l->rolling_variance, nout, st, 0.3f, 2.0f);
    }
}

/* Layer i's own stream for a seed: a layer's values do not depend on which
 * other layers are randomised, so the cascade's points nest. */
static uint64_t layer_state(unsigned seed, int i)
{
    uint64_t st = ((uint64_t)seed << 32) ^ (uint64_t)(unsigned)i;
    (void)gc_rng_next(&st);
    return st;
}

/* A recurrent layer's weights are in the layers it holds, the ones Darknet
 * saves for it: each randomised in turn from the layer's stream (they had
 * kept Darknet's unseeded rand() values, the same file for every -seed). */
static void randomize_recurrent(layer *l, uint64_t *st)
{
    layer *sub[8] = {0};
    int n = 0;
    if (l->type == RNN || l->type == CRNN) {
        sub[n++] = l->input_layer, sub[n++] = l->self_layer, sub[n++] = l->output_layer;
    } else if (l->type == LSTM) {
        sub[n++] = l->wi, sub[n++] = l->wf, sub[n++] = l->wo, sub[n++] = l->wg;
        sub[n++] = l->ui, sub[n++] = l->uf, sub[n++] = l->uo, sub[n++] = l->ug;
    } else if (l->type == GRU) {
        sub[n++] = l->wz, sub[n++] = l->wr, sub[n++] = l->wh, sub[n++] = l->uz, sub[n++] = l->ur, sub[n++] = l->uh;
    }
    for (int k = 0; k < n; ++k)
        if (sub[k]) randomize_layer(sub[k], st);
}

void gc_model_randomize(network *net, unsigned seed)
{
    gc_model_randomize_layers(net, 0, net->n - 1, seed);
    /* gradcam init: the recurrent layers too (the cascade, which takes
     * gc_model_randomize_layers, never meets them: such cfgs are refused) */
    for (int i = 0; i < net->n; ++i) {
        uint64_t st = layer_state(seed, i);
        randomize_recurrent(&net->layers[i], &st);
    }
}

void gc_model_randomize_layers(network *net, int first, int last, unsigned seed)
{
    assert(first >= 0 && last < net->n);
    for (int i = first; i <= last; ++i) {
        uint64_t st = layer_state(seed, i);
        randomize_layer(&net->layers[i], &st);
    }
}

/* The parameter arrays of layer l that randomize_layer writes, and their
 * lengths; returns how many (at most 5). */
static int layer_params(const layer *l, float **p, size_t *n)
{
    size_t nout;
    int k = 0;
    if (l->type == CONVOLUTIONAL || l->type == DECONVOLUTIONAL) {
        nout = (size_t)l->n;
        p[k] = l->weights, n[k++] = (size_t)l->nweights;
    } else if (l->type == CONNECTED) {
        nout = (size_t)l->outputs;
        p[k] = l->weights, n[k++] = (size_t)l->outputs * (size_t)l->inputs;
    } else if (l->type == LOCAL) {
        nout = (size_t)l->outputs;
        p[k] = l->weights, n[k++] = local_weights(l);
    } else if (l->type == BATCHNORM) {
        nout = (size_t)l->c;
    } else {
        return 0;
    }
    p[k] = l->biases, n[k++] = nout;
    if (l->batch_normalize || l->type == BATCHNORM) {
        p[k] = l->scales, n[k++] = nout;
        p[k] = l->rolling_mean, n[k++] = nout;
        p[k] = l->rolling_variance, n[k++] = nout;
    }
    return k;
}

/* Weights that are not finite, or a negative batch-norm variance (its
 * square root is NaN), make every later value meaningless; Darknet and the
 * plugin's folded forward may even mask them differently. Refused at load. */
static int check_params(const network *net, const char *weights, gc_err *e)
{
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        float *p[5];
        size_t n[5];
        int k = layer_params(l, p, n);
        for (int j = 0; j < k; ++j) {
            if (!p[j]) continue;
            for (size_t q = 0; q < n[j]; ++q) {
                if (!isfinite(p[j][q]))
                    return gc_fail(e, "weights file %s: layer %d has a parameter that is not finite (NaN/Inf)", weights,
                                   i);
                if (p[j] == l->rolling_variance && p[j][q] < 0)
                    return gc_fail(e, "weights file %s: layer %d has a negative batch-norm variance (%g): its square root is not finite", weights, i,
                                   p[j][q]);
            }
        }
    }
    return 0;
}

/* Copies every parameter array into (dir 0) or out of (dir 1) buf; returns
 * the floats visited. buf NULL counts only. */
static size_t walk_params(const network *net, float *buf, int dir)
{
    size_t at = 0;
    for (int i = 0; i < net->n; ++i) {
        float *p[5];
        size_t n[5];
        int k = layer_params(&net->layers[i], p, n);
        for (int j = 0; j < k; ++j) {
            if (!p[j]) continue;
            if (buf && dir == 0) memcpy(buf + at, p[j], n[j] * sizeof *buf);
            else if (buf) memcpy(p[j], buf + at, n[j] * sizeof *buf);
            at += n[j];
        }
    }
    return at;
}

int gc_model_layer_has_params(const layer *l)
{
    float *p[5];
    size_t n[5];
    return layer_params(l, p, n) > 0;
}

int gc_model_snapshot_take(const network *net, gc_model_snapshot *s, gc_err *e)
{
    s->n = walk_params(net, NULL, 0);
    s->data = malloc((s->n ? s->n : 1) * sizeof *s->data);
    if (!s->data) return gc_fail(e, "out of memory for a copy of the network's %zu parameters", s->n);
    walk_params(net, s->data, 0);
    return 0;
}

void gc_model_snapshot_restore(network *net, const gc_model_snapshot *s)
{
    size_t n = walk_params(net, s->data, 1);
    assert(n == s->n);
    (void)n;
}

void gc_model_snapshot_free(gc_model_snapshot *s)
{
    free(s->data);
    memset(s, 0, sizeof *s);
}

/* One line of f, whatever its length, in a malloc'd buffer of at least 64
 * bytes, without its end: LF, CRLF, or a lone CR (old Mac files: read
 * whole, `a\rb\rc\r` had been one name, "a\rb\rc"). NULL at the end of
 * the file, or with *oom set. */
static char *read_line(FILE *f, int *oom)
{
    size_t cap = 64, len = 0;
    char *s = malloc(cap);
    if (!s) return *oom = 1, NULL;
    int c = EOF;
    while ((c = getc(f)) != EOF && c != '\n' && c != '\r') {
        if (len + 1 == cap) {
            char *grown = realloc(s, cap *= 2);
            if (!grown) {
                free(s);
                return *oom = 1, NULL;
            }
            s = grown;
        }
        s[len++] = (char)c;
    }
    if (c == '\r') { /* CRLF is one end */
        int next = getc(f);
        if (next != '\n' && next != EOF) ungetc(next, f);
    }
    s[len] = '\0';
    if (len || c != EOF) return s;
    free(s);
    return NULL;
}

char **gc_model_names_load(const char *path, int *count, gc_err *e)
{
    *count = 0;
    if (gc_image_check_readable(path, "names", e) || gc_image_check_text_file(path, "names", e)) return NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        gc_fail(e, "names file %s: %s", path, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    int n = 0, cap = 0, named = 0, oom = 0; /* named: the lines up to the last non-blank one */
    char *line;
    while ((line = read_line(f, &oom))) {
        size_t len = strlen(line);
        /* trailing spaces too: "-class dog" finds a "dog " line, as the eye does */
        while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
            line[--len] = '\0';
        /* a UTF-8 byte-order mark (Windows editors) is not part of the first name */
        if (n == 0 && len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) memmove(line, line + 3, (len -= 3) + 1);
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(names, (size_t)cap * sizeof *names);
            if (!grown) {
                free(line);
                goto oom;
            }
            names = grown;
        }
        /* a blank line ("") names no class: shown as "class N", null in JSON */
        names[n++] = line;
        if (len) named = n;
    }
    if (oom) goto oom;
    fclose(f);
    /* blank lines at the end name no class (they made "82 names for 80 classes") */
    while (n > named) free(names[--n]);
    if (n == 0) {
        free(names);
        gc_fail(e, "names file %s is empty", path);
        return NULL;
    }
    *count = n;
    return names;
oom:
    fclose(f);
    gc_model_names_free(names, n);
    gc_fail(e, "out of memory reading names file %s", path);
    return NULL;
}

void gc_model_names_free(char **names, int count)
{
    if (!names) return;
    for (int i = 0; i < count; ++i) free(names[i]);
    free(names);
}

const char *gc_model_class_name(char *const *names, int count, int cls)
{
    return names && cls >= 0 && cls < count && names[cls][0] ? names[cls] : NULL;
}

char *gc_model_data_string(const char *data_path, const char *key, gc_err *e)
{
    if (gc_image_check_readable(data_path, "data", e) || gc_image_check_text_file(data_path, "data", e)) return NULL;
    FILE *f = fopen(data_path, "r");
    if (!f) {
        gc_fail(e, "data file %s: %s", data_path, strerror(errno));
        return NULL;
    }
    char line[4096], *value = NULL;
    size_t klen = strlen(key);
    int found = 0;
    for (int first = 1; !found && fgets(line, sizeof line, f); first = 0) {
        char *s = line;
        if (first && !strncmp(s, "\xef\xbb\xbf", 3)) s += 3; /* a UTF-8 byte-order mark (Windows editors) */
        while (isspace((unsigned char)*s)) ++s;
        if (strncmp(s, key, klen) != 0) continue;
        char *v = s + klen;
        while (*v == ' ' || *v == '\t') ++v;
        if (*v != '=') continue;
        ++v;
        while (isspace((unsigned char)*v)) ++v;
        size_t len = strlen(v);
        while (len && isspace((unsigned char)v[len - 1])) v[--len] = '\0';
        value = strdup(v);
        found = 1;
    }
    fclose(f);
    if (!found) return NULL;
    if (!value) {
        gc_fail(e, "out of memory reading data file %s", data_path);
        return NULL;
    }
    if (!*value) {
        free(value);
        gc_fail(e, "data file %s: %s= is empty", data_path, key);
        return NULL;
    }
    return value;
}

char *gc_model_data_value(const char *data_path, const char *key, gc_err *e)
{
    char *value = gc_model_data_string(data_path, key, e);
    if (!value) return NULL;
    /* Darknet opens names= from the working directory; from elsewhere, the
     * same path is tried from the .data file's folder, then from the folder
     * above it (Darknet's own layout: cfg/coco.data names data/coco.names
     * from Darknet's root). */
    const char *slash = strrchr(data_path, '/');
    for (int up = 0; up < 2 && value[0] != '/' && access(value, F_OK) != 0; ++up) {
        size_t dlen = slash ? (size_t)(slash - data_path) + 1 : 0;
        const char *extra = up ? "../" : "";
        char *joined = malloc(dlen + strlen(extra) + strlen(value) + 1);
        if (!joined) break;
        memcpy(joined, data_path, dlen);
        strcpy(joined + dlen, extra);
        strcat(joined, value);
        if (access(joined, F_OK) == 0) {
            free(value);
            return joined;
        }
        free(joined);
    }
    if (value[0] != '/' && access(value, F_OK) != 0) {
        gc_fail(e, "data file %s: %s=%s is not found from the working directory, nor from the .data file's folder or "
                   "the folder above it",
                data_path, key, value);
        free(value);
        return NULL;
    }
    return value;
}
