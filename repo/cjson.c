/*
 * repo: canonical JSON (see cjson.h).
 *
 * The parser is a small recursive-descent RFC 8259 parser that builds jansson
 * values: jansson's own decoder accepts floats, integers up to 2^63, nesting
 * to 2048 and lone surrogates escaped as \uD800 in some versions, and it
 * reports none of those with a position. Recursion is bounded by max_depth.
 */
#include "repo/cjson.h"
#include "repo/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_BYTES ((size_t)64 << 20)
#define DEFAULT_MAX_DEPTH 64u
/* Integers must stay below 2^53 in magnitude (JavaScript's safe integers). */
#define INT_LIMIT ((int64_t)1 << 53)

/* ---- parser ------------------------------------------------------------------ */

/* An error at byte offset `at`, reported as line and column (1-based, bytes). */
int vf_cjson_p_fail(struct vf_cjson_parser *p, size_t at, int code, const char *fmt, ...)
	{
	char reason[512];
	unsigned long line = 1, col = 1;
	va_list ap;

	for (size_t i = 0; i < at && i < p->len; i++) {
		if (p->s[i] == '\n')
			line++, col = 1;
		else
			col++;
	}
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return vf_err_set(p->err, code, "line %lu, column %lu: %s", line, col, reason);
}

/* A printable description of the byte at `at` for messages. */
const char *vf_cjson_p_show(const struct vf_cjson_parser *p, size_t at, char out[16])
{
	uint8_t c;

	if (at >= p->len)
		return "end of input";
	c = p->s[at];
	if (c >= 0x21 && c < 0x7F)
		snprintf(out, 16, "'%c'", c);
	else
		snprintf(out, 16, "byte 0x%02x", c);
	return out;
}

