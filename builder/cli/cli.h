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

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

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

/**
 * The error cases of a getopt_long() loop run with a leading ':' in the
 * short options: `opt` ':' is "option '<o>' needs a value", anything else
 * "unknown option '<o>'", prefixed with "<sub>: " when `sub` is not NULL.
 * Prints the usage error and returns VF_EXIT_USAGE.
 */
int vf_cli_bad_option(const struct vf_cli_cmd *cmd, const char *sub, int opt, char **argv);

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
 * Parse a time limit in whole seconds, from 1 to 86400, for option `opt`
 * ("--timeout: from 1 to 86400 seconds, got 0"). Same returns as
 * vf_cli_parse_u64().
 */
int vf_cli_parse_seconds(const struct vf_cli_cmd *cmd, const char *opt, const char *text,
			 unsigned *ret);

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

/* ---- shared by the TUF commands (cli_tuf.c) ------------------------------------- */

struct vf_signer;
struct vf_repo_opts;

/** Long-option values shared by repo commands (beyond any command's own). */
enum {
	VF_CLI_OPT_KEY = 0x1000,
	VF_CLI_OPT_NOW,
	VF_CLI_OPT_EXPIRES,
	VF_CLI_OPT_LOCK_WAIT,
};

/** Put these in a command's `struct option` table to accept the shared options. */
#define VF_CLI_REPO_LONGOPTS                                                                 \
	{ "key", required_argument, NULL, VF_CLI_OPT_KEY },                                   \
	{ "now", required_argument, NULL, VF_CLI_OPT_NOW },                                   \
	{ "expires", required_argument, NULL, VF_CLI_OPT_EXPIRES },                           \
	{ "lock-wait", required_argument, NULL, VF_CLI_OPT_LOCK_WAIT }

/** Help text for the shared options, to append to a command's help. */
#define VF_CLI_REPO_HELP                                                                     \
	"  --key REF          a signing key: PEM file, pkcs11: URI or exec:<command>; many\n" \
	"                     allowed, each signs every role root authorises it for\n"        \
	"  --now EPOCH        the clock (default SOURCE_DATE_EPOCH, else the system clock)\n" \
	"  --expires ROLE=WHEN  expiry of re-signed ROLE (targets, snapshot, timestamp):\n"   \
	"                     RFC 3339 or a duration after now (7d, 12h, 1y); defaults\n"     \
	"                     targets 90d, snapshot 14d, timestamp 7d\n"                       \
	"  --lock-wait SECS   wait this long for another publisher's lock (default 60;\n"      \
	"                     0: fail at once)\n"

/** What the shared options collected. */
struct vf_cli_repo_args {
	const char **keys;
	size_t n_keys;
	const char *now_text;
	const char *expires_text[4]; /**< per top-level type - 1 */
	int lock_wait_s;             /**< default 60 */
};

/** Initialise the collected options to their defaults. */
void vf_cli_repo_args_init(struct vf_cli_repo_args *a);

/**
 * Take one getopt result: returns 0 when `opt` was a shared option and was
 * valid, 1 when it is not a shared option, VF_EXIT_USAGE after printing a
 * usage error.
 */
int vf_cli_repo_arg(const struct vf_cli_cmd *cmd, int opt, const char *arg,
		    struct vf_cli_repo_args *a);

/**
 * The clock: --now EPOCH when given (decimal, 0..2^53-1), else
 * SOURCE_DATE_EPOCH, else time(). Prints an error and returns VF_EXIT_USAGE
 * (bad --now) or VF_EXIT_FAIL (bad SOURCE_DATE_EPOCH); 0 on success.
 */
int vf_cli_now(const struct vf_cli_cmd *cmd, const char *now_text, time_t *ret);

/**
 * Resolve the shared options: the clock, the expiries (refusing times at or
 * before now) and lock wait into *opts, and open every --key into *ret_signers
 * (NULL when none). Returns a VF_EXIT_* code after printing any error.
 */
int vf_cli_repo_setup(const struct vf_cli_cmd *cmd, const struct vf_cli_repo_args *a,
		      struct vf_repo_opts *opts, struct vf_signer ***ret_signers);

/** Open signers by reference; on failure none stays open. */
int vf_cli_open_signers(const char *const *refs, size_t n, struct vf_signer ***ret,
			struct vf_err *err);

/** Free signers opened by vf_cli_open_signers() (accepts NULL). */
void vf_cli_free_signers(struct vf_signer **s, size_t n);

/** Free what vf_cli_repo_arg() collected. */
void vf_cli_repo_args_release(struct vf_cli_repo_args *a);

