#include <errno.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gc_common.h"
#include "gc_fixture.h"
#include "gc_json.h"
#include "gc_tests.h"

/* Size of this process's [stack] mapping (the main thread's), or 0. */
static size_t main_stack_bytes(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return 0;
    char line[512];
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b;
        if (strstr(line, "[stack]") && sscanf(line, "%lx-%lx", &a, &b) == 2) n = b - a;
    }
    fclose(f);
    return n;
}

/* A frame of 512 KiB, every page written: deeper than any main-thread frame
 * gradcam has (348 KB measured). */
static __attribute__((noinline)) int deep_frame(void)
{
    volatile char buf[512 << 10];
    for (size_t i = 0; i < sizeof buf; i += 4096) buf[i] = (char)i;
    return buf[4096];
}

/* Under an address-space limit the main thread's stack cannot grow once the
 * rest is taken (a detector overlay died with SIGSEGV at ulimit -v 200 MB);
 * gc_reserve_main_stack maps it beforehand. In a child: reserve, then a
 * limit of the process's size + 128 KiB, then a 512 KiB frame (without the
 * reserve: SIGSEGV). */
START_TEST(main_stack_is_reserved_before_a_limit_bites)
{
#if defined(__SANITIZE_ADDRESS__)
    return; /* ASan keeps its own stack frames and shadow under the limit */
#endif
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        gc_reserve_main_stack();
        if (main_stack_bytes() < GC_MAIN_STACK) _exit(2);
        if (gcf_limit_address_space((size_t)128 << 10)) _exit(4);
        /* the limit bites: a 64 MiB allocation fails */
        void *big = malloc((size_t)64 << 20);
        if (big) _exit(5);
        _exit(deep_frame() == (char)4096 ? 0 : 6);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: %s %d", WIFEXITED(st) ? "exit" : "signal",
                  WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}
END_TEST

START_TEST(fail_formats_and_returns_minus_one)
{
    gc_err e;
    ck_assert_int_eq(gc_fail(&e, "cannot open %s (%d)", "x.cfg", 2), -1);
    ck_assert_str_eq(e.msg, "cannot open x.cfg (2)");
    ck_assert_int_eq(gc_fail(NULL, "ignored"), -1);
}
END_TEST

/* An output file's errno travels with its message; a plain failure clears
 * it; only a full or read-only disk counts as the storage's. */
START_TEST(fail_sys_keeps_the_errno)
{
    gc_err e = {0};
    ck_assert_int_eq(gc_fail_sys(&e, ENOSPC, "cannot write %s", "a.png"), -1);
    ck_assert_str_eq(e.msg, "cannot write a.png");
    ck_assert_int_eq(e.sys, ENOSPC);
    ck_assert(gc_err_storage(e.sys));
    ck_assert_int_eq(gc_fail(&e, "bad image"), -1);
    ck_assert_int_eq(e.sys, 0);
    ck_assert(gc_err_storage(EDQUOT) && gc_err_storage(EROFS));
    ck_assert(!gc_err_storage(0) && !gc_err_storage(ENOENT) && !gc_err_storage(EACCES) && !gc_err_storage(EIO));
    ck_assert_int_eq(gc_fail_sys(NULL, EIO, "ignored"), -1);
}
END_TEST

START_TEST(size_mul_detects_overflow)
{
    size_t out = 0;
    ck_assert_int_eq(gc_size_mul(3, 7, &out), 0);
    ck_assert_uint_eq(out, 21);
    ck_assert_int_eq(gc_size_mul(SIZE_MAX / 2 + 1, 2, &out), -1);
    ck_assert_int_eq(gc_size_mul(0, SIZE_MAX, &out), 0);
    ck_assert_uint_eq(out, 0);
}
END_TEST


START_TEST(messages_are_printable)
{
    gc_err e;
    gc_fail(&e, "cannot decode %s: %s", "a\x1b[2Jb.png", "bad\xff\xfe\x01 sig");
    ck_assert_str_eq(e.msg, "cannot decode a?[2Jb.png: bad??? sig");
    /* well-formed UTF-8 is kept; overlong forms and surrogates are not */
    gc_fail(&e, "%s", "caf\xc3\xa9 \xe2\x82\xac \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80");
    ck_assert_str_eq(e.msg, "caf\xc3\xa9 \xe2\x82\xac ?? ??? ????");
    /* C1 controls are well-formed UTF-8 but control a terminal (U+009B: CSI) */
    gc_fail(&e, "%s", "a\xc2\x9b[2Jb \xc2\x85 \xc2\xa0");
    ck_assert_str_eq(e.msg, "a??[2Jb ?? \xc2\xa0");
}
END_TEST

