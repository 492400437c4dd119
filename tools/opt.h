/* opt.h - the one option parser of the petri commands.
 *
 * A command describes its options in tables (opt_spec lists, in up to
 * OPT_GROUPS groups); the same tables drive the parsing and the command's
 * --help. Options are "--name VALUE" or a flag, in any order among the
 * positional arguments; numbers go through num.h, and a bad one exits 2
 * naming the option:
 *
 *	opt_iter it;
 *	opt_begin(&it, argc, argv, groups, NULL);
 *	for (int k; (k = opt_next(&it)) != OPT_END;)
 *		switch (k) {
 *		case O_EPOCHS: epochs = (int)opt_whole(&it, 1, 100000); break;
 *		case OPT_ARG: data = it.val; break;
 *		}
 */
#ifndef PETRI_OPT_H
#define PETRI_OPT_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
	const char *name;  /* "--epochs" */
	const char *alias; /* another spelling ("-o" for "--out"), or NULL */
	const char *arg;   /* the value's name in help ("N"); NULL: a flag */
	int id;            /* what opt_next returns for it (>= 0) */
	const char *help;  /* one line */
} opt_spec;            /* a list ends with a NULL name: OPT_LAST */

#define OPT_LAST { NULL, NULL, NULL, 0, NULL }

typedef struct {
	const char *title;    /* heading in help; NULL: accepted, not listed */
	const opt_spec *opts; /* NULL: no group */
} opt_group;

#define OPT_GROUPS 4

enum { OPT_END = -1, OPT_ARG = -2 };

typedef struct {
	int argc, i;
	char **argv;
	const opt_group *groups; /* OPT_GROUPS of them */
	const char *usage;       /* ends the unknown-option message, or NULL */
	const char *opt;         /* the option just read, for messages */
	const char *val;         /* its value, or the positional argument */
} opt_iter;

/* argv[0] is the program, argv[1] the command; options start at argv[2].
 * usage: the synopsis an unknown option is answered with; NULL points at
 * 'petri help' instead. */
void opt_begin(opt_iter *it, int argc, char **argv, const opt_group *groups, const char *usage);

/* The next option's id (its value, if it takes one, in it->val), OPT_ARG
 * for a positional argument (in it->val; "-" is one), OPT_END at the end.
 * Exits 2 on an unknown option or a missing value. */
int opt_next(opt_iter *it);

/* the spec that arg names, or NULL */
const opt_spec *opt_find(const opt_group *groups, const char *arg);

/* nonzero when -h or --help stands among argv[2..] as an option (not as
 * the value of another) */
int opt_wants_help(const opt_group *groups, int argc, char **argv);

/* the listed groups, one line per option, and -h/--help */
void opt_help(FILE *f, const opt_group *groups);

/* The current value as a number; out of range or malformed: exit 2 with
 * "option NAME: 'VALUE' is not ...". */
/* a whole number in [lo, hi], k/M/G suffixes */
long opt_whole(const opt_iter *it, long lo, long hi);
/* a decimal number in [lo, hi], no suffix */
double opt_real(const opt_iter *it, double lo, double hi);
/* a decimal number or a ratio of two ("1/255") in [lo, hi] */
double opt_ratio(const opt_iter *it, double lo, double hi);
/* a number > 0, k/M/G suffixes */
double opt_positive(const opt_iter *it);
/* a whole number >= 1, k/M/G suffixes */
uint64_t opt_count(const opt_iter *it);

#endif
