/* keys/key: generate, load, verify, TUF key parsing; permissions and O_EXCL. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "keys/key.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIXTURES "tests/vectors/keys/"

static const struct {
	enum vf_key_type type;
	const char *name, *keytype, *scheme;
} types[] = {
	{ VF_KEY_ED25519, "ed25519", "ed25519", "ed25519" },
	{ VF_KEY_ECDSA_P256, "ecdsa-p256", "ecdsa", "ecdsa-sha2-nistp256" },
	{ VF_KEY_RSA, "rsa-3072", "rsa", "rsassa-pss-sha256" },
};

static char *read_text(const char *path)
{
	size_t len;

	return (char *)vf_test_read_file(path, &len);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* Generate `type` as <dir>/<name> and return the path (caller frees). */
static char *generate(const char *dir, const char *name, enum vf_key_type type)
{
	struct vf_err err = { 0 };
	char *path = vf_test_path(dir, name);

	if (vf_key_generate(type, path, &err))
		fail_msg("generate %s: %s", path, err.msg);
	return path;
}

static void sign_with(const char *ref, const void *msg, size_t len, uint8_t **sig,
		      size_t *sig_len, struct vf_key **key)
{
	struct vf_err err = { 0 };
	struct vf_signer *s = NULL;

	if (vf_signer_open(ref, &s, &err))
		fail_msg("open %s: %s", ref, err.msg);
	if (vf_signer_sign(s, msg, len, sig, sig_len, &err))
		fail_msg("sign: %s", err.msg);
	if (key)
		*key = vf_key_dup(vf_signer_key(s));
	vf_signer_free(s);
}

static void test_type_parse(void **state)
{
	struct vf_err err = { 0 };
	enum vf_key_type t;

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_int_equal(vf_key_type_parse(types[i].name, &t, &err), 0);
		assert_int_equal(t, types[i].type);
	}
	assert_int_equal(vf_key_type_parse("rsa-2048", &t, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "unknown key type 'rsa-2048'");
	vf_test_assert_contains(err.msg, "ed25519, ecdsa-p256 or rsa-3072");
	assert_int_equal(vf_key_type_parse("", &t, &err), -EINVAL);
}

/* Generate each type; the files, their modes, load both halves, sign, verify, tamper. */
static void test_generate_roundtrip(void **state)
{
	const char *dir = *state;
	static const char msg[] = "{\"_type\":\"root\",\"version\":1}";

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct vf_err err = { 0 };
		struct vf_key *pub = NULL, *from_priv = NULL, *from_tuf = NULL, *signer_key = NULL;
		char *path, *pub_path, *priv_text, *pub_text, *text = NULL;
		uint8_t *sig = NULL;
		size_t sig_len = 0;
		mode_t old = umask(i == 0 ? 0077 : 0); /* the modes do not depend on the umask */

		path = generate(dir, types[i].name, types[i].type);
		umask(old);
		assert_int_not_equal(asprintf(&pub_path, "%s.pub", path), -1);
		assert_int_equal(mode_of(path), 0600);
		assert_int_equal(mode_of(pub_path), 0644);
		priv_text = read_text(path);
		pub_text = read_text(pub_path);
		assert_memory_equal(priv_text, "-----BEGIN PRIVATE KEY-----\n", 28);
		assert_memory_equal(pub_text, "-----BEGIN PUBLIC KEY-----\n", 27);

		assert_int_equal(vf_key_load(pub_path, &pub, &err), 0);
		assert_int_equal(vf_key_load(path, &from_priv, &err), 0);
		assert_true(vf_key_equal(pub, from_priv));
		assert_int_equal(vf_key_get_type(pub), types[i].type);
		assert_string_equal(vf_key_keytype(pub), types[i].keytype);
		assert_string_equal(vf_key_scheme(pub), types[i].scheme);

		/* keyval.public: hex for ed25519, otherwise exactly the .pub file */
		assert_int_equal(vf_key_public_text(pub, &text, &err), 0);
		if (types[i].type == VF_KEY_ED25519) {
			assert_int_equal(strlen(text), 64);
			assert_int_equal(strspn(text, "0123456789abcdef"), 64);
		} else {
			assert_string_equal(text, pub_text);
		}
		assert_int_equal(vf_key_from_tuf(types[i].keytype, types[i].scheme, text, &from_tuf,
						 &err), 0);
		assert_true(vf_key_equal(from_tuf, pub));

		sign_with(path, msg, strlen(msg), &sig, &sig_len, &signer_key);
		assert_true(vf_key_equal(signer_key, pub));
		if (types[i].type == VF_KEY_ED25519)
			assert_int_equal(sig_len, 64);
		else if (types[i].type == VF_KEY_RSA)
			assert_int_equal(sig_len, 384);
		else
			assert_true(sig[0] == 0x30 && sig_len >= 8 && sig_len <= 72); /* DER SEQUENCE */
		assert_int_equal(vf_key_verify(pub, msg, strlen(msg), sig, sig_len), 0);
		assert_int_equal(vf_key_verify(from_tuf, msg, strlen(msg), sig, sig_len), 0);
		/* a tampered message, a tampered signature, a truncated signature */
		assert_int_equal(vf_key_verify(pub, msg, strlen(msg) - 1, sig, sig_len), -VF_EVERIFY);
		sig[sig_len / 2] ^= 0x01;
		assert_int_equal(vf_key_verify(pub, msg, strlen(msg), sig, sig_len), -VF_EVERIFY);
		sig[sig_len / 2] ^= 0x01;
		assert_int_equal(vf_key_verify(pub, msg, strlen(msg), sig, sig_len - 1), -VF_EVERIFY);
		assert_int_equal(vf_key_verify(pub, msg, strlen(msg), sig, 0), -VF_EVERIFY);
		assert_int_equal(vf_key_verify(pub, msg, strlen(msg), NULL, 0), -VF_EVERIFY);

		free(sig);
		free(text);
		free(priv_text);
		free(pub_text);
		free(pub_path);
		free(path);
		vf_key_free(pub);
		vf_key_free(from_priv);
		vf_key_free(from_tuf);
		vf_key_free(signer_key);
	}
}

