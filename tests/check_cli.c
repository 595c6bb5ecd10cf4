/* The gradcam subcommand end to end, through the real ./darknet binary:
 * success writes one overlay and one map per target; every kind of bad input
 * gives one "gradcam:" line naming what is wrong, a non-zero status, and no
 * output file. */
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gc_fixture.h"
#include "gc_image.h"
#include "gc_scenes.h"
#include "gc_tests.h"

static char *dir;
static char weights[4096], prefix[4096];
static char out[1 << 16], err[1 << 16];
static const char *cfg = "tests/cfg/clf_bn.cfg";

static void setup(void)
{
    dir = gcf_tempdir();
    ck_assert_ptr_nonnull(dir);
    snprintf(weights, sizeof weights, "%s/clf.weights", dir);
    ck_assert_int_eq(gcf_write_random_weights(cfg, weights, 21), 0);
    snprintf(prefix, sizeof prefix, "%s/out/gc", dir);
    char outdir[4096];
    snprintf(outdir, sizeof outdir, "%s/out", dir);
    ck_assert_int_eq(mkdir(outdir, 0755), 0);
}

static void teardown(void)
{
    gcf_rmtree(dir);
    free(dir);
}

static const char *out_dir(void)
{
    static char p[4096];
    snprintf(p, sizeof p, "%s/out", dir);
    return p;
}

/* ./darknet gradcam ARGS... (NULL-terminated); returns the exit status. */
#define run(...) gcf_run_gradcam(out, sizeof out, err, sizeof err, __VA_ARGS__)

/* Writes path with printf-style text, asserting it was written whole. */
static void write_text(const char *path, const char *fmt, ...)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    va_list ap;
    va_start(ap, fmt);
    ck_assert_int_ge(vfprintf(f, fmt, ap), 0);
    va_end(ap);
    ck_assert_int_eq(fclose(f), 0);
}

/* Exactly one line of stderr starts with "gradcam:" and it contains `what`. */
static void assert_one_error_naming(const char *what)
{
    int lines = 0;
    const char *hit = NULL;
    for (const char *p = err; (p = strstr(p, "gradcam:")); ++p)
        if (p == err || p[-1] == '\n') {
            ++lines;
            hit = p;
        }
    ck_assert_msg(lines == 1, "expected one gradcam: line, got %d in:\n%s", lines, err);
    const char *eol = strchr(hit, '\n');
    ck_assert_msg(strstr(hit, what) && (!eol || strstr(hit, what) < eol), "error line does not name %s:\n%s", what,
                  hit);
    ck_assert_int_eq(gcf_count_files(out_dir()), 0);
}

/* A classifier ending in [logistic] (multi-label: a sigmoid per class) is
 * read as one ending in [softmax]: the logit (the [logistic]'s input) is
 * explained, the sigmoid printed as a probability. Its map is then the one
 * of the same network without the [logistic] (which explains that logit as
 * its raw score), byte for byte; it had been the sigmoid's map, scaled by
 * y (1 - y), with the sigmoid printed as a "score". */
START_TEST(a_final_logistic_is_a_probability)
{
    char *text = gcf_read_file(cfg, NULL);
    ck_assert_ptr_nonnull(text);
    char *sm = strstr(text, "\n[softmax]\ngroups=1\n");
    ck_assert_ptr_nonnull(sm);
    char logi[4096], none[4096], pl[4096], pn[4096], a[8200], b[8200];
    snprintf(logi, sizeof logi, "%s/logistic.cfg", dir);
    snprintf(none, sizeof none, "%s/none.cfg", dir);
    write_text(logi, "%.*s\n[logistic]\n%s", (int)(sm - text), text, sm + strlen("\n[softmax]\ngroups=1\n"));
    write_text(none, "%.*s\n%s", (int)(sm - text), text, sm + strlen("\n[softmax]\ngroups=1\n"));
    free(text);
    const char *img = gcf_darknet_path("data/dog.jpg");
    snprintf(pl, sizeof pl, "%s/out/l", dir);
    snprintf(pn, sizeof pn, "%s/out/n", dir);
    ck_assert_msg(run(logi, weights, img, "-class", "2", "-save", "npy", "-out", pl, NULL) == 0, "%s", err);
    double prob = -1, score = 0;
    ck_assert_msg(sscanf(out, "class 2: probability %lf", &prob) == 1, "%s", out);
    ck_assert_msg(run(none, weights, img, "-class", "2", "-save", "npy", "-out", pn, NULL) == 0, "%s", err);
    ck_assert_msg(sscanf(out, "class 2: score %lf", &score) == 1, "%s", out);
    ck_assert_msg(fabs(prob - 1 / (1 + exp(-score))) < 1e-4, "probability %g, score %g", prob, score);
    snprintf(a, sizeof a, "%s_2.npy", pl);
    snprintf(b, sizeof b, "%s_2.npy", pn);
    size_t na = 0, nb = 0;
    char *ca = gcf_read_file(a, &na), *cb = gcf_read_file(b, &nb);
    ck_assert_msg(ca && cb && na == nb && !memcmp(ca, cb, na), "%s differs from %s", a, b);
    free(ca);
    free(cb);
}
END_TEST

START_TEST(explains_the_top_class)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    int rc = run(cfg, weights, img, "-out", prefix, NULL);
    ck_assert_msg(rc == 0, "rc %d\n%s", rc, err);
    ck_assert_int_eq(gcf_count_files(out_dir()), 2);
    int cls = -1;
    ck_assert_msg(sscanf(out, "class %d", &cls) == 1, "stdout: %s", out);
    char p[8192];
    snprintf(p, sizeof p, "%s_%d.npy", prefix, cls);
    size_t rows = 0, cols = 0;
    gc_err e;
    float *m = gc_image_read_npy(p, &rows, &cols, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert_uint_eq(rows, 8); /* layer 2: 20x16 input, one 2x2 maxpool */
    ck_assert_uint_eq(cols, 10);
    for (size_t i = 0; i < rows * cols; ++i) ck_assert(m[i] >= 0.0f && m[i] == m[i]);
    free(m);
    snprintf(p, sizeof p, "%s_%d.png", prefix, cls);
    int w = 0, h = 0;
    ck_assert_int_eq(gc_image_check(p, &w, &h, &e), 0);
    ck_assert_int_eq(w, 768); /* the overlay is on the original image, */
    ck_assert_int_gt(h, 576); /* with a footer below it (title, colour bar) */
}
END_TEST

START_TEST(top_n_writes_a_pair_per_class)
{
    int rc = run(cfg, weights, gcf_darknet_path("data/dog.jpg"), "-out", prefix, "-top", "3", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_int_eq(gcf_count_files(out_dir()), 6);
    int a, b, c;
    const char *l2 = strstr(out, "\nclass ");
    ck_assert_ptr_nonnull(l2);
    const char *l3 = strstr(l2 + 1, "\nclass ");
    ck_assert_ptr_nonnull(l3);
    ck_assert_int_eq(sscanf(out, "class %d", &a), 1);
    ck_assert_int_eq(sscanf(l2 + 1, "class %d", &b), 1);
    ck_assert_int_eq(sscanf(l3 + 1, "class %d", &c), 1);
    ck_assert(a != b && b != c && a != c);
}
END_TEST

/* -save: only the outputs asked for; the report and -json still list every
 * class, with null for what was left out. */
START_TEST(save_writes_only_what_is_asked)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    char json[4096], p[8192];
    snprintf(json, sizeof json, "%s/report.json", dir);
    int rc = run(cfg, weights, img, "-out", prefix, "-top", "2", "-save", "npy", "-json", json, NULL);
    ck_assert_msg(rc == 0, "rc %d\n%s", rc, err);
    ck_assert_int_eq(gcf_count_files(out_dir()), 2);
    int a = -1, b = -1;
    const char *l2 = strstr(out, "\nclass ");
    ck_assert_ptr_nonnull(l2);
    ck_assert_int_eq(sscanf(out, "class %d", &a), 1);
    ck_assert_int_eq(sscanf(l2 + 1, "class %d", &b), 1);
    ck_assert_msg(strstr(out, "(no overlay: -save)") && strstr(out, "  map "), "%s", out);
    snprintf(p, sizeof p, "%s_%d.npy", prefix, a);
    ck_assert_int_eq(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s_%d.npy", prefix, b);
    ck_assert_int_eq(access(p, F_OK), 0);
    FILE *f = fopen(json, "r");
    ck_assert_ptr_nonnull(f);
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    int nulls = 0;
    for (const char *q = buf; (q = strstr(q, "\"overlay\": null, \"map\": \"")); ++q) ++nulls;
    ck_assert_msg(nulls == 2, "%s", buf);
    /* png alone: the overlays, no map, no map line */
    gcf_rmtree(out_dir());
    ck_assert_int_eq(mkdir(out_dir(), 0755), 0);
    rc = run(cfg, weights, img, "-out", prefix, "-save", "PNG", NULL); /* any case, as -method */
    ck_assert_msg(rc == 0, "rc %d\n%s", rc, err);
    ck_assert_int_eq(gcf_count_files(out_dir()), 1);
    snprintf(p, sizeof p, "%s_%d.png", prefix, a);
    ck_assert_int_eq(access(p, F_OK), 0);
    ck_assert_msg(!strstr(out, "  map ") && !strstr(out, "no overlay"), "%s", out);
    /* none: the report only; and no folder made for -out (summary alone is
     * none for a classifier) */
    rc = run(cfg, weights, img, "-out", prefix, "-save", "none", NULL);
    ck_assert_msg(rc == 0 && strstr(out, "class "), "rc %d\n%s", rc, err);
    ck_assert_int_eq(gcf_count_files(out_dir()), 1);
    char fresh[4200];
    snprintf(fresh, sizeof fresh, "%s/new/gc", out_dir());
    const char *nothing[] = {"none", "summary"};
    for (int k = 0; k < 2; ++k) {
        ck_assert_int_eq(run(cfg, weights, img, "-out", fresh, "-save", nothing[k], NULL), 0);
        ck_assert_msg(gcf_count_files(out_dir()) == 1, "-save %s made a folder for -out", nothing[k]);
    }
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, "-save", "jpg", NULL), 2);
    ck_assert_msg(strstr(err, "-save jpg: expected"), "%s", err);
}
END_TEST

START_TEST(class_by_name_layer_and_counterfactual)
{
    char names[4096];
    snprintf(names, sizeof names, "%s/x.names", dir);
    FILE *f = fopen(names, "w");
    fputs("zero\none\ntwo\nthree\nfour\n", f);
    fclose(f);
    int rc = run(cfg, weights, gcf_darknet_path("data/dog.jpg"), "-out", prefix, "-names", names, "-class",
                 "three", "-layer", "-4", "-counterfactual", "-method", "gradcam++", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_msg(strncmp(out, "class 3 three:", 14) == 0, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "layer 0 convolutional 20x16x8")); /* -4 from logit layer 4 */
    ck_assert_ptr_nonnull(strstr(out, "gradcam++ counterfactual"));
    ck_assert_int_eq(gcf_count_files(out_dir()), 2);
    /* a name that two classes share is refused, not taken as the first;
     * one spelt exactly so wins over another case (ImageNet's "Cardigan",
     * the dog, and "cardigan", the sweater: both had been refused) */
    f = fopen(names, "w");
    fputs("zero\ncrane\ntwo\nCrane\ncrane\n", f);
    fclose(f);
    gcf_rmtree(out_dir());
    ck_assert_int_eq(mkdir(out_dir(), 0755), 0);
    rc = run(cfg, weights, gcf_darknet_path("data/dog.jpg"), "-out", prefix, "-names", names, "-class", "crane", NULL);
    ck_assert_int_eq(rc, 1);
    assert_one_error_naming("-class crane names classes 1 (crane) and 4 (crane): give the index");
    rc = run(cfg, weights, gcf_darknet_path("data/dog.jpg"), "-out", prefix, "-names", names, "-class", "CRANE", NULL);
    ck_assert_int_eq(rc, 1);
    assert_one_error_naming("-class CRANE names classes 1 (crane) and 3 (Crane): give the index");
    rc = run(cfg, weights, gcf_darknet_path("data/dog.jpg"), "-out", prefix, "-names", names, "-class", "Crane", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_msg(strncmp(out, "class 3 Crane:", 14) == 0, "%s", out);
    gcf_rmtree(out_dir());
    ck_assert_int_eq(mkdir(out_dir(), 0755), 0);
    f = fopen(names, "w");
    fputs("zero\nCardigan\ntwo\ncardigan\nfour\n", f);
    fclose(f);
    rc = run(cfg, weights, gcf_darknet_path("data/dog.jpg"), "-out", prefix, "-names", names, "-class", "cardigan", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_msg(strncmp(out, "class 3 cardigan:", 17) == 0, "%s", out);
    gcf_rmtree(out_dir());
    ck_assert_int_eq(mkdir(out_dir(), 0755), 0);
    rc = run(cfg, weights, gcf_darknet_path("data/dog.jpg"), "-out", prefix, "-names", names, "-class", "CARDIGAN", NULL);
    ck_assert_int_eq(rc, 1);
    assert_one_error_naming("-class CARDIGAN names classes 1 (Cardigan) and 3 (cardigan): give the index");
}
END_TEST

/* -layer naming one layer twice (it fused a layer with itself) */
START_TEST(a_layer_given_twice)
{
    int rc = run(cfg, weights, gcf_darknet_path("data/dog.jpg"), "-out", prefix, "-layer", "2,0,2", NULL);
    ck_assert_int_eq(rc, 2);
    assert_one_error_naming("-layer 2,0,2: layer 2 is given twice");
}
END_TEST

/* One layer by two names, an index and a count back (3 and -1 on a net
 * whose logit layer is 4; a detector's 8 and -4 at its head 12, fine at
 * head 19), fused the layer with itself; -0 is 0, the first layer, not a
 * count back. Refused, a detector's before any image, -list too. */
START_TEST(a_layer_by_two_names)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, "-layer", "3,-1", NULL), 1);
    assert_one_error_naming("-layer 3 and -1 both name layer 3");
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, "-layer", "-0", NULL), 2);
    assert_one_error_naming("-layer -0: -0 names no layer");
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, "-layer", "1,-00", NULL), 2);
    assert_one_error_naming("-layer 1,-00: -0 names no layer");
    const char *det = "cfg/fmnist-det.cfg", *det_w = "cfg/fmnist-det.weights";
    ck_assert_int_eq(run(det, det_w, img, "-out", prefix, "-layer", "8,-4", "-thresh", "0.001", NULL), 1);
    assert_one_error_naming("-layer 8 and -4 both name layer 8, for the yolo head at layer 12");
    ck_assert_ptr_null(strstr(err, "box "));
    char list[4096];
    snprintf(list, sizeof list, "%s/list.txt", dir);
    FILE *f = fopen(list, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", img);
    fclose(f);
    ck_assert_int_eq(run(det, det_w, "-list", list, "-outdir", out_dir(), "-layer", "8,-4", NULL), 1);
    assert_one_error_naming("-layer 8 and -4 both name layer 8");
    int rc = run(det, det_w, img, "-out", prefix, "-layer", "8,-2", "-thresh", "0.001", "-maxboxes", "1", NULL);
    ck_assert_msg(rc == 0, "-layer 8,-2: rc %d\n%s", rc, err);
}
END_TEST

