/* Hostile input through the real ./darknet binary (issue 15): every bad cfg,
 * weights file, image, list or option ends with exit 1 or 2, exactly one
 * "gradcam:" line naming the problem, no signal and no file left behind. Each
 * case here crashed, hung, exited 0 or left a .tmp file before the fix. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gc_fixture.h"
#include "gc_tests.h"

static char *dir;
static char out[1 << 16], err[1 << 16];
static char outdir[4096], prefix[4096];

static void setup(void)
{
    dir = gcf_tempdir();
    ck_assert_ptr_nonnull(dir);
    snprintf(outdir, sizeof outdir, "%s/out", dir);
    snprintf(prefix, sizeof prefix, "%s/out/gc", dir);
    ck_assert_int_eq(mkdir(outdir, 0755), 0);
}

static void teardown(void)
{
    gcf_rmtree(dir);
    free(dir);
}

static const char *path(const char *name)
{
    static char p[8][4096];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static char *slurp_text(const char *file)
{
    FILE *f = fopen(file, "rb");
    ck_assert_ptr_nonnull(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void write_bytes(const char *file, const void *data, size_t len)
{
    FILE *f = fopen(file, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void copy_file(const char *from, const char *to)
{
    FILE *f = fopen(from, "rb");
    ck_assert_msg(f != NULL, "cannot read %s", from);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    ck_assert(feof(f));
    fclose(f);
    write_bytes(to, buf, n);
}

/* file's text with the first `from` replaced by `to` (which must occur). */
static const char *variant(const char *file, const char *name, const char *from, const char *to)
{
    char *text = slurp_text(file), buf[1 << 16];
    char *at = strstr(text, from);
    ck_assert_msg(at != NULL, "%s not in %s", from, file);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    const char *p = path(name);
    write_bytes(p, buf, strlen(buf));
    return p;
}

/* ./darknet gradcam ARGS... (NULL-terminated); returns the exit status. */
#define run(...) gcf_run_gradcam(out, sizeof out, err, sizeof err, __VA_ARGS__)

/* Status `want`, one "gradcam:" line that holds `what`, and nothing in outdir
 * nor any .tmp in dir. */
static void expect_clean_failure(int rc, int want, const char *what)
{
    ck_assert_msg(rc == want, "exit %d (want %d; -1 is a signal); stderr:\n%s", rc, want, gcf_tail(err, 2000));
    int lines = 0;
    const char *hit = NULL;
    for (const char *p = err; (p = strstr(p, "gradcam:")); ++p)
        if (p == err || p[-1] == '\n') ++lines, hit = p;
    ck_assert_msg(lines == 1, "expected one gradcam: line, got %d:\n%s", lines, gcf_tail(err, 2000));
    const char *eol = strchr(hit, '\n');
    const char *at = strstr(hit, what);
    ck_assert_msg(at && (!eol || at < eol), "the error line does not hold '%s':\n%s", what, hit);
    for (const unsigned char *p = (const unsigned char *)err; *p; ++p)
        ck_assert_msg(*p >= 0x20 || *p == '\n' || *p == '\t', "unprintable byte 0x%02x on stderr", *p);
    ck_assert_int_eq(gcf_count_files(outdir), 0);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "find '%s' -name '*.tmp' | grep -q .", dir);
    ck_assert_msg(system(cmd) != 0, "a .tmp file was left in %s", dir);
}

static const char *clf = "tests/cfg/clf_bn.cfg";
static const char *det = "tests/cfg/det_yolo2.cfg";

