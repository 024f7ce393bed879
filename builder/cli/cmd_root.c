/*
 * vforge root: build root.json offline (keys, thresholds, expiry, version),
 * sign it with the root role's keys, merge signatures made on other machines,
 * and verify it, alone or as the successor of a trusted root. See docs/root.md.
 */
#include "builder/cli/cli.h"

#include "builder/base/buf.h"
#include "builder/base/fs.h"
#include "keys/key.h"
#include "repo/cjson.h"
#include "repo/metadata.h"
#include "repo/repo.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

const char vf_cli_root_help[] =
	"root.json is the trust anchor of a TUF repository: the keys of the four\n"
	"top-level roles, how many of them must sign (threshold), its expiry, and the\n"
	"signatures of the root role's keys. These commands build it offline, one\n"
	"step each, so that several people can sign on separate machines (docs/root.md).\n"
	"\n"
	"  init           write version 1: consistent_snapshot true, each role with\n"
	"                 threshold 1 and no keys yet; never overwrites a file\n"
	"  add-key        authorise a key for roles and print its keyid; <key> is a\n"
	"                 public or private PEM file, a pkcs11: URI or exec:<command>\n"
	"  remove-key     take a keyid from the --role roles (default: every role); a\n"
	"                 key no role lists any more leaves root's keys\n"
	"  set-threshold  signatures a role needs: from 1 to the number of its keys\n"
	"                 (add the keys first)\n"
	"  expire         set the expiry: RFC 3339 or a duration after now (30d, 1y)\n"
	"  bump-version   version + 1: the start of a new root (rotation)\n"
	"  sign           sign with keys that root (or, with --previous, the previous\n"
	"                 root) authorises for the root role, keeping the signatures\n"
	"                 already there\n"
	"  merge          write the union of the signatures of two copies of the same\n"
	"                 root (signed by different people); refuses different content\n"
	"  verify         show each role's threshold and keys, which root keys signed,\n"
	"                 what is missing, and the expiry; with --trusted also the\n"
	"                 previous root's threshold over this file and the version step\n"
	"  rotate         publish a new root (version current + 1, carrying the current\n"
	"                 root's threshold and its own) into a repository, re-signing\n"
	"                 the roles whose keys it changes with the --key signers\n"
	"                 (docs/rotate-root-keys.md; same as repo refresh --root)\n"
	"\n"
	"The editing commands (add-key, remove-key, set-threshold, expire, bump-version)\n"
	"change the signed content, so they drop the existing signatures (with a note)\n"
	"and write the file atomically. A change that changes nothing keeps the file\n"
	"and its signatures. Signatures are kept sorted by keyid.\n"
	"\n"
	"  --role ROLE[,ROLE...]  add-key, remove-key: root, targets, snapshot,\n"
	"                     timestamp (repeatable)\n"
	"  --expires WHEN     init: the expiry (default 1y after now)\n"
	"  --now EPOCH        init, expire, verify: the clock (default SOURCE_DATE_EPOCH,\n"
	"                     else the system clock)\n"
	"  --new-root FILE    rotate: the signed next root\n"
	"  --key REF          sign, rotate: a signing key: PEM file, pkcs11: URI or\n"
	"                     exec:<command> (repeatable)\n"
	"  -o, --output FILE  merge: the file to write (may be one of the inputs)\n"
	"  --trusted FILE     verify: the previous root.json\n"
	"  --previous FILE    sign, merge: the previous root.json of a rotation; its root\n"
	"                     keys may cross-sign (also those the new root removes), and\n"
	"                     merge verifies their signatures\n"
	"  --json             verify: print the report as one JSON object\n"
	"\n"
	"Exit codes: 0 success; 1 a file is unreadable or malformed, or the change is\n"
	"refused; 2 usage (including values no file could accept: threshold 0, an\n"
	"expiry in the past); 3 verify found a threshold, key count, version or\n"
	"expiry problem, or merge found a signature that does not verify.\n";

/* ---- roots whose roles have no keys yet --------------------------------------------- *
 *
 * vforge's metadata parser (and so vf_tuf_md_validate/format/save) requires
 * 1 <= threshold <= number of keyids for each role. `root init` must write a
 * root whose roles have no keys yet, and later commands must read it back.
 * These helpers read and write such "unfinished" roots; finished roots go
 * through vf_tuf_md_load() and vf_tuf_md_save() unchanged. Reading: when the
 * strict parse fails and some role's threshold exceeds its keyids, the JSON is
 * padded (threshold lowered to the number of keyids, a placeholder key for a
 * role without any), parsed strictly, and the padding is taken out of the
 * model again. Writing: the same JSON vf_tuf_md_format() would write, checked
 * by reading it back this way.
 */

#define PLACEHOLDER_TYPE "vforge-root-unfinished"

static const char *role_name(int i)
{
	return vf_tuf_type_name((enum vf_tuf_type)(i + 1));
}

static bool role_unfinished(const struct vf_tuf_role *r)
{
	return r->threshold > r->n_keyids;
}

static bool root_unfinished(const struct vf_tuf_md *md)
{
	for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++)
		if (role_unfinished(&md->roles[i]))
			return true;
	return false;
}

static int nomem(struct vf_err *err)
{
	return vf_err_set(err, ENOMEM, "out of memory");
}

/*
 * Parse an unfinished root from `text`: 0 with *ret set, 1 when no role is
 * unfinished (nothing to pad: the strict parser's verdict stands), or a
 * negative errno with the strict parser's message on the padded document.
 */
static int parse_unfinished(const void *text, size_t len, struct vf_tuf_md **ret,
			    struct vf_err *err)
{
	struct vf_cjson_limits lim = { .max_bytes = VF_TUF_MAX_FILE, .max_depth = 0 };
	json_t *doc = NULL, *keys, *roles, *ph = NULL;
	struct vf_tuf_md *md = NULL;
	uint64_t want[VF_TUF_N_TOP_ROLES] = { 0 };
	bool padded[VF_TUF_N_TOP_ROLES] = { false }, any = false, need_ph = false;
	char ph_id[65], *out = NULL;
	int r = 1;

	if (vf_cjson_parse(text, len, &lim, (void **)&doc, NULL))
		return 1;
	keys = json_object_get(json_object_get(doc, "signed"), "keys");
	roles = json_object_get(json_object_get(doc, "signed"), "roles");
	if (!json_is_object(keys) || !json_is_object(roles))
		goto out;
	ph = json_pack("{s:s, s:s, s:{s:s}}", "keytype", PLACEHOLDER_TYPE, "scheme",
		       PLACEHOLDER_TYPE, "keyval", "public", "-");
	if (!ph) {
		r = nomem(err);
		goto out;
	}
	if ((r = vf_tuf_keyid_of_json(ph, ph_id, err)))
		goto out;
	r = 1;
	if (json_object_get(keys, ph_id))
		goto out;
	for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++) {
		json_t *role = json_object_get(roles, role_name(i));
		json_t *ids = json_object_get(role, "keyids"), *th = json_object_get(role, "threshold");
		size_t n;

		if (!json_is_array(ids) || !json_is_integer(th) || json_integer_value(th) < 1)
			continue;
		n = json_array_size(ids);
		if ((uint64_t)json_integer_value(th) <= n)
			continue;
		want[i] = (uint64_t)json_integer_value(th);
		padded[i] = n == 0;
		any = true;
		if (n == 0) {
			need_ph = true;
			if (json_array_append_new(ids, json_string(ph_id)) ||
			    json_object_set_new(role, "threshold", json_integer(1)))
				goto oom;
		} else if (json_object_set_new(role, "threshold", json_integer((json_int_t)n))) {
			goto oom;
		}
	}
	if (!any)
		goto out;
	if (need_ph && json_object_set(keys, ph_id, ph))
		goto oom;
	if (!(out = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS)))
		goto oom;
	if ((r = vf_tuf_md_parse(out, strlen(out), VF_TUF_ROOT, VF_TUF_PARSE_OPAQUE_KEYIDS, &md,
				 err)))
		goto out;
	for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++) {
		if (!want[i])
			continue;
		if (padded[i] && (r = vf_tuf_md_remove_key(md, role_name(i), ph_id, err)))
			goto out;
		md->roles[i].threshold = want[i];
	}
	*ret = md;
	md = NULL;
	r = 0;
	goto out;
