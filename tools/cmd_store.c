/* cmd_store.c - petri commands that read an experiment store. */
#include "cmds.h"

#include <stdio.h>

static int not_yet(const char *c)
{
	fprintf(stderr, "petri: %s is not available in this build\n", c);
	return 2;
}

int cmd_status(int argc, char **argv) { (void)argc; return not_yet(argv[1]); }
int cmd_frontier(int argc, char **argv) { (void)argc; return not_yet(argv[1]); }
int cmd_pick(int argc, char **argv) { (void)argc; return not_yet(argv[1]); }
int cmd_export(int argc, char **argv) { (void)argc; return not_yet(argv[1]); }
