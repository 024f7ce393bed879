/*
 * Package archives into the tree, through libarchive (the only module that
 * uses it).
 *
 * Accepted: tar (ustar, pax, GNU, v7), cpio (all variants), rpm (its cpio
 * payload) and .deb (an ar archive: debian-binary, control.tar.* which is
 * never read, and data.tar.*, read as a nested stream straight from the outer
 * archive); compressed with gzip, bzip2, xz, lzma or zstd, or not at all.
 * libarchive must decompress in-process: a filter that would need an
 * external program is refused, so importing never runs anything.
 *
 * Each entry is checked before it touches the tree (tree_internal.h does the
 * rest: parents, conflicts, limits); file data is streamed into the store.
 * The whole import is one transaction: a failure leaves the tree unchanged.
 *
 * The pin (the sha256 of the archive's bytes) is computed over exactly the
 * bytes libarchive parses. When the archive is read from a file, a thread of
 * its own (struct pin) reads the file ahead into a ring of blocks while the
 * importer parses the blocks before it, so the reads cost the import no
 * time. A file that starts with zstd's magic is also decompressed by that
 * thread (libzstd, one frame after another, to the end of the file), and
 * libarchive parses the decompressed stream; so decompression, often the
 * larger part of importing a package, leaves the importer's thread too. The
 * pin still covers every byte of the file.
 *
 * The blocks read wait in a queue to be hashed for the pin. With SHA-NI the
 * importer takes them as a second lane while it hashes each content
 * (vf_sha256_update2(), through the store's hasher): two SHA-256 streams
 * cost it little more than one, and the pin's thread, which used to spend
 * half its time hashing, is free for reading and decompressing. The thread
 * hashes a block itself only when it needs its buffer again before the
 * importer got to it, and what is left at the end of the file.
 */
#include "builder/tree/tree_internal.h"

#include "builder/base/hex.h"
#include "keys/digest.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <locale.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#define READ_BLOCK (1024 * 1024)
#define MEMBER_BLOCK (256 * 1024)

#define PIN_RING 4  /* blocks read ahead of the importer, at most */
#define PIN_RAW 8   /* zstd: blocks of the file kept until the pin has hashed them */
#define PIN_QUEUE (PIN_RING > PIN_RAW ? PIN_RING : PIN_RAW)

/* Whether pins may be paired with contents (vf_tree_import_set_pairing(), for tests). */
static atomic_bool pairing = true;

void vf_tree_import_set_pairing(bool allowed)
{
	atomic_store(&pairing, allowed);
}

/* A block of the file the pin has not (all) hashed yet. */
struct pin_seg {
	const uint8_t *p;
	size_t len, done;
	int slot;                 /* the ring slot it is (a plain file), -1: a zstd file's */
};

/*
 * The pin's thread and its ring of read buffers. The thread reads slot
 * `head` once it is free, posts it (len) and queues it to be hashed; the
 * importer takes the slots in order and hands each to libarchive, which uses
 * it until its next read. A slot is free again once it is hashed and the
 * importer has moved past it; so with PIN_RING >= 2 the block libarchive
 * holds is never refilled under it. A zstd file's blocks are read into raw[]
 * instead, each free again once hashed.
 *
 * Locks: hmu guards the digest and the queue, mu the rest; a thread that
 * takes both takes hmu first.
 */
struct pin {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_mutex_t hmu;
	struct vf_sha256 sha;     /* the pin: every byte of the file, in order */
	struct pin_seg q[PIN_QUEUE]; /* blocks read, not hashed yet, oldest first */
	unsigned q_head, q_n;
	bool pair;                /* the importer takes the queue as a second lane */
	uint8_t digest[32];       /* once done */
	int fd;
	ZSTD_DCtx *z;             /* the file is zstd: decompressed here */
	uint8_t *raw[PIN_RAW];    /* with z: READ_BLOCK bytes read from the file, each */
	const char *zmsg;         /* with z: why decompression failed (len -EBADMSG) */
	uint8_t *buf[PIN_RING];
	ssize_t len[PIN_RING];    /* bytes read; 0 at the end; -errno after a read error */
	bool posted[PIN_RING];    /* read (len is set), not free yet */
	bool hashed[PIN_RING];    /* posted and hashed */
	bool taken[PIN_RING];     /* posted and the importer has moved past it */
	unsigned tail;            /* the importer's next slot */
	int held;                 /* the slot libarchive holds, -1: none */
	bool done;                /* the thread read the end (or an error) and hashed all */
	bool quit;                /* stop reading */
	bool failed;              /* a digest update failed */
};

/* Free slot i once it is both hashed and passed; with p->mu held. */
static void pin_settle(struct pin *p, unsigned i)
{
	if (p->posted[i] && p->hashed[i] && p->taken[i]) {
		p->posted[i] = p->hashed[i] = p->taken[i] = false;
		pthread_cond_broadcast(&p->cv);
	}
}