oom:
	r = nomem(err);
out:
	free(out);
	json_decref(ph);
	json_decref(doc);
	vf_tuf_md_free(md);
	return r;
}

/* Read a whole (bounded) file. */
static int read_file(const char *path, struct vf_buf *out, struct vf_err *err)
{
	struct stat st;
	int64_t got;
	int fd, r = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return vf_err_sys(err, errno, "'%s'", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > VF_TUF_MAX_FILE) {
		r = vf_err_set(err, EINVAL, "'%s': not a regular file of at most %llu bytes", path,
			       (unsigned long long)VF_TUF_MAX_FILE);
		goto out;
	}
	if (vf_buf_grow(out, (size_t)st.st_size + 1)) {
		r = nomem(err);
		goto out;
	}
	got = vf_fs_pread_full(fd, out->data, (size_t)st.st_size, 0);
	if (got < 0) {
		r = vf_err_sys(err, (int)-got, "'%s': read", path);
		goto out;
	}
	out->len = (size_t)got;
	out->data[out->len] = '\0';
out:
	close(fd);
	return r;
}

/*
 * Whether root's keyid for key k is the one vforge would give it (the sha256
 * of the canonical key object as written); into `computed` when it is not.
 */
static bool keyid_is_sha256(const struct vf_tuf_key *k, char computed[65])
{
	struct vf_err e = { 0 };

	if (vf_tuf_keyid_of_json(k->json, computed, &e))
		return true; /* nothing to compare with: no warning */
	return strcmp(computed, k->keyid) == 0;
}

#define FOREIGN_KEYID "keyid %.80s is not the sha256 of its key object (%s)"
#define FOREIGN_WHY "clients that check keyids (tough, Bottlerocket's updog) refuse this root"

/*
 * Keyids are opaque names (TAP 12: python-tuf, go-tuf and tuf-js never
 * recompute them), so a root made by another keyid rule is read, edited and
 * signed with its keyids as they are; but tough, and so Bottlerocket's
 * updog, refuse a keyid that is not the sha256 of its key object: each such
 * keyid gets a warning here, and is a problem for `root verify`.
 */
static void warn_foreign_keyids(const char *path, const struct vf_tuf_md *md)
{
	char computed[65];

	for (size_t i = 0; i < md->keys.n; i++)
		if (!keyid_is_sha256(&md->keys.v[i], computed))
			fprintf(stderr, "vforge: warning: '%s': " FOREIGN_KEYID ": kept as an opaque "
				"name (TAP 12), but " FOREIGN_WHY "\n", path, md->keys.v[i].keyid,
				computed);
}

/* Read root.json (finished or not; opaque keyids); errors name the path. */
static int root_read(const char *path, struct vf_tuf_md **ret, struct vf_err *err)
{
	struct vf_buf text = VF_BUF_INIT;
	struct vf_err e2 = { 0 };
	int r, r2;

	r = vf_tuf_md_load(path, VF_TUF_ROOT, VF_TUF_PARSE_OPAQUE_KEYIDS, ret, err);
	if (r != -EINVAL)
		goto out;
	if (read_file(path, &text, &e2))
		goto out;
	r2 = parse_unfinished(text.data, text.len, ret, &e2);
	if (r2 == 0) {
		vf_err_clear(err);
		r = 0;
	} else if (r2 < 0) {
		*err = e2;
		r = vf_err_prefix(err, "'%s'", path);
	}
out:
	vf_buf_release(&text);
	return r;
}

/* root_read(), with a warning for each keyid another rule made. */
static int root_load(const char *path, struct vf_tuf_md **ret, struct vf_err *err)
{
	int r = root_read(path, ret, err);

	if (!r)
		warn_foreign_keyids(path, *ret);
	return r;
}

static int put_new(json_t *obj, const char *key, json_t *v, struct vf_err *err)
{
	if (!v || json_object_set_new(obj, key, v))
		return nomem(err);
	return 0;
}

/* The document as vf_tuf_md_format() lays it out, for an unfinished root. */
static int unfinished_json(const struct vf_tuf_md *md, json_t **ret, struct vf_err *err)
{
	char expires[VF_TUF_TIME_LEN + 1];
	json_t *doc = json_object(), *s = json_object(), *sigs = json_array();
	json_t *keys = json_object(), *roles = json_object();
	int r = 0;

	if (!doc || !s || !sigs || !keys || !roles) {
		json_decref(s);
		json_decref(sigs);
		json_decref(keys);
		json_decref(roles);
		r = nomem(err);
		goto out;
	}
	if ((r = put_new(doc, "signed", s, err)) || (r = put_new(doc, "signatures", sigs, err)) ||
	    (r = put_new(s, "keys", keys, err)) || (r = put_new(s, "roles", roles, err)))
		goto out;
	if (vf_tuf_time_format(md->expires, expires)) {
		r = vf_err_set(err, ERANGE, "expires: %lld is outside years 0001 to 9999",
			       (long long)md->expires);
		goto out;
	}
	if ((r = put_new(s, "_type", json_string("root"), err)) ||
	    (r = put_new(s, "spec_version", json_string(md->spec_version), err)) ||
	    (r = put_new(s, "version", json_integer((json_int_t)md->version), err)) ||
	    (r = put_new(s, "expires", json_string(expires), err)) ||
	    (r = put_new(s, "consistent_snapshot", json_boolean(md->consistent_snapshot), err)))
		goto out;
	for (size_t i = 0; i < md->keys.n; i++)
		if (json_object_set(keys, md->keys.v[i].keyid, md->keys.v[i].json))
			goto oom;
	for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++) {
		const struct vf_tuf_role *ro = &md->roles[i];
		json_t *o = json_object(), *ids = json_array();

		if (!o || !ids || json_object_set_new(roles, role_name(i), o)) {
			json_decref(o);
			json_decref(ids);
			goto oom;
		}
		if ((r = put_new(o, "keyids", ids, err)) ||
		    (r = put_new(o, "threshold", json_integer((json_int_t)ro->threshold), err)))
			goto out;
		for (size_t k = 0; k < ro->n_keyids; k++)
			if (json_array_append_new(ids, json_string(ro->keyids[k])))
				goto oom;
		if (ro->extra && json_object_update_missing(o, ro->extra))
			goto oom;
	}
	if (md->extra && json_object_update_missing(s, md->extra))
		goto oom;
	for (size_t i = 0; i < md->n_sigs; i++) {
		json_t *o = json_pack("{s:s, s:s}", "keyid", md->sigs[i].keyid, "sig", md->sigs[i].sig);

		if (!o || json_array_append_new(sigs, o) ||
		    (md->sigs[i].extra && json_object_update_missing(o, md->sigs[i].extra)))
			goto oom;
	}
	if (md->envelope_extra && json_object_update_missing(doc, md->envelope_extra))
		goto oom;
	*ret = doc;
	return 0;
