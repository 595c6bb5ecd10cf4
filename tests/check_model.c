/* gc_model: Darknet must never see a file that would make it exit or crash,
 * and a .weights file that does not match its cfg is refused. */
#include <stdio.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gc_fixture.h"
#include "gc_model.h"
#include "gc_tests.h"

static char *dir;

static void setup(void) { dir = gcf_tempdir(); ck_assert_ptr_nonnull(dir); }
static void teardown(void) { gcf_rmtree(dir); free(dir); }

static const char *tmp_path(const char *name)
{
    static char p[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static long file_size(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return (long)st.st_size;
}

START_TEST(missing_cfg_is_named)
{
    gc_err e = {0};
    ck_assert_ptr_null(gc_model_load("no/such.cfg", NULL, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "no/such.cfg"));
}
END_TEST

START_TEST(unknown_section_is_named_with_line)
{
    const char *cfg = tmp_path("bad.cfg");
    write_text(cfg, "[net]\nwidth=8\nheight=8\nchannels=3\n\n[convolutional]\nfilters=2\nsize=3\n\n[frobnicate]\n");
    gc_err e = {0};
    ck_assert_ptr_null(gc_model_load(cfg, NULL, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "[frobnicate]"));
    ck_assert_ptr_nonnull(strstr(e.msg, "line 10"));
    ck_assert_ptr_nonnull(strstr(e.msg, cfg));
}
END_TEST

START_TEST(first_section_must_be_net)
{
    const char *cfg = tmp_path("nonet.cfg");
    write_text(cfg, "[convolutional]\nfilters=2\n");
    gc_err e = {0};
    ck_assert_ptr_null(gc_model_load(cfg, NULL, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "first section must be [net]"));
}
END_TEST

START_TEST(parser_crash_is_contained)
{
    /* A route to a layer that does not exist makes Darknet's parser read out
     * of bounds; the trial parse in a child process turns that into an error. */
    const char *cfg = tmp_path("route.cfg");
    write_text(cfg, "[net]\nwidth=8\nheight=8\nchannels=3\n\n[convolutional]\nfilters=2\nsize=3\n\n"
                    "[route]\nlayers=-40000\n");
    gc_err e = {0};
    ck_assert_ptr_null(gc_model_load(cfg, NULL, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, cfg));
}
END_TEST

/* A recurrent first layer keeps its sub-layers' parse-time batch through
 * set_batch_network(net, 1) and reads that many images from the one the
 * plugin gives it (found by make fuzz: an out-of-bounds read in sgemm). The
 * parse is for one image, so that is time_steps. */
START_TEST(recurrent_first_layer_needs_batch_one)
{
    const char *kinds[] = {"rnn", "gru", "lstm", "crnn"};
    for (int k = 0; k < 4; ++k) {
        const char *cfg = tmp_path("rec.cfg");
        char text[512];
        snprintf(text, sizeof text, "[net]\nbatch=4\ntime_steps=2\nwidth=8\nheight=8\nchannels=3\n\n[%s]\n"
                 "output=4\nhidden_filters=4\noutput_filters=4\n\n[convolutional]\nfilters=2\nsize=3\npad=1\n",
                 kinds[k]);
        /* [crnn] keeps the image shape (and needs the 3x3 conv's workspace); the
         * others are flat: no conv after them */
        if (k < 3) *strstr(text, "\n[convolutional]") = 0;
        write_text(cfg, text);
        gc_err e = {0};
        ck_assert_ptr_null(gc_model_load(cfg, NULL, &e));
        char want[128];
        /* parsed for one image (patch 0006): the cfg's batch=4 is not read,
         * time_steps = 2 still is */
        snprintf(want, sizeof want, "first layer (%s) reads time_steps = 2 inputs", kinds[k]);
        ck_assert_msg(strstr(e.msg, want) && strstr(e.msg, cfg), "%s", e.msg);
        /* time_steps 1 with the cfg's batch=4 (a training cfg): one image */
        memcpy(strstr(text, "time_steps=2"), "time_steps=1", 12);
        write_text(cfg, text);
        network *net = gc_model_load(cfg, NULL, &e);
        ck_assert_msg(net != NULL, "%s: %s", kinds[k], e.msg);
        free_network(net);
    }
}
END_TEST

START_TEST(weights_size_matches_darknets_own_save)
{
    /* Darknet's save_weights() writes exactly what load_weights() reads, so the
     * expected size must equal the size of a file Darknet saved itself. */
    const char *cfgs[] = {"tests/cfg/clf_bn.cfg", "tests/cfg/clf_gap_fc.cfg", "tests/cfg/clf_resnet.cfg"};
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; ++i) {
        const char *w = tmp_path("w.weights");
        ck_assert_int_eq(gcf_write_random_weights(cfgs[i], w, 7), 0);
        network *net = parse_network_cfg((char *)cfgs[i]);
        long want = (long)(gc_model_weights_header_size(0, 2) + gc_model_weights_param_count(net) * sizeof(float));
        ck_assert_int_eq(file_size(w), want);
        free_network(net);
        gc_err e = {0};
        network *ok = gc_model_load(cfgs[i], w, &e);
        ck_assert_msg(ok != NULL, "%s", e.msg);
        ck_assert_int_eq(ok->batch, 1);
        free_network(ok);
    }
}
END_TEST

START_TEST(header_versions)
{
    ck_assert_uint_eq(gc_model_weights_header_size(0, 1), 16);
    ck_assert_uint_eq(gc_model_weights_header_size(0, 2), 20);
    ck_assert_uint_eq(gc_model_weights_header_size(1, 0), 20);
    ck_assert_uint_eq(gc_model_weights_header_size(1000, 2), 16);
    /* found by fuzz_weights: major * 10 overflowed an int (UB) */
    ck_assert_uint_eq(gc_model_weights_header_size(2143289344, 0), 16);
    ck_assert_uint_eq(gc_model_weights_header_size(-1, 100), 20); /* Darknet: -10 + 100 >= 2, -1 < 1000 */
}
END_TEST

static void truncate_by(const char *path, long delta)
{
    long sz = file_size(path);
    ck_assert_int_eq(truncate(path, sz + delta), 0);
}

START_TEST(truncated_or_padded_weights_are_refused)
{
    const char *cfg = "tests/cfg/clf_bn.cfg";
    const char *w = tmp_path("w.weights");
    for (int k = 0; k < 2; ++k) {
        ck_assert_int_eq(gcf_write_random_weights(cfg, w, 3), 0);
        truncate_by(w, k == 0 ? -4 : 8);
        gc_err e = {0};
        ck_assert_ptr_null(gc_model_load(cfg, w, &e));
        ck_assert_ptr_nonnull(strstr(e.msg, w));
        ck_assert_ptr_nonnull(strstr(e.msg, "do not match"));
    }
}
END_TEST

START_TEST(weights_of_another_cfg_are_refused)
{
    const char *w = tmp_path("w.weights");
    ck_assert_int_eq(gcf_write_random_weights("tests/cfg/clf_gap_fc.cfg", w, 3), 0);
    gc_err e = {0};
    ck_assert_ptr_null(gc_model_load("tests/cfg/clf_bn.cfg", w, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "tests/cfg/clf_bn.cfg"));
}
END_TEST

START_TEST(empty_and_directory_weights)
{
    const char *w = tmp_path("empty.weights");
    write_text(w, "");
    gc_err e = {0};
    ck_assert_ptr_null(gc_model_load("tests/cfg/clf_bn.cfg", w, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "too short"));
    ck_assert_ptr_null(gc_model_load("tests/cfg/clf_bn.cfg", dir, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "is a folder, not a file"));
}
END_TEST

START_TEST(loaded_weights_are_the_saved_ones)
{
    const char *w = tmp_path("w.weights");
    network *ref = gcf_random_network("tests/cfg/clf_bn.cfg", 11);
    save_weights(ref, (char *)w);
    gc_err e = {0};
    network *net = gc_model_load("tests/cfg/clf_bn.cfg", w, &e);
    ck_assert_ptr_nonnull(net);
    layer *a = &ref->layers[2], *b = &net->layers[2];
    for (int i = 0; i < a->nweights; ++i) ck_assert_float_eq(a->weights[i], b->weights[i]);
    for (int i = 0; i < a->n; ++i) ck_assert_float_eq(a->rolling_variance[i], b->rolling_variance[i]);
    free_network(ref);
    free_network(net);
}
END_TEST

/* A NaN or Inf parameter, or a negative batch-norm variance, is refused at
 * load naming the file and layer; the same weights without it load. */
START_TEST(non_finite_parameters_are_refused)
{
    const char *w = tmp_path("nf.weights");
    for (int k = 0; k < 4; ++k) {
        network *ref = gcf_random_network("tests/cfg/clf_bn.cfg", 12);
        layer *l = &ref->layers[2];
        ck_assert(l->batch_normalize);
        if (k == 1) l->weights[3] = NAN;
        if (k == 2) l->biases[0] = -INFINITY;
        if (k == 3) l->rolling_variance[1] = -0.5f;
        save_weights(ref, (char *)w);
        free_network(ref);
        gc_err e = {0};
        network *net = gc_model_load("tests/cfg/clf_bn.cfg", w, &e);
        if (k == 0) {
            ck_assert_msg(net != NULL, "%s", e.msg);
            free_network(net);
            continue;
        }
        ck_assert_ptr_null(net);
        ck_assert_msg(strstr(e.msg, w) && strstr(e.msg, "layer 2") && strstr(e.msg, "not finite"), "%s", e.msg);
    }
}
END_TEST

/* Darknet's random weight initialisation is skipped (darknet_patch/0005)
 * only where the weights file then overwrites every weight: without a file
 * the network keeps Darknet's random weights, and a layer that load_weights()
 * leaves alone (dontload) keeps them too, as in stock Darknet. The switch is
 * off again after every load. */
START_TEST(random_init_skipped_only_when_every_weight_loads)
{
    const char *cfg = tmp_path("dontload.cfg"), *w = tmp_path("dontload.weights");
    write_text(cfg, "[net]\nbatch=1\nwidth=8\nheight=8\nchannels=3\n\n"
                    "[convolutional]\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=leaky\ndontload=1\n\n"
                    "[convolutional]\nfilters=2\nsize=1\nstride=1\npad=1\nactivation=linear\n");
    /* the file holds layer 1 only: header v0.2 (size_t seen), 2 biases, 2x4 weights */
    FILE *f = fopen(w, "wb");
    ck_assert_ptr_nonnull(f);
    int hdr[3] = {0, 2, 0};
    size_t seen = 0;
    float p[10];
    for (int i = 0; i < 10; ++i) p[i] = 0.125f * (i + 1);
    ck_assert(fwrite(hdr, sizeof hdr, 1, f) == 1 && fwrite(&seen, sizeof seen, 1, f) == 1 &&
              fwrite(p, sizeof p, 1, f) == 1);
    fclose(f);

    gc_err e = {0};
    network *net = gc_model_load(cfg, w, &e);
    ck_assert_msg(net != NULL, "%s", e.msg);
    ck_assert_int_eq(skip_weight_init, 0);
    float mag = 0;
    for (int i = 0; i < net->layers[0].nweights; ++i) mag += fabsf(net->layers[0].weights[i]);
    ck_assert(mag > 0); /* not loaded: Darknet's random weights, not zeros */
    for (int i = 0; i < 2; ++i) ck_assert_float_eq(net->layers[1].biases[i], p[i]);
    for (int i = 0; i < 8; ++i) ck_assert_float_eq(net->layers[1].weights[i], p[2 + i]);
    free_network(net);

    /* no weights file: every layer random */
    net = gc_model_load("tests/cfg/clf_bn.cfg", NULL, &e);
    ck_assert_msg(net != NULL, "%s", e.msg);
    ck_assert_int_eq(skip_weight_init, 0);
    for (int k = 0; k < net->n; ++k) {
        if (net->layers[k].type != CONVOLUTIONAL) continue;
        mag = 0;
        for (int i = 0; i < net->layers[k].nweights; ++i) mag += fabsf(net->layers[k].weights[i]);
        ck_assert_msg(mag > 0, "layer %d has zero weights", k);
    }
    free_network(net);
}
END_TEST

START_TEST(deconvolutional_weights_load)
{
    /* Stock Darknet divides by the unset l.groups of a [deconvolutional]
     * layer when it loads weights (SIGFPE); darknet_patch/0004 sets it to 1.
     * The file Darknet saves must have the size we expect, and load back. */
    const char *cfg = "tests/cfg/clf_deconv.cfg";
    const char *w = tmp_path("w.weights");
    network *ref = gcf_random_network(cfg, 5);
    ck_assert_int_eq(ref->layers[2].type, DECONVOLUTIONAL);
    save_weights(ref, (char *)w);
    long want = (long)(gc_model_weights_header_size(0, 2) + gc_model_weights_param_count(ref) * sizeof(float));
    ck_assert_int_eq(file_size(w), want);
    gc_err e = {0};
    network *net = gc_model_load(cfg, w, &e);
    ck_assert_msg(net != NULL, "%s", e.msg);
    layer *a = &ref->layers[2], *b = &net->layers[2];
    ck_assert_int_eq(a->nweights, 6 * 5 * 2 * 2);
    float mag = 0;
    for (int i = 0; i < a->nweights; ++i) mag += fabsf(a->weights[i]);
    ck_assert(mag > 0); /* Darknet initialised them: the comparison below means something */
    for (int i = 0; i < a->nweights; ++i) ck_assert_float_eq(a->weights[i], b->weights[i]);
    for (int i = 0; i < a->n; ++i) ck_assert_float_eq(a->biases[i], b->biases[i]);
    free_network(ref);
    free_network(net);
}
END_TEST

START_TEST(region_layer_trains_on_the_cpu)
{
    /* Stock Darknet's backward_region_layer is commented out: on the CPU a
     * [region] head's deltas never reach the layers below and YOLOv2 does
     * not learn. darknet_patch/0007 adds them. 200 SGD steps on one image
     * and one box (decay 0, momentum 0: without a gradient nothing moves)
     * must change the first convolution's weights, lower the region's cost
     * and raise the box's objectness at its cell (column 1, row 2 of the 4x4
     * grid; rescore=0: its target is 1, not the predicted box's IoU). */
    network *net = gcf_random_network("tests/cfg/train_region.cfg", 3);
    ck_assert_ptr_nonnull(net);
    layer *head = &net->layers[net->n - 1], *c0 = &net->layers[0];
    ck_assert_int_eq(head->type, REGION);
    ck_assert_int_eq(head->w, 4);
    uint64_t st = 11;
    for (int i = 0; i < net->inputs; ++i) net->input[i] = gcf_uniform(&st, 0, 1);
    float *x = malloc((size_t)net->inputs * sizeof *x), *w0 = malloc((size_t)c0->nweights * sizeof *w0);
    memcpy(x, net->input, (size_t)net->inputs * sizeof *x);
    memcpy(w0, c0->weights, (size_t)c0->nweights * sizeof *w0);
    const int obj = 4 * 16 + 2 * 4 + 1; /* anchor 0, entry 4 (objectness), row 2, column 1 */
    net->train = 0;
    forward_network(net);
    float before = head->output[obj];
    float truth[5] = {0.4f, 0.6f, 0.3f, 0.3f, 1};
    float cost0 = 0, cost = 0;
    for (int step = 0; step < 200; ++step) {
        memset(net->truth, 0, (size_t)net->truths * sizeof *net->truth);
        memcpy(net->truth, truth, sizeof truth);
        memcpy(net->input, x, (size_t)net->inputs * sizeof *x);
        cost = train_network_datum(net);
        if (step == 0) cost0 = cost;
    }
    ck_assert_msg(cost < 0.5f * cost0, "the region's cost went from %g to %g", cost0, cost);
    net->train = 0;
    memcpy(net->input, x, (size_t)net->inputs * sizeof *x);
    forward_network(net);
    float after = head->output[obj];
    double moved = 0;
    for (int i = 0; i < c0->nweights; ++i) moved += fabs(c0->weights[i] - w0[i]);
    ck_assert_msg(moved > 1e-3, "the first convolution's weights did not move (%g)", moved);
    ck_assert_msg(after > before + 0.1f, "objectness at the box's cell %.3f -> %.3f", before, after);
    free(x);
    free(w0);
    free_network(net);
}
END_TEST

/* A names file's lines end with LF, CRLF or a lone CR (old Mac editors):
 * `a\rb\rc\r` had been one name, "a\rb\rc", and "1 names for 3 classes".
 * A CR before LF ends one line, a LF before CR two. */
START_TEST(names_split_on_a_lone_cr)
{
    const char *names = tmp_path("cr.names");
    static const struct {
        const char *text;
        int n;
        const char *last;
    } cases[] = {{"cat\rdog\rbig bird\r", 3, "big bird"}, {"cat\rdog\r\nbig bird", 3, "big bird"},
                 {"cat\n\rdog\n", 3, "dog"}, {"cat\r\r\rdog\r\r", 4, "dog"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; ++k) {
        write_text(names, cases[k].text);
        int n = 0;
        gc_err e = {0};
        char **v = gc_model_names_load(names, &n, &e);
        ck_assert_msg(v != NULL, "case %zu: %s", k, e.msg);
        ck_assert_msg(n == cases[k].n, "case %zu: %d names", k, n);
        ck_assert_str_eq(v[0], "cat");
        ck_assert_str_eq(v[n - 1], cases[k].last);
        for (int i = 0; i < n; ++i) ck_assert_msg(!strchr(v[i], '\r'), "case %zu: name %d has a CR", k, i);
        gc_model_names_free(v, n);
    }
}
END_TEST

START_TEST(names_and_data_files)
{
    const char *names = tmp_path("x.names");
    write_text(names, "cat\r\ndog\nbig bird\n");
    int n = 0;
    gc_err e = {0};
    char **v = gc_model_names_load(names, &n, &e);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(v[0], "cat");
    ck_assert_str_eq(v[2], "big bird");
    gc_model_names_free(v, n);

    /* names= relative to the .data file's directory when not found from the cwd */
    const char *data = tmp_path("x.data");
    write_text(data, "classes = 3\n names = x.names \nbackup=backup/\n");
    char *p = gc_model_data_value(data, "names", &e);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p, names);
    free(p);
    ck_assert_ptr_null(gc_model_data_value(data, "labels", &e));
    /* a byte-order mark before the first line's key */
    write_text(data, "\xef\xbb\xbfnames=x.names\n");
    p = gc_model_data_value(data, "names", &e);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p, names);
    free(p);
    ck_assert_ptr_null(gc_model_data_value(tmp_path("missing.data"), "names", &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "missing.data"));
    /* an empty names=, and one that names no file: errors naming the .data file */
    write_text(data, "classes = 3\nnames =\n");
    e.msg[0] = '\0';
    ck_assert_ptr_null(gc_model_data_value(data, "names", &e));
    ck_assert_msg(strstr(e.msg, data) && strstr(e.msg, "names= is empty"), "%s", e.msg);
    write_text(data, "names = nowhere/x.names\n");
    ck_assert_ptr_null(gc_model_data_value(data, "names", &e));
    ck_assert_msg(strstr(e.msg, data) && strstr(e.msg, "names=nowhere/x.names is not found"), "%s", e.msg);
    /* a blank line of a names file names no class, as a missing line: it
     * had been named "class 1", which the -json report then gave as a name */
    write_text(names, "cat\n\ndog\n");
    v = gc_model_names_load(names, &n, &e);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(v[1], "");
    ck_assert_str_eq(v[2], "dog");
    ck_assert_str_eq(gc_model_class_name(v, n, 0), "cat");
    ck_assert_ptr_null(gc_model_class_name(v, n, 1));
    ck_assert_ptr_null(gc_model_class_name(v, n, 3));
    ck_assert_ptr_null(gc_model_class_name(NULL, 0, 0));
    gc_model_names_free(v, n);

    /* a UTF-8 byte-order mark is not part of the first name, nor are
     * trailing spaces part of any; blank lines at the end name no class */
    write_text(names, "\xef\xbb\xbf" "cat \t\r\n\r\ndog\r\n\r\n \n\n");
    v = gc_model_names_load(names, &n, &e);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(v[0], "cat");
    ck_assert_str_eq(v[1], "");
    ck_assert_str_eq(v[2], "dog");
    gc_model_names_free(v, n);
    /* a line longer than any buffer is one name (it had been cut into two at
     * 1023 bytes, every later class named by the one before it) */
    char *text = malloc(5000);
    memset(text, 'x', 3000);
    strcpy(text + 3000, "\ndog\n");
    write_text(names, text);
    v = gc_model_names_load(names, &n, &e);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(n, 2);
    ck_assert_uint_eq(strlen(v[0]), 3000);
    ck_assert_str_eq(v[1], "dog");
    gc_model_names_free(v, n);
    strcpy(text + 63, "\nno newline at the end");
    write_text(names, text);
    v = gc_model_names_load(names, &n, &e);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(n, 2);
    ck_assert_uint_eq(strlen(v[0]), 63);
    ck_assert_str_eq(v[1], "no newline at the end");
    gc_model_names_free(v, n);
    free(text);
    write_text(names, "\n\n");
    ck_assert_ptr_null(gc_model_names_load(names, &n, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "empty"));

    const char *empty = tmp_path("empty.names");
    write_text(empty, "");
    ck_assert_ptr_null(gc_model_names_load(empty, &n, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, "empty"));
}
END_TEST


