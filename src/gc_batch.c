#include "gc_batch.h"

#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "gc_cam.h"
#include "gc_classify.h"
#include "gc_detect.h"
#include "gc_model.h"
#include "gc_image.h"
#include "gc_index.h"
#include "gc_json.h"
#include "gc_prefetch.h"
#include "gc_stop.h"
#include "gc_writer.h"

/* ---- small helpers ---- */

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* rm -rf path (our own output folders: plain files and folders). */
static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *de;
            while ((de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
                char sub[PATH_MAX];
                if (snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) < (int)sizeof sub) remove_tree(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* Whether path may be replaced by an image's output folder: nothing there, or
 * a folder of files named gradcam_* (what a run writes for one image, left by
 * a run stopped before its index line). Anything else is not ours: an input
 * image, when -outdir is where the images are, or a user's folder. */
static int check_replaceable(const char *path, gc_err *e)
{
    struct stat st;
    if (lstat(path, &st) != 0) return 0;
    if (!S_ISDIR(st.st_mode))
        return gc_fail(e, "cannot move the outputs to %s: a file is there, which gradcam did not write (choose another -outdir)",
                       path);
    DIR *d = opendir(path);
    if (!d) return gc_fail(e, "cannot replace %s: %s", path, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char sub[PATH_MAX];
        struct stat sst;
        if (strncmp(de->d_name, "gradcam_", 8) ||
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) >= (int)sizeof sub || lstat(sub, &sst) != 0 ||
            !S_ISREG(sst.st_mode))
            rc = gc_fail(e, "cannot move the outputs to %s: the folder there holds %s, which gradcam did not write",
                         path, de->d_name);
    }
    closedir(d);
    return rc;
}

/* mkdir -p of path (all of it). */
static int make_dirs(const char *path, gc_err *e)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return gc_fail_path(e, NULL, sizeof buf - 1, "%s", path);
    for (char *p = buf + 1;; ++p) {
        char c = *p;
        if (c != '/' && c != '\0') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return gc_fail_sys(e, errno, "cannot create %s: %s", buf, strerror(errno));
        *p = c;
        if (!c) break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return gc_fail(e, "%s is not a folder", path);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether any index in outdir (index.jsonl, index.shard-I-of-N.jsonl) has
 * a line: some run's outputs are there. */
static int folder_has_index(const char *outdir)
{
    DIR *d = opendir(outdir);
    if (!d) return 0;
    struct dirent *de;
    int found = 0;
    while (!found && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (strncmp(de->d_name, "index.", 6) || n < 11 || strcmp(de->d_name + n - 6, ".jsonl")) continue;
        char p[PATH_MAX];
        struct stat st;
        found = snprintf(p, sizeof p, "%s/%s", outdir, de->d_name) < (int)sizeof p && stat(p, &st) == 0 &&
                S_ISREG(st.st_mode) && st.st_size > 0;
    }
    closedir(d);
    return found;
}

/* Refuses a run in nshards shards (1: one process) into a folder whose
 * indexes are all of runs in another count: its index would sit beside
 * theirs, -resume would redo every image, and only merge found the mix
 * (an image in index.shard-1-of-2.jsonl and in index.shard-1-of-3.jsonl).
 * Merged shards (index.jsonl beside them) take either count. */
static int check_shard_count(const char *outdir, int shard, int nshards, gc_err *e)
{
    DIR *d = opendir(outdir);
    if (!d) return 0;
    struct dirent *de;
    int mine = 0, other = 0;
    char other_name[256] = "";
    while (!mine && (de = readdir(d))) {
        int i, n, len = 0;
        size_t dl = strlen(de->d_name);
        if (!strcmp(de->d_name, "index.jsonl")) n = 1;
        else if (sscanf(de->d_name, "index.shard-%d-of-%d.jsonl%n", &i, &n, &len) != 2 || (size_t)len != dl || n < 2)
            continue;
        char p[PATH_MAX];
        struct stat st;
        if (snprintf(p, sizeof p, "%s/%s", outdir, de->d_name) >= (int)sizeof p || stat(p, &st) != 0 ||
            !S_ISREG(st.st_mode) || st.st_size == 0)
            continue;
        if (n == nshards) mine = 1;
        else if (!other) other = n, snprintf(other_name, sizeof other_name, "%s", de->d_name);
    }
    closedir(d);
    if (mine || !other) return 0;
    if (nshards == 1)
        return gc_fail(e, "%s holds %s, of a run in %d shards, and no index.jsonl: give -shard i/%d to go on with it "
                          "(or join them first: gradcam merge %s), or choose another -outdir",
                       outdir, other_name, other, other, outdir);
    if (other == 1)
        return gc_fail(e, "%s holds index.jsonl, of a run in one process, and this run is -shard %d/%d: go on with "
                          "it without -shard, or choose another -outdir",
                       outdir, shard, nshards);
    return gc_fail(e, "%s holds %s, of a run in %d shards: this run is in %d; give -shard i/%d to go on with it, or "
                      "choose another -outdir",
                   outdir, other_name, other, nshards, other);
}

/* Whether a run other than this one (whose lock is own_lock_fd) holds a
 * lock in DIR/.tmp: a shard of the folder now running. */
static int other_run_holds_a_lock(const char *outdir, int own_lock_fd)
{
    char tmpdir[PATH_MAX];
    if (snprintf(tmpdir, sizeof tmpdir, "%s/.tmp", outdir) >= (int)sizeof tmpdir) return 1;
    struct stat own;
    if (own_lock_fd < 0 || fstat(own_lock_fd, &own) != 0) memset(&own, 0, sizeof own);
    DIR *d = opendir(tmpdir);
    if (!d) return 0;
    struct dirent *de;
    int held = 0;
    while (!held && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        char p[PATH_MAX];
        struct stat st;
        if (n < 6 || strcmp(de->d_name + n - 5, ".lock") ||
            snprintf(p, sizeof p, "%s/%s", tmpdir, de->d_name) >= (int)sizeof p || stat(p, &st) != 0 ||
            (st.st_dev == own.st_dev && st.st_ino == own.st_ino))
            continue;
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        held = flock(fd, LOCK_SH | LOCK_NB) != 0; /* a holder has it exclusively */
        close(fd);
    }
    closedir(d);
    return held;
}

/* The options that decide a run's outputs, kept beside its index (one file
 * for every shard of the folder): a run given other ones is refused once
 * the folder holds an index line, or while another shard of it runs (shards
 * started together), so that -resume never mixes two settings in one index,
 * nor two shards. A folder with neither (a first run that explained nothing,
 * stopped or failed) takes the new run's. The file is made under a
 * temporary name, then linked into place (link() fails when another run was
 * first, and the run compares with that one's); replaced by a rename. */
static int check_options(const char *outdir, const char *options, int own_lock_fd, gc_err *e)
{
    if (!options) return 0;
    char path[PATH_MAX], tmp[PATH_MAX], host[64] = "";
    gethostname(host, sizeof host - 1);
    /* messages name the folder given, with what it may take */
    int tail = snprintf(tmp, sizeof tmp, "/.gradcam-options");
    if (snprintf(path, sizeof path, "%s/.gradcam-options", outdir) >= (int)sizeof path)
        return gc_fail_path(e, "-outdir", sizeof path - 1 - (size_t)tail, "%s", outdir);
    tail = snprintf(tmp, sizeof tmp, "/.tmp/options.%s.%ld", host, (long)getpid());
    if (snprintf(tmp, sizeof tmp, "%s/.tmp/options.%s.%ld", outdir, host, (long)getpid()) >= (int)sizeof tmp)
        return gc_fail_path(e, "-outdir", sizeof tmp - 1 - (size_t)tail, "%s", outdir);
    size_t n = strlen(options);
    int bound = folder_has_index(outdir);
    for (int attempt = 0; attempt < 3; ++attempt) {
        FILE *f = fopen(path, "rb");
        int replace = 0;
        if (f) {
            char *had = NULL;
            size_t cap = 0;
            ssize_t all = getdelim(&had, &cap, '\0', f); /* the whole file (it has no NUL) */
            fclose(f);
            if (!had) return gc_fail(e, "out of memory reading %s", path);
            size_t got = all > 0 ? (size_t)all : 0;
            had[got] = '\0';
            if (got == n && !memcmp(had, options, n)) {
                free(had);
                return 0;
            }
            int running = !bound && other_run_holds_a_lock(outdir, own_lock_fd);
            size_t head = strlen(GC_BATCH_OPTIONS_HEAD);
            if (!bound && !running) {
                replace = 1; /* nothing recorded under them, and nobody using them */
            } else if (strncmp(had, GC_BATCH_OPTIONS_HEAD, head) || (had[head] != '\n' && had[head])) {
                gc_fail(e, "%s: this folder's run was made by another version of gradcam, whose settings in %s "
                           "cannot be compared: rerun into another -outdir (or remove %s to resume at your own risk)",
                        outdir, path, path);
                free(had);
                return -1;
            } else {
                const char *a = had, *b = options; /* the first line that differs, for the message */
                int la, lb;
                gc_first_line_difference(&a, &la, &b, &lb);
                gc_fail(e, "%s: this folder's %s had other options (it has %s%.*s%s, this run %s%.*s%s): rerun with "
                           "that run's options (see %s), or choose another -outdir",
                        outdir, running ? "running shard" : "run", la ? "\"" : "", la ? la : 7, la ? a : "no more",
                        la ? "\"" : "", lb ? "\"" : "", lb ? lb : 7, lb ? b : "no more", lb ? "\"" : "", path);
                free(had);
                return -1;
            }
            free(had);
        } else if (errno != ENOENT) {
            return gc_fail_sys(e, errno, "cannot read %s: %s", path, strerror(errno));
        }
        f = fopen(tmp, "wb");
        if (!f) return gc_fail_sys(e, errno, "cannot write %s: %s", tmp, strerror(errno));
        int bad = fwrite(options, 1, n, f) != n;
        bad |= fclose(f) != 0;
        if (bad) {
            int err = errno;
            unlink(tmp);
            return gc_fail_sys(e, err, "cannot write %s: %s", tmp, strerror(err));
        }
        int done = replace ? rename(tmp, path) == 0 : link(tmp, path) == 0, err = errno;
        unlink(tmp);
        if (done) return 0;
        if (replace || err != EEXIST) return gc_fail_sys(e, err, "cannot write %s: %s", path, strerror(err));
        /* another run wrote it first: compare with that */
    }
    return gc_fail(e, "cannot write %s", path);
}

/* ---- the list ---- */

/* Extensions stb_image decodes (Darknet's loader is stb). */
static int is_image_name(const char *name)
{
    static const char *ext[] = {"jpg", "jpeg", "png", "bmp", "gif", "tga", "ppm", "pgm", "pnm", "psd", "hdr", "pic"};
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    for (size_t i = 0; i < sizeof ext / sizeof *ext; ++i)
        if (!strcasecmp(dot + 1, ext[i])) return 1;
    return 0;
}

/* A list's images and bytes of paths so far, against its limits
 * (GC_BATCH_LIST_MAX, GC_BATCH_LIST_BYTES). */
typedef struct list_budget {
    const char *src;
    int max_images;
    size_t max_bytes, bytes;
} list_budget;

/* Whether one more path of len bytes fits: 0, or -1 with e naming the list
 * and the limit. */
static int list_budget_take(list_budget *b, int images, size_t len, gc_err *e)
{
    if (images >= b->max_images)
        return gc_fail(e, "-list %s: more than %d images, the limit of one list: split it into several runs",
                       b->src, b->max_images);
    if (len + 1 > b->max_bytes - b->bytes)
        return gc_fail(e, "-list %s: more than %zu bytes of paths, the limit of one list: split it into several runs",
                       b->src, b->max_bytes);
    b->bytes += len + 1;
    return 0;
}

/* Every image below dir/rel (rel "" at the top), as paths relative to dir;
 * skip: the -outdir. Folders holding a .gradcam-options (the output folders
 * of other -list runs) are left out. */
static int walk_dir(const char *dir, const char *rel, const struct stat *skip, list_budget *b, gc_strvec *out,
                    gc_err *e)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s%s%s", dir, *rel ? "/" : "", rel) >= (int)sizeof path)
        return gc_fail_path(e, "-list", sizeof path - 1, "%s%s%s", dir, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d) return gc_fail(e, "cannot read folder %s: %s", path, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue; /* ., .., hidden files, our .tmp */
        char sub[PATH_MAX], full[PATH_MAX];
        if (snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name) >= (int)sizeof sub ||
            snprintf(full, sizeof full, "%s/%s", dir, sub) >= (int)sizeof full) {
            rc = gc_fail_path(e, "-list", sizeof full - 1, "%s/%s", path, de->d_name);
            break;
        }
        struct stat st;
        if (stat(full, &st) != 0) { /* a dangling link: said when named as an image (it had been left out unseen) */
            if (is_image_name(de->d_name))
                gc_print_line(stderr, "gradcam: warning: -list %s: %s: %s, left out", dir, sub, strerror(errno));
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            struct stat lst;
            if (lstat(full, &lst) == 0 && S_ISLNK(lst.st_mode)) {
                /* not followed (a link to a folder above would loop), but
                 * said: its images had been left out without a word, and a
                 * dataset of linked folders listed as empty or partial */
                gc_print_line(stderr, "gradcam: warning: -list %s: %s is a link to a folder, not followed: list its images in a "
                                      "file to explain them",
                              dir, sub);
                continue;
            }
            if (skip && st.st_dev == skip->st_dev && st.st_ino == skip->st_ino) continue; /* -outdir */
            char mark[PATH_MAX];
            if (snprintf(mark, sizeof mark, "%s/.gradcam-options", full) < (int)sizeof mark && access(mark, F_OK) == 0)
                continue; /* another -list run's output folder: its pictures are not the dataset's */
            rc = walk_dir(dir, sub, skip, b, out, e);
        } else if (S_ISREG(st.st_mode) && is_image_name(de->d_name)) {
            if (list_budget_take(b, out->n, strlen(sub), e)) rc = -1;
            else if (gc_strvec_push(out, dup_str(sub))) rc = gc_fail(e, "out of memory listing %s", dir);
        }
    }
    closedir(d);
    return rc;
}