/* Wait until slot i is free; false when told to quit. */
static bool pin_slot_free(struct pin *p, unsigned i)
{
	bool go;

	pthread_mutex_lock(&p->mu);
	while (p->posted[i] && !p->quit)
		pthread_cond_wait(&p->cv, &p->mu);
	go = !p->quit;
	pthread_mutex_unlock(&p->mu);
	return go;
}

/* The oldest queued block is hashed: drop it, and free its slot (with hmu held). */
static void pin_seg_done(struct pin *p)
{
	int slot = p->q[p->q_head].slot;

	p->q_head = (p->q_head + 1) % PIN_QUEUE;
	p->q_n--;
	if (slot >= 0) {
		pthread_mutex_lock(&p->mu);
		p->hashed[slot] = true;
		pin_settle(p, (unsigned)slot);
		pthread_mutex_unlock(&p->mu);
	}
}

/* Whether the block at `buf` is queued (with hmu held). */
static bool pin_queued(const struct pin *p, const uint8_t *buf)
{
	for (unsigned k = 0; k < p->q_n; k++)
		if (p->q[(p->q_head + k) % PIN_QUEUE].p == buf)
			return true;
	return false;
}

/*
 * Hash queued blocks, oldest first, until the one at `buf` is hashed (NULL:
 * all of them). Returns 0 or -EIO (a digest update failed).
 */
static int pin_hash_through(struct pin *p, const uint8_t *buf)
{
	int r = 0;

	pthread_mutex_lock(&p->hmu);
	while (!r && p->q_n && (!buf || pin_queued(p, buf))) {
		struct pin_seg *g = &p->q[p->q_head];

		r = vf_sha256_update(&p->sha, g->p + g->done, g->len - g->done);
		pin_seg_done(p);
	}
	pthread_mutex_unlock(&p->hmu);
	return r;
}

/* Post decompressed bytes (or the end, or an error) in slot i: nothing to hash there. */
static void pin_post_plain(struct pin *p, unsigned i, ssize_t len, const char *zmsg)
{
	pthread_mutex_lock(&p->mu);
	if (zmsg)
		p->zmsg = zmsg;
	p->len[i] = len;
	p->posted[i] = p->hashed[i] = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* A digest update of the pin failed: the import fails at its end. */
static void pin_fail(struct pin *p)
{
	pthread_mutex_lock(&p->mu);
	p->failed = true;
	pthread_mutex_unlock(&p->mu);
}

/*
 * Queue a block just read to be hashed. Without a second lane to take it
 * (no SHA-NI), the thread hashes it right away, as before there was one.
 * The queue cannot overflow: a buffer is queued at most once (it is hashed
 * before it is read into again: pin_hash_through), and there are at most
 * PIN_QUEUE buffers.
 */
static void pin_push(struct pin *p, const uint8_t *buf, size_t len, int slot)
{
	pthread_mutex_lock(&p->hmu);
	p->q[(p->q_head + p->q_n) % PIN_QUEUE] = (struct pin_seg){ buf, len, 0, slot };
	p->q_n++;
	pthread_mutex_unlock(&p->hmu);
	if (!p->pair && pin_hash_through(p, NULL) < 0)
		pin_fail(p);
}

/*
 * The store's hasher while the pin runs (the importer's thread): feed a
 * content's bytes to `d`, with as many of the queue's bytes beside them as
 * there are, two lanes at a time. When the thread holds the queue (it is
 * hashing a block itself), the content goes alone.
 */
static int pin_pair(void *ctx, struct vf_sha256 *d, const void *data, size_t len)
{
	struct pin *p = ctx;
	const uint8_t *x = data;
	int r = 0;

	if (pthread_mutex_trylock(&p->hmu))
		return vf_sha256_update(d, data, len);
	while (!r && len && p->q_n) {
		struct pin_seg *g = &p->q[p->q_head];
		size_t k = g->len - g->done < len ? g->len - g->done : len;

		r = vf_sha256_update2(d, x, k, &p->sha, g->p + g->done, k);
		x += k;
		len -= k;
		if ((g->done += k) == g->len)
			pin_seg_done(p);
	}
	pthread_mutex_unlock(&p->hmu);
	return r ? r : vf_sha256_update(d, x, len);
}

/*
 * The zstd file: read each block (into raw[], once the pin has hashed what
 * was there), queue it for the pin, decompress it into the ring. At the end
 * of the file the last frame must be complete.
 */
static void pin_main_zstd(struct pin *p)
{
	unsigned i = 0, j = 0;
	size_t last = 1; /* ZSTD_decompressStream()'s last result: 0 when a frame ended */

	for (;;) {
		uint8_t *raw = p->raw[j];
		ssize_t n;
		ZSTD_inBuffer in;

		if (pin_hash_through(p, raw) < 0)
			pin_fail(p);
		do
			n = read(p->fd, raw, READ_BLOCK);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			/* the end (the last frame complete), a truncated frame, or a read error */
			const char *why = n == 0 && last ? "truncated stream (unexpected end of the file)" :
						   NULL;
			ssize_t end = n < 0 ? -errno : why ? -EBADMSG : 0;

			if (pin_slot_free(p, i))
				pin_post_plain(p, i, end, why);
			return;
		}
		pin_push(p, raw, (size_t)n, -1);
		j = (j + 1) % PIN_RAW;
		in = (ZSTD_inBuffer){ raw, (size_t)n, 0 };
		for (;;) {
			ZSTD_outBuffer out = { NULL, READ_BLOCK, 0 };
			size_t r;

			if (!pin_slot_free(p, i))
				return;
			out.dst = p->buf[i];
			r = ZSTD_decompressStream(p->z, &out, &in);
			if (ZSTD_isError(r)) {
				pin_post_plain(p, i, -EBADMSG, ZSTD_getErrorName(r));
				return;
			}
			last = r;
			if (out.pos) {
				pin_post_plain(p, i, (ssize_t)out.pos, NULL);
				i = (i + 1) % PIN_RING;
			}
			/* this block is used up and nothing more is held back */
			if (in.pos == in.size && out.pos < out.size)
				break;
		}
	}
}

