/*
 * vforge metadata: sign any TUF role's metadata (root, targets, snapshot,
 * timestamp, delegated targets roles) offline, merge the signatures key
 * holders made on separate machines, and show who still has to sign.
 * See docs/metadata-signing.md.
 */
#include "builder/cli/cli.h"

#include "builder/base/buf.h"
#include "keys/key.h"
#include "repo/metadata.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char vf_cli_metadata_help[] =
	"Sign one role's metadata file on the machine that holds the key, merge the\n"
	"copies that key holders signed separately, and show how far the threshold\n"
	"is (docs/metadata-signing.md). Signing never changes the signed content;\n"
	"signatures are kept sorted by keyid and files are rewritten atomically in the\n"
	"layout vforge writes.\n"
	"\n"
	"  sign     sign <file> with each --key, keeping the signatures already there.\n"
	"           Every key must be authorised for the file's role by --root (root,\n"
	"           targets, snapshot, timestamp) or --delegator (a delegated targets\n"
	"           role); a root file authorises itself, and with --root <previous\n"
	"           root> its root keys may cross-sign too. Prints the keyids, the\n"
	"           sha256 of the signed content and the threshold status\n"
	"  merge    write to -o the union of the signatures of copies of one file;\n"
	"           refuses different content and, when the keys are known (a root\n"
	"           file, --root, --delegator), signatures that do not verify\n"
	"  status   role, version, expiry, signed-content sha256, threshold, valid\n"
	"           signers, missing keyids and signatures that do not count\n"
	"\n"
	"  --key REF          sign: a signing key: PEM file, pkcs11: URI or\n"
	"                     exec:<command> (repeatable)\n"
	"  --root FILE        the root.json that authorises the role's keys; for a root\n"
	"                     file: the previous root (rotation: both thresholds)\n"
	"  --delegator FILE   the targets metadata that delegates --role NAME (named\n"
	"                     roles or succinct hash bins)\n"
	"  --role NAME        the role <file> is signed for: default its _type; a\n"
	"                     delegated role's name for delegated targets metadata\n"
	"  -o, --output FILE  merge: the file to write (may be one of the inputs)\n"
	"  --now EPOCH        sign, status: the clock for the expiry (default\n"
	"                     SOURCE_DATE_EPOCH, else the system clock)\n"
	"  --json             status: print one JSON object\n"
	"\n"
	"The role's type decides what is needed: a root file needs nothing, targets,\n"
	"snapshot and timestamp files need --root, a delegated role needs --role and\n"
	"--delegator. The authorising file is taken as given: check it separately\n"
	"(vforge root verify, vforge metadata status).\n"
	"\n"
	"Exit codes: 0 success (status: every threshold met and not expired); 1 a file\n"
	"is unreadable or malformed, or signing or merging is refused (unauthorised\n"
	"key, different content); 2 usage; 3 status found a problem, or merge found a\n"
	"signature that does not verify.\n";

enum {
	OPT_ROOT = 0x2000,
	OPT_DELEGATOR,
	OPT_ROLE,
	OPT_JSON,
	OPT_HELP,
};

/* Which options a subcommand takes. */
enum {
	A_KEY = 1u << 0,
	A_ROOT = 1u << 1,   /* --root, --delegator, --role */
	A_OUTPUT = 1u << 2,
	A_NOW = 1u << 3,
	A_JSON = 1u << 4,
};

struct args {
	const char *sub;
	char **op;
	size_t n_ops;
	const char **keys;
	size_t n_keys;
	const char *root, *delegator, *role, *output, *now;
	bool json;
};

static int nomem(struct vf_err *err)
{
	return vf_err_set(err, ENOMEM, "out of memory");
}

static const char *fmt_time(time_t t, char out[VF_TUF_TIME_LEN + 1])
{
	if (vf_tuf_time_format(t, out))
		snprintf(out, VF_TUF_TIME_LEN + 1, "@%lld", (long long)t);
	return out;
}

