/*
 * repo: the TUF client (specification 1.0.x, section 5): the trusted state in
 * a directory and its refresh from a repository through a vf_fetcher (this
 * file); delegated roles, the target search and downloads are in
 * client_targets.c.
 *
 * A refresh works on candidates in memory (struct refresh) and touches the
 * trusted state only in commit(), after every check passed. Each trusted
 * document is kept with the exact bytes it came from, so that a document that
 * did not change is neither downloaded nor verified again (its bytes are
 * compared with the length and hashes its referrer gives), and the files
 * written are the bytes received.
 *
 * Documents replaced by a refresh are not freed until the client is: target
 * entries returned by vf_client_find_target() point into them.
 */
#include "repo/client_internal.h"

#include "builder/base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_TOP VF_CLIENT_N_TOP
#define IDX(type) VF_CLIENT_IDX(type)

static void fmt_time(time_t t, char out[32])
{
	char tmp[VF_TUF_TIME_LEN + 1];

	if (vf_tuf_time_format(t, tmp) == 0)
		snprintf(out, 32, "%s", tmp);
	else
		snprintf(out, 32, "@%lld", (long long)t);
}

/*
 * Turn the error in `err` (code r) into a verification failure whose message
 * is "<prefix>: <old message>"; -ENOMEM stays what it is. Returns the code.
 */
int vf_client_as_verify(struct vf_err *err, int r, const char *fmt, ...)
{
	char head[VF_ERR_MSG_MAX], tail[VF_ERR_MSG_MAX];
	va_list ap;

	if (r == -ENOMEM)
		return r;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	if (!err)
		return -VF_EVERIFY;
	snprintf(tail, sizeof(tail), "%s", err->msg[0] ? err->msg : strerror(-r));
	return vf_err_set(err, VF_EVERIFY, "%s: %s", head, tail);
}

/* ---- reading and writing the trusted state ------------------------------------------ */

/*
 * Read a whole local file of at most `max` bytes into `out`. -ENOENT without
 * a message when it does not exist; other errors name the path.
 */
int vf_client_read_local(const char *path, uint64_t max, struct vf_buf *out, struct vf_err *err)
{
	int r = vf_fs_read_file(path, max, true, out, err);

	if (r == -ENOENT)
		return -ENOENT;
	if (r)
		vf_err_prefix(err, "'%s'", path);
	return r;
}

/* Replace dir/name with `b` atomically (temporary ".<name>.tmp.XXXXXX", fsync, rename). */
int vf_client_write_local(const char *dir, const char *name, const struct vf_buf *b,
			  struct vf_err *err)
{
	struct vf_fs_atomic a;
	char *path = vf_client_join(dir, name);
	int r;

	if (!path)
		return vf_client_nomem(err);
	vf_fs_atomic_init(&a);
	if ((r = vf_fs_atomic_open(&a, path, 0644, err)))
		goto out;
	if ((r = vf_fs_pwrite_full(a.fd, b->data, b->len, 0))) {
		r = vf_err_sys(err, -r, "cannot write '%s'", a.tmp);
		goto out;
	}
	r = vf_fs_atomic_commit(&a, err);
out:
	vf_fs_atomic_release(&a);
	free(path);
	return r;
}

/* Remove dir/name (absent is fine) and fsync the directory. */
static int remove_local(const char *dir, const char *name, struct vf_err *err)
{
	char *path = vf_client_join(dir, name);
	int r = 0;

	if (!path)
		return vf_client_nomem(err);
	if (unlink(path) < 0) {
		if (errno != ENOENT)
			r = vf_err_sys(err, errno, "cannot remove '%s'", path);
	} else {
		r = vf_fs_fsync_parent(path, err);
	}
	free(path);
	return r;
}

/* ---- downloading and checking metadata ---------------------------------------------- */

/*
 * Download `file` (a name in the metadata directory of the repository) into
 * `out`: at most `max` bytes; `limit_by` says where the limit comes from
 * ("timestamp.json's length", "the limit for root"). More is endless data.
 */