static int spin_body(void *arg)
{
    (void)arg;
    for (volatile unsigned long i = 0;; ++i) {}
    return 0;
}

START_TEST(trial_child_has_a_wall_clock_limit)
{
    gc_trial_limits lim = {0, 0, 1};
    gc_err e = {0};
    time_t t0 = time(NULL);
    ck_assert_int_eq(gc_model_trial_run("spin", spin_body, NULL, &lim, &e), -1);
    ck_assert_int_le(time(NULL) - t0, 3);
    ck_assert_ptr_nonnull(strstr(e.msg, "spin: gave up after 1 s"));
}
END_TEST

static double children_cpu_s(void)
{
    struct rusage ru;
    ck_assert_int_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* The child is stopped at about its 1 s of CPU time, measured as CPU time:
 * a wall-clock bound (10 s) measured the machine's load instead (the
 * spinning child took 6.5 s of wall time for its 1 s under a load of 9 on 2
 * cores). The kernel checks the limit against CPU time sampled at each
 * tick, and a process that shares its CPU is charged whole ticks it did not
 * use up: under that load the child was stopped after 0.88 s of exact CPU
 * time. A limit not enforced runs to the 30 s wall limit. */
START_TEST(trial_child_has_a_cpu_limit)
{
    gc_trial_limits lim = {0, 1, 30};
    gc_err e = {0};
    double cpu0 = children_cpu_s();
    ck_assert_int_eq(gc_model_trial_run("spin", spin_body, NULL, &lim, &e), -1);
    double used = children_cpu_s() - cpu0;
    ck_assert_msg(used >= 0.5 && used < 5, "the child ran %.2f s of CPU under a 1 s limit", used);
    ck_assert_msg(strstr(e.msg, "spin: gave up after 1 s of CPU time"), "%s", e.msg);
}
END_TEST

