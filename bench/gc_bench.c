/* gc_bench: `make bench`. Times, side by side in one run, on yolov3-tiny
 * (416), yolov3 (416), darknet19 (256) and resnet50 (256) with seeded random
 * weights (gc_model_randomize) and Darknet's data/dog.jpg:
 *   stock    stock Darknet's forward (network_predict), built from the
 *            unpatched source: this file compiled with -DGC_BENCH_STOCK and
 *            linked against the stock libdarknet.a (both libraries define
 *            the same symbols, so it is a separate program);
 *   fwd      our forward as gradcam runs it: gc_hooks_forward (Darknet's
 *            inference loop without its delta zeroing) with the plugin's
 *            slots installed (gc_forward's kernels for the hot layers:
 *            batch norm folded, a sleeping thread pool, OpenBLAS's threads
 *            for the large products only);
 *   gc-1     gradcam for one target, through the code the CLI runs
 *            (gc_explain_*, gc_detect_*, gc_classify_*): forward, decoding
 *            and NMS or class ranking, the path, the backward and the map at
 *            the default layer. Image decoding and letterboxing (once per
 *            image, in gc_explain_open) and the overlay/PNG/.npy writing are
 *            NOT included;
 *   gc-all   the same for every box above the threshold, or the top-5 classes;
 *   gemm     the pure-GEMM bound: every cblas_sgemm call Darknet's im2col
 *            forward makes (each conv group and connected layer, the net's
 *            own M, N, K and transposes), timed back to back on resident
 *            buffers, no im2col. Our forward computes the eligible 3x3
 *            layers by Winograd (fewer multiply-adds), so it can go below.
 * Every measurement runs in its own child process (fork/exec, wait4's
 * ru_maxrss is its peak RSS), after one warm-up pass; the table shows the
 * median over all repetitions, taken in rounds that interleave stock and
 * ours (the machine is shared and noisy). Timings are printed, never
 * asserted.
 *
 * With -darknet and -models, then, end to end: `darknet gradcam` against
 * `darknet detector test` (Yolo-Fastest) and `darknet classifier predict`
 * (Tiny Darknet) on the same image, each a whole process: wall time, user+sys
 * CPU time and peak RSS, rounds interleaved; skipped when the models (or
 * Darknet's label images, which detector test draws with) are absent.
 *
 *   gc_bench -stock PATH -cfgdir DIR -image IMG [-rounds N] [-nets a,b|none]
 *            [-darknet BIN -models DIR [-e2e-rounds N]] [-batching CFG:W:H,...]
 *            [-tuning CFG:W:H,...] [-v]
 *   gc_bench -child MODE CFG W H IMAGE WARMUP REPS [THRESH]   (one measurement)
 *   gc_bench -child layers CFG W H IMAGE WARMUP REPS  (Winograd against im2col, layer by layer)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "darknet.h"
#include "gc_model.h"
#include "gc_rng.h"
#ifndef GC_BENCH_STOCK
#include "gc_blas.h"
#include "gc_classify.h"
#include "gc_detect.h"
#include "gc_detect_run.h"
#include "gc_explain.h"
#include "gc_hooks.h"
#endif

#define BENCH_SEED 7
#define BENCH_MAX_REPS 64

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "gc_bench: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

/* ---- child side: one measurement --------------------------------------- */

/* A copy of cfg with the [net] section's width and height set (Darknet's
 * resize_network cannot resize every layer type, a fresh parse can). */
static char *sized_cfg(const char *cfg, int w, int h)
{
    FILE *in = fopen(cfg, "r");
    if (!in) die("cannot read cfg %s", cfg);
    const char *tmpdir = getenv("TMPDIR");
    char *path = NULL;
    if (asprintf(&path, "%s/gc_bench-XXXXXX.cfg", tmpdir && *tmpdir ? tmpdir : "/tmp") < 0) die("%s", "out of memory");
    int fd = mkstemps(path, 4);
    if (fd < 0) die("cannot create a temporary cfg in %s", tmpdir && *tmpdir ? tmpdir : "/tmp");
    FILE *out = fdopen(fd, "w");
    if (!out) die("cannot write %s", path);
    char line[4096];
    int section = 0;
    while (fgets(line, sizeof line, in)) {
        if (line[0] == '[') ++section;
        if (section == 1 && !strncmp(line, "width=", 6)) snprintf(line, sizeof line, "width=%d\n", w);
        else if (section == 1 && !strncmp(line, "height=", 7)) snprintf(line, sizeof line, "height=%d\n", h);
        fputs(line, out);
    }
    fclose(in);
    if (fclose(out) != 0) die("cannot write %s", path);
    return path;
}

static network *bench_net(const char *cfg, int w, int h)
{
    char *tmp = sized_cfg(cfg, w, h);
    network *net = parse_network_cfg(tmp);
    unlink(tmp);
    free(tmp);
    set_batch_network(net, 1);
    gc_model_randomize(net, BENCH_SEED);
    if (net->w != w || net->h != h) die("%s: the network did not take the requested size", cfg);
    return net;
}

static void print_times(const double *t, int n)
{
    printf("times");
    for (int i = 0; i < n; ++i) printf(" %.6f", t[i]);
    printf("\n");
}

/* Stock: Darknet's forward (network_predict), as `darknet detect` /
 * `classifier predict` run it. Ours: gc_hooks_forward with the plugin's
 * slots installed, as gradcam runs it. */
