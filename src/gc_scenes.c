#include "gc_scenes.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "gc_image.h"
#include "gc_rng.h"

const char *const gc_scenes_fmnist_names[GC_FMNIST_CLASSES] = {
    "top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot",
};

/* ---- Fashion-MNIST idx files ---------------------------------------------- */

static int read_exact(gzFile f, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(f, p, chunk);
        if (got <= 0) return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Opens <dir>/<stem>.gz, or <dir>/<stem> when there is no .gz. */
static gzFile open_idx(const char *dir, const char *stem, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s.gz", dir, stem);
    gzFile f = gzopen(path, "rb");
    if (f) return f;
    snprintf(path, cap, "%s/%s", dir, stem);
    return gzopen(path, "rb");
}

/* idx: magic 0x00000800 | ndims, then ndims big-endian sizes, then bytes. */
static unsigned char *load_idx(const char *dir, const char *stem, int ndims, uint32_t *dims, gc_err *e)
{
    char path[4096];
    gzFile f = open_idx(dir, stem, path, sizeof path);
    if (!f) {
        gc_fail(e, "cannot open %s(.gz): %s", path, strerror(errno ? errno : ENOENT));
        return NULL;
    }
    unsigned char hdr[16];
    size_t total = 1;
    if (read_exact(f, hdr, 4 + 4 * (size_t)ndims) || be32(hdr) != (uint32_t)(0x800 | ndims)) {
        gzclose(f);
        gc_fail(e, "%s: not an idx file with %d dimensions", path, ndims);
        return NULL;
    }
    for (int i = 0; i < ndims; ++i) {
        dims[i] = be32(hdr + 4 + 4 * i);
        if (dims[i] == 0 || gc_size_mul(total, dims[i], &total) || total > ((size_t)1 << 31)) {
            gzclose(f);
            gc_fail(e, "%s: implausible size in its header", path);
            return NULL;
        }
    }
    unsigned char *data = malloc(total);
    if (!data) {
        gzclose(f);
        gc_fail(e, "out of memory reading %s", path);
        return NULL;
    }
    if (read_exact(f, data, total)) {
        free(data);
        gzclose(f);
        gc_fail(e, "%s: truncated (expected %zu bytes of data)", path, total);
        return NULL;
    }
    gzclose(f);
    return data;
}

int gc_scenes_fmnist_load(gc_fmnist *d, const char *dir, int train, gc_err *e)
{
    memset(d, 0, sizeof *d);
    const char *pre = train ? "train" : "t10k";
    char stem[64];
    uint32_t idims[3], ldims[1];
    snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", pre);
    d->images = load_idx(dir, stem, 3, idims, e);
    if (!d->images) return -1;
    snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", pre);
    d->labels = load_idx(dir, stem, 1, ldims, e);
    if (!d->labels) {
        gc_scenes_fmnist_free(d);
        return -1;
    }
    if (idims[1] != GC_FMNIST_SIDE || idims[2] != GC_FMNIST_SIDE || idims[0] != ldims[0]) {
        gc_scenes_fmnist_free(d);
        return gc_fail(e, "%s/%s-*: %u images of %ux%u for %u labels (expected 28x28, equal counts)", dir,
                       pre, idims[0], idims[1], idims[2], ldims[0]);
    }
    d->n = (int)idims[0];
    for (int i = 0; i < d->n; ++i)
        if (d->labels[i] >= GC_FMNIST_CLASSES) {
            int bad = d->labels[i];
            gc_scenes_fmnist_free(d);
            return gc_fail(e, "%s/%s-labels-idx1-ubyte: label %d of item %d is not 0..9", dir, pre, bad, i);
        }
    return 0;
}

void gc_scenes_fmnist_free(gc_fmnist *d)
{
    free(d->images);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

/* ---- kinds ---------------------------------------------------------------- */

static const char *const kind_names[GC_SCENE_KIND_COUNT] = {"cls", "pair", "det", "same"};

const char *gc_scenes_kind_name(gc_scene_kind k)
{
    assert(k >= 0 && k < GC_SCENE_KIND_COUNT);
    return kind_names[k];
}

int gc_scenes_kind_parse(const char *s, gc_scene_kind *out)
{
    for (int k = 0; k < GC_SCENE_KIND_COUNT; ++k)
        if (!strcasecmp(s, kind_names[k])) { /* any case, as -method */
            *out = (gc_scene_kind)k;
            return 0;
        }
    return -1;
}

int gc_scenes_size(gc_scene_kind k)
{
    return k == GC_SCENE_DET || k == GC_SCENE_SAME ? 128 : 96;
}

/* ---- seeded randomness (gc_rng: one stream per scene) ---------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    return gc_rng_next(&r->s);
}

/* uniform in [0, 1) */
static float rng_unit(rng *r)
{
    return gc_rng_unit(&r->s);
}

static float rng_range(rng *r, float lo, float hi)
{
    return lo + (hi - lo) * rng_unit(r);
}

/* uniform integer in [lo, hi] */
static int rng_int(rng *r, int lo, int hi)
{
    return lo + (int)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* ---- drawing on a float RGB canvas (planar-free: interleaved, [0,1]) -------- */

static void blend(float *px, const float *c, float a)
{
    for (int k = 0; k < 3; ++k) px[k] = px[k] * (1 - a) + c[k] * a;
}

/* Cluttered background: a colour gradient, low-frequency noise (a 5x5 random
 * grid, bilinear), random lines, rectangle outlines and filled blobs, and
 * pixel noise. Clutter is never as bright as a garment on average, but it has
 * edges and texture, so position and brightness alone do not give the class. */
static void draw_background(float *img, int n, rng *r)
{
    float c0[3], c1[3], grid[5][5][3];
    for (int k = 0; k < 3; ++k) {
        c0[k] = rng_range(r, 0.02f, 0.40f);
        c1[k] = rng_range(r, 0.02f, 0.40f);
    }
    for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 5; ++j)
            for (int k = 0; k < 3; ++k) grid[i][j][k] = rng_range(r, -0.12f, 0.12f);
    float dir = rng_range(r, 0, 6.2831853f), dx = cosf(dir), dy = sinf(dir);
    for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x) {
            float u = (float)x / (float)(n - 1), v = (float)y / (float)(n - 1);
            float t = 0.5f + 0.5f * ((u - 0.5f) * dx + (v - 0.5f) * dy) * 1.4142f;
            float gx = u * 4, gy = v * 4;
            int ix = gx >= 4 ? 3 : (int)gx, iy = gy >= 4 ? 3 : (int)gy;
            float fx = gx - ix, fy = gy - iy;
            for (int k = 0; k < 3; ++k) {
                float g = (1 - fy) * ((1 - fx) * grid[iy][ix][k] + fx * grid[iy][ix + 1][k]) +
                          fy * ((1 - fx) * grid[iy + 1][ix][k] + fx * grid[iy + 1][ix + 1][k]);
                img[((size_t)y * n + x) * 3 + k] = c0[k] * (1 - t) + c1[k] * t + g;
            }
        }
    int shapes = rng_int(r, 6, 14);
    for (int s = 0; s < shapes; ++s) {
        float c[3];
        for (int k = 0; k < 3; ++k) c[k] = rng_range(r, 0.05f, 0.65f);
        float a = rng_range(r, 0.4f, 0.9f);
        int kind = rng_int(r, 0, 2);
        if (kind == 0) { /* line */
            float x0 = rng_range(r, 0, n), y0 = rng_range(r, 0, n);
            float x1 = rng_range(r, 0, n), y1 = rng_range(r, 0, n);
            int steps = (int)(fabsf(x1 - x0) + fabsf(y1 - y0)) + 1, thick = rng_int(r, 1, 2);
            for (int i = 0; i <= steps; ++i) {
                float t = (float)i / (float)steps;
                int x = (int)(x0 + t * (x1 - x0)), y = (int)(y0 + t * (y1 - y0));
                for (int oy = 0; oy < thick; ++oy)
                    for (int ox = 0; ox < thick; ++ox)
                        if (x + ox < n && y + oy < n) blend(&img[((size_t)(y + oy) * n + x + ox) * 3], c, a);
            }
        } else { /* rectangle outline (1) or filled ellipse (2) */
            int w = rng_int(r, 4, n / 3), h = rng_int(r, 4, n / 3);
            int x0 = rng_int(r, -w / 2, n - w / 2), y0 = rng_int(r, -h / 2, n - h / 2);
            for (int y = y0; y < y0 + h; ++y)
                for (int x = x0; x < x0 + w; ++x) {
                    if (x < 0 || y < 0 || x >= n || y >= n) continue;
                    int on;
                    if (kind == 1) {
                        on = x == x0 || y == y0 || x == x0 + w - 1 || y == y0 + h - 1;
                    } else {
                        float ex = (x - x0 + 0.5f) / w * 2 - 1, ey = (y - y0 + 0.5f) / h * 2 - 1;
                        on = ex * ex + ey * ey <= 1;
                    }
                    if (on) blend(&img[((size_t)y * n + x) * 3], c, kind == 1 ? a : a * 0.5f);
                }
        }
    }
    for (size_t i = 0; i < (size_t)n * n * 3; ++i) img[i] += rng_range(r, -0.03f, 0.03f);
}

/* Pastes garment `src` as a side x side patch at (px, py): bilinear resize of
 * the 28x28 grey patch, whose intensity v gives both the opacity
 * (min(1, 1.6 v)) and the shading of a random bright tint. Returns the tight
 * box of the pixels with opacity above 0.2. */
static void paste_garment(float *img, int n, const unsigned char *g, int side, int px, int py, rng *r,
                          gc_scene_obj *o)
{
    float tint[3];
    for (int k = 0; k < 3; ++k) tint[k] = rng_range(r, 0.55f, 1.0f);
    int x0 = n, y0 = n, x1 = -1, y1 = -1;
    float scale = (float)GC_FMNIST_SIDE / (float)side;
    for (int y = 0; y < side; ++y)
        for (int x = 0; x < side; ++x) {
            float sx = (x + 0.5f) * scale - 0.5f, sy = (y + 0.5f) * scale - 0.5f;
            if (sx < 0) sx = 0;
            if (sy < 0) sy = 0;
            int ix = (int)sx, iy = (int)sy;
            if (ix > GC_FMNIST_SIDE - 2) ix = GC_FMNIST_SIDE - 2;
            if (iy > GC_FMNIST_SIDE - 2) iy = GC_FMNIST_SIDE - 2;
            float fx = sx - ix, fy = sy - iy;
            if (fx > 1) fx = 1;
            if (fy > 1) fy = 1;
            const unsigned char *p = g + iy * GC_FMNIST_SIDE + ix;
            float v = ((1 - fy) * ((1 - fx) * p[0] + fx * p[1]) +
                       fy * ((1 - fx) * p[GC_FMNIST_SIDE] + fx * p[GC_FMNIST_SIDE + 1])) / 255.0f;
            float a = v * 1.6f > 1 ? 1 : v * 1.6f;
            if (a <= 0) continue;
            int X = px + x, Y = py + y;
            float c[3];
            for (int k = 0; k < 3; ++k) c[k] = tint[k] * (0.35f + 0.65f * v);
            blend(&img[((size_t)Y * n + X) * 3], c, a);
            if (a > 0.2f) {
                if (X < x0) x0 = X;
                if (Y < y0) y0 = Y;
                if (X > x1) x1 = X;
                if (Y > y1) y1 = Y;
            }
        }
    if (x1 < 0) { /* an empty patch: fall back to the square */
        x0 = px, y0 = py, x1 = px + side - 1, y1 = py + side - 1;
    }
    o->x0 = x0, o->y0 = y0, o->x1 = x1 + 1, o->y1 = y1 + 1;
}

/* A random garment of class c (uniform over the split's items of that class):
 * draw indexes until one matches; a class with no items is an error. */
static int pick_item(const gc_fmnist *d, int cls, rng *r)
{
    for (int tries = 0; tries < 10000; ++tries) {
        int i = rng_int(r, 0, d->n - 1);
        if (d->labels[i] == cls) return i;
    }
    for (int i = 0; i < d->n; ++i)
        if (d->labels[i] == cls) return i;
    return -1;
}

typedef struct placed {
    int x, y, side;
} placed;

/* Squares keep a gap of `gap` pixels between them, so tight boxes never overlap. */
static int overlaps(const placed *p, int np, int x, int y, int side, int gap)
{
    for (int i = 0; i < np; ++i)
        if (x < p[i].x + p[i].side + gap && p[i].x < x + side + gap && y < p[i].y + p[i].side + gap &&
            p[i].y < y + side + gap)
            return 1;
    return 0;
}

int gc_scenes_make(const gc_fmnist *d, gc_scene_kind kind, uint64_t seed, long index, gc_scene *s,
                  gc_err *e)
{
    int n = gc_scenes_size(kind);
    rng r = {seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t)index << 20) ^ (uint64_t)kind};
    rng_next(&r);
    float *img = malloc((size_t)n * n * 3 * sizeof *img);
    if (!img) return gc_fail(e, "out of memory for a %dx%d scene", n, n);
    draw_background(img, n, &r);

    int want = kind == GC_SCENE_CLS ? 1 : kind == GC_SCENE_PAIR || kind == GC_SCENE_SAME ? 2
                                                                                           : rng_int(&r, 1, GC_SCENE_MAX_OBJ);
    int lo = kind == GC_SCENE_CLS ? 28 : kind == GC_SCENE_PAIR ? 26 : kind == GC_SCENE_SAME ? 28 : 24;
    int hi = kind == GC_SCENE_CLS ? 48 : kind == GC_SCENE_PAIR ? 40 : kind == GC_SCENE_SAME ? 52 : 60;
    /* distinct classes: a partial Fisher-Yates shuffle of 0..9 */
    int classes[GC_FMNIST_CLASSES];
    for (int i = 0; i < GC_FMNIST_CLASSES; ++i) classes[i] = i;
    for (int i = 0; i < want; ++i) {
        int j = rng_int(&r, i, GC_FMNIST_CLASSES - 1), t = classes[i];
        classes[i] = classes[j];
        classes[j] = t;
    }
    /* same: two different garments of one class, so a map must tell the
     * instances apart (pick_item draws a different item each time) */
    if (kind == GC_SCENE_SAME) classes[1] = classes[0];
    placed p[GC_SCENE_MAX_OBJ];
    s->w = s->h = n;
    s->nobj = 0;
    for (int i = 0; i < want; ++i) {
        int side = 0, x = 0, y = 0, ok = 0;
        /* det: 100 tries, then fewer garments. pair and same need their two:
         * a second square of the smallest side always fits beside the first
         * (at sides lo..hi), but can take more than 100 tries (pair scene 870
         * of seed 1 had been written with one garment, its name naming the
         * previous scene's second class); the draws are those of 100 tries up
         * to there, so every scene that fitted in 100 is unchanged */
        int max_tries = kind == GC_SCENE_DET ? 100 : 1000000;
        for (int tries = 0; tries < max_tries && !ok; ++tries) {
            side = rng_int(&r, lo, hi);
            x = rng_int(&r, 0, n - side);
            y = rng_int(&r, 0, n - side);
            ok = !overlaps(p, s->nobj, x, y, side, 2);
        }
        if (!ok && kind != GC_SCENE_DET) {
            free(img);
            return gc_fail(e, "%s scene %ld: no room for garment %d", gc_scenes_kind_name(kind), index, i + 1);
        }
        if (!ok) break; /* no room left: fewer garments */
        int item = pick_item(d, classes[i], &r);
        for (int tries = 0; kind == GC_SCENE_SAME && i > 0 && item == s->obj[0].src && tries < 100; ++tries)
            item = pick_item(d, classes[i], &r);
        if (item < 0) {
            free(img);
            return gc_fail(e, "the Fashion-MNIST split has no item of class %d (%s)", classes[i],
                           gc_scenes_fmnist_names[classes[i]]);
        }
        gc_scene_obj *o = &s->obj[s->nobj];
        o->cls = classes[i];
        o->src = item;
        paste_garment(img, n, d->images + (size_t)item * GC_FMNIST_SIDE * GC_FMNIST_SIDE, side, x, y, &r, o);
        p[s->nobj++] = (placed){x, y, side};
    }
    for (size_t i = 0; i < (size_t)n * n * 3; ++i) {
        float v = img[i] * 255.0f + 0.5f;
        s->rgb[i] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    free(img);
    return 0;
}

