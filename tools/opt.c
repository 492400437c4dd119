/* opt.c - the one option parser of the petri commands (opt.h). */
#include "opt.h"
#include "cli.h"
#include "num.h"

#include <limits.h>
#include <string.h>

void opt_begin(opt_iter *it, int argc, char **argv, const opt_group *groups, const char *usage)
{
	*it = (opt_iter){ argc, 1, argv, groups, usage, NULL, NULL };
}

static int is_option(const char *a) { return a[0] == '-' && a[1]; }

/* No path is PATH_MAX bytes or longer: such a value is refused here, before
 * a message quoting it would be cut short of its reason. */
static void check_length(const opt_iter *it)
{
	size_t n = strlen(it->val);
	if (n >= PATH_MAX)
		die(2, "%s%s'%.40s...' is too long (%zu bytes; a path or a value has at most %d)", it->opt ? it->opt : "",
		    it->opt ? ": " : "", it->val, n, PATH_MAX - 1);
}

const opt_spec *opt_find(const opt_group *groups, const char *arg)
{
	for (int g = 0; g < OPT_GROUPS; g++)
		for (const opt_spec *s = groups[g].opts; s && s->name; s++)
			if (!strcmp(arg, s->name) || (s->alias && !strcmp(arg, s->alias)))
				return s;
	return NULL;
}

int opt_next(opt_iter *it)
{
	if (++it->i >= it->argc)
		return OPT_END;
	const char *a = it->argv[it->i];
	it->opt = NULL;
	it->val = a;
	if (!is_option(a)) {
		check_length(it);
		return OPT_ARG;
	}
	const opt_spec *s = opt_find(it->groups, a);
	if (!s) {
		if (it->usage)
			die(2, "unknown option %s\nusage: %s", a, it->usage);
		die(2, "unknown option %s (see 'petri help')", a);
	}
	it->opt = a;
	it->val = NULL;
	if (s->arg) {
		if (it->i + 1 >= it->argc)
			die(2, "option %s needs a value", a);
		it->val = it->argv[++it->i];
		check_length(it);
	}
	return s->id;
}

int opt_wants_help(const opt_group *groups, int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
		const opt_spec *s = is_option(argv[i]) ? opt_find(groups, argv[i]) : NULL;
		if (s && s->arg)
			i++;
	}
	return 0;
}

static void help_line(FILE *f, const char *name, const char *alias, const char *arg, const char *help)
{
	char left[64];
	snprintf(left, sizeof left, "%s%s%s%s%s", alias ? alias : "", alias ? ", " : "", name, arg ? " " : "",
		 arg ? arg : "");
	if (strlen(left) > 22)
		fprintf(f, "  %s\n  %-22s  %s\n", left, "", help);
	else
		fprintf(f, "  %-22s  %s\n", left, help);
}

void opt_help(FILE *f, const opt_group *groups)
{
	for (int g = 0; g < OPT_GROUPS; g++) {
		if (!groups[g].opts || !groups[g].title)
			continue;
		fprintf(f, "\n%s:\n", groups[g].title);
		for (const opt_spec *s = groups[g].opts; s->name; s++)
			help_line(f, s->name, s->alias, s->arg, s->help);
	}
	fprintf(f, "\n");
	help_line(f, "--help", "-h", NULL, "this help");
}

long opt_whole(const opt_iter *it, long lo, long hi)
{
	double x;
	if (num_whole(it->val, NUM_SI, (double)lo, (double)hi, &x))
		die(2, "option %s: '%s' is not a whole number in [%ld, %ld]", it->opt, it->val, lo, hi);
	return (long)x;
}

double opt_real(const opt_iter *it, double lo, double hi)
{
	double x;
	if (num_parse(it->val, NUM_PLAIN, lo, hi, &x))
		die(2, "option %s: '%s' is not a number in [%g, %g]", it->opt, it->val, lo, hi);
	return x;
}

double opt_ratio(const opt_iter *it, double lo, double hi)
{
	double x;
	if (num_ratio(it->val, lo, hi, &x))
		die(2, "option %s: '%s' is not a number or a ratio (such as 1/255) in [%g, %g]", it->opt, it->val, lo, hi);
	return x;
}

double opt_positive(const opt_iter *it)
{
	double x;
	if (num_parse(it->val, NUM_SI, 0, 1e300, &x) || !(x > 0))
		die(2, "option %s: '%s' is not a positive number (suffixes k, M, G allowed)", it->opt, it->val);
	return x;
}

uint64_t opt_count(const opt_iter *it)
{
	double x;
	if (num_whole(it->val, NUM_SI, 1, 9.2e18, &x))
		die(2, "option %s: '%s' is not a whole number >= 1 (suffixes k, M, G allowed)", it->opt, it->val);
	return (uint64_t)x;
}
