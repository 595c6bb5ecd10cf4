/* Tests for gc_image: PNG and .npy files read back independently, atomic
 * writes that leave nothing behind on failure, and image checking on broken
 * files. Every test works in its own mkdtemp() directory. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <dirent.h>
#include <zlib.h>

#include "darknet.h"
#include "gc_dnimage.h"
#include "gc_fixture.h"
#include "gc_image.h"
#include "gc_pngread.h"
#include "gc_tests.h"

static char tmpdir[64];

static void setup(void)
{
    strcpy(tmpdir, "/tmp/gc_check_image_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* rm -r of tmpdir, two levels deep at most (all these tests need). */
static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) rm_tree(p);
        else unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static void teardown(void)
{
    rm_tree(tmpdir);
}

static void path_in(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    unsigned char *b = (unsigned char *)gcf_read_file(path, len);
    ck_assert_msg(b != NULL, "cannot read %s", path);
    return b;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* Copies the first `keep` bytes of src to dst. */
static void truncate_copy(const char *src, const char *dst, size_t keep)
{
    size_t n;
    unsigned char *b = slurp(src, &n);
    ck_assert(keep < n);
    spit(dst, b, keep);
    free(b);
}

/* ---- PNG -------------------------------------------------------------------- */

START_TEST(png_round_trip)
{
    enum { W = 7, H = 5 };
    unsigned char rgb[W * H * 3];
    for (int i = 0; i < W * H * 3; ++i) rgb[i] = (unsigned char)(i * 29 + 3);
    char path[256], tmp[300];
    path_in(path, sizeof path, "map.png");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    gc_err e = {0};
    ck_assert_int_eq(gc_image_write_png(path, W, H, rgb, &e), 0);
    ck_assert(!exists(tmp));

    int w = 0, h = 0;
    ck_assert_int_eq(gc_image_check(path, &w, &h, &e), 0);
    ck_assert(w == W && h == H);

    /* read back through Darknet's own (independent) stb_image copy */
    image im = load_image_color(path, 0, 0);
    ck_assert(im.w == W && im.h == H && im.c == 3);
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x)
            for (int c = 0; c < 3; ++c) {
                int got = (int)lroundf(im.data[c * W * H + y * W + x] * 255);
                ck_assert_int_eq(got, rgb[(y * W + x) * 3 + c]);
            }
    free_image(im);

    ck_assert_int_eq(gc_image_write_png(path, 0, H, rgb, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
}
END_TEST

/* ---- .npy ------------------------------------------------------------------- */

START_TEST(npy_round_trip_and_header)
{
    enum { R = 3, C = 5 };
    float data[R * C];
    for (int i = 0; i < R * C; ++i) data[i] = (i - 7) * 0.37f + (i == 4 ? 1e-30f : 0) + (i == 9 ? 3e37f : 0);
    char path[256];
    path_in(path, sizeof path, "map.npy");
    gc_err e = {0};
    ck_assert_int_eq(gc_image_write_npy(path, data, R, C, &e), 0);

    size_t n;
    unsigned char *b = slurp(path, &n);
    ck_assert_uint_ge(n, 10);
    ck_assert(memcmp(b, "\x93NUMPY", 6) == 0);
    ck_assert(b[6] == 1 && b[7] == 0);
    size_t hlen = b[8] | (size_t)b[9] << 8;
    ck_assert_uint_eq((10 + hlen) % 64, 0);
    ck_assert_uint_eq(n, 10 + hlen + sizeof data);
    ck_assert_int_eq(b[10 + hlen - 1], '\n');
    char *hdr = calloc(1, hlen + 1);
    memcpy(hdr, b + 10, hlen);
    ck_assert_ptr_nonnull(strstr(hdr, "'descr': '<f4'"));
    ck_assert_ptr_nonnull(strstr(hdr, "'fortran_order': False"));
    ck_assert_ptr_nonnull(strstr(hdr, "'shape': (3, 5)"));
    ck_assert_int_eq(hdr[0], '{');
    ck_assert_ptr_nonnull(strchr(hdr, '}'));
    for (char *p = strchr(hdr, '}') + 1; *p != '\n'; ++p) ck_assert_int_eq(*p, ' ');
    free(hdr);
    /* data: little-endian float32, C order */
    for (int i = 0; i < R * C; ++i) {
        const unsigned char *p = b + 10 + hlen + 4 * i;
        uint32_t u = p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        float f;
        memcpy(&f, &u, 4);
        ck_assert(f == data[i]);
    }
    free(b);

    size_t rows = 0, cols = 0;
    float *back = gc_image_read_npy(path, &rows, &cols, &e);
    ck_assert_ptr_nonnull(back);
    ck_assert(rows == R && cols == C);
    ck_assert(memcmp(back, data, sizeof data) == 0);
    free(back);

    /* an empty array and a wide shape string */
    ck_assert_int_eq(gc_image_write_npy(path, data, 0, 5, &e), 0);
    back = gc_image_read_npy(path, &rows, &cols, &e);
    ck_assert_ptr_nonnull(back);
    ck_assert(rows == 0 && cols == 5);
    free(back);
    float *big = calloc(123457, sizeof(float));
    big[123456] = 42;
    ck_assert_int_eq(gc_image_write_npy(path, big, 123457, 1, &e), 0);
    b = slurp(path, &n);
    hlen = b[8] | (size_t)b[9] << 8;
    ck_assert_uint_eq((10 + hlen) % 64, 0);
    free(b);
    back = gc_image_read_npy(path, &rows, &cols, &e);
    ck_assert(back && rows == 123457 && cols == 1 && back[123456] == 42);
    free(back);
    free(big);
}
END_TEST

START_TEST(npy_read_rejects_bad_files)
{
    char path[256], bad[256];
    const float data[4] = {1, 2, 3, 4};
    path_in(path, sizeof path, "good.npy");
    path_in(bad, sizeof bad, "bad.npy");
    gc_err e = {0};
    size_t r, c, n;
    ck_assert_int_eq(gc_image_write_npy(path, data, 2, 2, &e), 0);
    unsigned char *b = slurp(path, &n);

    /* trailing garbage */
    unsigned char *longer = malloc(n + 1);
    memcpy(longer, b, n);
    longer[n] = 0;
    spit(bad, longer, n + 1);
    free(longer);
    e.msg[0] = 0;
    ck_assert_ptr_null(gc_image_read_npy(bad, &r, &c, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, bad));
    /* truncated data */
    spit(bad, b, n - 1);
    e.msg[0] = 0;
    ck_assert_ptr_null(gc_image_read_npy(bad, &r, &c, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, bad));
    /* wrong magic */
    b[1] = 'X';
    spit(bad, b, n);
    e.msg[0] = 0;
    ck_assert_ptr_null(gc_image_read_npy(bad, &r, &c, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, bad));
    b[1] = 'N';
    /* float64 */
    char *d = strstr((char *)b + 10, "<f4");
    ck_assert_ptr_nonnull(d);
    d[2] = '8';
    spit(bad, b, n);
    e.msg[0] = 0;
    ck_assert_ptr_null(gc_image_read_npy(bad, &r, &c, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, bad));
    ck_assert_ptr_nonnull(strstr(e.msg, "<f4"));
    free(b);
    /* missing file */
    path_in(bad, sizeof bad, "missing.npy");
    ck_assert_ptr_null(gc_image_read_npy(bad, &r, &c, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, bad));
    ck_assert_ptr_nonnull(strstr(e.msg, strerror(ENOENT)));
}
END_TEST

/* ---- atomic writes ------------------------------------------------------------ */

START_TEST(write_into_missing_directory_fails_cleanly)
{
    char path[256], tmp[300];
    path_in(path, sizeof path, "no/such/dir/map.png");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    const unsigned char rgb[3] = {1, 2, 3};
    gc_err e = {0};
    ck_assert_int_eq(gc_image_write_png(path, 1, 1, rgb, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    ck_assert_ptr_nonnull(strstr(e.msg, strerror(ENOENT)));
    ck_assert_ptr_null(strchr(e.msg, '\n'));
    ck_assert(!exists(path) && !exists(tmp));

    e.msg[0] = 0;
    const float f[1] = {1};
    ck_assert_int_eq(gc_image_write_npy(path, f, 1, 1, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    ck_assert(!exists(path) && !exists(tmp));
}
END_TEST

/* An output never replaces an input (by any name), a folder or a device: an
 * input is refused, a device is written in place, a descriptor's path
 * (/dev/fd/N, /dev/stdout) is written to that descriptor where it stands,
 * and a link is replaced by the file, its target left as it was. */
START_TEST(write_refuses_inputs_and_keeps_links_and_devices)
{
    char in[256], alias[256], out[256], link_[256], target[256], dev[256];
    path_in(in, sizeof in, "image.png");
    path_in(alias, sizeof alias, "alias.png");
    spit(in, "input bytes", 11);
    ck_assert_int_eq(link(in, alias), 0);
    gc_err e = {0};
    ck_assert_int_eq(gc_image_protect(in), 0);
    ck_assert_ptr_nonnull(gc_image_protected(alias));
    ck_assert_int_eq(gc_image_write_file(alias, "output", 6, &e), -1);
    ck_assert_msg(strstr(e.msg, "is the input file") && strstr(e.msg, in), "%s", e.msg);
    size_t n;
    char *b = gcf_read_file(in, &n);
    ck_assert(b && n == 11 && !memcmp(b, "input bytes", 11));
    free(b);
    /* other paths are written as before; forgotten inputs too */
    path_in(out, sizeof out, "out.json");
    ck_assert_int_eq(gc_image_write_file(out, "x", 1, &e), 0);
    gc_image_protect_clear();
    ck_assert_ptr_null(gc_image_protected(in));
    ck_assert_int_eq(gc_image_write_file(alias, "output", 6, &e), 0);
    /* a folder */
    path_in(out, sizeof out, "a-folder");
    ck_assert_int_eq(mkdir(out, 0777), 0);
    ck_assert_int_eq(gc_image_write_file(out, "x", 1, &e), -1);
    ck_assert_msg(strstr(e.msg, "is a folder"), "%s", e.msg);
    /* a link: replaced by the file, its target untouched (a shared cache's object) */
    path_in(target, sizeof target, "target.json");
    path_in(link_, sizeof link_, "link.json");
    spit(target, "old", 3);
    ck_assert_int_eq(symlink("target.json", link_), 0);
    ck_assert_int_eq(gc_image_write_file(link_, "new!", 4, &e), 0);
    struct stat st;
    ck_assert(lstat(link_, &st) == 0 && S_ISREG(st.st_mode));
    b = gcf_read_file(target, &n);
    ck_assert(b && n == 3 && !memcmp(b, "old", 3));
    free(b);
    /* a descriptor's path: written after what the descriptor holds (a log
     * opened for appending keeps its lines; the file is not replaced) */
    char logp[256], fdp[64];
    path_in(logp, sizeof logp, "run.log");
    int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "line\n", 5), 5);
    snprintf(fdp, sizeof fdp, "/dev/fd/%d", fd);
    ck_assert_int_eq(gc_image_check_out_path("-json", fdp, &e), 0);
    ck_assert_int_eq(gc_image_write_file(fdp, "{}\n", 3, &e), 0);
    close(fd);
    b = gcf_read_file(logp, &n);
    ck_assert_msg(b && n == 8 && !memcmp(b, "line\n{}\n", 8), "%s", b ? b : "(none)");
    free(b);
    gc_image_remove_output(fdp); /* a failed run's cleanup leaves it */
    ck_assert_int_eq(access(logp, F_OK), 0);
    /* a device (a null device of our own: root only) stays a device */
    path_in(dev, sizeof dev, "null");
    if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        ck_assert_int_eq(gc_image_write_file(dev, "x", 1, &e), 0);
        ck_assert(lstat(dev, &st) == 0 && S_ISCHR(st.st_mode));
    } else {
        printf("check_image: mknod: %s: the device case skipped\n", strerror(errno));
    }
}
END_TEST

/* Folders above an output path are created (mkdir -p); a file in the way
 * is an error naming it. */
START_TEST(parent_dirs_are_created)
{
    char path[256], d[256];
    path_in(path, sizeof path, "a/b/c/map.png");
    gc_err e = {0};
    ck_assert_int_eq(gc_image_make_parent_dirs(NULL, path, &e), 0);
    path_in(d, sizeof d, "a/b/c");
    struct stat st;
    ck_assert(stat(d, &st) == 0 && S_ISDIR(st.st_mode));
    ck_assert_int_eq(gc_image_make_parent_dirs(NULL, path, &e), 0); /* existing: fine */
    ck_assert_int_eq(gc_image_make_parent_dirs(NULL, "plain-name", &e), 0);
    const unsigned char rgb[3] = {1, 2, 3};
    ck_assert_int_eq(gc_image_write_png(path, 1, 1, rgb, &e), 0);
    char bad[256];
    path_in(bad, sizeof bad, "a/b/c/map.png/x/y.npy");
    ck_assert_int_eq(gc_image_make_parent_dirs(NULL, bad, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "map.png"));
}
END_TEST

/* Lists must be text: images and NUL bytes are refused by name. */
START_TEST(text_file_check)
{
    char p[256];
    gc_err e = {0};
    path_in(p, sizeof p, "list.txt");
    FILE *f = fopen(p, "w");
    fputs("data/a.png\ndata/b.jpg\n", f);
    fclose(f);
    ck_assert_int_eq(gc_image_check_text_file(p, "image list", &e), 0);
    path_in(p, sizeof p, "fake.png");
    const unsigned char rgb[3] = {9, 9, 9};
    ck_assert_int_eq(gc_image_write_png(p, 1, 1, rgb, &e), 0);
    ck_assert_int_eq(gc_image_check_text_file(p, "image list", &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "PNG image"));
    path_in(p, sizeof p, "nul.txt");
    f = fopen(p, "wb");
    fwrite("ab\0cd", 1, 5, f);
    fclose(f);
    ck_assert_int_eq(gc_image_check_text_file(p, "image list", &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "NUL"));
    /* the line named: lines end with LF, CRLF or a lone CR, as the readers
     * take them (a CR-only file's third line had been "line 1") */
    static const struct {
        const char *text;
        size_t n;
    } cases[] = {{"a\nb\n\0c\n", 7}, {"a\rb\r\0c\r", 7}, {"a\r\nb\r\nc\0\r\n", 10}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; ++k) {
        f = fopen(p, "wb");
        ck_assert_uint_eq(fwrite(cases[k].text, 1, cases[k].n, f), cases[k].n);
        fclose(f);
        ck_assert_int_eq(gc_image_check_text_file(p, "image list", &e), -1);
        ck_assert_msg(strstr(e.msg, "line 3: contains a NUL byte"), "case %zu: %s", k, e.msg);
    }
}
END_TEST

/* The rename step fails when PATH is a non-empty directory: PATH.tmp was
 * written by then and must be removed again. */
START_TEST(failed_rename_removes_tmp)
{
    char path[256], tmp[300], inner[300];
    path_in(path, sizeof path, "occupied");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(inner, sizeof inner, "%s/keep", path);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    spit(inner, "x", 1);
    gc_err e = {0};
    ck_assert_int_eq(gc_image_write_file(path, "hello", 5, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    ck_assert(!exists(tmp));
    ck_assert(exists(inner));

    /* and the success path replaces an existing file whole */
    path_in(path, sizeof path, "plain.txt");
    spit(path, "old contents, longer", 20);
    ck_assert_int_eq(gc_image_write_file(path, "new", 3, &e), 0);
    size_t n;
    unsigned char *b = slurp(path, &n);
    ck_assert(n == 3 && memcmp(b, "new", 3) == 0);
    free(b);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert(!exists(tmp));
}
END_TEST

/* ---- image checking ------------------------------------------------------------ */

static void expect_check_fails(const char *path, const char *why)
{
    gc_err e = {0};
    int w = -7, h = -7;
    ck_assert_msg(gc_image_check(path, &w, &h, &e) == -1, "%s accepted (%s)", path, why);
    ck_assert_msg(strstr(e.msg, path) != NULL, "message '%s' does not name %s", e.msg, path);
    ck_assert_ptr_null(strchr(e.msg, '\n'));
    ck_assert(w == -7 && h == -7);
}

START_TEST(image_check_valid_and_broken_files)
{
    char png[256], jpg_base[256], jpg[300], cut[256], txt[256], empty[256], missing[256];
    path_in(png, sizeof png, "ok.png");
    path_in(jpg_base, sizeof jpg_base, "ok");
    snprintf(jpg, sizeof jpg, "%s.jpg", jpg_base);
    gc_err e = {0};

    enum { W = 48, H = 32 };
    unsigned char rgb[W * H * 3];
    for (int i = 0; i < W * H * 3; ++i) rgb[i] = (unsigned char)((i * 7) ^ (i >> 5));
    ck_assert_int_eq(gc_image_write_png(png, W, H, rgb, &e), 0);
    image im = make_image(W, H, 3);
    for (int i = 0; i < W * H * 3; ++i) im.data[i] = (float)((i * 13) % 256) / 255.0f;
    save_image_options(im, jpg_base, JPG, 90); /* Darknet's writer appends .jpg */
    free_image(im);

    int w = 0, h = 0;
    ck_assert_int_eq(gc_image_check(png, &w, &h, &e), 0);
    ck_assert(w == W && h == H);
    w = h = 0;
    ck_assert_int_eq(gc_image_check(jpg, &w, &h, &e), 0);
    ck_assert(w == W && h == H);
    ck_assert_int_eq(gc_image_check(jpg, NULL, NULL, &e), 0);

    path_in(missing, sizeof missing, "missing.jpg");
    expect_check_fails(missing, "missing");
    gc_image_check(missing, NULL, NULL, &e);
    ck_assert_ptr_nonnull(strstr(e.msg, strerror(ENOENT)));

    size_t n;
    free(slurp(png, &n));
    path_in(cut, sizeof cut, "cut.png");
    truncate_copy(png, cut, n / 2);
    expect_check_fails(cut, "truncated PNG");
    free(slurp(jpg, &n));
    path_in(cut, sizeof cut, "cut.jpg");
    truncate_copy(jpg, cut, n / 2);
    expect_check_fails(cut, "truncated JPEG");

    path_in(txt, sizeof txt, "notes.jpg");
    const char *text = "this is not an image\n";
    spit(txt, text, strlen(text));
    expect_check_fails(txt, "text file");

    path_in(empty, sizeof empty, "empty.png");
    spit(empty, "", 0);
    expect_check_fails(empty, "empty file");
    gc_image_check(empty, NULL, NULL, &e);
    ck_assert_ptr_nonnull(strstr(e.msg, ": empty file"));

    /* a folder, said so (a -list line naming one; it had been "not a regular file") */
    char folder[256];
    path_in(folder, sizeof folder, "photos.jpg");
    ck_assert_int_eq(mkdir(folder, 0755), 0);
    expect_check_fails(folder, "folder");
    gc_image_check(folder, NULL, NULL, &e);
    ck_assert_msg(strstr(e.msg, ": it is a folder, not a file") != NULL, "%s", e.msg);

    /* a grey PNG whose header claims 30000 x 30000: within stb's limits, but
     * Darknet loads it as 3 float channels and indexes w*h*c with int (2.7e9
     * > INT_MAX). Refused from the header, before any decoding. */
    static const unsigned char huge_png[] = {
        0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
        0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0x75, 0x30, 0, 0, 0x75, 0x30, 8, 0, 0, 0, 0,
        0x12, 0x34, 0x56, 0x78,
        0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    char huge[256];
    path_in(huge, sizeof huge, "huge.png");
    spit(huge, huge_png, sizeof huge_png);
    expect_check_fails(huge, "30000x30000");
    gc_image_check(huge, NULL, NULL, &e);
    ck_assert_ptr_nonnull(strstr(e.msg, "30000x30000"));

    expect_check_fails(tmpdir, "directory");
}
END_TEST


/* Found by fuzz_image: a 70-byte BMP declaring 1048578 x 256 pixels took
 * longer than 20 s to decode. Refused from its header, at once. */
START_TEST(huge_declared_size_is_refused_from_the_header)
{
    static const unsigned char bmp[70] = {
        0x42, 0x4d, 0x46, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x36, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00,
        0x02, 0x00, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00,
        0x00, 0x00, 0x13, 0x0b, 0x00, 0x00, 0x13, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0xff, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0xff, 0x00, 0x00, 0x00};
    char p[256];
    path_in(p, sizeof p, "huge.bmp");
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bmp, 1, sizeof bmp, f), sizeof bmp);
    fclose(f);
    gc_err e = {0};
    int w, h;
    ck_assert_int_eq(gc_image_check_header(p, &w, &h, &e), -1);
    ck_assert_msg(strstr(e.msg, "1048578x256 is out of range"), "%s", e.msg);
    ck_assert_int_eq(gc_image_check(p, &w, &h, &e), -1);
    ck_assert_msg(strstr(e.msg, "out of range"), "%s", e.msg);
}
END_TEST

/* A PNG cut off at a chunk boundary (its image data whole, its IEND chunk
 * missing) is refused, as Darknet's stb_image refuses it, with the reason:
 * stb gives an empty one (it reads the missing chunk as one named by zero
 * bytes), which had been reported as "unknown error". */
START_TEST(png_without_iend_says_it_is_cut_off)
{
    char png[256], cut[256];
    path_in(png, sizeof png, "whole.png");
    path_in(cut, sizeof cut, "no_iend.png");
    unsigned char rgb[4 * 3 * 3];
    for (int i = 0; i < (int)sizeof rgb; ++i) rgb[i] = (unsigned char)(i * 29 + 3);
    gc_err e = {0};
    ck_assert_int_eq(gc_image_write_png(png, 4, 3, rgb, &e), 0);
    size_t n;
    free(slurp(png, &n));
    for (size_t drop = 12; drop <= 13; ++drop) { /* IEND, and a byte of the IDAT's CRC too */
        truncate_copy(png, cut, n - drop);
        ck_assert_int_eq(gc_image_check(cut, NULL, NULL, &e), -1);
        ck_assert_msg(strstr(e.msg, cut) && strstr(e.msg, "the PNG ends before its IEND chunk"), "%s", e.msg);
        image im;
        ck_assert_int_eq(gc_image_load(cut, &im, &e), -1);
        ck_assert_ptr_null(im.data);
        ck_assert_msg(strstr(e.msg, "the PNG ends before its IEND chunk"), "%s", e.msg);
    }
    /* the whole file still loads */
    ck_assert_msg(gc_image_check(png, NULL, NULL, &e) == 0, "%s", e.msg);
}
END_TEST

/* A text file given as an image (a label file or a list named .jpg) says
 * so; a binary file no decoder takes keeps stb's reason alone. */
START_TEST(text_given_as_an_image_says_so)
{
    char txt[256], bin[256];
    path_in(txt, sizeof txt, "labels.jpg");
    path_in(bin, sizeof bin, "noise.jpg");
    static const char text[] = "0 0.5 0.5 0.25 0.25\r\n1\t0.1 0.2 0.1 0.1\n";
    spit(txt, text, sizeof text - 1);
    unsigned char noise[300];
    for (int i = 0; i < 300; ++i) noise[i] = (unsigned char)((i * 97 + 1) & 0xff);
    spit(bin, noise, sizeof noise);
    gc_err e = {0};
    image im;
    ck_assert_int_eq(gc_image_check_header(txt, NULL, NULL, &e), -1);
    ck_assert_msg(strstr(e.msg, "unknown image type: the file holds text, not an image"), "%s", e.msg);
    ck_assert_int_eq(gc_image_check(txt, NULL, NULL, &e), -1);
    ck_assert_msg(strstr(e.msg, txt) && strstr(e.msg, "the file holds text, not an image"), "%s", e.msg);
    ck_assert_int_eq(gc_image_load(txt, &im, &e), -1);
    ck_assert_msg(strstr(e.msg, "the file holds text, not an image"), "%s", e.msg);
    ck_assert_int_eq(gc_image_check(bin, NULL, NULL, &e), -1);
    ck_assert_msg(strstr(e.msg, bin) && strstr(e.msg, "unknown image type") && !strstr(e.msg, "text"), "%s", e.msg);
}
END_TEST

/* A 24-bit BMP of w x h pixels whose rows are stored top-down (height
 * negated in its header) or bottom-up: rgb is interleaved, top row first. */
static void write_bmp(const char *path, const unsigned char *rgb, int w, int h, int top_down)
{
    int stride = (w * 3 + 3) / 4 * 4;
    size_t n = 54 + (size_t)stride * h;
    unsigned char *b = calloc(n, 1);
    ck_assert_ptr_nonnull(b);
    const uint32_t v[] = {(uint32_t)n, 0, 54, 40, (uint32_t)w, (uint32_t)(top_down ? -h : h)};
    b[0] = 'B', b[1] = 'M';
    for (int k = 0; k < 6; ++k)
        for (int i = 0; i < 4; ++i) b[2 + 4 * k + i] = (unsigned char)(v[k] >> (8 * i));
    b[26] = 1;  /* planes */
    b[28] = 24; /* bits per pixel; no compression */
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < 3; ++c) /* BGR */
                b[54 + (size_t)(top_down ? y : h - 1 - y) * stride + 3 * x + c] = rgb[(y * w + x) * 3 + 2 - c];
    spit(path, b, n);
    free(b);
}

/* A top-down BMP (a negative height in its header, a common Windows
 * layout) is read as Darknet reads it: the same size and pixels as the
 * same picture stored bottom-up. Its height had reached the size check
 * negated (stb's BMP info passes the header's value on), so every such
 * file was refused as "3x-2 is out of range". */
START_TEST(top_down_bmp_is_read_as_darknet_reads_it)
{
    enum { W = 3, H = 2 };
    unsigned char rgb[W * H * 3];
    for (int i = 0; i < W * H * 3; ++i) rgb[i] = (unsigned char)(i * 37 + 11);
    char td[256], bu[256];
    path_in(td, sizeof td, "top_down.bmp");
    path_in(bu, sizeof bu, "bottom_up.bmp");
    write_bmp(td, rgb, W, H, 1);
    write_bmp(bu, rgb, W, H, 0);
    gc_err e = {0};
    int w = 0, h = 0;
    ck_assert_msg(gc_image_check_header(td, &w, &h, &e) == 0, "%s", e.msg);
    ck_assert(w == W && h == H);
    w = h = 0;
    ck_assert_msg(gc_image_check(td, &w, &h, &e) == 0, "%s", e.msg);
    ck_assert(w == W && h == H);
    image a, b, d = load_image_color(td, 0, 0);
    ck_assert_msg(gc_image_load(td, &a, &e) == 0, "%s", e.msg);
    ck_assert_msg(gc_image_load(bu, &b, &e) == 0, "%s", e.msg);
    ck_assert(a.w == W && a.h == H && b.w == W && b.h == H && d.w == W && d.h == H);
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x) {
                size_t i = (size_t)c * W * H + (size_t)y * W + x;
                ck_assert_float_eq(a.data[i], (float)(rgb[(y * W + x) * 3 + c] / 255.));
                ck_assert_float_eq(a.data[i], b.data[i]);
                ck_assert_float_eq(a.data[i], d.data[i]);
            }
    free_image(a);
    free_image(b);
    free_image(d);
}
END_TEST

START_TEST(image_must_fit_the_network_input)
{
    gc_err e = {0};
    ck_assert_int_eq(gc_image_fits_net("a.jpg", 768, 576, 416, 416, 3, &e), 0);
    ck_assert_int_eq(gc_image_fits_net("a.jpg", 768, 576, 416, 416, 4, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "reads 4 channels"));
    ck_assert_int_eq(gc_image_fits_net("a.jpg", 768, 576, 416, 416, 1, &e), -1);
    /* rnn.cfg, gru.cfg: inputs=256 and no image size (it said "reads 0 channels ([net] channels=0)") */
    ck_assert_int_eq(gc_image_fits_net("a.jpg", 768, 576, 0, 0, 0, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "reads no image: its [net] gives inputs= but no width, height and channels"));
    ck_assert_int_eq(gc_image_fits_net("a.jpg", 768, 576, 20, 1, 3, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "at least 2 x 2"));
    /* 768 x 576 into 2 x 16: Darknet's letterbox gives 2 x (576*2/768 = 1) */
    ck_assert_int_eq(gc_image_fits_net("a.jpg", 768, 576, 2, 16, 3, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "would be 2 x 1"));
    ck_assert_int_eq(gc_image_fits_net("a.jpg", 768, 576, 3, 16, 3, &e), 0); /* 3 x 2 */
    /* a 1000:1 panorama */
    ck_assert_int_eq(gc_image_fits_net("p.png", 20000, 20, 416, 416, 3, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "p.png (20000 x 20)"));
}
END_TEST

START_TEST(out_path_checks)
{
    gc_err e = {0};
    char p[256], d[256];
    path_in(p, sizeof p, "r.json");
    ck_assert_int_eq(gc_image_check_out_path("-json", p, &e), 0);
    ck_assert_int_eq(access(p, F_OK), -1); /* nothing left behind */
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    path_in(d, sizeof d, "no/such/r.json");
    ck_assert_int_eq(gc_image_check_out_path("-json", d, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "does not exist"));
    ck_assert_int_eq(gc_image_check_out_path("-json", tmpdir, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "is a directory"));
    ck_assert_int_eq(gc_image_check_out_path("-json", "/proc/x.json", &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "cannot create a file in /proc"));
}
END_TEST


/* Found by fuzz_image: stb_image offsets and copies through a null pointer
 * when a PNG's first IDAT chunk is empty (undefined behaviour). Refused with
 * its reason; an empty IDAT after the data is harmless and still read. */
START_TEST(png_empty_first_idat_is_refused)
{
    /* a 3x3 grey PNG written by zlib: signature, IHDR, IDAT (at 33), IEND (at 65) */
    static const unsigned char png[] = {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x00, 0x00, 0x73, 0x43, 0xea, 0x63, 0x00, 0x00, 0x00, 0x14, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0xd0, 0x08, 0x60, 0x70, 0xcb, 0x9b, 0xc6, 0xd0, 0xb3, 0xe5, 0x0e, 0x00, 0x0f, 0xc0, 0x03, 0xdf, 0xf6, 0xd6, 0xfd, 0xfa, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
    static const unsigned char empty_idat[12] = {0, 0, 0, 0, 'I', 'D', 'A', 'T', 0x35, 0xaf, 0x06, 0x1e};
    ck_assert_uint_eq(sizeof png, 77);
    for (int k = 0; k < 2; ++k) {
        /* k = 0: the empty IDAT first; k = 1: after the data, before IEND */
        size_t at = k ? 65 : 33;
        unsigned char file[sizeof png + sizeof empty_idat];
        memcpy(file, png, at);
        memcpy(file + at, empty_idat, sizeof empty_idat);
        memcpy(file + at + sizeof empty_idat, png + at, sizeof png - at);
        char p[256];
        path_in(p, sizeof p, k ? "idat-late.png" : "idat-first.png");
        FILE *f = fopen(p, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(file, 1, sizeof file, f), sizeof file);
        fclose(f);
        gc_err e = {0};
        int w = 0, h = 0;
        if (k == 0) {
            ck_assert_int_eq(gc_image_check_header(p, NULL, NULL, &e), -1);
            ck_assert_msg(strstr(e.msg, "first IDAT chunk is empty") && strstr(e.msg, p), "%s", e.msg);
            ck_assert_int_eq(gc_image_check(p, NULL, NULL, &e), -1);
        } else {
            ck_assert_msg(gc_image_check(p, &w, &h, &e) == 0, "%s", e.msg);
            ck_assert_int_eq(w, 3);
            ck_assert_int_eq(h, 3);
        }
    }
}
END_TEST

/* Found by fuzz_image in CI: a chunk whose length is over 2^31 - 1 (the PNG
 * spec's limit) before the data. stb_image skips it as a negative count,
 * only to the end of its read buffer, and parses on from there into the
 * same null-pointer copy as above. Refused with its reason; so is an empty
 * first IDAT after more chunks than the old check walked (4096). */
START_TEST(png_chunks_stb_misreads_are_refused)
{
    /* the 3x3 grey PNG above: IHDR ends at 33, IDAT (20 bytes of data) ends at 65 */
    static const unsigned char png[] = {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x00, 0x00, 0x73, 0x43, 0xea, 0x63, 0x00, 0x00, 0x00, 0x14, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0xd0, 0x08, 0x60, 0x70, 0xcb, 0x9b, 0xc6, 0xd0, 0xb3, 0xe5, 0x0e, 0x00, 0x0f, 0xc0, 0x03, 0xdf, 0xf6, 0xd6, 0xfd, 0xfa, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
    enum { AT = 33, MANY = 5000 };
    size_t cap = sizeof png + 12 * (MANY + 1) + 12;
    unsigned char *file = malloc(cap);
    ck_assert_ptr_nonnull(file);
    for (int k = 0; k < 3; ++k) {
        size_t n = 0;
        memcpy(file, png, AT);
        n = AT;
        if (k == 0) { /* a chunk of length 0xffffffff, then the rest */
            memcpy(file + n, "\xff\xff\xff\xff" "teSt" "\0\0\0\0", 12);
            n += 12;
        } else { /* MANY empty ancillary chunks, then (k = 1) an empty IDAT */
            for (int c = 0; c < MANY; ++c, n += 12) memcpy(file + n, "\0\0\0\0" "teSt" "\0\0\0\0", 12);
            if (k == 1) {
                memcpy(file + n, "\0\0\0\0" "IDAT" "\x35\xaf\x06\x1e", 12);
                n += 12;
            }
        }
        memcpy(file + n, png + AT, sizeof png - AT);
        n += sizeof png - AT;
        char p[256];
        path_in(p, sizeof p, "chunks.png");
        FILE *f = fopen(p, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(file, 1, n, f), n);
        fclose(f);
        gc_err e = {0};
        int w = 0, h = 0;
        if (k < 2) {
            ck_assert_int_eq(gc_image_check_header(p, NULL, NULL, &e), -1);
            const char *want = k == 0 ? "longer than 2^31 - 1 bytes" : "first IDAT chunk is empty";
            ck_assert_msg(strstr(e.msg, want) && strstr(e.msg, p), "%s", e.msg);
            ck_assert_int_eq(gc_image_check(p, NULL, NULL, &e), -1);
        } else { /* the many chunks alone are fine */
            ck_assert_msg(gc_image_check(p, &w, &h, &e) == 0, "%s", e.msg);
            ck_assert(w == 3 && h == 3);
        }
    }
    free(file);
}
END_TEST

/* Found by fuzz_image: a 16-bit PGM that Debian's stb_image decodes but
 * Darknet's older copy refuses, and load_image_color() then exit(0)ed. */
START_TEST(images_darknet_cannot_load_are_refused)
{
    static const unsigned char fuzz_pgm[] = {0x50, 0x35, 0x0a, 0x34, 0x20, 0x34, 0x0a, 0x32,
                                             0x35, 0x37, 0xff, 0xff, 0xff, 0x35, 0x40};
    unsigned char full[13 + 32];
    memcpy(full, "P5\n4 4\n65535\n", 13);
    for (int i = 13; i < (int)sizeof full; ++i) full[i] = (unsigned char)(i * 37);
    /* also found by fuzz_image: a 10-digit PNM width overflowed stb's int (UB) */
    static const unsigned char big_pgm[] = "P5\n2666666666 4\n255\n";
    /* and in CI: the same after a comment longer than the check's old window,
     * and with the big number third, after comments between numbers */
    for (int k = 0; k < 3; ++k) {
        char p[256];
        path_in(p, sizeof p, "big.pgm");
        FILE *f = fopen(p, "wb");
        ck_assert_ptr_nonnull(f);
        if (k == 0) {
            ck_assert_uint_eq(fwrite(big_pgm, 1, sizeof big_pgm - 1, f), sizeof big_pgm - 1);
        } else if (k == 1) {
            fputs("P6 #", f);
            for (int i = 0; i < 3000; ++i) fputc('a' + i % 26, f);
            fputs("\r 4 4\n2666666666\n", f);
        } else {
            fputs("P5\t4#x\n\n#y\n4 #\n\n  2147483648\n", f);
        }
        fclose(f);
        gc_err e = {0};
        ck_assert_int_eq(gc_image_check_header(p, NULL, NULL, &e), -1);
        ck_assert_msg(strstr(e.msg, "PNM header number is too large"), "%s", e.msg);
        ck_assert_int_eq(gc_image_check(p, NULL, NULL, &e), -1);
    }
    { /* a long comment and 9-digit numbers are not refused as too large */
        char p[256];
        path_in(p, sizeof p, "comment.pgm");
        FILE *f = fopen(p, "wb");
        ck_assert_ptr_nonnull(f);
        fputs("P5 #", f);
        for (int i = 0; i < 3000; ++i) fputc('a' + i % 26, f);
        fputs("\n3 000000002\n255\n", f);
        for (int i = 0; i < 6; ++i) fputc(40 * i, f);
        fclose(f);
        gc_err e = {0};
        int w = 0, h = 0;
        ck_assert_msg(gc_image_check_header(p, &w, &h, &e) == 0, "%s", e.msg);
        ck_assert_int_eq(w, 3);
        ck_assert_int_eq(h, 2);
    }
    const unsigned char *files[] = {fuzz_pgm, full};
    size_t sizes[] = {sizeof fuzz_pgm, sizeof full};
    for (int k = 0; k < 2; ++k) {
        char p[256];
        path_in(p, sizeof p, k ? "full16.pgm" : "fuzz16.pgm");
        FILE *f = fopen(p, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(files[k], 1, sizes[k], f), sizes[k]);
        fclose(f);
        gc_err e = {0};
        int w, h;
        ck_assert_int_eq(gc_image_check(p, &w, &h, &e), -1);
        ck_assert_msg(strstr(e.msg, "Darknet's image loader") || strstr(e.msg, "cannot decode"), "%s", e.msg);
    }
}
END_TEST

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8), p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* Files cut short in the formats whose stb reader does not notice:
 * - a run-length-encoded HDR (16 x 4, each channel of each row a run of 10
 *   and a dump of 6; one zero count, a no-op, in the first row): stb's
 *   reader looped forever on one cut inside its scanlines (a zero count at
 *   the file's end; CVE-2021-42715). Every cut from the resolution line on
 *   is refused, and promptly (a hang would meet the test's timeout), and so
 *   is every cut before it; the whole file decodes.
 * - a 24-bit BMP (5 x 3, rows padded from 15 to 16 bytes) and a P6 PPM
 *   (4 x 3), whose missing bytes stb read as zeros: the whole file decodes,
 *   so does the BMP without its last row's padding, one byte less is refused.
 *   A top-down BMP (negative height) is sized by its rows too. */
START_TEST(files_cut_short_are_refused)
{
    unsigned char hdr[512];
    size_t n = 0;
    const char *head = "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 4 +X 16\n";
    memcpy(hdr, head, strlen(head));
    n = strlen(head);
    size_t pixels_from = n;
    for (int row = 0; row < 4; ++row) {
        const unsigned char start[4] = {2, 2, 0, 16};
        memcpy(hdr + n, start, 4);
        n += 4;
        for (int k = 0; k < 4; ++k) {
            if (row == 0 && k == 0) hdr[n++] = 0; /* a dump of nothing */
            hdr[n++] = 128 + 10;
            hdr[n++] = (unsigned char)(100 + 20 * k + row);
            hdr[n++] = 6;
            for (int i = 0; i < 6; ++i) hdr[n++] = (unsigned char)(k == 3 ? 128 : 30 * i + row);
        }
    }
    char p[256];
    path_in(p, sizeof p, "rle.hdr");
    gc_err e = {0};
    int w = 0, h = 0;
    spit(p, hdr, n);
    ck_assert_msg(gc_image_check(p, &w, &h, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(w, 16);
    ck_assert_int_eq(h, 4);
    for (size_t cut = 1; cut < n; ++cut) {
        spit(p, hdr, cut);
        memset(&e, 0, sizeof e);
        ck_assert_msg(gc_image_check(p, &w, &h, &e) == -1, "cut at %zu of %zu: decoded", cut, n);
        if (cut >= pixels_from)
            ck_assert_msg(strstr(e.msg, "the HDR file ends before its pixel data"), "cut at %zu: %s", cut, e.msg);
    }
    /* BMP: 54 bytes of headers, then 3 rows of 5 pixels, 16 bytes each */
    unsigned char bmp[54 + 48] = {'B', 'M'};
    put_le32(bmp + 2, sizeof bmp);
    put_le32(bmp + 10, 54);
    put_le32(bmp + 14, 40);
    put_le32(bmp + 18, 5);
    put_le32(bmp + 22, 3);
    bmp[26] = 1;
    bmp[28] = 24;
    for (int i = 54; i < (int)sizeof bmp; ++i) bmp[i] = (unsigned char)(i * 7);
    path_in(p, sizeof p, "x.bmp");
    for (int top_down = 0; top_down < 2; ++top_down) {
        put_le32(bmp + 22, top_down ? (uint32_t)-3 : 3);
        for (size_t len = sizeof bmp; len >= sizeof bmp - 2; --len) {
            spit(p, bmp, len);
            memset(&e, 0, sizeof e);
            int rc = gc_image_check(p, &w, &h, &e);
            if (len >= sizeof bmp - 1) { /* whole, or without the last row's padding */
                ck_assert_msg(rc == 0 && w == 5 && h == 3, "%zu bytes: %s", len, e.msg);
            } else {
                ck_assert_int_eq(rc, -1);
                ck_assert_msg(strstr(e.msg, "the BMP file ends before its pixel data"), "%s", e.msg);
            }
        }
    }
    /* a compression field with its top bit set (found by fuzz_image in CI:
     * the check shifted a byte into an int's sign bit, undefined behaviour
     * that make asan's UBSan reports): not an uncompressed BMP, left to stb */
    put_le32(bmp + 22, 3);
    put_le32(bmp + 30, 0x800000ffu);
    spit(p, bmp, sizeof bmp - 40);
    memset(&e, 0, sizeof e);
    int rc = gc_image_check(p, &w, &h, &e);
    ck_assert_msg(rc == 0 || !strstr(e.msg, "ends before its pixel data"), "%s", e.msg);
    put_le32(bmp + 30, 0);
    /* PPM */
    unsigned char ppm[11 + 36];
    memcpy(ppm, "P6\n4 3\n255\n", 11);
    for (int i = 11; i < (int)sizeof ppm; ++i) ppm[i] = (unsigned char)(i * 11);
    path_in(p, sizeof p, "x.ppm");
    spit(p, ppm, sizeof ppm);
    ck_assert_msg(gc_image_check(p, &w, &h, &e) == 0 && w == 4 && h == 3, "%s", e.msg);
    spit(p, ppm, sizeof ppm - 1);
    ck_assert_int_eq(gc_image_check(p, &w, &h, &e), -1);
    ck_assert_msg(strstr(e.msg, "the PNM file ends before its pixel data"), "%s", e.msg);
}
END_TEST

/* A PNG written here from its parts (zlib's compress2 and crc32): w x h,
 * bit depth, colour type, interlace flag, the filtered scanlines as given,
 * and for colour type 3 a palette of npal RGB entries. */
static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void chunk(FILE *f, const char *type, const unsigned char *data, uint32_t n)
{
    unsigned char hdr[8];
    put32(hdr, n);
    memcpy(hdr + 4, type, 4);
    uLong crc = crc32(crc32(0L, Z_NULL, 0), hdr + 4, 4);
    if (n) crc = crc32(crc, data, n);
    unsigned char c[4];
    put32(c, (uint32_t)crc);
    ck_assert_uint_eq(fwrite(hdr, 1, 8, f), 8);
    if (n) ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_uint_eq(fwrite(c, 1, 4, f), 4);
}

static void write_png_parts(const char *path, int w, int h, int depth, int ctype, int interlace,
                            const unsigned char *raw, size_t rawlen, const unsigned char *pal, int npal)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite("\x89PNG\r\n\x1a\n", 1, 8, f), 8);
    unsigned char ihdr[13];
    put32(ihdr, (uint32_t)w);
    put32(ihdr + 4, (uint32_t)h);
    ihdr[8] = (unsigned char)depth, ihdr[9] = (unsigned char)ctype, ihdr[10] = ihdr[11] = 0;
    ihdr[12] = (unsigned char)interlace;
    chunk(f, "IHDR", ihdr, 13);
    if (pal) chunk(f, "PLTE", pal, (uint32_t)npal * 3);
    uLongf zn = compressBound(rawlen);
    unsigned char *z = malloc(zn);
    ck_assert_int_eq(compress2(z, &zn, raw, rawlen, 6), Z_OK);
    chunk(f, "IDAT", z, (uint32_t)zn);
    chunk(f, "IEND", NULL, 0);
    free(z);
    ck_assert_int_eq(fclose(f), 0);
}

/* Every kind of PNG stb reads, plain ones (8 bits, not interlaced, no
 * palette: gc_image_load keeps its checking decode) and the others (Darknet's
 * decoder): the same floats as Darknet's load_image_color, or, where
 * Darknet's decoder refuses the file, a refusal. */
/* ---- GIF, TGA, PSD cut short ------------------------------------------------ */

/* LSB-first bit writer for a GIF's LZW codes */
typedef struct {
    unsigned char *b;
    size_t n;
    unsigned acc, bits;
} lzw_bits;

static void lzw_put(lzw_bits *o, unsigned code, unsigned width)
{
    o->acc |= code << o->bits;
    o->bits += width;
    while (o->bits >= 8) {
        o->b[o->n++] = (unsigned char)o->acc;
        o->acc >>= 8;
        o->bits -= 8;
    }
}

/* A w x h GIF of the 4-colour palette pal, pixel i of colour idx[i]: LZW
 * with a clear code before every second literal, so that every code is 3
 * bits wide and no string is ever reused; the length, or 0 if buf is short */
static size_t make_gif(unsigned char *buf, size_t cap, int w, int h, const unsigned char pal[12],
                       const unsigned char *idx)
{
    unsigned char *p = buf;
    memcpy(p, "GIF89a", 6), p += 6;
    *p++ = (unsigned char)w, *p++ = (unsigned char)(w >> 8), *p++ = (unsigned char)h, *p++ = (unsigned char)(h >> 8);
    *p++ = 0x81, *p++ = 0, *p++ = 0; /* a global table of 4 colours */
    memcpy(p, pal, 12), p += 12;
    *p++ = 0x2c;
    memset(p, 0, 4), p += 4; /* at 0,0 */
    *p++ = (unsigned char)w, *p++ = (unsigned char)(w >> 8), *p++ = (unsigned char)h, *p++ = (unsigned char)(h >> 8);
    *p++ = 0;
    *p++ = 2; /* minimum code size: clear 4, end 5 */
    unsigned char codes[4096];
    lzw_bits o = {codes, 0, 0, 0};
    for (int i = 0; i < w * h; ++i) {
        if (i % 2 == 0) lzw_put(&o, 4, 3);
        lzw_put(&o, idx[i], 3);
    }
    lzw_put(&o, 5, 3);
    if (o.bits) codes[o.n++] = (unsigned char)o.acc;
    if ((size_t)(p - buf) + o.n + o.n / 255 + 4 > cap) return 0;
    for (size_t at = 0; at < o.n; at += 255) { /* sub-blocks */
        size_t len = o.n - at < 255 ? o.n - at : 255;
        *p++ = (unsigned char)len;
        memcpy(p, codes + at, len), p += len;
    }
    *p++ = 0;    /* block terminator */
    *p++ = 0x3b; /* trailer */
    return (size_t)(p - buf);
}

/* Every cut of the file img (n bytes, which decodes to rgb, w x h) is
 * refused; those at or after byte data_from say it is cut short, naming
 * fmt. keep_last: the file without its last byte may decode (a GIF's
 * trailer, which stb does not read). */
static void expect_cuts_refused(const char *name, const unsigned char *img, size_t n, const unsigned char *rgb, int w,
                                int h, size_t data_from, const char *fmt, int keep_last)
{
    char p[256], want[64];
    path_in(p, sizeof p, name);
    snprintf(want, sizeof want, "the %s file ends before its image data", fmt);
    spit(p, img, n);
    gc_err e = {0};
    unsigned char *px = NULL;
    int iw = 0, ih = 0;
    ck_assert_msg(gc_image_load_rgb(p, &px, &iw, &ih, &e) == 0, "%s whole: %s", name, e.msg);
    ck_assert_int_eq(iw, w);
    ck_assert_int_eq(ih, h);
    ck_assert_msg(!memcmp(px, rgb, (size_t)w * h * 3), "%s: not the pixels it was made of", name);
    free(px);
    for (size_t cut = 1; cut < n; ++cut) {
        spit(p, img, cut);
        memset(&e, 0, sizeof e);
        int iw2 = 0, ih2 = 0, rc = gc_image_check(p, &iw2, &ih2, &e);
        if (keep_last && cut == n - 1) continue;
        ck_assert_msg(rc == -1, "%s cut at %zu of %zu bytes: decoded as %dx%d", name, cut, n, iw2, ih2);
        if (cut >= data_from) ck_assert_msg(strstr(e.msg, want), "%s cut at %zu: %s", name, cut, e.msg);
        /* the main command's loader refuses it the same way */
        memset(&e, 0, sizeof e);
        image im;
        ck_assert_int_eq(gc_image_load(p, &im, &e), -1);
    }
}

/* stb reads the bytes past the end of a GIF, TGA or PSD file as zeros: cut
 * short, each had decoded with its last part black */
START_TEST(gif_tga_psd_cut_short_are_refused)
{
    enum { W = 7, H = 5 };
    const unsigned char pal[12] = {10, 20, 30, 200, 40, 50, 60, 220, 70, 90, 110, 240};
    unsigned char idx[W * H], rgb[W * H * 3];
    for (int i = 0; i < W * H; ++i) {
        idx[i] = (unsigned char)((i * 7 + i / W) % 4);
        memcpy(rgb + 3 * i, pal + 3 * idx[i], 3);
    }
    unsigned char gif[512];
    size_t ng = make_gif(gif, sizeof gif, W, H, pal, idx);
    ck_assert_uint_gt(ng, 0);
    /* the data from the first LZW byte on (cut before it, stb reads a 0 as
     * the first code and refuses the file itself: "no clear code") */
    expect_cuts_refused("x.gif", gif, ng, rgb, W, H, 6 + 7 + 12 + 10 + 1 + 2, "GIF", 1);

    /* TGA, uncompressed, top-left first: 18 bytes of header, then BGR */
    unsigned char tga[18 + W * H * 3] = {0, 0, 2};
    tga[12] = W, tga[14] = H, tga[16] = 24, tga[17] = 0x20;
    for (int i = 0; i < W * H; ++i)
        for (int c = 0; c < 3; ++c) tga[18 + 3 * i + c] = rgb[3 * i + 2 - c];
    expect_cuts_refused("x.tga", tga, sizeof tga, rgb, W, H, 18, "TGA", 0);

    /* TGA, run-length encoded: each row a run of its first pixel's colour
     * over 3 pixels, then the rest raw */
    unsigned char rle[18 + H * (1 + 3 + 1 + (W - 3) * 3)] = {0, 0, 10};
    unsigned char rle_rgb[W * H * 3];
    memcpy(rle, tga, 18);
    rle[2] = 10;
    size_t nr = 18;
    for (int y = 0; y < H; ++y) {
        const unsigned char *row = rgb + 3 * y * W;
        rle[nr++] = 0x80 | 2; /* 3 of one pixel */
        for (int c = 0; c < 3; ++c) rle[nr++] = row[2 - c];
        rle[nr++] = W - 3 - 1; /* W-3 raw pixels */
        for (int x = 3; x < W; ++x)
            for (int c = 0; c < 3; ++c) rle[nr++] = row[3 * x + 2 - c];
        for (int x = 0; x < W; ++x) memcpy(rle_rgb + 3 * (y * W + x), row + 3 * (x < 3 ? 0 : x), 3);
    }
    ck_assert_uint_eq(nr, sizeof rle);
    expect_cuts_refused("rle.tga", rle, nr, rle_rgb, W, H, 18, "TGA", 0);

    /* PSD: 26 bytes of header, three empty sections, raw planar RGB */
    unsigned char psd[26 + 4 + 4 + 4 + 2 + W * H * 3] = {'8', 'B', 'P', 'S', 0, 1};
    psd[13] = 3;      /* channels */
    psd[17] = H;      /* height */
    psd[21] = W;      /* width */
    psd[23] = 8;      /* bits per channel */
    psd[25] = 3;      /* RGB */
    size_t at = 26 + 12 + 2; /* compression 0: raw */
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < W * H; ++i) psd[at + c * W * H + i] = rgb[3 * i + c];
    expect_cuts_refused("x.psd", psd, sizeof psd, rgb, W, H, at, "PSD", 0);
}
END_TEST

START_TEST(png_kinds_load_as_darknet_loads_them)
{
    static const struct {
        int depth, ctype, interlace, w, h;
    } kinds[] = {{8, 0, 0, 7, 5}, {8, 2, 0, 7, 5}, {8, 4, 0, 7, 5}, {8, 6, 0, 7, 5}, {8, 2, 0, 1, 1},
                 {16, 0, 0, 7, 5}, {16, 2, 0, 7, 5}, {16, 6, 0, 7, 5}, {1, 0, 0, 9, 3}, {2, 0, 0, 7, 5},
                 {4, 0, 0, 7, 5}, {8, 3, 0, 7, 5}, {4, 3, 0, 7, 5}, {8, 2, 1, 1, 1}, {8, 6, 1, 1, 1}};
    static const int samples[] = {1, 0, 3, 1, 2, 0, 4};
    static const unsigned char pal[4 * 3] = {0, 0, 0, 255, 0, 0, 10, 200, 30, 255, 255, 255};
    uint64_t st = 5;
    int plain_seen = 0, other_loaded = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; ++k) {
        int d = kinds[k].depth, c = kinds[k].ctype, w = kinds[k].w, h = kinds[k].h;
        size_t row = ((size_t)w * samples[c] * d + 7) / 8, n = (row + 1) * h;
        unsigned char *raw = malloc(n);
        for (size_t i = 0; i < n; ++i) {
            st = st * 6364136223846793005ULL + 1442695040888963407ULL;
            raw[i] = (unsigned char)(st >> 33);
        }
        for (int y = 0; y < h; ++y) {
            raw[y * (row + 1)] = (unsigned char)(y % 5); /* each filter type */
            if (c == 3) /* indices into the 4-entry palette */
                for (size_t i = 1; i <= row; ++i) raw[y * (row + 1) + i] &= d == 8 ? 3 : 0x33;
        }
        if (c == 3)
            for (int y = 0; y < h; ++y) raw[y * (row + 1)] = 0; /* filters would move indices out of range */
        char p[256];
        snprintf(p, sizeof p, "%s/kind%zu.png", tmpdir, k);
        write_png_parts(p, w, h, d, c, kinds[k].interlace, raw, n, c == 3 ? pal : NULL, 4);
        free(raw);
        gc_err e = {0};
        int dw = 0, dh = 0;
        const char *why = NULL;
        image a;
        int plain = d == 8 && c != 3 && !kinds[k].interlace;
        plain_seen += plain;
        if (!gc_dnimage_can_load(p, &dw, &dh, &why)) {
            /* Darknet would exit on it: refused, unless plain (then any decoder's bytes are the same) */
            ck_assert_msg(!plain, "kind %zu: Darknet's decoder refuses a plain PNG: %s", k, why);
            ck_assert_int_eq(gc_image_load(p, &a, &e), -1);
            ck_assert_msg(strstr(e.msg, p), "%s", e.msg);
            continue;
        }
        image b = load_image_color(p, 0, 0);
        ck_assert_msg(gc_image_load(p, &a, &e) == 0, "kind %zu: %s", k, e.msg);
        ck_assert(a.w == b.w && a.h == b.h && a.w == w && a.h == h && a.c == 3 && b.c == 3);
        for (int i = 0; i < w * h * 3; ++i)
            ck_assert_msg(!memcmp(&a.data[i], &b.data[i], sizeof(float)), "kind %zu (depth %d, type %d) value %d: %g vs %g",
                          k, d, c, i, a.data[i], b.data[i]);
        other_loaded += !plain;
        free_image(a);
        free_image(b);
    }
    ck_assert_int_eq(plain_seen, 5);
    ck_assert_int_gt(other_loaded, 0);
}
END_TEST

/* ---- gc_pngread: plain PNGs through zlib ------------------------------------- */

enum {
    PR_TEXT = 1,          /* a tEXt chunk before the data */
    PR_TRNS = 2,          /* a tRNS chunk */
    PR_PLTE = 4,          /* a PLTE chunk (allowed, unused, in an RGB PNG: left to stb) */
    PR_MORE_BYTES = 8,    /* the stream inflates to more than the image (stb takes it) */
    PR_BAD_ADLER = 16,    /* the stream's checksum is wrong (stb does not check it) */
    PR_CUT_STREAM = 32,   /* the stream's last 10 bytes are missing */
    PR_NO_IEND = 64,      /* no IEND chunk */
    PR_FILTER5 = 128,     /* row 1 has filter type 5 */
    PR_JUNK = 256,        /* bytes after the stream, in its last IDAT */
    PR_TWO_IHDR = 512,    /* a second IHDR */
    PR_CRITICAL = 1024,   /* an unknown critical chunk */
    PR_EMPTY_IDAT = 2048, /* an empty IDAT chunk first */
};

static int pr_paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* The PNG of px (w x h, ch samples a pixel, colour type ctype) with row y
 * filtered by filter type (y + shift) % 5 as the PNG spec defines the
 * filters, deflated at level, in IDAT chunks of at most part bytes, with
 * the flags' changes. */
static unsigned char *make_png(const unsigned char *px, int w, int h, int ctype, int level, size_t part, int shift,
                               int flags, size_t *len)
{
    int ch = (ctype & 2 ? 3 : 1) + (ctype & 4 ? 1 : 0);
    size_t row = (size_t)w * ch, n = (row + 1) * h + (flags & PR_MORE_BYTES ? 10 : 0);
    unsigned char *raw = calloc(n, 1);
    for (int y = 0; y < h; ++y) {
        const unsigned char *x = px + y * row, *prev = y ? x - row : NULL;
        unsigned char *f = raw + y * (row + 1);
        f[0] = (unsigned char)((y + shift) % 5);
        for (size_t i = 0; i < row; ++i) {
            int a = i >= (size_t)ch ? x[i - ch] : 0, b = prev ? prev[i] : 0, c = prev && i >= (size_t)ch ? prev[i - ch] : 0;
            int pred[5] = {0, a, b, (a + b) / 2, pr_paeth(a, b, c)};
            f[1 + i] = (unsigned char)(x[i] - pred[f[0]]);
        }
    }
    if (flags & PR_FILTER5) raw[row + 1] = 5;
    uLongf zn = compressBound(n) + 16;
    unsigned char *z = malloc(zn);
    ck_assert_int_eq(compress2(z, &zn, raw, n, level), Z_OK);
    free(raw);
    if (flags & PR_BAD_ADLER) z[zn - 1] ^= 1;
    if (flags & PR_CUT_STREAM) zn -= 10;
    if (flags & PR_JUNK) memcpy(z + zn, "junk", 4), zn += 4;
    char *out = NULL;
    FILE *f = open_memstream(&out, len);
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite("\x89PNG\r\n\x1a\n", 1, 8, f), 8);
    unsigned char ihdr[13] = {0};
    put32(ihdr, (uint32_t)w);
    put32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8, ihdr[9] = (unsigned char)ctype;
    chunk(f, "IHDR", ihdr, 13);
    if (flags & PR_TWO_IHDR) chunk(f, "IHDR", ihdr, 13);
    if (flags & PR_TEXT) chunk(f, "tEXt", (const unsigned char *)"Comment\0a test", 15);
    if (flags & PR_PLTE) chunk(f, "PLTE", (const unsigned char *)"\0\0\0\377\377\377", 6);
    if (flags & PR_TRNS) chunk(f, "tRNS", (const unsigned char *)"\0\0\0\0\0\0", ch == 1 ? 2 : 6);
    if (flags & PR_CRITICAL) chunk(f, "ABCD", (const unsigned char *)"x", 1);
    if (flags & PR_EMPTY_IDAT) chunk(f, "IDAT", NULL, 0);
    for (size_t at = 0; at < zn; at += part) chunk(f, "IDAT", z + at, (uint32_t)(zn - at < part ? zn - at : part));
    if (!(flags & PR_NO_IEND)) chunk(f, "IEND", NULL, 0);
    ck_assert_int_eq(fclose(f), 0);
    free(z);
    return (unsigned char *)out;
}

/* px as three channels, as every decoder gives a plain PNG: grey repeated,
 * alpha dropped */
static unsigned char *as_rgb(const unsigned char *px, int w, int h, int ch)
{
    unsigned char *rgb = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h; ++i)
        for (int c = 0; c < 3; ++c) rgb[3 * i + c] = px[(size_t)ch * i + (ch >= 3 ? c : 0)];
    return rgb;
}

/* gc_pngread gives the pixels a PNG was made from: every colour type it
 * takes, each filter type on the first row (over a row of zeros) and on
 * later ones, deflate levels 0 (stored), 1 and 9, the stream in one IDAT or
 * cut into 7-byte and 1-byte ones; with an ancillary chunk, more inflated
 * bytes than the image or bytes after the stream (stb takes both). Every file it leaves to stb_image gets
 * NULL, and gc_image still reads those through stb_image: one with a wrong
 * Adler-32 (stb does not check it) loads with the same pixels, one with a
 * filter type of 5 is refused. */
START_TEST(pngread_gives_the_pixels_or_leaves_the_file_to_stb)
{
    static const int ctypes[] = {0, 2, 4, 6}, widths[] = {1, 2, 5, 33}, levels[] = {0, 1, 9};
    static const size_t parts[] = {1, 7, 1u << 20};
    enum { H = 6 };
    uint32_t st = 99;
    int made = 0;
    for (int t = 0; t < 4; ++t)
        for (int k = 0; k < 4; ++k) {
            int ch = (ctypes[t] & 2 ? 3 : 1) + (ctypes[t] & 4 ? 1 : 0), w = widths[k];
            unsigned char *px = malloc((size_t)w * H * ch);
            for (int i = 0; i < w * H * ch; ++i) /* smooth runs and noise: small and large filter residues */
                px[i] = (unsigned char)(i % 7 < 4 ? 40u + (unsigned)i / 3 : (st = st * 1103515245u + 12345u) >> 24);
            unsigned char *want = as_rgb(px, w, H, ch);
            for (int l = 0; l < 3; ++l)
                for (int p = 0; p < 3; ++p)
                    for (int shift = 0; shift < 5; ++shift) {
                        int flags = (shift == 1 ? PR_TEXT : 0) | (shift == 3 ? PR_MORE_BYTES : 0) |
                                    (shift == 4 ? PR_JUNK : 0);
                        size_t n;
                        unsigned char *png = make_png(px, w, H, ctypes[t], levels[l], parts[p], shift, flags, &n);
                        int gw = 0, gh = 0;
                        unsigned char *got = gc_pngread_plain(png, n, &gw, &gh);
                        ck_assert_msg(got && gw == w && gh == H && !memcmp(got, want, (size_t)w * H * 3),
                                      "type %d, width %d, level %d, part %zu, shift %d: %s", ctypes[t], w, levels[l],
                                      parts[p], shift, got ? "other pixels" : "NULL");
                        free(got);
                        free(png);
                        ++made;
                    }
            free(want);
            free(px);
        }
    ck_assert_int_eq(made, 4 * 4 * 3 * 3 * 5);

    enum { W = 9 };
    unsigned char px[W * H * 3];
    for (int i = 0; i < W * H * 3; ++i) px[i] = (unsigned char)(i * 37 + 11);
    static const int left[] = {PR_TRNS, PR_PLTE, PR_BAD_ADLER, PR_CUT_STREAM, PR_NO_IEND, PR_FILTER5, PR_TWO_IHDR, PR_CRITICAL,
                               PR_EMPTY_IDAT};
    for (size_t k = 0; k < sizeof left / sizeof *left; ++k) {
        size_t n;
        unsigned char *png = make_png(px, W, H, 2, 6, 1u << 20, 0, left[k], &n);
        int gw, gh;
        unsigned char *got = gc_pngread_plain(png, n, &gw, &gh);
        ck_assert_msg(!got, "flag %d: read, not left to stb_image", left[k]);
        free(png);
    }
    /* 16 bits, interlaced, a palette, a cut inside IEND's CRC: the bytes
     * patched after the fact (stb does not check a chunk's CRC) */
    size_t n;
    unsigned char *png = make_png(px, W, H, 2, 6, 1u << 20, 0, 0, &n);
    int gw, gh;
    unsigned char *got = gc_pngread_plain(png, n, &gw, &gh);
    ck_assert_ptr_nonnull(got);
    free(got);
    const struct { size_t at; unsigned char v; } patch[] = {{24, 16}, {28, 1}, {25, 3}, {26, 1}, {27, 1}};
    for (size_t k = 0; k < sizeof patch / sizeof *patch; ++k) {
        unsigned char keep = png[patch[k].at];
        png[patch[k].at] = patch[k].v;
        ck_assert_ptr_null(gc_pngread_plain(png, n, &gw, &gh));
        png[patch[k].at] = keep;
    }
    ck_assert_ptr_null(gc_pngread_plain(png, n - 2, &gw, &gh));
    free(png);

    /* what it leaves, stb_image reads through gc_image as before */
    char path[256];
    path_in(path, sizeof path, "adler.png");
    png = make_png(px, W, H, 2, 6, 1u << 20, 0, PR_BAD_ADLER, &n);
    spit(path, png, n);
    free(png);
    gc_err e = {0};
    unsigned char *rgb = NULL;
    ck_assert_msg(gc_image_load_rgb(path, &rgb, &gw, &gh, &e) == 0, "%s", e.msg);
    ck_assert(gw == W && gh == H && !memcmp(rgb, px, sizeof px));
    free(rgb);
    path_in(path, sizeof path, "filter5.png");
    png = make_png(px, W, H, 2, 6, 1u << 20, 0, PR_FILTER5, &n);
    spit(path, png, n);
    free(png);
    ck_assert_int_eq(gc_image_load_rgb(path, &rgb, &gw, &gh, &e), -1);
    ck_assert_ptr_null(rgb);
    ck_assert_msg(strstr(e.msg, path), "%s", e.msg);
}
END_TEST

/* A PNG of one grey pixel whose stream inflates to 2^31 + 2^24 bytes
 * (2.5 MB of file): stb_image's inflate, its buffer doubling from the
 * image's 2 bytes, stops at 2^31 and refuses the file ("outofmem"), so
 * gc_pngread must leave it to stb, not give the pixel; and promptly,
 * without inflating the 2 GiB it would drop (the test's timeout). The
 * stream: one block of 16 MiB of zeros, flushed so that it stands alone,
 * repeated. */
START_TEST(pngread_leaves_a_stream_stb_cannot_hold_to_stb)
{
    enum { BLOCK = 1 << 24, COPIES = 129 };
    unsigned char *zeros = calloc(BLOCK, 1), *blk = malloc(BLOCK / 64);
    ck_assert(zeros && blk);
    z_stream d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(deflateInit2(&d, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    d.next_in = zeros, d.avail_in = BLOCK, d.next_out = blk, d.avail_out = BLOCK / 64;
    ck_assert_int_eq(deflate(&d, Z_FULL_FLUSH), Z_OK);
    ck_assert_uint_eq(d.avail_in, 0);
    size_t nblk = BLOCK / 64 - d.avail_out;
    unsigned char tail[16];
    d.next_out = tail, d.avail_out = sizeof tail;
    ck_assert_int_eq(deflate(&d, Z_FINISH), Z_STREAM_END);
    size_t ntail = sizeof tail - d.avail_out;
    deflateEnd(&d);
    uLong one = adler32(adler32(0L, Z_NULL, 0), zeros, BLOCK), sum = one;
    for (int k = 1; k < COPIES; ++k) sum = adler32_combine(sum, one, BLOCK);
    size_t zn = 2 + nblk * COPIES + ntail + 4;
    unsigned char *z = malloc(zn), *at = z;
    ck_assert_ptr_nonnull(z);
    *at++ = 0x78, *at++ = 0x01;
    for (int k = 0; k < COPIES; ++k, at += nblk) memcpy(at, blk, nblk);
    memcpy(at, tail, ntail), at += ntail;
    put32(at, (uint32_t)sum);
    char *png = NULL;
    size_t n;
    FILE *f = open_memstream(&png, &n);
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite("\x89PNG\r\n\x1a\n", 1, 8, f), 8);
    unsigned char ihdr[13] = {0};
    put32(ihdr, 1), put32(ihdr + 4, 1), ihdr[8] = 8;
    chunk(f, "IHDR", ihdr, 13);
    chunk(f, "IDAT", z, (uint32_t)zn);
    chunk(f, "IEND", NULL, 0);
    ck_assert_int_eq(fclose(f), 0);
    int gw = 0, gh = 0;
    unsigned char *got = gc_pngread_plain((const unsigned char *)png, n, &gw, &gh);
    ck_assert_msg(!got, "read as %dx%d, not left to stb_image", gw, gh);
    free(png);
    free(z);
    free(blk);
    free(zeros);
}
END_TEST

/* The peak of this process's virtual memory, in KiB (VmPeak) */
static long vm_peak_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmPeak: %ld kB", &kib) == 1) break;
    fclose(f);
    ck_assert_int_gt(kib, 0);
    return kib;
}

/* A grey PNG of 32768x21846 (715,849,728 pixels): stb_image decodes its
 * one channel but refuses its three-channel copy ("outofmem": 3 w h bytes
 * past INT_MAX), so gc_pngread must leave the file to stb. Its full decode
 * takes 3 GB, so this checks it is left to stb from its header: NULL, and
 * the peak address space does not grow by the 700 MB the reader would
 * allocate for the stream. (gc_image refuses such a size before either
 * reader runs.) */
START_TEST(pngread_leaves_a_grey_png_stb_cannot_copy_to_stb)
{
    unsigned char ihdr[13] = {0};
    put32(ihdr, 32768), put32(ihdr + 4, 21846), ihdr[8] = 8;
    static const unsigned char empty[] = {0x78, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}; /* a stream of no bytes */
    char *png = NULL;
    size_t n;
    FILE *f = open_memstream(&png, &n);
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite("\x89PNG\r\n\x1a\n", 1, 8, f), 8);
    chunk(f, "IHDR", ihdr, 13);
    chunk(f, "IDAT", empty, sizeof empty);
    chunk(f, "IEND", NULL, 0);
    ck_assert_int_eq(fclose(f), 0);
    long before = vm_peak_kib();
    int gw = 0, gh = 0;
    ck_assert_ptr_null(gc_pngread_plain((const unsigned char *)png, n, &gw, &gh));
    long grew = vm_peak_kib() - before;
    ck_assert_msg(grew < 256 * 1024, "the peak address space grew by %ld KiB", grew);
    free(png);
}
END_TEST