static void child_forward(network *net, const char *img, int warmup, int reps)
{
    image im = load_image_color((char *)img, 0, 0);
    image sized = letterbox_image(im, net->w, net->h);
#ifndef GC_BENCH_STOCK
    gc_err e = {0};
    gc_ctx c;
    if (gc_hooks_init(&c, net, &e)) die("%s", e.msg);
    gc_hooks_install(&c);
#endif
    double t[BENCH_MAX_REPS];
    for (int i = -warmup; i < reps; ++i) {
        double t0 = now();
#ifdef GC_BENCH_STOCK
        network_predict(net, sized.data);
#else
        gc_hooks_forward(&c, sized.data);
#endif
        if (i >= 0) t[i] = now() - t0;
    }
    print_times(t, reps);
#ifndef GC_BENCH_STOCK
    gc_hooks_free(&c);
#endif
    free_image(sized);
    free_image(im);
}

#ifndef GC_BENCH_STOCK
/* Every cblas_sgemm call forward_convolutional_layer and
 * forward_connected_layer make, with their shapes, on resident buffers. */
typedef struct gemm_call {
    int ta, tb, m, n, k;
    const float *a;
} gemm_call;

/* nb images in one product: a convolution's columns are nb images' im2col
 * side by side (n x nb), a connected layer's rows nb inputs (m = nb), as a
 * batched forward would lay them out (the output's transpose back to
 * Darknet's per-image planes not counted). The times are per call of the
 * whole set, for nb images. */
static void child_gemm(network *net, int warmup, int reps, int nb)
{
    gemm_call *calls = NULL;
    int ncalls = 0, cap = 0;
    size_t maxb = 1, maxc = 1;
    double flop = 0;
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        int groups = 1;
        gemm_call c;
        if (l->type == CONVOLUTIONAL) {
            groups = l->groups;
            c = (gemm_call){0, 0, l->n / groups, l->out_w * l->out_h * nb, l->size * l->size * l->c / groups,
                            l->weights};
        } else if (l->type == CONNECTED) {
            c = (gemm_call){0, 1, nb, l->outputs, l->inputs, l->weights};
        } else {
            continue;
        }
        for (int g = 0; g < groups; ++g) {
            if (ncalls == cap) {
                cap = cap ? 2 * cap : 64;
                calls = realloc(calls, (size_t)cap * sizeof *calls);
                if (!calls) die("%s", "out of memory");
            }
            gemm_call cg = c;
            cg.a = c.a + (size_t)g * c.m * c.k;
            calls[ncalls++] = cg;
            if ((size_t)c.k * c.n > maxb) maxb = (size_t)c.k * c.n;
            if ((size_t)c.m * c.n > maxc) maxc = (size_t)c.m * c.n;
            flop += 2.0 * c.m * c.n * c.k;
        }
    }
    float *b = malloc(maxb * sizeof *b), *cbuf = calloc(maxc, sizeof *cbuf);
    if (!b || !cbuf) die("%s", "out of memory for the GEMM operands");
    uint64_t st = 1;
    for (size_t i = 0; i < maxb; ++i) b[i] = gc_rng_unit(&st);
    double t[BENCH_MAX_REPS];
    for (int r = -warmup; r < reps; ++r) {
        double t0 = now();
        for (int i = 0; i < ncalls; ++i) {
            const gemm_call *c = &calls[i];
            /* same arguments as Darknet's gemm(): row-major, lda = k (or m
             * transposed), ldb = n (k transposed), ldc = n, beta 1 */
            cblas_sgemm(CblasRowMajor, c->ta ? CblasTrans : CblasNoTrans, c->tb ? CblasTrans : CblasNoTrans, c->m,
                        c->n, c->k, 1.0f, c->a, c->ta ? c->m : c->k, b, c->tb ? c->k : c->n, 1.0f, cbuf, c->n);
        }
        if (r >= 0) t[r] = now() - t0;
    }
    print_times(t, reps);
    printf("gflop %.4f\n", flop * 1e-9);
    printf("gemms %d\n", ncalls);
    free(b);
    free(cbuf);
    free(calls);
}

/* img decoded and letterboxed to net, and the hooks (the plugin's forward)
 * installed on net, as gradcam runs them. */
static void open_hooked(network *net, const char *img, image *im, image *sized, gc_ctx *c)
{
    *im = load_image_color((char *)img, 0, 0);
    *sized = letterbox_image(*im, net->w, net->h);
    gc_err e = {0};
    if (gc_hooks_init(c, net, &e)) die("%s", e.msg);
    gc_hooks_install(c);
}

/* The forward of nb images: nb single forwards (nb 1: gc_hooks_forward), or
 * one batched forward (gc_forward_batch_run, list mode's -batch nb). The
 * times are per call, for nb images. */
static void child_batch(network *net, const char *img, int warmup, int reps, int nb)
{
    image im, sized;
    gc_ctx c;
    open_hooked(net, img, &im, &sized, &c);
    gc_err e = {0};
    gc_fwd_batch b;
    if (nb > 1 && gc_forward_batch_init(&b, &c.fwd, nb, &e)) die("%s", e.msg);
    const float **in = malloc((size_t)nb * sizeof *in);
    if (!in) die("%s", "out of memory");
    for (int k = 0; k < nb; ++k) in[k] = sized.data;
    double t[BENCH_MAX_REPS];
    for (int r = -warmup; r < reps; ++r) {
        double t0 = now();
        if (nb > 1) gc_forward_batch_run(&b, in, nb);
        else gc_hooks_forward(&c, sized.data);
        if (r >= 0) t[r] = now() - t0;
    }
    print_times(t, reps);
    if (nb > 1) gc_forward_batch_free(&b);
    free(in);
    gc_hooks_free(&c);
    free_image(sized);
    free_image(im);
}