int vf_client_fetch_md(struct vf_client *c, const char *file, uint64_t max, const char *limit_by,
		       struct vf_buf *out, struct vf_err *err)
{
	char *url = NULL;
	int r;

	if ((r = vf_fetch_url_join(c->metadata_url, file, &url, err)))
		return r;
	r = vf_fetch_buf(c->f, url, max, out, err);
	if (r == -EFBIG)
		r = vf_client_as_verify(err, r,
					"%s: more than the %llu bytes of %s (endless data attack)",
					file, (unsigned long long)max, limit_by);
	free(url);
	return r;
}

/* Check downloaded bytes against the length and hashes a snapshot/timestamp entry gives. */
int vf_client_check_pinned(const char *file, const struct vf_tuf_meta *m, const char *by,
			   const struct vf_buf *b, struct vf_err *err)
{
	struct vf_tuf_hashes h;
	int r;

	if (m->has_length && b->len != m->length)
		return vf_err_set(err, VF_EVERIFY, "%s: length differs from %s's: expected %llu, "
				  "got %zu (mix-and-match attack?)", file, by,
				  (unsigned long long)m->length, b->len);
	if (!m->hashes.sha256[0] && !m->hashes.sha512[0])
		return 0;
	if ((r = vf_tuf_hashes_build(b->data, b->len, m->hashes.sha512[0] != '\0', &h, err)))
		return r;
	if (m->hashes.sha256[0] && strcasecmp(h.sha256, m->hashes.sha256) != 0)
		return vf_err_set(err, VF_EVERIFY, "%s: sha256 differs from %s's: expected %s, "
				  "got %s (mix-and-match attack?)", file, by, m->hashes.sha256,
				  h.sha256);
	if (m->hashes.sha512[0] && strcasecmp(h.sha512, m->hashes.sha512) != 0)
		return vf_err_set(err, VF_EVERIFY, "%s: sha512 differs from %s's: expected %s, "
				  "got %s (mix-and-match attack?)", file, by, m->hashes.sha512,
				  h.sha512);
	return 0;
}

/* Whether bytes match an entry (for reusing a trusted document); errors only for ENOMEM/EIO. */
int vf_client_matches_pin(const struct vf_tuf_md *md, const struct vf_buf *b,
			  const struct vf_tuf_meta *m, bool *ret)
{
	struct vf_err e = { 0 };
	int r;

	*ret = false;
	if (md->version != m->version)
		return 0;
	r = vf_client_check_pinned("", m, "", b, &e);
	if (r == -VF_EVERIFY)
		return 0;
	if (r)
		return r;
	*ret = true;
	return 0;
}

/* Parse downloaded bytes; anything the parser refuses is a verification failure. */
int vf_client_parse_md(const char *file, enum vf_tuf_type type, const struct vf_buf *b,
		       struct vf_tuf_md **ret, struct vf_err *err)
{
	int r = vf_tuf_md_parse(b->data, b->len, type, VF_TUF_PARSE_OPAQUE_KEYIDS, ret, err);

	if (r)
		return vf_client_as_verify(err, r, "%s: not valid %s metadata", file,
					   vf_tuf_type_name(type));
	return 0;
}

/* Signatures of `md` as `role` under `delegator`; `whose` names the delegator in messages. */
int vf_client_check_sigs(const struct vf_tuf_md *delegator, const char *role,
			 const struct vf_tuf_md *md, const char *file, const char *whose,
			 struct vf_err *err)
{
	int r = vf_tuf_verify(delegator, role, md, NULL, err);

	if (r == -ENOENT || r == -EINVAL)
		return vf_client_as_verify(err, r, "%s: signatures (keys of %s)", file, whose);
	if (r)
		vf_err_prefix(err, "%s: signatures (keys of %s)", file, whose);
	return r;
}

int vf_client_check_expiry(const struct vf_tuf_md *md, const char *file, time_t now,
			   struct vf_err *err)
{
	char at[32], cur[32];