static int alloc_body(void *arg)
{
    size_t n = *(size_t *)arg;
    char *p = malloc(n);
    if (!p) return 7;
    memset(p, 1, n);
    return p[n - 1] == 1 ? 0 : 1;
}

START_TEST(trial_child_has_a_memory_limit)
{
    size_t big = (size_t)512 << 20;
    gc_trial_limits lim = {(size_t)64 << 20, 0, 30};
    gc_err e = {0};
    ck_assert_int_eq(gc_model_trial_run("alloc", alloc_body, &big, &lim, &e), -1);
    /* within a large enough limit the same body passes */
    size_t small = (size_t)16 << 20;
    ck_assert_int_eq(gc_model_trial_run("alloc", alloc_body, &small, &lim, &e), 0);
}
END_TEST

static int report_pid_body(void *arg)
{
    int fd = *(int *)arg;
    pid_t me = getpid();
    if (write(fd, &me, sizeof me) != (ssize_t)sizeof me) return 1;
    for (;;) pause();
    return 0;
}

static int alive(pid_t pid)
{
    char p[64], st[512];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "r");
    if (!f) return 0;
    size_t n = fread(st, 1, sizeof st - 1, f);
    fclose(f);
    st[n] = '\0';
    const char *close_paren = strrchr(st, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] != 'Z' && close_paren[2] != 'X';
}