/* A large square product: the throughput the shapes above are measured against. */
static void child_peak(int warmup, int reps)
{
    const int n = 2048;
    float *a = malloc((size_t)n * n * sizeof *a), *b = malloc((size_t)n * n * sizeof *b),
          *c = calloc((size_t)n * n, sizeof *c);
    if (!a || !b || !c) die("%s", "out of memory");
    for (size_t i = 0; i < (size_t)n * n; ++i) a[i] = b[i] = (float)(i % 17) / 17.0f;
    double t[BENCH_MAX_REPS];
    for (int r = -warmup; r < reps; ++r) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        if (r >= 0) t[r] = now() - t0;
    }
    print_times(t, reps);
    printf("gflop %.4f\n", 2.0 * n * n * n * 1e-9);
    free(a);
    free(b);
    free(c);
}

/* One image's targets and maps, as `darknet gradcam` computes them (minus
 * the file writing): all = 0 explains the first box / the top class, all = 1
 * every box above thresh / the top 5 classes. */
static void child_gradcam(network *net, const char *img, int warmup, int reps, int all, float thresh)
{
    gc_err e = {0};
    gc_session s;
    if (gc_explain_open(&s, net, img, &e)) die("%s", e.msg); /* runs the first forward */
    gc_explain_opts o = {.method = GC_METHOD_GRADCAM, .alpha = 0.5f};
    int ntargets = 0, top[5];
    float *probs = NULL;
    if (!s.detector && !(probs = malloc((size_t)s.cl.classes * sizeof *probs))) die("%s", "out of memory");
    double t[BENCH_MAX_REPS];
    for (int r = -warmup; r < reps; ++r) {
        double t0 = now();
        if (r > -warmup) gc_hooks_forward(&s.ctx, s.input.data); /* the warm-up's forward ran in gc_explain_open */
        gc_map m;
        if (s.detector) {
            gc_boxes boxes;
            gc_det *dets = NULL;
            int ndets = 0;
            if (gc_detect_decode(net, s.orig.w, s.orig.h, thresh, 0.5f, &boxes, &e) ||
                gc_detect_boxes(&boxes, thresh, 0.45f, &dets, &ndets, &e))
                die("%s", e.msg);
            if (ndets == 0) die("no box above the threshold (%s): lower it in SPECS", "random weights");
            ntargets = all ? ndets : 1;
            for (int k = 0; k < ntargets; ++k) {
                gc_subject subj = {dets[k].cls, &dets[k]};
                if (gc_explain_target(&s, &subj, &o, &m, &e)) die("%s", e.msg);
            }
            free(dets);
            gc_detect_boxes_free(&boxes);
        } else {
            ntargets = all ? 5 : 1;
            gc_classify_probs(net, &s.cl, probs);
            gc_classify_top_k(probs, s.cl.classes, ntargets, top);
            for (int k = 0; k < ntargets; ++k) {
                gc_subject subj = {top[k], NULL};
                if (gc_explain_target(&s, &subj, &o, &m, &e)) die("%s", e.msg);
            }
        }
        if (r >= 0) t[r] = now() - t0;
    }
    print_times(t, reps);
    printf("targets %d\n", ntargets);
    gc_explain_close(&s);
    free(probs);
}
#endif

#ifndef GC_BENCH_STOCK
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Each layer that runs by Winograd (gc_forward_winograd, within the
 * budget), alone on its real input, by Winograd and by im2col + GEMM in
 * alternation (the layer's Winograd weights set aside for the second), reps
 * times each: one line per layer with both medians. For re-checking the
 * Winograd thresholds on another machine or BLAS. */
static void child_layers(network *net, const char *img, int warmup, int reps)
{
    image im, sized;
    gc_ctx c;
    open_hooked(net, img, &im, &sized, &c);
    gc_hooks_forward(&c, sized.data);
    for (int i = 0; i < net->n; ++i) {
        if (!c.fwd.wino || !c.fwd.wino[i]) continue;
        layer *l = &net->layers[i];
        network sub = *net;
        sub.index = i;
        sub.input = i ? net->layers[i - 1].output : sized.data;
        sub.train = 0;
        float *u = c.fwd.wino[i];
        double t[2][BENCH_MAX_REPS];
        for (int r = -warmup; r < reps; ++r)
            for (int k = 0; k < 2; ++k) {
                c.fwd.wino[i] = k ? NULL : u;
                double t0 = now();
                l->forward(*l, sub);
                if (r >= 0) t[k][r] = now() - t0;
            }
        c.fwd.wino[i] = u;
        qsort(t[0], (size_t)reps, sizeof t[0][0], cmp_double);
        qsort(t[1], (size_t)reps, sizeof t[1][0], cmp_double);
        double w = t[0][reps / 2], g = t[1][reps / 2];
        printf("layer %3d  %4d -> %4d  %3dx%-3d  winograd %8.3f ms  im2col %8.3f ms  %5.2fx\n", i, l->c, l->n, l->out_w,
               l->out_h, 1e3 * w, 1e3 * g, w / g);
    }
    gc_hooks_free(&c);
    free_image(sized);
    free_image(im);
}
#endif

static int child_main(int argc, char **argv)
{
    /* -child MODE CFG W H IMAGE WARMUP REPS [THRESH] */
    if (argc < 9) die("%s", "-child needs MODE CFG W H IMAGE WARMUP REPS [THRESH]");
    const char *mode = argv[2], *cfg = argv[3], *img = argv[6];
    int w = atoi(argv[4]), h = atoi(argv[5]), warmup = atoi(argv[7]), reps = atoi(argv[8]);
    float thresh = argc > 9 ? (float)atof(argv[9]) : 0.5f;
    (void)thresh; /* gradcam only */
    if (reps < 1 || reps > BENCH_MAX_REPS || warmup < 0) die("%s", "bad repetition count");
#ifndef GC_BENCH_STOCK
    if (!strcmp(mode, "peak")) {
        child_peak(warmup, reps);
        return 0;
    }
#endif
    struct stat st;
    if (stat(cfg, &st) != 0) die("cannot read cfg %s", cfg);
    if (stat(img, &st) != 0) die("cannot read image %s", img);
    network *net = bench_net(cfg, w, h);
    if (!strcmp(mode, "forward")) child_forward(net, img, warmup, reps);
#ifndef GC_BENCH_STOCK
    else if (!strncmp(mode, "gemm", 4)) {
        /* gemm, or gemmN: N images in each product (see child_gemm) */
        int nb = mode[4] ? atoi(mode + 4) : 1;
        if (nb < 1 || nb > 64) die("bad batch in mode %s", mode);
        child_gemm(net, warmup, reps, nb);
    }
    else if (!strncmp(mode, "batch", 5)) {
        /* batchN: N images through one batched forward (see child_batch) */
        int nb = atoi(mode + 5);
        if (nb < 1 || nb > 64) die("bad batch in mode %s", mode);
        child_batch(net, img, warmup, reps, nb);
    }
    else if (!strcmp(mode, "layers")) child_layers(net, img, warmup, reps);
    else if (!strcmp(mode, "gc1")) child_gradcam(net, img, warmup, reps, 0, thresh);
    else if (!strcmp(mode, "gcall")) child_gradcam(net, img, warmup, reps, 1, thresh);
#endif
    else die("unknown mode %s", mode);
    fflush(stdout);
    free_network(net);
    return 0;
}

#ifdef GC_BENCH_STOCK
int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-child")) die("%s", "gc_bench_stock is run by gc_bench (-child forward ...)");
    return child_main(argc, argv);
}
#else
/* ---- parent side: schedule, collect, print ----------------------------- */

