/* cmds.h - the petri commands: one table entry each (the table is in
 * petri.c), a handler and its option tables in the command's own file. */
#ifndef PETRI_CMDS_H
#define PETRI_CMDS_H

#include "cli.h"
#include "frontier.h"
#include "json.h"
#include "opt.h"

typedef struct cli_cmd cli_cmd;
struct cli_cmd {
	const char *name;
	/* argv[1] is the command's name; returns the exit code */
	int (*run)(const cli_cmd *cmd, int argc, char **argv);
	const char *summary; /* one line, listed by 'petri help' */
	const char *usage;   /* the synopsis, "petri eval MODEL [DATA] [--json]" */
	const char *help;    /* what the arguments are, exit codes; or NULL */
	opt_group opts[OPT_GROUPS];
	int usage_errors;    /* an unknown option is answered with the synopsis */
};

/* the parser over cmd's options */
static inline void cmd_opts(opt_iter *it, const cli_cmd *cmd, int argc, char **argv)
{
	opt_begin(it, argc, argv, cmd->opts, cmd->usage_errors ? cmd->usage : NULL);
}

/* cmd_train.c: train, eval, predict, inspect, grow, bench, version */
extern const opt_spec train_options[], seed_options[], io_options[], grow_options[], eval_options[],
	predict_options[], inspect_options[], bench_options[], version_options[];
int cmd_train(const cli_cmd *cmd, int argc, char **argv);
int cmd_eval(const cli_cmd *cmd, int argc, char **argv);
int cmd_predict(const cli_cmd *cmd, int argc, char **argv);
int cmd_inspect(const cli_cmd *cmd, int argc, char **argv);
int cmd_grow(const cli_cmd *cmd, int argc, char **argv);
int cmd_bench(const cli_cmd *cmd, int argc, char **argv);
int cmd_version(const cli_cmd *cmd, int argc, char **argv);

/* cmd_store.c: the commands that read an experiment (status, frontier,
 * pick, export, card) */
extern const opt_spec status_options[], frontier_options[], pick_options[], export_options[], card_options[];
int cmd_status(const cli_cmd *cmd, int argc, char **argv);
int cmd_card(const cli_cmd *cmd, int argc, char **argv);
int cmd_frontier(const cli_cmd *cmd, int argc, char **argv);
int cmd_pick(const cli_cmd *cmd, int argc, char **argv);
int cmd_export(const cli_cmd *cmd, int argc, char **argv);
/* The JSON that 'petri status --json', 'petri frontier --json [--all]' and
 * 'petri pick --json' print, written to f instead ('petri serve' answers
 * with them). They read dir like the commands: in a process that may die
 * (store_child), since a failure die()s with the command's exit code.
 * store_pick_json returns 0, or 3 when no model fits the limits (its JSON
 * says "fit": false). */
void store_status_json(FILE *f, const char *dir);
void store_frontier_json(FILE *f, const char *dir, int all);
int store_pick_json(FILE *f, const char *dir, const fr_limits *l);
/* --max-mflops X into l->max_macs (the tighter when both are given);
 * -1 when X is below one multiply-add */
int store_limit_mflops(fr_limits *l, double mflops);

/* card.c: what 'petri serve' reads of one model, in the same kind of
 * process; an unknown id exits STORE_EXIT_NOTFOUND, other failures 1.
 * store_model_json: the model's card (costs, accuracies, lineage, the
 * layers its growth added against its parent, how it was made);
 * store_export_bytes: the model as a petri model file, or as ONNX. */
#define STORE_EXIT_NOTFOUND 4
void store_model_json(FILE *f, const char *dir, const char *id);
void store_export_bytes(FILE *f, const char *dir, const char *id, int onnx);

/* cmd_verify.c: damaged stores */
extern const opt_spec verify_options[], salvage_options[];
int cmd_verify(const cli_cmd *cmd, int argc, char **argv);
int cmd_salvage(const cli_cmd *cmd, int argc, char **argv);
/* Run the rest of a command that reads the store in dir in a child: returns
 * 0 in the child (go on); 1 in the parent once the child ended, with its
 * exit code in *code and its standard output passed on, or, when a signal
 * killed it (a damaged store inside liblmdb), a message and *code 1. */
int store_child(const char *dir, int *code);

/* cmd_serve.c: the dashboard */
extern const opt_spec serve_options[];
int cmd_serve(const cli_cmd *cmd, int argc, char **argv);

/* cmd_search.c: start or resume a search, stop it */
extern const opt_spec search_options[], stop_options[];
int cmd_search(const cli_cmd *cmd, int argc, char **argv);
int cmd_stop(const cli_cmd *cmd, int argc, char **argv);

#endif