/* Found by fuzz_image (an out-of-memory): a 77-byte PNG whose third IDAT
 * chunk declares more bytes than the file has made stb_image grow its
 * buffer to 2 GiB before reading them. It is refused as cut short before
 * stb reads it: the process's peak address space grows by far less. */
START_TEST(png_idat_past_the_end_is_refused_before_stb_allocates)
{
    static const unsigned char png[] = {
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x00, 0x00, 0x00, 0x57, 0xdd, 0x52,
        0xf8, 0x00, 0x00, 0x00, 0x01, 0x49, 0x44, 0x41, 0x54, 0x78, 0x76, 0xe6, 0x84, 0xe6, 0x00, 0x00,
        0x00, 0x07, 0x49, 0x44, 0x41, 0x54, 0x01, 0x01, 0x06, 0x00, 0x32, 0xff, 0x80, 0x2e, 0x23, 0x3f,
        0x52, 0x41, 0x44, 0x49, 0x00, 0x49, 0x44, 0x41, 0x54, 0xae, 0x42, 0x60, 0x82};
    char path[256];
    path_in(path, sizeof path, "idat-past-end.png");
    spit(path, png, sizeof png);
    long before = vm_peak_kib();
    gc_err e = {0};
    ck_assert_int_eq(gc_image_check(path, NULL, NULL, &e), -1);
    long grew = vm_peak_kib() - before;
    ck_assert_msg(strstr(e.msg, "the PNG ends before its IEND chunk (a truncated file?)"), "%s", e.msg);
    ck_assert_msg(grew < 256 * 1024, "the peak address space grew by %ld KiB", grew);
}
END_TEST

