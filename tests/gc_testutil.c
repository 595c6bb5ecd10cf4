#include "gc_testutil.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gc_backward.h"
#include "gc_rng.h"

void gct_rng_seed(gct_rng *r, uint64_t seed)
{
    r->s = seed;
}

float gct_rng_uniform(gct_rng *r, float lo, float hi)
{
    double u = (double)(gc_rng_next(&r->s) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(lo + (hi - lo) * u);
}

void gct_rng_fill(gct_rng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; ++i) x[i] = gct_rng_uniform(r, lo, hi);
}

network *gct_load(const char *path)
{
    ck_assert_msg(access(path, R_OK) == 0, "cannot read test cfg %s (run from the repo root)",
                  path);
    network *net = parse_network_cfg((char *)path);
    ck_assert_ptr_nonnull(net);
    set_batch_network(net, 1);
    return net;
}

static void fill_bn(gct_rng *r, layer *l, int c)
{
    gct_rng_fill(r, l->scales, (size_t)c, .5f, 1.5f);
    gct_rng_fill(r, l->rolling_mean, (size_t)c, -.5f, .5f);
    gct_rng_fill(r, l->rolling_variance, (size_t)c, .5f, 2.f);
}

void gct_randomize(network *net, uint64_t seed, float weight_gain)
{
    gct_rng r;
    gct_rng_seed(&r, seed);
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        size_t nw = 0, nb = 0;
        float fan_in = 1;
        switch (l->type) {
        case CONVOLUTIONAL:
            if (!l->weights) continue;
            nw = (size_t)l->nweights;
            nb = (size_t)l->n;
            fan_in = (float)(l->size * l->size * l->c / l->groups);
            if (l->batch_normalize) fill_bn(&r, l, l->n);
            break;
        case CONNECTED:
            nw = (size_t)l->inputs * l->outputs;
            nb = (size_t)l->outputs;
            fan_in = (float)l->inputs;
            if (l->batch_normalize) fill_bn(&r, l, l->outputs);
            break;
        case LOCAL:
            nw = (size_t)l->c * l->n * l->size * l->size * l->out_h * l->out_w;
            nb = (size_t)l->outputs;
            fan_in = (float)(l->size * l->size * l->c);
            break;
        case BATCHNORM:
            fill_bn(&r, l, l->c);
            gct_rng_fill(&r, l->biases, (size_t)l->c, -.5f, .5f);
            continue;
        default:
            continue;
        }
        float a = weight_gain * sqrtf(3.f / fan_in);
        gct_rng_fill(&r, l->weights, nw, -a, a);
        gct_rng_fill(&r, l->biases, nb, -.5f, .5f);
    }
}

void gct_fill_input(network *net, uint64_t seed, float lo, float hi)
{
    gct_rng r;
    gct_rng_seed(&r, seed);
    gct_rng_fill(&r, net->input, (size_t)net->inputs, lo, hi);
}

void gct_forward_from(network *netp, int first)
{
    network net = *netp;
    net.train = 0;
    net.truth = 0;
    net.delta = 0;
    net.input = first > 0 ? net.layers[first - 1].output : netp->input;
    for (int i = first; i < net.n; ++i) {
        net.index = i;
        layer l = net.layers[i];
        l.forward(l, net);
        net.input = l.output;
    }
}

void gct_forward(network *net)
{
    gct_forward_from(net, 0);
}

void gct_backward_ref(network *netp, int S, const float *seed, int T)
{
    network net = *netp;
    ck_assert(S >= 0 && S < net.n && T >= -1 && T < S);
    for (int i = 0; i < net.n; ++i) {
        layer l = net.layers[i];
        if (l.delta) memset(l.delta, 0, (size_t)l.outputs * sizeof(float));
    }
    memcpy(net.layers[S].delta, seed, (size_t)net.layers[S].outputs * sizeof(float));
    for (int i = S; i > T; --i) {
        layer l = net.layers[i];
        if (i == 0) {
            net.input = netp->input;
            net.delta = 0;
        } else {
            net.input = net.layers[i - 1].output;
            net.delta = net.layers[i - 1].delta;
        }
        net.index = i;
        gc_backward_layer(l, net);
    }
}

static double score(const network *net, int S, const float *r)
{
    const layer *l = &net->layers[S];
    double f = 0;
    for (int i = 0; i < l->outputs; ++i) f += (double)r[i] * l->output[i];
    return f;
}

