/* repo/metadata against metadata written by python-tuf and tough
 * (../shared/vectors/tuf): every file parses or is refused for the documented
 * reason, signed parts round-trip to the same canonical bytes, and the
 * signatures (ed25519, ECDSA P-256, RSA-PSS) verify with thresholds. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/hex.h"
#include "repo/cjson.h"
#include "repo/metadata.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V "../shared/vectors/tuf/"
/* 2024-01-01T00:00:00Z: after the vectors were made, before most expire */
#define NOW ((time_t)1704067200)

/* ---- helpers ------------------------------------------------------------------------- */

static struct vf_tuf_md *load(const char *path, enum vf_tuf_type type, unsigned flags)
{
	struct vf_tuf_md *md = NULL;
	struct vf_err err = { 0 };

	if (vf_tuf_md_load(path, type, flags, &md, &err))
		fail_msg("%s: %s", path, err.msg);
	assert_non_null(md);
	return md;
}

static void assert_load_fails(const char *path, unsigned flags, int code, const char *msg)
{
	struct vf_tuf_md *md = NULL;
	struct vf_err err = { 0 };

	assert_int_equal(vf_tuf_md_load(path, 0, flags, &md, &err), code);
	assert_null(md);
	vf_test_assert_contains(err.msg, path);
	vf_test_assert_contains(err.msg, msg);
}

/* canonical(original "signed") == canonical(signed of our model), and pretty re-parses. */
static void assert_round_trip(const char *path, unsigned flags)
{
	struct vf_buf want = VF_BUF_INIT, got = VF_BUF_INIT, pretty = VF_BUF_INIT,
		      again = VF_BUF_INIT;
	struct vf_tuf_md *md = load(path, 0, flags), *md2 = NULL;
	struct vf_err err = { 0 };
	size_t len;
	uint8_t *text = vf_test_read_file(path, &len);
	void *doc = NULL;

	if (vf_cjson_parse(text, len, NULL, &doc, &err) ||
	    vf_cjson_encode(json_object_get(doc, "signed"), &want, &err))
		fail_msg("%s: %s", path, err.msg);
	if (vf_tuf_md_format_signed(md, &got, &err))
		fail_msg("%s: %s", path, err.msg);
	if (got.len != want.len || memcmp(got.data, want.data, got.len))
		fail_msg("%s: signed part does not round-trip:\nwant %s\ngot  %s", path,
			 (char *)want.data, (char *)got.data);
	/* the pretty form reads back to the same document */
	assert_int_equal(vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, &pretty, &err), 0);
	assert_int_equal(pretty.data[pretty.len - 1], '\n');
	if (vf_tuf_md_parse(pretty.data, pretty.len, md->type, flags, &md2, &err))
		fail_msg("%s: pretty form: %s", path, err.msg);
	assert_int_equal(vf_tuf_md_format_signed(md2, &again, &err), 0);
	assert_int_equal(again.len, want.len);
	assert_memory_equal(again.data, want.data, want.len);
	assert_int_equal(md2->n_sigs, md->n_sigs);
	json_decref(doc);
	free(text);
	vf_buf_release(&want);
	vf_buf_release(&got);
	vf_buf_release(&pretty);
	vf_buf_release(&again);
	vf_tuf_md_free(md);
	vf_tuf_md_free(md2);
}

static void assert_verifies(const struct vf_tuf_md *delegator, const char *role,
			    const struct vf_tuf_md *md, size_t n_valid)
{
	struct vf_tuf_verify_result res = { 0 };
	struct vf_err err = { 0 };

	if (vf_tuf_verify(delegator, role, md, &res, &err))
		fail_msg("role %s: %s", role, err.msg);
	assert_int_equal(res.n_valid, n_valid);
	assert_true(res.n_valid >= res.threshold);
	assert_int_equal(res.n_status, md->n_sigs);
	vf_tuf_verify_result_release(&res);
}

