/* The README's examples run as written: every fenced block marked ```sh is
 * run from the repository root with `sh -e` and must exit 0. Blocks that use
 * ../shared/models are skipped when the models are absent. Blocks fenced
 * with a plain ``` are synopses or set-up (make deps, make demo), not run.
 * And the help and the README name the same options. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gc_fixture.h"
#include "gc_tests.h"

/* The ```sh blocks of README.md, '\0'-separated in one malloc'd buffer. */
static int readme_blocks(char ***blocks)
{
    FILE *f = fopen("README.md", "r");
    ck_assert_msg(f != NULL, "README.md not found: run from the repository root");
    char line[4096], *cur = NULL;
    size_t len = 0;
    int n = 0, in = 0;
    *blocks = NULL;
    while (fgets(line, sizeof line, f)) {
        if (!in && !strcmp(line, "```sh\n")) {
            in = 1;
            cur = NULL;
            len = 0;
            FILE *m = open_memstream(&cur, &len);
            ck_assert_ptr_nonnull(m);
            while (fgets(line, sizeof line, f) && strncmp(line, "```", 3)) fputs(line, m);
            fclose(m);
            *blocks = realloc(*blocks, (size_t)(n + 1) * sizeof **blocks);
            ck_assert_ptr_nonnull(*blocks);
            (*blocks)[n++] = cur;
            in = 0;
        }
    }
    fclose(f);
    return n;
}

START_TEST(readme_examples_run_as_written)
{
    char **blocks;
    int n = readme_blocks(&blocks), ran = 0;
    /* the first commands, the real-model examples and the evaluation ones */
    ck_assert_int_ge(n, 3);
    static char out[1 << 16], err[1 << 16];
    for (int i = 0; i < n; ++i) {
        if (strstr(blocks[i], "../shared/models") && !gcf_shared_model("tiny-darknet/tiny.weights")) {
            fprintf(stdout, "readme: block %d skipped (../shared/models absent)\n", i);
            free(blocks[i]);
            continue;
        }
        char script[] = "/tmp/gc_readme_XXXXXX";
        int fd = mkstemp(script);
        ck_assert_int_ge(fd, 0);
        ck_assert(write(fd, blocks[i], strlen(blocks[i])) == (ssize_t)strlen(blocks[i]));
        close(fd);
        char *argv[] = {"/bin/sh", "-e", script, NULL};
        int rc = gcf_run(argv, out, sizeof out, err, sizeof err);
        unlink(script);
        ck_assert_msg(rc == 0, "README block %d exits %d:\n%s\nstderr: %s", i, rc, blocks[i], gcf_tail(err, 2000));
        ++ran;
        free(blocks[i]);
    }
    free(blocks);
    ck_assert_int_gt(ran, 0);
}
END_TEST

/* An option as the help and the README write it: '-', a letter, then letters,
 * digits, '+' or '-'; not preceded by a letter or digit (min-max, top-1).
 * Returns its length at s (0 if none starts there). */
static size_t option_at(const char *text, const char *s)
{
    if (s[0] != '-' || !(s[1] >= 'a' && s[1] <= 'z')) return 0;
    if (s > text && (isalnum((unsigned char)s[-1]) || s[-1] == '-' || s[-1] == '_')) return 0;
    size_t n = 2;
    while (isalnum((unsigned char)s[n]) || s[n] == '+' || (s[n] == '-' && isalpha((unsigned char)s[n + 1]))) ++n;
    return n;
}

/* 1 if text holds the option opt[0..n) as a whole word. */
static int mentions(const char *text, const char *opt, size_t n)
{
    for (const char *p = strstr(text, "-"); p; p = strstr(p + 1, "-"))
        if (option_at(text, p) == n && !strncmp(p, opt, n)) return 1;
    return 0;
}

/* Every option `gradcam help` names is in the README, and every option the
 * README's tables give a row (the main command's, eval's, the error
 * catalogue's) is in the help: neither lists what the other leaves out. */
START_TEST(help_and_readme_name_the_same_options)
{
    static char out[1 << 16], err[1 << 16];
    ck_assert_int_eq(gcf_run_gradcam(out, sizeof out, err, sizeof err, "help", NULL), 0);
    char *readme = gcf_read_file("README.md", NULL);
    ck_assert_ptr_nonnull(readme);
    int checked = 0;
    for (const char *p = out; *p; ++p) {
        size_t n = option_at(out, p);
        if (!n) continue;
        ck_assert_msg(mentions(readme, p, n), "gradcam help names %.*s; README.md does not", (int)n, p);
        ++checked;
        p += n - 1;
    }
    ck_assert_int_gt(checked, 30);
    checked = 0;
    for (const char *row = strstr(readme, "\n| `-"); row; row = strstr(row + 1, "\n| `-")) {
        const char *end = strstr(row + 3, " |");
        ck_assert_ptr_nonnull(end);
        for (const char *p = row + 3; p < end; ++p) {
            size_t n = option_at(readme, p);
            if (!n) continue;
            ck_assert_msg(mentions(out, p, n), "README.md's table row %.60s names %.*s; gradcam help does not", row + 1,
                          (int)n, p);
            ++checked;
            p += n - 1;
        }
    }
    ck_assert_int_gt(checked, 30);
    free(readme);
}
END_TEST

Suite *suite_readme(void)
{
    Suite *s = suite_create("readme");
    TCase *tc = tcase_create("examples");
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, readme_examples_run_as_written);
    suite_add_tcase(s, tc);
    TCase *opts = tcase_create("options");
    tcase_add_test(opts, help_and_readme_name_the_same_options);
    suite_add_tcase(s, opts);
    return s;
}
