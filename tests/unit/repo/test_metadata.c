/* repo/metadata: the strict parser's rules, the model's changes, formats,
 * times, hash bins, path patterns and file names. Signing: test_sign.c;
 * foreign metadata: test_vectors.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "repo/cjson.h"
#include "repo/internal.h"
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
#define H128 H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

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
	const char *id;

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
		assert_int_equal(vf_tuf_md_add_key(md, vf_tuf_type_name(t), key, &id, &err), 0);
		assert_string_equal(id, ED_KEYID);
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

/* Keyids are opaque: a key held under another tool's keyid keeps it; a keyid taken is refused. */
static void test_add_key_opaque(void **state)
{
	json_t *doc = doc_of(root_json), *keys, *roles, *role;
	struct vf_tuf_md *md;
	struct vf_key *key = ed_key();
	struct vf_err err = { 0 };
	const char *id = NULL, *name;
	char *text;

	(void)state;
	keys = json_object_get(json_object_get(doc, "signed"), "keys");
	roles = json_object_get(json_object_get(doc, "signed"), "roles");
	assert_int_equal(json_object_set(keys, "alias", json_object_get(keys, ED_KEYID)), 0);
	assert_int_equal(json_object_del(keys, ED_KEYID), 0);
	json_object_foreach(roles, name, role)
		assert_int_equal(json_object_set_new(role, "keyids", json_pack("[s]", "alias")), 0);
	assert_non_null(text = json_dumps(doc, JSON_COMPACT));
	md = parse(text, VF_TUF_ROOT, VF_TUF_PARSE_OPAQUE_KEYIDS);
	free(text);
	assert_int_equal(vf_tuf_md_remove_key(md, "targets", "alias", &err), 0);
	assert_int_equal(md->roles[VF_TUF_TARGETS - 1].n_keyids, 0);
	assert_int_equal(md->keys.n, 1); /* root still lists it */
	assert_int_equal(vf_tuf_md_add_key(md, "targets", key, &id, &err), 0);
	assert_string_equal(id, "alias");
	assert_int_equal(md->keys.n, 1);
	assert_int_equal(md->roles[VF_TUF_TARGETS - 1].n_keyids, 1);
	assert_string_equal(md->roles[VF_TUF_TARGETS - 1].keyids[0], "alias");
	/* again: nothing changes */
	assert_int_equal(vf_tuf_md_add_key(md, "targets", key, &id, &err), 0);
	assert_string_equal(id, "alias");
	assert_int_equal(md->roles[VF_TUF_TARGETS - 1].n_keyids, 1);
	vf_tuf_md_free(md);

	/* another key's object under the keyid this key would get */
	assert_int_equal(json_object_set_new(keys, ED_KEYID,
					     json_pack("{s:s, s:s, s:{s:s}}", "keytype", "ed25519",
						       "scheme", "ed25519", "keyval", "public", H64)),
			 0);
	assert_int_equal(json_object_del(keys, "alias"), 0);
	json_object_foreach(roles, name, role)
		assert_int_equal(json_object_set_new(role, "keyids", json_pack("[s]", ED_KEYID)), 0);
	assert_non_null(text = json_dumps(doc, JSON_COMPACT));
	md = parse(text, VF_TUF_ROOT, VF_TUF_PARSE_OPAQUE_KEYIDS);
	free(text);
	assert_int_equal(vf_tuf_md_remove_key(md, "targets", ED_KEYID, &err), 0);
	assert_int_equal(vf_tuf_md_add_key(md, "targets", key, &id, &err), -EEXIST);
	vf_test_assert_contains(err.msg, "keyid " ED_KEYID " is already taken by another key");
	assert_int_equal(md->roles[VF_TUF_TARGETS - 1].n_keyids, 0);
	assert_string_equal(md->keys.v[0].public_text, H64);
	vf_tuf_md_free(md);
	json_decref(doc);
	vf_key_free(key);
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

/* ---- the model writer and the targets reader against the jansson path ---------------- */

/*
 * The writer walks the model's targets itself and the reader parses the
 * targets map without jansson values; both must give exactly what the
 * jansson path gives (vf_tuf_to_json(), then vf_cjson_encode() / json_dumps();
 * vf_cjson_parse(), then vf_tuf_from_json()), bytes and messages alike.
 */

static void assert_bytes(const struct vf_buf *got, const char *want, size_t want_len,
			 const char *what)
{
	size_t at = 0, from;

	while (at < got->len && at < want_len && got->data[at] == (uint8_t)want[at])
		at++;
	if (at == got->len && at == want_len)
		return;
	from = at > 60 ? at - 60 : 0;
	fail_msg("%s differs at byte %zu of %zu (want %zu):\n got: ...%.*s\nwant: ...%.*s", what,
		 at, got->len, want_len, (int)((got->len - from) > 120 ? 120 : got->len - from),
		 (const char *)got->data + from, (int)((want_len - from) > 120 ? 120 : want_len - from),
		 want + from);
}

/* Every form of `md` the writer produces equals the jansson path's. */
static void assert_writes_as_jansson(const struct vf_tuf_md *md)
{
	struct vf_buf got = VF_BUF_INIT, want = VF_BUF_INIT;
	struct vf_err err = { 0 };
	json_t *doc = NULL;
	char *text;

	assert_int_equal(vf_tuf_to_json(md, &doc, &err), 0);
	assert_int_equal(vf_cjson_encode(json_object_get(doc, "signed"), &want, &err), 0);
	if (vf_tuf_md_format_signed(md, &got, &err))
		fail_msg("%s", err.msg);
	assert_bytes(&got, (char *)want.data, want.len, "canonical signed");
	got.len = 0;
	assert_int_equal(vf_tuf_md_write_signed(md, &got, &err), 0);
	assert_bytes(&got, (char *)want.data, want.len, "signed bytes for verification");
	got.len = want.len = 0;
	assert_int_equal(vf_cjson_encode(doc, &want, &err), 0);
	assert_int_equal(vf_tuf_md_format(md, VF_TUF_FORMAT_CANONICAL, &got, &err), 0);
	assert_bytes(&got, (char *)want.data, want.len, "canonical document");
	got.len = 0;
	text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
	assert_non_null(text);
	assert_int_equal(vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, &got, &err), 0);
	assert_int_equal(got.data[--got.len], '\n');
	assert_bytes(&got, text, strlen(text), "pretty document (jansson's json_dumps)");
	free(text);
	json_decref(doc);
	vf_buf_release(&got);
	vf_buf_release(&want);
}