/* gc_image_load gives exactly what Darknet's load_image_color returns (on a
 * JPEG from Darknet's data/ and on a PNG), from one decode; what the check
 * refuses it refuses too, leaving nothing allocated. */
START_TEST(image_load_equals_darknets_loader)
{
    char png[256];
    path_in(png, sizeof png, "rgb.png");
    unsigned char rgb[5 * 3 * 3];
    for (int i = 0; i < (int)sizeof rgb; ++i) rgb[i] = (unsigned char)(i * 41 + 7);
    gc_err e = {0};
    ck_assert_int_eq(gc_image_write_png(png, 5, 3, rgb, &e), 0);
    const char *paths[] = {gcf_darknet_path("data/dog.jpg"), png};
    for (int k = 0; k < 2; ++k) {
        image a, b = load_image_color((char *)paths[k], 0, 0);
        ck_assert_msg(gc_image_load(paths[k], &a, &e) == 0, "%s", e.msg);
        ck_assert(a.w == b.w && a.h == b.h && a.c == 3 && b.c == 3);
        ck_assert(!memcmp(a.data, b.data, sizeof(float) * a.w * a.h * 3));
        free_image(a);
        free_image(b);
    }
    char cut[256];
    path_in(cut, sizeof cut, "cut.png");
    size_t n;
    free(slurp(png, &n));
    truncate_copy(png, cut, n / 2);
    image c;
    ck_assert_int_eq(gc_image_load(cut, &c, &e), -1);
    ck_assert_ptr_null(c.data);
    ck_assert_ptr_nonnull(strstr(e.msg, cut));
}
END_TEST