/*
 * Any other file: read each block into the ring (once what was there is
 * hashed and passed), post it, queue it for the pin.
 */
static void pin_main_raw(struct pin *p)
{
	for (unsigned i = 0;; i = (i + 1) % PIN_RING) {
		ssize_t n;

		if (pin_hash_through(p, p->buf[i]) < 0)
			pin_fail(p);
		if (!pin_slot_free(p, i))
			return;
		do
			n = read(p->fd, p->buf[i], READ_BLOCK);
		while (n < 0 && errno == EINTR);
		pthread_mutex_lock(&p->mu);
		p->len[i] = n < 0 ? -errno : n;
		p->posted[i] = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (n <= 0)
			return;
		pin_push(p, p->buf[i], (size_t)n, (int)i);
	}
}

static void *pin_main(void *arg)
{
	struct pin *p = arg;
	bool quit;

	if (p->z)
		pin_main_zstd(p);
	else
		pin_main_raw(p);
	pthread_mutex_lock(&p->mu);
	quit = p->quit;
	pthread_mutex_unlock(&p->mu);
	/* what the importer did not take, then the pin itself */
	if (!quit && (pin_hash_through(p, NULL) < 0 || vf_sha256_final(&p->sha, p->digest) < 0))
		pin_fail(p);
	pthread_mutex_lock(&p->mu);
	p->done = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void pin_release(struct pin *p)
{
	for (unsigned i = 0; i < PIN_RING; i++)
		free(p->buf[i]);
	for (unsigned j = 0; j < PIN_RAW; j++)
		free(p->raw[j]);
	ZSTD_freeDCtx(p->z);
	vf_sha256_release(&p->sha);
	free(p);
}

/* Stop reading, let the thread finish the block it is at, and free it all. */
static void pin_free(struct pin *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->tid, NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->hmu);
	pin_release(p);
}

/* Whether the file starts with zstd's frame magic (read without moving the offset). */
static bool is_zstd(int fd)
{
	static const uint8_t magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	uint8_t b[4];

	return pread(fd, b, sizeof(b), 0) == (ssize_t)sizeof(b) && !memcmp(b, magic, sizeof(b));
}

/* A pin thread reading and hashing fd, decompressing a zstd file; NULL when it cannot start. */
static struct pin *pin_new(int fd)
{
	struct pin *p = calloc(1, sizeof(*p));
	bool ok = p != NULL && vf_sha256_init(&p->sha) == 0;

	for (unsigned i = 0; ok && i < PIN_RING; i++)
		ok = (p->buf[i] = malloc(READ_BLOCK)) != NULL;
	if (ok && is_zstd(fd)) {
		ok = (p->z = ZSTD_createDCtx()) != NULL;
		for (unsigned j = 0; ok && j < PIN_RAW; j++)
			ok = (p->raw[j] = malloc(READ_BLOCK)) != NULL;
	}
	if (ok) {
		p->fd = fd;
		p->held = -1;
		/* a second lane costs the importer next to nothing only with SHA-NI */
		p->pair = vf_sha256_lanes() && atomic_load(&pairing);
		pthread_mutex_init(&p->mu, NULL);
		pthread_mutex_init(&p->hmu, NULL);
		pthread_cond_init(&p->cv, NULL);
		if (pthread_create(&p->tid, NULL, pin_main, p) == 0)
			return p;
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
		pthread_mutex_destroy(&p->hmu);
	}
	if (p)
		pin_release(p);
	return NULL;
}

/*
 * Wait until the thread has read the whole file and hashed every block (the
 * importer has read up to the end: source_drain()); the pin into out[32].
 * Whether all went well.
 */
static bool pin_wait(struct pin *p, uint8_t out[32])
{
	bool ok;

	pthread_mutex_lock(&p->mu);
	while (!p->done)
		pthread_cond_wait(&p->cv, &p->mu);
	ok = !p->failed;
	pthread_mutex_unlock(&p->mu);
	memcpy(out, p->digest, 32);
	return ok;
}