	if (!vf_tuf_md_is_expired(md, now))
		return 0;
	fmt_time(md->expires, at);
	fmt_time(now, cur);
	return vf_err_set(err, VF_EVERIFY, "%s: expired at %s (now %s): freeze attack", file, at,
			  cur);
}

int vf_client_check_version(const struct vf_tuf_md *md, const char *file,
			    const struct vf_tuf_meta *m, const char *by, struct vf_err *err)
{
	if (md->version == m->version)
		return 0;
	return vf_err_set(err, VF_EVERIFY, "%s: version %llu, %s says %llu (%s attack)", file,
			  (unsigned long long)md->version, by, (unsigned long long)m->version,
			  md->version < m->version ? "rollback" : "mix-and-match");
}

/* ---- open ----------------------------------------------------------------------------- */

/*
 * Load dir/<type>.json when it is there and verifies under the trusted root.
 * A file that does not parse or verify is ignored; I/O errors are not.
 */
static int open_local(struct vf_client *c, enum vf_tuf_type type, struct vf_err *err)
{
	struct vf_client_doc *d = &c->top[IDX(type)];
	struct vf_err e = { 0 };
	char name[32], *path;
	int r;

	snprintf(name, sizeof(name), "%s.json", vf_tuf_type_name(type));
	if (!(path = vf_client_join(c->dir, name)))
		return vf_client_nomem(err);
	r = vf_client_read_local(path, VF_TUF_MAX_FILE, &d->bytes, err);
	free(path);
	if (r == -ENOENT || r == -EFBIG || r == -EINVAL) {
		vf_buf_release(&d->bytes);
		return 0;
	}
	if (r)
		return r;
	r = vf_tuf_md_parse(d->bytes.data, d->bytes.len, type, VF_TUF_PARSE_OPAQUE_KEYIDS,
			    &d->md, &e);
	if (!r)
		r = vf_tuf_verify(c->top[IDX(VF_TUF_ROOT)].md, vf_tuf_type_name(type), d->md, NULL,
				  &e);
	if (r == -ENOMEM) {
		vf_client_doc_release(d);
		return vf_client_nomem(err);
	}
	if (r)
		vf_client_doc_release(
			d); /* no longer valid: ignored, replaced by the next refresh */
	return 0;
}

static int load_root(struct vf_client *c, const struct vf_client_opts *o, struct vf_err *err)
{
	struct vf_client_doc *d = &c->top[IDX(VF_TUF_ROOT)];
	char *path = vf_client_join(c->dir, "root.json");
	const char *from;
	int r;

	if (!path)
		return vf_client_nomem(err);
	r = vf_client_read_local(path, VF_TUF_MAX_FILE, &d->bytes, err);
	from = path;
	if (r == -ENOENT) {
		if (!o->trusted_root) {
			r = vf_err_set(err, ENOENT,
				       "'%s': no trusted root (root.json) and none given", c->dir);
			goto out;
		}
		from = o->trusted_root;
		r = vf_client_read_local(o->trusted_root, VF_TUF_MAX_FILE, &d->bytes, err);
		if (r == -ENOENT)
			r = vf_err_set(err, ENOENT, "trusted root '%s': no such file", from);
	} else if (!r) {
		c->root_on_disk = true;
	}
	if (r)
		goto out;
	if ((r = vf_tuf_md_parse(d->bytes.data, d->bytes.len, VF_TUF_ROOT,
				 VF_TUF_PARSE_OPAQUE_KEYIDS, &d->md, err))) {
		r = vf_client_as_verify(err, r, "trusted root '%s'", from);
		goto out;
	}
	if ((r = vf_tuf_verify(d->md, "root", d->md, NULL, err)))
		r = vf_client_as_verify(err, r,
					"trusted root '%s': not signed by a threshold of its own "
					"root "
					"keys",
					from);
out:
	free(path);
	return r;
}