START_TEST(missing_image)
{
    ck_assert_int_ne(run(cfg, weights, "nowhere/none.jpg", "-out", prefix, NULL), 0);
    assert_one_error_naming("nowhere/none.jpg");
}
END_TEST

/* A UTF-8 name is shown as it is, as a -list run's per-image lines show it;
 * a control byte, a C1 control (0x9b is a terminal's CSI) or a byte that is
 * not UTF-8 as '?'. */
START_TEST(error_lines_keep_utf8_names)
{
    ck_assert_int_eq(run(cfg, weights, "nowhere/caf\xc3\xa9.jpg", "-out", prefix, NULL), 1);
    assert_one_error_naming("nowhere/caf\xc3\xa9.jpg");
    ck_assert_int_eq(run(cfg, weights, "nowhere/a\x1b[2J\xc2\x9b\xff.jpg", "-out", prefix, NULL), 1);
    assert_one_error_naming("nowhere/a?[2J???.jpg");
}
END_TEST

/* The report lines on stdout quote the names file and the paths given: a
 * class name or -out prefix holding a terminal's escape sequence had its
 * bytes printed as they are (the screen cleared, colours changed); now as
 * '?', as on the error lines, and a UTF-8 name as it is. */
START_TEST(report_lines_are_printable)
{
    char names[4096], pre[4096];
    snprintf(names, sizeof names, "%s/esc.names", dir);
    FILE *f = fopen(names, "w");
    ck_assert_ptr_nonnull(f);
    fputs("a\x1b[2Jb\xc2\x9b\ncaf\xc3\xa9\nc\nd\ne\n", f); /* five: the network's classes */
    fclose(f);
    snprintf(pre, sizeof pre, "%s/out/p\x1b]0;x\x07q", dir);
    const char *img = gcf_darknet_path("data/dog.jpg");
    const char *cls[] = {"0", "1"}, *want[] = {"class 0 a?[2Jb??: ", "class 1 caf\xc3\xa9: "};
    for (int k = 0; k < 2; ++k) {
        int rc = run(cfg, weights, img, "-class", cls[k], "-names", names, "-out", pre, NULL);
        ck_assert_msg(rc == 0, "rc %d\n%s", rc, err);
        ck_assert_msg(strstr(out, want[k]), "stdout does not hold \"%s\":\n%s", want[k], out);
        ck_assert_msg(strstr(out, "/out/p?]0;x?q_"), "stdout: %s", out);
        for (const unsigned char *p = (const unsigned char *)out; *p; ++p)
            ck_assert_msg(*p == '\n' || (*p >= 32 && *p != 127 && !(p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0)),
                          "control byte 0x%02x on stdout:\n%s", *p, out);
    }
}
END_TEST

/* The other lines that quote a path given (init's, a -list run's index
 * line) follow the same rule. */
START_TEST(path_lines_are_printable)
{
    char w[4096], o[4096], list[4096];
    snprintf(w, sizeof w, "%s/w\x1b[2J.weights", dir);
    snprintf(o, sizeof o, "%s/maps\x1b[2J", dir);
    snprintf(list, sizeof list, "%s/list.txt", dir);
    FILE *f = fopen(list, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", gcf_darknet_path("data/dog.jpg"));
    fclose(f);
    int rc = run("init", cfg, w, NULL);
    ck_assert_msg(rc == 0, "rc %d\n%s", rc, err);
    ck_assert_msg(strstr(out, "/w?[2J.weights"), "stdout: %s", out);
    for (const char *p = out; *p; ++p) ck_assert_msg(*p != '\x1b', "ESC on stdout:\n%s", out);
    rc = run(cfg, weights, "-list", list, "-outdir", o, "-quiet", NULL);
    ck_assert_msg(rc == 0, "rc %d\n%s", rc, err);
    ck_assert_msg(strstr(out, "index ") && strstr(out, "/maps?[2J/index.jsonl"), "stdout: %s", out);
    for (const char *p = out; *p; ++p) ck_assert_msg(*p != '\x1b', "ESC on stdout:\n%s", out);
}
END_TEST

/* init's -seed reaches the weights of recurrent layers ([rnn], [gru],
 * [lstm], [crnn]), which are in the layers they hold: one seed, one file;
 * another seed, another file of the same size. They had kept Darknet's
 * unseeded values, the same file for every seed. */
START_TEST(init_seeds_recurrent_layers)
{
    static const char *const bodies[] = {
        "[rnn]\noutput=4\nhidden=4\nactivation=leaky\n",
        "[gru]\noutput=4\n",
        "[lstm]\noutput=4\n",
        /* convolutions first: [crnn] sizes no workspace of its own */
        "[convolutional]\nfilters=16\nsize=3\npad=1\nactivation=leaky\n\n"
        "[convolutional]\nfilters=16\nsize=3\npad=1\nactivation=leaky\n\n"
        "[crnn]\nbatch_normalize=1\noutput_filters=4\nhidden_filters=4\nactivation=leaky\n"};
    for (int k = 0; k < 4; ++k) {
        char c[4096], w[3][4096];
        snprintf(c, sizeof c, "%s/rec%d.cfg", dir, k);
        write_text(c, "[net]\nbatch=1\nsubdivisions=1\nwidth=4\nheight=4\nchannels=3\n\n%s", bodies[k]);
        const char *seeds[3] = {"1", "1", "2"};
        char *bytes[3];
        size_t len[3];
        for (int j = 0; j < 3; ++j) {
            snprintf(w[j], sizeof w[j], "%s/rec%d_%d.weights", dir, k, j);
            ck_assert_msg(run("init", c, w[j], "-seed", seeds[j], NULL) == 0, "%s", err);
            bytes[j] = gcf_read_file(w[j], &len[j]);
            ck_assert_ptr_nonnull(bytes[j]);
        }
        ck_assert_msg(len[0] == len[1] && !memcmp(bytes[0], bytes[1], len[0]), "%s: seed 1 twice differs", bodies[k]);
        ck_assert_msg(len[0] == len[2] && memcmp(bytes[0], bytes[2], len[0]), "%s: seeds 1 and 2 give one file",
                      bodies[k]);
        for (int j = 0; j < 3; ++j) free(bytes[j]);
    }
}
END_TEST

/* init onto an existing file refuses: `init x.cfg x.weights`, typed for
 * `x.cfg x.weights`, had replaced a trained model's weights with random
 * ones. The file is left as it was; an empty file (mktemp's) is filled. */
START_TEST(init_does_not_replace_weights)
{
    char w[4096];
    snprintf(w, sizeof w, "%s/trained.weights", dir);
    int rc = run("init", cfg, w, NULL);
    ck_assert_msg(rc == 0, "rc %d\n%s", rc, err);
    size_t n0 = 0, n1 = 0;
    char *before = gcf_read_file(w, &n0);
    ck_assert_ptr_nonnull(before);
    rc = run("init", cfg, w, "-seed", "2", NULL);
    ck_assert_int_eq(rc, 1);
    char want[4200];
    snprintf(want, sizeof want, "%s exists (%zu bytes): refusing to replace it with random weights", w, n0);
    assert_one_error_naming(want);
    char *after = gcf_read_file(w, &n1);
    ck_assert_ptr_nonnull(after);
    ck_assert_msg(n0 == n1 && !memcmp(before, after, n0), "%s was changed", w);
    free(before);
    free(after);
    FILE *f = fopen(w, "w"); /* empty */
    ck_assert_ptr_nonnull(f);
    fclose(f);
    rc = run("init", cfg, w, NULL);
    ck_assert_msg(rc == 0, "rc %d\n%s", rc, err);
    struct stat st;
    ck_assert_int_eq(stat(w, &st), 0);
    ck_assert_int_eq((long long)st.st_size, (long long)n0);
}
END_TEST

/* -counterfactual with a detector's LayerCAM (the default) is said to give
 * nearly the plain map (Spearman 0.90-0.99 inside Yolo-Fastest's boxes),
 * once per run, the -list run's included; not with HiResCAM, not on a
 * classifier. */
START_TEST(counterfactual_layercam_warns_on_detectors)
{
    const char *det = "cfg/fmnist-det.cfg", *det_w = "cfg/fmnist-det.weights";
    char img[4096]; /* gcf_darknet_path's buffer is reused by the next call */
    snprintf(img, sizeof img, "%s", gcf_darknet_path("data/dog.jpg"));
    const char *warn = "gradcam: warning: -counterfactual with layercam (a detector's default) gives nearly its plain map";
    char list[4096], o[4096];
    snprintf(list, sizeof list, "%s/two.txt", dir);
    snprintf(o, sizeof o, "%s/listout", dir);
    FILE *f = fopen(list, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n%s\n", img, gcf_darknet_path("data/horses.jpg"));
    fclose(f);
    ck_assert_msg(run(det, det_w, img, "-out", prefix, "-counterfactual", "-thresh", "0.05", NULL) == 0, "%s", err);
    const char *w0 = strstr(err, warn);
    ck_assert_msg(w0 && !strstr(w0 + 1, warn), "want one warning:\n%s", err);
    int rc = run(det, det_w, "-list", list, "-outdir", o, "-counterfactual", "-quiet", "-jobs", "2", NULL);
    ck_assert_msg(rc == 0, "rc %d: %s\nstdout: %s", rc, err, out);
    const char *w1 = strstr(err, warn);
    ck_assert_msg(w1 && !strstr(w1 + 1, warn), "want one warning:\n%s", err);
    ck_assert_msg(run(det, det_w, img, "-out", prefix, "-counterfactual", "-method", "hirescam", NULL) == 0, "%s", err);
    ck_assert_ptr_null(strstr(err, "warning: -counterfactual"));
    ck_assert_msg(run(cfg, weights, img, "-out", prefix, "-counterfactual", "-method", "layercam", NULL) == 0, "%s", err);
    ck_assert_ptr_null(strstr(err, "warning: -counterfactual"));
}
END_TEST

START_TEST(unreadable_image)
{
    char bad[4096];
    snprintf(bad, sizeof bad, "%s/not-an-image.jpg", dir);
    FILE *f = fopen(bad, "w");
    fputs("this is text\n", f);
    fclose(f);
    ck_assert_int_ne(run(cfg, weights, bad, "-out", prefix, NULL), 0);
    assert_one_error_naming("not-an-image.jpg");
}
END_TEST

START_TEST(missing_cfg_and_weights)
{
    ck_assert_int_ne(run("nope.cfg", weights, gcf_darknet_path("data/dog.jpg"), "-out", prefix, NULL), 0);
    assert_one_error_naming("nope.cfg");
    ck_assert_int_ne(run(cfg, "nope.weights", gcf_darknet_path("data/dog.jpg"), "-out", prefix, NULL), 0);
    assert_one_error_naming("nope.weights");
}
END_TEST

START_TEST(weights_not_matching_cfg)
{
    ck_assert_int_ne(run("tests/cfg/clf_gap_fc.cfg", weights, gcf_darknet_path("data/dog.jpg"), "-out", prefix,
                         NULL), 0);
    assert_one_error_naming("do not match");
}
END_TEST

START_TEST(class_and_layer_out_of_range)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    ck_assert_int_ne(run(cfg, weights, img, "-out", prefix, "-class", "5", NULL), 0);
    assert_one_error_naming("-class 5");
    ck_assert_int_ne(run(cfg, weights, img, "-out", prefix, "-class", "-1", NULL), 0);
    assert_one_error_naming("-class -1");
    ck_assert_int_ne(run(cfg, weights, img, "-out", prefix, "-class", "cat", NULL), 0);
    assert_one_error_naming("-class cat");
    /* beyond a long: out of range, as with -names (it had been "not a class index") */
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, "-class", "99999999999999999999", NULL), 1);
    assert_one_error_naming("-class 99999999999999999999 is out of range");
    ck_assert_int_ne(run(cfg, weights, img, "-out", prefix, "-layer", "4", NULL), 0);
    assert_one_error_naming("-layer 4");
    ck_assert_int_ne(run(cfg, weights, img, "-out", prefix, "-layer", "-5", NULL), 0);
    assert_one_error_naming("-layer -5");
    /* beyond the parser's bound: out of range too, not "expected a layer index" */
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, "-layer", "2,1000001", NULL), 2);
    assert_one_error_naming("-layer 2,1000001: layer 1000001 is out of range");
    ck_assert_int_ne(run(cfg, weights, img, "-out", prefix, "-top", "6", NULL), 0);
    assert_one_error_naming("-top 6");
}
END_TEST

START_TEST(bad_options)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, "-frobnicate", NULL), 2);
    assert_one_error_naming("-frobnicate");
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, "-top", "x", NULL), 2);
    assert_one_error_naming("-top x");
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, "-alpha", "1.5", NULL), 2);
    assert_one_error_naming("-alpha 1.5");
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, "-method", "magic", NULL), 2);
    assert_one_error_naming("-method magic");
    ck_assert_int_eq(run(cfg, weights, NULL), 2);
    assert_one_error_naming("missing image");
    /* then the synopsis and where the options are, not the whole help (136
     * lines, which scrolled the error off the screen) */
    ck_assert_msg(strstr(err, "usage: darknet gradcam <cfg> <weights> <image> [options]") &&
                      strstr(err, "options and methods: darknet gradcam help") && !strstr(err, "Methods (-method)") &&
                      !strstr(err, "-class K"),
                  "%s", err);
    int nl = 0;
    for (const char *p = err; *p; ++p) nl += *p == '\n';
    ck_assert_msg(nl <= 20, "%d lines on stderr:\n%s", nl, err);
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, "-class", NULL), 2);
    assert_one_error_naming("-class needs a value");
    /* a space before a number was skipped, one after it refused: both refused
     * (-class took ' 3' as 3), a class name's too */
    const char *spaced[][2] = {{"-top", " 2"},   {"-alpha", " 0.5"}, {"-layer", "1, 2"},
                               {"-layer", " 1"}, {"-class", " 3"},   {"-class", "3 "},
                               {"-class", " dog"}};
    for (size_t i = 0; i < sizeof spaced / sizeof *spaced; ++i) {
        char want[64];
        snprintf(want, sizeof want, "%s %s: expected", spaced[i][0], spaced[i][1]);
        ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, spaced[i][0], spaced[i][1], NULL), 2);
        assert_one_error_naming(want);
    }
    ck_assert_int_eq(run(cfg, weights, "-list", "l.txt", "-outdir", out_dir(), "-shard", "1/ 2", NULL), 2);
    assert_one_error_naming("-shard 1/ 2: expected");
}
END_TEST

