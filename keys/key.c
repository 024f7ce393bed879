/* keys/key: public keys as TUF describes them; verification of TUF's three schemes. */
#include "keys/internal.h"

#include "builder/base/hex.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEM_PUB_BEGIN "-----BEGIN PUBLIC KEY-----"
#define PEM_PUB_END "-----END PUBLIC KEY-----"

/* Longest keyval.public we look at (an RSA-16384 SPKI PEM is under 3 KB). */
#define PUBLIC_TEXT_MAX 16384

int vf_keys_ossl_err(struct vf_err *err, int code, const char *fmt, ...)
{
	char msg[VF_ERR_MSG_MAX], reason[256];
	unsigned long e;
	size_t len;
	va_list ap;
	int n = 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	len = strlen(msg);
	/* oldest first: the root cause inside OpenSSL comes first */
	while ((e = ERR_get_error()) != 0) {
		if (n++ >= 4 || len + 3 >= sizeof(msg))
			continue; /* keep draining */
		ERR_error_string_n(e, reason, sizeof(reason));
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s%s", n == 1 ? ": " : "; ",
					reason);
		if (len >= sizeof(msg))
			len = sizeof(msg) - 1;
	}
	return vf_err_set(err, code, "%s", msg);
}

int vf_key_type_parse(const char *text, enum vf_key_type *ret, struct vf_err *err)
{
	if (strcmp(text, "ed25519") == 0)
		*ret = VF_KEY_ED25519;
	else if (strcmp(text, "ecdsa-p256") == 0)
		*ret = VF_KEY_ECDSA_P256;
	else if (strcmp(text, "rsa-3072") == 0)
		*ret = VF_KEY_RSA;
	else
		return vf_err_set(err, EINVAL,
				  "unknown key type '%.40s': expected ed25519, ecdsa-p256 or rsa-3072",
				  text);
	return 0;
}

const EVP_MD *vf_keys_md(enum vf_key_type type)
{
	return type == VF_KEY_ED25519 ? NULL : EVP_sha256();
}

/* A plain public-only copy through DER, whatever holds `pkey` (engine, private key). */
static EVP_PKEY *public_copy(EVP_PKEY *pkey)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *copy = NULL;
	int n;

	n = i2d_PUBKEY(pkey, &der);
	if (n <= 0)
		return NULL;
	p = der;
	copy = d2i_PUBKEY(NULL, &p, n);
	if (copy && p != der + n) {
		EVP_PKEY_free(copy);
		copy = NULL;
	}
	OPENSSL_free(der);
	return copy;
}

int vf_keys_key_from_pkey(EVP_PKEY *pkey, const char *what, struct vf_key **ret,
			  struct vf_err *err)
{
	struct vf_key *k = NULL;
	EVP_PKEY *pub = NULL;
	enum vf_key_type type;
	char group[64];
	size_t glen = 0;
	int bits, r;

	pub = public_copy(pkey);
	if (!pub)
		return vf_keys_ossl_err(err, EINVAL, "%s: cannot extract the public key", what);
	switch (EVP_PKEY_get_base_id(pub)) {
	case EVP_PKEY_ED25519:
		type = VF_KEY_ED25519;
		break;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pub, group, sizeof(group), &glen) != 1) {
			r = vf_keys_ossl_err(err, EINVAL, "%s: EC key without a named curve", what);
			goto out;
		}
		if (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0) {
			ERR_clear_error();
			r = vf_err_set(err, EOPNOTSUPP,
				       "%s: EC curve %s is not supported: expected P-256 (prime256v1)",
				       what, group);
			goto out;
		}
		type = VF_KEY_ECDSA_P256;
		break;
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(pub);
		if (bits < VF_KEYS_RSA_MIN_BITS || bits > VF_KEYS_RSA_MAX_BITS) {
			r = vf_err_set(err, EOPNOTSUPP,
				       "%s: RSA key of %d bits: expected %d to %d bits", what, bits,
				       VF_KEYS_RSA_MIN_BITS, VF_KEYS_RSA_MAX_BITS);
			goto out;
		}
		type = VF_KEY_RSA;
		break;
	case EVP_PKEY_RSA_PSS:
		r = vf_err_set(err, EOPNOTSUPP,
			       "%s: RSA-PSS-restricted key (id-RSASSA-PSS) is not supported: "
			       "TUF's rsa keys are rsaEncryption SPKI", what);
		goto out;
	default:
		r = vf_err_set(err, EOPNOTSUPP,
			       "%s: %s keys are not supported: expected Ed25519, ECDSA P-256 or RSA",
			       what, EVP_PKEY_get0_type_name(pub) ? EVP_PKEY_get0_type_name(pub) : "unknown");
		goto out;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		r = vf_err_set(err, ENOMEM, "%s: out of memory", what);
		goto out;
	}
	k->type = type;
	k->pkey = pub;
	pub = NULL;
	*ret = k;
	r = 0;
out:
	EVP_PKEY_free(pub);
	ERR_clear_error();
	return r;
}

