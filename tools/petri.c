/* petri - the command line: one table of commands, each with its summary,
 * synopsis, help and option tables; 'petri help [COMMAND]' and
 * 'petri COMMAND --help' print from it. */
#include "cmds.h"
#include "nn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MODEL_NOTE "MODEL: a petri model file or an ONNX file (.onnx); -o FILE.onnx writes ONNX.\n"
#define DATA_NOTE                                                                                                \
	"DATA: a directory of IDX files (default " NN_DEFAULT_DATA ",\n"                                           \
	"      from Debian's dataset-fashion-mnist) or a CSV file (label first; --shape CxHxW).\n"
#define STORE_NOTE                                                                                               \
	"EXP is read only, in one snapshot; it works beside a running search.\n"                                   \
	"Exit codes: 0 ok, 1 the experiment cannot be read, 2 bad usage.\n"

static const cli_cmd commands[] = {
	{ "train", cmd_train, "train a network on a data set",
	  "petri train [DATA] [--arch NAME | --from MODEL] [-o MODEL] [options]",
	  "Trains a reference net, a seed network (--arch seed) or a model given with --from,\n"
	  "reports test accuracy, loss and costs, and writes the model with -o.\n" MODEL_NOTE DATA_NOTE,
	  { { "training", train_options }, { "seed network (--arch seed)", seed_options }, { "input and output", io_options } },
	  0 },
	{ "grow", cmd_grow, "one candidate job and one child job, by hand",
	  "petri grow PARENT [DATA] -o CHILD [--cand-epochs F] [--epochs N] [--ops LIST] [--k K] ...",
	  "Trains candidate layers on PARENT (joint training, stop-gradient inputs), keeps the\n"
	  "winners by |omega|, and trains the zero-gated child; writes it to CHILD.\n" MODEL_NOTE DATA_NOTE,
	  { { "growth", grow_options }, { "training of the child", train_options }, { "input and output", io_options },
	    { NULL, seed_options } },
	  0 },
	{ "eval", cmd_eval, "test accuracy and loss of a model", "petri eval MODEL [DATA] [--json]",
	  "Evaluates MODEL on the test split of DATA.\n" MODEL_NOTE DATA_NOTE,
	  { { "options", eval_options }, { NULL, io_options }, { NULL, train_options }, { NULL, seed_options } }, 0 },
	{ "predict", cmd_predict, "logits of test images, one CSV line each",
	  "petri predict MODEL [DATA] [--rows N] [-o FILE.csv]",
	  "Writes the logits of the test images of DATA, one CSV line per image, to FILE\n"
	  "(default standard output).\n" MODEL_NOTE DATA_NOTE,
	  { { "options", predict_options }, { NULL, io_options }, { NULL, train_options }, { NULL, seed_options } },
	  0 },
	{ "inspect", cmd_inspect, "architecture and costs of a model", "petri inspect MODEL [--json]",
	  "Lists the layers of MODEL with their shapes and parameters, its costs, metrics\n"
	  "and lineage.\n" MODEL_NOTE,
	  { { "options", inspect_options }, { NULL, io_options }, { NULL, train_options }, { NULL, seed_options } },
	  0 },
	{ "search", cmd_search, "start or resume a search",
	  "petri search [DATA] --dir EXP [--from MODEL] [--budget 30m | --jobs N] [options]",
	  "Runs the search daemon on the experiment directory EXP: it trains the seed (or\n"
	  "MODEL), then grows children from the frontier until the budget is spent or\n"
	  "'petri stop' asks. Rerunning the same command resumes the search.\n" MODEL_NOTE DATA_NOTE,
	  { { "options", search_options } }, 0 },
	{ "stop", cmd_stop, "ask a running search to stop cleanly", "petri stop --dir EXP", NULL,
	  { { "options", stop_options } }, 1 },
	{ "status", cmd_status, "jobs, best model, frontier of a search", "petri status --dir EXP [--json]",
	  STORE_NOTE, { { "options", status_options } }, 1 },
	{ "frontier", cmd_frontier, "the trained models on and near the frontier",
	  "petri frontier --dir EXP [--all] [--json] [--svg FILE]",
	  "Lists the models on the lower convex hull of error against cost and in its band,\n"
	  "cheapest first.\n" STORE_NOTE,
	  { { "options", frontier_options } }, 1 },
	{ "pick", cmd_pick, "the best model within serving limits",
	  "petri pick --dir EXP [--max-macs N] [--max-mflops X] [--max-params N] [--max-latency-ms X]\n"
	  "           [--max-memory BYTES] [--metric val|test] [--remeasure] [--threads T] [--json] [-o FILE]",
	  "Answers from the models the search already trained: the lowest error among those\n"
	  "within every limit given. Numbers take k, M and G suffixes.\n"
	  "EXP is read only, in one snapshot; it works beside a running search.\n"
	  "Exit codes: 0 ok, 1 the experiment cannot be read, 2 bad usage, 3 no model fits.\n",
	  { { "options", pick_options } }, 1 },
	{ "card", cmd_card, "a model card: costs, accuracy, what growth added, omega ranking, loss curve",
	  "petri card MODEL_ID --dir EXP [--json]",
	  "Shows what the search stored about one model: its lineage and depth, costs\n"
	  "(params, multiply-adds, peak memory, latency), validation and test accuracy and\n"
	  "loss, what growth added versus its parent (targets, inputs, ops; layers and\n"
	  "params added), the omega ranking of the candidate job that grew it (pairs by\n"
	  "|omega|, winners marked) and the training loss curve of its child job. A seed,\n"
	  "an imported model or a model of an older store has no ranking or curve: the\n"
	  "card says what is not stored.\n"
	  "EXP is read only, in one snapshot; it works beside a running search.\n"
	  "Exit codes: 0 ok, 1 no such model, the experiment cannot be read, or a card\n"
	  "record is damaged (the card is still shown), 2 bad usage.\n",
	  { { "options", card_options } }, 1 },
	{ "export", cmd_export, "write a model of a search, or convert a model file",
	  "petri export MODEL_ID --dir EXP -o FILE   or   petri export MODEL_FILE -o FILE\n"
	  "(FILE ending in .onnx: ONNX, else a petri model file)",
	  STORE_NOTE, { { "options", export_options } }, 1 },
	{ "serve", cmd_serve, "a live dashboard of experiments in the browser",
	  "petri serve --dir EXP [--dir EXP2 ...] [--port 8080] [--bind 127.0.0.1 [--allow-remote]]",
	  "Serves a page showing the frontier, the jobs, lineage and model cards of each\n"
	  "experiment (EXP, or every experiment in the directory EXP), updated while the\n"
	  "search runs, with cost sliders that pick a model as 'petri pick' does and\n"
	  "download it (ONNX or petri). The stores are only read. The JSON API under\n"
	  "/api/ (experiments, status, frontier, pick, model, export) answers like the\n"
	  "commands' --json. Loopback only unless --allow-remote: there is no login.\n"
	  "Runs until interrupted (SIGINT, SIGTERM). Exit codes: 0 stopped, 1 cannot\n"
	  "listen or read EXP, 2 bad usage (a non-loopback --bind without --allow-remote).\n",
	  { { "options", serve_options } }, 1 },
	{ "verify", cmd_verify, "check every page and record of an experiment's store",
	  "petri verify --dir EXP",
	  "Reads every page of EXP/data.mdb with bounds checks, then decodes every record\n"
	  "(each database in a child process, so damage that crashes liblmdb is reported,\n"
	  "not suffered), then checks the queue index and the counts. Prints each problem.\n"
	  "Exit codes: 0 the store is whole, 1 it is damaged (or missing), 2 bad usage.\n",
	  { { "options", verify_options } }, 1 },
	{ "salvage", cmd_salvage, "copy what still verifies of a damaged store into a new one",
	  "petri salvage --dir EXP -o NEW",
	  "Copies every record of EXP that decodes into a new experiment NEW (which must not\n"
	  "exist, or be an empty directory), rebuilds the queue index and the counters, and\n"
	  "prints what was copied and skipped per database. EXP is only read. Resume the\n"
	  "search with 'petri search --dir NEW'.\n"
	  "Exit codes: 0 NEW was written, 1 nothing could be read, 2 bad usage.\n",
	  { { "options", salvage_options } }, 1 },
	{ "bench", cmd_bench, "training and inference speed (JSON)",
	  "petri bench [DATA] --arch NAME [--batch N] [--infer-batch N] [--threads T] [--steps N]\n"
	  "       | petri bench --sgemm | --peak [--threads T]",
	  "Training and inference images/s and batch-1 latency of a net on DATA; or\n"
	  "cblas_sgemm GFLOP/s; or the measured vector FMA peak. One JSON line.\n" DATA_NOTE,
	  { { "options", bench_options }, { "seed network (--arch seed)", seed_options }, { "input and output", io_options },
	    { NULL, train_options } },
	  0 },
	{ "version", cmd_version, "version, instruction sets, OpenBLAS build", "petri version [--json]", NULL,
	  { { "options", version_options } }, 0 },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const cli_cmd *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void list(FILE *f)
{
	fprintf(f, "usage: petri COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "  %-9s %s\n", "help", "this list; 'petri help COMMAND': a command's options");
	fprintf(f, "\n'petri COMMAND --help' (or -h): what COMMAND does and its options.\n" MODEL_NOTE
		   "PETRI_ISA=generic|avx2|avx512: kernels for that instruction set (default: the\n"
		   "      best this CPU runs; see 'petri version').\n" DATA_NOTE);
}

static void help(const cli_cmd *c)
{
	printf("usage: %s\n%s.\n", c->usage, c->summary);
	if (c->help)
		printf("\n%s", c->help);
	opt_help(stdout, c->opts);
}

static int unknown(const char *name)
{
	fprintf(stderr, "petri: unknown command '%s'\n", name);
	list(stderr);
	return 2;
}

static int run(int argc, char **argv)
{
	const char *name = argv[1];
	if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
		if (argc < 3) {
			list(stdout);
			return 0;
		}
		const cli_cmd *c = find(argv[2]);
		if (!c)
			return unknown(argv[2]);
		help(c);
		return 0;
	}
	const cli_cmd *c = find(name);
	if (!c)
		return unknown(name);
	if (opt_wants_help(c->opts, argc, argv)) {
		help(c);
		return 0;
	}
	return c->run(c, argc, argv);
}

int main(int argc, char **argv)
{
	char err[512];
	if (nn_isa_init(err, sizeof err)) {
		/* nn_isa_init names the variable itself */
		fprintf(stderr, "petri: %s%s\n", strncmp(err, "PETRI_ISA", 9) ? "PETRI_ISA: " : "", err);
		return 2;
	}
	if (argc < 2) {
		list(stderr);
		return 2;
	}
	int rc = run(argc, argv);
	/* what went to standard output must have arrived: a full disk or a
	 * closed pipe is a failure, never exit 0 */
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "petri: writing standard output failed: %s\n", strerror(errno ? errno : EIO));
		return rc ? rc : 1;
	}
	return rc;
}