/* Missing folders of -out are created (mkdir -p); a folder that cannot be
 * made (a file is in the way) is an error naming it, with no output. */
START_TEST(unwritable_output_directory)
{
    char p[4096], file[2048];
    snprintf(file, sizeof file, "%s/plain-file", dir);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    snprintf(p, sizeof p, "%s/sub/x", file);
    ck_assert_int_ne(run(cfg, weights, gcf_darknet_path("data/dog.jpg"), "-out", p, NULL), 0);
    assert_one_error_naming("plain-file");
}
END_TEST

START_TEST(missing_output_folders_are_created)
{
    char p[4096], d[4200];
    struct stat st;
    /* ... but not for an image that cannot be explained: no empty folder */
    snprintf(p, sizeof p, "%s/new/deeper/x", dir);
    ck_assert_int_ne(run(cfg, weights, "nowhere/none.jpg", "-out", p, NULL), 0);
    assert_one_error_naming("nowhere/none.jpg");
    snprintf(d, sizeof d, "%s/new", dir);
    ck_assert_msg(stat(d, &st) != 0, "%s was created for a missing image", d);
    /* nor for a run that fails once the network is read: the folders it
     * made (-json's, before the network is loaded) are removed */
    char j[4096];
    snprintf(j, sizeof j, "%s/new2/deeper/r.json", dir);
    ck_assert_int_eq(run(cfg, weights, gcf_darknet_path("data/dog.jpg"), "-out", p, "-json", j, "-class", "99", NULL), 1);
    snprintf(d, sizeof d, "%s/new2", dir);
    ck_assert_msg(stat(d, &st) != 0, "%s was left by a failed run", d);
    snprintf(d, sizeof d, "%s/new", dir);
    ck_assert_msg(stat(d, &st) != 0, "%s was left by a failed run", d);
    int rc = run(cfg, weights, gcf_darknet_path("data/dog.jpg"), "-out", p, NULL);
    ck_assert_msg(rc == 0, "%s", err);
    snprintf(d, sizeof d, "%s/new/deeper", dir);
    ck_assert_int_eq(gcf_count_files(d), 2);
}
END_TEST

/* -out whose last part is . or .. names a folder, as a PREFIX ending in /
 * does: `-out .` had written hidden files ._0.png and ._0.npy. */
START_TEST(out_dot_is_a_folder)
{
    char p[4200], sub[4100];
    snprintf(p, sizeof p, "%s/.", out_dir());
    ck_assert_msg(run(cfg, weights, gcf_darknet_path("data/dog.jpg"), "-out", p, NULL) == 0, "%s", err);
    ck_assert_msg(strstr(out, "/./gradcam_") != NULL, "%s", out);
    ck_assert_int_eq(gcf_count_files(out_dir()), 2);
    snprintf(sub, sizeof sub, "%s/sub", out_dir());
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    snprintf(p, sizeof p, "%s/..", sub);
    ck_assert_msg(run(cfg, weights, gcf_darknet_path("data/dog.jpg"), "-out", p, "-top", "2", NULL) == 0, "%s", err);
    ck_assert_int_eq(gcf_count_files(out_dir()), 5); /* sub, and two classes' files */
    ck_assert_int_eq(gcf_count_files(sub), 0);
}
END_TEST

/* Output names the system allows, up to NAME_MAX bytes: each was written
 * as NAME.tmp first, which passed NAME_MAX ("File name too long") for a name
 * of 252 bytes or more: the overlay, its map and the -json report. */
START_TEST(names_up_to_name_max_are_written)
{
    char p[4096 + NAME_MAX + 2], j[sizeof p + 5], f[sizeof p + 8], stem[NAME_MAX + 1];
    memset(stem, 'n', NAME_MAX - 6);
    stem[NAME_MAX - 6] = '\0';
    snprintf(p, sizeof p, "%s/%s", out_dir(), stem); /* PREFIX_4.png: NAME_MAX bytes */
    memset(stem, 'j', NAME_MAX - 5);
    stem[NAME_MAX - 5] = '\0';
    snprintf(j, sizeof j, "%s/%s.json", out_dir(), stem);
    ck_assert_msg(run(cfg, weights, gcf_darknet_path("data/dog.jpg"), "-out", p, "-json", j, "-class", "4", NULL) == 0,
                  "%s", err);
    struct stat st;
    const char *ext[] = {"png", "npy"};
    for (int k = 0; k < 2; ++k) {
        snprintf(f, sizeof f, "%s_4.%s", p, ext[k]);
        ck_assert_msg(stat(f, &st) == 0 && st.st_size > 0, "%s", f);
    }
    ck_assert_msg(stat(j, &st) == 0 && st.st_size > 0, "%s", j);
    ck_assert_int_eq(gcf_count_files(out_dir()), 3); /* no .tmp left */
}
END_TEST

/* Without names a class is "class 3", never "-"; the classifier's -json
 * mirrors stdout: the same classes, probabilities, peaks and files. */
START_TEST(classifier_json_mirrors_stdout_and_names_classes)
{
    char json[4200];
    snprintf(json, sizeof json, "%s/out/gc.json", dir);
    int rc = run(cfg, weights, gcf_darknet_path("data/dog.jpg"), "-out", prefix, "-top", "2", "-json", json, NULL);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_ptr_null(strstr(out, " -:"));
    int c0 = -1, x0 = -1, y0 = -1;
    float p0 = -1;
    ck_assert_msg(sscanf(out, "class %d: probability %f", &c0, &p0) == 2, "%s", out);
    const char *at = strstr(out, " at (");
    ck_assert_ptr_nonnull(at);
    ck_assert_int_eq(sscanf(at, " at (%d,%d)", &x0, &y0), 2);
    FILE *f = fopen(json, "r");
    ck_assert_ptr_nonnull(f);
    static char js[1 << 16];
    js[fread(js, 1, sizeof js - 1, f)] = '\0';
    fclose(f);
    ck_assert_ptr_nonnull(strstr(js, "\"mode\": \"classifier\""));
    char want[128];
    /* no names: the text's "class 3", the JSON's null name beside the index */
    snprintf(want, sizeof want, "{\"index\": %d, \"class\": %d, \"name\": null, \"probability\": %.4f", c0, c0, p0);
    ck_assert_msg(strncmp(strstr(js, "{\"index\""), want, strlen(want) - 2) == 0, "%s\nin\n%s", want, js);
    snprintf(want, sizeof want, "\"peak\": {\"x\": %d, \"y\": %d", x0, y0);
    ck_assert_msg(strstr(js, want) != NULL, "%s not in\n%s", want, js);
    int n = 0;
    for (const char *p = js; (p = strstr(p, "\"overlay\":")); ++p) ++n;
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(gcf_count_files(out_dir()), 5); /* 2 overlays, 2 maps, the JSON */
}
END_TEST

/* A class name is printed whole, however long: the text line and the
 * -json report had cut it at 127 bytes, here inside a two-byte character.
 * A blank line names no class: "class 2" and a null name, as without
 * names (it had been the name "class 2", and the line "class 2 class 2:"
 * for a moment). */
START_TEST(a_long_class_name_is_whole)
{
    char names[4096], json[4200], name[301];
    snprintf(names, sizeof names, "%s/long.names", dir);
    snprintf(json, sizeof json, "%s/out/gc.json", dir);
    for (int k = 0; k < 150; ++k) memcpy(name + 2 * k, "\xc3\xa9", 2); /* U+00E9, 300 bytes */
    name[300] = '\0';
    FILE *f = fopen(names, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "zero\none\n\n%s\nfour\n", name);
    fclose(f);
    int rc = run(cfg, weights, gcf_darknet_path("data/dog.jpg"), "-out", prefix, "-names", names, "-class", "3",
                 "-json", json, NULL);
    ck_assert_msg(rc == 0, "%s", err);
    static char want[512];
    snprintf(want, sizeof want, "class 3 %s: ", name);
    ck_assert_msg(!strncmp(out, want, strlen(want)), "%s", out);
    char *js = gcf_read_file(json, NULL);
    ck_assert_ptr_nonnull(js);
    snprintf(want, sizeof want, "\"class\": 3, \"name\": \"%s\", ", name);
    ck_assert_msg(strstr(js, want), "%s", js);
    free(js);
    rc = run(cfg, weights, gcf_darknet_path("data/dog.jpg"), "-out", prefix, "-names", names, "-class", "2", "-json",
             json, NULL);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_msg(!strncmp(out, "class 2: ", 9), "%s", out);
    js = gcf_read_file(json, NULL);
    ck_assert_ptr_nonnull(js);
    ck_assert_msg(strstr(js, "\"class\": 2, \"name\": null, "), "%s", js);
    free(js);
}
END_TEST

/* -json - puts the report on stdout, the same bytes as -json FILE, and the
 * lines stdout would have on stderr: `... -json - | jq .` reads one JSON
 * document. No file named "-" is made. */
START_TEST(json_dash_goes_to_stdout)
{
    char json[4200];
    snprintf(json, sizeof json, "%s/out/gc.json", dir);
    const char *img = gcf_darknet_path("data/dog.jpg");
    ck_assert_msg(run(cfg, weights, img, "-out", prefix, "-top", "2", "-json", json, NULL) == 0, "%s", err);
    static char lines[1 << 16];
    snprintf(lines, sizeof lines, "%s", out);
    char *js = gcf_read_file(json, NULL);
    ck_assert_ptr_nonnull(js);
    ck_assert_int_eq(unlink(json), 0);
    ck_assert_int_ne(access("-", F_OK), 0);
    ck_assert_msg(run(cfg, weights, img, "-out", prefix, "-top", "2", "-json", "-", NULL) == 0, "%s", err);
    ck_assert_msg(!strcmp(out, js), "stdout:\n%s\n-json FILE:\n%s", out, js);
    const char *first = strchr(lines, '\n');
    ck_assert_ptr_nonnull(first);
    ck_assert_msg(!strncmp(err, lines, (size_t)(first - lines) + 1), "stderr:\n%s\nstdout before:\n%s", err, lines);
    ck_assert_int_ne(access("-", F_OK), 0);
    ck_assert_int_eq(gcf_count_files(out_dir()), 4); /* 2 overlays, 2 maps */
    free(js);
}
END_TEST

/* -json -: the closing "json" line (on stderr, with the report's other
 * lines) names the report as the user did, "json -", not the /dev/stdout
 * the run writes it through; stdout holds the JSON alone. It had said
 * "json /dev/stdout". */
START_TEST(json_dash_line_says_dash)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    ck_assert_msg(run(cfg, weights, img, "-out", prefix, "-json", "-", NULL) == 0, "%s", err);
    ck_assert_msg(strstr(err, "\njson -\n") && !strstr(err, "/dev/stdout"), "stderr:\n%s", err);
    ck_assert_msg(out[0] == '{' && !strstr(out, "\njson "), "stdout:\n%s", out);
}
END_TEST

/* A names file that does not match the classes is refused in every mode
 * (the main command, -list, eval), naming its file, before anything is
 * written (it had been a warning, and every picture carried another model's
 * names); a .data file's classes= that is not the network's is a warning;
 * -save summary on a classifier, which has no summary picture, says so. */
