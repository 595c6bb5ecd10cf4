/* gc_cfgcheck: one bad cfg per rule, each refused with a message naming the
 * line, the section and the key; every cfg of the project and of Darknet's own
 * cfg/ folder accepted. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gc_cfgcheck.h"
#include "gc_fixture.h"
#include "gc_tests.h"

#define NET "[net]\nbatch=1\nwidth=16\nheight=16\nchannels=3\n"
#define CONV "[convolutional]\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
#define YOLO_CONV "[convolutional]\nfilters=21\nsize=1\nstride=1\nactivation=linear\n"
#define YOLO "[yolo]\nmask=0,1,2\nanchors=10,13,16,30,33,23\nclasses=2\nnum=3\n"

static const size_t GiB = (size_t)1 << 30;

/* Refused, and the message holds every one of the (up to three) fragments. */
static void expect_bad(const char *text, const char *a, const char *b, const char *c)
{
    gc_err e = {0};
    int rc = gc_cfgcheck_text("t.cfg", text, strlen(text), 4 * GiB, NULL, &e);
    ck_assert_msg(rc == -1, "accepted:\n%s", text);
    ck_assert_msg(!strncmp(e.msg, "cfg file t.cfg", 14), "message does not name the file: %s", e.msg);
    const char *want[3] = {a, b, c};
    for (int i = 0; i < 3; ++i)
        if (want[i]) ck_assert_msg(strstr(e.msg, want[i]), "'%s' not in: %s", want[i], e.msg);
}

static void expect_good(const char *text)
{
    gc_err e = {0};
    ck_assert_msg(gc_cfgcheck_text("t.cfg", text, strlen(text), 4 * GiB, NULL, &e) == 0, "refused: %s", e.msg);
}

START_TEST(base_cfgs_pass)
{
    expect_good(NET CONV);
    expect_good(NET CONV YOLO_CONV YOLO);
    gc_cfg_info info;
    gc_err e = {0};
    const char *t = "[net]\nbatch=64\nsubdivisions=16\nwidth=16\nheight=8\nchannels=3\n" CONV;
    ck_assert_int_eq(gc_cfgcheck_text("t.cfg", t, strlen(t), 0, &info, &e), 0);
    ck_assert_int_eq(info.batch, 1); /* parsed for one image (patch 0006); stock Darknet: 64 / 16 */
    ck_assert_int_eq(info.w, 16);
    ck_assert_int_eq(info.h, 8);
    ck_assert_int_eq(info.layers, 1);
    /* input 16*8*3 + (output + delta) 16*8*8 floats for one image, plus
     * weights and workspace: less than those buffers alone at 4 images */
    ck_assert(info.bytes > 4 * (16 * 8 * 3 + 2 * 16 * 8 * 8));
    ck_assert(info.bytes < 4 * 4 * (16 * 8 * 3 + 2 * 16 * 8 * 8));
}
END_TEST

START_TEST(file_encoding)
{
    expect_bad("\xef\xbb\xbf" NET CONV, "byte-order mark", NULL, NULL);
    expect_bad("[net]\r\nbatch=1\r\n" CONV, "line 1", "CRLF", NULL);
    const char nul[] = "[net]\nwidth=8\n\0\n";
    gc_err e = {0};
    ck_assert_int_eq(gc_cfgcheck_text("t.cfg", nul, sizeof nul - 1, 0, NULL, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "line 3: contains a NUL byte"));
}
END_TEST

START_TEST(syntax)
{
    expect_bad("width=3\n" NET CONV, "line 1", "before the first section", NULL);
    expect_bad(NET CONV "filters\n", "line 12", "not key=value", NULL);
    expect_bad(NET CONV "filters=\n", "line 12", "has no value", NULL);
    expect_bad(NET CONV "=3\n", "line 12", "has no key", NULL);
    expect_bad(NET CONV "[frobnicate]\n", "line 12", "unknown section [frobnicate]", NULL);
    expect_bad(NET CONV "[convolutional\n", "line 12", "no closing ]", NULL);
    expect_bad(NET CONV NET, "line 12", "first section only", NULL);
    expect_bad(CONV NET, "line 1", "first section must be [net]", NULL);
    expect_bad(NET, "has no layers", NULL, NULL);
    expect_bad("# nothing\n", "no [net] section", NULL, NULL);
}
END_TEST