static void assert_verify_fails(const struct vf_tuf_md *delegator, const char *role,
				const struct vf_tuf_md *md, const char *msg)
{
	struct vf_tuf_verify_result res = { 0 };
	struct vf_err err = { 0 };

	assert_int_equal(vf_tuf_verify(delegator, role, md, &res, &err), -VF_EVERIFY);
	vf_test_assert_contains(err.msg, msg);
	assert_true(res.n_valid < res.threshold);
	vf_tuf_verify_result_release(&res);
}

/* The file's length and hashes are what `meta` says of it. */
static void assert_meta_matches(const struct vf_tuf_md *md, const char *name, const char *path)
{
	const struct vf_tuf_meta *m = vf_tuf_md_find_meta(md, name);
	struct vf_err err = { 0 };
	size_t len;
	uint8_t *data;

	assert_non_null(m);
	data = vf_test_read_file(path, &len);
	if (m->has_length)
		assert_int_equal(m->length, len);
	if (m->hashes.sha256[0] || m->hashes.sha512[0])
		if (vf_tuf_hashes_verify(&m->hashes, data, len, &err))
			fail_msg("%s: %s", path, err.msg);
	free(data);
}

/* ---- every readable file round-trips ---------------------------------------------- */

static void test_round_trips(void **state)
{
	static const char *const files[] = {
		"python-tuf/repository/metadata/1.root.json",
		"python-tuf/repository/metadata/root.json",
		"python-tuf/repository/metadata/targets.json",
		"python-tuf/repository/metadata/role1.json",
		"python-tuf/repository/metadata/role2.json",
		"python-tuf/repository/metadata/snapshot.json",
		"python-tuf/repository/metadata/timestamp.json",
		"python-tuf/client/test_repository1/metadata/current/root.json",
		"python-tuf/client/test_repository1/metadata/previous/targets.json",
		"python-tuf/client/test_repository2/metadata/current/snapshot.json",
		"python-tuf/client/test_repository2/metadata/previous/timestamp.json",
		"tough/tuf-reference-impl/metadata/root.json",
		"tough/tuf-reference-impl/metadata/role1.json",
		"tough/consistent-snapshots/metadata/1.root.json",
		"tough/consistent-snapshots/metadata/1.snapshot.json",
		"tough/consistent-snapshots/metadata/1.targets.json",
		"tough/consistent-snapshots/metadata/timestamp.json",
		"tough/rotated-root/2.root.json",
		"tough/expired-repository/metadata/1589485578.targets.json",
		"tough/ecdsa-new-type-sig-keys/root.json",
		"tough/pem-encoded-ecdsa-sig-keys/root.json",
		"tough/safe-target-paths/metadata/snapshot.json",
		"tough/cross-sign-root/1.root.json",
		"tough/dubious-role-names/metadata/1.root.json",
	};
	char path[512];

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), V "%s", files[i]);
		assert_round_trip(path, 0);
	}
	assert_round_trip(V "python-tuf/fishy_rolenames/metadata/1.targets.json",
			  VF_TUF_PARSE_OPAQUE_KEYIDS);
}

/* ---- whole repositories verify ------------------------------------------------------- */

