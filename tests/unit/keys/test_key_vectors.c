/*
 * keys/key against independent implementations: the signatures python-tuf and
 * tough made on their test repositories (../shared/vectors/tuf), over the
 * canonical bytes securesystemslib computes (tests/vectors/keys/signed/, made
 * by tests/vectors/keys/make-vectors.py), and python-tuf's test keys signing
 * the same bytes again (Ed25519 is deterministic: byte-for-byte equal).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "builder/base/hex.h"
#include "keys/digest.h"
#include "keys/key.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define VEC "../shared/vectors/tuf/"
#define OURS "tests/vectors/keys/"

static uint8_t *read_file(const char *path, size_t *len)
{
	struct stat st;

	if (stat(path, &st) != 0)
		fail_msg("missing '%s' (the shared vectors live in ../shared beside the checkout)",
			 path);
	return vf_test_read_file(path, len);
}

static json_t *load_json(const char *rel)
{
	char *path = NULL;
	json_error_t jerr;
	uint8_t *data;
	size_t len;
	json_t *j;

	assert_int_not_equal(asprintf(&path, VEC "%s", rel), -1);
	data = read_file(path, &len);
	j = json_loadb((const char *)data, len, 0, &jerr);
	if (!j)
		fail_msg("%s: %s", path, jerr.text);
	free(data);
	free(path);
	return j;
}

/* The "keys" of every file in a comma-separated list, merged. */
static json_t *keys_from(const char *list)
{
	json_t *keys = json_object();
	char *copy = strdup(list), *save = NULL;

	for (char *rel = strtok_r(copy, ",", &save); rel; rel = strtok_r(NULL, ",", &save)) {
		json_t *doc = load_json(rel);

		assert_int_equal(json_object_update(keys, json_object_get(json_object_get(doc, "signed"),
									   "keys")), 0);
		json_decref(doc);
	}
	free(copy);
	return keys;
}

static int key_of(json_t *k, struct vf_key **ret, struct vf_err *err)
{
	return vf_key_from_tuf(json_string_value(json_object_get(k, "keytype")),
			       json_string_value(json_object_get(k, "scheme")),
			       json_string_value(json_object_get(json_object_get(k, "keyval"), "public")),
			       ret, err);
}

static uint8_t *canonical(const char *name, size_t *len)
{
	char *path = NULL;
	uint8_t *data;

	assert_int_not_equal(asprintf(&path, OURS "signed/%s.cjson", name), -1);
	data = read_file(path, len);
	free(path);
	return data;
}

struct counts {
	int valid, invalid, unknown, refused;
};

static struct counts check_signatures(json_t *doc, json_t *keys, const uint8_t *msg, size_t len)
{
	struct counts c = { 0 };
	json_t *sig;
	size_t i;

	json_array_foreach(json_object_get(doc, "signatures"), i, sig) {
		json_t *k = json_object_get(keys, json_string_value(json_object_get(sig, "keyid")));
		const char *hex = json_string_value(json_object_get(sig, "sig"));
		uint8_t raw[1024];
		struct vf_key *key = NULL;
		size_t n = 0;
		int r;

		if (!k) {
			c.unknown++;
			continue;
		}
		assert_int_equal(vf_hex_parse(hex, raw, sizeof(raw), &n), 0);
		r = key_of(k, &key, NULL);
		if (r == -EOPNOTSUPP) {
			c.refused++;
			continue;
		}
		assert_int_equal(r, 0);
		r = vf_key_verify(key, msg, len, raw, n);
		assert_true(r == 0 || r == -VF_EVERIFY);
		if (r == 0)
			c.valid++;
		else
			c.invalid++;
		vf_key_free(key);
	}
	return c;
}

/* Every case of signed.txt: the vector is the one the known answers came from,
 * and vforge finds exactly the valid and invalid signatures python-cryptography found. */