/* vf_tuf_md_parse() and the jansson path agree on `text`: result, message, every form. */
static void assert_parses_as_jansson(const void *text, size_t len, enum vf_tuf_type expect,
				     unsigned flags)
{
	struct vf_cjson_limits lim = { .max_bytes = VF_TUF_MAX_FILE, .max_depth = 0 };
	struct vf_err e1 = { 0 }, e2 = { 0 };
	struct vf_tuf_md *m1 = NULL, *m2 = NULL;
	void *doc = NULL;
	int r1, r2;

	r1 = vf_cjson_parse(text, len, &lim, &doc, &e1);
	if (!r1)
		r1 = vf_tuf_from_json(doc, expect, flags, &m1, &e1);
	json_decref(doc);
	r2 = vf_tuf_md_parse(text, len, expect, flags, &m2, &e2);
	if (r1 != r2 || strcmp(e1.msg, e2.msg) != 0)
		fail_msg("jansson path: %d \"%s\"; reader: %d \"%s\"; input:\n%.*s", r1, e1.msg, r2,
			 e2.msg, (int)(len > 2000 ? 2000 : len), (const char *)text);
	if (r1) {
		assert_null(m2);
		return;
	}
	{
		struct vf_buf a = VF_BUF_INIT, b = VF_BUF_INIT;

		assert_int_equal(m1->n_targets, m2->n_targets);
		for (size_t i = 0; i < m1->n_targets; i++)
			assert_string_equal(m1->targets[i]->path, m2->targets[i]->path);
		assert_int_equal(vf_tuf_md_write_signed(m1, &a, &e1), 0);
		assert_int_equal(vf_tuf_md_write_signed(m2, &b, &e2), 0);
		assert_bytes(&b, (char *)a.data, a.len, "signed bytes of the parsed model");
		a.len = b.len = 0;
		r1 = vf_tuf_md_format(m1, VF_TUF_FORMAT_PRETTY, &a, &e1);
		r2 = vf_tuf_md_format(m2, VF_TUF_FORMAT_PRETTY, &b, &e2);
		assert_int_equal(r1, r2);
		assert_string_equal(e1.msg, e2.msg);
		if (!r1)
			assert_bytes(&b, (char *)a.data, a.len, "pretty form of the parsed model");
		vf_buf_release(&a);
		vf_buf_release(&b);
	}
	vf_tuf_md_free(m1);
	vf_tuf_md_free(m2);
}

