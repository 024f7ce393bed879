/* repo/metadata: signing and threshold verification with fresh keys of each
 * type (ed25519, ECDSA P-256, RSA-PSS 3072): thresholds over distinct keyids,
 * replaced signatures, rotation with cross-signing, delegations, hash bins. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/hex.h"
#include "keys/digest.h"
#include "repo/cjson.h"
#include "repo/metadata.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_KEYS 4
#define EXPIRES ((time_t)1893456000) /* 2030-01-01 */

/* Keys made once for the whole file: ed25519, ecdsa, rsa, ed25519. */
static struct vf_test_keys fx;
static const char *const types[N_KEYS] = { "ed25519", "ecdsa-p256", "rsa-3072", "ed25519" };

static int setup(void **state)
{
	(void)state;
	return vf_test_keys_make(&fx, types, N_KEYS);
}

static int teardown(void **state)
{
	(void)state;
	vf_test_keys_free(&fx);
	return 0;
}

static const struct vf_key *key(int i)
{
	return vf_signer_key(fx.s[i]);
}

/* A root: root role 2-of-{0,1,2}, the other roles key 3. */
static struct vf_tuf_md *make_root(void)
{
	struct vf_tuf_md *md = vf_tuf_md_new(VF_TUF_ROOT);
	struct vf_err err = { 0 };

	assert_non_null(md);
	md->expires = EXPIRES;
	for (int i = 0; i < 3; i++)
		assert_int_equal(vf_tuf_md_add_key(md, "root", key(i), NULL, &err), 0);
	assert_int_equal(vf_tuf_md_set_threshold(md, "root", 2, &err), 0);
	assert_int_equal(vf_tuf_md_add_key(md, "targets", key(3), NULL, &err), 0);
	assert_int_equal(vf_tuf_md_add_key(md, "snapshot", key(3), NULL, &err), 0);
	assert_int_equal(vf_tuf_md_add_key(md, "timestamp", key(3), NULL, &err), 0);
	assert_int_equal(vf_tuf_md_validate(md, &err), 0);
	return md;
}

static void sign(struct vf_tuf_md *md, int i)
{
	struct vf_err err = { 0 };

	if (vf_tuf_md_sign(md, &fx.s[i], 1, &err))
		fail_msg("%s", err.msg);
}

static size_t verify(const struct vf_tuf_md *delegator, const char *role,
		     const struct vf_tuf_md *md, int want)
{
	struct vf_tuf_verify_result res = { 0 };
	struct vf_err err = { 0 };
	size_t n;
	int r = vf_tuf_verify(delegator, role, md, &res, &err);

	if (r != want)
		fail_msg("verify %s: %d, expected %d: %s", role, r, want, err.msg);
	n = res.n_valid;
	vf_tuf_verify_result_release(&res);
	return n;
}

/* ---- keyids ------------------------------------------------------------------------ */

/* keyid = sha256 of {"keytype":..,"keyval":{"public":..},"scheme":..} written by hand. */
static void test_keyids(void **state)
{
	(void)state;
	for (int i = 0; i < N_KEYS; i++) {
		struct vf_buf text = VF_BUF_INIT;
		struct vf_err err = { 0 };
		char *pub = NULL, want[65];
		uint8_t d[32];
		void *json = NULL;

		assert_int_equal(vf_key_public_text(key(i), &pub, &err), 0);
		assert_int_equal(vf_buf_add_fmt(&text, "{\"keytype\":\"%s\",\"keyval\":{\"public\":\"%s\"},"
						"\"scheme\":\"%s\"}", vf_key_keytype(key(i)), pub,
						vf_key_scheme(key(i))), 0);
		assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), text.data, text.len, d), 0);
		vf_hex_format(d, 32, want);
		assert_string_equal(fx.keyid[i], want);
		/* the key object is exactly that, nothing more */
		assert_int_equal(vf_tuf_key_build_json(key(i), &json, &err), 0);
		assert_int_equal(json_object_size(json), 3);
		json_decref(json);
		free(pub);
		vf_buf_release(&text);
	}
	assert_string_not_equal(fx.keyid[0], fx.keyid[3]);
}