static void test_signed_vectors(void **state)
{
	size_t list_len;
	char *list = (char *)read_file(OURS "signed.txt", &list_len), *save = NULL;
	int cases = 0;

	(void)state;
	for (char *line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64], source[256], from[512], sha_hex[65], got_hex[65];
		struct counts want, got, tampered;
		uint8_t sha[32], *raw, *msg;
		json_t *doc, *keys, *k;
		size_t raw_len, len;
		char *path = NULL;
		const char *kid;
		int refused_keys = 0;

		if (line[0] == '#')
			continue;
		assert_int_equal(sscanf(line, "%63s %255s %511s %64s %d %d %d %d", name, source, from,
					sha_hex, &want.valid, &want.invalid, &want.unknown,
					&want.refused), 8);
		assert_int_not_equal(asprintf(&path, VEC "%s", source), -1);
		raw = read_file(path, &raw_len);
		assert_int_equal(vf_digest_buffer(vf_digest_alg_get("sha256"), raw, raw_len, sha), 0);
		vf_hex_format(sha, sizeof(sha), got_hex);
		if (strcmp(got_hex, sha_hex) != 0)
			fail_msg("%s changed since the known answers were made: sha256 %s, expected %s",
				 path, got_hex, sha_hex);
		doc = load_json(source);
		keys = keys_from(from);
		msg = canonical(name, &len);

		got = check_signatures(doc, keys, msg, len);
		/* refused keys: every key of the role's own file vforge will not load */
		json_t *own = keys_from(strrchr(from, ',') ? strrchr(from, ',') + 1 : from);
		json_object_foreach(own, kid, k) {
			struct vf_err err = { 0 };
			struct vf_key *key = NULL;
			int r = key_of(k, &key, &err);

			assert_true(r == 0 || r == -EOPNOTSUPP);
			if (r) {
				vf_test_assert_contains(err.msg, "hex-encoded keys are not supported");
				refused_keys++;
			}
			vf_key_free(key);
		}
		json_decref(own);
		if (got.valid != want.valid || got.invalid != want.invalid ||
		    got.unknown != want.unknown || refused_keys != want.refused)
			fail_msg("%s: valid %d invalid %d unknown %d refused keys %d; expected %d %d %d %d",
				 name, got.valid, got.invalid, got.unknown, refused_keys, want.valid,
				 want.invalid, want.unknown, want.refused);
		if (!want.refused) /* signatures by refused keys only where keys are refused */
			assert_int_equal(got.refused, 0);

		/* one flipped byte in the signed bytes: nothing verifies */
		msg[len / 2] ^= 0x20;
		tampered = check_signatures(doc, keys, msg, len);
		assert_int_equal(tampered.valid, 0);
		assert_int_equal(tampered.invalid, want.valid + want.invalid);

		cases++;
		free(msg);
		free(raw);
		free(path);
		json_decref(doc);
		json_decref(keys);
	}
	assert_true(cases >= 10);
	free(list);
}

/* A copy of a keystore key that vforge accepts (the shared copy is 0444). */
static char *private_copy(const char *dir, const char *rel)
{
	char *src = NULL, *dst = vf_test_path(dir, strrchr(rel, '/') + 1);
	uint8_t *data;
	size_t len;

	assert_int_not_equal(asprintf(&src, VEC "%s", rel), -1);
	data = read_file(src, &len);
	vf_test_write_file(dst, data, len);
	assert_int_equal(chmod(dst, 0600), 0);
	free(data);
	free(src);
	return dst;
}

/* The hex signature by keyid in a metadata file. */
static const char *sig_by(json_t *doc, const char *keyid)
{
	json_t *sig;
	size_t i;

	json_array_foreach(json_object_get(doc, "signatures"), i, sig)
		if (strcmp(json_string_value(json_object_get(sig, "keyid")), keyid) == 0)
			return json_string_value(json_object_get(sig, "sig"));
	return NULL;
}