int vf_client_open(const struct vf_client_opts *opts, struct vf_client **ret, struct vf_err *err)
{
	struct vf_client *c;
	struct stat st;
	int r;

	*ret = NULL;
	if (!opts || !opts->metadata_dir || !opts->metadata_url || !opts->fetcher)
		return vf_err_set(err, EINVAL,
				  "tuf client: metadata_dir, metadata_url and a fetcher "
				  "are required");
	if (stat(opts->metadata_dir, &st) < 0)
		return vf_err_sys(err, errno, "metadata directory '%s'", opts->metadata_dir);
	if (!S_ISDIR(st.st_mode))
		return vf_err_set(err, ENOTDIR, "metadata directory '%s': not a directory",
				  opts->metadata_dir);
	if (!(c = calloc(1, sizeof(*c))))
		return vf_client_nomem(err);
	if (!(c->dir = strdup(opts->metadata_dir)) ||
	    !(c->metadata_url = strdup(opts->metadata_url)) ||
	    (opts->targets_url && !(c->targets_url = strdup(opts->targets_url)))) {
		r = vf_client_nomem(err);
		goto fail;
	}
	c->f = opts->fetcher;
	c->now = opts->now;
	c->max_root_rotations = opts->max_root_rotations ? opts->max_root_rotations
							 : VF_CLIENT_MAX_ROOT_ROTATIONS;
	c->max_delegations = opts->max_delegations ? opts->max_delegations
						   : VF_CLIENT_MAX_DELEGATIONS;
	c->max_len[VF_TUF_ROOT] = opts->root_max_len ? opts->root_max_len : VF_CLIENT_ROOT_MAX_LEN;
	c->max_len[VF_TUF_TIMESTAMP] = opts->timestamp_max_len ? opts->timestamp_max_len
							       : VF_CLIENT_TIMESTAMP_MAX_LEN;
	c->max_len[VF_TUF_SNAPSHOT] = opts->snapshot_max_len ? opts->snapshot_max_len
							     : VF_CLIENT_SNAPSHOT_MAX_LEN;
	c->max_len[VF_TUF_TARGETS] = opts->targets_max_len ? opts->targets_max_len
							   : VF_CLIENT_TARGETS_MAX_LEN;
	if ((r = load_root(c, opts, err)) ||
	    (r = open_local(c, VF_TUF_TIMESTAMP, err)) ||
	    (r = open_local(c, VF_TUF_SNAPSHOT, err)) ||
	    (r = open_local(c, VF_TUF_TARGETS, err)))
		goto fail;
	*ret = c;
	return 0;
fail:
	vf_client_free(c);
	return r;
}

void vf_client_free(struct vf_client *c)
{
	if (!c)
		return;
	for (int i = 0; i < N_TOP; i++)
		vf_client_doc_release(&c->top[i]);
	for (size_t i = 0; i < c->n_roles; i++) {
		free(c->roles[i].name);
		free(c->roles[i].delegator);
		vf_tuf_md_free(c->roles[i].md);
	}
	free(c->roles);
	for (size_t i = 0; i < c->n_retired; i++)
		vf_tuf_md_free(c->retired[i]);
	free(c->retired);
	free(c->dir);
	free(c->metadata_url);
	free(c->targets_url);
	free(c);
}

const struct vf_tuf_md *vf_client_trusted(const struct vf_client *c, enum vf_tuf_type type)
{
	if (!c || type < VF_TUF_ROOT || type > VF_TUF_TIMESTAMP)
		return NULL;
	return c->top[IDX(type)].md;
}

const struct vf_client_change *vf_client_changes(const struct vf_client *c, size_t *ret_n)
{
	*ret_n = c ? c->n_changes : 0;
	return c && c->n_changes ? c->changes : NULL;
}

/* ---- refresh --------------------------------------------------------------------------- */

/* The candidates of one refresh: a new document per type (md NULL: the trusted one stays). */
struct refresh {
	struct vf_client_doc next[N_TOP];
	bool drop[N_TOP];        /* trusted document no longer usable (removed at commit) */
	bool remove_files;       /* 5.3.11: remove timestamp.json and snapshot.json */
	char root_file[64];      /* the final root's file name, for messages */
};

