#include "gc_testutil.h"

#include <check.h>
#include <math.h>
#include <pthread.h>
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
void __real_free(void *p);

/* Fault injection. The code ranges of the plugin's own functions (src/gc_*.c)
 * come from the test binary's symbol table (nm -l, debug info); an
 * allocation whose caller lies in them is "the plugin's", and the armed
 * wrapper fails the nth of those. Darknet's own allocations are never failed:
 * Darknet does not check them, and the plugin cannot mend that. */
typedef struct code_range {
    uintptr_t lo, hi;
    char *name;
} code_range;
static code_range *plugin_code;
static int nplugin_code;
static volatile int fault_armed, fault_fired;
static volatile size_t fault_nth, fault_seen;

/* Leak tracking while armed: every block the plugin's code allocated
 * (malloc, calloc, realloc called from src/gc_*.c) and nobody has freed yet,
 * with its caller. An open-addressing table of pointers (linear probing,
 * tombstones), in memory from the real allocator; one lock, as the plugin's
 * worker threads allocate too. */
typedef struct live_block {
    void *p;      /* NULL: empty; TOMB: deleted */
    void *caller; /* return address in the plugin's code */
} live_block;
#define TOMB ((void *)1)
static live_block *live;
static size_t live_cap, live_used, live_n; /* used: live + tombstones */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t live_slot(const void *p)
{
    uintptr_t h = (uintptr_t)p >> 4;
    h ^= h >> 17;
    h *= 0x9e3779b97f4a7c15ULL;
    return (size_t)(h ^ (h >> 29)) & (live_cap - 1);
}

static int live_grow(void)
{
    size_t cap = live_cap ? live_cap : 1024;
    while (live_n * 4 >= cap) cap *= 2;
    live_block *old = live, *t = __real_calloc(cap, sizeof *t);
    if (!t) return -1;
    size_t oldcap = live_cap;
    live = t;
    live_cap = cap;
    live_used = live_n = 0;
    for (size_t i = 0; i < oldcap; ++i)
        if (old[i].p && old[i].p != TOMB) {
            size_t j = live_slot(old[i].p);
            while (live[j].p) j = (j + 1) & (live_cap - 1);
            live[j] = old[i];
            ++live_used, ++live_n;
        }
    __real_free(old);
    return 0;
}

/* Caller holds live_lock. */
static void live_add(void *p, void *caller)
{
    if ((live_used + 1) * 2 > live_cap && live_grow()) return;
    size_t j = live_slot(p), tomb = (size_t)-1;
    for (; live[j].p; j = (j + 1) & (live_cap - 1)) {
        if (live[j].p == p) { /* freed where the wrappers could not see it */
            live[j].caller = caller;
            return;
        }
        if (live[j].p == TOMB && tomb == (size_t)-1) tomb = j;
    }
    if (tomb != (size_t)-1) j = tomb;
    else ++live_used;
    live[j] = (live_block){p, caller};
    ++live_n;
}

/* Caller holds live_lock. Returns whether p was there. */
static int live_remove(const void *p)
{
    if (!live_cap) return 0;
    for (size_t j = live_slot(p); live[j].p; j = (j + 1) & (live_cap - 1))
        if (live[j].p == p) {
            live[j].p = TOMB;
            --live_n;
            return 1;
        }
    return 0;
}

static const code_range *plugin_function(uintptr_t pc)
{
    for (int i = 0; i < nplugin_code; ++i)
        if (pc >= plugin_code[i].lo && pc < plugin_code[i].hi) return &plugin_code[i];
    return NULL;
}

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
        char *copy = __real_malloc(strlen(name) + 1);
        if (copy) strcpy(copy, name);
        plugin_code[nplugin_code++] = (code_range){(uintptr_t)addr, (uintptr_t)(addr + size), copy};
    }
    pclose(f);
    if (base < 0) return nplugin_code = 0;
    for (int i = 0; i < nplugin_code; ++i) plugin_code[i].lo += (uintptr_t)base, plugin_code[i].hi += (uintptr_t)base;
    return nplugin_code;
}

void gct_fault_arm(size_t nth)
{
    pthread_mutex_lock(&live_lock);
    if (live_cap) memset(live, 0, live_cap * sizeof *live);
    live_used = live_n = 0;
    fault_nth = nth;
    fault_seen = 0;
    fault_fired = 0;
    fault_armed = 1;
    pthread_mutex_unlock(&live_lock);
}

size_t gct_fault_disarm(int *fired)
{
    pthread_mutex_lock(&live_lock);
    fault_armed = 0;
    pthread_mutex_unlock(&live_lock);
    if (fired) *fired = fault_fired;
    return fault_seen;
}

size_t gct_fault_leaks(char *where, size_t cap)
{
    pthread_mutex_lock(&live_lock);
    size_t n = live_n, shown = 0, len = 0;
    if (cap) where[0] = '\0';
    for (size_t j = 0; j < live_cap && shown < 5; ++j)
        if (live[j].p && live[j].p != TOMB) {
            const code_range *r = plugin_function((uintptr_t)live[j].caller);
            if (len < cap)
                len += (size_t)snprintf(where + len, cap - len, "%s%s+0x%lx", shown ? ", " : "",
                                        r && r->name ? r->name : "?",
                                        r ? (unsigned long)((uintptr_t)live[j].caller - r->lo) : 0UL);
            ++shown;
        }
    pthread_mutex_unlock(&live_lock);
    return n;
}

/* Caller holds live_lock. Whether this allocation, called from caller,
 * is the plugin's nth (then it fails); 0 when not armed. *ours: the caller
 * is the plugin's code. */
static int fault_now(void *caller, int *ours)
{
    *ours = 0;
    if (!fault_armed) return 0;
    if (!plugin_function((uintptr_t)caller)) return 0;
    *ours = 1;
    if (++fault_seen != fault_nth) return 0;
    fault_fired = 1;
    return 1;
}

void *__wrap_malloc(size_t n)
{
    ++gct_allocs;
    if (!fault_armed) return __real_malloc(n);
    void *caller = __builtin_return_address(0), *p = NULL;
    int ours;
    pthread_mutex_lock(&live_lock);
    if (!fault_now(caller, &ours)) {
        p = __real_malloc(n);
        if (p && ours) live_add(p, caller);
    }
    pthread_mutex_unlock(&live_lock);
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    ++gct_allocs;
    if (!fault_armed) return __real_calloc(n, size);
    void *caller = __builtin_return_address(0), *p = NULL;
    int ours;
    pthread_mutex_lock(&live_lock);
    if (!fault_now(caller, &ours)) {
        p = __real_calloc(n, size);
        if (p && ours) live_add(p, caller);
    }
    pthread_mutex_unlock(&live_lock);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    ++gct_allocs;
    if (!fault_armed) return __real_realloc(p, n);
    void *caller = __builtin_return_address(0), *q = NULL;
    int ours;
    pthread_mutex_lock(&live_lock);
    if (!fault_now(caller, &ours)) {
        q = __real_realloc(p, n);
        /* p is gone when realloc succeeded, or freed it (size 0) */
        int had = (q || n == 0) && p ? live_remove(p) : 0;
        if (q && (ours || had)) live_add(q, caller);
    }
    pthread_mutex_unlock(&live_lock);
    return q;
}

void __wrap_free(void *p)
{
    if (p && fault_armed) {
        pthread_mutex_lock(&live_lock);
        live_remove(p);
        pthread_mutex_unlock(&live_lock);
    }
    __real_free(p);
}