START_TEST(trial_child_dies_with_its_parent)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t parent = fork();
    ck_assert_int_ge(parent, 0);
    if (parent == 0) {
        signal(SIGTERM, SIG_DFL); /* Check's handler would kill the test's process group */
        gc_trial_limits lim = {0, 0, 60};
        gc_err e = {0};
        gc_model_trial_run("wait", report_pid_body, &fds[1], &lim, &e);
        _exit(0);
    }
    pid_t child;
    ck_assert_int_eq(read(fds[0], &child, sizeof child), (ssize_t)sizeof child);
    ck_assert(alive(child));
    kill(parent, SIGTERM);
    waitpid(parent, NULL, 0);
    int gone = 0;
    for (int i = 0; i < 100 && !gone; ++i) {
        gone = !alive(child);
        if (!gone) usleep(20000);
    }
    if (!gone) kill(child, SIGKILL);
    ck_assert_msg(gone, "the trial child outlived its parent");
}
END_TEST

START_TEST(huge_cfg_is_refused_before_parsing)
{
    /* filters=1000000000: the trial child used to grow without bound */
    const char *cfg = tmp_path("huge.cfg");
    write_text(cfg, "[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=1000000000\nsize=3\n");
    gc_err e = {0};
    time_t t0 = time(NULL);
    ck_assert_ptr_null(gc_model_load(cfg, NULL, &e));
    ck_assert_int_le(time(NULL) - t0, 2);
    ck_assert_msg(strstr(e.msg, "line 5: [convolutional]") && strstr(e.msg, "filters=1000000000"), "%s", e.msg);
}
END_TEST

