/* gc_batch (`gradcam -list`): the list (folders any depth, same basenames in
 * different subfolders, list files and their root), -shard, and end to end
 * through ./darknet on demo scenes: every output equals a single-image run of
 * the main command, a run killed with SIGKILL at random points and resumed
 * ends byte-identical to an uninterrupted one (also with -batch), -batch
 * agrees with one image at a time within rounding, bad images are skipped and
 * reported, a full disk stops the run (and -resume completes it), so does
 * SIGINT, SIGTERM or SIGHUP (cleanly, then dying of it), shards
 * merge into the single run's index, and merge refuses a missing or
 * duplicated image. */
#define _GNU_SOURCE /* unshare */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gc_batch.h"
#include "gc_fixture.h"
#include "gc_image.h"
#include "gc_index.h"
#include "gc_pool.h"
#include "gc_prefetch.h"
#include "gc_rng.h"
#include "gc_tests.h"
#include "gc_writer.h"

#define FM_DIR "/usr/share/datasets/fashion-mnist"
#define DET_CFG "cfg/fmnist-det.cfg"
#define DET_WEIGHTS "cfg/fmnist-det.weights"

static char out[1 << 16], err[1 << 16];

/* snprintf that fails the test instead of truncating a path. */
static void pf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    ck_assert_msg(len >= 0 && (size_t)len < n, "path too long: %s", buf);
}

static void touch(const char *dir, const char *rel, const char *text)
{
    char p[4096];
    pf(p, sizeof p, "%s/%s", dir, rel);
    for (char *s = p + 1; *s; ++s)
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0777);
            *s = '/';
        }
    FILE *f = fopen(p, "w");
    ck_assert_msg(f != NULL, "cannot create %s", p);
    fputs(text, f);
    fclose(f);
}

/* ./darknet gradcam ARGS... (NULL-terminated); returns the exit status. */
#define run(...) gcf_run_gradcam(out, sizeof out, err, sizeof err, __VA_ARGS__)

/* a file's bytes, '\0'-terminated; NULL if missing */
#define slurp gcf_read_file

static int same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static int count_lines(const char *path)
{
    char *b = slurp(path, NULL);
    if (!b) return -1;
    int n = 0;
    for (char *p = b; *p; ++p) n += *p == '\n';
    free(b);
    return n;
}

/* Every file below dir (relative path, sorted), skipping names in `skip`. */
static void list_tree(const char *dir, const char *rel, char names[][512], int *n, int cap)
{
    char p[4096];
    pf(p, sizeof p, "%s%s%s", dir, *rel ? "/" : "", rel);
    DIR *d = opendir(p);
    ck_assert_msg(d != NULL, "cannot open %s", p);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char sub[512], full[4096];
        pf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        pf(full, sizeof full, "%s/%s", dir, sub);
        struct stat st;
        ck_assert_int_eq(stat(full, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            list_tree(dir, sub, names, n, cap);
        } else {
            ck_assert_int_lt(*n, cap);
            pf(names[(*n)++], 512, "%s", sub);
        }
    }
    closedir(d);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Both trees hold the same file names; check(pa, pb, name) compares each
 * pair and returns 1 when it compared them (counted). Returns the count. */
typedef int (*file_check)(const char *pa, const char *pb, const char *name);

static int assert_trees_match(const char *a, const char *b, file_check check)
{
    static char na[2048][512], nb[2048][512];
    int n = 0, m = 0, checked = 0;
    list_tree(a, "", na, &n, 2048);
    list_tree(b, "", nb, &m, 2048);
    qsort(na, (size_t)n, 512, cmp_name);
    qsort(nb, (size_t)m, 512, cmp_name);
    ck_assert_msg(n == m, "%s has %d files, %s has %d", a, n, b, m);
    for (int i = 0; i < n; ++i) {
        ck_assert_str_eq(na[i], nb[i]);
        char pa[4096], pb[4096];
        pf(pa, sizeof pa, "%s/%s", a, na[i]);
        pf(pb, sizeof pb, "%s/%s", b, nb[i]);
        checked += check(pa, pb, na[i]);
    }
    return checked;
}

static int same_bytes(const char *pa, const char *pb, const char *name)
{
    (void)name;
    ck_assert_msg(same_file(pa, pb), "%s and %s differ", pa, pb);
    return 1;
}

/* Both trees hold the same files with the same bytes. */
static void assert_same_tree(const char *a, const char *b)
{
    assert_trees_match(a, b, same_bytes);
}

/* ---- the list, without a network ---- */

START_TEST(folder_lists_images_any_depth_sorted)
{
    char *dir = gcf_tempdir();
    ck_assert_ptr_nonnull(dir);
    char src[4096], outdir[4096];
    pf(src, sizeof src, "%s/photos", dir);
    touch(src, "b/cat.jpg", "x");
    touch(src, "a/cat.jpg", "x");
    touch(src, "a/deep/er/dog.PNG", "x");
    touch(src, "z.bmp", "x");
    touch(src, "notes.txt", "x");
    touch(src, ".hidden/h.jpg", "x");
    touch(src, ".h.jpg", "x");
    touch(src, "out/old/gradcam_0.png", "x"); /* the -outdir inside the folder: left out */
    pf(outdir, sizeof outdir, "%s/out", src);
    gc_batch_list l;
    gc_err e;
    char slash[4096];
    pf(slash, sizeof slash, "%s/", src);
    ck_assert_msg(gc_batch_list_load(slash, outdir, &l, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(l.n, 4);
    const char *rel[] = {"a/cat.jpg", "a/deep/er/dog.PNG", "b/cat.jpg", "z.bmp"};
    for (int i = 0; i < 4; ++i) {
        char want[4096];
        pf(want, sizeof want, "%s/%s", src, rel[i]);
        ck_assert_str_eq(l.rel[i], rel[i]);
        ck_assert_str_eq(l.path[i], want);
    }
    ck_assert_str_eq(l.root, src);
    gc_batch_list_free(&l);
    /* without skip_dir, the images under out/ are listed too */
    ck_assert_int_eq(gc_batch_list_load(src, NULL, &l, &e), 0);
    ck_assert_int_eq(l.n, 5);
    gc_batch_list_free(&l);
    /* but never those of a folder another -list run wrote (it holds a
     * .gradcam-options), at any depth */
    touch(src, "a/deep/.gradcam-options", "");
    ck_assert_int_eq(gc_batch_list_load(src, NULL, &l, &e), 0);
    ck_assert_int_eq(l.n, 4);
    ck_assert_str_eq(l.rel[0], "a/cat.jpg");
    ck_assert_str_eq(l.rel[1], "b/cat.jpg");
    gc_batch_list_free(&l);
    /* an empty folder, a missing one */
    pf(slash, sizeof slash, "%s/empty", dir);
    mkdir(slash, 0777);
    ck_assert_int_eq(gc_batch_list_load(slash, NULL, &l, &e), -1);
    ck_assert_msg(strstr(e.msg, "no images") && strstr(e.msg, slash), "%s", e.msg);
    pf(slash, sizeof slash, "%s/missing", dir);
    ck_assert_int_eq(gc_batch_list_load(slash, NULL, &l, &e), -1);
    ck_assert_msg(strstr(e.msg, slash) != NULL, "%s", e.msg);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* A part that would be written longer than NAME_MAX (a 255-byte name that
 * takes the extra '_': ".x", "_x", a first "....jsonl") is written "_~", its
 * first 236 bytes (back to a whole UTF-8 character), '~' and its FNV-1a
 * hash in 16 hex digits: every image gets a folder it can make, the same on
 * every run, and no other image's. Shorter names keep today's rule. It had
 * been "_" and the 255 bytes: "File name too long". */
START_TEST(long_names_fit_name_max)
{
    char *dir = gcf_tempdir();
    ck_assert_ptr_nonnull(dir);
    char dot[256], dot2[256], und[256], plain[256], d254[256], utf[256], jsonl[256];
    memset(dot, 'a', 255), dot[0] = '.', memcpy(dot + 251, ".jpg", 5);
    memcpy(dot2, dot, 256), dot2[250] = 'b'; /* the same first 236 bytes */
    memset(und, 'c', 255), und[0] = '_', memcpy(und + 251, ".jpg", 5);
    memset(plain, 'b', 255), memcpy(plain + 251, ".jpg", 5);
    memcpy(d254, dot + 1, 255); /* 254 bytes: "_" and it fit */
    d254[0] = '.';
    memcpy(utf, dot, 256), memcpy(utf + 235, "\xc3\xa9", 2); /* an 'é' across the cut */
    memset(jsonl, 'j', 255), memcpy(jsonl + 249, ".jsonl", 7);
    char text[4096];
    pf(text, sizeof text, "p/%s\np/%s\np/%s\np/%s\np/%s\np/x/%s/a.jpg\np/%s\np/%s\n", dot, dot2, und, plain, d254, dot,
       utf, jsonl);
    touch(dir, "long.txt", text);
    char p[4096];
    pf(p, sizeof p, "%s/long.txt", dir);
    gc_batch_list l;
    gc_err e;
    ck_assert_msg(gc_batch_list_load(p, NULL, &l, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(l.n, 8);
    char want[300];
    pf(want, sizeof want, "_~%.236s~7e758a1b354fe9ae", dot);
    ck_assert_str_eq(l.rel[0], want);
    ck_assert_int_eq(strlen(l.rel[0]), 255);
    ck_assert_str_ne(l.rel[1], l.rel[0]);
    ck_assert(!strncmp(l.rel[1], want, 238) && strlen(l.rel[1]) == 255);
    pf(want, sizeof want, "_~%.236s~e9e0ab349bcd77f9", und);
    ck_assert_str_eq(l.rel[2], want);
    ck_assert_str_eq(l.rel[3], plain); /* no '_' to add: as it is */
    pf(want, sizeof want, "_%s", d254);
    ck_assert_str_eq(l.rel[4], want);
    pf(want, sizeof want, "x/%s/a.jpg", l.rel[0]); /* a folder's part alike */
    ck_assert_str_eq(l.rel[5], want);
    ck_assert(!strncmp(l.rel[6], "_~", 2) && !memcmp(l.rel[6] + 2, utf, 235) && l.rel[6][237] == '~' &&
              strlen(l.rel[6]) == 254);
    ck_assert(!strncmp(l.rel[7], "_~jjj", 5) && strlen(l.rel[7]) == 255);
    gc_batch_list_free(&l);
    /* the same list again: the same names */
    ck_assert_msg(gc_batch_list_load(p, NULL, &l, &e) == 0, "%s", e.msg);
    pf(want, sizeof want, "_~%.236s~7e758a1b354fe9ae", dot);
    ck_assert_str_eq(l.rel[0], want);
    gc_batch_list_free(&l);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* A list's lines end with LF, CRLF or a lone CR (old Mac files), as a names
 * file's do (gc_model_names_load): the same images, in the same order, from
 * each; a CR before a LF is one end, a CR then a CRLF two (a blank line).
 * A CR-only list had been one line, one image named "img/a.jpg\rimg/b c.jpg\r..."
 * that could not be opened. */
START_TEST(list_file_line_ends)
{
    char *dir = gcf_tempdir();
    ck_assert_ptr_nonnull(dir);
    static const char *const texts[] = {
        "img/a.jpg\nimg/b c.jpg\n\n  img/sub/d.png \n",
        "img/a.jpg\rimg/b c.jpg\r\r  img/sub/d.png \r",
        "img/a.jpg\r\nimg/b c.jpg\r\n\r\n  img/sub/d.png \r\n",
        "\xef\xbb\xbfimg/a.jpg\rimg/b c.jpg\r\r\n  img/sub/d.png ", /* mixed, a BOM, no end at the end */
    };
    for (size_t k = 0; k < sizeof texts / sizeof *texts; ++k) {
        touch(dir, "l.txt", texts[k]);
        char p[4096];
        pf(p, sizeof p, "%s/l.txt", dir);
        gc_batch_list l;
        gc_err e;
        ck_assert_msg(gc_batch_list_load(p, NULL, &l, &e) == 0, "case %zu: %s", k, e.msg);
        ck_assert_msg(l.n == 3, "case %zu: %d images", k, l.n);
        ck_assert_str_eq(l.root, "img/");
        ck_assert_str_eq(l.path[0], "img/a.jpg");
        ck_assert_str_eq(l.path[1], "img/b c.jpg");
        ck_assert_str_eq(l.path[2], "img/sub/d.png");
        ck_assert_str_eq(l.rel[2], "sub/d.png");
        gc_batch_list_free(&l);
    }
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(list_file_root_and_safe_names)
{
    char *dir = gcf_tempdir();
    ck_assert_ptr_nonnull(dir);
    touch(dir, "l.txt",
          "data/voc/2007/JPEGImages/1.jpg\r\n"
          "\n"
          "  data/voc/2012/JPEGImages/1.jpg  \n"
          "data/voc/2012/../x/./.a.jpg\n"
          "data/voc/2012/JPEGImages/1.jpg\n");
    char p[4096];
    pf(p, sizeof p, "%s/l.txt", dir);
    gc_batch_list l;
    gc_err e;
    ck_assert_msg(gc_batch_list_load(p, NULL, &l, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(l.n, 4);
    ck_assert_str_eq(l.root, "data/voc/");
    ck_assert_str_eq(l.path[0], "data/voc/2007/JPEGImages/1.jpg");
    ck_assert_str_eq(l.path[1], "data/voc/2012/JPEGImages/1.jpg");
    ck_assert_str_eq(l.rel[0], "2007/JPEGImages/1.jpg");
    ck_assert_str_eq(l.rel[1], "2012/JPEGImages/1.jpg");
    /* ".." cannot climb out of -outdir; "." parts vanish; a leading dot is kept visible */
    ck_assert_str_eq(l.rel[2], "2012/_../x/_.a.jpg");
    /* listed twice: same folder (gc_batch_run reports the second as an error) */
    ck_assert_str_eq(l.rel[3], l.rel[1]);
    gc_batch_list_free(&l);

    /* one absolute path: the root is its folder */
    touch(dir, "one.txt", "/srv/img/a.jpg\n");
    pf(p, sizeof p, "%s/one.txt", dir);
    ck_assert_int_eq(gc_batch_list_load(p, NULL, &l, &e), 0);
    ck_assert_str_eq(l.root, "/srv/img/");
    ck_assert_str_eq(l.rel[0], "a.jpg");
    gc_batch_list_free(&l);
    /* an empty part right after the root names the same file as the path
     * without it: the same folder, not one under "_root" (img//a.jpg had
     * been explained again into _root/a.jpg) */
    touch(dir, "empty.txt", "img//a.jpg\nimg/a.jpg\nimg/.//b.jpg\n");
    pf(p, sizeof p, "%s/empty.txt", dir);
    ck_assert_int_eq(gc_batch_list_load(p, NULL, &l, &e), 0);
    ck_assert_str_eq(l.root, "img/");
    ck_assert_str_eq(l.rel[0], "a.jpg");
    ck_assert_str_eq(l.rel[1], "a.jpg");
    ck_assert_str_eq(l.rel[2], "b.jpg");
    gc_batch_list_free(&l);
    /* no common folder: the whole path, an absolute one under "_root" */
    touch(dir, "two.txt", "/srv/a.jpg\nrel/b.jpg\nsrv/a.jpg\n");
    pf(p, sizeof p, "%s/two.txt", dir);
    ck_assert_int_eq(gc_batch_list_load(p, NULL, &l, &e), 0);
    ck_assert_str_eq(l.root, "");
    ck_assert_str_eq(l.rel[0], "_root/srv/a.jpg");
    ck_assert_str_eq(l.rel[1], "rel/b.jpg");
    ck_assert_str_eq(l.rel[2], "srv/a.jpg"); /* another file: another folder */
    gc_batch_list_free(&l);
    /* one to one: parts that differ give folders that differ, whatever their
     * '.' and '_' (".." had been written "__", a real folder's name) */
    touch(dir, "esc.txt",
          "p/../x/a.jpg\np/__/x/a.jpg\np/_../x/a.jpg\np/.a.jpg\np/_.a.jpg\np/_a.jpg\np/a.jpg\np/_/a.jpg\n"
          "p/_root/a.jpg\n");
    pf(p, sizeof p, "%s/esc.txt", dir);
    ck_assert_int_eq(gc_batch_list_load(p, NULL, &l, &e), 0);
    ck_assert_str_eq(l.root, "p/");
    static const char *want[] = {"_../x/a.jpg", "___/x/a.jpg", "__../x/a.jpg", "_.a.jpg", "__.a.jpg",
                                 "__a.jpg",     "a.jpg",       "__/a.jpg",     "__root/a.jpg"};
    ck_assert_int_eq(l.n, 9);
    for (int i = 0; i < l.n; ++i) ck_assert_str_eq(l.rel[i], want[i]);
    gc_batch_list_free(&l);
    /* a first part named like the run's own files (index.jsonl, errors.jsonl
     * at the top of -outdir) gets a leading '_'; deeper parts are free */
    touch(dir, "own.txt",
          "d/index.jsonl\nd/errors.shard-1-of-2.jsonl/a.png\nd/x/index.jsonl\nd/index.jsonl.tmp/b.png\n"
          "d/index.jsonl.tmpx/c.png\n");
    pf(p, sizeof p, "%s/own.txt", dir);
    ck_assert_int_eq(gc_batch_list_load(p, NULL, &l, &e), 0);
    ck_assert_str_eq(l.rel[0], "_index.jsonl");
    ck_assert_str_eq(l.rel[1], "_errors.shard-1-of-2.jsonl/a.png");
    ck_assert_str_eq(l.rel[2], "x/index.jsonl");
    /* and their temporary names: a folder index.jsonl.tmp had taken the
     * index's, so that every rewrite of the index failed ("Is a directory") */
    ck_assert_str_eq(l.rel[3], "_index.jsonl.tmp/b.png");
    ck_assert_str_eq(l.rel[4], "index.jsonl.tmpx/c.png");
    gc_batch_list_free(&l);
    /* a UTF-8 byte order mark (a list saved by a Windows editor) is not part of the first path */
    touch(dir, "bom.txt", "\xef\xbb\xbfimg/a.jpg\r\nimg/b.jpg\r\n");
    pf(p, sizeof p, "%s/bom.txt", dir);
    ck_assert_int_eq(gc_batch_list_load(p, NULL, &l, &e), 0);
    ck_assert_str_eq(l.path[0], "img/a.jpg");
    ck_assert_str_eq(l.root, "img/");
    gc_batch_list_free(&l);
    touch(dir, "blank.txt", "\n \n");
    pf(p, sizeof p, "%s/blank.txt", dir);
    ck_assert_int_eq(gc_batch_list_load(p, NULL, &l, &e), -1);
    ck_assert_msg(strstr(e.msg, "no images") != NULL, "%s", e.msg);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(shard_spec)
{
    int i = -1, n = -1;
    gc_err e;
    ck_assert_int_eq(gc_batch_shard_parse("2/3", &i, &n, &e), 0);
    ck_assert_int_eq(i, 2);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(gc_batch_shard_parse("0/1", &i, &n, &e), 0);
    const char *bad[] = {"3/3", "-1/3", "1", "1/0", "a/b", "1/3x", "/3", "1/"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; ++k) {
        ck_assert_msg(gc_batch_shard_parse(bad[k], &i, &n, &e) == -1, "%s accepted", bad[k]);
        ck_assert_msg(strstr(e.msg, bad[k]) != NULL, "%s", e.msg);
    }
    /* i < n, but n over the bound: the message gives the bound (it had said
     * only "0 <= i < n", which 1/2000000 is) */
    ck_assert_int_eq(gc_batch_shard_parse("0/1000000", &i, &n, &e), 0);
    ck_assert_int_eq(gc_batch_shard_parse("1/2000000", &i, &n, &e), -1);
    ck_assert_msg(strstr(e.msg, "n <= 1000000") != NULL, "%s", e.msg);
    char buf[256];
    gc_batch_index_path("o", 1, 3, "index", buf, sizeof buf);
    ck_assert_str_eq(buf, "o/index.shard-1-of-3.jsonl");
    gc_batch_index_path("o", 0, 1, "errors", buf, sizeof buf);
    ck_assert_str_eq(buf, "o/errors.jsonl");
}
END_TEST

START_TEST(usage_errors)
{
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", "x.txt", NULL), 2);
    ck_assert_msg(strstr(err, "gradcam: -list needs -outdir") != NULL, "%s", err);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "img.png", "-list", "x.txt", "-outdir", "o", NULL), 2);
    ck_assert_msg(strstr(err, "give one or the other") != NULL, "%s", err);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "img.png", "-resume", NULL), 2);
    ck_assert_msg(strstr(err, "go with -list") != NULL, "%s", err);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "img.png", "-jobs", "2", NULL), 2);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", "x", "-outdir", "o", "-jobs", "0", NULL), 2);
    ck_assert_msg(strstr(err, "-jobs 0") != NULL, "%s", err);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", "x", "-outdir", "o", "-json", "r.json", NULL), 2);
    ck_assert_msg(strstr(err, "-out and -json are per image") != NULL, "%s", err);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", "x", "-outdir", "o", "-shard", "3/3", NULL), 2);
    ck_assert_msg(strstr(err, "-shard 3/3") != NULL, "%s", err);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", "no-such-list.txt", "-outdir", "o", NULL), 1);
    ck_assert_msg(strstr(err, "gradcam: -list no-such-list.txt") != NULL, "%s", err);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "img.png", "-batch", "4", NULL), 2);
    ck_assert_msg(strstr(err, "-batch, -progress and -quiet go with -list") != NULL, "%s", err);
    /* as do -progress and -shard 0/1 (both were taken and ignored) */
    const char *lone[][2] = {{"-progress", "5"}, {"-shard", "0/1"}};
    for (int k = 0; k < 2; ++k) {
        ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, gcf_darknet_path("data/dog.jpg"), lone[k][0], lone[k][1], NULL), 2);
        ck_assert_msg(strstr(err, "go with -list FILE|DIR") != NULL, "%s: %s", lone[k][0], err);
    }
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", "x", "-outdir", "o", "-batch", "0", NULL), 2);
    ck_assert_msg(strstr(err, "-batch 0") != NULL, "%s", err);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", "x", "-outdir", "o", "-batch", "65", NULL), 2);
    ck_assert_msg(strstr(err, "-batch 65") != NULL, "%s", err);
    ck_assert_int_eq(run("merge", NULL), 2);
    ck_assert_int_eq(run("merge", "no-such-dir", NULL), 1);
    ck_assert_msg(strstr(err, "no-such-dir") != NULL, "%s", err);
    /* an index whose list is longer than a run takes is corrupt (merge sized
     * its tables by it and said "out of memory"); the longest a run takes is
     * still read */
    char *d = gcf_tempdir(), o[4096];
    ck_assert_ptr_nonnull(d);
    touch(d, "index.jsonl", "{\"n\": 0, \"of\": 1000000000000, \"targets\": 0, \"image\": \"a.png\"}\n");
    pf(o, sizeof o, "%s/merged.jsonl", d);
    ck_assert_int_eq(run("merge", d, "-o", o, NULL), 1);
    ck_assert_msg(strstr(err, "index.jsonl line 1: a list of 1000000000000 images, more than the 20000000 one run "
                              "takes: a corrupt index\n"),
                  "%s", err);
    ck_assert_int_eq(access(o, F_OK), -1);
    touch(d, "index.jsonl", "{\"n\": 0, \"of\": 20000000, \"targets\": 0, \"image\": \"a.png\"}\n");
    ck_assert_int_eq(run("merge", d, "-o", o, NULL), 1);
    ck_assert_msg(strstr(err, "merge: 19999999 of 20000000 images missing (list positions 1, 2, 3, 4, 5, ...;"), "%s",
                  err);
    ck_assert_int_eq(access(o, F_OK), -1);
    /* indexes of two lists: named by the files whose lines disagree (an
     * empty first index was named as the other) */
    touch(d, "a/index.jsonl", "");
    touch(d, "b/index.jsonl", "{\"n\": 0, \"of\": 3, \"targets\": 0, \"image\": \"a.png\"}\n");
    touch(d, "c/index.jsonl", "{\"n\": 1, \"of\": 4, \"targets\": 0, \"image\": \"b.png\"}\n");
    char a[4096], b[4096], c[4096];
    pf(a, sizeof a, "%s/a", d);
    pf(b, sizeof b, "%s/b", d);
    pf(c, sizeof c, "%s/c", d);
    ck_assert_int_eq(run("merge", a, b, c, "-o", o, NULL), 1);
    ck_assert_msg(strstr(err, "/c/index.jsonl line 1 is from a list of 4 images, ") &&
                      strstr(err, "/b/index.jsonl from one of 3: not one list\n"),
                  "%s", err);
    ck_assert_int_eq(access(o, F_OK), -1);
    gcf_rmtree(d);
    free(d);
}
END_TEST

/* ---- end to end on demo scenes ---- */

typedef struct scenes {
    char *dir;
    char list[4096], sc[4096];
    int ok;
} scenes;

static void scenes_make(scenes *s, const char *kind, int count)
{
    memset(s, 0, sizeof *s);
    if (access(FM_DIR, R_OK) != 0 || access(DET_WEIGHTS, R_OK) != 0) {
        printf("check_batch: %s or the demo weights missing: skipped\n", FM_DIR);
        return;
    }
    s->dir = gcf_tempdir();
    ck_assert_ptr_nonnull(s->dir);
    pf(s->sc, sizeof s->sc, "%s/scenes", s->dir);
    char n[16];
    pf(n, sizeof n, "%d", count);
    ck_assert_msg(run("scenes", kind, "test", n, s->sc, NULL) == 0, "%s", err);
    pf(s->list, sizeof s->list, "%s/list.txt", s->sc);
    s->ok = 1;
}

static void scenes_free(scenes *s)
{
    if (s->dir) gcf_rmtree(s->dir);
    free(s->dir);
}

static void path_in(const scenes *s, const char *rel, char *buf)
{
    pf(buf, 4096, "%s/%s", s->dir, rel);
}

/* The JSON value after `"name": ` at p: `null` or a quoted string, copied
 * into buf (quotes included). */
static void json_name_at(const char *p, char *buf, size_t n)
{
    const char *v = strstr(p, "\"name\": ");
    ck_assert_ptr_nonnull(v);
    v += strlen("\"name\": ");
    const char *end = *v == '"' ? strchr(v + 1, '"') + 1 : v + 4;
    ck_assert_uint_lt((size_t)(end - v), n);
    memcpy(buf, v, (size_t)(end - v));
    buf[end - v] = '\0';
}

/* A class the names file does not name (a blank line; a file shorter than
 * the classes is refused) is `"name": null` in the main command's -json, as in a -list index and
 * eval's report: a script reads one convention, the class index beside it.
 * -json had said "class 4", a made-up string, where the index said null.
 * The text on stdout keeps "class 4". */
START_TEST(an_unnamed_class_is_null_in_json_and_index)
{
    scenes s;
    scenes_make(&s, "det", 4);
    if (!s.ok) return;
    char names[4096], o[4096], json[4096], prefix[4096];
    path_in(&s, "one.names", names);
    path_in(&s, "out", o);
    path_in(&s, "single.json", json);
    path_in(&s, "single/gc", prefix);
    FILE *f = fopen(names, "w");
    ck_assert_ptr_nonnull(f);
    fputs("top\n\n\n\n\n\n\n\n\nlast\n", f); /* classes 0 and 9 named, of 10 */
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-names", names, "-quiet", NULL) == 0, "%s",
                  gcf_tail(err, 600));
    char index[4096];
    pf(index, sizeof index, "%s/index.jsonl", o);
    char *idx = slurp(index, NULL);
    ck_assert_ptr_nonnull(idx);
    int nulls = 0;
    for (int i = 0; i < 4; ++i) {
        char img[4096];
        pf(img, sizeof img, "%s/%06d.png", s.sc, i);
        ck_assert_msg(run(DET_CFG, DET_WEIGHTS, img, "-out", prefix, "-names", names, "-json", json, NULL) == 0, "%s",
                      gcf_tail(err, 600));
        char *js = slurp(json, NULL);
        ck_assert_ptr_nonnull(js);
        for (int k = 0;; ++k) {
            char key[64], a[160], b[160];
            pf(key, sizeof key, "{\"index\": %d, \"class\": ", k);
            const char *p = strstr(js, key);
            if (!p) break;
            int cls = atoi(p + strlen(key));
            json_name_at(p, a, sizeof a);
            pf(key, sizeof key, "{\"n\": %d, ", i);
            const char *q = strstr(idx, key);
            for (int j = 0; q && j < k; ++j) q = strstr(q + 1, key);
            ck_assert_msg(q != NULL, "image %d box %d: not in the index", i, k);
            json_name_at(q, b, sizeof b);
            ck_assert_msg(!strcmp(a, b), "image %d box %d (class %d): -json %s, index %s", i, k, cls, a, b);
            ck_assert_str_eq(a, cls == 0 ? "\"top\"" : cls == 9 ? "\"last\"" : "null");
            if (cls && cls != 9) {
                ++nulls;
                char line[64]; /* the text keeps its "class N" */
                pf(line, sizeof line, "box %d class %d: ", k, cls);
                ck_assert_msg(strstr(out, line) != NULL, "%s not in\n%s", line, out);
            }
        }
        free(js);
    }
    ck_assert_int_gt(nulls, 0);
    free(idx);
    scenes_free(&s);
}
END_TEST