static const char *json_of(const char *s)
{
    static char buf[512];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    gc_json_string(f, s);
    fclose(f);
    return buf;
}

START_TEST(json_strings_are_valid_utf8)
{
    ck_assert_str_eq(json_of("dog"), "\"dog\"");
    ck_assert_str_eq(json_of("a\"b\\c\n\x7f"), "\"a\\\"b\\\\c\\u000a\\u007f\"");
    ck_assert_str_eq(json_of("caf\xc3\xa9"), "\"caf\xc3\xa9\""); /* UTF-8 as is */
    ck_assert_str_eq(json_of("caf\xe9"), "\"caf\\u00e9\"");       /* Latin-1 byte: the same character */
    ck_assert_str_eq(json_of("\xe2\x82"), "\"\\u00e2\\u0082\"");  /* a truncated sequence */
    ck_assert_str_eq(json_of("\xed\xa0\x80"), "\"\\u00ed\\u00a0\\u0080\""); /* a surrogate */
    ck_assert_str_eq(json_of(NULL), "\"\"");
}
END_TEST

/* A file is written as PATH.tmp, then renamed; a name of 252 to NAME_MAX
 * bytes (legal) made PATH.tmp too long, and the file could not be written.
 * Such a temporary name is cut from the start of its last component. */
START_TEST(tmp_path_keeps_every_legal_name_writable)
{
    char buf[1024], name[NAME_MAX + 1], want[1024];
    ck_assert_int_eq(gc_tmp_path(buf, sizeof buf, "out/x_0.png"), 0);
    ck_assert_str_eq(buf, "out/x_0.png.tmp");
    ck_assert_int_eq(gc_tmp_path(buf, sizeof buf, "x"), 0);
    ck_assert_str_eq(buf, "x.tmp");
    for (int len = NAME_MAX - 6; len <= NAME_MAX; ++len) {
        memset(name, 'a', (size_t)len - 6);
        memcpy(name + len - 6, "_0.png", 7);
        snprintf(want, sizeof want, "/d/%s", name);
        ck_assert_int_eq(gc_tmp_path(buf, sizeof buf, want), 0);
        const char *base = buf + 3;
        ck_assert_int_eq(strncmp(buf, "/d/", 3), 0);
        ck_assert_int_eq((int)strlen(base), len + 4 > NAME_MAX ? NAME_MAX : len + 4);
        /* the end, which tells a run's files apart, is kept */
        ck_assert_msg(strlen(base) >= 10 && !strcmp(base + strlen(base) - 10, "_0.png.tmp"), "%s", base);
    }
    ck_assert_int_eq(gc_tmp_path(buf, 9, "out/x.png"), -1); /* 14 bytes do not fit in 9 */
}
END_TEST

/* A class name fitted into a caption's room: whole when it fits, else cut
 * between UTF-8 characters and ended with "..." (the summary's 128-byte
 * captions had cut a long label inside a character, and lost the
 * probability after the name). */
START_TEST(utf8_fit_cuts_between_characters)
{
    char d[16];
    gc_utf8_fit(d, sizeof d, "short name");
    ck_assert_str_eq(d, "short name");
    gc_utf8_fit(d, sizeof d, "exactly 15 byte");
    ck_assert_str_eq(d, "exactly 15 byte");
    gc_utf8_fit(d, sizeof d, "sixteen bytes!!!");
    ck_assert_str_eq(d, "sixteen byte...");
    /* 2-byte characters: 12 bytes of room hold 6 of them, not 5 and a half */
    gc_utf8_fit(d, sizeof d, "\xd0\xa4\xd1\x83\xd1\x82\xd0\xb1\xd0\xbe\xd0\xbb\xd0\xba\xd0\xb0");
    ck_assert_str_eq(d, "\xd0\xa4\xd1\x83\xd1\x82\xd0\xb1\xd0\xbe\xd0\xbb...");
    /* 3-byte characters: 12 bytes hold 4 */
    gc_utf8_fit(d, sizeof d, "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac");
    ck_assert_str_eq(d, "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac...");
    char big[200];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char fit[96];
    gc_utf8_fit(fit, sizeof fit, big);
    ck_assert_uint_eq(strlen(fit), sizeof fit - 1);
    ck_assert_str_eq(fit + sizeof fit - 4, "...");
}
END_TEST

