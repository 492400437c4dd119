/* cmds.h - petri subcommands that live in their own files. Each takes the
 * whole argv (argv[1] is the command name) and returns the exit code. */
#ifndef PETRI_CMDS_H
#define PETRI_CMDS_H

#include <stdio.h>

/* s as a JSON string literal, escaped */
void json_str(FILE *f, const char *s);

int cmd_status(int argc, char **argv);
int cmd_frontier(int argc, char **argv);
int cmd_pick(int argc, char **argv);
int cmd_export(int argc, char **argv);

int cmd_search(int argc, char **argv);
int cmd_stop(int argc, char **argv);

#endif