bool vf_keys_is_public_pem(const char *text)
{
	return strstr(text, PEM_PUB_BEGIN) != NULL;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int vf_keys_parse_spki_pem(const char *text, size_t len, const char *what, EVP_PKEY **ret,
			   struct vf_err *err)
{
	const char *end, *p;
	EVP_PKEY *pkey;
	BIO *bio;

	if (len < sizeof(PEM_PUB_BEGIN) - 1 || memcmp(text, PEM_PUB_BEGIN, sizeof(PEM_PUB_BEGIN) - 1))
		return vf_err_set(err, EINVAL, "%s: not a PEM public key: expected it to start "
				  "with '" PEM_PUB_BEGIN "'", what);
	if (memchr(text, '\0', len))
		return vf_err_set(err, EINVAL, "%s: PEM public key holds a NUL byte", what);
	end = strstr(text, PEM_PUB_END);
	if (!end || (size_t)(end - text) > len)
		return vf_err_set(err, EINVAL, "%s: PEM public key without its '" PEM_PUB_END
				  "' line", what);
	for (p = end + sizeof(PEM_PUB_END) - 1; p < text + len; p++)
		if (!is_space(*p))
			return vf_err_set(err, EINVAL, "%s: text after the PEM public key's end line",
					  what);
	bio = BIO_new_mem_buf(text, (int)len);
	if (!bio)
		return vf_err_set(err, ENOMEM, "%s: out of memory", what);
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!pkey)
		return vf_keys_ossl_err(err, EINVAL, "%s: invalid PEM public key", what);
	ERR_clear_error();
	*ret = pkey;
	return 0;
}

static int from_hex_ed25519(const char *text, struct vf_key **ret, struct vf_err *err)
{
	uint8_t raw[32];
	size_t n = 0;
	struct vf_key *k;
	EVP_PKEY *pkey;

	if (strlen(text) != 64 || vf_hex_parse(text, raw, sizeof(raw), &n) || n != 32)
		return vf_err_set(err, EINVAL,
				  "ed25519 public key: expected 64 hex digits, got %zu characters%s",
				  strlen(text),
				  strlen(text) == 64 ? " that are not all hex digits" : "");
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, sizeof(raw));
	if (!pkey)
		return vf_keys_ossl_err(err, EINVAL, "ed25519 public key: invalid");
	k = calloc(1, sizeof(*k));
	if (!k) {
		EVP_PKEY_free(pkey);
		return vf_err_set(err, ENOMEM, "ed25519 public key: out of memory");
	}
	k->type = VF_KEY_ED25519;
	k->pkey = pkey;
	*ret = k;
	return 0;
}

/* keytype and scheme as TUF spells them; "ecdsa-sha2-nistp256" is the legacy keytype. */
static int tuf_type(const char *keytype, const char *scheme, enum vf_key_type *ret,
		    struct vf_err *err)
{
	static const struct {
		const char *keytype, *scheme;
		enum vf_key_type type;
	} known[] = {
		{ "ed25519", "ed25519", VF_KEY_ED25519 },
		{ "ecdsa", "ecdsa-sha2-nistp256", VF_KEY_ECDSA_P256 },
		{ "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", VF_KEY_ECDSA_P256 },
		{ "rsa", "rsassa-pss-sha256", VF_KEY_RSA },
	};
	bool type_known = false, scheme_known = false;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(known[i].keytype, keytype) == 0 && strcmp(known[i].scheme, scheme) == 0) {
			*ret = known[i].type;
			return 0;
		}
		type_known |= strcmp(known[i].keytype, keytype) == 0;
		scheme_known |= strcmp(known[i].scheme, scheme) == 0;
	}
	if (type_known && scheme_known)
		return vf_err_set(err, EINVAL, "keytype '%.40s' does not go with scheme '%.40s'",
				  keytype, scheme);
	if (!type_known)
		return vf_err_set(err, EOPNOTSUPP, "unsupported keytype '%.40s': expected ed25519, "
				  "ecdsa or rsa", keytype);
	return vf_err_set(err, EOPNOTSUPP, "keytype '%.40s': unsupported scheme '%.40s': "
			  "expected %s", keytype, scheme,
			  strcmp(keytype, "rsa") == 0 ? "rsassa-pss-sha256" :
			  strcmp(keytype, "ed25519") == 0 ? "ed25519" : "ecdsa-sha2-nistp256");
}

int vf_key_from_tuf(const char *keytype, const char *scheme, const char *public_text,
		    struct vf_key **ret, struct vf_err *err)
{
	enum vf_key_type type = VF_KEY_ED25519;
	struct vf_key *k = NULL;
	EVP_PKEY *pkey = NULL;
	size_t len;
	int r;

	r = tuf_type(keytype, scheme, &type, err);
	if (r)
		return r;
	len = strlen(public_text);
	if (len > PUBLIC_TEXT_MAX)
		return vf_err_set(err, EINVAL, "%s public key: %zu characters, more than %d",
				  keytype, len, PUBLIC_TEXT_MAX);
	if (type == VF_KEY_ED25519)
		return from_hex_ed25519(public_text, ret, err);