static void add(struct vf_tuf_md *md, const char *path, uint64_t len, const char *h256,
		const char *h512, json_t *custom)
{
	struct vf_tuf_hashes h = { 0 };
	struct vf_err err = { 0 };

	if (h256)
		snprintf(h.sha256, sizeof(h.sha256), "%s", h256);
	if (h512)
		snprintf(h.sha512, sizeof(h.sha512), "%s", h512);
	if (vf_tuf_targets_add_target(md, path, len, &h, custom, &err))
		fail_msg("%s", err.msg);
	json_decref(custom);
}

static struct vf_tuf_target *target(struct vf_tuf_md *md, const char *path)
{
	struct vf_tuf_target *t = (struct vf_tuf_target *)vf_tuf_targets_find_target(md, path);

	assert_non_null(t);
	return t;
}

/* Targets with everything the fast paths treat specially. */
static struct vf_tuf_md *tricky_targets(void)
{
	struct vf_tuf_md *md = vf_tuf_md_new(VF_TUF_TARGETS);
	struct vf_key *key = ed_key();
	struct vf_err err = { 0 };
	struct vf_tuf_target *t;

	md->version = 7;
	md->expires = 1893456000;
	add(md, "a.txt", 5, H64, NULL, NULL);
	add(md, "README", 0, H64, NULL, NULL); /* an identifier: `targets.README` in messages */
	add(md, "b/c d.bin", 12, H64, NULL,
	    json_pack("{s:[i,{s:n,s:b,s:[]}],s:s,s:{}}", "z", 1, "y", "x", 1, "w", "a",
		      "\xc3\xa9\t\"\\/\x01\x7f", "e"));
	add(md, "caf\xc3\xa9/\xe4\xb8\xad\xe6\x96\x87.txt", 3, NULL, H128, NULL); /* NFC, CJK */
	add(md, "q\"uote\\back", (1ULL << 53) - 1, H64, H128, NULL);
	add(md, "tab\there\x7f\x1f", 1, "ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB",
	    NULL, NULL);
	add(md, "u/\xf0\x9f\x98\x80", 1, H64, NULL, NULL); /* fine as a value, see below */
	add(md, "z/extra", 9, H64, NULL, NULL);
	add(md, "z/extra2", 10, H64, H128, json_pack("{s:i}", "real", 1));
	add(md, "z/null-custom", 11, H64, NULL, json_null());
	/* extra members before, between and after the known ones; shadowed ones */
	t = target(md, "z/extra");
	t->extra = json_pack("{s:i,s:s,s:{s:[]},s:s,s:i,s:s,s:b}", "aaa", 1, "hashes2", "x", "zzz",
			     "k", "custom", "from extra", "length", 99, "hashe", "y", "l", 1);
	t = target(md, "z/extra2");
	t->extra = json_pack("{s:s,s:s,s:s}", "custom", "shadowed", "\xc3\xa9t\xc3\xa9", "v",
			     "hashes", "shadowed");
	/* the rest of a document */
	assert_int_equal(vf_tuf_targets_set_succinct(md, "bins", 6, &err), 0);
	assert_int_equal(vf_tuf_md_add_key(md, "bins", key, NULL, &err), 0);
	md->extra = json_pack("{s:[i,s],s:s}", "x-signed", 1, "two", "zz", "last");
	md->envelope_extra = json_pack("{s:s}", "a-envelope", "\xc3\xa9");
	assert_int_equal(vf_tuf_md_add_signature(md, ED_KEYID, (const uint8_t *)"\x01\x02", 2, &err),
			 0);
	md->sigs[0].extra = json_pack("{s:s}", "x-sig", "s\n");
	vf_key_free(key);
	return md;
}