/*
 * Parse a subcommand's options and operands (exactly n_min when n_max is
 * n_min, else at least n_min). VF_EXIT_OK, -1 after the help, or VF_EXIT_USAGE.
 */
static int parse_args(const struct vf_cli_cmd *self, int argc, char **argv, unsigned allowed,
		      size_t n_min, size_t n_max, const char *names, struct args *a)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, VF_CLI_OPT_KEY },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "delegator", required_argument, NULL, OPT_DELEGATOR },
		{ "role", required_argument, NULL, OPT_ROLE },
		{ "output", required_argument, NULL, 'o' },
		{ "now", required_argument, NULL, VF_CLI_OPT_NOW },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	unsigned need;
	size_t n;
	int c, idx;

	a->sub = argv[0];
	opterr = 0;
	optind = 0;
	while ((idx = -1, c = getopt_long(argc, argv, ":o:h", opts, &idx)) != -1) {
		switch (c) {
		case VF_CLI_OPT_KEY: need = A_KEY; break;
		case OPT_ROOT:
		case OPT_DELEGATOR:
		case OPT_ROLE: need = A_ROOT; break;
		case 'o': need = A_OUTPUT; break;
		case VF_CLI_OPT_NOW: need = A_NOW; break;
		case OPT_JSON: need = A_JSON; break;
		case 'h':
		case OPT_HELP:
			vf_cli_help(self);
			return -1;
		default:
			return vf_cli_bad_option(self, a->sub, c, argv);
		}
		if (!(allowed & need))
			return vf_cli_usage(self, "%s: option '%s%s' does not apply here", a->sub,
					    idx >= 0 ? "--" : "-", idx >= 0 ? opts[idx].name : "o");
		if (c != OPT_JSON && !optarg[0])
			return vf_cli_usage(self, "%s: option '%s%s' has an empty value", a->sub,
					    idx >= 0 ? "--" : "-", idx >= 0 ? opts[idx].name : "o");
		switch (c) {
		case OPT_ROOT: a->root = optarg; break;
		case OPT_DELEGATOR: a->delegator = optarg; break;
		case OPT_ROLE: a->role = optarg; break;
		case 'o': a->output = optarg; break;
		case VF_CLI_OPT_NOW: a->now = optarg; break;
		case OPT_JSON: a->json = true; break;
		case VF_CLI_OPT_KEY: {
			const char **k = realloc(a->keys, (a->n_keys + 1) * sizeof(*k));

			if (!k) {
				fprintf(stderr, "vforge: error: out of memory\n");
				return VF_EXIT_FAIL;
			}
			k[a->n_keys++] = optarg;
			a->keys = k;
			break;
		}
		}
	}
	n = (size_t)(argc - optind);
	if (n < n_min || n > n_max)
		return vf_cli_usage(self, "%s: expected %s, got %zu argument%s", a->sub, names, n,
				    vf_cli_plural(n));
	for (size_t i = 0; i < n; i++)
		if (!argv[optind + (int)i][0])
			return vf_cli_usage(self, "%s: empty argument %zu", a->sub, i + 1);
	if (a->root && a->delegator)
		return vf_cli_usage(self, "%s: give --root or --delegator, not both", a->sub);
	a->op = argv + optind;
	a->n_ops = n;
	return VF_EXIT_OK;
}

/* ---- the file, its role and who authorises it ------------------------------------------ */

enum by { BY_ROOT, BY_DELEGATOR, BY_SELF, BY_PREVIOUS };

static const char *const by_names[] = {
	[BY_ROOT] = "root", [BY_DELEGATOR] = "delegator", [BY_SELF] = "self",
	[BY_PREVIOUS] = "previous",
};

struct target {
	const char *path;
	struct vf_tuf_md *md;
	const char *role;
	struct vf_tuf_md *auth_md;       /* --root or --delegator, loaded */
	const char *auth_path;
	struct vf_cli_authority auths[2];
	enum by by[2];
	const char *by_path[2];
	char by_text[2][4200];           /* "'root.json'", "previous root 'r.json' (version 1)" */
	char label[4200];                /* auths[1].label */
	size_t n_auths;
};

