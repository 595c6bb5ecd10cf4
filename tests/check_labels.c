/* Tests for gc_labels: Darknet's label-path rule, the list file, and every
 * way a label line can be malformed (each error names the file and line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gc_fixture.h"
#include "gc_labels.h"
#include "gc_tests.h"

static void assert_label_path(const char *image, const char *want)
{
    char out[256];
    gc_err e = {0};
    ck_assert_msg(gc_labels_path(image, out, sizeof out, &e) == 0, "%s: %s", image, e.msg);
    ck_assert_str_eq(out, want);
}

START_TEST(label_path_as_darknet)
{
    assert_label_path("data/images/a.jpg", "data/labels/a.txt");
    assert_label_path("VOC2007/JPEGImages/000005.JPEG", "VOC2007/labels/000005.txt");
    assert_label_path("x/images/y.png", "x/labels/y.txt");
    assert_label_path("x/y.bmp", "x/y.txt"); /* no images folder: beside the image */
    assert_label_path("a.jpeg", "a.txt");
    assert_label_path("a.PNG", "a.txt");
    /* Darknet's find_replace: the first occurrence only, even inside a name */
    assert_label_path("set/images/images/b.JPG", "set/labels/images/b.txt");
    assert_label_path("myimages/c.jpg", "mylabels/c.txt");
    /* only the extension at the end changes */
    assert_label_path("d.jpg.dir/e.jpg", "d.jpg.dir/e.txt");
    char out[256];
    gc_err e = {0};
    ck_assert_int_ne(gc_labels_path("data/images/a.gif", out, sizeof out, &e), 0);
    ck_assert_ptr_nonnull(strstr(e.msg, "data/images/a.gif"));
    ck_assert_int_ne(gc_labels_path("data/x.jpg/", out, sizeof out, &e), 0);
    ck_assert_int_ne(gc_labels_path("data/images/a.jpg", out, 8, &e), 0);
}
END_TEST

static char *dir;
static char path[4096];

static void setup(void)
{
    dir = gcf_tempdir();
    ck_assert_ptr_nonnull(dir);
    snprintf(path, sizeof path, "%s/f.txt", dir);
}

static void teardown(void)
{
    gcf_rmtree(dir);
    free(dir);
}

