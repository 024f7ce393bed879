/* repo/metadata: the strict parser's rules, the model's changes, formats,
 * times, hash bins, path patterns and file names. Signing: test_sign.c;
 * foreign metadata: test_vectors.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "repo/metadata.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* python-tuf's test timestamp key (ed25519) and its keyid as sha256 of
 * {"keytype":"ed25519","keyval":{"public":...},"scheme":"ed25519"} (computed with
 * Python's hashlib). */
#define ED_PUB "edcd0a32a07dce33f7c7873aaffbff36d20ea30787574ead335eefd337e4dacd"
#define ED_KEYID "2345a90ad8d76f3677f9ad6695b0ba0b5c7b7fbf27fb0ed35fbdf7b71264a679"
#define ED_KEY "{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\",\"keyval\":{\"public\":\"" ED_PUB "\"}}"
#define H64 "abababababababababababababababababababababababababababababababab"

static const char root_json[] =
	"{\"signatures\":[],\"signed\":{\"_type\":\"root\",\"spec_version\":\"1.0.31\",\"version\":1,"
	"\"expires\":\"2030-01-01T00:00:00Z\",\"consistent_snapshot\":true,"
	"\"keys\":{\"" ED_KEYID "\":" ED_KEY "},"
	"\"roles\":{\"root\":{\"keyids\":[\"" ED_KEYID "\"],\"threshold\":1},"
	"\"targets\":{\"keyids\":[\"" ED_KEYID "\"],\"threshold\":1},"
	"\"snapshot\":{\"keyids\":[\"" ED_KEYID "\"],\"threshold\":1},"
	"\"timestamp\":{\"keyids\":[\"" ED_KEYID "\"],\"threshold\":1}}}}";

static const char targets_json[] =
	"{\"signatures\":[{\"keyid\":\"" ED_KEYID "\",\"sig\":\"00ff\"}],"
	"\"signed\":{\"_type\":\"targets\",\"spec_version\":\"1.0\",\"version\":3,"
	"\"expires\":\"2030-01-01T00:00:00Z\","
	"\"targets\":{\"b/c.txt\":{\"length\":0,\"hashes\":{\"sha256\":\"" H64 "\"}},"
	"\"a.txt\":{\"length\":5,\"hashes\":{\"sha256\":\"" H64 "\"},\"custom\":{\"m\":[1]}}},"
	"\"delegations\":{\"keys\":{\"" ED_KEYID "\":" ED_KEY "},\"roles\":["
	"{\"name\":\"proj\",\"keyids\":[\"" ED_KEYID "\"],\"threshold\":1,\"terminating\":true,"
	"\"paths\":[\"proj/*\"]},"
	"{\"name\":\"bins\",\"keyids\":[\"" ED_KEYID "\"],\"threshold\":1,\"terminating\":false,"
	"\"path_hash_prefixes\":[\"00\",\"4\"]}]}}}";

static const char snapshot_json[] =
	"{\"signatures\":[],\"signed\":{\"_type\":\"snapshot\",\"spec_version\":\"1.0.31\","
	"\"version\":2,\"expires\":\"2030-01-01T00:00:00Z\",\"meta\":{"
	"\"targets.json\":{\"version\":3},"
	"\"proj.json\":{\"version\":1,\"length\":10,\"hashes\":{\"sha256\":\"" H64 "\"}}}}}";

static const char timestamp_json[] =
	"{\"signatures\":[],\"signed\":{\"_type\":\"timestamp\",\"spec_version\":\"1.0.31\","
	"\"version\":2,\"expires\":\"2030-01-01T00:00:00Z\",\"meta\":{"
	"\"snapshot.json\":{\"version\":2,\"length\":515,\"hashes\":{\"sha256\":\"" H64 "\"}}}}}";

/* ---- helpers ------------------------------------------------------------------------ */

static struct vf_tuf_md *parse(const char *text, enum vf_tuf_type type, unsigned flags)
{
	struct vf_tuf_md *md = NULL;
	struct vf_err err = { 0 };

	if (vf_tuf_md_parse(text, strlen(text), type, flags, &md, &err))
		fail_msg("%s", err.msg);
	return md;
}

static json_t *doc_of(const char *base)
{
	json_t *doc = json_loads(base, 0, NULL);

	assert_non_null(doc);
	return doc;
}

/* The value at path "signed|roles|root" (keys separated by "|"; numbers index arrays). */
static json_t *at(json_t *doc, const char *path)
{
	char buf[256], *save = NULL, *tok;
	json_t *v = doc;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
		if (json_is_array(v))
			v = json_array_get(v, (size_t)atoi(tok));
		else
			v = json_object_get(v, tok);
		assert_non_null(v);
	}
	return v;
}

/* Parse `doc` (consumed) and expect a refusal naming `msg`. */
static void assert_refused(json_t *doc, unsigned flags, const char *msg)
{
	struct vf_tuf_md *md = NULL;
	struct vf_err err = { 0 };
	char *text = json_dumps(doc, JSON_COMPACT);
	int r;

	assert_non_null(text);
	r = vf_tuf_md_parse(text, strlen(text), 0, flags, &md, &err);
	if (r == 0)
		fail_msg("accepted, expected \"%s\": %s", msg, text);
	assert_int_equal(r, err.code);
	assert_true(r < 0);
	assert_null(md);
	vf_test_assert_contains(err.msg, msg);
	free(text);
	json_decref(doc);
}

static void set(json_t *doc, const char *path, const char *key, json_t *v)
{
	assert_int_equal(json_object_set_new(at(doc, path), key, v), 0);
}

static void del(json_t *doc, const char *path, const char *key)
{
	assert_int_equal(json_object_del(at(doc, path), key), 0);
}

static void assert_canonical_equal(const struct vf_tuf_md *md, const char *text)
{
	struct vf_buf got = VF_BUF_INIT;
	struct vf_err err = { 0 };
	json_t *doc = json_loads(text, 0, NULL);
	char *want = json_dumps(json_object_get(doc, "signed"), JSON_COMPACT | JSON_SORT_KEYS);

	/* jansson's compact sorted output is canonical for ASCII without escapes */
	if (vf_tuf_md_format_signed(md, &got, &err))
		fail_msg("%s", err.msg);
	assert_string_equal((char *)got.data, want);
	free(want);
	json_decref(doc);
	vf_buf_release(&got);
}

/* ---- parsing valid documents ------------------------------------------------------ */