/* A path that does not fit its buffer, with room for its PATH.tmp, is an
 * error, never a shorter name. */
START_TEST(out_path_detects_truncation)
{
    char buf[16];
    gc_err e = {0};
    ck_assert_int_eq(gc_out_path(buf, sizeof buf, &e, "%s_%d.png", "out/x", 1), 0);
    ck_assert_str_eq(buf, "out/x_1.png");
    /* exactly 11 characters fit (11 + ".tmp" + NUL = 16), 12 do not */
    ck_assert_int_eq(gc_out_path(buf, sizeof buf, &e, "%s", "12345678901"), 0);
    ck_assert_int_eq(gc_out_path(buf, sizeof buf, &e, "%s", "123456789012"), -1);
    ck_assert_int_eq(gc_out_path(buf, sizeof buf, &e, "%s_%d.npy", "out/longer", 123), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "too long"));
    ck_assert_ptr_nonnull(strstr(e.msg, "out/longer"));
}
END_TEST

/* A long path in a message: its length, the limit and its start and end
 * (the end names the file), one line within the message; it had been quoted
 * whole, and a 5000-byte path filled the message with its first 500 bytes,
 * the reason cut off. */
START_TEST(long_paths_are_shown_by_start_and_end)
{
    static char path[5001];
    memset(path, 'd', 5000);
    memcpy(path, "start/", 6);
    memcpy(path + 5000 - 8, "/end.png", 8);
    char shown[GC_PATH_SHOWN];
    gc_path_shown(shown, path);
    ck_assert_uint_eq(strlen(shown), GC_PATH_SHOWN - 1);
    ck_assert_int_eq(strncmp(shown, "start/ddd", 9), 0);
    ck_assert_ptr_nonnull(strstr(shown, "d...d"));
    ck_assert_str_eq(shown + strlen(shown) - 8, "/end.png");
    ck_assert_str_eq(gc_path_shown(shown, "short/x.png"), "short/x.png"); /* a short one whole */
    gc_err e = {0};
    ck_assert_int_eq(gc_fail_path(&e, "-out", 4095, "%s_%d.png", path, 3), -1);
    ck_assert_msg(!strncmp(e.msg, "-out: path too long (5006 bytes, at most 4095): start/", 54), "%s", e.msg);
    ck_assert_str_eq(e.msg + strlen(e.msg) - 14, "/end.png_3.png");
    ck_assert_int_lt((int)strlen(e.msg), 300);
    char buf[4096];
    ck_assert_int_eq(gc_out_path(buf, sizeof buf, &e, "%s/x.npy", path), -1);
    ck_assert_msg(!strncmp(e.msg, "output path too long (5006 bytes, at most 4091): start/", 55), "%s", e.msg);
    ck_assert_str_eq(e.msg + strlen(e.msg) - 14, "/end.png/x.npy");
    /* at the limit: a path that fits the buffer but whose PATH.tmp does not
     * is refused here, not left to the open's "File name too long" */
    static char dirs[4200];
    for (size_t i = 0; i < sizeof dirs - 1; ++i) dirs[i] = i % 200 == 199 ? '/' : 'd';
    ck_assert_int_eq(gc_out_path(buf, sizeof buf, &e, "%.*s/x.npy", 4091 - 6, dirs), 0);
    ck_assert_uint_eq(strlen(buf), 4091);
    char tmp[4096];
    ck_assert_int_eq(gc_tmp_path(tmp, sizeof tmp, buf), 0);
    for (int len = 4092; len <= 4095; ++len) {
        ck_assert_int_eq(gc_out_path(buf, sizeof buf, &e, "%.*s/x.npy", len - 6, dirs), -1);
        char want[64];
        snprintf(want, sizeof want, "output path too long (%d bytes, at most 4091): ", len);
        ck_assert_msg(!strncmp(e.msg, want, strlen(want)), "%s", e.msg);
    }
    /* cut between UTF-8 characters (the message stays well-formed: no '?') */
    for (int shift = 0; shift < 3; ++shift) {
        size_t n = 0;
        for (int i = 0; i < shift; ++i) path[n++] = 'a';
        while (n + 3 <= 600) memcpy(path + n, "\xe2\x82\xac", 3), n += 3; /* U+20AC, 3 bytes */
        path[n] = '\0';
        gc_fail_path(&e, "-json", 4095, "%s", path);
        ck_assert_msg(!strchr(e.msg, '?') && strstr(e.msg, "..."), "%s", e.msg);
    }
    ck_assert_uint_eq(gc_tmp_path_max(4096, "out/x.png"), 4091); /* PATH.tmp: 4 bytes more, and the NUL */
}
END_TEST