typedef struct bench_spec {
    const char *name, *cfg;
    int w, h;
    int stock_warmup, stock_reps, reps; /* per round */
    float thresh;                        /* detectors: boxes above it are the targets */
} bench_spec;

/* Repetitions per round: stock yolov3 takes ~13 s a forward on 2 cores.
 * Thresholds: with random weights (gc_rng, seed BENCH_SEED) no yolov3-tiny box
 * passes darknet detect's 0.5 (none 0.4; 13 pass 0.37, its probabilities
 * bunch at 0.36-0.374), while yolov3's deep random net saturates its logistic
 * outputs, so its threshold is 0.9999. The count is reported. */
static const bench_spec SPECS[] = {
    {"yolov3-tiny", "yolov3-tiny.cfg", 416, 416, 1, 2, 8, 0.37f},
    {"yolov3", "yolov3.cfg", 416, 416, 0, 1, 3, 0.9999f},
    {"darknet19", "darknet19.cfg", 256, 256, 1, 2, 8, 0},
    {"resnet50", "resnet50.cfg", 256, 256, 1, 1, 5, 0},
};
#define NSPECS ((int)(sizeof SPECS / sizeof SPECS[0]))

enum { M_STOCK, M_FWD, M_GC1, M_GCALL, M_GEMM, M_NMODES };
static const char *MODE_ARG[M_NMODES] = {"forward", "forward", "gc1", "gcall", "gemm"};

typedef struct sample_set {
    double t[BENCH_MAX_REPS * 8];
    int n;
    long maxrss_kb;
    int targets;
    double gflop;
} sample_set;

static int verbose;

/* fork/exec one measurement; its stdout comes back through a pipe, its
 * stderr (Darknet's layer tables) goes to /dev/null unless -v. */
static void run_child(const char *exe, char *const argv[], sample_set *s)
{
    int fds[2];
    if (pipe(fds) != 0) die("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        if (!verbose) {
            FILE *null = freopen("/dev/null", "w", stderr);
            (void)null;
        }
        execv(exe, argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    char line[8192];
    while (in && fgets(line, sizeof line, in)) {
        if (!strncmp(line, "times", 5)) {
            char *p = line + 5, *end;
            for (;;) {
                double v = strtod(p, &end);
                if (end == p) break;
                if (s->n < (int)(sizeof s->t / sizeof s->t[0])) s->t[s->n++] = v;
                p = end;
            }
        } else if (!strncmp(line, "targets ", 8)) {
            s->targets = atoi(line + 8);
        } else if (!strncmp(line, "gflop ", 6)) {
            s->gflop = atof(line + 6);
        }
    }
    if (in) fclose(in);
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) die("wait4: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "gc_bench: %s %s %s failed (status %d); run with -v to see why\n", exe, argv[2], argv[3],
                status);
        exit(1);
    }
    if (ru.ru_maxrss > s->maxrss_kb) s->maxrss_kb = ru.ru_maxrss;
}

static double median(sample_set *s)
{
    if (!s->n) return NAN;
    qsort(s->t, (size_t)s->n, sizeof s->t[0], cmp_double);
    return s->n % 2 ? s->t[s->n / 2] : 0.5 * (s->t[s->n / 2 - 1] + s->t[s->n / 2]);
}