void vf_cjson_p_skip_ws(struct vf_cjson_parser *p)
{
	while (p->pos < p->len) {
		uint8_t c = p->s[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int nomem(struct vf_cjson_parser *p)
{
	return vf_err_set(p->err, ENOMEM, "out of memory");
}

static int hex4(struct vf_cjson_parser *p, size_t at, uint32_t *ret)
{
	uint32_t v = 0;

	if (p->len - at < 4)
		return vf_cjson_p_fail(p, at, EINVAL, "truncated \\u escape");
	for (size_t i = 0; i < 4; i++) {
		uint8_t c = p->s[at + i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return vf_cjson_p_fail(p, at + i, EINVAL, "invalid \\u escape");
	}
	*ret = v;
	return 0;
}

static int put_utf8(struct vf_buf *b, uint32_t cp)
{
	uint8_t u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (uint8_t)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t)(0xC0 | (cp >> 6)), u[1] = (uint8_t)(0x80 | (cp & 0x3F)), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (uint8_t)(0xE0 | (cp >> 12)), u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (uint8_t)(0x80 | (cp & 0x3F)), n = 3;
	} else {
		u[0] = (uint8_t)(0xF0 | (cp >> 18)), u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return vf_buf_add(b, u, n);
}

/* Parse a string at p->pos (the opening quote) into p->str (NUL-terminated). */
int vf_cjson_p_string(struct vf_cjson_parser *p)
{
	size_t start = p->pos;

	p->str.len = 0;
	if (vf_buf_add(&p->str, "", 0))
		return nomem(p);
	p->pos++; /* '"' */
	for (;;) {
		size_t run = p->pos;
		uint8_t c;

		/* copy a run of plain bytes, validating UTF-8 as we go */
		while (p->pos < p->len) {
			uint32_t cp;

			c = p->s[p->pos];
			if (c == '"' || c == '\\' || c < 0x20)
				break;
			if (c < 0x80) {
				p->pos++;
				continue;
			}
			if (vf_utf8_next(p->s, p->len, &p->pos, &cp))
				return vf_cjson_p_fail(p, p->pos, EILSEQ, "invalid utf-8 in string");
		}
		if (p->pos > run && vf_buf_add(&p->str, p->s + run, p->pos - run))
			return nomem(p);
		if (p->pos >= p->len)
			return vf_cjson_p_fail(p, start, EINVAL, "unterminated string");
		c = p->s[p->pos];
		if (c == '"') {
			p->pos++;
			return 0;
		}
		if (c < 0x20)
			return vf_cjson_p_fail(p, p->pos, EINVAL,
					       "control character 0x%02x in string (must be escaped)", c);
		/* backslash escape */
		if (p->pos + 1 >= p->len)
			return vf_cjson_p_fail(p, p->pos, EINVAL, "unterminated string");
		c = p->s[p->pos + 1];
		{
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
			const char *e = c ? strchr(from, c) : NULL;
			uint32_t cp, lo;
			size_t at = p->pos;

			if (e) {
				if (vf_buf_add(&p->str, &to[e - from], 1))
					return nomem(p);
				p->pos += 2;
				continue;
			}
			if (c != 'u')
				return vf_cjson_p_fail(p, at, EINVAL, "invalid escape \\%c",
						       c >= 0x21 && c < 0x7F ? c : '?');
			if (hex4(p, at + 2, &cp))
				return -EINVAL;
			p->pos += 6;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return vf_cjson_p_fail(p, at, EILSEQ, "lone low surrogate \\u%04" PRIx32
						       " in string", cp);
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (p->len - p->pos < 6 || p->s[p->pos] != '\\' ||
				    p->s[p->pos + 1] != 'u')
					return vf_cjson_p_fail(p, at, EILSEQ,
							       "lone high surrogate \\u%04" PRIx32
							       " in string", cp);
				if (hex4(p, p->pos + 2, &lo))
					return -EINVAL;
				if (lo < 0xDC00 || lo > 0xDFFF)
					return vf_cjson_p_fail(p, at, EILSEQ,
							       "lone high surrogate \\u%04" PRIx32
							       " in string", cp);
				p->pos += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			if (put_utf8(&p->str, cp))
				return nomem(p);
		}
	}
}

static int parse_number(struct vf_cjson_parser *p, json_t **ret)
{
	size_t start = p->pos;
	bool neg = false;
	int64_t v = 0;
	bool big = false;

	if (p->s[p->pos] == '-') {
		neg = true;
		p->pos++;
	}
	if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
		return vf_cjson_p_fail(p, start, EINVAL, "invalid number");
	if (p->s[p->pos] == '0' && p->pos + 1 < p->len && p->s[p->pos + 1] >= '0' &&
	    p->s[p->pos + 1] <= '9')
		return vf_cjson_p_fail(p, start, EINVAL, "number with a leading zero");
	while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
		if (!big) {
			v = v * 10 + (p->s[p->pos] - '0');
			if (v >= INT_LIMIT)
				big = true;
		}
		p->pos++;
	}
	if (p->pos < p->len &&
	    (p->s[p->pos] == '.' || p->s[p->pos] == 'e' || p->s[p->pos] == 'E'))
		return vf_cjson_p_fail(p, start, EINVAL,
				       "floating-point number not allowed (canonical json has integers only)");
	if (big) {
		int n = (int)(p->pos - start);

		return vf_cjson_p_fail(p, start, ERANGE,
				       "integer %.*s%s out of range (magnitude must be below 2^53)",
				       n > 40 ? 40 : n, (const char *)p->s + start, n > 40 ? "..." : "");
	}
	*ret = json_integer(neg ? -v : v);
	return *ret ? 0 : nomem(p);
}

static int parse_literal(struct vf_cjson_parser *p, const char *word, json_t *v, json_t **ret)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) {
		char show[16];

		return vf_cjson_p_fail(p, p->pos, EINVAL, "unexpected %s", vf_cjson_p_show(p, p->pos, show));
	}
	p->pos += n;
	*ret = v;
	return 0;
}

static int parse_array(struct vf_cjson_parser *p, unsigned depth, json_t **ret)
{
	json_t *a = json_array();
	int r;

	if (!a)
		return nomem(p);
	p->pos++; /* '[' */
	vf_cjson_p_skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == ']') {
		p->pos++;
		*ret = a;
		return 0;
	}
	for (;;) {
		json_t *v = NULL;
		char show[16];

		vf_cjson_p_skip_ws(p);
		if ((r = vf_cjson_p_value(p, depth, &v)))
			goto fail;
		if (json_array_append_new(a, v)) {
			r = nomem(p);
			goto fail;
		}
		vf_cjson_p_skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == ']') {
			p->pos++;
			*ret = a;
			return 0;
		}
		r = vf_cjson_p_fail(p, p->pos, EINVAL, "expected ',' or ']' in array, got %s",
				    vf_cjson_p_show(p, p->pos, show));
		goto fail;
	}