oom:
	r = nomem(err);
out:
	json_decref(doc);
	return r;
}

/* The pretty text of a root, finished or not (validated either way). */
static int root_format(const struct vf_tuf_md *md, struct vf_buf *out, struct vf_err *err)
{
	struct vf_tuf_md *check = NULL;
	json_t *doc = NULL;
	char *text = NULL;
	int r;

	if (!root_unfinished(md))
		return vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, out, err);
	if ((r = unfinished_json(md, &doc, err)))
		return r;
	if (!(text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS))) {
		r = nomem(err);
		goto out;
	}
	/* what is written must read back: the parser's checks but the thresholds */
	if ((r = parse_unfinished(text, strlen(text), &check, err)) > 0)
		r = vf_err_set(err, EINVAL, "root is unfinished but reads back as finished");
	if (r)
		goto out;
	if (vf_buf_add_str(out, text) || vf_buf_add(out, "\n", 1))
		r = nomem(err);
out:
	vf_tuf_md_free(check);
	free(text);
	json_decref(doc);
	return r;
}

/*
 * Write a root atomically (mode 0644). With `create`, refuse an existing
 * file: the complete temporary file is linked to the name, which fails if
 * anything is there, so a file appearing meanwhile is never overwritten.
 */
static int root_write(const struct vf_tuf_md *md, const char *path, bool create,
		      struct vf_err *err)
{
	struct vf_buf text = VF_BUF_INIT;
	struct vf_fs_atomic a;
	int r;

	vf_fs_atomic_init(&a);
	if ((r = root_format(md, &text, err))) {
		vf_err_prefix(err, "'%s'", path);
		goto out;
	}
	if ((r = vf_fs_atomic_open(&a, path, 0644, err)))
		goto out;
	if ((r = vf_fs_pwrite_full(a.fd, text.data, text.len, 0))) {
		r = vf_err_sys(err, -r, "'%s': write", path);
		goto out;
	}
	if (!create) {
		r = vf_fs_atomic_commit(&a, err);
		goto out;
	}
	if (fsync(a.fd) < 0) {
		r = vf_err_sys(err, errno, "'%s': fsync", path);
		goto out;
	}
	if (link(a.tmp, path) < 0) {
		r = errno == EEXIST ? vf_err_set(err, EEXIST, "'%s' already exists: not overwriting "
						 "it", path)
				    : vf_err_sys(err, errno, "'%s': cannot create", path);
		goto out;
	}
	r = vf_fs_fsync_parent(path, err); /* release removes the temporary name */
out:
	vf_fs_atomic_release(&a);
	vf_buf_release(&text);
	return r;
}

/* ---- small helpers -------------------------------------------------------------------- */

static const char *fmt_time(time_t t, char out[VF_TUF_TIME_LEN + 1])
{
	if (vf_tuf_time_format(t, out))
		snprintf(out, VF_TUF_TIME_LEN + 1, "@%lld", (long long)t);
	return out;
}

static const char *keytype_of(const struct vf_tuf_md *md, const char *keyid)
{
	const struct vf_tuf_key *k = vf_tuf_keys_find(&md->keys, keyid);

	return k ? k->keytype : "?";
}

static bool role_has(const struct vf_tuf_role *r, const char *keyid)
{
	for (size_t i = 0; i < r->n_keyids; i++)
		if (strcmp(r->keyids[i], keyid) == 0)
			return true;
	return false;
}

/* Every key of root with its type and roles: "<keyid> (ed25519: root, targets); ..." */
static void add_root_keys(struct vf_buf *b, const struct vf_tuf_md *md)
{
	if (!md->keys.n)
		vf_buf_add_str(b, "none");
	for (size_t i = 0; i < md->keys.n; i++) {
		bool first = true;

		vf_buf_add_fmt(b, "%s%s (%s", i ? "; " : "", md->keys.v[i].keyid,
			       md->keys.v[i].keytype);
		for (int k = 0; k < VF_TUF_N_TOP_ROLES; k++)
			if (role_has(&md->roles[k], md->keys.v[i].keyid)) {
				vf_buf_add_fmt(b, "%s%s", first ? ": " : ", ", role_name(k));
				first = false;
			}
		vf_buf_add_str(b, ")");
	}
}

/* Drop the signatures of a changed root, saying so. */
static void drop_signatures(const char *path, struct vf_tuf_md *md)
{
	size_t n = md->n_sigs;

	vf_tuf_md_clear_signatures(md);
	if (n)
		fprintf(stderr, "vforge: note: '%s': %zu signature%s dropped: the signed content "
			"changed\n", path, n, vf_cli_plural(n));
}

/* ---- options ---------------------------------------------------------------------------- */

enum {
	OPT_ROLE = 0x2000,
	OPT_TRUSTED,
	OPT_PREVIOUS,
	OPT_JSON,
	OPT_HELP,
};

/* Which options a subcommand takes. */
enum {
	A_EXPIRES = 1u << 0,
	A_NOW = 1u << 1,
	A_ROLE = 1u << 2,
	A_KEY = 1u << 3,
	A_OUTPUT = 1u << 4,
	A_TRUSTED = 1u << 5,
	A_JSON = 1u << 6,
	A_PREVIOUS = 1u << 7,
};

#define MAX_OPERANDS 3
#define MAX_KEYS 64

struct args {
	const char *sub;
	const char *op[MAX_OPERANDS];
	const char *expires, *now, *output, *trusted, *previous;
	const char *keys[MAX_KEYS];
	size_t n_keys;
	unsigned roles;  /* bit i: role_name(i) */
	bool has_roles;
	bool json;
};

/* Add "root,targets" to a role mask. */
static int parse_roles(const struct vf_cli_cmd *self, const char *text, unsigned *mask)
{
	const char *p = text;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		int found = -1;

		for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++)
			if (strlen(role_name(i)) == len && strncmp(p, role_name(i), len) == 0)
				found = i;
		if (found < 0)
			return vf_cli_usage(self, "--role: unknown role '%.*s' in '%s': expected root, "
					    "targets, snapshot or timestamp", (int)len, p, text);
		*mask |= 1u << found;
		if (!end)
			return 0;
		p = end + 1;
	}
}

/*
 * Parse a subcommand's options and exactly `n_ops` operands named by `names`.
 * Returns VF_EXIT_OK, -1 after printing the help, or VF_EXIT_USAGE.
 */