/* Random weights for cfg in dir/name; the path stays valid for the test. */
static const char *weights_for(const char *cfg, const char *name)
{
    static char w[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(w[k], sizeof w[k], "%s", path(name));
    ck_assert_int_eq(gcf_write_random_weights(cfg, w[k], 3), 0);
    return w[k];
}

START_TEST(cfgs_that_crashed_darknet)
{
    /* Issue 15, defect 2: each passed the old trial parse and then crashed. */
    static const struct {
        const char *from, *to, *what;
    } v[] = {
        {"batch=1\n", "batch=0\n", "[net] batch=0"},
        {"batch=1\n", "batch=128\nsubdivisions=256\n", "subdivisions=256"},
        /* (batch=100000 did this before the parse was for one image, patch 0006) */
        {"batch=1\nwidth=20\nheight=16", "batch=1\ntime_steps=100000\nwidth=200\nheight=160", "int sizes"},
        {"stride=1\npad=1\nactivation=leaky", "stride=-1\npad=1\nactivation=leaky", "stride=-1"},
        {"[avgpool]", "[shortcut]\nfrom=100\n\n[avgpool]", "from=100"},
        {"[avgpool]", "[reorg]\nstride=5\n\n[avgpool]", "[reorg] stride=5"},
        {"[maxpool]\nsize=2", "[maxpool]\nsize=0", "[maxpool] size=0"},
        {"filters=8\n", "filters=8\ngroups=-2\n", "groups=-2"},
        {"filters=8\n", "filters=1000000000\n", "filters=1000000000"},
    };
    const char *w = weights_for(clf, "w.weights");
    const char *img = gcf_darknet_path("data/dog.jpg");
    for (size_t i = 0; i < sizeof v / sizeof v[0]; ++i) {
        const char *cfg = variant(clf, "v.cfg", v[i].from, v[i].to);
        time_t t0 = time(NULL);
        int rc = run(cfg, w, img, "-out", prefix, NULL);
        ck_assert_msg(rc == 1, "variant %zu (%s): exit %d", i, v[i].to, rc);
        expect_clean_failure(rc, 1, v[i].what);
        ck_assert_int_le(time(NULL) - t0, 30);
    }
}
END_TEST

/* A [route] of 17 layers (more than the 16 inputs the path check once held
 * in a fixed array, then asserted on): explained through the route, the
 * map at a routed layer not zero. */
START_TEST(a_route_of_many_layers)
{
    char text[4096];
    size_t n = (size_t)snprintf(text, sizeof text, "[net]\nwidth=16\nheight=16\nchannels=3\n\n");
    for (int i = 0; i < 17; ++i)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "[convolutional]\nfilters=2\nsize=1\nstride=1\npad=0\nactivation=leaky\n\n");
    n += (size_t)snprintf(text + n, sizeof text - n, "[route]\nlayers=0");
    for (int i = 1; i < 17; ++i) n += (size_t)snprintf(text + n, sizeof text - n, ",%d", i);
    n += (size_t)snprintf(text + n, sizeof text - n,
                          "\n\n[convolutional]\nfilters=3\nsize=1\nstride=1\npad=0\nactivation=linear\n\n"
                          "[avgpool]\n\n[softmax]\n");
    const char *cfg = path("route17.cfg");
    write_bytes(cfg, text, n);
    const char *w = weights_for(cfg, "route17.weights");
    ck_assert_msg(run(cfg, w, gcf_darknet_path("data/dog.jpg"), "-out", prefix, "-layer", "5", NULL) == 0, "%s", err);
    ck_assert_msg(strstr(out, "layer 5 convolutional 16x16x2") && !strstr(out, "all-zero"), "%s", out);
}
END_TEST

/* A cfg as trained says batch=64 or more; the parse is for one image (patch
 * 0006), so even batch=100000, whose buffers Darknet's int sizes could not
 * hold, explains, and gives what batch=1 gives. */
START_TEST(training_batch_does_not_matter)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    const char *one = variant(clf, "b1.cfg", "batch=1\nwidth=20\nheight=16", "batch=1\nwidth=200\nheight=160");
    const char *w = weights_for(one, "b.weights");
    ck_assert_int_eq(run(one, w, img, "-out", prefix, "-top", "3", NULL), 0);
    static char want[sizeof out];
    memcpy(want, out, sizeof out);
    ck_assert_ptr_nonnull(strstr(want, "class "));
    const char *big = variant(clf, "b100k.cfg", "batch=1\nwidth=20\nheight=16",
                              "batch=100000\nsubdivisions=1\nwidth=200\nheight=160");
    ck_assert_msg(run(big, w, img, "-out", prefix, "-top", "3", NULL) == 0, "%s", err);
    ck_assert_str_eq(out, want);
}
END_TEST