static void fmt_ms(char *buf, size_t n, double s)
{
    if (isnan(s)) snprintf(buf, n, "-");
    else if (s >= 10) snprintf(buf, n, "%.1f s", s);
    else if (s >= 1) snprintf(buf, n, "%.2f s", s);
    else snprintf(buf, n, "%.1f ms", s * 1e3);
}

/* ---- end to end: whole commands, as a user runs them --------------------- */

typedef struct e2e_sample {
    double wall[BENCH_MAX_REPS], cpu[BENCH_MAX_REPS];
    int n;
    long maxrss_kb;
} e2e_sample;

/* Runs argv (stdout and stderr to /dev/null) in dir; wall time from fork to
 * wait4, user+sys and peak RSS from wait4's rusage. 0 if it exited 0. */
static int run_timed(char *const argv[], const char *dir, e2e_sample *s)
{
    fflush(NULL);
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        if (dir && chdir(dir) != 0) _exit(126);
        FILE *o = freopen("/dev/null", "w", stdout), *er = freopen("/dev/null", "w", stderr);
        (void)o;
        (void)er;
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) die("wait4: %s", strerror(errno));
    double wall = now() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
    if (s->n < BENCH_MAX_REPS) {
        s->wall[s->n] = wall;
        s->cpu[s->n] = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
                       1e-6 * (double)ru.ru_stime.tv_usec;
        s->n++;
    }
    if (ru.ru_maxrss > s->maxrss_kb) s->maxrss_kb = ru.ru_maxrss;
    return 0;
}

static double median_of(const double *v, int n)
{
    double t[BENCH_MAX_REPS];
    if (n <= 0) return NAN;
    memcpy(t, v, (size_t)n * sizeof *t);
    qsort(t, (size_t)n, sizeof t[0], cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* A copy of a model's .data file whose names= is an absolute path, so the
 * stock commands can run in a scratch folder (detector test writes
 * predictions.jpg into the current folder). */
static int write_data_file(const char *path, const char *names, int classes, int top)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "classes=%d\nnames=%s\n", classes, names);
    if (top) fprintf(f, "top=%d\n", top);
    return fclose(f);
}

static char *abs_path(const char *p)
{
    char *r = realpath(p, NULL);
    if (!r) die("cannot resolve %s", p);
    return r;
}

/* `gradcam` against the stock command on the same model and image, rounds
 * interleaved, medians of wall and user+sys time, and peak RSS. */
static void e2e_pair(const char *title, char *const gc_argv[], char *const stock_argv[], const char *stock_dir,
                     int rounds)
{
    e2e_sample g = {0}, k = {0};
    /* one unmeasured run each: the page cache holds the files afterwards */
    if (run_timed(gc_argv, NULL, &(e2e_sample){0}) || run_timed(stock_argv, stock_dir, &(e2e_sample){0})) {
        printf("%-34s skipped: a command failed (run it by hand to see why)\n", title);
        return;
    }
    for (int r = 0; r < rounds; ++r) {
        if (run_timed(gc_argv, NULL, &g) || run_timed(stock_argv, stock_dir, &k)) die("%s", "a command failed");
    }
    double gw = median_of(g.wall, g.n), gc = median_of(g.cpu, g.n), kw = median_of(k.wall, k.n),
           kc = median_of(k.cpu, k.n);
    printf("%-34s %8.0f ms %8.0f ms | %8.0f ms %8.0f ms | %6.2fx %6.2fx | %6.0fM %6.0fM\n", title, gw * 1e3, gc * 1e3,
           kw * 1e3, kc * 1e3, gw / kw, gc / kc, g.maxrss_kb / 1024.0, k.maxrss_kb / 1024.0);
}