START_TEST(list_equals_single_image_runs)
{
    scenes s;
    scenes_make(&s, "det", 12);
    if (!s.ok) return;
    char o[4096];
    path_in(&s, "out", o);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-names", "cfg/fmnist.names", NULL) == 0,
                  "%s", gcf_tail(err, 600));
    char index[4096];
    pf(index, sizeof index, "%s/index.jsonl", o);
    ck_assert_msg(strstr(out, index) != NULL, "%s", out);
    ck_assert_msg(strstr(err, "12 explained, 0 skipped") && strstr(err, "0 errors"), "%s", gcf_tail(err, 600));
    char *idx = slurp(index, NULL);
    ck_assert_ptr_nonnull(idx);
    /* Each image, through the main command on its own: the same boxes and the same bytes. */
    int lines = 0, boxes_total = 0;
    for (int i = 0; i < 12; ++i) {
        char img[4096], prefix[4096], key[64];
        pf(img, sizeof img, "%s/%06d.png", s.sc, i);
        pf(prefix, sizeof prefix, "%s/single", s.dir);
        char single_dir[4096];
        pf(single_dir, sizeof single_dir, "%s/single", s.dir);
        gcf_rmtree(single_dir);
        mkdir(single_dir, 0777);
        pf(prefix, sizeof prefix, "%s/single/gc", s.dir);
        ck_assert_msg(run(DET_CFG, DET_WEIGHTS, img, "-out", prefix, "-names", "cfg/fmnist.names", NULL) == 0, "%s", err);
        /* the main command prints a "box K ..." line per box */
        int nbox = 0;
        for (const char *p = out; *p;) {
            if (!strncmp(p, "box ", 4)) nbox++;
            const char *nl = strchr(p, '\n');
            if (!nl) break;
            p = nl + 1;
        }
        boxes_total += nbox;
        pf(key, sizeof key, "{\"n\": %d, \"of\": 12, \"targets\": %d, ", i, nbox);
        int found = 0;
        for (const char *p = idx; (p = strstr(p, key)); ++p) found++;
        ck_assert_msg(found == (nbox ? nbox : 1), "image %d: %d boxes, %d index lines", i, nbox, found);
        lines += found;
        for (int k = 0; k < nbox; ++k) {
            const char *ext[] = {"png", "npy"};
            for (int x = 0; x < 2; ++x) {
                char a[4096], b[4096];
                pf(a, sizeof a, "%s_%d.%s", prefix, k, ext[x]);
                pf(b, sizeof b, "%s/%06d.png/gradcam_%d.%s", o, i, k, ext[x]);
                ck_assert_msg(same_file(a, b), "%s differs from %s", b, a);
                /* and the index names it, relative to the index's folder */
                char rel[128];
                pf(rel, sizeof rel, "\"%s\": \"%06d.png/gradcam_%d.%s\"", ext[x], i, k, ext[x]);
                ck_assert_msg(strstr(idx, rel) != NULL, "%s not in the index", rel);
            }
            char a[4096], b[4096];
            pf(a, sizeof a, "%s_summary.png", prefix);
            pf(b, sizeof b, "%s/%06d.png/gradcam_summary.png", o, i);
            ck_assert(same_file(a, b));
        }
    }
    ck_assert_int_gt(boxes_total, 12);
    ck_assert_int_eq(count_lines(index), lines);
    ck_assert_msg(strstr(idx, "\"method\": \"layercam\"") && strstr(idx, "\"counterfactual\": false, \"smooth\": null, ") &&
                      strstr(idx, "\"name\": \"") &&
                      strstr(idx, "\"energy_in_box\": 0.") && strstr(idx, "\"box\": ["),
                  "%.400s", idx);
    free(idx);
    /* no temporary folder is left behind */
    char tmp[4096];
    pf(tmp, sizeof tmp, "%s/.tmp", o);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    /* a second run on the same folder needs -resume; with it, nothing is redone */
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, NULL), 1);
    ck_assert_msg(strstr(err, "add -resume") != NULL, "%s", gcf_tail(err, 400));
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-resume", "-names", "cfg/fmnist.names",
                         NULL),
                     0);
    ck_assert_msg(strstr(err, "0 explained, 12 skipped"), "%s", gcf_tail(err, 400));
    ck_assert_int_eq(count_lines(index), lines);
    /* resuming with another list is refused */
    char other[4096];
    path_in(&s, "other.txt", other);
    FILE *f = fopen(other, "w");
    fprintf(f, "%s/000003.png\n", s.sc);
    fclose(f);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", other, "-outdir", o, "-resume", "-names", "cfg/fmnist.names",
                         NULL),
                     1);
    ck_assert_msg(strstr(err, "(it has \"list: 12 images, CRC-32 ") && strstr(err, "this run \"list: 1 image, CRC-32 "),
                  "%s", gcf_tail(err, 400));
    /* and with other options (which would mix two settings in one index):
     * refused, naming the first that differs; the index untouched */
    char *before = slurp(index, NULL);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-resume", "-names", "cfg/fmnist.names",
                         "-method", "gradcam", NULL),
                     1);
    ck_assert_msg(strstr(err, "this folder's run had other options (it has \"method: layercam\", this run "
                              "\"method: gradcam\")"),
                  "%s", gcf_tail(err, 400));
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-resume", NULL), 1);
    ck_assert_msg(strstr(err, "(it has \"names: a file of 62 bytes, CRC-32 64d6362c\", this run \"names: none\")"), "%s",
                  gcf_tail(err, 400));
    idx = slurp(index, NULL);
    ck_assert_msg(idx && before && !strcmp(idx, before), "a refused -resume changed the index");
    free(idx);
    free(before);
    /* the files count by their contents: a copy elsewhere (a node's own disk)
     * is the same model, a changed byte is not */
    char copy[4096], changed[4096];
    path_in(&s, "copy.weights", copy);
    path_in(&s, "changed.weights", changed);
    size_t wn;
    char *w = slurp(DET_WEIGHTS, &wn);
    ck_assert_ptr_nonnull(w);
    FILE *wf = fopen(copy, "wb");
    ck_assert_uint_eq(fwrite(w, 1, wn, wf), wn);
    fclose(wf);
    w[wn - 1] ^= 1;
    wf = fopen(changed, "wb");
    ck_assert_uint_eq(fwrite(w, 1, wn, wf), wn);
    fclose(wf);
    free(w);
    ck_assert_msg(run(DET_CFG, copy, "-list", s.list, "-outdir", o, "-resume", "-names", "cfg/fmnist.names", NULL) == 0,
                  "%s", gcf_tail(err, 400));
    ck_assert_int_eq(run(DET_CFG, changed, "-list", s.list, "-outdir", o, "-resume", "-names", "cfg/fmnist.names", NULL),
                     1);
    ck_assert_msg(strstr(err, "other options (it has \"weights: a file of"), "%s", gcf_tail(err, 400));
    /* a folder whose first run recorded nothing (every image failed) takes a
     * run with other options */
    char bad[4096], o2[4096];
    path_in(&s, "bad", bad);
    touch(bad, "x.png", "not an image");
    path_in(&s, "out2", o2);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", bad, "-outdir", o2, "-method", "layercam", NULL), 1);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", bad, "-outdir", o2, "-method", "gradcam", NULL), 1);
    ck_assert_msg(strstr(err, "1 error;") && !strstr(err, "other options"), "%s", gcf_tail(err, 400));
    scenes_free(&s);
}
END_TEST

START_TEST(same_basenames_in_subfolders)
{
    scenes s;
    scenes_make(&s, "det", 4);
    if (!s.ok) return;
    /* photos/a/x.png and photos/b/x.png: different scenes, one name */
    char a[4096], b[4096], c[4096], cmd_src[4096];
    path_in(&s, "photos/a", a);
    path_in(&s, "photos/b", b);
    path_in(&s, "photos", c);
    mkdir(c, 0777);
    mkdir(a, 0777);
    mkdir(b, 0777);
    for (int i = 0; i < 2; ++i) {
        pf(cmd_src, sizeof cmd_src, "%s/%06d.png", s.sc, i + 1);
        char dst[4096];
        pf(dst, sizeof dst, "%s/x.png", i ? b : a);
        ck_assert(link(cmd_src, dst) == 0 || symlink(cmd_src, dst) == 0);
    }
    char o[4096];
    path_in(&s, "out", o);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", c, "-outdir", o, "-quiet", NULL) == 0, "%s", gcf_tail(err, 400));
    char na[4096], nb[4096];
    pf(na, sizeof na, "%s/a/x.png/gradcam_0.npy", o);
    pf(nb, sizeof nb, "%s/b/x.png/gradcam_0.npy", o);
    ck_assert_int_eq(access(na, R_OK), 0);
    ck_assert_int_eq(access(nb, R_OK), 0);
    ck_assert_msg(!same_file(na, nb), "two different scenes gave the same map");
    /* -quiet: no progress lines, the summary only */
    ck_assert_msg(!strstr(err, "images, ") && strstr(err, "2 explained"), "%s", gcf_tail(err, 400));
    char idx[4096];
    pf(idx, sizeof idx, "%s/index.jsonl", o);
    char *t = slurp(idx, NULL);
    ck_assert_msg(strstr(t, "\"png\": \"a/x.png/gradcam_0.png\"") && strstr(t, "\"png\": \"b/x.png/gradcam_0.png\""),
                  "%s", t);
    free(t);
    /* an image named like the run's index, alone in a list: its folder is
     * _index.jsonl, beside the index (it failed: "a file is there") */
    char own[4096], list[4096], o2[4096], got[4200];
    pf(own, sizeof own, "%s/index.jsonl", c);
    pf(cmd_src, sizeof cmd_src, "%s/%06d.png", s.sc, 3);
    ck_assert(link(cmd_src, own) == 0 || symlink(cmd_src, own) == 0);
    path_in(&s, "own.txt", list);
    FILE *lf = fopen(list, "w");
    ck_assert_ptr_nonnull(lf);
    fprintf(lf, "%s\n", own);
    fclose(lf);
    path_in(&s, "out2", o2);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", list, "-outdir", o2, "-quiet", NULL) == 0, "%s", gcf_tail(err, 400));
    pf(got, sizeof got, "%s/_index.jsonl/gradcam_summary.png", o2);
    ck_assert_int_eq(access(got, R_OK), 0);
    pf(got, sizeof got, "%s/index.jsonl", o2);
    t = slurp(got, NULL);
    ck_assert_msg(strstr(t, "\"png\": \"_index.jsonl/gradcam_0.png\""), "%s", t);
    free(t);
    scenes_free(&s);
}
END_TEST

/* Images whose paths differ get folders that differ: "P/../x/a.png" and a
 * real folder "P/__/x/a.png" (both had been written "__/x/a.png", the second
 * image reported as an error and not explained), and the same path listed
 * twice is the second entry's error, naming the first. */
START_TEST(list_folders_one_to_one)
{
    scenes s;
    scenes_make(&s, "det", 2);
    if (!s.ok) return;
    char d[4096], src[4096], a[4096], b[4096], list[4096], o[4096], got[4300];
    const char *dirs[] = {"P", "x", "P/__", "P/__/x"};
    for (int i = 0; i < 4; ++i) {
        path_in(&s, dirs[i], d);
        ck_assert_int_eq(mkdir(d, 0777), 0);
    }
    path_in(&s, "x/a.png", a);
    path_in(&s, "P/__/x/a.png", b);
    for (int i = 0; i < 2; ++i) {
        pf(src, sizeof src, "%s/%06d.png", s.sc, i);
        ck_assert_int_eq(link(src, i ? b : a), 0);
    }
    path_in(&s, "l.txt", list);
    FILE *f = fopen(list, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s/P/../x/a.png\n%s\n%s\n", s.dir, b, b);
    fclose(f);
    path_in(&s, "out", o);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", list, "-outdir", o, "-quiet", NULL), 1);
    ck_assert_msg(strstr(err, "2 explained, 0 skipped (already in the index), 1 error;") &&
                      strstr(err, "same output folder ___/x/a.png as list position 1 ("),
                  "%s", gcf_tail(err, 800));
    pf(got, sizeof got, "%s/_../x/a.png/gradcam_summary.png", o);
    ck_assert_msg(access(got, R_OK) == 0, "%s", got);
    pf(got, sizeof got, "%s/___/x/a.png/gradcam_summary.png", o);
    ck_assert_msg(access(got, R_OK) == 0, "%s", got);
    /* each folder holds its own image's maps: the scenes differ */
    char n0[4300], n1[4300];
    pf(n0, sizeof n0, "%s/_../x/a.png/gradcam_0.npy", o);
    pf(n1, sizeof n1, "%s/___/x/a.png/gradcam_0.npy", o);
    size_t l0 = 0, l1 = 0;
    char *m0 = slurp(n0, &l0), *m1 = slurp(n1, &l1);
    ck_assert_ptr_nonnull(m0);
    ck_assert_ptr_nonnull(m1);
    ck_assert(l0 != l1 || memcmp(m0, m1, l0) != 0);
    free(m0);
    free(m1);
    scenes_free(&s);
}
END_TEST

/* An image whose name is 255 bytes and starts with '_' (a folder's: a
 * hidden one is left out) or '.' (a list's) is explained into its
 * shortened folder; both had failed with "File name too long". */
START_TEST(long_names_are_explained)
{
    scenes s;
    scenes_make(&s, "det", 2);
    if (!s.ok) return;
    char name[2][256], d[4096], src[4096], dst[4400], o[4096], got[4400];
    for (int i = 0; i < 2; ++i) {
        memset(name[i], 'a', 255);
        name[i][0] = i ? '.' : '_';
        memcpy(name[i] + 251, ".png", 5);
    }
    path_in(&s, "img", d);
    ck_assert_int_eq(mkdir(d, 0777), 0);
    for (int i = 0; i < 2; ++i) {
        pf(src, sizeof src, "%s/%06d.png", s.sc, i);
        pf(dst, sizeof dst, "%s/%s", d, name[i]);
        ck_assert_int_eq(link(src, dst), 0);
    }
    path_in(&s, "out", o);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", d, "-outdir", o, "-quiet", NULL) == 0, "%s", gcf_tail(err, 800));
    ck_assert_msg(strstr(err, "1 image: 1 explained"), "%s", gcf_tail(err, 800));
    pf(got, sizeof got, "%s/_~%.236s~%s/gradcam_summary.png", o, name[0], "2be237dd03f54789");
    ck_assert_msg(access(got, R_OK) == 0, "%s", got);
    char list[4096];
    path_in(&s, "l.txt", list);
    FILE *f = fopen(list, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s/%s\n%s/%s\n", d, name[0], d, name[1]);
    fclose(f);
    path_in(&s, "out2", o);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", list, "-outdir", o, "-quiet", NULL) == 0, "%s", gcf_tail(err, 800));
    ck_assert_msg(strstr(err, "2 images: 2 explained"), "%s", gcf_tail(err, 800));
    pf(got, sizeof got, "%s/_~%.236s~%s/gradcam_summary.png", o, name[1], "6173b41bb66328da");
    ck_assert_msg(access(got, R_OK) == 0, "%s", got);
    scenes_free(&s);
}
END_TEST

START_TEST(bad_images_are_skipped_and_reported)
{
    scenes s;
    scenes_make(&s, "det", 3);
    if (!s.ok) return;
    char list[4096], bad[4096], o[4096];
    path_in(&s, "bad.png", bad);
    FILE *f = fopen(bad, "w");
    fputs("not a png", f);
    fclose(f);
    path_in(&s, "l.txt", list);
    f = fopen(list, "w");
    fprintf(f, "%s/000000.png\n%s/missing.png\n%s\n%s/000001.png\n", s.sc, s.dir, bad, s.sc);
    fclose(f);
    path_in(&s, "out", o);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", list, "-outdir", o, "-progress", "1", NULL), 1);
    /* each image named once on its line (it had been "gradcam: x: cannot open image x: ...") */
    char want_missing[4200], want_bad[4200];
    pf(want_missing, sizeof want_missing, "\ngradcam: cannot open image %s/missing.png: ", s.dir);
    pf(want_bad, sizeof want_bad, "\ngradcam: cannot decode image %s: ", bad);
    ck_assert_msg(strstr(err, want_missing) && strstr(err, want_bad) &&
                      strstr(err, "2 explained, 0 skipped (already in the index), 2 errors") &&
                      strstr(err, "gradcam: 2 of 4 images failed: see"),
                  "%s", gcf_tail(err, 800));
    /* -progress 1 without a terminal: a line per image */
    ck_assert_msg(strstr(err, "gradcam: 1/4 images") && strstr(err, "gradcam: 4/4 images"), "%s", gcf_tail(err, 800));
    char ef[4096], idx[4096];
    pf(ef, sizeof ef, "%s/errors.jsonl", o);
    pf(idx, sizeof idx, "%s/index.jsonl", o);
    ck_assert_int_eq(count_lines(ef), 2);
    char *t = slurp(ef, NULL);
    ck_assert_msg(strstr(t, "{\"n\": 1, \"of\": 4, \"image\": ") && strstr(t, "{\"n\": 2, \"of\": 4, "), "%s", t);
    free(t);
    t = slurp(idx, NULL);
    ck_assert_msg(!strstr(t, "missing.png") && !strstr(t, "bad.png") && strstr(t, "{\"n\": 3, "), "%s", t);
    free(t);
    /* the index misses two images of the list, which its errors file has:
     * merge keeps the index as it is and exits 1 naming them */
    char *before = slurp(idx, NULL);
    ck_assert_int_eq(run("merge", o, NULL), 1);
    ck_assert_msg(strstr(err, "gradcam: 2 of 4 images failed (list positions 1, 2): see the errors files"), "%s", err);
    t = slurp(idx, NULL);
    ck_assert_msg(t && before && !strcmp(t, before), "merge changed a whole run's index");
    free(t);
    free(before);
    /* fixed, then resumed: only the failed images are redone, and the index ends in list order */
    char fix[4096], src[4096];
    pf(fix, sizeof fix, "%s/missing.png", s.dir);
    pf(src, sizeof src, "%s/000002.png", s.sc);
    ck_assert_int_eq(symlink(src, fix), 0);
    unlink(bad);
    ck_assert_int_eq(symlink(src, bad), 0);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", list, "-outdir", o, "-resume", NULL) == 0, "%s",
                  gcf_tail(err, 400));
    ck_assert_msg(strstr(err, "2 explained, 2 skipped (already in the index), 0 errors"), "%s", gcf_tail(err, 400));
    ck_assert_int_eq(count_lines(ef), 0);
    t = slurp(idx, NULL);
    long last = -1;
    for (const char *p = t; *p;) {
        long n;
        ck_assert_int_eq(sscanf(p, "{\"n\": %ld,", &n), 1);
        ck_assert_int_ge(n, last);
        last = n;
        p = strchr(p, '\n') + 1;
    }
    ck_assert_int_eq(last, 3);
    free(t);
    ck_assert_msg(run("merge", o, "-o", idx, NULL) == 0, "%s", err);
    ck_assert_msg(strstr(out, "merged 4 images"), "%s", out);
    /* an errors file that is a link to /dev/zero is not read: merge had read
     * it as one line until its 2 GB limit here (without one, the machine's
     * memory), then ignored it */
    ck_assert_int_eq(unlink(ef), 0);
    ck_assert_int_eq(symlink("/dev/zero", ef), 0);
    char cmd[16384];
#if defined(__SANITIZE_ADDRESS__)
    /* ASan reserves its shadow beyond any address-space limit: no limit, and
     * its own memory use is not the program's */
    const char *limit = "";
    int asan = 1;
#else
    const char *limit = "ulimit -v 2000000; ";
    int asan = 0;
#endif
    pf(cmd, sizeof cmd, "%sexec %s gradcam merge %s -o %s", limit, gcf_shell_binary(), o, idx);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    ck_assert_msg(gcf_run(argv, out, sizeof out, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(strstr(out, "merged 4 images"), "%s", out);
    struct rusage ru;
    ck_assert_int_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
    ck_assert_msg(asan || ru.ru_maxrss < 300 * 1024, "a child reached %ld KB", ru.ru_maxrss);
    scenes_free(&s);
}
END_TEST

/* Bytes of every file below dir. */
static long long tree_bytes(const char *dir)
{
    static char names[2048][512];
    int n = 0;
    list_tree(dir, "", names, &n, 2048);
    long long total = 0;
    for (int i = 0; i < n; ++i) {
        char p[4096];
        struct stat st;
        pf(p, sizeof p, "%s/%s", dir, names[i]);
        ck_assert_int_eq(stat(p, &st), 0);
        total += st.st_size;
    }
    return total;
}

static int count_str(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what)) ++n;
    return n;
}

/* What an -outdir that could take no more left: every index line is one of
 * the uninterrupted run's (ref) and each image's lines are all there; every
 * output file belongs to an image of the index and has ref's bytes (no
 * half-written file, no folder of an image the index lacks). Files under
 * .tmp are not outputs. Returns the number of images in the index. */
static int assert_stopped_run_is_a_prefix(const char *ref, const char *o)
{
    char ri[4096], oi[4096];
    pf(ri, sizeof ri, "%s/index.jsonl", ref);
    pf(oi, sizeof oi, "%s/index.jsonl", o);
    char *want = slurp(ri, NULL), *got = slurp(oi, NULL);
    ck_assert_ptr_nonnull(want);
    if (!got) got = strdup(""); /* stopped before its first line */
    int images = 0;
    static char folders[256][512];
    int nfolders = 0;
    for (char *p = got; *p;) {
        char *eol = strchr(p, '\n');
        ck_assert_msg(eol != NULL, "%s ends in a torn line: %s", oi, p);
        *eol = '\0';
        char line[8192];
        pf(line, sizeof line, "%s\n", p);
        ck_assert_msg(strstr(want, line) != NULL, "%s has a line the uninterrupted run has not: %s", oi, p);
        long n, targets;
        ck_assert_int_eq(sscanf(p, "{\"n\": %ld, \"of\": %*d, \"targets\": %ld,", &n, &targets), 2);
        /* the image's other lines follow */
        for (long k = 1; k < targets; ++k) {
            p = eol + 1;
            eol = strchr(p, '\n');
            long n2;
            ck_assert_msg(eol && sscanf(p, "{\"n\": %ld,", &n2) == 1 && n2 == n, "image %ld has %ld of its %ld lines",
                          n, k, targets);
            *eol = '\0';
            pf(line, sizeof line, "%s\n", p);
            ck_assert_msg(strstr(want, line) != NULL, "%s has a line the uninterrupted run has not: %s", oi, p);
        }
        const char *png = strstr(p, "\"png\": \"");
        if (png) { /* the image's folder */
            png += 8;
            const char *slash = strchr(png, '/');
            ck_assert_ptr_nonnull(slash);
            ck_assert_int_lt(nfolders, 256);
            pf(folders[nfolders++], 512, "%.*s", (int)(slash - png), png);
        }
        ++images;
        p = eol + 1;
    }
    static char names[2048][512];
    int n = 0;
    list_tree(o, "", names, &n, 2048);
    for (int i = 0; i < n; ++i) {
        if (!strncmp(names[i], ".tmp/", 5) || !strcmp(names[i], "index.jsonl") || !strcmp(names[i], "errors.jsonl") ||
            !strcmp(names[i], ".gradcam-options"))
            continue;
        const char *slash = strrchr(names[i], '/');
        ck_assert_msg(slash != NULL, "%s/%s: not an output", o, names[i]);
        int listed = 0;
        for (int k = 0; k < nfolders && !listed; ++k)
            listed = (size_t)(slash - names[i]) == strlen(folders[k]) && !strncmp(names[i], folders[k], strlen(folders[k]));
        ck_assert_msg(listed, "%s/%s: outputs of an image the index does not name", o, names[i]);
        char a[4096], b[4096];
        pf(a, sizeof a, "%s/%s", ref, names[i]);
        pf(b, sizeof b, "%s/%s", o, names[i]);
        ck_assert_msg(same_file(a, b), "%s is not the uninterrupted run's %s", b, a);
    }
    free(want);
    free(got);
    return images;
}

/* Fills the filesystem of path's folder: a file written until it is refused. */
static void fill_disk(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    static char block[1 << 16];
    memset(block, 'f', sizeof block);
    for (size_t chunk = sizeof block; chunk > 0; chunk /= 2)
        while (write(fd, block, chunk) == (ssize_t)chunk) {
        }
    ck_assert_int_eq(errno, ENOSPC);
    close(fd);
}

/* A full disk is not a bad image: the run stops at the first output file
 * (or index line) the filesystem refuses, instead of failing every image
 * after it, keeps what it finished, and -resume with room again ends with the
 * files of an uninterrupted run. The output folder is a tmpfs (half the
 * outputs' size; then one page for an index alone), mounted in this test
 * process's own mount namespace (root only: skipped otherwise), which goes
 * away with the process. */
START_TEST(a_full_disk_stops_the_run_and_resume_completes)
{
    if (geteuid() != 0) {
        printf("check_batch: not root (no tmpfs to fill): skipped\n");
        return;
    }
    scenes s;
    scenes_make(&s, "det", 12);
    if (!s.ok) return;
    char ref[4096], o[4096], opts[64], tmp[4096];
    path_in(&s, "ref", ref);
    path_in(&s, "out", o);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", ref, "-quiet", NULL) == 0, "%s", err);
    long long bytes = tree_bytes(ref);
    pf(tmp, sizeof tmp, "%s/index.jsonl", ref);
    int lines = count_lines(tmp);
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        printf("check_batch: no mount namespace (%s): skipped\n", strerror(errno));
        scenes_free(&s);
        return;
    }
    ck_assert_int_eq(mkdir(o, 0755), 0);
    pf(opts, sizeof opts, "size=%lld", bytes / 2);
    ck_assert_msg(mount("tmpfs", o, "tmpfs", 0, opts) == 0, "mount: %s", strerror(errno));
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-quiet", NULL), 1);
    ck_assert_msg(strstr(err, "No space left on device; the run stops here (the index holds the images done): rerun "
                              "with -resume when there is room"),
                  "%s", gcf_tail(err, 800));
    /* one image failed (a file of its own, or its index line): the run stopped */
    ck_assert_msg(count_str(err, "No space left on device") == 1, "%s", gcf_tail(err, 800));
    pf(tmp, sizeof tmp, "%s/index.jsonl", o);
    int kept = count_lines(tmp);
    ck_assert_msg(kept >= 0 && kept < lines, "%d of %d index lines", kept, lines);
    assert_stopped_run_is_a_prefix(ref, o);
    pf(tmp, sizeof tmp, "%s/.tmp", o);
    ck_assert_int_ne(access(tmp, F_OK), 0); /* the failed image's folder removed */
    ck_assert_int_eq(mount(NULL, o, NULL, MS_REMOUNT, "size=64m"), 0);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-resume", "-quiet", NULL) == 0, "%s",
                  gcf_tail(err, 400));
    assert_same_tree(ref, o);
    ck_assert_int_eq(umount2(o, MNT_DETACH), 0);

    /* -save none: only index lines, so the disk fills within one (two 4 KiB
     * pages of tmpfs: one for .gradcam-options, one for the index) */
    path_in(&s, "ref-none", ref);
    path_in(&s, "out-none", o);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", ref, "-save", "none", "-quiet", NULL) == 0,
                  "%s", err);
    pf(tmp, sizeof tmp, "%s/index.jsonl", ref);
    struct stat st;
    ck_assert_int_eq(stat(tmp, &st), 0);
    ck_assert_msg(st.st_size > 4096, "the index of 12 scenes is only %lld bytes", (long long)st.st_size);
    ck_assert_int_eq(mkdir(o, 0755), 0);
    ck_assert_msg(mount("tmpfs", o, "tmpfs", 0, "size=8k") == 0, "mount: %s", strerror(errno));
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-save", "none", "-quiet", NULL), 1);
    ck_assert_msg(strstr(err, "cannot append to") &&
                      strstr(err, "No space left on device; the run stops here (the index holds the images done)"),
                  "%s", gcf_tail(err, 800));
    /* the part of the line that fit was cut off again: the lines of the
     * images that fit in the page, whole (the torn one had been left for
     * -resume, and merge refused the index) */
    ck_assert_int_gt(assert_stopped_run_is_a_prefix(ref, o), 0);
    pf(tmp, sizeof tmp, "%s/index.jsonl", o);
    ck_assert_int_eq(stat(tmp, &st), 0);
    ck_assert_int_le(st.st_size, 4096);
    ck_assert_int_eq(mount(NULL, o, NULL, MS_REMOUNT, "size=1m"), 0);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-save", "none", "-resume", "-quiet",
                      NULL) == 0,
                  "%s", gcf_tail(err, 400));
    assert_same_tree(ref, o);
    ck_assert_int_eq(umount2(o, MNT_DETACH), 0);

    /* the errors file full: the run stops too, naming it (the failures had
     * been lost, the run saying "see errors.jsonl" of an empty file) */
    char miss[4096];
    path_in(&s, "missing.txt", miss);
    FILE *f = fopen(miss, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 60; ++i) fprintf(f, "%s/none/missing-image-%d.png\n", s.dir, i);
    ck_assert_int_eq(fclose(f), 0);
    path_in(&s, "out-errors", o);
    ck_assert_int_eq(mkdir(o, 0755), 0);
    ck_assert_msg(mount("tmpfs", o, "tmpfs", 0, "size=4k") == 0, "mount: %s", strerror(errno));
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", miss, "-outdir", o, "-quiet", NULL), 1);
    ck_assert_msg(strstr(err, "errors.jsonl: No space left on device; the run stops here"), "%s", gcf_tail(err, 800));
    ck_assert_int_eq(mount(NULL, o, NULL, MS_REMOUNT, "size=1m"), 0);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", miss, "-outdir", o, "-resume", "-quiet", NULL), 1);
    pf(tmp, sizeof tmp, "%s/errors.jsonl", o);
    ck_assert_int_eq(count_lines(tmp), 60);
    ck_assert_int_eq(umount2(o, MNT_DETACH), 0);
    scenes_free(&s);
}
END_TEST