/* The demo detector's cfg says batch=32 (it trains with it). The load parses
 * it for one image (patch 0006): every layer's output is one image's, not
 * 32 images' that set_batch_network(net, 1) would have kept. */
START_TEST(training_batch_is_not_allocated)
{
    gc_err e = {0};
    network *net = gc_model_load("cfg/fmnist-det.cfg", NULL, &e);
    ck_assert_msg(net != NULL, "%s", e.msg);
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        if (l->type == ROUTE || l->type == SHORTCUT || l->type == YOLO || l->type == UPSAMPLE ||
            l->type == CONVOLUTIONAL || l->type == MAXPOOL) {
            size_t got = malloc_usable_size(l->output), one = (size_t)l->outputs * sizeof(float);
            ck_assert_msg(got >= one && got < 2 * one + 64, "layer %d: %zu bytes for %zu", i, got, one);
        }
    }
    free_network(net);
}
END_TEST

/* Under an address-space limit (ulimit -v) Darknet's unchecked callocs
 * return NULL; the load must say so instead of reading weights into NULL or
 * handing a network with a NULL output to the forward. A 4096 x 4096 input
 * with 16 1x1 filters: 1 GiB for the output and for the delta, which the
 * child's limit (its size + 512 MiB) cannot give. */
START_TEST(out_of_memory_at_parse_is_an_error)
{
#if defined(__SANITIZE_ADDRESS__)
    return; /* ASan's allocator aborts where calloc would return NULL */
#endif
    const char *cfg = tmp_path("wide.cfg");
    write_text(cfg, "[net]\nwidth=4096\nheight=4096\nchannels=3\n\n[convolutional]\nfilters=16\nsize=1\n"
                    "activation=leaky\n");
    /* without the limit the cfg loads: the callocs are lazy zero pages */
    gc_err e = {0};
    network *net = gc_model_load(cfg, NULL, &e);
    ck_assert_msg(net != NULL, "%s", e.msg);
    free_network(net);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (gcf_limit_address_space((size_t)512 << 20)) _exit(4);
        gc_err ce = {0};
        network *n = gc_model_load(cfg, NULL, &ce);
        if (n) _exit(2);
        _exit(strstr(ce.msg, "out of memory") && strstr(ce.msg, cfg) ? 0 : 1);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: %s %d", WIFEXITED(st) ? "exit" : "signal",
                  WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}