/* ---- writing a set ---------------------------------------------------------- */

static int write_labels(const char *path, const gc_scene *s, gc_err *e)
{
    char buf[GC_SCENE_MAX_OBJ * 64];
    size_t len = 0;
    for (int i = 0; i < s->nobj; ++i) {
        const gc_scene_obj *o = &s->obj[i];
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%d %.6f %.6f %.6f %.6f\n", o->cls,
                                (o->x0 + o->x1) / 2.0 / s->w, (o->y0 + o->y1) / 2.0 / s->h,
                                (double)(o->x1 - o->x0) / s->w, (double)(o->y1 - o->y0) / s->h);
    }
    return gc_image_write_file(path, buf, len, e);
}

/* A failed run (a full disk) removes the scenes it wrote, as a signal does
 * (gc_interrupt): each is "OUTDIR/NAME.png\n" in the list (OUTDIR may hold a
 * newline, NAME does not), its label file beside it. */
static void remove_scenes(char *list, size_t len, size_t dirlen)
{
    char *p = list, *end = list + len;
    while (p < end) {
        char *nl = memchr(p + dirlen, '\n', (size_t)(end - p) - dirlen);
        *nl = '\0';
        gc_image_remove_output(p);
        memcpy(nl - 4, ".txt", 4);
        gc_image_remove_output(p);
        p = nl + 1;
    }
}

