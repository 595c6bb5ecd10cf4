#include "gc_dnimage.h"

#include <assert.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "gc_common.h"

/* Darknet's src/image.c defines these (STB_IMAGE_IMPLEMENTATION, not static);
 * Darknet's headers do not declare them. */
unsigned char *stbi_load(char const *filename, int *x, int *y, int *comp, int req_comp);
void stbi_image_free(void *retval_from_stbi_load);
const char *stbi_failure_reason(void);

/* Darknet's stb_image keeps its failure reason in a plain global, written
 * by every load (the JPEG probe of a PNG fails first): the reader thread and
 * the explaining thread (-batch reloads an image that failed) take turns. */
static pthread_mutex_t stb_mu = PTHREAD_MUTEX_INITIALIZER;

int gc_dnimage_can_load(const char *path, int *w, int *h, const char **why)
{
    int c = 0;
    pthread_mutex_lock(&stb_mu);
    unsigned char *px = stbi_load(path, w, h, &c, 3);
    *why = px ? NULL : stbi_failure_reason(); /* a string literal: valid after the unlock */
    pthread_mutex_unlock(&stb_mu);
    if (!px) {
        if (!*why) *why = "unknown error";
        return 0;
    }
    stbi_image_free(px);
    return 1;
}

int gc_dnimage_from_rgb(const unsigned char *px, int w, int h, image *out)
{
    image im = {w, h, 3, malloc((size_t)w * h * 3 * sizeof(float))};
    if (!im.data) return 0;
    /* load_image_stb(path, 3)'s conversion, planar, each byte's value the
     * same expression (float)b / 255. from a table: the division per value
     * had been most of the conversion's time */
    float v[256];
    for (int b = 0; b < 256; ++b) v[b] = (float)b / 255.;
    size_t n = (size_t)w * (size_t)h;
    float *r = im.data, *g = r + n, *bl = g + n;
    for (size_t p = 0; p < n; ++p) {
        r[p] = v[px[3 * p]];
        g[p] = v[px[3 * p + 1]];
        bl[p] = v[px[3 * p + 2]];
    }
    *out = im;
    return 1;
}

unsigned char *gc_dnimage_load_rgb(const char *path, int *w, int *h, const char **why)
{
    int c = 0;
    pthread_mutex_lock(&stb_mu);
    unsigned char *px = stbi_load(path, w, h, &c, 3);
    if (!px) {
        *why = stbi_failure_reason(); /* a string literal: valid after the unlock */
        pthread_mutex_unlock(&stb_mu);
        if (!*why) *why = "unknown error";
        return NULL;
    }
    pthread_mutex_unlock(&stb_mu);
    return px;
}

int gc_dnimage_load(const char *path, image *out, const char **why)
{
    int w = 0, h = 0;
    unsigned char *px = gc_dnimage_load_rgb(path, &w, &h, why);
    if (!px) return 0;
    int ok = gc_dnimage_from_rgb(px, w, h, out);
    stbi_image_free(px);
    if (!ok) *why = "out of memory";
    return ok;
}

/* Darknet's resize_image(im, nw, nh) (src/image.c) on the float image of px,
 * each value read as gc_byte_value, the same operations in the same order:
 * each row resized across into part (nw x h), then part down into out's
 * window at (ox, oy) (stride ow, planes ow * oh apart). Darknet's -Ofast
 * keeps these as they are written (no FMA on x86-64's baseline, no
 * reassociation in a single product or sum): check_image compares the
 * result with letterbox_image's bit for bit. Contraction is kept off here
 * for a build with -march=native (Darknet's own build has no -march). */
#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=off")))
#endif
static void resize_rgb(const unsigned char *px, int w, int h, float *part, int nw, int nh, float *out, int ow,
                       int oh, int ox, int oy)
{
    const float *v = gc_byte_value;
    float w_scale = (float)(w - 1) / (nw - 1);
    float h_scale = (float)(h - 1) / (nh - 1);
    size_t pp = (size_t)nw * (size_t)h, op = (size_t)ow * (size_t)oh;
    for (int k = 0; k < 3; ++k)
        for (int r = 0; r < h; ++r) {
            const unsigned char *row = px + (size_t)r * (size_t)w * 3 + (size_t)k;
            float *dst = part + (size_t)k * pp + (size_t)r * (size_t)nw;
            for (int c = 0; c < nw; ++c) {
                float val;
                if (c == nw - 1 || w == 1) {
                    val = v[row[(size_t)(w - 1) * 3]];
                } else {
                    float sx = c * w_scale;
                    int ix = (int)sx;
                    float dx = sx - ix;
                    int ix1 = ix + 1 < w ? ix + 1 : w - 1; /* (Darknet's get_pixel asserts there) */
                    val = (1 - dx) * v[row[(size_t)ix * 3]] + dx * v[row[(size_t)ix1 * 3]];
                }
                dst[c] = val;
            }
        }
    for (int k = 0; k < 3; ++k)
        for (int r = 0; r < nh; ++r) {
            float sy = r * h_scale;
            int iy = (int)sy;
            float dy = sy - iy;
            const float *p0 = part + (size_t)k * pp + (size_t)iy * (size_t)nw;
            float *dst = out + (size_t)k * op + (size_t)(oy + r) * (size_t)ow + (size_t)ox;
            for (int c = 0; c < nw; ++c) dst[c] = (1 - dy) * p0[c];
            if (r == nh - 1 || h == 1) continue;
            const float *p1 = p0 + nw;
            for (int c = 0; c < nw; ++c) dst[c] += dy * p1[c];
        }
}
#endif

int gc_dnimage_letterbox_rgb(const unsigned char *px, int w, int h, int net_w, int net_h, image *out)
{
    memset(out, 0, sizeof *out);
#if !defined(__x86_64__)
    /* Elsewhere Darknet's own letterbox of the float image: the copy above
     * gives its bits only where neither build contracts a * b + c into one
     * rounding (x86-64's baseline has no FMA; GCC contracts by default
     * where FMA is in the base set, as on arm64, in Darknet's build but not
     * in resize_rgb), so the memory saved is not worth other inputs. */
    image im;
    if (!gc_dnimage_from_rgb(px, w, h, &im)) return 0;
    *out = letterbox_image(im, net_w, net_h);
    free_image(im);
    return out->data != NULL;
#else
    /* letterbox_image's size and place, its arithmetic (gc_render_letterbox's
     * too; this file is also linked without gc_render, into the stock bench) */
    int new_w, new_h;
    if (((float)net_w / w) < ((float)net_h / h)) {
        new_w = net_w;
        new_h = (int)(((long long)h * net_w) / w);
    } else {
        new_h = net_h;
        new_w = (int)(((long long)w * net_h) / h);
    }
    assert(new_w >= 2 && new_h >= 2); /* gc_image_fits_net */
    size_t np = (size_t)net_w * (size_t)net_h * 3;
    float *boxed = malloc(np * sizeof *boxed);
    float *part = malloc((size_t)new_w * (size_t)h * 3 * sizeof *part);
    if (!boxed || !part) {
        free(boxed);
        free(part);
        return 0;
    }
    for (size_t i = 0; i < np; ++i) boxed[i] = .5f; /* fill_image(boxed, .5) */
    resize_rgb(px, w, h, part, new_w, new_h, boxed, net_w, net_h, (net_w - new_w) / 2, (net_h - new_h) / 2);
    free(part);
    *out = (image){net_w, net_h, 3, boxed};
    return 1;
#endif
}