START_TEST(values_are_numbers)
{
    expect_bad(NET "[convolutional]\nfilters=8x\n", "line 7", "[convolutional] filters=8x", "not an integer");
    expect_bad(NET "[convolutional]\nfilters=99999999999\n", "filters", "not an integer", NULL);
    /* a comment after a value: Darknet drops the spaces and keeps it in the
     * value; the message says where the odd value came from */
    expect_bad(NET "[convolutional]\nfilters=8 # first layer\n", "filters=8#firstlayer: not an integer",
               "a comment after a value is part of it to Darknet", NULL);
    expect_bad(NET "[convolutional]\nfilters=4\nactivation=leaky ; x\n", "activation=leaky;x: unknown activation",
               "put comments on lines of their own", NULL);
    gc_err e = {0}; /* no such hint without a comment */
    const char *plain = NET "[convolutional]\nfilters=8x\n";
    ck_assert_int_eq(gc_cfgcheck_text("t.cfg", plain, strlen(plain), 4 * GiB, NULL, &e), -1);
    ck_assert_msg(!strstr(e.msg, "comment"), "%s", e.msg);
    expect_bad(NET CONV "[yolo]\njitter=nan\n", "jitter=nan", "not a finite number", NULL);
    expect_bad(NET CONV "[convolutional]\nfilters=4\nactivation=swish\n", "activation=swish", "unknown activation",
               NULL);
    /* spaces are stripped as Darknet's strip() does: this is filters=8 */
    expect_good(NET "[convolutional]\nfil ters = 8\nsize=3\n");
}
END_TEST

START_TEST(net_sizes)
{
    expect_bad("[net]\nbatch=0\nwidth=16\nheight=16\nchannels=3\n" CONV, "line 2", "[net] batch=0", "1..");
    expect_bad("[net]\nbatch=64\nsubdivisions=128\nwidth=16\nheight=16\nchannels=3\n" CONV, "subdivisions=128",
               "more than batch", NULL);
    expect_bad("[net]\nbatch=1\nsubdivisions=0\nwidth=16\nheight=16\nchannels=3\n" CONV, "subdivisions=0", NULL, NULL);
    expect_bad("[net]\nbatch=1\nwidth=16\nheight=0\nchannels=3\n" CONV, "height", "must be set and positive", NULL);
    expect_bad("[net]\nbatch=1\nwidth=16\nheight=-4\nchannels=3\n" CONV, "height=-4", NULL, NULL);
    expect_bad("[net]\nbatch=1\nwidth=16\nheight=16\nchannels=3\ninputs=5\n" CONV, "inputs=5",
               "differs from width * height * channels", NULL);
    /* 100000 images overflow Darknet's int outputs * batch */
    expect_bad("[net]\ntime_steps=100000\nwidth=160\nheight=160\nchannels=3\n" CONV, "[net]", "batch",
               "more than Darknet's int sizes");
    /* the size named is the real one (160 * 160 * 3 * 100000), not where
     * the arithmetic stops counting; past 10^18 it says so */
    expect_bad("[net]\ntime_steps=100000\nwidth=160\nheight=160\nchannels=3\n" CONV, "inputs * batch",
               "would be 7680000000,", NULL);
    expect_bad("[net]\nbatch=1\nwidth=1000000000\nheight=1000000000\nchannels=1000000000\n" CONV,
               "width * height * channels", "would be over 10^18,", NULL);
    expect_bad("[net]\nbatch=1\nwidth=65536\nheight=65536\nchannels=3\n" CONV, "width", "int sizes", NULL);
}
END_TEST