START_TEST(network_input_the_image_cannot_feed)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    /* height=1: Darknet's resize_image() took NaN offsets and crashed */
    const char *cfg = variant(clf, "h1.cfg", "height=16", "height=1");
    const char *w = weights_for(cfg, "h1.weights");
    expect_clean_failure(run(cfg, w, img, "-out", prefix, NULL), 1, "images need at least 2 x 2");
    /* the 768 x 576 dog letterboxed into a 2 x 16 input would be 2 x 1 */
    cfg = variant(clf, "narrow.cfg", "width=20", "width=2");
    w = weights_for(cfg, "wide.weights");
    expect_clean_failure(run(cfg, w, img, "-out", prefix, NULL), 1, "aspect ratio");
    /* channels=4 against an RGB image: im2col read past the input */
    cfg = variant(clf, "c4.cfg", "channels=3", "channels=4");
    w = weights_for(cfg, "c4.weights");
    expect_clean_failure(run(cfg, w, img, "-out", prefix, NULL), 1, "reads 4 channels");
}
END_TEST

START_TEST(cfg_encodings_are_named)
{
    const char *w = weights_for(clf, "w.weights");
    const char *img = gcf_darknet_path("data/dog.jpg");
    char *text = slurp_text(clf), crlf[1 << 16];
    size_t k = 0;
    for (const char *p = text; *p && k < sizeof crlf - 2; ++p) {
        if (*p == '\n') crlf[k++] = '\r';
        crlf[k++] = *p;
    }
    write_bytes(path("crlf.cfg"), crlf, k);
    expect_clean_failure(run(path("crlf.cfg"), w, img, "-out", prefix, NULL), 1, "CRLF");
    char bom[1 << 16];
    snprintf(bom, sizeof bom, "\xef\xbb\xbf%s", slurp_text(clf));
    write_bytes(path("bom.cfg"), bom, strlen(bom));
    expect_clean_failure(run(path("bom.cfg"), w, img, "-out", prefix, NULL), 1, "byte-order mark");
    /* binary junk: its bytes are not echoed raw */
    unsigned char junk[256];
    for (int i = 0; i < 256; ++i) junk[i] = (unsigned char)(255 - i);
    memcpy(junk, "[net]\n\x01\x02\xff=3\n[conv\x1b", 17);
    write_bytes(path("junk.cfg"), junk, sizeof junk);
    expect_clean_failure(run(path("junk.cfg"), w, img, "-out", prefix, NULL), 1, "junk.cfg");
}
END_TEST

