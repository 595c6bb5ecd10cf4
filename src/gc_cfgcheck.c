#include "gc_cfgcheck.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- reading, as Darknet's read_cfg() does --------------------------------- */

typedef struct kv {
    const char *key, *val;
    int line;
} kv;

typedef struct sect {
    const char *type; /* "[convolutional]", as Darknet compares it */
    int line, nkv, cap;
    kv *kv;
} sect;

typedef struct cfg {
    const char *name;
    char *buf; /* the stripped lines, NUL-separated */
    sect *s;
    int n, cap;
    gc_err *e;
    const sect *cur; /* the section being checked, for messages */
    int index;       /* its layer index */
    int flat_route;  /* the last [route] that flattened outputs of unequal sizes, or -1 */
    char flat_why[288];
    /* the last layer with truth= set: the forward reads its output as the
     * training labels of the layers after it (forward_network's net.truth) */
    long long truth_outputs;
    int truth_line; /* 0: none */
} cfg;

static void cfg_free(cfg *c)
{
    for (int i = 0; i < c->n; ++i) free(c->s[i].kv);
    free(c->s);
    free(c->buf);
}

/* Section types string_to_layer_type() knows, and the kind each one is. */
typedef enum kind {
    K_NET, K_CONV, K_DECONV, K_LOCAL, K_ACTIVE, K_LOGISTIC, K_L2NORM, K_CRNN, K_GRU, K_LSTM, K_RNN,
    K_CONNECTED, K_MAXPOOL, K_REORG, K_AVGPOOL, K_DROPOUT, K_LRN, K_BATCHNORM, K_SOFTMAX, K_ROUTE,
    K_UPSAMPLE, K_SHORTCUT, K_CROP, K_COST, K_DETECTION, K_REGION, K_YOLO, K_ISEG, K_UNKNOWN
} kind;

static const struct {
    const char *name;
    kind k;
} kinds[] = {
    {"[net]", K_NET}, {"[network]", K_NET}, {"[conv]", K_CONV}, {"[convolutional]", K_CONV},
    {"[deconv]", K_DECONV}, {"[deconvolutional]", K_DECONV}, {"[local]", K_LOCAL},
    {"[activation]", K_ACTIVE}, {"[logistic]", K_LOGISTIC}, {"[l2norm]", K_L2NORM}, {"[crnn]", K_CRNN},
    {"[gru]", K_GRU}, {"[lstm]", K_LSTM}, {"[rnn]", K_RNN}, {"[conn]", K_CONNECTED}, {"[connected]", K_CONNECTED},
    {"[max]", K_MAXPOOL}, {"[maxpool]", K_MAXPOOL}, {"[reorg]", K_REORG}, {"[avg]", K_AVGPOOL},
    {"[avgpool]", K_AVGPOOL}, {"[dropout]", K_DROPOUT}, {"[lrn]", K_LRN}, {"[normalization]", K_LRN},
    {"[batchnorm]", K_BATCHNORM}, {"[soft]", K_SOFTMAX}, {"[softmax]", K_SOFTMAX}, {"[route]", K_ROUTE},
    {"[upsample]", K_UPSAMPLE}, {"[shortcut]", K_SHORTCUT}, {"[crop]", K_CROP}, {"[cost]", K_COST},
    {"[detection]", K_DETECTION}, {"[region]", K_REGION}, {"[yolo]", K_YOLO}, {"[iseg]", K_ISEG},
};

static kind kind_of(const char *type)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; ++i)
        if (!strcmp(type, kinds[i].name)) return kinds[i].k;
    return K_UNKNOWN;
}

static int add_section(cfg *c, const char *type, int line)
{
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        sect *s = realloc(c->s, (size_t)cap * sizeof *s);
        if (!s) return -1;
        c->s = s;
        c->cap = cap;
    }
    c->s[c->n++] = (sect){type, line, 0, 0, NULL};
    return 0;
}

static int add_kv(sect *s, const char *key, const char *val, int line)
{
    if (s->nkv == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        kv *k = realloc(s->kv, (size_t)cap * sizeof *k);
        if (!k) return -1;
        s->kv = k;
        s->cap = cap;
    }
    s->kv[s->nkv++] = (kv){key, val, line};
    return 0;
}

static int read_sections(cfg *c, const char *text, size_t len)
{
    const char *name = c->name;
    gc_err *e = c->e;
    if (len >= 3 && (unsigned char)text[0] == 0xef && (unsigned char)text[1] == 0xbb && (unsigned char)text[2] == 0xbf)
        return gc_fail(e, "cfg file %s starts with a UTF-8 byte-order mark, which Darknet cannot read: "
                          "save it without the BOM", name);
    if (!(c->buf = malloc(len + 1))) return gc_fail(e, "out of memory reading cfg file %s", name);
    int line = 1;
    for (size_t i = 0; i < len; ++i) {
        if (text[i] == '\0') return gc_fail(e, "cfg file %s line %d: contains a NUL byte (binary file?)", name, line);
        if (text[i] == '\r')
            return gc_fail(e, "cfg file %s line %d: has Windows (CRLF) line endings, which Darknet cannot read: "
                              "convert it with dos2unix", name, line);
        if (text[i] == '\n') ++line;
    }
    /* Copy line by line, dropping spaces and tabs as Darknet's strip() does. */
    size_t o = 0;
    line = 0;
    for (size_t i = 0; i < len;) {
        ++line;
        char *start = c->buf + o;
        while (i < len && text[i] != '\n') {
            char ch = text[i++];
            if (ch != ' ' && ch != '\t') c->buf[o++] = ch;
        }
        ++i; /* the newline */
        c->buf[o++] = '\0';
        switch (start[0]) {
        case '\0':
        case '#':
        case ';': continue;
        case '[':
            if (start[strlen(start) - 1] != ']')
                return gc_fail(e, "cfg file %s line %d: section header %.64s has no closing ]", name, line, start);
            if (kind_of(start) == K_UNKNOWN)
                return gc_fail(e, "cfg file %s line %d: unknown section %.64s", name, line, start);
            if (kind_of(start) == K_NET && c->n > 0)
                return gc_fail(e, "cfg file %s line %d: %s must be the first section only", name, line, start);
            if (c->n == 0 && kind_of(start) != K_NET)
                return gc_fail(e, "cfg file %s line %d: first section must be [net], not %.64s", name, line, start);
            if (add_section(c, start, line)) return gc_fail(e, "out of memory reading cfg file %s", name);
            continue;
        default: break;
        }
        if (c->n == 0)
            return gc_fail(e, "cfg file %s line %d: %.64s comes before the first section ([net])", name, line, start);
        char *eq = strchr(start, '=');
        if (!eq) return gc_fail(e, "cfg file %s line %d: %.64s is not key=value", name, line, start);
        if (eq == start) return gc_fail(e, "cfg file %s line %d: %.64s has no key", name, line, start);
        if (!eq[1]) return gc_fail(e, "cfg file %s line %d: %.64s has no value", name, line, start);
        *eq = '\0';
        if (add_kv(&c->s[c->n - 1], start, eq + 1, line)) return gc_fail(e, "out of memory reading cfg file %s", name);
    }
    if (c->n == 0) return gc_fail(e, "cfg file %s has no [net] section", name);
    if (c->n == 1) return gc_fail(e, "cfg file %s has no layers", name);
    return 0;
}