static void put(const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(labels_parse)
{
    put("1 0.5 0.25 0.5 0.125\n\n  \n3 1 0 1 1\r\n");
    gc_label *l = NULL;
    int n = -1;
    gc_err e = {0};
    ck_assert_msg(gc_labels_load(path, 5, &l, &n, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(l[0].cls, 1);
    ck_assert_float_eq(l[0].box.x, 0.5f);
    ck_assert_float_eq(l[0].box.y, 0.25f);
    ck_assert_float_eq(l[0].box.w, 0.5f);
    ck_assert_float_eq(l[0].box.h, 0.125f);
    ck_assert_int_eq(l[1].cls, 3);
    ck_assert_float_eq(l[1].box.x, 1.0f);
    free(l);
    /* an empty file is a valid image without objects */
    put("\n");
    ck_assert_int_eq(gc_labels_load(path, 5, &l, &n, &e), 0);
    ck_assert_int_eq(n, 0);
    free(l);
    /* so is one holding only a byte-order mark: Darknet reads no object either */
    put("\xef\xbb\xbf\r\n");
    ck_assert_msg(gc_labels_load(path, 5, &l, &n, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(n, 0);
    free(l);
}
END_TEST

/* A label file's lines end with LF, CRLF or a lone CR, as its list's and a
 * names file's do: Darknet's fscanf reads a CR-only (old Mac) file, a CR
 * being white space, and so does eval. It had been one line, refused as
 * malformed. A bad line is named by its number, the CR ends counted. */
START_TEST(labels_line_ends)
{
    static const char *const texts[] = {
        "1 0.5 0.25 0.5 0.125\n\n3 1 0 1 1\n",
        "1 0.5 0.25 0.5 0.125\r\r3 1 0 1 1\r",
        "1 0.5 0.25 0.5 0.125\r\n\r\n3 1 0 1 1\r\n",
        "1 0.5 0.25 0.5 0.125\r\r\n3 1 0 1 1",
    };
    for (size_t k = 0; k < sizeof texts / sizeof *texts; ++k) {
        put(texts[k]);
        gc_label *l = NULL;
        int n = -1;
        gc_err e = {0};
        ck_assert_msg(gc_labels_load(path, 5, &l, &n, &e) == 0, "case %zu: %s", k, e.msg);
        ck_assert_msg(n == 2, "case %zu: %d objects", k, n);
        ck_assert_int_eq(l[0].cls, 1);
        ck_assert_float_eq(l[0].box.h, 0.125f);
        ck_assert_int_eq(l[1].cls, 3);
        ck_assert_float_eq(l[1].box.x, 1.0f);
        free(l);
    }
    put("1 0.5 0.5 0.5 0.5\r2 0.5 0.5 0.5 0.5\r\n7 0.5 0.5 0.5 0.5\r");
    gc_label *l = NULL;
    int n = -1;
    gc_err e = {0};
    ck_assert_int_eq(gc_labels_load(path, 5, &l, &n, &e), -1);
    ck_assert_msg(strstr(e.msg, "line 3: class 7 is not one of the network's 5 (0..4); expected") != NULL, "%s", e.msg);
}
END_TEST

static void assert_bad(const char *text, const char *line)
{
    put(text);
    gc_label *l = (gc_label *)&l;
    int n = -1;
    gc_err e = {0};
    ck_assert_msg(gc_labels_load(path, 5, &l, &n, &e) != 0, "accepted: %s", text);
    ck_assert_ptr_null(l);
    ck_assert_int_eq(n, 0);
    ck_assert_msg(strstr(e.msg, path) != NULL, "error does not name the file: %s", e.msg);
    ck_assert_msg(strstr(e.msg, line) != NULL, "error does not name %s: %s", line, e.msg);
}

START_TEST(labels_malformed)
{
    /* each error says which field is wrong (it had given the format alone) */
    assert_bad("5 0.5 0.5 0.1 0.1\n", "line 1: class 5 is not one of the network's 5 (0..4)");
    assert_bad("0 0.5 0.5 0.1 0.1\n-1 0.5 0.5 0.1 0.1\n", "line 2: class -1 is not");
    assert_bad("1.5 0.5 0.5 0.1 0.1\n", "line 1: the class is not a whole number");
    assert_bad("\n1 0.5 0.5 0.1\n", "line 2: h is missing"); /* 4 fields */
    assert_bad("1 0.5 0.5 0.1 0.1 7\n", "line 1: more than five fields");
    assert_bad("1 0.5 0.5 0 0.1\n", "line 1: w 0 is outside (0,1]"); /* empty box */
    assert_bad("1 1.2 0.5 0.1 0.1\n", "line 1: cx 1.2 is outside [0,1]"); /* not normalised */
    assert_bad("1 0.5 0.5 0.1 1.5\n", "line 1: h 1.5 is outside (0,1]");
    assert_bad("1 nan 0.5 0.1 0.1\n", "line 1: cx is missing or not a finite number");
    assert_bad("cat 0.5 0.5 0.1 0.1\n", "line 1: the class is not a whole number");
    /* a byte-order mark: Darknet reads no object; the message says so, as the
     * line it shows would look valid */
    assert_bad("\xef\xbb\xbf" "1 0.5 0.5 0.1 0.1\r\n", "byte-order mark");
    /* the mark on a line of its own, objects below: Darknet still stops at
     * it (it had been passed over as a blank line, the objects read) */
    assert_bad("\xef\xbb\xbf" "\n1 0.5 0.5 0.1 0.1\n", "byte-order mark");
    assert_bad("\xef\xbb\xbf" " \r\n\n2 0.5 0.5 0.1 0.1\n", "byte-order mark");
    gc_label *l;
    int n;
    gc_err e = {0};
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/none.txt", dir);
    ck_assert_int_ne(gc_labels_load(missing, 5, &l, &n, &e), 0);
    ck_assert_ptr_nonnull(strstr(e.msg, missing));
}
END_TEST

START_TEST(list_lines)
{
    put("a.jpg\n\n   \n  b c.png  \r\nlast.jpg");
    int n = 0;
    gc_err e = {0};
    char **l = gc_labels_list_load(path, &n, &e);
    ck_assert_msg(l != NULL, "%s", e.msg);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(l[0], "a.jpg");
    ck_assert_str_eq(l[1], "b c.png");
    ck_assert_str_eq(l[2], "last.jpg");
    gc_labels_list_free(l, n);
    /* a UTF-8 byte order mark is not part of the first path */
    put("\xef\xbb\xbf" "a.jpg\r\n");
    l = gc_labels_list_load(path, &n, &e);
    ck_assert_msg(l != NULL && n == 1, "%s", e.msg);
    ck_assert_str_eq(l[0], "a.jpg");
    gc_labels_list_free(l, n);
    put("\n\n");
    ck_assert_ptr_null(gc_labels_list_load(path, &n, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, path));
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/none.txt", dir);
    ck_assert_ptr_null(gc_labels_list_load(missing, &n, &e));
    ck_assert_ptr_nonnull(strstr(e.msg, missing));
}
END_TEST

/* eval's list: a line ends with LF, CRLF or a lone CR (old Mac files), as a
 * names file's and -list's do; a CR before a LF is one end, a CR then a
 * CRLF two (a blank line). A CR-only list had been one path,
 * "a.jpg\rb c.png\r...", which no image is named. */
START_TEST(list_line_ends)
{
    static const char *const texts[] = {
        "a.jpg\nb c.png\n\n  last.jpg \n",
        "a.jpg\rb c.png\r\r  last.jpg \r",
        "a.jpg\r\nb c.png\r\n\r\n  last.jpg \r\n",
        "\xef\xbb\xbf" "a.jpg\rb c.png\r\r\n  last.jpg ", /* mixed, a BOM, no end at the end */
    };
    for (size_t k = 0; k < sizeof texts / sizeof *texts; ++k) {
        put(texts[k]);
        int n = 0;
        gc_err e = {0};
        char **l = gc_labels_list_load(path, &n, &e);
        ck_assert_msg(l != NULL, "case %zu: %s", k, e.msg);
        ck_assert_msg(n == 3, "case %zu: %d paths", k, n);
        ck_assert_str_eq(l[0], "a.jpg");
        ck_assert_str_eq(l[1], "b c.png");
        ck_assert_str_eq(l[2], "last.jpg");
        gc_labels_list_free(l, n);
    }
    /* a NUL byte is named by its line, counted with the CR ends */
    static const char nul[] = "a.jpg\rb.jpg\r\nc\0.jpg\n";
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(nul, 1, sizeof nul - 1, f), sizeof nul - 1);
    ck_assert_int_eq(fclose(f), 0);
    int n = 0;
    gc_err e = {0};
    ck_assert_ptr_null(gc_labels_list_load(path, &n, &e));
    ck_assert_msg(strstr(e.msg, "line 3: contains a NUL byte") != NULL, "%s", e.msg);
}
END_TEST

/* file: head, then a line of 24 MiB of fill, then "\n". */
static void put_long_line(const char *file, const char *head, int fill)
{
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs(head, f);
    char *chunk = malloc((size_t)1 << 20);
    ck_assert_ptr_nonnull(chunk);
    memset(chunk, fill, (size_t)1 << 20);
    for (int i = 0; i < 24; ++i) ck_assert_uint_eq(fwrite(chunk, 1, (size_t)1 << 20, f), (size_t)1 << 20);
    free(chunk);
    fputc('\n', f);
    ck_assert_int_eq(fclose(f), 0);
}

/* A line that memory cannot hold (getline cannot grow its buffer: here an
 * address-space limit of 8 MiB more than the process has) fails a label
 * file as out of memory. getline's -1 had read as the end of the file: the
 * lines before it were taken for the whole file, with success. eval's image
 * list is read in lines of at most 65536 bytes, as -list's: the long line
 * is refused by its number, under the same limit. */
START_TEST(a_line_memory_cannot_hold_fails_the_file)
{
#if defined(__SANITIZE_ADDRESS__)
    return; /* ASan's shadow memory does not fit under an address-space limit */
#endif
    char labels[4200];
    snprintf(labels, sizeof labels, "%s/long_labels.txt", dir);
    put_long_line(path, "a.jpg\n", 'x');
    put_long_line(labels, "1 0.5 0.5 0.2 0.2\n2 0.5 0.5 0.2 0.2", ' ');
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (gcf_limit_address_space((size_t)8 << 20)) _exit(4);
        int n = 0;
        gc_err e = {0};
        char **l = gc_labels_list_load(path, &n, &e);
        if (l) _exit(5);
        if (!strstr(e.msg, " line 2: longer than 65536 bytes: not an image list") || !strstr(e.msg, path)) _exit(6);
        gc_label *ls = NULL;
        if (gc_labels_load(labels, 5, &ls, &n, &e) == 0) _exit(7);
        if (!strstr(e.msg, "out of memory") || !strstr(e.msg, labels)) _exit(8);
        _exit(0);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    unlink(labels);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: %s %d", WIFEXITED(st) ? "exit" : "signal",
                  WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}
END_TEST

Suite *suite_labels(void)
{
    Suite *s = suite_create("labels");
    TCase *tc = tcase_create("darknet conventions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, label_path_as_darknet);
    tcase_add_test(tc, labels_parse);
    tcase_add_test(tc, labels_line_ends);
    tcase_add_test(tc, labels_malformed);
    tcase_add_test(tc, list_lines);
    tcase_add_test(tc, list_line_ends);
    tcase_add_test(tc, a_line_memory_cannot_hold_fails_the_file);
    suite_add_tcase(s, tc);
    return s;
}
