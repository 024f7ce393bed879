/*
 * vforge CLI: what `vforge root` and `vforge metadata` share to sign TUF
 * metadata on separate machines: who may sign a role, signing under the keyid
 * the delegator lists, the signed-content digest signers compare, the
 * threshold line, and merging the signatures of copies of one document.
 */
#include "builder/cli/cli.h"

#include "builder/base/buf.h"
#include "builder/base/hex.h"
#include "keys/digest.h"
#include "keys/key.h"
#include "repo/metadata.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int nomem(struct vf_err *err)
{
	return vf_err_set(err, ENOMEM, "out of memory");
}

static bool strv_has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static const char *fmt_time(time_t t, char out[VF_TUF_TIME_LEN + 1])
{
	if (vf_tuf_time_format(t, out))
		snprintf(out, VF_TUF_TIME_LEN + 1, "@%lld", (long long)t);
	return out;
}

const char *vf_cli_plural(size_t n)
{
	return n == 1 ? "" : "s";
}

void vf_cli_keyid_list(struct vf_buf *b, char *const *ids, size_t n)
{
	if (!n)
		vf_buf_add_str(b, "none");
	for (size_t i = 0; i < n; i++)
		vf_buf_add_fmt(b, "%s%s", i ? ", " : "", ids[i]);
}

const char *vf_cli_key_ref_label(const char *ref, char *buf, size_t len)
{
	if (strncmp(ref, "pkcs11:", 7) == 0)
		snprintf(buf, len, "the pkcs11: key");
	else if (strncmp(ref, "exec:", 5) == 0)
		snprintf(buf, len, "the exec: signer");
	else
		snprintf(buf, len, "'%s'", ref);
	return buf;
}

void vf_cli_sort_signatures(struct vf_tuf_md *md)
{
	/* insertion sort: stable, so entries of one keyid keep their order */
	for (size_t i = 1; i < md->n_sigs; i++) {
		struct vf_tuf_sig s = md->sigs[i];
		size_t k = i;

		for (; k > 0 && strcmp(md->sigs[k - 1].keyid, s.keyid) > 0; k--)
			md->sigs[k] = md->sigs[k - 1];
		md->sigs[k] = s;
	}
}

void vf_cli_signed_digest(const struct vf_tuf_md *md, char out[65])
{
	struct vf_buf b = VF_BUF_INIT;
	uint8_t d[32];

	out[0] = '\0';
	if (!vf_tuf_md_format_signed(md, &b, NULL) &&
	    !vf_digest_buffer(vf_digest_alg_get("sha256"), b.data, b.len, d))
		vf_hex_format(d, sizeof(d), out);
	vf_buf_release(&b);
}

void vf_cli_print_threshold(const char *label, const struct vf_tuf_verify_result *res)
{
	printf("%s%zu of threshold %llu valid signature%s", label, res->n_valid,
	       (unsigned long long)res->threshold, vf_cli_plural(res->n_valid));
	if (res->n_valid >= res->threshold) {
		printf(": threshold met\n");
		return;
	}
	printf("; needs %llu more of: ", (unsigned long long)(res->threshold - res->n_valid));
	for (size_t i = 0; i < res->n_missing; i++)
		printf("%s%s", i ? ", " : "", res->missing[i]);
	printf("%s\n", res->n_missing ? "" : "none (not enough keys)");
}

const char *vf_cli_sig_state(const struct vf_tuf_md *md, const struct vf_tuf_verify_result *res,
			     const char *keyid)
{
	for (size_t i = 0; i < res->n_valid; i++)
		if (strcmp(res->valid[i], keyid) == 0)
			return "valid";
	for (size_t i = 0; i < md->n_sigs && i < res->n_status; i++)
		if (strcmp(md->sigs[i].keyid, keyid) == 0)
			return vf_tuf_sig_status_name(res->status[i]);
	return "not signed";
}

struct json_t *vf_cli_strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