/* A part of len bytes whose written name would pass NAME_MAX ("File name
 * too long": a 255-byte ".x..." or "_x..." with its '_' added), written as
 * "_~", its first 236 bytes (fewer, to end on a whole UTF-8 character), '~'
 * and the 16 hex digits of its 64-bit FNV-1a hash: at most NAME_MAX bytes,
 * the same on every run and machine. No other part is written starting with
 * "_~" (an added '_' is followed by '.' or '_', or starts a first part that
 * ends in ".jsonl", or is "_root"), so the name is no other image's; two
 * long parts alike in their first 236 bytes differ by the hash (a clash,
 * 2^-64, is found as a shared output folder, the second image's error).
 * Writes into o (room for NAME_MAX bytes and a NUL); returns the bytes written. */
static size_t short_part(char *o, const char *p, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; ++i) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    size_t keep = NAME_MAX - 2 - 1 - 16;
    if (keep > len) keep = len;
    while (keep > 0 && ((unsigned char)p[keep] & 0xC0) == 0x80) --keep; /* p[keep] would start the cut character */
    memcpy(o, "_~", 2);
    memcpy(o + 2, p, keep);
    snprintf(o + 2 + keep, 18, "~%016llx", (unsigned long long)h);
    return 2 + keep + 17;
}

/* The output folder for a path relative to the root, one to one: "." and
 * empty parts dropped (they name the same file), a part starting with '.'
 * or '_' written with one more '_' in front (".." as "_..", ".a" as "_.a",
 * "__" as "___": nothing climbs out of -outdir, our .tmp and the hidden
 * namespace stay ours, and no two parts give one name), a first part ending
 * in ".jsonl" written with a leading '_' too (the run's index and errors
 * files, index*.jsonl and errors*.jsonl, live at the top of -outdir), and an
 * absolute path (a list with no common folder) starting with "_root", a
 * name no part is written as. Until this rule ".." was "__", the name of a
 * real folder "__", and "/w/a.png" was "w/a.png": two images, one folder.
 * A part that would be written longer than NAME_MAX (a 255-byte name given
 * the '_') is written short_part()'s way. */
static char *sanitize_rel(const char *rel)
{
    size_t n = strlen(rel);
    char *out = malloc(2 * n + 8), *o = out;
    if (!out) return NULL;
    const char *p = rel;
    if (*p == '/') {
        memcpy(o, "_root", 5);
        o += 5;
    }
    while (*p) {
        const char *q = strchr(p, '/');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.')) {
        } else {
            int first = o == out;
            if (!first) *o++ = '/';
            /* the run's own files at the top of -outdir: its index and
             * errors files (.jsonl) and their temporary names (.jsonl.tmp) */
            int own = first && ((len >= 6 && !memcmp(p + len - 6, ".jsonl", 6)) ||
                                (len >= 10 && !memcmp(p + len - 10, ".jsonl.tmp", 10)));
            int extra = p[0] == '.' || p[0] == '_' || own;
            if (len + (size_t)extra > NAME_MAX) {
                o += short_part(o, p, len);
            } else {
                if (extra) *o++ = '_';
                memcpy(o, p, len);
                o += len;
            }
        }
        p += len;
        if (*p == '/') ++p;
    }
    if (o == out) *o++ = '_';
    *o = '\0';
    return out;
}

void gc_batch_list_free(gc_batch_list *l)
{
    for (int i = 0; i < l->n; ++i) {
        free(l->path ? l->path[i] : NULL);
        free(l->rel ? l->rel[i] : NULL);
    }
    free(l->path);
    free(l->rel);
    free(l->root);
    memset(l, 0, sizeof *l);
}

const char *gc_batch_list_path(const char *src)
{
    return strcmp(src, "-") ? src : "/dev/stdin";
}

const char *gc_batch_list_name(const char *src)
{
    return strcmp(src, "-") ? src : "- (standard input)";
}

int gc_batch_list_load(const char *src, const char *skip_dir, gc_batch_list *l, gc_err *e)
{
    return gc_batch_list_load_max(src, skip_dir, GC_BATCH_LIST_MAX, GC_BATCH_LIST_BYTES, l, e);
}