START_TEST(warnings_in_every_mode)
{
    char names[4096], list[4096], outdir[4096];
    snprintf(names, sizeof names, "%s/two.names", dir);
    FILE *f = fopen(names, "w");
    fputs("cat\ndog\n", f);
    fclose(f);
    snprintf(list, sizeof list, "%s/list.txt", dir);
    f = fopen(list, "w");
    fprintf(f, "%s\n", gcf_darknet_path("data/dog.jpg"));
    fclose(f);
    snprintf(outdir, sizeof outdir, "%s/out/list", dir);
    const char *img = gcf_darknet_path("data/dog.jpg");
    char refused[4200], pic[4200];
    snprintf(refused, sizeof refused, "gradcam: -names %s: 2 names for 5 classes: the names of another model?", names);
    snprintf(pic, sizeof pic, "%s_0.png", prefix);
    unlink(pic);
    ck_assert_msg(run(cfg, weights, img, "-out", prefix, "-names", names, NULL) == 1 && strstr(err, refused), "%s", err);
    ck_assert_int_ne(access(pic, F_OK), 0);
    ck_assert_msg(run(cfg, weights, "-list", list, "-outdir", outdir, "-names", names, "-quiet", NULL) == 1 &&
                      strstr(err, refused),
                  "%s", err);
    ck_assert_int_ne(access(outdir, F_OK), 0);
    run("eval", cfg, weights, list, "-names", names, "-steps", "1", "-nosanity", NULL);
    ck_assert_msg(strstr(err, refused), "%s", err);
    /* one name: "1 name" (it had said "1 names for 5 classes") */
    f = fopen(names, "w");
    fputs("cat\n", f);
    fclose(f);
    snprintf(refused, sizeof refused, "gradcam: -names %s: 1 name for 5 classes: ", names);
    ck_assert_msg(run(cfg, weights, img, "-out", prefix, "-names", names, NULL) == 1 && strstr(err, refused), "%s", err);
    f = fopen(names, "w");
    fputs("cat\ndog\n", f);
    fclose(f);
    /* a .data file's classes= that is not the network's, its names fitting:
     * a warning (it had passed in silence) */
    char data[4096], five[4096], dwarn[4200];
    snprintf(five, sizeof five, "%s/five.names", dir);
    f = fopen(five, "w");
    fputs("a\nb\nc\nd\ne\n", f);
    fclose(f);
    snprintf(data, sizeof data, "%s/seven.data", dir);
    f = fopen(data, "w");
    fprintf(f, "classes = 7\nnames = %s\n", five);
    fclose(f);
    snprintf(dwarn, sizeof dwarn, "gradcam: warning: -data %s: classes=7, but the network has 5 classes\n", data);
    ck_assert_msg(run(cfg, weights, img, "-out", prefix, "-data", data, NULL) == 0 && strstr(err, dwarn) &&
                      !strstr(err, "names for"),
                  "%s", err);
    ck_assert_msg(run(cfg, weights, "-list", list, "-outdir", outdir, "-data", data, "-quiet", NULL) == 0 &&
                      strstr(err, dwarn),
                  "%s", err);
    f = fopen(data, "w");
    fprintf(f, "classes=5\nnames=%s\n", five);
    fclose(f);
    ck_assert_msg(run(cfg, weights, img, "-out", prefix, "-data", data, NULL) == 0 && !strstr(err, "warning"), "%s",
                  err);
    /* a class name the names lack: the file named (it had said "the names file") */
    char nosuch[4200];
    snprintf(nosuch, sizeof nosuch, "-class zebra: no such class name in -data %s", data);
    ck_assert_msg(run(cfg, weights, img, "-out", prefix, "-data", data, "-class", "zebra", NULL) == 1 &&
                      strstr(err, nosuch),
                  "%s", err);
    snprintf(nosuch, sizeof nosuch, "-class zebra: no such class name in -names %s", five);
    ck_assert_msg(run(cfg, weights, img, "-out", prefix, "-names", five, "-class", "zebra", NULL) == 1 &&
                      strstr(err, nosuch),
                  "%s", err);
    /* a .data file whose classes= is the network's, naming a longer list
     * (Darknet's imagenet1k.data: classes=1000, 21842 names): its first
     * names are the classes, taken; the same list by -names, one shorter
     * than classes=, or a longer one without classes= is refused */
    char seven[4096];
    snprintf(seven, sizeof seven, "%s/seven.names", dir);
    write_text(seven, "a\nb\nc\nd\ne\nf\ng\n");
    write_text(data, "classes=5\nnames=%s\n", seven);
    ck_assert_msg(run(cfg, weights, img, "-out", prefix, "-data", data, NULL) == 0 && !strstr(err, "warning"), "%s",
                  err);
    ck_assert_msg(run(cfg, weights, img, "-out", prefix, "-names", seven, NULL) == 1 &&
                      strstr(err, "7 names for 5 classes: the names of another model?"),
                  "%s", err);
    write_text(data, "classes=5\nnames=%s\n", names); /* cat, dog */
    ck_assert_msg(run(cfg, weights, img, "-out", prefix, "-data", data, NULL) == 1 && strstr(err, "2 names for 5 classes"),
                  "%s", err);
    write_text(data, "names=%s\n", seven); /* no classes= to vouch for the list */
    ck_assert_msg(run(cfg, weights, img, "-out", prefix, "-data", data, NULL) == 1 && strstr(err, "7 names for 5 classes"),
                  "%s", err);
    write_text(data, "classes=5\nnames=%s\n", five);
    /* the .data file's top=, as Darknet's classifier predict reads it when
     * -t is not given: the default number of classes; -top and -class
     * override it; one that is not a count of the classes is refused */
    for (int k = 0; k < 5; ++k) {
        write_text(data, "classes=5\nnames=%s\ntop=%s\n", five, k == 3 ? "6" : k == 4 ? "2x" : "3");
        const char *extra = k == 1 ? "-top" : k == 2 ? "-class" : NULL;
        char tp[4200];
        snprintf(tp, sizeof tp, "%s/top%d/x", dir, k); /* not in out/, which the error checks find empty */
        int rc = run(cfg, weights, img, "-out", tp, "-data", data, "-save", "npy", extra, extra ? "1" : NULL, NULL);
        if (k >= 3) {
            ck_assert_int_eq(rc, 1);
            ck_assert_msg(strstr(err, k == 3 ? "top=6 is more than the network's 5 classes" : "top=2x: expected an integer"),
                          "%s", err);
            continue;
        }
        ck_assert_msg(rc == 0, "%s", err);
        int maps = 0;
        for (const char *p = out; (p = strstr(p, "\n  map ")); ++p) ++maps;
        ck_assert_msg(maps == (k == 0 ? 3 : 1), "top=3, %s: %d maps\n%s", extra ? extra : "alone", maps, out);
    }
    write_text(data, "classes=5\nnames=%s\n", five);
    ck_assert_msg(run(cfg, weights, img, "-out", prefix, "-save", "summary", NULL) == 0 &&
                      strstr(err, "-save summary: a classifier has no summary picture"),
                  "%s", err);
    ck_assert_msg(run(cfg, weights, img, "-out", prefix, "-save", "png", NULL) == 0 && !strstr(err, "warning"), "%s",
                  err);
}
END_TEST

/* -json - to a reader that has gone (`| true`): the report cannot be
 * written, so the run fails as on a full disk, its files removed, instead
 * of dying of SIGPIPE with them left. The message names the standard
 * output (it had said /dev/stdout, a path the user never wrote). */
START_TEST(json_dash_to_a_closed_pipe_fails_cleanly)
{
    char cmd[16384];
    /* the reader exits first: `true` is given a second (on a loaded machine
     * it had not always exited before the report was written) */
    snprintf(cmd, sizeof cmd, "{ sleep 1; %s gradcam %s %s %s -out %s -top 2 -json -; echo \"rc=$?\" >&2; } | true",
             gcf_shell_binary(), cfg, weights, gcf_darknet_path("data/dog.jpg"), prefix);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    ck_assert_int_eq(gcf_run(argv, out, sizeof out, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "rc=1") && strstr(err, "gradcam: cannot write the standard output: Broken pipe") &&
                      !strstr(err, "/dev/stdout"),
                  "%s", err);
    ck_assert_int_eq(gcf_count_files(out_dir()), 0);
}
END_TEST

/* The scenes' summary line: the kind and split as gradcam names them,
 * whatever their case on the command line, and "1 scene" (it had said
 * "1 DET scenes from the Fashion-MNIST Test split"). */
START_TEST(scenes_line_says_one_scene)
{
    if (access("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", R_OK) != 0) {
        fprintf(stderr, "skipped: Fashion-MNIST not installed\n");
        return;
    }
    char sc[4200], want[8700];
    snprintf(sc, sizeof sc, "%s/sc", dir);
    ck_assert_msg(run("scenes", "DET", "Test", "1", sc, NULL) == 0, "%s", err);
    snprintf(want, sizeof want, "1 det scene from the Fashion-MNIST test split (seed 1) in %s, listed in %s/list.txt\n",
             sc, sc);
    ck_assert_str_eq(out, want);
    ck_assert_msg(run("scenes", "cls", "train", "2", sc, NULL) == 0, "%s", err);
    ck_assert_msg(!strncmp(out, "2 cls scenes from the Fashion-MNIST train split", 47), "%s", out);
}
END_TEST

/* A cls or pair scenes folder whose path contains a class name: Darknet's
 * classifier trainer, which labels an image with every class name in its
 * path, would give every scene that class too ("Desktop" holds "top"). A
 * warning says so; a det folder, labelled by its .txt files, needs none. */
START_TEST(scenes_folder_with_a_class_name_warns)
{
    if (access("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", R_OK) != 0) {
        fprintf(stderr, "skipped: Fashion-MNIST not installed\n");
        return;
    }
    for (int c = 0; c < GC_FMNIST_CLASSES; ++c)
        if (strstr(dir, gc_scenes_fmnist_names[c])) {
            fprintf(stderr, "skipped: the test folder %s holds a class name\n", dir);
            return;
        }
    char sc[4200];
    snprintf(sc, sizeof sc, "%s/Desktop/sc", dir);
    ck_assert_msg(run("scenes", "cls", "test", "1", sc, NULL) == 0, "%s", err);
    ck_assert_msg(strstr(err, "gradcam: warning: outdir ") && strstr(err, "contains the class name \"top\""), "%s",
                  err);
    ck_assert_msg(run("scenes", "pair", "test", "1", sc, NULL) == 0, "%s", err);
    ck_assert_msg(strstr(err, "contains the class name \"top\""), "%s", err);
    ck_assert_msg(run("scenes", "det", "test", "1", sc, NULL) == 0, "%s", err);
    ck_assert_msg(!strstr(err, "warning"), "%s", err);
    snprintf(sc, sizeof sc, "%s/sc2", dir);
    ck_assert_msg(run("scenes", "cls", "test", "1", sc, NULL) == 0, "%s", err);
    ck_assert_msg(!strstr(err, "warning"), "%s", err);
}
END_TEST

/* Exit status 2 and one gradcam: line naming `what`, no output. */
static void usage_error(int rc, const char *what)
{
    ck_assert_msg(rc == 2, "exit %d, want 2:\n%s", rc, err);
    assert_one_error_naming(what);
}

/* Usage errors exit 2 in every subcommand; -h and --help print the usage
 * and exit 0, after a subcommand too. */