static int parse_args(const struct vf_cli_cmd *self, int argc, char **argv, unsigned allowed,
		      size_t n_ops, const char *names, struct args *a)
{
	static const struct option opts[] = {
		{ "expires", required_argument, NULL, VF_CLI_OPT_EXPIRES },
		{ "now", required_argument, NULL, VF_CLI_OPT_NOW },
		{ "key", required_argument, NULL, VF_CLI_OPT_KEY },
		{ "role", required_argument, NULL, OPT_ROLE },
		{ "output", required_argument, NULL, 'o' },
		{ "trusted", required_argument, NULL, OPT_TRUSTED },
		{ "previous", required_argument, NULL, OPT_PREVIOUS },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	unsigned need;
	size_t n;
	int c, idx;

	memset(a, 0, sizeof(*a));
	a->sub = argv[0];
	opterr = 0;
	optind = 0;
	while ((idx = -1, c = getopt_long(argc, argv, ":o:h", opts, &idx)) != -1) {
		switch (c) {
		case VF_CLI_OPT_EXPIRES: need = A_EXPIRES; break;
		case VF_CLI_OPT_NOW: need = A_NOW; break;
		case VF_CLI_OPT_KEY: need = A_KEY; break;
		case OPT_ROLE: need = A_ROLE; break;
		case 'o': need = A_OUTPUT; break;
		case OPT_TRUSTED: need = A_TRUSTED; break;
		case OPT_PREVIOUS: need = A_PREVIOUS; break;
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
		switch (c) {
		case VF_CLI_OPT_EXPIRES: a->expires = optarg; break;
		case VF_CLI_OPT_NOW: a->now = optarg; break;
		case 'o': a->output = optarg; break;
		case OPT_TRUSTED: a->trusted = optarg; break;
		case OPT_PREVIOUS: a->previous = optarg; break;
		case OPT_JSON: a->json = true; break;
		case VF_CLI_OPT_KEY:
			if (a->n_keys == MAX_KEYS)
				return vf_cli_usage(self, "%s: at most %d --key options", a->sub,
						    MAX_KEYS);
			a->keys[a->n_keys++] = optarg;
			break;
		case OPT_ROLE: {
			int r = parse_roles(self, optarg, &a->roles);

			if (r)
				return r;
			a->has_roles = true;
			break;
		}
		}
	}
	n = (size_t)(argc - optind);
	if (n != n_ops)
		return vf_cli_usage(self, "%s: expected %s, got %zu argument%s", a->sub, names, n,
				    vf_cli_plural(n));
	for (size_t i = 0; i < n; i++) {
		if (!argv[optind + (int)i][0])
			return vf_cli_usage(self, "%s: empty argument %zu", a->sub, i + 1);
		a->op[i] = argv[optind + (int)i];
	}
	return VF_EXIT_OK;
}

/* ---- init ---------------------------------------------------------------------------------- */

/* WHEN for the expiry: must be after now. */
static int parse_expiry(const struct vf_cli_cmd *self, const char *what, const char *text,
			time_t now, time_t *ret)
{
	char t1[VF_TUF_TIME_LEN + 1], t2[VF_TUF_TIME_LEN + 1];
	struct vf_err err = { 0 };

	if (vf_repo_parse_when(text, now, ret, &err))
		return vf_cli_usage(self, "%s: %s", what, err.msg);
	if (*ret <= now)
		return vf_cli_usage(self, "%s: expiry in the past: '%s' is %s, not after now (%s)",
				    what, text, fmt_time(*ret, t1), fmt_time(now, t2));
	if (vf_tuf_time_format(*ret, t1))
		return vf_cli_usage(self, "%s: '%s' is beyond the year 9999", what, text);
	return 0;
}

static int root_init(const struct vf_cli_cmd *self, const struct args *a)
{
	char t[VF_TUF_TIME_LEN + 1];
	struct vf_err err = { 0 };
	struct vf_tuf_md *md = NULL;
	const char *path = a->op[0];
	time_t now, expires;
	struct stat st;
	int r;

	if ((r = vf_cli_now(self, a->now, &now)))
		return r;
	if (a->expires) {
		if ((r = parse_expiry(self, "init: --expires", a->expires, now, &expires)))
			return r;
	} else {
		expires = now + (time_t)VF_REPO_LIFETIME_ROOT;
	}
	if (lstat(path, &st) == 0) {
		fprintf(stderr, "vforge: error: '%s' already exists: not overwriting it\n", path);
		return VF_EXIT_FAIL;
	}
	if (!(md = vf_tuf_md_new(VF_TUF_ROOT))) {
		vf_err_set(&err, ENOMEM, "out of memory");
		goto fail;
	}
	md->expires = expires;
	if (root_write(md, path, true, &err))
		goto fail;
	printf("'%s': root version %llu, expires %s; roles root, targets, snapshot and "
	       "timestamp have no keys yet (vforge root add-key)\n", path,
	       (unsigned long long)md->version, fmt_time(md->expires, t));
	vf_tuf_md_free(md);
	return VF_EXIT_OK;
fail:
	vf_tuf_md_free(md);
	return vf_cli_fail(&err);
}

/* ---- add-key / remove-key -------------------------------------------------------------------- */

/* The public key of a reference: a key file (public or private), pkcs11: or exec:. */
static int load_public(const char *ref, struct vf_key **ret, struct vf_err *err)
{
	struct vf_signer *s = NULL;
	int r;

	if (strncmp(ref, "pkcs11:", 7) != 0 && strncmp(ref, "exec:", 5) != 0)
		return vf_key_load(ref, ret, err);
	if ((r = vf_signer_open(ref, &s, err)))
		return r;
	*ret = vf_key_dup(vf_signer_key(s));
	vf_signer_free(s);
	return *ret ? 0 : nomem(err);
}

static int root_add_key(const struct vf_cli_cmd *self, const struct args *a)
{
	struct vf_err err = { 0 };
	struct vf_tuf_md *md = NULL;
	struct vf_key *key = NULL;
	const char *path = a->op[0], *keyid = NULL; /* keyid: in md's key set */
	bool changed = false;

	if (!a->has_roles)
		return vf_cli_usage(self, "add-key: missing --role ROLE[,ROLE...] (root, targets, "
				    "snapshot, timestamp)");
	if (load_public(a->op[1], &key, &err) || root_load(path, &md, &err))
		goto fail;
	for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++) {
		struct vf_tuf_role *ro = &md->roles[i];
		size_t before = ro->n_keyids;

		if (!(a->roles & (1u << i)))
			continue;
		if (vf_tuf_md_add_key(md, role_name(i), key, &keyid, &err)) {
			vf_err_prefix(&err, "'%s'", path);
			goto fail;
		}
		if (ro->n_keyids == before) {
			fprintf(stderr, "vforge: note: '%s': role %s already lists keyid %s: "
				"nothing to add\n", path, role_name(i), keyid);
			continue;
		}
		changed = true;
		fprintf(stderr, "'%s': role %s: added keyid %s (%s); %zu key%s, threshold %llu\n",
			path, role_name(i), keyid, vf_key_keytype(key), ro->n_keyids,
			vf_cli_plural(ro->n_keyids), (unsigned long long)ro->threshold);
	}
	if (changed) {
		drop_signatures(path, md);
		if (root_write(md, path, false, &err))
			goto fail;
	}
	printf("%s\n", keyid ? keyid : "");
	vf_key_free(key);
	vf_tuf_md_free(md);
	return VF_EXIT_OK;
fail:
	vf_key_free(key);
	vf_tuf_md_free(md);
	return vf_cli_fail(&err);
}

static int root_remove_key(const struct vf_cli_cmd *self, const struct args *a)
{
	struct vf_buf m = VF_BUF_INIT;
	struct vf_err err = { 0 };
	struct vf_tuf_md *md = NULL;
	const char *path = a->op[0], *keyid = a->op[1];
	unsigned roles = a->has_roles ? a->roles : (1u << VF_TUF_N_TOP_ROLES) - 1;
	bool known = false, changed = false;
	int rc = VF_EXIT_FAIL;

	(void)self;
	if (root_load(path, &md, &err))
		goto fail;
	for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++)
		known = known || role_has(&md->roles[i], keyid);
	if (!known) {
		add_root_keys(&m, md);
		vf_err_set(&err, ENOENT, "'%s': keyid %s is not authorised for any role; root's "
			   "keys: %s", path, keyid, m.data ? (char *)m.data : "?");
		goto fail;
	}
	/* check every role first: nothing is written unless all of it can be done */
	for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++) {
		const struct vf_tuf_role *ro = &md->roles[i];

		if (!(roles & (1u << i)) || !role_has(ro, keyid))
			continue;
		if (ro->n_keyids - 1 < ro->threshold && (ro->n_keyids > 1 || ro->threshold > 1)) {
			vf_err_set(&err, EINVAL, "'%s': role %s: removing keyid %s would leave %zu "
				   "key%s for threshold %llu: lower the threshold first (vforge root "
				   "set-threshold)", path, role_name(i), keyid, ro->n_keyids - 1,
				   vf_cli_plural(ro->n_keyids - 1), (unsigned long long)ro->threshold);
			goto fail;
		}
	}
	for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++) {
		struct vf_tuf_role *ro = &md->roles[i];

		if (!(roles & (1u << i)))
			continue;
		if (!role_has(ro, keyid)) {
			if (a->has_roles)
				fprintf(stderr, "vforge: note: '%s': role %s does not list keyid %s: "
					"nothing to remove\n", path, role_name(i), keyid);
			continue;
		}
		if (vf_tuf_md_remove_key(md, role_name(i), keyid, &err)) {
			vf_err_prefix(&err, "'%s'", path);
			goto fail;
		}
		changed = true;
		fprintf(stderr, "'%s': role %s: removed keyid %s; %zu key%s left, threshold %llu%s\n",
			path, role_name(i), keyid, ro->n_keyids, vf_cli_plural(ro->n_keyids),
			(unsigned long long)ro->threshold,
			ro->n_keyids ? "" : " (add a key before signing)");
	}
	if (changed) {
		drop_signatures(path, md);
		if (root_write(md, path, false, &err))
			goto fail;
	}
	rc = VF_EXIT_OK;
	goto out;