/* ---- values ---------------------------------------------------------------- */

static const kv *find(const sect *s, const char *key)
{
    for (int i = 0; i < s->nkv; ++i)
        if (!strcmp(s->kv[i].key, key)) return &s->kv[i]; /* option_find(): the first one wins */
    return NULL;
}

/* "cfg file F line L: [type] key=value: <why>" (the section's line when the key is absent). */
static int kfail(cfg *c, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int kfail(cfg *c, const char *key, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    const kv *k = key ? find(c->cur, key) : NULL;
    /* `filters=24 # first layer`: Darknet's reader drops a line's spaces and
     * has comments only as whole lines, so the value is "24#firstlayer"
     * (atoi reads 24; `activation=leaky # x` is an unknown activation) */
    if (k && strpbrk(k->val, "#;"))
        return gc_fail(c->e, "cfg file %s line %d: %s %s=%.40s: %s (a comment after a value is part of it to Darknet, "
                             "which drops the line's spaces: put comments on lines of their own)",
                       c->name, k->line, c->cur->type, k->key, k->val, why);
    if (k)
        return gc_fail(c->e, "cfg file %s line %d: %s %s=%.40s: %s", c->name, k->line, c->cur->type, k->key, k->val,
                       why);
    if (key)
        return gc_fail(c->e, "cfg file %s line %d: %s (%s): %s", c->name, c->cur->line, c->cur->type, key, why);
    return gc_fail(c->e, "cfg file %s line %d: %s: %s", c->name, c->cur->line, c->cur->type, why);
}

static int parse_long(const char *s, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < INT_MIN || v > INT_MAX) return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || fabs(v) > 3.4e38) return -1;
    *out = v;
    return 0;
}

/* An integer key in lo..hi (def when absent). */
static int get_int(cfg *c, const char *key, long long def, long long lo, long long hi, long long *out)
{
    const kv *k = find(c->cur, key);
    long long v = def;
    if (k && parse_long(k->val, &v)) return kfail(c, key, "not an integer");
    if (v < lo || v > hi) {
        if (k) return kfail(c, key, "must be in %lld..%lld", lo, hi);
        return kfail(c, key, "the default %lld is not allowed here: set %s", def, key);
    }
    *out = v;
    return 0;
}

static int get_float(cfg *c, const char *key, double lo, double hi)
{
    const kv *k = find(c->cur, key);
    double v;
    if (!k) return 0;
    if (parse_double(k->val, &v)) return kfail(c, key, "not a finite number");
    if (v < lo || v > hi) return kfail(c, key, "must be in %g..%g", lo, hi);
    return 0;
}

/* Darknet's comma lists (mask, anchors, layers, steps): it counts commas and
 * atoi()s/atof()s each piece. Returns the count, or -1 with e set. */
static int get_list(cfg *c, const char *key, int integers, long long *vals, int cap)
{
    const kv *k = find(c->cur, key);
    if (!k) return 0;
    int n = 0;
    for (const char *p = k->val;; ++n) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char tok[64];
        if (len == 0 || len >= sizeof tok) return kfail(c, key, "item %d is empty or too long", n + 1);
        memcpy(tok, p, len);
        tok[len] = '\0';
        long long v = 0;
        double d;
        if (integers ? parse_long(tok, &v) : parse_double(tok, &d))
            return kfail(c, key, "item %d (%s) is not %s", n + 1, tok, integers ? "an integer" : "a finite number");
        if (n >= cap) return kfail(c, key, "more than %d items", cap);
        if (vals) vals[n] = integers ? v : 0;
        if (!comma) return n + 1;
        p = comma + 1;
    }
}

static const char *const activations[] = {"logistic", "loggy", "relu", "elu", "selu", "relie", "plse",
                                          "hardtan", "lhtan", "linear", "ramp", "leaky", "tanh", "stair"};

static int check_activation(cfg *c)
{
    const kv *k = find(c->cur, "activation");
    if (!k) return 0;
    for (size_t i = 0; i < sizeof activations / sizeof activations[0]; ++i)
        if (!strcmp(k->val, activations[i])) return 0;
    return kfail(c, "activation", "unknown activation (Darknet would silently use relu)");
}

/* Keys of AlexeyAB's Darknet that change what a layer computes. This
 * Darknet's parser skips them (its "Unused field" line is among the messages
 * gradcam hides), so it would build another network than the cfg describes:
 * silently (a dilated or anti-aliased convolution run as a plain one), or one
 * whose weights then "do not match" (yolov4-tiny's [route] groups=2). A key at
 * its neutral value (NULL: the layer's stride=, default 1) changes nothing. */