static void test_writer_as_jansson(void **state)
{
	struct vf_tuf_md *md = tricky_targets(), *empty = vf_tuf_md_new(VF_TUF_TARGETS);
	struct vf_buf out = VF_BUF_INIT;
	struct vf_err err = { 0 };
	struct vf_tuf_target *tmp;

	(void)state;
	/* a path outside the BMP cannot be a key: the target is removed before writing */
	assert_int_equal(vf_tuf_md_validate(md, &err), -EINVAL);
	assert_string_equal(err.msg, "signed: targets[\"u/\xf0\x9f\x98\x80\"]: key has a character "
			    "outside the basic multilingual plane (implementations sort such keys "
			    "differently)");
	assert_int_equal(vf_tuf_targets_remove_target(md, "u/\xf0\x9f\x98\x80", &err), 0);
	assert_writes_as_jansson(md);
	/* what the reader makes of it, too */
	assert_int_equal(vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, &out, &err), 0);
	assert_parses_as_jansson(out.data, out.len, VF_TUF_TARGETS, 0);
	out.len = 0;
	assert_int_equal(vf_tuf_md_format(md, VF_TUF_FORMAT_CANONICAL, &out, &err), 0);
	assert_parses_as_jansson(out.data, out.len, 0, 0);

	/* a model whose targets are out of order (changed behind the API's back) */
	tmp = md->targets[0];
	md->targets[0] = md->targets[3];
	md->targets[3] = tmp;
	assert_writes_as_jansson(md);
	md->targets[3] = md->targets[0];
	md->targets[0] = tmp;

	/* what the pretty writer leaves to jansson: a float outside `signed` */
	json_object_set_new(md->sigs[0].extra, "r", json_real(0.25));
	{
		json_t *doc = NULL;
		char *want;

		assert_int_equal(vf_tuf_to_json(md, &doc, &err), 0);
		want = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
		out.len = 0;
		assert_int_equal(vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, &out, &err), 0);
		assert_int_equal(out.data[--out.len], '\n');
		assert_bytes(&out, want, strlen(want), "pretty document with a float");
		vf_test_assert_contains(want, "\"r\": 0.25");
		free(want);
		json_decref(doc);
	}
	json_object_del(md->sigs[0].extra, "r");

	/* no targets; sha512 only; a float in custom is refused with its path */
	empty->expires = 1893456000;
	assert_writes_as_jansson(empty);
	add(empty, "only512", 1, NULL, H128, NULL);
	assert_writes_as_jansson(empty);
	add(empty, "f", 1, H64, NULL, json_pack("{s:[f]}", "r", 0.5));
	assert_int_equal(vf_tuf_md_format_signed(empty, &out, &err), -EINVAL);
	assert_string_equal(err.msg, "signed: targets.f.custom.r[0]: floating-point number not "
			    "allowed (canonical json has integers only)");
	vf_buf_release(&out);
	vf_tuf_md_free(empty);
	vf_tuf_md_free(md);
}

/* vf_tuf_md_validate() of a model: what the jansson path says, message for message. */
static void assert_validates_as_jansson(const struct vf_tuf_md *md, const char *want)
{
	struct vf_err e1 = { 0 }, e2 = { 0 }, e3 = { 0 };
	struct vf_tuf_md *check = NULL;
	struct vf_buf out = VF_BUF_INIT;
	json_t *doc = NULL;
	int r1, r2, r3;

	r1 = vf_tuf_to_json(md, &doc, &e1);
	if (!r1)
		r1 = vf_tuf_from_json(doc, md->type, md->flags, &check, &e1);
	json_decref(doc);
	vf_tuf_md_free(check);
	r2 = vf_tuf_md_validate(md, &e2);
	r3 = vf_tuf_md_format_signed(md, &out, &e3);
	if (r1 != r2 || r1 != r3 || strcmp(e1.msg, e2.msg) || strcmp(e1.msg, e3.msg))
		fail_msg("jansson path: %d \"%s\"; validate: %d \"%s\"; format_signed: %d \"%s\"", r1,
			 e1.msg, r2, e2.msg, r3, e3.msg);
	if (r1 >= 0)
		fail_msg("accepted, expected \"%s\"", want);
	assert_int_equal(out.len, 0);
	vf_test_assert_contains(e2.msg, want);
	vf_buf_release(&out);
}