/* A PNG or JPEG cut short is named as such: every cut of a PNG (stb's own
 * reasons had been "outofdata" for a cut inside a chunk, "IDA" for one in a
 * chunk's name) and cuts through Darknet's dog.jpg ("no SOF", "expected
 * marker"). */
START_TEST(png_and_jpeg_cut_short_say_so)
{
    char png[256], cut[256];
    path_in(png, sizeof png, "noise.png");
    path_in(cut, sizeof cut, "cut.img");
    enum { W = 40, H = 30 };
    unsigned char rgb[W * H * 3];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof rgb; ++i) rgb[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 24);
    gc_err e = {0};
    ck_assert_int_eq(gc_image_write_png(png, W, H, rgb, &e), 0);
    size_t n;
    free(slurp(png, &n));
    ck_assert_int_gt((int)n, 3000); /* several 128-byte reads of image data */
    for (size_t keep = 8; keep < n; ++keep) {
        truncate_copy(png, cut, keep);
        ck_assert_int_eq(gc_image_check(cut, NULL, NULL, &e), -1);
        ck_assert_msg(strstr(e.msg, "(a truncated file?)"), "cut at %zu: %s", keep, e.msg);
    }
    const char *jpg = gcf_darknet_path("data/dog.jpg");
    free(slurp(jpg, &n));
    const size_t keeps[] = {100, 1000, n / 3, n / 2, n - 2};
    for (size_t k = 0; k < sizeof keeps / sizeof *keeps; ++k) {
        truncate_copy(jpg, cut, keeps[k]);
        ck_assert_int_eq(gc_image_check(cut, NULL, NULL, &e), -1);
        ck_assert_msg(strstr(e.msg, "the JPEG file ends before its image data (a truncated file?)"), "cut at %zu: %s",
                      keeps[k], e.msg);
    }
}
END_TEST

