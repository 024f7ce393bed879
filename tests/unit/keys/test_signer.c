/*
 * keys/signer: PEM-file signers checked by the openssl CLI (an independent
 * verifier), and "exec:" signers driven by a small shell helper that signs
 * with `openssl pkeyutl` / `openssl dgst`.
 */
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
#include <time.h>
#include <unistd.h>

/*
 * sign.sh KEY MODE [--public-key]: MODE is ed, ec, rsa (sign properly), fail
 * (a long stderr, exit 3), big (5000 bytes out), slow (sleep), deaf (closes
 * stdin unread and lives on, then prints 64 zero bytes), badpub (--public-key prints junk),
 * pubfail (--public-key exits 1), other:KEY2 (signs with KEY2).
 */
static const char helper[] =
	"#!/bin/sh\n"
	"key=$1 mode=$2\n"
	"if [ \"${3:-}\" = --public-key ]; then\n"
	"  case $mode in\n"
	"  badpub) echo 'not a key'; exit 0 ;;\n"
	"  pubfail) echo 'no token' >&2; exit 1 ;;\n"
	"  esac\n"
	"  exec openssl pkey -in \"$key\" -pubout\n"
	"fi\n"
	"case $mode in other:*) key=${mode#other:}; mode=ed ;; esac\n"
	"case $mode in\n"
	"ed) t=$(mktemp) && cat >\"$t\" && openssl pkeyutl -sign -rawin -inkey \"$key\" -in \"$t\";"
	" rc=$?; rm -f \"$t\"; exit $rc ;;\n"
	"ec) exec openssl dgst -sha256 -binary -sign \"$key\" ;;\n"
	"rsa) exec openssl dgst -sha256 -binary -sign \"$key\" -sigopt rsa_padding_mode:pss"
	" -sigopt rsa_pss_saltlen:32 ;;\n"
	"fail) cat >/dev/null; i=0; while [ $i -lt 200 ]; do echo \"noise line $i\" >&2;"
	" i=$((i+1)); done; echo 'pkcs11: token not present' >&2; exit 3 ;;\n"
	"big) cat >/dev/null; head -c 5000 /dev/zero; exit 0 ;;\n"
	"slow) exec sleep 20 ;;\n"
	"deaf) exec 0<&-; sleep 1; head -c 64 /dev/zero; exit 0 ;;\n"
	"esac\n"
	"exit 9\n";

struct fixture {
	char *dir, *helper, *ed, *ec, *rsa;
};

static char *gen(const char *dir, const char *name, enum vf_key_type type)
{
	struct vf_err err = { 0 };
	char *path = vf_test_path(dir, name);

	if (vf_key_generate(type, path, &err))
		fail_msg("%s", err.msg);
	return path;
}

/* One set of keys for every test: RSA generation takes a second. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *sub;

	f->dir = vf_test_tmpdir();
	/* a space in the path: the exec: command line must quote it */
	sub = vf_test_path(f->dir, "with space");
	assert_int_equal(mkdir(sub, 0700), 0);
	f->helper = vf_test_path(sub, "sign.sh");
	vf_test_write_file(f->helper, helper, strlen(helper));
	f->ed = gen(f->dir, "ed.pem", VF_KEY_ED25519);
	f->ec = gen(f->dir, "ec.pem", VF_KEY_ECDSA_P256);
	f->rsa = gen(f->dir, "rsa.pem", VF_KEY_RSA);
	free(sub);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vf_test_rmtree(f->dir);
	free(f->dir);
	free(f->helper);
	free(f->ed);
	free(f->ec);
	free(f->rsa);
	free(f);
	return 0;
}

static char *exec_ref(const struct fixture *f, const char *key, const char *mode)
{
	char *ref = NULL;

	assert_int_not_equal(asprintf(&ref, "exec:sh '%s' \"%s\" %s", f->helper, key, mode), -1);
	return ref;
}