/* An -outdir that can take no more while the run goes on, after a few
 * images: _i 0, its filesystem filled by another writer; 1, the same with
 * -jobs 2; 2, made read-only (a read-only bind mount put over it: a
 * filesystem with files open for writing cannot be remounted read-only, and
 * this run keeps its index open; the mount's files, new ones included, then
 * refuse every write). Root only: a tmpfs in this test process's own mount
 * namespace. The run and its workers are stopped (SIGSTOP) while the folder
 * changes, so that it changes mid-run on any machine. The run stops with exit status 1 and says to rerun with
 * -resume; the index names only complete images, with the uninterrupted
 * run's lines, and no output file is half written (a full disk: nothing is
 * left under .tmp either); -resume once the folder can be written again ends
 * with exactly the files and index of an uninterrupted run. */
START_TEST(an_outdir_that_becomes_unwritable_mid_run)
{
    if (geteuid() != 0) {
        printf("check_batch: not root (no tmpfs to fill): skipped\n");
        return;
    }
    const char *jobs = _i == 1 ? "2" : "1";
    scenes s;
    scenes_make(&s, "det", 40);
    if (!s.ok) return;
    char ref[4096], mnt[4096], o[4096], idx[4096], filler[4096], errf[4096], cmd[16384];
    path_in(&s, "ref", ref);
    path_in(&s, "mnt", mnt);
    path_in(&s, "stderr.txt", errf);
    pf(o, sizeof o, "%s/out", mnt);
    pf(idx, sizeof idx, "%s/index.jsonl", o);
    pf(filler, sizeof filler, "%s/filler", mnt);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", ref, "-quiet", NULL) == 0, "%s", err);
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        printf("check_batch: no mount namespace (%s): skipped\n", strerror(errno));
        scenes_free(&s);
        return;
    }
    ck_assert_int_eq(mkdir(mnt, 0755), 0);
    ck_assert_msg(mount("tmpfs", mnt, "tmpfs", 0, "size=64m") == 0, "mount: %s", strerror(errno));
    ck_assert_int_eq(mkdir(o, 0755), 0);
    /* its own process group (setsid: the shell is not a group leader, so
     * it execs in place), stopped while the folder changes under it: the
     * change lands mid-run however fast the machine explains 40 scenes */
    pf(cmd, sizeof cmd, "exec setsid %s gradcam %s %s -list %s -outdir %s -jobs %s -quiet 2>%s", gcf_shell_binary(),
       DET_CFG, DET_WEIGHTS, s.list, o, jobs, errf);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    pid_t pid = gcf_spawn(argv, 0);
    ck_assert_int_ge(pid, 0);
    for (int waited = 0; waited < 120000 && count_lines(idx) < 3; waited += 2) usleep(2000);
    ck_assert_msg(kill(-pid, SIGSTOP) == 0, "SIGSTOP: %s", strerror(errno));
    if (_i == 2) {
        ck_assert_msg(mount(o, o, NULL, MS_BIND, NULL) == 0, "bind mount: %s", strerror(errno));
        ck_assert_msg(mount(NULL, o, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0, "read-only: %s",
                      strerror(errno));
    } else {
        fill_disk(filler);
    }
    ck_assert_int_eq(kill(-pid, SIGCONT), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    char *e = slurp(errf, NULL);
    ck_assert_ptr_nonnull(e);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d: %s", status, gcf_tail(e, 800));
    const char *why = _i == 2 ? "Read-only file system; the run stops here (the index holds the images done): rerun "
                                "with -resume when the output folder can be written"
                              : "No space left on device; the run stops here (the index holds the images done): rerun "
                                "with -resume when there is room";
    ck_assert_msg(strstr(e, why), "%s", gcf_tail(e, 1600));
    /* every line of stderr is one of gradcam's */
    for (const char *p = e; *p; p = strchr(p, '\n') + 1)
        ck_assert_msg(!strncmp(p, "gradcam: ", 9) && strchr(p, '\n'), "%s", gcf_tail(e, 1600));
    if (_i == 2) ck_assert_int_eq(umount2(o, MNT_DETACH), 0); /* the files as the run left them */
    int kept = assert_stopped_run_is_a_prefix(ref, o);
    ck_assert_msg(kept >= 2 && kept < 40, "%d images in the index", kept); /* the last may be torn */
    if (_i == 1) { /* the images not in the index, counted there: exactly */
        const char *at = strstr(e, "stopped (see above): ");
        int left = -1, of = -1;
        ck_assert_msg(at && sscanf(at + 21, "%d of %d images not done; rerun with -resume\n", &left, &of) == 2 &&
                          left == 40 - kept && of == 40,
                      "%d images in the index: %s", kept, gcf_tail(e, 1600));
    }
    free(e);
    if (_i != 2) { /* the read-only folder kept what it had: -resume removes it */
        char tmp[4096];
        pf(tmp, sizeof tmp, "%s/.tmp", o);
        ck_assert_msg(access(tmp, F_OK) != 0, "%s left behind", tmp);
        ck_assert_int_eq(unlink(filler), 0);
    }
    printf("check_batch: -outdir %s mid-run (-jobs %s): stopped with %d images in the index\n",
           _i == 2 ? "made read-only" : "filled", jobs, kept);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-jobs", jobs, "-resume", "-quiet", NULL) ==
                      0,
                  "%s", gcf_tail(err, 400));
    assert_same_tree(ref, o);
    ck_assert_int_eq(umount2(mnt, MNT_DETACH), 0);
    scenes_free(&s);
}
END_TEST

/* The folder an image is explained into (DIR/.tmp/s0of1-N) cannot be made
 * for want of space (here: no inode left, on a tmpfs of 7 inodes for the
 * run's own files and those the first two images need, their folders and
 * files): the run stops there naming the image and saying to rerun with
 * -resume, as for a file (it said only "cannot create DIR/.tmp/s0of1-2: No
 * space left on device"), with the output thread (_i 0) and without it
 * (GC_LIST_SYNC=1, _i 1); -resume then completes it. Root only, as above. */
START_TEST(an_image_folder_that_cannot_be_made_stops_the_run)
{
    if (geteuid() != 0) {
        printf("check_batch: not root (no tmpfs to fill): skipped\n");
        return;
    }
    scenes s;
    scenes_make(&s, "det", 4);
    if (!s.ok) return;
    char ref[4096], mnt[4096], o[4096], opts[64], cmd[16384], p[4096];
    path_in(&s, "ref", ref);
    path_in(&s, "mnt", mnt);
    pf(o, sizeof o, "%s/out", mnt);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", ref, "-quiet", NULL) == 0, "%s", err);
    /* inodes: the tmpfs's root, out, .tmp, the lock, .gradcam-options, the
     * index, the errors file; then each of the first two images' folder and files */
    int inodes = 7;
    for (int k = 0; k < 2; ++k) {
        pf(p, sizeof p, "%s/%06d.png", ref, k);
        if (access(p, F_OK) == 0) inodes += 1 + gcf_count_files(p);
    }
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        printf("check_batch: no mount namespace (%s): skipped\n", strerror(errno));
        scenes_free(&s);
        return;
    }
    ck_assert_int_eq(mkdir(mnt, 0755), 0);
    pf(opts, sizeof opts, "size=64m,nr_inodes=%d", inodes);
    ck_assert_msg(mount("tmpfs", mnt, "tmpfs", 0, opts) == 0, "mount: %s", strerror(errno));
    pf(cmd, sizeof cmd, "GC_LIST_SYNC=%d exec %s gradcam %s %s -list %s -outdir %s -quiet", _i, gcf_shell_binary(),
       DET_CFG, DET_WEIGHTS, s.list, o);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    ck_assert_int_eq(gcf_run(argv, out, sizeof out, err, sizeof err), 1);
    char want[16384];
    pf(want, sizeof want,
       "gradcam: %s/000002.png: cannot create %s/.tmp/s0of1-2: No space left on device; the run stops here (the index "
       "holds the images done): rerun with -resume when there is room\n",
       s.sc, o);
    ck_assert_str_eq(err, want);
    ck_assert_int_eq(assert_stopped_run_is_a_prefix(ref, o), 2);
    pf(p, sizeof p, "%s/.tmp", o);
    ck_assert_msg(access(p, F_OK) != 0, "%s left behind", p);
    ck_assert_int_eq(mount(NULL, mnt, NULL, MS_REMOUNT, "nr_inodes=1000"), 0);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-resume", "-quiet", NULL) == 0, "%s",
                  gcf_tail(err, 400));
    assert_same_tree(ref, o);
    ck_assert_int_eq(umount2(mnt, MNT_DETACH), 0);
    scenes_free(&s);
}
END_TEST

/* ---- the output thread (gc_writer) ---- */

typedef struct call_log {
    int n;
    int seen[4];        /* files that existed when call k ran (bit per file) */
    char err[4][512];   /* the error handed to call k ("" for none) */
    int sys[4];         /* and its errno */
    const char *dir;
} call_log;

static call_log *logp;

static void log_call(void *arg, const gc_err *fail)
{
    call_log *l = logp;
    int k = (int)(long)arg;
    ck_assert_int_eq(k, l->n); /* calls run in the order they were queued */
    const char *names[] = {"a", "p.png", "c"};
    int bits = 0;
    for (int i = 0; i < 3; ++i) {
        char p[4096];
        pf(p, sizeof p, "%s/%s", l->dir, names[i]);
        if (access(p, F_OK) == 0) bits |= 1 << i;
    }
    l->seen[k] = bits;
    snprintf(l->err[k], sizeof l->err[k], "%s", fail ? fail->msg : "");
    l->sys[k] = fail ? fail->sys : -1;
    l->n++;
}

/* Jobs run in order (a call after the files queued before it), a failure
 * reaches the next call and only that one, and a queue smaller than one job
 * still runs everything (the caller waits for room). */
START_TEST(writer_runs_jobs_in_order_and_reports_failures)
{
    char *d = gcf_tempdir();
    ck_assert_ptr_nonnull(d);
    call_log l = {0};
    l.dir = d;
    logp = &l;
    gc_err e = {0};
    gc_writer *w = gc_writer_start(4, NULL, &e);
    ck_assert_msg(w != NULL, "%s", e.msg);
    char p[4096];
    pf(p, sizeof p, "%s/a", d);
    ck_assert_int_eq(gc_writer_put_file(w, p, (unsigned char *)strdup("AAAA"), 4, &e), 0);
    const unsigned char px[6] = {255, 0, 0, 0, 0, 255};
    pf(p, sizeof p, "%s/p.png", d);
    ck_assert_int_eq(gc_writer_put_png(w, p, 2, 1, px, &e), 0);
    ck_assert_int_eq(gc_writer_put_call(w, log_call, (void *)0L, &e), 0);
    pf(p, sizeof p, "%s/missing/b", d); /* no such folder: fails */
    ck_assert_int_eq(gc_writer_put_file(w, p, (unsigned char *)strdup("B"), 1, &e), 0);
    pf(p, sizeof p, "%s/c", d);
    ck_assert_int_eq(gc_writer_put_file(w, p, (unsigned char *)strdup("C"), 1, &e), 0);
    ck_assert_int_eq(gc_writer_put_call(w, log_call, (void *)1L, &e), 0);
    ck_assert_int_eq(gc_writer_put_call(w, log_call, (void *)2L, &e), 0);
    gc_writer_drain(w);
    ck_assert_int_eq(l.n, 3);
    ck_assert_int_eq(l.seen[0], 3); /* a and p.png, not yet c */
    ck_assert_str_eq(l.err[0], "");
    ck_assert_int_eq(l.seen[1], 7);
    ck_assert_msg(strstr(l.err[1], "missing/b") != NULL, "%s", l.err[1]);
    ck_assert_int_eq(l.sys[1], ENOENT); /* the file's errno comes with it */
    ck_assert_str_eq(l.err[2], "");
    ck_assert_int_eq(l.sys[2], -1);
    gc_writer_stop(w);
    size_t len;
    pf(p, sizeof p, "%s/a", d);
    char *t = slurp(p, &len);
    ck_assert_uint_eq(len, 4);
    ck_assert(memcmp(t, "AAAA", 4) == 0);
    free(t);
    /* the PNG decodes to the pixels given */
    pf(p, sizeof p, "%s/p.png", d);
    image im;
    ck_assert_msg(gc_image_load(p, &im, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(im.w, 2);
    ck_assert_int_eq(im.h, 1);
    ck_assert(im.data[0] == 1.0f && im.data[1] == 0.0f && im.data[2] == 0.0f && im.data[5] == 1.0f);
    free_image(im);
    gcf_rmtree(d);
    free(d);
}
END_TEST

/* Under the in-place folder the writer uses no temporary name: a folder
 * squatting on NAME.tmp stops an atomic write, not an in-place one. Outside
 * it, files are still written atomically. An in-place write that fails
 * leaves no file. */
START_TEST(writer_writes_in_place_only_under_its_folder)
{
    char *d = gcf_tempdir();
    ck_assert_ptr_nonnull(d);
    char p[4096], in[4096];
    pf(in, sizeof in, "%s/in/", d);
    ck_assert_int_eq(mkdir(in, 0777), 0);
    pf(p, sizeof p, "%s/in/a.tmp", d);
    ck_assert_int_eq(mkdir(p, 0777), 0);
    pf(p, sizeof p, "%s/in/p.png.tmp", d);
    ck_assert_int_eq(mkdir(p, 0777), 0);
    pf(p, sizeof p, "%s/b.tmp", d);
    ck_assert_int_eq(mkdir(p, 0777), 0);
    call_log l = {0};
    l.dir = d;
    logp = &l;
    gc_err e = {0};
    gc_writer *w = gc_writer_start(1 << 20, in, &e);
    ck_assert_msg(w != NULL, "%s", e.msg);
    pf(p, sizeof p, "%s/in/a", d);
    ck_assert_int_eq(gc_writer_put_file(w, p, (unsigned char *)strdup("AAAA"), 4, &e), 0);
    const unsigned char px[6] = {255, 0, 0, 0, 0, 255};
    pf(p, sizeof p, "%s/in/p.png", d);
    ck_assert_int_eq(gc_writer_put_png(w, p, 2, 1, px, &e), 0);
    ck_assert_int_eq(gc_writer_put_call(w, log_call, (void *)0L, &e), 0);
    pf(p, sizeof p, "%s/b", d); /* outside: its .tmp is taken, so it fails */
    ck_assert_int_eq(gc_writer_put_file(w, p, (unsigned char *)strdup("B"), 1, &e), 0);
    ck_assert_int_eq(gc_writer_put_call(w, log_call, (void *)1L, &e), 0);
    pf(p, sizeof p, "%s/in/a.tmp", d); /* in place onto a folder: fails */
    ck_assert_int_eq(gc_writer_put_file(w, p, (unsigned char *)strdup("C"), 1, &e), 0);
    ck_assert_int_eq(gc_writer_put_call(w, log_call, (void *)2L, &e), 0);
    gc_writer_stop(w);
    ck_assert_int_eq(l.n, 3);
    ck_assert_msg(l.err[0][0] == '\0', "%s", l.err[0]);
    ck_assert_msg(strstr(l.err[1], "/b:") != NULL, "%s", l.err[1]);
    ck_assert_msg(strstr(l.err[2], "in/a.tmp") != NULL, "%s", l.err[2]);
    size_t len;
    pf(p, sizeof p, "%s/in/a", d);
    char *t = slurp(p, &len);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(len, 4);
    ck_assert(memcmp(t, "AAAA", 4) == 0);
    free(t);
    pf(p, sizeof p, "%s/in/p.png", d);
    image im;
    ck_assert_msg(gc_image_load(p, &im, &e) == 0, "%s", e.msg);
    ck_assert(im.w == 2 && im.h == 1 && im.data[0] == 1.0f && im.data[5] == 1.0f);
    free_image(im);
    pf(p, sizeof p, "%s/b", d);
    ck_assert_int_ne(access(p, F_OK), 0);
    pf(p, sizeof p, "%s/in/a.tmp", d); /* the folder is still there, untouched */
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    gcf_rmtree(d);
    free(d);
}
END_TEST

/* A picture drawn on the output thread: draw's pixels are written as a PNG
 * (in place under the writer's folder), its failure is the next call's
 * error, and arg is freed by draw every time (counted here). */
static int draws_freed;

static int draw_2x1(void *arg, int *w, int *h, unsigned char **rgb, gc_err *e)
{
    int fail = *(int *)arg;
    free(arg);
    ++draws_freed;
    if (!rgb) return -1;
    if (fail) return gc_fail(e, "drawing failed on purpose");
    *w = 2;
    *h = 1;
    *rgb = malloc(6);
    if (!*rgb) return gc_fail(e, "out of memory");
    memcpy(*rgb, (const unsigned char[6]){0, 255, 0, 0, 0, 255}, 6);
    return 0;
}

START_TEST(writer_draws_pictures_and_reports_failures)
{
    char *d = gcf_tempdir();
    ck_assert_ptr_nonnull(d);
    call_log l = {0};
    l.dir = d;
    logp = &l;
    draws_freed = 0;
    gc_err e = {0};
    char in[4096], p[4096];
    pf(in, sizeof in, "%s/", d);
    gc_writer *w = gc_writer_start(1 << 20, in, &e);
    ck_assert_msg(w != NULL, "%s", e.msg);
    int *ok = malloc(sizeof *ok), *bad = malloc(sizeof *bad);
    ck_assert(ok && bad);
    *ok = 0;
    *bad = 1;
    pf(p, sizeof p, "%s/p.png", d);
    ck_assert_int_eq(gc_writer_put_draw(w, p, draw_2x1, ok, sizeof *ok, &e), 0);
    ck_assert_int_eq(gc_writer_put_call(w, log_call, (void *)0L, &e), 0);
    pf(p, sizeof p, "%s/q.png", d);
    ck_assert_int_eq(gc_writer_put_draw(w, p, draw_2x1, bad, sizeof *bad, &e), 0);
    ck_assert_int_eq(gc_writer_put_call(w, log_call, (void *)1L, &e), 0);
    gc_writer_stop(w);
    ck_assert_int_eq(draws_freed, 2);
    ck_assert_int_eq(l.n, 2);
    ck_assert_msg(l.err[0][0] == '\0', "%s", l.err[0]);
    ck_assert_int_eq(l.seen[0] & 2, 2); /* p.png existed when call 0 ran */
    ck_assert_msg(strstr(l.err[1], "drawing failed on purpose") != NULL, "%s", l.err[1]);
    pf(p, sizeof p, "%s/p.png", d);
    image im;
    ck_assert_msg(gc_image_load(p, &im, &e) == 0, "%s", e.msg);
    ck_assert(im.w == 2 && im.h == 1 && im.data[0] == 0.0f && im.data[2] == 1.0f && im.data[5] == 1.0f);
    free_image(im);
    pf(p, sizeof p, "%s/q.png", d);
    ck_assert_int_ne(access(p, F_OK), 0);
    gcf_rmtree(d);
    free(d);
}
END_TEST

/* -list writes its files on an output thread and decodes the next images
 * on a reader thread; with GC_LIST_SYNC=1 and GC_LIST_PREFETCH=0 both on the
 * explaining thread, as before them. Both give the same files, index and
 * errors, bad and duplicated images included, with every output. */
START_TEST(output_thread_equals_inline_writes)
{
    scenes s;
    scenes_make(&s, "det", 8);
    if (!s.ok) return;
    char list[4096], bad[4096], o1[4096], o2[4096];
    path_in(&s, "bad.png", bad);
    FILE *f = fopen(bad, "w");
    fputs("not a png", f);
    fclose(f);
    path_in(&s, "l.txt", list);
    f = fopen(list, "w");
    for (int i = 0; i < 8; ++i) fprintf(f, "%s/%06d.png\n", s.sc, i);
    fprintf(f, "%s\n%s/000002.png\n", bad, s.sc); /* a bad image, a duplicate */
    fclose(f);
    path_in(&s, "sync", o1);
    path_in(&s, "async", o2);
    setenv("GC_LIST_SYNC", "1", 1);
    setenv("GC_LIST_PREFETCH", "0", 1); /* and every image decoded when explained */
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", list, "-outdir", o1, NULL), 1);
    ck_assert_msg(strstr(err, "8 explained, 0 skipped (already in the index), 2 errors"), "%s", gcf_tail(err, 600));
    unsetenv("GC_LIST_SYNC");
    unsetenv("GC_LIST_PREFETCH");
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", list, "-outdir", o2, NULL), 1);
    ck_assert_msg(strstr(err, "8 explained, 0 skipped (already in the index), 2 errors"), "%s", gcf_tail(err, 600));
    assert_same_tree(o1, o2);
    char pngs[4096];
    pf(pngs, sizeof pngs, "%s/scenes/000005.png/gradcam_summary.png", o2);
    ck_assert_msg(access(pngs, R_OK) == 0, "%s missing", pngs);
    scenes_free(&s);
}
END_TEST

/* The thread pool's whole-pass tuning (gc_pool_pass_begin: the first
 * forwards alternate between the timed threshold's splits and everything
 * inline, then keep the faster) changes no file: split or inline, every
 * loop computes the same bits. The tests fix GC_POOL_MIN_WORK, which turns
 * the tuning off; here it is on, against a run with GC_POOL_TUNE=0. */
START_TEST(a_tuned_pool_writes_the_same_files)
{
    scenes s;
    scenes_make(&s, "det", 16);
    if (!s.ok) return;
    char o1[4096], o2[4096];
    path_in(&s, "fixed", o1);
    path_in(&s, "tuned", o2);
    unsetenv("GC_POOL_MIN_WORK");
    setenv("GC_POOL_TUNE", "0", 1);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o1, NULL), 0);
    ck_assert_msg(!strstr(err, "gc_pool:"), "%s", gcf_tail(err, 600));
    unsetenv("GC_POOL_TUNE");
    setenv("GC_POOL_LOG", "1", 1);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o2, NULL), 0);
    unsetenv("GC_POOL_LOG");
    setenv("GC_POOL_MIN_WORK", "32768", 1);
    /* 16 forwards: one untimed, 5 each way, then the choice (on more than one core) */
    if (gc_pool_cores() > 1)
        ck_assert_msg(strstr(err, "gc_pool: passes split ") && strstr(err, " ms: "), "no choice made:\n%s",
                      gcf_tail(err, 600));
    assert_same_tree(o1, o2);
    scenes_free(&s);
}
END_TEST