START_TEST(conv_rules)
{
    expect_bad(NET "[convolutional]\nfilters=0\n", "filters=0", "1..", NULL);
    expect_bad(NET "[convolutional]\nfilters=4\nstride=-1\n", "stride=-1", NULL, NULL);
    expect_bad(NET "[convolutional]\nfilters=4\nsize=0\n", "size=0", NULL, NULL);
    expect_bad(NET "[convolutional]\nfilters=4\ngroups=-2\n", "groups=-2", NULL, NULL);
    expect_bad(NET "[convolutional]\nfilters=4\ngroups=2\n", "groups=2", "does not divide the 3 input channels", NULL);
    expect_bad(NET CONV "[convolutional]\nfilters=6\ngroups=4\n", "groups=4", "does not divide filters=6", NULL);
    expect_bad(NET "[convolutional]\nfilters=4\nsize=17\n", "size=17", "empty output", NULL);
    expect_bad(NET "[convolutional]\nfilters=1000000000\nsize=3\n", "filters=1000000000", "weight count", NULL);
    expect_bad(NET "[convolutional]\nfilters=4\nsize=1000000000\npad=1\n", "size=1000000000", "weight count", NULL);
    expect_bad(NET "[local]\nfilters=1000000\nsize=3\n", "weight count", NULL, NULL);
    expect_bad(NET "[deconvolutional]\nfilters=4\nsize=2\nstride=2\npadding=20\n", "empty output", NULL, NULL);
    expect_good(NET CONV "[convolutional]\nfilters=8\ngroups=8\nsize=3\npad=1\n");
}
END_TEST

/* Darknet's loader reads numload filters into a layer sized for filters=: a
 * heap overflow (a segfault with a weights file of that size) */
START_TEST(numload_at_most_filters)
{
    expect_bad(NET "[convolutional]\nfilters=2\nnumload=64\nsize=3\n", "numload=64", "filters=2", NULL);
    expect_bad(NET CONV "[deconvolutional]\nfilters=2\nnumload=3\nsize=2\nstride=2\n", "[deconvolutional] numload=3",
               "filters=2", NULL);
    expect_good(NET "[convolutional]\nfilters=2\nnumload=2\nsize=3\n");
    expect_good(NET "[convolutional]\nfilters=4\nnumload=1\nsize=3\n");
    expect_good(NET "[connected]\noutput=2\nnumload=5\n"); /* read for convolutions only */
}
END_TEST

/* forward_iseg_layer() reads net.truth, NULL at inference: the command
 * died with SIGSEGV on a cfg the check let through */
START_TEST(iseg_is_refused)
{
    expect_bad(NET "[convolutional]\nfilters=34\nsize=1\n[iseg]\nclasses=2\nids=32\n", "line 9: [iseg]",
               "training labels", NULL);
}
END_TEST

/* Writes a tree= file of the given text into dir; its path in a static buffer. */
static const char *tree_file(const char *dir, const char *name, const char *text)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

/* A [softmax] tree= is read by Darknet's read_tree() and used without a
 * bound: more nodes than the layer's inputs, and forward_softmax_layer()
 * wrote past its output (a classifier with an 8-node tree over 6 classes
 * died of glibc's "free(): invalid next size"); fewer, and the class
 * probabilities (hierarchy_predictions) read past the tree's arrays. A
 * parent after its node's line, or a name over 255 characters, is written
 * past read_tree's own arrays. */