struct json_t *vf_cli_result_json(const struct vf_tuf_verify_result *res)
{
	return json_pack("{s:I, s:o, s:o, s:b}", "threshold", (json_int_t)res->threshold, "valid",
			 vf_cli_strv_json(res->valid, res->n_valid), "missing",
			 vf_cli_strv_json(res->missing, res->n_missing), "threshold_met",
			 res->n_valid >= res->threshold);
}

/* ---- who may sign a role ---------------------------------------------------------------- */

/* "it delegates to the hash bins bins-0 to bins-3" */
static void add_bins(struct vf_buf *m, const struct vf_tuf_succinct *s)
{
	char *first = NULL, *last = NULL;
	uint32_t n_last = (uint32_t)((1ULL << s->bit_length) - 1);

	if (!vf_tuf_bin_name(s->name_prefix, s->bit_length, 0, &first, NULL) &&
	    !vf_tuf_bin_name(s->name_prefix, s->bit_length, n_last, &last, NULL))
		vf_buf_add_fmt(m, "it delegates to the hash bins %s to %s", first, last);
	else
		vf_buf_add_fmt(m, "it delegates to the hash bins of %s", s->name_prefix);
	free(first);
	free(last);
}

int vf_cli_authority_get(const struct vf_tuf_md *delegator, const char *role,
			 struct vf_cli_authority *ret, struct vf_err *err)
{
	const struct vf_tuf_role *r = vf_tuf_md_find_role(delegator, role);
	const struct vf_tuf_delegations *d = delegator->delegations;
	struct vf_buf m = VF_BUF_INIT;
	int rc;

	memset(ret, 0, sizeof(*ret));
	ret->role = role;
	ret->delegator = delegator;
	ret->keys = vf_tuf_md_keys(delegator);
	if (r && ret->keys) {
		ret->keyids = r->keyids;
		ret->n_keyids = r->n_keyids;
		ret->threshold = r->threshold;
		return 0;
	}
	if (delegator->type == VF_TUF_ROOT)
		return vf_err_set(err, ENOENT, "role %s: not a top-level role (root, targets, "
				  "snapshot, timestamp)", role);
	if (delegator->type != VF_TUF_TARGETS)
		return vf_err_set(err, EINVAL, "%s metadata delegates to no roles: expected the "
				  "targets metadata that delegates role %s",
				  vf_tuf_type_name(delegator->type), role);
	if (d && d->succinct && vf_tuf_succinct_has_role(d->succinct, role, NULL)) {
		ret->keyids = d->succinct->keyids;
		ret->n_keyids = d->succinct->n_keyids;
		ret->threshold = d->succinct->threshold;
		return 0;
	}
	if (!d)
		vf_buf_add_str(&m, "it has no delegations");
	else if (d->succinct)
		add_bins(&m, d->succinct);
	else
		for (size_t i = 0; i < d->n_roles || i == 0; i++)
			vf_buf_add_fmt(&m, "%s%s", i ? ", " : "it delegates to: ",
				       d->n_roles ? d->roles[i].name : "no roles");
	rc = vf_err_set(err, ENOENT, "role %s is not delegated by this targets metadata (%s)", role,
			m.data ? (char *)m.data : "");
	vf_buf_release(&m);
	return rc;
}

/* ---- signing ------------------------------------------------------------------------------ */

/* The keyids under which `auths` authorise `key` for the role, appended to *made. */
static int authorised_ids(const struct vf_key *key, size_t signer,
			  const struct vf_cli_authority *auths, size_t n_auths,
			  struct vf_cli_sig_made **made, size_t *n_made, struct vf_err *err)
{
	for (size_t a = 0; a < n_auths; a++) {
		const char *id = vf_tuf_keys_find_key(auths[a].keys, key);
		struct vf_cli_sig_made *v;
		bool seen = false;

		if (!id || !strv_has(auths[a].keyids, auths[a].n_keyids, id))
			continue;
		for (size_t k = 0; k < *n_made; k++)
			seen = seen || ((*made)[k].signer == signer && strcmp((*made)[k].keyid, id) == 0);
		if (seen)
			continue;
		if (!(v = realloc(*made, (*n_made + 1) * sizeof(*v))))
			return nomem(err);
		*made = v;
		snprintf(v[*n_made].keyid, sizeof(v[*n_made].keyid), "%s", id);
		v[(*n_made)++].signer = signer;
	}
	return 0;
}

