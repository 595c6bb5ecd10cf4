#include "gc_dnimage.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

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