START_TEST(softmax_tree_matches_the_classes)
{
    char *dir = gcf_tempdir();
    char text[4096];
    /* 8 classes: [avgpool] over the 8 filters */
#define TREE_NET(path) (snprintf(text, sizeof text, NET CONV "[avgpool]\n[softmax]\ntree=%s\n", path), text)
    const char *eight = "a -1\nb -1\nc 0\nd 0\ne 1\nf 1\ng 2\nh 2\n";
    expect_good(TREE_NET(tree_file(dir, "eight.tree", eight)));
    expect_good(TREE_NET(tree_file(dir, "nonl.tree", "a -1\nb -1\nc 0\nd 0\ne 1\nf 1\ng 2\nh 2")));
    expect_bad(TREE_NET(tree_file(dir, "ten.tree", "a -1\nb -1\nc 0\nd 0\ne 1\nf 1\ng 2\nh 2\ni 3\nj 3\n")),
               "line 14: [softmax] tree=", "has 10 nodes but the layer has 8 inputs", "write past its output");
    expect_bad(TREE_NET(tree_file(dir, "six.tree", "a -1\nb -1\nc 0\nd 0\ne 1\nf 1\n")), "has 6 nodes",
               "8 inputs", "read past the tree");
    expect_bad(TREE_NET(tree_file(dir, "empty.tree", "")), "has 0 nodes", NULL, NULL);
    expect_bad(TREE_NET(tree_file(dir, "fwd.tree", "a -1\nb 5\nc 0\nd 0\ne 1\nf 1\ng 2\nh 2\n")),
               "line 2 names parent 5", "not an earlier line (0..0)", NULL);
    expect_bad(TREE_NET(tree_file(dir, "self.tree", "a 0\nb -1\nc 0\nd 0\ne 1\nf 1\ng 2\nh 2\n")),
               "line 1 names parent 0", NULL, NULL);
    char longname[400] = "";
    memset(longname, 'x', 300);
    strcat(longname, " -1\nb -1\nc 0\nd 0\ne 1\nf 1\ng 2\nh 2\n");
    expect_bad(TREE_NET(tree_file(dir, "long.tree", longname)), "line 1: the name is 300 characters", NULL, NULL);
    /* a [region]'s tree is read by the same read_tree() */
    char reg[4096];
    snprintf(reg, sizeof reg, NET "[convolutional]\nfilters=60\nsize=1\nstride=1\nactivation=linear\n"
                              "[region]\nclasses=7\nnum=5\ncoords=4\ntree=%s\n",
             tree_file(dir, "fwd.tree", "a -1\nb 5\n"));
    expect_bad(reg, "[region] tree=", "line 2 names parent 5", NULL);
#undef TREE_NET
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* A layer with truth= makes its output the labels that a later [cost],
 * [softmax] or [logistic] reads, inputs of them: past the end of a smaller
 * output (valgrind: invalid reads in softmax_x_ent_cpu) */
START_TEST(truth_layer_must_hold_the_labels_read)
{
#define SMALL_TRUTH NET CONV "[convolutional]\nfilters=1\nsize=1\nstride=16\ntruth=1\n[route]\nlayers=-2\n"
    expect_bad(SMALL_TRUTH "[softmax]\n", "line 19: [softmax]", "truth= at line 12", "only 1 values");
    expect_bad(SMALL_TRUTH "[logistic]\n", "[logistic]", "reads 2048 training labels", NULL);
    expect_bad(SMALL_TRUTH "[cost]\n", "[cost]", "truth= at line 12", NULL);
    expect_good(SMALL_TRUTH "[softmax]\nnoloss=1\n");
    expect_bad(SMALL_TRUTH "[avgpool]\n[softmax]\n", "reads 8 training labels", NULL, NULL);
    /* labels as large as the inputs: what Darknet reads is there */
    expect_good(NET CONV "[convolutional]\nfilters=8\nsize=1\ntruth=1\n[route]\nlayers=-2\n[softmax]\n[cost]\n");
#undef SMALL_TRUTH
}
END_TEST

START_TEST(pool_reorg_upsample_rules)
{
    expect_bad(NET CONV "[maxpool]\nsize=0\n", "[maxpool] size=0", NULL, NULL);
    expect_bad(NET CONV "[maxpool]\nsize=2\nstride=0\n", "stride=0", NULL, NULL);
    expect_bad(NET CONV "[maxpool]\nsize=40\nstride=1\npadding=0\n", "size=40", "larger than", NULL);
    expect_bad(NET CONV "[reorg]\nstride=5\n", "[reorg] stride=5", "not divisible", NULL);
    expect_bad(NET CONV "[reorg]\nstride=3\nreverse=1\n", "not divisible", NULL, NULL); /* 8 channels, 3 x 3 */
    expect_bad(NET CONV "[upsample]\nstride=0\n", "stride=0", "must not be 0", NULL);
    expect_bad(NET CONV "[upsample]\nstride=-32\n", "empty output", NULL, NULL);
    expect_bad(NET "[crop]\ncrop_height=20\ncrop_width=8\n" CONV, "crop_height=20", "larger than", NULL);
    /* a crop above layer 0: the maps above it would cover a window of the
     * input that is not traced (the first layer's is, gc_darknet_input_window) */
    expect_bad(NET CONV "[crop]\ncrop_height=8\ncrop_width=8\n", "line 12: [crop]", "only as the first layer", NULL);
    expect_good(NET "[crop]\ncrop_height=8\ncrop_width=8\n" CONV);
    expect_bad(NET CONV "[softmax]\n[maxpool]\nsize=2\nstride=2\n", "[maxpool]",
               "needs an image-shaped input", NULL);
    expect_bad(NET "[dropout]\n" CONV, "[dropout]", "first layer", NULL);
    expect_bad(NET CONV "[softmax]\ngroups=3\n", "groups=3", "does not divide", NULL);
    expect_bad(NET CONV "[softmax]\ntree=no/such/tree\n", "tree=no/such/tree", "cannot read", NULL);
    expect_good(NET CONV "[reorg]\nstride=2\n[upsample]\nstride=2\n[maxpool]\nsize=2\nstride=2\n");
}
END_TEST

START_TEST(route_shortcut_rules)
{
    expect_bad(NET CONV "[shortcut]\nfrom=100\n", "[shortcut] from=100", "names layer 100", "0..0");
    expect_bad(NET CONV "[shortcut]\nfrom=-5\n", "from=-5", "names layer -4", NULL);
    expect_bad(NET CONV "[shortcut]\nactivation=linear\n", "(from)", "is required", NULL);
    expect_bad(NET CONV "[route]\nlayers=3\n", "layers=3", "names layer 3", NULL);
    expect_bad(NET CONV "[route]\nlayers=0,\n", "layers=0,", "item 2", NULL);
    expect_bad(NET CONV "[route]\n", "(layers)", "is required", NULL);
    /* 16x16 onto a 4x8 crop would be factors 4 and 2 (shortcut_cpu's
     * assert); a crop is refused above layer 0, where no two layers can
     * differ so */
    expect_bad(NET CONV "[crop]\ncrop_height=8\ncrop_width=4\n[shortcut]\nfrom=-2\n", "[crop]", "first layer", NULL);
    expect_bad(NET CONV "[softmax]\n[route]\nlayers=-1\n[shortcut]\nfrom=-3\n", "[shortcut]", "image",
               NULL);
    expect_good(NET CONV CONV "[shortcut]\nfrom=-2\n[route]\nlayers=-1,-3\n");
    /* a route of unequal sizes is flat in Darknet (what a width that is not
     * a multiple of the stride gives): the convolution after it names it */
    expect_bad(NET CONV "[maxpool]\nsize=2\nstride=2\n[route]\nlayers=-1,-2\n" CONV, "line 17: [convolutional]",
               "the [route] at line 15 joins layer 1's 8 x 8 output with layer 0's 16 x 16", "multiple");
    expect_good(NET CONV "[maxpool]\nsize=2\nstride=2\n[route]\nlayers=-1,-2\n[connected]\noutput=4\n");
    expect_bad(NET CONV "[softmax]\n[route]\nlayers=-1\n" CONV, "input is flat (2048 values)", NULL, NULL);
}
END_TEST

START_TEST(head_rules)
{
    expect_bad(NET CONV YOLO_CONV "[yolo]\nmask=-1,1,2\nanchors=10,13,16,30,33,23\nclasses=2\nnum=3\n", "mask=-1,1,2",
               "index -1 is not an anchor", NULL);
    expect_bad(NET CONV YOLO_CONV "[yolo]\nmask=0,1,4\nanchors=10,13,16,30,33,23\nclasses=2\nnum=3\n",
               "index 4 is not an anchor", "0..2", NULL);
    expect_bad(NET CONV YOLO_CONV "[yolo]\nmask=0,1,2\nanchors=10,13,16,30\nclasses=2\nnum=3\n", "anchors=10,13,16,30",
               "has 4 values", "exactly 6");
    expect_bad(NET CONV YOLO_CONV "[yolo]\nmask=0,1,2\nanchors=10,13,16,30,33,23,1,1\nclasses=2\nnum=3\n",
               "has 8 values", NULL, NULL);
    expect_bad(NET CONV YOLO_CONV "[yolo]\nmask=0,1,2\nanchors=10,13,16,30,33,23\nclasses=3\nnum=3\n", "classes=3",
               "needs 24 input channels", "gives 21");
    expect_bad(NET CONV YOLO_CONV "[yolo]\nmask=0,1,2\nanchors=10,13,16,30,33,23\nclasses=0\nnum=3\n", "classes=0",
               NULL, NULL);
    expect_bad(NET CONV YOLO_CONV "[region]\nanchors=1,1,2,2,3,3\nclasses=3\nnum=3\ncoords=4\n", "[region]",
               "needs 24 input channels", NULL);
    expect_bad(NET "[connected]\noutput=30\n[detection]\nclasses=2\ncoords=4\nnum=1\nside=2\n", "[detection]",
               "side=2", "= 28 inputs");
    expect_good(NET CONV "[convolutional]\nfilters=21\nsize=1\n[region]\nanchors=1,1,2,2,3,3\nclasses=2\nnum=3\n");
    /* AlexeyAB's new_coords heads: this Darknet would decode them wrong;
     * scale_x_y only shifts centres (a warning on stderr), and must be a number */
    expect_bad(NET CONV YOLO_CONV YOLO "new_coords=1\n", "line 22", "[yolo] new_coords=1", "YOLOv7");
    expect_good(NET CONV YOLO_CONV YOLO "new_coords=0\nscale_x_y=1.05\n");
    expect_bad(NET CONV YOLO_CONV YOLO "scale_x_y=x\n", "scale_x_y=x", "not a finite number", NULL);
}
END_TEST

/* AlexeyAB's keys that change a layer: this Darknet's parser skips them,
 * and would run another network (silently, or with weights that "do not
 * match"); at their neutral values they change nothing. */
START_TEST(alexeyab_keys)
{
    expect_bad(NET CONV "[convolutional]\nfilters=8\nsize=3\npad=1\ndilation=2\nactivation=leaky\n", "line 16",
               "[convolutional] dilation=2", "AlexeyAB");
    expect_bad(NET CONV "stride_y=2\n", "line 12", "[convolutional] stride_y=2", "vertical stride");
    expect_bad(NET CONV "antialiasing=1\n", "antialiasing=1", NULL, NULL);
    expect_bad(NET CONV "share_index=0\n", "share_index=0", NULL, NULL);
    expect_bad(NET CONV "[maxpool]\nsize=2\nstride=2\nstride_x=1\n", "line 15", "[maxpool] stride_x=1", NULL);
    expect_bad(NET CONV "[maxpool]\nmaxpool_depth=1\n", "maxpool_depth=1", NULL, NULL);
    /* yolov4-tiny's route to half of a layer's channels */
    expect_bad(NET CONV "[route]\nlayers=-1\ngroups=2\ngroup_id=1\n", "line 14", "[route] groups=2", "AlexeyAB");
    expect_bad(NET CONV CONV "[shortcut]\nfrom=-2\nweights_type=per_channel\n", "weights_type=per_channel", NULL,
               NULL);
    expect_good(NET CONV "dilation=1\nstride_x=1\nstride_y=1\nantialiasing=0\n[route]\nlayers=-1\ngroups=1\n"
                "group_id=0\n[shortcut]\nfrom=-2\nweights_type=none\n[maxpool]\nsize=2\nstride=2\nstride_x=2\n"
                "stride_y=2\nmaxpool_depth=0\n");
}
END_TEST

/* Inputs make fuzz found (fuzz/fuzz_cfg.c): accepted by the validator, then
 * crashed Darknet. */
START_TEST(fuzz_regressions)
{
    /* a lone [local]: its workspace is sized in floats, allocated in bytes
     * (im2col_cpu wrote past it) */
    expect_bad("[net]\nbatch=1\n\xc2subdivisions=1\nwidth=8\nheight=8\nchannels=3\n\n[local]\nfilters=2\nsize=3\n"
               "stride=1\npad=1\nactivation=leaky\n\n", "line 8: [local]", "workspace", NULL);
    /* ... which a larger convolution elsewhere makes safe */
    expect_good(NET "[convolutional]\nfilters=16\nsize=3\npad=1\n[convolutional]\nfilters=16\nsize=3\npad=1\n"
                    "[local]\nfilters=2\nsize=3\nstride=1\npad=1\n");
    /* [local] pad=1 with size=5: Darknet's output size and im2col's disagree */
    expect_bad(NET CONV CONV "[local]\nfilters=2\nsize=5\npad=1\n", "[local] pad=1", "disagree", NULL);
    /* only [cost]: get_network_output_layer() read layers[-1] */
    expect_bad("[net]\nbatch=1\nsubdivisions=1\nwidth=4\nheight=4\nchannels=3\n;[convolutional]\nfilters=2\n"
               "size=3\nst-ide=1&pad=1\nactivation=leaky\n\n[cost]\ntype=sse\n", "only [cost] layers", NULL, NULL);
    expect_good(NET CONV "[cost]\n");
    /* a lone [crnn] uses the workspace and gives none */
    expect_bad(NET "[crnn]\nhidden_filters=4\noutput_filters=4\n", "[crnn]", "workspace", NULL);
    /* [normalization] size=5 after a 1-filter conv: forward_normalization_layer()
     * summed channels 0 and 1 of a 1-channel input */
    expect_bad(NET "[convolutional]\nsize=1\n[normalization]\nsize=5\n", "[normalization] size=5",
               "sums 2 channels", "at most size=3");
    expect_good(NET "[convolutional]\nfilters=2\nsize=1\n[normalization]\nsize=5\n");
}
END_TEST

/* [net] 1024 x 1024 x 64 and `convs` 3x3 convolutions of 64 filters: each
 * 2 * 1024^2 * 64 * 64 * 9 = 77.3 GFLOP */
static const char *conv_stack(int convs)
{
    static char t[8192];
    snprintf(t, sizeof t, "[net]\nwidth=1024\nheight=1024\nchannels=64\n");
    for (int i = 0; i < convs; ++i) strcat(t, "[convolutional]\nfilters=64\nsize=3\npad=1\n");
    return t;
}

START_TEST(compute_limit)
{
    gc_err e = {0};
    const char *t = conv_stack(30); /* 2319 GFLOP */
    ck_assert_int_eq(gc_cfgcheck_text("t.cfg", t, strlen(t), 0, NULL, &e), -1);
    ck_assert_msg(strstr(e.msg, "needs about 2319 GFLOP per forward pass"), "%s", e.msg);
    t = conv_stack(25); /* 1933 GFLOP */
    ck_assert_int_eq(gc_cfgcheck_text("t.cfg", t, strlen(t), 0, NULL, &e), 0);
    /* by hand: the 3x3 conv 2 * 16 * 16 * 8 * 3 * 9 = 110592, the 2x2 max pool's
     * 8 * 8 * 8 windows of 4 = 2048 */
    gc_cfg_info info;
    t = NET CONV "[maxpool]\nsize=2\nstride=2\n";
    ck_assert_int_eq(gc_cfgcheck_text("t.cfg", t, strlen(t), 0, &info, &e), 0);
    ck_assert_msg(info.flops == 110592 + 2048, "%.0f", info.flops);
    /* a max pool whose window is the whole 512 x 512 input, at every position */
    t = "[net]\nwidth=512\nheight=512\nchannels=8\n[maxpool]\nsize=512\nstride=1\n";
    ck_assert_int_eq(gc_cfgcheck_text("t.cfg", t, strlen(t), 0, &info, &e), 0);
    ck_assert_msg(info.flops > 5e11, "%.0f", info.flops);
}
END_TEST

START_TEST(memory_limit)
{
    /* about 2.3 GiB at 64 images, 36 MiB at one */
    const char *t = "[net]\ntime_steps=64\nwidth=512\nheight=512\nchannels=3\n" CONV CONV;
    gc_err e = {0};
    ck_assert_int_eq(gc_cfgcheck_text("t.cfg", t, strlen(t), 256u << 20, NULL, &e), -1);
    ck_assert_msg(strstr(e.msg, "at batch 64 (time_steps in [net])") && strstr(e.msg, "GiB"), "%s", e.msg);
    ck_assert_int_eq(gc_cfgcheck_text("t.cfg", t, strlen(t), 8 * GiB, NULL, &e), 0);
    /* a training cfg's batch: the parse is for one image (patch 0006), so
     * batch=64 is not what is allocated */
    ck_assert(gc_cfgcheck_one_image_parse());
    t = "[net]\nbatch=64\nsubdivisions=1\nwidth=512\nheight=512\nchannels=3\n" CONV CONV;
    gc_cfg_info info;
    ck_assert_msg(gc_cfgcheck_text("t.cfg", t, strlen(t), 256u << 20, &info, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(info.batch, 1);
    ck_assert_uint_lt(info.bytes, 128u << 20);
}
END_TEST

/* Every cfg in dir passes, but those named in bad[] (which must fail). */
static int check_dir(const char *path, const char *const *bad, int nbad)
{
    DIR *d = opendir(path);
    if (!d) return -1;
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".cfg")) continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, de->d_name);
        int expect_fail = 0;
        for (int i = 0; i < nbad; ++i) expect_fail |= !strcmp(de->d_name, bad[i]);
        gc_err e = {0};
        int rc = gc_cfgcheck_file(p, NULL, &e);
        if (expect_fail) ck_assert_msg(rc == -1, "%s accepted", p);
        else ck_assert_msg(rc == 0, "%s refused: %s", p, e.msg);
        ++n;
    }
    closedir(d);
    return n;
}