END_TEST

/* Every parameter array of layer i of a and b is equal (1) or not (0). */
static int layer_same(const network *a, const network *b, int i)
{
    const layer *x = &a->layers[i], *y = &b->layers[i];
    if (x->type == CONVOLUTIONAL || x->type == CONNECTED) {
        size_t nw = x->type == CONVOLUTIONAL ? (size_t)x->nweights : (size_t)x->outputs * (size_t)x->inputs;
        size_t no = x->type == CONVOLUTIONAL ? (size_t)x->n : (size_t)x->outputs;
        if (memcmp(x->weights, y->weights, nw * sizeof(float)) || memcmp(x->biases, y->biases, no * sizeof(float)))
            return 0;
        if (x->batch_normalize &&
            (memcmp(x->scales, y->scales, no * sizeof(float)) ||
             memcmp(x->rolling_mean, y->rolling_mean, no * sizeof(float)) ||
             memcmp(x->rolling_variance, y->rolling_variance, no * sizeof(float))))
            return 0;
    }
    return 1;
}

static int has_params(const network *n, int i)
{
    return n->layers[i].type == CONVOLUTIONAL || n->layers[i].type == CONNECTED;
}

/* Randomising layers i..j changes those and no other; the cascade from the
 * top down, layer by layer, gives the same network as one call; and the
 * snapshot puts the network back bit for bit (its output too). */