/* An Ed25519 signature over an empty message (no NULL-pointer trouble). */
static void test_empty_message(void **state)
{
	const char *dir = *state;
	char *path = generate(dir, "k", VF_KEY_ED25519);
	struct vf_key *k = NULL;
	uint8_t *sig = NULL;
	size_t n = 0;

	sign_with(path, NULL, 0, &sig, &n, &k);
	assert_int_equal(vf_key_verify(k, NULL, 0, sig, n), 0);
	assert_int_equal(vf_key_verify(k, "", 0, sig, n), 0);
	assert_int_equal(vf_key_verify(k, "x", 1, sig, n), -VF_EVERIFY);
	free(sig);
	free(path);
	vf_key_free(k);
}

/* A signature from one key never verifies with another, of the same type or not. */
static void test_wrong_key(void **state)
{
	const char *dir = *state;
	static const char msg[] = "targets";
	char *a = generate(dir, "a", VF_KEY_ECDSA_P256), *b = generate(dir, "b", VF_KEY_ECDSA_P256);
	char *c = generate(dir, "c", VF_KEY_ED25519), *d = generate(dir, "d", VF_KEY_ED25519);
	struct vf_key *ka = NULL, *kb = NULL, *kc = NULL, *kd = NULL;
	uint8_t *sa = NULL, *sc = NULL;
	size_t la = 0, lc = 0;

	sign_with(a, msg, strlen(msg), &sa, &la, &ka);
	sign_with(c, msg, strlen(msg), &sc, &lc, &kc);
	assert_int_equal(vf_key_load(b, &kb, NULL), 0);
	assert_int_equal(vf_key_load(d, &kd, NULL), 0);
	assert_false(vf_key_equal(ka, kb));
	assert_false(vf_key_equal(ka, kc));
	assert_int_equal(vf_key_verify(ka, msg, strlen(msg), sa, la), 0);
	assert_int_equal(vf_key_verify(kb, msg, strlen(msg), sa, la), -VF_EVERIFY);
	assert_int_equal(vf_key_verify(kc, msg, strlen(msg), sa, la), -VF_EVERIFY);
	assert_int_equal(vf_key_verify(kc, msg, strlen(msg), sc, lc), 0);
	assert_int_equal(vf_key_verify(kd, msg, strlen(msg), sc, lc), -VF_EVERIFY);
	assert_int_equal(vf_key_verify(ka, msg, strlen(msg), sc, lc), -VF_EVERIFY);
	free(sa);
	free(sc);
	vf_key_free(ka);
	vf_key_free(kb);
	vf_key_free(kc);
	vf_key_free(kd);
	free(a);
	free(b);
	free(c);
	free(d);
}

