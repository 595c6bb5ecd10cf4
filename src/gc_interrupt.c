#include "gc_interrupt.h"

#include "gc_common.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The record: NUL-terminated paths one after another in one mapping (pages
 * are committed as they are written), published by `used` (release) after
 * each path's bytes, so the handler reads only whole paths. */
#define RECORD_BYTES ((size_t)4 << 20)

static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
#define NSIGS (int)(sizeof sigs / sizeof sigs[0])

static char *record;
static atomic_size_t used;
static pthread_mutex_t add_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t main_thread;
static struct sigaction saved[NSIGS];
static int installed[NSIGS];

/* A folder's entry starts with this byte (no path does), a file's does not;
 * a dropped folder's with the second. */
#define DIR_MARK '\001'
#define DROPPED_MARK '\002'

static void remove_recorded(void)
{
    size_t end = atomic_load_explicit(&used, memory_order_acquire);
    char tmp[PATH_MAX + 8];
    for (size_t i = 0; i < end;) {
        const char *p = record + i;
        size_t n = 0;
        while (p[n]) ++n;
        if (p[0] != DIR_MARK && p[0] != DROPPED_MARK) {
            unlink(p);
            if (gc_tmp_path(tmp, sizeof tmp, p) == 0) unlink(tmp);
        }
        i += n + 1;
    }
    /* the folders, last made first (each entry found from its end) */
    for (size_t j = end; j > 0;) {
        size_t last = j - 1, start = last; /* the entry's NUL, then its first byte */
        while (start > 0 && record[start - 1]) --start;
        if (record[start] == DIR_MARK) rmdir(record + start + 1);
        j = start;
    }
}

static void on_signal(int sig)
{
    if (!pthread_equal(pthread_self(), main_thread)) {
        pthread_kill(main_thread, sig); /* the thread that writes the files */
        return;
    }
    remove_recorded();
    signal(sig, SIG_DFL);
    raise(sig); /* blocked until this handler returns, then the default action */
}

int gc_interrupt_arm(void)
{
    if (record) return 0;
    void *m = mmap(NULL, RECORD_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return -1;
    record = m;
    atomic_store(&used, 0);
    main_thread = pthread_self();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < NSIGS; ++i) sigaddset(&sa.sa_mask, sigs[i]);
    for (int i = 0; i < NSIGS; ++i) {
        installed[i] = 0;
        if (sigaction(sigs[i], NULL, &saved[i]) != 0 || saved[i].sa_handler == SIG_IGN) continue;
        installed[i] = sigaction(sigs[i], &sa, NULL) == 0;
    }
    return 0;
}

/* Returns the entry's offset + 1, or 0 when not recorded. */
static size_t add_entry(int dir, const char *path)
{
    if (!record) return 0;
    size_t n = strlen(path) + 1 + (dir != 0), handle = 0;
    pthread_mutex_lock(&add_mu);
    size_t at = atomic_load_explicit(&used, memory_order_relaxed);
    if (n <= RECORD_BYTES - at) {
        if (dir) record[at] = DIR_MARK;
        memcpy(record + at + (dir != 0), path, n - (dir != 0));
        atomic_store_explicit(&used, at + n, memory_order_release);
        handle = at + 1;
    }
    pthread_mutex_unlock(&add_mu);
    return handle;
}

void gc_interrupt_add(const char *path)
{
    add_entry(0, path);
}

size_t gc_interrupt_add_dir(const char *path)
{
    return add_entry(1, path);
}

void gc_interrupt_drop(size_t handle)
{
    if (!record || !handle) return;
    pthread_mutex_lock(&add_mu);
    if (handle - 1 < atomic_load_explicit(&used, memory_order_relaxed) && record[handle - 1] == DIR_MARK)
        record[handle - 1] = DROPPED_MARK; /* one byte: the handler sees either mark */
    pthread_mutex_unlock(&add_mu);
}

void gc_interrupt_disarm(void)
{
    if (!record) return;
    for (int i = 0; i < NSIGS; ++i)
        if (installed[i]) sigaction(sigs[i], &saved[i], NULL);
    atomic_store(&used, 0);
    munmap(record, RECORD_BYTES);
    record = NULL;
}