static void test_validate_as_jansson(void **state)
{
	static const struct {
		const char *path, *h256, *h512;
		uint64_t len;
		const char *want;
	} bad[] = {
		{ "/abs", H64, NULL, 1, "signed.targets[\"/abs\"]: target path starts with \"/\"" },
		{ "a//b", H64, NULL, 1, "target path has an empty component" },
		{ "a/./b", H64, NULL, 1, "target path has a \".\" component" },
		{ "..", H64, NULL, 1, "signed.targets[\"..\"]: target path has a \"..\" component" },
		{ "a/", H64, NULL, 1, "target path has an empty component" },
		{ "short", "abc", NULL, 1, "signed.targets.short.hashes.sha256: expected 64 hex digits" },
		{ "nothex", H64, H64 "zz" H64, 1, "hashes.sha512: expected 128 hex digits, got" },
		{ "big", H64, NULL, 1ULL << 53, "big: length 9007199254740992 is 2^53 or more" },
		{ "e\xcc\x81", H64, NULL, 1, "signed: targets[\"e\xcc\x81\"]: key is not in unicode "
		  "normalization form c (nfc)" },
		{ "bad\xff", H64, NULL, 1, "out of memory" }, /* as jansson refuses the key */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vf_tuf_md *md = tricky_targets();
		struct vf_tuf_hashes h = { 0 };
		struct vf_tuf_target *t;
		struct vf_err err = { 0 };

		assert_int_equal(vf_tuf_targets_remove_target(md, "u/\xf0\x9f\x98\x80", &err), 0);
		memcpy(h.sha256, H64, 65);
		assert_int_equal(vf_tuf_targets_add_target(md, bad[i].path, bad[i].len, &h, NULL,
							   &err), 0);
		t = target(md, bad[i].path);
		memset(&t->hashes, 0, sizeof(t->hashes));
		snprintf(t->hashes.sha256, sizeof(t->hashes.sha256), "%s", bad[i].h256);
		if (bad[i].h512)
			snprintf(t->hashes.sha512, sizeof(t->hashes.sha512), "%s", bad[i].h512);
		assert_validates_as_jansson(md, bad[i].want);
		vf_tuf_md_free(md);
	}
	/* no hashes; a non-NFC string in custom; extra that is not an object */
	for (int k = 0; k < 3; k++) {
		struct vf_tuf_md *md = tricky_targets();
		struct vf_err err = { 0 };
		struct vf_tuf_target *t;

		assert_int_equal(vf_tuf_targets_remove_target(md, "u/\xf0\x9f\x98\x80", &err), 0);
		t = target(md, "b/c d.bin");
		if (k == 0) {
			memset(&t->hashes, 0, sizeof(t->hashes));
			assert_validates_as_jansson(md, "signed.targets[\"b/c d.bin\"].hashes: no hashes");
		} else if (k == 1) {
			json_object_set_new(t->custom, "n", json_string("e\xcc\x81"));
			assert_validates_as_jansson(md, "signed: targets[\"b/c d.bin\"].custom.n: string "
						    "is not in unicode normalization form c (nfc)");
		} else {
			t->extra = json_array();
			assert_validates_as_jansson(md, "out of memory");
		}
		vf_tuf_md_free(md);
	}
}

/* A targets document as vforge writes it, with every kind of entry the reader handles. */
static char *tricky_text(size_t *len)
{
	struct vf_tuf_md *md = tricky_targets();
	struct vf_buf out = VF_BUF_INIT;
	struct vf_err err = { 0 };

	assert_int_equal(vf_tuf_targets_remove_target(md, "u/\xf0\x9f\x98\x80", &err), 0);
	assert_int_equal(vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, &out, &err), 0);
	vf_tuf_md_free(md);
	*len = out.len;
	return (char *)out.data;
}

