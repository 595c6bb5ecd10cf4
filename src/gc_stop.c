#define _GNU_SOURCE /* pipe2 */
#include "gc_stop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
#define NSIGS (int)(sizeof sigs / sizeof sigs[0])

/* Lock-free atomics, so the handler may use them; a compare-exchange so
 * that of two signals landing on two threads at once, one is the first. */
static atomic_int stop_sig;
static atomic_int worker;   /* repeats ignored (gc_stop_worker) */
static atomic_int wake_w = -1; /* the pipe's write end, for the handler */
static int wake_r = -1;
static int armed;
static struct sigaction saved[NSIGS];
static int installed[NSIGS];

static void set_default(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < NSIGS; ++i)
        if (installed[i]) sigaction(sigs[i], &sa, NULL);
}

/* Only async-signal-safe calls: sigaction, raise, write. */
static void on_signal(int sig)
{
    int saved_errno = errno, none = 0;
    int first = atomic_compare_exchange_strong(&stop_sig, &none, sig);
    if (!atomic_load(&worker)) {
        set_default(); /* the next one kills */
        if (!first) raise(sig); /* a second one, on another thread meanwhile: taken when this returns */
    }
    int fd = atomic_load(&wake_w);
    if (first && fd >= 0) {
        ssize_t w = write(fd, "", 1); /* non-blocking: a full pipe is awake already */
        (void)w;
    }
    errno = saved_errno;
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < NSIGS; ++i) sigaddset(&sa.sa_mask, sigs[i]);
    for (int i = 0; i < NSIGS; ++i)
        if (installed[i]) sigaction(sigs[i], &sa, NULL);
}

int gc_stop_arm(void)
{
    if (armed) return 0;
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    wake_r = p[0];
    atomic_store(&wake_w, p[1]);
    atomic_store(&stop_sig, 0);
    atomic_store(&worker, 0);
    for (int i = 0; i < NSIGS; ++i)
        installed[i] = sigaction(sigs[i], NULL, &saved[i]) == 0 && saved[i].sa_handler != SIG_IGN;
    install();
    armed = 1;
    return 0;
}

int gc_stop_signal(void)
{
    return atomic_load(&stop_sig);
}

int gc_stop_fd(void)
{
    return wake_r;
}

void gc_stop_drain(void)
{
    char buf[64];
    while (wake_r >= 0 && read(wake_r, buf, sizeof buf) > 0) {
    }
}

static void close_pipe(void)
{
    int w = atomic_exchange(&wake_w, -1); /* the handler no longer writes it */
    if (w >= 0) close(w);
    if (wake_r >= 0) close(wake_r);
    wake_r = -1;
}

void gc_stop_worker(void)
{
    if (!armed) return;
    atomic_store(&worker, 1);
    install();
    close_pipe();
}

void gc_stop_disarm(void)
{
    if (!armed) return;
    for (int i = 0; i < NSIGS; ++i)
        if (installed[i]) sigaction(sigs[i], &saved[i], NULL);
    close_pipe();
    armed = 0;
}

void gc_stop_raise(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    raise(sig);
    _exit(128 + sig); /* not reached: the default action of these three ends the process */
}

const char *gc_stop_name(int sig)
{
    switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return "a signal";
    }
}

void gc_stop_block(sigset_t *old)
{
    sigset_t s;
    sigemptyset(&s);
    for (int i = 0; i < NSIGS; ++i) sigaddset(&s, sigs[i]);
    pthread_sigmask(SIG_BLOCK, &s, old);
}

void gc_stop_unblock(const sigset_t *old)
{
    pthread_sigmask(SIG_SETMASK, old, NULL);
}