fail:
	json_decref(a);
	return r;
}

/*
 * The value of member `key` of an object at `depth`: the hook's when the
 * member is at the end of the hook's path and holds an object.
 */
static int member_value(struct vf_cjson_parser *p, unsigned depth, const char *key,
			size_t key_len, json_t **ret)
{
	size_t saved = p->hook_at;
	int r;

	if (!p->hook || p->hook_at != depth - 1 || depth > p->hook_n ||
	    strlen(p->hook_path[depth - 1]) != key_len ||
	    memcmp(p->hook_path[depth - 1], key, key_len) != 0)
		return vf_cjson_p_value(p, depth, ret);
	if (depth < p->hook_n) {
		p->hook_at = depth;
		r = vf_cjson_p_value(p, depth, ret);
		p->hook_at = saved;
		return r;
	}
	if (p->pos >= p->len || p->s[p->pos] != '{')
		return vf_cjson_p_value(p, depth, ret);
	if (depth >= p->max_depth)
		return vf_cjson_p_fail(p, p->pos, EINVAL, "nesting deeper than %u levels",
					       p->max_depth);
	return p->hook(p, depth + 1, p->hook_ctx, ret);
}

static int parse_object(struct vf_cjson_parser *p, unsigned depth, json_t **ret)
{
	json_t *o = json_object();
	char *key = NULL;
	int r;

	if (!o)
		return nomem(p);
	p->pos++; /* '{' */
	vf_cjson_p_skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == '}') {
		p->pos++;
		*ret = o;
		return 0;
	}
	for (;;) {
		json_t *v = NULL;
		size_t key_at, key_len;
		char show[16];

		vf_cjson_p_skip_ws(p);
		key_at = p->pos;
		if (p->pos >= p->len || p->s[p->pos] != '"') {
			r = vf_cjson_p_fail(p, p->pos, EINVAL, "expected a string key in object, got %s",
					    vf_cjson_p_show(p, p->pos, show));
			goto fail;
		}
		if ((r = vf_cjson_p_string(p)))
			goto fail;
		key_len = p->str.len;
		if (memchr(p->str.data, 0, key_len)) {
			r = vf_cjson_p_fail(p, key_at, EINVAL, "object key contains \\u0000");
			goto fail;
		}
		if (json_object_getn(o, (const char *)p->str.data, key_len)) {
			r = vf_cjson_p_fail(p, key_at, EINVAL, "duplicate object key \"%.*s\"",
					    key_len > 80 ? 80 : (int)key_len, (const char *)p->str.data);
			goto fail;
		}
		key = strndup((const char *)p->str.data, key_len);
		if (!key) {
			r = nomem(p);
			goto fail;
		}
		vf_cjson_p_skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != ':') {
			r = vf_cjson_p_fail(p, p->pos, EINVAL, "expected ':' after object key, got %s",
					    vf_cjson_p_show(p, p->pos, show));
			goto fail;
		}
		p->pos++;
		vf_cjson_p_skip_ws(p);
		if ((r = member_value(p, depth, key, key_len, &v)))
			goto fail;
		if (json_object_setn_new_nocheck(o, key, key_len, v)) {
			r = nomem(p);
			goto fail;
		}
		free(key);
		key = NULL;
		vf_cjson_p_skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == '}') {
			p->pos++;
			*ret = o;
			return 0;
		}
		r = vf_cjson_p_fail(p, p->pos, EINVAL, "expected ',' or '}' in object, got %s",
				    vf_cjson_p_show(p, p->pos, show));
		goto fail;
	}
fail:
	free(key);
	json_decref(o);
	return r;
}