	if (strncmp(public_text, PEM_PUB_BEGIN, sizeof(PEM_PUB_BEGIN) - 1) != 0 && len > 0 &&
	    strspn(public_text, "0123456789abcdefABCDEF") == len)
		return vf_err_set(err, EOPNOTSUPP, "%s public key: hex-encoded keys are not "
				  "supported: expected PEM (SubjectPublicKeyInfo)", keytype);
	r = vf_keys_parse_spki_pem(public_text, len, keytype[0] == 'r' ? "rsa public key" :
				   "ecdsa public key", &pkey, err);
	if (r)
		return r;
	r = vf_keys_key_from_pkey(pkey, keytype[0] == 'r' ? "rsa public key" : "ecdsa public key",
				  &k, err);
	EVP_PKEY_free(pkey);
	if (r)
		return r;
	if (k->type != type) {
		r = vf_err_set(err, EINVAL, "keytype '%s' holds %s key",
			       keytype, k->type == VF_KEY_RSA ? "an RSA" :
			       k->type == VF_KEY_ED25519 ? "an Ed25519" : "an ECDSA P-256");
		vf_key_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

void vf_key_free(struct vf_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

struct vf_key *vf_key_dup(const struct vf_key *k)
{
	struct vf_key *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	/* public keys are immutable: share the EVP_PKEY (atomic reference count) */
	if (EVP_PKEY_up_ref(k->pkey) != 1) {
		free(d);
		return NULL;
	}
	d->type = k->type;
	d->pkey = k->pkey;
	return d;
}

enum vf_key_type vf_key_get_type(const struct vf_key *k)
{
	return k->type;
}

const char *vf_key_keytype(const struct vf_key *k)
{
	switch (k->type) {
	case VF_KEY_ED25519:
		return "ed25519";
	case VF_KEY_ECDSA_P256:
		return "ecdsa";
	case VF_KEY_RSA:
		return "rsa";
	}
	return "unknown";
}

const char *vf_key_scheme(const struct vf_key *k)
{
	switch (k->type) {
	case VF_KEY_ED25519:
		return "ed25519";
	case VF_KEY_ECDSA_P256:
		return "ecdsa-sha2-nistp256";
	case VF_KEY_RSA:
		return "rsassa-pss-sha256";
	}
	return "unknown";
}

int vf_key_public_text(const struct vf_key *k, char **ret, struct vf_err *err)
{
	BIO *bio = NULL;
	char *text = NULL, *data;
	long n;
	int r;

	if (k->type == VF_KEY_ED25519) {
		uint8_t raw[32];
		size_t len = sizeof(raw);

		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &len) != 1 || len != sizeof(raw))
			return vf_keys_ossl_err(err, EIO, "ed25519 public key: cannot read it");
		text = malloc(2 * sizeof(raw) + 1);
		if (!text)
			return vf_err_set(err, ENOMEM, "public key: out of memory");
		vf_hex_format(raw, sizeof(raw), text);
		*ret = text;
		return 0;
	}
	bio = BIO_new(BIO_s_mem());
	if (!bio || PEM_write_bio_PUBKEY(bio, k->pkey) != 1) {
		r = vf_keys_ossl_err(err, EIO, "%s public key: cannot write PEM", vf_key_keytype(k));
		goto out;
	}
	n = BIO_get_mem_data(bio, &data);
	text = n > 0 ? malloc((size_t)n + 1) : NULL;
	if (!text) {
		r = vf_err_set(err, ENOMEM, "public key: out of memory");
		goto out;
	}
	memcpy(text, data, (size_t)n);
	text[n] = '\0';
	*ret = text;
	r = 0;
out:
	BIO_free(bio);
	return r;
}

int vf_key_equal(const struct vf_key *a, const struct vf_key *b)
{
	int r;

	if (a->type != b->type)
		return 0;
	r = EVP_PKEY_eq(a->pkey, b->pkey) == 1;
	ERR_clear_error();
	return r;
}

int vf_key_verify(const struct vf_key *k, const void *msg, size_t len, const uint8_t *sig,
		  size_t sig_len)
{
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *ctx = NULL;
	int r = -EIO;

	if (!msg)
		msg = "";
	if (!sig || sig_len == 0 || sig_len > VF_KEYS_SIG_MAX)
		return -VF_EVERIFY;
	if (k->type == VF_KEY_ED25519 && sig_len != 64)
		return -VF_EVERIFY;
	if (k->type == VF_KEY_RSA && sig_len != (size_t)EVP_PKEY_get_size(k->pkey))
		return -VF_EVERIFY;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestVerifyInit(ctx, &pctx, vf_keys_md(k->type), NULL, k->pkey) != 1)
		goto out;
	/*
	 * Verify PSS with any salt length (RSA_PSS_SALTLEN_AUTO) as securesystemslib
	 * (PSS.AUTO) and go-tuf do; vforge itself signs with a 32-byte salt.
	 */
	if (k->type == VF_KEY_RSA &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1))
		goto out;
	r = EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1 ? 0 : -VF_EVERIFY;
out:
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return r;
}