/* The document in effect for `type` during a refresh. */
static const struct vf_tuf_md *cur(const struct vf_client *c, const struct refresh *s,
				   enum vf_tuf_type type)
{
	if (s->next[IDX(type)].md)
		return s->next[IDX(type)].md;
	return s->drop[IDX(type)] ? NULL : c->top[IDX(type)].md;
}

static const struct vf_buf *cur_bytes(const struct vf_client *c, const struct refresh *s,
				      enum vf_tuf_type type)
{
	return s->next[IDX(type)].md ? &s->next[IDX(type)].bytes : &c->top[IDX(type)].bytes;
}

/*
 * Whether a root role's keys (keyids or key objects) differ between roots. A
 * changed threshold alone is not a rotation: the trusted document is then
 * verified again under the new root, and replaced if it no longer passes.
 */
static bool role_keys_changed(const struct vf_tuf_md *a, const struct vf_tuf_md *b,
			      enum vf_tuf_type type)
{
	const struct vf_tuf_role *ra = &a->roles[IDX(type)], *rb = &b->roles[IDX(type)];

	if (ra->n_keyids != rb->n_keyids)
		return true;
	for (size_t i = 0; i < ra->n_keyids; i++) {
		const struct vf_tuf_key *ka, *kb;
		size_t k;

		for (k = 0; k < rb->n_keyids; k++)
			if (strcmp(ra->keyids[i], rb->keyids[k]) == 0)
				break;
		if (k == rb->n_keyids)
			return true;
		ka = vf_tuf_keys_find(&a->keys, ra->keyids[i]);
		kb = vf_tuf_keys_find(&b->keys, ra->keyids[i]);
		if (!ka || !kb || strcmp(ka->keytype, kb->keytype) != 0 ||
		    strcmp(ka->scheme, kb->scheme) != 0 ||
		    strcmp(ka->public_text, kb->public_text) != 0)
			return true;
	}
	return false;
}

/* 5.3: N+1.root.json while there is one, then the final root's expiry and 5.3.11. */
static int update_root(struct vf_client *c, struct refresh *s, struct vf_err *err)
{
	const struct vf_tuf_md *trusted = c->top[IDX(VF_TUF_ROOT)].md, *root = trusted;
	struct vf_client_doc *next = &s->next[IDX(VF_TUF_ROOT)];
	int r = 0;

	snprintf(s->root_file, sizeof(s->root_file), "root.json");
	for (unsigned n = 0; n < c->max_root_rotations; n++) {
		struct vf_client_doc d = { NULL, VF_BUF_INIT };
		uint64_t want = root->version + 1;
		char file[64], whose[64];

		snprintf(file, sizeof(file), "%llu.root.json", (unsigned long long)want);
		r = vf_client_fetch_md(c, file, c->max_len[VF_TUF_ROOT], "the limit for root",
				       &d.bytes, err);
		if (r == -ENOENT) {
			/* no newer root: the chain ends here */
			if (err)
				vf_err_clear(err);
			r = 0;
			break;
		}
		snprintf(whose, sizeof(whose), "root v%llu", (unsigned long long)root->version);
		if (r || (r = vf_client_parse_md(file, VF_TUF_ROOT, &d.bytes, &d.md, err)))
			goto bad;
		/* 5.3.4-5: a threshold of the trusted root's keys and of its own */
		if ((r = vf_tuf_verify(root, "root", d.md, NULL, err))) {
			r = vf_client_as_verify(err, r,
						"%s: not signed by a threshold of the root keys of "
						"the "
						"trusted %s",
						file, whose);
			goto bad;
		}
		if ((r = vf_tuf_verify(d.md, "root", d.md, NULL, err))) {
			r = vf_client_as_verify(
				err, r, "%s: not signed by a threshold of its own root keys", file);
			goto bad;
		}
		if (d.md->version != want) {
			r = vf_err_set(err, VF_EVERIFY,
				       "%s: version %llu, expected %llu (the version "
				       "after the trusted %s)%s",
				       file, (unsigned long long)d.md->version,
				       (unsigned long long)want, whose,
				       d.md->version < want ? ": rollback attack" : "");
			goto bad;
		}
		vf_client_doc_release(next);
		*next = d;
		root = d.md;
		snprintf(s->root_file, sizeof(s->root_file), "%s", file);
		continue;
bad:
		vf_client_doc_release(&d);
		return r;
	}
	/* 5.3.10: only the final root must not have expired */
	if ((r = vf_client_check_expiry(root, s->root_file, c->now, err)))
		return r;
	if (root == trusted)
		return 0;
	/* 5.3.11: new timestamp or snapshot keys: forget the trusted timestamp and snapshot */
	if (role_keys_changed(trusted, root, VF_TUF_TIMESTAMP) ||
	    role_keys_changed(trusted, root, VF_TUF_SNAPSHOT)) {
		s->drop[IDX(VF_TUF_TIMESTAMP)] = s->drop[IDX(VF_TUF_SNAPSHOT)] = true;
		s->remove_files = true;
	}
	/* what stays trusted must still verify under the new root (else it is replaced) */
	for (enum vf_tuf_type t = VF_TUF_TARGETS; t <= VF_TUF_TIMESTAMP; t++) {
		const struct vf_tuf_md *md = c->top[IDX(t)].md;
		struct vf_err e = { 0 };

		if (!md || s->drop[IDX(t)])
			continue;
		r = vf_tuf_verify(root, vf_tuf_type_name(t), md, NULL, &e);
		if (r == -ENOMEM)
			return vf_client_nomem(err);
		if (r)
			s->drop[IDX(t)] = true;
	}
	return 0;
}