int gc_scenes_write(const gc_fmnist *d, gc_scene_kind kind, uint64_t seed, long count,
                    const char *outdir, gc_err *e)
{
    int n = gc_scenes_size(kind);
    gc_scene s = {0};
    s.rgb = malloc((size_t)n * n * 3);
    size_t cap = 1 << 16, len = 0;
    char *list = malloc(cap);
    if (!s.rgb || !list) {
        free(s.rgb);
        free(list);
        return gc_fail(e, "out of memory");
    }
    int rc = 0;
    for (long i = 0; i < count && rc == 0; ++i) {
        if ((rc = gc_scenes_make(d, kind, seed, i, &s, e))) break;
        char base[4096], path[4200];
        /* Darknet's classifier trainer labels an image by the class names in
         * its path, so cls and pair scenes carry theirs. */
        if (kind == GC_SCENE_CLS)
            rc = gc_out_path(base, sizeof base, e, "%s/%06ld_%s", outdir, i, gc_scenes_fmnist_names[s.obj[0].cls]);
        else if (kind == GC_SCENE_PAIR)
            rc = gc_out_path(base, sizeof base, e, "%s/%06ld_%s_%s", outdir, i, gc_scenes_fmnist_names[s.obj[0].cls],
                             gc_scenes_fmnist_names[s.obj[1].cls]);
        else
            rc = gc_out_path(base, sizeof base, e, "%s/%06ld", outdir, i);
        if (rc || (rc = gc_out_path(path, sizeof path, e, "%s.png", base))) break;
        /* the list's room first: a scene written but not listed would be
         * left behind by remove_scenes */
        size_t need = strlen(path) + 2;
        if (len + need > cap) {
            char *p = realloc(list, cap * 2 + need);
            if (!p) {
                rc = gc_fail(e, "out of memory");
                break;
            }
            list = p;
            cap = cap * 2 + need;
        }
        if ((rc = gc_image_write_png(path, n, n, s.rgb, e))) break;
        len += (size_t)sprintf(list + len, "%s\n", path);
        if ((rc = gc_out_path(path, sizeof path, e, "%s.txt", base))) break;
        if ((rc = write_labels(path, &s, e))) break;
        if ((i + 1) % 1000 == 0) fprintf(stderr, "scenes: %ld/%ld\n", i + 1, count);
    }
    if (rc == 0) {
        char path[4200];
        rc = gc_out_path(path, sizeof path, e, "%s/list.txt", outdir);
        if (rc == 0) rc = gc_image_write_file(path, list, len, e);
    }
    if (rc) remove_scenes(list, len, strlen(outdir));
    free(s.rgb);
    free(list);
    return rc;
}