static void target_release(struct target *t)
{
	vf_tuf_md_free(t->md);
	vf_tuf_md_free(t->auth_md);
	memset(t, 0, sizeof(*t));
}

static int load_md(const char *path, enum vf_tuf_type type, struct vf_tuf_md **ret,
		   struct vf_err *err)
{
	return vf_tuf_md_load(path, type, VF_TUF_PARSE_OPAQUE_KEYIDS, ret, err);
}

static bool same_signed(const struct vf_tuf_md *a, const struct vf_tuf_md *b)
{
	struct vf_buf x = VF_BUF_INIT, y = VF_BUF_INIT;
	bool same = !vf_tuf_md_format_signed(a, &x, NULL) && !vf_tuf_md_format_signed(b, &y, NULL) &&
		    x.len == y.len && memcmp(x.data, y.data, x.len) == 0;

	vf_buf_release(&x);
	vf_buf_release(&y);
	return same;
}

/* Add authority `by` for t->role from `delegator`. */
static int add_auth(struct target *t, const struct vf_tuf_md *delegator, enum by by,
		    const char *path, struct vf_err *err)
{
	size_t i = t->n_auths;
	int r;

	if ((r = vf_cli_authority_get(delegator, t->role, &t->auths[i], err)))
		return vf_err_prefix(err, "'%s'", path);
	t->by[i] = by;
	t->by_path[i] = path;
	switch (by) {
	case BY_ROOT: snprintf(t->by_text[i], sizeof(t->by_text[i]), "'%s'", path); break;
	case BY_DELEGATOR:
		snprintf(t->by_text[i], sizeof(t->by_text[i]), "delegator '%s'", path);
		break;
	case BY_SELF: snprintf(t->by_text[i], sizeof(t->by_text[i]), "the file itself"); break;
	case BY_PREVIOUS:
		snprintf(t->by_text[i], sizeof(t->by_text[i]), "previous root '%s' (version %llu)",
			 path, (unsigned long long)delegator->version);
		snprintf(t->label, sizeof(t->label), "previous root '%s'", path);
		t->auths[i].label = t->label;
		break;
	}
	t->n_auths++;
	return 0;
}

/*
 * The role of t->md and its authorities from --root/--delegator/--role.
 * Without them, a non-root file has no authority: a usage error when
 * `required`. Returns a VF_EXIT_* code after printing any error.
 */
static int resolve(const struct vf_cli_cmd *self, const struct args *a, struct target *t,
		   bool required)
{
	const char *tname = vf_tuf_type_name(t->md->type);
	struct vf_err err = { 0 };
	bool delegated;

	t->role = a->role ? a->role : tname;
	delegated = !vf_tuf_type_from_name(t->role);
	if (!delegated && strcmp(t->role, tname) != 0) {
		vf_err_set(&err, EINVAL, "'%s' is %s metadata, not %s metadata (--role %s)", t->path,
			   tname, t->role, t->role);
		return vf_cli_fail(&err);
	}
	if (delegated && t->md->type != VF_TUF_TARGETS) {
		vf_err_set(&err, EINVAL, "'%s' is %s metadata: a delegated role (--role %s) signs "
			   "targets metadata", t->path, tname, t->role);
		return vf_cli_fail(&err);
	}
	if (delegated) {
		if (a->root)
			return vf_cli_usage(self, "%s: role %s is a delegated targets role: give "
					    "--delegator <the targets metadata that delegates it>, not "
					    "--root", a->sub, t->role);
		if (!a->delegator)
			return required ? vf_cli_usage(self, "%s: role %s is a delegated targets role: "
						       "give --delegator <the targets metadata that "
						       "delegates it>", a->sub, t->role)
					: VF_EXIT_OK;
		t->auth_path = a->delegator;
		if (load_md(a->delegator, 0, &t->auth_md, &err) ||
		    add_auth(t, t->auth_md, BY_DELEGATOR, a->delegator, &err))
			return vf_cli_fail(&err);
		return VF_EXIT_OK;
	}
	if (a->delegator)
		return vf_cli_usage(self, "%s: role %s is delegated by root: give --root <root.json>, "
				    "not --delegator", a->sub, t->role);
	if (t->md->type == VF_TUF_ROOT) {
		if (add_auth(t, t->md, BY_SELF, t->path, &err))
			return vf_cli_fail(&err);
		if (!a->root)
			return VF_EXIT_OK;
		t->auth_path = a->root;
		if (load_md(a->root, VF_TUF_ROOT, &t->auth_md, &err))
			return vf_cli_fail(&err);
		/* the same root given as --root: it authorises itself, nothing more */
		if (!same_signed(t->md, t->auth_md) &&
		    add_auth(t, t->auth_md, BY_PREVIOUS, a->root, &err))
			return vf_cli_fail(&err);
		return VF_EXIT_OK;
	}
	if (!a->root)
		return required ? vf_cli_usage(self, "%s: '%s' is %s metadata: give --root "
					       "<root.json> (the root that authorises the %s role's "
					       "keys)", a->sub, t->path, tname, tname)
				: VF_EXIT_OK;
	t->auth_path = a->root;
	if (load_md(a->root, VF_TUF_ROOT, &t->auth_md, &err) ||
	    add_auth(t, t->auth_md, BY_ROOT, a->root, &err))
		return vf_cli_fail(&err);
	return VF_EXIT_OK;
}