/* Weights whose floats are all replaced by fill(i). */
static const char *poisoned_weights(const char *cfg, const char *name, float (*fill)(size_t i, float old))
{
    const char *w = weights_for(cfg, name);
    FILE *f = fopen(w, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long n = (size - 20) / 4;
    float *x = malloc((size_t)n * sizeof *x);
    fseek(f, 20, SEEK_SET);
    ck_assert_int_eq(fread(x, sizeof *x, (size_t)n, f), n);
    for (long i = 0; i < n; ++i) x[i] = fill((size_t)i, x[i]);
    fseek(f, 20, SEEK_SET);
    ck_assert_int_eq(fwrite(x, sizeof *x, (size_t)n, f), n);
    fclose(f);
    free(x);
    return w;
}

static float one_nan(size_t i, float old) { return i == 100 ? NAN : old; }
static float all_inf(size_t i, float old) { return (void)i, (void)old, INFINITY; }
static float random_bits(size_t i, float old)
{
    (void)old;
    uint32_t u = (uint32_t)(i * 2654435761u) ^ 0x5bd1e995u;
    u ^= u >> 13;
    u *= 0x5bd1e995u;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

START_TEST(non_finite_weights_in_a_detector)
{
    /* Issue 15, defect 1: a NaN objectness overflowed the box list. */
    const char *img = gcf_darknet_path("data/dog.jpg");
    float (*fills[])(size_t, float) = {one_nan, all_inf, random_bits};
    for (int i = 0; i < 3; ++i) {
        const char *w = poisoned_weights(det, "p.weights", fills[i]);
        expect_clean_failure(run(det, w, img, "-out", prefix, "-thresh", "0.01", NULL), 1, "not finite");
    }
}
END_TEST

static float all_huge(size_t i, float old) { return (void)i, (void)old, 3e38f; }

START_TEST(score_cam_on_non_finite_activations)
{
    /* Finite weights whose activations overflow to -Inf: Score-CAM ranked
     * channels with -Inf as "taken", found none left and aborted on an
     * assertion (SIGABRT) instead of the other methods' error. */
    const char *img = gcf_darknet_path("data/dog.jpg");
    const char *w = poisoned_weights(clf, "h.weights", all_huge);
    expect_clean_failure(run(clf, w, img, "-out", prefix, "-method", "gradcam", NULL), 1, "not finite");
    expect_clean_failure(run(clf, w, img, "-out", prefix, "-method", "scorecam", NULL), 1, "not finite");
}
END_TEST

START_TEST(non_finite_output_of_a_classifier)
{
    /* Guided Backprop (no layer map to check) and eval's baselines explained
     * a classifier whose softmax was NaN: exit 0, "probability -nan", an
     * all-zero map, and eval's AUCs printed as -nan. */
    const char *img = gcf_darknet_path("data/dog.jpg");
    const char *w = poisoned_weights(clf, "h.weights", all_huge);
    expect_clean_failure(run(clf, w, img, "-out", prefix, "-method", "guidedbackprop", NULL), 1,
                         "output is not finite");
    ck_assert_int_eq(mkdir(path("images"), 0755), 0);
    ck_assert_int_eq(mkdir(path("labels"), 0755), 0);
    copy_file(img, path("images/0.jpg"));
    write_bytes(path("labels/0.txt"), "1 0.5 0.5 0.4 0.4\n", 18);
    char list[4200];
    snprintf(list, sizeof list, "%s\n", path("images/0.jpg"));
    write_bytes(path("list.txt"), list, strlen(list));
    expect_clean_failure(run("eval", clf, w, path("list.txt"), "-method", "guidedbackprop", "-nosanity", "-steps", "2",
                             NULL), 1, "output is not finite");
    expect_clean_failure(run("eval", clf, w, path("list.txt"), "-baseline", "center", "-nosanity", "-steps", "2",
                             NULL), 1, "output is not finite");
}
END_TEST

START_TEST(yolo_masks_outside_the_anchors)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    const char *w = weights_for(det, "w.weights");
    const char *cfg = variant(det, "m.cfg", "mask=2,3", "mask=-1,3");
    expect_clean_failure(run(cfg, w, img, "-out", prefix, NULL), 1, "mask=-1,3");
    cfg = variant(det, "m.cfg", "mask=2,3", "mask=2,4");
    expect_clean_failure(run(cfg, w, img, "-out", prefix, NULL), 1, "index 4 is not an anchor");
    cfg = variant(det, "m.cfg", "anchors=4,6, 8,10, 12,14, 20,24", "anchors=4,6, 8,10");
    expect_clean_failure(run(cfg, w, img, "-out", prefix, NULL), 1, "num=4 anchors need exactly 8");
}
END_TEST

START_TEST(init_never_exits_zero_on_failure)
{
    /* Issue 15, defect 3: crashed leaving w.weights.tmp, or exited 0 */
    const char *cfg = variant(clf, "g.cfg", "filters=8\n", "filters=8\ngroups=-2\n");
    expect_clean_failure(run("init", cfg, path("out/w.weights"), NULL), 1, "groups=-2");
    cfg = variant(clf, "s.cfg", "size=3\n", "size=1000000000\n");
    expect_clean_failure(run("init", cfg, path("out/w.weights"), NULL), 1, "size=1000000000");
    expect_clean_failure(run("init", clf, "/proc/w.weights", NULL), 1, "/proc/w.weights: cannot create a file");
    /* missing folders are created; one that cannot be (a file in the way) is an error */
    expect_clean_failure(run("init", clf, path("g.cfg/dir/w.weights"), NULL), 1, "is not a folder");
    expect_clean_failure(run("init", clf, outdir, NULL), 1, "is a directory");
    /* usage errors are status 2, as for the other subcommands */
    expect_clean_failure(run("init", clf, NULL), 2, "gradcam init needs");
    expect_clean_failure(run("init", clf, path("out/w.weights"), "-seed", "x", NULL), 2, "-seed x");
    expect_clean_failure(run("scenes", "cls", "test", NULL), 2, "gradcam scenes needs");
    expect_clean_failure(run("scenes", "blob", "test", "3", outdir, NULL), 2, "scene kind blob");
    expect_clean_failure(run("scenes", "cls", "test", "0", outdir, NULL), 2, "count 0");
    /* and a good run still works, leaving only the weights */
    ck_assert_int_eq(run("init", clf, path("out/w.weights"), NULL), 0);
    ck_assert_int_eq(gcf_count_files(outdir), 1);
}
END_TEST

START_TEST(output_is_bounded)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    const char *w = weights_for(clf, "w.weights");
    expect_clean_failure(run(clf, w, img, "-out", prefix, "-thresh", "0", NULL), 2, "-thresh 0: must be above 0");
    expect_clean_failure(run(clf, w, img, "-out", prefix, "-thresh", "-1", NULL), 2, "-thresh -1");
    expect_clean_failure(run(clf, w, img, "-out", prefix, "-maxboxes", "0", NULL), 2, "-maxboxes 0");
    expect_clean_failure(run(clf, w, img, "-out", prefix, "-top", "1001", NULL), 2, "-top 1001");
    expect_clean_failure(run("eval", clf, w, "list.txt", "-steps", "100000", NULL), 2, "-steps 100000");
    expect_clean_failure(run("eval", clf, w, "list.txt", "-mapthresh", "0", NULL), 2, "-mapthresh 0");
    /* -class nan without names is a usage error too */
    expect_clean_failure(run(clf, w, img, "-out", prefix, "-class", "nan", NULL), 2, "-class nan");
}
END_TEST