/* path's image through the reader equals gc_image_load_rgb's, byte for byte,
 * or its error, word for word. */
static void assert_taken_as_loaded(gc_prefetch *p, const char *path)
{
    unsigned char *a = NULL, *b = NULL;
    int aw = 0, ah = 0, bw = 0, bh = 0;
    gc_err e1 = {0}, e2 = {0};
    int r1 = gc_prefetch_take(p, path, &a, &aw, &ah, &e1), r2 = gc_image_load_rgb(path, &b, &bw, &bh, &e2);
    ck_assert_msg(r1 == r2 || (r1 == 1 && r2 == 0), "%s: reader %d, load %d", path, r1, r2);
    ck_assert_msg(r1 != 1, "%s was not queued", path);
    if (r1) {
        ck_assert_str_eq(e1.msg, e2.msg);
        return;
    }
    ck_assert(aw == bw && ah == bh);
    ck_assert(!memcmp(a, b, (size_t)aw * ah * 3));
    free(a);
    free(b);
}

/* The image reader of list mode: decodes in the order queued, hands over
 * each image or error as gc_image_load_rgb gives it, drops what the run skipped,
 * leaves an unqueued path to the caller, and holds GC_PREFETCH_DEPTH. */
START_TEST(reader_hands_over_what_loading_gives)
{
    char *dir = gcf_tempdir();
    ck_assert_ptr_nonnull(dir);
    char dog[4096], horses[4096], kite[4096], bad[4096], missing[4096];
    pf(dog, sizeof dog, "%s", gcf_darknet_path("data/dog.jpg"));
    pf(horses, sizeof horses, "%s", gcf_darknet_path("data/horses.jpg"));
    pf(kite, sizeof kite, "%s", gcf_darknet_path("data/kite.jpg"));
    if (access(dog, R_OK) || access(horses, R_OK) || access(kite, R_OK)) {
        printf("check_batch: Darknet's sample images missing: reader test skipped\n");
        gcf_rmtree(dir);
        free(dir);
        return;
    }
    pf(bad, sizeof bad, "%s/bad.png", dir);
    pf(missing, sizeof missing, "%s/none.png", dir);
    FILE *f = fopen(bad, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a png", f);
    fclose(f);

    gc_err e = {0};
    unsigned char *im = NULL;
    int iw, ih;
    ck_assert_int_eq(gc_prefetch_take(NULL, dog, &im, &iw, &ih, &e), 1);
    gc_prefetch *p = gc_prefetch_start(GC_PREFETCH_DEPTH, &e);
    ck_assert_msg(p != NULL, "%s", e.msg);
    ck_assert_int_eq(gc_prefetch_take(p, dog, &im, &iw, &ih, &e), 1); /* nothing queued */
    /* full at GC_PREFETCH_DEPTH */
    const char *order[] = {dog, bad, horses, kite};
    int queued = 0;
    while (queued < 4 && gc_prefetch_put(p, order[queued]) == 0) ++queued;
    ck_assert_int_eq(queued, GC_PREFETCH_DEPTH);
    ck_assert(gc_prefetch_has(p, dog) && gc_prefetch_has(p, bad) && !gc_prefetch_has(p, horses));
    assert_taken_as_loaded(p, dog);
    ck_assert(!gc_prefetch_has(p, dog));
    assert_taken_as_loaded(p, bad); /* its error */
    /* a skipped entry is dropped, also while it is being decoded */
    ck_assert_int_eq(gc_prefetch_put(p, horses), 0);
    ck_assert_int_eq(gc_prefetch_put(p, missing), 0);
    assert_taken_as_loaded(p, missing);
    ck_assert(!gc_prefetch_has(p, horses));
    /* a path not queued is the caller's; the queue stays */
    ck_assert_int_eq(gc_prefetch_put(p, kite), 0);
    ck_assert_int_eq(gc_prefetch_take(p, horses, &im, &iw, &ih, &e), 1);
    ck_assert(gc_prefetch_has(p, kite));
    ck_assert_int_eq(gc_prefetch_put(p, dog), 0);
    assert_taken_as_loaded(p, kite);
    gc_prefetch_stop(p); /* dog still queued: freed (the sanitizer run checks) */
    gc_prefetch_stop(NULL);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* A fused map's layers come from one backward pass (gc_hooks_backprop_stops);
 * GC_PASS_PER_LAYER=1 makes a pass per layer as before. The demo detector's
 * default maps (layers 7 and 5) and a three-layer fusion are the same bytes
 * either way. */
START_TEST(fused_maps_one_pass_equal_a_pass_per_layer)
{
    scenes s;
    scenes_make(&s, "det", 6);
    if (!s.ok) return;
    const char *layers[] = {NULL, "7,6,5"};
    for (int k = 0; k < 2; ++k) {
        char o1[4096], o2[4096];
        pf(o1, sizeof o1, "%s/per-layer-%d", s.dir, k);
        pf(o2, sizeof o2, "%s/one-pass-%d", s.dir, k);
        setenv("GC_PASS_PER_LAYER", "1", 1);
        int rc = layers[k] ? run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o1, "-layer", layers[k], NULL)
                           : run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o1, NULL);
        ck_assert_msg(rc == 0, "%s", gcf_tail(err, 600));
        unsetenv("GC_PASS_PER_LAYER");
        rc = layers[k] ? run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o2, "-layer", layers[k], NULL)
                       : run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o2, NULL);
        ck_assert_msg(rc == 0, "%s", gcf_tail(err, 600));
        assert_same_tree(o1, o2);
        char idx[4096];
        pf(idx, sizeof idx, "%s/index.jsonl", o2);
        char *t = slurp(idx, NULL);
        ck_assert_msg(strstr(t, layers[k] ? "\"layers\": [7, 6, 5]" : "\"layers\": [7, 5]"), "%s", t);
        free(t);
    }
    scenes_free(&s);
}
END_TEST

/* Starts ./darknet gradcam -list ... -outdir o [-resume], stdout and stderr
 * to /dev/null; returns its pid. */
static pid_t spawn_list(const char *list, const char *o, int resume, const char *jobs, const char *batch)
{
    char *argv[] = {"./darknet", "gradcam", DET_CFG,       DET_WEIGHTS,     "-list",        (char *)list,
                    "-outdir",   (char *)o, resume ? "-resume" : "-quiet", "-quiet", "-jobs", (char *)jobs,
                    "-batch",    (char *)batch, NULL};
    pid_t pid = gcf_spawn(argv, 0);
    ck_assert_int_ge(pid, 0);
    return pid;
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* _i 0: one image at a time; 1: -batch 3, whose batches are cut by list
 * position, so that the resumed runs (and -jobs 2) batch each image as the
 * uninterrupted run does and compute the same bits. */
START_TEST(killed_and_resumed_equals_uninterrupted)
{
    const char *batch = _i ? "3" : "1";
    scenes s;
    scenes_make(&s, "det", 40);
    if (!s.ok) return;
    char ref[4096], o[4096];
    path_in(&s, "ref", ref);
    path_in(&s, "out", o);
    double t0 = wall();
    int status;
    pid_t pid = spawn_list(s.list, ref, 0, "1", batch);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    double full = wall() - t0;
    /* SIGKILL at random points (seeded from the clock; printed for a rerun), then resumed */
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    uint64_t rng = seed;
    int killed = 0;
    for (int round = 0; round < 3; ++round) {
        double at = full * gc_rng_unit(&rng);
        /* rounds 1 and 3 with two worker processes: they die with the killed parent */
        double t1 = wall();
        pid = spawn_list(s.list, o, round > 0, round % 2 ? "1" : "2", batch);
        if (round == 0) {
            /* the first kill lands mid-run for sure: once the index holds a
             * random number of lines, 1 to half the images (polled every
             * 5 ms; an image takes far longer), whatever the machine's speed */
            char ix[4096];
            pf(ix, sizeof ix, "%s/index.jsonl", o);
            int want = 1 + (int)(gc_rng_next(&rng) % 20);
            for (int waited = 0; waited < 120000 && count_lines(ix) < want; waited += 5) usleep(5000);
            at = wall() - t1;
        } else {
            usleep((useconds_t)(at * 1e6));
        }
        kill(pid, SIGKILL);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        usleep(200000); /* the workers' SIGKILL from PR_SET_PDEATHSIG */
        killed += WIFSIGNALED(status);
        char idx[4096];
        pf(idx, sizeof idx, "%s/index.jsonl", o);
        printf("check_batch: seed %u, round %d: SIGKILL after %.2f s of %.2f s, %s, index %d lines\n", seed, round, at,
               full, WIFSIGNALED(status) ? "killed" : "had finished", count_lines(idx));
    }
    ck_assert_msg(killed >= 1, "no run was interrupted (seed %u)", seed);
    pid = spawn_list(s.list, o, 1, "2", batch);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_same_tree(ref, o);
    scenes_free(&s);
}
END_TEST

/* Starts ./darknet gradcam -list list -outdir o -jobs jobs -quiet in a
 * process group of its own, as a terminal's foreground job is (Ctrl-C
 * reaches every process of it), stdout to /dev/null and stderr to errf; the
 * three stop signals at their default action, or SIGHUP ignored (nohup). */
static pid_t spawn_group_with(const char *list, const char *o, const char *jobs, const char *outf, const char *errf,
                              int ign_hup, const char *extra)
{
    char *argv[] = {"./darknet", "gradcam", DET_CFG,   DET_WEIGHTS,   "-list",  (char *)list, "-outdir",
                    (char *)o,   "-jobs",   (char *)jobs, "-quiet", (char *)extra, NULL};
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        int of = open(outf, O_WRONLY | O_CREAT | O_TRUNC, 0644), ef = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (of < 0 || ef < 0) _exit(127);
        dup2(of, 1);
        dup2(ef, 2);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, ign_hup ? SIG_IGN : SIG_DFL);
        execv(gcf_shell_binary(), argv);
        _exit(127);
    }
    ck_assert_int_gt(pid, 0);
    setpgid(pid, pid); /* either side first */
    return pid;
}

static pid_t spawn_group(const char *list, const char *o, const char *jobs, const char *outf, const char *errf,
                         int ign_hup)
{
    return spawn_group_with(list, o, jobs, outf, errf, ign_hup, NULL);
}

/* Every png and npy the index at o names is there. */
static void assert_index_outputs_exist(const char *o)
{
    char ix[4096];
    pf(ix, sizeof ix, "%s/index.jsonl", o);
    char *b = slurp(ix, NULL);
    ck_assert_ptr_nonnull(b);
    for (const char *p = b; (p = strstr(p, "\": \"")); p += 4) {
        const char *key = p;
        while (key > b && key[-1] != '"') --key;
        if (strncmp(key, "png\"", 4) && strncmp(key, "npy\"", 4)) continue;
        const char *v = p + 4, *end = strchr(v, '"');
        ck_assert_ptr_nonnull(end);
        char f[4096];
        pf(f, sizeof f, "%s/%.*s", o, (int)(end - v), v);
        ck_assert_msg(access(f, R_OK) == 0, "%s names %s, which is not there", ix, f);
    }
    free(b);
}

/* A list run stopped by SIGINT, SIGTERM or SIGHUP ends as a normal run does
 * after the image(s) in hand, then dies of the signal: the index holds whole
 * lines of complete images, each with its files (the uninterrupted run's),
 * nothing is left under .tmp (no image folder, no lock), stderr has the
 * summary and says where it stopped; -resume then ends with exactly the
 * files and index of an uninterrupted run. It had died at once, leaving
 * .tmp with the images in flight and the lock. _i 0: one process, SIGTERM
 * (Slurm's at the time limit); 1: -jobs 2, SIGTERM to the parent alone,
 * which passes it on; 2: -jobs 2, SIGINT to the whole process group (Ctrl-C
 * at a terminal: every worker has it twice); 3: SIGHUP ignored at start
 * (nohup), which stays ignored: the run completes. The signal comes once
 * the index holds a random number of lines (seeded from the clock, printed
 * for a rerun). */
START_TEST(a_signal_stops_the_run_cleanly_and_resume_completes)
{
    static const int sigs[] = {SIGTERM, SIGTERM, SIGINT, SIGHUP};
    const int sig = sigs[_i], group = _i >= 2, count = 60;
    const char *jobs = _i == 0 ? "1" : "2";
    scenes s;
    scenes_make(&s, "det", count);
    if (!s.ok) return;
    char ref[4096], o[4096], ix[4096], tmp[4096], errf[4096], outf[4096];
    path_in(&s, "ref", ref);
    path_in(&s, "out", o);
    path_in(&s, "stderr.txt", errf);
    path_in(&s, "stdout.txt", outf);
    pf(ix, sizeof ix, "%s/index.jsonl", o);
    pf(tmp, sizeof tmp, "%s/.tmp", o);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", ref, "-quiet", NULL) == 0, "%s", err);
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    uint64_t rng = seed;
    int want = 1 + (int)(gc_rng_next(&rng) % 8);
    pid_t pid = spawn_group(s.list, o, jobs, outf, errf, _i == 3);
    for (int waited = 0; waited < 120000 && count_lines(ix) < want; waited += 2) usleep(2000);
    ck_assert_int_eq(kill(group ? -pid : pid, sig), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    char *e = slurp(errf, NULL);
    ck_assert_ptr_nonnull(e);
    printf("check_batch: seed %u: %s once the index had %d lines (-jobs %s%s): %s, index %d lines\n", seed,
           strsignal(sig), want, jobs, group ? ", to the group" : "",
           WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exited", count_lines(ix));
    if (_i == 3) {
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x: %s", status, gcf_tail(e, 800));
        free(e);
        assert_same_tree(ref, o);
        scenes_free(&s);
        return;
    }
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == sig, "status %#x: %s", status, gcf_tail(e, 800));
    usleep(100000); /* a worker left over would now be killed by PR_SET_PDEATHSIG: none should be */
    ck_assert_msg(gcf_count_files(tmp) <= 0, "%s left behind (%d entries)", tmp, gcf_count_files(tmp));
    int kept = assert_stopped_run_is_a_prefix(ref, o);
    assert_index_outputs_exist(o);
    ck_assert_msg(count_lines(ix) >= want && kept < count, "%d images in the index (signalled at %d lines)", kept,
                  want);
    /* the summary, then where it stopped; gradcam's lines only, no worker's error */
    char line[256], sum[64];
    pf(sum, sizeof sum, "gradcam: %d images: ", count);
    ck_assert_msg(strstr(e, sum), "%s", gcf_tail(e, 800));
    pf(line, sizeof line, "gradcam: interrupted by %s after %d of %d images; rerun with -resume to finish\n",
       sig == SIGINT ? "SIGINT" : "SIGTERM", kept, count);
    ck_assert_msg(strstr(e, line), "no \"%s\" in: %s", line, gcf_tail(e, 800));
    ck_assert_msg(!strstr(e, "worker"), "%s", gcf_tail(e, 800));
    for (const char *p = e; *p; p = strchr(p, '\n') + 1)
        ck_assert_msg(!strncmp(p, "gradcam: ", 9) && strchr(p, '\n'), "%s", gcf_tail(e, 800));
    free(e);
    /* stdout names the index, as at a normal end (it had said nothing) */
    char *so = slurp(outf, NULL), want_ix[4200];
    pf(want_ix, sizeof want_ix, "index %s\n", ix);
    ck_assert_msg(so && !strcmp(so, want_ix), "stdout: %s", so ? so : "(none)");
    free(so);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-jobs", jobs, "-resume", "-quiet", NULL) ==
                      0,
                  "%s", gcf_tail(err, 400));
    assert_same_tree(ref, o);
    scenes_free(&s);
}
END_TEST

/* A child of pid (a -jobs worker), or 0 when it has none. */
static pid_t a_child_of(pid_t pid)
{
    DIR *d = opendir("/proc");
    if (!d) return 0;
    pid_t found = 0;
    struct dirent *de;
    while (!found && (de = readdir(d))) {
        char f[300], buf[1024];
        pf(f, sizeof f, "/proc/%s/stat", de->d_name);
        FILE *st = de->d_name[0] >= '1' && de->d_name[0] <= '9' ? fopen(f, "r") : NULL;
        if (!st) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, st);
        fclose(st);
        buf[n] = '\0';
        const char *rp = strrchr(buf, ')'); /* after the command's name, which may hold spaces */
        long ppid = 0;
        char state;
        if (rp && sscanf(rp + 1, " %c %ld", &state, &ppid) == 2 && ppid == (long)pid) found = (pid_t)atol(de->d_name);
    }
    closedir(d);
    return found;
}

/* One -jobs worker killed by a signal, the parent not (SIGTERM from a
 * `kill PID` of the worker; SIGKILL, as the OOM killer sends): the parent
 * lets the other worker finish its share, then names the worker, its pid
 * and its signal and how many images are not done (not in the index:
 * counted there, as the reports lag the index by the images its output
 * thread has finished; "up to 118" when the index held 124 of 240 images had
 * been printed, one past the bound that was asserted), and exits 1 (not
 * "interrupted", which is for a signal the run itself took). The index holds
 * whole images with their files, and -resume completes the run to exactly
 * the uninterrupted run's files. It had said only "worker 0 was killed by
 * signal 15 (Terminated); rerun with -resume". */
START_TEST(one_worker_killed_is_named)
{
    const int sig = _i ? SIGKILL : SIGTERM, count = 240; /* each worker busy for a second or so: the kill lands while it works */
    scenes s;
    scenes_make(&s, "det", count);
    if (!s.ok) return;
    char ref[4096], o[4096], ix[4096], errf[4096], outf[4096];
    path_in(&s, "ref", ref);
    path_in(&s, "out", o);
    path_in(&s, "stderr.txt", errf);
    path_in(&s, "stdout.txt", outf);
    pf(ix, sizeof ix, "%s/index.jsonl", o);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", ref, "-quiet", NULL) == 0, "%s", err);
    pid_t pid = spawn_group(s.list, o, "2", outf, errf, 0), w = 0;
    for (int waited = 0; waited < 120000 && count_lines(ix) < 2; waited += 2) usleep(2000);
    for (int waited = 0; waited < 10000 && !(w = a_child_of(pid)); waited += 2) usleep(2000);
    ck_assert_int_gt(w, 0);
    ck_assert_int_eq(kill(w, sig), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    char *e = slurp(errf, NULL);
    ck_assert_ptr_nonnull(e);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %#x: %s", status, gcf_tail(e, 800));
    int kept = assert_stopped_run_is_a_prefix(ref, o);
    assert_index_outputs_exist(o);
    char want[256];
    pf(want, sizeof want, " (pid %ld) was killed by signal %d (%s): ", (long)w, sig, strsignal(sig));
    const char *at = strstr(e, want);
    ck_assert_msg(at && !strncmp(e, "gradcam: -jobs: worker ", 23), "no \"%s\" in: %s", want, gcf_tail(e, 800));
    int left = -1, of = -1;
    ck_assert_msg(sscanf(at + strlen(want), "%d of %d images not done", &left, &of) == 2 && of == count &&
                      left == count - kept && left > 0,
                  "%d images in the index: %s", kept, gcf_tail(e, 800));
    ck_assert_msg(strstr(e, "; rerun with -resume to do them\n") && !strstr(e, "interrupted"), "%s", gcf_tail(e, 800));
    free(e);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-jobs", "2", "-resume", "-quiet", NULL) ==
                      0,
                  "%s", gcf_tail(err, 400));
    assert_same_tree(ref, o);
    scenes_free(&s);
}
END_TEST

/* Whether process pid runs darknet (it has gone through exec) and has the
 * file path open. */