/* gc_dnimage_letterbox_rgb gives letterbox_image's floats bit for bit
 * (Darknet's -Ofast build against ours) on the float image of the same
 * bytes: random pixels, images wider and taller than the network, of its
 * size, smaller (enlarged), 2 pixels on a side, and a 4000x3000 one. */
START_TEST(letterbox_from_bytes_equals_darknets)
{
    static const int sizes[][4] = {{768, 576, 320, 320}, {576, 768, 320, 320}, {320, 320, 320, 320},
                                   {100, 37, 224, 224}, {2, 2, 128, 128},      {1037, 611, 416, 416},
                                   {611, 1037, 608, 352}, {5, 2, 64, 96},       {4000, 3000, 320, 320},
                                   {333, 333, 257, 129}, {3, 300, 224, 224},    {1, 2, 2, 4}};
    unsigned s = 7;
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; ++t) {
        int w = sizes[t][0], h = sizes[t][1], nw = sizes[t][2], nh = sizes[t][3];
        size_t n = (size_t)w * h * 3;
        unsigned char *px = malloc(n);
        ck_assert_ptr_nonnull(px);
        for (size_t i = 0; i < n; ++i) px[i] = (unsigned char)((s = s * 1103515245u + 12345u) >> 16);
        for (size_t i = 0; i < 3 && i < n; ++i) px[i] = (unsigned char)(i ? 255 : 0);
        image f, a;
        ck_assert_int_eq(gc_dnimage_from_rgb(px, w, h, &f), 1);
        image b = letterbox_image(f, nw, nh);
        ck_assert_int_eq(gc_dnimage_letterbox_rgb(px, w, h, nw, nh, &a), 1);
        ck_assert(a.w == nw && a.h == nh && a.c == 3);
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < (size_t)nw * nh * 3; ++i)
            if (memcmp(&a.data[i], &b.data[i], sizeof(float)) && !bad++) first = i;
        ck_assert_msg(!bad, "%dx%d -> %dx%d: %zu values differ, first at %zu (%.9g, Darknet %.9g)", w, h, nw, nh, bad,
                      first, bad ? a.data[first] : 0, bad ? b.data[first] : 0);
        free_image(a);
        free_image(b);
        free_image(f);
        free(px);
    }
    for (int b = 0; b < 256; ++b) {
        volatile float d = 255.;
        float want = (float)((double)b / (double)d);
        ck_assert_msg(!memcmp(&gc_byte_value[b], &want, sizeof want), "byte %d", b);
    }
}
END_TEST