START_TEST(usage_errors_exit_two_everywhere)
{
    const char *cases[][6] = {{"init", NULL},
                              {"init", cfg, NULL},
                              {"init", cfg, "w", "extra", NULL},
                              {"init", cfg, "w", "-seed", NULL},
                              {"scenes", NULL},
                              {"scenes", "cls", "test", "x", "out/none", NULL},
                              {"scenes", "tiles", "test", "1", "out/none", NULL},
                              {"scenes", "cls", "valid", "1", "out/none", NULL},
                              {"eval", NULL},
                              {"eval", cfg, weights, "list.txt", "-steps", NULL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        int rc = run(cases[i][0], cases[i][1], cases[i][2], cases[i][3], cases[i][4], cases[i][5], NULL);
        ck_assert_msg(rc == 2, "gradcam %s %s: exit %d\n%s", cases[i][0], cases[i][1] ? cases[i][1] : "", rc, err);
        ck_assert_ptr_nonnull(strstr(err, "gradcam: "));
    }
    /* an option for the other kind of network is a usage error too, in the
     * main command, -list and eval */
    const char *det = "tests/cfg/det_yolo2.cfg";
    char det_w[4096], list[4096];
    snprintf(det_w, sizeof det_w, "%s/det.weights", dir);
    ck_assert_int_eq(gcf_write_random_weights(det, det_w, 22), 0);
    snprintf(list, sizeof list, "%s/list.txt", dir);
    FILE *f = fopen(list, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", gcf_darknet_path("data/dog.jpg"));
    fclose(f);
    const char *img = gcf_darknet_path("data/dog.jpg");
    const char *det_msg = "are for detector cfgs", *cls_msg = "are for classifier cfgs";
    /* an empty positional argument, in every form: found from the arguments
     * (the image's had been status 1, after the network's load) */
    usage_error(run(cfg, weights, "", "-out", prefix, NULL), "<image> is an empty argument");
    usage_error(run("", weights, img, "-out", prefix, NULL), "<cfg> is an empty argument");
    usage_error(run(cfg, "", "-list", list, "-outdir", prefix, NULL), "<weights> is an empty argument");
    usage_error(run("eval", cfg, weights, "", NULL), "<list> is an empty argument");
    usage_error(run("init", "", prefix, NULL), "<cfg> is an empty argument");
    /* options whose value would be ignored: -alpha where no heat is drawn
     * over the image, -progress with -quiet (both had passed in silence) */
    usage_error(run(cfg, weights, img, "-out", prefix, "-method", "guidedbackprop", "-alpha", "0.1", NULL),
                "-alpha sets the heat's opacity");
    usage_error(run(cfg, weights, "-list", list, "-outdir", prefix, "-method", "guidedgradcam", "-alpha", "0.1", NULL),
                "-method guidedgradcam draws no heat");
    usage_error(run(cfg, weights, "-list", list, "-outdir", prefix, "-progress", "5", "-quiet", NULL),
                "-progress sets how often");
    /* -list checks the other kind's options before it reads the names, as
     * the main command does (a missing names file had come first: 1) */
    usage_error(run(cfg, weights, "-list", list, "-outdir", prefix, "-thresh", "0.3", "-names", "no/such.names", NULL),
                det_msg);
    usage_error(run(det, det_w, "-list", list, "-outdir", prefix, "-top", "2", "-names", "no/such.names", NULL),
                cls_msg);
    usage_error(run(cfg, weights, img, "-out", prefix, "-thresh", "0.3", NULL), det_msg);
    usage_error(run(cfg, weights, img, "-out", prefix, "-maxboxes", "3", NULL), det_msg);
    usage_error(run(det, det_w, img, "-out", prefix, "-top", "2", NULL), cls_msg);
    usage_error(run(det, det_w, img, "-out", prefix, "-class", "1", NULL), cls_msg);
    usage_error(run(cfg, weights, "-list", list, "-outdir", prefix, "-nms", "0.5", NULL), det_msg);
    usage_error(run(det, det_w, "-list", list, "-outdir", prefix, "-top", "2", NULL), cls_msg);
    usage_error(run("eval", cfg, weights, list, "-mapthresh", "0.1", NULL), det_msg);
    usage_error(run("eval", cfg, weights, list, "-baseline", "cell", NULL), "-baseline cell needs a detector");
    /* a folder as eval's list (as -list DIR takes one): said so (it had been "not a regular file") */
    usage_error(run("eval", cfg, weights, dir, NULL), "is a folder: gradcam eval takes a list file");
    /* a folder as the main command's image: -list takes one (it had been
     * "cannot read image DIR: not a regular file", exit 1, after the model) */
    usage_error(run(cfg, weights, dir, "-out", prefix, NULL), "is a folder: give one image, or -list");
    /* an option of another method (it had been ignored without a word) */
    usage_error(run(cfg, weights, img, "-out", prefix, "-scorecam-channels", "8", NULL),
                "-scorecam-channels is for -method scorecam: give it too");
    usage_error(run(cfg, weights, img, "-out", prefix, "-method", "gradcam", "-scorecam-channels", "8", NULL),
                "-scorecam-channels is for -method scorecam, not gradcam");
    usage_error(run("eval", cfg, weights, list, "-method", "layercam", "-scorecam-channels", "8", NULL),
                "-scorecam-channels is for -method scorecam, not layercam");
    /* options a method does nothing with: the same map byte for byte, and
     * the report had named them as used */
    usage_error(run(cfg, weights, img, "-out", prefix, "-method", "guidedbackprop", "-layer", "1", NULL),
                "-layer with -method guidedbackprop: its map is the input gradient, at no layer");
    usage_error(run("eval", cfg, weights, list, "-method", "guidedbackprop", "-layer", "1", NULL),
                "-layer with -method guidedbackprop");
    usage_error(run(cfg, weights, img, "-out", prefix, "-method", "eigencam", "-smooth", "eigen", NULL),
                "-smooth eigen with -method eigencam: the map already is that first principal component");
    usage_error(run(cfg, weights, img, "-out", prefix, "-method", "eigengradcam", "-smooth", "eigen", NULL),
                "-smooth eigen with -method eigengradcam");
    usage_error(run(det, det_w, img, "-out", prefix, "-method", "eigencam", "-target", "obj", NULL),
                "-target obj with -method eigencam: it reads no score");
    usage_error(run(det, det_w, "-list", list, "-outdir", prefix, "-method", "eigencam", "-target", "logit", NULL),
                "-target logit with -method eigencam");
    /* two sources of class names */
    usage_error(run(cfg, weights, img, "-names", "n.names", "-data", "n.data", NULL), "both give the class names");
    usage_error(run("eval", cfg, weights, list, "-names", "n.names", "-data", "n.data", NULL),
                "both give the class names");
    /* empty names, each under its own option (-json's said -out, exit 1, after the forward) */
    usage_error(run(cfg, weights, img, "-json", "", NULL), "-json needs a file name");
    usage_error(run(cfg, weights, img, "-out", "", NULL), "-out needs a non-empty prefix");
    usage_error(run(cfg, weights, img, "-class", "", "-names", "n.names", NULL), "-class needs a class index or name");
    usage_error(run(cfg, weights, "-list", list, "-outdir", "", NULL), "-outdir needs a folder name");
    /* eval's -json, -names and -data, and scenes' -fmnist (they had been
     * exit 1: "-json needs a non-empty path", "no names file given" once the
     * network was loaded, and the root folder read for the data set) */
    usage_error(run("eval", cfg, weights, list, "-json", "", NULL), "-json needs a file name");
    usage_error(run(cfg, weights, img, "-names", "", NULL), "-names needs a file name");
    usage_error(run(cfg, weights, img, "-data", "", NULL), "-data needs a file name");
    usage_error(run("eval", cfg, weights, list, "-names", "", NULL), "-names needs a file name");
    usage_error(run("scenes", "cls", "test", "1", dir, "-fmnist", "", NULL), "-fmnist needs a folder");
    /* -thresh below 0 is told it must be above 0 (it had been "expected a
     * number in 0..1", which reads as if 0 were allowed) */
    usage_error(run(cfg, weights, img, "-thresh", "-0.1", NULL), "-thresh -0.1: must be above 0");
    usage_error(run(cfg, weights, img, "-thresh", "1.5", NULL), "-thresh 1.5: expected a number above 0 and at most 1");
    usage_error(run("eval", cfg, weights, list, "-mapthresh", "-1", NULL), "-mapthresh -1: must be above 0");
    /* and init's weights, merge's folders and -o (exit 1, "cannot read folder : ...") */
    usage_error(run("init", cfg, "", NULL), "<out.weights> is empty");
    usage_error(run("merge", "", NULL), "a DIR is empty");
    usage_error(run("merge", dir, "-o", "", NULL), "-o needs a file name");
    /* a file option whose name ends in '/' names a folder: refused as such,
     * and no folder made (it had made it, then said "is a directory", exit 1) */
    char slashed[4200];
    snprintf(slashed, sizeof slashed, "%s/newdir/", dir);
    usage_error(run(cfg, weights, img, "-json", slashed, NULL), "newdir/: ends in '/', a folder's name");
    usage_error(run("eval", cfg, weights, list, "-json", slashed, NULL), "newdir/: ends in '/', a folder's name");
    usage_error(run("merge", dir, "-o", slashed, NULL), "newdir/: ends in '/', a folder's name");
    usage_error(run("init", cfg, slashed, NULL), "newdir/: ends in '/', a folder's name");
    ck_assert_int_ne(access(slashed, F_OK), 0);
    /* an empty scenes folder: "" + "/list.txt" had put the scenes and their
     * list in the root folder (a missing -fmnist keeps a run without the fix
     * from writing any there) */
    char nofm[4200];
    snprintf(nofm, sizeof nofm, "%s/no-fmnist", dir);
    usage_error(run("scenes", "det", "test", "1", "", "-fmnist", nofm, NULL), "<outdir>: the folder name is empty");
    /* a negative count is the count's error, not an unknown option */
    usage_error(run("scenes", "det", "test", "-3", nofm, NULL), "count -3: expected an integer in 1..");
    ck_assert_int_ne(access(nofm, F_OK), 0);
    /* a scenes folder whose name has a newline: its list.txt, one path a
     * line, could not be read back (it wrote the scenes and such a list) */
    char nl[4200];
    snprintf(nl, sizeof nl, "%s/a\nb", dir);
    usage_error(run("scenes", "det", "test", "1", nl, NULL), "has a newline");
    ck_assert_int_ne(access(nl, F_OK), 0);
    /* a scenes folder whose path has "images": its label files, beside the
     * scenes, are not where eval (and Darknet) look, in .../labels/ (it
     * wrote a set eval could not read) */
    char im[4200];
    snprintf(im, sizeof im, "%s/images/val", dir);
    usage_error(run("scenes", "det", "test", "1", im, NULL), "/labels/val (its path has 'images'");
    ck_assert_int_ne(access(im, F_OK), 0);
    const char *helps[][2] = {{"--help", NULL}, {"-h", NULL}, {"eval", "--help"}, {"scenes", "-h"}, {"init", "--help"}};
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; ++i) {
        ck_assert_int_eq(run(helps[i][0], helps[i][1], NULL), 0);
        ck_assert_ptr_nonnull(strstr(out, "usage: darknet gradcam"));
    }
}
END_TEST

static void copy_file(const char *from, const char *to)
{
    size_t n;
    char *b = gcf_read_file(from, &n);
    ck_assert_ptr_nonnull(b);
    FILE *f = fopen(to, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    fclose(f);
    free(b);
}

static int same_bytes(const char *a, const char *b)
{
    size_t la, lb;
    char *x = gcf_read_file(a, &la), *y = gcf_read_file(b, &lb);
    int same = x && y && la == lb && !memcmp(x, y, la);
    free(x);
    free(y);
    return same;
}

/* No output replaces a file the run reads: -out next to the image (its
 * overlay's name is the image's), init onto its cfg, eval's -json onto a
 * listed image's label file. Each is refused, the input left as it was. */
START_TEST(outputs_never_replace_inputs)
{
    char in[2048], img[4096], x[4096], cfgc[4096], lab[4096], list[4096];
    ck_assert_int_lt(snprintf(in, sizeof in, "%s/in", dir), (int)sizeof in);
    ck_assert_int_eq(mkdir(in, 0755), 0);
    const char *dog = gcf_darknet_path("data/dog.jpg");
    snprintf(img, sizeof img, "%s/x_0.png", in);
    copy_file(dog, img);
    snprintf(x, sizeof x, "%s/x", in);
    ck_assert_int_eq(run(cfg, weights, img, "-class", "0", "-out", x, NULL), 1);
    ck_assert_msg(strstr(err, "is the input file") && strstr(err, "x_0.png"), "%s", err);
    ck_assert_msg(same_bytes(img, dog), "the input image was replaced");
    ck_assert_int_eq(gcf_count_files(in), 1);
    /* init onto its own cfg */
    snprintf(cfgc, sizeof cfgc, "%s/copy.cfg", in);
    copy_file(cfg, cfgc);
    ck_assert_int_eq(run("init", cfgc, cfgc, NULL), 2);
    ck_assert_msg(strstr(err, "is the cfg") && same_bytes(cfgc, cfg), "%s", err);
    /* eval's -json onto a label file of the list */
    char images[3072], labels[3072], scene[4096];
    snprintf(images, sizeof images, "%s/images", in);
    snprintf(labels, sizeof labels, "%s/labels", in);
    ck_assert_int_eq(mkdir(images, 0755), 0);
    ck_assert_int_eq(mkdir(labels, 0755), 0);
    snprintf(scene, sizeof scene, "%s/d.jpg", images);
    copy_file(dog, scene);
    snprintf(lab, sizeof lab, "%s/d.txt", labels);
    FILE *f = fopen(lab, "w");
    ck_assert_ptr_nonnull(f);
    fputs("0 0.5 0.5 0.4 0.4\n", f);
    fclose(f);
    snprintf(list, sizeof list, "%s/list.txt", in);
    f = fopen(list, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", scene);
    fclose(f);
    ck_assert_int_eq(run("eval", cfg, weights, list, "-json", lab, NULL), 2);
    ck_assert_msg(strstr(err, "is the input file") && strstr(err, "d.txt"), "%s", err);
    char *t = gcf_read_file(lab, NULL);
    ck_assert_msg(t && !strcmp(t, "0 0.5 0.5 0.4 0.4\n"), "the label file was replaced");
    free(t);
    ck_assert_int_eq(run("eval", cfg, weights, list, "-json", scene, NULL), 2);
    ck_assert_msg(same_bytes(scene, dog), "the listed image was replaced");
    /* -json onto the names file a -data file names: refused up front, exit
     * 2 (it had been refused only when the report was written: exit 1, and
     * in eval after the whole evaluation) */
    char names[4096], data[4096];
    snprintf(names, sizeof names, "%s/n.names", in);
    snprintf(data, sizeof data, "%s/n.data", in);
    write_text(names, "a\nb\nc\n");
    write_text(data, "classes=3\nnames=%s\n", names);
    ck_assert_int_eq(run(cfg, weights, dog, "-out", prefix, "-data", data, "-json", names, NULL), 2);
    assert_one_error_naming("is the input file");
    ck_assert_int_eq(run("eval", cfg, weights, list, "-data", data, "-json", names, NULL), 2);
    assert_one_error_naming("is the input file");
    t = gcf_read_file(names, NULL);
    ck_assert_msg(t && !strcmp(t, "a\nb\nc\n"), "the names file was replaced");
    free(t);
}
END_TEST

/* Nor by its temporary name: each output is written as PATH.tmp and renamed
 * to PATH, so an input named PATH.tmp had been overwritten and renamed away
 * (the run's exit status 0): init whose cfg is OUT.tmp, an image named as an
 * overlay's PATH.tmp, -json's PATH.tmp as the image or (eval) the -names
 * file. Each is refused naming both files, the input left as it was and
 * nothing else written. */
START_TEST(outputs_never_replace_inputs_by_their_temporary_names)
{
    char in[2048], p[4096], q[4096], list[4096];
    ck_assert_int_lt(snprintf(in, sizeof in, "%s/in", dir), (int)sizeof in);
    ck_assert_int_eq(mkdir(in, 0755), 0);
    const char *dog = gcf_darknet_path("data/dog.jpg");
    snprintf(p, sizeof p, "%s/w.weights.tmp", in);
    copy_file(cfg, p);
    snprintf(q, sizeof q, "%s/w.weights", in);
    ck_assert_int_eq(run("init", p, q, NULL), 2);
    ck_assert_msg(strstr(err, "its temporary file") && strstr(err, "is the cfg") && same_bytes(p, cfg), "%s", err);
    ck_assert_int_eq(gcf_count_files(in), 1);
    /* the overlay x_0.png's temporary file */
    snprintf(p, sizeof p, "%s/x_0.png.tmp", in);
    copy_file(dog, p);
    snprintf(q, sizeof q, "%s/x", in);
    ck_assert_int_eq(run(cfg, weights, p, "-class", "0", "-out", q, NULL), 1);
    assert_one_error_naming("its temporary file");
    ck_assert_msg(strstr(err, "x_0.png.tmp is the input file"), "%s", err);
    ck_assert_msg(same_bytes(p, dog), "the input image was replaced");
    ck_assert_int_eq(gcf_count_files(in), 2);
    /* -json's, the image: refused before the network is loaded */
    snprintf(q, sizeof q, "%s/x_0.png", in);
    ck_assert_int_eq(run(cfg, weights, p, "-out", prefix, "-json", q, NULL), 2);
    assert_one_error_naming("its temporary file");
    ck_assert_msg(same_bytes(p, dog), "the input image was replaced");
    ck_assert_int_eq(gcf_count_files(in), 2);
    /* eval's -json, whose temporary name is the -names file */
    snprintf(list, sizeof list, "%s/list.txt", dir);
    write_text(list, "%s\n", dog);
    snprintf(p, sizeof p, "%s/e.json.tmp", in);
    write_text(p, "a\nb\nc\n");
    snprintf(q, sizeof q, "%s/e.json", in);
    ck_assert_int_eq(run("eval", cfg, weights, list, "-names", p, "-json", q, NULL), 2);
    assert_one_error_naming("its temporary file");
    char *t = gcf_read_file(p, NULL);
    ck_assert_msg(t && !strcmp(t, "a\nb\nc\n"), "the names file was replaced");
    free(t);
    ck_assert_int_eq(gcf_count_files(in), 3);
}
END_TEST

/* A PNG given as eval's list: one printable line saying so, status 1. */
START_TEST(binary_list_gets_a_printable_error)
{
    const char *png = gcf_darknet_path("data/dog.jpg");
    ck_assert_int_eq(run("eval", cfg, weights, png, NULL), 1);
    assert_one_error_naming("JPEG image, not a text file");
    char bin[2048];
    snprintf(bin, sizeof bin, "%s/list.bin", dir);
    FILE *f = fopen(bin, "wb");
    fwrite("a.png\n\0\x01\xff", 1, 9, f);
    fclose(f);
    ck_assert_int_eq(run("eval", cfg, weights, bin, NULL), 1);
    assert_one_error_naming("binary");
    /* -list too (it read the PNG's bytes as 100 or so image paths, printed raw) */
    char o[4096];
    snprintf(o, sizeof o, "%s/listout", dir);
    ck_assert_int_eq(run(cfg, weights, "-list", png, "-outdir", o, NULL), 1);
    assert_one_error_naming("JPEG image, not a text file");
    /* and -names (it was read as 538 names, one of them "T") */
    ck_assert_int_eq(run(cfg, weights, png, "-names", png, "-out", prefix, NULL), 1);
    assert_one_error_naming("names file");
    ck_assert_msg(strstr(err, "is a JPEG image, not a text file"), "%s", err);
    for (const unsigned char *p = (const unsigned char *)err; *p; ++p)
        ck_assert_msg(*p == '\n' || (*p >= 32 && *p < 127), "unprintable byte 0x%02x in stderr", *p);
}
END_TEST

/* A -list with no image in it (an empty file, blank lines, a folder with no
 * image) fails with one line and makes no -outdir: the run had made the
 * -outdir and its missing parents before it read the list, and left them. */
START_TEST(an_empty_list_makes_no_outdir)
{
    char empty[4096], blank[4096], nodir[4096], o[4096], top[4096];
    snprintf(empty, sizeof empty, "%s/empty.txt", dir);
    snprintf(blank, sizeof blank, "%s/blank.txt", dir);
    snprintf(nodir, sizeof nodir, "%s/no-images", dir);
    snprintf(top, sizeof top, "%s/new", dir);
    snprintf(o, sizeof o, "%s/new/deeper/maps", dir);
    FILE *f = fopen(empty, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    f = fopen(blank, "w");
    ck_assert_ptr_nonnull(f);
    fputs("\n\n", f);
    fclose(f);
    ck_assert_int_eq(mkdir(nodir, 0755), 0);
    const char *lists[] = {empty, blank, nodir};
    for (int i = 0; i < 3; ++i) {
        ck_assert_int_eq(run(cfg, weights, "-list", lists[i], "-outdir", o, "-quiet", NULL), 1);
        assert_one_error_naming("no images in it");
        ck_assert_msg(access(top, F_OK) != 0, "-list %s: %s was made", lists[i], top);
    }
}
END_TEST

/* merge of a folder that does not exist (a typo) names it and why; the
 * default -o's folder had been made for it, the folder then said to hold
 * no index, and removed. */
START_TEST(merge_names_a_missing_folder)
{
    char nodir[4096];
    snprintf(nodir, sizeof nodir, "%s/no-such-run", dir);
    ck_assert_int_eq(run("merge", nodir, NULL), 1);
    assert_one_error_naming("merge: cannot read folder");
    ck_assert_msg(strstr(err, "no-such-run: No such file or directory"), "%s", err);
    ck_assert_int_ne(access(nodir, F_OK), 0);
}
END_TEST

/* An -outdir whose index.jsonl is not a regular file (a link to /dev/zero)
 * is refused before any image: it has no size, so the run had explained
 * every image, appended the index lines to the device and failed only when
 * it read the index back at the end. */
START_TEST(an_index_that_is_a_device_stops_the_run_first)
{
    char list[4096], o[4096], idx[4200], img_dir[4200];
    snprintf(list, sizeof list, "%s/list.txt", dir);
    snprintf(o, sizeof o, "%s/maps", dir);
    snprintf(idx, sizeof idx, "%s/index.jsonl", o);
    FILE *f = fopen(list, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", gcf_darknet_path("data/dog.jpg"));
    fclose(f);
    ck_assert_int_eq(mkdir(o, 0755), 0);
    ck_assert_int_eq(symlink("/dev/zero", idx), 0);
    const char *resume[] = {"-resume", NULL};
    for (int i = 0; i < 2; ++i) {
        ck_assert_int_eq(run(cfg, weights, "-list", list, "-outdir", o, "-quiet", resume[i], NULL), 1);
        assert_one_error_naming("index.jsonl: not a regular file");
        snprintf(img_dir, sizeof img_dir, "%s/dog.jpg", o);
        ck_assert_msg(access(img_dir, F_OK) != 0, "%s was made", img_dir);
    }
}
END_TEST

/* Sends sig once the run's first output file exists; returns the run's
 * wait status, or -1 when it had ended before the signal could land. */
static int signal_after_first_file(char *const *argv, int sig, int ign_hup)
{
    gcf_rmtree(out_dir());
    ck_assert_int_eq(mkdir(out_dir(), 0755), 0);
    pid_t pid = gcf_spawn(argv, ign_hup);
    ck_assert_int_ge(pid, 0);
    int st = 0;
    for (int waited = 0; gcf_count_files(out_dir()) == 0; waited += 200) {
        pid_t done = waitpid(pid, &st, WNOHANG);
        ck_assert_int_ge(done, 0);
        if (done == pid) return -1; /* ended (without a file?) before the signal */
        ck_assert_msg(waited < 60000000, "no output file after 60 s");
        usleep(200);
    }
    kill(pid, sig);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return st;
}

/* A run stopped by SIGINT or SIGTERM while writing its outputs removes what
 * it wrote, PATH.tmp files included, as a failed run does, and dies of the
 * signal; an ignored SIGHUP (nohup) stays ignored and the run completes.
 * The demo detector on a scene with 11 boxes and -sheet (about 35 files):
 * each signal lands after the first file appears. */
START_TEST(a_signal_removes_what_the_run_wrote)
{
    if (access("cfg/fmnist-det.weights", R_OK) || access("/usr/share/datasets/fashion-mnist", R_OK)) {
        printf("check_cli: the demo detector or Fashion-MNIST missing: skipped\n");
        return;
    }
    char sc[2048], img[4096], json[4096];
    snprintf(sc, sizeof sc, "%s/scenes", dir);
    snprintf(img, sizeof img, "%s/000000.png", sc);
    snprintf(json, sizeof json, "%s/out/report.json", dir);
    ck_assert_msg(run("scenes", "DET", "Test", "1", sc, "-seed", "3", NULL) /* any case */ == 0, "%s", err);
    char *argv[] = {"./darknet", "gradcam", "cfg/fmnist-det.cfg", "cfg/fmnist-det.weights", img, "-out", prefix,
                    "-sheet", "-thresh", "0.05", "-json", json, NULL};
    ck_assert_msg(run(argv[2], argv[3], img, "-out", prefix, "-sheet", "-thresh", "0.05", "-json", json, NULL) == 0,
                  "%s", err);
    int files = gcf_count_files(out_dir());
    ck_assert_int_ge(files, 20);
    const int sigs[] = {SIGINT, SIGTERM};
    for (int k = 0; k < 2; ++k) {
        int st = -1, tries = 0;
        while (st == -1 && tries++ < 20) st = signal_after_first_file(argv, sigs[k], 0);
        ck_assert_msg(st != -1, "signal %d: every run ended before it", sigs[k]);
        ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == sigs[k], "signal %d: status %#x", sigs[k], st);
        ck_assert_msg(gcf_count_files(out_dir()) == 0, "signal %d: %d files left", sigs[k],
                      gcf_count_files(out_dir()));
    }
    /* the folders a run makes go too: -json into new ones (made before the
     * network is loaded; the signal lands once the first appears) */
    char nested[4096];
    snprintf(nested, sizeof nested, "%s/out/new/deeper/report.json", dir);
    char *argv2[] = {"./darknet", "gradcam", "cfg/fmnist-det.cfg", "cfg/fmnist-det.weights", img, "-out", prefix,
                     "-thresh", "0.05", "-json", nested, NULL};
    for (int k = 0; k < 3; ++k) {
        int st = -1, tries = 0;
        while (st == -1 && tries++ < 20) st = signal_after_first_file(argv2, SIGTERM, 0);
        ck_assert_msg(st != -1, "every run ended before the signal");
        ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %#x", st);
        ck_assert_msg(gcf_count_files(out_dir()) == 0, "%d entries left", gcf_count_files(out_dir()));
    }
    int st = -1, tries = 0;
    while (st == -1 && tries++ < 20) st = signal_after_first_file(argv, SIGHUP, 1);
    ck_assert(st != -1);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
    ck_assert_int_eq(gcf_count_files(out_dir()), files);
    /* scenes: the scenes written so far and the folder it made, too */
    gcf_rmtree(out_dir());
    ck_assert_int_eq(mkdir(out_dir(), 0755), 0);
    char many[4096];
    snprintf(many, sizeof many, "%s/out/many", dir);
    char *argv3[] = {"./darknet", "gradcam", "scenes", "det", "test", "100000", many, NULL};
    st = -1, tries = 0;
    while (st == -1 && tries++ < 20) st = signal_after_first_file(argv3, SIGTERM, 0);
    ck_assert_msg(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %#x", st);
    ck_assert_msg(gcf_count_files(out_dir()) == 0, "%d entries left", gcf_count_files(out_dir()));
}
END_TEST

/* Darknet's own flags, typed out of habit: its main() takes `-i N` (the GPU
 * index) and `-nogpu` out of argv and leaves NULLs at its end (the run
 * read them as arguments and died of SIGSEGV). */
START_TEST(darknet_gpu_flags_are_left_to_darknet)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, "-top", "-i", "0", NULL), 2);
    assert_one_error_naming("-top needs a value");
    int rc = run(cfg, weights, img, "-out", prefix, "-i", "0", NULL);
    ck_assert_msg(rc == 0, "-i 0: rc %d\n%s", rc, err);
    ck_assert_int_eq(gcf_count_files(out_dir()), 2);
    rc = run("-nogpu", cfg, weights, img, "-out", prefix, "-top", "2", NULL);
    ck_assert_msg(rc == 0, "-nogpu: rc %d\n%s", rc, err);
    ck_assert_int_eq(gcf_count_files(out_dir()), 4);
    char w2[4096];
    snprintf(w2, sizeof w2, "%s/init.weights", dir);
    rc = run("init", cfg, w2, "-nogpu", "-i", "1", NULL);
    ck_assert_msg(rc == 0, "init: rc %d\n%s", rc, err);
}
END_TEST

/* A file option whose value was forgotten takes the next option as its
 * value: refused, naming both (`-out -json r.json` had written -json_0.png
 * and -json_0.npy in the working folder); "-" alone is still stdout, and
 * ./-name a file whose name starts with '-'. */
START_TEST(a_file_option_does_not_take_the_next_option)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    const char *cases[][4] = {{"-out", "-json", "r.json", "-out -json: looks like an option"},
                              {"-json", "-out", "x", "-json -out: looks like an option"},
                              {"-names", "-data", "d.data", "-names -data: looks like an option"},
                              {"-data", "-top", "2", "-data -top: looks like an option"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        ck_assert_int_eq(run(cfg, weights, img, cases[i][0], cases[i][1], cases[i][2], NULL), 2);
        assert_one_error_naming(cases[i][3]);
        ck_assert_int_ne(access("-json_0.png", F_OK), 0);
    }
    ck_assert_int_eq(run(cfg, weights, "-list", "-outdir", out_dir(), NULL), 2);
    assert_one_error_naming("-list -outdir: looks like an option");
    ck_assert_int_eq(run("eval", cfg, weights, "list.txt", "-json", "-limit", "1", NULL), 2);
    assert_one_error_naming("-json -limit: looks like an option");
    ck_assert_int_eq(run("merge", out_dir(), "-o", "-x", NULL), 2);
    assert_one_error_naming("-o -x: looks like an option");
    ck_assert_int_eq(run("scenes", "det", "test", "1", out_dir(), "-fmnist", "-seed", "3", NULL), 2);
    assert_one_error_naming("-fmnist -seed: looks like an option");
    int rc = run(cfg, weights, img, "-out", prefix, "-json", "-", NULL);
    ck_assert_msg(rc == 0, "-json -: rc %d\n%s", rc, err);
    ck_assert_ptr_nonnull(strstr(out, "\"mode\": \"classifier\""));
}
END_TEST

/* Files named "-..." in the working folder (the repository root), removed:
 * what a run given "-" as a file or folder had written. */
static int dash_files_removed(void)
{
    glob_t g;
    int n = 0;
    if (glob("-*", GLOB_NOSORT, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; ++i, ++n)
            if (unlink(g.gl_pathv[i]) != 0) gcf_rmtree(g.gl_pathv[i]); /* a folder */
        globfree(&g);
    }
    return n;
}

/* "-" is standard output where one stream takes the output (-json -, merge
 * -o -); the outputs that are files or folders (-out's PNG and .npy pairs,
 * -outdir, init's weights, scenes' folder) cannot go there: a usage error,
 * where `-out -` had written -_<k>.png and -_<k>.npy. */
START_TEST(dash_is_not_stdout_for_files)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    char list[4096];
    snprintf(list, sizeof list, "%s/list.txt", dir);
    FILE *f = fopen(list, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", img);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(dash_files_removed(), 0);
    const char *cases[][6] = {{cfg, weights, img, "-out", "-", NULL},
                              {cfg, weights, "-list", list, "-outdir", "-"},
                              {"init", cfg, "-", NULL},
                              {"scenes", "cls", "test", "1", "-", NULL}};
    const char *want[] = {"-out -: the overlays and maps", "-outdir -: the outputs are a folder",
                          "the weights are written to a file, not to standard output",
                          "outdir -: the scenes are a folder"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i) {
        int rc = run(cases[i][0], cases[i][1], cases[i][2], cases[i][3], cases[i][4], cases[i][5], NULL);
        int written = dash_files_removed(); /* before any assertion: the repository stays clean */
        usage_error(rc, want[i]);
        ck_assert_int_eq(written, 0);
    }
    /* ./- is a prefix like any other */
    int rc = run(cfg, weights, img, "-out", "./-", "-save", "npy", NULL), written = dash_files_removed();
    ck_assert_msg(rc == 0, "rc %d\n%s", rc, err);
    ck_assert_int_eq(written, 1);
}
END_TEST

/* -list - is the list from standard input, and its messages name it so
 * ("-list - (standard input)"): they had said -list /dev/stdin, the path it
 * is opened by, which the user never typed. A pipe, a file redirected, and
 * the usage error. */
START_TEST(a_list_from_stdin_is_named_as_given)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    char o[4096], cmd[16384];
    snprintf(o, sizeof o, "%s/out/listout", dir);
    /* what goes before and after the command: a pipe of a binary list, an empty pipe, an image redirected */
    const char *before[] = {"printf 'a.png\\n\\000\\n' | exec", ": | exec", "exec"}, *after[] = {"", "", "<"};
    const char *want[] = {"-list - (standard input) line 2: contains a NUL byte", "-list - (standard input): no images in it",
                          "-list - (standard input) is a JPEG image, not a text file"};
    for (int i = 0; i < 3; ++i) {
        snprintf(cmd, sizeof cmd, "%s %s gradcam %s %s -list - -outdir %s %s %s", before[i], gcf_shell_binary(), cfg,
                 weights, o, after[i], *after[i] ? img : "");
        char *argv[] = {"/bin/sh", "-c", cmd, NULL};
        int rc = gcf_run(argv, out, sizeof out, err, sizeof err);
        ck_assert_msg(rc == 1, "%s: exit %d\n%s", cmd, rc, err);
        assert_one_error_naming(want[i]);
        ck_assert_msg(!strstr(err, "/dev/stdin"), "%s", err);
    }
    usage_error(run(cfg, weights, img, "-list", "-", "-outdir", o, NULL), "-list - (standard input) and an image");
    ck_assert_msg(!strstr(err, "/dev/stdin"), "%s", err);
}
END_TEST

/* eval's image list from standard input is read as -list's is: a NUL byte
 * or a line past 65536 bytes stops it at that line. It was read with
 * getline(), so `eval ... - < /dev/zero` grew one line until memory ran out
 * (here under a 4 GB ulimit: "out of memory reading image list"), and a
 * 200,000-byte line was taken for an image's name. */
START_TEST(an_eval_list_from_stdin_is_bounded)
{
    const char *before[] = {"exec", "head -c 200000 /dev/zero | tr '\\0' a | exec"}, *after[] = {"< /dev/zero", ""};
    const char *want[] = {"image list - (standard input) line 1: contains a NUL byte (binary file?)",
                          "image list - (standard input) line 1: longer than 65536 bytes: not an image list"};
#if defined(__SANITIZE_ADDRESS__) /* ASan's shadow lies beyond any address-space limit */
    const char *limit = "";
#else
    const char *limit = "ulimit -v 4000000; ";
#endif
    for (int i = 0; i < 2; ++i) {
        char cmd[16384];
        snprintf(cmd, sizeof cmd, "%s%s %s gradcam eval %s %s - %s", limit, before[i], gcf_shell_binary(), cfg,
                 weights, after[i]);
        char *argv[] = {"/bin/sh", "-c", cmd, NULL};
        int rc = gcf_run(argv, out, sizeof out, err, sizeof err);
        ck_assert_msg(rc == 1, "%s: exit %d\n%s", cmd, rc, err);
        assert_one_error_naming(want[i]);
    }
}
END_TEST

/* Standard input redirected from a folder (-list - < DIR) is refused: the
 * folder had been walked as /dev/stdin and its images named
 * /dev/stdin/a.jpg in the index, a path that holds only under that
 * redirection, and a -resume without it found none of them. */
START_TEST(a_folder_as_stdin_list_is_refused)
{
    char o[4096], cmd[16384], folder[4096];
    snprintf(o, sizeof o, "%s/out/listout", dir);
    snprintf(folder, sizeof folder, "%s/pics", dir);
    ck_assert_int_eq(mkdir(folder, 0755), 0);
    char img[4200];
    snprintf(img, sizeof img, "%s/dog.jpg", folder);
    ck_assert_int_eq(symlink(gcf_darknet_path("data/dog.jpg"), img), 0);
    snprintf(cmd, sizeof cmd, "exec %s gradcam %s %s -list - -outdir %s < %s", gcf_shell_binary(), cfg, weights, o,
             folder);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    int rc = gcf_run(argv, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 1, "%s: exit %d\n%s", cmd, rc, err);
    assert_one_error_naming("-list - (standard input) is a folder: give the folder itself as -list DIR");
    ck_assert_int_ne(access(o, F_OK), 0);
}
END_TEST

/* -names and -data are files, read more than once: "-" (standard input)
 * and a pipe (/dev/stdin) are usage errors naming the option, in the main
 * command, -list and eval; they had been "names file -: No such file or
 * directory" and "is not a regular file" (exit 1) once the model loaded.
 * /dev/stdin redirected from a names file is that file, as before. */
START_TEST(names_from_stdin_are_a_usage_error)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    char o[4096], cmd[16384];
    snprintf(o, sizeof o, "%s/out/listout", dir);
    usage_error(run(cfg, weights, img, "-out", prefix, "-names", "-", NULL),
                "-names -: class names are read from a file (more than once), not from standard input");
    usage_error(run(cfg, weights, "-list", "l.txt", "-outdir", o, "-data", "-", NULL), "-data -: class names are read");
    usage_error(run("eval", cfg, weights, "l.txt", "-names", "-", NULL), "-names -: class names are read");
    snprintf(cmd, sizeof cmd, "printf 'a\\nb\\n' | exec %s gradcam %s %s %s -out %s -names /dev/stdin",
             gcf_shell_binary(), cfg, weights, img, prefix);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    usage_error(gcf_run(argv, out, sizeof out, err, sizeof err),
                "-names /dev/stdin is a pipe: class names are read from a file (more than once)");
    char names[4096];
    snprintf(names, sizeof names, "%s/x.names", dir);
    FILE *f = fopen(names, "w");
    ck_assert_ptr_nonnull(f);
    fputs("zero\none\ntwo\nthree\nfour\n", f);
    ck_assert_int_eq(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "exec %s gradcam %s %s %s -out %s -names /dev/stdin -save none < %s", gcf_shell_binary(),
             cfg, weights, img, prefix, names);
    int rc = gcf_run(argv, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0 && strstr(out, "class "), "exit %d\n%s", rc, err);
}
END_TEST