static int lines_starting(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); ++p)
        if (p == text || p[-1] == '\n') ++n;
    return n;
}

START_TEST(maxboxes_caps_the_boxes)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    const char *w = weights_for(det, "w.weights");
    /* a low threshold on random weights: many boxes, 3 explained */
    ck_assert_int_eq(run(det, w, img, "-out", prefix, "-thresh", "0.05", "-nms", "0", "-maxboxes", "3", NULL), 0);
    int found = 0;
    char head[4200];
    snprintf(head, sizeof head, "gradcam: warning: %s: ", img); /* the image named, for a -list run's lines */
    const char *warn = strstr(err, head);
    ck_assert_msg(warn && sscanf(warn + strlen(head), "%d detections", &found) == 1, "%s", err);
    ck_assert_int_gt(found, 3);
    ck_assert_int_eq(lines_starting(out, "box "), 3);
    ck_assert_int_eq(gcf_count_files(outdir), 3 * 2 + 1); /* png + npy per box, one summary */
    ck_assert_msg(strstr(err, "explaining the 3 most probable (-maxboxes 3)"), "%s", err);
    ck_assert_ptr_null(strstr(err, "explain: "));
    /* more than 20 boxes: progress on stderr every 10 */
    gcf_rmtree(outdir);
    ck_assert_int_eq(mkdir(outdir, 0755), 0);
    ck_assert_int_eq(run(det, w, img, "-out", prefix, "-thresh", "0.05", "-nms", "0", "-maxboxes", "25", NULL), 0);
    ck_assert_int_eq(lines_starting(out, "box "), 25);
    ck_assert_msg(strstr(err, "explain: 10/25 boxes\nexplain: 20/25 boxes\n"), "%s", err);
    /* not in a -list run, which has its own progress (and -quiet): these
     * lines had come between it, -quiet or not */
    char list[4200], lo[4200];
    snprintf(list, sizeof list, "%s/list.txt", dir);
    FILE *f = fopen(list, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", img);
    fclose(f);
    for (int q = 0; q < 2; ++q) {
        snprintf(lo, sizeof lo, "%s/list%d", dir, q);
        ck_assert_int_eq(run(det, w, "-list", list, "-outdir", lo, "-thresh", "0.05", "-nms", "0", "-maxboxes", "25",
                             q ? "-quiet" : NULL, NULL),
                         0);
        ck_assert_msg(!strstr(err, "explain: "), "%s", err);
        gcf_rmtree(lo);
    }
}
END_TEST