/* The next block the thread read: its length, 0 at the end, -1 with errno set. */
static ssize_t pin_read(struct pin *p, const void **out)
{
	unsigned i = p->tail;
	ssize_t n;

	pthread_mutex_lock(&p->mu);
	/* libarchive is done with the block it held */
	if (p->held >= 0) {
		p->taken[p->held] = true;
		pin_settle(p, (unsigned)p->held);
		p->held = -1;
	}
	while (!p->posted[i])
		pthread_cond_wait(&p->cv, &p->mu);
	n = p->len[i];
	if (n > 0) {
		p->held = (int)i;
		p->tail = (i + 1) % PIN_RING;
	}
	pthread_mutex_unlock(&p->mu);
	if (n < 0) {
		errno = (int)-n;
		return -1;
	}
	*out = p->buf[i];
	return n;
}

/* Where the archive's bytes come from: an fd or memory; optionally hashed. */
struct source {
	int fd;
	const uint8_t *mem;
	size_t mem_len, mem_off;
	uint8_t *buf;
	struct vf_digest *d;      /* hashed inline: memory, or no thread */
	struct pin *pin;          /* hashed in a thread: files */
};

struct import {
	struct vf_tree *t;
	const struct vf_tree_import_opts *opts;
	const char *pkg;
	const char *what;         /* "'path'" or "the archive", for messages */
	uint64_t n_read;          /* entries seen, for nameless ones */
};

/* libarchive's message, first letter lowered to match ours. */
static const char *la_msg(struct archive *a, char *buf, size_t size)
{
	const char *m = archive_error_string(a);

	snprintf(buf, size, "%s", m && *m ? m : "unknown error");
	if (isupper((unsigned char)buf[0]) && islower((unsigned char)buf[1]))
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

/* Next block of the source; -1 with errno set on a read error. */
static ssize_t source_next(struct source *s, const void **out)
{
	ssize_t n;

	if (s->pin)
		return pin_read(s->pin, out);
	if (s->fd < 0) {
		n = (ssize_t)(s->mem_len - s->mem_off < READ_BLOCK ? s->mem_len - s->mem_off
								     : READ_BLOCK);
		*out = s->mem + s->mem_off;
		s->mem_off += (size_t)n;
	} else {
		do
			n = read(s->fd, s->buf, READ_BLOCK);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -1;
		*out = s->buf;
	}
	if (s->d && n > 0 && vf_digest_update(s->d, *out, (size_t)n) < 0) {
		errno = EIO;
		return -1;
	}
	return n;
}

static la_ssize_t source_read(struct archive *a, void *data, const void **out)
{
	struct source *s = data;
	ssize_t n = source_next(s, out);

	if (n < 0 && s->pin && s->pin->zmsg)
		archive_set_error(a, EIO, "zstd: %s", s->pin->zmsg);
	else if (n < 0)
		archive_set_error(a, errno, "read error: %s", strerror(errno));
	return n;
}

/* Hash what libarchive left unread (trailing padding or garbage) for the pin. */
static int source_drain(struct source *s, struct vf_err *err)
{
	for (;;) {
		const void *p;
		ssize_t n = source_next(s, &p);

		if (n == 0)
			return 0;
		if (n < 0 && s->pin && s->pin->zmsg)
			return vf_err_set(err, EIO, "after the archive's end: zstd: %s", s->pin->zmsg);
		if (n < 0)
			return vf_err_sys(err, errno, "read error");
	}
}

/* A reader that knows only what packages use, decompressing in-process. */
static int reader_new(bool outer, struct archive **ret, struct vf_err *err)
{
	static const struct {
		const char *name;
		int (*fn)(struct archive *);
	} filters[] = {
		{ "gzip", archive_read_support_filter_gzip },
		{ "bzip2", archive_read_support_filter_bzip2 },
		{ "xz", archive_read_support_filter_xz },
		{ "lzma", archive_read_support_filter_lzma },
		{ "zstd", archive_read_support_filter_zstd },
		{ "rpm", archive_read_support_filter_rpm },
	};
	struct archive *a = archive_read_new();
	char msg[256];

	*ret = NULL;
	if (!a)
		return vf_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		if (!outer && !strcmp(filters[i].name, "rpm"))
			continue;
		/* ARCHIVE_WARN means "through an external program": refused */
		if (filters[i].fn(a) != ARCHIVE_OK) {
			la_msg(a, msg, sizeof(msg));
			archive_read_free(a);
			return vf_err_set(err, ENOTSUP, "libarchive cannot decompress %s in-process: %s",
					  filters[i].name, msg);
		}
	}
	if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    (outer && (archive_read_support_format_cpio(a) != ARCHIVE_OK ||
		       archive_read_support_format_ar(a) != ARCHIVE_OK))) {
		archive_read_free(a);
		return vf_err_set(err, ENOTSUP, "libarchive lacks a needed archive format");
	}
	*ret = a;
	return 0;
}