/* Verify t->md under each authority into res[]; a failure to run is an error. */
static int verify_all(const struct target *t, const struct vf_tuf_md *md,
		      struct vf_tuf_verify_result *res, struct vf_err *err)
{
	for (size_t i = 0; i < t->n_auths; i++) {
		int r = vf_tuf_verify(t->auths[i].delegator, t->role, md, &res[i], err);

		if (r && r != -VF_EVERIFY)
			return vf_err_prefix(err, "'%s' authorised by %s", t->path, t->by_text[i]);
	}
	vf_err_clear(err);
	return 0;
}

/* Whether signature i counts for some authority other than `skip`. */
static const char *counted_by(const struct target *t, const struct vf_tuf_verify_result *res,
			      size_t i, size_t skip)
{
	for (size_t k = 0; k < t->n_auths; k++)
		if (k != skip && i < res[k].n_status && res[k].status[i] == VF_TUF_SIG_VALID)
			return t->by_text[k];
	return NULL;
}

/* "role targets: " or "previous root 'r.json' (version 1), role root: " */
static void threshold_label(const struct target *t, size_t i, char *buf, size_t len)
{
	if (t->by[i] == BY_PREVIOUS)
		snprintf(buf, len, "%s, role %s: ", t->by_text[i], t->role);
	else
		snprintf(buf, len, "role %s: ", t->role);
}

static void warn_expired(const char *path, const struct vf_tuf_md *md, time_t now)
{
	char t1[VF_TUF_TIME_LEN + 1], t2[VF_TUF_TIME_LEN + 1];

	if (vf_tuf_md_is_expired(md, now))
		fprintf(stderr, "vforge: warning: '%s': expired at %s (now %s): clients refuse it\n",
			path, fmt_time(md->expires, t1), fmt_time(now, t2));
}

/* ---- sign ---------------------------------------------------------------------------------- */

