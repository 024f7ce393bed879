/*
 * repo: TUF keys and signatures: key objects and keyids, signing, and
 * threshold verification over distinct authorised keys.
 */
#include "repo/cjson.h"
#include "repo/internal.h"

#include "builder/base/hex.h"
#include "builder/base/parallel.h"
#include "keys/digest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nomem(struct vf_err *err)
{
	return vf_err_set(err, ENOMEM, "out of memory");
}

const char *vf_tuf_short_keyid(const char *keyid, char out[24])
{
	if (strlen(keyid) <= 16)
		snprintf(out, 24, "%s", keyid);
	else
		snprintf(out, 24, "%.16s...", keyid);
	return out;
}

int vf_tuf_sha256_hex(const void *data, size_t len, char out[65])
{
	const struct vf_digest_alg *alg = vf_digest_alg_get("sha256");
	uint8_t d[32];
	int r;

	if (!alg)
		return -EIO;
	if ((r = vf_digest_buffer(alg, data, len, d)))
		return r;
	vf_hex_format(d, 32, out);
	return 0;
}

/* ---- keys -------------------------------------------------------------------------- */

int vf_tuf_key_build_json(const struct vf_key *key, void **ret_json, struct vf_err *err)
{
	char *pub = NULL;
	json_t *o;
	int r;

	if ((r = vf_key_public_text(key, &pub, err)))
		return r;
	o = json_pack("{s:s, s:s, s:{s:s}}", "keytype", vf_key_keytype(key), "scheme",
		      vf_key_scheme(key), "keyval", "public", pub);
	free(pub);
	if (!o)
		return nomem(err);
	*ret_json = o;
	return 0;
}

int vf_tuf_keyid_of_json(const void *key_json, char out[65], struct vf_err *err)
{
	struct vf_buf canon = VF_BUF_INIT;
	int r;

	/* the encoder leaves its partial output allocated on failure: release it either way */
	if (!(r = vf_cjson_encode(key_json, &canon, err)) &&
	    (r = vf_tuf_sha256_hex(canon.data, canon.len, out)))
		r = vf_err_set(err, -r, "sha256 failed");
	vf_buf_release(&canon);
	return r;
}

int vf_tuf_keyid(const struct vf_key *key, char out[65], struct vf_err *err)
{
	void *json = NULL;
	int r;

	if ((r = vf_tuf_key_build_json(key, &json, err)))
		return r;
	r = vf_tuf_keyid_of_json(json, out, err);
	json_decref(json);
	return r;
}

int vf_tuf_key_build_public(const struct vf_tuf_key *tkey, struct vf_key **ret,
			    struct vf_err *err)
{
	const char *keytype = tkey->keytype;
	char shortid[24];
	int r;

	/* securesystemslib < 1.0 and go-tuf wrote ECDSA keys with keytype = scheme */
	if (strcmp(keytype, "ecdsa-sha2-nistp256") == 0)
		keytype = "ecdsa";
	if ((r = vf_key_from_tuf(keytype, tkey->scheme, tkey->public_text, ret, err)))
		return vf_err_prefix(err, "key %s", vf_tuf_short_keyid(tkey->keyid, shortid));
	return 0;
}

/* ---- signing --------------------------------------------------------------------- */

/* Put (keyid, hex sig) into md: replace the same keyid's, else append. Takes `sig_hex`. */
static int put_sig(struct vf_tuf_md *md, const char *keyid, char *sig_hex, struct vf_err *err)
{
	struct vf_tuf_sig *v;
	char *id;

	for (size_t i = 0; i < md->n_sigs; i++) {
		if (strcmp(md->sigs[i].keyid, keyid) != 0)
			continue;
		free(md->sigs[i].sig);
		md->sigs[i].sig = sig_hex;
		/* drop later duplicates of the same keyid */
		for (size_t k = md->n_sigs; k-- > i + 1;)
			if (strcmp(md->sigs[k].keyid, keyid) == 0) {
				vf_tuf_sig_release(&md->sigs[k]);
				memmove(md->sigs + k, md->sigs + k + 1,
					(md->n_sigs - k - 1) * sizeof(*md->sigs));
				md->n_sigs--;
			}
		return 0;
	}
	if (!(id = strdup(keyid)) || !(v = realloc(md->sigs, (md->n_sigs + 1) * sizeof(*v)))) {
		free(id);
		free(sig_hex);
		return nomem(err);
	}
	md->sigs = v;
	v[md->n_sigs++] = (struct vf_tuf_sig){ id, sig_hex, NULL };
	return 0;
}