START_TEST(partial_randomization_and_snapshot)
{
    const char *cfg = "tests/cfg/clf_bn.cfg";
    network *a = gcf_random_network(cfg, 3), *b = gcf_random_network(cfg, 3), *c = gcf_random_network(cfg, 3);
    ck_assert(a && b && c);
    int n = a->n, params = 0;
    for (int i = 0; i < n; ++i) params += has_params(a, i);
    ck_assert_int_ge(params, 3);
    for (int i = 0; i < n; ++i) ck_assert(layer_same(a, b, i));

    float *in = calloc((size_t)a->inputs, sizeof *in), *out0 = malloc((size_t)a->outputs * sizeof *out0);
    ck_assert(in && out0);
    for (int i = 0; i < a->inputs; ++i) in[i] = (float)((i * 37) % 101) / 101.0f;
    memcpy(out0, network_predict(a, in), (size_t)a->outputs * sizeof *out0);

    gc_model_snapshot snap;
    gc_err e = {0};
    ck_assert_int_eq(gc_model_snapshot_take(a, &snap, &e), 0);
    ck_assert_uint_gt(snap.n, 0);

    /* the upper half: only those layers change */
    int k = n / 2;
    gc_model_randomize_layers(a, k, n - 1, 9);
    for (int i = 0; i < n; ++i)
        if (has_params(a, i)) ck_assert_msg(layer_same(a, b, i) == (i < k), "layer %d", i);
    /* the same, layer by layer from the top down */
    for (int i = n - 1; i >= k; --i) gc_model_randomize_layers(c, i, i, 9);
    for (int i = 0; i < n; ++i) ck_assert_msg(layer_same(a, c, i), "cascade differs at layer %d", i);
    /* another seed gives other values */
    gc_model_randomize_layers(c, k, n - 1, 10);
    int differs = 0;
    for (int i = k; i < n; ++i) differs += has_params(c, i) && !layer_same(a, c, i);
    ck_assert_int_gt(differs, 0);
    /* the output moved; after the restore, exactly the original */
    const float *out1 = network_predict(a, in);
    int moved = 0;
    for (int i = 0; i < a->outputs; ++i) moved += out1[i] != out0[i];
    ck_assert_int_gt(moved, 0);
    gc_model_snapshot_restore(a, &snap);
    for (int i = 0; i < n; ++i) ck_assert_msg(layer_same(a, b, i), "restore missed layer %d", i);
    const float *out2 = network_predict(a, in);
    ck_assert_mem_eq(out2, out0, (size_t)a->outputs * sizeof *out0);
    gc_model_snapshot_free(&snap);
    ck_assert_ptr_null(snap.data);
    free(in);
    free(out0);
    free_network(a);
    free_network(b);
    free_network(c);
}
END_TEST

