/* cli.h - what every petri command shares: the failure exit and the
 * guard on output files. */
#ifndef PETRI_CLI_H
#define PETRI_CLI_H

#include <stdio.h>

/* the prefix of every message (default "petri"; the store commands name
 * themselves, "petri pick") */
extern const char *cli_prog;

/* "PROG: message" on standard error, then exit(code); or, when
 * cli_child_exit is set (a child forked by a threaded server), _exit(code)
 * after flushing: the parent's exit handlers must not run there */
extern int cli_child_exit;
void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* seconds on a monotonic clock */

/* Before any work: exit 2 when writing out would destroy one of the inputs
 * (the same file) or the store of the experiment in dir (may be NULL), or
 * out is a directory. "-" and NULL are let through. */
void out_guard(const char *out, const char *const *inputs, int nin, const char *dir);

/* Output files are written beside the target and renamed into place, so a
 * failed write (a full disk) leaves what was there before. out_open
 * creates PATH.tmpPID (exit 1 when it cannot) and returns it open for
 * writing; out_commit closes it and renames it to path, or removes it and
 * exits 1 with the write error, or with why when the writer failed (why
 * not NULL). */
FILE *out_open(const char *path);
void out_commit(FILE *f, const char *path, const char *why);

#endif
