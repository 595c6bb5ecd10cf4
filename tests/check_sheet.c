/* gc_sheet: the gradient display by hand, panel sizes for small scenes and
 * large photos, the area/nearest resize, and -sheet (and the new options'
 * errors) end to end through ./darknet. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gc_fixture.h"
#include "gc_image.h"
#include "gc_render.h"
#include "gc_sheet.h"
#include "gc_tests.h"

/* pytorch-grad-cam's deprocess_image: (x - mean) / (std + 1e-5) * 0.1 + 0.5,
 * clipped. Values -1 and 1 (mean 0, std 1) give 0.4 and 0.6; a constant image
 * is grey. */
START_TEST(gradient_display_by_hand)
{
    float g[6] = {-1, 1, -1, 1, -1, 1}, k[6] = {5, 5, 5, 5, 5, 5};
    unsigned char rgb[6];
    gc_sheet_gradient_rgb(g, 2, 1, rgb);
    /* pixel 0: (-1, -1, -1) -> 0.4; pixel 1: (1, 1, 1) -> 0.6 */
    for (int c = 0; c < 3; ++c) {
        ck_assert_int_eq(rgb[c], (int)(0.4 * 255 + .5));
        ck_assert_int_eq(rgb[3 + c], (int)(0.6 * 255 + .5));
    }
    gc_sheet_gradient_rgb(k, 2, 1, rgb);
    for (int i = 0; i < 6; ++i) ck_assert_int_eq(rgb[i], 128);
    /* {0 x5, 100}: mean 100/6, std 100 sqrt(5)/6: the outlier at
     * 0.5 + 0.1 sqrt(5) = 0.7236, the zeros at 0.5 - 0.1 / sqrt(5) = 0.4553 */
    float o[6] = {0, 0, 0, 0, 0, 100};
    gc_sheet_gradient_rgb(o, 2, 1, rgb);
    ck_assert_int_eq(rgb[5], (int)(255 * (0.5 + 0.1 * sqrt(5.0)) + .5));
    ck_assert_int_eq(rgb[0], (int)(255 * (0.5 - 0.1 / sqrt(5.0)) + .5));
    /* clipping: 20 sigma out */
    float big[1200] = {0};
    big[0] = 1;
    unsigned char rb[1200];
    gc_sheet_gradient_rgb(big, 400, 1, rb);
    ck_assert_int_eq(rb[0], 255);
}
END_TEST

START_TEST(panel_sizes)
{
    int w, h;
    gc_sheet_panel_size(96, 96, &w, &h); /* demo scenes: integer upscale x3 */
    ck_assert(w == 288 && h == 288);
    gc_sheet_panel_size(4000, 3000, &w, &h); /* photos: downscaled */
    ck_assert(w == 320 && h == 240);
    gc_sheet_panel_size(768, 576, &w, &h);
    ck_assert(w == 320 && h == 240);
    gc_sheet_panel_size(10, 5, &w, &h);
    ck_assert(w == 320 && h == 160);
    gc_sheet_panel_size(5000, 1, &w, &h);
    ck_assert(w == 320 && h == 1);
}
END_TEST