/* "'x.json': --key 'k.pem' (keyid …) is not authorised for role root; authorised keyids: …" */
static int unauthorised(const char *path, const char *role, const struct vf_key *key,
			const char *ref, const struct vf_cli_authority *auths, size_t n_auths,
			struct vf_err *err)
{
	struct vf_buf m = VF_BUF_INIT;
	const char *listed = NULL;
	char keyid[65], label[4200];
	int r;

	for (size_t a = 0; a < n_auths && !listed; a++)
		listed = vf_tuf_keys_find_key(auths[a].keys, key);
	if (listed)
		snprintf(keyid, sizeof(keyid), "%s", listed);
	else if ((r = vf_tuf_keyid(key, keyid, err)))
		return vf_err_prefix(err, "--key %s", vf_cli_key_ref_label(ref, label, sizeof(label)));
	for (size_t a = 0; a < n_auths; a++) {
		if (a)
			vf_buf_add_str(&m, "; ");
		if (auths[a].label)
			vf_buf_add_fmt(&m, "%s: ", auths[a].label);
		vf_cli_keyid_list(&m, auths[a].keyids, auths[a].n_keyids);
	}
	r = vf_err_set(err, EPERM, "'%s': --key %s (keyid %s) is not authorised for role %s; "
		       "authorised keyids: %s", path, vf_cli_key_ref_label(ref, label, sizeof(label)),
		       keyid, role, m.data ? (char *)m.data : "");
	vf_buf_release(&m);
	return r;
}

int vf_cli_sign(struct vf_tuf_md *md, const char *path, const char *role,
		struct vf_signer *const *signers, const char *const *refs, size_t n,
		const struct vf_cli_authority *auths, size_t n_auths,
		struct vf_cli_sig_made **ret, size_t *ret_n, struct vf_err *err)
{
	struct vf_cli_sig_made *made = NULL;
	struct vf_buf payload = VF_BUF_INIT;
	uint8_t **sig = NULL;
	size_t *sig_len = NULL, n_made = 0;
	int r = 0;

	*ret = NULL;
	*ret_n = 0;
	/* every key must be authorised before anything is signed */
	for (size_t i = 0; i < n; i++) {
		size_t before = n_made;
		const struct vf_key *key = vf_signer_key(signers[i]);

		if ((r = authorised_ids(key, i, auths, n_auths, &made, &n_made, err)))
			goto out;
		if (n_made == before) {
			r = unauthorised(path, role, key, refs[i], auths, n_auths, err);
			goto out;
		}
	}
	if ((r = vf_tuf_md_format_signed(md, &payload, err))) {
		vf_err_prefix(err, "'%s'", path);
		goto out;
	}
	if (n && (!(sig = calloc(n, sizeof(*sig))) || !(sig_len = calloc(n, sizeof(*sig_len))))) {
		r = nomem(err);
		goto out;
	}
	/* sign with every key first, so that a failure changes nothing */
	for (size_t i = 0; i < n; i++) {
		if ((r = vf_signer_sign(signers[i], payload.data, payload.len, &sig[i], &sig_len[i],
					err))) {
			const char *id = made[0].keyid;

			for (size_t k = 0; k < n_made; k++)
				if (made[k].signer == i) {
					id = made[k].keyid;
					break;
				}
			vf_err_prefix(err, "'%s': signing with key %.16s%s", path, id,
				      strlen(id) > 16 ? "..." : "");
			goto out;
		}
	}
	for (size_t k = 0; k < n_made; k++) {
		size_t i = made[k].signer;

		if ((r = vf_tuf_md_add_signature(md, made[k].keyid, sig[i], sig_len[i], err))) {
			vf_err_prefix(err, "'%s'", path);
			goto out;
		}
	}
	*ret = made;
	*ret_n = n_made;
	made = NULL;
out:
	for (size_t i = 0; sig && i < n; i++)
		free(sig[i]);
	free(sig);
	free(sig_len);
	free(made);
	vf_buf_release(&payload);
	return r;
}