static int has_open(pid_t pid, const char *path)
{
    char d[64], l[128], got[4096];
    pf(d, sizeof d, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(d, "r");
    int ours = f && fgets(got, sizeof got, f) && !strncmp(got, "darknet", 7);
    if (f) fclose(f);
    if (!ours) return 0;
    pf(d, sizeof d, "/proc/%d/fd", (int)pid);
    DIR *dir = opendir(d);
    struct dirent *de;
    int found = 0;
    while (dir && !found && (de = readdir(dir))) {
        pf(l, sizeof l, "%s/%s", d, de->d_name);
        ssize_t n = readlink(l, got, sizeof got - 1);
        if (n > 0) got[n] = '\0';
        found = n > 0 && !strcmp(got, path);
    }
    if (dir) closedir(dir);
    return found;
}

/* A stop signal while the run waits (up to 2 s) for another run's lock ends
 * it at once, as an interrupted run: it dies of the signal, saying which
 * lock it waited for, and leaves the holder's lock and an index it never
 * wrote alone. It had waited the 2 s out first. */
START_TEST(a_signal_ends_the_wait_for_the_lock)
{
    scenes s;
    scenes_make(&s, "det", 2);
    if (!s.ok) return;
    char o[4096], lock[4096], real[4096], ix[4096], errf[4096], outf[4096];
    path_in(&s, "out", o);
    path_in(&s, "stderr.txt", errf);
    path_in(&s, "stdout.txt", outf);
    pf(ix, sizeof ix, "%s/index.jsonl", o);
    touch(o, ".tmp/index.jsonl.lock", "");
    pf(lock, sizeof lock, "%s/.tmp/index.jsonl.lock", o);
    ck_assert_ptr_nonnull(realpath(lock, real));
    int fd = open(lock, O_WRONLY | O_CLOEXEC); /* the run's own open is the one has_open sees */
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_EX), 0);
    pid_t pid = spawn_group(s.list, o, "1", outf, errf, 0);
    int waited = 0;
    for (; waited < 60000 && !has_open(pid, real); waited += 1) usleep(1000); /* it has opened the lock: waiting */
    ck_assert_msg(waited < 60000, "the run never opened %s", real);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    char *e = slurp(errf, NULL);
    ck_assert_ptr_nonnull(e);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %#x: %s", status, gcf_tail(e, 800));
    ck_assert_msg(took < 1.0, "%.2f s from SIGTERM to its end (the wait is 2 s)", took);
    char line[4300];
    pf(line, sizeof line, "gradcam: stopped by SIGTERM while another run held the lock %s\n", lock);
    ck_assert_msg(strstr(e, line), "no \"%s\" in: %s", line, gcf_tail(e, 800));
    ck_assert_msg(strstr(e, "gradcam: interrupted by SIGTERM after 0 of 2 images"), "%s", gcf_tail(e, 800));
    free(e);
    struct stat held, now;
    ck_assert_int_eq(fstat(fd, &held), 0);
    ck_assert_msg(stat(lock, &now) == 0 && now.st_ino == held.st_ino, "the stopped run removed the lock");
    ck_assert_int_ne(access(ix, F_OK), 0);
    close(fd);
    scenes_free(&s);
}
END_TEST

/* Two JSON Lines files with the same lines, numbers equal within tol
 * relative (1 at least); everything else character for character. A '-'
 * that starts no number (a path's "/tmp/X-y") is a character: it had been
 * read as a number of no characters, again and again, and the test spun
 * until its timeout, writing gigabytes of Check's marks. */
static void assert_lines_agree(const char *pa, const char *pb, double tol)
{
    char *a = slurp(pa, NULL), *b = slurp(pb, NULL);
    ck_assert(a && b);
    const char *x = a, *y = b;
    int line = 1, numbers = 0;
    while (*x || *y) {
        char *ex = (char *)x, *ey = (char *)y;
        double u = 0, v = 0;
        if ((*x == '-' || (*x >= '0' && *x <= '9')) && (*y == '-' || (*y >= '0' && *y <= '9')) &&
            !(x > a && (x[-1] == '_' || (x[-1] >= 'a' && x[-1] <= 'z'))))
            u = strtod(x, &ex), v = strtod(y, &ey);
        if (ex > x && ey > y) {
            ck_assert_msg(fabs(u - v) <= tol * fmax(1.0, fabs(u)), "%s line %d: %g against %s's %g", pb, line, v, pa,
                          u);
            x = ex;
            y = ey;
            ++numbers;
            continue;
        }
        ck_assert_msg(*x == *y, "%s line %d differs from %s: ...%.60s against ...%.60s", pb, line, pa, y, x);
        line += *x == '\n';
        ++x;
        ++y;
    }
    ck_assert_int_gt(numbers, 10);
    free(a);
    free(b);
}

/* Two .npy files of float32 maps: the same header and size, values within
 * tol of the larger map's maximum. */
static void assert_npy_agree(const char *pa, const char *pb, double tol)
{
    size_t na, nb;
    char *a = slurp(pa, &na), *b = slurp(pb, &nb);
    ck_assert(a && b);
    ck_assert_msg(na == nb && na > 128, "%s: %zu bytes, %s %zu", pa, na, pb, nb);
    size_t hdr = 10 + (size_t)((unsigned char)a[8] | (unsigned char)a[9] << 8);
    ck_assert(!memcmp(a, b, hdr));
    const float *u = (const float *)(a + hdr), *v = (const float *)(b + hdr);
    size_t n = (na - hdr) / sizeof(float);
    double big = 0;
    for (size_t i = 0; i < n; ++i) big = fmax(big, fmax(fabs(u[i]), fabs(v[i])));
    for (size_t i = 0; i < n; ++i)
        ck_assert_msg(fabs((double)u[i] - v[i]) <= tol * big + 1e-7, "%s value %zu: %g, %s's %g", pb, i, v[i], pa, u[i]);
    free(a);
    free(b);
}

/* Tree checks for -batch: the maps within 1e-4 (other files by name); and
 * the same bytes but for the errors file (compared by its lines). */
static int npy_agree(const char *pa, const char *pb, const char *name)
{
    size_t len = strlen(name);
    if (len < 4 || strcmp(name + len - 4, ".npy")) return 0;
    assert_npy_agree(pa, pb, 1e-4);
    return 1;
}

static int same_bytes_but_errors(const char *pa, const char *pb, const char *name)
{
    return strcmp(name, "errors.jsonl") ? same_bytes(pa, pb, name) : 0;
}

/* -batch 4 against one image at a time on the same list, with a missing
 * image, an undecodable one and a repeated entry inside a batch: the same
 * images explained, the same targets, files and errors; the maps and the
 * index's numbers equal within float rounding (a batched product rounds
 * otherwise). -jobs 2 with -batch 4 computes the same bits as one process
 * with -batch 4. The classifier likewise with -batch 3. */
/* -jobs workers share the errors file: each record is one whole line, even
 * when it is longer than stdio's buffer (a long path and its message). They
 * had been written through stdio, several writes a record, between which
 * the other worker's could come. */
START_TEST(jobs_errors_records_whole)
{
    scenes s;
    scenes_make(&s, "det", 2);
    if (!s.ok) return;
    char deep[4096], list[4096], o[4096], ef[4096];
    int n = snprintf(deep, sizeof deep, "%s/", s.dir);
    for (int k = 0; k < 16; ++k) { /* ~3900 bytes of folders that do not exist */
        memset(deep + n, 'a' + k, 240);
        deep[n + 240] = '/';
        n += 241;
    }
    deep[n] = '\0';
    path_in(&s, "l.txt", list);
    FILE *f = fopen(list, "w");
    ck_assert_ptr_nonnull(f);
    enum { MISSING = 80 };
    for (int i = 0; i < MISSING; ++i) fprintf(f, "%smissing-%03d.png\n", deep, i);
    fprintf(f, "%s/000000.png\n%s/000001.png\n", s.sc, s.sc);
    fclose(f);
    path_in(&s, "out", o);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", list, "-outdir", o, "-jobs", "2", "-quiet", NULL), 1);
    pf(ef, sizeof ef, "%s/errors.jsonl", o); /* (stderr, 80 lines of 4 KiB, is more than the test keeps) */
    char *t = slurp(ef, NULL);
    ck_assert_ptr_nonnull(t);
    int lines = 0, seen[MISSING] = {0};
    for (char *line = t, *nl; (nl = strchr(line, '\n')); line = nl + 1, ++lines) {
        *nl = '\0';
        int pos = -1, used = 0;
        ck_assert_msg(sscanf(line, "{\"n\": %d, \"of\": 82, \"image\": \"%n", &pos, &used) == 1 && used > 0,
                      "line %d: %.120s", lines, line);
        ck_assert(pos >= 0 && pos < MISSING && !seen[pos]);
        seen[pos] = 1;
        char name[64];
        pf(name, sizeof name, "missing-%03d.png\", \"error\": \"", pos);
        ck_assert_msg(!strncmp(line + used, deep, (size_t)n) && !strncmp(line + used + n, name, strlen(name)),
                      "line %d is not position %d's whole record", lines, pos);
        ck_assert_msg(nl - line > 4096 && !strcmp(nl - 2, "\"}"), "line %d: %zu bytes, ends %s", lines,
                      (size_t)(nl - line), nl - 2);
    }
    ck_assert_int_eq(lines, MISSING);
    free(t);
    scenes_free(&s);
}
END_TEST

START_TEST(batched_list_agrees_with_one_at_a_time)
{
    scenes s;
    scenes_make(&s, "det", 10);
    if (!s.ok) return;
    char list[4096], bad[4096], o1[4096], o4[4096], oj[4096];
    touch(s.dir, "bad.png", "not a png");
    path_in(&s, "bad.png", bad);
    path_in(&s, "l.txt", list);
    FILE *f = fopen(list, "w");
    for (int i = 0; i < 10; ++i) {
        fprintf(f, "%s/%06d.png\n", s.sc, i);
        if (i == 2) fprintf(f, "%s/missing.png\n%s\n%s/000001.png\n", s.dir, bad, s.sc);
    }
    fclose(f);
    path_in(&s, "b1", o1);
    path_in(&s, "b4", o4);
    path_in(&s, "b4j2", oj);
    const char *want = "10 explained, 0 skipped (already in the index), 3 errors";
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", list, "-outdir", o1, NULL), 1);
    ck_assert_msg(strstr(err, want), "%s", gcf_tail(err, 600));
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", list, "-outdir", o4, "-batch", "4", NULL), 1);
    ck_assert_msg(strstr(err, want), "%s", gcf_tail(err, 600));
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", list, "-outdir", oj, "-batch", "4", "-jobs", "2", NULL), 1);
    ck_assert_msg(strstr(err, want), "%s", gcf_tail(err, 600));
    char a[4096], b[4096];
    /* the workers append their errors as they come: the same lines, in any order */
    pf(a, sizeof a, "%s/errors.jsonl", o4);
    pf(b, sizeof b, "%s/errors.jsonl", oj);
    char *ea = slurp(a, NULL), *eb = slurp(b, NULL);
    ck_assert(ea && eb && strlen(ea) == strlen(eb));
    ck_assert_int_eq(count_lines(a), 3);
    for (char *line = ea, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        ck_assert_msg(strstr(eb, line), "%s: %s missing", b, line);
    }
    free(ea);
    free(eb);
    assert_trees_match(o4, oj, same_bytes_but_errors);
    pf(a, sizeof a, "%s/errors.jsonl", o1);
    pf(b, sizeof b, "%s/errors.jsonl", o4);
    ck_assert(same_file(a, b));
    pf(a, sizeof a, "%s/index.jsonl", o1);
    pf(b, sizeof b, "%s/index.jsonl", o4);
    assert_lines_agree(a, b, 1e-4);
    /* the same files; the maps within rounding */
    int npy = assert_trees_match(o1, o4, npy_agree);
    ck_assert_int_gt(npy, 10);
    scenes_free(&s);

    scenes_make(&s, "cls", 7);
    path_in(&s, "c1", o1);
    path_in(&s, "c3", o4);
    ck_assert_int_eq(run("cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights", "-list", s.list, "-outdir", o1, "-top", "2",
                         NULL),
                     0);
    ck_assert_int_eq(run("cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights", "-list", s.list, "-outdir", o4, "-top", "2",
                         "-batch", "3", NULL),
                     0);
    ck_assert_msg(strstr(err, "7 explained, 0 skipped"), "%s", gcf_tail(err, 600));
    pf(a, sizeof a, "%s/index.jsonl", o1);
    pf(b, sizeof b, "%s/index.jsonl", o4);
    ck_assert_int_eq(count_lines(b), 14);
    assert_lines_agree(a, b, 1e-4);
    scenes_free(&s);
}
END_TEST

/* A cfg with a layer the batched forward lacks ([region]): a one-line
 * notice naming it, then the run goes on one image at a time. */
START_TEST(batch_notice_for_a_cfg_without_batched_forward)
{
    scenes s;
    scenes_make(&s, "det", 2);
    if (!s.ok) return;
    char w[4096], o[4096];
    path_in(&s, "region.weights", w);
    path_in(&s, "out", o);
    FILE *f = fopen(w, "wb");
    ck_assert_ptr_nonnull(f);
    int32_t head[3] = {0, 2, 0};
    int64_t seen = 0;
    fwrite(head, sizeof head, 1, f);
    fwrite(&seen, sizeof seen, 1, f);
    uint64_t st = 5;
    for (int i = 0; i < 448; ++i) { /* tests/cfg/bw_region.cfg's parameters; positive: no negative variance */
        float v = gcf_uniform(&st, 0.01f, 0.1f);
        fwrite(&v, sizeof v, 1, f);
    }
    fclose(f);
    ck_assert_msg(run("tests/cfg/bw_region.cfg", w, "-list", s.list, "-outdir", o, "-batch", "4", "-quiet", NULL) == 0,
                  "%s", gcf_tail(err, 600));
    ck_assert_msg(strstr(err, "gradcam: -batch 4: tests/cfg/bw_region.cfg layer 1 (region) has no batched forward: "
                              "one image per forward pass\n"),
                  "%s", gcf_tail(err, 600));
    ck_assert_msg(strstr(err, "2 explained, 0 skipped"), "%s", gcf_tail(err, 600));
    scenes_free(&s);
}
END_TEST

/* Drops one line of a two-box image and leaves half a line at the end: the
 * resumed run redoes exactly those images and ends as the full run did. */
START_TEST(resume_mends_a_torn_index)
{
    scenes s;
    scenes_make(&s, "det", 12);
    if (!s.ok) return;
    char ref[4096], o[4096], idx[4096];
    path_in(&s, "ref", ref);
    path_in(&s, "out", o);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", ref, NULL), 0);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, NULL), 0);
    pf(idx, sizeof idx, "%s/index.jsonl", o);
    char *t = slurp(idx, NULL);
    char *two = strstr(t, "\"targets\": 2, ");
    ck_assert_msg(two != NULL, "no scene with two boxes");
    while (two > t && two[-1] != '\n') --two;
    char *eol = strchr(two, '\n') + 1;
    long n_torn;
    ck_assert_int_eq(sscanf(two, "{\"n\": %ld,", &n_torn), 1);
    FILE *f = fopen(idx, "w");
    fwrite(t, 1, (size_t)(two - t), f);
    fputs(eol, f);
    fputs("{\"n\": 11, \"of\": 12, \"targ", f);
    fclose(f);
    free(t);
    /* what the killed run would have left: a stale output folder and a temporary one */
    char stale[4096];
    pf(stale, sizeof stale, "%s/.tmp/s0of1-11", o);
    touch(stale, "gradcam_0.png", "partial");
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-resume", NULL), 0);
    ck_assert_msg(strstr(err, "1 explained, 11 skipped"), "%s", gcf_tail(err, 400));
    assert_same_tree(ref, o);
    (void)n_torn;
    /* a line torn in its middle (a full disk), then the next image's line
     * appended to it (another -jobs worker, once space was freed): its head
     * parses, but it is not whole; both images are redone (the torn one had
     * been kept, with a line that is not JSON) */
    t = slurp(idx, NULL);
    char *one = strstr(t, "\"targets\": 1, ");
    ck_assert_ptr_nonnull(one);
    while (one > t && one[-1] != '\n') --one;
    eol = strchr(one, '\n') + 1;
    f = fopen(idx, "w");
    fwrite(t, 1, (size_t)(one - t), f);
    fwrite(one, 1, (size_t)(eol - one) / 2, f); /* half of it, no newline */
    fputs(eol, f);                              /* then the rest: the next line glued on */
    fclose(f);
    free(t);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-resume", NULL), 0);
    ck_assert_msg(strstr(err, "2 explained, 10 skipped"), "%s", gcf_tail(err, 400));
    assert_same_tree(ref, o);
    scenes_free(&s);
}
END_TEST

START_TEST(shards_merge_into_the_single_run)
{
    scenes s;
    scenes_make(&s, "det", 12);
    if (!s.ok) return;
    char single[4096], shared[4096];
    path_in(&s, "single", single);
    path_in(&s, "shared", shared);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", single, NULL), 0);
    const char *spec[] = {"0/3", "1/3", "2/3"};
    for (int i = 0; i < 3; ++i) {
        ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", shared, "-shard", spec[i], NULL) == 0,
                      "%s", gcf_tail(err, 400));
        char want[64];
        pf(want, sizeof want, "4 images (shard %s of 12)", spec[i]);
        ck_assert_msg(strstr(err, want), "%s", gcf_tail(err, 400));
    }
    /* -jobs 3: three worker processes, one index, the single run's bytes */
    char jobs[4096], ja[4096], jb[4096];
    path_in(&s, "jobs", jobs);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", jobs, "-jobs", "3", NULL) == 0, "%s",
                  gcf_tail(err, 400));
    ck_assert_msg(strstr(err, "12 explained, 0 skipped"), "%s", gcf_tail(err, 400));
    pf(ja, sizeof ja, "%s/index.jsonl", single);
    pf(jb, sizeof jb, "%s/index.jsonl", jobs);
    ck_assert_msg(same_file(ja, jb), "-jobs 3 index differs from the single run's");
    assert_same_tree(single, jobs);
    /* shard 1/3 holds list positions 1, 4, 7, 10 and nothing else */
    char p[4096];
    pf(p, sizeof p, "%s/index.shard-1-of-3.jsonl", shared);
    char *t = slurp(p, NULL);
    for (const char *q = t; *q; q = strchr(q, '\n') + 1) {
        long n;
        ck_assert_int_eq(sscanf(q, "{\"n\": %ld,", &n), 1);
        ck_assert_int_eq(n % 3, 1);
    }
    free(t);
    /* a run in another count of shards, or in one process, into their
     * folder: refused before anything (its index had sat beside theirs,
     * every image redone, and only merge found the mix) */
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", shared, "-shard", "0/2", "-resume", NULL), 1);
    ck_assert_msg(strstr(err, "-of-3.jsonl, of a run in 3 shards: this run is in 2; give -shard i/3"), "%s", err);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", shared, "-resume", NULL), 1);
    ck_assert_msg(strstr(err, "-of-3.jsonl, of a run in 3 shards, and no index.jsonl: give -shard i/3"), "%s", err);
    char none[4096];
    pf(none, sizeof none, "%s/index.shard-0-of-2.jsonl", shared);
    ck_assert_int_ne(access(none, F_OK), 0);
    pf(none, sizeof none, "%s/index.jsonl", shared);
    ck_assert_int_ne(access(none, F_OK), 0);
    /* -o onto one of the shards' own indexes: refused, the shard kept */
    char *before = slurp(p, NULL);
    ck_assert_int_eq(run("merge", shared, "-o", p, NULL), 1);
    ck_assert_msg(strstr(err, "is the shard index") && strstr(err, "refusing to overwrite it"), "%s", err);
    t = slurp(p, NULL);
    ck_assert_msg(t && before && !strcmp(t, before), "merge -o replaced a shard's index");
    free(t);
    free(before);
    /* nor onto the other files merge reads: a folder's settings, a shard's
     * errors (the settings had become the index, and the next merge or
     * -resume compared against that) */
    const char *read_too[] = {".gradcam-options", "errors.shard-1-of-3.jsonl"};
    for (int k = 0; k < 2; ++k) {
        char q[4096];
        pf(q, sizeof q, "%s/%s", shared, read_too[k]);
        before = slurp(q, NULL);
        ck_assert_int_eq(run("merge", shared, "-o", q, NULL), 1);
        ck_assert_msg(strstr(err, "which merge reads: refusing to overwrite it"), "%s", err);
        t = slurp(q, NULL);
        ck_assert_msg(t && before && !strcmp(t, before), "merge -o replaced %s", read_too[k]);
        free(t);
        free(before);
    }
    /* nor onto a file that is not an index: the image list, say (it had
     * been replaced by the merged index, exit 0) */
    before = slurp(s.list, NULL);
    ck_assert_int_eq(run("merge", shared, "-o", s.list, NULL), 1);
    ck_assert_msg(strstr(err, "exists and is not an index") && strstr(err, "refusing to overwrite it"), "%s", err);
    t = slurp(s.list, NULL);
    ck_assert_msg(t && before && !strcmp(t, before), "merge -o replaced the image list");
    free(t);
    free(before);
    /* nor a JSON file that is not an index (a -json report) */
    char rep[4096];
    path_in(&s, "report.json", rep);
    FILE *rf = fopen(rep, "w");
    ck_assert_ptr_nonnull(rf);
    fputs("{\"image\": \"x.png\", \"detections\": []}\n", rf);
    fclose(rf);
    ck_assert_int_eq(run("merge", shared, "-o", rep, NULL), 1);
    ck_assert_msg(strstr(err, "exists and is not an index"), "%s", err);
    /* -o - with standard output sent to a file that holds something else
     * (appended to a log): written there, as to a pipe (the check looked
     * through /dev/stdout at the file and refused) */
    char logf[4096], cmd[12000];
    path_in(&s, "log.txt", logf);
    rf = fopen(logf, "w");
    ck_assert_ptr_nonnull(rf);
    fputs("a log line\n", rf);
    fclose(rf);
    pf(cmd, sizeof cmd, "%s gradcam merge %s -o - >> %s 2>/dev/null", gcf_shell_binary(), shared, logf);
    ck_assert_int_eq(system(cmd), 0);
    t = slurp(logf, NULL);
    ck_assert_msg(t && !strncmp(t, "a log line\n{\"n\": 0, ", 20), "%s", t ? t : "(none)");
    free(t);
    /* duplicated: the same folder twice */
    ck_assert_int_eq(run("merge", shared, shared, NULL), 1);
    ck_assert_msg(strstr(err, "are one folder: give each shard's folder once"), "%s", err);
    /* -o - is standard output, as -json - is: it had made a file named "-" */
    ck_assert_msg(run("merge", shared, "-o", "-", NULL) == 0, "%s", err);
    ck_assert_msg(strstr(err, "merged 12 images into the standard output") && !strstr(out, "merged") &&
                      !strncmp(out, "{\"n\": 0, ", 9),
                  "%s", gcf_tail(out, 400));
    ck_assert_int_ne(access("-", F_OK), 0);
    ck_assert_msg(run("merge", shared, NULL) == 0, "%s", err);
    ck_assert_msg(strstr(out, "merged 12 images"), "%s", out);
    char a[4096], b[4096];
    pf(a, sizeof a, "%s/index.jsonl", single);
    pf(b, sizeof b, "%s/index.jsonl", shared);
    ck_assert_msg(same_file(a, b), "merged index differs from the single run's");
    /* merged, the folder goes on in one process (or in its 3 shards) */
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", shared, "-resume", NULL) == 0, "%s", err);
    ck_assert_msg(strstr(err, "0 explained, 12 skipped"), "%s", gcf_tail(err, 400));
    ck_assert_msg(same_file(a, b), "a resumed merged index differs from the single run's");
    pf(p, sizeof p, "%s/errors.jsonl", shared);
    unlink(p);
    /* every output file too, once the shards' own index and errors files are set aside */
    for (int i = 0; i < 3; ++i) {
        pf(p, sizeof p, "%s/index.shard-%d-of-3.jsonl", shared, i);
        char moved[4096];
        pf(moved, sizeof moved, "%s/shard-%d.jsonl", s.dir, i);
        ck_assert_int_eq(rename(p, moved), 0);
        pf(p, sizeof p, "%s/errors.shard-%d-of-3.jsonl", shared, i);
        ck_assert_int_eq(count_lines(p), 0);
        unlink(p);
    }
    pf(p, sizeof p, "%s/errors.jsonl", single);
    unlink(p);
    assert_same_tree(single, shared);

    /* shards in separate folders: merged paths made absolute, and a missing shard is caught */
    char d[3][4096];
    for (int i = 0; i < 3; ++i) {
        pf(d[i], sizeof d[i], "%s/d%d", s.dir, i);
        ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", d[i], "-shard", spec[i], "-quiet", NULL),
                         0);
    }
    char merged[4096];
    pf(merged, sizeof merged, "%s/merged.jsonl", s.dir);
    ck_assert_int_eq(run("merge", d[0], d[2], "-o", merged, NULL), 1);
    ck_assert_msg(strstr(err, "4 of 12 images missing (list positions 1, 4, 7, 10;"), "%s", err);
    ck_assert_int_ne(access(merged, F_OK), 0);
    ck_assert_msg(run("merge", d[0], d[1], d[2], "-o", merged, NULL) == 0, "%s", err);
    t = slurp(merged, NULL);
    char *real = realpath(d[1], NULL), want[4200];
    pf(want, sizeof want, "\"png\": \"%s/000001.png/gradcam_0.png\"", real);
    ck_assert_msg(strstr(t, want), "%s not in %.300s", want, t);
    free(real);
    ck_assert_int_eq(count_lines(merged), count_lines(a));
    free(t);
    /* -o into a folder not made yet */
    char deep[4096];
    pf(deep, sizeof deep, "%s/new/er/merged.jsonl", s.dir);
    ck_assert_msg(run("merge", d[0], d[1], d[2], "-o", deep, NULL) == 0, "%s", err);
    ck_assert_int_eq(count_lines(deep), count_lines(a));
    /* a shard made with other settings, or from another list of as many
     * images, is not one of this run's: refused, naming what differs */
    char other[4096], moved[4096];
    pf(other, sizeof other, "%s/other", s.dir);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", other, "-shard", spec[1], "-quiet", "-method",
                         "gradcam", NULL),
                     0);
    ck_assert_int_eq(run("merge", d[0], other, d[2], "-o", merged, NULL), 1);
    ck_assert_msg(strstr(err, "were made with other settings or lists (\"method: layercam\" against \"method: gradcam\")"),
                  "%s", err);
    gcf_rmtree(other);
    char list2[4096];
    path_in(&s, "list2.txt", list2);
    char *names = slurp(s.list, NULL), *line[12];
    int nl = 0;
    for (char *q = strtok(names, "\n"); q && nl < 12; q = strtok(NULL, "\n")) line[nl++] = q;
    ck_assert_int_eq(nl, 12);
    FILE *lf = fopen(list2, "w");
    for (int i = 0; i < 12; ++i) /* the same images, the last two swapped */
        fprintf(lf, "%s\n", line[i == 10 ? 11 : i == 11 ? 10 : i]);
    fclose(lf);
    free(names);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", list2, "-outdir", other, "-shard", spec[1], "-quiet", NULL), 0);
    ck_assert_int_eq(run("merge", d[0], other, d[2], "-o", merged, NULL), 1);
    ck_assert_msg(strstr(err, "were made with other settings or lists (\"list: 12 images, CRC-32 "), "%s", err);
    pf(moved, sizeof moved, "%s/.gradcam-options", other);
    unlink(moved);
    ck_assert_int_eq(run("merge", d[0], other, d[2], "-o", merged, NULL), 1);
    ck_assert_msg(strstr(err, "has a .gradcam-options and") && strstr(err, "none: not shards of one run"), "%s", err);
    /* a shard index cut mid-line (a killed run) is refused */
    pf(p, sizeof p, "%s/index.shard-2-of-3.jsonl", d[2]);
    FILE *f = fopen(p, "a");
    fputs("{\"n\": 5", f);
    fclose(f);
    ck_assert_int_eq(run("merge", d[0], d[1], d[2], "-o", merged, NULL), 1);
    ck_assert_msg(strstr(err, "partial line"), "%s", err);
    scenes_free(&s);
}
END_TEST