/* Stream the current entry's data into the store; holes are read as zeros. */
static int read_content(struct import *im, struct archive *a, struct archive_entry *ae,
			uint8_t sha256[32], uint64_t *size, struct vf_err *err)
{
	struct vf_tree_store *s = vf_tree_store_of(im->t);
	uint64_t max = vf_tree_limits_of(im->t)->max_entry_size;
	bool has_size = archive_entry_size_is_set(ae);
	int64_t declared = has_size ? archive_entry_size(ae) : 0;
	uint64_t pos = 0;
	char msg[512];
	int r;

	if (declared < 0)
		return vf_err_set(err, EINVAL, "negative size %" PRId64, declared);
	if ((uint64_t)declared > max)
		return vf_err_set(err, EFBIG, "file is %" PRId64 " bytes, more than the limit of %"
				  PRIu64 " bytes", declared, max);
	if ((r = vf_tree_store_begin(s, err)))
		return r;
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int rr = archive_read_data_block(a, &buf, &len, &off);

		if (rr == ARCHIVE_EOF)
			break;
		if (rr != ARCHIVE_OK) {
			r = vf_err_set(err, EIO, "cannot read its content: %s", la_msg(a, msg, sizeof(msg)));
			goto fail;
		}
		if (off < 0 || (uint64_t)off < pos) {
			r = vf_err_set(err, EINVAL, "content blocks out of order (offset %" PRId64
				       " after %" PRIu64 ")", (int64_t)off, pos);
			goto fail;
		}
		if ((uint64_t)off > pos && (r = vf_tree_store_write_zeros(s, (uint64_t)off - pos, err)))
			goto fail;
		if ((r = vf_tree_store_write(s, buf, len, err)))
			goto fail;
		pos = (uint64_t)off + len;
	}
	/* a trailing hole of a sparse file */
	if ((uint64_t)declared > pos && (r = vf_tree_store_write_zeros(s, (uint64_t)declared - pos, err)))
		goto fail;
	return vf_tree_store_end(s, sha256, size, err);
fail:
	vf_tree_store_abort(s);
	return r;
}

/* The entry's xattrs, copied, sorted and deduplicated. */
static int read_xattrs(struct archive_entry *ae, struct vf_tree_entry *e, struct vf_err *err)
{
	int n = archive_entry_xattr_reset(ae);
	const char *name;
	const void *value;
	size_t len;

	if (n <= 0)
		return 0;
	if (!(e->xattrs = calloc((size_t)n, sizeof(*e->xattrs))))
		return vf_err_set(err, ENOMEM, "out of memory");
	while (e->n_xattrs < (size_t)n && archive_entry_xattr_next(ae, &name, &value, &len) == ARCHIVE_OK) {
		struct vf_tree_xattr *x = &e->xattrs[e->n_xattrs];

		x->name = strdup(name ? name : "");
		x->value = malloc(len ? len : 1);
		if (!x->name || !x->value) {
			free(x->name);
			free(x->value);
			return vf_err_set(err, ENOMEM, "out of memory");
		}
		if (len)
			memcpy(x->value, value, len);
		x->len = len;
		e->n_xattrs++;
	}
	return vf_tree_xattrs_sort(e->xattrs, &e->n_xattrs, err);
}

static int id_of(la_int64_t v, const char *what, uint32_t *ret, struct vf_err *err)
{
	if (v < 0 || v > (la_int64_t)UINT32_MAX - 1)
		return vf_err_set(err, ERANGE, "%s %" PRId64 " is out of range", what, (int64_t)v);
	*ret = (uint32_t)v;
	return 0;
}

/*
 * One entry. `name` is the archive's (escaped) name for messages; errors
 * come back prefixed with "entry '<name>'" or naming the entry by its kind.
 */
static int import_entry(struct import *im, struct archive *a, struct archive_entry *ae,
			struct vf_err *err)
{
	char esc[VF_TREE_ESC_MAX], lesc[VF_TREE_ESC_MAX], pesc[VF_TREE_ESC_MAX];
	struct vf_tree_insert_opts io = { .replace = im->opts->override, .who = NULL };
	struct vf_tree_entry e = { 0 };
	const struct vf_tree_entry *target = NULL;
	const char *raw = archive_entry_pathname(ae);
	const char *hl = archive_entry_hardlink(ae);
	char *path = NULL, *link = NULL;
	int r;

	im->n_read++;
	if (!raw)
		raw = archive_entry_pathname_utf8(ae);
	if (!raw || !*raw)
		return vf_err_set(err, EINVAL, "entry #%" PRIu64 " has no name", im->n_read);
	vf_tree_escape(raw, esc, sizeof(esc));
	vf_tree_escape(im->pkg, pesc, sizeof(pesc));
	if ((r = vf_tree_path_normalize_raw(raw, &path, err)))
		goto entry_err;