/**
 * A TUF client's clock (vforge fetch, vforge update): --now as epoch seconds,
 * RFC 3339 or a duration from now, else the system clock. SOURCE_DATE_EPOCH
 * is deliberately not read: a client whose clock an environment variable can
 * stop would accept expired (frozen) metadata forever. VF_EXIT_USAGE after
 * printing an error.
 */
int vf_cli_client_now(const struct vf_cli_cmd *cmd, const char *text, time_t *ret);

/**
 * A client's trusted-state directory: created (one level) on first use when
 * a root to trust is given; otherwise it must exist and hold root.json.
 */
int vf_cli_client_metadata_dir(const char *dir, const char *trusted_root, struct vf_err *err);

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
int cmd_root(int argc, char **argv);
int cmd_repo(int argc, char **argv);
int cmd_metadata(int argc, char **argv);
int cmd_delegation(int argc, char **argv);
extern const char vf_cli_delegation_help[]; /* cmd_delegation.c */
int cmd_fetch(int argc, char **argv);
extern const char vf_cli_fetch_help[];      /* cmd_fetch.c */
int cmd_update(int argc, char **argv);
extern const char vf_cli_update_help[];     /* cmd_update.c */
int cmd_verify_repro(int argc, char **argv);
extern const char vf_cli_verify_repro_help[]; /* cmd_verify_repro.c */
int cmd_diff(int argc, char **argv);
extern const char vf_cli_diff_help[];       /* cmd_diff.c */
int cmd_boot_test(int argc, char **argv);
extern const char vf_cli_boot_test_help[];  /* cmd_boot_test.c */

/* Help texts of the larger commands, defined next to them. */
#define VF_CLI_ROOT_HELP vf_cli_root_help
#define VF_CLI_REPO_CMD_HELP vf_cli_repo_help
#define VF_CLI_METADATA_HELP vf_cli_metadata_help
extern const char vf_cli_root_help[];   /* cmd_root.c */
extern const char vf_cli_repo_help[];   /* cmd_repo.c */
extern const char vf_cli_metadata_help[]; /* cmd_metadata.c */

/* `vforge repo` subcommands living in their own files; argv[0] is the subcommand. */
int vf_cli_repo_add_update(const struct vf_cli_cmd *cmd, int argc, char **argv);  /* cmd_repo_update.c */
int vf_cli_repo_validate(const struct vf_cli_cmd *cmd, int argc, char **argv);    /* cmd_repo_check.c */
int vf_cli_repo_expirations(const struct vf_cli_cmd *cmd, int argc, char **argv); /* cmd_repo_check.c */
/* `vforge root rotate` publishes through the repository code (cmd_repo.c). */
int vf_cli_root_rotate(const struct vf_cli_cmd *cmd, int argc, char **argv);

/* ---- shared by root and metadata signing (cli_sign.c) ------------------------------- *
 *
 * `vforge root sign|merge` and `vforge metadata sign|merge|status` sign TUF
 * metadata on separate machines and put the signatures together. What they
 * share lives here; everything prints to stdout (results) or stderr (notes).
 */

struct vf_buf;
struct vf_tuf_md;
struct vf_tuf_keys;
struct vf_tuf_verify_result;
struct json_t;

/** "" for 1, "s" otherwise. */
const char *vf_cli_plural(size_t n);

/** Append "a, b, c" (or "none") to `b`. */
void vf_cli_keyid_list(struct vf_buf *b, char *const *ids, size_t n);

/** A --key reference as messages may show it: "'path'", or no pkcs11: URI (it may hold a PIN). */
const char *vf_cli_key_ref_label(const char *ref, char *buf, size_t len);

/** Order signatures by keyid (stable: entries of one keyid keep their order). */
void vf_cli_sort_signatures(struct vf_tuf_md *md);

/**
 * The sha256 (hex) of the canonical signed content, what signers compare out
 * of band before signing; "" when the document does not validate.
 */
void vf_cli_signed_digest(const struct vf_tuf_md *md, char out[65]);

/**
 * Print "<label>k of threshold n valid signature(s)" and ": threshold met" or
 * "; needs m more of: <keyids>" to stdout.
 */
void vf_cli_print_threshold(const char *label, const struct vf_tuf_verify_result *res);

/**
 * A keyid's signature state in a verification of md: "valid", "not signed" or
 * the status name of its first signature (vf_tuf_sig_status_name()).
 */
const char *vf_cli_sig_state(const struct vf_tuf_md *md, const struct vf_tuf_verify_result *res,
			     const char *keyid);

/** JSON array of strings (new reference), NULL on ENOMEM. */
struct json_t *vf_cli_strv_json(char *const *v, size_t n);