/* -maxboxes bounds the memory of the pairs, not only the boxes explained:
 * 2000 classes on 3072 boxes at -thresh 1e-30 are 6.1 million (box, class)
 * pairs. Each was built (40 bytes) and ranked (8 more) before the cap: a
 * peak RSS of 495 MB, now 159 MB (the network's own buffers, and Darknet's
 * probability per pair). The same box as the uncapped ranking would pick. */
START_TEST(maxboxes_bounds_the_memory_of_pairs)
{
    const char *many = "tests/cfg/det_many_classes.cfg";
    const char *img = gcf_darknet_path("data/dog.jpg");
    const char *w = weights_for(many, "many.weights");
    ck_assert_int_eq(run(many, w, img, "-thresh", "1e-30", "-nms", "0", "-maxboxes", "2", "-save", "none", NULL), 0);
    ck_assert_msg(strstr(err, ": 6144000 detections above -thresh 1e-30; explaining the 2 most probable "
                              "(-maxboxes 2)") && strstr(err, "gradcam: warning: ") && strstr(err, "dog.jpg: "),
                  "%s", err);
    ck_assert_int_eq(lines_starting(out, "box "), 2);
    ck_assert_msg(strstr(out, "box 1 class 718: 40% [413 0 622 277] head 3 anchor 2 cell 7,21"), "%s", out);
#if !defined(__SANITIZE_ADDRESS__) /* ASan's own memory is not the program's */
    struct rusage ru;
    ck_assert_int_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
    ck_assert_msg(ru.ru_maxrss < 300 * 1024, "the run reached %ld KB", ru.ru_maxrss);
#endif
}
END_TEST

START_TEST(json_never_overwrites_inputs)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    const char *w = weights_for(det, "w.weights");
    struct stat before, after;
    ck_assert_int_eq(stat(w, &before), 0);
    expect_clean_failure(run(det, w, img, "-out", prefix, "-json", w, NULL), 2, "is the input file");
    ck_assert_int_eq(stat(w, &after), 0);
    ck_assert_int_eq(before.st_size, after.st_size);
    char own[4200];
    snprintf(own, sizeof own, "%s_0.png", prefix);
    expect_clean_failure(run(det, w, img, "-out", prefix, "-json", own, NULL), 2, "this run's own outputs");
    /* the same file spelt otherwise: the report had replaced the map (exit 0) */
    snprintf(own, sizeof own, "%s/out/./gc_0.npy", dir);
    expect_clean_failure(run(det, w, img, "-out", prefix, "-json", own, NULL), 2, "this run's own outputs");
    snprintf(own, sizeof own, "%s//out/../out/gc_0.png", dir);
    expect_clean_failure(run(det, w, img, "-out", prefix, "-json", own, NULL), 2, "this run's own outputs");
    expect_clean_failure(run("eval", det, w, det, "-json", det, NULL), 2, "is the input file");
    expect_clean_failure(run("eval", det, w, det, "-json", path("w.weights/dir/r.json"), NULL), 1, "is not a folder");
}
END_TEST

