/* gc_interrupt: a run stopped by SIGINT, SIGTERM or SIGHUP removes the output
 * files it wrote, as a failed run does, then dies of that signal.
 *
 * Without it, Ctrl-C (or a scheduler's SIGTERM) in the middle of a run left
 * the outputs written so far and, when it fell inside a write, a PATH.tmp.
 * While armed, every output path is recorded before its file is created
 * (gc_image_write_file, and callers that write files of their own); the
 * handler unlinks each recorded PATH and PATH.tmp, then removes the recorded
 * folders it created that are left empty, restores the signal's
 * default action and raises it again, so the exit status is the signal's.
 *
 * The handler runs on the main thread only: on another thread (a worker of
 * the thread pool, OpenBLAS's) it passes the signal on to the main thread,
 * which is the one that creates files in the runs that arm this (the main
 * command, eval, init); so no file appears while the handler removes them.
 * A signal that was ignored when arming (nohup's SIGHUP) stays ignored.
 * List mode does not arm it: its unit is the image, and it stops between
 * images instead (gc_stop.h). */
#ifndef GC_INTERRUPT_H
#define GC_INTERRUPT_H

#include <stddef.h>

/* Installs the handlers and starts an empty record. 0, or -1 when the
 * record's memory cannot be had (nothing is installed then: a signal kills
 * the run as before). Once armed, a second call does nothing. */
int gc_interrupt_arm(void);

/* Records path (thread-safe; not async-signal-safe). A no-op when not armed,
 * or when the record is full (4 MiB of paths: the files are then left). */
void gc_interrupt_add(const char *path);

/* Records a folder the run is about to create: the handler removes it after
 * the files, deepest first, when it is empty. Returns a handle for
 * gc_interrupt_drop (0 when nothing was recorded). */
size_t gc_interrupt_add_dir(const char *path);

/* Forgets a recorded folder (it was not made by this run after all); 0 is
 * ignored. */
void gc_interrupt_drop(size_t handle);

/* The run is over: restores the previous handlers and drops the record (the
 * files stay). A no-op when not armed. */
void gc_interrupt_disarm(void);

#endif
