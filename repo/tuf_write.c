/*
 * repo: TUF metadata to JSON: the model as jansson (vf_tuf_to_json()), the
 * model writer (the targets and meta maps written straight from the model,
 * byte for byte as from jansson), validation, formatting, files.
 *
 * Validation (vf_tuf_md_validate(), and before every format) builds the
 * document here, with the model standing in for its targets or meta map
 * (struct shell), and runs the reader (tuf_json.c) over it: a model that
 * validates is one vf_tuf_md_parse() accepts.
 */
#include "repo/cjson.h"
#include "repo/internal.h"

#include "builder/base/fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int nomem(struct vf_err *err)
{
	return vf_err_set(err, ENOMEM, "out of memory");
}

/* ---- writer ------------------------------------------------------------------------- */

static int put(json_t *obj, const char *key, json_t *v, struct vf_err *err)
{
	if (!v || json_object_set_new(obj, key, v))
		return nomem(err);
	return 0;
}

static int put_uint(json_t *obj, const char *key, uint64_t v, const char *what,
		    struct vf_err *err)
{
	if (v > VF_TUF_JSON_SAFE_MAX)
		return vf_err_set(err, ERANGE, "%s: %s %llu is 2^53 or more", what, key,
				  (unsigned long long)v);
	return put(obj, key, json_integer((json_int_t)v), err);
}

static int put_extra(json_t *obj, const void *extra, struct vf_err *err)
{
	if (extra && json_object_update_missing(obj, (json_t *)extra))
		return nomem(err);
	return 0;
}