/* 5.4 */
static int update_timestamp(struct vf_client *c, struct refresh *s, struct vf_err *err)
{
	const struct vf_tuf_md *root = cur(c, s, VF_TUF_ROOT);
	const struct vf_tuf_md *old = cur(c, s, VF_TUF_TIMESTAMP);
	const struct vf_tuf_meta *om, *nm;
	struct vf_client_doc d = { NULL, VF_BUF_INIT };
	const char *file = "timestamp.json";
	char whose[64];
	int r;

	snprintf(whose, sizeof(whose), "root v%llu", (unsigned long long)root->version);
	if ((r = vf_client_fetch_md(c, file, c->max_len[VF_TUF_TIMESTAMP],
				    "the limit for timestamp", &d.bytes, err)) ||
	    (r = vf_client_parse_md(file, VF_TUF_TIMESTAMP, &d.bytes, &d.md, err)) ||
	    (r = vf_client_check_sigs(root, "timestamp", d.md, file, whose, err)))
		goto out;
	if (!(nm = vf_tuf_md_find_meta(d.md, "snapshot.json"))) {
		r = vf_err_set(err, VF_EVERIFY, "%s: lists no snapshot.json", file);
		goto out;
	}
	if (old) {
		if (d.md->version < old->version) {
			r = vf_err_set(err, VF_EVERIFY,
				       "%s: version %llu is lower than the trusted "
				       "version %llu (rollback attack)",
				       file, (unsigned long long)d.md->version,
				       (unsigned long long)old->version);
			goto out;
		}
		if (d.md->version == old->version) {
			/* nothing new: the trusted timestamp stays (its expiry is checked below) */
			vf_client_doc_release(&d);
			r = vf_client_check_expiry(old, file, c->now, err);
			goto out;
		}
		om = vf_tuf_md_find_meta(old, "snapshot.json");
		if (om && nm->version < om->version) {
			r = vf_err_set(err, VF_EVERIFY,
				       "%s: snapshot.json version %llu is lower than "
				       "the trusted timestamp's %llu (rollback attack)",
				       file, (unsigned long long)nm->version,
				       (unsigned long long)om->version);
			goto out;
		}
	}
	if ((r = vf_client_check_expiry(d.md, file, c->now, err)))
		goto out;
	s->next[IDX(VF_TUF_TIMESTAMP)] = d;
	return 0;
out:
	vf_client_doc_release(&d);
	return r;
}