/* python-tuf's repository_data: RSA root, ed25519 roles, a delegation chain. */
static void check_python_tuf_repo(const char *dir)
{
	char p[512];
	struct vf_tuf_md *root, *ts, *snap, *targets, *role1, *role2;
	const struct vf_tuf_target *t;
	const struct vf_tuf_role *r;

#define P(name) (snprintf(p, sizeof(p), "%s/%s", dir, name), p)
	root = load(P("root.json"), VF_TUF_ROOT, 0);
	ts = load(P("timestamp.json"), VF_TUF_TIMESTAMP, 0);
	snap = load(P("snapshot.json"), VF_TUF_SNAPSHOT, 0);
	targets = load(P("targets.json"), VF_TUF_TARGETS, 0);
	role1 = load(P("role1.json"), VF_TUF_TARGETS, 0);
	role2 = load(P("role2.json"), VF_TUF_TARGETS, 0);

	assert_false(root->consistent_snapshot);
	assert_int_equal(root->keys.n, 4);
	assert_string_equal(root->keys.v[0].keytype, "rsa");
	assert_verifies(root, "root", root, 1);
	assert_verifies(root, "timestamp", ts, 1);
	assert_verifies(root, "snapshot", snap, 1);
	assert_verifies(root, "targets", targets, 1);
	assert_verifies(targets, "role1", role1, 1);
	assert_verifies(role1, "role2", role2, 1);
	/* keys signing for a role they do not hold count for nothing */
	assert_verify_fails(root, "timestamp", snap, "role timestamp: expected timestamp "
			    "metadata, got snapshot");
	assert_verify_fails(root, "root", targets, "expected root metadata, got targets");

	/* the meta chain: timestamp pins snapshot's bytes, snapshot pins versions */
	assert_meta_matches(ts, "snapshot.json", P("snapshot.json"));
	assert_int_equal(vf_tuf_md_find_meta(snap, "targets.json")->version, targets->version);
	assert_int_equal(vf_tuf_md_find_meta(snap, "role1.json")->version, role1->version);

	/* targets and delegations as written */
	assert_int_equal(targets->n_targets, 2);
	t = vf_tuf_targets_find_target(targets, "file1.txt");
	assert_non_null(t);
	assert_int_equal(t->length, 31);
	assert_non_null(t->custom);
	assert_true(t->hashes.sha256[0] && t->hashes.sha512[0]);
	r = vf_tuf_md_find_role(targets, "role1");
	assert_non_null(r);
	assert_true(r->has_paths);
	assert_int_equal(r->n_paths, 1);
	assert_string_equal(r->paths[0], "file3.txt");
	assert_int_equal(vf_tuf_role_has_path(r, "file3.txt"), 1);
	assert_int_equal(vf_tuf_role_has_path(r, "file1.txt"), 0);
	assert_false(r->terminating);
	t = vf_tuf_targets_find_target(role1, "file3.txt");
	assert_non_null(t);
	assert_int_equal(t->length, 28);
	assert_int_equal(vf_tuf_md_verify_expiry(root, NOW, NULL), 0);
#undef P
	vf_tuf_md_free(root);
	vf_tuf_md_free(ts);
	vf_tuf_md_free(snap);
	vf_tuf_md_free(targets);
	vf_tuf_md_free(role1);
	vf_tuf_md_free(role2);
}

static void test_python_tuf_repositories(void **state)
{
	(void)state;
	check_python_tuf_repo(V "python-tuf/repository/metadata");
	check_python_tuf_repo(V "python-tuf/client/test_repository1/metadata/current");
	check_python_tuf_repo(V "python-tuf/client/test_repository1/metadata/previous");
	check_python_tuf_repo(V "python-tuf/client/test_repository2/metadata/current");
	check_python_tuf_repo(V "python-tuf/client/test_repository2/metadata/previous");
	check_python_tuf_repo(V "tough/tuf-reference-impl/metadata");
}

/* The target files hash to what targets.json says. */
static void test_python_tuf_target_files(void **state)
{
	struct vf_tuf_md *targets = load(V "python-tuf/repository/metadata/targets.json",
					 VF_TUF_TARGETS, 0);
	const struct vf_tuf_target *t = vf_tuf_targets_find_target(targets, "file1.txt");
	struct vf_tuf_hashes h;
	struct vf_err err = { 0 };
	uint64_t len = 0;

	(void)state;
	assert_int_equal(vf_tuf_hashes_build_file(V "python-tuf/repository/targets/file1.txt", true,
						  &len, &h, &err), 0);
	assert_int_equal(len, t->length);
	assert_string_equal(h.sha256, t->hashes.sha256);
	assert_string_equal(h.sha512, t->hashes.sha512);
	vf_tuf_md_free(targets);
}

