/*
 * The A/B updater (update.h): banks read from the GPT and BOOT, an update
 * streamed (zstd) into the inactive bank, verified with dm-verity, then the
 * bank switch in one table write.
 */
#include "builder/update/update.h"

#include "builder/base/fs.h"
#include "builder/base/hex.h"
#include "builder/base/uuid.h"
#include "builder/ext4/ext4.h"
#include "builder/verity/verity.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

typedef unsigned long long ull;

static const char *const role_names[VF_UPDATER_ROLES] = { "BOOT", "ROOT", "HASH" };

#define AB_MASK ((0xfULL << VF_GPT_ATTR_PRIORITY_SHIFT) | (0xfULL << VF_GPT_ATTR_TRIES_SHIFT) | \
		 VF_GPT_ATTR_SUCCESSFUL)

static uint64_t ab_attrs(uint64_t attrs, unsigned priority, unsigned tries, bool successful)
{
	return (attrs & ~AB_MASK) | ((uint64_t)(priority & 0xf) << VF_GPT_ATTR_PRIORITY_SHIFT) |
	       ((uint64_t)(tries & 0xf) << VF_GPT_ATTR_TRIES_SHIFT) |
	       (successful ? VF_GPT_ATTR_SUCCESSFUL : 0);
}

uint32_t vf_updater_seed(const uint8_t disk_guid[16])
{
	uint32_t v = (uint32_t)disk_guid[0] << 24 | (uint32_t)disk_guid[1] << 16 |
		     (uint32_t)disk_guid[2] << 8 | (uint32_t)disk_guid[3];

	return v % VF_WAVES_MAX_SEED;
}

/* ---- the release file ------------------------------------------------------------- */

static bool variant_ok(const char *s, size_t len)
{
	if (len < 1 || len > 64 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool arch_ok(const char *s, size_t len)
{
	if (len < 1 || len > 32)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

int vf_updater_release_parse(const void *text, size_t len, struct vf_updater_release *ret,
			     struct vf_err *err)
{
	struct vf_updater_release rel;
	const char *p = text, *end = p + len;
	bool seen[3] = { false, false, false };
	static const char *const keys[3] = { "VARIANT", "ARCH", "VERSION" };
	size_t line = 0;
	int r;

	memset(&rel, 0, sizeof(rel));
	if (memchr(text, '\0', len))
		return vf_err_set(err, EINVAL, "it holds a NUL byte");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *eq;
		size_t klen, vlen;
		int k = -1;

		line++;
		if (!nl)
			return vf_err_set(err, EINVAL, "line %zu does not end with a newline", line);
		eq = memchr(p, '=', (size_t)(nl - p));
		if (!eq || eq == p)
			return vf_err_set(err, EINVAL, "line %zu: expected KEY=VALUE, got '%.*s'", line,
					  (int)(nl - p > 80 ? 80 : nl - p), p);
		klen = (size_t)(eq - p);
		vlen = (size_t)(nl - eq - 1);
		for (int i = 0; i < 3; i++)
			if (strlen(keys[i]) == klen && memcmp(keys[i], p, klen) == 0)
				k = i;
		if (k >= 0) {
			char *dst = k == 0 ? rel.variant : k == 1 ? rel.arch : rel.version;
			size_t cap = k == 0 ? sizeof(rel.variant) : k == 1 ? sizeof(rel.arch) :
				     sizeof(rel.version);

			if (seen[k])
				return vf_err_set(err, EINVAL, "line %zu: %s given twice", line, keys[k]);
			seen[k] = true;
			if ((k == 0 && !variant_ok(eq + 1, vlen)) || (k == 1 && !arch_ok(eq + 1, vlen)) ||
			    vlen >= cap)
				return vf_err_set(err, EINVAL, "line %zu: %s '%.*s' is not a valid %s",
						  line, keys[k], (int)(vlen > 80 ? 80 : vlen), eq + 1,
						  k == 0 ? "variant name" : k == 1 ? "architecture" :
						  "version");
			memcpy(dst, eq + 1, vlen);
			dst[vlen] = '\0';
			if (k == 2 && (r = vf_update_manifest_version_check(dst, err)))
				return vf_err_prefix(err, "line %zu: VERSION", line);
		}
		p = nl + 1;
	}
	for (int i = 0; i < 3; i++)
		if (!seen[i])
			return vf_err_set(err, EINVAL, "no %s= line", keys[i]);
	*ret = rel;
	return 0;
}

/* ---- the command line ------------------------------------------------------------- */

/* The next space-separated token of *p (inside the quoted table: stops at '"'). */
static bool next_token(const char **p, char *out, size_t cap)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ')
		s++;
	while (s[n] && s[n] != ' ' && s[n] != '"')
		n++;
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = s + n;
	return true;
}

static bool parse_u64(const char *text, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)text[0]))
		return false;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end)
		return false;
	*ret = v;
	return true;
}