START_TEST(project_cfgs_pass)
{
    /* bw_bogus has an unknown section; bw_reorg_bad a stride that does not
     * divide; bw_local_small_ws a lone [local] whose workspace Darknet
     * under-allocates; bw_crop and eq_all_layers crop above layer 0 (for
     * the backward kernels' and the stock forward's tests, which load them
     * directly) */
    static const char *const bad[] = {"bw_bogus.cfg", "bw_reorg_bad.cfg", "bw_local_small_ws.cfg", "bw_crop.cfg",
                                      "eq_all_layers.cfg"};
    ck_assert_int_ge(check_dir("tests/cfg", bad, 5), 40);
    ck_assert_int_ge(check_dir("cfg", NULL, 0), 2);
}
END_TEST

START_TEST(darknet_cfgs_pass)
{
    const char *dn = getenv("GC_DARKNET_DIR");
    char p[4096];
    snprintf(p, sizeof p, "%s/cfg", dn ? dn : "build/darknet");
    /* map= and tree= paths are relative to Darknet's folder (data/coco9k.map) */
    if (chdir(p) != 0) return; /* no Darknet checkout here */
    ck_assert_int_eq(chdir(".."), 0);
    int n = check_dir("cfg", NULL, 0);
    ck_assert_int_ge(n, 20);
}
END_TEST

Suite *suite_cfgcheck(void)
{
    Suite *s = suite_create("cfgcheck");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, base_cfgs_pass);
    tcase_add_test(tc, file_encoding);
    tcase_add_test(tc, syntax);
    tcase_add_test(tc, values_are_numbers);
    tcase_add_test(tc, net_sizes);
    tcase_add_test(tc, conv_rules);
    tcase_add_test(tc, numload_at_most_filters);
    tcase_add_test(tc, iseg_is_refused);
    tcase_add_test(tc, softmax_tree_matches_the_classes);
    tcase_add_test(tc, truth_layer_must_hold_the_labels_read);
    tcase_add_test(tc, pool_reorg_upsample_rules);
    tcase_add_test(tc, route_shortcut_rules);
    tcase_add_test(tc, head_rules);
    tcase_add_test(tc, alexeyab_keys);
    tcase_add_test(tc, memory_limit);
    tcase_add_test(tc, compute_limit);
    tcase_add_test(tc, fuzz_regressions);
    tcase_add_test(tc, project_cfgs_pass);
    tcase_add_test(tc, darknet_cfgs_pass);
    suite_add_tcase(s, tc);
    return s;
}