static int md_sign(const struct vf_cli_cmd *self, const struct args *a)
{
	struct vf_tuf_verify_result res[2] = { { 0 }, { 0 } };
	struct vf_cli_sig_made *made = NULL;
	struct vf_signer **signers = NULL;
	struct vf_err err = { 0 };
	struct target t = { .path = a->op[0] };
	char digest[65], label[4300];
	size_t n_made = 0;
	time_t now;
	int rc;

	if (!a->n_keys)
		return vf_cli_usage(self, "sign: missing --key REF");
	if ((rc = vf_cli_now(self, a->now, &now)))
		return rc;
	if (load_md(t.path, 0, &t.md, &err))
		return vf_cli_fail(&err);
	if ((rc = resolve(self, a, &t, true)))
		goto out;
	if (vf_cli_open_signers(a->keys, a->n_keys, &signers, &err) ||
	    vf_cli_sign(t.md, t.path, t.role, signers, a->keys, a->n_keys, t.auths, t.n_auths, &made,
			&n_made, &err))
		goto fail;
	vf_cli_sort_signatures(t.md);
	if (vf_tuf_md_save(t.md, t.path, &err) || verify_all(&t, t.md, res, &err))
		goto fail;
	for (size_t k = 0; k < n_made; k++)
		printf("'%s': signed with keyid %s (%s)\n", t.path, made[k].keyid,
		       vf_key_keytype(vf_signer_key(signers[made[k].signer])));
	vf_cli_signed_digest(t.md, digest);
	printf("'%s': signed content sha256 %s\n", t.path, digest);
	for (size_t i = 0; i < t.n_auths; i++) {
		threshold_label(&t, i, label, sizeof(label));
		vf_cli_print_threshold(label, &res[i]);
	}
	for (size_t i = 0; i < res[0].n_status; i++)
		if (res[0].status[i] != VF_TUF_SIG_VALID && !counted_by(&t, res, i, 0))
			fprintf(stderr, "vforge: warning: '%s': signature by keyid %s: %s\n", t.path,
				t.md->sigs[i].keyid, vf_tuf_sig_status_name(res[0].status[i]));
	warn_expired(t.path, t.md, now);
	rc = VF_EXIT_OK;
	goto out;
fail:
	rc = vf_cli_fail(&err);
out:
	vf_tuf_verify_result_release(&res[0]);
	vf_tuf_verify_result_release(&res[1]);
	vf_cli_free_signers(signers, a->n_keys);
	free(made);
	target_release(&t);
	return rc;
}

/* ---- merge --------------------------------------------------------------------------------- */