/* ---- merging ------------------------------------------------------------------------------ */

#define SEP (m->len > start ? "; " : "")

/* At most this many target paths or meta names are named in a difference. */
#define MAX_NAMED 3

static void diff_keys(const struct vf_tuf_keys *a, const struct vf_tuf_keys *b, const char *what,
		      struct vf_buf *m, size_t start)
{
	for (size_t i = 0; i < a->n; i++)
		if (!vf_tuf_keys_find(b, a->v[i].keyid))
			vf_buf_add_fmt(m, "%s%s: %s only in the first", SEP, what, a->v[i].keyid);
	for (size_t i = 0; i < b->n; i++)
		if (!vf_tuf_keys_find(a, b->v[i].keyid))
			vf_buf_add_fmt(m, "%s%s: %s only in the second", SEP, what, b->v[i].keyid);
}

static bool same_strv(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static bool same_json(const json_t *a, const json_t *b)
{
	return (!a && !b) || (a && b && json_equal(a, b));
}

static bool same_hashes(const struct vf_tuf_hashes *a, const struct vf_tuf_hashes *b)
{
	return strcasecmp(a->sha256, b->sha256) == 0 && strcasecmp(a->sha512, b->sha512) == 0;
}

static void diff_delegations(const struct vf_tuf_delegations *a,
			     const struct vf_tuf_delegations *b, struct vf_buf *m, size_t start)
{
	if (!a != !b) {
		vf_buf_add_fmt(m, "%sdelegations only in the %s", SEP, a ? "first" : "second");
		return;
	}
	if (!a)
		return;
	diff_keys(&a->keys, &b->keys, "delegations.keys", m, start);
	if (!a->succinct != !b->succinct) {
		vf_buf_add_fmt(m, "%sdelegations.succinct_roles only in the %s", SEP,
			       a->succinct ? "first" : "second");
	} else if (a->succinct) {
		const struct vf_tuf_succinct *x = a->succinct, *y = b->succinct;

		if (strcmp(x->name_prefix, y->name_prefix) != 0 || x->bit_length != y->bit_length ||
		    x->threshold != y->threshold ||
		    !same_strv(x->keyids, x->n_keyids, y->keyids, y->n_keyids))
			vf_buf_add_fmt(m, "%sdelegations.succinct_roles differ", SEP);
	}
	for (size_t i = 0; i < a->n_roles; i++) {
		const struct vf_tuf_role *x = &a->roles[i], *y = NULL;

		for (size_t k = 0; k < b->n_roles && !y; k++)
			if (strcmp(b->roles[k].name, x->name) == 0)
				y = &b->roles[k];
		if (!y) {
			vf_buf_add_fmt(m, "%sdelegations.roles: %s only in the first", SEP, x->name);
			continue;
		}
		if (x->threshold != y->threshold)
			vf_buf_add_fmt(m, "%sdelegations.roles.%s.threshold %llu vs %llu", SEP, x->name,
				       (unsigned long long)x->threshold,
				       (unsigned long long)y->threshold);
		if (!same_strv(x->keyids, x->n_keyids, y->keyids, y->n_keyids))
			vf_buf_add_fmt(m, "%sdelegations.roles.%s.keyids differ (%zu vs %zu keyids)", SEP,
				       x->name, x->n_keyids, y->n_keyids);
		if (x->has_paths != y->has_paths || x->terminating != y->terminating ||
		    !same_strv(x->paths, x->n_paths, y->paths, y->n_paths))
			vf_buf_add_fmt(m, "%sdelegations.roles.%s: paths or terminating differ", SEP,
				       x->name);
		if (i < b->n_roles && y != &b->roles[i])
			vf_buf_add_fmt(m, "%sdelegations.roles: %s at position %zu vs another", SEP,
				       x->name, i + 1);
	}
	for (size_t k = 0; k < b->n_roles; k++) {
		bool found = false;

		for (size_t i = 0; i < a->n_roles && !found; i++)
			found = strcmp(a->roles[i].name, b->roles[k].name) == 0;
		if (!found)
			vf_buf_add_fmt(m, "%sdelegations.roles: %s only in the second", SEP,
				       b->roles[k].name);
	}
}

/* targets (sorted by path) walked side by side */
static void diff_targets(const struct vf_tuf_md *a, const struct vf_tuf_md *b, struct vf_buf *m,
			 size_t start)
{
	size_t i = 0, k = 0, named = 0, more = 0;

	while (i < a->n_targets || k < b->n_targets) {
		const struct vf_tuf_target *x = i < a->n_targets ? a->targets[i] : NULL;
		const struct vf_tuf_target *y = k < b->n_targets ? b->targets[k] : NULL;
		int c = !x ? 1 : !y ? -1 : strcmp(x->path, y->path);
		const char *what = NULL, *path = c <= 0 ? x->path : y->path;

		if (c < 0)
			what = "only in the first";
		else if (c > 0)
			what = "only in the second";
		else if (x->length != y->length)
			what = "length differs";
		else if (!same_hashes(&x->hashes, &y->hashes))
			what = "hashes differ";
		else if (!same_json(x->custom, y->custom) || !same_json(x->extra, y->extra))
			what = "custom differs";
		i += c <= 0;
		k += c >= 0;
		if (!what)
			continue;
		if (named < MAX_NAMED) {
			vf_buf_add_fmt(m, "%stargets: \"%s\" %s", SEP, path, what);
			named++;
		} else {
			more++;
		}
	}
	if (more)
		vf_buf_add_fmt(m, "%stargets: %zu more differ", SEP, more);
}

/* meta (sorted by name) walked side by side */
static void diff_meta(const struct vf_tuf_md *a, const struct vf_tuf_md *b, struct vf_buf *m,
		      size_t start)
{
	size_t i = 0, k = 0, named = 0, more = 0;

	while (i < a->n_meta || k < b->n_meta) {
		const struct vf_tuf_meta *x = i < a->n_meta ? a->meta[i] : NULL;
		const struct vf_tuf_meta *y = k < b->n_meta ? b->meta[k] : NULL;
		int c = !x ? 1 : !y ? -1 : strcmp(x->name, y->name);
		const char *name = c <= 0 ? x->name : y->name;
		char what[96] = "";

		if (c)
			snprintf(what, sizeof(what), "only in the %s", c < 0 ? "first" : "second");
		else if (x->version != y->version)
			snprintf(what, sizeof(what), "version %llu vs %llu",
				 (unsigned long long)x->version, (unsigned long long)y->version);
		else if (x->has_length != y->has_length || x->length != y->length)
			snprintf(what, sizeof(what), "length differs");
		else if (!same_hashes(&x->hashes, &y->hashes))
			snprintf(what, sizeof(what), "hashes differ");
		i += c <= 0;
		k += c >= 0;
		if (!what[0])
			continue;
		if (named < MAX_NAMED) {
			vf_buf_add_fmt(m, "%smeta.%s: %s", SEP, name, what);
			named++;
		} else {
			more++;
		}
	}
	if (more)
		vf_buf_add_fmt(m, "%smeta: %zu more differ", SEP, more);
}

void vf_cli_describe_diff(const struct vf_tuf_md *a, const struct vf_tuf_md *b, struct vf_buf *m)
{
	char t1[VF_TUF_TIME_LEN + 1], t2[VF_TUF_TIME_LEN + 1];
	size_t start = m->len;

	if (a->type != b->type) {
		vf_buf_add_fmt(m, "_type %s vs %s", vf_tuf_type_name(a->type),
			       vf_tuf_type_name(b->type));
		return;
	}
	if (strcmp(a->spec_version, b->spec_version) != 0)
		vf_buf_add_fmt(m, "%sspec_version %s vs %s", SEP, a->spec_version, b->spec_version);
	if (a->version != b->version)
		vf_buf_add_fmt(m, "%sversion %llu vs %llu", SEP, (unsigned long long)a->version,
			       (unsigned long long)b->version);
	if (a->expires != b->expires)
		vf_buf_add_fmt(m, "%sexpires %s vs %s", SEP, fmt_time(a->expires, t1),
			       fmt_time(b->expires, t2));
	if (a->type == VF_TUF_ROOT) {
		if (a->consistent_snapshot != b->consistent_snapshot)
			vf_buf_add_fmt(m, "%sconsistent_snapshot %s vs %s", SEP,
				       a->consistent_snapshot ? "true" : "false",
				       b->consistent_snapshot ? "true" : "false");
		diff_keys(&a->keys, &b->keys, "keys", m, start);
		for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++) {
			const struct vf_tuf_role *ra = &a->roles[i], *rb = &b->roles[i];
			const char *name = vf_tuf_type_name((enum vf_tuf_type)(i + 1));

			if (!same_strv(ra->keyids, ra->n_keyids, rb->keyids, rb->n_keyids))
				vf_buf_add_fmt(m, "%sroles.%s.keyids differ (%zu vs %zu keyids)", SEP,
					       name, ra->n_keyids, rb->n_keyids);
			if (ra->threshold != rb->threshold)
				vf_buf_add_fmt(m, "%sroles.%s.threshold %llu vs %llu", SEP, name,
					       (unsigned long long)ra->threshold,
					       (unsigned long long)rb->threshold);
		}
	}
	if (a->type == VF_TUF_TARGETS) {
		diff_targets(a, b, m, start);
		diff_delegations(a->delegations, b->delegations, m, start);
	}
	if (a->type == VF_TUF_SNAPSHOT || a->type == VF_TUF_TIMESTAMP)
		diff_meta(a, b, m, start);
	if (m->len == start)
		vf_buf_add_str(m, "other members of \"signed\" differ");
}

