/* gc_stop: the first SIGINT, SIGTERM or SIGHUP is recorded and wakes the
 * pipe, and the next one kills (default action); a -jobs worker ignores
 * repeats; a signal ignored when arming stays ignored; disarming restores
 * the handlers; gc_stop_raise dies of the signal even when it is blocked;
 * the threads list mode makes (output thread, thread pool) never take the
 * three signals. List mode's use of it, end to end: check_batch.c. */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gc_pool.h"
#include "gc_stop.h"
#include "gc_tests.h"
#include "gc_writer.h"

static void set_all(void (*h)(int))
{
    signal(SIGINT, h);
    signal(SIGTERM, h);
    signal(SIGHUP, h);
}

static void (*handler_of(int sig))(int)
{
    struct sigaction sa;
    ck_assert_int_eq(sigaction(sig, NULL, &sa), 0);
    return sa.sa_handler;
}

static int readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

START_TEST(first_signal_recorded_second_kills)
{
    set_all(SIG_DFL);
    ck_assert_int_eq(gc_stop_arm(), 0);
    ck_assert_int_eq(gc_stop_signal(), 0);
    ck_assert_int_ge(gc_stop_fd(), 0);
    ck_assert(!readable(gc_stop_fd()));
    ck_assert(handler_of(SIGTERM) != SIG_DFL && handler_of(SIGTERM) != SIG_IGN);
    raise(SIGTERM); /* handled before raise returns */
    ck_assert_int_eq(gc_stop_signal(), SIGTERM);
    ck_assert(readable(gc_stop_fd()));
    gc_stop_drain();
    ck_assert(!readable(gc_stop_fd()));
    /* the next one of any of the three takes its default action */
    ck_assert(handler_of(SIGINT) == SIG_DFL && handler_of(SIGTERM) == SIG_DFL && handler_of(SIGHUP) == SIG_DFL);
    gc_stop_disarm();
    ck_assert_int_eq(gc_stop_signal(), SIGTERM); /* kept for the caller */
    ck_assert_int_eq(gc_stop_fd(), -1);

    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        set_all(SIG_DFL);
        if (gc_stop_arm() != 0) _exit(3);
        raise(SIGINT);
        if (gc_stop_signal() != SIGINT) _exit(4);
        raise(SIGTERM); /* a second signal: dies of it */
        _exit(5);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %#x", status);
}
END_TEST

START_TEST(a_worker_ignores_repeats)
{
    set_all(SIG_DFL);
    ck_assert_int_eq(gc_stop_arm(), 0);
    gc_stop_worker();
    ck_assert_int_eq(gc_stop_fd(), -1); /* the parent's wake-up is not the worker's */
    raise(SIGINT);   /* Ctrl-C from the terminal */
    raise(SIGINT);   /* and the same passed on by the parent */
    raise(SIGTERM);
    ck_assert_int_eq(gc_stop_signal(), SIGINT);
    ck_assert(handler_of(SIGINT) != SIG_DFL && handler_of(SIGTERM) != SIG_DFL);
    gc_stop_disarm();
    ck_assert(handler_of(SIGINT) == SIG_DFL && handler_of(SIGTERM) == SIG_DFL && handler_of(SIGHUP) == SIG_DFL);
}
END_TEST

START_TEST(an_ignored_signal_stays_ignored)
{
    set_all(SIG_DFL);
    signal(SIGHUP, SIG_IGN); /* nohup */
    ck_assert_int_eq(gc_stop_arm(), 0);
    ck_assert(handler_of(SIGHUP) == SIG_IGN);
    raise(SIGHUP);
    ck_assert_int_eq(gc_stop_signal(), 0);
    raise(SIGTERM);
    ck_assert_int_eq(gc_stop_signal(), SIGTERM);
    ck_assert(handler_of(SIGHUP) == SIG_IGN); /* not reset to its default either */
    gc_stop_disarm();
    ck_assert(handler_of(SIGHUP) == SIG_IGN && handler_of(SIGTERM) == SIG_DFL);
    /* armed again: a new run, nothing recorded */
    ck_assert_int_eq(gc_stop_arm(), 0);
    ck_assert_int_eq(gc_stop_signal(), 0);
    gc_stop_disarm();
}
END_TEST

START_TEST(raise_dies_of_the_signal)
{
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; ++i) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            set_all(SIG_DFL);
            if (gc_stop_arm() != 0) _exit(3);
            raise(sigs[i]);
            sigset_t s;
            sigemptyset(&s);
            sigaddset(&s, sigs[i]);
            sigprocmask(SIG_BLOCK, &s, NULL); /* as in a handler's mask, say */
            gc_stop_raise(gc_stop_signal());
        }
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == sigs[i], "status %#x", status);
    }
    ck_assert_str_eq(gc_stop_name(SIGINT), "SIGINT");
    ck_assert_str_eq(gc_stop_name(SIGTERM), "SIGTERM");
    ck_assert_str_eq(gc_stop_name(SIGHUP), "SIGHUP");
}
END_TEST

/* Whether the calling thread blocks SIGINT, SIGTERM and SIGHUP. */
static int blocks_all_three(void)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, SIGINT) && sigismember(&cur, SIGTERM) && sigismember(&cur, SIGHUP);
}

static void note_mask(void *arg, const gc_err *unused)
{
    *(int *)arg = blocks_all_three();
}

static void note_masks(void *arg, size_t begin, size_t end)
{
    int *blocked = arg;
    for (size_t i = begin; i < end; ++i) blocked[i] = blocks_all_three();
}

START_TEST(threads_made_take_no_stop_signal)
{
    ck_assert(!blocks_all_three());
    gc_err e = {0};
    gc_writer *w = gc_writer_start(1 << 20, NULL, &e);
    ck_assert_msg(w != NULL, "%s", e.msg);
    int blocked = -1;
    ck_assert_int_eq(gc_writer_put_call(w, note_mask, &blocked, &e), 0);
    gc_writer_drain(w);
    gc_writer_stop(w);
    ck_assert_int_eq(blocked, 1);
    ck_assert(!blocks_all_three()); /* the caller's mask as it was */

    gc_pool p;
    gc_pool_init(&p, 3, &e);
    ck_assert_int_eq(p.threads, 3);
    int each[3] = {-1, -1, -1};
    gc_pool_for(&p, 3, (size_t)1 << 40, note_masks, each); /* costly enough to go to the threads */
    gc_pool_free(&p);
    ck_assert_int_eq(each[0], 0); /* the calling thread's block */
    ck_assert_int_eq(each[1], 1);
    ck_assert_int_eq(each[2], 1);
    ck_assert(!blocks_all_three());
}
END_TEST

Suite *suite_stop(void)
{
    Suite *s = suite_create("stop");
    TCase *tc = tcase_create("stop");
    tcase_add_test(tc, first_signal_recorded_second_kills);
    tcase_add_test(tc, a_worker_ignores_repeats);
    tcase_add_test(tc, an_ignored_signal_stays_ignored);
    tcase_add_test(tc, raise_dies_of_the_signal);
    tcase_add_test(tc, threads_made_take_no_stop_signal);
    suite_add_tcase(s, tc);
    return s;
}
