/* gc_stop: list mode stopped by SIGINT, SIGTERM or SIGHUP (Ctrl-C, a
 * scheduler's time limit, a closed terminal) finishes the image in hand and
 * ends like a normal run: its folders under DIR/.tmp renamed or removed, the
 * index holding whole lines of complete images, the lock removed; then the
 * caller prints its summary and dies of the signal (gc_stop_raise), so that
 * a shell sees 128+n and Slurm a cancelled job.
 *
 * Without it such a signal killed the run at once, leaving the images in
 * flight under DIR/.tmp and the lock, for -resume to clear. gc_interrupt
 * (the single-image command) removes its outputs in the handler; here the
 * handler only records the signal: the run looks at it between images and
 * stops on its normal path, where the cleanup already is.
 *
 * The handler (on whichever thread the signal lands) sets a flag, wakes
 * gc_stop_fd() and, in the process that armed this, restores the default
 * action of the three signals: a second one kills at once, as users expect
 * of a second Ctrl-C. In a -jobs worker (gc_stop_worker) repeats are
 * ignored instead: Ctrl-C reaches every process of the terminal's group and
 * the parent passes its signal on too, so a worker sees it twice; a second
 * Ctrl-C kills the parent, and the workers with it (PR_SET_PDEATHSIG).
 * Handlers are installed with SA_RESTART (a blocking call resumes; a wait
 * that must notice the stop polls gc_stop_fd()). A signal ignored when
 * arming (nohup's SIGHUP) stays ignored. */
#ifndef GC_STOP_H
#define GC_STOP_H

#include <signal.h>

/* Installs the handlers and the wake-up pipe, with no stop recorded. 0, or
 * -1 when the pipe cannot be made (nothing is installed then: a signal kills
 * the run as before). */
int gc_stop_arm(void);

/* 0, or the first of SIGINT, SIGTERM, SIGHUP received since gc_stop_arm. */
int gc_stop_signal(void);

/* The wake-up pipe's read end (non-blocking), readable once a signal came;
 * gc_stop_drain empties it. -1 when not armed. */
int gc_stop_fd(void);
void gc_stop_drain(void);

/* In a -jobs worker right after fork: a repeated signal is ignored (see
 * above), the handlers are installed again (the parent's may have been reset
 * by a signal just before the fork) and the worker's copy of the pipe is
 * closed (the parent's wake-up is its own). */
void gc_stop_worker(void);

/* Restores the handlers there were before gc_stop_arm and closes the pipe;
 * gc_stop_signal keeps its value. A no-op when not armed. */
void gc_stop_disarm(void);

/* Dies of sig: its default action restored and unblocked, then raised.
 * Does not return. */
void gc_stop_raise(int sig) __attribute__((noreturn));

/* "SIGINT", "SIGTERM" or "SIGHUP". */
const char *gc_stop_name(int sig);

/* Blocks the three signals in the calling thread, the previous mask in old:
 * around pthread_create, so that the thread made never takes them (they
 * land on the thread that runs the list, or one of OpenBLAS's). */
void gc_stop_block(sigset_t *old);
void gc_stop_unblock(const sigset_t *old);

#endif
