/**
 * @file cli.h
 * @brief The vforge command line: the command table and shared helpers.
 *
 * The CLI is the only code that prints or decides exit codes. Each command is
 * one `cmd_<verb>()` that parses its options, calls the library and prints.
 * Exit codes: 0 success, 1 failure, 2 usage, 3 verification failed.
 */
#ifndef VF_CLI_CLI_H
#define VF_CLI_CLI_H

#include "builder/base/err.h"

#include <stdbool.h>
#include <stdint.h>

enum {
	VF_EXIT_OK = 0,
	VF_EXIT_FAIL = 1,
	VF_EXIT_USAGE = 2,
	VF_EXIT_VERIFY = 3,
};

/** One command of the table: help and dispatch both come from it. */
struct vf_cli_cmd {
	const char *name;     /**< "verity" */
	const char *summary;  /**< one line for `vforge help` */
	const char *synopsis; /**< usage lines, shown on misuse */
	const char *help;     /**< options and details, shown by --help */
	int (*run)(int argc, char **argv); /**< argv[0] is the command name */
};

/** Look up a command by name; NULL when unknown. */
const struct vf_cli_cmd *vf_cli_cmd_find(const char *name);

/** Print the full help of a command to stdout. */
void vf_cli_help(const struct vf_cli_cmd *cmd);

/**
 * Print "vforge <cmd>: <message>", the synopsis and a hint to stderr.
 * Returns VF_EXIT_USAGE.
 */
int vf_cli_usage(const struct vf_cli_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Print "vforge: error: <chain>" and return the exit code for err->code. */
int vf_cli_fail(const struct vf_err *err);

/** The exit code for a library return value (0, -VF_EVERIFY, other). */
int vf_cli_exit_code(int rc);

/**
 * Parse a decimal unsigned number for option `opt` into *ret, refusing signs,
 * junk and overflow. Prints a usage error and returns VF_EXIT_USAGE on failure.
 */
int vf_cli_parse_u64(const struct vf_cli_cmd *cmd, const char *opt, const char *text,
		     uint64_t *ret);

/**
 * Parse the options of a command that takes only --json (and --help/-h) and
 * exactly one operand, named `operand` in messages ("<variant>", "key").
 * Returns VF_EXIT_OK with *ret_arg set, -1 after printing the help, or
 * VF_EXIT_USAGE after printing a usage error.
 */
int vf_cli_parse_json_operand(const struct vf_cli_cmd *cmd, int argc, char **argv,
			      const char *operand, bool *json, const char **ret_arg);

/** Whether long-running commands should draw progress (stdout and stderr are TTYs). */
bool vf_cli_show_progress(void);

/** A progress callback that draws "label: NN% (done/total)" on stderr. */
void vf_cli_progress(void *label, uint64_t done, uint64_t total);

/** End a progress line. */
void vf_cli_progress_done(void);

/**
 * SOURCE_DATE_EPOCH from the environment: returns 0 with *has false when
 * unset or empty, 0 with the value when it is a decimal integer in
 * 0..2^53-1, and VF_EXIT_FAIL after printing an error otherwise.
 */
int vf_cli_source_date_epoch(bool *has, int64_t *ret);

/** Number of online CPUs (at least 1). */
unsigned vf_cli_online_cpus(void);

/* Commands */
int cmd_help(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_verity(int argc, char **argv);
int cmd_resolve(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_key(int argc, char **argv);

#endif
