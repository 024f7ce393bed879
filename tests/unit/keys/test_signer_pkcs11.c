/*
 * keys/pkcs11 for real: a SoftHSM2 token in a temporary directory, EC P-256
 * and RSA-3072 key pairs made on it by pkcs11-tool (OpenSC), signed through
 * vforge's pkcs11: signer (libp11's engine), checked with the public key
 * pkcs11-tool exports and with the openssl CLI.
 *
 * Skipped (cmocka skip) with the reason when softhsm2-util, pkcs11-tool, the
 * SoftHSM module or OpenSSL's pkcs11 engine is missing: ci/install-deps
 * installs softhsm2, opensc and libengine-pkcs11-openssl.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "keys/key.h"
#include "tests/unit/testutil.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct token {
	char *dir, *module;
	const char *why_skip;
};

static const char *const modules[] = {
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	assert_int_not_equal(vasprintf(&cmd, fmt, ap), -1);
	va_end(ap);
	rc = system(cmd);
	free(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static bool have(const char *tool)
{
	return sh("command -v %s >/dev/null 2>&1", tool) == 0;
}

/* A fresh token "vf" (user PIN 1234) holding "ec" (id 01) and "rsa" (id 02). */
static int setup(void **state)
{
	struct token *t = calloc(1, sizeof(*t));
	char *conf;

	*state = t;
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++)
		if (!t->module && access(modules[i], R_OK) == 0)
			t->module = strdup(modules[i]);
	if (!have("softhsm2-util") || !t->module) {
		t->why_skip = "SoftHSM2 is not installed (Debian: softhsm2)";
		return 0;
	}
	if (!have("pkcs11-tool")) {
		t->why_skip = "pkcs11-tool is not installed (Debian: opensc)";
		return 0;
	}
	if (sh("test -e \"$(openssl version -e | sed 's/^ENGINESDIR: \"//; s/\"$//')/pkcs11.so\"")) {
		t->why_skip = "OpenSSL's pkcs11 engine is not installed (Debian: libengine-pkcs11-openssl)";
		return 0;
	}
	t->dir = vf_test_tmpdir();
	conf = vf_test_path(t->dir, "softhsm2.conf");
	assert_int_equal(sh("mkdir '%s/tokens' && printf 'directories.tokendir = %s/tokens\\n"
			    "objectstore.backend = file\\nlog.level = ERROR\\n' >'%s'", t->dir, t->dir,
			    conf), 0);
	/* SoftHSM reads its configuration from the environment, in this process too */
	assert_int_equal(setenv("SOFTHSM2_CONF", conf, 1), 0);
	assert_int_equal(sh("softhsm2-util --init-token --free --label vf --pin 1234 --so-pin 5678 "
			    ">/dev/null"), 0);
	assert_int_equal(sh("pkcs11-tool --module '%s' --token-label vf --login --pin 1234 "
			    "--keypairgen --key-type EC:prime256v1 --label ec --id 01 >/dev/null",
			    t->module), 0);
	assert_int_equal(sh("pkcs11-tool --module '%s' --token-label vf --login --pin 1234 "
			    "--keypairgen --key-type rsa:3072 --label rsa --id 02 >/dev/null",
			    t->module), 0);
	/* the public keys as the token exports them (DER SPKI), to PEM with openssl */
	for (int i = 1; i <= 2; i++)
		assert_int_equal(sh("cd '%s' && pkcs11-tool --module '%s' --token-label vf "
				    "--read-object --type pubkey --id 0%d -o pub%d.der >/dev/null 2>&1 && "
				    "openssl pkey -pubin -inform DER -in pub%d.der -out pub%d.pem",
				    t->dir, t->module, i, i, i, i), 0);
	free(conf);
	return 0;
}

static int teardown(void **state)
{
	struct token *t = *state;

	if (t->dir)
		vf_test_rmtree(t->dir);
	unsetenv("SOFTHSM2_CONF");
	free(t->dir);
	free(t->module);
	free(t);
	return 0;
}

static void skip_unless_ready(const struct token *t)
{
	if (t->why_skip) {
		print_message("skipped: %s\n", t->why_skip);
		skip();
	}
}

/* Sign through the token and check with the public key the token exported. */
static void sign_and_check(const struct token *t, const char *uri, int n,
			   enum vf_key_type type)
{
	struct vf_err err = { 0 };
	struct vf_signer *s = NULL;
	struct vf_key *exported = NULL;
	char *pem = NULL, *msg_path = vf_test_path(t->dir, "msg"), *sig_path = vf_test_path(t->dir, "sig");
	uint8_t msg[4096], *sig = NULL;
	size_t sig_len = 0;

