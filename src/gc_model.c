#include "gc_model.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int gc_check_readable(const char *path, const char *what, gc_err *e)
{
    struct stat st;
    if (!path || !*path) return gc_fail(e, "no %s file given", what);
    if (stat(path, &st) != 0) return gc_fail(e, "%s file %s: %s", what, path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return gc_fail(e, "%s file %s is not a regular file", what, path);
    FILE *f = fopen(path, "rb");
    if (!f) return gc_fail(e, "%s file %s: %s", what, path, strerror(errno));
    fclose(f);
    return 0;
}

/* Section names Darknet's parser knows (string_to_layer_type in parser.c). */
static const char *const known_sections[] = {
    "net", "network", "shortcut", "crop", "cost", "detection", "region", "yolo", "iseg",
    "local", "conv", "convolutional", "deconv", "deconvolutional", "activation", "logistic",
    "l2norm", "crnn", "gru", "lstm", "rnn", "conn", "connected", "max", "maxpool", "reorg",
    "avg", "avgpool", "dropout", "lrn", "normalization", "batchnorm", "soft", "softmax",
    "route", "upsample",
};

/* Checks what would make Darknet's parser misbehave before it runs: the
 * first section must be [net], every section must be known, and there must
 * be at least one layer. */
static int scan_cfg(const char *cfg, gc_err *e)
{
    FILE *f = fopen(cfg, "r");
    if (!f) return gc_fail(e, "cfg file %s: %s", cfg, strerror(errno));
    char line[4096];
    int lineno = 0, sections = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        ++lineno;
        char *s = line;
        while (isspace((unsigned char)*s)) ++s;
        if (*s != '[') continue;
        char *end = strchr(s, ']');
        if (!end) {
            rc = gc_fail(e, "cfg file %s line %d: unterminated section header", cfg, lineno);
            break;
        }
        *end = '\0';
        const char *name = s + 1;
        size_t k, nk = sizeof known_sections / sizeof known_sections[0];
        for (k = 0; k < nk; ++k)
            if (strcmp(name, known_sections[k]) == 0) break;
        if (k == nk) {
            rc = gc_fail(e, "cfg file %s line %d: unknown section [%s]", cfg, lineno, name);
            break;
        }
        if (sections == 0 && strcmp(name, "net") != 0 && strcmp(name, "network") != 0) {
            rc = gc_fail(e, "cfg file %s line %d: first section must be [net], not [%s]", cfg, lineno, name);
            break;
        }
        ++sections;
    }
    fclose(f);
    if (rc == 0 && sections == 0) rc = gc_fail(e, "cfg file %s has no [net] section", cfg);
    if (rc == 0 && sections == 1) rc = gc_fail(e, "cfg file %s has no layers", cfg);
    return rc;
}

/* Darknet's parser asserts, exits or crashes on many malformed cfgs (a route
 * to a missing layer, a zero-size layer). Parse once in a child process; the
 * real parse happens only if that one survived. */