/* A bad image in a sharded run: its shard exits 1 after the rest; merge
 * writes the others' index, that of one process over the list, and exits 1
 * naming the image's position. A shard not run at all: missing, refused. */
START_TEST(merge_leaves_out_what_a_shard_could_not_explain)
{
    scenes s;
    scenes_make(&s, "det", 6);
    if (!s.ok) return;
    touch(s.sc, "000004.png", "not a picture");
    char single[4096], shared[4096], a[4096], b[4096];
    path_in(&s, "single", single);
    path_in(&s, "shared", shared);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", single, "-quiet", NULL), 1);
    const char *spec[] = {"0/3", "1/3", "2/3"};
    for (int i = 0; i < 3; ++i)
        ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", shared, "-shard", spec[i], "-quiet", NULL),
                         i == 1 ? 1 : 0);
    ck_assert_int_eq(run("merge", shared, NULL), 1);
    ck_assert_msg(strstr(out, "merged 5 images") && strstr(err, "1 of 6 images failed (list positions 4)"),
                  "%s%s", out, err);
    pf(a, sizeof a, "%s/index.jsonl", single);
    pf(b, sizeof b, "%s/index.jsonl", shared);
    ck_assert_msg(same_file(a, b), "merged index differs from the single run's");
    /* without shard 2's index and errors: its images are missing */
    pf(a, sizeof a, "%s/index.shard-2-of-3.jsonl", shared);
    ck_assert_int_eq(unlink(a), 0);
    ck_assert_int_eq(unlink(b), 0);
    ck_assert_int_eq(run("merge", shared, NULL), 1);
    ck_assert_msg(strstr(err, "2 of 6 images missing (list positions 2, 5;"), "%s", err);
    ck_assert_int_ne(access(b, F_OK), 0);
    scenes_free(&s);
}
END_TEST

/* A merge of two shard folders writes into the first folder's index the
 * second's files by absolute path; merging that folder again into another
 * place keeps those paths (they had been prefixed again, "A//tmp/.../B/...",
 * files that do not exist): every path in the result names a file. */
START_TEST(a_merged_index_merged_again_names_real_files)
{
    scenes s;
    scenes_make(&s, "det", 6);
    if (!s.ok) return;
    char a[4096], b[4096], o[4096];
    path_in(&s, "a", a);
    path_in(&s, "b", b);
    pf(o, sizeof o, "%s/else/m.jsonl", s.dir);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", a, "-shard", "0/2", "-quiet", "-save", "npy",
                         NULL),
                     0);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", b, "-shard", "1/2", "-quiet", "-save", "npy",
                         NULL),
                     0);
    ck_assert_msg(run("merge", a, b, NULL) == 0, "%s", err);
    ck_assert_msg(run("merge", a, "-o", o, NULL) == 0, "%s", err);
    char *t = slurp(o, NULL);
    ck_assert_ptr_nonnull(t);
    int files = 0;
    for (const char *q = t; (q = strstr(q, "\"npy\": \"")); ++files) {
        q += 8;
        const char *e = strchr(q, '"');
        ck_assert_ptr_nonnull(e);
        char path[4096];
        pf(path, sizeof path, "%.*s", (int)(e - q), q);
        ck_assert_msg(path[0] == '/' && access(path, R_OK) == 0, "%s does not exist", path);
        q = e;
    }
    ck_assert_int_gt(files, 0);
    free(t);
    scenes_free(&s);
}
END_TEST

/* Shards whose every image failed: merge takes the list's length from an
 * errors file, which is refused past the 20,000,000 images one run takes,
 * as an index line is (it had sized its tables by it: 490 MB for 10^8). */
START_TEST(merge_refuses_an_errors_file_past_the_list_limit)
{
    char *d = gcf_tempdir(), p[4096];
    ck_assert_ptr_nonnull(d);
    for (int i = 0; i < 2; ++i) {
        pf(p, sizeof p, "index.shard-%d-of-2.jsonl", i);
        touch(d, p, "");
    }
    touch(d, "errors.shard-0-of-2.jsonl", "{\"n\": 0, \"of\": 100000000, \"image\": \"x.png\", \"error\": \"e\"}\n");
    ck_assert_int_eq(run("merge", d, "-o", "-", NULL), 1);
    ck_assert_msg(strstr(err, "errors.shard-0-of-2.jsonl line 1: a list of more than the 20000000 images one run "
                              "takes: a corrupt errors file") &&
                      !strstr(out, "{"),
                  "%s", err);
    touch(d, "errors.shard-0-of-2.jsonl", "{\"n\": 0, \"of\": 3, \"image\": \"x.png\", \"error\": \"e\"}\n");
    ck_assert_int_eq(run("merge", d, "-o", "-", NULL), 1);
    ck_assert_msg(strstr(err, "of 3 images missing"), "%s", err);
    gcf_rmtree(d);
    free(d);
}
END_TEST

/* A line of an index zero-filled (what a crash can leave of a block):
 * -resume redoes its image and ends with the uninterrupted run's index;
 * merge refuses the folder, pointing to -resume. Both had crashed (the line
 * search stopped at the NUL and wrote through NULL). */
START_TEST(a_zero_filled_index_line_is_redone)
{
    scenes s;
    scenes_make(&s, "det", 6);
    if (!s.ok) return;
    char whole[4096], hit[4096], a[4096], b[4096];
    path_in(&s, "whole", whole);
    path_in(&s, "hit", hit);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", whole, "-quiet", "-save", "npy", NULL), 0);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", hit, "-quiet", "-save", "npy", NULL), 0);
    pf(a, sizeof a, "%s/index.jsonl", whole);
    pf(b, sizeof b, "%s/index.jsonl", hit);
    size_t n;
    char *t = gcf_read_file(b, &n);
    ck_assert_ptr_nonnull(t);
    char *l2 = strchr(strchr(t, '\n') + 1, '\n') + 1, *e2 = strchr(l2, '\n'); /* the third line */
    ck_assert_ptr_nonnull(e2);
    memset(l2, 0, (size_t)(e2 - l2));
    FILE *f = fopen(b, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(t, 1, n, f), n);
    fclose(f);
    free(t);
    ck_assert_int_eq(run("merge", hit, "-o", "-", NULL), 1);
    ck_assert_msg(strstr(err, "holds a partial line (an interrupted run): rerun it with -resume"), "%s", err);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", hit, "-quiet", "-save", "npy", "-resume", NULL) ==
                      0,
                  "%s", err);
    ck_assert_msg(same_file(a, b), "the resumed index differs from the uninterrupted run's");
    scenes_free(&s);
}
END_TEST

/* Shards each in a folder of its own, one of them run twice (into two
 * folders), or the list run again in another count of shards: every image
 * twice, and merge must name one (it kept one copy and exited 0, since a
 * folder's last shard index was read as its "index.jsonl beside the
 * shards", whose lines for images already seen are taken quietly). */
START_TEST(merge_finds_an_image_in_two_shard_folders)
{
    scenes s;
    scenes_make(&s, "det", 6);
    if (!s.ok) return;
    char t[4][4096], v[2][4096];
    const char *spec[] = {"0/3", "1/3", "2/3", "0/3"}, *vspec[] = {"0/2", "1/2"};
    for (int i = 0; i < 4; ++i) {
        char name[16];
        pf(name, sizeof name, "t%d", i);
        path_in(&s, name, t[i]);
        ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", t[i], "-shard", spec[i], "-quiet",
                             "-save", "none", NULL),
                         0);
    }
    for (int i = 0; i < 2; ++i) {
        char name[16];
        pf(name, sizeof name, "v%d", i);
        path_in(&s, name, v[i]);
        ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", v[i], "-shard", vspec[i], "-quiet",
                             "-save", "none", NULL),
                         0);
    }
    char out_index[4096];
    pf(out_index, sizeof out_index, "%s/merged.jsonl", s.dir);
    /* the three shards, once each: merged */
    ck_assert_msg(run("merge", t[0], t[1], t[2], "-o", out_index, NULL) == 0, "%s", err);
    ck_assert_msg(strstr(out, "merged 6 images"), "%s", out);
    /* shard 0/3 twice */
    ck_assert_int_eq(unlink(out_index), 0);
    ck_assert_int_eq(run("merge", t[0], t[3], t[1], t[2], "-o", out_index, NULL), 1);
    ck_assert_msg(strstr(err, "is in ") && strstr(err, "000000.png") && strchr(err, '\n') == err + strlen(err) - 1,
                  "%s", err);
    ck_assert_int_ne(access(out_index, F_OK), 0);
    /* three shards and two: every image twice */
    ck_assert_int_eq(run("merge", t[0], t[1], t[2], v[0], v[1], "-o", out_index, NULL), 1);
    ck_assert_msg(strstr(err, "is in "), "%s", err);
    ck_assert_int_ne(access(out_index, F_OK), 0);
    scenes_free(&s);
}
END_TEST

/* After a merge, the folder may go on in one process (-resume without
 * -shard): the index.jsonl it appends to sits beside the shards' indexes,
 * and a later merge takes its images that no shard has (it had rewritten
 * index.jsonl from the shards alone, dropping the image the one process
 * explained, and named it as failed from the shard's old errors file). The
 * result equals one process's run over the mended list. Then shards whose
 * every image failed: merge takes the list's length from the errors files
 * and writes an empty index, as one process does (it had said "the indexes
 * are empty" and written nothing). */
START_TEST(merge_takes_a_one_process_resume_and_all_failed_shards)
{
    scenes s;
    scenes_make(&s, "det", 6);
    if (!s.ok) return;
    char pic[4096], single[4096], shared[4096], a[4096], b[4096];
    pf(pic, sizeof pic, "%s/000004.png", s.sc);
    size_t len;
    char *bytes = slurp(pic, &len);
    ck_assert_ptr_nonnull(bytes);
    touch(s.sc, "000004.png", "not a picture");
    path_in(&s, "single", single);
    path_in(&s, "shared", shared);
    const char *spec[] = {"0/3", "1/3", "2/3"};
    for (int i = 0; i < 3; ++i)
        ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", shared, "-shard", spec[i], "-quiet", NULL),
                         i == 1 ? 1 : 0);
    ck_assert_int_eq(run("merge", shared, NULL), 1);
    ck_assert_msg(strstr(out, "merged 5 images"), "%s%s", out, err);
    FILE *f = fopen(pic, "wb"); /* mended */
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(bytes, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    free(bytes);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", shared, "-resume", "-quiet", NULL) == 0, "%s",
                  gcf_tail(err, 400));
    ck_assert_msg(strstr(err, "1 explained, 5 skipped"), "%s", gcf_tail(err, 400));
    ck_assert_msg(run("merge", shared, NULL) == 0, "%s", err);
    ck_assert_msg(strstr(out, "merged 6 images"), "%s%s", out, err);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", single, "-quiet", NULL) == 0, "%s",
                  gcf_tail(err, 400));
    pf(a, sizeof a, "%s/index.jsonl", single);
    pf(b, sizeof b, "%s/index.jsonl", shared);
    ck_assert_msg(same_file(a, b), "merged index differs from the single run's");
    /* merged again: the same */
    ck_assert_msg(run("merge", shared, NULL) == 0, "%s", err);
    ck_assert_msg(same_file(a, b), "merged index differs from the single run's");
    /* every image of every shard failed */
    char bad[4096], none[4096], one[4096];
    path_in(&s, "bad.txt", bad);
    path_in(&s, "none", none);
    path_in(&s, "one", one);
    f = fopen(bad, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s/nope1.png\n%s/nope2.png\n", s.sc, s.sc);
    ck_assert_int_eq(fclose(f), 0);
    for (int i = 0; i < 2; ++i)
        ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", bad, "-outdir", none, "-shard", i ? "1/2" : "0/2", "-quiet",
                             NULL),
                         1);
    ck_assert_int_eq(run("merge", none, NULL), 1);
    ck_assert_msg(strstr(out, "merged 0 images") && strstr(err, "2 of 2 images failed (list positions 0, 1)"), "%s%s",
                  out, err);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", bad, "-outdir", one, "-quiet", NULL), 1);
    pf(a, sizeof a, "%s/index.jsonl", one);
    pf(b, sizeof b, "%s/index.jsonl", none);
    ck_assert_msg(same_file(a, b), "merged index differs from the single run's");
    scenes_free(&s);
}
END_TEST

/* -save: the index keeps every line, with null for what was left out; the
 * files written are the default run's, byte for byte, and nothing else
 * (-save none: no image folder at all); a shard's null paths stay null
 * when merge prefixes another folder's. The summary line splits the time
 * per image. */
START_TEST(save_leaves_outputs_out)
{
    scenes s;
    scenes_make(&s, "det", 6);
    if (!s.ok) return;
    char all[4096], npy[4096], none[4096], p[4096], q[4096];
    path_in(&s, "all", all);
    path_in(&s, "npy", npy);
    path_in(&s, "none", none);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", all, NULL) == 0, "%s", gcf_tail(err, 400));
    double total = 0, part = 0, passes = 0;
    const char *split = strstr(err, "images/s; ");
    ck_assert_msg(split && sscanf(split, "images/s; %lf ms per image, %lf of them in forward, backward and maps (%lf in "
                                         "the passes)",
                                  &total, &part, &passes) == 3,
                  "%s", gcf_tail(err, 400));
    ck_assert_msg(part > 0 && part <= total && passes > 0 && passes <= part, "%g of %g ms, %g in the passes", part,
                  total, passes);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", npy, "-save", "npy", NULL) == 0, "%s",
                  gcf_tail(err, 400));
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", none, "-save", "none", NULL) == 0, "%s",
                  gcf_tail(err, 400));
    pf(p, sizeof p, "%s/index.jsonl", all);
    char *ta = slurp(p, NULL);
    pf(p, sizeof p, "%s/index.jsonl", npy);
    char *tn = slurp(p, NULL);
    pf(p, sizeof p, "%s/index.jsonl", none);
    char *tz = slurp(p, NULL);
    ck_assert_ptr_nonnull(ta);
    ck_assert_ptr_nonnull(tn);
    ck_assert_ptr_nonnull(tz);
    int lines = 0, targets = 0;
    for (const char *a = ta, *n = tn, *z = tz; *a; ++lines) {
        const char *ae = strchr(a, '\n'), *ne = strchr(n, '\n'), *ze = strchr(z, '\n');
        ck_assert(ae && ne && ze);
        const char *ap = strstr(a, ", \"png\": ");
        if (ap && ap < ae) {
            ++targets;
            /* the same line up to the paths */
            ck_assert_int_eq(strncmp(a, n, (size_t)(ap - a)), 0);
            ck_assert_int_eq(strncmp(a, z, (size_t)(ap - a)), 0);
            const char *an = strstr(ap, ", \"npy\": ");
            ck_assert_msg(!strncmp(n + (ap - a), ", \"png\": null", 13), "%.*s", (int)(ne - n), n);
            ck_assert_msg(!strncmp(strstr(n, ", \"npy\": "), an, (size_t)(ae - an)), "%.*s", (int)(ne - n), n);
            ck_assert_msg(!strncmp(z + (ap - a), ", \"png\": null, \"npy\": null}", 27), "%.*s", (int)(ze - z), z);
        } else {
            ck_assert_int_eq(ae - a, ne - n);
            ck_assert_int_eq(strncmp(a, n, (size_t)(ae - a)), 0);
        }
        a = ae + 1, n = ne + 1, z = ze + 1;
    }
    ck_assert_int_gt(targets, 0);
    ck_assert_int_eq(count_lines(p), lines);
    free(ta);
    free(tn);
    free(tz);
    /* files: the default run's .npy, the same bytes, and no picture; none: no folder */
    static char na[2048][512], nn[2048][512];
    int n = 0, m = 0, maps = 0;
    list_tree(all, "", na, &n, 2048);
    list_tree(npy, "", nn, &m, 2048);
    for (int i = 0; i < n; ++i) {
        size_t len = strlen(na[i]);
        if (len < 4 || strcmp(na[i] + len - 4, ".npy")) continue;
        pf(p, sizeof p, "%s/%s", all, na[i]);
        pf(q, sizeof q, "%s/%s", npy, na[i]);
        ck_assert_msg(same_file(p, q), "%s and %s differ", p, q);
        ++maps;
    }
    ck_assert_int_eq(maps, targets);
    for (int i = 0; i < m; ++i) {
        size_t len = strlen(nn[i]);
        ck_assert_msg(len < 4 || strcmp(nn[i] + len - 4, ".png"), "-save npy wrote %s", nn[i]);
    }
    m = 0;
    list_tree(none, "", nn, &m, 2048);
    for (int i = 0; i < m; ++i)
        ck_assert_msg(!strcmp(nn[i], "index.jsonl") || !strcmp(nn[i], "errors.jsonl") || !strncmp(nn[i], ".tmp/", 5) ||
                          !strcmp(nn[i], ".gradcam-options"),
                      "-save none wrote %s", nn[i]);
    /* shards in two folders, merged: the other folder's .npy paths prefixed, null stays null */
    char a0[4096], a1[4096], merged[4096];
    path_in(&s, "s0", a0);
    path_in(&s, "s1", a1);
    pf(merged, sizeof merged, "%s/merged.jsonl", s.dir);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", a0, "-shard", "0/2", "-save", "npy", NULL), 0);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", a1, "-shard", "1/2", "-save", "npy", NULL), 0);
    ck_assert_msg(run("merge", a0, a1, "-o", merged, NULL) == 0, "%s", err);
    char *t = slurp(merged, NULL);
    int prefixed = 0;
    for (const char *l = t; *l; l = strchr(l, '\n') + 1) {
        const char *e = strchr(l, '\n'), *np = strstr(l, ", \"npy\": \"");
        if (!np || np > e) continue;
        ck_assert_msg(strstr(l, ", \"png\": null") < np, "%.*s", (int)(e - l), l);
        long pos;
        ck_assert_int_eq(sscanf(l, "{\"n\": %ld,", &pos), 1);
        /* shard 1's lines come from the other folder: its path, absolute */
        if (pos % 2 == 1) {
            ck_assert_msg(np[10] == '/' && strstr(np, "/s1/"), "%.*s", (int)(e - l), l);
            ++prefixed;
        }
    }
    ck_assert_int_gt(prefixed, 0);
    free(t);
    /* bad values: a usage error naming them (a word given twice: said so) */
    const char *bad[] = {"jpg", "all,none", "png,png", "", "npy,"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; ++k) {
        ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", none, "-save", bad[k], NULL), 2);
        ck_assert_msg(strstr(err, "-save ") && strstr(err, k == 2 ? "png is given twice" : "expected png, npy, summary"),
                      "%s", err);
    }
    scenes_free(&s);
}
END_TEST

/* An image with nothing to write (-save none, or no box) gets no folder, and
 * neither do the folders above it: -save none over a tree of subfolders
 * had left an empty copy of the tree in -outdir. */
START_TEST(nothing_written_makes_no_folders)
{
    scenes s;
    scenes_make(&s, "det", 2);
    if (!s.ok) return;
    char tree[4096], src[4096], dst[4096], o[4096], p[4096];
    path_in(&s, "tree", tree);
    touch(tree, "a/b/.keep", "");
    touch(tree, "c/.keep", "");
    pf(src, sizeof src, "%s/000000.png", s.sc);
    pf(dst, sizeof dst, "%s/a/b/x.png", tree);
    ck_assert_int_eq(link(src, dst), 0);
    pf(src, sizeof src, "%s/000001.png", s.sc);
    pf(dst, sizeof dst, "%s/c/y.png", tree);
    ck_assert_int_eq(link(src, dst), 0);
    path_in(&s, "out", o);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", tree, "-outdir", o, "-save", "none", "-quiet", NULL) == 0, "%s",
                  gcf_tail(err, 400));
    pf(p, sizeof p, "%s/index.jsonl", o);
    ck_assert_int_ge(count_lines(p), 2); /* both images in the index */
    DIR *d = opendir(o);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        ck_assert_msg(!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "index.jsonl") || !strcmp(n, "errors.jsonl") ||
                          !strcmp(n, ".gradcam-options"),
                      "-save none left %s/%s", o, n);
    }
    closedir(d);
    scenes_free(&s);
}
END_TEST

/* -list DIR does not follow a link to a folder (one to a folder above would
 * loop), and says so: its images had been left out without a word. Nor a
 * link to nothing named as an image, said too. */
START_TEST(a_linked_folder_is_named_not_followed)
{
    scenes s;
    scenes_make(&s, "det", 2);
    if (!s.ok) return;
    char d[4096], src[4096], dst[4096], o[4096];
    path_in(&s, "photos", d);
    ck_assert_int_eq(mkdir(d, 0777), 0);
    pf(src, sizeof src, "%s/000000.png", s.sc);
    pf(dst, sizeof dst, "%s/own.png", d);
    ck_assert_int_eq(link(src, dst), 0);
    pf(dst, sizeof dst, "%s/linked", d);
    ck_assert_int_eq(symlink(s.sc, dst), 0);
    pf(dst, sizeof dst, "%s/up", d);
    ck_assert_int_eq(symlink("..", dst), 0);
    /* a link to nothing is named too when it looks like an image */
    pf(dst, sizeof dst, "%s/gone.png", d);
    ck_assert_int_eq(symlink("no-such.png", dst), 0);
    pf(dst, sizeof dst, "%s/gone-notes", d);
    ck_assert_int_eq(symlink("no-such.txt", dst), 0);
    path_in(&s, "out", o);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", d, "-outdir", o, "-save", "none", "-quiet", NULL) == 0, "%s",
                  gcf_tail(err, 400));
    ck_assert_msg(strstr(err, "1 image: 1 explained"), "%s", gcf_tail(err, 400));
    ck_assert_msg(strstr(err, ": linked is a link to a folder, not followed"), "%s", gcf_tail(err, 400));
    ck_assert_msg(strstr(err, ": up is a link to a folder, not followed"), "%s", gcf_tail(err, 400));
    ck_assert_msg(strstr(err, ": gone.png: No such file or directory, left out") && !strstr(err, "gone-notes"), "%s",
                  gcf_tail(err, 400));
    scenes_free(&s);
}
END_TEST

START_TEST(classifier_list_top2)
{
    scenes s;
    scenes_make(&s, "cls", 3);
    if (!s.ok) return;
    char o[4096], idx[4096];
    path_in(&s, "out", o);
    ck_assert_msg(run("cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights", "-list", s.sc, "-outdir", o, "-top", "2",
                      "-method", "gradcam++", NULL) == 0,
                  "%s", gcf_tail(err, 400));
    pf(idx, sizeof idx, "%s/index.jsonl", o);
    ck_assert_int_eq(count_lines(idx), 6);
    char *t = slurp(idx, NULL);
    ck_assert_msg(strstr(t, "\"targets\": 2, ") && strstr(t, "\"box\": null") && strstr(t, "\"energy_in_box\": null") &&
                      strstr(t, "\"method\": \"gradcam++\""),
                  "%.400s", t);
    /* the first image's first class, by the main command: the same map */
    int cls;
    const char *at = strstr(t, "\"class\": ");
    ck_assert_int_eq(sscanf(at, "\"class\": %d", &cls), 1);
    char img[4096], name[4096], prefix[4096], a[4096], b[4096];
    const char *q = strstr(t, "\"image\": \"") + 10, *qe = strchr(q, '"');
    pf(img, sizeof img, "%.*s", (int)(qe - q), q);
    pf(prefix, sizeof prefix, "%s/one", s.dir);
    ck_assert_int_eq(run("cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights", img, "-class", (pf(name, sizeof name, "%d", cls), name),
                         "-method", "gradcam++", "-out", prefix, NULL),
                     0);
    pf(a, sizeof a, "%s_%d.npy", prefix, cls);
    const char *slash = strrchr(img, '/');
    pf(b, sizeof b, "%s/%s/gradcam_%d.npy", o, slash + 1, cls);
    ck_assert_msg(same_file(a, b), "%s differs from %s", b, a);
    free(t);
    scenes_free(&s);
}
END_TEST