int gc_batch_list_load_max(const char *src, const char *skip_dir, int max_images, size_t max_bytes, gc_batch_list *l,
                           gc_err *e)
{
    memset(l, 0, sizeof *l);
    const char *path = gc_batch_list_path(src), *shown = gc_batch_list_name(src);
    list_budget budget = {shown, max_images, max_bytes, 0};
    struct stat st;
    if (stat(path, &st) != 0) return gc_fail(e, "-list %s: %s", shown, strerror(errno));
    gc_strvec v = {0};
    int isdir = S_ISDIR(st.st_mode);
    /* `-list - < DIR`: walked as /dev/stdin, its images had been named
     * /dev/stdin/a.jpg, a path that holds only under that redirection */
    if (isdir && !strcmp(src, "-"))
        return gc_fail(e, "-list %s is a folder: give the folder itself as -list DIR", shown);
    if (isdir) {
        struct stat skip;
        int have_skip = skip_dir && stat(skip_dir, &skip) == 0;
        char root[PATH_MAX];
        size_t len = strlen(path);
        while (len > 1 && path[len - 1] == '/') --len;
        if (len >= sizeof root) return gc_fail_path(e, "-list", sizeof root - 1, "%.*s", (int)len, path);
        memcpy(root, path, len);
        root[len] = '\0';
        if (walk_dir(root, "", have_skip ? &skip : NULL, &budget, &v, e)) {
            gc_strvec_free(&v);
            return -1;
        }
        if (v.n) qsort(v.s, (size_t)v.n, sizeof *v.s, cmp_str);
        l->root = dup_str(root);
    } else {
        FILE *f = fopen(path, "r");
        if (!f) return gc_fail(e, "-list %s: %s", shown, strerror(errno));
        char *line = malloc(GC_LIST_LINE_MAX + 2);
        if (!line) {
            fclose(f);
            return gc_fail(e, "out of memory reading %s", shown);
        }
        ssize_t got;
        int first = 1;
        long lineno = 0;
        while ((got = gc_read_list_line(f, line)) >= 0) {
            ++lineno;
            if (got > GC_LIST_LINE_MAX || memchr(line, '\0', (size_t)got)) {
                free(line);
                fclose(f);
                gc_strvec_free(&v);
                if (got > GC_LIST_LINE_MAX)
                    return gc_fail(e, "-list %s line %ld: longer than %d bytes: not an image list", shown, lineno,
                                   GC_LIST_LINE_MAX);
                return gc_fail(e, "-list %s line %ld: contains a NUL byte (binary file?)", shown, lineno);
            }
            while (got > 0 && (line[got - 1] == ' ' || line[got - 1] == '\t'))
                line[--got] = '\0';
            char *p = line;
            if (first && !strncmp(p, "\xef\xbb\xbf", 3)) p += 3; /* a UTF-8 BOM (Windows editors) */
            first = 0;
            while (*p == ' ' || *p == '\t') ++p;
            if (!*p) continue;
            if (list_budget_take(&budget, v.n, strlen(p), e)) {
                free(line);
                fclose(f);
                gc_strvec_free(&v);
                return -1;
            }
            if (gc_strvec_push(&v, dup_str(p))) {
                free(line);
                fclose(f);
                gc_strvec_free(&v);
                return gc_fail(e, "out of memory reading %s", shown);
            }
        }
        int bad = ferror(f);
        free(line);
        fclose(f);
        if (bad) {
            gc_strvec_free(&v);
            return gc_fail(e, "-list %s: read error", shown);
        }
        /* the root: the longest common folder of every listed path */
        size_t common = v.n ? strlen(v.s[0]) : 0;
        for (int i = 1; i < v.n; ++i) {
            size_t k = 0;
            while (k < common && v.s[i][k] == v.s[0][k]) ++k;
            common = k;
        }
        while (common > 0 && v.s[0][common - 1] != '/') --common;
        l->root = malloc(common + 1);
        if (l->root) {
            if (common) memcpy(l->root, v.s[0], common);
            l->root[common] = '\0';
        }
    }
    if (!l->root) {
        gc_strvec_free(&v);
        return gc_fail(e, "out of memory reading %s", shown);
    }
    if (v.n == 0) {
        gc_strvec_free(&v);
        gc_batch_list_free(l);
        return gc_fail(e, "-list %s: no images in it", shown);
    }
    l->path = calloc((size_t)v.n, sizeof *l->path);
    l->rel = calloc((size_t)v.n, sizeof *l->rel);
    if (!l->path || !l->rel) {
        gc_strvec_free(&v);
        gc_batch_list_free(l);
        return gc_fail(e, "out of memory reading %s", shown);
    }
    l->n = v.n;
    size_t rootlen = strlen(l->root);
    for (int i = 0; i < v.n; ++i) {
        if (isdir) {
            size_t len = rootlen + strlen(v.s[i]) + 2;
            l->path[i] = malloc(len);
            if (l->path[i]) snprintf(l->path[i], len, "%s/%s", l->root, v.s[i]);
            l->rel[i] = sanitize_rel(v.s[i]);
        } else {
            l->path[i] = dup_str(v.s[i]);
            /* the root ends in '/': a '/' after it is an empty part (img//a.jpg
             * is img/a.jpg), not an absolute path for "_root" */
            const char *rel = v.s[i] + rootlen;
            if (rootlen)
                while (*rel == '/') ++rel;
            l->rel[i] = sanitize_rel(rel);
        }
        if (!l->path[i] || !l->rel[i]) {
            gc_strvec_free(&v);
            gc_batch_list_free(l);
            return gc_fail(e, "out of memory reading %s", shown);
        }
    }
    gc_strvec_free(&v);
    return 0;
}

int gc_batch_shard_parse(const char *s, int *i, int *n, gc_err *e)
{
    char *end = NULL;
    errno = 0;
    long a = strtol(s, &end, 10);
    if (errno || end == s || *end != '/') return gc_fail(e, "-shard %s: expected i/n, e.g. 0/4", s);
    const char *p = end + 1;
    long b = strtol(p, &end, 10);
    if (errno || end == p || *end || b < 1 || b > 1000000 || a < 0 || a >= b || isspace((unsigned char)*s) ||
        isspace((unsigned char)*p)) /* " 1/ 2" as "1/2 ": refused */
        return gc_fail(e, "-shard %s: expected i/n with 0 <= i < n <= 1000000", s);
    *i = (int)a;
    *n = (int)b;
    return 0;
}

void gc_batch_index_path(const char *outdir, int shard, int nshards, const char *stem, char *buf, size_t n)
{
    if (nshards > 1) snprintf(buf, n, "%s/%s.shard-%d-of-%d.jsonl", outdir, stem, shard, nshards);
    else snprintf(buf, n, "%s/%s.jsonl", outdir, stem);
}

/* ---- the run ---- */

typedef struct run_state {
    const gc_batch_opts *o;
    gc_batch_list list;
    char *done;    /* per list position: complete in the index */
    int *dup_of;   /* per list position: earlier position with the same output folder, or -1 */
    int index_fd, lock_fd, null_fd, saved_stdout;
    int errors_fd; /* the errors file, O_APPEND: -jobs workers share it */
    int tty;
    double t0;
    int processed; /* done + errors, this run */
    int last_line; /* processed count at the last progress line */
    double last_draw; /* when the bar was last drawn */
    gc_session session; /* kept open over this process's images (opened at its first) */
    int prob_is_score;  /* a classifier without a [softmax]: its targets' prob is the score */
    const char *index_path;
    /* the output thread (NULL: files written on the explaining thread) and
     * the outcomes it hands back (collect) */
    gc_writer *writer;
    gc_prefetch *prefetch; /* the image reader (NULL: each image loaded when explained) */
    /* -batch: the batched forward over the session's network, and the images
     * of the current batch (bslot: each one's place in it, or -1) */
    gc_fwd_batch fb;
    image borig[GC_BATCH_MAX], binput[GC_BATCH_MAX];
    unsigned char *brgb[GC_BATCH_MAX];
    int bslot[GC_BATCH_MAX];
    float *zero; /* an empty slot's input */
    pthread_mutex_t out_mu;
    struct outcome *out_head, **out_tail;
    int out_lost;
    char made_dir[PATH_MAX]; /* the output thread's last folder made: not made again */
    int index_broken;        /* an append failed (the run stops): no image after it is recorded */
    char prep_error[GC_ERRLEN]; /* the output thread's: the current image's folder could not be made */
    int prep_sys;               /* and its errno */
} run_state;

/* Output data and pixels queued at most (gc_writer): a few images' worth. */
#define GC_LIST_QUEUE_BYTES ((size_t)64 << 20)

static void clear_bar(const run_state *r)
{
    if (r->tty && !r->o->quiet) fputs("\r\033[K", stderr);
}

