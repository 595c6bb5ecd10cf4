/* gc_draw: an image's pictures drawn on the output thread (list mode) are
 * the same bytes as drawn on the calling thread (the main command): each
 * target's overlay, a target drawn only for the summary (no file of its
 * own), a gradient image in place of the photo, and the summary with every
 * thumbnail (box 1's, drawn for it alone, included). The jobs work from their own copies of the heat and
 * the gradient image, overwritten as soon as each call returns, and hold
 * the session's image: the session lets go of it (closes) once the calls
 * are made, and the last job frees it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gc_draw.h"
#include "gc_fixture.h"
#include "gc_rng.h"
#include "gc_tests.h"
#include "gc_writer.h"

#define W 37
#define H 23
#define PX ((size_t)W * H)

static void assert_same_file(const char *a, const char *b)
{
    size_t na, nb;
    char *x = gcf_read_file(a, &na), *y = gcf_read_file(b, &nb);
    ck_assert_msg(x != NULL, "%s missing", a);
    ck_assert_msg(y != NULL, "%s missing", b);
    ck_assert_msg(na == nb && !memcmp(x, y, na), "%s and %s differ (%zu and %zu bytes)", a, b, na, nb);
    free(x);
    free(y);
}

/* The calls of one image: box 0 (overlay and thumbnail), box 1 (thumbnail
 * only), a gradient image (overlay only), the summary. scribble: overwrite
 * img, heats and grad after each call, as the explaining thread does with
 * its buffers. */
static void draw_image(gc_session *s, const char *dir, const char *tag, unsigned char *img, float *heat0, float *heat1,
                       float *grad, int scribble, int skip1)
{
    gc_err e = {0};
    char p0[4096], p2[4096], ps[4096];
    snprintf(p0, sizeof p0, "%s/%s_0.png", dir, tag);
    snprintf(p2, sizeof p2, "%s/%s_2.png", dir, tag);
    snprintf(ps, sizeof ps, "%s/%s_summary.png", dir, tag);
    s->orig.w = W;
    s->orig.h = H;
    s->orig.c = 3;
    s->orig_rgb = img;
    gc_draw *d = gc_draw_begin(s, 2, &e);
    ck_assert_msg(d != NULL, "%s", e.msg);
    gc_fig_box b0 = {3, 2, 20, 15, 4}, b1 = {18, 6, 35, 21, 7};
    gc_draw_spec v0 = {gc_pixels_bytes(img), heat0, .5f, &b0, "0 shirt 91%", "box 0 shirt 91% - layercam, layer 7,5", 0.f, 2.5f, 0, 0};
    ck_assert_msg(gc_draw_overlay(d, p0, &v0, 0, &e) == 0, "%s", e.msg);
    if (scribble) memset(heat0, 0x7f, PX * sizeof *heat0);
    gc_draw_spec v1 = {gc_pixels_bytes(img), heat1, .5f, &b1, "1 bag 40%", "box 1 bag 40% - layercam, layer 7,5", 0.f, 0.f, 1, 0};
    ck_assert_msg(skip1 || gc_draw_overlay(d, NULL, &v1, 1, &e) == 0, "%s", e.msg);
    if (scribble) memset(heat1, 0, PX * sizeof *heat1);
    gc_draw_spec v2 = {gc_pixels_float(grad), NULL, .5f, &b0, "0 shirt 91%", "box 0 shirt 91% - guided gradcam", 0.f, 1.f, 0, 1};
    ck_assert_msg(gc_draw_overlay(d, p2, &v2, -1, &e) == 0, "%s", e.msg);
    if (scribble) memset(grad, 0x3f, 3 * PX * sizeof *grad);
    ck_assert_msg(gc_draw_summary(d, ps, &e) == 0, "%s", e.msg);
    gc_draw_end(d);
    if (scribble) gc_explain_close(s); /* frees img, or leaves it to the jobs that still hold it */
}

START_TEST(output_thread_draws_what_this_thread_draws)
{
    char *dir = gcf_tempdir();
    ck_assert_ptr_nonnull(dir);
    uint64_t r = 91;
    unsigned char *img[2];
    float *heat0[2], *heat1[2], *grad[2];
    for (int t = 0; t < 2; ++t) {
        img[t] = malloc(3 * PX);
        heat0[t] = malloc(PX * sizeof(float));
        heat1[t] = malloc(PX * sizeof(float));
        grad[t] = malloc(3 * PX * sizeof(float));
        ck_assert(img[t] && heat0[t] && heat1[t] && grad[t]);
    }
    for (size_t i = 0; i < 3 * PX; ++i) img[0][i] = (unsigned char)(gc_rng_unit(&r) * 256), grad[0][i] = gc_rng_unit(&r);
    for (size_t i = 0; i < PX; ++i) heat0[0][i] = gc_rng_unit(&r), heat1[0][i] = gc_rng_unit(&r);
    memcpy(img[1], img[0], 3 * PX);
    memcpy(grad[1], grad[0], 3 * PX * sizeof(float));
    memcpy(heat0[1], heat0[0], PX * sizeof(float));
    memcpy(heat1[1], heat1[0], PX * sizeof(float));

    gc_session here, there;
    memset(&here, 0, sizeof here);
    memset(&there, 0, sizeof there);
    draw_image(&here, dir, "here", img[0], heat0[0], heat1[0], grad[0], 0, 0);
    gc_err e = {0};
    /* a small queue: the caller also waits for room on the way */
    gc_writer *w = gc_writer_start(64 << 10, NULL, &e);
    ck_assert_msg(w != NULL, "%s", e.msg);
    there.writer = w;
    draw_image(&there, dir, "there", img[1], heat0[1], heat1[1], grad[1], 1, 0);
    gc_writer_stop(w);
    /* box 1's call, with no file of its own, is in the summary */
    gc_session alone;
    memset(&alone, 0, sizeof alone);
    draw_image(&alone, dir, "alone", img[0], heat0[0], heat1[0], grad[0], 0, 1);
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s/here_summary.png", dir);
    snprintf(b, sizeof b, "%s/alone_summary.png", dir);
    size_t na, nb;
    char *x = gcf_read_file(a, &na), *y = gcf_read_file(b, &nb);
    ck_assert(x && y);
    ck_assert_msg(na != nb || memcmp(x, y, na), "the summary does not show box 1");
    free(x);
    free(y);
    snprintf(a, sizeof a, "%s/alone_0.png", dir);
    unlink(a);
    snprintf(a, sizeof a, "%s/alone_2.png", dir);
    unlink(a);
    unlink(b);

    const char *names[] = {"0", "2", "summary"};
    for (int k = 0; k < 3; ++k) {
        snprintf(a, sizeof a, "%s/here_%s.png", dir, names[k]);
        snprintf(b, sizeof b, "%s/there_%s.png", dir, names[k]);
        assert_same_file(a, b);
    }
    /* box 1 had no file of its own: three files each */
    ck_assert_int_eq(gcf_count_files(dir), 6);
    gc_explain_keep(&here);
    gc_explain_keep(&there);
    gc_explain_keep(&alone);
    free(here.written);
    free(there.written);
    free(alone.written);
    free(img[0]); /* img[1] was the closed session's */
    for (int t = 0; t < 2; ++t) {
        free(heat0[t]);
        free(heat1[t]);
        free(grad[t]);
    }
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_draw(void)
{
    Suite *s = suite_create("draw");
    TCase *tc = tcase_create("pictures");
    tcase_add_test(tc, output_thread_draws_what_this_thread_draws);
    suite_add_tcase(s, tc);
    return s;
}