/* 4x2 -> 2x1: means of 2x2 blocks; 2x1 -> 4x2: each pixel repeated. */
START_TEST(resize_area_and_nearest)
{
    const float in[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float out[8];
    gc_sheet_resize_planar(in, 4, 2, 1, out, 2, 1);
    ck_assert_float_eq(out[0], (1 + 2 + 5 + 6) / 4.0f);
    ck_assert_float_eq(out[1], (3 + 4 + 7 + 8) / 4.0f);
    const float small[2] = {1, 2};
    gc_sheet_resize_planar(small, 2, 1, 1, out, 4, 2);
    const float want[8] = {1, 1, 2, 2, 1, 1, 2, 2};
    for (int i = 0; i < 8; ++i) ck_assert_float_eq(out[i], want[i]);
}
END_TEST

static char out[1 << 16], err[1 << 16];

static int run_darknet(char **args)
{
    char *argv[40];
    int n = 0;
    argv[n++] = "./darknet";
    argv[n++] = "gradcam";
    for (int i = 0; args[i] && n < 39; ++i) argv[n++] = args[i];
    argv[n] = NULL;
    return gcf_run(argv, out, sizeof out, err, sizeof err);
}

/* A 10x10 PNG of seeded noise at path. */
static void noise_png(const char *path)
{
    unsigned char px[300];
    uint64_t st = 5;
    for (int i = 0; i < 300; ++i) px[i] = (unsigned char)gcf_uniform(&st, 0, 255.9f);
    gc_err e = {0};
    ck_assert_int_eq(gc_image_write_png(path, 10, 10, px, &e), 0);
}

/* -sheet on a classifier: one sheet per class, five panels of 320 px (a
 * 10x10 image upscaled x32) with margins; guidedgradcam and scorecam run end
 * to end; the new options' bad values and CAM on a detector are refused with
 * one line, status 2 (usage) or 1, and no file. */
START_TEST(sheet_and_options_end_to_end)
{
    char *dir = gcf_tempdir();
    char weights[4096], img[4096], prefix[4096], path[4096];
    snprintf(weights, sizeof weights, "%s/w.weights", dir);
    ck_assert_int_eq(gcf_write_random_weights("tests/cfg/gb_relu.cfg", weights, 3), 0);
    snprintf(img, sizeof img, "%s/img.png", dir);
    noise_png(img);
    gc_err e = {0};
    snprintf(prefix, sizeof prefix, "%s/o/x", dir);
    snprintf(path, sizeof path, "%s/o", dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);

    char *a1[] = {"tests/cfg/gb_relu.cfg", weights, img, "-top", "2", "-sheet", "-out", prefix, NULL};
    ck_assert_msg(run_darknet(a1) == 0, "%s", gcf_tail(err, 400));
    ck_assert_int_eq(gcf_count_files(path), 6); /* 2 x (png, npy, sheet) */
    ck_assert_ptr_nonnull(strstr(out, "sheet "));
    const char *sp = strstr(out, "sheet ") + 6;
    char sheet[4096];
    snprintf(sheet, sizeof sheet, "%.*s", (int)strcspn(sp, "\n"), sp);
    int w = 0, h = 0;
    ck_assert_msg(gc_image_check(sheet, &w, &h, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(w, 5 * 320 + 6 * 8);
    ck_assert_int_gt(h, 320);

    char *a2[] = {"tests/cfg/gb_relu.cfg", weights, img, "-method", "guidedgradcam", "-counterfactual", "-smooth", "aug",
                  "-out", prefix, NULL};
    ck_assert_msg(run_darknet(a2) == 0, "%s", gcf_tail(err, 400));
    /* the smoothing is named in the line and the report (it was in neither) */
    ck_assert_msg(strstr(out, "guidedgradcam counterfactual smooth aug "), "%s", out);
    char json[4096];
    snprintf(json, sizeof json, "%s/r.json", dir);
    char *a3[] = {"tests/cfg/gb_relu.cfg", weights, img, "-method", "scorecam", "-scorecam-channels", "2", "-smooth",
                  "eigen", "-out", prefix, "-json", json, NULL};
    ck_assert_msg(run_darknet(a3) == 0, "%s", gcf_tail(err, 400));
    ck_assert_msg(strstr(out, "scorecam smooth eigen "), "%s", out);
    char *js = gcf_read_file(json, NULL);
    ck_assert_msg(js && strstr(js, "\"smooth\": \"eigen\""), "%s", js ? js : "(no report)");
    free(js);
    /* eigen needs a layer's map: none for Guided Backprop (it did nothing) */
    char *a4[] = {"tests/cfg/gb_relu.cfg", weights, img, "-method", "guidedbackprop", "-smooth", "eigen", "-out", prefix,
                  NULL};
    ck_assert_int_eq(run_darknet(a4), 2);
    ck_assert_msg(strstr(err, "gradcam: -smooth eigen works on a layer's map; guidedbackprop has none"), "%s", err);

    snprintf(path, sizeof path, "%s/o2", dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(prefix, sizeof prefix, "%s/o2/x", dir);
    char *b1[] = {"tests/cfg/gb_relu.cfg", weights, img, "-smooth", "blur", "-out", prefix, NULL};
    ck_assert_int_eq(run_darknet(b1), 2);
    ck_assert_ptr_nonnull(strstr(err, "gradcam: -smooth blur: unknown"));
    char *b2[] = {"tests/cfg/gb_relu.cfg", weights, img, "-scorecam-channels", "0", "-out", prefix, NULL};
    ck_assert_int_eq(run_darknet(b2), 2);
    ck_assert_ptr_nonnull(strstr(err, "-scorecam-channels"));
    char *b3[] = {"tests/cfg/gb_relu.cfg", weights, img, "-method", "scorecam", "-counterfactual", "-out", prefix, NULL};
    ck_assert_int_eq(run_darknet(b3), 2);
    /* CAM on a net whose logits are not global average pooling + linear */
    snprintf(weights, sizeof weights, "%s/n.weights", dir);
    ck_assert_int_eq(gcf_write_random_weights("tests/cfg/cam_nogap.cfg", weights, 4), 0);
    char *b4[] = {"tests/cfg/cam_nogap.cfg", weights, img, "-method", "cam", "-out", prefix, NULL};
    ck_assert_int_eq(run_darknet(b4), 1);
    ck_assert_msg(strstr(err, "gradcam: -method cam needs a classifier") != NULL, "%s", gcf_tail(err, 400));
    ck_assert_int_eq(gcf_count_files(path), 0);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* A detector's sheet outlines the box on its image panel where the overlay
 * does: from the near side of the box's first pixel to the far side of its
 * last. A 12 x 9 image is drawn 26x (312 x 234 px); the right and bottom
 * edges had been placed at the near side of the last pixel, 25 display px
 * short. The outline is the panel's only yellow. */
START_TEST(sheet_box_covers_its_last_pixel)
{
    char *dir = gcf_tempdir();
    char weights[4096], img[4096], prefix[4096];
    snprintf(weights, sizeof weights, "%s/w.weights", dir);
    ck_assert_int_eq(gcf_write_random_weights("tests/cfg/det_yolo2.cfg", weights, 5), 0);
    snprintf(img, sizeof img, "%s/img.png", dir);
    enum { W = 12, H = 9 };
    unsigned char px[W * H * 3];
    uint64_t st = 7;
    for (int i = 0; i < W * H; ++i) px[3 * i] = px[3 * i + 1] = px[3 * i + 2] = (unsigned char)gcf_uniform(&st, 40, 200);
    gc_err e = {0};
    ck_assert_int_eq(gc_image_write_png(img, W, H, px, &e), 0);
    snprintf(prefix, sizeof prefix, "%s/x", dir);
    char *a[] = {"tests/cfg/det_yolo2.cfg", weights, img, "-thresh", "0.05", "-maxboxes", "1", "-sheet", "-save",
                 "none", "-out", prefix, NULL};
    ck_assert_msg(run_darknet(a) == 0, "%s", gcf_tail(err, 400));
    int l, t, r, b;
    const char *bp = strstr(out, "box 0 ");
    ck_assert_msg(bp && (bp = strchr(bp, '[')) && sscanf(bp, "[%d %d %d %d]", &l, &t, &r, &b) == 4, "%s", out);
    const char *sp = strstr(out, "sheet ");
    ck_assert_msg(sp, "%s", out);
    sp += 6;
    char sheet[4096];
    snprintf(sheet, sizeof sheet, "%.*s", (int)strcspn(sp, "\n"), sp);

    int dw, dh;
    gc_sheet_panel_size(W, H, &dw, &dh);
    ck_assert_int_eq(dw, 26 * W);
    image im;
    ck_assert_msg(gc_image_load(sheet, &im, &e) == 0, "%s", e.msg);
    /* the first panel's columns (margin 8), below the yellow header line */
    int x0 = im.w, x1 = -1, y0 = im.h, y1 = -1;
    size_t np = (size_t)im.w * im.h;
    for (int y = 30; y < im.h; ++y)
        for (int x = 8; x < 8 + dw; ++x) {
            size_t i = (size_t)y * im.w + x;
            if (im.data[i] == 1.0f && fabsf(im.data[np + i] - 220 / 255.f) < 1e-6f && im.data[2 * np + i] == 0) {
                if (x < x0) x0 = x;
                if (x > x1) x1 = x;
                if (y < y0) y0 = y;
                if (y > y1) y1 = y;
            }
        }
    free_image(im);
    ck_assert_msg(x1 >= 0, "no box outline on the sheet's image panel");
    ck_assert_int_eq(x1 - x0 + 1, (r + 1) * dw / W - l * dw / W);
    ck_assert_int_eq(y1 - y0 + 1, (b + 1) * dh / H - t * dh / H);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* A classifier without a [softmax] explains its raw score: the sheet's
 * header says "score S", as the overlay's footer does, not the score read as
 * a probability ("class 0 772.6%" had been drawn for a score of 7.73). The
 * header is compared pixel for pixel with the expected text drawn the same
 * way. */
START_TEST(sheet_of_a_score_says_score)
{
    char *dir = gcf_tempdir();
    char cfg[4096], weights[4096], img[4096], prefix[4096], json[4096];
    snprintf(cfg, sizeof cfg, "%s/nosoftmax.cfg", dir);
    char *text = gcf_read_file("tests/cfg/gb_relu.cfg", NULL);
    ck_assert_ptr_nonnull(text);
    char *sm = strstr(text, "[softmax]");
    ck_assert_ptr_nonnull(sm);
    *sm = '\0';
    FILE *f = fopen(cfg, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    free(text);
    snprintf(weights, sizeof weights, "%s/w.weights", dir);
    ck_assert_int_eq(gcf_write_random_weights(cfg, weights, 3), 0);
    snprintf(img, sizeof img, "%s/img.png", dir);
    noise_png(img);
    gc_err e = {0};
    snprintf(prefix, sizeof prefix, "%s/x", dir);
    snprintf(json, sizeof json, "%s/r.json", dir);
    char *a[] = {cfg, weights, img, "-class", "0", "-sheet", "-save", "none", "-out", prefix, "-json", json, NULL};
    ck_assert_msg(run_darknet(a) == 0, "%s", gcf_tail(err, 400));
    ck_assert_msg(strstr(out, "class 0: score "), "%s", out);
    char *js = gcf_read_file(json, NULL);
    ck_assert_ptr_nonnull(js);
    const char *sp = strstr(js, "\"score\": "), *lp = strstr(js, "\"layers\": [");
    double score;
    int layer;
    ck_assert_msg(sp && lp && sscanf(sp, "\"score\": %lf", &score) == 1 && sscanf(lp, "\"layers\": [%d", &layer) == 1,
                  "%s", js);
    char want[256], sheet[4200], key[4300];
    snprintf(want, sizeof want, "class 0 score %.3g | layer %d", score, layer);
    snprintf(sheet, sizeof sheet, "%s_0_sheet.png", prefix);
    /* the report names the sheet, as stdout does; no overlay or map (-save none) */
    snprintf(key, sizeof key, "\"overlay\": null, \"map\": null, \"sheet\": \"%s\"}", sheet);
    ck_assert_msg(strstr(js, key), "no %s in %s", key, js);
    free(js);
    unsigned char *rgb;
    int w, h;
    ck_assert_msg(gc_image_load_rgb(sheet, &rgb, &w, &h, &e) == 0, "%s", e.msg);
    int head_h = (GC_FONT_CELL_H + 1) * 2 + 10; /* gc_sheet.c's header: text scale 2, margin 8 */
    unsigned char *exp = malloc((size_t)w * h * 3);
    ck_assert_ptr_nonnull(exp);
    memset(exp, 24, (size_t)w * h * 3);
    const unsigned char yellow[3] = {255, 220, 0}, bg[3] = {24, 24, 24};
    gc_render_text(exp, w, h, 8, 6, want, 2, yellow, bg);
    ck_assert_msg(!memcmp(rgb, exp, (size_t)w * head_h * 3), "the sheet's header is not \"%s\"", want);
    free(exp);
    free(rgb);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* Reads a float32 .npy of any shape (version 1 header); returns the data
 * and the element count. */
static float *read_npy_any(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char head[10];
    ck_assert_int_eq(fread(head, 1, 10, f), 10);
    ck_assert(head[6] == 1);
    size_t hl = head[8] | (size_t)head[9] << 8;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    *n = ((size_t)size - 10 - hl) / 4;
    float *x = malloc(*n * sizeof *x);
    fseek(f, (long)(10 + hl), SEEK_SET);
    ck_assert_int_eq(fread(x, 4, *n, f), *n);
    fclose(f);
    return x;
}

/* The main command's PNG for -method guidedbackprop is the gradient image
 * of its own .npy as the paper shows it (gc_sheet_gradient_rgb: mean 0.5,
 * std 0.1, clipped), pixel for pixel under the display scale, not a heat
 * overlay of the photo. */
START_TEST(guided_png_is_the_gradient_image)
{
    char *dir = gcf_tempdir();
    char weights[4096], img[4096], prefix[2048], png[4096], npy[4096];
    snprintf(weights, sizeof weights, "%s/w.weights", dir);
    ck_assert_int_eq(gcf_write_random_weights("tests/cfg/gb_relu.cfg", weights, 1), 0);
    snprintf(img, sizeof img, "%s/img.png", dir);
    enum { W = 10, H = 10 };
    unsigned char px[W * H * 3];
    uint64_t st = 9;
    for (int i = 0; i < W * H * 3; ++i) px[i] = (unsigned char)gcf_uniform(&st, 0, 255.9f);
    gc_err e = {0};
    ck_assert_int_eq(gc_image_write_png(img, W, H, px, &e), 0);
    snprintf(prefix, sizeof prefix, "%s/o/g", dir);
    char json[4096];
    snprintf(json, sizeof json, "%s/g.json", dir);
    char *a[] = {"tests/cfg/gb_relu.cfg", weights, img, "-class", "1", "-method", "guidedbackprop", "-out", prefix,
                 "-json", json, NULL};
    ck_assert_msg(run_darknet(a) == 0, "%s", gcf_tail(err, 400));
    /* the map is the input gradient: no layer is named (it had the layer
     * under the logits, which the method never reads) */
    ck_assert_msg(strstr(out, ", layer input 10x10x3, guidedbackprop "), "%s", out);
    char *report = gcf_read_file(json, NULL);
    ck_assert_ptr_nonnull(report);
    ck_assert_msg(strstr(report, "\"layers\": [], \"layer_type\": \"input\", \"map_size\": [10, 10]"), "%s", report);
    free(report);
    char outdir[4096], index[4200], list[4096];
    snprintf(outdir, sizeof outdir, "%s/list", dir);
    snprintf(index, sizeof index, "%s/index.jsonl", outdir);
    snprintf(list, sizeof list, "%s/list.txt", dir);
    FILE *lf = fopen(list, "w");
    ck_assert_ptr_nonnull(lf);
    fprintf(lf, "%s\n", img);
    fclose(lf);
    char *al[] = {"tests/cfg/gb_relu.cfg", weights, "-list", list, "-outdir", outdir, "-class", "1", "-method",
                  "guidedbackprop", "-quiet", NULL};
    ck_assert_msg(run_darknet(al) == 0, "%s", gcf_tail(err, 400));
    report = gcf_read_file(index, NULL);
    ck_assert_ptr_nonnull(report);
    ck_assert_msg(strstr(report, "\"layers\": [], \"method\": \"guidedbackprop\""), "%s", report);
    free(report);
    snprintf(png, sizeof png, "%s_1.png", prefix);
    snprintf(npy, sizeof npy, "%s_1.npy", prefix);
    size_t n = 0;
    float *hwc = read_npy_any(npy, &n);
    ck_assert_uint_eq(n, (size_t)W * H * 3);
    float big = 0;
    for (size_t i = 0; i < n; ++i) big = fmaxf(big, fabsf(hwc[i]));
    ck_assert_msg(big > 0, "the input gradient is all zero: the test would compare a tagged plain image");
    float planar[W * H * 3];
    for (int p = 0; p < W * H; ++p)
        for (int c = 0; c < 3; ++c) planar[c * W * H + p] = hwc[p * 3 + c];
    unsigned char want[W * H * 3];
    gc_sheet_gradient_rgb(planar, W, H, want);
    int grey = 0;
    for (int i = 0; i < W * H * 3; ++i) grey += want[i] != px[i];
    ck_assert_int_gt(grey, W * H); /* the display is not the photo */
    image got = load_image_color(png, 0, 0);
    int f = gc_render_display_scale(W, H);
    ck_assert_int_eq(got.w, W * f);
    ck_assert_int_ge(got.h, H * f);
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x)
            for (int c = 0; c < 3; ++c) {
                float v = got.data[(size_t)c * got.w * got.h + (size_t)(y * f + f / 2) * got.w + x * f + f / 2];
                ck_assert_msg(fabsf(v * 255.0f - want[(y * W + x) * 3 + c]) < 1.0f, "pixel %d,%d channel %d: %g vs %d",
                              x, y, c, v * 255.0f, want[(y * W + x) * 3 + c]);
            }
    free_image(got);
    free(hwc);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_sheet(void)
{
    Suite *s = suite_create("sheet");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, gradient_display_by_hand);
    tcase_add_test(tc, panel_sizes);
    tcase_add_test(tc, resize_area_and_nearest);
    tcase_add_test(tc, sheet_and_options_end_to_end);
    tcase_add_test(tc, sheet_box_covers_its_last_pixel);
    tcase_add_test(tc, sheet_of_a_score_says_score);
    tcase_add_test(tc, guided_png_is_the_gradient_image);
    suite_add_tcase(s, tc);
    return s;
}