static void test_parse_each_type(void **state)
{
	struct vf_tuf_md *md;
	const struct vf_tuf_role *r;
	const struct vf_tuf_meta *m;
	const struct vf_tuf_target *t;

	(void)state;
	md = parse(root_json, VF_TUF_ROOT, 0);
	assert_int_equal(md->type, VF_TUF_ROOT);
	assert_string_equal(md->spec_version, "1.0.31");
	assert_int_equal(md->version, 1);
	assert_int_equal(md->expires, 1893456000);
	assert_true(md->consistent_snapshot);
	assert_int_equal(md->keys.n, 1);
	assert_string_equal(md->keys.v[0].keyid, ED_KEYID);
	assert_string_equal(md->keys.v[0].keytype, "ed25519");
	assert_string_equal(md->keys.v[0].public_text, ED_PUB);
	assert_non_null(vf_tuf_keys_find(vf_tuf_md_keys(md), ED_KEYID));
	assert_null(vf_tuf_keys_find(vf_tuf_md_keys(md), "00"));
	r = vf_tuf_md_find_role(md, "snapshot");
	assert_non_null(r);
	assert_string_equal(r->name, "snapshot");
	assert_int_equal(r->threshold, 1);
	assert_int_equal(r->n_keyids, 1);
	assert_null(vf_tuf_md_find_role(md, "mirror"));
	assert_int_equal(md->n_sigs, 0);
	assert_canonical_equal(md, root_json);
	vf_tuf_md_free(md);

	md = parse(targets_json, VF_TUF_TARGETS, 0);
	assert_int_equal(md->n_targets, 2);
	assert_string_equal(md->targets[0]->path, "a.txt"); /* sorted */
	assert_string_equal(md->targets[1]->path, "b/c.txt");
	t = vf_tuf_targets_find_target(md, "a.txt");
	assert_int_equal(t->length, 5);
	assert_string_equal(t->hashes.sha256, H64);
	assert_string_equal(t->hashes.sha512, "");
	assert_true(json_is_object((json_t *)t->custom));
	assert_null(vf_tuf_targets_find_target(md, "c.txt"));
	assert_non_null(md->delegations);
	assert_int_equal(md->delegations->n_roles, 2);
	r = vf_tuf_md_find_role(md, "proj");
	assert_true(r->terminating);
	assert_true(r->has_paths);
	r = vf_tuf_md_find_role(md, "bins");
	assert_false(r->has_paths);
	assert_int_equal(r->n_paths, 2);
	assert_int_equal(md->n_sigs, 1);
	assert_string_equal(md->sigs[0].sig, "00ff");
	assert_canonical_equal(md, targets_json);
	vf_tuf_md_free(md);

	md = parse(snapshot_json, VF_TUF_SNAPSHOT, 0);
	assert_int_equal(md->n_meta, 2);
	assert_string_equal(md->meta[0]->name, "proj.json");
	m = vf_tuf_md_find_meta(md, "targets.json");
	assert_int_equal(m->version, 3);
	assert_false(m->has_length);
	assert_string_equal(m->hashes.sha256, "");
	m = vf_tuf_md_find_meta(md, "proj.json");
	assert_true(m->has_length);
	assert_int_equal(m->length, 10);
	assert_canonical_equal(md, snapshot_json);
	vf_tuf_md_free(md);

	md = parse(timestamp_json, 0, 0);
	assert_int_equal(md->type, VF_TUF_TIMESTAMP);
	assert_int_equal(vf_tuf_md_find_meta(md, "snapshot.json")->length, 515);
	assert_canonical_equal(md, timestamp_json);
	vf_tuf_md_free(md);
}

/* Members vforge does not know survive at every level, in the signed bytes too. */
static void test_unknown_members_kept(void **state)
{
	json_t *doc = doc_of(targets_json);
	struct vf_tuf_md *md;
	char *text;

	(void)state;
	set(doc, "", "x-envelope", json_string("e"));
	set(doc, "signed", "x-signed", json_pack("{s:[i,s]}", "k", 1, "v"));
	set(doc, "signed|targets|a.txt", "x-target", json_true());
	set(doc, "signed|delegations", "x-deleg", json_null());
	set(doc, "signed|delegations|roles|0", "x-role", json_integer(7));
	set(doc, "signed|delegations|keys|" ED_KEYID, "keyid_hash_algorithms",
	    json_pack("[s,s]", "sha256", "sha512"));
	set(doc, "signatures|0", "x-sig", json_string("s"));
	text = json_dumps(doc, 0);
	/* the key object changed, so its keyid no longer matches: opaque keyids */
	md = parse(text, VF_TUF_TARGETS, VF_TUF_PARSE_OPAQUE_KEYIDS);
	assert_non_null(md->extra);
	assert_non_null(md->envelope_extra);
	assert_non_null(md->targets[0]->extra);
	assert_null(md->targets[1]->extra);
	assert_non_null(md->delegations->extra);
	assert_non_null(md->delegations->roles[0].extra);
	assert_non_null(md->sigs[0].extra);
	assert_canonical_equal(md, text);
	{
		struct vf_buf out = VF_BUF_INIT;
		struct vf_err err = { 0 };

		assert_int_equal(vf_tuf_md_format(md, VF_TUF_FORMAT_CANONICAL, &out, &err), 0);
		vf_test_assert_contains((char *)out.data, "\"x-envelope\":\"e\"");
		vf_test_assert_contains((char *)out.data, "\"x-sig\":\"s\"");
		vf_buf_release(&out);
	}
	vf_tuf_md_free(md);
	free(text);
	json_decref(doc);
}

/* ---- the parser's refusals ---------------------------------------------------------- */