/* A [local] layer has weights (one filter bank per output location): the
 * randomisation gives it new ones, the snapshot puts them back, and a
 * layer above it is left alone. */
START_TEST(local_layer_is_randomized_and_restored)
{
    network *a = gcf_random_network("tests/cfg/clf_local.cfg", 3);
    ck_assert_ptr_nonnull(a);
    const layer *l = &a->layers[2];
    ck_assert_int_eq(l->type, LOCAL);
    ck_assert(gc_model_layer_has_params(l));
    ck_assert(!gc_model_layer_has_params(&a->layers[4])); /* the average pool */
    size_t nw = (size_t)l->size * l->size * l->c * l->n * l->out_w * l->out_h, nb = (size_t)l->outputs;
    float *w0 = malloc(nw * sizeof *w0), *b0 = malloc(nb * sizeof *b0);
    ck_assert(w0 && b0);
    memcpy(w0, l->weights, nw * sizeof *w0);
    memcpy(b0, l->biases, nb * sizeof *b0);
    gc_model_snapshot snap;
    gc_err e = {0};
    ck_assert_int_eq(gc_model_snapshot_take(a, &snap, &e), 0);
    gc_model_randomize_layers(a, 2, 2, 9);
    size_t wmoved = 0, bmoved = 0;
    for (size_t i = 0; i < nw; ++i) wmoved += l->weights[i] != w0[i];
    for (size_t i = 0; i < nb; ++i) bmoved += l->biases[i] != b0[i];
    /* every weight, the last location's included, and every bias */
    ck_assert_uint_gt(wmoved, nw * 9 / 10);
    ck_assert(l->weights[nw - 1] != w0[nw - 1]);
    ck_assert_uint_gt(bmoved, nb * 9 / 10);
    gc_model_snapshot_restore(a, &snap);
    ck_assert_mem_eq(l->weights, w0, nw * sizeof *w0);
    ck_assert_mem_eq(l->biases, b0, nb * sizeof *b0);
    gc_model_snapshot_free(&snap);
    free(w0);
    free(b0);
    free_network(a);
}
END_TEST

Suite *suite_model(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("load");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, missing_cfg_is_named);
    tcase_add_test(tc, unknown_section_is_named_with_line);
    tcase_add_test(tc, first_section_must_be_net);
    tcase_add_test(tc, parser_crash_is_contained);
    tcase_add_test(tc, trial_child_has_a_wall_clock_limit);
    tcase_add_test(tc, trial_child_has_a_cpu_limit);
    tcase_add_test(tc, trial_child_has_a_memory_limit);
    tcase_add_test(tc, trial_child_dies_with_its_parent);
    tcase_add_test(tc, huge_cfg_is_refused_before_parsing);
    tcase_add_test(tc, out_of_memory_at_parse_is_an_error);
    tcase_add_test(tc, training_batch_is_not_allocated);
    tcase_add_test(tc, recurrent_first_layer_needs_batch_one);
    tcase_add_test(tc, weights_size_matches_darknets_own_save);
    tcase_add_test(tc, header_versions);
    tcase_add_test(tc, truncated_or_padded_weights_are_refused);
    tcase_add_test(tc, weights_of_another_cfg_are_refused);
    tcase_add_test(tc, empty_and_directory_weights);
    tcase_add_test(tc, loaded_weights_are_the_saved_ones);
    tcase_add_test(tc, non_finite_parameters_are_refused);
    tcase_add_test(tc, random_init_skipped_only_when_every_weight_loads);
    tcase_add_test(tc, deconvolutional_weights_load);
    tcase_add_test(tc, region_layer_trains_on_the_cpu);
    tcase_add_test(tc, names_and_data_files);
    tcase_add_test(tc, names_split_on_a_lone_cr);
    tcase_add_test(tc, partial_randomization_and_snapshot);
    tcase_add_test(tc, local_layer_is_randomized_and_restored);
    suite_add_tcase(s, tc);
    return s;
}