/** {"threshold", "valid", "missing", "threshold_met"} of a verification; NULL on ENOMEM. */
struct json_t *vf_cli_result_json(const struct vf_tuf_verify_result *res);

/**
 * Who may sign a role, as its delegator says: root for the top-level roles,
 * a targets document for its delegated roles (named, or succinct hash bins).
 * Borrows from the delegator.
 */
struct vf_cli_authority {
	const char *label;                  /**< for messages ("previous root 'r.json'"); NULL: the main one */
	const char *role;                   /**< the role signed */
	const struct vf_tuf_md *delegator;  /**< for vf_tuf_verify(delegator, role, md) */
	const struct vf_tuf_keys *keys;     /**< the delegator's key set */
	char *const *keyids;                /**< keyids authorised for the role */
	size_t n_keyids;
	uint64_t threshold;
};

/**
 * Fill *ret for `role` as `delegator` delegates it (label left NULL).
 * -ENOENT naming the roles it does delegate; -EINVAL when it is not root or
 * targets metadata.
 */
int vf_cli_authority_get(const struct vf_tuf_md *delegator, const char *role,
			 struct vf_cli_authority *ret, struct vf_err *err);

/** A signature vf_cli_sign() made: keyid and index of the signer. */
struct vf_cli_sig_made {
	char keyid[65];
	size_t signer;
};

/**
 * Sign md (the document at `path`, for messages) with every signer, each
 * under the keyid(s) the authorities list for its public key
 * (vf_tuf_keys_find_key(), so legacy keyids stay right): a key authorised by
 * two authorities under different keyids signs under both. Every key must be
 * authorised for `role` by at least one authority, otherwise -EPERM naming
 * the key, its keyid and the authorised keyids, and nothing is signed. Other
 * signatures are kept; one by the same keyid is replaced. *ret (malloc'd, may
 * be NULL when *ret_n is 0) lists what was signed. md is not sorted or saved.
 */
int vf_cli_sign(struct vf_tuf_md *md, const char *path, const char *role,
		struct vf_signer *const *signers, const char *const *refs, size_t n,
		const struct vf_cli_authority *auths, size_t n_auths,
		struct vf_cli_sig_made **ret, size_t *ret_n, struct vf_err *err);

/** Append why a and b sign different content: "version 1 vs 2; expires ...". */
void vf_cli_describe_diff(const struct vf_tuf_md *a, const struct vf_tuf_md *b, struct vf_buf *m);

/**
 * Merge the signatures of n copies of one document into mds[0]:
 * - every copy must have the same canonical signed bytes as the first (else
 *   -EINVAL "'a' and 'b' sign different content ...: <vf_cli_describe_diff>");
 * - each signature whose keyid one of `sets` lists is verified against that
 *   key; one that does not verify is refused (-VF_EVERIFY naming file and
 *   keyid); others are kept unchecked (a note with `unchecked_why` when
 *   n_sets > 0);
 * - the union is by keyid: the first copy holding a keyid's signature wins
 *   (a note when a later one holds a different one), except that an empty
 *   signature gives way to a real one.
 * counts[0] gets the first copy's signatures, counts[i] those copy i added.
 * The result is not sorted or saved.
 */
int vf_cli_merge(struct vf_tuf_md *const *mds, const char *const *paths, size_t n,
		 const struct vf_tuf_keys *const *sets, size_t n_sets, const char *unchecked_why,
		 size_t *counts, struct vf_err *err);

/** Print "'out': N signatures: k from 'a', j added from 'b', ..." to stdout. */
void vf_cli_merge_summary(const char *output, const struct vf_tuf_md *md,
			  const char *const *paths, const size_t *counts, size_t n);

/**
 * End a report: with `json`, dump `j` (NULL: building it failed) on stdout;
 * then list each problem on stderr as "vforge: error: '<path>': <problem>".
 * Returns VF_EXIT_VERIFY when there are problems, VF_EXIT_OK when none, or
 * -1 after setting `err` when the JSON report cannot be written.
 */
int vf_cli_report_finish(struct json_t *j, bool json, const char *path,
			 char *const *problems, size_t n, struct vf_err *err);

/** Free a string list built with vf_cli_strv_vaddf(). */
void vf_cli_strv_free(char **v, size_t n);

/**
 * Append a formatted string to a growable string list (*v, *n); on failure
 * set *oom and leave the list as it was. Shared by the report builders of
 * root verify and metadata status (cli_sign.c).
 */
void vf_cli_strv_vaddf(char ***v, size_t *n, bool *oom, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

#endif