static void bench_e2e(const char *darknet, const char *models, const char *img, int rounds)
{
    char ycfg[4096], yw[4096], ynames[4096], tcfg[4096], tw[4096], tnames[4096];
    snprintf(ycfg, sizeof ycfg, "%s/yolo-fastest/yolo-fastest-1.1.cfg", models);
    snprintf(yw, sizeof yw, "%s/yolo-fastest/yolo-fastest-1.1.weights", models);
    snprintf(ynames, sizeof ynames, "%s/yolo-fastest/coco.names", models);
    snprintf(tcfg, sizeof tcfg, "%s/tiny-darknet/tiny.cfg", models);
    snprintf(tw, sizeof tw, "%s/tiny-darknet/tiny.weights", models);
    snprintf(tnames, sizeof tnames, "%s/tiny-darknet/imagenet1k.names", models);
    printf("\nend to end, %d rounds (medians): `gradcam` vs the stock command, same binary, model and image\n", rounds);
    if (access(darknet, X_OK) != 0) {
        printf("  skipped: no darknet binary at %s\n", darknet);
        return;
    }
    char tmpl[] = "/tmp/gc-bench-XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir) die("mkdtemp: %s", strerror(errno));
    char *dn = abs_path(darknet), *im = abs_path(img);
    char out[4096], data[4096];
    printf("%-34s %11s %11s | %11s %11s | %7s %7s | %7s %7s\n", "", "gc wall", "gc cpu", "stock wall", "stock cpu",
           "wall", "cpu", "RSS gc", "stock");
    /* Yolo-Fastest: 6 boxes at -thresh 0.25, gradcam's default outputs (PNG
     * overlay and .npy per box); detector test draws its boxes and writes
     * predictions.jpg, with Darknet's label glyphs (Debian's path). */
    if (access(ycfg, R_OK) || access(yw, R_OK) || access(ynames, R_OK)) {
        printf("%-34s skipped: %s not found\n", "yolo-fastest", ycfg);
    } else if (access("/usr/share/darknet/data/labels/32_0.png", R_OK)) {
        printf("%-34s skipped: `detector test` needs Darknet's label images in /usr/share/darknet/data/labels "
               "(Debian's darknet package; or link Darknet's data/labels there)\n",
               "yolo-fastest");
    } else {
        char *names = abs_path(ynames), *cfg = abs_path(ycfg), *w = abs_path(yw);
        snprintf(data, sizeof data, "%s/coco.data", dir);
        snprintf(out, sizeof out, "%s/yolo", dir);
        if (write_data_file(data, names, 80, 0)) die("cannot write %s", data);
        char *ga[] = {dn, "gradcam", cfg, w, im, "-data", data, "-thresh", "0.25", "-out", out, NULL};
        char *sa[] = {dn, "detector", "test", data, cfg, w, im, "-thresh", "0.25", NULL};
        e2e_pair("yolo-fastest 320: detector test", ga, sa, dir, rounds);
        free(names);
        free(cfg);
        free(w);
    }
    if (access(tcfg, R_OK) || access(tw, R_OK) || access(tnames, R_OK)) {
        printf("%-34s skipped: %s not found\n", "tiny-darknet", tcfg);
    } else {
        char *names = abs_path(tnames), *cfg = abs_path(tcfg), *w = abs_path(tw);
        snprintf(data, sizeof data, "%s/tiny.data", dir);
        snprintf(out, sizeof out, "%s/tiny", dir);
        if (write_data_file(data, names, 1000, 5)) die("cannot write %s", data);
        /* one map, as before the .data file's top= became -top's default */
        char *ga[] = {dn, "gradcam", cfg, w, im, "-data", data, "-top", "1", "-out", out, NULL};
        char *sa[] = {dn, "classifier", "predict", data, cfg, w, im, NULL};
        e2e_pair("tiny-darknet 224: classifier predict", ga, sa, dir, rounds);
        free(names);
        free(cfg);
        free(w);
    }
    printf("wall: fork to exit; cpu: user+sys of the process and its threads (wait4); ratios gradcam/stock\n");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "gc_bench: could not remove %s\n", dir);
    free(dn);
    free(im);
}

/* One CFG:W:H item of -batching or -tuning (opt): the cfg's path into cfg,
 * the size into *w, *h and as text into ws, hs (16 bytes each). Dies on a
 * malformed item; returns 0 (a "skipped" row printed) when the cfg cannot
 * be read, else 1. */
static int bench_item(const char *item, const char *opt, char *cfg, size_t cap, int *w, int *h, char *ws, char *hs)
{
    char what[4200];
    snprintf(what, sizeof what, "%s: %.4096s", opt, item);
    const char *c1 = strchr(item, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2 || (size_t)(c1 - item) >= cap) die("%s is not CFG:W:H", what);
    memcpy(cfg, item, (size_t)(c1 - item));
    cfg[c1 - item] = '\0';
    *w = atoi(c1 + 1);
    *h = atoi(c2 + 1);
    if (*w < 1 || *h < 1) die("%s is not CFG:W:H", what);
    if (access(cfg, R_OK) != 0) {
        printf("%-28s skipped: %s not readable\n", item, cfg);
        return 0;
    }
    snprintf(ws, 16, "%d", *w);
    snprintf(hs, 16, "%d", *h);
    return 1;
}

/* ---- batching: what a batched forward saves ------------------------------
 *
 * For each CFG:W:H of -batching, two rows, in rounds (at most 3) that
 * interleave their six measurements: the whole forward with 1, 4 and 8
 * images in one batched pass (child_batch: -batch N's forward, against
 * single forwards), and the forward's GEMMs alone with 1, 4 and 8 images in
 * each product (child_gemm: every convolution's and connected layer's
 * product, the net's own shapes, no Winograd), printed as time per image and
 * its ratio to one image at a time. */
#define NBATCH 3
static void bench_batching(const char *self, const char *list, const char *img, int rounds)
{
    static const int nbs[NBATCH] = {1, 4, 8};
    char *copy = strdup(list);
    if (!copy) die("%s", "out of memory");
    printf("\nbatching: time per image of the forward with N images in one batched pass (-batch N), and of\n"
           "its GEMMs alone with N images' columns side by side in each product\n");
    printf("%-28s %-8s %9s %9s %9s %8s %8s\n", "net", "what", "N=1", "N=4", "N=8", "4/1", "8/1");
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char cfg[4096], ws[16], hs[16];
        int w, h;
        if (!bench_item(item, "-batching", cfg, sizeof cfg, &w, &h, ws, hs)) continue;
        static const char *const kinds[2] = {"batch", "gemm"};
        static sample_set res[2][NBATCH];
        memset(res, 0, sizeof res);
        for (int r = 0; r < rounds; ++r)
            for (int kd = 0; kd < 2; ++kd)
                for (int b = 0; b < NBATCH; ++b) {
                    char mode[16];
                    snprintf(mode, sizeof mode, "%s%d", kinds[kd], nbs[b]);
                    char *av[] = {(char *)self, "-child", mode, cfg, ws, hs, (char *)img, "1", "5", NULL};
                    run_child(self, av, &res[kd][b]);
                }
        const char *base = strrchr(cfg, '/');
        char name[64];
        snprintf(name, sizeof name, "%.40s %dx%d", base ? base + 1 : cfg, w, h);
        for (int kd = 0; kd < 2; ++kd) {
            double t[NBATCH];
            char c[NBATCH][32];
            for (int b = 0; b < NBATCH; ++b) {
                t[b] = median(&res[kd][b]) / nbs[b];
                fmt_ms(c[b], sizeof c[b], t[b]);
            }
            printf("%-28s %-8s %9s %9s %9s %7.2fx %7.2fx\n", kd ? "" : name, kd ? "GEMMs" : "forward", c[0], c[1],
                   c[2], t[1] / t[0], t[2] / t[0]);
        }
        fflush(stdout);
    }
    free(copy);
}