/* Private keys that group or other may read are refused, naming the file and its mode. */
static void test_private_key_mode(void **state)
{
	const char *dir = *state;
	static const struct {
		mode_t mode;
		const char *want;
	} cases[] = {
		{ 0644, "has mode 0644: it must not be readable by group or other (chmod 600)" },
		{ 0640, "has mode 0640: it must not be readable by group or other (chmod 600)" },
		{ 0604, "has mode 0604: it must not be readable by group or other (chmod 600)" },
		{ 0620, "has mode 0620: it must not be writable or executable by group or other" },
	};
	char *path = generate(dir, "k.pem", VF_KEY_ED25519), *pub_path = NULL;
	struct vf_signer *s = NULL;
	struct vf_key *k = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vf_err err = { 0 };

		assert_int_equal(chmod(path, cases[i].mode), 0);
		assert_int_equal(vf_key_load(path, &k, &err), -EPERM);
		vf_test_assert_containsf(err.msg, "private key '%s' %s", path, cases[i].want);
		vf_err_clear(&err);
		assert_int_equal(vf_signer_open(path, &s, &err), -EPERM);
		vf_test_assert_containsf(err.msg, "private key '%s' %s", path, cases[i].want);
		assert_null(strstr(err.msg, "MC4C")); /* never the contents */
	}
	/* 0400 is fine; the public key file is world-readable and fine */
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(vf_key_load(path, &k, NULL), 0);
	vf_key_free(k);
	assert_int_not_equal(asprintf(&pub_path, "%s.pub", path), -1);
	assert_int_equal(vf_key_load(pub_path, &k, NULL), 0);
	vf_key_free(k);
	free(pub_path);
	free(path);
}

/* vf_key_generate never overwrites, names the path, and leaves nothing on failure. */
static void test_generate_excl(void **state)
{
	const char *dir = *state;
	struct vf_err err = { 0 };
	char *path = generate(dir, "k.pem", VF_KEY_ED25519), *before = read_text(path);
	char *other = vf_test_path(dir, "other.pem"), *other_pub = vf_test_path(dir, "other.pem.pub");
	char *link_path = vf_test_path(dir, "link.pem"), *missing = vf_test_path(dir, "no/k.pem");
	char *after;

	/* the private key exists */
	assert_int_equal(vf_key_generate(VF_KEY_ED25519, path, &err), -EEXIST);
	vf_test_assert_containsf(err.msg, "private key '%s' already exists", path);
	after = read_text(path);
	assert_string_equal(before, after);
	vf_test_assert_listing(dir, "k.pem k.pem.pub");

	/* only the public key exists: the private key must not stay behind */
	vf_test_write_file(other_pub, "keep", 4);
	assert_int_equal(vf_key_generate(VF_KEY_ECDSA_P256, other, &err), -EEXIST);
	vf_test_assert_containsf(err.msg, "public key '%s' already exists", other_pub);
	vf_test_assert_listing(dir, "k.pem k.pem.pub other.pem.pub");

	/* a dangling symlink is not followed */
	assert_int_equal(symlink("elsewhere", link_path), 0);
	assert_int_equal(vf_key_generate(VF_KEY_ED25519, link_path, &err), -EEXIST);
	vf_test_assert_contains(err.msg, "link.pem' already exists");

	/* a missing directory */
	assert_int_equal(vf_key_generate(VF_KEY_ED25519, missing, &err), -ENOENT);
	vf_test_assert_containsf(err.msg, "cannot create private key '%s'", missing);
	vf_test_assert_listing(dir, "k.pem k.pem.pub link.pem other.pem.pub");
	assert_int_equal(vf_key_generate((enum vf_key_type)99, other, &err), -EINVAL);
	vf_test_assert_listing(dir, "k.pem k.pem.pub link.pem other.pem.pub");

	free(before);
	free(after);
	free(path);
	free(other);
	free(other_pub);
	free(link_path);
	free(missing);
}

