/* cmds.h - petri subcommands that live in their own files. Each takes the
 * whole argv (argv[1] is the command name) and returns the exit code. */
#ifndef PETRI_CMDS_H
#define PETRI_CMDS_H

#include <stdio.h>

/* s as a JSON string literal, escaped */
void json_str(FILE *f, const char *s);
/* x with prec decimals in buf (JSON_NUM chars), or "null" when not finite:
 * JSON has no NaN or infinity */
#define JSON_NUM 48
const char *json_fmt(char *buf, double x, int prec);

/* Before any work: exit 2 when writing out would destroy one of the inputs
 * (the same file) or the store of the experiment in dir (may be NULL), or
 * out is a directory. "-" and NULL are let through. */
void out_guard(const char *out, const char *const *inputs, int nin, const char *dir);

int cmd_status(int argc, char **argv);
int cmd_frontier(int argc, char **argv);
int cmd_pick(int argc, char **argv);
int cmd_export(int argc, char **argv);

int cmd_search(int argc, char **argv);
int cmd_stop(int argc, char **argv);

#endif