	if (hl) {
		e.type = VF_TREE_HARDLINK;
	} else {
		switch (archive_entry_filetype(ae)) {
		case AE_IFREG: e.type = VF_TREE_FILE; break;
		case AE_IFDIR: e.type = VF_TREE_DIR; break;
		case AE_IFLNK: e.type = VF_TREE_SYMLINK; break;
		case AE_IFCHR: e.type = VF_TREE_CHR; break;
		case AE_IFBLK: e.type = VF_TREE_BLK; break;
		case AE_IFIFO: e.type = VF_TREE_FIFO; break;
		case AE_IFSOCK:
			r = vf_err_set(err, EPERM, "socket '%s' is not allowed", esc);
			goto out;
		default:
			r = vf_err_set(err, EINVAL, "unsupported file type 0%o",
				       (unsigned)archive_entry_filetype(ae));
			goto entry_err;
		}
	}
	if (!*path) {
		/* the archive's own "./": the image root is the builder's, not a package's */
		if (e.type != VF_TREE_DIR) {
			r = vf_err_set(err, EINVAL, "the root must be a directory, not a %s",
				       vf_tree_type_name(e.type));
			goto entry_err;
		}
		goto out;
	}
	if ((e.type == VF_TREE_CHR || e.type == VF_TREE_BLK) && !im->opts->allow_devices) {
		r = vf_err_set(err, EPERM, "device node '%s' is not allowed: set allow_devices for package '%s'",
			       esc, pesc);
		goto out;
	}
	if (e.type == VF_TREE_SYMLINK) {
		const char *sl = archive_entry_symlink(ae);

		if (!sl)
			sl = archive_entry_symlink_utf8(ae);
		if (!sl || !*sl) {
			r = vf_err_set(err, EINVAL, "symlink '%s' has an empty target", esc);
			goto out;
		}
		if (strlen(sl) > VF_TREE_PATH_MAX) {
			r = vf_err_set(err, ENAMETOOLONG, "symlink '%s': target is %zu bytes long, more than %d",
				       esc, strlen(sl), VF_TREE_PATH_MAX);
			goto out;
		}
		e.link = (char *)sl;
	}
	if (e.type == VF_TREE_HARDLINK) {
		vf_tree_escape(hl, lesc, sizeof(lesc));
		if ((r = vf_tree_path_normalize_raw(hl, &link, err))) {
			vf_err_prefix(err, "hardlink '%s' points to '%s'", esc, lesc);
			goto out;
		}
		target = vf_tree_get(im->t, link);
		if (target && target->type == VF_TREE_HARDLINK)
			target = vf_tree_get(im->t, target->link);
		if (!target) {
			r = vf_err_set(err, ENOENT, "hardlink '%s' points to '%s', which is not in the tree",
				       esc, lesc);
			goto out;
		}
		if (target->type != VF_TREE_FILE) {
			r = vf_err_set(err, EINVAL,
				       "hardlink '%s' points to '%s', which is a %s, not a regular file",
				       esc, lesc, vf_tree_type_name(target->type));
			goto out;
		}
		e.link = link;
	}
	if ((r = id_of(archive_entry_uid(ae), "uid", &e.uid, err)) ||
	    (r = id_of(archive_entry_gid(ae), "gid", &e.gid, err)))
		goto entry_err;
	e.path = path;
	e.origin = (char *)im->pkg;
	e.mode = (uint32_t)archive_entry_perm(ae) & 07777;
	e.mtime = archive_entry_mtime_is_set(ae) ? (int64_t)archive_entry_mtime(ae) : 0;
	if (e.mtime < 0)
		e.mtime = 0;
	if (e.type == VF_TREE_CHR || e.type == VF_TREE_BLK) {
		e.rdev_major = (uint32_t)archive_entry_rdevmajor(ae);
		e.rdev_minor = (uint32_t)archive_entry_rdevminor(ae);
	}
	if (e.type != VF_TREE_HARDLINK && (r = read_xattrs(ae, &e, err)))
		goto entry_err;
	/* parents first: no content is stored for an entry that cannot go in */
	if ((r = vf_tree_make_parents(im->t, path, im->pkg, err)))
		goto entry_err;
	if (e.type == VF_TREE_FILE && (r = read_content(im, a, ae, e.sha256, &e.size, err)))
		goto entry_err;
	if (e.type == VF_TREE_HARDLINK && archive_entry_size_is_set(ae) && archive_entry_size(ae) > 0) {
		/* cpio style: the last name of a file carries the data for all of them */
		uint8_t sha[32];
		uint64_t size;

		if ((r = read_content(im, a, ae, sha, &size, err)) ||
		    (r = vf_tree_set_content(im->t, target->path, im->pkg, sha, size, err)))
			goto entry_err;
	}
	r = vf_tree_insert(im->t, &e, &io, err);
entry_err:
	if (r)
		vf_err_prefix(err, "entry '%s'", esc);
out:
	if (e.type != VF_TREE_HARDLINK) {
		for (size_t i = 0; i < e.n_xattrs; i++) {
			free(e.xattrs[i].name);
			free(e.xattrs[i].value);
		}
	}
	free(e.xattrs);
	free(link);
	free(path);
	return r;
}

/* Every entry of an (inner or outer) archive positioned before its first header. */
static int import_entries(struct import *im, struct archive *a, struct archive_entry *first,
			  const char *what, struct vf_err *err)
{
	struct archive_entry *ae = first;
	char msg[512];
	int r;

	for (;;) {
		if (!ae) {
			r = archive_read_next_header(a, &ae);
			if (r == ARCHIVE_EOF)
				return 0;
			if (r != ARCHIVE_OK)
				return vf_err_set(err, EIO, "cannot read %s: %s", what,
						  la_msg(a, msg, sizeof(msg)));
		}
		if ((r = import_entry(im, a, ae, err)))
			return r;
		ae = NULL;
	}
}