Suite *suite_image(void)
{
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, png_round_trip);
    tcase_add_test(tc, npy_round_trip_and_header);
    tcase_add_test(tc, npy_read_rejects_bad_files);
    tcase_add_test(tc, write_into_missing_directory_fails_cleanly);
    tcase_add_test(tc, write_refuses_inputs_and_keeps_links_and_devices);
    tcase_add_test(tc, failed_rename_removes_tmp);
    tcase_add_test(tc, image_check_valid_and_broken_files);
    tcase_add_test(tc, huge_declared_size_is_refused_from_the_header);
    tcase_add_test(tc, top_down_bmp_is_read_as_darknet_reads_it);
    tcase_add_test(tc, png_without_iend_says_it_is_cut_off);
    tcase_add_test(tc, text_given_as_an_image_says_so);
    tcase_add_test(tc, files_cut_short_are_refused);
    tcase_add_test(tc, gif_tga_psd_cut_short_are_refused);
    tcase_add_test(tc, image_must_fit_the_network_input);
    tcase_add_test(tc, out_path_checks);
    tcase_add_test(tc, parent_dirs_are_created);
    tcase_add_test(tc, text_file_check);
    tcase_add_test(tc, images_darknet_cannot_load_are_refused);
    tcase_add_test(tc, png_empty_first_idat_is_refused);
    tcase_add_test(tc, png_chunks_stb_misreads_are_refused);
    tcase_add_test(tc, image_load_equals_darknets_loader);
    tcase_add_test(tc, png_kinds_load_as_darknet_loads_them);
    tcase_add_test(tc, pngread_gives_the_pixels_or_leaves_the_file_to_stb);
    tcase_add_test(tc, pngread_leaves_a_stream_stb_cannot_hold_to_stb);
    tcase_add_test(tc, pngread_leaves_a_grey_png_stb_cannot_copy_to_stb);
    tcase_add_test(tc, png_idat_past_the_end_is_refused_before_stb_allocates);
    suite_add_tcase(s, tc);
    /* a 4000x3000 photo's 144 MB float image made and letterboxed, on top of
     * eleven smaller images: 1.4 s under a load of 4.5 on 2 cores, 3.4 s under
     * a load of 8, past most of Check's 4 s default (CK_RUN_CASE=photo); and
     * a PNG cut at each of its ~3600 lengths, each checked (over 4 s once,
     * on a machine busy with other builds) */
    TCase *photo = tcase_create("photo");
    tcase_set_timeout(photo, 30);
    tcase_add_test(photo, letterbox_from_bytes_equals_darknets);
    tcase_add_test(photo, png_and_jpeg_cut_short_say_so);
    suite_add_tcase(s, photo);
    return s;
}