#undef SEP

/* How a signature checked against the keys known (vf_cli_merge()). */
enum sig_check { SIG_OK, SIG_BAD, SIG_UNCHECKED, SIG_EMPTY };

/* Check one signature against each key set that lists its keyid: valid if one verifies. */
static int check_one_sig(const struct vf_tuf_keys *const *sets, size_t n_sets,
			 const struct vf_buf *payload, const struct vf_tuf_sig *s,
			 enum sig_check *ret, struct vf_err *err)
{
	size_t hex_len = strlen(s->sig), len = 0;
	uint8_t *raw = NULL;
	int r = 0;

	*ret = SIG_UNCHECKED;
	if (!hex_len) {
		*ret = SIG_EMPTY;
		return 0;
	}
	for (size_t i = 0; i < n_sets && *ret != SIG_OK; i++) {
		const struct vf_tuf_key *tk = vf_tuf_keys_find(sets[i], s->keyid);
		struct vf_key *key = NULL;

		if (!tk || vf_tuf_key_build_public(tk, &key, NULL))
			continue;
		if (!raw && !(raw = malloc(hex_len / 2 + 1))) {
			vf_key_free(key);
			r = nomem(err);
			goto out;
		}
		if (vf_hex_parse(s->sig, raw, hex_len / 2 + 1, &len) || !len)
			r = -VF_EVERIFY;
		else
			r = vf_key_verify(key, payload->data, payload->len, raw, len);
		vf_key_free(key);
		if (r != 0 && r != -VF_EVERIFY) {
			r = vf_err_set(err, -r, "verifying the signature by keyid %s failed", s->keyid);
			goto out;
		}
		*ret = r ? SIG_BAD : SIG_OK;
		r = 0;
	}
out:
	free(raw);
	return r;
}