int vf_updater_cmdline_parse(const char *cmdline, struct vf_updater_verity_table *ret,
			     struct vf_err *err)
{
	struct vf_updater_verity_table t;
	const char *dm = strstr(cmdline, "dm-mod.create=\""), *p;
	char tok[8][600];
	uint64_t n[5];

	memset(&t, 0, sizeof(t));
	if (!dm)
		return vf_err_set(err, EINVAL, "no dm-mod.create=\"…\"");
	p = strstr(dm, " verity ");
	if (!p || (strchr(dm + 15, '"') && p > strchr(dm + 15, '"')))
		return vf_err_set(err, EINVAL, "dm-mod.create= has no verity target");
	p += strlen(" verity");
	/* <version> <dev> <hash_dev> <dbs> <hbs> <blocks> <hash_start> <alg> <root> <salt> */
	if (!next_token(&p, tok[0], sizeof(tok[0])) || !parse_u64(tok[0], &n[0]) ||
	    !next_token(&p, t.data_dev, sizeof(t.data_dev)) ||
	    !next_token(&p, t.hash_dev, sizeof(t.hash_dev)))
		return vf_err_set(err, EINVAL, "the verity table lacks its version and devices");
	for (int i = 1; i < 5; i++)
		if (!next_token(&p, tok[i], sizeof(tok[i])) || !parse_u64(tok[i], &n[i]))
			return vf_err_set(err, EINVAL, "the verity table's %s is missing or not a "
					  "number", i == 1 ? "data block size" : i == 2 ?
					  "hash block size" : i == 3 ? "data block count" :
					  "hash start");
	if (!next_token(&p, t.hash_name, sizeof(t.hash_name)) ||
	    !next_token(&p, tok[5], sizeof(tok[5])) || !next_token(&p, tok[6], sizeof(tok[6])))
		return vf_err_set(err, EINVAL, "the verity table lacks its algorithm, root hash or "
				  "salt");
	if (n[0] > 1 || n[1] > UINT32_MAX || n[2] > UINT32_MAX)
		return vf_err_set(err, EINVAL, "the verity table's version or block sizes are out "
				  "of range");
	t.version = (uint32_t)n[0];
	t.data_block_size = (uint32_t)n[1];
	t.hash_block_size = (uint32_t)n[2];
	t.data_blocks = n[3];
	t.hash_start = n[4];
	if (vf_hex_parse(tok[5], t.root_hash, sizeof(t.root_hash), &t.root_hash_size) ||
	    t.root_hash_size == 0)
		return vf_err_set(err, EINVAL, "the verity table's root hash '%.140s' is not hex",
				  tok[5]);
	if (strcmp(tok[6], "-") != 0 &&
	    vf_hex_parse(tok[6], t.salt, sizeof(t.salt), &t.salt_size))
		return vf_err_set(err, EINVAL, "the verity table's salt '%.140s' is not hex", tok[6]);
	*ret = t;
	return 0;
}