static void fmt_eta(double s, char *buf, size_t n)
{
    if (!(s >= 0) || s > 1e7) {
        snprintf(buf, n, "--:--");
        return;
    }
    long t = (long)(s + .5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

static void progress(run_state *r, const gc_batch_summary *s, int final)
{
    if (r->o->quiet) return;
    int at = s->skipped + s->done + s->errors;
    double dt = now_s() - r->t0;
    double rate = dt > 0 ? r->processed / dt : 0;
    char eta[32];
    fmt_eta(rate > 0 ? (s->total - at) / rate : -1, eta, sizeof eta);
    if (r->tty) {
        double t = now_s();
        if (!final && at > 0 && t - r->last_draw < 0.1) return; /* at most 10 redraws a second */
        r->last_draw = t;
        char bar[31];
        int fill = s->total ? (int)((long)30 * at / s->total) : 30;
        for (int i = 0; i < 30; ++i) bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %d/%d  %.1f images/s  ETA %s  errors %d\033[K%s", bar, at, s->total, rate, eta,
                s->errors, final ? "\n" : "");
    } else if ((final && r->processed != r->last_line) || r->processed - r->last_line >= r->o->every) {
        fprintf(stderr, "gradcam: %d/%d images, %.1f images/s, ETA %s, %d error%s\n", at, s->total, rate, eta,
                s->errors, gc_plural(s->errors));
        r->last_line = r->processed;
    }
    fflush(stderr);
}

/* An image's error on stderr and in the errors file. -1 with e set when the
 * errors file cannot take it (a full disk): the run stops, as for an index
 * line, since merge and the user read the failures there (they had been
 * lost, the run saying "see errors.jsonl" of an empty file). */
static int record_error(run_state *r, gc_batch_summary *s, int pos, const char *msg, gc_err *e)
{
    clear_bar(r);
    char shown[PATH_MAX];
    snprintf(shown, sizeof shown, "%s", r->list.path[pos]);
    gc_printable(shown); /* a name's bytes that are not printable as '?', as in every message */
    /* the image named once: most messages name it already (it had read
     * "gradcam: x.jpg: cannot decode image x.jpg: ...") */
    if (strstr(msg, r->list.path[pos]) || strstr(msg, shown)) fprintf(stderr, "gradcam: %s\n", msg);
    else fprintf(stderr, "gradcam: %s: %s\n", shown, msg);
    s->errors++;
    if (r->errors_fd < 0) return 0;
    char *rec = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&rec, &len);
    if (m) {
        fprintf(m, "{\"n\": %d, \"of\": %d, \"image\": ", pos, r->list.n);
        gc_json_string(m, r->list.path[pos]);
        fputs(", \"error\": ", m);
        gc_json_string(m, msg);
        fputs("}\n", m);
    }
    if (!m || fclose(m) != 0) {
        free(rec);
        return gc_fail(e, "out of memory writing %s; the run stops here: rerun with -resume", s->errors_file);
    }
    /* The record in one write, under the lock -jobs workers take (as for
     * the index): through stdio, a record longer than its buffer (a long
     * path and its message) had gone out in several writes, and another
     * worker's record could come between them. */
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int locked = r->o->jobs > 1 && fcntl(r->errors_fd, F_SETLKW, &lk) == 0;
    size_t done = 0;
    ssize_t w = 0;
    while (done < len && ((w = write(r->errors_fd, rec + done, len - done)) > 0 || (w < 0 && errno == EINTR)))
        if (w > 0) done += (size_t)w;
    int err = w < 0 ? errno : EIO;
    if (locked) {
        lk.l_type = F_UNLCK;
        fcntl(r->errors_fd, F_SETLK, &lk);
    }
    free(rec);
    if (done == len) return 0;
    if (gc_err_storage(err))
        return gc_fail_sys(e, err, "cannot write %s: %s; the run stops here (the index holds the images done): rerun "
                                   "with -resume when %s",
                           s->errors_file, strerror(err),
                           err == EROFS ? "the output folder can be written" : "there is room");
    return gc_fail_sys(e, err, "cannot write %s: %s; the run stops here: rerun with -resume", s->errors_file,
                       strerror(err));
}

static void quiet_stdout(run_state *r, int on)
{
    if (r->null_fd < 0 || r->saved_stdout < 0) return;
    fflush(stdout);
    dup2(on ? r->null_fd : r->saved_stdout, 1);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* An output's path relative to the index (folder/name), or null when
 * -save left it out. */
static void json_output(FILE *f, const char *folder, const char *path)
{
    if (!path[0]) {
        fputs("null", f);
        return;
    }
    char rel[2 * PATH_MAX];
    if (snprintf(rel, sizeof rel, "%s/%s", folder, base_name(path)) >= (int)sizeof rel) rel[0] = '\0';
    gc_json_string(f, rel);
}

/* The index lines of one image into f. */
static void index_lines(FILE *f, const run_state *r, int pos, const gc_results *rs)
{
    const gc_batch_opts *o = r->o;
    const gc_explain_opts *ex = o->detector ? &o->det.ex : &o->cls.ex;
    char *const *names = o->detector ? o->det.names : o->cls.names;
    int nnames = o->detector ? o->det.nnames : o->cls.nnames;
    if (rs->n == 0) {
        fprintf(f, "{\"n\": %d, \"of\": %d, \"targets\": 0, \"image\": ", pos, r->list.n);
        gc_json_string(f, r->list.path[pos]);
        fputs("}\n", f);
        return;
    }
    for (int k = 0; k < rs->n; ++k) {
        const gc_result *t = &rs->r[k];
        fprintf(f, "{\"n\": %d, \"of\": %d, \"targets\": %d, \"image\": ", pos, r->list.n, rs->n);
        gc_json_string(f, r->list.path[pos]);
        fprintf(f, ", \"target\": %d, \"class\": %d, \"name\": ", t->index, t->cls);
        const char *name = gc_model_class_name(names, nnames, t->cls);
        if (name) gc_json_string(f, name);
        else fputs("null", f);
        /* a probability to 6 decimals; a classifier's score (no [softmax])
         * as -json's "score", to 6 significant digits (a score of 1e-7 had
         * read 0.000000) */
        fputs(", \"probability\": ", f);
        if (r->prob_is_score) gc_json_number(f, t->prob);
        else fprintf(f, "%.6f", t->prob);
        fputs(", \"box\": ", f);
        if (o->detector) fprintf(f, "[%d, %d, %d, %d]", t->box[0], t->box[1], t->box[2], t->box[3]);
        else fputs("null", f);
        fputs(", \"layers\": [", f);
        for (int j = 0; j < t->nlayers; ++j) fprintf(f, "%s%d", j ? ", " : "", t->layers[j]);
        fprintf(f, "], \"method\": \"%s\", \"score\": \"%s\", \"counterfactual\": %s, \"smooth\": %s%s%s, \"peak\": ",
                gc_cam_method_name(ex->method), o->detector ? gc_detect_target_name(ex->target) : "logit",
                ex->counterfactual ? "true" : "false", ex->smooth ? "\"" : "",
                ex->smooth ? gc_explain_smooth_name(ex->smooth) : "null", ex->smooth ? "\"" : "");
        gc_json_number(f, t->peak);
        fprintf(f, ", \"peak_xy\": [%d, %d], \"energy_in_box\": ", t->peak_x, t->peak_y);
        if (o->detector) gc_json_number(f, t->energy_in_box);
        else fputs("null", f);
        fprintf(f, ", \"all_zero\": %s, \"png\": ", t->all_zero ? "true" : "false");
        json_output(f, r->list.rel[pos], t->png);
        fputs(", \"npy\": ", f);
        json_output(f, r->list.rel[pos], t->npy);
        fputs("}\n", f);
    }
}

/* One image's last step, on the output thread (gc_writer) after its files,
 * or inline without one: the folder into place and the index lines
 * appended, or the folder removed. Its outcome goes to the run's list of
 * outcomes, which the explaining thread reads (collect): every count, the
 * errors file and the progress stay on that thread. */
typedef struct finish_job {
    run_state *r;
    int pos;
    char *tmp;       /* the image's folder under .tmp, or NULL (nothing made) */
    char *final;
    char *lines;     /* index lines, or NULL */
    size_t len;
    char *error;     /* the explaining thread's error for this image, or NULL */
    int error_sys;   /* its errno, when an output file could not be written */
} finish_job;

struct outcome {
    struct outcome *next;
    int pos;
    int fatal;          /* the index, or the output folder, can take no more: the run stops */
    char msg[GC_ERRLEN]; /* empty: explained */
};

static void finish_free(finish_job *f)
{
    free(f->tmp);
    free(f->final);
    free(f->lines);
    free(f->error);
    free(f);
}

static void add_outcome(run_state *r, int pos, int fatal, const char *msg)
{
    struct outcome *o = calloc(1, sizeof *o);
    pthread_mutex_lock(&r->out_mu);
    if (!o) {
        r->out_lost = 1; /* reported by collect as a stop of the run */
    } else {
        o->pos = pos;
        o->fatal = fatal;
        if (msg) snprintf(o->msg, sizeof o->msg, "%s", msg);
        *r->out_tail = o;
        r->out_tail = &o->next;
    }
    pthread_mutex_unlock(&r->out_mu);
}

/* The line that stops the run at list position pos because the output
 * folder's filesystem refused msg's file (sys: ENOSPC, EDQUOT, EROFS). */
static int stop_line(const run_state *r, int pos, const char *msg, int sys, gc_err *e)
{
    return gc_fail_sys(e, sys, "%s: %s; the run stops here (the index holds the images done): rerun with -resume when %s",
                       r->list.path[pos], msg, sys == EROFS ? "the output folder can be written" : "there is room");
}

/* An image's failure as its outcome. When the output folder's filesystem
 * refused a file for want of space or write access, every later image would
 * fail the same way (and with space freed by this image's removed files, a
 * few small ones would get through): the run stops there instead, to go on
 * with -resume. */
static void add_failure(run_state *r, int pos, const char *msg, int sys)
{
    if (!gc_err_storage(sys)) {
        add_outcome(r, pos, 0, msg);
        return;
    }
    gc_err stop;
    stop_line(r, pos, msg, sys, &stop);
    add_outcome(r, pos, 1, stop.msg);
}

static void finish(void *arg, const gc_err *write_error)
{
    finish_job *f = arg;
    run_state *r = f->r;
    gc_err ie = {0};
    if (r->prep_error[0]) { /* its folder under .tmp could not be made: the run stops */
        if (f->tmp) remove_tree(f->tmp);
        if (gc_err_storage(r->prep_sys)) add_failure(r, f->pos, r->prep_error, r->prep_sys);
        else add_outcome(r, f->pos, 1, r->prep_error);
        r->prep_error[0] = '\0';
        finish_free(f);
        return;
    }
    if (r->index_broken) { /* its line would follow a torn one: redone by -resume */
        if (f->tmp) remove_tree(f->tmp);
        add_outcome(r, f->pos, 1, "the index could not be appended");
        finish_free(f);
        return;
    }
    if (f->error || write_error) {
        if (f->tmp) remove_tree(f->tmp);
        if (f->error) add_failure(r, f->pos, f->error, f->error_sys);
        else add_failure(r, f->pos, write_error->msg, write_error->sys);
        finish_free(f);
        return;
    }
    /* Into place: a folder left by a run killed before its index line is
     * redone; anything else at its path is left alone. */
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", f->final);
    char *slash = strrchr(parent, '/');
    *slash = '\0';
    if (check_replaceable(f->final, &ie)) {
        remove_tree(f->tmp);
        add_failure(r, f->pos, ie.msg, 0);
        finish_free(f);
        return;
    }
    remove_tree(f->final);
    /* Nothing written (no target, or -save none): no folder, nor the
     * folders above it (-save none had left an empty copy of the images'
     * folder tree; the main command makes no folder for no picture). */
    if (rmdir(f->tmp) != 0) {
        if (strcmp(parent, r->made_dir) && make_dirs(parent, &ie)) {
            remove_tree(f->tmp);
            add_failure(r, f->pos, ie.msg, ie.sys);
            finish_free(f);
            return;
        }
        snprintf(r->made_dir, sizeof r->made_dir, "%s", parent);
        if (rename(f->tmp, f->final) != 0) {
            gc_fail_sys(&ie, errno, "cannot move the outputs to %s: %s", f->final, strerror(errno));
            remove_tree(f->tmp);
            add_failure(r, f->pos, ie.msg, ie.sys);
            finish_free(f);
            return;
        }
    }
    /* The image's lines in one write, after its files are complete. A short
     * write (the disk filled up within it) is finished by a second one, which
     * also gives its errno; when that fails too, the part written is cut off
     * again and the image's folder removed, so that a stopped run's index
     * holds whole lines of complete images only, each with its files (a torn
     * line had been left for -resume to mend, and merge refused the index
     * meanwhile). -jobs workers share the index: they append under a lock
     * (a POSIX record lock, one per process), so that no other worker's
     * line comes between; without one (a filesystem without locks), one
     * write per image keeps lines whole, and a torn one is mended by -resume. */
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int alone = r->o->jobs <= 1 || fcntl(r->index_fd, F_SETLKW, &lk) == 0;
    struct stat before;
    int sized = alone && fstat(r->index_fd, &before) == 0;
    ssize_t wrote = write(r->index_fd, f->lines, f->len);
    if (wrote > 0 && wrote < (ssize_t)f->len && alone) {
        ssize_t more = write(r->index_fd, f->lines + wrote, f->len - (size_t)wrote);
        wrote = more < 0 ? more : wrote + more;
    }
    int err = errno;
    if (wrote != (ssize_t)f->len) { /* the run stops either way */
        r->index_broken = 1;
        if (sized && ftruncate(r->index_fd, before.st_size) == 0) remove_tree(f->final);
        gc_fail_sys(&ie, wrote < 0 ? err : 0, "cannot append to %s: %s", r->index_path,
                    wrote < 0 ? strerror(err) : "short write");
        if (gc_err_storage(ie.sys)) add_failure(r, f->pos, ie.msg, ie.sys);
        else add_outcome(r, f->pos, 1, ie.msg);
    } else {
        add_outcome(r, f->pos, 0, NULL);
    }
    if (r->o->jobs > 1) {
        lk.l_type = F_UNLCK;
        fcntl(r->index_fd, F_SETLK, &lk);
    }
    finish_free(f);
}

/* Hands an image's last step to the output thread, or runs it here. */
static int finish_put(run_state *r, finish_job *f, gc_err *e)
{
    if (!r->writer) {
        finish(f, NULL);
        return 0;
    }
    if (gc_writer_put_call(r->writer, finish, f, e)) {
        finish_free(f);
        return -1;
    }
    return 0;
}

/* An image that failed before anything was queued for it (still in order
 * behind the images queued before it); sys: the errno of an output file that
 * could not be written, else 0. */
static int fail_image(run_state *r, int pos, const char *tmp, const char *msg, int sys, gc_err *e)
{
    finish_job *f = calloc(1, sizeof *f);
    if (!f || !(f->error = strdup(msg)) || (tmp && !(f->tmp = strdup(tmp)))) {
        if (f) finish_free(f);
        return gc_fail(e, "out of memory");
    }
    f->r = r;
    f->pos = pos;
    f->error_sys = sys;
    return finish_put(r, f, e);
}

/* The outcomes of the images finished so far, in list order of their
 * processing: counts, errors file, progress, and the report to a -jobs
 * parent. With wait, first lets the output thread finish everything. -1
 * with e set when the run cannot go on. */
static int collect(run_state *r, gc_batch_summary *s, int report_fd, int wait, gc_err *e)
{
    if (wait && r->writer) gc_writer_drain(r->writer);
    pthread_mutex_lock(&r->out_mu);
    struct outcome *o = r->out_head;
    int lost = r->out_lost;
    r->out_head = NULL;
    r->out_tail = &r->out_head;
    pthread_mutex_unlock(&r->out_mu);
    int rc = lost ? gc_fail(e, "out of memory recording an image's outcome; rerun with -resume") : 0;
    while (o) {
        struct outcome *next = o->next;
        if (o->fatal) {
            if (rc == 0) rc = gc_fail(e, "%s", o->msg);
        } else {
            int errors = s->errors;
            gc_err re;
            if (!o->msg[0]) s->done++;
            else if (record_error(r, s, o->pos, o->msg, &re) && rc == 0) rc = -1, *e = re;
            r->processed++;
            if (report_fd >= 0) {
                char c = s->errors > errors ? 'e' : 'd';
                if (write(report_fd, &c, 1) != 1 && rc == 0) rc = gc_fail(e, "-jobs: lost the parent process");
            } else {
                progress(r, s, 0);
            }
        }
        free(o);
        o = next;
    }
    return rc;
}

/* An image's folder under .tmp, made empty: on the output thread, ahead of
 * the image's files (creating a folder is not free: after many deletions,
 * ext4's inode allocator made mkdir 18% of the explaining thread's time in a
 * -save npy run), else here. A failure stops the run (finish reports it).
 * With the output thread, nothing else makes or checks the folder
 * (gc_detect_run and gc_classify_run leave it to the thread). */
static void prepare(void *arg, const gc_err *unused)
{
    finish_job *f = arg;
    remove_tree(f->tmp);
    if (mkdir(f->tmp, 0777) != 0) {
        f->r->prep_sys = errno;
        snprintf(f->r->prep_error, sizeof f->r->prep_error, "cannot create %s: %s", f->tmp, strerror(errno));
    }
    finish_free(f);
}

/* Makes list position pos's folder under .tmp (on the output thread when
 * there is one): a failure stops the run, naming the image and, when the
 * filesystem is full or read-only, what to do (it had said only "cannot
 * create DIR/.tmp/s0of1-2: Read-only file system"). */
static int prepare_put(run_state *r, int pos, const char *tmp, gc_err *e)
{
    if (!r->writer) {
        remove_tree(tmp);
        if (mkdir(tmp, 0777) == 0) return 0;
        int sys = errno;
        gc_err m;
        gc_fail_sys(&m, sys, "cannot create %s: %s", tmp, strerror(sys));
        if (!gc_err_storage(sys)) {
            *e = m;
            return -1;
        }
        return stop_line(r, pos, m.msg, sys, e);
    }
    finish_job *f = calloc(1, sizeof *f);
    if (!f || !(f->tmp = strdup(tmp))) {
        free(f);
        return gc_fail(e, "out of memory");
    }
    f->r = r;
    if (gc_writer_put_call(r->writer, prepare, f, e)) {
        finish_free(f);
        return -1;
    }
    return 0;
}

/* Explains list position pos and queues its last step (finish). Returns 0
 * (queued, whether the image succeeded or failed) or -1 with e set when the
 * run cannot go on. */
static int explain_one(run_state *r, network *net, int pos, gc_err *e)
{
    const gc_batch_opts *o = r->o;
    char tmp[PATH_MAX], prefix[PATH_MAX], final[PATH_MAX];
    gc_err ie = {0};
    if (gc_out_path(tmp, sizeof tmp, &ie, "%s/.tmp/s%dof%d-%d", o->outdir, o->shard, o->nshards, pos) ||
        gc_out_path(prefix, sizeof prefix, &ie, "%s/gradcam", tmp) ||
        gc_out_path(final, sizeof final, &ie, "%s/%s", o->outdir, r->list.rel[pos]))
        return fail_image(r, pos, NULL, ie.msg, 0, e);
    if (prepare_put(r, pos, tmp, e)) return -1;

    gc_results rs = {0};
    int rc;
    quiet_stdout(r, 1);
    r->session.writer = r->writer;
    r->session.prefetch = r->prefetch;
    if (o->detector) {
        gc_det_opts d = o->det;
        d.image = r->list.path[pos];
        d.out = prefix;
        d.json = NULL;
        d.session = &r->session;
        rc = gc_detect_run(net, &d, &rs, &ie);
    } else {
        gc_cls_opts c = o->cls;
        c.image = r->list.path[pos];
        c.out = prefix;
        c.session = &r->session;
        rc = gc_classify_run(net, &c, &rs, &ie);
    }
    quiet_stdout(r, 0);
    if (rc) {
        gc_explain_results_free(&rs);
        return fail_image(r, pos, tmp, ie.msg, ie.sys, e);
    }

    finish_job *f = calloc(1, sizeof *f);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m) {
        index_lines(m, r, pos, &rs);
        if (fclose(m) != 0) {
            free(buf);
            buf = NULL;
        }
    }
    gc_explain_results_free(&rs);
    if (!f || !buf || !(f->tmp = strdup(tmp)) || !(f->final = strdup(final))) {
        free(buf);
        if (f) finish_free(f);
        return gc_fail(e, "out of memory for the index");
    }
    f->r = r;
    f->pos = pos;
    f->lines = buf;
    f->len = len;
    return finish_put(r, f, e);
}

/* -resume: marks the images the index holds completely; drops an
 * incomplete tail (a run killed mid-append) by rewriting the index. */
static int resume_read(run_state *r, const char *index, gc_err *e)
{
    const gc_batch_opts *o = r->o;
    gc_index_file f;
    if (gc_index_read(index, &f, 0, e)) {
        gc_index_free(&f);
        return -1;
    }
    gc_index_line **keep = malloc((f.nlines ? (size_t)f.nlines : 1) * sizeof *keep);
    if (!keep) {
        gc_index_free(&f);
        return gc_fail(e, "out of memory reading %s", index);
    }
    long nkeep = 0;
    int rewrite = f.trimmed, rc = 0;
    for (long i = 0; i < f.nlines;) {
        gc_index_line *L = &f.lines[i];
        long g = gc_index_group_len(f.lines, f.nlines, i);
        if (L->of != r->list.n || L->n % o->nshards != o->shard || strcmp(L->image, r->list.path[L->n])) {
            rc = gc_fail(e, "%s line %ld: image %s (position %ld of %ld) is not in this list or shard: use the list "
                            "and -shard of the run that wrote it, or another -outdir",
                         index, L->lineno, L->image, L->n, L->of);
            break;
        }
        if (g == (L->targets ? L->targets : 1) && !r->done[L->n]) {
            r->done[L->n] = 1;
            for (long k = 0; k < g; ++k) keep[nkeep++] = &f.lines[i + k];
        } else {
            rewrite = 1; /* incomplete or repeated: redone */
        }
        i += g;
    }
    if (rc == 0 && rewrite) rc = gc_index_write(index, keep, nkeep, NULL, e);
    free(keep);
    gc_index_free(&f);
    return rc;
}

/* Asks for list position p's image ahead: queued on the reader, or without
 * it the kernel asked to read the file. */
static void read_ahead(run_state *r, int p)
{
    if (r->dup_of[p] >= 0) return; /* not explained: nothing to read */
    if (r->prefetch) {
        if (!gc_prefetch_has(r->prefetch, r->list.path[p])) gc_prefetch_put(r->prefetch, r->list.path[p]);
        return;
    }
    int fd = open(r->list.path[p], O_RDONLY | O_NONBLOCK | O_NOCTTY); /* a FIFO listed must not block */
    if (fd >= 0) {
        posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
        close(fd);
    }
}

/* -batch: the images of chunk[0..n) (list positions) decoded, letterboxed
 * and run through one batched forward, image j in slot j. slot j is empty
 * (bslot[j] = -1, a zero input in its place) for an image already in the
 * index, a repeated output folder, or an image that failed to load (its own
 * turn loads it again and reports the error). So the batch's products have
 * the same shape whatever is pending, and each image's place in them
 * depends only on its list position: the rounding of a product varies with
 * a column's place in it (OpenBLAS's kernels for a tail of columns), and
 * this way a resumed run, or -jobs N, computes the same bits as an
 * uninterrupted single process with the same -batch. Nothing is batched
 * when the session cannot open (each image then reports why). */
static void batch_forward(run_state *r, network *net, const int *chunk, int n, const int *next, int nnext)
{
    gc_session *ss = &r->session;
    for (int j = 0; j < n; ++j) r->bslot[j] = -1;
    gc_err ie = {0};
    ss->writer = r->writer;
    ss->prefetch = r->prefetch;
    if (gc_explain_begin(ss, net, NULL, &ie)) return;
    if (!r->fb.net && gc_forward_batch_init(&r->fb, &ss->ctx.fwd, r->o->batch, &ie)) return;
    if (!r->zero && !(r->zero = calloc((size_t)net->inputs, sizeof *r->zero))) return;
    /* this batch's images (queued already, but for the first batch) */
    for (int j = 0; j < n; ++j)
        if (!r->done[chunk[j]]) read_ahead(r, chunk[j]);
    const float *in[GC_BATCH_MAX];
    for (int j = 0; j < n; ++j) {
        int p = chunk[j];
        in[j] = r->zero;
        if (r->done[p] || r->dup_of[p] >= 0) continue;
        if (gc_explain_load(ss, r->list.path[p], &r->borig[j], &r->brgb[j], &r->binput[j], &ie)) continue;
        r->bslot[j] = j;
        in[j] = r->binput[j].data;
    }
    /* the next batch's, decoded while this one is explained */
    for (int j = 0; j < nnext; ++j)
        if (!r->done[next[j]]) read_ahead(r, next[j]);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    gc_forward_batch_run(&r->fb, in, n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double dt = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    ss->explain_seconds += dt;
    ss->pass_seconds += dt;
}

/* Explains list position p (slot: its place in the current batch, or -1),
 * then collects what is finished. */
static int explain_pos(run_state *r, gc_batch_summary *s, network *net, int p, int slot, int report_fd, gc_err *e)
{
    int rc;
    if (r->dup_of[p] >= 0) {
        char msg[GC_ERRLEN];
        snprintf(msg, sizeof msg, "same output folder %s as list position %d (%s)", r->list.rel[p], r->dup_of[p],
                 r->list.path[r->dup_of[p]]);
        rc = fail_image(r, p, NULL, msg, 0, e);
    } else {
        if (slot >= 0) {
            gc_forward_batch_view(&r->fb, slot);
            r->session.ready_path = r->list.path[p];
            r->session.ready_orig = r->borig[slot];
            r->session.ready_rgb = r->brgb[slot];
            r->session.ready_input = r->binput[slot];
            r->brgb[slot] = NULL;
            memset(&r->borig[slot], 0, sizeof r->borig[slot]);
            memset(&r->binput[slot], 0, sizeof r->binput[slot]);
        } else if (r->fb.net) {
            gc_forward_batch_restore(&r->fb); /* its own forward, into the network's buffers */
        }
        rc = explain_one(r, net, p, e);
        /* not taken (the image failed before its forward was asked for) */
        r->session.ready_path = NULL;
        gc_explain_image_free(&r->session.ready_orig, &r->session.ready_rgb, &r->session.ready_input);
    }
    if (rc == 0 && collect(r, s, report_fd, 0, e)) rc = -1;
    return rc;
}

/* The images of this shard, in list order, one at a time (-batch 1: with
 * -jobs N, worker w takes every N-th pending image) or in chunks of -batch
 * images by list position (worker w every N-th chunk), until a stop signal
 * (gc_stop): the image in hand is finished, no other one started. At the
 * end: the index in list order (n, then target), rewritten only when a
 * retried image was appended out of order. */
static int work_list(run_state *r, gc_batch_summary *s, network *net, int worker, int nworkers, int report_fd,
                     gc_err *e)
{
    const gc_batch_opts *o = r->o;
    int B = o->batch > 1 ? o->batch : 1, rc = 0;
    if (B == 1) {
        int k = 0, prev = -1;
        for (int p = o->shard; p < r->list.n && rc == 0 && !gc_stop_signal(); p += o->nshards) {
            if (r->done[p] || k++ % nworkers != worker) continue;
            /* Decode this worker's next image ahead while this one is
             * explained (or, without the reader, ask the kernel to read it):
             * the first is asked for here, each next one below. */
            if (r->prefetch || prev < 0) read_ahead(r, p);
            prev = p;
            for (int next = p + o->nshards, kk = k; next < r->list.n; next += o->nshards)
                if (!r->done[next] && kk++ % nworkers == worker) {
                    read_ahead(r, next);
                    break;
                }
            rc = explain_pos(r, s, net, p, -1, report_fd, e);
        }
        return rc;
    }
    /* this worker's batches: every nworkers-th chunk of B list positions of
     * the shard, those with an image still to do */
    int nchunks = 0, *starts = malloc(((size_t)r->list.n / (size_t)B + 2) * sizeof *starts);
    if (!starts) return gc_fail(e, "out of memory for a list of %d images", r->list.n);
    for (int p0 = o->shard, c = 0; p0 < r->list.n; p0 += B * o->nshards, ++c) {
        if (c % nworkers != worker) continue;
        int pending = 0;
        for (int j = 0, p = p0; j < B && p < r->list.n; ++j, p += o->nshards) pending += !r->done[p];
        if (pending) starts[nchunks++] = p0;
    }
    int chunk[2][GC_BATCH_MAX], len[2] = {0, 0};
    for (int c = 0; c < nchunks && rc == 0 && !gc_stop_signal(); ++c) {
        int *cur = chunk[c % 2], *nxt = chunk[(c + 1) % 2];
        if (c == 0)
            for (int p = starts[0]; p < r->list.n && len[0] < B; p += o->nshards) cur[len[0]++] = p;
        int n = len[c % 2];
        len[(c + 1) % 2] = 0;
        if (c + 1 < nchunks)
            for (int p = starts[c + 1]; p < r->list.n && len[(c + 1) % 2] < B; p += o->nshards)
                nxt[len[(c + 1) % 2]++] = p;
        batch_forward(r, net, cur, n, nxt, len[(c + 1) % 2]);
        for (int j = 0; j < n && rc == 0 && !gc_stop_signal(); ++j) /* a stop drops the batch's rest */
            if (!r->done[cur[j]]) rc = explain_pos(r, s, net, cur[j], r->bslot[j], report_fd, e);
        gc_forward_batch_restore(&r->fb);
        for (int j = 0; j < n; ++j) gc_explain_image_free(&r->borig[j], &r->brgb[j], &r->binput[j]);
    }
    free(starts);
    return rc;
}

/* This process's share of the list, through one session: the hooks, the
 * forward's set-up (folded batch norm, Winograd weights, its threads) and the
 * buffers are made at the first image, not per image. */
static int work(run_state *r, gc_batch_summary *s, network *net, int worker, int nworkers, int report_fd, gc_err *e)
{
    memset(&r->session, 0, sizeof r->session);
    gc_classifier found;
    gc_err fe = {0};
    r->prob_is_score = !r->o->detector && gc_classify_find(net, &found, &fe) == 0 && found.prob_layer < 0;
    memset(&r->fb, 0, sizeof r->fb);
    r->zero = NULL;
    memset(r->borig, 0, sizeof r->borig);
    memset(r->brgb, 0, sizeof r->brgb);
    memset(r->binput, 0, sizeof r->binput);
    r->out_head = NULL;
    r->out_tail = &r->out_head;
    r->out_lost = 0;
    r->made_dir[0] = '\0';
    r->index_broken = 0;
    r->prep_error[0] = '\0';
    r->prep_sys = 0;
    if (pthread_mutex_init(&r->out_mu, NULL)) return gc_fail(e, "cannot create a lock");
    r->writer = NULL;
    const char *sync = getenv("GC_LIST_SYNC");
    if (!(sync && *sync && strcmp(sync, "0"))) {
        gc_err we = {0};
        /* the images' folders under .tmp are renamed whole when complete:
         * their files need no temporary names of their own */
        char tmpdir[PATH_MAX];
        int n = snprintf(tmpdir, sizeof tmpdir, "%s/.tmp/", r->o->outdir);
        r->writer = gc_writer_start(GC_LIST_QUEUE_BYTES, n > 0 && n < (int)sizeof tmpdir ? tmpdir : NULL,
                                    &we); /* NULL: everything on this thread, as it was */
    }
    r->prefetch = NULL;
    const char *pre = getenv("GC_LIST_PREFETCH");
    if (!(pre && !strcmp(pre, "0"))) {
        gc_err pe = {0};
        /* NULL: each image decoded when it is explained */
        r->prefetch = gc_prefetch_start(r->o->batch > GC_PREFETCH_DEPTH ? r->o->batch : GC_PREFETCH_DEPTH, &pe);
    }
    int rc = work_list(r, s, net, worker, nworkers, report_fd, e);
    /* the images already queued are finished even when the run stops */
    gc_err ce = {0};
    int crc = collect(r, s, report_fd, 1, rc ? &ce : e);
    if (rc == 0) rc = crc;
    gc_writer_stop(r->writer);
    gc_prefetch_stop(r->prefetch);
    r->prefetch = NULL;
    r->session.prefetch = NULL;
    r->writer = NULL;
    r->session.writer = NULL;
    pthread_mutex_destroy(&r->out_mu);
    s->explain_seconds = nworkers > 1 ? -1 : r->session.explain_seconds;
    s->pass_seconds = nworkers > 1 ? -1 : r->session.pass_seconds;
    gc_forward_batch_free(&r->fb); /* before the session: it runs on the session's forward */
    free(r->zero);
    r->zero = NULL;
    if (r->session.net) gc_explain_close(&r->session);
    return rc;
}

/* The images whose lines a run appended to the index at path from byte
 * from on: an image's lines are consecutive (one write each, under the
 * lock) and share their "n", which no other image has. A line without its
 * newline is not counted. -1 when the index cannot be read. */
static long images_indexed_since(const char *path, off_t from)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    if (fseeko(f, from, SEEK_SET) != 0) {
        fclose(f);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long images = 0, prev = -1, n;
    while ((len = getline(&line, &cap, f)) > 0)
        if (line[len - 1] == '\n' && sscanf(line, "{\"n\": %ld,", &n) == 1 && n != prev) {
            ++images;
            prev = n;
        }
    int bad = ferror(f);
    free(line);
    fclose(f);
    return bad ? -1 : images;
}

/* -jobs N: N worker processes forked after the network is loaded (they share
 * its pages until written), each explaining every N-th pending image and
 * appending to the same index (one O_APPEND write per image, whole on a local
 * filesystem). The parent counts their reports and draws the progress. A
 * worker dies with the parent (PR_SET_PDEATHSIG), so a killed run leaves no
 * worker behind and resumes like a single process. A stop signal the parent
 * takes is passed on to each worker (kill: only the parent may have had it,
 * from Slurm or `kill PID`); a worker stops as one process does, then dies of
 * it, which is then no error. */
static int run_workers(run_state *r, gc_batch_summary *s, network *net, gc_err *e)
{
    int jobs = r->o->jobs, fds[2];
    pid_t *kids = calloc((size_t)jobs, sizeof *kids);
    if (!kids) return gc_fail(e, "out of memory");
    if (pipe(fds) != 0) {
        free(kids);
        return gc_fail(e, "-jobs: cannot create a pipe: %s", strerror(errno));
    }
    fflush(stdout);
    fflush(stderr);
    struct stat at_start; /* where this run's index lines begin */
    off_t from = fstat(r->index_fd, &at_start) == 0 ? at_start.st_size : -1;
    pid_t parent = getpid();
    int started = 0, rc = 0;
    gc_pool_share(jobs); /* each worker's threads (its session's pool) take its share of the cores */
    for (int j = 0; j < jobs && !gc_stop_signal(); ++j) {
        pid_t pid = fork();
        if (pid < 0) {
            rc = gc_fail(e, "-jobs: cannot start worker %d: %s", j, strerror(errno));
            break;
        }
        if (pid == 0) {
            close(fds[0]);
            gc_stop_worker();
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(1);
            gc_err we = {0};
            gc_batch_summary ws = *s;
            if (work(r, &ws, net, j, jobs, fds[1], &we)) {
                clear_bar(r);
                fprintf(stderr, "gradcam: worker %d: %s\n", j, we.msg);
                _exit(1);
            }
            if (gc_stop_signal()) gc_stop_raise(gc_stop_signal());
            _exit(0);
        }
        kids[started++] = pid;
    }
    close(fds[1]);
    /* The workers' reports until every one has closed the pipe; woken by a
     * stop signal too (the handler may run on another thread, so read()
     * would not return EINTR), which is passed on to the workers once. */
    char buf[256];
    int passed_on = 0;
    for (;;) {
        struct pollfd pfd[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = gc_stop_fd(), .events = POLLIN}};
        int sig = gc_stop_signal();
        if (sig && !passed_on) {
            for (int j = 0; j < started; ++j) kill(kids[j], sig);
            passed_on = 1;
        }
        if (poll(pfd, passed_on || pfd[1].fd < 0 ? 1 : 2, -1) < 0) {
            if (errno == EINTR) continue;
            rc = gc_fail(e, "-jobs: cannot wait for the workers: %s", strerror(errno));
            break;
        }
        if (pfd[1].revents) gc_stop_drain();
        if (!pfd[0].revents) continue;
        ssize_t got = read(fds[0], buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        for (ssize_t i = 0; i < got; ++i) {
            if (buf[i] == 'e') s->errors++;
            else s->done++;
            r->processed++;
            progress(r, s, 0);
        }
    }
    close(fds[0]);
    int stopping = gc_stop_signal(), *status = calloc((size_t)(started ? started : 1), sizeof *status);
    for (int j = 0; j < started; ++j) {
        int st = 0;
        while (waitpid(kids[j], &st, 0) < 0 && errno == EINTR) {
        }
        if (status) status[j] = st;
    }
    if (!status && rc == 0) rc = gc_fail(e, "out of memory");
    for (int j = 0; j < started && rc == 0; ++j) {
        int st = status[j], sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
        if (stopping && (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)) continue; /* stopped as asked */
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) continue;
        /* What is left: the images not in the index, which -resume does
         * (the dead worker's share from its image in hand, and any image
         * that failed), counted in the index now that every worker is gone.
         * The reports fall short of it by the images a worker had indexed
         * but not yet reported (its output thread runs ahead of them: two
         * were seen), so they give only a bound ("up to") when the index
         * cannot be read. */
        long indexed = from >= 0 ? images_indexed_since(r->index_path, from) : -1;
        int exact = indexed >= 0 && indexed <= s->total - s->skipped;
        int left = exact ? s->total - s->skipped - (int)indexed : s->total - s->skipped - s->done - s->errors;
        if (sig) /* it could say nothing: killed, or crashed */
            rc = gc_fail(e, "-jobs: worker %d (pid %ld) was killed by signal %d (%s): %s%d of %d "
                            "image%s not done (the index holds the images done); rerun with -resume to do them",
                         j, (long)kids[j], sig, strsignal(sig), exact ? "" : "up to ", left, s->total,
                         gc_plural(s->total));
        else
            rc = gc_fail(e, "-jobs: worker %d stopped (see above): %s%d of %d image%s not done; rerun with -resume", j,
                         exact ? "" : "up to ", left, s->total, gc_plural(s->total));
    }
    free(status);
    free(kids);
    return rc;
}

typedef struct rel_pos {
    const char *rel;
    int pos;
} rel_pos;

static int cmp_rel(const void *a, const void *b)
{
    const rel_pos *x = a, *y = b;
    int c = strcmp(x->rel, y->rel);
    return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

int gc_batch_run(network *net, const gc_batch_opts *o, gc_batch_summary *s, gc_err *e)
{
    run_state r;
    memset(&r, 0, sizeof r);
    memset(s, 0, sizeof *s);
    r.o = o;
    r.index_fd = r.errors_fd = r.lock_fd = r.null_fd = r.saved_stdout = -1;
    r.tty = isatty(2);
    int rc = -1;
    char *options = NULL; /* o->options and the list's line */
    assert(o->nshards >= 1 && o->shard >= 0 && o->shard < o->nshards && o->every >= 1);

    char tmpdir[PATH_MAX], lock[PATH_MAX], index_name[64];
    gc_batch_index_path("", o->shard, o->nshards, "index", index_name, sizeof index_name); /* "/index...jsonl" */
    /* the lock is the longest path the run names in -outdir (the index, the
     * errors file and .tmp fit where it does) */
    int tail = snprintf(lock, sizeof lock, "/.tmp%s.lock", index_name);
    if (snprintf(lock, sizeof lock, "%s/.tmp%s.lock", o->outdir, index_name) >= (int)sizeof lock)
        return gc_fail_path(e, "-outdir", sizeof lock - 1 - (size_t)tail, "%s", o->outdir); /* the folder given */
    snprintf(tmpdir, sizeof tmpdir, "%s/.tmp", o->outdir);
    gc_batch_index_path(o->outdir, o->shard, o->nshards, "index", s->index, sizeof s->index);
    r.index_path = s->index;
    gc_batch_index_path(o->outdir, o->shard, o->nshards, "errors", s->errors_file, sizeof s->errors_file);
    /* the list first: one that holds no image (an empty file, a folder
     * without images) had left the -outdir it made, and its parents */
    if (gc_batch_list_load(o->list, o->outdir, &r.list, e)) return -1;
    /* after the list (a pipe's read is not cut short by a signal): from the
     * first folder made, a stop signal ends the run through `done` */
    gc_stop_arm();
    if (make_dirs(o->outdir, e) || make_dirs(tmpdir, e)) goto done;
    s->listed = r.list.n;
    /* before the wait for the lock: a run stopped there says "after 0 of N images" */
    for (int p = 0; p < r.list.n; ++p) s->total += p % o->nshards == o->shard;
    {
        /* each image's folder is its path below the root, under -outdir:
         * the same folder would put each image's outputs in its place */
        struct stat rs, os;
        const char *root = r.list.root[0] ? r.list.root : ".";
        if (stat(root, &rs) == 0 && stat(o->outdir, &os) == 0 && rs.st_dev == os.st_dev && rs.st_ino == os.st_ino) {
            gc_fail(e, "-outdir %s is the folder of the listed images (%s): their output folders would take the images' "
                       "names; choose another -outdir",
                    o->outdir, root);
            goto done;
        }
    }

    r.done = calloc((size_t)r.list.n, 1);
    r.dup_of = malloc((size_t)r.list.n * sizeof *r.dup_of);
    rel_pos *order = malloc((size_t)r.list.n * sizeof *order);
    if (!r.done || !r.dup_of || !order) {
        free(order);
        gc_fail(e, "out of memory");
        goto done;
    }
    /* Two entries with one output folder (a path listed twice): the later one fails. */
    for (int i = 0; i < r.list.n; ++i) order[i] = (rel_pos){r.list.rel[i], i}, r.dup_of[i] = -1;
    qsort(order, (size_t)r.list.n, sizeof *order, cmp_rel);
    for (int i = 1; i < r.list.n; ++i)
        if (!strcmp(order[i].rel, order[i - 1].rel))
            r.dup_of[order[i].pos] = r.dup_of[order[i - 1].pos] >= 0 ? r.dup_of[order[i - 1].pos] : order[i - 1].pos;
    free(order);

    /* One run per index at a time. The holder removes the lock file when it
     * ends, so a lock taken on a file already removed (opened before that,
     * locked after) is taken again on the file now at the path. */
    for (int again = 0;; ++again) {
        r.lock_fd = open(lock, O_WRONLY | O_CREAT, 0666);
        /* .tmp removed by a shard that just ended (it had no other user) */
        if (r.lock_fd < 0 && errno == ENOENT && again < 3 && make_dirs(tmpdir, e) == 0) continue;
        if (r.lock_fd < 0) {
            gc_fail(e, "cannot create %s: %s", lock, strerror(errno));
            goto done;
        }
        /* a -jobs run killed just before holds it until its workers have
         * gone (they die of their parent's death, asynchronously): 2 s,
         * cut short by a stop signal (gc_stop_fd wakes the poll, on
         * whichever thread the signal landed), which had been acted on
         * only once the 2 s were over */
        int locked = 0;
        for (int wait = 0; wait < 20 && !(locked = flock(r.lock_fd, LOCK_EX | LOCK_NB) == 0) && !gc_stop_signal();
             ++wait) {
            struct pollfd pfd = {.fd = gc_stop_fd(), .events = POLLIN}; /* fd -1 (not armed): a plain sleep */
            poll(&pfd, 1, 100);
        }
        if (!locked) {
            close(r.lock_fd);
            r.lock_fd = -1; /* not ours: left in place */
            if (gc_stop_signal())
                gc_fail(e, "stopped by %s while another run held the lock %s", gc_stop_name(gc_stop_signal()), lock);
            else
                gc_fail(e, "another run is writing %s (lock %s)", s->index, lock);
            goto done;
        }
        struct stat held, now;
        if (fstat(r.lock_fd, &held) == 0 && stat(lock, &now) == 0 && held.st_dev == now.st_dev &&
            held.st_ino == now.st_ino)
            break;
        close(r.lock_fd);
        r.lock_fd = -1;
    }
    /* Temporary folders of an earlier run of this shard. */
    {
        char want[64];
        int wl = snprintf(want, sizeof want, "s%dof%d-", o->shard, o->nshards);
        DIR *d = opendir(tmpdir);
        struct dirent *de;
        while (d && (de = readdir(d)))
            if (!strncmp(de->d_name, want, (size_t)wl)) {
                char p[PATH_MAX];
                if (snprintf(p, sizeof p, "%s/%s", tmpdir, de->d_name) < (int)sizeof p) remove_tree(p);
            }
        if (d) closedir(d);
    }
    struct stat st;
    /* an index that is a device or FIFO (a link to /dev/zero) has no size, so
     * the run went on, appended its lines there and failed only when it
     * read the index back to sort it, every image explained for nothing */
    if (stat(s->index, &st) == 0 && !S_ISREG(st.st_mode)) {
        gc_fail(e, "cannot read %s: not a regular file", s->index);
        goto done;
    }
    int have_index = stat(s->index, &st) == 0 && st.st_size > 0;
    if (have_index && !o->resume) {
        gc_fail(e, "%s exists: add -resume to go on with that run, or choose another -outdir", s->index);
        goto done;
    }
    if (o->options) {
        /* the list too, by its images' output folders (a copy of the list on
         * a node, or the images under another root, is the same list) */
        uLong crc = crc32(0L, Z_NULL, 0);
        for (int i = 0; i < r.list.n; ++i) {
            crc = crc32(crc, (const Bytef *)r.list.rel[i], (uInt)strlen(r.list.rel[i]));
            crc = crc32(crc, (const Bytef *)"\n", 1);
        }
        size_t n = strlen(o->options) + 96;
        if (!(options = malloc(n))) {
            gc_fail(e, "out of memory");
            goto done;
        }
        snprintf(options, n, "%slist: %d image%s, CRC-32 %08lx of their folders\n", o->options, r.list.n,
                 r.list.n == 1 ? "" : "s", (unsigned long)crc);
    }
    if (check_shard_count(o->outdir, o->shard, o->nshards, e)) goto done;
    if (check_options(o->outdir, options, r.lock_fd, e)) goto done;
    if (have_index && resume_read(&r, s->index, e)) goto done;
    r.index_fd = open(s->index, O_WRONLY | O_CREAT | O_APPEND | (have_index ? 0 : O_TRUNC), 0666);
    if (r.index_fd < 0) {
        gc_fail(e, "cannot write %s: %s", s->index, strerror(errno));
        goto done;
    }
    /* The errors of this run only: a resumed run retries earlier failures. */
    r.errors_fd = open(s->errors_file, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0666);
    if (r.errors_fd < 0) {
        gc_fail(e, "cannot write %s: %s", s->errors_file, strerror(errno));
        goto done;
    }
    r.null_fd = open("/dev/null", O_WRONLY);
    r.saved_stdout = dup(1);

    for (int p = o->shard; p < r.list.n; p += o->nshards) s->skipped += r.done[p];
    r.t0 = now_s();
    progress(&r, s, 0);
    if (o->jobs <= 1 ? work(&r, s, net, 0, 1, -1, e) : run_workers(&r, s, net, e)) {
        progress(&r, s, 1); /* where it stopped; ends the bar's line before the error */
        goto done;
    }
    if (o->jobs > 1) {
        s->explain_seconds = -1;
        s->pass_seconds = -1;
    }
    s->seconds = now_s() - r.t0;
    progress(&r, s, 1);
    /* a file system that writes back late (NFS) reports a lost append here */
    int closed = close(r.index_fd), err = errno;
    r.index_fd = -1;
    if (closed != 0) {
        gc_fail_sys(e, err, "cannot write %s: %s", s->index, strerror(err));
        goto done;
    }
    /* stopped: the index holds whole images, perhaps out of order (-jobs, a
     * retried image); the -resume that finishes it sorts it. Stopped with
     * the last image in hand, finished, no -resume follows ("nothing left to
     * resume"): sorted now, as a run that ends is (it had been left out of
     * order) */
    int all_done = s->skipped + s->done + s->errors == s->total && !s->errors;
    if ((!gc_stop_signal() || all_done) && gc_index_sort(s->index, e)) goto done;
    rc = 0;
done:
    if (r.index_fd >= 0) close(r.index_fd);
    if (r.errors_fd >= 0 && close(r.errors_fd) != 0 && rc == 0)
        rc = gc_fail(e, "cannot write %s: %s", s->errors_file, strerror(errno));
    if (r.saved_stdout >= 0) close(r.saved_stdout);
    if (r.null_fd >= 0) close(r.null_fd);
    if (r.lock_fd >= 0) {
        unlink(lock);
        close(r.lock_fd);
    }
    rmdir(tmpdir); /* when no other shard is using it */
    gc_stop_disarm();
    s->stopped = gc_stop_signal();
    free(r.done);
    free(r.dup_of);
    free(options);
    gc_batch_list_free(&r.list);
    return rc;
}