fail:
	rc = vf_cli_fail(&err);
out:
	vf_buf_release(&m);
	vf_tuf_md_free(md);
	return rc;
}

/* ---- set-threshold / expire / bump-version ------------------------------------------------- */

static int root_set_threshold(const struct vf_cli_cmd *self, const struct args *a)
{
	struct vf_buf m = VF_BUF_INIT;
	struct vf_err err = { 0 };
	struct vf_tuf_md *md = NULL;
	const char *path = a->op[0];
	enum vf_tuf_type t = vf_tuf_type_from_name(a->op[1]);
	struct vf_tuf_role *ro;
	uint64_t n;
	int rc;

	if (!t)
		return vf_cli_usage(self, "set-threshold: unknown role '%s': expected root, targets, "
				    "snapshot or timestamp", a->op[1]);
	if ((rc = vf_cli_parse_u64(self, "set-threshold <n>", a->op[2], &n)))
		return rc;
	if (n == 0)
		return vf_cli_usage(self, "set-threshold: role %s: threshold 0: a role needs at least "
				    "1 signature", a->op[1]);
	if (root_load(path, &md, &err))
		goto fail;
	ro = &md->roles[t - 1];
	if (n > ro->n_keyids) {
		vf_cli_keyid_list(&m, ro->keyids, ro->n_keyids);
		vf_err_set(&err, EINVAL, "'%s': role %s: threshold %llu is more than its %zu key%s "
			   "(%s): add keys first (vforge root add-key)", path, a->op[1],
			   (unsigned long long)n, ro->n_keyids, vf_cli_plural(ro->n_keyids),
			   m.data ? (char *)m.data : "");
		goto fail;
	}
	if (n == ro->threshold) {
		fprintf(stderr, "vforge: note: '%s': role %s already has threshold %llu: nothing to "
			"change\n", path, a->op[1], (unsigned long long)n);
		rc = VF_EXIT_OK;
		goto out;
	}
	fprintf(stderr, "'%s': role %s: threshold %llu (was %llu) of %zu key%s\n", path, a->op[1],
		(unsigned long long)n, (unsigned long long)ro->threshold, ro->n_keyids,
		vf_cli_plural(ro->n_keyids));
	if (vf_tuf_md_set_threshold(md, a->op[1], n, &err))
		goto fail;
	drop_signatures(path, md);
	if (root_write(md, path, false, &err))
		goto fail;
	rc = VF_EXIT_OK;
	goto out;
fail:
	rc = vf_cli_fail(&err);
out:
	vf_buf_release(&m);
	vf_tuf_md_free(md);
	return rc;
}

static int root_expire(const struct vf_cli_cmd *self, const struct args *a)
{
	char t1[VF_TUF_TIME_LEN + 1], t2[VF_TUF_TIME_LEN + 1];
	struct vf_err err = { 0 };
	struct vf_tuf_md *md = NULL;
	const char *path = a->op[0];
	time_t now, expires;
	int rc;

	if ((rc = vf_cli_now(self, a->now, &now)) ||
	    (rc = parse_expiry(self, "expire", a->op[1], now, &expires)))
		return rc;
	if (root_load(path, &md, &err))
		return vf_cli_fail(&err);
	if (md->expires == expires) {
		fprintf(stderr, "vforge: note: '%s': already expires %s: nothing to change\n", path,
			fmt_time(expires, t1));
		vf_tuf_md_free(md);
		return VF_EXIT_OK;
	}
	fmt_time(md->expires, t2);
	md->expires = expires;
	drop_signatures(path, md);
	if (root_write(md, path, false, &err)) {
		vf_tuf_md_free(md);
		return vf_cli_fail(&err);
	}
	printf("'%s': expires %s (was %s)\n", path, fmt_time(expires, t1), t2);
	vf_tuf_md_free(md);
	return VF_EXIT_OK;
}

static int root_bump_version(const struct vf_cli_cmd *self, const struct args *a)
{
	struct vf_err err = { 0 };
	struct vf_tuf_md *md = NULL;
	const char *path = a->op[0];

	(void)self;
	if (root_load(path, &md, &err))
		return vf_cli_fail(&err);
	if (md->version >= (1ULL << 53) - 1) {
		vf_err_set(&err, ERANGE, "'%s': version %llu is the largest JSON allows", path,
			   (unsigned long long)md->version);
		goto fail;
	}
	md->version++;
	drop_signatures(path, md);
	if (root_write(md, path, false, &err))
		goto fail;
	printf("'%s': version %llu (was %llu)\n", path, (unsigned long long)md->version,
	       (unsigned long long)(md->version - 1));
	vf_tuf_md_free(md);
	return VF_EXIT_OK;
fail:
	vf_tuf_md_free(md);
	return vf_cli_fail(&err);
}