int vf_cjson_p_value(struct vf_cjson_parser *p, unsigned depth, json_t **ret)
{
	char show[16];
	uint8_t c;
	int r;

	if (p->pos >= p->len)
		return vf_cjson_p_fail(p, p->pos, EINVAL, "unexpected end of input");
	c = p->s[p->pos];
	switch (c) {
	case '{':
	case '[':
		if (depth >= p->max_depth)
			return vf_cjson_p_fail(p, p->pos, EINVAL, "nesting deeper than %u levels",
					       p->max_depth);
		return c == '{' ? parse_object(p, depth + 1, ret) : parse_array(p, depth + 1, ret);
	case '"':
		if ((r = vf_cjson_p_string(p)))
			return r;
		*ret = json_stringn_nocheck((const char *)p->str.data, p->str.len);
		return *ret ? 0 : nomem(p);
	case 't':
		return parse_literal(p, "true", json_true(), ret);
	case 'f':
		return parse_literal(p, "false", json_false(), ret);
	case 'n':
		return parse_literal(p, "null", json_null(), ret);
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return parse_number(p, ret);
		return vf_cjson_p_fail(p, p->pos, EINVAL, "unexpected %s", vf_cjson_p_show(p, p->pos, show));
	}
}

int vf_cjson_parse_hooked(const void *text, size_t len, const struct vf_cjson_limits *lim,
			  const char *const *hook_path, size_t hook_n,
			  int (*hook)(struct vf_cjson_parser *p, unsigned depth, void *ctx,
				      json_t **ret),
			  void *hook_ctx, json_t **ret_json, struct vf_err *err)
{
	struct vf_err local;
	struct vf_cjson_parser p = {
		.s = text, .len = len, .pos = 0,
		.max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_MAX_DEPTH,
		.str = VF_BUF_INIT, .err = err ? err : &local,
		.hook_path = hook_path, .hook_n = hook ? hook_n : 0, .hook_at = 0,
		.hook = hook_n ? hook : NULL, .hook_ctx = hook_ctx,
	};
	size_t max = lim && lim->max_bytes ? lim->max_bytes : DEFAULT_MAX_BYTES;
	json_t *v = NULL;
	int r;

	if (len > max)
		return vf_err_set(err, EFBIG, "json of %zu bytes exceeds the limit of %zu bytes",
				  len, max);
	vf_cjson_p_skip_ws(&p);
	if ((r = vf_cjson_p_value(&p, 0, &v)))
		goto out;
	vf_cjson_p_skip_ws(&p);
	if (p.pos != len) {
		char show[16];

		r = vf_cjson_p_fail(&p, p.pos, EINVAL, "unexpected %s after the json value",
					    vf_cjson_p_show(&p, p.pos, show));
		json_decref(v);
		goto out;
	}
	*ret_json = v;
out:
	vf_buf_release(&p.str);
	return r;
}

int vf_cjson_parse(const void *text, size_t len, const struct vf_cjson_limits *lim,
		   void **ret_json, struct vf_err *err)
{
	json_t *v = NULL;
	int r = vf_cjson_parse_hooked(text, len, lim, NULL, 0, NULL, NULL, &v, err);

	if (!r)
		*ret_json = v;
	return r;
}

/* ---- writer ------------------------------------------------------------------- */

/* Values built in memory are not bounded by the parser: bound the recursion. */
#define ENCODE_MAX_DEPTH 512u