static json_t *strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string_nocheck(v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *vf_tuf_hashes_json(const struct vf_tuf_hashes *h)
{
	json_t *o = json_object();

	if (o && h->sha256[0] && json_object_set_new(o, "sha256", json_string_nocheck(h->sha256)))
		goto fail;
	if (o && h->sha512[0] && json_object_set_new(o, "sha512", json_string_nocheck(h->sha512)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *keys_json(const struct vf_tuf_keys *keys)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < keys->n; i++)
		if (json_object_set(o, keys->v[i].keyid, keys->v[i].json)) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static int role_json(const struct vf_tuf_role *r, bool delegated, json_t **ret,
		     struct vf_err *err)
{
	json_t *o = json_object();
	int e;

	if (!o)
		return nomem(err);
	if ((delegated && (e = put(o, "name", json_string_nocheck(r->name), err))) ||
	    (e = put(o, "keyids", strv_json(r->keyids, r->n_keyids), err)) ||
	    (e = put_uint(o, "threshold", r->threshold, r->name, err)) ||
	    (delegated && (e = put(o, "terminating", json_boolean(r->terminating), err))) ||
	    (delegated && (e = put(o, r->has_paths ? "paths" : "path_hash_prefixes",
				   strv_json(r->paths, r->n_paths), err))) ||
	    (e = put_extra(o, r->extra, err))) {
		json_decref(o);
		return e;
	}
	*ret = o;
	return 0;
}

static int delegations_json(const struct vf_tuf_delegations *d, json_t **ret,
			    struct vf_err *err)
{
	json_t *o = json_object(), *roles = NULL, *v = NULL;
	int e;

	if (!o)
		return nomem(err);
	if ((e = put(o, "keys", keys_json(&d->keys), err)))
		goto fail;
	if (d->succinct) {
		const struct vf_tuf_succinct *s = d->succinct;

		if (!(v = json_object()))
			goto nomem;
		if ((e = put(o, "succinct_roles", v, err)) ||
		    (e = put(v, "keyids", strv_json(s->keyids, s->n_keyids), err)) ||
		    (e = put_uint(v, "threshold", s->threshold, "succinct_roles", err)) ||
		    (e = put(v, "bit_length", json_integer(s->bit_length), err)) ||
		    (e = put(v, "name_prefix", json_string_nocheck(s->name_prefix), err)) ||
		    (e = put_extra(v, s->extra, err)))
			goto fail;
	} else {
		if (!(roles = json_array()) || (e = put(o, "roles", roles, err)))
			goto nomem;
		for (size_t i = 0; i < d->n_roles; i++) {
			if ((e = role_json(&d->roles[i], true, &v, err)))
				goto fail;
			if (json_array_append_new(roles, v))
				goto nomem;
		}
	}
	if ((e = put_extra(o, d->extra, err)))
		goto fail;
	*ret = o;
	return 0;
nomem:
	e = nomem(err);
fail:
	json_decref(o);
	return e;
}

/*
 * The checks the jansson targets map would make while being built (keys are
 * UTF-8, lengths below 2^53, extra members an object), in the same order,
 * for a map that the model writer writes instead.
 */
static int check_targets_for_json(const struct vf_tuf_md *md, size_t from, struct vf_err *err)
{
	for (size_t i = from; i < md->n_targets; i++) {
		const struct vf_tuf_target *t = md->targets[i];

		if (!vf_cjson_is_plain(t->path, strlen(t->path)) &&
		    !vf_utf8_is_valid((const uint8_t *)t->path, strlen(t->path), NULL))
			return nomem(err); /* as json_object_set_new() fails */
		if (t->length > VF_TUF_JSON_SAFE_MAX)
			return vf_err_set(err, ERANGE, "%s: length %llu is 2^53 or more", t->path,
					  (unsigned long long)t->length);
		if (t->extra && !json_is_object((json_t *)t->extra))
			return nomem(err); /* as json_object_update_missing() fails */
	}
	return 0;
}

/* check_targets_for_json() for snapshot and timestamp `meta`. */
static int check_meta_for_json(const struct vf_tuf_md *md, struct vf_err *err)
{
	for (size_t i = 0; i < md->n_meta; i++) {
		const struct vf_tuf_meta *m = md->meta[i];

		if (!vf_cjson_is_plain(m->name, strlen(m->name)) &&
		    !vf_utf8_is_valid((const uint8_t *)m->name, strlen(m->name), NULL))
			return nomem(err); /* as json_object_set_new() fails */
		if (m->version > VF_TUF_JSON_SAFE_MAX)
			return vf_err_set(err, ERANGE, "%s: version %llu is 2^53 or more", m->name,
					  (unsigned long long)m->version);
		if (m->has_length && m->length > VF_TUF_JSON_SAFE_MAX)
			return vf_err_set(err, ERANGE, "%s: length %llu is 2^53 or more", m->name,
					  (unsigned long long)m->length);
		if (m->extra && !json_is_object((json_t *)m->extra))
			return nomem(err); /* as json_object_update_missing() fails */
	}
	return 0;
}

/* `signed` as jansson; with `sentinel`, that stands for the targets (`map`) or meta map. */
static int signed_json(const struct vf_tuf_md *md, json_t *sentinel, const struct vf_tuf_tmap *map,
		       json_t **ret, struct vf_err *err)
{
	char expires[VF_TUF_TIME_LEN + 1];
	json_t *s = json_object(), *o, *v;
	int e;

	if (!s)
		return nomem(err);
	if (vf_tuf_time_format(md->expires, expires)) {
		e = vf_err_set(err, ERANGE, "expires: %lld is outside years 0001 to 9999",
			       (long long)md->expires);
		goto fail;
	}
	if ((e = put(s, "_type", json_string(vf_tuf_type_name(md->type)), err)) ||
	    (e = put(s, "spec_version", json_string_nocheck(md->spec_version ? md->spec_version : ""),
		     err)) ||
	    (e = put_uint(s, "version", md->version, "metadata", err)) ||
	    (e = put(s, "expires", json_string(expires), err)))
		goto fail;
	switch (md->type) {
	case VF_TUF_ROOT:
		if ((e = put(s, "consistent_snapshot", json_boolean(md->consistent_snapshot), err)) ||
		    (e = put(s, "keys", keys_json(&md->keys), err)) ||
		    (e = put(s, "roles", o = json_object(), err)))
			goto fail;
		for (int i = 0; i < VF_TUF_N_TOP_ROLES; i++) {
			if ((e = role_json(&md->roles[i], false, &v, err)) ||
			    (e = put(o, vf_tuf_type_name((enum vf_tuf_type)(i + 1)), v, err)))
				goto fail;
		}
		break;
	case VF_TUF_TARGETS:
		if (sentinel) {
			if ((e = check_targets_for_json(md, map->json_bad, err)) ||
			    (e = put(s, "targets", json_incref(sentinel), err)))
				goto fail;
		} else if ((e = put(s, "targets", o = json_object(), err))) {
			goto fail;
		}
		for (size_t i = 0; !sentinel && i < md->n_targets; i++) {
			const struct vf_tuf_target *t = md->targets[i];

			if ((e = put(o, t->path, v = json_object(), err)) ||
			    (e = put_uint(v, "length", t->length, t->path, err)) ||
			    (e = put(v, "hashes", vf_tuf_hashes_json(&t->hashes), err)) ||
			    (t->custom && (e = put(v, "custom", json_incref(t->custom), err))) ||
			    (e = put_extra(v, t->extra, err)))
				goto fail;
		}
		if (md->delegations) {
			if ((e = delegations_json(md->delegations, &v, err)) ||
			    (e = put(s, "delegations", v, err)))
				goto fail;
		}
		break;
	case VF_TUF_SNAPSHOT:
	case VF_TUF_TIMESTAMP:
		if (sentinel) {
			if ((e = check_meta_for_json(md, err)) ||
			    (e = put(s, "meta", json_incref(sentinel), err)))
				goto fail;
		} else if ((e = put(s, "meta", o = json_object(), err))) {
			goto fail;
		}
		for (size_t i = 0; !sentinel && i < md->n_meta; i++) {
			const struct vf_tuf_meta *m = md->meta[i];

			if ((e = put(o, m->name, v = json_object(), err)) ||
			    (e = put_uint(v, "version", m->version, m->name, err)) ||
			    (m->has_length && (e = put_uint(v, "length", m->length, m->name, err))) ||
			    ((m->hashes.sha256[0] || m->hashes.sha512[0]) &&
			     (e = put(v, "hashes", vf_tuf_hashes_json(&m->hashes), err))) ||
			    (e = put_extra(v, m->extra, err)))
				goto fail;
		}
		break;
	default:
		e = vf_err_set(err, EINVAL, "unknown metadata type %d", (int)md->type);
		goto fail;
	}
	if ((e = put_extra(s, md->extra, err)))
		goto fail;
	*ret = s;
	return 0;
fail:
	json_decref(s);
	return e;
}

/* The document as jansson; with `sentinel`, that stands for the targets (`map`) or meta map. */
static int to_json(const struct vf_tuf_md *md, json_t *sentinel, const struct vf_tuf_tmap *map,
		   json_t **ret, struct vf_err *err)
{
	json_t *doc = json_object(), *sigs = json_array(), *s = NULL;
	int e;

	if (!doc || !sigs) {
		json_decref(sigs);
		e = nomem(err);
		goto fail;
	}
	if ((e = put(doc, "signatures", sigs, err)))
		goto fail;
	for (size_t i = 0; i < md->n_sigs; i++) {
		json_t *o = json_object();

		if (!o || json_array_append_new(sigs, o)) {
			e = nomem(err);
			goto fail;
		}
		if ((e = put(o, "keyid", json_string_nocheck(md->sigs[i].keyid), err)) ||
		    (e = put(o, "sig", json_string_nocheck(md->sigs[i].sig), err)) ||
		    (e = put_extra(o, md->sigs[i].extra, err)))
			goto fail;
	}
	if ((e = signed_json(md, sentinel, map, &s, err)) || (e = put(doc, "signed", s, err)) ||
	    (e = put_extra(doc, md->envelope_extra, err)))
		goto fail;
	*ret = doc;
	return 0;
fail:
	json_decref(doc);
	return e;
}

int vf_tuf_to_json(const struct vf_tuf_md *md, json_t **ret, struct vf_err *err)
{
	return to_json(md, NULL, NULL, ret, err);
}

/* ---- the model writer --------------------------------------------------------------- */

/* One member of a target entry: a part of the model, or a jansson value. */
struct tmember {
	const char *key;
	size_t len;
	char kind; /* 'h' hashes, 'l' length, 'j' json */
	const json_t *json;
};

static int tmember_cmp(const void *a, const void *b)
{
	const struct tmember *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->key, y->key, n);

	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int write_hashes(struct vf_cjson_writer *w, const struct vf_tuf_hashes *h,
			const struct vf_cjson_frame *f)
{
	struct vf_cjson_frame f256 = { f, "sha256", 6, 0, f->depth + 1 };
	struct vf_cjson_frame f512 = { f, "sha512", 6, 0, f->depth + 1 };
	int r;

	if ((r = vf_cjson_write_open(w, '{')))
		return r;
	if (h->sha256[0] &&
	    ((r = vf_cjson_write_key(w, "sha256", 6, true, &f256)) ||
	     (r = vf_cjson_write_str(w, h->sha256, strnlen(h->sha256, sizeof(h->sha256)), &f256))))
		return r;
	if (h->sha512[0] &&
	    ((r = vf_cjson_write_key(w, "sha512", 6, !h->sha256[0], &f512)) ||
	     (r = vf_cjson_write_str(w, h->sha512, strnlen(h->sha512, sizeof(h->sha512)), &f512))))
		return r;
	return vf_cjson_write_close(w, '}', !h->sha256[0] && !h->sha512[0]);
}

/* Append to a buffer known to have room. */
static inline char *cat(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

static inline char *cat_indent(char *p, unsigned n)
{
	*p++ = '\n';
	memset(p, ' ', n);
	return p + n;
}

/*
 * The common entry: no custom or extra members, printable-ASCII path and
 * hashes (nothing to escape or check), at least one hash, a length below
 * 2^53. Written in one piece, byte for byte what write_target() writes.
 */
static int write_plain_target(struct vf_cjson_writer *w, const struct vf_tuf_target *t,
			      bool first, size_t plen, size_t l256, size_t l512)
{
	struct vf_buf *b = w->out;
	unsigned in = w->indent;
	char digits[24], *d = digits + 24, *p;
	uint64_t v = t->length;

	if (!b)
		return 0; /* nothing to check */
	if (vf_buf_grow(b, plen + l256 + l512 + 6 * (size_t)in + 96))
		return vf_err_set(w->err, ENOMEM, "out of memory");
	do
		*--d = (char)('0' + v % 10);
	while (v /= 10);
	p = (char *)b->data + b->len;
	if (!first)
		*p++ = ',';
	if (w->pretty)
		p = cat_indent(p, in);
	*p++ = '"';
	p = cat(p, t->path, plen);
	if (w->pretty) {
		p = cat(p, "\": {", 4);
		p = cat_indent(p, in + 1);
		p = cat(p, "\"hashes\": {", 11);
		if (l256) {
			p = cat_indent(p, in + 2);
			p = cat(p, "\"sha256\": \"", 11);
			p = cat(p, t->hashes.sha256, l256);
			*p++ = '"';
		}
		if (l512) {
			if (l256)
				*p++ = ',';
			p = cat_indent(p, in + 2);
			p = cat(p, "\"sha512\": \"", 11);
			p = cat(p, t->hashes.sha512, l512);
			*p++ = '"';
		}
		p = cat_indent(p, in + 1);
		p = cat(p, "},", 2);
		p = cat_indent(p, in + 1);
		p = cat(p, "\"length\": ", 10);
		p = cat(p, d, (size_t)(digits + 24 - d));
		p = cat_indent(p, in);
		*p++ = '}';
	} else {
		p = cat(p, "\":{\"hashes\":{", 13);
		if (l256) {
			p = cat(p, "\"sha256\":\"", 10);
			p = cat(p, t->hashes.sha256, l256);
			*p++ = '"';
		}
		if (l512) {
			if (l256)
				*p++ = ',';
			p = cat(p, "\"sha512\":\"", 10);
			p = cat(p, t->hashes.sha512, l512);
			*p++ = '"';
		}
		p = cat(p, "},\"length\":", 11);
		p = cat(p, d, (size_t)(digits + 24 - d));
		*p++ = '}';
	}
	*p = '\0';
	b->len = (size_t)(p - (char *)b->data);
	return 0;
}

/*
 * One entry of the targets map, exactly as the jansson object to_json() would
 * build for it: "custom", "hashes", "length" and the extra members it does not
 * shadow, in key order.
 */
static int write_target(struct vf_cjson_writer *w, const struct vf_tuf_target *t, bool first,
			const struct vf_cjson_frame *up)
{
	size_t plen = strlen(t->path), n = 0, n_extra = t->extra ? json_object_size(t->extra) : 0;
	struct vf_cjson_frame tf = { up, t->path, plen, 0, up->depth + 1 };
	struct tmember fixed[4], *m = fixed;
	int r = 0;

	if (!t->custom && !t->extra && t->length <= VF_TUF_JSON_SAFE_MAX) {
		size_t l256 = strnlen(t->hashes.sha256, sizeof(t->hashes.sha256));
		size_t l512 = strnlen(t->hashes.sha512, sizeof(t->hashes.sha512));

		if ((l256 || l512) && l256 < sizeof(t->hashes.sha256) &&
		    l512 < sizeof(t->hashes.sha512) && vf_cjson_is_plain(t->path, plen) &&
		    vf_cjson_is_plain(t->hashes.sha256, l256) &&
		    vf_cjson_is_plain(t->hashes.sha512, l512))
			return write_plain_target(w, t, first, plen, l256, l512);
	}
	if ((r = vf_cjson_write_key(w, t->path, plen, first, &tf)))
		return r;
	if (n_extra && !(m = malloc((n_extra + 3) * sizeof(*m))))
		return vf_err_set(w->err, ENOMEM, "out of memory");
	if (t->custom)
		m[n++] = (struct tmember){ "custom", 6, 'j', t->custom };
	m[n++] = (struct tmember){ "hashes", 6, 'h', NULL };
	m[n++] = (struct tmember){ "length", 6, 'l', NULL };
	if (n_extra) {
		const char *key;
		json_t *v;

		json_object_foreach((json_t *)t->extra, key, v) {
			size_t len = strlen(key);

			if (len == 6 && (memcmp(key, "hashes", 6) == 0 ||
					 memcmp(key, "length", 6) == 0 ||
					 (t->custom && memcmp(key, "custom", 6) == 0)))
				continue; /* json_object_update_missing() keeps the model's */
			m[n++] = (struct tmember){ key, len, 'j', v };
		}
		qsort(m, n, sizeof(*m), tmember_cmp);
	}
	r = vf_cjson_write_open(w, '{');
	for (size_t i = 0; !r && i < n; i++) {
		struct vf_cjson_frame mf = { &tf, m[i].key, m[i].len, 0, tf.depth + 1 };

		if ((r = vf_cjson_write_key(w, m[i].key, m[i].len, i == 0, &mf)))
			break;
		if (m[i].kind == 'h')
			r = write_hashes(w, &t->hashes, &mf);
		else if (m[i].kind == 'l')
			r = vf_cjson_write_uint(w, t->length, &mf);
		else
			r = vf_cjson_write(w, m[i].json, &mf);
	}
	if (m != fixed)
		free(m);
	return r ? r : vf_cjson_write_close(w, '}', false);
}

/* The writer's hook: the targets map of `ctx`, a struct vf_tuf_tmap (sorted, unique paths). */
int vf_tuf_targets_write(struct vf_cjson_writer *w, const struct vf_cjson_frame *f, void *ctx)
{
	const struct vf_tuf_tmap *map = ctx;
	const struct vf_tuf_md *md = map->md;
	int r;

	if (map->plain && !w->out)
		return 0; /* only checking, and there is nothing to check */
	if ((r = vf_cjson_write_reserve(w, md->n_targets * (w->pretty ? 160 : 128))) ||
	    (r = vf_cjson_write_open(w, '{')))
		return r;
	for (size_t i = 0; i < md->n_targets; i++) {
		const struct vf_tuf_target *t = md->targets[i];

		if (map->plain)
			r = write_plain_target(w, t, i == 0, strlen(t->path),
					       strnlen(t->hashes.sha256, sizeof(t->hashes.sha256)),
					       strnlen(t->hashes.sha512, sizeof(t->hashes.sha512)));
		else
			r = write_target(w, t, i == 0, f);
		if (r)
			return r;
	}
	return vf_cjson_write_close(w, '}', md->n_targets == 0);
}

/* One snapshot/timestamp `meta` entry, as the jansson object to_json() would build. */
static int write_meta(struct vf_cjson_writer *w, const struct vf_tuf_meta *m, bool first,
		      const struct vf_cjson_frame *up)
{
	size_t nlen = strlen(m->name), n = 0, n_extra = m->extra ? json_object_size(m->extra) : 0;
	struct vf_cjson_frame mf = { up, m->name, nlen, 0, up->depth + 1 };
	bool hashes = m->hashes.sha256[0] || m->hashes.sha512[0];
	struct tmember fixed[4], *v = fixed;
	int r;

	if ((r = vf_cjson_write_key(w, m->name, nlen, first, &mf)))
		return r;
	if (n_extra && !(v = malloc((n_extra + 3) * sizeof(*v))))
		return vf_err_set(w->err, ENOMEM, "out of memory");
	if (hashes)
		v[n++] = (struct tmember){ "hashes", 6, 'h', NULL };
	if (m->has_length)
		v[n++] = (struct tmember){ "length", 6, 'l', NULL };
	v[n++] = (struct tmember){ "version", 7, 'v', NULL };
	if (n_extra) {
		const char *key;
		json_t *x;

		json_object_foreach((json_t *)m->extra, key, x) {
			size_t len = strlen(key);

			if ((len == 7 && memcmp(key, "version", 7) == 0) ||
			    (len == 6 && hashes && memcmp(key, "hashes", 6) == 0) ||
			    (len == 6 && m->has_length && memcmp(key, "length", 6) == 0))
				continue; /* json_object_update_missing() keeps the model's */
			v[n++] = (struct tmember){ key, len, 'j', x };
		}
		qsort(v, n, sizeof(*v), tmember_cmp);
	}
	r = vf_cjson_write_open(w, '{');
	for (size_t i = 0; !r && i < n; i++) {
		struct vf_cjson_frame f = { &mf, v[i].key, v[i].len, 0, mf.depth + 1 };

		if ((r = vf_cjson_write_key(w, v[i].key, v[i].len, i == 0, &f)))
			break;
		if (v[i].kind == 'h')
			r = write_hashes(w, &m->hashes, &f);
		else if (v[i].kind == 'l')
			r = vf_cjson_write_uint(w, m->length, &f);
		else if (v[i].kind == 'v')
			r = vf_cjson_write_uint(w, m->version, &f);
		else
			r = vf_cjson_write(w, v[i].json, &f);
	}
	if (v != fixed)
		free(v);
	return r ? r : vf_cjson_write_close(w, '}', false);
}

/* The writer's hook: the `meta` map of ctx's model, a struct vf_tuf_tmap (sorted, unique names). */
int vf_tuf_meta_write(struct vf_cjson_writer *w, const struct vf_cjson_frame *f, void *ctx)
{
	const struct vf_tuf_md *md = ((const struct vf_tuf_tmap *)ctx)->md;
	int r;

	if ((r = vf_cjson_write_open(w, '{')))
		return r;
	for (size_t i = 0; i < md->n_meta; i++)
		if ((r = write_meta(w, md->meta[i], i == 0, f)))
			return r;
	return vf_cjson_write_close(w, '}', md->n_meta == 0);
}

static bool meta_sorted(struct vf_tuf_meta *const *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i - 1]->name, v[i]->name) >= 0)
			return false;
	return true;
}

/*
 * A model as jansson, but for its targets (or meta) map: `sentinel` stands
 * for it and the writer and validation read the model's entries instead
 * (vf_tuf_targets_write(), vf_tuf_meta_write(), check_model_targets(), check_model_meta()).
 * Models whose entries are not strictly sorted (changed behind the API's
 * back) are built whole, as the jansson object would collapse or reorder them.
 */
struct shell {
	json_t *doc;
	json_t *sentinel; /* NULL when the document is built whole */
	struct vf_tuf_tmap map;
};

/* One pass over the targets: everything struct vf_tuf_tmap records. */
static void scan_targets(const struct vf_tuf_md *md, struct vf_tuf_tmap *m)
{
	size_t n = md->n_targets;

	*m = (struct vf_tuf_tmap){ md, true, true, n, n };
	for (size_t i = 0; i < n; i++) {
		const struct vf_tuf_target *t = md->targets[i];
		const struct vf_tuf_hashes *h = &t->hashes;
		size_t plen = strlen(t->path), l256 = strnlen(h->sha256, sizeof(h->sha256));
		size_t l512 = strnlen(h->sha512, sizeof(h->sha512));
		bool plain_path = vf_cjson_is_plain(t->path, plen);
		bool hex = (l256 || l512) &&
			   (!l256 || (l256 == 64 && vf_tuf_is_hex(h->sha256, 64))) &&
			   (!l512 || (l512 == 128 && vf_tuf_is_hex(h->sha512, 128)));

		if (i && m->sorted && strcmp(md->targets[i - 1]->path, t->path) >= 0)
			m->sorted = false;
		if (m->json_bad == n &&
		    ((!plain_path && !vf_utf8_is_valid((const uint8_t *)t->path, plen, NULL)) ||
		     t->length > VF_TUF_JSON_SAFE_MAX ||
		     (t->extra && !json_is_object((json_t *)t->extra))))
			m->json_bad = i;
		if (m->check_bad == n && (!hex || !vf_tuf_target_path_ok(t->path)))
			m->check_bad = i;
		if (m->plain &&
		    (!plain_path || t->custom || t->extra || t->length > VF_TUF_JSON_SAFE_MAX ||
		     (!hex && (!(l256 || l512) || l256 == sizeof(h->sha256) ||
			       l512 == sizeof(h->sha512) || !vf_cjson_is_plain(h->sha256, l256) ||
			       !vf_cjson_is_plain(h->sha512, l512)))))
			m->plain = false;
	}
}

static int shell_build(const struct vf_tuf_md *md, struct shell *sh, struct vf_err *err)
{
	bool maps = false;

	sh->doc = sh->sentinel = NULL;
	sh->map = (struct vf_tuf_tmap){ md, true, false, 0, 0 };
	if (md->type == VF_TUF_TARGETS) {
		scan_targets(md, &sh->map);
		maps = sh->map.sorted;
	} else if (md->type == VF_TUF_SNAPSHOT || md->type == VF_TUF_TIMESTAMP) {
		maps = meta_sorted(md->meta, md->n_meta);
	}
	if (maps && !(sh->sentinel = json_object()))
		return nomem(err);
	return to_json(md, sh->sentinel, &sh->map, &sh->doc, err);
}

static void shell_release(struct shell *sh)
{
	json_decref(sh->doc);
	json_decref(sh->sentinel);
	sh->doc = sh->sentinel = NULL;
}

/* vf_tuf_md_validate(): every check vf_tuf_md_parse() makes on what would be written. */
static int shell_validate(const struct vf_tuf_md *md, const struct shell *sh,
			  bool check_canonical, struct vf_err *err)
{
	struct vf_tuf_tsrc src = { sh->sentinel, md, &sh->map, NULL };
	struct vf_tuf_md *check = NULL;
	int r = vf_tuf_from_json_src(sh->doc, md->type, md->flags, &src, check_canonical, NULL,
				     &check, err);

	vf_tuf_md_free(check);
	return r;
}

/* Write a value of the shell (the document or `signed`); `out` is unchanged on failure. */
static int shell_write(const struct vf_tuf_md *md, const struct shell *sh, const json_t *v,
		       bool pretty, struct vf_buf *out, struct vf_err *err)
{
	struct vf_cjson_frame top = { NULL, NULL, 0, 0, 0 };
	struct vf_cjson_writer w = {
		.out = out, .pretty = pretty, .err = err,
		.hook_value = sh->sentinel,
		.hook = !sh->sentinel ? NULL
			: md->type == VF_TUF_TARGETS ? vf_tuf_targets_write : vf_tuf_meta_write,
		.hook_ctx = (void *)&sh->map,
	};
	size_t start = out->len;
	int r = vf_cjson_write(&w, v, &top);

	if (r && out->data)
		out->data[out->len = start] = '\0';
	return r;
}

int vf_tuf_md_write_signed(const struct vf_tuf_md *md, struct vf_buf *out, struct vf_err *err)
{
	struct shell sh;
	int r;

	if (!(r = shell_build(md, &sh, err)))
		r = shell_write(md, &sh, json_object_get(sh.doc, "signed"), false, out, err);
	shell_release(&sh);
	return r;
}
/* ---- public entry points ---------------------------------------------------------- */

int vf_tuf_md_validate(const struct vf_tuf_md *md, struct vf_err *err)
{
	struct shell sh;
	int r;

	if (!(r = shell_build(md, &sh, err)))
		r = shell_validate(md, &sh, true, err);
	shell_release(&sh);
	return r;
}

/* The pretty form through jansson (for what the writer declines: see vf_cjson_writer). */
static int format_with_jansson(const struct vf_tuf_md *md, struct vf_buf *out,
			       struct vf_err *err)
{
	json_t *doc = NULL;
	char *text = NULL;
	int r;

	if ((r = vf_tuf_to_json(md, &doc, err)))
		return r;
	if (!(text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS)))
		r = nomem(err);
	else if (vf_buf_add_str(out, text))
		r = nomem(err);
	free(text);
	json_decref(doc);
	return r;
}