/* A path too long for the system, in every option that takes one: one line
 * naming the option, the length and the limit, the path's start and end
 * (the reason had been cut off: the message quoted the path's first 500
 * bytes and no more). */
START_TEST(a_path_too_long_is_named_by_its_ends)
{
    static char lng[6000];
    int n = snprintf(lng, sizeof lng, "%s", out_dir());
    for (int i = 0; i < 25; ++i) {
        lng[n++] = '/';
        memset(lng + n, 'd', 200);
        n += 200;
    }
    n += snprintf(lng + n, sizeof lng - (size_t)n, "/the-end");
    char p[6100], list[4096];
    snprintf(list, sizeof list, "%s/list.txt", dir);
    FILE *f = fopen(list, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", gcf_darknet_path("data/dog.jpg"));
    ck_assert_int_eq(fclose(f), 0);
    const char *img = gcf_darknet_path("data/dog.jpg");
    static const struct {
        const char *opt, *suffix, *what, *end;
    } cases[] = {{"-out", "/", "-out: path too long (", "/the-end/gradcam"},
                 {"-out", "/x", "-out: path too long (", "/the-end/x"},
                 {"-json", "/r.json", "-json: path too long (", "/the-end/r.json"},
                 {"-outdir", "", "-outdir: path too long (", "/the-end"}, /* the folder given */
                 {"init", "/w.weights", "gradcam init <out.weights>: path too long (", "/the-end/w.weights"},
                 {"merge", "", "merge DIR: path too long (", "/the-end/index.jsonl"},
                 {"scenes", "", "gradcam scenes <outdir>: path too long (", "/the-end"}, /* the folder given */
                 {"eval", "/r.json", "-json: path too long (", "/the-end/r.json"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i) {
        snprintf(p, sizeof p, "%s%s", lng, cases[i].suffix);
        const char *o = cases[i].opt;
        int rc = !strcmp(o, "-outdir") ? run(cfg, weights, "-list", list, "-outdir", p, NULL)
                 : !strcmp(o, "init")  ? run("init", cfg, p, NULL)
                 : !strcmp(o, "merge") ? run("merge", p, NULL)
                 : !strcmp(o, "scenes") ? run("scenes", "cls", "test", "1", p, NULL)
                 : !strcmp(o, "eval")  ? run("eval", cfg, weights, list, "-json", p, NULL)
                                       : run(cfg, weights, img, o, p, NULL);
        ck_assert_msg(rc != 0, "%s: exit 0", o);
        assert_one_error_naming(cases[i].what);
        const char *line = strstr(err, "gradcam: "), *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line), el = strlen(cases[i].end);
        ck_assert_msg(len < 300 && len > el && !strncmp(line + len - el, cases[i].end, el) &&
                          strstr(line, "bytes, at most "),
                      "%s: %.*s", o, (int)len, line);
        /* the length given is over the limit given, and the limit leaves
         * room for PATH.tmp where the path is a file's (it had said 4095
         * for -json's file, whose PATH.tmp could not have fitted) */
        long got = 0, most = 0;
        const char *paren = strstr(line, "too long (");
        ck_assert_int_eq(sscanf(paren, "too long (%ld bytes, at most %ld)", &got, &most), 2);
        ck_assert_msg(got > most && most <= 4095, "%s: %.*s", o, (int)len, line);
        if (!strcmp(o, "-json") || !strcmp(o, "eval") || !strcmp(o, "init")) ck_assert_int_eq(most, 4091);
        if (!strcmp(o, "-outdir") || !strcmp(o, "scenes")) ck_assert_int_eq(got, (long)strlen(p));
    }
    /* scenes: a folder whose list.txt fits but whose scene files (with
     * their PATH.tmp) would not, by 1 byte: refused from the arguments,
     * status 2, nothing made (it had been status 1 at the first scene,
     * after Fashion-MNIST's load); 1 byte shorter is the limit named */
    lng[4091 - (int)strlen("/000001_pullover.png") + 1] = '\0';
    ck_assert_int_eq(run("scenes", "cls", "test", "2", lng, NULL), 2);
    assert_one_error_naming("gradcam scenes <outdir>: path too long (4072 bytes, at most 4071)");
    ck_assert_int_ne(access(lng, F_OK), 0);
}
END_TEST

/* Darknet's `detector test DATA CFG WEIGHTS IMAGE` order, typed out of
 * habit: the .data file is named as such, with -data to give it (it was
 * "unexpected argument IMAGE", a cfg line "before the first section", or
 * weights of the wrong size). */
START_TEST(a_data_file_in_darknets_order)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    char data[4096], list[4096];
    snprintf(data, sizeof data, "%s/x.data", dir);
    snprintf(list, sizeof list, "%s/list.txt", dir);
    FILE *f = fopen(data, "w");
    ck_assert_ptr_nonnull(f);
    fputs("# a comment\nclasses= 5\nnames = x.names\n", f);
    fclose(f);
    f = fopen(list, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", img);
    fclose(f);
    ck_assert_int_eq(run(data, cfg, weights, img, "-out", prefix, NULL), 2);
    assert_one_error_naming("x.data is a Darknet .data file: gradcam takes <cfg> <weights> <image>");
    ck_assert_ptr_nonnull(strstr(err, "give it as -data"));
    ck_assert_int_eq(run(data, cfg, weights, "-out", prefix, NULL), 2);
    assert_one_error_naming("x.data is a Darknet .data file");
    ck_assert_int_eq(run(cfg, data, img, "-out", prefix, NULL), 2);
    assert_one_error_naming("x.data is a Darknet .data file");
    ck_assert_int_eq(run(data, cfg, weights, "-list", list, "-outdir", out_dir(), NULL), 2);
    assert_one_error_naming("gradcam takes <cfg> <weights> -list FILE|DIR");
    ck_assert_int_eq(run("eval", data, cfg, weights, list, NULL), 2);
    assert_one_error_naming("gradcam takes <cfg> <weights> <list.txt>");
    /* as -names, its lines had become class names ("names = x.names"), exit 0 */
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, "-names", data, NULL), 2);
    assert_one_error_naming("x.data is a Darknet .data file, not a names file: give it as -data");
    ck_assert_int_eq(run("eval", cfg, weights, list, "-names", data, NULL), 2);
    assert_one_error_naming("x.data is a Darknet .data file, not a names file");
    /* a byte-order mark before its first key (-data reads such a file): the
     * same .data file, told as one (it had been read as two class names) */
    f = fopen(data, "w");
    ck_assert_ptr_nonnull(f);
    fputs("\xef\xbb\xbf" "classes= 5\r\nnames = x.names\r\n", f);
    fclose(f);
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, "-names", data, NULL), 2);
    assert_one_error_naming("x.data is a Darknet .data file, not a names file: give it as -data");
    ck_assert_int_eq(run(data, cfg, weights, img, "-out", prefix, NULL), 2);
    assert_one_error_naming("x.data is a Darknet .data file: gradcam takes <cfg> <weights> <image>");
    /* the cfg as the weights (swapped with them, or given twice) */
    ck_assert_int_eq(run(weights, cfg, img, "-out", prefix, NULL), 2);
    assert_one_error_naming("clf_bn.cfg is a cfg file (it starts with [net]), given as the weights");
    ck_assert_int_eq(run(cfg, cfg, img, "-out", prefix, NULL), 2);
    assert_one_error_naming("given as the weights: gradcam takes <cfg> <weights> <image>");
    ck_assert_int_eq(run("eval", weights, cfg, list, NULL), 2);
    assert_one_error_naming("given as the weights: gradcam takes <cfg> <weights> <list.txt>");
    /* the image as the weights or the cfg (it had been "weights file
     * dog.jpg has 163759 bytes but cfg ... needs ...: do not match") */
    ck_assert_int_eq(run(cfg, img, weights, "-out", prefix, NULL), 2);
    assert_one_error_naming("dog.jpg is a JPEG image, given as the weights: gradcam takes <cfg> <weights> <image>");
    ck_assert_int_eq(run(img, cfg, weights, "-out", prefix, NULL), 2);
    assert_one_error_naming("dog.jpg is a JPEG image, given as the cfg: gradcam takes <cfg> <weights> <image>");
    ck_assert_int_eq(run(cfg, img, "-list", list, "-outdir", prefix, NULL), 2);
    assert_one_error_naming("dog.jpg is a JPEG image, given as the weights: gradcam takes <cfg> <weights> -list");
    /* standard input as the image (looked for as a file named "-") */
    ck_assert_int_eq(run(cfg, weights, "-", "-out", prefix, NULL), 2);
    assert_one_error_naming("image -: images are read from files, not from standard input");
    /* a cfg, even one with a comment before [net], is not one */
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, NULL), 0);
}
END_TEST