static void test_reader_as_jansson(void **state)
{
	static const char *const docs[] = {
		/* the entry forms the reader declines and hands to the parser */
		"{\"length\":-0,\"hashes\":{\"sha256\":\"" H64 "\"}}",
		"{\"length\":01,\"hashes\":{\"sha256\":\"" H64 "\"}}",
		"{\"length\":1.5,\"hashes\":{\"sha256\":\"" H64 "\"}}",
		"{\"length\":1e3,\"hashes\":{\"sha256\":\"" H64 "\"}}",
		"{\"length\":-1,\"hashes\":{\"sha256\":\"" H64 "\"}}",
		"{\"length\":9007199254740992,\"hashes\":{\"sha256\":\"" H64 "\"}}",
		"{\"length\":9007199254740991,\"hashes\":{\"sha256\":\"" H64 "\"}}",
		"{\"length\":\"1\",\"hashes\":{\"sha256\":\"" H64 "\"}}",
		"{\"hashes\":{\"sha256\":\"" H64 "\"}}",
		"{\"length\":1}",
		"{\"length\":1,\"hashes\":{}}",
		"{\"length\":1,\"hashes\":[]}",
		"{\"length\":1,\"hashes\":{\"md5\":\"00\"}}",
		"{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "\",\"sha256\":\"" H64 "\"}}",
		"{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "0\"}}",
		"{\"length\":1,\"hashes\":{\"sha256\":1}}",
		"{\"length\":1,\"hashes\":{\"sha\\u0032256\":\"" H64 "\"}}",
		"{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "\"},\"length\":2}",
		"{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "\"},\"custom\":1,\"custom\":2}",
		"{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "\"},\"x\":1,\"x\":2}",
		"{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "\"},\"\\u00e9\":1}",
		"{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "\"},\"a\\u0000\":1}",
		"{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "\"},\"custom\":[1,2.5]}",
		"{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "\"},\"custom\":\"e\\u0301\"}",
		"{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "\"},\"custom\":[[[[[[[[[[[[[[[[[[[[[[[[["
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]"
		"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
		"{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "\"},}",
		"{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "\"}",
		"{\"length\":1 \"hashes\":{\"sha256\":\"" H64 "\"}}",
		"{\"length\" 1,\"hashes\":{\"sha256\":\"" H64 "\"}}",
		"[]",
		"\"x\"",
	};
	static const char *const maps[] = {
		"{}", "{ }", "[]", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "{,}", "{\"a\"}",
		"{1:2}", "{\"\\u0000\":{}}", "{\"a\\ud800\":{}}", "{\"\xff\":{}}",
		"{\"b\":{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "\"}},\"a\":{\"length\":1,\"hashes\":"
		"{\"sha256\":\"" H64 "\"}},\"b\":{}}",
		"{\"a\":{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "\"}},\"a\":{}}",
		"{\"a\":{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "\"}},\"\\u0061\":{}}",
		"{\"e\\u0301\":{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "\"}}}",
		"{\"/x\":{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "\"}},\"y\":[}",
		"{\"\\ud83d\\ude00\":{\"length\":1,\"hashes\":{\"sha256\":\"" H64 "\"}}}",
	};
	const char *head = "{\"signatures\":[],\"signed\":{\"_type\":\"targets\",\"spec_version\":"
			   "\"1.0.31\",\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":";
	char *text = NULL;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		assert_true(asprintf(&text, "%s{\"a\":%s}}}", head, docs[i]) > 0);
		assert_parses_as_jansson(text, strlen(text), 0, 0);
		free(text);
	}
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		assert_true(asprintf(&text, "%s%s}}", head, maps[i]) > 0);
		assert_parses_as_jansson(text, strlen(text), 0, 0);
		free(text);
	}
	/* `targets` where it is not a targets map: kept as an unknown member */
	{
		static const char snap[] =
			"{\"signatures\":[],\"signed\":{\"_type\":\"snapshot\",\"spec_version\":"
			"\"1.0.31\",\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"meta\":"
			"{\"targets.json\":{\"version\":1}},\"targets\":{\"b\":{\"length\":1,\"hashes\":"
			"{\"sha256\":\"" H64 "\"},\"custom\":{\"c\":1},\"x\":[]},\"a\":7}}}";

		assert_parses_as_jansson(snap, strlen(snap), 0, 0);
	}
	/* nested deeper than the parser allows, inside a plain entry's custom member */
	{
		struct vf_buf deep = VF_BUF_INIT;

		vf_buf_add_str(&deep, head);
		vf_buf_add_str(&deep, "{\"a\":{\"length\":1,\"hashes\":{\"sha256\":\"" H64
			       "\"},\"custom\":");
		for (int i = 0; i < 70; i++)
			vf_buf_add_str(&deep, "[");
		for (int i = 0; i < 70; i++)
			vf_buf_add_str(&deep, "]");
		vf_buf_add_str(&deep, "}}}}");
		assert_parses_as_jansson(deep.data, deep.len, 0, 0);
		vf_buf_release(&deep);
	}

	/* a large map in shuffled order with a duplicate far from its twin */
	{
		struct vf_buf big = VF_BUF_INIT;
		uint64_t seed = 7;
		unsigned k[3000];

		vf_buf_add_str(&big, head);
		vf_buf_add_str(&big, "{");
		for (int i = 0; i < 3000; i++) {
			k[i] = (unsigned)(vf_test_splitmix64(&seed) % 100000);
			vf_buf_add_fmt(&big, "%s\"p/%u/%d\":{\"length\":%d,\"hashes\":{\"sha256\":\"" H64
				       "\"}}", i ? "," : "", k[i], i, i);
		}
		vf_buf_add_str(&big, "}}}");
		assert_parses_as_jansson(big.data, big.len, VF_TUF_TARGETS, 0);
		/* a duplicate of the first key, then of one far from both ends */
		for (int i = 0; i < 3000; i += 1500) {
			size_t keep = big.len;
			struct vf_err err = { 0 };
			struct vf_tuf_md *md = NULL;

			big.len -= 3;
			vf_buf_add_fmt(&big, ",\"p/%u/%d\":{}}}}", k[i], i);
			assert_parses_as_jansson(big.data, big.len, VF_TUF_TARGETS, 0);
			assert_int_equal(vf_tuf_md_parse(big.data, big.len, 0, 0, &md, &err), -EINVAL);
			vf_test_assert_containsf(err.msg, "duplicate object key \"p/%u/%d\"", k[i], i);
			big.len = keep;
			memcpy(big.data + keep - 3, "}}}", 4);
		}
		vf_buf_release(&big);
	}

	/* every single-byte change of a document with all kinds of entries */
	text = tricky_text(&len);
	assert_parses_as_jansson(text, len, VF_TUF_TARGETS, 0);
	{
		static const char subst[] = "\"\\{}[],: 0-.eE1x\x80\xc3\t";
		char *m = malloc(len + 2);
		uint64_t seed = 20261128;

		assert_non_null(m);
		for (int i = 0; i < 4000; i++) {
			uint64_t r = vf_test_splitmix64(&seed);
			size_t at = (size_t)(r % len), n = len;
			char c = subst[(r >> 32) % (sizeof(subst) - 1)];

			memcpy(m, text, len);
			switch ((r >> 40) % 3) {
			case 0: /* replace */
				m[at] = c;
				break;
			case 1: /* delete */
				memmove(m + at, m + at + 1, len - at - 1);
				n--;
				break;
			default: /* insert */
				memmove(m + at + 1, m + at, len - at);
				m[at] = c;
				n++;
			}
			assert_parses_as_jansson(m, n, 0, (r >> 48) & 1 ? VF_TUF_PARSE_OPAQUE_KEYIDS : 0);
		}
		free(m);
	}
	free(text);
}