/* ---- sign ------------------------------------------------------------------------------------ */

/* Refuse to sign (or merge) a root whose roles cannot meet their thresholds. */
static int check_finished(const char *path, const struct vf_tuf_md *md, const char *doing,
			  struct vf_err *err)
{
	struct vf_buf m = VF_BUF_INIT;
	int r;

	for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++) {
		const struct vf_tuf_role *ro = &md->roles[i];

		if (role_unfinished(ro))
			vf_buf_add_fmt(&m, "%srole %s has threshold %llu but %zu key%s", m.len ? "; " : "",
				       role_name(i), (unsigned long long)ro->threshold, ro->n_keyids,
				       vf_cli_plural(ro->n_keyids));
	}
	if (!m.len)
		return 0;
	r = vf_err_set(err, EINVAL, "'%s': not %s an unfinished root: %s (vforge root add-key)",
		       path, doing, m.data ? (char *)m.data : "");
	vf_buf_release(&m);
	return r;
}

/* The previous root of a rotation (--previous), whose root keys may cross-sign. */
static int load_previous(const struct args *a, struct vf_tuf_md **prev,
			 struct vf_cli_authority *auth, char *label, size_t len, struct vf_err *err)
{
	int r;

	if (!a->previous)
		return 0;
	if ((r = root_load(a->previous, prev, err)) ||
	    (r = check_finished(a->previous, *prev, "cross-signing with", err)))
		return r;
	if ((r = vf_cli_authority_get(*prev, "root", auth, err)))
		return vf_err_prefix(err, "'%s'", a->previous);
	snprintf(label, len, "previous root '%s'", a->previous);
	auth->label = label;
	return 0;
}

/* "previous root 'r.json' (version 1), role root: 1 of threshold 1 ..." */
static void print_previous(const struct vf_tuf_md *md, const char *path,
			   const struct vf_tuf_md *prev, const char *prev_path,
			   const struct vf_tuf_verify_result *pres)
{
	char label[4200];

	snprintf(label, sizeof(label), "previous root '%s' (version %llu), role root: ", prev_path,
		 (unsigned long long)prev->version);
	vf_cli_print_threshold(label, pres);
	if (md->version != prev->version + 1)
		fprintf(stderr, "vforge: warning: '%s': version %llu does not follow the previous "
			"root's version %llu: expected %llu\n", path, (unsigned long long)md->version,
			(unsigned long long)prev->version, (unsigned long long)prev->version + 1);
}

static int root_sign(const struct vf_cli_cmd *self, const struct args *a)
{
	struct vf_tuf_verify_result res = { 0 }, pres = { 0 };
	struct vf_cli_authority auths[2];
	struct vf_cli_sig_made *made = NULL;
	struct vf_err err = { 0 };
	struct vf_tuf_md *md = NULL, *prev = NULL;
	struct vf_signer **signers = NULL;
	const char *path = a->op[0];
	char plabel[4200], digest[65];
	size_t n_made = 0;
	int rc = VF_EXIT_FAIL, r;

	if (!a->n_keys)
		return vf_cli_usage(self, "sign: missing --key REF");
	if (root_load(path, &md, &err) || check_finished(path, md, "signing", &err) ||
	    load_previous(a, &prev, &auths[1], plabel, sizeof(plabel), &err) ||
	    vf_cli_open_signers(a->keys, a->n_keys, &signers, &err) ||
	    vf_cli_authority_get(md, "root", &auths[0], &err))
		goto fail;
	if (vf_cli_sign(md, path, "root", signers, a->keys, a->n_keys, auths, prev ? 2 : 1, &made,
			&n_made, &err))
		goto fail;
	vf_cli_sort_signatures(md);
	if (root_write(md, path, false, &err))
		goto fail;
	r = vf_tuf_verify(md, "root", md, &res, &err);
	if ((r && r != -VF_EVERIFY) ||
	    (prev && (r = vf_tuf_verify(prev, "root", md, &pres, &err)) && r != -VF_EVERIFY))
		goto fail;
	for (size_t k = 0; k < n_made; k++)
		printf("'%s': signed with keyid %s (%s)\n", path, made[k].keyid,
		       vf_key_keytype(vf_signer_key(signers[made[k].signer])));
	vf_cli_signed_digest(md, digest);
	printf("'%s': signed content sha256 %s\n", path, digest);
	vf_cli_print_threshold("role root: ", &res);
	if (prev)
		print_previous(md, path, prev, a->previous, &pres);
	for (size_t i = 0; i < res.n_status; i++)
		if (res.status[i] != VF_TUF_SIG_VALID &&
		    !(i < pres.n_status && pres.status[i] == VF_TUF_SIG_VALID))
			fprintf(stderr, "vforge: warning: '%s': signature by keyid %s: %s\n", path,
				md->sigs[i].keyid, vf_tuf_sig_status_name(res.status[i]));
	rc = VF_EXIT_OK;
	goto out;
fail:
	rc = vf_cli_fail(&err);
out:
	vf_tuf_verify_result_release(&res);
	vf_tuf_verify_result_release(&pres);
	vf_cli_free_signers(signers, a->n_keys);
	free(made);
	vf_tuf_md_free(md);
	vf_tuf_md_free(prev);
	return rc;
}

/* ---- merge ------------------------------------------------------------------------------------ */

static int root_merge(const struct vf_cli_cmd *self, const struct args *a)
{
	struct vf_tuf_verify_result res = { 0 }, pres = { 0 };
	struct vf_cli_authority pauth;
	struct vf_err err = { 0 };
	struct vf_tuf_md *md[2] = { NULL, NULL }, *prev = NULL;
	const char *paths[2] = { a->op[0], a->op[1] };
	const struct vf_tuf_keys *sets[2];
	char plabel[4200];
	size_t counts[2];
	int rc = VF_EXIT_FAIL, r;

	if (!a->output)
		return vf_cli_usage(self, "merge: missing -o <out.json>");
	if (root_load(paths[0], &md[0], &err) || root_load(paths[1], &md[1], &err) ||
	    check_finished(paths[0], md[0], "merging", &err) ||
	    check_finished(paths[1], md[1], "merging", &err) ||
	    load_previous(a, &prev, &pauth, plabel, sizeof(plabel), &err))
		goto fail;
	sets[0] = &md[0]->keys;
	sets[1] = prev ? &prev->keys : NULL;
	if (vf_cli_merge(md, paths, 2, sets, prev ? 2 : 1,
			 prev ? "neither root nor the previous root has a usable key with that keyid"
			      : "root has no usable key with that keyid", counts, &err))
		goto fail;
	vf_cli_sort_signatures(md[0]);
	if (root_write(md[0], a->output, false, &err))
		goto fail;
	r = vf_tuf_verify(md[0], "root", md[0], &res, &err);
	if ((r && r != -VF_EVERIFY) ||
	    (prev && (r = vf_tuf_verify(prev, "root", md[0], &pres, &err)) && r != -VF_EVERIFY))
		goto fail;
	vf_cli_merge_summary(a->output, md[0], paths, counts, 2);
	vf_cli_print_threshold("role root: ", &res);
	if (prev)
		print_previous(md[0], a->output, prev, a->previous, &pres);
	rc = VF_EXIT_OK;
	goto out;
fail:
	rc = vf_cli_fail(&err);
out:
	vf_tuf_verify_result_release(&res);
	vf_tuf_verify_result_release(&pres);
	vf_tuf_md_free(md[0]);
	vf_tuf_md_free(md[1]);
	vf_tuf_md_free(prev);
	return rc;
}