/* ---- tuning: the thread pool's whole-pass tuning ---------------------------
 *
 * For each CFG:W:H of -tuning, our forward with the pool's timed threshold
 * fixed (GC_POOL_TUNE=0, as the tables above run) against the forward once
 * the pool has tuned itself (gc_pool_pass_begin: its first 1 + 2 x
 * GC_POOL_TUNE_PASSES forwards, here the warm-up, alternate between that
 * threshold and everything inline, then keep the faster): rounds (at most
 * 3) interleave the two children; medians of their repetitions. */
static void bench_tuning(const char *self, const char *list, const char *img, int rounds)
{
    char *copy = strdup(list);
    if (!copy) die("%s", "out of memory");
    printf("\ntuning: our forward with the pool's timed threshold (fixed) and after the pool tuned itself over\n"
           "its first %d forwards (tuned: that threshold or every loop inline, whichever whole forward was faster)\n",
           1 + 2 * GC_POOL_TUNE_PASSES);
    printf("%-28s %9s %9s %8s\n", "net", "fixed", "tuned", "tuned/fixed");
    char *save = NULL, warm[16];
    snprintf(warm, sizeof warm, "%d", 1 + 2 * GC_POOL_TUNE_PASSES);
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char cfg[4096], ws[16], hs[16];
        int w, h;
        if (!bench_item(item, "-tuning", cfg, sizeof cfg, &w, &h, ws, hs)) continue;
        static sample_set res[2];
        memset(res, 0, sizeof res);
        for (int r = 0; r < rounds; ++r)
            for (int k = 0; k < 2; ++k) {
                if (k) unsetenv("GC_POOL_TUNE");
                else setenv("GC_POOL_TUNE", "0", 1);
                char *av[] = {(char *)self, "-child", "forward", cfg, ws, hs, (char *)img, warm, "9", NULL};
                run_child(self, av, &res[k]);
            }
        setenv("GC_POOL_TUNE", "0", 1);
        const char *base = strrchr(cfg, '/');
        char name[64], c[2][32];
        snprintf(name, sizeof name, "%.40s %dx%d", base ? base + 1 : cfg, w, h);
        for (int k = 0; k < 2; ++k) fmt_ms(c[k], sizeof c[k], median(&res[k]));
        printf("%-28s %9s %9s %10.2fx\n", name, c[0], c[1], median(&res[1]) / median(&res[0]));
        fflush(stdout);
    }
    free(copy);
}