static const struct foreign_key {
    kind k;
    const char *key, *neutral, *what;
} foreign_keys[] = {
    {K_CONV, "dilation", "1", "a dilated convolution"},
    {K_CONV, "stride_x", NULL, "a horizontal stride of its own"},
    {K_CONV, "stride_y", NULL, "a vertical stride of its own"},
    {K_CONV, "antialiasing", "0", "a blur after the stride"},
    {K_CONV, "share_index", "-1000000000", "another layer's weights"},
    {K_MAXPOOL, "stride_x", NULL, "a horizontal stride of its own"},
    {K_MAXPOOL, "stride_y", NULL, "a vertical stride of its own"},
    {K_MAXPOOL, "maxpool_depth", "0", "a maximum across channels"},
    {K_MAXPOOL, "antialiasing", "0", "a blur after the stride"},
    {K_ROUTE, "groups", "1", "one group of its input's channels"},
    {K_SHORTCUT, "weights_type", "none", "weighted inputs"},
};

static int same_value(const char *a, const char *b)
{
    long long x, y;
    if (!parse_long(a, &x) && !parse_long(b, &y)) return x == y;
    return !strcmp(a, b);
}

static int check_foreign_keys(cfg *c, kind k)
{
    const kv *stride = find(c->cur, "stride");
    for (size_t i = 0; i < sizeof foreign_keys / sizeof foreign_keys[0]; ++i) {
        const struct foreign_key *f = &foreign_keys[i];
        const kv *v = f->k == k ? find(c->cur, f->key) : NULL;
        if (!v || same_value(v->val, f->neutral ? f->neutral : stride ? stride->val : "1")) continue;
        return kfail(c, f->key, "is AlexeyAB's Darknet's (%s), which this Darknet ignores: it would run another "
                                "network than the cfg describes", f->what);
    }
    return 0;
}

static int check_file_key(cfg *c, const char *key)
{
    const kv *k = find(c->cur, key);
    if (!k) return 0;
    /* read_tree()/read_map() call file_error(), which exits with status 0. */
    if (access(k->val, R_OK) != 0) return kfail(c, key, "cannot read the file: %s", strerror(errno));
    return 0;
}

/* A tree= file as Darknet's read_tree() (src/tree.c) reads it: a node a
 * line (fgetl's lines), "name parent" through sscanf("%s %d"), a missing
 * parent -1. read_tree keeps no bounds: a name over 255 characters
 * overflows its 256-byte buffer, a parent past the node's own line is
 * written past its child array, and a line starting with a NUL byte is read
 * before its start. Sets *nodes to the number of nodes; none without tree=. */
static int check_tree_file(cfg *c, long long *nodes)
{
    *nodes = -1;
    const kv *k = find(c->cur, "tree");
    if (!k) return 0;
    if (check_file_key(c, "tree")) return -1;
    FILE *f = fopen(k->val, "rb");
    if (!f) return kfail(c, "tree", "cannot read the file: %s", strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long long n = 0;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (memchr(line, 0, (size_t)len)) {
            rc = kfail(c, "tree", "line %lld contains a NUL byte", n + 1);
            break;
        }
        const char *p = line;
        while (*p && strchr(" \t\n\v\f\r", *p)) ++p;
        size_t idlen = strcspn(p, " \t\n\v\f\r");
        if (idlen > 255) {
            rc = kfail(c, "tree", "line %lld: the name is %zu characters long; Darknet's read_tree() holds at most 255",
                       n + 1, idlen);
            break;
        }
        p += idlen;
        char *end;
        errno = 0;
        long long parent = idlen ? strtoll(p, &end, 10) : -1;
        if (idlen && end == p) parent = -1;
        if (errno == ERANGE || parent > INT_MAX || parent < INT_MIN) {
            rc = kfail(c, "tree", "line %lld: the parent is not an int", n + 1);
            break;
        }
        if (parent >= n) {
            rc = kfail(c, "tree", "line %lld names parent %lld, which is not an earlier line (0..%lld): Darknet's "
                       "read_tree() would write past its arrays", n + 1, parent, n - 1);
            break;
        }
        ++n;
    }
    free(line);
    fclose(f);
    *nodes = n;
    return rc;
}

/* ---- shapes, as parse_network_cfg() computes them --------------------------- */

typedef struct shape {
    long long w, h, c, outputs;
} shape;

#define BIG ((long long)INT_MAX)
#define KEY_MAX 1000000000LL

static int image(const shape *s) { return s->w > 0 && s->h > 0 && s->c > 0; }

static int need_image(cfg *c, const shape *in)
{
    if (image(in)) return 0;
    if (c->flat_route == c->index - 1)
        return kfail(c, NULL, "needs an image-shaped input (w x h x c) but its input is flat: %s", c->flat_why);
    return kfail(c, NULL, "needs an image-shaped input (w x h x c) but its input is flat (%lld values)", in->outputs);
}

/* Where mul() saturates: far above any int size, so that a product that
 * does not reach it is exact (and shown as it is), and far enough below
 * 2^63 that the few sums and small multiples taken of a product before it
 * is checked cannot overflow. */
#define SAT (1LL << 60)

/* An int size Darknet computes (outputs * batch, nweights, ...): must fit an int. */
static int fits(cfg *c, const char *key, long long v, const char *what)
{
    if (v >= 1 && v <= BIG) return 0;
    if (v < 1) return kfail(c, key, "%s would be %lld (must be at least 1)", what, v);
    if (v >= SAT) return kfail(c, key, "%s would be over 10^18, more than Darknet's int sizes hold", what);
    return kfail(c, key, "%s would be %lld, more than Darknet's int sizes hold", what, v);
}

/* a * b for non-negative factors, saturated at SAT (exact below it). */
static long long mul(long long a, long long b)
{
    if (a <= 0 || b <= 0) return a * b;
    if (a > SAT / b) return SAT;
    long long p = a * b;
    return p > SAT ? SAT : p;
}

/* [cost], [softmax] (unless noloss=1) and [logistic] read inputs x batch
 * labels from net.truth when a layer before them has truth= set. */