static int md_merge(const struct vf_cli_cmd *self, const struct args *a)
{
	struct vf_tuf_verify_result res[2] = { { 0 }, { 0 } };
	const struct vf_tuf_keys *sets[2];
	struct vf_tuf_md **mds = NULL;
	struct vf_buf why = VF_BUF_INIT;
	struct vf_err err = { 0 };
	struct target t = { .path = a->op[0] };
	size_t *counts = NULL, n_sets = 0, n = a->n_ops;
	char label[4300];
	int rc;

	if (!a->output)
		return vf_cli_usage(self, "merge: missing -o <out.json>");
	if (!(mds = calloc(n, sizeof(*mds))) || !(counts = calloc(n, sizeof(*counts)))) {
		nomem(&err);
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		if (load_md(a->op[i], 0, &mds[i], &err))
			goto fail;
	t.md = mds[0]; /* borrowed: resolve() reads it, target_release() must not free it */
	if ((rc = resolve(self, a, &t, false)))
		goto out;
	for (size_t i = 0; i < t.n_auths; i++)
		if (!n_sets || sets[0] != t.auths[i].keys)
			sets[n_sets++] = t.auths[i].keys;
	if (t.n_auths > 1)
		vf_buf_add_fmt(&why, "neither the file itself nor %s has a usable key with that "
			       "keyid", t.by_text[1]);
	else if (t.n_auths)
		vf_buf_add_fmt(&why, "%s has no usable key with that keyid", t.by_text[0]);
	if (vf_cli_merge(mds, (const char *const *)a->op, n, sets, n_sets,
			 why.data ? (char *)why.data : "", counts, &err))
		goto fail;
	if (!t.n_auths)
		fprintf(stderr, "vforge: note: signatures not verified: give --root or --delegator "
			"to check them\n");
	vf_cli_sort_signatures(mds[0]);
	if (vf_tuf_md_save(mds[0], a->output, &err) || verify_all(&t, mds[0], res, &err))
		goto fail;
	vf_cli_merge_summary(a->output, mds[0], (const char *const *)a->op, counts, n);
	for (size_t i = 0; i < t.n_auths; i++) {
		threshold_label(&t, i, label, sizeof(label));
		vf_cli_print_threshold(label, &res[i]);
	}
	if (!t.n_auths)
		printf("role %s: signatures not verified (give --root or --delegator)\n", t.role);
	rc = VF_EXIT_OK;
	goto out;
fail:
	rc = vf_cli_fail(&err);
out:
	t.md = NULL;
	target_release(&t);
	vf_tuf_verify_result_release(&res[0]);
	vf_tuf_verify_result_release(&res[1]);
	for (size_t i = 0; mds && i < n; i++)
		vf_tuf_md_free(mds[i]);
	free(mds);
	free(counts);
	vf_buf_release(&why);
	return rc;
}

/* ---- status -------------------------------------------------------------------------------- */

struct report {
	const struct target *t;
	time_t now;
	char digest[65];
	struct vf_tuf_verify_result res[2];
	char **problems;
	size_t n_problems;
	bool oom;
};

static void problem(struct report *rp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct report *rp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vf_cli_strv_vaddf(&rp->problems, &rp->n_problems, &rp->oom, fmt, ap);
	va_end(ap);
}

static bool met(const struct vf_tuf_verify_result *res)
{
	return res->n_valid >= res->threshold;
}

/* The previous root of a root file, or NULL. */
static const struct vf_tuf_md *previous_of(const struct target *t)
{
	for (size_t i = 0; i < t->n_auths; i++)
		if (t->by[i] == BY_PREVIOUS)
			return t->auths[i].delegator;
	return NULL;
}

static void collect_problems(struct report *rp)
{
	char t1[VF_TUF_TIME_LEN + 1], t2[VF_TUF_TIME_LEN + 1];
	const struct target *t = rp->t;
	const struct vf_tuf_md *prev = previous_of(t);

	for (size_t i = 0; i < t->n_auths; i++) {
		const struct vf_tuf_verify_result *res = &rp->res[i];
		struct vf_buf m = VF_BUF_INIT;

		if (met(res))
			continue;
		vf_cli_keyid_list(&m, res->missing, res->n_missing);
		problem(rp, "role %s (authorised by %s): threshold not met: %zu of %llu valid "
			"signature%s; needs %llu more of: %s", t->role, t->by_text[i], res->n_valid,
			(unsigned long long)res->threshold, vf_cli_plural(res->threshold),
			(unsigned long long)(res->threshold - res->n_valid),
			m.data ? (char *)m.data : "");
		vf_buf_release(&m);
	}
	if (vf_tuf_md_is_expired(t->md, rp->now))
		problem(rp, "expired at %s (now %s)", fmt_time(t->md->expires, t1),
			fmt_time(rp->now, t2));
	if (prev && t->md->version != prev->version + 1)
		problem(rp, "version %llu does not follow the previous root's version %llu: "
			"expected %llu", (unsigned long long)t->md->version,
			(unsigned long long)prev->version, (unsigned long long)prev->version + 1);
}

static const struct vf_tuf_key *key_of(const struct vf_cli_authority *au, const char *keyid)
{
	return au->keys ? vf_tuf_keys_find(au->keys, keyid) : NULL;
}

static void print_text(const struct report *rp)
{
	char t1[VF_TUF_TIME_LEN + 1], t2[VF_TUF_TIME_LEN + 1];
	const struct target *t = rp->t;
	const struct vf_tuf_md *md = t->md, *prev = previous_of(t);

	printf("'%s': %s metadata, role %s, version %llu, spec_version %s\n", t->path,
	       vf_tuf_type_name(md->type), t->role, (unsigned long long)md->version,
	       md->spec_version);
	printf("signed content sha256 %s\n", rp->digest);
	printf("expires %s: %s at %s\n", fmt_time(md->expires, t1),
	       vf_tuf_md_is_expired(md, rp->now) ? "EXPIRED" : "valid", fmt_time(rp->now, t2));
	for (size_t i = 0; i < t->n_auths; i++) {
		const struct vf_cli_authority *au = &t->auths[i];
		const struct vf_tuf_verify_result *res = &rp->res[i];

		printf("role %s, authorised by %s: threshold %llu, %zu key%s\n", t->role,
		       t->by_text[i], (unsigned long long)au->threshold, au->n_keyids,
		       vf_cli_plural(au->n_keyids));
		for (size_t k = 0; k < au->n_keyids; k++) {
			const struct vf_tuf_key *tk = key_of(au, au->keyids[k]);

			printf("  %s %-7s %s\n", au->keyids[k], tk ? tk->keytype : "?",
			       vf_cli_sig_state(md, res, au->keyids[k]));
		}
		vf_cli_print_threshold("  ", res);
		for (size_t s = 0; s < md->n_sigs && s < res->n_status; s++) {
			const char *other = counted_by(t, rp->res, s, i);

			if (res->status[s] == VF_TUF_SIG_VALID)
				continue;
			printf("  not counted: %s %s%s%s%s\n", md->sigs[s].keyid,
			       vf_tuf_sig_status_name(res->status[s]), other ? " (counted by " : "",
			       other ? other : "", other ? ")" : "");
		}
	}
	if (prev)
		printf("version %llu %s previous version %llu\n", (unsigned long long)md->version,
		       md->version == prev->version + 1 ? "follows" : "DOES NOT FOLLOW",
		       (unsigned long long)prev->version);
	if (!rp->n_problems) {
		printf("ok\n");
		return;
	}
	printf("FAILED: %zu problem%s\n", rp->n_problems, vf_cli_plural(rp->n_problems));
	for (size_t i = 0; i < rp->n_problems; i++)
		printf("  %s\n", rp->problems[i]);
}

static json_t *authority_json(const struct report *rp, size_t i)
{
	const struct target *t = rp->t;
	const struct vf_cli_authority *au = &t->auths[i];
	const struct vf_tuf_verify_result *res = &rp->res[i];
	json_t *o, *keys, *valid, *sigs, *v;

	o = json_pack("{s:s, s:s, s:I, s:s, s:I, s:o, s:o, s:o, s:b, s:o}", "by", by_names[t->by[i]],
		      "file", t->by_path[i], "version", (json_int_t)au->delegator->version, "role",
		      t->role, "threshold", (json_int_t)au->threshold, "keys", keys = json_array(),
		      "valid", valid = json_array(), "missing",
		      vf_cli_strv_json(res->missing, res->n_missing), "threshold_met", met(res),
		      "signatures", sigs = json_array());
	if (!o)
		return NULL;
	for (size_t k = 0; k < au->n_keyids; k++) {
		const struct vf_tuf_key *tk = key_of(au, au->keyids[k]);

		v = json_pack("{s:s, s:s, s:s, s:s}", "keyid", au->keyids[k], "keytype",
			      tk ? tk->keytype : "?", "scheme", tk ? tk->scheme : "?", "signature",
			      vf_cli_sig_state(t->md, res, au->keyids[k]));
		if (!v || json_array_append_new(keys, v))
			goto fail;
	}
	for (size_t k = 0; k < res->n_valid; k++) {
		const struct vf_tuf_key *tk = key_of(au, res->valid[k]);

		v = json_pack("{s:s, s:s}", "keyid", res->valid[k], "keytype", tk ? tk->keytype : "?");
		if (!v || json_array_append_new(valid, v))
			goto fail;
	}
	for (size_t s = 0; s < t->md->n_sigs && s < res->n_status; s++) {
		v = json_pack("{s:s, s:s}", "keyid", t->md->sigs[s].keyid, "status",
			      vf_tuf_sig_status_name(res->status[s]));
		if (!v || json_array_append_new(sigs, v))
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *report_json(const struct report *rp)
{
	char t1[VF_TUF_TIME_LEN + 1], t2[VF_TUF_TIME_LEN + 1];
	const struct target *t = rp->t;
	const struct vf_tuf_md *md = t->md, *prev = previous_of(t);
	bool all_met = true;
	json_t *o, *auths, *v;

	for (size_t i = 0; i < t->n_auths; i++)
		all_met = all_met && met(&rp->res[i]);
	o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:b, s:s, s:o, s:b, s:o, s:b}", "file",
		      t->path, "type", vf_tuf_type_name(md->type), "role", t->role, "version",
		      (json_int_t)md->version, "spec_version", md->spec_version, "expires",
		      fmt_time(md->expires, t1), "now", fmt_time(rp->now, t2), "expired",
		      vf_tuf_md_is_expired(md, rp->now), "signed_sha256", rp->digest, "authorities",
		      auths = json_array(), "threshold_met", all_met, "problems",
		      vf_cli_strv_json(rp->problems, rp->n_problems), "ok", rp->n_problems == 0);
	if (!o)
		return NULL;
	for (size_t i = 0; i < t->n_auths; i++)
		if (!(v = authority_json(rp, i)) || json_array_append_new(auths, v))
			goto fail;
	if (prev && json_object_set_new(o, "version_follows",
					json_boolean(md->version == prev->version + 1)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static int md_status(const struct vf_cli_cmd *self, const struct args *a)
{
	struct report rp = { 0 };
	struct vf_err err = { 0 };
	struct target t = { .path = a->op[0] };
	json_t *j = NULL;
	int rc;

	rp.t = &t;
	if ((rc = vf_cli_now(self, a->now, &rp.now)))
		return rc;
	if (load_md(t.path, 0, &t.md, &err))
		return vf_cli_fail(&err);
	if ((rc = resolve(self, a, &t, true)))
		goto out;
	vf_cli_signed_digest(t.md, rp.digest);
	if (verify_all(&t, t.md, rp.res, &err))
		goto fail;
	collect_problems(&rp);
	if (rp.oom) {
		nomem(&err);
		goto fail;
	}
	if (a->json)
		j = report_json(&rp);
	else
		print_text(&rp);
	rc = vf_cli_report_finish(j, a->json, t.path, rp.problems, rp.n_problems, &err);
	if (rc < 0)
		goto fail;
	goto out;
fail:
	rc = vf_cli_fail(&err);
out:
	json_decref(j);
	vf_cli_strv_free(rp.problems, rp.n_problems);
	vf_tuf_verify_result_release(&rp.res[0]);
	vf_tuf_verify_result_release(&rp.res[1]);
	target_release(&t);
	return rc;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

struct sub {
	const char *name;
	unsigned options;
	size_t n_min, n_max;
	const char *operands;
	int (*run)(const struct vf_cli_cmd *self, const struct args *a);
};

static const struct sub subs[] = {
	{ "sign", A_KEY | A_ROOT | A_NOW, 1, 1, "<file>", md_sign },
	{ "merge", A_ROOT | A_OUTPUT, 2, (size_t)-1, "<a.json> <b.json> [<c.json>...]", md_merge },
	{ "status", A_ROOT | A_NOW | A_JSON, 1, 1, "<file>", md_status },
};

int cmd_metadata(int argc, char **argv)
{
	const struct vf_cli_cmd *self = vf_cli_cmd_find("metadata");
	struct args a;
	int r;

	if (argc < 2)
		return vf_cli_usage(self, "missing the subcommand: sign, merge or status");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		vf_cli_help(self);
		return VF_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(argv[1], subs[i].name) != 0)
			continue;
		memset(&a, 0, sizeof(a));
		r = parse_args(self, argc - 1, argv + 1, subs[i].options, subs[i].n_min, subs[i].n_max,
			       subs[i].operands, &a);
		if (!r)
			r = subs[i].run(self, &a);
		else if (r < 0)
			r = VF_EXIT_OK;
		free(a.keys);
		return r;
	}
	return vf_cli_usage(self, "unknown subcommand '%s': expected sign, merge or status",
			    argv[1]);
}