/* Keys from TUF metadata: the right combinations load, everything else is refused. */
static void test_from_tuf(void **state)
{
	const char *dir = *state;
	char *ec_path = generate(dir, "ec", VF_KEY_ECDSA_P256), *ec_pub_path = NULL;
	char *ec_pem, *rsa1024 = read_text(FIXTURES "rsa1024.pub.pem");
	char *p384 = read_text(FIXTURES "p384.pub.pem"), *pss = read_text(FIXTURES "rsa-pss.pub.pem");
	char *ed_pem = read_text(FIXTURES "ed25519.pub.pem"), *x25519 = read_text(FIXTURES "x25519.pub.pem");
	char *rsa_path = generate(dir, "rsa", VF_KEY_RSA), *rsa_pub_path = NULL, *rsa_pem;
	char *junk = NULL, *ec_legacy_nonl = NULL;
	static const char hex[] = "edcd0a32a07dce33f7c7873aaffbff36d20ea30787574ead335eefd337e4dacd";
	struct vf_key *k = NULL;
	struct {
		const char *keytype, *scheme, *text;
		int rc;
		const char *want;
	} bad[] = {
		{ "ed25519", "ed25519", "edcd0a32", -EINVAL, "expected 64 hex digits, got 8 characters" },
		{ "ed25519", "ed25519", "edcd0a32a07dce33f7c7873aaffbff36d20ea30787574ead335eefd337e4dacd0",
		  -EINVAL, "expected 64 hex digits, got 65" },
		{ "ed25519", "ed25519", "xdcd0a32a07dce33f7c7873aaffbff36d20ea30787574ead335eefd337e4dacd",
		  -EINVAL, "not all hex digits" },
		{ "ed25519", "ed25519", "", -EINVAL, "expected 64 hex digits, got 0" },
		{ "ed25519", "ed25519", NULL /* ed_pem */, -EINVAL, "expected 64 hex digits" },
		{ "ed25519", "rsassa-pss-sha256", hex, -EINVAL,
		  "keytype 'ed25519' does not go with scheme 'rsassa-pss-sha256'" },
		{ "rsa", "ecdsa-sha2-nistp256", NULL, -EINVAL, "keytype 'rsa' does not go with scheme" },
		{ "ecdsa", "ed25519", NULL, -EINVAL, "keytype 'ecdsa' does not go with scheme 'ed25519'" },
		{ "rsa", "rsa-pkcs1v15-sha256", NULL, -EOPNOTSUPP,
		  "unsupported scheme 'rsa-pkcs1v15-sha256': expected rsassa-pss-sha256" },
		{ "ecdsa", "ecdsa-sha2-nistp384", NULL, -EOPNOTSUPP, "unsupported scheme" },
		{ "dsa", "dsa-sha256", NULL, -EOPNOTSUPP, "unsupported keytype 'dsa'" },
		{ "ecdsa", "ecdsa-sha2-nistp256", NULL /* rsa */, -EINVAL, "keytype 'ecdsa' holds an RSA key" },
		{ "rsa", "rsassa-pss-sha256", NULL /* ec */, -EINVAL, "keytype 'rsa' holds an ECDSA P-256 key" },
		{ "rsa", "rsassa-pss-sha256", NULL /* 1024 */, -EOPNOTSUPP,
		  "RSA key of 1024 bits: expected 2048 to 16384 bits" },
		{ "ecdsa", "ecdsa-sha2-nistp256", NULL /* p384 */, -EOPNOTSUPP,
		  "EC curve secp384r1 is not supported: expected P-256" },
		{ "rsa", "rsassa-pss-sha256", NULL /* pss */, -EOPNOTSUPP, "id-RSASSA-PSS" },
		{ "ecdsa", "ecdsa-sha2-nistp256", NULL /* x25519 */, -EOPNOTSUPP, "X25519 keys are not supported" },
		{ "rsa", "rsassa-pss-sha256", "-----BEGIN PUBLIC KEY-----\nnot base64 at all\n"
		  "-----END PUBLIC KEY-----\n", -EINVAL, "rsa public key: invalid PEM public key" },
		{ "rsa", "rsassa-pss-sha256", "hello", -EINVAL, "not a PEM public key" },
		{ "rsa", "rsassa-pss-sha256", "-----BEGIN PUBLIC KEY-----\nMIIB", -EINVAL,
		  "without its '-----END PUBLIC KEY-----' line" },
		{ "ecdsa", "ecdsa-sha2-nistp256", NULL /* junk after */, -EINVAL, "text after the PEM" },
		{ "ecdsa", "ecdsa-sha2-nistp256",
		  "04cb016c1626e100a0bff41b8a89c4a9ce475907b69b7400349ce5148bcac2e90138fac9a764a212aa49add"
		  "56713886438ebe76a67f9afc8df0b9848ed7ed12fc5", -EOPNOTSUPP,
		  "hex-encoded keys are not supported: expected PEM" },
	};

	assert_int_not_equal(asprintf(&ec_pub_path, "%s.pub", ec_path), -1);
	assert_int_not_equal(asprintf(&rsa_pub_path, "%s.pub", rsa_path), -1);
	ec_pem = read_text(ec_pub_path);
	rsa_pem = read_text(rsa_pub_path);
	assert_int_not_equal(asprintf(&junk, "%sjunk\n", ec_pem), -1);
	bad[4].text = ed_pem;
	bad[6].text = rsa_pem;
	bad[7].text = ec_pem;
	bad[8].text = rsa_pem;
	bad[9].text = ec_pem;
	bad[10].text = rsa_pem;
	bad[11].text = rsa_pem;
	bad[12].text = ec_pem;
	bad[13].text = rsa1024;
	bad[14].text = p384;
	bad[15].text = pss;
	bad[16].text = x25519;
	bad[20].text = junk;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vf_err err = { 0 };

		k = NULL;
		assert_non_null(bad[i].text);
		if (vf_key_from_tuf(bad[i].keytype, bad[i].scheme, bad[i].text, &k, &err) != bad[i].rc)
			fail_msg("case %zu (%s/%s): expected %d, got %d: %s", i, bad[i].keytype,
				 bad[i].scheme, bad[i].rc, err.code, err.msg);
		vf_test_assert_contains(err.msg, bad[i].want);
		assert_null(k);
	}

	/* accepted: lower- and upper-case hex, the legacy ECDSA keytype, PEM without its final newline */
	assert_int_equal(vf_key_from_tuf("ed25519", "ed25519", hex, &k, NULL), 0);
	vf_key_free(k);
	assert_int_equal(vf_key_from_tuf("ed25519", "ed25519",
					 "EDCD0A32A07DCE33F7C7873AAFFBFF36D20EA30787574EAD335EEFD337E4DACD",
					 &k, NULL), 0);
	vf_key_free(k);
	assert_int_equal(vf_key_from_tuf("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", ec_pem, &k,
					 NULL), 0);
	assert_string_equal(vf_key_keytype(k), "ecdsa");
	vf_key_free(k);
	ec_legacy_nonl = strdup(ec_pem);
	ec_legacy_nonl[strlen(ec_legacy_nonl) - 1] = '\0';
	assert_int_equal(vf_key_from_tuf("ecdsa", "ecdsa-sha2-nistp256", ec_legacy_nonl, &k, NULL), 0);
	vf_key_free(k);
	assert_int_equal(vf_key_from_tuf("rsa", "rsassa-pss-sha256", rsa_pem, &k, NULL), 0);
	vf_key_free(k);

	free(ec_path);
	free(ec_pub_path);
	free(ec_pem);
	free(rsa1024);
	free(p384);
	free(pss);
	free(ed_pem);
	free(x25519);
	free(rsa_pem);
	free(rsa_path);
	free(rsa_pub_path);
	free(junk);
	free(ec_legacy_nonl);
}