static int check_truth_reader(cfg *c, const shape *in)
{
    if (!c->truth_line || c->truth_outputs >= in->outputs) return 0;
    long long noloss = 0;
    if (kind_of(c->cur->type) == K_SOFTMAX && get_int(c, "noloss", 0, INT_MIN, INT_MAX, &noloss)) return -1;
    if (noloss) return 0;
    return kfail(c, NULL, "reads %lld training labels from the output of the layer with truth= at line %d, which "
                          "has only %lld values", in->outputs, c->truth_line, c->truth_outputs);
}

static int check_common(cfg *c)
{
    static const char *const ints[] = {"truth", "onlyforward", "stopbackward", "dontsave", "dontload",
                                       "dontloadscales"};
    long long v;
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; ++i)
        if (get_int(c, ints[i], 0, INT_MIN, INT_MAX, &v)) return -1;
    if (get_int(c, "numload", 0, 0, INT_MAX, &v)) return -1;
    if (get_float(c, "learning_rate", -1e30, 1e30) || get_float(c, "smooth", -1e30, 1e30)) return -1;
    return 0;
}

/* Patch 0006's switch; weak, so that the build against stock Darknet links. */
extern int parse_batch __attribute__((weak));

int gc_cfgcheck_one_image_parse(void)
{
    return &parse_batch != NULL;
}

static int check_net(cfg *c, shape *in, int *batch_out)
{
    long long batch, subdiv, steps, v;
    if (get_int(c, "batch", 1, 1, KEY_MAX, &batch) || get_int(c, "subdivisions", 1, 1, KEY_MAX, &subdiv) ||
        get_int(c, "time_steps", 1, 1, KEY_MAX, &steps))
        return -1;
    if (subdiv > batch) return kfail(c, "subdivisions", "more than batch=%lld: Darknet's batch would be 0", batch);
    long long b = gc_cfgcheck_one_image_parse() ? steps : mul(batch / subdiv, steps);
    if (fits(c, "batch", b, "batch / subdivisions * time_steps")) return -1;
    static const char *const ints[] = {"notruth", "random", "adam", "center", "burn_in", "step", "max_batches",
                                       "max_crop", "min_crop"};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; ++i)
        if (get_int(c, ints[i], 0, INT_MIN, INT_MAX, &v)) return -1;
    static const char *const floats[] = {"learning_rate", "momentum", "decay", "B1", "B2", "eps", "max_ratio",
                                         "min_ratio", "clip", "angle", "aspect", "saturation", "exposure", "hue",
                                         "power", "scale", "gamma"};
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; ++i)
        if (get_float(c, floats[i], -1e30, 1e30)) return -1;
    long long w, h, ch, inputs;
    if (get_int(c, "height", 0, 0, KEY_MAX, &h) || get_int(c, "width", 0, 0, KEY_MAX, &w) ||
        get_int(c, "channels", 0, 0, KEY_MAX, &ch))
        return -1;
    long long whc = mul(mul(w, h), ch);
    if (w || h || ch) {
        if (!w || !h || !ch) return kfail(c, !w ? "width" : !h ? "height" : "channels", "must be set and positive");
        if (fits(c, "width", whc, "width * height * channels")) return -1;
    }
    if (get_int(c, "inputs", whc, 0, KEY_MAX, &inputs)) return -1;
    if (w || h || ch) {
        if (inputs != whc) return kfail(c, "inputs", "differs from width * height * channels = %lld", whc);
    }
    if (fits(c, "inputs", mul(inputs, b), "inputs * batch")) return -1;
    const kv *policy = find(c->cur, "policy");
    if (policy && !strcmp(policy->val, "steps")) {
        if (get_list(c, "steps", 1, NULL, 1000) < 0 || get_list(c, "scales", 0, NULL, 1000) < 0) return -1;
        if (!find(c->cur, "steps") || !find(c->cur, "scales"))
            return kfail(c, "policy", "policy=steps needs steps= and scales=");
        if (get_list(c, "steps", 1, NULL, 1000) != get_list(c, "scales", 0, NULL, 1000))
            return kfail(c, "scales", "needs as many items as steps=");
    }
    *in = (shape){w, h, ch, inputs};
    *batch_out = (int)b;
    return 0;
}

/* One layer: reads its keys, checks them against its input, gives its output
 * shape and how many floats of parameters it holds. */