static int run(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* PEM signers: the openssl CLI verifies what they sign (RSA-PSS: salt of exactly 32 bytes). */
static void test_pem_openssl_verifies(void **state)
{
	struct fixture *f = *state;
	char *msg_path = vf_test_path(f->dir, "msg"), *sig_path = vf_test_path(f->dir, "sig");
	const char *keys[] = { f->ed, f->ec, f->rsa };
	uint8_t msg[3000];

	vf_test_data(7, msg, sizeof(msg));
	vf_test_write_file(msg_path, msg, sizeof(msg));
	for (size_t i = 0; i < 3; i++) {
		struct vf_err err = { 0 };
		struct vf_signer *s = NULL;
		uint8_t *sig = NULL;
		size_t n = 0;
		char *cmd = NULL, *bad = NULL;

		assert_int_equal(vf_signer_open(keys[i], &s, &err), 0);
		assert_int_equal(vf_signer_sign(s, msg, sizeof(msg), &sig, &n, &err), 0);
		vf_test_write_file(sig_path, sig, n);
		if (i == 0)
			assert_int_not_equal(asprintf(&cmd, "openssl pkeyutl -verify -pubin -inkey '%s.pub' "
						      "-rawin -in '%s' -sigfile '%s' >/dev/null",
						      keys[i], msg_path, sig_path), -1);
		else
			assert_int_not_equal(asprintf(&cmd, "openssl dgst -sha256 -verify '%s.pub' "
						      "-signature '%s' %s '%s' >/dev/null", keys[i],
						      sig_path, i == 2 ? "-sigopt rsa_padding_mode:pss "
						      "-sigopt rsa_pss_saltlen:32" : "", msg_path), -1);
		assert_int_equal(run(cmd), 0);
		/* the check can fail: another salt length, or a flipped message byte */
		if (i == 2) {
			assert_int_not_equal(asprintf(&bad, "openssl dgst -sha256 -verify '%s.pub' "
						      "-signature '%s' -sigopt rsa_padding_mode:pss "
						      "-sigopt rsa_pss_saltlen:20 '%s' >/dev/null 2>&1",
						      keys[i], sig_path, msg_path), -1);
			assert_int_not_equal(run(bad), 0);
		}
		vf_test_flip_file(msg_path, 100, 0x01);
		assert_int_not_equal(run(cmd), 0);
		vf_test_flip_file(msg_path, 100, 0x01);
		free(cmd);
		free(bad);
		free(sig);
		vf_signer_free(s);
	}
	free(msg_path);
	free(sig_path);
}

/* What is not a private key file is not a signer. */
static void test_pem_refusals(void **state)
{
	struct fixture *f = *state;
	struct vf_err err = { 0 };
	struct vf_signer *s = NULL;
	char *pub = NULL;

	assert_int_not_equal(asprintf(&pub, "%s.pub", f->ed), -1);
	assert_int_equal(chmod(pub, 0600), 0);
	assert_int_equal(vf_signer_open(pub, &s, &err), -EINVAL);
	vf_test_assert_containsf(err.msg, "'%s' holds a public key: signing needs the private key",
				 pub);
	assert_int_equal(chmod(pub, 0644), 0);
	assert_int_equal(vf_signer_open(pub, &s, &err), -EPERM); /* 0644: refused before reading */
	assert_int_equal(vf_signer_open(f->dir, &s, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "is not a regular file");
	assert_int_equal(vf_signer_open("", &s, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "empty signer reference");
	assert_null(s);
	free(pub);
}

/* exec: signers with openssl behind them, for each scheme; a large message goes through stdin. */
static void test_exec_good(void **state)
{
	struct fixture *f = *state;
	const char *keys[] = { f->ed, f->ec, f->rsa }, *modes[] = { "ed", "ec", "rsa" };
	size_t big = 1 << 20;
	uint8_t *msg = malloc(big);

	vf_test_data(9, msg, big);
	for (size_t i = 0; i < 3; i++) {
		struct vf_err err = { 0 };
		struct vf_signer *s = NULL;
		struct vf_key *file_key = NULL;
		char *ref = exec_ref(f, keys[i], modes[i]);
		uint8_t *sig = NULL;
		size_t n = 0;

		if (vf_signer_open(ref, &s, &err))
			fail_msg("%s: %s", ref, err.msg);
		assert_int_equal(vf_key_load(keys[i], &file_key, &err), 0);
		assert_true(vf_key_equal(vf_signer_key(s), file_key));
		if (vf_signer_sign(s, msg, i == 1 ? big : 1000, &sig, &n, &err))
			fail_msg("%s", err.msg);
		assert_int_equal(vf_key_verify(file_key, msg, i == 1 ? big : 1000, sig, n), 0);
		free(sig);
		/* the signer can be used again */
		assert_int_equal(vf_signer_sign(s, "abc", 3, &sig, &n, &err), 0);
		assert_int_equal(vf_key_verify(file_key, "abc", 3, sig, n), 0);
		free(sig);
		vf_key_free(file_key);
		vf_signer_free(s);
		free(ref);
	}
	free(msg);
}

static void expect_sign_error(struct fixture *f, const char *key, const char *mode, size_t len,
			      unsigned timeout_ms, int code, const char *want)
{
	struct vf_err err = { 0 };
	struct vf_signer *s = NULL;
	char *ref = exec_ref(f, key, mode);
	uint8_t *sig = NULL, *msg = calloc(1, len + 1);
	size_t n = 0;

	if (vf_signer_open(ref, &s, &err))
		fail_msg("%s: %s", ref, err.msg);
	if (timeout_ms)
		vf_signer_set_timeout(s, timeout_ms);
	assert_int_equal(vf_signer_sign(s, msg, len, &sig, &n, &err), code);
	vf_test_assert_containsf(err.msg, "signer '%s': ", ref);
	vf_test_assert_contains(err.msg, want);
	assert_null(sig);
	vf_signer_free(s);
	free(msg);
	free(ref);
}

/* A failing command: its exit status and the tail of its stderr, on one line. */
static void test_exec_failing(void **state)
{
	struct fixture *f = *state;
	struct vf_err err = { 0 };
	struct vf_signer *s = NULL;
	char *ref = exec_ref(f, f->ed, "fail");

	expect_sign_error(f, f->ed, "fail", 10, 0, -EIO,
			  "exited with status 3: ...");
	assert_int_equal(vf_signer_open(ref, &s, &err), 0);
	assert_int_not_equal(vf_signer_sign(s, "x", 1, &(uint8_t *){ NULL }, &(size_t){ 0 }, &err), 0);
	vf_test_assert_contains(err.msg, "noise line 199; pkcs11: token not present");
	assert_null(strstr(err.msg, "noise line 1;")); /* only the tail */
	assert_null(strchr(err.msg, '\n'));
	vf_signer_free(s);
	free(ref);
}

/* The command signs with a key other than the one it announced. */
static void test_exec_wrong_key(void **state)
{
	struct fixture *f = *state;
	char *mode = NULL;

	assert_int_not_equal(asprintf(&mode, "'other:%s'", f->ed), -1);
	expect_sign_error(f, f->rsa, mode, 10, 0, -EIO,
			  "its 64-byte signature does not verify with its rsassa-pss-sha256 public key");
	free(mode);
}

/* Output beyond the bound, a command that hangs, one that never reads its input. */
static void test_exec_bounds(void **state)
{
	struct fixture *f = *state;
	time_t start = time(NULL);

	expect_sign_error(f, f->ed, "big", 10, 0, -EMSGSIZE, "wrote more than 4096 bytes to stdout");
	expect_sign_error(f, f->ed, "slow", 10, 300, -ETIMEDOUT,
			  "took longer than 0.300 s and was killed");
	assert_true(time(NULL) - start < 10);
	/* 4 MiB to a command that reads none of it: no SIGPIPE, no hang */
	expect_sign_error(f, f->ed, "deaf", 4 << 20, 0, -EIO, "does not verify with its ed25519");
}

/* Opening: what --public-key must do, and the command line itself. */
static void test_exec_open_errors(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *ref;
		int code;
		const char *want;
	} plain[] = {
		{ "exec:", -EINVAL, "signer 'exec:': empty command" },
		{ "exec:   ", -EINVAL, "empty command" },
		{ "exec:sh 'unterminated", -EINVAL, "unterminated ' quote in the command" },
		{ "exec:/nonexistent/vf-signer", -ENOENT,
		  "signer 'exec:/nonexistent/vf-signer': --public-key: cannot run "
		  "'/nonexistent/vf-signer': No such file or directory" },
		{ "exec:false", -EIO, "--public-key: exited with status 1" },
	};
	struct vf_err err = { 0 };
	struct vf_signer *s = NULL;
	char *ref;

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		assert_int_equal(vf_signer_open(plain[i].ref, &s, &err), plain[i].code);
		vf_test_assert_contains(err.msg, plain[i].want);
		assert_null(s);
	}
	ref = exec_ref(f, f->ed, "badpub");
	assert_int_equal(vf_signer_open(ref, &s, &err), -EINVAL);
	vf_test_assert_contains(err.msg, "--public-key output: not a PEM public key");
	free(ref);
	ref = exec_ref(f, f->ed, "pubfail");
	assert_int_equal(vf_signer_open(ref, &s, &err), -EIO);
	vf_test_assert_contains(err.msg, "--public-key: exited with status 1: no token");
	free(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pem_openssl_verifies),
		cmocka_unit_test(test_pem_refusals),
		cmocka_unit_test(test_exec_good),
		cmocka_unit_test(test_exec_failing),
		cmocka_unit_test(test_exec_wrong_key),
		cmocka_unit_test(test_exec_bounds),
		cmocka_unit_test(test_exec_open_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