/* A classifier without a [softmax] explains its raw score: the index's
 * "probability" holds it as -json's "score" does (6 significant digits),
 * not to 6 decimals, where a small score had read 0.000000. */
START_TEST(classifier_score_in_the_index_as_in_json)
{
    scenes s;
    scenes_make(&s, "cls", 2);
    if (!s.ok) return;
    char cfg[4096], o[4096], idx[4096], json[4096];
    path_in(&s, "nosoftmax.cfg", cfg);
    char *text = slurp("cfg/fmnist-cls.cfg", NULL);
    char *sm = strstr(text, "\n[softmax]"); /* the section, not the comments' mentions */
    ck_assert_ptr_nonnull(sm);
    sm[1] = '\0';
    FILE *f = fopen(cfg, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
    free(text);
    path_in(&s, "out", o);
    ck_assert_msg(run(cfg, "cfg/fmnist-cls.weights", "-list", s.sc, "-outdir", o, "-top", "2", NULL) == 0, "%s",
                  gcf_tail(err, 400));
    pf(idx, sizeof idx, "%s/index.jsonl", o);
    char *t = slurp(idx, NULL);
    int cls;
    const char *at = strstr(t, "\"class\": ");
    ck_assert_int_eq(sscanf(at, "\"class\": %d", &cls), 1);
    const char *q = strstr(t, "\"image\": \"") + 10, *qe = strchr(q, '"');
    char img[4096], name[64], prefix[4096];
    pf(img, sizeof img, "%.*s", (int)(qe - q), q);
    char listed[64], shown[64];
    ck_assert_int_eq(sscanf(strstr(t, "\"probability\": "), "\"probability\": %63[^,]", listed), 1);
    pf(prefix, sizeof prefix, "%s/one", s.dir);
    path_in(&s, "one.json", json);
    ck_assert_int_eq(run(cfg, "cfg/fmnist-cls.weights", img, "-class", (pf(name, sizeof name, "%d", cls), name), "-out",
                         prefix, "-json", json, NULL),
                     0);
    char *j = slurp(json, NULL);
    const char *sc = strstr(j, "\"score\": ");
    ck_assert_msg(sc, "%.400s", j);
    ck_assert_int_eq(sscanf(sc, "\"score\": %63[^,}\n]", shown), 1);
    ck_assert_msg(!strcmp(listed, shown), "index %s, -json %s", listed, shown);
    free(j);
    free(t);
    scenes_free(&s);
}
END_TEST

START_TEST(one_run_per_index_and_bad_outdir)
{
    scenes s;
    scenes_make(&s, "det", 2);
    if (!s.ok) return;
    char o[4096], lock[4096];
    path_in(&s, "out", o);
    pf(lock, sizeof lock, "%s/.tmp/index.jsonl.lock", o);
    touch(o, ".tmp/index.jsonl.lock", "");
    int fd = open(lock, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_EX), 0);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, NULL), 1);
    ck_assert_msg(strstr(err, "gradcam: another run is writing") && strstr(err, "index.jsonl"), "%s", gcf_tail(err, 300));
    /* the refused run leaves the holder's lock where it is: a third run is
     * refused too (it had removed it, and a third run went ahead) */
    struct stat held, now;
    ck_assert_int_eq(fstat(fd, &held), 0);
    ck_assert_msg(stat(lock, &now) == 0 && now.st_ino == held.st_ino, "the refused run removed the lock");
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, NULL), 1);
    ck_assert_msg(strstr(err, "gradcam: another run is writing"), "%s", gcf_tail(err, 300));
    close(fd);
    /* the lock released: the run goes through */
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, NULL) == 0, "%s", gcf_tail(err, 300));
    /* an -outdir that cannot be created */
    char bad[4096];
    pf(bad, sizeof bad, "%s/list.txt/sub", s.sc);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", bad, NULL), 1);
    ck_assert_msg(strstr(err, "gradcam: cannot create") && strstr(err, "list.txt"), "%s", gcf_tail(err, 300));
    scenes_free(&s);
}
END_TEST

/* An option that fails for every image (a layer out of range, a method the
 * network cannot have) is one error before any image, no output folder: it
 * was an error per image, a forward pass each, and a detector's images
 * without boxes went into an index that -resume with the option mended then
 * refused. One some boxes can use stays those boxes' error. */
START_TEST(an_option_no_image_can_use_fails_before_any)
{
    scenes s;
    scenes_make(&s, "det", 4);
    if (!s.ok) return;
    char o[4096];
    path_in(&s, "out", o);
    const char *det[][2] = {{"-layer", "99"}, {"-method", "cam"}};
    for (int k = 0; k < 2; ++k) {
        ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, det[k][0], det[k][1], NULL), 1);
        ck_assert_msg(count_str(err, "gradcam: ") == 1 && strstr(err, det[k][1]) && !strstr(err, ".png"), "%s",
                      gcf_tail(err, 600));
        ck_assert_int_ne(access(o, F_OK), 0);
    }
    ck_assert_int_eq(run("cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights", "-list", s.list, "-outdir", o, "-layer", "99",
                         NULL),
                     1);
    ck_assert_msg(count_str(err, "gradcam: ") == 1 && strstr(err, "-layer 99 is out of range for the logit layer"), "%s",
                  gcf_tail(err, 600));
    ck_assert_int_ne(access(o, F_OK), 0);
    /* -top above the classifier's 10 classes: one line, not one per image */
    ck_assert_int_eq(run("cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights", "-list", s.list, "-outdir", o, "-top", "11",
                         NULL),
                     1);
    ck_assert_msg(count_str(err, "gradcam: ") == 1 && strstr(err, "-top 11 is more than the network's 10 classes"),
                  "%s", gcf_tail(err, 600));
    ck_assert_int_ne(access(o, F_OK), 0);
    /* -layer -13 is out of range for the head at layer 12 only: its boxes fail */
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-layer", "-13", "-quiet", NULL), 1);
    ck_assert_msg(strstr(err, "box 0: -layer -13 is out of range for the box's head (layer 12)"), "%s",
                  gcf_tail(err, 600));
    /* the main command on such an image stops at the box, one line, no file
     * written; on an image whose boxes are all on the other head it runs */
    FILE *lf = fopen(s.list, "r");
    ck_assert_ptr_nonnull(lf);
    char img[4096], pre[4096];
    int stopped = 0, ran = 0;
    pf(pre, sizeof pre, "%s/one/x", s.dir);
    while (fgets(img, sizeof img, lf)) {
        img[strcspn(img, "\n")] = '\0';
        char one[4096];
        pf(one, sizeof one, "%s/one", s.dir);
        gcf_rmtree(one);
        ck_assert_int_eq(mkdir(one, 0755), 0);
        int rc = run(DET_CFG, DET_WEIGHTS, img, "-layer", "-13", "-out", pre, NULL);
        if (rc == 1) {
            ++stopped;
            ck_assert_msg(count_str(err, "gradcam: ") == 1 && strstr(err, "-layer -13 is out of range for the box's "
                                                                           "head (layer 12)"),
                          "%s", err);
            ck_assert_int_eq(gcf_count_files(one), 0);
        } else {
            ck_assert_msg(rc == 0 && !strstr(err, "out of range"), "%d: %s", rc, err);
            ++ran;
            ck_assert_int_gt(gcf_count_files(one), 0);
        }
    }
    fclose(lf);
    ck_assert_msg(stopped >= 1 && ran >= 1, "%d images stopped, %d explained", stopped, ran);
    scenes_free(&s);
}
END_TEST

/* -resume compares the settings, not how they were spelled: the order of
 * the options, a default given or left out, 0.5 against .5, a class by name
 * or by index. Every option of the main command that changes the outputs is
 * refused on its own; an option that appears in the help and in none of the
 * lists below fails the test, so that a new one is placed. A folder whose
 * settings were recorded in another format is refused with its own message. */
START_TEST(resume_compares_settings_not_spelling)
{
    scenes s;
    scenes_make(&s, "det", 2);
    if (!s.ok) return;
    char o[4096];
    path_in(&s, "out", o);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-thresh", ".5", "-names", "cfg/fmnist.names",
                      "-method", "layercam", NULL) == 0,
                  "%s", gcf_tail(err, 400));
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-names", "cfg/fmnist.names", "-resume", "-list", s.list, "-outdir", o,
                      "-alpha", "0.50", "-save", "all", "-maxboxes", "100", "-target", "logit", "-nms", "0.45",
                      "-thresh", "5e-1", NULL) == 0,
                  "%s", gcf_tail(err, 400));
    ck_assert_msg(strstr(err, "0 explained, 2 skipped"), "%s", gcf_tail(err, 400));
    /* each option that decides the outputs, changed alone */
    static const char *const decides[][2] = {
        {"-method", "gradcam"}, {"-layer", "7"},      {"-thresh", "0.6"},  {"-hier", "0.4"},
        {"-nms", "0.3"},        {"-maxboxes", "5"},   {"-target", "score"}, {"-counterfactual", NULL},
        {"-alpha", "0.3"},      {"-smooth", "aug"},   {"-sheet", NULL},     {"-save", "png"},
    };
    for (size_t k = 0; k < sizeof decides / sizeof *decides; ++k) {
        ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-resume", "-names", "cfg/fmnist.names",
                             decides[k][0], decides[k][1], NULL),
                         1);
        ck_assert_msg(strstr(err, "this folder's run had other options"), "%s: %s", decides[k][0], gcf_tail(err, 300));
    }
    /* every option in the help is in one of the lists */
    static const char *const elsewhere[] = {
        "-class", "-top",                                         /* classifiers: below */
        "-names", "-data", /* above (-data's names file is recorded as -names'; both: a usage error) */
        "-out", "-json",                                          /* refused with -list */
        "-list", "-outdir", "-resume", "-shard", "-jobs", "-batch", "-progress", "-quiet", /* how a run runs */
        "-mapthresh", "-steps", "-limit", "-baseline", "-rise", "-rise-weight", "-nosanity", "-cascade", "-seed", /* eval's */
        "-scorecam-channels", /* -method scorecam's only: below */
    };
    ck_assert_int_eq(run("help", NULL), 0);
    int seen = 0;
    for (char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, "  -", 3)) continue;
        char flag[64];
        ck_assert_int_eq(sscanf(line, " %63[-a-z]", flag), 1);
        int placed = 0;
        for (size_t k = 0; k < sizeof decides / sizeof *decides; ++k) placed |= !strcmp(flag, decides[k][0]);
        for (size_t k = 0; k < sizeof elsewhere / sizeof *elsewhere; ++k) placed |= !strcmp(flag, elsewhere[k]);
        ck_assert_msg(placed, "%s: does it decide a -list run's outputs? place it in this test", flag);
        seen++;
    }
    ck_assert_int_gt(seen, 30);
    /* a classifier's class, by name or index, in any case */
    scenes c;
    scenes_make(&c, "cls", 2);
    char oc[4096];
    path_in(&c, "out", oc);
    ck_assert_msg(run("cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights", "-list", c.list, "-outdir", oc, "-class", "Trouser",
                      "-names", "cfg/fmnist.names", NULL) == 0,
                  "%s", gcf_tail(err, 400));
    ck_assert_msg(run("cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights", "-list", c.list, "-outdir", oc, "-resume", "-class",
                      "1", "-names", "cfg/fmnist.names", NULL) == 0,
                  "%s", gcf_tail(err, 400));
    ck_assert_int_eq(run("cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights", "-list", c.list, "-outdir", oc, "-resume",
                         "-class", "top", "-names", "cfg/fmnist.names", NULL),
                     1);
    ck_assert_msg(strstr(err, "(it has \"class: 1\", this run \"class: 0\")"), "%s", gcf_tail(err, 300));
    ck_assert_int_eq(run("cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights", "-list", c.list, "-outdir", oc, "-resume",
                         "-names", "cfg/fmnist.names", NULL),
                     1);
    ck_assert_msg(strstr(err, "(it has \"class: 1\", this run \"class: none\")"), "%s", gcf_tail(err, 300));
    /* -scorecam-channels decides a Score-CAM run's outputs (with another
     * method it is a usage error) */
    char os[4096];
    path_in(&c, "score", os);
    ck_assert_msg(run("cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights", "-list", c.list, "-outdir", os, "-method", "scorecam",
                      "-scorecam-channels", "2", NULL) == 0,
                  "%s", gcf_tail(err, 400));
    ck_assert_msg(run("cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights", "-list", c.list, "-outdir", os, "-resume", "-method",
                      "ScoreCAM", "-scorecam-channels", "02", NULL) == 0,
                  "%s", gcf_tail(err, 400));
    ck_assert_int_eq(run("cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights", "-list", c.list, "-outdir", os, "-resume",
                         "-method", "scorecam", "-scorecam-channels", "3", NULL),
                     1);
    ck_assert_msg(strstr(err, "this folder's run had other options"), "%s", gcf_tail(err, 300));
    /* settings recorded by an earlier gradcam (one argument a line) */
    touch(oc, ".gradcam-options", "# the options of the gradcam -list run that wrote this folder\n-class\n1\n");
    ck_assert_int_eq(run("cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights", "-list", c.list, "-outdir", oc, "-resume",
                         "-class", "1", "-names", "cfg/fmnist.names", NULL),
                     1);
    ck_assert_msg(strstr(err, "made by another version of gradcam"), "%s", gcf_tail(err, 300));
    scenes_free(&c);
    scenes_free(&s);
}
END_TEST

/* A -data run's class names come from the names file the .data file names:
 * a -resume after that file changed is refused, as after -names' changed
 * (only the .data file's bytes had been recorded, and the resumed run put
 * the new names beside the old ones in one index). */
START_TEST(resume_compares_the_names_a_data_file_names)
{
    scenes s;
    scenes_make(&s, "det", 2);
    if (!s.ok) return;
    char names[4096], data[4096], text[8192], o[4096];
    path_in(&s, "my.names", names);
    path_in(&s, "my.data", data);
    path_in(&s, "out", o);
    char *orig = slurp("cfg/fmnist.names", NULL);
    ck_assert(orig != NULL);
    touch(s.dir, "my.names", orig);
    pf(text, sizeof text, "classes=10\nnames=%s\n", names);
    touch(s.dir, "my.data", text);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-data", data, "-quiet", NULL) == 0, "%s",
                  gcf_tail(err, 400));
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-data", data, "-quiet", "-resume", NULL) == 0,
                  "%s", gcf_tail(err, 400));
    ck_assert_msg(strstr(err, "0 explained, 2 skipped"), "%s", gcf_tail(err, 400));
    /* the same .data file, other names in the file it names */
    pf(text, sizeof text, "renamed-%s", orig);
    touch(s.dir, "my.names", text);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-data", data, "-quiet", "-resume", NULL),
                     1);
    ck_assert_msg(strstr(err, "this folder's run had other options (it has \"names: a file of"), "%s",
                  gcf_tail(err, 400));
    free(orig);
    scenes_free(&s);
}
END_TEST

/* Shards started together with other settings: before any index line, the
 * folder's settings are those of the shard that wrote them while it runs
 * (its lock held): a shard with others is refused then, and takes the
 * folder once nothing runs and nothing was recorded. (Each shard had
 * replaced the file, the last one winning, and merge mixed them.) */
START_TEST(shards_started_together_agree_on_settings)
{
    scenes s;
    scenes_make(&s, "det", 2);
    if (!s.ok) return;
    char o[4096], lock[4096], opts[4096];
    path_in(&s, "out", o);
    /* shard 1 running with -thresh 0.3: its settings written, its lock held */
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-shard", "1/2", "-thresh", "0.3", "-quiet",
                         NULL),
                     0);
    pf(lock, sizeof lock, "%s/index.shard-1-of-2.jsonl", o);
    ck_assert_int_eq(unlink(lock), 0); /* as if it had not written a line yet */
    pf(lock, sizeof lock, "%s/.tmp/index.shard-1-of-2.jsonl.lock", o);
    touch(o, ".tmp/index.shard-1-of-2.jsonl.lock", "");
    int fd = open(lock, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_EX), 0);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-shard", "0/2", "-thresh", "0.5", "-quiet",
                         NULL),
                     1);
    ck_assert_msg(strstr(err, "this folder's running shard had other options (it has \"thresh: 0.3\", this run "
                              "\"thresh: 0.5\")"),
                  "%s", gcf_tail(err, 400));
    pf(opts, sizeof opts, "%s/.gradcam-options", o);
    char *t = slurp(opts, NULL);
    ck_assert_msg(t && strstr(t, "thresh: 0.3\n"), "%s", t);
    free(t);
    /* the same settings go along */
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-shard", "0/2", "-thresh", ".3", "-quiet",
                      NULL) == 0,
                  "%s", gcf_tail(err, 400));
    pf(lock, sizeof lock, "%s/index.shard-0-of-2.jsonl", o);
    ck_assert_int_eq(unlink(lock), 0);
    /* shard 1 gone, no line recorded: the next run's settings replace them */
    close(fd);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-shard", "0/2", "-thresh", "0.5", "-quiet",
                      NULL) == 0,
                  "%s", gcf_tail(err, 400));
    t = slurp(opts, NULL);
    ck_assert_msg(t && strstr(t, "thresh: 0.5\n"), "%s", t);
    free(t);
    scenes_free(&s);
}
END_TEST

/* An image's output folder never replaces what gradcam did not write: the
 * images themselves (-outdir the folder they are listed from), a file or a
 * user's folder at that path. */
START_TEST(outputs_never_replace_what_gradcam_did_not_write)
{
    scenes s;
    scenes_make(&s, "det", 3);
    if (!s.ok) return;
    char img[4096];
    pf(img, sizeof img, "%s/000001.png", s.sc);
    size_t n;
    char *bytes = slurp(img, &n);
    ck_assert_ptr_nonnull(bytes);
    /* the folder itself, and a list file whose root it is */
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.sc, "-outdir", s.sc, "-quiet", NULL), 1);
    ck_assert_msg(strstr(err, "gradcam: -outdir") && strstr(err, "is the folder of the listed images"), "%s",
                  gcf_tail(err, 300));
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", s.sc, "-quiet", NULL), 1);
    ck_assert_msg(strstr(err, "is the folder of the listed images"), "%s", gcf_tail(err, 300));
    size_t m;
    char *after = slurp(img, &m);
    ck_assert_msg(after && m == n && !memcmp(after, bytes, n), "%s was replaced", img);
    free(after);
    char tmp[4096];
    pf(tmp, sizeof tmp, "%s/.tmp", s.sc);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    /* a file, and a folder of the user's, where two images' folders go */
    char o[4096], file[4096], notes[4096], done[4096];
    path_in(&s, "out", o);
    touch(o, "000000.png", "a user's file");
    touch(o, "000001.png/notes.txt", "a user's notes");
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-quiet", NULL), 1);
    ck_assert_msg(strstr(err, "000000.png: a file is there, which gradcam did not write") &&
                      strstr(err, "000001.png: the folder there holds notes.txt") && strstr(err, "1 explained") &&
                      strstr(err, "2 errors"),
                  "%s", gcf_tail(err, 600));
    pf(file, sizeof file, "%s/000000.png", o);
    pf(notes, sizeof notes, "%s/000001.png/notes.txt", o);
    pf(done, sizeof done, "%s/000002.png/gradcam_summary.png", o);
    char *t = slurp(file, NULL), *u = slurp(notes, NULL);
    ck_assert_msg(t && !strcmp(t, "a user's file"), "the file was replaced");
    ck_assert_msg(u && !strcmp(u, "a user's notes"), "the user's folder was replaced");
    ck_assert_int_eq(access(done, R_OK), 0);
    free(t);
    free(u);
    /* a folder an earlier run left (its files only) is still redone */
    char left[4096], idx[4096];
    pf(left, sizeof left, "%s/000002.png/gradcam_9.png", o);
    touch(o, "000002.png/gradcam_9.png", "left by a killed run");
    pf(idx, sizeof idx, "%s/index.jsonl", o);
    ck_assert_int_eq(unlink(idx), 0);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-quiet", NULL), 1);
    ck_assert_msg(strstr(err, "1 explained"), "%s", gcf_tail(err, 300));
    ck_assert_int_ne(access(left, F_OK), 0);
    ck_assert_int_eq(access(done, R_OK), 0);
    free(bytes);
    scenes_free(&s);
}
END_TEST

/* A list file holding no paths: a line longer than any path, or a NUL byte
 * (a binary file, /dev/zero, /dev/urandom). getline() read /dev/zero as one
 * line until it had 2 GB ("no images in it"), and /dev/urandom until memory
 * ran out; a long or binary line became an image's error. Now each stops the
 * load at its line, and a long list of good lines still loads. */