int vf_updater_uuids(const uint8_t *root_hash, size_t len, uint8_t root_uuid[16],
		     uint8_t hash_uuid[16], struct vf_err *err)
{
	if (len < 32)
		return vf_err_set(err, EINVAL, "a root hash of %zu bytes cannot name ROOT and HASH "
				  "(32 needed)", len);
	memcpy(root_uuid, root_hash, 16);
	memcpy(hash_uuid, root_hash + 16, 16);
	return 0;
}

/* ---- status ----------------------------------------------------------------------- */

/* A file of BOOT-x as a NUL-terminated string. */
static int read_boot_file(const char *image, const struct vf_updater_bank *b, const char *file,
			  size_t max, char **ret, size_t *ret_len, struct vf_err *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	char *s;
	int r;

	r = vf_ext4_read_file(image, b->part[VF_UPDATER_BOOT].first_lba * VF_GPT_SECTOR, file, max,
			      &data, &len, err);
	if (r)
		return vf_err_prefix(err, "BOOT-%c: %s", b->name, file);
	s = malloc(len + 1);
	if (!s) {
		free(data);
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	memcpy(s, data, len);
	s[len] = '\0';
	free(data);
	*ret = s;
	*ret_len = len;
	return 0;
}

/* The release file and root hash of a present bank; problems only mark it empty. */
static void read_bank_files(const char *image, struct vf_updater_bank *b)
{
	struct vf_err e = { 0 };
	struct vf_updater_verity_table t;
	char *text = NULL;
	size_t len = 0;

	if (read_boot_file(image, b, VF_UPDATER_RELEASE_FILE, VF_UPDATER_RELEASE_MAX, &text, &len,
			   &e) == 0) {
		if (vf_updater_release_parse(text, len, &b->release, &e) == 0)
			b->has_release = true;
		else
			vf_err_prefix(&e, "BOOT-%c: %s", b->name, VF_UPDATER_RELEASE_FILE);
	}
	if (!b->has_release)
		snprintf(b->why_empty, sizeof(b->why_empty), "%s", e.msg);
	free(text);
	text = NULL;
	if (read_boot_file(image, b, VF_UPDATER_CMDLINE_FILE, VF_UPDATER_CMDLINE_MAX, &text, &len,
			   &e) == 0 && vf_updater_cmdline_parse(text, &t, &e) == 0) {
		memcpy(b->root_hash, t.root_hash, t.root_hash_size);
		b->root_hash_size = t.root_hash_size;
		b->has_root_hash = true;
	}
	free(text);
}

int vf_updater_status_read(const char *image, struct vf_updater_status *ret, struct vf_err *err)
{
	struct vf_updater_status st;
	struct vf_gpt_table t = { 0 };
	int r;

	memset(&st, 0, sizeof(st));
	if ((r = vf_gpt_read(image, &t, err)))
		return r;
	memcpy(st.disk_guid, t.disk_guid, 16);
	st.disk_size = t.disk_size;
	for (int k = 0; k < 2; k++) {
		struct vf_updater_bank *b = &st.bank[k];
		bool found[VF_UPDATER_ROLES] = { false, false, false };

		b->name = (char)('A' + k);
		for (size_t i = 0; i < t.n_parts; i++)
			for (int role = 0; role < VF_UPDATER_ROLES; role++) {
				char want[8];

				snprintf(want, sizeof(want), "%s-%c", role_names[role], b->name);
				if (t.parts[i].size_lba && strcmp(t.parts[i].name, want) == 0 &&
				    !found[role]) {
					found[role] = true;
					b->index[role] = i;
					b->part[role] = t.parts[i];
				}
			}
		b->present = found[0] && found[1] && found[2];
		if (!b->present) {
			snprintf(b->why_empty, sizeof(b->why_empty), "the disk has no %s-%c partition",
				 role_names[!found[0] ? 0 : !found[1] ? 1 : 2], b->name);
			continue;
		}
		{
			uint64_t a = b->part[VF_UPDATER_BOOT].attrs;

			b->priority = (unsigned)((a >> VF_GPT_ATTR_PRIORITY_SHIFT) & 0xf);
			b->tries = (unsigned)((a >> VF_GPT_ATTR_TRIES_SHIFT) & 0xf);
			b->successful = (a & VF_GPT_ATTR_SUCCESSFUL) != 0;
			b->bootable = b->priority > 0 && (b->successful || b->tries > 0);
		}
		read_bank_files(image, b);
	}
	vf_gpt_table_release(&t);
	if (!st.bank[0].present && !st.bank[1].present)
		return vf_err_set(err, ENOENT, "'%s' has no A/B banks (BOOT-A, ROOT-A, HASH-A)",
				  image);
	st.next = st.active = -1;
	for (int k = 0; k < 2; k++) {
		const struct vf_updater_bank *b = &st.bank[k];

		if (b->bootable && (st.next < 0 || b->priority > st.bank[st.next].priority))
			st.next = k;
		if (b->bootable && b->successful &&
		    (st.active < 0 || b->priority > st.bank[st.active].priority))
			st.active = k;
	}
	if (st.active < 0)
		st.active = st.next;
	*ret = st;
	return 0;
}

/* ---- selection -------------------------------------------------------------------- */

int vf_updater_find(const struct vf_updater_status *st, const void *text, size_t len,
		    uint32_t seed, time_t now, bool ignore_waves, const char *version_lock,
		    struct vf_update_manifest **ret_manifest, const struct vf_update **ret,
		    struct vf_err *err)
{
	struct vf_update_manifest *m = NULL;
	const struct vf_updater_bank *b;
	struct vf_update_query q;
	const struct vf_update *u = NULL;
	int r;

	if (st->active < 0)
		return vf_err_set(err, ENOENT, "no bank boots (neither has priority > 0 and tries "
				  "left or the successful bit)");
	b = &st->bank[st->active];
	if (!b->has_release)
		return vf_err_set(err, EINVAL, "the active bank %c has no release file: %s", b->name,
				  b->why_empty);
	if ((r = vf_update_manifest_parse(text, len, &m, err)))
		return vf_err_prefix(err, "%s", VF_UPDATE_MANIFEST_NAME);
	memset(&q, 0, sizeof(q));
	q.variant = b->release.variant;
	q.arch = b->release.arch;
	q.current = b->release.version;
	q.version_lock = version_lock;
	q.seed = seed;
	q.now = now;
	q.ignore_waves = ignore_waves;
	if ((r = vf_update_manifest_find_update(m, &q, &u, err))) {
		vf_update_manifest_free(m);
		return r;
	}
	*ret_manifest = m;
	*ret = u;
	return 0;
}

/* ---- writing a partition from a zstd stream ----------------------------------------- */

struct zsink {
	int fd;
	char part[16];          /* "ROOT-B" */
	const char *target;
	uint64_t offset, size;  /* of the partition */
	uint64_t written;       /* decompressed bytes written */
	uint64_t consumed;      /* compressed bytes received */
	ZSTD_DCtx *z;
	uint8_t *out;
	size_t out_cap;
	size_t last;            /* ZSTD_decompressStream's last return: 0 when a frame ended */
	int failed;             /* first error; later data is drained unread */
	struct vf_err ferr;
};

/* Write what one decompression step produced; a failure is kept in s->failed. */
static void zsink_write(struct zsink *s, size_t n)
{
	int r;

	if (n == 0)
		return;
	if (s->written + n > s->size) {
		s->failed = vf_err_set(&s->ferr, EFBIG, "%s: the image is larger than the partition: "
				       "more than %llu bytes, the partition has %llu", s->part,
				       (ull)(s->written + n), (ull)s->size);
		return;
	}
	if ((r = vf_fs_pwrite_full(s->fd, s->out, n, s->offset + s->written))) {
		s->failed = vf_err_sys(&s->ferr, -r, "%s: cannot write at byte %llu", s->part,
				       (ull)s->written);
		return;
	}
	s->written += n;
}

/* Decompress `in` (NULL, 0: flush) into the partition. */
static void zsink_feed(struct zsink *s, const void *data, size_t len)
{
	ZSTD_inBuffer in = { data, len, 0 };

	for (;;) {
		ZSTD_outBuffer o = { s->out, s->out_cap, 0 };
		size_t ret = ZSTD_decompressStream(s->z, &o, &in);

		if (ZSTD_isError(ret)) {
			s->failed = vf_err_set(&s->ferr, EINVAL, "target '%s' is not a valid zstd "
					       "stream (near compressed byte %llu): %s", s->target,
					       (ull)(s->consumed + in.pos), ZSTD_getErrorName(ret));
			return;
		}
		s->last = ret;
		zsink_write(s, o.pos);
		if (s->failed)
			return;
		/* 0: a frame ended, all flushed; otherwise stop once nothing more comes out */
		if (in.pos == in.size && (ret == 0 || o.pos < o.size))
			return;
	}
}

static int zsink_data(void *ctx, const void *data, size_t len, struct vf_err *err)
{
	struct zsink *s = ctx;

	(void)err;
	/* after a failure the rest is drained, so that the pull can still tell a
	 * target that fails its TUF check (the likelier cause) from a bad one */
	if (!s->failed && len) {
		zsink_feed(s, data, len);
		s->consumed += len;
	}
	return 0;
}

/* Pull one target into partition `role` of bank b. */
static int write_target(int fd, const struct vf_updater_bank *b, int role,
			const struct vf_updater_apply_opts *o, uint64_t *ret_written,
			struct vf_err *err)
{
	struct zsink s;
	int r;

	memset(&s, 0, sizeof(s));
	s.fd = fd;
	snprintf(s.part, sizeof(s.part), "%s-%c", role_names[role], b->name);
	s.target = o->target[role];
	s.offset = b->part[role].first_lba * VF_GPT_SECTOR;
	s.size = b->part[role].size_lba * VF_GPT_SECTOR;
	s.last = 1;
	s.out_cap = ZSTD_DStreamOutSize();
	s.z = ZSTD_createDCtx();
	s.out = malloc(s.out_cap);
	if (!s.z || !s.out) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	r = o->pull(o->pull_ctx, o->target[role], zsink_data, &s, err);
	if (r) {
		if (err && !strstr(err->msg, o->target[role]))
			vf_err_prefix(err, "target '%s'", o->target[role]);
		goto out;
	}
	if (s.failed) {
		*err = s.ferr;
		r = s.failed;
		goto out;
	}
	if (s.consumed == 0 || s.last != 0) {
		r = vf_err_set(err, EINVAL, "target '%s' is a truncated zstd stream (%llu bytes)",
			       o->target[role], (ull)s.consumed);
		goto out;
	}
	*ret_written = s.written;
	r = 0;
out:
	ZSTD_freeDCtx(s.z);
	free(s.out);
	return r;
}

/* ---- verification of the written bank ------------------------------------------------ */

static void partuuid_text(const uint8_t uuid[16], char out[64])
{
	char u[VF_UUID_TEXT_LEN + 1];

	vf_uuid_format(uuid, u);
	snprintf(out, 64, "PARTUUID=%s", u);
}

/* The table and HASH's superblock must describe one tree. */
static int compare_table(const struct vf_updater_verity_table *t, const struct vf_verity_params *p,
			 const struct vf_verity_geometry *g, char bank, struct vf_err *err)
{
	const char *what = NULL;
	ull a = 0, b = 0;

	if (t->version != p->hash_type)
		what = "format", a = t->version, b = p->hash_type;
	else if (t->data_block_size != p->data_block_size)
		what = "data block size", a = t->data_block_size, b = p->data_block_size;
	else if (t->hash_block_size != p->hash_block_size)
		what = "hash block size", a = t->hash_block_size, b = p->hash_block_size;
	else if (t->data_blocks != p->data_blocks)
		what = "data blocks", a = t->data_blocks, b = p->data_blocks;
	else if (t->hash_start != g->hash_start_block)
		what = "hash start block", a = t->hash_start, b = g->hash_start_block;
	if (what)
		return vf_err_set(err, VF_EVERIFY, "BOOT-%c's verity table and HASH-%c's superblock "
				  "disagree: %s %llu in the table, %llu in the superblock", bank,
				  bank, what, a, b);
	if (strcmp(t->hash_name, p->hash_name) != 0)
		return vf_err_set(err, VF_EVERIFY, "BOOT-%c's verity table and HASH-%c's superblock "
				  "disagree: hash '%s' in the table, '%s' in the superblock", bank,
				  bank, t->hash_name, p->hash_name);
	if (t->salt_size != p->salt_size || memcmp(t->salt, p->salt, t->salt_size) != 0)
		return vf_err_set(err, VF_EVERIFY, "BOOT-%c's verity table and HASH-%c's superblock "
				  "disagree: the salts differ", bank, bank);
	return 0;
}

/* Step 3: the new bank's release, command line and verity. */
static int verify_bank(const char *image, int fd, const struct vf_updater_status *st, int k,
		       const struct vf_updater_apply_opts *o, struct vf_updater_verity_table *ret_t,
		       struct vf_err *err)
{
	const struct vf_updater_bank *b = &st->bank[k], *act = &st->bank[st->active];
	struct vf_updater_release rel;
	struct vf_updater_verity_table t;
	struct vf_verity_params p;
	struct vf_verity_geometry g;
	struct vf_verity_failure fail;
	struct vf_verity_opts vo = { .threads = o->threads };
	uint8_t ru[16], hu[16];
	char want[64];
	char *text = NULL;
	size_t len = 0;
	uint64_t root_size = b->part[VF_UPDATER_ROOT].size_lba * VF_GPT_SECTOR;
	int r;

	if ((r = read_boot_file(image, b, VF_UPDATER_RELEASE_FILE, VF_UPDATER_RELEASE_MAX, &text,
				&len, err)))
		goto out;
	if ((r = vf_updater_release_parse(text, len, &rel, err))) {
		vf_err_prefix(err, "BOOT-%c: %s", b->name, VF_UPDATER_RELEASE_FILE);
		goto out;
	}
	if (strcmp(rel.variant, o->variant) || strcmp(rel.arch, o->arch) ||
	    strcmp(rel.version, o->version)) {
		r = vf_err_set(err, VF_EVERIFY, "BOOT-%c's %s says %s %s %s, the update manifest %s "
			       "%s %s", b->name, VF_UPDATER_RELEASE_FILE, rel.variant, rel.arch,
			       rel.version, o->variant, o->arch, o->version);
		goto out;
	}
	free(text);
	text = NULL;
	if ((r = read_boot_file(image, b, VF_UPDATER_CMDLINE_FILE, VF_UPDATER_CMDLINE_MAX, &text,
				&len, err)))
		goto out;
	if ((r = vf_updater_cmdline_parse(text, &t, err))) {
		vf_err_prefix(err, "BOOT-%c: %s", b->name, VF_UPDATER_CMDLINE_FILE);
		goto out;
	}
	if ((r = vf_updater_uuids(t.root_hash, t.root_hash_size, ru, hu, err))) {
		vf_err_prefix(err, "BOOT-%c: %s", b->name, VF_UPDATER_CMDLINE_FILE);
		goto out;
	}
	if (act->has_root_hash && act->root_hash_size == t.root_hash_size &&
	    memcmp(act->root_hash, t.root_hash, t.root_hash_size) == 0) {
		r = vf_err_set(err, EEXIST, "the update's root hash is the one of the active bank "
			       "%c: already installed", act->name);
		goto out;
	}
	/* the table must find the root it was built with, by content, in any bank */
	partuuid_text(ru, want);
	if (strcasecmp(t.data_dev, want) != 0) {
		r = vf_err_set(err, VF_EVERIFY, "BOOT-%c's verity table names the data device '%s', "
			       "expected '%s' (the first half of its root hash)", b->name,
			       t.data_dev, want);
		goto out;
	}
	partuuid_text(hu, want);
	if (strcasecmp(t.hash_dev, want) != 0) {
		r = vf_err_set(err, VF_EVERIFY, "BOOT-%c's verity table names the hash device '%s', "
			       "expected '%s' (the second half of its root hash)", b->name,
			       t.hash_dev, want);
		goto out;
	}
	if ((r = vf_verity_sb_load(image, b->part[VF_UPDATER_HASH].first_lba * VF_GPT_SECTOR, &p,
				   err))) {
		char why[VF_ERR_MSG_MAX];

		/* the hash target passed its check: a bad superblock is the update's fault */
		snprintf(why, sizeof(why), "%s", err ? err->msg : "");
		r = r == -ENOMEM ? r : vf_err_set(err, VF_EVERIFY, "HASH-%c: %s", b->name, why);
		goto out;
	}
	{
		/* the kernel counts hash_start from the start of HASH-x */
		struct vf_verity_params in_part = p;

		in_part.hash_offset = 0;
		if ((r = vf_verity_geometry_build(&in_part, &g, err)) ||
		    (r = compare_table(&t, &p, &g, b->name, err)))
			goto out;
	}
	if (p.data_blocks > root_size / p.data_block_size) {
		r = vf_err_set(err, VF_EVERIFY, "the verity tree covers %llu bytes, ROOT-%c has %llu",
			       (ull)(p.data_blocks * p.data_block_size), b->name, (ull)root_size);
		goto out;
	}
	if (g.hash_end > b->part[VF_UPDATER_HASH].size_lba * VF_GPT_SECTOR) {
		r = vf_err_set(err, VF_EVERIFY, "the verity tree ends at byte %llu, HASH-%c has %llu",
			       (ull)g.hash_end, b->name,
			       (ull)(b->part[VF_UPDATER_HASH].size_lba * VF_GPT_SECTOR));
		goto out;
	}
	vo.data_offset = b->part[VF_UPDATER_ROOT].first_lba * VF_GPT_SECTOR;
	memset(&fail, 0, sizeof(fail));
	if ((r = vf_verity_tree_verify(fd, fd, &p, &vo, t.root_hash, t.root_hash_size, &fail,
				       err))) {
		vf_err_prefix(err, "ROOT-%c against HASH-%c", b->name, b->name);
		goto out;
	}
	*ret_t = t;
out:
	free(text);
	return r;
}

int vf_updater_apply(const char *image, const struct vf_updater_apply_opts *o,
		     struct vf_updater_apply_result *ret, struct vf_err *err)
{
	struct vf_updater_status st;
	struct vf_updater_apply_result res;
	struct vf_updater_verity_table t;
	const struct vf_updater_bank *b, *act;
	struct vf_gpt_change c[4];
	int fd = -1, k, r;

	memset(&res, 0, sizeof(res));
	if ((r = vf_updater_status_read(image, &st, err)))
		return r;
	if (st.active < 0)
		return vf_err_set(err, ENOENT, "'%s': no bank boots: nothing to update from", image);
	k = 1 - st.active;
	b = &st.bank[k];
	act = &st.bank[st.active];
	if (!b->present)
		return vf_err_set(err, ENOENT, "'%s': bank %c cannot take the update: %s", image,
				  b->name, b->why_empty);
	res.bank = k;

	/* 1: the inactive bank unbootable before a byte of it changes */
	memset(c, 0, sizeof(c));
	c[0].index = b->index[VF_UPDATER_BOOT];
	c[0].set_attrs = true;
	c[0].attrs = ab_attrs(b->part[VF_UPDATER_BOOT].attrs, 0, 0, false);
	if ((r = vf_gpt_update(image, c, 1, err)))
		return vf_err_prefix(err, "cannot mark bank %c unbootable", b->name);

	/* 2: the targets, streamed into their partitions */
	fd = open(image, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return vf_err_sys(err, errno, "cannot open '%s'", image);
	for (int role = 0; role < VF_UPDATER_ROLES; role++)
		if ((r = write_target(fd, b, role, o, &res.written[role], err)))
			goto out;
	if (fsync(fd) < 0) {
		r = vf_err_sys(err, errno, "cannot fsync '%s'", image);
		goto out;
	}

	/* 3: what was written is what the command line will boot */
	if ((r = verify_bank(image, fd, &st, k, o, &t, err)))
		goto out;
	memcpy(res.root_hash, t.root_hash, t.root_hash_size);
	res.root_hash_size = t.root_hash_size;
	if (close(fd) < 0) {
		fd = -1;
		r = vf_err_sys(err, errno, "cannot close '%s'", image);
		goto out;
	}
	fd = -1;

	/* 4: the switch, in one table write */
	memset(c, 0, sizeof(c));
	c[0].index = b->index[VF_UPDATER_ROOT];
	c[0].set_uuid = true;
	c[1].index = b->index[VF_UPDATER_HASH];
	c[1].set_uuid = true;
	if ((r = vf_updater_uuids(t.root_hash, t.root_hash_size, c[0].uuid, c[1].uuid, err)))
		goto out;
	c[2].index = b->index[VF_UPDATER_BOOT];
	c[2].set_attrs = true;
	c[2].attrs = ab_attrs(b->part[VF_UPDATER_BOOT].attrs, 2, 1, false);
	c[3].index = act->index[VF_UPDATER_BOOT];
	c[3].set_attrs = true;
	c[3].attrs = ab_attrs(act->part[VF_UPDATER_BOOT].attrs, 1, act->tries, act->successful);
	if ((r = vf_gpt_update(image, c, 4, err))) {
		vf_err_prefix(err, "cannot switch to bank %c", b->name);
		goto out;
	}
	*ret = res;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* ---- rollback ------------------------------------------------------------------------ */

int vf_updater_rollback(const char *image, int *ret_bank, struct vf_err *err)
{
	struct vf_updater_status st;
	const struct vf_updater_bank *from, *to;
	struct vf_gpt_change c[2];
	int r;

	if ((r = vf_updater_status_read(image, &st, err)))
		return r;
	if (st.next < 0)
		return vf_err_set(err, ENOENT, "'%s': no bank boots, so there is none to roll back "
				  "from", image);
	from = &st.bank[st.next];
	to = &st.bank[1 - st.next];
	if (!to->present || !to->has_release)
		return vf_err_set(err, EINVAL, "'%s': cannot roll back to bank %c: it holds no "
				  "image (%s)", image, to->name, to->why_empty);
	if (!to->successful && to->tries == 0)
		return vf_err_set(err, EINVAL, "'%s': cannot roll back to bank %c (%s %s): it never "
				  "booted successfully and has no tries left", image, to->name,
				  to->release.variant, to->release.version);
	memset(c, 0, sizeof(c));
	c[0].index = to->index[VF_UPDATER_BOOT];
	c[0].set_attrs = true;
	c[0].attrs = ab_attrs(to->part[VF_UPDATER_BOOT].attrs, 2, to->tries, to->successful);
	c[1].index = from->index[VF_UPDATER_BOOT];
	c[1].set_attrs = true;
	c[1].attrs = ab_attrs(from->part[VF_UPDATER_BOOT].attrs, from->successful ? 1 : 0,
			      from->tries, from->successful);
	if ((r = vf_gpt_update(image, c, 2, err)))
		return vf_err_prefix(err, "cannot roll back to bank %c", to->name);
	if (ret_bank)
		*ret_bank = 1 - st.next;
	return 0;
}