/*
 * 5.5/5.6: snapshot (pinned by timestamp) or targets (pinned by snapshot).
 * The trusted document is kept when it is exactly what the pin names.
 */
static int update_pinned(struct vf_client *c, struct refresh *s, enum vf_tuf_type type,
			 struct vf_err *err)
{
	enum vf_tuf_type by_type = type == VF_TUF_SNAPSHOT ? VF_TUF_TIMESTAMP : VF_TUF_SNAPSHOT;
	const struct vf_tuf_md *root = cur(c, s, VF_TUF_ROOT), *by = cur(c, s, by_type);
	const struct vf_tuf_md *old = cur(c, s, type);
	const char *name = vf_tuf_type_name(type);
	const struct vf_tuf_meta *m;
	struct vf_client_doc d = { NULL, VF_BUF_INIT };
	char mname[32], file[64], by_file[64], whose[64], limit_by[96];
	uint64_t max;
	bool same;
	int r;

	snprintf(mname, sizeof(mname), "%s.json", name);
	if (by_type == VF_TUF_SNAPSHOT && root->consistent_snapshot)
		snprintf(by_file, sizeof(by_file), "%llu.snapshot.json",
			 (unsigned long long)by->version);
	else
		snprintf(by_file, sizeof(by_file), "%s.json", vf_tuf_type_name(by_type));
	if (!(m = vf_tuf_md_find_meta(by, mname)))
		return vf_err_set(err, VF_EVERIFY, "%s: lists no %s", by_file, mname);
	if (root->consistent_snapshot)
		snprintf(file, sizeof(file), "%llu.%s", (unsigned long long)m->version, mname);
	else
		snprintf(file, sizeof(file), "%s", mname);

	if (old) {
		if ((r = vf_client_matches_pin(old, cur_bytes(c, s, type), m, &same)))
			return vf_err_set(err, -r, "%s: cannot hash the trusted copy", mname);
		if (same)
			return vf_client_check_expiry(old, file, c->now, err);
	}
	snprintf(whose, sizeof(whose), "root v%llu", (unsigned long long)root->version);
	if (m->has_length) {
		max = m->length;
		snprintf(limit_by, sizeof(limit_by), "length %s gives", by_file);
	} else {
		max = c->max_len[type];
		snprintf(limit_by, sizeof(limit_by), "the limit for %s", name);
	}
	if ((r = vf_client_fetch_md(c, file, max, limit_by, &d.bytes, err)) ||
	    (r = vf_client_check_pinned(file, m, by_file, &d.bytes, err)) ||
	    (r = vf_client_parse_md(file, type, &d.bytes, &d.md, err)) ||
	    (r = vf_client_check_sigs(root, name, d.md, file, whose, err)) ||
	    (r = vf_client_check_version(d.md, file, m, by_file, err)))
		goto out;
	/* 5.5.5: no targets metafile may go back or disappear */
	if (type == VF_TUF_SNAPSHOT && old) {
		for (size_t i = 0; i < old->n_meta; i++) {
			const struct vf_tuf_meta *o = old->meta[i];
			const struct vf_tuf_meta *n = vf_tuf_md_find_meta(d.md, o->name);

			if (!n) {
				r = vf_err_set(err, VF_EVERIFY,
					       "%s: lists no %s, which the trusted "
					       "snapshot version %llu lists (rollback attack)",
					       file, o->name, (unsigned long long)old->version);
				goto out;
			}
			if (n->version < o->version) {
				r = vf_err_set(err, VF_EVERIFY,
					       "%s: %s version %llu is lower than the "
					       "trusted snapshot's %llu (rollback attack)",
					       file, o->name, (unsigned long long)n->version,
					       (unsigned long long)o->version);
				goto out;
			}
		}
	}
	if ((r = vf_client_check_expiry(d.md, file, c->now, err)))
		goto out;
	s->next[IDX(type)] = d;
	return 0;
out:
	vf_client_doc_release(&d);
	return r;
}

