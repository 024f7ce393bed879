/*
 * keys/pkcs11: signers on PKCS#11 tokens, through libp11's OpenSSL engine
 * ("pkcs11", Debian package libengine-pkcs11-openssl). Debian 12 has no
 * pkcs11-provider, so this file uses OpenSSL's ENGINE API, deprecated in
 * OpenSSL 3.0: it is the only file built with -Wno-deprecated-declarations
 * (a per-file rule in the Makefile).
 *
 * URI: RFC 7512, "pkcs11:token=<label>;object=<label>[;id=%01...]" with
 * pin-value, pin-source (file:<path>) and module-path accepted both as path
 * attributes (";pin-value=1234", as vforge documents) and as query attributes
 * ("?pin-value=1234&module-path=/usr/lib/softhsm/libsofthsm2.so", as RFC 7512
 * puts them). vforge takes those three out, hands them to the engine by
 * ctrl, and passes the rest of the URI to libp11 to find the key.
 *
 * The engine is OpenSSL's process-wide "pkcs11" engine: every pkcs11: signer
 * of a process shares it, and with it one PKCS#11 module (the first one
 * loaded stays until every pkcs11: signer is closed). libp11 keeps the PIN
 * for further logins until the process exits, and wipes it then.
 */
#include "keys/internal.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/ui.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest PIN we accept (PKCS#11 tokens use far less). */
#define PIN_MAX 256

struct vf_pkcs11 {
	ENGINE *engine; /**< structural and functional reference */
	bool initialised;
};

/* The parts of a URI: attributes for libp11, and what vforge handles itself. */
struct uri_parts {
	char *lookup;      /**< "pkcs11:" and the attributes that find the key */
	char *display;     /**< the URI with the PIN replaced by "***" */
	char *pin;         /**< decoded pin-value, or read from pin-source (wiped) */
	char *pin_source;  /**< decoded pin-source */
	char *module;      /**< decoded module-path */
	bool names_key;    /**< object= or id= present */
};