/* Files that are not keys, and a private key that is encrypted. */
static void test_load_errors(void **state)
{
	const char *dir = *state;
	struct vf_err err = { 0 };
	struct vf_key *k = NULL;
	char *missing = vf_test_path(dir, "missing.pem"), *text = vf_test_path(dir, "text");
	char *big = vf_test_path(dir, "big"), *enc = vf_test_path(dir, "enc.pem");
	char *trunc = vf_test_path(dir, "trunc.pem"), *key = generate(dir, "k", VF_KEY_ED25519);
	char *cmd = NULL, *priv = read_text(key);

	assert_int_equal(vf_key_load(missing, &k, &err), -ENOENT);
	vf_test_assert_containsf(err.msg, "cannot open key file '%s'", missing);
	vf_test_write_file(text, "hello\n", 6);
	assert_int_equal(vf_key_load(text, &k, &err), -EINVAL);
	vf_test_assert_containsf(err.msg, "key file '%s' holds no PEM public or private key", text);
	assert_int_equal(vf_key_load(dir, &k, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "is not a regular file");
	vf_test_make_file(big, 1, 65 * 1024);
	assert_int_equal(vf_key_load(big, &k, &err), -EFBIG);
	vf_test_assert_containsf(err.msg, "key file '%s' is 66560 bytes", big);

	/* a truncated private key: refused, and the message quotes none of it */
	vf_test_write_file(trunc, priv, 60);
	assert_int_equal(chmod(trunc, 0600), 0);
	assert_int_equal(vf_key_load(trunc, &k, &err), -EINVAL);
	vf_test_assert_containsf(err.msg, "private key '%s': invalid PEM private key", trunc);
	assert_null(strstr(err.msg, priv + 28));

	/* encrypted PKCS#8: never a passphrase prompt */
	assert_int_not_equal(asprintf(&cmd, "openssl genpkey -algorithm ED25519 -aes256 -pass pass:x "
				      "-out '%s' 2>/dev/null && chmod 600 '%s'", enc, enc), -1);
	if (system(cmd) == 0) {
		assert_int_equal(vf_key_load(enc, &k, &err), -EOPNOTSUPP);
		vf_test_assert_contains(err.msg, "encrypted private keys are not supported");
	}
	assert_null(k);
	free(cmd);
	free(priv);
	free(key);
	free(missing);
	free(text);
	free(big);
	free(enc);
	free(trunc);
}

/* Verification refuses malformed signatures without crashing. */
static void test_verify_malformed(void **state)
{
	const char *dir = *state;
	char *ec = generate(dir, "ec", VF_KEY_ECDSA_P256), *ed = generate(dir, "ed", VF_KEY_ED25519);
	struct vf_key *kec = NULL, *ked = NULL;
	uint8_t raw[64] = { 0 }, big[8192] = { 0 }, der[] = { 0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01 };

	assert_int_equal(vf_key_load(ec, &kec, NULL), 0);
	assert_int_equal(vf_key_load(ed, &ked, NULL), 0);
	assert_int_equal(vf_key_verify(kec, "m", 1, raw, sizeof(raw)), -VF_EVERIFY); /* r||s, not DER */
	assert_int_equal(vf_key_verify(kec, "m", 1, der, sizeof(der)), -VF_EVERIFY);
	assert_int_equal(vf_key_verify(kec, "m", 1, big, sizeof(big)), -VF_EVERIFY);
	assert_int_equal(vf_key_verify(ked, "m", 1, raw, 63), -VF_EVERIFY);
	assert_int_equal(vf_key_verify(ked, "m", 1, raw, sizeof(raw)), -VF_EVERIFY);
	assert_int_equal(vf_key_verify(ked, "m", 1, big, 128), -VF_EVERIFY);
	vf_key_free(kec);
	vf_key_free(ked);
	free(ec);
	free(ed);
}

static void test_dup_and_free(void **state)
{
	const char *dir = *state;
	char *path = generate(dir, "k", VF_KEY_ECDSA_P256);
	struct vf_key *k = NULL, *d;

	assert_int_equal(vf_key_load(path, &k, NULL), 0);
	d = vf_key_dup(k);
	assert_non_null(d);
	vf_key_free(k);
	assert_string_equal(vf_key_scheme(d), "ecdsa-sha2-nistp256");
	vf_key_free(d);
	vf_key_free(NULL);
	vf_signer_free(NULL);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_parse),
		vf_test_in_tmpdir(test_generate_roundtrip),
		vf_test_in_tmpdir(test_empty_message),
		vf_test_in_tmpdir(test_wrong_key),
		vf_test_in_tmpdir(test_private_key_mode),
		vf_test_in_tmpdir(test_generate_excl),
		vf_test_in_tmpdir(test_from_tuf),
		vf_test_in_tmpdir(test_load_errors),
		vf_test_in_tmpdir(test_verify_malformed),
		vf_test_in_tmpdir(test_dup_and_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