/* An option with a value given twice is refused in every subcommand: the
 * last one had won (Darknet's find_arg() takes the first), so `-layer 3
 * -layer 5`, read as fusing two layers, explained layer 5 alone. A flag
 * twice (-counterfactual -counterfactual) is the flag. */
START_TEST(an_option_given_twice)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, "-layer", "1", "-layer", "2", NULL), 2);
    assert_one_error_naming("-layer is given twice: give it once (several layers: -layer L1,L2)");
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, "-class", "-1", "-counterfactual", "-class", "2", NULL), 2);
    assert_one_error_naming("-class is given twice");
    ck_assert_int_eq(run(cfg, weights, img, "-save", "png", "-out", prefix, "-sheet", "-save", "npy", NULL), 2);
    assert_one_error_naming("-save is given twice");
    ck_assert_int_eq(run(cfg, weights, "-list", "l.txt", "-outdir", out_dir(), "-jobs", "2", "-jobs", "1", NULL), 2);
    assert_one_error_naming("-jobs is given twice");
    ck_assert_int_eq(run("eval", cfg, weights, "l.txt", "-steps", "2", "-nosanity", "-steps", "4", NULL), 2);
    assert_one_error_naming("-steps is given twice");
    char w2[4096];
    snprintf(w2, sizeof w2, "%s/w2.weights", dir);
    ck_assert_int_eq(run("init", cfg, w2, "-seed", "1", "-seed", "2", NULL), 2);
    assert_one_error_naming("-seed is given twice");
    ck_assert_int_eq(access(w2, F_OK), -1);
    ck_assert_int_eq(run("scenes", "det", "test", "1", out_dir(), "-seed", "1", "-seed", "2", NULL), 2);
    assert_one_error_naming("-seed is given twice");
    ck_assert_int_eq(run("merge", out_dir(), "-o", "-", "-o", "x", NULL), 2);
    assert_one_error_naming("-o is given twice");
    /* each once, or a flag twice: as before */
    int rc = run(cfg, weights, img, "-out", prefix, "-layer", "1,2", "-counterfactual", "-class", "-1",
                 "-counterfactual", NULL);
    ck_assert_int_eq(rc, 1);
    assert_one_error_naming("-class -1 is out of range");
}
END_TEST

/* A -save item given twice, in any case, is told so, as a -layer given
 * twice is; it had been the generic "expected png, npy, ..." that lists the
 * very words given. An unknown word still gets that list. */