int main(int argc, char **argv)
{
    /* the kernels gradcam uses (gc_blas.h); children inherit the choice */
    gc_blas_pick_core(argv);
    if (argc >= 2 && !strcmp(argv[1], "-child")) return child_main(argc, argv);
    /* the tables time a few forwards per child, fewer than the pool's
     * tuning takes (gc_pool.h): its timed threshold, fixed; -tuning
     * measures what the tuning changes */
    setenv("GC_POOL_TUNE", "0", 1);
    const char *stock = NULL, *cfgdir = NULL, *img = NULL, *only = NULL, *darknet = NULL, *models = NULL,
               *batching = NULL, *tuning = NULL;
    int rounds = 5, e2e_rounds = 5;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "-stock") && i + 1 < argc) stock = argv[++i];
        else if (!strcmp(argv[i], "-cfgdir") && i + 1 < argc) cfgdir = argv[++i];
        else if (!strcmp(argv[i], "-image") && i + 1 < argc) img = argv[++i];
        else if (!strcmp(argv[i], "-rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-nets") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "-darknet") && i + 1 < argc) darknet = argv[++i];
        else if (!strcmp(argv[i], "-models") && i + 1 < argc) models = argv[++i];
        else if (!strcmp(argv[i], "-e2e-rounds") && i + 1 < argc) e2e_rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-batching") && i + 1 < argc) batching = argv[++i];
        else if (!strcmp(argv[i], "-tuning") && i + 1 < argc) tuning = argv[++i];
        else if (!strcmp(argv[i], "-v")) verbose = 1;
        else die("unknown argument %s (gc_bench -stock PATH -cfgdir DIR -image IMG [-rounds N] [-nets a,b|none] "
                 "[-darknet BIN -models DIR [-e2e-rounds N]] [-batching CFG:W:H,...] [-tuning CFG:W:H,...] [-v])",
                 argv[i]);
    }
    if (!stock || !cfgdir || !img) die("%s", "needs -stock PATH -cfgdir DIR -image IMG");
    if (access(stock, X_OK) != 0) die("-stock %s: not an executable", stock);
    if (access(img, R_OK) != 0) die("-image %s: not readable", img);
    if (rounds < 1 || rounds > 8) die("%s", "-rounds: 1..8");
    if (e2e_rounds < 1 || e2e_rounds > BENCH_MAX_REPS) die("%s", "-e2e-rounds: 1..64");
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) die("%s", "cannot find my own executable (/proc/self/exe)");
    self[len] = '\0';

    static sample_set res[NSPECS][M_NMODES], peak;
    int used[NSPECS] = {0};
    for (int i = 0; i < NSPECS; ++i) {
        char key[64];
        snprintf(key, sizeof key, ",%s,", SPECS[i].name);
        char list[1024];
        snprintf(list, sizeof list, ",%s,", only ? only : "");
        used[i] = !only || strstr(list, key) != NULL;
    }
    printf("gc_bench: %d round(s); each measurement in its own process, after a warm-up; OpenBLAS %s\n", rounds,
           openblas_get_config());
    printf("cores online: %ld, OpenBLAS threads: %d\n", sysconf(_SC_NPROCESSORS_ONLN), openblas_get_num_threads());
    fflush(stdout);
    double t_start = now();
    for (int r = 0; r < rounds; ++r) {
        {
            char *av[] = {self, "-child", "peak", "-", "0", "0", "-", "1", "3", NULL};
            run_child(self, av, &peak);
        }
        for (int i = 0; i < NSPECS; ++i) {
            if (!used[i]) continue;
            const bench_spec *b = &SPECS[i];
            char cfg[4096], w[16], h[16], thresh[32], reps[16], sreps[16], swarm[16];
            snprintf(cfg, sizeof cfg, "%s/%s", cfgdir, b->cfg);
            snprintf(w, sizeof w, "%d", b->w);
            snprintf(h, sizeof h, "%d", b->h);
            snprintf(thresh, sizeof thresh, "%g", b->thresh);
            snprintf(reps, sizeof reps, "%d", b->reps);
            snprintf(sreps, sizeof sreps, "%d", b->stock_reps);
            snprintf(swarm, sizeof swarm, "%d", b->stock_warmup);
            /* interleaved: stock, ours, gradcam, GEMM, in each round */
            for (int m = 0; m < M_NMODES; ++m) {
                int st = m == M_STOCK;
                char *av[] = {st ? (char *)stock : self, "-child", (char *)MODE_ARG[m], cfg, w, h, (char *)img,
                              st ? swarm : "1", st ? sreps : reps, thresh, NULL};
                run_child(av[0], av, &res[i][m]);
            }
            fprintf(stderr, "  round %d/%d: %s done (%.0f s)\n", r + 1, rounds, b->name, now() - t_start);
        }
    }

    double peak_t = median(&peak), peak_gflops = peak.gflop / peak_t;
    printf("\n%-11s %6s %9s %9s %9s %9s %13s | %7s %7s %7s %7s | %8s %7s %9s %8s %8s %8s\n", "net", "GFLOP",
           "stock", "fwd", "gemm", "gc-1", "gc-all (n)", "RSS stk", "fwd", "gc-1", "gc-all", "fwd/gemm",
           "gc1/fwd", "extra/fwd", "stk/fwd", "RSS f/s", "RSS g/s");
    for (int i = 0; i < NSPECS; ++i) {
        if (!used[i]) continue;
        sample_set *s = res[i];
        double t[M_NMODES];
        for (int m = 0; m < M_NMODES; ++m) t[m] = median(&s[m]);
        int n = s[M_GCALL].targets;
        double extra = n > 1 ? (t[M_GCALL] - t[M_GC1]) / (n - 1) / t[M_FWD] : NAN;
        char c[M_NMODES][32], all[48];
        for (int m = 0; m < M_NMODES; ++m) fmt_ms(c[m], sizeof c[m], t[m]);
        snprintf(all, sizeof all, "%s (%d)", c[M_GCALL], n);
        long rss_gc = s[M_GC1].maxrss_kb > s[M_GCALL].maxrss_kb ? s[M_GC1].maxrss_kb : s[M_GCALL].maxrss_kb;
        printf("%-11s %6.1f %9s %9s %9s %9s %13s | %6.0fM %6.0fM %6.0fM %6.0fM | %7.2fx %6.2fx %8.3fx %7.1fx %7.2fx "
               "%7.2fx\n",
               SPECS[i].name, s[M_GEMM].gflop, c[M_STOCK], c[M_FWD], c[M_GEMM], c[M_GC1], all,
               s[M_STOCK].maxrss_kb / 1024.0, s[M_FWD].maxrss_kb / 1024.0, s[M_GC1].maxrss_kb / 1024.0,
               s[M_GCALL].maxrss_kb / 1024.0, t[M_FWD] / t[M_GEMM], t[M_GC1] / t[M_FWD], extra,
               t[M_STOCK] / t[M_FWD], (double)s[M_FWD].maxrss_kb / s[M_STOCK].maxrss_kb,
               (double)rss_gc / s[M_STOCK].maxrss_kb);
    }
    printf("\nstock: unpatched Darknet's forward; fwd: ours (gemm via cblas_sgemm); gemm: the forward's own sgemm calls "
           "alone\n(net shapes, effective GFLOP/s = GFLOP/gemm); gc-1 / gc-all: forward + targets + backward + map, "
           "no image\ndecoding, no PNG/.npy writing; n = boxes above the threshold (yolov3-tiny 0.37, yolov3 0.9999: "
           "random weights)\nor top-5 classes. extra/fwd = (gc-all - gc-1)/(n-1)/fwd; RSS: peak resident set of each child (ru_maxrss); RSS "
           "g/s = gradcam's / stock's.\nsgemm on a 2048^3 product: %.0f GFLOP/s (%.1f ms). Medians; %.0f s in all.\n",
           peak_gflops, peak_t * 1e3, now() - t_start);
    if (batching) bench_batching(self, batching, img, rounds < 3 ? rounds : 3);
    if (tuning) bench_tuning(self, tuning, img, rounds < 3 ? rounds : 3);
    if (darknet && models) bench_e2e(darknet, models, img, e2e_rounds);
    return 0;
}
#endif