	if (vf_signer_open(uri, &s, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(vf_key_get_type(vf_signer_key(s)), type);
	assert_int_not_equal(asprintf(&pem, "%s/pub%d.pem", t->dir, n), -1);
	assert_int_equal(vf_key_load(pem, &exported, &err), 0);
	assert_true(vf_key_equal(exported, vf_signer_key(s)));

	vf_test_data((uint64_t)n, msg, sizeof(msg));
	if (vf_signer_sign(s, msg, sizeof(msg), &sig, &sig_len, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(vf_key_verify(exported, msg, sizeof(msg), sig, sig_len), 0);
	msg[0] ^= 1;
	assert_int_equal(vf_key_verify(exported, msg, sizeof(msg), sig, sig_len), -VF_EVERIFY);
	msg[0] ^= 1;
	if (type == VF_KEY_RSA) {
		assert_int_equal(sig_len, 384);
	} else {
		assert_int_equal(sig[0], 0x30); /* DER */
	}
	/* and the openssl CLI agrees (RSA: PSS with exactly 32 bytes of salt) */
	vf_test_write_file(msg_path, msg, sizeof(msg));
	vf_test_write_file(sig_path, sig, sig_len);
	assert_int_equal(sh("openssl dgst -sha256 -verify '%s' -signature '%s' %s '%s' >/dev/null",
			    pem, sig_path, type == VF_KEY_RSA ? "-sigopt rsa_padding_mode:pss "
			    "-sigopt rsa_pss_saltlen:32" : "", msg_path), 0);
	free(sig);
	free(pem);
	free(msg_path);
	free(sig_path);
	vf_key_free(exported);
	vf_signer_free(s);
}

/* Wrong or missing PINs first: the token's login lasts while the process runs. */
static void test_pin_errors(void **state)
{
	struct token *t = *state;
	struct vf_err err = { 0 };
	struct vf_signer *s = NULL;
	char *uri = NULL;

	skip_unless_ready(t);
	assert_int_not_equal(asprintf(&uri, "pkcs11:token=vf;object=ec;pin-value=9999"
				      "?module-path=%s", t->module), -1);
	assert_int_equal(vf_signer_open(uri, &s, &err), -ENOENT);
	vf_test_assert_contains(err.msg, "signer 'pkcs11:token=vf;object=ec;pin-value=***?module-path=");
	vf_test_assert_contains(err.msg, "PIN incorrect");
	assert_null(strstr(err.msg, "9999"));
	free(uri);
	assert_int_not_equal(asprintf(&uri, "pkcs11:token=vf;object=ec?module-path=%s", t->module), -1);
	assert_int_equal(vf_signer_open(uri, &s, &err), -ENOENT);
	vf_test_assert_contains(err.msg, "no pin-value or pin-source given");
	assert_null(s);
	free(uri);
}

static void test_ec(void **state)
{
	struct token *t = *state;
	char *uri = NULL;

	skip_unless_ready(t);
	/* the attributes as vforge documents them: pin and module in the path */
	assert_int_not_equal(asprintf(&uri, "pkcs11:token=vf;object=ec;pin-value=1234;"
				      "module-path=%s", t->module), -1);
	sign_and_check(t, uri, 1, VF_KEY_ECDSA_P256);
	free(uri);
}

static void test_rsa_pin_source(void **state)
{
	struct token *t = *state;
	char *uri = NULL, *pin;
	struct vf_err err = { 0 };
	struct vf_signer *s = NULL;

	skip_unless_ready(t);
	pin = vf_test_path(t->dir, "pin");
	vf_test_write_file(pin, "1234\n", 5);
	/* a PIN file others may read is refused like a private key */
	assert_int_not_equal(asprintf(&uri, "pkcs11:token=vf;id=%%02?pin-source=file:%s", pin), -1);
	assert_int_equal(vf_signer_open(uri, &s, &err), -EPERM);
	vf_test_assert_containsf(err.msg, "pin-source '%s' has mode 0644: it must not be accessible "
				 "by group or other (chmod 600)", pin);
	free(uri);
	assert_int_equal(chmod(pin, 0600), 0);
	/* RFC 7512 query attributes, a percent-encoded id, pin-source=file: */
	assert_int_not_equal(asprintf(&uri, "pkcs11:token=vf;id=%%02?pin-source=file:%s"
				      "&module-path=%s", pin, t->module), -1);
	sign_and_check(t, uri, 2, VF_KEY_RSA);
	free(uri);
	free(pin);
}

/* Without module-path, libp11 goes through p11-kit, which knows SoftHSM's module. */
static void test_default_module(void **state)
{
	struct token *t = *state;

	skip_unless_ready(t);
	if (access("/usr/share/p11-kit/modules/softhsm2.module", R_OK) != 0) {
		print_message("skipped: p11-kit does not list SoftHSM2\n");
		skip();
	}
	sign_and_check(t, "pkcs11:token=vf;object=ec;pin-value=1234", 1, VF_KEY_ECDSA_P256);
}

/* URIs vforge refuses before any token is asked. */
static void test_uri_errors(void **state)
{
	static const struct {
		const char *uri;
		const char *want;
	} cases[] = {
		{ "pkcs11:token=vf", "the URI names no key: add object=<label> or id=<hex>" },
		{ "pkcs11:token=vf;object=ec;pin-value=1;pin-source=file:/x", "both pin-value and pin-source" },
		{ "pkcs11:object=ec;pin-value=1;pin-value=2", "attribute 'pin-value' given twice" },
		{ "pkcs11:object=ec;pin-value=%zz", "attribute 'pin-value': bad %-escape" },
		{ "pkcs11:object=ec;1234", "an attribute has no '=<value>'" },
		{ "pkcs11:object=ec?foo=bar", "query attribute 'foo' is not supported" },
		{ "pkcs11:object=ec;pin-source=relative/pin", "expected file:<absolute path>" },
	};
	struct token *t = *state;

	(void)t;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vf_err err = { 0 };
		struct vf_signer *s = NULL;

		assert_int_not_equal(vf_signer_open(cases[i].uri, &s, &err), 0);
		vf_test_assert_contains(err.msg, cases[i].want);
		assert_null(strstr(err.msg, "1234"));
		assert_null(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri_errors),
		cmocka_unit_test(test_pin_errors),
		cmocka_unit_test(test_ec),
		cmocka_unit_test(test_rsa_pin_source),
		cmocka_unit_test(test_default_module),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