static void test_tough_repositories(void **state)
{
	struct vf_tuf_md *root, *ts, *snap, *targets, *root2;

	(void)state;
	/* consistent snapshots, RSA */
	root = load(V "tough/consistent-snapshots/metadata/1.root.json", VF_TUF_ROOT, 0);
	ts = load(V "tough/consistent-snapshots/metadata/timestamp.json", VF_TUF_TIMESTAMP, 0);
	snap = load(V "tough/consistent-snapshots/metadata/1.snapshot.json", VF_TUF_SNAPSHOT, 0);
	targets = load(V "tough/consistent-snapshots/metadata/1.targets.json", VF_TUF_TARGETS, 0);
	assert_true(root->consistent_snapshot);
	assert_verifies(root, "root", root, 1);
	assert_verifies(root, "timestamp", ts, 1);
	assert_verifies(root, "snapshot", snap, 1);
	assert_verifies(root, "targets", targets, 1);
	assert_meta_matches(ts, "snapshot.json", V "tough/consistent-snapshots/metadata/1.snapshot.json");
	{
		/* targets are stored as HASH.name */
		const struct vf_tuf_target *t = vf_tuf_targets_find_target(targets, "data1.txt");
		char *name = NULL, path[512];
		struct vf_tuf_hashes h;
		uint64_t len;

		assert_non_null(t);
		assert_int_equal(vf_tuf_target_filename(t->path, t->hashes.sha256, &name, NULL), 0);
		snprintf(path, sizeof(path), V "tough/consistent-snapshots/targets/%s", name);
		assert_int_equal(vf_tuf_hashes_build_file(path, false, &len, &h, NULL), 0);
		assert_int_equal(len, t->length);
		assert_string_equal(h.sha256, t->hashes.sha256);
		free(name);
	}
	vf_tuf_md_free(ts);
	vf_tuf_md_free(snap);
	vf_tuf_md_free(targets);
	vf_tuf_md_free(root);

	/* root rotation: 2.root.json is signed by a threshold of v1's and of its own keys */
	root = load(V "tough/rotated-root/1.root.json", VF_TUF_ROOT, 0);
	root2 = load(V "tough/rotated-root/2.root.json", VF_TUF_ROOT, 0);
	assert_int_equal(root2->version, root->version + 1);
	assert_verifies(root, "root", root, 1);
	assert_verifies(root, "root", root2, 1);
	assert_verifies(root2, "root", root2, 1);
	/* the timestamp is signed with v2's key, which v1 does not know */
	ts = load(V "tough/rotated-root/timestamp.json", VF_TUF_TIMESTAMP, 0);
	assert_verifies(root2, "timestamp", ts, 1);
	assert_verify_fails(root, "timestamp", ts, "(keyid not authorised for the role)");
	vf_tuf_md_free(ts);
	vf_tuf_md_free(root);
	vf_tuf_md_free(root2);

	/* ECDSA P-256 roots of sigstore: 3 of 5, with cross-signatures from older keys */
	root = load(V "tough/ecdsa-new-type-sig-keys/root.json", VF_TUF_ROOT, 0);
	assert_string_equal(root->keys.v[0].keytype, "ecdsa");
	assert_verifies(root, "root", root, 5);
	vf_tuf_md_free(root);
	root = load(V "tough/pem-encoded-ecdsa-sig-keys/root.json", VF_TUF_ROOT, 0);
	assert_string_equal(root->keys.v[0].keytype, "ecdsa-sha2-nistp256"); /* legacy keytype */
	assert_verifies(root, "root", root, 4);
	vf_tuf_md_free(root);

	/* single RSA key */
	root = load(V "tough/simple-rsa/root.json", VF_TUF_ROOT, 0);
	assert_verifies(root, "root", root, 1);
	vf_tuf_md_free(root);
}

/* ---- deliberately broken cases ----------------------------------------------------- */