/* python-tuf's Ed25519 keys sign the same bytes to the same signatures. */
static void test_ed25519_resign(void **state)
{
	static const struct {
		const char *key, *role, *cjson, *file;
	} cases[] = {
		{ "python-tuf/keystore/timestamp_key", "timestamp", "pytuf-timestamp", "python-tuf/repository/metadata/timestamp.json" },
		{ "python-tuf/keystore/snapshot_key", "snapshot", "pytuf-snapshot", "python-tuf/repository/metadata/snapshot.json" },
		{ "python-tuf/keystore/targets_key", "targets", "pytuf-targets", "python-tuf/repository/metadata/targets.json" },
	};
	const char *dir = *state;
	json_t *root = load_json("python-tuf/repository/metadata/root.json");
	json_t *signed_ = json_object_get(root, "signed");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *path = private_copy(dir, cases[i].key), *text = NULL, hex[129];
		json_t *doc = load_json(cases[i].file);
		const char *keyid = json_string_value(json_array_get(json_object_get(
			json_object_get(json_object_get(signed_, "roles"), cases[i].role), "keyids"), 0));
		json_t *k = json_object_get(json_object_get(signed_, "keys"), keyid);
		struct vf_err err = { 0 };
		struct vf_signer *s = NULL;
		uint8_t *msg, *sig = NULL;
		size_t len, sig_len = 0;

		if (vf_signer_open(path, &s, &err))
			fail_msg("%s: %s", path, err.msg);
		assert_int_equal(vf_key_public_text(vf_signer_key(s), &text, &err), 0);
		assert_string_equal(text, json_string_value(json_object_get(json_object_get(k, "keyval"),
									    "public")));
		msg = canonical(cases[i].cjson, &len);
		assert_int_equal(vf_signer_sign(s, msg, len, &sig, &sig_len, &err), 0);
		assert_int_equal(sig_len, 64);
		vf_hex_format(sig, sig_len, hex);
		assert_non_null(sig_by(doc, keyid));
		assert_string_equal(hex, sig_by(doc, keyid));
		free(sig);
		free(msg);
		free(text);
		free(path);
		json_decref(doc);
		vf_signer_free(s);
	}
	json_decref(root);
}

/* python-tuf's RSA root key (PKCS#8), and tough's (traditional "BEGIN RSA PRIVATE KEY"). */
static void test_rsa_keystore(void **state)
{
	const char *dir = *state;
	json_t *root = load_json("python-tuf/repository/metadata/root.json");
	json_t *signed_ = json_object_get(root, "signed");
	const char *keyid = json_string_value(json_array_get(json_object_get(
		json_object_get(json_object_get(signed_, "roles"), "root"), "keyids"), 0));
	json_t *k = json_object_get(json_object_get(signed_, "keys"), keyid);
	const char *vector_pem = json_string_value(json_object_get(json_object_get(k, "keyval"),
								  "public"));
	char *path = private_copy(dir, "python-tuf/keystore/root_key");
	char *path3 = private_copy(dir, "tough/snakeoil.pem");
	char *text = NULL, *want = NULL;
	struct vf_key *vk = NULL, *k3 = NULL;
	json_t *tough = keys_from("tough/simple-rsa/root.json"), *tk;
	struct vf_signer *s3 = NULL;
	const char *tkid;
	struct vf_err err = { 0 };
	struct vf_signer *s = NULL;
	uint8_t *msg, *sig = NULL;
	size_t len, sig_len = 0;

	assert_int_equal(vf_signer_open(path, &s, &err), 0);
	assert_int_equal(key_of(k, &vk, &err), 0);
	assert_true(vf_key_equal(vk, vf_signer_key(s)));
	/* python-tuf stored the PEM without its final newline; vforge writes it as OpenSSL does */
	assert_int_not_equal(vector_pem[strlen(vector_pem) - 1], '\n');
	assert_int_not_equal(asprintf(&want, "%s\n", vector_pem), -1);
	assert_int_equal(vf_key_public_text(vf_signer_key(s), &text, &err), 0);
	assert_string_equal(text, want);

	msg = canonical("pytuf-root", &len);
	assert_int_equal(vf_signer_sign(s, msg, len, &sig, &sig_len, &err), 0);
	assert_int_equal(sig_len, 384);
	assert_int_equal(vf_key_verify(vk, msg, len, sig, sig_len), 0);
	free(sig);
	sig = NULL;
	free(msg);

	/* traditional "BEGIN RSA PRIVATE KEY" signs too: tough's simple-rsa root key */
	assert_int_equal(json_object_size(tough), 1);
	json_object_foreach(tough, tkid, tk)
		assert_int_equal(key_of(tk, &k3, &err), 0);
	assert_int_equal(vf_signer_open(path3, &s3, &err), 0);
	assert_true(vf_key_equal(k3, vf_signer_key(s3)));
	msg = canonical("tough-simple-rsa", &len);
	assert_int_equal(vf_signer_sign(s3, msg, len, &sig, &sig_len, &err), 0);
	assert_int_equal(vf_key_verify(k3, msg, len, sig, sig_len), 0);
	vf_signer_free(s3);
	json_decref(tough);

	free(sig);
	free(msg);
	free(text);
	free(want);
	free(path);
	free(path3);
	vf_key_free(vk);
	vf_key_free(k3);
	vf_signer_free(s);
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signed_vectors),
		vf_test_in_tmpdir(test_ed25519_resign),
		vf_test_in_tmpdir(test_rsa_keystore),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