/* ---- thresholds ----------------------------------------------------------------------- */

static void test_threshold(void **state)
{
	struct vf_tuf_md *root = make_root();
	struct vf_tuf_verify_result res = { 0 };
	struct vf_err err = { 0 };
	char shortid[24];

	(void)state;
	/* no signature, then one of the two needed */
	assert_int_equal(verify(root, "root", root, -VF_EVERIFY), 0);
	sign(root, 0);
	assert_int_equal(vf_tuf_verify(root, "root", root, &res, &err), -VF_EVERIFY);
	vf_test_assert_containsf(err.msg, "role root: threshold not met: expected 2 valid signatures, "
				 "got 1; missing: ");
	assert_int_equal(res.threshold, 2);
	assert_int_equal(res.n_valid, 1);
	assert_string_equal(res.valid[0], fx.keyid[0]);
	assert_int_equal(res.n_missing, 2);
	assert_string_equal(res.missing[0], fx.keyid[1]);
	assert_string_equal(res.missing[1], fx.keyid[2]);
	snprintf(shortid, sizeof(shortid), "%.16s...", fx.keyid[1]);
	vf_test_assert_contains(err.msg, shortid);
	vf_tuf_verify_result_release(&res);

	/* ECDSA makes two */
	sign(root, 1);
	assert_int_equal(verify(root, "root", root, 0), 2);
	/* signing again with the same key replaces its signature */
	sign(root, 1);
	assert_int_equal(root->n_sigs, 2);
	/* RSA makes three */
	sign(root, 2);
	assert_int_equal(root->n_sigs, 3);
	assert_int_equal(verify(root, "root", root, 0), 3);
	/* key 3 signs too, but is not a root key */
	sign(root, 3);
	assert_int_equal(vf_tuf_verify(root, "root", root, &res, &err), 0);
	assert_int_equal(res.n_valid, 3);
	assert_int_equal(res.n_missing, 0);
	assert_int_equal(res.n_status, 4);
	assert_int_equal(res.status[3], VF_TUF_SIG_UNAUTHORISED);
	vf_tuf_verify_result_release(&res);

	/* a change invalidates every signature */
	root->version = 2;
	assert_int_equal(vf_tuf_verify(root, "root", root, &res, &err), -VF_EVERIFY);
	assert_int_equal(res.status[0], VF_TUF_SIG_INVALID);
	assert_int_equal(res.status[1], VF_TUF_SIG_INVALID);
	assert_int_equal(res.status[2], VF_TUF_SIG_INVALID);
	vf_test_assert_contains(err.msg, "(invalid signature)");
	vf_tuf_verify_result_release(&res);
	vf_tuf_md_clear_signatures(root);
	assert_int_equal(root->n_sigs, 0);
	/* a threshold of 0 set behind the API's back never lets anything through */
	root->roles[VF_TUF_ROOT - 1].threshold = 0;
	assert_int_equal(vf_tuf_verify(root, "root", root, &res, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "role root: threshold must be at least 1, got 0");
	vf_tuf_verify_result_release(&res);
	vf_tuf_md_free(root);
}

/* Empty signatures (keyholders who have not signed) and keyids listed twice. */
static void test_empty_and_duplicate(void **state)
{
	struct vf_tuf_md *root = make_root();
	struct vf_tuf_verify_result res = { 0 };
	struct vf_err err = { 0 };

	(void)state;
	sign(root, 0);
	sign(root, 1);
	/* an entry with "sig": "" and a copy of key 0's signature */
	root->sigs = realloc(root->sigs, 4 * sizeof(*root->sigs));
	root->sigs[2] = (struct vf_tuf_sig){ strdup(fx.keyid[2]), strdup(""), NULL };
	root->sigs[3] = (struct vf_tuf_sig){ strdup(fx.keyid[0]), strdup(root->sigs[0].sig), NULL };
	root->n_sigs = 4;
	assert_int_equal(vf_tuf_verify(root, "root", root, &res, &err), 0);
	assert_int_equal(res.n_valid, 2);
	assert_int_equal(res.status[2], VF_TUF_SIG_EMPTY);
	assert_int_equal(res.status[3], VF_TUF_SIG_DUPLICATE);
	vf_tuf_verify_result_release(&res);
	/* the duplicate does not make up for a missing key */
	assert_int_equal(vf_tuf_md_remove_signature(root, fx.keyid[1], &err), 0);
	assert_int_equal(vf_tuf_md_remove_signature(root, fx.keyid[1], &err), -ENOENT);
	assert_int_equal(vf_tuf_verify(root, "root", root, &res, &err), -VF_EVERIFY);
	vf_test_assert_contains(err.msg, "got 1;");
	vf_test_assert_contains(err.msg, "(empty signature)");
	vf_test_assert_contains(err.msg, "(duplicate of a counted key)");
	vf_tuf_verify_result_release(&res);
	/* signing replaces every entry of that keyid by one */
	sign(root, 0);
	assert_int_equal(root->n_sigs, 2);
	vf_tuf_md_free(root);
}

/* The same public key under two keyids (opaque keyids) counts once. */
static void test_same_key_two_keyids(void **state)
{
	struct vf_tuf_md *root = make_root(), *md = NULL;
	struct vf_buf text = VF_BUF_INIT, payload = VF_BUF_INIT;
	struct vf_tuf_verify_result res = { 0 };
	struct vf_err err = { 0 };
	json_t *doc, *k, *keys, *ids;
	uint8_t *sig = NULL;
	size_t len = 0;

	(void)state;
	/* (the canonical form holds raw newlines in PEM keys: not JSON jansson reads) */
	assert_int_equal(vf_tuf_md_format(root, VF_TUF_FORMAT_PRETTY, &text, &err), 0);
	doc = json_loads((char *)text.data, 0, NULL);
	assert_non_null(doc);
	keys = json_object_get(json_object_get(doc, "signed"), "keys");
	k = json_deep_copy(json_object_get(keys, fx.keyid[0]));
	json_object_set_new(k, "x-alias", json_true());
	json_object_set_new(keys, "alias", k);
	ids = json_object_get(json_object_get(json_object_get(json_object_get(doc, "signed"), "roles"),
					      "root"), "keyids");
	json_array_append_new(ids, json_string("alias"));
	vf_buf_release(&text);
	text.data = (uint8_t *)json_dumps(doc, 0);
	assert_int_equal(vf_tuf_md_parse(text.data, strlen((char *)text.data), VF_TUF_ROOT, 0, &md,
					 &err), -EINVAL);
	vf_test_assert_contains(err.msg, "signed.keys.alias: keyid does not match the key");
	assert_int_equal(vf_tuf_md_parse(text.data, strlen((char *)text.data), VF_TUF_ROOT,
					 VF_TUF_PARSE_OPAQUE_KEYIDS, &md, &err), 0);
	assert_string_equal(vf_tuf_keys_find_key(&md->keys, key(1)), fx.keyid[1]);
	/* one signature by key 0, offered under both keyids */
	assert_int_equal(vf_tuf_md_format_signed(md, &payload, &err), 0);
	assert_int_equal(vf_signer_sign(fx.s[0], payload.data, payload.len, &sig, &len, &err), 0);
	assert_int_equal(vf_tuf_md_add_signature(md, fx.keyid[0], sig, len, &err), 0);
	assert_int_equal(vf_tuf_md_add_signature(md, "alias", sig, len, &err), 0);
	assert_int_equal(vf_tuf_verify(md, "root", md, &res, &err), -VF_EVERIFY);
	assert_int_equal(res.n_valid, 1);
	assert_int_equal(res.status[1], VF_TUF_SIG_DUPLICATE);
	vf_tuf_verify_result_release(&res);
	free(sig);
	free(text.data);
	vf_buf_release(&payload);
	json_decref(doc);
	vf_tuf_md_free(md);
	vf_tuf_md_free(root);
}

/* A key type keys/ cannot use counts for nothing but does not break the rest. */
static void test_unusable_key(void **state)
{
	struct vf_tuf_md *root = make_root(), *md = NULL;
	struct vf_buf text = VF_BUF_INIT;
	struct vf_tuf_verify_result res = { 0 };
	struct vf_err err = { 0 };
	json_t *doc, *s, *k;
	char keyid[65], *dumped;

	(void)state;
	/* (the canonical form holds raw newlines in PEM keys: not JSON jansson reads) */
	assert_int_equal(vf_tuf_md_format(root, VF_TUF_FORMAT_PRETTY, &text, &err), 0);
	doc = json_loads((char *)text.data, 0, NULL);
	assert_non_null(doc);
	s = json_object_get(doc, "signed");
	k = json_pack("{s:s,s:s,s:{s:s}}", "keytype", "rsa", "scheme", "rsa-pkcs1v15-sha256",
		      "keyval", "public", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
	assert_int_equal(vf_tuf_keyid_of_json(k, keyid, &err), 0);
	json_object_set_new(json_object_get(s, "keys"), keyid, k);
	json_array_append_new(json_object_get(json_object_get(json_object_get(s, "roles"), "root"),
					      "keyids"), json_string(keyid));
	dumped = json_dumps(doc, 0);
	assert_int_equal(vf_tuf_md_parse(dumped, strlen(dumped), VF_TUF_ROOT, 0, &md, &err), 0);
	sign(md, 0);
	sign(md, 2);
	assert_int_equal(vf_tuf_md_add_signature(md, keyid, (const uint8_t *)"\x01\x02", 2, &err), 0);
	assert_int_equal(vf_tuf_verify(md, "root", md, &res, &err), 0);
	assert_int_equal(res.n_valid, 2);
	assert_int_equal(res.status[2], VF_TUF_SIG_BAD_KEY);
	assert_int_equal(res.n_missing, 2);
	vf_tuf_verify_result_release(&res);
	{
		struct vf_key *kk = NULL;

		assert_true(vf_tuf_key_build_public(vf_tuf_keys_find(&md->keys, keyid), &kk, &err) < 0);
		vf_test_assert_containsf(err.msg, "key %.16s...: ", keyid);
	}
	free(dumped);
	json_decref(doc);
	vf_buf_release(&text);
	vf_tuf_md_free(md);
	vf_tuf_md_free(root);
}

/* ---- a whole repository ------------------------------------------------------------- */

static void test_top_level_roles(void **state)
{
	struct vf_tuf_md *root = make_root();
	struct vf_tuf_md *ts = vf_tuf_md_new(VF_TUF_TIMESTAMP), *snap = vf_tuf_md_new(VF_TUF_SNAPSHOT);
	struct vf_tuf_md *targets = vf_tuf_md_new(VF_TUF_TARGETS);
	struct vf_buf snap_text = VF_BUF_INIT;
	struct vf_tuf_hashes h;
	struct vf_err err = { 0 };

	(void)state;
	targets->expires = snap->expires = ts->expires = EXPIRES;
	assert_int_equal(vf_tuf_hashes_build("hello\n", 6, true, &h, &err), 0);
	assert_int_equal(vf_tuf_targets_add_target(targets, "hello.txt", 6, &h, NULL, &err), 0);
	sign(targets, 3);
	assert_int_equal(vf_tuf_md_set_meta(snap, "targets.json", targets->version, -1, NULL, &err), 0);
	sign(snap, 3);
	assert_int_equal(vf_tuf_md_format(snap, VF_TUF_FORMAT_PRETTY, &snap_text, &err), 0);
	assert_int_equal(vf_tuf_hashes_build(snap_text.data, snap_text.len, false, &h, &err), 0);
	assert_int_equal(vf_tuf_md_set_meta(ts, "snapshot.json", snap->version,
					    (int64_t)snap_text.len, &h, &err), 0);
	sign(ts, 3);
	assert_int_equal(verify(root, "targets", targets, 0), 1);
	assert_int_equal(verify(root, "snapshot", snap, 0), 1);
	assert_int_equal(verify(root, "timestamp", ts, 0), 1);
	assert_int_equal(vf_tuf_hashes_verify(&vf_tuf_md_find_meta(ts, "snapshot.json")->hashes,
					      snap_text.data, snap_text.len, &err), 0);
	/* roles are checked for their type and existence */
	assert_int_equal(verify(root, "snapshot", ts, -VF_EVERIFY), 0);
	assert_int_equal(vf_tuf_verify(root, "mirrors", ts, NULL, &err), -ENOENT);
	vf_test_assert_contains(err.msg, "role mirrors: not a top-level role");
	assert_int_equal(vf_tuf_verify(ts, "snapshot", snap, NULL, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "timestamp metadata delegates to no roles");
	/* a signer failing leaves the document as it was */
	snap->version = (uint64_t)1 << 53;
	assert_int_equal(vf_tuf_md_sign(snap, &fx.s[3], 1, &err), -ERANGE);
	assert_int_equal(snap->n_sigs, 1);
	vf_buf_release(&snap_text);
	vf_tuf_md_free(root);
	vf_tuf_md_free(ts);
	vf_tuf_md_free(snap);
	vf_tuf_md_free(targets);
}

/* Root N+1 needs a threshold of root N's keys and of its own (cross-signing). */
static void test_root_rotation(void **state)
{
	const char *dir = *state;
	struct vf_tuf_md *v1 = vf_tuf_md_new(VF_TUF_ROOT), *v2, *loaded = NULL;
	struct vf_tuf_verify_result res = { 0 };
	struct vf_err err = { 0 };
	char *path = vf_test_path(dir, "2.root.json");

	v1->expires = EXPIRES;
	for (int t = VF_TUF_ROOT; t <= VF_TUF_TIMESTAMP; t++)
		assert_int_equal(vf_tuf_md_add_key(v1, vf_tuf_type_name(t), key(0), NULL, &err), 0);
	sign(v1, 0);
	/* v2 replaces key 0 by key 2 (RSA) everywhere */
	v2 = vf_tuf_md_new(VF_TUF_ROOT);
	v2->version = 2;
	v2->expires = EXPIRES;
	for (int t = VF_TUF_ROOT; t <= VF_TUF_TIMESTAMP; t++)
		assert_int_equal(vf_tuf_md_add_key(v2, vf_tuf_type_name(t), key(2), NULL, &err), 0);
	sign(v2, 2);
	/* signed by the new key only: v1 does not trust it */
	assert_int_equal(verify(v2, "root", v2, 0), 1);
	assert_int_equal(verify(v1, "root", v2, -VF_EVERIFY), 0);
	/* cross-signed by the old key, which v2 itself no longer lists */
	assert_int_equal(vf_tuf_md_sign(v2, &fx.s[0], 1, &err), 0);
	assert_int_equal(vf_tuf_md_save(v2, path, &err), 0);
	assert_int_equal(vf_tuf_md_load(path, VF_TUF_ROOT, 0, &loaded, &err), 0);
	assert_int_equal(verify(v1, "root", loaded, 0), 1);
	assert_int_equal(vf_tuf_verify(loaded, "root", loaded, &res, &err), 0);
	assert_int_equal(res.n_valid, 1);
	assert_int_equal(res.status[1], VF_TUF_SIG_UNAUTHORISED);
	vf_tuf_verify_result_release(&res);
	assert_int_equal(loaded->version, v1->version + 1);
	vf_tuf_md_free(loaded);
	vf_tuf_md_free(v1);
	vf_tuf_md_free(v2);
	free(path);
}

/* A detached signature made over vf_tuf_md_format_signed() (offline signing). */
static void test_external_signature(void **state)
{
	struct vf_tuf_md *root = make_root();
	struct vf_buf payload = VF_BUF_INIT;
	struct vf_err err = { 0 };
	uint8_t *sig = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(vf_tuf_md_format_signed(root, &payload, &err), 0);
	assert_int_equal(payload.data[0], '{');
	for (int i = 1; i <= 2; i++) {
		assert_int_equal(vf_signer_sign(fx.s[i], payload.data, payload.len, &sig, &len, &err), 0);
		assert_int_equal(vf_tuf_md_add_signature(root, fx.keyid[i], sig, len, &err), 0);
		free(sig);
	}
	assert_int_equal(verify(root, "root", root, 0), 2);
	assert_int_equal(vf_tuf_md_add_signature(root, "", (const uint8_t *)"x", 1, &err), -EINVAL);
	assert_int_equal(vf_tuf_md_add_signature(root, "k", NULL, 0, &err), -EINVAL);
	vf_tuf_md_free(root);
	vf_buf_release(&payload);
}

/* ---- delegations ------------------------------------------------------------------- */

static void test_delegated_roles(void **state)
{
	struct vf_tuf_md *targets = vf_tuf_md_new(VF_TUF_TARGETS), *proj = vf_tuf_md_new(VF_TUF_TARGETS);
	const char *patterns[] = { "proj/*" };
	struct vf_tuf_hashes h;
	struct vf_err err = { 0 };

	(void)state;
	targets->expires = proj->expires = EXPIRES;
	assert_int_equal(vf_tuf_targets_add_role(targets, "proj", patterns, 1, false, true, &err), 0);
	assert_int_equal(vf_tuf_md_add_key(targets, "proj", key(1), NULL, &err), 0);
	assert_int_equal(vf_tuf_md_add_key(targets, "proj", key(2), NULL, &err), 0);
	assert_int_equal(vf_tuf_md_set_threshold(targets, "proj", 2, &err), 0);
	assert_int_equal(vf_tuf_hashes_build("x", 1, false, &h, &err), 0);
	assert_int_equal(vf_tuf_targets_add_target(proj, "proj/x", 1, &h, NULL, &err), 0);
	assert_int_equal(vf_tuf_role_has_path(vf_tuf_md_find_role(targets, "proj"), "proj/x"), 1);
	sign(proj, 1);
	assert_int_equal(verify(targets, "proj", proj, -VF_EVERIFY), 1);
	sign(proj, 2);
	assert_int_equal(verify(targets, "proj", proj, 0), 2);
	assert_int_equal(vf_tuf_verify(targets, "other", proj, NULL, &err), -ENOENT);
	vf_test_assert_contains(err.msg, "role other: not delegated by this targets metadata");
	vf_tuf_md_free(targets);
	vf_tuf_md_free(proj);
}

static void test_hash_bin_roles(void **state)
{
	struct vf_tuf_md *targets = vf_tuf_md_new(VF_TUF_TARGETS), *bin = vf_tuf_md_new(VF_TUF_TARGETS);
	struct vf_tuf_hashes h;
	struct vf_err err = { 0 };
	char *name = NULL;

	(void)state;
	targets->expires = bin->expires = EXPIRES;
	assert_int_equal(vf_tuf_targets_set_succinct(targets, "bins", 4, &err), 0);
	assert_int_equal(vf_tuf_md_add_key(targets, "bins", key(0), NULL, &err), 0);
	assert_int_equal(vf_tuf_md_validate(targets, &err), 0);
	assert_int_equal(vf_tuf_bin_name_for_path("bins", 4, "dir/file.bin", &name, &err), 0);
	assert_string_equal(name, "bins-4");
	assert_int_equal(vf_tuf_hashes_build("x", 1, false, &h, &err), 0);
	assert_int_equal(vf_tuf_targets_add_target(bin, "dir/file.bin", 1, &h, NULL, &err), 0);
	sign(bin, 0);
	assert_int_equal(verify(targets, name, bin, 0), 1);
	assert_int_equal(verify(targets, "bins-f", bin, 0), 1); /* any bin: paths are the client's */
	assert_int_equal(vf_tuf_verify(targets, "bins-10", bin, NULL, &err), -ENOENT);
	assert_int_equal(vf_tuf_verify(targets, "bins", bin, NULL, &err), -ENOENT);
	/* changing the bit length keeps the keys */
	assert_int_equal(vf_tuf_targets_set_succinct(targets, "bins", 8, &err), 0);
	assert_int_equal(targets->delegations->succinct->n_keyids, 1);
	assert_int_equal(verify(targets, "bins-4f", bin, 0), 1);
	assert_int_equal(vf_tuf_md_remove_key(targets, "bins", fx.keyid[0], &err), 0);
	assert_int_equal(targets->delegations->keys.n, 0);
	free(name);
	vf_tuf_md_free(targets);
	vf_tuf_md_free(bin);
}

/* ---- many documents at once -------------------------------------------------------------- */

#define N_DOCS 40

/* Document i: a bin with i + 1 targets (a different signed part each). */
static struct vf_tuf_md *make_bin(size_t i)
{
	struct vf_tuf_md *md = vf_tuf_md_new(VF_TUF_TARGETS);
	struct vf_tuf_hashes h;
	struct vf_err err = { 0 };

	assert_non_null(md);
	md->expires = EXPIRES;
	md->version = i + 1;
	for (size_t k = 0; k <= i; k++) {
		char path[64];

		snprintf(path, sizeof(path), "bin/%zu/target-%zu", i, k);
		assert_int_equal(vf_tuf_hashes_build(path, strlen(path), false, &h, &err), 0);
		assert_int_equal(vf_tuf_targets_add_target(md, path, k, &h, NULL, &err), 0);
	}
	return md;
}

static char *pretty(const struct vf_tuf_md *md)
{
	struct vf_buf b = VF_BUF_INIT;
	struct vf_err err = { 0 };
	char *s;

	if (vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, &b, &err))
		fail_msg("%s", err.msg);
	assert_non_null(s = strndup((char *)b.data, b.len));
	vf_buf_release(&b);
	return s;
}

/*
 * vf_tuf_md_sign_many gives every document the bytes vf_tuf_md_sign gives it
 * (ed25519 is deterministic), on 1, 2 or 8 threads; the signatures verify; a
 * failing document is named, the lowest first.
 */
static void test_sign_many(void **state)
{
	struct vf_tuf_md *one[N_DOCS], *many[N_DOCS], *targets = vf_tuf_md_new(VF_TUF_TARGETS);
	struct vf_signer *both[2] = { fx.s[0], fx.s[3] };
	const unsigned threads[] = { 1, 2, 8 };
	struct vf_err err = { 0 };

	(void)state;
	assert_true(vf_signer_is_concurrent(fx.s[0]));
	targets->expires = EXPIRES;
	assert_int_equal(vf_tuf_targets_set_succinct(targets, "bins", 6, &err), 0);
	assert_int_equal(vf_tuf_md_add_key(targets, "bins", key(0), NULL, &err), 0);
	assert_int_equal(vf_tuf_md_add_key(targets, "bins", key(3), NULL, &err), 0);
	for (size_t i = 0; i < N_DOCS; i++) {
		one[i] = make_bin(i);
		assert_int_equal(vf_tuf_md_sign(one[i], both, 2, &err), 0);
	}
	for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
		for (size_t i = 0; i < N_DOCS; i++)
			many[i] = make_bin(i);
		if (vf_tuf_md_sign_many(many, N_DOCS, both, 2, threads[t], &err))
			fail_msg("%u threads: %s", threads[t], err.msg);
		for (size_t i = 0; i < N_DOCS; i++) {
			char *a = pretty(one[i]), *b = pretty(many[i]);

			assert_int_equal(many[i]->n_sigs, 2);
			if (strcmp(a, b) != 0)
				fail_msg("%u threads: document %zu differs", threads[t], i);
			assert_int_equal(verify(targets, "bins-00", many[i], 0), 2);
			free(a);
			free(b);
			vf_tuf_md_free(many[i]);
		}
	}
	/* documents 7 and 23 cannot be signed (version beyond 2^53 - 1): 7 is reported */
	for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
		for (size_t i = 0; i < N_DOCS; i++)
			many[i] = make_bin(i);
		many[7]->version = many[23]->version = (uint64_t)1 << 53;
		assert_int_equal(vf_tuf_md_sign_many(many, N_DOCS, both, 2, threads[t], &err),
				 -ERANGE);
		vf_test_assert_contains(err.msg, "document 7: ");
		for (size_t i = 0; i < 7; i++)
			assert_int_equal(many[i]->n_sigs, 2);
		assert_int_equal(many[7]->n_sigs, 0);
		for (size_t i = 0; i < N_DOCS; i++)
			vf_tuf_md_free(many[i]);
	}
	for (size_t i = 0; i < N_DOCS; i++)
		vf_tuf_md_free(one[i]);
	vf_tuf_md_free(targets);
}