void gct_fd_grad(network *net, int S, const float *r, int T, float eps, double *g)
{
    layer *t = &net->layers[T];
    for (int j = 0; j < t->outputs; ++j) {
        float keep = t->output[j];
        t->output[j] = keep + eps;
        gct_forward_from(net, T + 1);
        double fp = score(net, S, r);
        t->output[j] = keep - eps;
        gct_forward_from(net, T + 1);
        double fm = score(net, S, r);
        t->output[j] = keep;
        g[j] = (fp - fm) / (2.0 * (double)eps);
    }
    gct_forward_from(net, T + 1);
}

size_t gct_fd_kinks(const double *g1, const double *g2, size_t n, double atol, double rtol,
                    unsigned char *skip)
{
    size_t count = 0;
    for (size_t j = 0; j < n; ++j) {
        skip[j] = fabs(g1[j] - g2[j]) > atol + rtol * fabs(g1[j]);
        count += skip[j];
    }
    return count;
}

double gct_norm_d(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; ++i) s += x[i] * x[i];
    return sqrt(s);
}

double gct_rel_l2(const float *g, const double *ref, size_t n)
{
    double d = 0, r = 0;
    for (size_t i = 0; i < n; ++i) {
        double e = (double)g[i] - ref[i];
        d += e * e;
        r += ref[i] * ref[i];
    }
    if (r == 0) return d == 0 ? 0 : INFINITY;
    return sqrt(d / r);
}

double gct_cosine(const float *g, const double *ref, size_t n)
{
    double dot = 0, a = 0, b = 0;
    for (size_t i = 0; i < n; ++i) {
        dot += (double)g[i] * ref[i];
        a += (double)g[i] * g[i];
        b += ref[i] * ref[i];
    }
    if (a == 0 || b == 0) return 0;
    return dot / sqrt(a * b);
}

volatile size_t gct_allocs;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);

/* Fault injection. The code ranges of the plugin's own functions (src/gc_*.c)
 * come from the test binary's symbol table (nm -l, debug info); an
 * allocation whose caller lies in them is "the plugin's", and the armed
 * wrapper fails the nth of those. Darknet's own allocations are never failed:
 * Darknet does not check them, and the plugin cannot mend that. */
typedef struct code_range {
    uintptr_t lo, hi;
} code_range;
static code_range *plugin_code;
static int nplugin_code;
static volatile int fault_armed, fault_fired;
static volatile size_t fault_nth, fault_seen;

int gct_fault_init(void)
{
    if (nplugin_code) return nplugin_code;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "nm -n -S -l --defined-only /proc/%d/exe 2>/dev/null", (int)getpid());
    FILE *f = popen(cmd, "r");
    if (!f) return 0;
    char line[8192];
    long long base = -1;
    int cap = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long addr, size;
        char type, name[4096];
        if (sscanf(line, "%llx %llx %c %4095s", &addr, &size, &type, name) != 4) continue;
        if (!strcmp(name, "gct_rng_seed")) base = (long long)((uintptr_t)&gct_rng_seed - addr);
        if ((type != 't' && type != 'T') || !strstr(line, "src/gc_")) continue;
        if (nplugin_code == cap) {
            cap = cap ? 2 * cap : 256;
            code_range *g = __real_realloc(plugin_code, (size_t)cap * sizeof *g);
            if (!g) break;
            plugin_code = g;
        }
        plugin_code[nplugin_code++] = (code_range){(uintptr_t)addr, (uintptr_t)(addr + size)};
    }
    pclose(f);
    if (base < 0) return nplugin_code = 0;
    for (int i = 0; i < nplugin_code; ++i) plugin_code[i].lo += (uintptr_t)base, plugin_code[i].hi += (uintptr_t)base;
    return nplugin_code;
}

void gct_fault_arm(size_t nth)
{
    fault_nth = nth;
    fault_seen = 0;
    fault_fired = 0;
    fault_armed = 1;
}

size_t gct_fault_disarm(int *fired)
{
    fault_armed = 0;
    if (fired) *fired = fault_fired;
    return fault_seen;
}

static int fault_now(void *caller)
{
    if (!fault_armed) return 0;
    uintptr_t pc = (uintptr_t)caller;
    for (int i = 0; i < nplugin_code; ++i)
        if (pc >= plugin_code[i].lo && pc < plugin_code[i].hi) {
            if (++fault_seen != fault_nth) return 0;
            fault_fired = 1;
            return 1;
        }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    ++gct_allocs;
    if (fault_now(__builtin_return_address(0))) return NULL;
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    ++gct_allocs;
    if (fault_now(__builtin_return_address(0))) return NULL;
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    ++gct_allocs;
    if (fault_now(__builtin_return_address(0))) return NULL;
    return __real_realloc(p, n);
}
