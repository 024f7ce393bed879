/* keys/signer: open a signer by reference; PEM-file signers; signing with an EVP_PKEY. */
#include "keys/internal.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PKCS11_PREFIX "pkcs11:"
#define EXEC_PREFIX "exec:"

int vf_keys_pkey_sign(enum vf_key_type type, EVP_PKEY *pkey, const void *msg, size_t len,
		      uint8_t **ret_sig, size_t *ret_len, struct vf_err *err)
{
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *ctx = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int r;

	if (!msg)
		msg = "";
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return vf_err_set(err, ENOMEM, "out of memory");
	if (EVP_DigestSignInit(ctx, &pctx, vf_keys_md(type), NULL, pkey) != 1) {
		r = vf_keys_ossl_err(err, EIO, "cannot start signing");
		goto out;
	}
	if (type == VF_KEY_RSA &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1)) {
		r = vf_keys_ossl_err(err, EIO, "cannot set up RSA-PSS");
		goto out;
	}
	/* one-shot: Ed25519 cannot stream, the others do not mind */
	if (EVP_DigestSign(ctx, NULL, &sig_len, msg, len) != 1 || sig_len == 0 ||
	    sig_len > VF_KEYS_SIG_MAX) {
		r = vf_keys_ossl_err(err, EIO, "cannot sign");
		goto out;
	}
	sig = malloc(sig_len);
	if (!sig) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (EVP_DigestSign(ctx, sig, &sig_len, msg, len) != 1) {
		r = vf_keys_ossl_err(err, EIO, "cannot sign");
		goto out;
	}
	*ret_sig = sig;
	*ret_len = sig_len;
	sig = NULL;
	r = 0;
out:
	free(sig);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

/* A PEM private key file: refused when group or other may access it. */
static int pem_open(struct vf_signer *s, const char *path, struct vf_err *err)
{
	struct vf_keys_file f = { 0 };
	char what[64 + 4096];
	int r;

	snprintf(what, sizeof(what), "private key '%s'", path);
	r = vf_keys_file_read(path, &f, err);
	if (r)
		return r;
	/* the check comes before anything looks at the contents */
	r = vf_keys_check_private_mode(path, f.mode, err);
	if (r)
		goto out;
	if (vf_keys_is_public_pem(f.data) && !strstr(f.data, "PRIVATE KEY-----")) {
		r = vf_err_set(err, EINVAL, "'%s' holds a public key: signing needs the private "
			       "key file", path);
		goto out;
	}
	r = vf_keys_parse_private_pem(f.data, f.len, what, &s->priv, err);
	if (r)
		goto out;
	r = vf_keys_key_from_pkey(s->priv, what, &s->key, err);
out:
	vf_keys_file_release(&f);
	return r;
}

int vf_signer_open(const char *ref, struct vf_signer **ret, struct vf_err *err)
{
	struct vf_signer *s;
	int r;

	if (!ref || !ref[0])
		return vf_err_set(err, EINVAL, "empty signer reference: expected a private key "
				  "file, a pkcs11: URI or exec:<command>");
	s = calloc(1, sizeof(*s));
	if (!s)
		return vf_err_set(err, ENOMEM, "out of memory");
	s->timeout_ms = VF_KEYS_EXEC_TIMEOUT_MS;
	if (strncmp(ref, PKCS11_PREFIX, sizeof(PKCS11_PREFIX) - 1) == 0) {
		s->kind = VF_SIGNER_PKCS11;
		r = vf_keys_pkcs11_open(s, ref, err);
	} else if (strncmp(ref, EXEC_PREFIX, sizeof(EXEC_PREFIX) - 1) == 0) {
		s->kind = VF_SIGNER_EXEC;
		r = vf_keys_exec_open(s, ref + sizeof(EXEC_PREFIX) - 1, err);
	} else {
		s->kind = VF_SIGNER_PEM;
		s->name = strdup(ref);
		r = s->name ? pem_open(s, ref, err) : vf_err_set(err, ENOMEM, "out of memory");
	}
	if (r) {
		vf_signer_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

const struct vf_key *vf_signer_key(const struct vf_signer *s)
{
	return s->key;
}

bool vf_signer_is_concurrent(const struct vf_signer *s)
{
	return s->kind == VF_SIGNER_PEM;
}

void vf_signer_set_timeout(struct vf_signer *s, unsigned timeout_ms)
{
	s->timeout_ms = timeout_ms ? timeout_ms : VF_KEYS_EXEC_TIMEOUT_MS;
}

int vf_signer_sign(struct vf_signer *s, const void *msg, size_t len, uint8_t **ret_sig,
		   size_t *ret_len, struct vf_err *err)
{
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int r;

	switch (s->kind) {
	case VF_SIGNER_PEM:
	case VF_SIGNER_PKCS11:
		r = vf_keys_pkey_sign(s->key->type, s->priv, msg, len, &sig, &sig_len, err);
		break;
	case VF_SIGNER_EXEC:
		r = vf_keys_exec_sign(s, msg, len, &sig, &sig_len, err);
		break;
	default:
		r = vf_err_set(err, EINVAL, "signer not open");
	}
	if (r)
		return vf_err_prefix(err, "signer '%s'", s->name);
	/*
	 * Check every signature before it leaves: a token or program holding
	 * another key, a wrong format or a faulty computation (RSA-CRT faults
	 * leak the key) is caught here, not by the clients.
	 */
	r = vf_key_verify(s->key, msg, len, sig, sig_len);
	if (r) {
		free(sig);
		if (r == -VF_EVERIFY)
			return vf_err_set(err, EIO, "signer '%s': its %zu-byte signature does not "
					  "verify with its %s public key", s->name, sig_len,
					  vf_key_scheme(s->key));
		return vf_err_set(err, r, "signer '%s': cannot check its signature", s->name);
	}
	*ret_sig = sig;
	*ret_len = sig_len;
	return 0;
}

void vf_signer_free(struct vf_signer *s)
{
	if (!s)
		return;
	if (s->kind == VF_SIGNER_PKCS11)
		vf_keys_pkcs11_release(s); /* the key before its engine */
	if (s->kind == VF_SIGNER_EXEC)
		vf_keys_exec_release(s);
	EVP_PKEY_free(s->priv);
	vf_key_free(s->key);
	free(s->name);
	free(s);
}