static void test_refuse_envelope_and_common(void **state)
{
	json_t *d;
	struct vf_tuf_md *md = NULL;
	struct vf_err err = { 0 };

	(void)state;
	assert_int_equal(vf_tuf_md_parse("[]", 2, 0, 0, &md, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "metadata: expected an object, got an array");
	assert_int_equal(vf_tuf_md_parse(root_json, strlen(root_json), VF_TUF_TARGETS, 0, &md, &err),
			 -EINVAL);
	vf_test_assert_contains(err.msg, "signed._type: expected \"targets\", got \"root\"");
	assert_int_equal(vf_tuf_md_parse("{\"a\":1.5}", 9, 0, 0, &md, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "line 1, column 6: floating-point number not allowed");

	d = doc_of(root_json), del(d, "", "signed");
	assert_refused(d, 0, "signed: missing");
	d = doc_of(root_json), set(d, "", "signatures", json_object());
	assert_refused(d, 0, "signatures: expected an array, got an object");
	d = doc_of(root_json), set(d, "signed", "_type", json_string("mirrors"));
	assert_refused(d, 0, "signed._type: unknown metadata type \"mirrors\"");
	d = doc_of(root_json), set(d, "signed", "spec_version", json_string("2.0.0"));
	assert_refused(d, 0, "signed.spec_version: unsupported specification version \"2.0.0\"");
	d = doc_of(root_json), set(d, "signed", "spec_version", json_string("1"));
	assert_refused(d, 0, "signed.spec_version: expected a version \"X.Y\" or \"X.Y.Z\", got \"1\"");
	d = doc_of(root_json), set(d, "signed", "spec_version", json_string("1.0.31-rc1"));
	assert_refused(d, 0, "expected a version");
	d = doc_of(root_json), set(d, "signed", "version", json_integer(0));
	assert_refused(d, 0, "signed.version: expected an integer of at least 1, got 0");
	d = doc_of(root_json), set(d, "signed", "version", json_string("1"));
	assert_refused(d, 0, "signed.version: expected an integer, got a string");
	d = doc_of(root_json), set(d, "signed", "expires", json_string("2030-01-01T00:00:00+00:00"));
	assert_refused(d, 0, "signed.expires: expected a time \"YYYY-MM-DDTHH:MM:SSZ\", got "
		       "\"2030-01-01T00:00:00+00:00\"");
	d = doc_of(root_json), set(d, "signed", "expires", json_string("2030-01-01 00:00:00Z"));
	assert_refused(d, 0, "expected a time");
	d = doc_of(root_json), set(d, "signed", "expires", json_string("2031-02-29T00:00:00Z"));
	assert_refused(d, 0, "signed.expires: no such time: \"2031-02-29T00:00:00Z\"");
	d = doc_of(root_json), set(d, "signed", "expires", json_string("2030-01-01T24:00:00Z"));
	assert_refused(d, 0, "no such time");
	d = doc_of(root_json), set(d, "signed", "expires", json_integer(1893456000));
	assert_refused(d, 0, "signed.expires: expected a string, got an integer");
	d = doc_of(targets_json), set(d, "signatures|0", "sig", json_string("xyz"));
	assert_refused(d, 0, "signatures[0].sig: expected hex digits");
	d = doc_of(targets_json), del(d, "signatures|0", "keyid");
	assert_refused(d, 0, "signatures[0].keyid: missing");
	d = doc_of(targets_json), set(d, "signatures|0", "keyid", json_string(""));
	assert_refused(d, 0, "signatures[0].keyid: empty string");
	/* what is signed must be canonical JSON that others encode the same way */
	d = doc_of(root_json), set(d, "signed", "x-note", json_string("cafe\xcc\x81"));
	assert_refused(d, 0, "signed: [\"x-note\"]: string is not in unicode normalization form c");
}

static void test_refuse_root(void **state)
{
	json_t *d;

	(void)state;
	d = doc_of(root_json), del(d, "signed", "consistent_snapshot");
	assert_refused(d, 0, "signed.consistent_snapshot: missing");
	d = doc_of(root_json), set(d, "signed", "consistent_snapshot", json_integer(1));
	assert_refused(d, 0, "signed.consistent_snapshot: expected a boolean, got an integer");
	d = doc_of(root_json), del(d, "signed|roles", "timestamp");
	assert_refused(d, 0, "signed.roles.timestamp: missing");
	d = doc_of(root_json), set(d, "signed|roles", "mirror", json_pack("{s:[],s:i}", "keyids",
									   "threshold", 1));
	assert_refused(d, 0, "signed.roles.mirror: unknown top-level role");
	d = doc_of(root_json), set(d, "signed|roles|root", "threshold", json_integer(0));
	assert_refused(d, 0, "signed.roles.root.threshold: expected an integer of at least 1, got 0");
	d = doc_of(root_json), set(d, "signed|roles|targets", "threshold", json_integer(2));
	assert_refused(d, 0, "signed.roles.targets.threshold: threshold 2 is more than the 1 keyid "
		       "of the role");
	d = doc_of(root_json), json_array_append_new(at(d, "signed|roles|root|keyids"),
						     json_string(ED_KEYID));
	assert_refused(d, 0, "signed.roles.root.keyids[1]: duplicate entry \"" ED_KEYID "\"");
	d = doc_of(root_json), json_array_append_new(at(d, "signed|roles|root|keyids"),
						     json_string("abcd"));
	assert_refused(d, 0, "signed.roles.root.keyids[1]: keyid abcd is not in signed.keys");
	d = doc_of(root_json), json_array_append_new(at(d, "signed|roles|root|keyids"), json_integer(3));
	assert_refused(d, 0, "signed.roles.root.keyids[1]: expected a string, got an integer");
	d = doc_of(root_json), set(d, "signed|keys|" ED_KEYID, "scheme", json_string("x"));
	assert_refused(d, 0, "signed.keys[\"" ED_KEYID "\"]: keyid does not match the key: "
		       "expected ");
	d = doc_of(root_json), del(d, "signed|keys|" ED_KEYID "|keyval", "public");
	assert_refused(d, VF_TUF_PARSE_OPAQUE_KEYIDS,
		       "signed.keys[\"" ED_KEYID "\"].keyval.public: missing");
	d = doc_of(root_json), set(d, "signed|keys|" ED_KEYID, "keytype", json_null());
	assert_refused(d, VF_TUF_PARSE_OPAQUE_KEYIDS, ".keytype: expected a string, got null");
	d = doc_of(root_json), set(d, "signed|keys", "", json_pack("{}"));
	assert_refused(d, 0, "signed.keys: empty keyid");
}

static void test_refuse_targets(void **state)
{
	static const struct { const char *path, *msg; } bad_paths[] = {
		{ "/etc/passwd", "signed.targets[\"/etc/passwd\"]: target path starts with \"/\"" },
		{ "a//b", "target path has an empty component" },
		{ "a/", "target path has an empty component" },
		{ "", "signed.targets[\"\"]: target path has an empty component" },
		{ "./a", "target path has a \".\" component" },
		{ "a/../b", "target path has a \"..\" component" },
		{ "..", "target path has a \"..\" component" },
	};
	char bad[65];
	json_t *d;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		d = doc_of(targets_json);
		set(d, "signed|targets", bad_paths[i].path,
		    json_pack("{s:i,s:{s:s}}", "length", 1, "hashes", "sha256", H64));
		assert_refused(d, 0, bad_paths[i].msg);
	}
	d = doc_of(targets_json), json_object_setn_new(at(d, "signed|targets"), "a\0b", 3,
						       json_pack("{s:i,s:{s:s}}", "length", 1,
								 "hashes", "sha256", H64));
	{ /* jansson escapes the NUL; our parser refuses it in keys */
		struct vf_tuf_md *md = NULL;
		struct vf_err err = { 0 };
		char *text = json_dumps(d, 0);

		assert_int_equal(vf_tuf_md_parse(text, strlen(text), 0, 0, &md, &err), -EINVAL);
		vf_test_assert_contains(err.msg, "object key contains \\u0000");
		free(text);
		json_decref(d);
	}
	d = doc_of(targets_json), set(d, "signed|targets|a.txt", "length", json_integer(-1));
	assert_refused(d, 0, "signed.targets[\"a.txt\"].length: expected an integer of at least 0, "
		       "got -1");
	d = doc_of(targets_json), del(d, "signed|targets|a.txt", "hashes");
	assert_refused(d, 0, "signed.targets[\"a.txt\"].hashes: missing");
	d = doc_of(targets_json), set(d, "signed|targets|a.txt", "hashes", json_object());
	assert_refused(d, 0, "signed.targets[\"a.txt\"].hashes: no hashes");
	d = doc_of(targets_json), set(d, "signed|targets|a.txt|hashes", "md5",
				      json_string("d41d8cd98f00b204e9800998ecf8427e"));
	assert_refused(d, 0, "hashes: unsupported hash algorithm \"md5\" (vforge knows sha256 and "
		       "sha512)");
	d = doc_of(targets_json), set(d, "signed|targets|a.txt|hashes", "sha256", json_string("abab"));
	assert_refused(d, 0, "signed.targets[\"a.txt\"].hashes.sha256: expected 64 hex digits, got "
		       "\"abab\"");
	d = doc_of(targets_json), set(d, "signed|targets|a.txt|hashes", "sha512", json_string(H64));
	assert_refused(d, 0, "hashes.sha512: expected 128 hex digits");
	memcpy(bad, H64, sizeof(bad));
	bad[10] = 'z';
	d = doc_of(targets_json), set(d, "signed|targets|a.txt|hashes", "sha256", json_string(bad));
	assert_refused(d, 0, "expected 64 hex digits");
	d = doc_of(targets_json), set(d, "signed", "targets", json_array());
	assert_refused(d, 0, "signed.targets: expected an object, got an array");
}

static void test_refuse_delegations(void **state)
{
	json_t *d;

	(void)state;
	d = doc_of(targets_json), set(d, "signed|delegations", "succinct_roles", json_object());
	assert_refused(d, 0, "signed.delegations: expected exactly one of roles and succinct_roles");
	d = doc_of(targets_json), del(d, "signed|delegations", "roles");
	assert_refused(d, 0, "expected exactly one of roles and succinct_roles");
	d = doc_of(targets_json), del(d, "signed|delegations", "keys");
	assert_refused(d, 0, "signed.delegations.keys: missing");
	d = doc_of(targets_json), set(d, "signed|delegations|roles|0", "path_hash_prefixes",
				      json_array());
	assert_refused(d, 0, "signed.delegations.roles[0]: expected exactly one of paths and "
		       "path_hash_prefixes");
	d = doc_of(targets_json), del(d, "signed|delegations|roles|0", "paths");
	assert_refused(d, 0, "expected exactly one of paths and path_hash_prefixes");
	d = doc_of(targets_json), del(d, "signed|delegations|roles|0", "terminating");
	assert_refused(d, 0, "signed.delegations.roles[0].terminating: missing");
	d = doc_of(targets_json), set(d, "signed|delegations|roles|1", "name", json_string("proj"));
	assert_refused(d, 0, "signed.delegations.roles[1].name: duplicate role name \"proj\"");
	d = doc_of(targets_json), set(d, "signed|delegations|roles|1", "name", json_string("snapshot"));
	assert_refused(d, 0, "signed.delegations.roles[1].name: a delegated role cannot be named "
		       "\"snapshot\"");
	d = doc_of(targets_json), set(d, "signed|delegations|roles|1", "name", json_string(""));
	assert_refused(d, 0, "signed.delegations.roles[1].name: empty string");
	d = doc_of(targets_json), set(d, "signed|delegations|roles|1", "path_hash_prefixes",
				      json_pack("[s]", "0G"));
	assert_refused(d, 0, "signed.delegations.roles[1].path_hash_prefixes[0]: expected at most 64 "
		       "lower-case hex digits, got \"0G\"");
	d = doc_of(targets_json), set(d, "signed|delegations|roles|1", "threshold", json_integer(2));
	assert_refused(d, 0, "signed.delegations.roles[1].threshold: threshold 2 is more than the 1 "
		       "keyid");
	d = doc_of(targets_json), set(d, "signed|delegations|roles|0", "keyids",
				      json_pack("[s]", "ff"));
	assert_refused(d, 0, "signed.delegations.roles[0].keyids[0]: keyid ff is not in "
		       "signed.delegations.keys");
	/* succinct hash bins */
	d = doc_of(targets_json), del(d, "signed|delegations", "roles");
	set(d, "signed|delegations", "succinct_roles",
	    json_pack("{s:[s],s:i,s:i,s:s}", "keyids", ED_KEYID, "threshold", 1, "bit_length", 33,
		      "name_prefix", "bins"));
	assert_refused(d, 0, "signed.delegations.succinct_roles.bit_length: expected 1 to 32, got 33");
	d = doc_of(targets_json), del(d, "signed|delegations", "roles");
	set(d, "signed|delegations", "succinct_roles",
	    json_pack("{s:[s],s:i,s:i}", "keyids", ED_KEYID, "threshold", 1, "bit_length", 8));
	assert_refused(d, 0, "signed.delegations.succinct_roles.name_prefix: missing");
}

static void test_refuse_meta(void **state)
{
	json_t *d;

	(void)state;
	d = doc_of(snapshot_json), set(d, "signed|meta|targets.json", "version", json_integer(0));
	assert_refused(d, 0, "signed.meta[\"targets.json\"].version: expected an integer of at least "
		       "1, got 0");
	d = doc_of(snapshot_json), set(d, "signed|meta|targets.json", "length", json_integer(-5));
	assert_refused(d, 0, "signed.meta[\"targets.json\"].length: expected an integer of at least 0");
	d = doc_of(snapshot_json), set(d, "signed|meta|targets.json", "hashes", json_object());
	assert_refused(d, 0, "signed.meta[\"targets.json\"].hashes: no hashes");
	d = doc_of(snapshot_json), set(d, "signed|meta", "", json_pack("{s:i}", "version", 1));
	assert_refused(d, 0, "signed.meta[\"\"]: empty name");
	d = doc_of(snapshot_json), del(d, "signed", "meta");
	assert_refused(d, 0, "signed.meta: missing");
	d = doc_of(timestamp_json), set(d, "signed|meta", "targets.json",
					json_pack("{s:i}", "version", 1));
	assert_refused(d, 0, "signed.meta: a timestamp lists exactly \"snapshot.json\"");
	d = doc_of(timestamp_json), del(d, "signed|meta", "snapshot.json");
	assert_refused(d, 0, "a timestamp lists exactly \"snapshot.json\"");
}

/* ---- building documents ------------------------------------------------------------ */

static struct vf_key *ed_key(void)
{
	struct vf_key *k = NULL;
	struct vf_err err = { 0 };

	if (vf_key_from_tuf("ed25519", "ed25519", ED_PUB, &k, &err))
		fail_msg("%s", err.msg);
	return k;
}

static void test_build_root(void **state)
{
	struct vf_tuf_md *md = vf_tuf_md_new(VF_TUF_ROOT), *back = NULL;
	struct vf_key *key = ed_key();
	struct vf_buf out = VF_BUF_INIT;
	struct vf_err err = { 0 };
	char keyid[65];

	(void)state;
	assert_non_null(md);
	assert_null(vf_tuf_md_new(0));
	md->expires = 1893456000;
	/* a fresh root has roles without keys: not valid yet */
	assert_int_equal(vf_tuf_md_validate(md, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "signed.roles.root.threshold: threshold 1 is more than the "
				"0 keyids of the role");
	assert_int_equal(vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, &out, &err), -EINVAL);
	assert_int_equal(out.len, 0);
	for (int t = VF_TUF_ROOT; t <= VF_TUF_TIMESTAMP; t++) {
		assert_int_equal(vf_tuf_md_add_key(md, vf_tuf_type_name(t), key, keyid, &err), 0);
		assert_string_equal(keyid, ED_KEYID);
	}
	/* adding again changes nothing */
	assert_int_equal(vf_tuf_md_add_key(md, "root", key, NULL, &err), 0);
	assert_int_equal(md->keys.n, 1);
	assert_int_equal(md->roles[0].n_keyids, 1);
	assert_int_equal(vf_tuf_md_add_key(md, "mirror", key, NULL, &err), -ENOENT);
	vf_test_assert_contains(err.msg, "role mirror: no such role in root metadata");
	assert_int_equal(vf_tuf_md_validate(md, &err), 0);
	/* the same document as written by hand above */
	assert_canonical_equal(md, root_json);

	assert_int_equal(vf_tuf_md_set_threshold(md, "root", 0, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "role root: threshold must be at least 1, got 0");
	assert_int_equal(vf_tuf_md_set_threshold(md, "root", 2, &err), 0);
	assert_int_equal(vf_tuf_md_validate(md, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "threshold 2 is more than the 1 keyid");
	assert_int_equal(vf_tuf_md_set_threshold(md, "root", 1, &err), 0);

	/* removing the key from one role keeps it for the others */
	assert_int_equal(vf_tuf_md_remove_key(md, "timestamp", ED_KEYID, &err), 0);
	assert_int_equal(md->keys.n, 1);
	assert_int_equal(vf_tuf_md_remove_key(md, "timestamp", ED_KEYID, &err), -ENOENT);
	vf_test_assert_contains(err.msg, "role timestamp: keyid " ED_KEYID " is not authorised");
	assert_int_equal(vf_tuf_md_remove_key(md, "root", ED_KEYID, &err), 0);
	assert_int_equal(vf_tuf_md_remove_key(md, "targets", ED_KEYID, &err), 0);
	assert_int_equal(vf_tuf_md_remove_key(md, "snapshot", ED_KEYID, &err), 0);
	assert_int_equal(md->keys.n, 0); /* no role uses it any more */

	/* out-of-range values are refused when written */
	assert_int_equal(vf_tuf_md_add_key(md, "root", key, NULL, &err), 0);
	md->version = (uint64_t)1 << 53;
	assert_int_equal(vf_tuf_md_validate(md, &err), -ERANGE);
	vf_test_assert_contains(err.msg, "metadata: version 9007199254740992 is 2^53 or more");
	md->version = 1;
	md->expires = (time_t)253402300800LL;
	assert_int_equal(vf_tuf_md_validate(md, &err), -ERANGE);
	vf_test_assert_contains(err.msg, "expires: 253402300800 is outside years 0001 to 9999");
	md->expires = 1893456000;

	/* pretty output reads back */
	for (int t = VF_TUF_TARGETS; t <= VF_TUF_TIMESTAMP; t++)
		assert_int_equal(vf_tuf_md_add_key(md, vf_tuf_type_name(t), key, NULL, &err), 0);
	assert_int_equal(vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, &out, &err), 0);
	vf_test_assert_contains((char *)out.data, "{\n \"signatures\": [],\n \"signed\": {\n  \"_type\": \"root\",");
	assert_int_equal(vf_tuf_md_parse(out.data, out.len, VF_TUF_ROOT, 0, &back, &err), 0);
	assert_int_equal(back->keys.n, 1);
	vf_tuf_md_free(back);
	vf_buf_release(&out);
	vf_key_free(key);
	vf_tuf_md_free(md);
}

static void test_build_targets(void **state)
{
	struct vf_tuf_md *md = vf_tuf_md_new(VF_TUF_TARGETS);
	struct vf_tuf_hashes h = { 0 };
	struct vf_key *key = ed_key();
	struct vf_err err = { 0 };
	const char *paths[] = { "proj/*" }, *prefixes[] = { "00", "4" };
	json_t *custom = json_pack("{s:[i]}", "m", 1);
	char buf[32];

	(void)state;
	md->version = 3;
	md->expires = 1893456000;
	free(md->spec_version);
	md->spec_version = strdup("1.0");
	memcpy(h.sha256, H64, 65);
	assert_int_equal(vf_tuf_targets_add_target(md, "b/c.txt", 0, &h, NULL, &err), 0);
	assert_int_equal(vf_tuf_targets_add_target(md, "a.txt", 9, &h, NULL, &err), 0);
	assert_int_equal(vf_tuf_targets_add_target(md, "a.txt", 5, &h, custom, &err), 0); /* replaces */
	assert_int_equal(md->n_targets, 2);
	assert_string_equal(md->targets[0]->path, "a.txt");
	assert_int_equal(vf_tuf_targets_find_target(md, "a.txt")->length, 5);
	assert_int_equal(vf_tuf_targets_add_target(md, "x", 1, &(struct vf_tuf_hashes){ 0 }, NULL,
						   &err), -EINVAL);
	vf_test_assert_contains(err.msg, "target x: no hashes");
	assert_int_equal(vf_tuf_targets_add_role(md, "proj", paths, 1, false, true, &err), 0);
	assert_int_equal(vf_tuf_targets_add_role(md, "bins", prefixes, 2, true, false, &err), 0);
	assert_int_equal(vf_tuf_targets_add_role(md, "proj", paths, 1, false, true, &err), -EEXIST);
	vf_test_assert_contains(err.msg, "role proj: already delegated");
	assert_int_equal(vf_tuf_targets_add_role(md, "targets", paths, 1, false, true, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "role \"targets\": not a valid delegated role name");
	assert_int_equal(vf_tuf_md_add_key(md, "proj", key, NULL, &err), 0);
	assert_int_equal(vf_tuf_md_add_key(md, "bins", key, NULL, &err), 0);
	assert_int_equal(vf_tuf_md_add_key(md, "nope", key, NULL, &err), -ENOENT);
	vf_test_assert_contains(err.msg, "role nope: no such role in targets metadata");
	/* the same document as written by hand, signatures aside */
	assert_canonical_equal(md, targets_json);
	assert_int_equal(vf_tuf_targets_set_succinct(md, "hb", 4, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "already delegates to 2 named roles");

	/* a role's key goes with the last role using it */
	assert_int_equal(vf_tuf_targets_remove_role(md, "proj", &err), 0);
	assert_int_equal(md->delegations->keys.n, 1);
	assert_int_equal(vf_tuf_targets_remove_role(md, "bins", &err), 0);
	assert_int_equal(md->delegations->keys.n, 0);
	assert_int_equal(vf_tuf_targets_remove_role(md, "bins", &err), -ENOENT);

	/* succinct bins */
	assert_int_equal(vf_tuf_targets_set_succinct(md, "hb", 33, &err), -EINVAL);
	assert_int_equal(vf_tuf_targets_set_succinct(md, "hb", 4, &err), 0);
	assert_int_equal(vf_tuf_md_add_key(md, "hb", key, NULL, &err), 0);
	assert_int_equal(vf_tuf_targets_add_role(md, "p", paths, 1, false, true, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "the delegations are succinct hash bins");
	assert_int_equal(vf_tuf_md_validate(md, &err), 0);
	assert_int_equal(md->delegations->succinct->bit_length, 4);

	/* many targets in reverse order stay sorted; removal */
	for (int i = 999; i >= 0; i--) {
		snprintf(buf, sizeof(buf), "f/%04d", i);
		assert_int_equal(vf_tuf_targets_add_target(md, buf, (uint64_t)i, &h, NULL, &err), 0);
	}
	assert_int_equal(md->n_targets, 1002);
	for (size_t i = 1; i < md->n_targets; i++)
		assert_true(strcmp(md->targets[i - 1]->path, md->targets[i]->path) < 0);
	assert_int_equal(vf_tuf_targets_find_target(md, "f/0500")->length, 500);
	assert_int_equal(vf_tuf_targets_remove_target(md, "f/0500", &err), 0);
	assert_null(vf_tuf_targets_find_target(md, "f/0500"));
	assert_int_equal(vf_tuf_targets_remove_target(md, "f/0500", &err), -ENOENT);
	vf_test_assert_contains(err.msg, "target f/0500: not listed");
	assert_int_equal(vf_tuf_md_validate(md, &err), 0);

	/* a path the parser would refuse is refused when written */
	assert_int_equal(vf_tuf_targets_add_target(md, "../x", 1, &h, NULL, &err), 0);
	assert_int_equal(vf_tuf_md_validate(md, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "signed.targets[\"../x\"]: target path has a \"..\" component");
	json_decref(custom);
	vf_key_free(key);
	vf_tuf_md_free(md);
}

static void test_build_snapshot_timestamp(void **state)
{
	struct vf_tuf_md *snap = vf_tuf_md_new(VF_TUF_SNAPSHOT), *ts = vf_tuf_md_new(VF_TUF_TIMESTAMP);
	struct vf_tuf_hashes h = { 0 };
	struct vf_err err = { 0 };

	(void)state;
	memcpy(h.sha256, H64, 65);
	snap->version = 2, snap->expires = 1893456000;
	ts->version = 2, ts->expires = 1893456000;
	assert_int_equal(vf_tuf_md_set_meta(snap, "targets.json", 3, -1, NULL, &err), 0);
	assert_int_equal(vf_tuf_md_set_meta(snap, "proj.json", 9, -1, NULL, &err), 0);
	assert_int_equal(vf_tuf_md_set_meta(snap, "proj.json", 1, 10, &h, &err), 0);
	assert_canonical_equal(snap, snapshot_json);
	assert_int_equal(vf_tuf_md_set_meta(snap, "x.json", 0, -1, NULL, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "meta x.json: version must be at least 1");
	assert_int_equal(vf_tuf_md_remove_meta(snap, "proj.json", &err), 0);
	assert_null(vf_tuf_md_find_meta(snap, "proj.json"));
	assert_int_equal(vf_tuf_md_remove_meta(snap, "proj.json", &err), -ENOENT);

	assert_int_equal(vf_tuf_md_set_meta(ts, "targets.json", 1, -1, NULL, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "timestamp meta: expected \"snapshot.json\", got \"targets.json\"");
	/* an empty timestamp is not valid */
	assert_int_equal(vf_tuf_md_validate(ts, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "a timestamp lists exactly \"snapshot.json\"");
	assert_int_equal(vf_tuf_md_set_meta(ts, "snapshot.json", 2, 515, &h, &err), 0);
	assert_canonical_equal(ts, timestamp_json);
	assert_int_equal(vf_tuf_targets_add_target(ts, "a", 1, &h, NULL, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "expected targets metadata, got timestamp");
	vf_tuf_md_free(snap);
	vf_tuf_md_free(ts);
}

static void test_save_and_load(void **state)
{
	const char *dir = *state;
	char *path = vf_test_path(dir, "3.targets.json");
	struct vf_tuf_md *md = parse(targets_json, VF_TUF_TARGETS, 0), *back;
	struct vf_err err = { 0 };
	size_t len;
	uint8_t *text;

	assert_int_equal(vf_tuf_md_save(md, path, &err), 0);
	vf_test_assert_listing(dir, "3.targets.json");
	text = vf_test_read_file(path, &len);
	assert_int_equal(text[len - 1], '\n');
	free(text);
	back = NULL;
	assert_int_equal(vf_tuf_md_load(path, VF_TUF_TARGETS, 0, &back, &err), 0);
	assert_canonical_equal(back, targets_json);
	assert_int_equal(back->n_sigs, 1);
	vf_tuf_md_free(back);
	/* nothing is left behind when writing fails */
	md->targets[0]->hashes.sha256[0] = 0;
	md->targets[0]->hashes.sha512[0] = 0;
	assert_int_equal(vf_tuf_md_save(md, path, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "signed.targets[\"a.txt\"].hashes: no hashes");
	vf_test_assert_listing(dir, "3.targets.json");
	vf_tuf_md_free(md);
	free(path);
}

/* ---- hashes, time, bins, patterns, names --------------------------------------- */

static void test_hashes(void **state)
{
	struct vf_tuf_hashes h;
	struct vf_err err = { 0 };

	(void)state;
	assert_int_equal(vf_tuf_hashes_build("abc", 3, true, &h, &err), 0);
	assert_string_equal(h.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_string_equal(h.sha512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
			    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
	assert_int_equal(vf_tuf_hashes_verify(&h, "abc", 3, &err), 0);
	assert_int_equal(vf_tuf_hashes_verify(&h, "abd", 3, &err), -VF_EVERIFY);
	vf_test_assert_contains(err.msg, "sha256 mismatch: expected ba7816bf");
	h.sha256[0] = 0;
	assert_int_equal(vf_tuf_hashes_verify(&h, "abd", 3, &err), -VF_EVERIFY);
	vf_test_assert_contains(err.msg, "sha512 mismatch: expected ddaf35a1");
	h.sha512[0] = 0;
	assert_int_equal(vf_tuf_hashes_verify(&h, "abc", 3, &err), -VF_EVERIFY);
	vf_test_assert_contains(err.msg, "no hashes to check against");
	/* upper-case hex as another implementation might write it */
	assert_int_equal(vf_tuf_hashes_build("abc", 3, false, &h, &err), 0);
	for (char *p = h.sha256; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(vf_tuf_hashes_verify(&h, "abc", 3, &err), 0);
	assert_string_equal(h.sha512, "");
}

static void test_time(void **state)
{
	static const struct { const char *text; long long t; } ok[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2030-01-01T00:00:00Z", 1893456000 },
		{ "1969-12-31T23:59:59Z", -1 },
		{ "2024-02-29T12:34:56Z", 1709210096 },
		{ "0001-01-01T00:00:00Z", -62135596800LL },
		{ "9999-12-31T23:59:59Z", 253402300799LL },
	};
	static const char *const bad[] = {
		"2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "0000-01-01T00:00:00Z",
		"2030-13-01T00:00:00Z", "2030-04-31T00:00:00Z", "2030-01-01T00:60:00Z",
		"2030-01-01T00:00:60Z", "2030-01-01T00:00:00", "2030-01-01T00:00:00.1Z",
		"2030-01-01t00:00:00Z", "+030-01-01T00:00:00Z", " 2030-01-01T00:00:00Z", "",
	};
	char out[VF_TUF_TIME_LEN + 1];
	struct vf_err err = { 0 };
	time_t t;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(vf_tuf_time_parse(ok[i].text, &t, &err), 0);
		assert_int_equal((long long)t, ok[i].t);
		assert_int_equal(vf_tuf_time_format(t, out), 0);
		assert_string_equal(out, ok[i].text);
	}
	assert_int_equal(vf_tuf_time_parse("2000-02-29T00:00:00Z", &t, &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (vf_tuf_time_parse(bad[i], &t, &err) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(vf_tuf_time_format((time_t)253402300800LL, out), -ERANGE);
	assert_int_equal(vf_tuf_time_format((time_t)-62135596801LL, out), -ERANGE);
	/* every day of a few centuries formats and parses back */
	for (long long d = -700000; d < 700000; d += 37) {
		time_t x = (time_t)(d * 86400 + (d % 86400 + 86400) % 86400);

		assert_int_equal(vf_tuf_time_format(x, out), 0);
		assert_int_equal(vf_tuf_time_parse(out, &t, &err), 0);
		assert_int_equal((long long)t, (long long)x);
	}
}

static void test_expiry(void **state)
{
	struct vf_tuf_md *md = parse(timestamp_json, VF_TUF_TIMESTAMP, 0);
	struct vf_err err = { 0 };

	(void)state;
	assert_false(vf_tuf_md_is_expired(md, 1893455999));
	assert_int_equal(vf_tuf_md_verify_expiry(md, 1893455999, &err), 0);
	/* expired at the very second (as python-tuf and tuf-js) */
	assert_true(vf_tuf_md_is_expired(md, 1893456000));
	assert_int_equal(vf_tuf_md_verify_expiry(md, 1893456000, &err), -VF_EVERIFY);
	assert_string_equal(err.msg, "timestamp metadata version 2 expired at 2030-01-01T00:00:00Z "
			    "(now 2030-01-01T00:00:00Z)");
	vf_tuf_md_free(md);
}

static void test_hash_bins(void **state)
{
	/* expected names computed with Python (python-tuf's SuccinctRoles formula) */
	static const struct { unsigned bits; const char *path, *want; } cases[] = {
		{ 1, "a.txt", "bins-0" },        { 1, "b.txt", "bins-1" },
		{ 3, "b.txt", "bins-7" },        { 3, "c.txt", "bins-2" },
		{ 4, "a.txt", "bins-1" },        { 4, "dir/file.bin", "bins-4" },
		{ 5, "a.txt", "bins-03" },       { 5, "dir/file.bin", "bins-09" },
		{ 8, "a.txt", "bins-18" },       { 8, "b.txt", "bins-ff" },
		{ 8, "\xc3\xa9", "bins-4a" },    { 10, "dir/file.bin", "bins-13f" },
		{ 16, "a.txt", "bins-18b7" },    { 16, "\xc3\xa9", "bins-4a99" },
		{ 32, "b.txt", "bins-ffa0da5d" }, { 32, "targets/x", "bins-491e75b7" },
	};
	struct vf_tuf_succinct s = { .bit_length = 8, .name_prefix = (char *)"bins" };
	struct vf_err err = { 0 };
	uint32_t i;
	char *name;

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		assert_int_equal(vf_tuf_bin_name_for_path("bins", cases[k].bits, cases[k].path,
							  &name, &err), 0);
		assert_string_equal(name, cases[k].want);
		free(name);
	}
	assert_int_equal(vf_tuf_bin_index("a.txt", 8, &i, &err), 0);
	assert_int_equal(i, 0x18);
	assert_int_equal(vf_tuf_bin_name("p", 4, 15, &name, &err), 0);
	assert_string_equal(name, "p-f");
	free(name);
	assert_int_equal(vf_tuf_bin_name("p", 4, 16, &name, &err), -ERANGE);
	assert_int_equal(vf_tuf_bin_name("p", 0, 0, &name, &err), -EINVAL);
	assert_int_equal(vf_tuf_bin_index("a", 33, &i, &err), -EINVAL);

	assert_true(vf_tuf_succinct_has_role(&s, "bins-18", &i));
	assert_int_equal(i, 0x18);
	assert_true(vf_tuf_succinct_has_role(&s, "bins-00", NULL));
	assert_true(vf_tuf_succinct_has_role(&s, "bins-ff", NULL));
	assert_false(vf_tuf_succinct_has_role(&s, "bins-FF", NULL));
	assert_false(vf_tuf_succinct_has_role(&s, "bins-1", NULL));
	assert_false(vf_tuf_succinct_has_role(&s, "bins-100", NULL));
	assert_false(vf_tuf_succinct_has_role(&s, "bins18", NULL));
	assert_false(vf_tuf_succinct_has_role(&s, "bin-18", NULL));
	assert_false(vf_tuf_succinct_has_role(&s, "bins-1g", NULL));
	s.bit_length = 5;
	assert_true(vf_tuf_succinct_has_role(&s, "bins-1f", NULL));
	assert_false(vf_tuf_succinct_has_role(&s, "bins-20", NULL));
}

static void test_role_paths(void **state)
{
	char *paths[] = { (char *)"proj/*", (char *)"*.txt", (char *)"file?.bin",
			  (char *)"[ab]/x" };
	char *prefixes[] = { (char *)"4532", (char *)"ff" }; /* sha256("file3.txt") = 4532257a... */
	struct vf_tuf_role r = { .has_paths = true, .paths = paths, .n_paths = 4 };

	(void)state;
	assert_int_equal(vf_tuf_role_has_path(&r, "proj/a"), 1);
	assert_int_equal(vf_tuf_role_has_path(&r, "proj/a/b"), 0); /* "*" stays within a segment */
	assert_int_equal(vf_tuf_role_has_path(&r, "proj"), 0);
	assert_int_equal(vf_tuf_role_has_path(&r, "notes.txt"), 1);
	assert_int_equal(vf_tuf_role_has_path(&r, "d/notes.txt"), 0);
	assert_int_equal(vf_tuf_role_has_path(&r, "file1.bin"), 1);
	assert_int_equal(vf_tuf_role_has_path(&r, "file10.bin"), 0);
	assert_int_equal(vf_tuf_role_has_path(&r, "b/x"), 1);
	assert_int_equal(vf_tuf_role_has_path(&r, "c/x"), 0);
	r.n_paths = 0;
	assert_int_equal(vf_tuf_role_has_path(&r, "proj/a"), 0);
	r = (struct vf_tuf_role){ .has_paths = false, .paths = prefixes, .n_paths = 2 };
	assert_int_equal(vf_tuf_role_has_path(&r, "file3.txt"), 1);
	assert_int_equal(vf_tuf_role_has_path(&r, "file1.txt"), 0);
}

static void test_file_names(void **state)
{
	char *n = NULL;

	(void)state;
	assert_int_equal(vf_tuf_role_filename("targets", 0, &n, NULL), 0);
	assert_string_equal(n, "targets.json");
	free(n);
	assert_int_equal(vf_tuf_role_filename("snapshot", 42, &n, NULL), 0);
	assert_string_equal(n, "42.snapshot.json");
	free(n);
	assert_int_equal(vf_tuf_role_filename("a b/c?#%~_-.", 1, &n, NULL), 0);
	assert_string_equal(n, "1.a%20b%2Fc%3F%23%25~_-..json");
	free(n);
	assert_int_equal(vf_tuf_target_filename("a.txt", "ab12", &n, NULL), 0);
	assert_string_equal(n, "ab12.a.txt");
	free(n);
	assert_int_equal(vf_tuf_target_filename("dir/sub/a.txt", "ab12", &n, NULL), 0);
	assert_string_equal(n, "dir/sub/ab12.a.txt");
	free(n);
	assert_string_equal(vf_tuf_type_name(VF_TUF_SNAPSHOT), "snapshot");
	assert_string_equal(vf_tuf_type_name(0), "unknown");
	assert_int_equal(vf_tuf_type_from_name("timestamp"), VF_TUF_TIMESTAMP);
	assert_int_equal(vf_tuf_type_from_name("Root"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_each_type),
		cmocka_unit_test(test_unknown_members_kept),
		cmocka_unit_test(test_refuse_envelope_and_common),
		cmocka_unit_test(test_refuse_root),
		cmocka_unit_test(test_refuse_targets),
		cmocka_unit_test(test_refuse_delegations),
		cmocka_unit_test(test_refuse_meta),
		cmocka_unit_test(test_build_root),
		cmocka_unit_test(test_build_targets),
		cmocka_unit_test(test_build_snapshot_timestamp),
		vf_test_in_tmpdir(test_save_and_load),
		cmocka_unit_test(test_hashes),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_hash_bins),
		cmocka_unit_test(test_role_paths),
		cmocka_unit_test(test_file_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