START_TEST(eval_checks_every_image_first)
{
    /* Issue 15, defect 8: a bad image late in the list failed only when reached. */
    const char *w = weights_for(clf, "w.weights");
    char list[1 << 14] = "";
    ck_assert_int_eq(mkdir(path("images"), 0755), 0);
    ck_assert_int_eq(mkdir(path("labels"), 0755), 0);
    char *jpg = NULL;
    {
        FILE *f = fopen(gcf_darknet_path("data/dog.jpg"), "rb");
        ck_assert_ptr_nonnull(f);
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        jpg = malloc((size_t)n);
        ck_assert_int_eq(fread(jpg, 1, (size_t)n, f), n);
        fclose(f);
        for (int i = 0; i < 30; ++i) {
            char name[64], lab[64];
            snprintf(name, sizeof name, "images/%d.jpg", i);
            snprintf(lab, sizeof lab, "labels/%d.txt", i);
            if (i != 27) write_bytes(path(name), jpg, (size_t)n);
            write_bytes(path(lab), "1 0.5 0.5 0.4 0.4\n", 18);
            strcat(list, path(name));
            strcat(list, "\n");
        }
    }
    free(jpg);
    write_bytes(path("list.txt"), list, strlen(list));
    expect_clean_failure(run("eval", clf, w, path("list.txt"), NULL), 1, "image 28");
    ck_assert_msg(!strstr(err, "eval: "), "forward passes ran before the check:\n%s", err);
    /* a NUL byte in the list is named with its line */
    write_bytes(path("nul.txt"), "a.jpg\nb\0.jpg\n", 13);
    expect_clean_failure(run("eval", clf, w, path("nul.txt"), NULL), 1, "line 2: contains a NUL byte");
}
END_TEST

START_TEST(a_failed_write_leaves_no_partial_file)
{
    /* A file size limit makes every write past 4 KiB fail with EFBIG, as a full
     * disk would: the first PNG cannot be written, and nothing is left. No
     * `trap '' XFSZ` here: gradcam ignores SIGXFSZ itself (by default it
     * would kill the run and leave the PNG's .tmp). */
    const char *w = weights_for(clf, "w.weights");
    const char *bin = gcf_shell_binary();
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "ulimit -f 4; exec %s gradcam %s %s %s -out %s",
             bin, clf, w, gcf_darknet_path("data/dog.jpg"), prefix);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    int rc = gcf_run(argv, out, sizeof out, err, sizeof err);
    expect_clean_failure(rc, 1, "cannot write");
    /* gradcam init through the same limit: Darknet's unchecked fwrite()s */
    const char *big = variant(clf, "big.cfg", "filters=12", "filters=200");
    snprintf(cmd, sizeof cmd, "ulimit -f 4; exec %s gradcam init %s %s/w.weights",
             bin, big, outdir);
    rc = gcf_run(argv, out, sizeof out, err, sizeof err);
    expect_clean_failure(rc, 1, "short write");
    /* eval: every forward pass done, then its JSON report (4.6 KB for two
     * images) cannot be written: no report, no .tmp */
    ck_assert_int_eq(mkdir(path("images"), 0755), 0);
    ck_assert_int_eq(mkdir(path("labels"), 0755), 0);
    char list[8192] = "";
    for (int i = 0; i < 2; ++i) {
        char name[64], lab[64];
        snprintf(name, sizeof name, "images/%d.jpg", i);
        snprintf(lab, sizeof lab, "labels/%d.txt", i);
        copy_file(gcf_darknet_path("data/dog.jpg"), path(name));
        write_bytes(path(lab), "1 0.5 0.5 0.4 0.4\n", 18);
        strcat(list, path(name));
        strcat(list, "\n");
    }
    write_bytes(path("list.txt"), list, strlen(list));
    snprintf(cmd, sizeof cmd, "ulimit -f 4; exec %s gradcam eval %s %s %s -json %s/eval.json",
             bin, clf, w, path("list.txt"), outdir);
    rc = gcf_run(argv, out, sizeof out, err, sizeof err);
    expect_clean_failure(rc, 1, "cannot write");
    ck_assert_msg(strstr(err, "eval: 2/2 images"), "the report failed before the forward passes:\n%s", err);
    /* stdout on a full device: the report's lines are lost, so not status 0 */
    if (access("/dev/full", W_OK) == 0) {
        snprintf(cmd, sizeof cmd, "exec %s gradcam %s %s %s -save none >/dev/full", bin, clf, w,
                 gcf_darknet_path("data/dog.jpg"));
        rc = gcf_run(argv, out, sizeof out, err, sizeof err);
        ck_assert_msg(rc == 1 && strstr(err, "gradcam: cannot write the standard output"), "exit %d\n%s", rc, err);
    }
}
END_TEST