static int check_layer(cfg *c, int index, kind k, const shape *in, const shape *all, int batch, shape *out,
                       long long *params, long long *ws_give, long long *ws_need, double *flops)
{
    long long n, size, stride, pad, padding, groups, v, nodes;
    *out = *in;
    *params = 0;
    *ws_give = *ws_need = 0;
    *flops = 0;
    if (check_common(c) || check_activation(c) || check_foreign_keys(c, k)) return -1;
    if (in->outputs < 1) return kfail(c, NULL, "its input is empty");
    switch (k) {
    case K_CONV:
    case K_DECONV:
    case K_LOCAL: {
        if (need_image(c, in)) return -1;
        if (get_int(c, "filters", 1, 1, KEY_MAX, &n) || get_int(c, "size", 1, 1, KEY_MAX, &size) ||
            get_int(c, "stride", 1, 1, KEY_MAX, &stride) || get_int(c, "pad", 0, INT_MIN, INT_MAX, &pad) ||
            get_int(c, "padding", 0, 0, KEY_MAX, &padding) || get_int(c, "batch_normalize", 0, INT_MIN, INT_MAX, &v))
            return -1;
        groups = 1;
        if (k == K_CONV) {
            if (get_int(c, "groups", 1, 1, KEY_MAX, &groups) || get_int(c, "binary", 0, INT_MIN, INT_MAX, &v) ||
                get_int(c, "xnor", 0, INT_MIN, INT_MAX, &v) || get_int(c, "flipped", 0, INT_MIN, INT_MAX, &v) ||
                get_float(c, "dot", -1e30, 1e30))
                return -1;
            if (in->c % groups) return kfail(c, "groups", "does not divide the %lld input channels", in->c);
            if (n % groups) return kfail(c, "groups", "does not divide filters=%lld", n);
        }
        /* load_convolutional_weights() freads numload filters' biases,
         * batch-norm values and weights into arrays sized for filters= */
        if (k != K_LOCAL && get_int(c, "numload", 0, 0, INT_MAX, &v) == 0 && v > n)
            return kfail(c, "numload", "loads %lld filters' weights into a layer of filters=%lld", v, n);
        long long oh, ow;
        if (k == K_LOCAL) {
            if (pad < 0) return kfail(c, "pad", "must not be negative");
            oh = ((pad ? in->h - 1 : in->h - size)) / stride + 1;
            ow = ((pad ? in->w - 1 : in->w - size)) / stride + 1;
            if (!pad && (in->h < size || in->w < size)) oh = ow = 0;
            /* forward_local_layer's im2col pads by the raw pad value */
            long long ih = (in->h + 2 * pad - size) / stride + 1, iw = (in->w + 2 * pad - size) / stride + 1;
            if (oh >= 1 && ow >= 1 && (ih != oh || iw != ow))
                return kfail(c, "pad", "with size=%lld, Darknet's output size (%lld x %lld) and its im2col's (%lld x "
                             "%lld) disagree: use pad=0, or pad=1 with size=3", size, ow, oh, iw, ih);
        } else {
            if (pad) padding = size / 2;
            if (k == K_CONV) {
                long long th = in->h + 2 * padding - size, tw = in->w + 2 * padding - size;
                oh = th < 0 ? 0 : th / stride + 1;
                ow = tw < 0 ? 0 : tw / stride + 1;
            } else {
                oh = mul(in->h - 1, stride) + size - 2 * padding;
                ow = mul(in->w - 1, stride) + size - 2 * padding;
            }
        }
        if (oh < 1 || ow < 1)
            return kfail(c, "size", "gives an empty output (%lld x %lld) on a %lld x %lld input", ow, oh, in->w, in->h);
        *out = (shape){ow, oh, n, mul(mul(ow, oh), n)};
        long long kern = mul(mul(mul(in->c / groups, n), size), size);
        *params = k == K_LOCAL ? mul(kern, mul(ow, oh)) : kern;
        if (kern > BIG || *params > BIG)
            return kfail(c, NULL, "filters=%lld x size=%lld x size x %lld input channels%s: the weight count is more "
                         "than Darknet's int sizes hold", n, size, in->c / groups,
                         k == K_LOCAL ? " x output cells" : "");
        long long ws = k == K_DECONV ? mul(mul(mul(in->w, in->h), mul(size, size)), n)
                                     : mul(mul(mul(ow, oh), mul(size, size)), in->c / groups);
        if (fits(c, "size", ws, "the im2col workspace")) return -1;
        /* make_local_layer() gives its workspace in floats where the others
         * give bytes; the network allocates the largest, in bytes. */
        *ws_need = 4 * ws;
        *ws_give = k == K_LOCAL ? ws : 4 * ws;
        /* multiply-adds of the forward pass, x2 */
        *flops = 2.0 * (double)kern * (double)(k == K_DECONV ? in->w * in->h : ow * oh);
        *params += 4 * n;
        break;
    }
    case K_CONNECTED:
    case K_RNN:
    case K_GRU:
    case K_LSTM:
        if (get_int(c, "output", 1, 1, KEY_MAX, &n) || get_int(c, "batch_normalize", 0, INT_MIN, INT_MAX, &v) ||
            get_int(c, "shortcut", 0, INT_MIN, INT_MAX, &v) || get_int(c, "tanh", 0, INT_MIN, INT_MAX, &v))
            return -1;
        *params = mul(mul(in->outputs + n, n), k == K_CONNECTED ? 1 : 8);
        if (fits(c, "output", *params, "the weight count")) return -1;
        *flops = 2.0 * (double)*params;
        *out = k == K_CONNECTED ? (shape){1, 1, n, n} : (shape){0, 0, 0, n};
        break;
    case K_CRNN: {
        long long hidden, outf;
        if (need_image(c, in) || get_int(c, "output_filters", 1, 1, KEY_MAX, &outf) ||
            get_int(c, "hidden_filters", 1, 1, KEY_MAX, &hidden) ||
            get_int(c, "batch_normalize", 0, INT_MIN, INT_MAX, &v) || get_int(c, "shortcut", 0, INT_MIN, INT_MAX, &v))
            return -1;
        *params = mul(mul(in->c + 2 * hidden + outf, hidden + outf), 9);
        if (fits(c, "hidden_filters", *params, "the weight count")) return -1;
        *out = (shape){in->w, in->h, outf, mul(mul(in->w, in->h), outf)};
        /* its three 3x3 convolutions use the network's workspace but give none */
        *ws_need = 4 * mul(mul(in->w, in->h), mul(9, in->c > hidden ? in->c : hidden));
        *flops = 2.0 * 9 * (double)in->w * (double)in->h * (double)(in->c * hidden + hidden * hidden + hidden * outf);
        break;
    }
    case K_MAXPOOL:
        if (need_image(c, in) || get_int(c, "stride", 1, 1, KEY_MAX, &stride)) return -1;
        if (get_int(c, "size", stride, 1, KEY_MAX, &size) || get_int(c, "padding", size - 1, 0, KEY_MAX, &padding))
            return -1;
        {
            long long tw = in->w + padding - size, th = in->h + padding - size;
            if (tw < 0 || th < 0)
                return kfail(c, "size", "is larger than the %lld x %lld input plus padding", in->w, in->h);
            *out = (shape){tw / stride + 1, th / stride + 1, in->c, 0};
            /* one comparison per window element: small on real nets, but a
             * window the size of a large input is as slow as a convolution */
            *flops = (double)out->w * (double)out->h * (double)in->c * (double)size * (double)size;
        }
        break;
    case K_AVGPOOL:
        if (need_image(c, in)) return -1;
        *out = (shape){1, 1, in->c, in->c};
        break;
    case K_REORG: {
        long long reverse, flatten, extra;
        if (need_image(c, in) || get_int(c, "stride", 1, 1, 1024, &stride) ||
            get_int(c, "reverse", 0, INT_MIN, INT_MAX, &reverse) ||
            get_int(c, "flatten", 0, INT_MIN, INT_MAX, &flatten) ||
            get_int(c, "extra", 0, 0, KEY_MAX, &extra))
            return -1;
        long long s2 = stride * stride;
        if (extra) {
            *out = (shape){0, 0, 0, in->outputs + extra};
        } else if (in->c % s2 || in->w % stride || in->h % stride) {
            return kfail(c, "stride", "the %lld x %lld x %lld input is not divisible by the stride (w, h by %lld, "
                                      "channels by %lld)", in->w, in->h, in->c, stride, s2);
        } else if (reverse) {
            *out = (shape){in->w * stride, in->h * stride, in->c / s2, in->outputs};
        } else {
            *out = (shape){in->w / stride, in->h / stride, in->c * s2, in->outputs};
        }
        break;
    }
    case K_UPSAMPLE:
        if (need_image(c, in) || get_int(c, "stride", 2, -1024, 1024, &stride) || get_float(c, "scale", -1e30, 1e30))
            return -1;
        if (stride == 0) return kfail(c, "stride", "must not be 0");
        if (stride > 0) *out = (shape){in->w * stride, in->h * stride, in->c, 0};
        else *out = (shape){in->w / -stride, in->h / -stride, in->c, 0};
        if (out->w < 1 || out->h < 1)
            return kfail(c, "stride", "gives an empty output on a %lld x %lld input", in->w, in->h);
        break;
    case K_DROPOUT:
        if (index == 0) return kfail(c, NULL, "cannot be the first layer (it reuses the previous layer's output)");
        if (get_float(c, "probability", 0, 0.999999)) return -1;
        break;
    case K_LRN:
        if (need_image(c, in) || get_int(c, "size", 5, 1, KEY_MAX, &size) || get_float(c, "alpha", -1e30, 1e30) ||
            get_float(c, "beta", -1e30, 1e30) || get_float(c, "kappa", -1e30, 1e30))
            return -1;
        /* forward_normalization_layer() first sums the squares of channels
         * 0 .. size/2 - 1, unchecked */
        if (size / 2 > in->c)
            return kfail(c, "size", "sums %lld channels but its input has %lld: at most size=%lld", size / 2, in->c,
                         2 * in->c + 1);
        break;
    case K_BATCHNORM:
        if (need_image(c, in)) return -1;
        *params = 3 * in->c;
        break;
    case K_ACTIVE:
    case K_LOGISTIC:
    case K_L2NORM:
        break;
    case K_COST:
        if (get_float(c, "scale", -1e30, 1e30) || get_float(c, "ratio", -1e30, 1e30) ||
            get_float(c, "noobj", -1e30, 1e30) || get_float(c, "thresh", -1e30, 1e30))
            return -1;
        *out = (shape){0, 0, 0, in->outputs};
        break;
    case K_SOFTMAX:
        if (get_int(c, "groups", 1, 1, KEY_MAX, &groups) || get_int(c, "noloss", 0, INT_MIN, INT_MAX, &v) ||
            get_float(c, "temperature", -1e30, 1e30) || get_float(c, "spatial", -1e30, 1e30) ||
            check_tree_file(c, &nodes))
            return -1;
        if (in->outputs % groups) return kfail(c, "groups", "does not divide the %lld inputs", in->outputs);
        /* forward_softmax_layer() writes one output per node; the class
         * probabilities (hierarchy_predictions) read a node per input */
        if (nodes >= 0 && nodes != in->outputs)
            return kfail(c, "tree", "has %lld node%s but the layer has %lld inputs (one node per class): %s", nodes,
                         nodes == 1 ? "" : "s", in->outputs,
                         nodes > in->outputs ? "Darknet's softmax would write past its output"
                                             : "the class probabilities (hierarchy_predictions) would read past the tree");
        *out = (shape){0, 0, 0, in->outputs};
        break;
    case K_CROP: {
        long long ch, cw;
        /* gradcam draws the maps of the layers above a first-layer crop on
         * its centred window of the input (gc_darknet_input_window); above a
         * later one the window of the input is not traced */
        if (index > 0)
            return kfail(c, NULL, "gradcam supports a crop only as the first layer (it places the maps above a crop "
                                  "on the window it takes of the network input)");
        if (need_image(c, in) || get_int(c, "crop_height", 1, 1, KEY_MAX, &ch) ||
            get_int(c, "crop_width", 1, 1, KEY_MAX, &cw) || get_int(c, "flip", 0, INT_MIN, INT_MAX, &v) ||
            get_int(c, "noadjust", 0, INT_MIN, INT_MAX, &v) || get_float(c, "angle", -1e30, 1e30) ||
            get_float(c, "saturation", -1e30, 1e30) || get_float(c, "exposure", -1e30, 1e30) ||
            get_float(c, "shift", -1e30, 1e30))
            return -1;
        if (ch > in->h || cw > in->w)
            return kfail(c, ch > in->h ? "crop_height" : "crop_width", "is larger than the %lld x %lld input", in->w,
                         in->h);
        *out = (shape){cw, ch, in->c, 0};
        break;
    }
    case K_SHORTCUT: {
        long long from;
        if (!find(c->cur, "from")) return kfail(c, "from", "is required");
        if (need_image(c, in) || get_int(c, "from", 0, INT_MIN, INT_MAX, &from) || get_float(c, "alpha", -1e30, 1e30) ||
            get_float(c, "beta", -1e30, 1e30))
            return -1;
        if (from < 0) from += index;
        if (from < 0 || from >= index)
            return kfail(c, "from", "names layer %lld; only layers 0..%d come before this one", from, index - 1);
        const shape *f = &all[from];
        if (!image(f)) return kfail(c, "from", "layer %lld's output is flat, not an image", from);
        /* shortcut_cpu() asserts that the two sizes are integer multiples alike in w and h. */
        if (f->w / in->w != f->h / in->h || in->w / f->w != in->h / f->h)
            return kfail(c, "from", "layer %lld's %lld x %lld output does not scale to the %lld x %lld input by one "
                                    "integer factor", from, f->w, f->h, in->w, in->h);
        break;
    }
    case K_ROUTE: {
        long long idx[64];
        if (!find(c->cur, "layers")) return kfail(c, "layers", "is required");
        int m = get_list(c, "layers", 1, idx, 64);
        if (m < 0) return -1;
        shape r = {0, 0, 0, 0};
        for (int i = 0; i < m; ++i) {
            long long j = idx[i] < 0 ? index + idx[i] : idx[i];
            if (j < 0 || j >= index)
                return kfail(c, "layers", "names layer %lld; only layers 0..%d come before this one", j, index - 1);
            const shape *f = &all[j];
            if (i > 0 && image(&r) && image(f) && (f->w != r.w || f->h != r.h)) {
                /* a route of unequal images is a flat vector in Darknet: fine
                 * before [connected], else what a width or height that is not
                 * a multiple of the network's stride gives */
                snprintf(c->flat_why, sizeof c->flat_why, "the [route] at line %d joins layer %lld's %lld x %lld "
                         "output with layer %lld's %lld x %lld (is [net] width/height a multiple of the network's "
                         "stride, 32 for YOLO?)", c->cur->line, idx[0] < 0 ? index + idx[0] : idx[0], r.w, r.h, j,
                         f->w, f->h);
                c->flat_route = index;
            }
            if (i == 0) r = *f;
            else if (f->w == r.w && f->h == r.h && image(&r)) r.c += f->c, r.outputs += f->outputs;
            else r = (shape){0, 0, 0, r.outputs + f->outputs};
        }
        *out = r;
        if (fits(c, "layers", out->outputs, "the output size")) return -1;
        break;
    }
    case K_YOLO:
    case K_REGION: {
        long long classes, num, coords = 4, mask[256];
        if (need_image(c, in) || get_int(c, "classes", 20, 1, 100000, &classes) ||
            get_int(c, "num", 1, 1, 10000, &num) || get_int(c, "max", 90, INT_MIN, INT_MAX, &v) ||
            get_int(c, "random", 0, INT_MIN, INT_MAX, &v) || get_float(c, "jitter", -1e30, 1e30) ||
            check_file_key(c, "map"))
            return -1;
        int used = (int)num;
        if (k == K_YOLO) {
            if (get_float(c, "ignore_thresh", -1e30, 1e30) || get_float(c, "truth_thresh", -1e30, 1e30)) return -1;
            /* AlexeyAB's Darknet's keys, which this Darknet's parser skips */
            long long nc;
            if (get_int(c, "new_coords", 0, INT_MIN, INT_MAX, &nc)) return -1;
            if (nc)
                return kfail(c, "new_coords", "AlexeyAB's Darknet decodes such a head (YOLOv7, Scaled-YOLOv4) otherwise "
                                              "than this Darknet, which would read wrong boxes and objectness from it");
            const kv *sxy = find(c->cur, "scale_x_y");
            double sv;
            if (sxy && parse_double(sxy->val, &sv)) return kfail(c, "scale_x_y", "not a finite number");
            if (sxy && sv != 1)
                gc_print_line(stderr, "gradcam: warning: cfg file %s line %d: [yolo] scale_x_y=%s is AlexeyAB's Darknet's; "
                                      "this Darknet decodes the boxes without it (centres off by up to %.3g of a cell)",
                        c->name, sxy->line, sxy->val, fabs(sv - 1) / 2);
            int m = get_list(c, "mask", 1, mask, 256);
            if (m < 0) return -1;
            for (int i = 0; i < m; ++i)
                if (mask[i] < 0 || mask[i] >= num)
                    return kfail(c, "mask", "index %lld is not an anchor: num=%lld allows 0..%lld", mask[i], num,
                                 num - 1);
            if (m) used = m;
        } else {
            static const char *const ints[] = {"log", "sqrt", "softmax", "background", "rescore", "classfix",
                                               "absolute", "bias_match"};
            for (size_t i = 0; i < sizeof ints / sizeof ints[0]; ++i)
                if (get_int(c, ints[i], 0, INT_MIN, INT_MAX, &v)) return -1;
            static const char *const fl[] = {"thresh", "coord_scale", "object_scale", "noobject_scale",
                                             "mask_scale", "class_scale"};
            for (size_t i = 0; i < sizeof fl / sizeof fl[0]; ++i)
                if (get_float(c, fl[i], -1e30, 1e30)) return -1;
            if (get_int(c, "coords", 4, 1, 1000, &coords) || check_tree_file(c, &nodes)) return -1;
        }
        int a = get_list(c, "anchors", 0, NULL, 20000);
        if (a < 0) return -1;
        if (a && a != 2 * num)
            return kfail(c, "anchors", "has %d values; num=%lld anchors need exactly %lld", a, num, 2 * num);
        long long want = mul(used, classes + coords + 1);
        if (in->c != want)
            return kfail(c, k == K_YOLO ? "classes" : "num", "the head needs %lld input channels (%d anchors x "
                         "(%lld classes + %lld)) but the layer before gives %lld", want, used, classes, coords + 1,
                         in->c);
        break;
    }
    case K_DETECTION: {
        long long classes, num, coords, side;
        if (get_int(c, "coords", 1, 1, 1000, &coords) || get_int(c, "classes", 1, 1, 100000, &classes) ||
            get_int(c, "num", 1, 1, 10000, &num) || get_int(c, "side", 7, 1, 100000, &side))
            return -1;
        static const char *const ints[] = {"rescore", "softmax", "sqrt", "max", "forced", "random", "reorg"};
        for (size_t i = 0; i < sizeof ints / sizeof ints[0]; ++i)
            if (get_int(c, ints[i], 0, INT_MIN, INT_MAX, &v)) return -1;
        long long want = mul(mul(side, side), mul(1 + coords, num) + classes);
        if (in->outputs != want)
            return kfail(c, "side", "the head needs side*side*((1+coords)*num+classes) = %lld inputs but the layer "
                         "before gives %lld", want, in->outputs);
        *out = (shape){0, 0, 0, in->outputs};
        break;
    }
    case K_ISEG:
        /* forward_iseg_layer() reads the training labels (net.truth), which
         * an inference forward has not: NULL, a segfault */
        return kfail(c, NULL, "is a training layer: its forward reads the training labels, which gradcam "
                              "(as Darknet's predict) has not");
    case K_NET:
    case K_UNKNOWN: assert(0); break;
    }
    if (image(out)) out->outputs = mul(mul(out->w, out->h), out->c);
    if (fits(c, NULL, out->outputs, "the layer's output size")) return -1;
    if (fits(c, NULL, mul(out->outputs, batch), "the output size x batch")) return -1;
    if ((k == K_COST || k == K_SOFTMAX || k == K_LOGISTIC) && check_truth_reader(c, in)) return -1;
    long long truth;
    if (get_int(c, "truth", 0, INT_MIN, INT_MAX, &truth)) return -1;
    if (truth) {
        c->truth_outputs = out->outputs;
        c->truth_line = c->cur->line;
    }
    return 0;
}