static void parts_release(struct uri_parts *u)
{
	if (u->pin) {
		OPENSSL_cleanse(u->pin, strlen(u->pin));
		free(u->pin);
	}
	free(u->lookup);
	free(u->display);
	free(u->pin_source);
	free(u->module);
	memset(u, 0, sizeof(*u));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode `len` bytes of `s` into a new string; NULL on a bad escape or a NUL. */
static char *pct_decode(const char *s, size_t len)
{
	char *out = malloc(len + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(s[i + 2]) : -1;

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				OPENSSL_cleanse(out, len + 1);
				free(out);
				return NULL;
			}
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

static int append(char **dst, const char *sep, const char *s, size_t len)
{
	size_t old = *dst ? strlen(*dst) : 0, add = strlen(sep) + len;
	char *grown = realloc(*dst, old + add + 1);

	if (!grown)
		return -ENOMEM;
	memcpy(grown + old, sep, strlen(sep));
	memcpy(grown + old + strlen(sep), s, len);
	grown[old + add] = '\0';
	*dst = grown;
	return 0;
}

/* Split the URI; `err` messages never quote a PIN. */
static int parse_uri(const char *uri, struct uri_parts *u, struct vf_err *err)
{
	const char *p = uri + strlen("pkcs11:");
	bool in_query = false, first_lookup = true, first_display = true;

	memset(u, 0, sizeof(*u));
	u->lookup = strdup("pkcs11:");
	u->display = strdup("pkcs11:");
	if (!u->lookup || !u->display)
		return vf_err_set(err, ENOMEM, "out of memory");
	while (*p) {
		size_t len = strcspn(p, in_query ? "&" : ";?");
		const char *eq = memchr(p, '=', len);
		size_t name_len = eq ? (size_t)(eq - p) : len;
		const char *val = eq ? eq + 1 : p + len;
		size_t val_len = (size_t)(p + len - val);
		const char *dsep = first_display ? "" : (in_query ? "&" : ";");
		char **slot = NULL;

		if (len == 0)
			goto next;
		if (!eq) /* not quoted: it might be a mistyped PIN */
			return vf_err_set(err, EINVAL, "an attribute has no '=<value>'");
#define IS(n) (name_len == strlen(n) && memcmp(p, n, name_len) == 0)
		if (IS("pin-value"))
			slot = &u->pin;
		else if (IS("pin-source"))
			slot = &u->pin_source;
		else if (IS("module-path"))
			slot = &u->module;
		if (IS("pin-value")) {
			if (append(&u->display, dsep, "pin-value=***", strlen("pin-value=***")))
				return vf_err_set(err, ENOMEM, "out of memory");
		} else if (append(&u->display, dsep, p, len)) {
			return vf_err_set(err, ENOMEM, "out of memory");
		}
		first_display = false;
		if (slot) {
			if (*slot)
				return vf_err_set(err, EINVAL, "attribute '%.*s' given twice",
						  (int)name_len, p);
			*slot = pct_decode(val, val_len);
			if (!*slot)
				return vf_err_set(err, EINVAL, "attribute '%.*s': bad %%-escape",
						  (int)name_len, p);
		} else if (in_query) {
			return vf_err_set(err, EOPNOTSUPP, "query attribute '%.*s' is not supported: "
					  "expected pin-value, pin-source or module-path",
					  (int)(name_len > 40 ? 40 : name_len), p);
		} else {
			if (IS("object") || IS("id"))
				u->names_key = true;
			if (append(&u->lookup, first_lookup ? "" : ";", p, len))
				return vf_err_set(err, ENOMEM, "out of memory");
			first_lookup = false;
		}
#undef IS
next:
		p += len;
		if (*p == '?') {
			if (in_query)
				return vf_err_set(err, EINVAL, "two '?' in the URI");
			in_query = true;
			first_display = true;
			if (append(&u->display, "", "?", 1))
				return vf_err_set(err, ENOMEM, "out of memory");
			p++;
			continue;
		}
		if (*p)
			p++;
	}
	if (!u->names_key)
		return vf_err_set(err, EINVAL, "the URI names no key: add object=<label> or id=<hex>");
	if (u->pin && u->pin_source)
		return vf_err_set(err, EINVAL, "both pin-value and pin-source given");
	return 0;
}

/* pin-source: "file:<path>" or an absolute path; the first line of the file. */
static int read_pin_file(struct uri_parts *u, struct vf_err *err)
{
	const char *path = u->pin_source;
	struct vf_keys_file f = { 0 };
	size_t n;
	int r;

	if (strncmp(path, "file:", 5) == 0)
		path += 5;
	if (strncmp(path, "//", 2) == 0) /* file:///abs/path */
		path += 2;
	if (path[0] != '/')
		return vf_err_set(err, EINVAL, "pin-source '%s': expected file:<absolute path>",
				  u->pin_source);
	r = vf_keys_file_read(path, &f, err);
	if (r)
		return vf_err_prefix(err, "pin-source");
	if (f.mode & 077) {
		r = vf_err_set(err, EPERM, "pin-source '%s' has mode %04o: it must not be "
			       "accessible by group or other (chmod 600)", path,
			       (unsigned)(f.mode & 07777));
		vf_keys_file_release(&f);
		return r;
	}
	n = strcspn(f.data, "\r\n");
	if (n == 0 || n > PIN_MAX) {
		vf_keys_file_release(&f);
		return vf_err_set(err, EINVAL, "pin-source '%s': expected a PIN of 1 to %d "
				  "characters on its first line", path, PIN_MAX);
	}
	u->pin = malloc(n + 1);
	if (u->pin) {
		memcpy(u->pin, f.data, n);
		u->pin[n] = '\0';
	}
	vf_keys_file_release(&f);
	return u->pin ? 0 : vf_err_set(err, ENOMEM, "out of memory");
}

/* libp11 asks this UI for a PIN the URI did not give: refuse instead of prompting. */
static int no_prompt(UI *ui, UI_STRING *uis)
{
	(void)ui;
	(void)uis;
	return -1;
}

static int engine_ctrl(ENGINE *e, const char *cmd, const char *arg)
{
	return ENGINE_ctrl_cmd_string(e, cmd, arg, 0) == 1 ? 0 : -EIO;
}

int vf_keys_pkcs11_open(struct vf_signer *s, const char *uri, struct vf_err *err)
{
	struct uri_parts u;
	struct vf_pkcs11 *p;
	UI_METHOD *ui = NULL;
	EVP_PKEY *pub = NULL;
	int r;

	ERR_clear_error();
	r = parse_uri(uri, &u, err);
	if (r) {
		/* name the URI without its PIN (display may be incomplete here) */
		vf_err_prefix(err, "pkcs11 URI");
		goto out;
	}
	s->name = u.display;
	u.display = NULL;
	if (u.pin_source) {
		r = read_pin_file(&u, err);
		if (r)
			goto fail;
	}
	p = s->p11 = calloc(1, sizeof(*p));
	if (!p) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	p->engine = ENGINE_by_id("pkcs11");
	if (!p->engine) {
		r = vf_keys_ossl_err(err, ENOENT, "OpenSSL's pkcs11 engine is not installed "
				     "(Debian: libengine-pkcs11-openssl; looked in %s)",
				     OPENSSL_info(OPENSSL_INFO_ENGINES_DIR));
		goto fail;
	}
	/* libp11 prints to stderr unless told otherwise: the library never prints */
	engine_ctrl(p->engine, "QUIET", NULL);
	if (u.module && engine_ctrl(p->engine, "MODULE_PATH", u.module)) {
		r = vf_keys_ossl_err(err, EIO, "cannot set module-path '%s'", u.module);
		goto fail;
	}
	if (ENGINE_init(p->engine) != 1) {
		r = vf_keys_ossl_err(err, EIO, "cannot initialise OpenSSL's pkcs11 engine");
		goto fail;
	}
	p->initialised = true;
	if (u.pin && engine_ctrl(p->engine, "PIN", u.pin)) {
		r = vf_keys_ossl_err(err, EIO, "cannot hand the PIN to the pkcs11 engine");
		goto fail;
	}
	ui = UI_create_method("vforge: no PIN prompts");
	if (!ui || UI_method_set_reader(ui, no_prompt) != 0) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	s->priv = ENGINE_load_private_key(p->engine, u.lookup, ui, NULL);
	if (!s->priv) {
		r = vf_keys_ossl_err(err, ENOENT, "no private key found (or the login failed: "
				     "%s; module %s)", u.pin ? "check the PIN" :
				     "no pin-value or pin-source given",
				     u.module ? u.module : "libp11's default (p11-kit-proxy)");
		goto fail;
	}
	/* the public key object, or the public half of the private key */
	pub = ENGINE_load_public_key(p->engine, u.lookup, ui, NULL);
	ERR_clear_error();
	r = vf_keys_key_from_pkey(pub ? pub : s->priv, "token key", &s->key, err);
	if (r)
		goto fail;
	goto out;
fail:
	vf_err_prefix(err, "signer '%s'", s->name ? s->name : "pkcs11:");
out:
	EVP_PKEY_free(pub);
	if (ui)
		UI_destroy_method(ui);
	parts_release(&u);
	ERR_clear_error();
	return r;
}

void vf_keys_pkcs11_release(struct vf_signer *s)
{
	struct vf_pkcs11 *p = s->p11;

	/* keys hold token sessions: free them while the module is loaded */
	EVP_PKEY_free(s->priv);
	s->priv = NULL;
	if (!p)
		return;
	if (p->initialised)
		ENGINE_finish(p->engine);
	ENGINE_free(p->engine);
	free(p);
	s->p11 = NULL;
	ERR_clear_error();
}