/* Add a signature given as hex to md (replacing one by the same keyid). */
static int take_sig(struct vf_tuf_md *md, const struct vf_tuf_sig *s, struct vf_err *err)
{
	size_t hex_len = strlen(s->sig), len = 0;
	uint8_t *raw = malloc(hex_len / 2 + 1);
	int r;

	if (!raw)
		return nomem(err);
	if (vf_hex_parse(s->sig, raw, hex_len / 2 + 1, &len))
		r = vf_err_set(err, EINVAL, "signature by keyid %s: not hex", s->keyid);
	else
		r = vf_tuf_md_add_signature(md, s->keyid, raw, len, err);
	free(raw);
	return r;
}

/* What the merged document holds for one keyid: how it checked and which input gave it. */
struct held {
	char *keyid;
	enum sig_check check;
	size_t origin;
};

static struct held *held_find(struct held *v, size_t n, const char *keyid)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].keyid, keyid) == 0)
			return &v[i];
	return NULL;
}

static int held_add(struct held **v, size_t *n, const char *keyid, enum sig_check check,
		    size_t origin)
{
	struct held *nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n].keyid = strdup(keyid)))
		return -ENOMEM;
	nv[*n].check = check;
	nv[(*n)++].origin = origin;
	return 0;
}

static const char *sig_of(const struct vf_tuf_md *md, const char *keyid)
{
	for (size_t i = 0; i < md->n_sigs; i++)
		if (strcmp(md->sigs[i].keyid, keyid) == 0)
			return md->sigs[i].sig;
	return "";
}