/* Snapshot and timestamp `meta` maps, written by the model writer too. */
static void test_meta_as_jansson(void **state)
{
	struct vf_tuf_md *snap = vf_tuf_md_new(VF_TUF_SNAPSHOT), *ts = vf_tuf_md_new(VF_TUF_TIMESTAMP);
	struct vf_tuf_hashes h = { 0 }, both = { 0 };
	struct vf_buf out = VF_BUF_INIT;
	struct vf_err err = { 0 };
	struct vf_tuf_meta *m, *tmp;
	char name[64];

	(void)state;
	memcpy(h.sha256, H64, 65);
	memcpy(both.sha256, H64, 65);
	memcpy(both.sha512, H128, 129);
	snap->expires = ts->expires = 1893456000;
	assert_writes_as_jansson(snap); /* no meta at all */
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "bins-%03x.json", i);
		assert_int_equal(vf_tuf_md_set_meta(snap, name, (uint64_t)i + 1, i % 3 ? i : -1,
						    i % 5 ? NULL : i % 2 ? &h : &both, &err), 0);
	}
	assert_int_equal(vf_tuf_md_set_meta(snap, "targets.json", 3, -1, NULL, &err), 0);
	assert_int_equal(vf_tuf_md_set_meta(snap, "caf\xc3\xa9 \"q\\\".json", 1, 0, NULL, &err), 0);
	/* extra members: shadowed by the model's, or filling in for absent ones */
	m = (struct vf_tuf_meta *)vf_tuf_md_find_meta(snap, "targets.json");
	m->extra = json_pack("{s:i,s:{s:s},s:i,s:[]}", "length", 5, "hashes", "sha256", H64,
			     "version", 9, "a");
	m = (struct vf_tuf_meta *)vf_tuf_md_find_meta(snap, "bins-000.json");
	m->extra = json_pack("{s:i,s:{},s:s}", "length", 5, "hashes", "zz", "\xc3\xa9");
	assert_writes_as_jansson(snap);
	assert_int_equal(vf_tuf_md_format(snap, VF_TUF_FORMAT_PRETTY, &out, &err), 0);
	assert_parses_as_jansson(out.data, out.len, VF_TUF_SNAPSHOT, 0);
	/* out of order behind the API's back: written whole, as before */
	tmp = snap->meta[0];
	snap->meta[0] = snap->meta[1];
	snap->meta[1] = tmp;
	assert_writes_as_jansson(snap);
	snap->meta[1] = snap->meta[0];
	snap->meta[0] = tmp;

	assert_int_equal(vf_tuf_md_set_meta(ts, "snapshot.json", 4, 515, &h, &err), 0);
	assert_writes_as_jansson(ts);

	/* the checks of validation, message for message */
	m = (struct vf_tuf_meta *)vf_tuf_md_find_meta(snap, "bins-005.json");
	m->version = 0;
	assert_validates_as_jansson(snap, "signed.meta[\"bins-005.json\"].version: expected an "
				    "integer of at least 1, got 0");
	m->version = 1ULL << 53;
	assert_validates_as_jansson(snap, "bins-005.json: version 9007199254740992 is 2^53 or more");
	m->version = 1;
	m = (struct vf_tuf_meta *)vf_tuf_md_find_meta(snap, "bins-00a.json"); /* both hashes */
	m->hashes.sha512[5] = 'x';
	assert_validates_as_jansson(snap, "signed.meta[\"bins-00a.json\"].hashes.sha512: expected "
				    "128 hex digits");
	m->hashes.sha512[5] = 'a';
	m = (struct vf_tuf_meta *)vf_tuf_md_find_meta(snap, "targets.json");
	json_object_set_new(m->extra, "n", json_string("e\xcc\x81"));
	assert_validates_as_jansson(snap, "signed: meta[\"targets.json\"].n: string is not in "
				    "unicode normalization form c (nfc)");
	json_object_del(m->extra, "n");
	assert_int_equal(vf_tuf_md_validate(snap, &err), 0);
	free(snap->meta[0]->name);
	snap->meta[0]->name = strdup(""); /* still first in order */
	assert_validates_as_jansson(snap, "signed.meta[\"\"]: empty name");

	free(ts->meta[0]->name);
	ts->meta[0]->name = strdup("targets.json");
	assert_validates_as_jansson(ts, "signed.meta: a timestamp lists exactly \"snapshot.json\"");
	vf_buf_release(&out);
	vf_tuf_md_free(snap);
	vf_tuf_md_free(ts);
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
		cmocka_unit_test(test_add_key_opaque),
		cmocka_unit_test(test_build_targets),
		cmocka_unit_test(test_build_snapshot_timestamp),
		vf_test_in_tmpdir(test_save_and_load),
		cmocka_unit_test(test_hashes),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_hash_bins),
		cmocka_unit_test(test_role_paths),
		cmocka_unit_test(test_file_names),
		cmocka_unit_test(test_writer_as_jansson),
		cmocka_unit_test(test_validate_as_jansson),
		cmocka_unit_test(test_reader_as_jansson),
		cmocka_unit_test(test_meta_as_jansson),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