static void test_tough_refusals(void **state)
{
	struct vf_tuf_md *root, *ts;
	struct vf_tuf_verify_result res = { 0 };
	struct vf_err err = { 0 };

	(void)state;
	assert_load_fails(V "tough/duplicate-keyid/root.json", 0, -EINVAL,
			  "line 14, column 13: duplicate object key \"8ec3a843a0f9328c");
	/* threshold 2 with a single key: refused before duplicate signatures matter */
	assert_load_fails(V "tough/duplicate-sig-keys/root.json", 0, -EINVAL,
			  "signed.roles.root.threshold: threshold 2 is more than the 1 keyid of the role");
	assert_load_fails(V "tough/duplicate-sigs/root.json", 0, -EINVAL,
			  "threshold 2 is more than the 1 keyid");
	assert_load_fails(V "tough/mismatched-root-json-keyids/root.json", 0, -EINVAL,
			  "signed.roles.root.keyids[0]: keyid ffffffffffffffffffffffffffffffffffffff"
			  "ffffffffffffffffffffffffff is not in signed.keys");
	assert_load_fails(V "tough/hex-encoded-ecdsa-sig-keys/root.json", 0, -EINVAL,
			  "signed.expires: expected a time \"YYYY-MM-DDTHH:MM:SSZ\", got "
			  "\"2022-05-11T19:09:02.663975009Z\"");
	assert_load_fails(V "tough/safe-target-paths/metadata/targets.json", 0, -EINVAL,
			  "signed.targets[\"foo/../bar/../baz/../data1.txt\"]: target path has a "
			  "\"..\" component");
	assert_load_fails(V "tough/safe-target-paths/metadata/delegated.json", 0, -EINVAL,
			  "target path has a \"..\" component");
	assert_load_fails(V "tough/dubious-role-names/metadata/targets.json", 0, -EINVAL,
			  "got \"3021-01-27T00:57:00.468918Z\"");
	assert_load_fails(V "tough/dubious-role-names/metadata/timestamp.json", 0, -EINVAL,
			  "signed.expires: expected a time");

	/* the signature does not verify */
	root = load(V "tough/invalid-root-json-signature/root.json", VF_TUF_ROOT, 0);
	assert_int_equal(vf_tuf_verify(root, "root", root, &res, &err), -VF_EVERIFY);
	vf_test_assert_contains(err.msg, "role root: threshold not met: expected 1 valid signature, "
				"got 0; missing: 8ec3a843a0f9328c...; ignored: 8ec3a843a0f9328c... "
				"(invalid signature)");
	assert_int_equal(res.n_status, 1);
	assert_int_equal(res.status[0], VF_TUF_SIG_INVALID);
	assert_int_equal(res.n_missing, 1);
	vf_tuf_verify_result_release(&res);
	vf_tuf_md_free(root);

	/* no signatures at all */
	root = load(V "tough/no-root-json-signatures/root.json", VF_TUF_ROOT, 0);
	assert_verify_fails(root, "root", root, "got 0; missing: 8ec3a843a0f9328c...; no signatures");
	vf_tuf_md_free(root);

	/* valid signature, expired long ago */
	root = load(V "tough/expired-root-json-signature/root.json", VF_TUF_ROOT, 0);
	assert_verifies(root, "root", root, 1);
	assert_true(vf_tuf_md_is_expired(root, NOW));
	assert_int_equal(vf_tuf_md_verify_expiry(root, NOW, &err), -VF_EVERIFY);
	vf_test_assert_contains(err.msg, "root metadata version 1 expired at 1970-03-30T03:30:30Z "
				"(now 2024-01-01T00:00:00Z)");
	vf_tuf_md_free(root);

	/* an expired repository: the timestamp's signature is fine, its date is not */
	root = load(V "tough/expired-repository/metadata/1.root.json", VF_TUF_ROOT, 0);
	ts = load(V "tough/expired-repository/metadata/timestamp.json", VF_TUF_TIMESTAMP, 0);
	assert_verifies(root, "timestamp", ts, 1);
	assert_int_equal(vf_tuf_md_verify_expiry(ts, NOW, &err), -VF_EVERIFY);
	vf_test_assert_contains(err.msg, "timestamp metadata version 1589485578 expired at "
				"1999-01-01T00:00:00Z");
	vf_tuf_md_free(ts);
	vf_tuf_md_free(root);

	/* a root to be cross-signed: no signatures yet */
	root = load(V "tough/cross-sign-root/1.root.json", VF_TUF_ROOT, 0);
	assert_int_equal(root->n_sigs, 0);
	assert_verify_fails(root, "root", root, "no signatures");
	vf_tuf_md_free(root);
}