/* ---- verify ------------------------------------------------------------------------------------ */

struct report {
	const char *path;
	const struct vf_tuf_md *md;
	time_t now;
	struct vf_tuf_verify_result self;   /* root role over the file */
	const char *trusted_path;
	const struct vf_tuf_md *trusted;
	struct vf_tuf_verify_result prev;   /* trusted root's root role over the file */
	char digest[65];                    /* vf_cli_signed_digest() */
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

static void collect_problems(struct report *rp)
{
	char t1[VF_TUF_TIME_LEN + 1], t2[VF_TUF_TIME_LEN + 1];
	const struct vf_tuf_md *md = rp->md;
	const struct vf_tuf_verify_result *s = &rp->self;

	for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++) {
		const struct vf_tuf_role *ro = &md->roles[i];

		if (role_unfinished(ro))
			problem(rp, "role %s: threshold %llu is more than its %zu key%s", role_name(i),
				(unsigned long long)ro->threshold, ro->n_keyids, vf_cli_plural(ro->n_keyids));
	}
	for (size_t i = 0; i < md->keys.n; i++) {
		char computed[65];

		if (!keyid_is_sha256(&md->keys.v[i], computed))
			problem(rp, FOREIGN_KEYID ": " FOREIGN_WHY, md->keys.v[i].keyid, computed);
	}
	if (s->n_valid < s->threshold) {
		struct vf_buf m = VF_BUF_INIT;

		vf_cli_keyid_list(&m, s->missing, s->n_missing);
		problem(rp, "role root: threshold not met: %zu of %llu valid signature%s; needs %llu "
			"more of: %s", s->n_valid, (unsigned long long)s->threshold,
			vf_cli_plural(s->threshold), (unsigned long long)(s->threshold - s->n_valid),
			m.data ? (char *)m.data : "");
		vf_buf_release(&m);
	}
	if (vf_tuf_md_is_expired(md, rp->now))
		problem(rp, "expired at %s (now %s)", fmt_time(md->expires, t1),
			fmt_time(rp->now, t2));
	if (!rp->trusted)
		return;
	if (rp->prev.n_valid < rp->prev.threshold) {
		struct vf_buf m = VF_BUF_INIT;

		vf_cli_keyid_list(&m, rp->prev.missing, rp->prev.n_missing);
		problem(rp, "trusted root '%s' (version %llu): role root threshold not met over this "
			"file: %zu of %llu valid signature%s; needs %llu more of: %s",
			rp->trusted_path, (unsigned long long)rp->trusted->version, rp->prev.n_valid,
			(unsigned long long)rp->prev.threshold, vf_cli_plural(rp->prev.threshold),
			(unsigned long long)(rp->prev.threshold - rp->prev.n_valid),
			m.data ? (char *)m.data : "");
		vf_buf_release(&m);
	}
	if (md->version != rp->trusted->version + 1)
		problem(rp, "version %llu does not follow the trusted root's version %llu: expected "
			"%llu", (unsigned long long)md->version,
			(unsigned long long)rp->trusted->version,
			(unsigned long long)rp->trusted->version + 1);
}

static void print_text(const struct report *rp)
{
	char t1[VF_TUF_TIME_LEN + 1], t2[VF_TUF_TIME_LEN + 1];
	const struct vf_tuf_md *md = rp->md;
	bool first = true;

	printf("'%s': root version %llu, spec_version %s, consistent_snapshot %s\n", rp->path,
	       (unsigned long long)md->version, md->spec_version,
	       md->consistent_snapshot ? "true" : "false");
	if (rp->digest[0])
		printf("signed content sha256 %s\n", rp->digest);
	printf("expires %s: %s at %s\n", fmt_time(md->expires, t1),
	       vf_tuf_md_is_expired(md, rp->now) ? "EXPIRED" : "valid", fmt_time(rp->now, t2));
	for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++) {
		const struct vf_tuf_role *ro = &md->roles[i];

		printf("role %s: threshold %llu, %zu key%s%s\n", role_name(i),
		       (unsigned long long)ro->threshold, ro->n_keyids, vf_cli_plural(ro->n_keyids),
		       role_unfinished(ro) ? " (NOT ENOUGH KEYS)" : "");
		for (size_t k = 0; k < ro->n_keyids; k++) {
			if (i == VF_TUF_ROOT - 1)
				printf("  %s %-7s %s\n", ro->keyids[k], keytype_of(md, ro->keyids[k]),
				       vf_cli_sig_state(rp->md, &rp->self, ro->keyids[k]));
			else
				printf("  %s %s\n", ro->keyids[k], keytype_of(md, ro->keyids[k]));
		}
		if (i == VF_TUF_ROOT - 1) {
			vf_cli_print_threshold("  ", &rp->self);
		}
	}
	for (size_t i = 0; i < md->n_sigs && i < rp->self.n_status; i++) {
		bool prev_ok = rp->trusted && i < rp->prev.n_status &&
			       rp->prev.status[i] == VF_TUF_SIG_VALID;

		if (rp->self.status[i] == VF_TUF_SIG_VALID)
			continue;
		if (first)
			printf("signatures not counted for role root:\n");
		first = false;
		printf("  %s %s%s\n", md->sigs[i].keyid, vf_tuf_sig_status_name(rp->self.status[i]),
		       prev_ok ? " (valid for the trusted root)" : "");
	}
	if (rp->trusted) {
		printf("trusted root '%s' (version %llu): its role root over this file:\n",
		       rp->trusted_path, (unsigned long long)rp->trusted->version);
		vf_cli_print_threshold("  ", &rp->prev);
		for (size_t i = 0; i < md->n_sigs && i < rp->prev.n_status; i++)
			if (rp->prev.status[i] != VF_TUF_SIG_VALID)
				printf("  not counted: %s %s\n", md->sigs[i].keyid,
				       vf_tuf_sig_status_name(rp->prev.status[i]));
		printf("version %llu %s trusted version %llu\n", (unsigned long long)md->version,
		       md->version == rp->trusted->version + 1 ? "follows" : "DOES NOT FOLLOW",
		       (unsigned long long)rp->trusted->version);
	}
	if (!rp->n_problems) {
		printf("ok\n");
		return;
	}
	printf("FAILED: %zu problem%s\n", rp->n_problems, vf_cli_plural(rp->n_problems));
	for (size_t i = 0; i < rp->n_problems; i++)
		printf("  %s\n", rp->problems[i]);
}