/* Room to retire `n` more documents (so that commit cannot fail for memory). */
static int reserve_retired(struct vf_client *c, size_t n, struct vf_err *err)
{
	struct vf_tuf_md **v;
	size_t cap;

	if (c->n_retired + n <= c->cap_retired)
		return 0;
	cap = (c->n_retired + n) * 2;
	if (!(v = realloc(c->retired, cap * sizeof(*v))))
		return vf_client_nomem(err);
	c->retired = v;
	c->cap_retired = cap;
	return 0;
}

static void retire(struct vf_client *c, struct vf_tuf_md *md)
{
	if (md)
		c->retired[c->n_retired++] = md;
}

/* Write the new trusted state in the specification's order, then adopt it in memory. */
static int commit(struct vf_client *c, struct refresh *s, struct vf_err *err)
{
	static const enum vf_tuf_type order[] = { VF_TUF_ROOT, VF_TUF_TIMESTAMP, VF_TUF_SNAPSHOT,
						  VF_TUF_TARGETS };
	int r;

	if ((r = reserve_retired(c, N_TOP + c->n_roles, err)))
		return r;
	for (size_t i = 0; i < 4; i++) {
		enum vf_tuf_type t = order[i];
		struct vf_client_doc *n = &s->next[IDX(t)];
		char name[32];

		snprintf(name, sizeof(name), "%s.json", vf_tuf_type_name(t));
		if (t == VF_TUF_ROOT) {
			if (n->md || !c->root_on_disk) {
				r = vf_client_write_local(
					c->dir, name, n->md ? &n->bytes : &c->top[0].bytes, err);
				if (r)
					return r;
				c->root_on_disk = true;
			}
			if (s->remove_files &&
			    ((r = remove_local(c->dir, "timestamp.json", err)) ||
			     (r = remove_local(c->dir, "snapshot.json", err))))
				return r;
			continue;
		}
		if (n->md && (r = vf_client_write_local(c->dir, name, &n->bytes, err)))
			return r;
	}
	for (int i = 0; i < N_TOP; i++) {
		struct vf_client_doc *n = &s->next[i], *t = &c->top[i];

		if (!n->md && !s->drop[i])
			continue;
		retire(c, t->md);
		t->md = NULL;
		vf_buf_release(&t->bytes);
		*t = *n;
		memset(n, 0, sizeof(*n));
	}
	/* delegated roles are looked up again under the new snapshot */
	for (size_t i = 0; i < c->n_roles; i++) {
		retire(c, c->roles[i].md);
		free(c->roles[i].name);
		free(c->roles[i].delegator);
	}
	c->n_roles = 0;
	return 0;
}

int vf_client_refresh(struct vf_client *c, struct vf_err *err)
{
	static const enum vf_tuf_type order[] = { VF_TUF_ROOT, VF_TUF_TIMESTAMP, VF_TUF_SNAPSHOT,
						  VF_TUF_TARGETS };
	struct refresh s;
	uint64_t before[N_TOP];
	int r;

	memset(&s, 0, sizeof(s));
	c->refreshed = false;
	c->n_changes = 0;
	for (int i = 0; i < N_TOP; i++)
		before[i] = c->top[i].md ? c->top[i].md->version : 0;
	if (!c->root_on_disk)
		before[IDX(VF_TUF_ROOT)] = 0; /* first use: trusted_root, not yet in the state */
	if ((r = update_root(c, &s, err)) ||
	    (r = update_timestamp(c, &s, err)) ||
	    (r = update_pinned(c, &s, VF_TUF_SNAPSHOT, err)) ||
	    (r = update_pinned(c, &s, VF_TUF_TARGETS, err)) ||
	    (r = commit(c, &s, err)))
		goto out;
	for (size_t i = 0; i < 4; i++) {
		enum vf_tuf_type t = order[i];

		c->changes[i] = (struct vf_client_change){ t, before[IDX(t)],
							   c->top[IDX(t)].md->version };
	}
	c->n_changes = 4;
	c->refreshed = true;
out:
	for (int i = 0; i < N_TOP; i++)
		vf_client_doc_release(&s.next[i]);
	return r;
}