START_TEST(a_save_item_given_twice)
{
    const char *img = gcf_darknet_path("data/dog.jpg");
    usage_error(run(cfg, weights, img, "-out", prefix, "-save", "npy,NPY", NULL), "-save npy,NPY: npy is given twice");
    usage_error(run(cfg, weights, img, "-out", prefix, "-save", "png,summary,Png", NULL),
                "-save png,summary,Png: png is given twice");
    usage_error(run(cfg, weights, img, "-out", prefix, "-save", "all,ALL", NULL), "-save all,ALL: all is given twice");
    usage_error(run(cfg, weights, img, "-out", prefix, "-save", "npy,pgn", NULL),
                "-save npy,pgn: expected png, npy, summary separated by commas, or all, or none");
    /* its value forgotten: the next option named as one */
    usage_error(run(cfg, weights, img, "-save", "-out", prefix, NULL),
                "-save -out: looks like an option: -save needs a value");
}
END_TEST

/* -class with a number is an index (README), said in a warning where
 * another class bears that number as its name (it was taken silently);
 * none where the class itself is so named (digits named 0..4). */
START_TEST(a_class_name_that_is_a_number)
{
    char names[4096];
    snprintf(names, sizeof names, "%s/x.names", dir);
    FILE *f = fopen(names, "w");
    ck_assert_ptr_nonnull(f);
    fputs("zero\n3\ntwo\nthree\nfour\n", f);
    fclose(f);
    const char *img = gcf_darknet_path("data/dog.jpg");
    int rc = run(cfg, weights, img, "-out", prefix, "-names", names, "-class", "3", NULL);
    ck_assert_msg(rc == 0, "rc %d\n%s", rc, err);
    ck_assert_msg(strncmp(out, "class 3 three:", 14) == 0, "%s", out);
    ck_assert_msg(strstr(err, "gradcam: warning: -class 3 is read as the index 3; class 1 is named \"3\""), "%s", err);
    f = fopen(names, "w");
    ck_assert_ptr_nonnull(f);
    fputs("0\n1\n2\n3\n4\n", f);
    fclose(f);
    rc = run(cfg, weights, img, "-out", prefix, "-names", names, "-class", "3", NULL);
    ck_assert_msg(rc == 0, "rc %d\n%s", rc, err);
    ck_assert_msg(!strstr(err, "warning"), "%s", err);
}
END_TEST

/* The help exits 0 and reads in an 80-column terminal: no line is wider
 * (the methods' lines, from gc_cam's table, included), none has a tab. */
START_TEST(help_exits_zero)
{
    ck_assert_int_eq(run("help", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "-counterfactual"));
    int lines = 0;
    for (const char *l = out; *l; ++lines) {
        size_t n = strcspn(l, "\n"), cols = 0;
        for (size_t i = 0; i < n; ++i) cols += ((unsigned char)l[i] & 0xc0) != 0x80; /* UTF-8: one per character */
        ck_assert_msg(cols <= 80 && !memchr(l, '\t', n), "help line %d has %zu columns:\n%.*s", lines + 1, cols,
                      (int)n, l);
        l += n + (l[n] == '\n');
    }
    ck_assert_int_gt(lines, 80);
}
END_TEST

/* A network whose first layer is [crop]: a 40x40 input whose layers see
 * the centred 32x32 window at (4, 4) (forward_crop_layer at inference), a
 * 1x1 convolution whose channel 0 sums R, G and B (channel 1 is zero), an
 * average pool and a softmax. The image is black but for a grey block at
 * x = 6..9, y = 20..23 with a white centre at 7..8, 21..22: the map (channel
 * 0 is the image, seen through the window) must peak at the block's centre
 * (7.5, 21.5), not where a map stretched over the whole input would put it
 * (about (4, 22)). */
static void write_crop_net(char *cfg_path, char *w_path, char *img_path, size_t n)
{
    snprintf(cfg_path, n, "%s/crop.cfg", dir);
    snprintf(w_path, n, "%s/crop.weights", dir);
    snprintf(img_path, n, "%s/spot.png", dir);
    FILE *f = fopen(cfg_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("[net]\nwidth=40\nheight=40\nchannels=3\n\n[crop]\ncrop_width=32\ncrop_height=32\nnoadjust=1\n\n"
          "[convolutional]\nfilters=2\nsize=1\nstride=1\nactivation=linear\n\n[avgpool]\n\n[softmax]\n",
          f);
    ck_assert_int_eq(fclose(f), 0);
    /* version 0.1 (major*10 + minor < 2: `seen` is an int), then the
     * convolution's biases and weights */
    int32_t head[4] = {0, 1, 0, 0};
    float params[8] = {0, 0, 1, 1, 1, 0, 0, 0};
    f = fopen(w_path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(head, sizeof head, 1, f), 1);
    ck_assert_int_eq(fwrite(params, sizeof params, 1, f), 1);
    ck_assert_int_eq(fclose(f), 0);
    static unsigned char rgb[40 * 40 * 3];
    memset(rgb, 0, sizeof rgb);
    for (int y = 20; y <= 23; ++y)
        for (int x = 6; x <= 9; ++x)
            memset(rgb + (y * 40 + x) * 3, x >= 7 && x <= 8 && y >= 21 && y <= 22 ? 255 : 128, 3);
    gc_err e;
    ck_assert_msg(gc_image_write_png(img_path, 40, 40, rgb, &e) == 0, "%s", e.msg);
}

/* The reported peak and maximum of `gradcam ... -method m` on the crop net. */
static void run_crop_net(const char *method, int *px, int *py, double *max)
{
    char c[4096], w[4096], img[4096];
    write_crop_net(c, w, img, sizeof c);
    int rc = run(c, w, img, "-class", "0", "-layer", "1", "-method", method, "-out", prefix, NULL);
    ck_assert_msg(rc == 0, "rc %d\n%s", rc, gcf_tail(err, 2000));
    const char *at = strstr(out, ", max ");
    ck_assert_msg(at && sscanf(at, ", max %lf at (%d,%d)", max, px, py) == 3, "stdout: %s", out);
}

START_TEST(crop_net_map_sits_on_the_window)
{
    int px, py;
    double max;
    run_crop_net("layercam", &px, &py, &max);
    ck_assert_msg(fabs(px - 7.5) <= 1 && fabs(py - 21.5) <= 1, "peak (%d, %d), want within a pixel of (7.5, 21.5)", px,
                  py);
}
END_TEST

/* An all-zero map has no peak, and its line says so: Eigen-CAM at a 1x1
 * layer (one position: its centred activations, and so its principal
 * component's projection, are zero) had read "max 0 at (0,0) (all-zero
 * map)", a maximum and a place for a map without either. */
START_TEST(an_all_zero_map_reports_no_peak)
{
    char c[4096], w[4096];
    snprintf(c, sizeof c, "%s/one.cfg", dir);
    snprintf(w, sizeof w, "%s/one.weights", dir);
    FILE *f = fopen(c, "w");
    ck_assert_ptr_nonnull(f);
    fputs("[net]\nwidth=8\nheight=8\nchannels=3\n\n[convolutional]\nfilters=4\nsize=3\nstride=1\npad=1\n"
          "activation=leaky\n\n[maxpool]\nsize=8\nstride=8\n\n[convolutional]\nfilters=3\nsize=1\nstride=1\n"
          "activation=linear\n\n[softmax]\n",
          f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(gcf_write_random_weights(c, w, 3), 0);
    const char *img = gcf_darknet_path("data/dog.jpg");
    int rc = run(c, w, img, "-layer", "1", "-method", "eigencam", "-save", "none", "-out", prefix, NULL);
    ck_assert_msg(rc == 0, "rc %d\n%s", rc, gcf_tail(err, 2000));
    ck_assert_msg(strstr(out, ", layer 1 maxpool 1x1x4, eigencam (no overlay: -save), no peak (all-zero map)\n") &&
                      !strstr(out, "max "),
                  "stdout: %s", out);
    /* a map with a peak keeps its "max ... at (x,y)" */
    rc = run(c, w, img, "-layer", "0", "-method", "eigencam", "-save", "none", "-out", prefix, NULL);
    ck_assert_msg(rc == 0 && strstr(out, ", max ") && !strstr(out, "all-zero"), "rc %d stdout: %s", rc, out);
}
END_TEST

/* Messages naming a file in a path of about 3000 bytes (nested folders,
 * within PATH_MAX): the line keeps the path's start and its end (the file's
 * name) and the reason after it; they had been cut at 511 bytes, in the
 * middle of a folder's name, with neither. */
START_TEST(a_long_path_keeps_its_end_in_messages)
{
    char deep[4096];
    size_t n = (size_t)snprintf(deep, sizeof deep, "%s", dir);
    for (int i = 0; n < 3000; ++i) {
        n += (size_t)snprintf(deep + n, sizeof deep - n, "/nested_folder_%02d_with_a_long_name_for_the_test", i);
        ck_assert_int_eq(mkdir(deep, 0755), 0);
    }
    char img[4200], folder[4200], names[4200];
    snprintf(img, sizeof img, "%s/no-such.jpg", deep);
    snprintf(folder, sizeof folder, "%s/pics.jpg", deep);
    snprintf(names, sizeof names, "%s/no-such.names", deep);
    ck_assert_int_eq(mkdir(folder, 0755), 0);
    const char *dog = gcf_darknet_path("data/dog.jpg");
    ck_assert_int_eq(run(cfg, weights, img, "-out", prefix, NULL), 1);
    assert_one_error_naming("...");
    ck_assert_msg(strstr(err, "_for_the_test/no-such.jpg: No such file or directory\n"), "%s", err);
    ck_assert_int_eq(run(cfg, weights, dog, "-out", prefix, "-names", names, NULL), 1);
    assert_one_error_naming("...");
    ck_assert_msg(strstr(err, "_for_the_test/no-such.names: No such file or directory\n"), "%s", err);
    ck_assert_int_eq(run(cfg, weights, folder, "-out", prefix, NULL), 2);
    assert_one_error_naming("...");
    ck_assert_msg(strstr(err, "_for_the_test/pics.jpg -outdir DIR for every image in it\n"), "%s", err);
}
END_TEST

/* Score-CAM on the crop net: channel 0's mask, upsampled onto the window, is
 * the image itself (its maximum, 3 for white, normalised to 1), so the masked
 * input keeps v^2 per channel; the logit is the mean of 3 v^2 over the
 * window, channel 1's (an all-zero mask) is 0, and the map's maximum is 3
 * softmax(logit, 0)_0. A mask stretched over the whole input would miss most
 * of the block. */
START_TEST(crop_net_scorecam_masks_the_window)
{
    int px, py;
    double max, g = 128.0 / 255.0;
    run_crop_net("scorecam", &px, &py, &max);
    ck_assert_msg(fabs(px - 7.5) <= 1 && fabs(py - 21.5) <= 1, "peak (%d, %d), want within a pixel of (7.5, 21.5)", px,
                  py);
    double logit = 3 * (4 * 1.0 + 12 * g * g) / (32 * 32), want = 3 / (1 + exp(-logit));
    ck_assert_msg(fabs(max - want) < 1e-4, "max %.6f, want %.6f", max, want);
}
END_TEST

Suite *suite_cli(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("darknet gradcam");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, explains_the_top_class);
    tcase_add_test(tc, a_final_logistic_is_a_probability);
    tcase_add_test(tc, crop_net_map_sits_on_the_window);
    tcase_add_test(tc, crop_net_scorecam_masks_the_window);
    tcase_add_test(tc, top_n_writes_a_pair_per_class);
    tcase_add_test(tc, save_writes_only_what_is_asked);
    tcase_add_test(tc, class_by_name_layer_and_counterfactual);
    tcase_add_test(tc, missing_image);
    tcase_add_test(tc, error_lines_keep_utf8_names);
    tcase_add_test(tc, report_lines_are_printable);
    tcase_add_test(tc, path_lines_are_printable);
    tcase_add_test(tc, init_does_not_replace_weights);
    tcase_add_test(tc, init_seeds_recurrent_layers);
    tcase_add_test(tc, counterfactual_layercam_warns_on_detectors);
    tcase_add_test(tc, unreadable_image);
    tcase_add_test(tc, missing_cfg_and_weights);
    tcase_add_test(tc, weights_not_matching_cfg);
    tcase_add_test(tc, class_and_layer_out_of_range);
    tcase_add_test(tc, bad_options);
    tcase_add_test(tc, unwritable_output_directory);
    tcase_add_test(tc, missing_output_folders_are_created);
    tcase_add_test(tc, names_up_to_name_max_are_written);
    tcase_add_test(tc, out_dot_is_a_folder);
    tcase_add_test(tc, classifier_json_mirrors_stdout_and_names_classes);
    tcase_add_test(tc, a_long_class_name_is_whole);
    tcase_add_test(tc, json_dash_goes_to_stdout);
    tcase_add_test(tc, json_dash_line_says_dash);
    tcase_add_test(tc, json_dash_to_a_closed_pipe_fails_cleanly);
    tcase_add_test(tc, warnings_in_every_mode);
    tcase_add_test(tc, usage_errors_exit_two_everywhere);
    tcase_add_test(tc, scenes_line_says_one_scene);
    tcase_add_test(tc, scenes_folder_with_a_class_name_warns);
    tcase_add_test(tc, an_index_that_is_a_device_stops_the_run_first);
    tcase_add_test(tc, binary_list_gets_a_printable_error);
    tcase_add_test(tc, an_empty_list_makes_no_outdir);
    tcase_add_test(tc, merge_names_a_missing_folder);
    tcase_add_test(tc, outputs_never_replace_inputs);
    tcase_add_test(tc, outputs_never_replace_inputs_by_their_temporary_names);
    tcase_add_test(tc, a_layer_given_twice);
    tcase_add_test(tc, a_layer_by_two_names);
    tcase_add_test(tc, help_exits_zero);
    tcase_add_test(tc, darknet_gpu_flags_are_left_to_darknet);
    tcase_add_test(tc, a_file_option_does_not_take_the_next_option);
    tcase_add_test(tc, dash_is_not_stdout_for_files);
    tcase_add_test(tc, a_list_from_stdin_is_named_as_given);
    tcase_add_test(tc, an_eval_list_from_stdin_is_bounded);
    tcase_add_test(tc, a_folder_as_stdin_list_is_refused);
    tcase_add_test(tc, an_all_zero_map_reports_no_peak);
    tcase_add_test(tc, a_long_path_keeps_its_end_in_messages);
    tcase_add_test(tc, names_from_stdin_are_a_usage_error);
    tcase_add_test(tc, a_path_too_long_is_named_by_its_ends);
    tcase_add_test(tc, a_data_file_in_darknets_order);
    tcase_add_test(tc, an_option_given_twice);
    tcase_add_test(tc, a_save_item_given_twice);
    tcase_add_test(tc, a_class_name_that_is_a_number);
    tcase_add_test(tc, a_signal_removes_what_the_run_wrote);
    suite_add_tcase(s, tc);
    return s;
}