size_t gc_cfgcheck_memory_limit(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    size_t cap = (size_t)32 << 30, ram = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : cap;
    return ram < cap ? ram : cap;
}

int gc_cfgcheck_text(const char *name, const char *text, size_t len, size_t max_bytes, gc_cfg_info *info,
                      gc_err *e)
{
    cfg c;
    memset(&c, 0, sizeof c);
    c.name = name;
    c.e = e;
    c.flat_route = -1;
    shape *all = NULL;
    int rc = read_sections(&c, text, len);
    if (rc) goto done;
    shape in;
    int batch = 1;
    c.cur = &c.s[0];
    if ((rc = check_net(&c, &in, &batch))) goto done;
    if (!(all = malloc((size_t)c.n * sizeof *all))) {
        rc = gc_fail(e, "out of memory checking cfg file %s", name);
        goto done;
    }
    /* Darknet's own footprint: the input, each layer's output and delta (x batch),
     * parameters with their updates, the largest workspace. */
    double bytes = 4.0 * (double)in.outputs * batch;
    long long give_max = 0, need_max = 0;
    int need_at = 0;
    double flops_total = 0;
    for (int i = 1; i < c.n; ++i) {
        c.cur = &c.s[i];
        c.index = i - 1;
        long long params, give, need;
        double flops;
        shape out;
        if ((rc = check_layer(&c, i - 1, kind_of(c.s[i].type), &in, all, batch, &out, &params, &give, &need, &flops)))
            goto done;
        flops_total += flops;
        all[i - 1] = out;
        in = out;
        bytes += 4.0 * (2.0 * (double)out.outputs * batch + 2.0 * (double)params);
        if (give > give_max) give_max = give;
        if (need > need_max) need_max = need, need_at = i;
    }
    bytes += (double)give_max;
    /* yolov3 at 608 x 608 is 140 GFLOP; a forward pass beyond this takes
     * minutes on a CPU, and the explanation a multiple of it */
    if (flops_total > GC_CFG_MAX_FLOPS) {
        rc = gc_fail(e, "cfg file %s needs about %.0f GFLOP per forward pass, more than the %.0f allowed", name,
                     flops_total / 1e9, GC_CFG_MAX_FLOPS / 1e9);
        goto done;
    }
    int outputs_layer = 0;
    for (int i = 1; i < c.n; ++i) outputs_layer |= kind_of(c.s[i].type) != K_COST;
    if (!outputs_layer) {
        /* get_network_output_layer() skips [cost] layers and reads layers[-1] */
        rc = gc_fail(e, "cfg file %s has only [cost] layers: nothing gives the network's output", name);
        goto done;
    }
    if (need_max > give_max) {
        c.cur = &c.s[need_at];
        rc = kfail(&c, NULL, "needs a %lld-byte workspace but Darknet allocates only %lld bytes for this network "
                   "([local] layers size it in floats, [crnn] not at all): add a larger convolution", need_max,
                   give_max);
        goto done;
    }
    if (max_bytes && bytes > (double)max_bytes) {
        rc = gc_fail(e, "cfg file %s needs about %.1f GiB at batch %d (%s in [net]), more than the %.1f GiB allowed",
                     name, bytes / 1073741824.0, batch,
                     gc_cfgcheck_one_image_parse() ? "time_steps" : "batch / subdivisions x time_steps",
                     (double)max_bytes / 1073741824.0);
        goto done;
    }
    if (info) {
        const sect *net = &c.s[0];
        c.cur = net;
        long long w = 0, h = 0, ch = 0;
        get_int(&c, "width", 0, 0, KEY_MAX, &w);
        get_int(&c, "height", 0, 0, KEY_MAX, &h);
        get_int(&c, "channels", 0, 0, KEY_MAX, &ch);
        *info = (gc_cfg_info){c.n - 1, (int)w, (int)h, (int)ch, batch, (size_t)bytes, flops_total};
    }
done:
    free(all);
    cfg_free(&c);
    return rc;
}

int gc_cfgcheck_file(const char *path, gc_cfg_info *info, gc_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) return gc_fail(e, "cfg file %s: %s", path, strerror(errno));
    size_t cap = (size_t)16 << 20;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return gc_fail(e, "out of memory reading cfg file %s", path);
    }
    size_t len = fread(buf, 1, cap + 1, f);
    int err = ferror(f);
    fclose(f);
    int rc;
    if (err) rc = gc_fail(e, "cfg file %s: read error", path);
    else if (len > cap) rc = gc_fail(e, "cfg file %s is larger than 16 MiB: not a cfg", path);
    else rc = gc_cfgcheck_text(path, buf, len, gc_cfgcheck_memory_limit(), info, e);
    free(buf);
    return rc;
}