static char *hex_of(const uint8_t *b, size_t n)
{
	char *s = malloc(2 * n + 1);

	if (s)
		vf_hex_format(b, n, s);
	return s;
}

int vf_tuf_md_add_signature(struct vf_tuf_md *md, const char *keyid, const uint8_t *sig,
			    size_t sig_len, struct vf_err *err)
{
	char *hex;

	if (!*keyid)
		return vf_err_set(err, EINVAL, "signature: empty keyid");
	if (!sig_len)
		return vf_err_set(err, EINVAL, "signature by %s: empty", keyid);
	if (!(hex = hex_of(sig, sig_len)))
		return nomem(err);
	return put_sig(md, keyid, hex, err);
}

int vf_tuf_md_sign(struct vf_tuf_md *md, struct vf_signer *const *signers, size_t n,
		   struct vf_err *err)
{
	struct vf_buf payload = VF_BUF_INIT;
	char (*keyids)[65] = NULL;
	char **hex = NULL;
	size_t i;
	int r;

	if ((r = vf_tuf_md_format_signed(md, &payload, err)))
		return r;
	if (n && (!(keyids = calloc(n, sizeof(*keyids))) || !(hex = calloc(n, sizeof(*hex))))) {
		r = nomem(err);
		goto out;
	}
	/* sign with every signer first, so that a failure changes nothing */
	for (i = 0; i < n; i++) {
		uint8_t *sig = NULL;
		size_t len = 0;

		if ((r = vf_tuf_keyid(vf_signer_key(signers[i]), keyids[i], err)))
			goto out;
		if ((r = vf_signer_sign(signers[i], payload.data, payload.len, &sig, &len, err))) {
			char shortid[24];

			vf_err_prefix(err, "signing with key %s",
				      vf_tuf_short_keyid(keyids[i], shortid));
			goto out;
		}
		hex[i] = hex_of(sig, len);
		free(sig);
		if (!hex[i]) {
			r = nomem(err);
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		r = put_sig(md, keyids[i], hex[i], err);
		hex[i] = NULL;
		if (r)
			goto out;
	}
out:
	for (i = 0; hex && i < n; i++)
		free(hex[i]);
	free(hex);
	free(keyids);
	vf_buf_release(&payload);
	return r;
}

struct sign_many {
	struct vf_tuf_md *const *mds;
	struct vf_signer *const *signers;
	size_t n;
	int *rc;
	struct vf_err *errs;
};

static void sign_one(void *ctx, size_t i)
{
	struct sign_many *m = ctx;

	m->rc[i] = vf_tuf_md_sign(m->mds[i], m->signers, m->n, &m->errs[i]);
}

unsigned vf_tuf_sign_threads(struct vf_signer *const *signers, size_t n, unsigned threads)
{
	for (size_t i = 0; i < n; i++)
		if (!vf_signer_is_concurrent(signers[i]))
			return 1;
	return threads;
}

int vf_tuf_md_sign_many(struct vf_tuf_md *const *mds, size_t n_md,
			struct vf_signer *const *signers, size_t n, unsigned threads,
			struct vf_err *err)
{
	struct sign_many m = { .mds = mds, .signers = signers, .n = n };
	int r = 0;

	if (!n_md)
		return 0;
	if (!(m.rc = calloc(n_md, sizeof(*m.rc))) || !(m.errs = calloc(n_md, sizeof(*m.errs)))) {
		free(m.rc);
		return nomem(err);
	}
	vf_parallel_run(n_md, vf_tuf_sign_threads(signers, n, threads), sign_one, &m);
	for (size_t i = 0; i < n_md && !r; i++)
		if ((r = m.rc[i])) {
			*err = m.errs[i];
			r = vf_err_prefix(err, "document %zu", i);
		}
	free(m.rc);
	free(m.errs);
	return r;
}

/* ---- verification -------------------------------------------------------------- */

static const char *const status_names[] = {
	[VF_TUF_SIG_VALID] = "valid",
	[VF_TUF_SIG_INVALID] = "invalid signature",
	[VF_TUF_SIG_UNAUTHORISED] = "keyid not authorised for the role",
	[VF_TUF_SIG_DUPLICATE] = "duplicate of a counted key",
	[VF_TUF_SIG_EMPTY] = "empty signature",
	[VF_TUF_SIG_BAD_KEY] = "key unusable",
};

const char *vf_tuf_sig_status_name(enum vf_tuf_sig_status status)
{
	if ((unsigned)status >= sizeof(status_names) / sizeof(status_names[0]))
		return "unknown";
	return status_names[status];
}

void vf_tuf_verify_result_release(struct vf_tuf_verify_result *res)
{
	if (!res)
		return;
	for (size_t i = 0; i < res->n_valid; i++)
		free(res->valid[i]);
	free(res->valid);
	for (size_t i = 0; i < res->n_missing; i++)
		free(res->missing[i]);
	free(res->missing);
	free(res->status);
	memset(res, 0, sizeof(*res));
}

/* What a delegator says about a role: its key set, keyids and threshold. */
struct authority {
	const struct vf_tuf_keys *keys;
	char *const *keyids;
	size_t n_keyids;
	uint64_t threshold;
	enum vf_tuf_type type;
};

static int find_authority(const struct vf_tuf_md *delegator, const char *role,
			  struct authority *a, struct vf_err *err)
{
	const struct vf_tuf_role *r = vf_tuf_md_find_role(delegator, role);