struct member {
	struct archive *outer;
	uint8_t *buf;
};

static la_ssize_t member_read(struct archive *inner, void *data, const void **out)
{
	struct member *m = data;
	la_ssize_t n = archive_read_data(m->outer, m->buf, MEMBER_BLOCK);

	if (n < 0) {
		const char *s = archive_error_string(m->outer);

		archive_set_error(inner, archive_errno(m->outer) ? archive_errno(m->outer) : EIO,
				  "%s", s ? s : "read error");
		return -1;
	}
	*out = m->buf;
	return n;
}

/* The data.tar.* member of a .deb, read as an archive of its own. */
static int import_deb_data(struct import *im, struct archive *outer, const char *name,
			   struct vf_err *err)
{
	struct member m = { outer, NULL };
	struct archive *inner = NULL;
	char what[VF_TREE_ESC_MAX + 16], esc[VF_TREE_ESC_MAX], msg[512];
	int r;

	snprintf(what, sizeof(what), "member '%s'", vf_tree_escape(name, esc, sizeof(esc)));
	if (!(m.buf = malloc(MEMBER_BLOCK)))
		return vf_err_set(err, ENOMEM, "out of memory");
	if ((r = reader_new(false, &inner, err)))
		goto out;
	if (archive_read_open(inner, &m, NULL, member_read, NULL) != ARCHIVE_OK) {
		r = vf_err_set(err, EIO, "cannot read %s: %s", what, la_msg(inner, msg, sizeof(msg)));
		goto out;
	}
	r = import_entries(im, inner, NULL, what, err);
out:
	archive_read_free(inner);
	free(m.buf);
	return r;
}

/*
 * A .deb: "debian-binary" ("2.x"), then control.tar.* (skipped: maintainer
 * scripts are never read, let alone run), then exactly one data.tar.*.
 */
static int import_deb(struct import *im, struct archive *a, struct archive_entry *ae,
		      struct vf_err *err)
{
	char esc[VF_TREE_ESC_MAX], msg[512], version[16] = "";
	bool data = false;
	const char *name = archive_entry_pathname(ae);
	la_ssize_t n;
	int r;

	if (!name || strcmp(name, "debian-binary"))
		return vf_err_set(err, EINVAL, "not a Debian package: an ar archive whose first member is '%s', not 'debian-binary'",
				  vf_tree_escape(name ? name : "", esc, sizeof(esc)));
	n = archive_read_data(a, version, sizeof(version) - 1);
	if (n < 0)
		return vf_err_set(err, EIO, "cannot read 'debian-binary': %s", la_msg(a, msg, sizeof(msg)));
	version[n] = '\0';
	version[strcspn(version, "\n")] = '\0';
	if (strncmp(version, "2.", 2))
		return vf_err_set(err, EINVAL, "unsupported .deb format version '%s' (expected 2.x)",
				  vf_tree_escape(version, esc, sizeof(esc)));
	for (;;) {
		r = archive_read_next_header(a, &ae);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return vf_err_set(err, EIO, "cannot read the .deb: %s", la_msg(a, msg, sizeof(msg)));
		name = archive_entry_pathname(ae);
		if (!name)
			name = "";
		vf_tree_escape(name, esc, sizeof(esc));
		if (!strcmp(name, "control.tar") || !strncmp(name, "control.tar.", 12) || name[0] == '_')
			continue;
		if (strcmp(name, "data.tar") && strncmp(name, "data.tar.", 9))
			return vf_err_set(err, EINVAL, "unexpected member '%s' in a .deb", esc);
		if (data)
			return vf_err_set(err, EINVAL, "a second data member '%s' in a .deb", esc);
		data = true;
		if ((r = import_deb_data(im, a, name, err)))
			return r;
	}
	if (!data)
		return vf_err_set(err, EINVAL, "no data.tar member in the .deb");
	return 0;
}

/*
 * Names are read as the bytes in the archive, whatever the caller's locale:
 * libarchive converts pax's UTF-8 names to the current locale's charset, so
 * the import runs in a UTF-8 locale (on this thread only), where that
 * conversion is the identity and tar/cpio's raw names pass through as they
 * are. Returns the locale to restore with end_utf8(), or 0 when none exists
 * (then a name the locale cannot represent fails the import).
 */
static locale_t begin_utf8(locale_t *ret_loc)
{
	static const char *const names[] = { "C.UTF-8", "C.utf8", "en_US.UTF-8" };

	*ret_loc = (locale_t)0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		locale_t loc = newlocale(LC_CTYPE_MASK, names[i], (locale_t)0);

		if (loc) {
			*ret_loc = loc;
			return uselocale(loc);
		}
	}
	return (locale_t)0;
}

static void end_utf8(locale_t old, locale_t loc)
{
	if (!loc)
		return;
	uselocale(old);
	freelocale(loc);
}

static int import_source(struct vf_tree *t, struct source *src, const char *what,
			 const struct vf_tree_import_opts *opts, struct vf_err *err);