START_TEST(a_list_that_is_not_text)
{
    char *dir = gcf_tempdir(), file[4096];
    ck_assert_ptr_nonnull(dir);
    pf(file, sizeof file, "%s/long.txt", dir);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs("a.png\n", f);
    for (int i = 0; i < 70000; ++i) fputc('a', f);
    fputs(".png\n", f);
    fclose(f);
    gc_batch_list l;
    gc_err e;
    ck_assert_int_eq(gc_batch_list_load(file, NULL, &l, &e), -1);
    ck_assert_msg(strstr(e.msg, "line 2: longer than 65536 bytes"), "%s", e.msg);
    pf(file, sizeof file, "%s/nul.txt", dir);
    f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fwrite("a.png\nb\0c.png\n", 1, 14, f);
    fclose(f);
    ck_assert_int_eq(gc_batch_list_load(file, NULL, &l, &e), -1);
    ck_assert_msg(strstr(e.msg, "line 2: contains a NUL byte"), "%s", e.msg);
    ck_assert_int_eq(gc_batch_list_load("/dev/zero", NULL, &l, &e), -1);
    ck_assert_msg(strstr(e.msg, "/dev/zero line 1: contains a NUL byte"), "%s", e.msg);
    /* a line of exactly the limit, lines without a final newline, CRLF */
    pf(file, sizeof file, "%s/ok.txt", dir);
    f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 1000; ++i) fprintf(f, "d/%d.png\r\n", i);
    for (int i = 0; i < 65536 - 4; ++i) fputc('b', f);
    fputs(".png\nlast.png", f);
    fclose(f);
    ck_assert_msg(gc_batch_list_load(file, NULL, &l, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(l.n, 1002);
    ck_assert_str_eq(l.path[999], "d/999.png");
    ck_assert_uint_eq(strlen(l.path[1000]), 65536);
    ck_assert_str_eq(l.path[1001], "last.png");
    gc_batch_list_free(&l);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* An index that is a device (index.jsonl a link to /dev/zero, for -resume
 * or merge) was read whole, its buffer doubled until memory ran out (under
 * the 1 GB limit set here; without one, the machine's). Now refused. */
START_TEST(an_index_that_is_not_a_file)
{
#if !defined(__SANITIZE_ADDRESS__) /* ASan's shadow lies beyond any address-space limit */
    struct rlimit rl = {1u << 30, 1u << 30};
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0); /* this forked test only */
#endif
    gc_index_file f;
    gc_err e;
    ck_assert_int_eq(gc_index_read("/dev/zero", &f, 0, &e), -1);
    gc_index_free(&f);
    ck_assert_msg(strstr(e.msg, "/dev/zero: not a regular file"), "%s", e.msg);
}
END_TEST

/* A list read from a pipe (-list /dev/stdin, -list <(find ...)): every
 * path (the check that refuses an image given as a list read the pipe's
 * first 64 KiB away). */
START_TEST(a_list_from_a_pipe)
{
    scenes s;
    scenes_make(&s, "det", 3);
    if (!s.ok) return;
    char o[4096], cmd[16384];
    path_in(&s, "out", o);
    pf(cmd, sizeof cmd, "cat %s | exec %s gradcam %s %s -list /dev/stdin -outdir %s -quiet", s.list, gcf_shell_binary(),
       DET_CFG, DET_WEIGHTS, o);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    int rc = gcf_run(argv, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0 && strstr(err, "3 explained"), "exit %d: %s", rc, gcf_tail(err, 400));
    /* -list -: standard input too (it had been a file named "-"), and -resume on the same list piped again */
    pf(cmd, sizeof cmd, "cat %s | exec %s gradcam %s %s -list - -outdir %s -quiet -resume", s.list, gcf_shell_binary(),
       DET_CFG, DET_WEIGHTS, o);
    rc = gcf_run(argv, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0 && strstr(err, "0 explained, 3 skipped"), "exit %d: %s", rc, gcf_tail(err, 400));
    scenes_free(&s);
}
END_TEST

/* A list's length and its bytes of paths are bounded (GC_BATCH_LIST_MAX,
 * GC_BATCH_LIST_BYTES): the list is read whole before the first image, and
 * one from a pipe that never ends grew the memory until it ran out. The
 * limits' rule on small ones (a list file, a folder; the limit itself fits),
 * then the real count limit end to end: `yes img.jpg | ... -list /dev/stdin`
 * stops at 20 million lines under 1.1 GB (it had passed 1.4 GB in 20 s and
 * gone on; here it met the 3 GB limit and said "out of memory"). */
START_TEST(an_endless_list_stops_at_its_limit)
{
    char *dir = gcf_tempdir(), p[4096];
    ck_assert_ptr_nonnull(dir);
    touch(dir, "l.txt", "a.png\nb.png\n\nc.png\n");
    pf(p, sizeof p, "%s/l.txt", dir);
    gc_batch_list l;
    gc_err e;
    ck_assert_msg(gc_batch_list_load_max(p, NULL, 3, 18, &l, &e) == 0, "%s", e.msg); /* 3 paths of 5 bytes and one */
    ck_assert_int_eq(l.n, 3);
    gc_batch_list_free(&l);
    ck_assert_int_eq(gc_batch_list_load_max(p, NULL, 2, 1000, &l, &e), -1);
    ck_assert_msg(strstr(e.msg, "l.txt: more than 2 images, the limit of one list: split it into several runs"), "%s",
                  e.msg);
    ck_assert_int_eq(gc_batch_list_load_max(p, NULL, 3, 17, &l, &e), -1);
    ck_assert_msg(strstr(e.msg, "l.txt: more than 17 bytes of paths, the limit of one list"), "%s", e.msg);
    char src[4096];
    pf(src, sizeof src, "%s/photos", dir);
    touch(src, "a.jpg", "x");
    touch(src, "b/c.jpg", "x");
    ck_assert_msg(gc_batch_list_load_max(src, NULL, 2, 1000, &l, &e) == 0, "%s", e.msg);
    gc_batch_list_free(&l);
    ck_assert_int_eq(gc_batch_list_load_max(src, NULL, 1, 1000, &l, &e), -1);
    ck_assert_msg(strstr(e.msg, "photos: more than 1 images"), "%s", e.msg);
    gcf_rmtree(dir);
    free(dir);
#if defined(__SANITIZE_ADDRESS__)
    printf("check_batch: an endless list under ASan (no address-space limit there): skipped\n");
#else
    if (access(DET_WEIGHTS, R_OK) != 0) return;
    char o[4096], cmd[16384];
    dir = gcf_tempdir();
    ck_assert_ptr_nonnull(dir);
    pf(o, sizeof o, "%s/out", dir);
    pf(cmd, sizeof cmd, "ulimit -v 3000000; yes img.jpg | exec %s gradcam %s %s -list /dev/stdin -outdir %s -quiet",
       gcf_shell_binary(), DET_CFG, DET_WEIGHTS, o);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    int rc = gcf_run(argv, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 1 && strstr(err, "gradcam: -list /dev/stdin: more than 20000000 images, the limit of one list: "
                                         "split it into several runs\n"),
                  "exit %d: %s", rc, gcf_tail(err, 400));
    struct rusage ru;
    ck_assert_int_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
    ck_assert_msg(ru.ru_maxrss < 1100 * 1024, "the run reached %ld KB", ru.ru_maxrss);
    gcf_rmtree(dir);
    free(dir);
#endif
}
END_TEST

/* s's first demo scene scaled up 24 times (3072 x 3072: 28 MB of bytes, 113
 * MB as Darknet's floats), written to big (in s's folder) as a PNG. */
static void big_scene(scenes *s, char *big)
{
    char scene[4096];
    pf(scene, sizeof scene, "%s/000000.png", s->sc);
    image im;
    gc_err e;
    ck_assert_msg(gc_image_load(scene, &im, &e) == 0, "%s", e.msg);
    const int f = 24, W = im.w * f, H = im.h * f;
    unsigned char *rgb = malloc((size_t)W * H * 3);
    ck_assert_ptr_nonnull(rgb);
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x)
            for (int c = 0; c < 3; ++c) {
                float v = im.data[(size_t)c * im.w * im.h + (size_t)(y / f) * im.w + x / f];
                rgb[((size_t)y * W + x) * 3 + c] = (unsigned char)(v * 255 + .5f);
            }
    free_image(im);
    path_in(s, "big.png", big);
    ck_assert_msg(gc_image_write_png(big, W, H, rgb, &e) == 0, "%s", e.msg);
    free(rgb);
}

/* SIGTERM while the list's last image is in hand: that image is finished,
 * and with it every image, so the run says so (not "rerun with -resume to
 * finish", which would redo nothing) and still dies of the signal. The list:
 * two demo scenes, then big_scene's 3072 x 3072 photo, whose explanation and
 * full-size pictures take long enough (~1 s) for the signal to land while
 * it is in hand: it is sent once the photo's folder under .tmp exists, made
 * as its explanation starts. A -resume afterwards has nothing to do. */
START_TEST(a_signal_during_the_last_image_finishes_the_list)
{
    scenes s;
    scenes_make(&s, "det", 2);
    if (!s.ok) return;
    char big[4096], list[4096], o[4096], last[4096], outf[4096], errf[4096], ix[4096], tmp[4096];
    big_scene(&s, big);
    path_in(&s, "three.txt", list);
    FILE *lf = fopen(list, "w");
    ck_assert_ptr_nonnull(lf);
    fprintf(lf, "%s/000000.png\n%s/000001.png\n%s\n", s.sc, s.sc, big);
    ck_assert_int_eq(fclose(lf), 0);
    path_in(&s, "out", o);
    path_in(&s, "stdout.txt", outf);
    path_in(&s, "stderr.txt", errf);
    pf(last, sizeof last, "%s/.tmp/s0of1-2", o);
    pf(ix, sizeof ix, "%s/index.jsonl", o);
    pf(tmp, sizeof tmp, "%s/.tmp", o);
    pid_t pid = spawn_group(list, o, "1", outf, errf, 0);
    for (int waited = 0; access(last, F_OK) != 0 && waited < 240000; ++waited) usleep(500);
    ck_assert_msg(access(last, F_OK) == 0, "%s never made", last);
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    char *e = slurp(errf, NULL);
    ck_assert_ptr_nonnull(e);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %#x: %s", status, gcf_tail(e, 800));
    ck_assert_msg(strstr(e, "gradcam: 3 images: 3 explained, 0 skipped (already in the index), 0 errors;"), "%s",
                  gcf_tail(e, 800));
    ck_assert_msg(strstr(e, "gradcam: interrupted by SIGTERM after the last image: all 3 images done, nothing left "
                            "to resume\n"),
                  "%s", gcf_tail(e, 800));
    ck_assert_msg(!strstr(e, "rerun with -resume"), "%s", gcf_tail(e, 800));
    free(e);
    ck_assert_msg(gcf_count_files(tmp) <= 0, "%s left behind (%d entries)", tmp, gcf_count_files(tmp));
    assert_index_outputs_exist(o);
    char box[4096];
    pf(box, sizeof box, "%s/big.png/gradcam_0.png", o); /* the last image's pictures are there */
    ck_assert_msg(access(box, R_OK) == 0, "no %s", box);
    size_t n0 = 0, n1 = 0;
    char *before = slurp(ix, &n0);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", list, "-outdir", o, "-resume", "-quiet", NULL) == 0, "%s",
                  gcf_tail(err, 600));
    ck_assert_msg(strstr(err, "gradcam: 3 images: 0 explained, 3 skipped (already in the index), 0 errors;"), "%s",
                  gcf_tail(err, 600));
    char *after = slurp(ix, &n1);
    ck_assert_uint_eq(n0, n1); /* the same lines (the resume may sort them) */
    free(before);
    free(after);
    /* the photo first in the list and missing: the scenes are done, the
     * photo an error; then, the photo there, a -resume retries it, and its
     * lines are appended after the scenes'. SIGTERM while it is in hand:
     * every image done, and the index sorted as a run that ends sorts it
     * (it had been left out of order, with "nothing left to resume") */
    char moved[4096];
    pf(moved, sizeof moved, "%s.away", big);
    ck_assert_int_eq(rename(big, moved), 0);
    lf = fopen(list, "w");
    ck_assert_ptr_nonnull(lf);
    fprintf(lf, "%s\n%s/000000.png\n%s/000001.png\n", big, s.sc, s.sc);
    ck_assert_int_eq(fclose(lf), 0);
    path_in(&s, "out2", o);
    pf(ix, sizeof ix, "%s/index.jsonl", o);
    pf(last, sizeof last, "%s/.tmp/s0of1-0", o);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", list, "-outdir", o, "-quiet", NULL), 1);
    ck_assert_int_eq(rename(moved, big), 0);
    pid = spawn_group_with(list, o, "1", outf, errf, 0, "-resume");
    for (int waited = 0; access(last, F_OK) != 0 && waited < 240000; ++waited) usleep(500);
    ck_assert_msg(access(last, F_OK) == 0, "%s never made", last);
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    e = slurp(errf, NULL);
    ck_assert_ptr_nonnull(e);
    ck_assert_msg(WIFSIGNALED(status) && strstr(e, "after the last image: all 3 images done, nothing left to resume"),
                  "%s", gcf_tail(e, 800));
    free(e);
    char *t = slurp(ix, NULL);
    ck_assert_ptr_nonnull(t);
    long prev = -1, lines = 0;
    for (const char *q = t; *q; q = strchr(q, '\n') + 1, ++lines) {
        long n;
        ck_assert_int_eq(sscanf(q, "{\"n\": %ld,", &n), 1);
        ck_assert_msg(n >= prev, "index out of order: %ld after %ld\n%s", n, prev, t);
        prev = n;
    }
    ck_assert_int_ge(lines, 3);
    free(t);
    scenes_free(&s);
}
END_TEST

/* A large photo in a list run is held once: the output thread's pictures
 * share the explaining thread's image (a copy had been made for them, 576 MB
 * for an 8000x6000 photo). big_scene's 3072 x 3072 photo, one box: the
 * run's peak resident memory was 420 MB, then 314 MB with the float image
 * shared, and is 204 MB with the image kept in 8-bit and no float image of
 * it made (one_large_photo_is_held_as_bytes). */
START_TEST(a_large_photo_is_held_once)
{
#if defined(__SANITIZE_ADDRESS__)
    printf("check_batch: peak memory under ASan (its own memory is not the program's): skipped\n");
#else
    scenes s;
    scenes_make(&s, "det", 1);
    if (!s.ok) return;
    char big[4096], list[4096], o[4096], box[4096];
    big_scene(&s, big);
    path_in(&s, "big.txt", list);
    FILE *lf = fopen(list, "w");
    ck_assert_ptr_nonnull(lf);
    fprintf(lf, "%s\n", big);
    ck_assert_int_eq(fclose(lf), 0);
    path_in(&s, "out", o);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", list, "-outdir", o, "-quiet", NULL) == 0, "%s",
                  gcf_tail(err, 600));
    pf(box, sizeof box, "%s/big.png/gradcam_0.png", o); /* a box's overlay: the pictures were drawn */
    ck_assert_msg(access(box, R_OK) == 0, "no %s: %s", box, gcf_tail(err, 600));
    struct rusage ru;
    ck_assert_int_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
    ck_assert_msg(ru.ru_maxrss < 260 * 1024, "the run reached %ld KB", ru.ru_maxrss);
    printf("check_batch: a 3072x3072 photo's list run: peak RSS %ld KB\n", ru.ru_maxrss);
    scenes_free(&s);
#endif
}
END_TEST

/* One large photo through the main command is held as its 8-bit decode: the
 * network's input is letterboxed from the bytes and the pictures drawn from
 * them; Darknet's float image of it (113 MB for big_scene's 3072 x 3072,
 * 576 MB at 8000x6000) is never made. With one box, its overlay, map and
 * summary, the run's peak resident memory was 271 MB and is 197 MB. */
START_TEST(one_large_photo_is_held_as_bytes)
{
#if defined(__SANITIZE_ADDRESS__)
    printf("check_batch: peak memory under ASan (its own memory is not the program's): skipped\n");
#else
    scenes s;
    scenes_make(&s, "det", 1);
    if (!s.ok) return;
    char big[4096], o[4096], box[4096];
    big_scene(&s, big);
    path_in(&s, "one/p", o);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, big, "-out", o, NULL) == 0, "%s", gcf_tail(err, 600));
    pf(box, sizeof box, "%s_summary.png", o); /* the pictures were drawn */
    ck_assert_msg(access(box, R_OK) == 0, "no %s: %s", box, gcf_tail(err, 600));
    struct rusage ru;
    ck_assert_int_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
    printf("check_batch: a 3072x3072 photo's run: peak RSS %ld KB\n", ru.ru_maxrss);
    ck_assert_msg(ru.ru_maxrss < 235 * 1024, "the run reached %ld KB", ru.ru_maxrss);
    scenes_free(&s);
#endif
}
END_TEST

/* Standard input, output and error closed at start (`<&- >&- 2>&-`): the
 * lock and the index had taken descriptors 0 and 1, and the index got the
 * progress lines or lost its own. Now the index is whole (a -resume finds
 * every image done, and its index equals a plain run's), and the run still
 * exits 1 for the output it could not write. A FIFO in the list, read
 * without the reader thread (GC_LIST_PREFETCH=0), is that image's error,
 * not a hang. */
START_TEST(closed_descriptors_and_a_fifo)
{
    scenes s;
    scenes_make(&s, "det", 6);
    if (!s.ok) return;
    char o[4096], plain[4096], cmd[16384], a[4096], b[4096];
    path_in(&s, "out", o);
    path_in(&s, "plain", plain);
    ck_assert_int_eq(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", plain, "-quiet", NULL), 0);
    pf(cmd, sizeof cmd, "exec %s gradcam %s %s -list %s -outdir %s -progress 1 <&- >&- 2>&-", gcf_shell_binary(),
       DET_CFG, DET_WEIGHTS, s.list, o);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    ck_assert_int_eq(gcf_run(argv, out, sizeof out, err, sizeof err), 1);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", s.list, "-outdir", o, "-resume", NULL) == 0, "%s",
                  gcf_tail(err, 400));
    ck_assert_msg(strstr(err, "0 explained, 6 skipped"), "%s", gcf_tail(err, 400));
    pf(a, sizeof a, "%s/index.jsonl", plain);
    pf(b, sizeof b, "%s/index.jsonl", o);
    ck_assert_msg(same_file(a, b), "the index written with closed descriptors differs");
    char fifo[4096], list[4096], o2[4096];
    path_in(&s, "f.png", fifo);
    ck_assert_int_eq(mkfifo(fifo, 0666), 0);
    path_in(&s, "fifo.txt", list);
    FILE *f = fopen(list, "w");
    fprintf(f, "%s/000000.png\n%s\n%s/000001.png\n", s.sc, fifo, s.sc);
    fclose(f);
    path_in(&s, "out2", o2);
    pf(cmd, sizeof cmd, "GC_LIST_PREFETCH=0 exec timeout 60 %s gradcam %s %s -list %s -outdir %s -quiet",
       gcf_shell_binary(), DET_CFG, DET_WEIGHTS, list, o2);
    ck_assert_int_eq(gcf_run(argv, out, sizeof out, err, sizeof err), 1);
    ck_assert_msg(strstr(err, "2 explained, 0 skipped (already in the index), 1 error;"), "%s", gcf_tail(err, 400));
    scenes_free(&s);
}
END_TEST

/* A file name that is not UTF-8 (Latin-1 "caf\xe9.png"): the index writes
 * the byte as \u00e9 and reads it back to the same byte, so the run ends
 * cleanly and -resume finds the image done (it had failed at the index's
 * final sort, and -resume could not read the line). */
START_TEST(a_path_that_is_not_utf8_resumes)
{
    scenes s;
    scenes_make(&s, "det", 2);
    if (!s.ok) return;
    char d[4096], src[4096], dst[4096], o[4096], idx[4096];
    path_in(&s, "latin1", d);
    ck_assert_int_eq(mkdir(d, 0777), 0);
    pf(src, sizeof src, "%s/000000.png", s.sc);
    pf(dst, sizeof dst, "%s/caf\xe9.png", d);
    ck_assert_int_eq(link(src, dst), 0);
    pf(src, sizeof src, "%s/000001.png", s.sc);
    pf(dst, sizeof dst, "%s/plain.png", d);
    ck_assert_int_eq(link(src, dst), 0);
    path_in(&s, "out", o);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", d, "-outdir", o, "-quiet", NULL) == 0, "%s", gcf_tail(err, 400));
    pf(idx, sizeof idx, "%s/index.jsonl", o);
    char *t = slurp(idx, NULL);
    ck_assert_msg(t && strstr(t, "caf\\u00e9.png\"") && !strchr(t, '\xe9'), "%s", t);
    free(t);
    ck_assert_msg(run(DET_CFG, DET_WEIGHTS, "-list", d, "-outdir", o, "-quiet", "-resume", NULL) == 0, "%s",
                  gcf_tail(err, 400));
    ck_assert_msg(strstr(err, "0 explained, 2 skipped"), "%s", gcf_tail(err, 400));
    char folder[4096];
    pf(folder, sizeof folder, "%s/caf\xe9.png", o);
    struct stat st;
    ck_assert(stat(folder, &st) == 0 && S_ISDIR(st.st_mode));
    scenes_free(&s);
}
END_TEST

/* path: head, then 16 MiB of 'x', then "\n". */
static void put_big(const char *path, const char *head)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(head, f);
    char *chunk = malloc((size_t)1 << 20);
    ck_assert_ptr_nonnull(chunk);
    memset(chunk, 'x', (size_t)1 << 20);
    for (int i = 0; i < 16; ++i) ck_assert_uint_eq(fwrite(chunk, 1, (size_t)1 << 20, f), (size_t)1 << 20);
    free(chunk);
    fputc('\n', f);
    ck_assert_int_eq(fclose(f), 0);
}

/* merge in a child limited to 8 MiB more address space than it has: -1, or
 * the merged count, and the message. */
static long merge_limited(const char *const *dirs, int ndirs, const char *merged, char *msg, size_t cap)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        if (gcf_limit_address_space((size_t)8 << 20)) _exit(4);
        long nf = 0;
        gc_err e = {0};
        long rc = gc_index_merge(dirs, ndirs, merged, &nf, &e);
        if (write(fds[1], e.msg, strlen(e.msg) + 1) < 0) _exit(5);
        _exit(rc == -1 ? 1 : rc == 2 ? 2 : 3);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], msg, cap - 1);
    close(fds[0]);
    msg[got > 0 ? got : 0] = '\0';
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) >= 1 && WEXITSTATUS(st) <= 2, "child: %s %d",
                  WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    return WEXITSTATUS(st) == 1 ? -1 : 2;
}

/* merge reads each folder's settings and errors file whole: one that memory
 * cannot hold (getdelim/getline cannot grow their buffer) fails the merge as
 * out of memory. Their -1 had read as the end of the file: two settings
 * files cut short alike compared equal, unread, and an image the errors
 * file records as failed was called missing. */
START_TEST(merge_fails_on_what_memory_cannot_hold)
{
#if defined(__SANITIZE_ADDRESS__)
    return; /* ASan's shadow memory does not fit under an address-space limit */
#endif
    char *dir = gcf_tempdir(), shard[2][4096], p[8300], merged[4200], msg[GC_ERRLEN];
    ck_assert_ptr_nonnull(dir);
    for (int i = 0; i < 2; ++i) {
        snprintf(shard[i], sizeof shard[i], "%s/shard%d", dir, i);
        ck_assert_int_eq(mkdir(shard[i], 0755), 0);
        snprintf(p, sizeof p, "%s/index.shard-%d-of-2.jsonl", shard[i], i);
        FILE *f = fopen(p, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "{\"n\": %d, \"of\": 2, \"targets\": 0, \"image\": \"i%d.jpg\"}\n", i, i);
        ck_assert_int_eq(fclose(f), 0);
        snprintf(p, sizeof p, "%s/.gradcam-options", shard[i]);
        put_big(p, GC_BATCH_OPTIONS_HEAD "\n");
    }
    snprintf(merged, sizeof merged, "%s/merged.jsonl", dir);
    const char *dirs[2] = {shard[0], shard[1]};
    ck_assert_int_eq(merge_limited(dirs, 2, merged, msg, sizeof msg), -1);
    ck_assert_msg(strstr(msg, "out of memory") && strstr(msg, ".gradcam-options"), "%s", msg);
    ck_assert_int_ne(access(merged, F_OK), 0);
    /* shard 1's image failed: in its errors file, after a line too long */
    for (int i = 0; i < 2; ++i) {
        snprintf(p, sizeof p, "%s/.gradcam-options", shard[i]);
        ck_assert_int_eq(unlink(p), 0);
    }
    snprintf(p, sizeof p, "%s/index.shard-1-of-2.jsonl", shard[1]);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fclose(f), 0);
    snprintf(p, sizeof p, "%s/errors.shard-1-of-2.jsonl", shard[1]);
    put_big(p, "{\"n\": 1, \"of\": 2, \"image\": \"i1.jpg\", \"error\": \"");
    ck_assert_int_eq(merge_limited(dirs, 2, merged, msg, sizeof msg), -1);
    ck_assert_msg(strstr(msg, "out of memory") && strstr(msg, "errors.shard-1-of-2.jsonl"), "%s", msg);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_batch(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("list");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, folder_lists_images_any_depth_sorted);
    tcase_add_test(tc, long_names_fit_name_max);
    tcase_add_test(tc, list_file_root_and_safe_names);
    tcase_add_test(tc, list_file_line_ends);
    tcase_add_test(tc, shard_spec);
    tcase_add_test(tc, usage_errors);
    tcase_add_test(tc, list_equals_single_image_runs);
    tcase_add_test(tc, an_unnamed_class_is_null_in_json_and_index);
    tcase_add_test(tc, same_basenames_in_subfolders);
    tcase_add_test(tc, a_path_that_is_not_utf8_resumes);
    tcase_add_test(tc, a_list_that_is_not_text);
    tcase_add_test(tc, an_index_that_is_not_a_file);
    tcase_add_test(tc, a_list_from_a_pipe);
    tcase_add_test(tc, closed_descriptors_and_a_fifo);
    tcase_add_test(tc, list_folders_one_to_one);
    tcase_add_test(tc, long_names_are_explained);
    tcase_add_test(tc, bad_images_are_skipped_and_reported);
    tcase_add_test(tc, a_full_disk_stops_the_run_and_resume_completes);
    tcase_add_loop_test(tc, killed_and_resumed_equals_uninterrupted, 0, 2);
    tcase_add_test(tc, batched_list_agrees_with_one_at_a_time);
    tcase_add_test(tc, jobs_errors_records_whole);
    tcase_add_test(tc, batch_notice_for_a_cfg_without_batched_forward);
    tcase_add_test(tc, resume_mends_a_torn_index);
    tcase_add_test(tc, shards_merge_into_the_single_run);
    tcase_add_test(tc, merge_leaves_out_what_a_shard_could_not_explain);
    tcase_add_test(tc, merge_finds_an_image_in_two_shard_folders);
    tcase_add_test(tc, a_zero_filled_index_line_is_redone);
    tcase_add_test(tc, a_merged_index_merged_again_names_real_files);
    tcase_add_test(tc, merge_refuses_an_errors_file_past_the_list_limit);
    tcase_add_test(tc, merge_takes_a_one_process_resume_and_all_failed_shards);
    tcase_add_test(tc, save_leaves_outputs_out);
    tcase_add_test(tc, nothing_written_makes_no_folders);
    tcase_add_test(tc, a_linked_folder_is_named_not_followed);
    tcase_add_test(tc, classifier_list_top2);
    tcase_add_test(tc, classifier_score_in_the_index_as_in_json);
    tcase_add_test(tc, one_run_per_index_and_bad_outdir);
    tcase_add_test(tc, an_option_no_image_can_use_fails_before_any);
    tcase_add_test(tc, resume_compares_settings_not_spelling);
    tcase_add_test(tc, resume_compares_the_names_a_data_file_names);
    tcase_add_test(tc, shards_started_together_agree_on_settings);
    tcase_add_test(tc, outputs_never_replace_what_gradcam_did_not_write);
    tcase_add_test(tc, writer_runs_jobs_in_order_and_reports_failures);
    tcase_add_test(tc, writer_writes_in_place_only_under_its_folder);
    tcase_add_test(tc, writer_draws_pictures_and_reports_failures);
    tcase_add_test(tc, output_thread_equals_inline_writes);
    tcase_add_test(tc, a_tuned_pool_writes_the_same_files);
    tcase_add_test(tc, reader_hands_over_what_loading_gives);
    tcase_add_test(tc, fused_maps_one_pass_equal_a_pass_per_layer);
    suite_add_tcase(s, tc);
    /* what a run meets from outside (CK_RUN_CASE=limits runs these alone):
     * a list without end, an -outdir that can take no more mid-run */
    TCase *lim = tcase_create("limits");
    tcase_set_timeout(lim, 300);
    tcase_add_test(lim, an_endless_list_stops_at_its_limit);
    tcase_add_loop_test(lim, an_outdir_that_becomes_unwritable_mid_run, 0, 3);
    tcase_add_loop_test(lim, an_image_folder_that_cannot_be_made_stops_the_run, 0, 2);
    tcase_add_test(lim, merge_fails_on_what_memory_cannot_hold);
    tcase_add_test(lim, a_large_photo_is_held_once);
    tcase_add_test(lim, one_large_photo_is_held_as_bytes);
    suite_add_tcase(s, lim);
    /* SIGINT, SIGTERM, SIGHUP mid-run or waiting for the lock (CK_RUN_CASE=signals) */
    TCase *sg = tcase_create("signals");
    tcase_set_timeout(sg, 300);
    tcase_add_loop_test(sg, a_signal_stops_the_run_cleanly_and_resume_completes, 0, 4);
    tcase_add_test(sg, a_signal_during_the_last_image_finishes_the_list);
    tcase_add_test(sg, a_signal_ends_the_wait_for_the_lock);
    tcase_add_loop_test(sg, one_worker_killed_is_named, 0, 2);
    suite_add_tcase(s, sg);
    return s;
}