	if (delegator->type == VF_TUF_ROOT) {
		if (!r)
			return vf_err_set(err, ENOENT, "role %s: not a top-level role", role);
		*a = (struct authority){ &delegator->keys, r->keyids, r->n_keyids, r->threshold,
					 vf_tuf_type_from_name(role) };
		return 0;
	}
	if (delegator->type != VF_TUF_TARGETS)
		return vf_err_set(err, EINVAL, "role %s: %s metadata delegates to no roles", role,
				  vf_tuf_type_name(delegator->type));
	if (r) {
		*a = (struct authority){ &delegator->delegations->keys, r->keyids, r->n_keyids,
					 r->threshold, VF_TUF_TARGETS };
		return 0;
	}
	if (delegator->delegations && delegator->delegations->succinct &&
	    vf_tuf_succinct_has_role(delegator->delegations->succinct, role, NULL)) {
		const struct vf_tuf_succinct *s = delegator->delegations->succinct;

		*a = (struct authority){ &delegator->delegations->keys, s->keyids, s->n_keyids,
					 s->threshold, VF_TUF_TARGETS };
		return 0;
	}
	return vf_err_set(err, ENOENT, "role %s: not delegated by this targets metadata", role);
}

static bool strv_has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* Check one signature; 0 valid, -VF_EVERIFY invalid, 1 unusable key, <0 error. */
static int check_sig(const struct vf_tuf_key *tk, const struct vf_buf *payload,
		     const char *sig_hex, struct vf_key **ret_key)
{
	size_t hex_len = strlen(sig_hex), len = 0;
	uint8_t *sig = malloc(hex_len / 2 + 1);
	struct vf_key *key = NULL;
	int r;

	if (!sig)
		return -ENOMEM;
	if (vf_hex_parse(sig_hex, sig, hex_len / 2 + 1, &len) || !len) {
		free(sig);
		return -VF_EVERIFY;
	}
	if (vf_tuf_key_build_public(tk, &key, NULL)) {
		free(sig);
		return 1;
	}
	r = vf_key_verify(key, payload->data, payload->len, sig, len);
	free(sig);
	if (r == 0)
		*ret_key = key;
	else
		vf_key_free(key);
	return r;
}

static int add_str(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int threshold_error(const char *role, const struct vf_tuf_md *md,
			   const struct vf_tuf_verify_result *res, struct vf_err *err)
{
	struct vf_buf m = VF_BUF_INIT;
	char shortid[24];
	bool first = true;
	int r;

	vf_buf_add_fmt(&m, "role %s: threshold not met: expected %llu valid signature%s, got %zu",
		       role, (unsigned long long)res->threshold, res->threshold == 1 ? "" : "s",
		       res->n_valid);
	for (size_t i = 0; i < res->n_missing; i++)
		vf_buf_add_fmt(&m, "%s%s", i ? ", " : "; missing: ",
			       vf_tuf_short_keyid(res->missing[i], shortid));
	for (size_t i = 0; i < res->n_status; i++) {
		if (res->status[i] == VF_TUF_SIG_VALID)
			continue;
		vf_buf_add_fmt(&m, "%s%s (%s)", first ? "; ignored: " : ", ",
			       vf_tuf_short_keyid(md->sigs[i].keyid, shortid),
			       vf_tuf_sig_status_name(res->status[i]));
		first = false;
	}
	if (!md->n_sigs)
		vf_buf_add_str(&m, "; no signatures");
	r = vf_err_set(err, VF_EVERIFY, "%s", m.data ? (char *)m.data : "threshold not met");
	vf_buf_release(&m);
	return r;
}

int vf_tuf_verify(const struct vf_tuf_md *delegator, const char *role,
		  const struct vf_tuf_md *md, struct vf_tuf_verify_result *res,
		  struct vf_err *err)
{
	return vf_tuf_verify_signed(delegator, role, md, NULL, res, err);
}

int vf_tuf_verify_signed(const struct vf_tuf_md *delegator, const char *role,
			 const struct vf_tuf_md *md, const struct vf_buf *signed_bytes,
			 struct vf_tuf_verify_result *res, struct vf_err *err)
{
	struct vf_tuf_verify_result local = { 0 };
	struct vf_buf payload = VF_BUF_INIT;
	struct vf_key **counted = NULL;
	struct authority a = { 0 };
	int r;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	if ((r = find_authority(delegator, role, &a, err)))
		return r;
	res->threshold = a.threshold;
	/* a model changed in memory could hold what the parser refuses: never pass it */
	if (a.threshold < 1)
		return vf_err_set(err, EINVAL, "role %s: threshold must be at least 1, got 0", role);
	if (md->type != a.type)
		return vf_err_set(err, VF_EVERIFY, "role %s: expected %s metadata, got %s", role,
				  vf_tuf_type_name(a.type), vf_tuf_type_name(md->type));
	if (signed_bytes) {
		payload = *signed_bytes; /* borrowed: not released below */
	} else if ((r = vf_tuf_md_write_signed(md, &payload, err))) {
		vf_err_prefix(err, "role %s", role);
		goto out;
	}
	res->threshold = a.threshold;
	if ((md->n_sigs && !(res->status = calloc(md->n_sigs, sizeof(*res->status)))) ||
	    (md->n_sigs && !(counted = calloc(md->n_sigs, sizeof(*counted))))) {
		r = nomem(err);
		goto out;
	}
	res->n_status = md->n_sigs;
	for (size_t i = 0; i < md->n_sigs; i++) {
		const struct vf_tuf_sig *s = &md->sigs[i];
		const struct vf_tuf_key *tk;
		struct vf_key *key = NULL;

		if (!s->sig[0]) {
			res->status[i] = VF_TUF_SIG_EMPTY;
			continue;
		}
		if (!strv_has(a.keyids, a.n_keyids, s->keyid)) {
			res->status[i] = VF_TUF_SIG_UNAUTHORISED;
			continue;
		}
		if (strv_has(res->valid, res->n_valid, s->keyid)) {
			res->status[i] = VF_TUF_SIG_DUPLICATE;
			continue;
		}
		if (!(tk = vf_tuf_keys_find(a.keys, s->keyid))) {
			res->status[i] = VF_TUF_SIG_BAD_KEY;
			continue;
		}
		r = check_sig(tk, &payload, s->sig, &key);
		if (r == 1) {
			res->status[i] = VF_TUF_SIG_BAD_KEY;
			continue;
		}
		if (r == -VF_EVERIFY) {
			res->status[i] = VF_TUF_SIG_INVALID;
			continue;
		}
		if (r < 0) {
			r = vf_err_set(err, -r, "role %s: verifying the signature by %s failed", role,
				       s->keyid);
			goto out;
		}
		/* the same public key under two keyids counts once */
		for (size_t k = 0; k < res->n_valid; k++)
			if (vf_key_equal(counted[k], key)) {
				res->status[i] = VF_TUF_SIG_DUPLICATE;
				vf_key_free(key);
				key = NULL;
				break;
			}
		if (!key)
			continue;
		counted[res->n_valid] = key;
		if (add_str(&res->valid, &res->n_valid, s->keyid)) {
			r = nomem(err);
			goto out;
		}
		res->status[i] = VF_TUF_SIG_VALID;
	}
	for (size_t k = 0; k < a.n_keyids; k++)
		if (!strv_has(res->valid, res->n_valid, a.keyids[k]) &&
		    add_str(&res->missing, &res->n_missing, a.keyids[k])) {
			r = nomem(err);
			goto out;
		}
	r = res->n_valid >= a.threshold ? 0 : threshold_error(role, md, res, err);
out:
	for (size_t k = 0; counted && k < md->n_sigs; k++)
		vf_key_free(counted[k]);
	free(counted);
	if (!signed_bytes)
		vf_buf_release(&payload);
	vf_tuf_verify_result_release(&local);
	return r;
}