static int import_source_utf8(struct vf_tree *t, struct source *src, const char *what,
			      const struct vf_tree_import_opts *opts, struct vf_err *err)
{
	locale_t loc, old = begin_utf8(&loc);
	int r = import_source(t, src, what, opts, err);

	end_utf8(old, loc);
	return r;
}

static int import_source(struct vf_tree *t, struct source *src, const char *what,
			 const struct vf_tree_import_opts *opts, struct vf_err *err)
{
	struct import im = { t, opts, opts->pkg_name, what, 0 };
	struct archive *a = NULL;
	struct archive_entry *ae;
	bool txn = false;
	char msg[512];
	int r;

	if (opts->sha256 && !(src->d = vf_digest_new(vf_digest_alg_get("sha256"))))
		return vf_err_set(err, ENOMEM, "out of memory");
	/*
	 * a file's pin comes from a thread, and, with SHA-NI, from the content
	 * digests' second lane; source_next() then leaves src->d alone
	 */
	if (src->d && src->fd >= 0)
		src->pin = pin_new(src->fd);
	if (src->pin && src->pin->pair)
		vf_tree_store_set_hasher(vf_tree_store_of(t), pin_pair, src->pin);
	if ((r = reader_new(true, &a, err)))
		goto out;
	if (archive_read_open(a, src, NULL, source_read, NULL) != ARCHIVE_OK) {
		r = vf_err_set(err, EIO, "cannot read %s: %s", what, la_msg(a, msg, sizeof(msg)));
		goto out;
	}
	if ((r = vf_tree_txn_begin(t, err)))
		goto out;
	txn = true;
	r = archive_read_next_header(a, &ae);
	if (r == ARCHIVE_EOF) {
		r = 0; /* an empty archive */
	} else if (r != ARCHIVE_OK) {
		r = vf_err_set(err, EIO, "cannot read %s: %s", what, la_msg(a, msg, sizeof(msg)));
	} else if ((archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_AR) {
		r = import_deb(&im, a, ae, err);
	} else {
		r = import_entries(&im, a, ae, what, err);
	}
	if (!r && src->d) {
		uint8_t got[32];
		char want_hex[65], got_hex[65];

		if ((r = source_drain(src, err)))
			goto out;
		if (src->pin ? !pin_wait(src->pin, got) : vf_digest_final(src->d, got) < 0) {
			r = vf_err_set(err, EIO, "sha256 digest failed");
			goto out;
		}
		if (memcmp(got, opts->sha256, 32)) {
			vf_hex_format(opts->sha256, 32, want_hex);
			vf_hex_format(got, 32, got_hex);
			r = vf_err_set(err, VF_EVERIFY, "sha256 mismatch: expected %s, got %s",
				       want_hex, got_hex);
		}
	}
out:
	if (txn) {
		if (r)
			vf_tree_txn_rollback(t);
		else
			vf_tree_txn_commit(t);
	}
	archive_read_free(a);
	if (src->pin)
		vf_tree_store_set_hasher(vf_tree_store_of(t), NULL, NULL);
	pin_free(src->pin);
	src->pin = NULL;
	vf_digest_free(src->d);
	src->d = NULL;
	return r;
}

static int check_opts(const struct vf_tree_import_opts *opts, struct vf_err *err)
{
	if (!opts || !opts->pkg_name || !*opts->pkg_name)
		return vf_err_set(err, EINVAL, "import without a package name");
	return 0;
}

int vf_tree_import_archive(struct vf_tree *t, const char *archive_path,
			   const struct vf_tree_import_opts *opts, struct vf_err *err)
{
	struct source src = { .fd = -1 };
	char esc[VF_TREE_ESC_MAX], what[VF_TREE_ESC_MAX + 8];
	int r;

	if ((r = check_opts(opts, err)))
		return r;
	snprintf(what, sizeof(what), "'%s'", vf_tree_escape(archive_path, esc, sizeof(esc)));
	src.fd = open(archive_path, O_RDONLY | O_CLOEXEC);
	if (src.fd < 0) {
		r = vf_err_sys(err, errno, "cannot open %s", what);
		goto out;
	}
	if (!(src.buf = malloc(READ_BLOCK))) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	r = import_source_utf8(t, &src, what, opts, err);
out:
	if (src.fd >= 0)
		close(src.fd);
	free(src.buf);
	if (r)
		vf_err_prefix(err, "package '%s'", vf_tree_escape(opts->pkg_name, esc, sizeof(esc)));
	return r;
}

int vf_tree_import_memory(struct vf_tree *t, const void *data, size_t len,
			  const struct vf_tree_import_opts *opts, struct vf_err *err)
{
	struct source src = { .fd = -1, .mem = data, .mem_len = len };
	char esc[VF_TREE_ESC_MAX];
	int r;

	if ((r = check_opts(opts, err)))
		return r;
	r = import_source_utf8(t, &src, "the archive", opts, err);
	if (r)
		vf_err_prefix(err, "package '%s'", vf_tree_escape(opts->pkg_name, esc, sizeof(esc)));
	return r;
}