/* A signature listed twice counts once (tough GHSA-5q2r-92f9-4m49 class). */
static void test_duplicate_signature_counts_once(void **state)
{
	size_t len;
	char *text = (char *)vf_test_read_file(V "tough/simple-rsa/root.json", &len), *dumped;
	json_t *doc = json_loads(text, 0, NULL), *sigs;
	struct vf_tuf_md *md = NULL;
	struct vf_tuf_verify_result res = { 0 };
	struct vf_err err = { 0 };

	(void)state;
	assert_non_null(doc);
	sigs = json_object_get(doc, "signatures");
	json_array_append_new(sigs, json_deep_copy(json_array_get(sigs, 0)));
	json_array_append_new(sigs, json_deep_copy(json_array_get(sigs, 0)));
	dumped = json_dumps(doc, 0);
	assert_int_equal(vf_tuf_md_parse(dumped, strlen(dumped), VF_TUF_ROOT, 0, &md, &err), 0);
	assert_int_equal(md->n_sigs, 3);
	assert_int_equal(vf_tuf_verify(md, "root", md, &res, &err), 0);
	assert_int_equal(res.n_valid, 1);
	assert_int_equal(res.status[0], VF_TUF_SIG_VALID);
	assert_int_equal(res.status[1], VF_TUF_SIG_DUPLICATE);
	assert_int_equal(res.status[2], VF_TUF_SIG_DUPLICATE);
	/* and with threshold 2 declared by the delegator, one key is not enough */
	md->roles[0].threshold = 2;
	vf_tuf_verify_result_release(&res);
	assert_int_equal(vf_tuf_verify(md, "root", md, &res, &err), -VF_EVERIFY);
	vf_test_assert_contains(err.msg, "expected 2 valid signatures, got");
	vf_tuf_verify_result_release(&res);
	vf_tuf_md_free(md);
	free(dumped);
	json_decref(doc);
	free(text);
}