static json_t *report_json(const struct report *rp)
{
	char t1[VF_TUF_TIME_LEN + 1], t2[VF_TUF_TIME_LEN + 1];
	const struct vf_tuf_md *md = rp->md;
	json_t *o, *roles, *sigs, *v;

	o = json_pack("{s:s, s:I, s:s, s:b, s:s, s:s, s:b, s:o, s:o, s:o, s:b}", "file", rp->path,
		      "version", (json_int_t)md->version, "spec_version", md->spec_version,
		      "consistent_snapshot", md->consistent_snapshot, "expires",
		      fmt_time(md->expires, t1), "now", fmt_time(rp->now, t2), "expired",
		      vf_tuf_md_is_expired(md, rp->now), "roles", roles = json_object(),
		      "signatures", sigs = json_array(), "problems",
		      vf_cli_strv_json(rp->problems, rp->n_problems), "ok", rp->n_problems == 0);
	if (!o || json_object_set_new(o, "signed_sha256",
				      rp->digest[0] ? json_string(rp->digest) : json_null()))
		goto fail;
	for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++) {
		const struct vf_tuf_role *ro = &md->roles[i];
		json_t *keys = json_array(), *r;

		r = i == VF_TUF_ROOT - 1 ? vf_cli_result_json(&rp->self) : json_object();
		if (!keys || !r || json_object_set_new(roles, role_name(i), r) ||
		    json_object_set_new(r, "keys", keys) ||
		    json_object_set_new(r, "threshold", json_integer((json_int_t)ro->threshold)) ||
		    json_object_set_new(r, "enough_keys", json_boolean(!role_unfinished(ro))))
			goto fail;
		for (size_t k = 0; k < ro->n_keyids; k++) {
			const struct vf_tuf_key *tk = vf_tuf_keys_find(&md->keys, ro->keyids[k]);

			char computed[65];

			v = json_pack("{s:s, s:s, s:s, s:b}", "keyid", ro->keyids[k], "keytype",
				      tk ? tk->keytype : "?", "scheme", tk ? tk->scheme : "?",
				      "keyid_is_sha256", !tk || keyid_is_sha256(tk, computed));
			if (!v || json_array_append_new(keys, v))
				goto fail;
			if (i == VF_TUF_ROOT - 1 &&
			    json_object_set_new(v, "signature",
						json_string(vf_cli_sig_state(rp->md, &rp->self, ro->keyids[k]))))
				goto fail;
		}
	}
	for (size_t i = 0; i < md->n_sigs && i < rp->self.n_status; i++) {
		v = json_pack("{s:s, s:s}", "keyid", md->sigs[i].keyid, "status",
			      vf_tuf_sig_status_name(rp->self.status[i]));
		if (!v || json_array_append_new(sigs, v))
			goto fail;
		if (rp->trusted && i < rp->prev.n_status &&
		    json_object_set_new(v, "trusted_status",
					json_string(vf_tuf_sig_status_name(rp->prev.status[i]))))
			goto fail;
	}
	if (rp->trusted) {
		if (!(v = vf_cli_result_json(&rp->prev)) || json_object_set_new(o, "trusted", v) ||
		    json_object_set_new(v, "file", json_string(rp->trusted_path)) ||
		    json_object_set_new(v, "version", json_integer((json_int_t)rp->trusted->version)) ||
		    json_object_set_new(v, "version_follows",
					json_boolean(md->version == rp->trusted->version + 1)))
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

static int root_verify(const struct vf_cli_cmd *self, const struct args *a)
{
	struct report rp = { .path = a->op[0], .trusted_path = a->trusted };
	struct vf_err err = { 0 };
	struct vf_tuf_md *md = NULL, *prev = NULL;
	json_t *j = NULL;
	int rc = VF_EXIT_FAIL, r;

	if ((rc = vf_cli_now(self, a->now, &rp.now)))
		return rc;
	/* this file's foreign keyids are problems below, not warnings */
	if (root_read(rp.path, &md, &err) || (a->trusted && root_load(a->trusted, &prev, &err)))
		goto fail;
	rp.md = md;
	rp.trusted = prev;
	vf_cli_signed_digest(md, rp.digest);
	r = vf_tuf_verify(md, "root", md, &rp.self, &err);
	if (r && r != -VF_EVERIFY) {
		vf_err_prefix(&err, "'%s'", rp.path);
		goto fail;
	}
	if (prev) {
		r = vf_tuf_verify(prev, "root", md, &rp.prev, &err);
		if (r && r != -VF_EVERIFY) {
			vf_err_prefix(&err, "'%s' with trusted root '%s'", rp.path, a->trusted);
			goto fail;
		}
	}
	collect_problems(&rp);
	if (rp.oom) {
		vf_err_set(&err, ENOMEM, "out of memory");
		goto fail;
	}
	if (a->json)
		j = report_json(&rp);
	else
		print_text(&rp);
	rc = vf_cli_report_finish(j, a->json, rp.path, rp.problems, rp.n_problems, &err);
	if (rc < 0)
		goto fail;
	goto out;
fail:
	rc = vf_cli_fail(&err);
out:
	json_decref(j);
	vf_cli_strv_free(rp.problems, rp.n_problems);
	vf_tuf_verify_result_release(&rp.self);
	vf_tuf_verify_result_release(&rp.prev);
	vf_tuf_md_free(md);
	vf_tuf_md_free(prev);
	return rc;
}

/* ---- dispatch ------------------------------------------------------------------------------------ */

struct sub {
	const char *name;
	unsigned options;
	size_t n_ops;
	const char *operands;
	int (*run)(const struct vf_cli_cmd *self, const struct args *a);
};

static const struct sub subs[] = {
	{ "init", A_EXPIRES | A_NOW, 1, "<root.json>", root_init },
	{ "add-key", A_ROLE, 2, "<root.json> <key>", root_add_key },
	{ "remove-key", A_ROLE, 2, "<root.json> <keyid>", root_remove_key },
	{ "set-threshold", 0, 3, "<root.json> <role> <n>", root_set_threshold },
	{ "expire", A_NOW, 2, "<root.json> <when>", root_expire },
	{ "bump-version", 0, 1, "<root.json>", root_bump_version },
	{ "sign", A_KEY | A_PREVIOUS, 1, "<root.json>", root_sign },
	{ "merge", A_OUTPUT | A_PREVIOUS, 2, "<a.json> <b.json>", root_merge },
	{ "verify", A_NOW | A_TRUSTED | A_JSON, 1, "<root.json>", root_verify },
};

int cmd_root(int argc, char **argv)
{
	const struct vf_cli_cmd *self = vf_cli_cmd_find("root");
	struct args a;
	int r;

	if (argc < 2)
		return vf_cli_usage(self, "missing the subcommand: init, add-key, remove-key, "
				    "set-threshold, expire, bump-version, sign, merge, verify or rotate");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		vf_cli_help(self);
		return VF_EXIT_OK;
	}
	if (strcmp(argv[1], "rotate") == 0)
		return vf_cli_root_rotate(self, argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(argv[1], subs[i].name) != 0)
			continue;
		r = parse_args(self, argc - 1, argv + 1, subs[i].options, subs[i].n_ops,
			       subs[i].operands, &a);
		if (r)
			return r < 0 ? VF_EXIT_OK : r;
		return subs[i].run(self, &a);
	}
	return vf_cli_usage(self, "unknown subcommand '%s': expected init, add-key, remove-key, "
			    "set-threshold, expire, bump-version, sign, merge, verify or rotate", argv[1]);
}