/* ---- an independent verifier ---------------------------------------------------------- */

/* securesystemslib (Debian's python3-securesystemslib) re-encodes `signed` with its
 * own encode_canonical, recomputes the keyids and verifies each signature. */
static const char sslib_check[] =
	"import json, sys, hashlib\n"
	"from securesystemslib import formats, keys\n"
	"d = json.load(open(sys.argv[1]))\n"
	"s = d['signed']\n"
	"data = formats.encode_canonical(s).encode()\n"
	"n = 0\n"
	"for kid, k in s['keys'].items():\n"
	"    assert hashlib.sha256(formats.encode_canonical(k).encode()).hexdigest() == kid\n"
	"for sig in d['signatures']:\n"
	"    k = dict(s['keys'][sig['keyid']], keyid=sig['keyid'])\n"
	"    assert keys.verify_signature(k, sig, data), k['keytype']\n"
	"    n += 1\n"
	"print('verified', n)\n";

static void test_securesystemslib_verifies(void **state)
{
	const char *dir = *state;
	char *root_path = vf_test_path(dir, "root.json"), *script = vf_test_path(dir, "check.py");
	char cmd[1024], line[256] = "";
	struct vf_tuf_md *root;
	struct vf_err err = { 0 };
	FILE *p;

	if (system("/usr/bin/python3 -c 'import securesystemslib' 2>/dev/null") != 0) {
		free(root_path);
		free(script);
		print_message("skipping: /usr/bin/python3 has no securesystemslib "
			      "(Debian package python3-securesystemslib)\n");
		skip();
	}
	root = make_root();
	/* a non-ASCII member in the signed part, to exercise the encodings */
	root->extra = json_pack("{s:s}", "x-note", "caf\xc3\xa9 \xe2\x82\xac \"q\" \\ \t");
	sign(root, 0);
	sign(root, 1);
	sign(root, 2);
	sign(root, 3);
	assert_int_equal(vf_tuf_md_save(root, root_path, &err), 0);
	vf_test_write_file(script, sslib_check, strlen(sslib_check));
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s' '%s' 2>&1", script, root_path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		if (strncmp(line, "verified", 8) == 0)
			break;
	assert_int_equal(pclose(p), 0);
	assert_string_equal(line, "verified 4\n");
	vf_tuf_md_free(root);
	free(root_path);
	free(script);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyids),
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_empty_and_duplicate),
		cmocka_unit_test(test_same_key_two_keyids),
		cmocka_unit_test(test_unusable_key),
		cmocka_unit_test(test_top_level_roles),
		vf_test_in_tmpdir(test_root_rotation),
		cmocka_unit_test(test_external_signature),
		cmocka_unit_test(test_delegated_roles),
		cmocka_unit_test(test_hash_bin_roles),
		cmocka_unit_test(test_sign_many),
		vf_test_in_tmpdir(test_securesystemslib_verifies),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