/* Any message too long for GC_ERRLEN keeps its start and its end: each
 * long path in it shown by start and end (gc_path_shown), so the file's name
 * and the reason after it stay. Messages had been cut at byte 511: a path
 * of 3000 bytes (nested folders) left "cannot open image /a/b/...folder_0"
 * and nothing of the file or the reason. Two long paths both keep their
 * ends; a message that is long without long runs (many short words) is cut
 * in its middle. A message that fits is untouched. */
START_TEST(long_messages_keep_start_and_end)
{
    static char path[3001], other[3001], words[2001];
    size_t n = 0;
    while (n + 20 <= 2980) n += (size_t)sprintf(path + n, "/folder_%03zu_xxxxxxx", n / 20);
    strcpy(path + n, "/the-image.jpg");
    gc_err e = {0};
    ck_assert_int_eq(gc_fail(&e, "cannot open image %s: %s", path, "No such file or directory"), -1);
    const char *end = "/the-image.jpg: No such file or directory";
    ck_assert_msg(strlen(e.msg) < GC_ERRLEN && !strncmp(e.msg, "cannot open image /folder_000_", 30) &&
                      strstr(e.msg, "...") && !strcmp(e.msg + strlen(e.msg) - strlen(end), end),
                  "%s", e.msg);
    memcpy(other, path, sizeof other);
    memcpy(other + strlen(other) - 14, "/the-other.jsg", 14);
    gc_fail(&e, "-json %s is the input file %s: refusing to overwrite it", other, path);
    ck_assert_msg(strlen(e.msg) < GC_ERRLEN && !strncmp(e.msg, "-json /folder_000_", 18) &&
                      strstr(e.msg, "/the-other.jsg is the input file /folder_000_") &&
                      strstr(e.msg, "/the-image.jpg: refusing to overwrite it"),
                  "%s", e.msg);
    for (n = 0; n + 4 <= 2000; n += 4) memcpy(words + n, "ab, ", 4);
    gc_fail(&e, "start %s end", words);
    ck_assert_msg(strlen(e.msg) < GC_ERRLEN && !strncmp(e.msg, "start ab, ", 10) && strstr(e.msg, "...") &&
                      !strcmp(e.msg + strlen(e.msg) - 12, "ab, ab,  end"), /* cut in the middle */
                  "%s", e.msg);
    path[400] = '\0'; /* fits: whole */
    gc_fail(&e, "x %s y", path);
    ck_assert_int_eq(strlen(e.msg), 404);
    ck_assert(!strstr(e.msg, "..."));
}
END_TEST

Suite *suite_common(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, fail_formats_and_returns_minus_one);
    tcase_add_test(tc, fail_sys_keeps_the_errno);
    tcase_add_test(tc, size_mul_detects_overflow);
    tcase_add_test(tc, messages_are_printable);
    tcase_add_test(tc, json_strings_are_valid_utf8);
    tcase_add_test(tc, out_path_detects_truncation);
    tcase_add_test(tc, utf8_fit_cuts_between_characters);
    tcase_add_test(tc, long_paths_are_shown_by_start_and_end);
    tcase_add_test(tc, long_messages_keep_start_and_end);
    tcase_add_test(tc, tmp_path_keeps_every_legal_name_writable);
    tcase_add_test(tc, main_stack_is_reserved_before_a_limit_bites);
    suite_add_tcase(s, tc);
    return s;
}