static bool is_ident(const char *s, size_t n)
{
	if (!n || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* Render the path: `signed.targets["a.txt"].length`, `[3]`, or `(top level)`. */
static void path_format(const struct vf_cjson_frame *f, char *out, size_t size)
{
	const struct vf_cjson_frame *chain[64];
	size_t n = 0, len = 0;
	bool cut = false;

	for (; f && f->up; f = f->up) {
		if (n == 64) {
			cut = true;
			n = 63;
			memmove(chain, chain + 1, 63 * sizeof(*chain));
		}
		chain[n++] = f;
	}
	out[0] = 0;
	if (cut)
		len += (size_t)snprintf(out, size, "...");
	while (n-- > 0 && len < size) {
		f = chain[n];
		if (!f->key)
			len += (size_t)snprintf(out + len, size - len, "[%zu]", f->index);
		else if (is_ident(f->key, f->key_len))
			len += (size_t)snprintf(out + len, size - len, "%s%.*s", len ? "." : "",
						(int)f->key_len, f->key);
		else
			len += (size_t)snprintf(out + len, size - len, "[\"%.*s\"]",
						f->key_len > 80 ? 80 : (int)f->key_len, f->key);
	}
	if (!out[0])
		snprintf(out, size, "(top level)");
}

static int __attribute__((format(printf, 4, 5)))
fail_path(struct vf_err *err, const struct vf_cjson_frame *f, int code, const char *fmt, ...)
{
	char path[256], reason[256];
	va_list ap;

	path_format(f, path, sizeof(path));
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return vf_err_set(err, code, "%s: %s", path, reason);
}

int vf_cjson_check_text(const char *s, size_t n, bool is_key, const struct vf_cjson_frame *f,
			struct vf_err *err)
{
	size_t off;
	int r;

	/* ASCII is valid UTF-8, NFC (everything below U+0300 is) and in the BMP */
	for (off = 0; off < n && (uint8_t)s[off] < 0x80; off++)
		;
	if (off == n)
		return 0;
	if (!vf_utf8_is_valid((const uint8_t *)s, n, &off))
		return fail_path(err, f, EILSEQ, "%s is not valid utf-8 (byte %zu)",
				 is_key ? "key" : "string", off);
	if (is_key) {
		for (size_t i = 0; i < n; i++)
			if ((uint8_t)s[i] >= 0xF0)
				return fail_path(err, f, EINVAL,
						 "key has a character outside the basic multilingual "
						 "plane (implementations sort such keys differently)");
	}
	r = vf_nfc_check((const uint8_t *)s, n);
	if (r < 0)
		return r == -ENOMEM ? vf_err_set(err, ENOMEM, "out of memory")
				    : fail_path(err, f, EILSEQ, "invalid utf-8");
	if (!r)
		return fail_path(err, f, EINVAL, "%s is not in unicode normalization form c (nfc)",
				 is_key ? "key" : "string");
	return 0;
}

static int w_nomem(struct vf_cjson_writer *w)
{
	return vf_err_set(w->err, ENOMEM, "out of memory");
}

int vf_cjson_write_reserve(struct vf_cjson_writer *w, size_t n)
{
	if (w->out && vf_buf_grow(w->out, n))
		return w_nomem(w);
	return 0;
}

/* Append bytes (nothing when only checking), keeping the buffer NUL-terminated. */
static inline int put(struct vf_cjson_writer *w, const void *data, size_t n)
{
	struct vf_buf *b = w->out;

	if (!b || !n)
		return 0;
	if (b->cap - b->len <= n && vf_buf_grow(b, n))
		return w_nomem(w);
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* Pretty form: a newline and `n` spaces of indentation (jansson's JSON_INDENT(1)). */
static int put_indent(struct vf_cjson_writer *w, unsigned n)
{
	static const char spaces[] = "                                ";
	int r;

	if ((r = put(w, "\n", 1)))
		return r;
	while (n) {
		unsigned k = n < sizeof(spaces) - 1 ? n : (unsigned)sizeof(spaces) - 1;

		if ((r = put(w, spaces, k)))
			return r;
		n -= k;
	}
	return 0;
}

/* Canonical form: only '"' and '\' are escaped; everything else is written raw. */
static int put_canonical_string(struct vf_cjson_writer *w, const char *s, size_t n)
{
	size_t run = 0;
	int r;

	if ((r = put(w, "\"", 1)))
		return r;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		if ((r = put(w, s + run, i - run)) || (r = put(w, "\\", 1)))
			return r;
		run = i;
	}
	if ((r = put(w, s + run, n - run)))
		return r;
	return put(w, "\"", 1);
}

/* Pretty form: escaped as jansson's dump does without JSON_ENSURE_ASCII. */
static int put_pretty_string(struct vf_cjson_writer *w, const char *s, size_t n)
{
	size_t run = 0, i = 0;
	int r;

	if ((r = put(w, "\"", 1)))
		return r;
	while (i < n) {
		uint8_t c = (uint8_t)s[i];
		char esc[8];
		size_t len = 2;

		if (c >= 0x80) {
			uint32_t cp;

			if (vf_utf8_next((const uint8_t *)s, n, &i, &cp))
				return -ENOTSUP; /* jansson's dump fails */
			continue;
		}
		if (c >= 0x20 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		switch (c) {
		case '"': memcpy(esc, "\\\"", 2); break;
		case '\\': memcpy(esc, "\\\\", 2); break;
		case '\b': memcpy(esc, "\\b", 2); break;
		case '\f': memcpy(esc, "\\f", 2); break;
		case '\n': memcpy(esc, "\\n", 2); break;
		case '\r': memcpy(esc, "\\r", 2); break;
		case '\t': memcpy(esc, "\\t", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04X", (unsigned)c);
			len = 6;
		}
		if ((r = put(w, s + run, i - run)) || (r = put(w, esc, len)))
			return r;
		run = ++i;
	}
	if ((r = put(w, s + run, n - run)))
		return r;
	return put(w, "\"", 1);
}

int vf_cjson_write_open(struct vf_cjson_writer *w, char c)
{
	if (w->pretty)
		w->indent++;
	return put(w, &c, 1);
}

int vf_cjson_write_close(struct vf_cjson_writer *w, char c, bool empty)
{
	int r;

	if (w->pretty) {
		w->indent--;
		if (!empty && (r = put_indent(w, w->indent)))
			return r;
	}
	return put(w, &c, 1);
}

int vf_cjson_write_next(struct vf_cjson_writer *w, bool first)
{
	int r;

	if (!first && (r = put(w, ",", 1)))
		return r;
	return w->pretty ? put_indent(w, w->indent) : 0;
}

/* A string of printable ASCII without '"' or '\\': the same in both forms, nothing to check. */
static int put_plain_string(struct vf_cjson_writer *w, const char *s, size_t n)
{
	struct vf_buf *b = w->out;

	if (!b)
		return 0;
	if (b->cap - b->len <= n + 2 && vf_buf_grow(b, n + 2))
		return w_nomem(w);
	b->data[b->len] = '"';
	memcpy(b->data + b->len + 1, s, n);
	b->data[b->len + n + 1] = '"';
	b->len += n + 2;
	b->data[b->len] = '\0';
	return 0;
}

int vf_cjson_write_key(struct vf_cjson_writer *w, const char *key, size_t len, bool first,
		       const struct vf_cjson_frame *f)
{
	int r;

	if (vf_cjson_is_plain(key, len)) {
		if ((r = w->pretty ? vf_cjson_write_next(w, first) : first ? 0 : put(w, ",", 1)) ||
		    (r = put_plain_string(w, key, len)))
			return r;
		return w->pretty ? put(w, ": ", 2) : put(w, ":", 1);
	}
	if (w->pretty) {
		if ((r = vf_cjson_write_next(w, first)) || (r = put_pretty_string(w, key, len)))
			return r;
		return put(w, ": ", 2);
	}
	if ((r = vf_cjson_check_text(key, len, true, f, w->err)) ||
	    (!first && (r = put(w, ",", 1))) || (r = put_canonical_string(w, key, len)))
		return r;
	return put(w, ":", 1);
}

int vf_cjson_write_str(struct vf_cjson_writer *w, const char *s, size_t n,
		       const struct vf_cjson_frame *f)
{
	int r;

	if (vf_cjson_is_plain(s, n))
		return put_plain_string(w, s, n);
	if (w->pretty)
		return put_pretty_string(w, s, n);
	if ((r = vf_cjson_check_text(s, n, false, f, w->err)))
		return r;
	return put_canonical_string(w, s, n);
}

/* Decimal digits of v into the end of buf[24]; returns where they start. */
static char *u64_digits(uint64_t v, char buf[24])
{
	char *p = buf + 24;

	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	return p;
}

int vf_cjson_write_uint(struct vf_cjson_writer *w, uint64_t v, const struct vf_cjson_frame *f)
{
	char buf[24], *p;

	if (!w->pretty && v >= (uint64_t)INT_LIMIT)
		return fail_path(w->err, f, ERANGE,
				 "integer %llu out of range (magnitude must be below 2^53)",
				 (unsigned long long)v);
	p = u64_digits(v, buf);
	return put(w, p, (size_t)(buf + 24 - p));
}

struct member {
	const char *key;
	size_t len;
	json_t *value;
};

static int member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->key, y->key, n);

	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int write_object(struct vf_cjson_writer *w, const json_t *v, const struct vf_cjson_frame *f)
{
	size_t n = json_object_size(v), i = 0;
	struct member *m = NULL;
	void *it;
	int r;

	if (n && !(m = malloc(n * sizeof(*m))))
		return w_nomem(w);
	for (it = json_object_iter((json_t *)v); it && i < n;
	     it = json_object_iter_next((json_t *)v, it), i++) {
		m[i].key = json_object_iter_key(it);
		m[i].len = json_object_iter_key_len(it);
		m[i].value = json_object_iter_value(it);
	}
	n = i;
	if (n > 1)
		qsort(m, n, sizeof(*m), member_cmp);
	r = vf_cjson_write_open(w, '{');
	for (i = 0; !r && i < n; i++) {
		struct vf_cjson_frame sub = { f, m[i].key, m[i].len, 0, f->depth + 1 };

		if (!(r = vf_cjson_write_key(w, m[i].key, m[i].len, i == 0, &sub)))
			r = vf_cjson_write(w, m[i].value, &sub);
	}
	free(m);
	return r ? r : vf_cjson_write_close(w, '}', n == 0);
}

int vf_cjson_write(struct vf_cjson_writer *w, const json_t *v, const struct vf_cjson_frame *f)
{
	int r;

	if (w->hook && v == w->hook_value)
		return w->hook(w, f, w->hook_ctx);
	if (f->depth > ENCODE_MAX_DEPTH)
		return w->pretty ? -ENOTSUP
				 : fail_path(w->err, f, EINVAL, "nesting deeper than %u levels",
					     ENCODE_MAX_DEPTH);
	switch (json_typeof(v)) {
	case JSON_NULL:
		return put(w, "null", 4);
	case JSON_TRUE:
		return put(w, "true", 4);
	case JSON_FALSE:
		return put(w, "false", 5);
	case JSON_REAL:
		return w->pretty ? -ENOTSUP
				 : fail_path(w->err, f, EINVAL, "floating-point number not allowed "
					     "(canonical json has integers only)");
	case JSON_INTEGER: {
		json_int_t x = json_integer_value(v);
		char buf[32];
		int n;

		if (!w->pretty && (x <= -INT_LIMIT || x >= INT_LIMIT))
			return fail_path(w->err, f, ERANGE,
					 "integer %lld out of range (magnitude must be below 2^53)",
					 (long long)x);
		n = snprintf(buf, sizeof(buf), "%lld", (long long)x);
		return put(w, buf, (size_t)n);
	}
	case JSON_STRING:
		return vf_cjson_write_str(w, json_string_value(v), json_string_length(v), f);
	case JSON_ARRAY: {
		size_t n = json_array_size(v);

		if ((r = vf_cjson_write_open(w, '[')))
			return r;
		for (size_t i = 0; i < n; i++) {
			struct vf_cjson_frame sub = { f, NULL, 0, i, f->depth + 1 };

			if ((r = vf_cjson_write_next(w, i == 0)) ||
			    (r = vf_cjson_write(w, json_array_get(v, i), &sub)))
				return r;
		}
		return vf_cjson_write_close(w, ']', n == 0);
	}
	case JSON_OBJECT:
		return write_object(w, v, f);
	}
	return vf_err_set(w->err, EINVAL, "unknown json value type");
}

int vf_cjson_encode(const void *json, struct vf_buf *out, struct vf_err *err)
{
	struct vf_cjson_frame top = { NULL, NULL, 0, 0, 0 };
	struct vf_cjson_writer w = { .out = out, .err = err };
	size_t start = out->len;
	int r;

	if (!json)
		return vf_err_set(err, EINVAL, "no json value to encode");
	r = vf_cjson_write(&w, json, &top);
	if (r) {
		/* leave `out` as it was */
		out->len = start;
		if (out->data)
			out->data[start] = 0;
	}
	return r;
}