/* -json - on a standard output that cannot be written (a full device here,
 * a reader that closed the pipe alike): the message names the stream as the
 * CLI names "-", not the /dev/stdout the run writes it through. It had said
 * "cannot write /dev/stdout: No space left on device". */
START_TEST(json_dash_failure_names_the_standard_output)
{
    if (access("/dev/full", W_OK) != 0) return;
    const char *w = weights_for(clf, "w.weights");
    const char *bin = gcf_shell_binary();
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "exec %s gradcam %s %s %s -out %s -json - >/dev/full", bin, clf, w,
             gcf_darknet_path("data/dog.jpg"), prefix);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    int rc = gcf_run(argv, out, sizeof out, err, sizeof err);
    expect_clean_failure(rc, 1, "gradcam: cannot write the standard output: No space left on device");
    ck_assert_msg(!strstr(err, "/dev/stdout"), "%s", err);
}
END_TEST

/* The build's fetch of Debian's source package: apt writes the .dsc before
 * the tarballs, and a download stopped halfway (here a fake apt-get that
 * writes them and dies as Ctrl-C leaves it) had left the .dsc in the cache,
 * which every later make took for the whole package and failed to unpack. */
START_TEST(an_interrupted_source_download_is_not_cached)
{
    char bin[4096], cmd[16384];
    snprintf(bin, sizeof bin, "%s/bin", dir);
    ck_assert_int_eq(mkdir(bin, 0755), 0);
    FILE *f = fopen(path("bin/apt-get"), "w");
    ck_assert_ptr_nonnull(f);
    fputs("#!/bin/sh\necho dsc >darknet_1.0-1.dsc\nhead -c 1000 /dev/zero >darknet_1.0.orig.tar.xz\nexit 130\n", f);
    ck_assert_int_eq(fclose(f), 0);
    f = fopen(path("bin/dpkg-source"), "w");
    ck_assert_ptr_nonnull(f);
    fputs("#!/bin/sh\nexit 1\n", f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(path("bin/apt-get"), 0755), 0);
    ck_assert_int_eq(chmod(path("bin/dpkg-source"), 0755), 0);
    snprintf(cmd, sizeof cmd, "PATH='%s':\"$PATH\" sh scripts/fetch-darknet.sh '%s' 1.0 ''", bin, path("b/darknet"));
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    ck_assert_int_eq(gcf_run(argv, out, sizeof out, err, sizeof err), 1);
    ck_assert_msg(strstr(err, "'apt-get source darknet' failed"), "%s", err);
    ck_assert_msg(access(path("b/darknet-srcpkg/darknet_1.0-1.dsc"), F_OK) != 0,
                  "an interrupted download left its .dsc in the cache");
    ck_assert_int_ne(access(path("b/darknet"), F_OK), 0);
    ck_assert_int_ne(access(path("b/darknet.tmp"), F_OK), 0);
}
END_TEST

Suite *suite_hard(void)
{
    Suite *s = suite_create("hard");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cfgs_that_crashed_darknet);
    tcase_add_test(tc, a_route_of_many_layers);
    tcase_add_test(tc, training_batch_does_not_matter);
    tcase_add_test(tc, network_input_the_image_cannot_feed);
    tcase_add_test(tc, cfg_encodings_are_named);
    tcase_add_test(tc, non_finite_weights_in_a_detector);
    tcase_add_test(tc, score_cam_on_non_finite_activations);
    tcase_add_test(tc, non_finite_output_of_a_classifier);
    tcase_add_test(tc, yolo_masks_outside_the_anchors);
    tcase_add_test(tc, init_never_exits_zero_on_failure);
    tcase_add_test(tc, output_is_bounded);
    tcase_add_test(tc, maxboxes_caps_the_boxes);
    tcase_add_test(tc, maxboxes_bounds_the_memory_of_pairs);
    tcase_add_test(tc, json_never_overwrites_inputs);
    tcase_add_test(tc, eval_checks_every_image_first);
    tcase_add_test(tc, a_failed_write_leaves_no_partial_file);
    tcase_add_test(tc, json_dash_failure_names_the_standard_output);
    tcase_add_test(tc, an_interrupted_source_download_is_not_cached);
    suite_add_tcase(s, tc);
    return s;
}