/* python-tuf's fishy role names: keyids made with an older keyid rule (TAP 12 opaque). */
static void test_fishy_rolenames(void **state)
{
	static const struct { const char *file, *role; } roles[] = {
		{ "metadata/1...json", "." },
		{ "metadata/1.\xc3\xb6.json", "\xc3\xb6" },
		{ "1.a.json", "../a" },
	};
	struct vf_tuf_md *root, *targets, *snap, *ts;
	char path[512], *name = NULL;

	(void)state;
	assert_load_fails(V "python-tuf/fishy_rolenames/metadata/1.root.json", 0, -EINVAL,
			  "signed.keys[\"59a4df8af818e9ed7abe0764c0b47b4240952aa0d179b5b78346c470ac30278d\"]: "
			  "keyid does not match the key: expected 2345a90ad8d76f3677f9ad6695b0ba0b5c7b7fbf27fb"
			  "0ed35fbdf7b71264a679 (sha256 of the canonical key object), got 59a4df8a");
	assert_load_fails(V "python-tuf/fishy_rolenames/metadata/1.targets.json", 0, -EINVAL,
			  "signed.delegations.keys[\"426edf0d");

	root = load(V "python-tuf/fishy_rolenames/metadata/1.root.json", VF_TUF_ROOT,
		    VF_TUF_PARSE_OPAQUE_KEYIDS);
	targets = load(V "python-tuf/fishy_rolenames/metadata/1.targets.json", VF_TUF_TARGETS,
		       VF_TUF_PARSE_OPAQUE_KEYIDS);
	snap = load(V "python-tuf/fishy_rolenames/metadata/2.snapshot.json", VF_TUF_SNAPSHOT, 0);
	ts = load(V "python-tuf/fishy_rolenames/metadata/timestamp.json", VF_TUF_TIMESTAMP, 0);
	assert_verifies(root, "root", root, 1);
	assert_verifies(root, "targets", targets, 1);
	assert_verifies(root, "snapshot", snap, 1);
	assert_verifies(root, "timestamp", ts, 1);
	assert_int_equal(targets->delegations->n_roles, 3);
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		struct vf_tuf_md *md;

		snprintf(path, sizeof(path), V "python-tuf/fishy_rolenames/%s", roles[i].file);
		md = load(path, VF_TUF_TARGETS, 0);
		assert_verifies(targets, roles[i].role, md, 1);
		vf_tuf_md_free(md);
	}
	/* file names never leave the metadata directory */
	assert_int_equal(vf_tuf_role_filename("../a", 1, &name, NULL), 0);
	assert_string_equal(name, "1...%2Fa.json");
	free(name);
	assert_int_equal(vf_tuf_role_filename("\xc3\xb6", 1, &name, NULL), 0);
	assert_string_equal(name, "1.%C3%B6.json");
	free(name);
	vf_tuf_md_free(root);
	vf_tuf_md_free(targets);
	vf_tuf_md_free(snap);
	vf_tuf_md_free(ts);
}

/* tough stores its dubious role names percent-encoded exactly as we name them. */
static void test_dubious_role_filenames(void **state)
{
	static const char *const names[] = {
		"../../path/like/dubious",
		"\xf0\x9f\x8d\xba/30",
		("\xe1\x9a\xa9 os, \xe1\x9a\xb1 rad, \xe1\x9a\xb3 cen, \xe1\x9a\xb7 gyfu, \xe1\x9a\xb9 "
		 "\xc6\xbfynn, \xe1\x9a\xbb h\xc3\xa6gl, ..."),
	};
	struct vf_tuf_md *root;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *name = NULL, path[1024];
		FILE *f;

		assert_int_equal(vf_tuf_role_filename(names[i], 0, &name, NULL), 0);
		snprintf(path, sizeof(path), V "tough/dubious-role-names/metadata/%s", name);
		f = fopen(path, "r");
		if (!f)
			fail_msg("no file %s", path);
		fclose(f);
		/* the role files are refused for their fractional expiry, not their names */
		assert_load_fails(path, 0, -EINVAL, "signed.expires: expected a time");
		free(name);
	}
	root = load(V "tough/dubious-role-names/metadata/1.root.json", VF_TUF_ROOT, 0);
	assert_verifies(root, "root", root, 1);
	vf_tuf_md_free(root);
}

/* Not metadata at all. */
static void test_not_metadata(void **state)
{
	(void)state;
	assert_load_fails(V "python-tuf/client/map.json", 0, -EINVAL, "signed: missing");
	assert_load_fails(V "python-tuf/repository/targets/file1.txt", 0, -EINVAL, "line 1, column 1");
	assert_load_fails(V "python-tuf/repository/metadata", 0, -EINVAL, "not a regular file");
	assert_load_fails(V "no-such-file.json", 0, -ENOENT, "No such file");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_python_tuf_repositories),
		cmocka_unit_test(test_python_tuf_target_files),
		cmocka_unit_test(test_tough_repositories),
		cmocka_unit_test(test_tough_refusals),
		cmocka_unit_test(test_duplicate_signature_counts_once),
		cmocka_unit_test(test_fishy_rolenames),
		cmocka_unit_test(test_dubious_role_filenames),
		cmocka_unit_test(test_not_metadata),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