static int trial_parse(const char *cfg, gc_err *e)
{
    int fds[2];
    if (pipe(fds) != 0) return gc_fail(e, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return gc_fail(e, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, 1);
        network *net = parse_network_cfg((char *)cfg);
        int ok = net && net->n > 0 && net->layers[net->n - 1].outputs > 0;
        for (int i = 0; ok && i < net->n; ++i)
            if (net->layers[i].outputs <= 0 || !net->layers[i].forward) ok = 0;
        _exit(ok ? 0 : 3);
    }
    close(fds[1]);
    /* Keep the last non-empty line the child printed: Darknet's reason. */
    char buf[4096], last[256] = "";
    size_t have = 0;
    ssize_t r;
    while ((r = read(fds[0], buf + have, sizeof buf - 1 - have)) > 0) {
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
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    if (WIFSIGNALED(status))
        return gc_fail(e, "cfg file %s: Darknet's parser crashed (signal %d)%s%s", cfg,
                       WTERMSIG(status), last[0] ? "; last message: " : "", last);
    return gc_fail(e, "cfg file %s: Darknet could not parse it%s%s", cfg, last[0] ? ": " : "", last);
}

size_t gc_weights_header_size(int major, int minor)
{
    /* load_weights_upto(): `seen` is a size_t from version 0.2 on. */
    int wide = (major * 10 + minor) >= 2 && major < 1000 && minor < 1000;
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

size_t gc_weights_param_count(const network *net)
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

static int check_weights(const network *net, const char *cfg, const char *weights, gc_err *e)
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
    size_t header = gc_weights_header_size(hdr[0], hdr[1]);
    size_t params = gc_weights_param_count(net);
    size_t want = header + params * sizeof(float);
    if ((size_t)st.st_size != want)
        return gc_fail(e, "weights file %s has %lld bytes but cfg %s needs %zu (%zu-byte header + %zu floats): "
                          "weights and cfg do not match",
                       weights, (long long)st.st_size, cfg, want, header, params);
    return 0;
}

network *gc_model_load(const char *cfg, const char *weights, gc_err *e)
{
    if (gc_check_readable(cfg, "cfg", e)) return NULL;
    if (weights && gc_check_readable(weights, "weights", e)) return NULL;
    if (scan_cfg(cfg, e) || trial_parse(cfg, e)) return NULL;
    network *net = parse_network_cfg((char *)cfg);
    if (!net) {
        gc_fail(e, "cfg file %s: Darknet could not parse it", cfg);
        return NULL;
    }
    if (weights) {
        if (check_weights(net, cfg, weights, e)) {
            free_network(net);
            return NULL;
        }
        load_weights(net, (char *)weights);
    }
    set_batch_network(net, 1);
    return net;
}

static float next_uniform(unsigned *state, float lo, float hi)
{
    *state = *state * 1664525u + 1013904223u; /* Numerical Recipes LCG */
    return lo + (hi - lo) * (float)((*state >> 8) & 0xffffff) / 16777216.0f;
}

static void fill_uniform(float *x, size_t n, unsigned *st, float lo, float hi)
{
    for (size_t i = 0; x && i < n; ++i) x[i] = next_uniform(st, lo, hi);
}

void gc_model_randomize(network *net, unsigned seed)
{
    unsigned st = seed * 2654435761u + 1;
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        size_t nout;
        if (l->type == CONVOLUTIONAL) {
            nout = (size_t)l->n;
            float s = 1.6f / sqrtf((float)(l->size * l->size * l->c / l->groups));
            fill_uniform(l->weights, (size_t)l->nweights, &st, -s, s);
        } else if (l->type == CONNECTED) {
            nout = (size_t)l->outputs;
            float s = 1.6f / sqrtf((float)l->inputs);
            fill_uniform(l->weights, (size_t)l->outputs * (size_t)l->inputs, &st, -s, s);
        } else if (l->type == BATCHNORM) {
            nout = (size_t)l->c;
        } else {
            continue;
        }
        fill_uniform(l->biases, nout, &st, -0.2f, 0.2f);
        if (l->batch_normalize || l->type == BATCHNORM) {
            fill_uniform(l->scales, nout, &st, 0.5f, 1.5f);
            fill_uniform(l->rolling_mean, nout, &st, -0.3f, 0.3f);
            fill_uniform(l->rolling_variance, nout, &st, 0.3f, 2.0f);
        }
    }
}

char **gc_names_load(const char *path, int *count, gc_err *e)
{
    *count = 0;
    if (gc_check_readable(path, "names", e)) return NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        gc_fail(e, "names file %s: %s", path, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    int n = 0, cap = 0;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(names, (size_t)cap * sizeof *names);
            if (!grown) goto oom;
            names = grown;
        }
        if (!(names[n] = strdup(line))) goto oom;
        ++n;
    }
    fclose(f);
    if (n == 0) {
        free(names);
        gc_fail(e, "names file %s is empty", path);
        return NULL;
    }
    *count = n;
    return names;
oom:
    fclose(f);
    gc_names_free(names, n);
    gc_fail(e, "out of memory reading names file %s", path);
    return NULL;
}

void gc_names_free(char **names, int count)
{
    if (!names) return;
    for (int i = 0; i < count; ++i) free(names[i]);
    free(names);
}

char *gc_data_value(const char *data_path, const char *key, gc_err *e)
{
    if (gc_check_readable(data_path, "data", e)) return NULL;
    FILE *f = fopen(data_path, "r");
    if (!f) {
        gc_fail(e, "data file %s: %s", data_path, strerror(errno));
        return NULL;
    }
    char line[4096], *value = NULL;
    size_t klen = strlen(key);
    while (!value && fgets(line, sizeof line, f)) {
        char *s = line;
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
    }
    fclose(f);
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
    return value;
}