int vf_cli_merge(struct vf_tuf_md *const *mds, const char *const *paths, size_t n,
		 const struct vf_tuf_keys *const *sets, size_t n_sets, const char *unchecked_why,
		 size_t *counts, struct vf_err *err)
{
	struct vf_buf *payload = NULL, m = VF_BUF_INIT;
	enum sig_check **check = NULL;
	struct held *held = NULL;
	size_t n_held = 0;
	struct vf_tuf_md *acc = mds[0];
	int r = 0;

	if (!(payload = calloc(n, sizeof(*payload))) || !(check = calloc(n, sizeof(*check)))) {
		r = nomem(err);
		goto out;
	}
	for (size_t f = 0; f < n; f++) {
		if ((r = vf_tuf_md_format_signed(mds[f], &payload[f], err))) {
			vf_err_prefix(err, "'%s'", paths[f]);
			goto out;
		}
		if (f && (payload[f].len != payload[0].len ||
			  memcmp(payload[f].data, payload[0].data, payload[0].len) != 0)) {
			vf_cli_describe_diff(mds[0], mds[f], &m);
			r = vf_err_set(err, EINVAL, "'%s' and '%s' sign different content, so their "
				       "signatures cannot be merged: %s", paths[0], paths[f],
				       m.data ? (char *)m.data : "");
			goto out;
		}
	}
	for (size_t f = 0; f < n; f++) {
		if (mds[f]->n_sigs && !(check[f] = calloc(mds[f]->n_sigs, sizeof(**check)))) {
			r = nomem(err);
			goto out;
		}
		for (size_t i = 0; i < mds[f]->n_sigs; i++) {
			if ((r = check_one_sig(sets, n_sets, &payload[f], &mds[f]->sigs[i], &check[f][i],
					       err))) {
				vf_err_prefix(err, "'%s'", paths[f]);
				goto out;
			}
			if (check[f][i] == SIG_BAD) {
				r = vf_err_set(err, VF_EVERIFY, "'%s': the signature by keyid %s does not "
					       "verify: refusing to merge it", paths[f],
					       mds[f]->sigs[i].keyid);
				goto out;
			}
		}
	}
	counts[0] = acc->n_sigs;
	for (size_t i = 0; i < acc->n_sigs; i++)
		if (!held_find(held, n_held, acc->sigs[i].keyid) &&
		    held_add(&held, &n_held, acc->sigs[i].keyid, check[0][i], 0)) {
			r = nomem(err);
			goto out;
		}
	for (size_t f = 1; f < n; f++) {
		counts[f] = 0;
		for (size_t i = 0; i < mds[f]->n_sigs; i++) {
			const struct vf_tuf_sig *s = &mds[f]->sigs[i];
			struct held *h = held_find(held, n_held, s->keyid);
			enum sig_check c = check[f][i];

			if (!h) {
				if (c == SIG_EMPTY) /* "" adds nothing a signer can use */
					continue;
				if (c == SIG_UNCHECKED && n_sets)
					fprintf(stderr, "vforge: note: '%s': keeping the signature by keyid "
						"%s unchecked: %s\n", paths[f], s->keyid, unchecked_why);
				if ((r = take_sig(acc, s, err))) {
					vf_err_prefix(err, "'%s'", paths[f]);
					goto out;
				}
				if (held_add(&held, &n_held, s->keyid, c, f)) {
					r = nomem(err);
					goto out;
				}
				counts[f]++;
				continue;
			}
			/* a keyid this input already gave (its first signature is taken) */
			if (h->origin == f)
				continue;
			if (strcasecmp(sig_of(acc, s->keyid), s->sig) == 0 || c == SIG_EMPTY)
				continue;
			if (h->check == SIG_EMPTY) {
				if ((r = take_sig(acc, s, err))) {
					vf_err_prefix(err, "'%s'", paths[f]);
					goto out;
				}
				h->check = c;
				h->origin = f;
				counts[f]++;
				continue;
			}
			fprintf(stderr, "vforge: note: keyid %s signed both files with different %s "
				"signatures (ECDSA and RSA-PSS signatures differ each time): keeping the "
				"one in '%s'\n", s->keyid,
				h->check == SIG_OK && c == SIG_OK ? "valid" : "uncheckable",
				paths[h->origin]);
		}
	}
out:
	for (size_t i = 0; i < n_held; i++)
		free(held[i].keyid);
	free(held);
	for (size_t f = 0; check && f < n; f++)
		free(check[f]);
	free(check);
	for (size_t f = 0; payload && f < n; f++)
		vf_buf_release(&payload[f]);
	free(payload);
	vf_buf_release(&m);
	return r;
}

void vf_cli_merge_summary(const char *output, const struct vf_tuf_md *md,
			  const char *const *paths, const size_t *counts, size_t n)
{
	printf("'%s': %zu signature%s: %zu from '%s'", output, md->n_sigs, vf_cli_plural(md->n_sigs),
	       counts[0], paths[0]);
	for (size_t f = 1; f < n; f++)
		printf(", %zu added from '%s'", counts[f], paths[f]);
	printf("\n");
}

void vf_cli_strv_vaddf(char ***v, size_t *n, bool *oom, const char *fmt, va_list ap)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv) {
		*oom = true;
		return;
	}
	*v = nv;
	if (vasprintf(&nv[*n], fmt, ap) < 0) {
		*oom = true;
		return;
	}
	(*n)++;
}

int vf_cli_report_finish(struct json_t *j, bool json, const char *path,
			 char *const *problems, size_t n, struct vf_err *err)
{
	if (json) {
		if (!j || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
			vf_err_set(err, ENOMEM, "cannot build the JSON report");
			return -1;
		}
		putchar('\n');
	}
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "vforge: error: '%s': %s\n", path, problems[i]);
	return n ? VF_EXIT_VERIFY : VF_EXIT_OK;
}

void vf_cli_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