int vf_tuf_md_format(const struct vf_tuf_md *md, enum vf_tuf_format format, struct vf_buf *out,
		     struct vf_err *err)
{
	struct shell sh;
	size_t start = out->len;
	int r;

	if ((r = shell_build(md, &sh, err)) || (r = shell_validate(md, &sh, true, err)))
		goto out;
	if (format == VF_TUF_FORMAT_CANONICAL) {
		r = shell_write(md, &sh, sh.doc, false, out, err);
		goto out;
	}
	r = shell_write(md, &sh, sh.doc, true, out, err);
	if (r == -ENOTSUP)
		r = format_with_jansson(md, out, err);
	if (!r && vf_buf_add(out, "\n", 1))
		r = nomem(err);
	if (r && out->data)
		out->data[out->len = start] = '\0';
out:
	shell_release(&sh);
	return r;
}

int vf_tuf_md_format_signed(const struct vf_tuf_md *md, struct vf_buf *out, struct vf_err *err)
{
	struct shell sh;
	int r;

	if ((r = shell_build(md, &sh, err)) || (r = shell_validate(md, &sh, false, err)))
		goto out;
	/* writing the canonical form is the last check of validation */
	if ((r = shell_write(md, &sh, json_object_get(sh.doc, "signed"), false, out, err)))
		vf_err_prefix(err, "signed");
out:
	shell_release(&sh);
	return r;
}

int vf_tuf_md_save(const struct vf_tuf_md *md, const char *path, struct vf_err *err)
{
	struct vf_buf text = VF_BUF_INIT;
	struct vf_fs_atomic a;
	int r;

	vf_fs_atomic_init(&a);
	if ((r = vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, &text, err)))
		goto out;
	if ((r = vf_fs_atomic_open(&a, path, 0644, err)))
		goto out;
	if ((r = vf_fs_pwrite_full(a.fd, text.data, text.len, 0))) {
		r = vf_err_sys(err, -r, "'%s': write", path);
		goto out;
	}
	r = vf_fs_atomic_commit(&a, err);
out:
	vf_fs_atomic_release(&a);
	vf_buf_release(&text);
	return r;
}
