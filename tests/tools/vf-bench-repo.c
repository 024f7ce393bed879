/*
 * vf-bench-repo: time vforge's TUF metadata code on a large repository, in
 * one process, with synthetic target hashes (no file I/O for targets, as
 * python-tuf's repository benchmark in /work/shared/reference/tuf.md §5).
 *
 *   vf-bench-repo [-n N] [--bits B] [--runs R] [--only flat|bins|scale] [--key PEM]
 *                 [--scale-n N]... [--scale-bits B] [--dir DIR] [--keep]
 *
 * flat: N targets (default 100,000) in one targets.json: build the model
 *       (vf_tuf_targets_add_target in path order), the canonical signed bytes,
 *       sign (ed25519; includes canonicalising again), format the pretty file
 *       and write it as the publisher does (temporary file, fsync, rename),
 *       parse it back, verify the signature.
 * bins: the same targets in 2^B succinct hash bins (default B = 10: 1,024
 *       bins): assign (bin index of every path, one document per bin), then
 *       sign (the bins on every CPU, vf_tuf_md_sign_many, as the publisher
 *       does), format and write every bin (as the publisher writes a batch:
 *       temporary files, one syncfs, the renames, one directory fsync), the
 *       delegating targets.json and a snapshot listing them all (each fsync'd);
 *       then parse every file back and verify it.
 * scale: bounded memory at scale. For each --scale-n (default 100,000 and
 *       1,000,000; at most 1,000,000) targets in 2^--scale-bits bins (default
 *       14: 16,384 bins): compute every target's bin (an index of 6 bytes per
 *       target while sorting, 4 after: the only memory that grows with the
 *       number of targets), then build, sign, format and write each bin and
 *       FREE it before the next one (temporary files; one syncfs, the renames
 *       and one directory fsync, as the publisher writes a batch), then
 *       targets.json (the succinct delegation), a snapshot listing every bin
 *       with version, length and sha256, and timestamp.json, each fsync'd.
 *       Peak RSS is reported after the bins and at the end, side by side for
 *       each N. Then, in another process, add one target as a publisher
 *       does: parse timestamp, snapshot, targets and the target's bin, verify
 *       their signatures (and the snapshot's and the bin's bytes against the
 *       sha256 listed for them), add the target, re-sign the bin, snapshot and
 *       timestamp and write those 3 files (fsync and rename each).
 *
 * Each run happens in a child process, so that its peak RSS (getrusage
 * ru_maxrss) is its own, and flat and bins write a repository of their own
 * each run (replacing the previous run's files made ext4 look for inodes not
 * deleted lately: 0.5 s more for 1,024 files here). Phases print wall time (CLOCK_MONOTONIC) and CPU time
 * (CLOCK_PROCESS_CPUTIME_ID, all threads), best of R runs (default 3). The
 * last line of each scenario is machine-readable:
 *   RESULT <scenario> n=<N> total_s=<wall, python-tuf's phases> cpu_s=<their CPU>
 *          all_s=<wall, all phases> all_cpu_s=<their CPU> rss_kb=<peak RSS>
 *   RESULT scale n=<N> bins=<2^B> total_s=<wall> cpu_s=<CPU> rss_bins_kb=<peak RSS
 *          after the bins> rss_kb=<peak RSS> add_s=<wall> add_cpu_s=<CPU>
 *          add_rss_kb=<peak RSS of adding one target>
 * Target paths are "pkgs/%03u/target-%06u.txt" of i / 1000 and i: N is at most
 * 1,000,000 (beyond it the paths would repeat).
 * With --key the signing key is that PEM file (outputs are then reproducible
 * byte for byte); without, a new ed25519 key is generated under DIR. Writes
 * under DIR (default: a new directory under $TMPDIR), removed unless --keep.
 */
#include "builder/base/err.h"
#include "builder/base/fs.h"
#include "builder/base/parallel.h"
#include "keys/key.h"
#include "repo/metadata.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXPIRES ((time_t)1900000000) /* 2030-03-17T17:46:40Z: fixed, outputs are reproducible */
#define MAX_PHASES 8
#define MAX_N 1000000 /* target_of() makes unique paths below this */
#define MAX_SCALE 4   /* --scale-n columns */

struct phase {
	const char *name;
	bool python;  /* part of the work python-tuf's figure measures */
	double wall, cpu;
};

struct result {
	struct phase p[MAX_PHASES];
	size_t n;
	long rss_kb;
	uint64_t bytes_canonical, bytes_file;
	/* scale only */
	long rss_mid_kb;      /* peak RSS after the bins, before targets/snapshot/timestamp */
	uint64_t index_bytes; /* the bin index's peak size */
};

struct opts {
	uint64_t n;
	unsigned bits;
	unsigned runs;
	const char *only;
	const char *key;
	char *dir;
	bool keep;
	uint64_t scale_n[MAX_SCALE];
	size_t n_scale;
	unsigned scale_bits;
};

static _Noreturn void die(const char *what, const struct vf_err *err)
{
	fprintf(stderr, "vf-bench-repo: %s: %s\n", what, err && err->msg[0] ? err->msg : "failed");
	exit(1);
}

static _Noreturn void die_errno(const char *what, const char *path)
{
	fprintf(stderr, "vf-bench-repo: %s '%s': %s\n", what, path, strerror(errno));
	exit(1);
}

static double now_of(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Phase timing: start with mark(), end with lap(). */
struct clock {
	double wall, cpu;
};

static void mark(struct clock *c)
{
	c->wall = now_of(CLOCK_MONOTONIC);
	c->cpu = now_of(CLOCK_PROCESS_CPUTIME_ID);
}

static void lap(struct result *res, struct clock *c, const char *name, bool python)
{
	struct phase *p = &res->p[res->n++];

	p->name = name;
	p->python = python;
	p->wall = now_of(CLOCK_MONOTONIC) - c->wall;
	p->cpu = now_of(CLOCK_PROCESS_CPUTIME_ID) - c->cpu;
	mark(c);
}

/* Target i: a path in increasing byte order with i, a length, a synthetic sha256. */
static void target_of(uint64_t i, char path[64], uint64_t *len, struct vf_tuf_hashes *h)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t s = i * 0x9e3779b97f4a7c15ULL + 1;

	/* "pkgs/%03u/target-%06u.txt" of i / 1000 and i, without printf's cost */
	memcpy(path, "pkgs/000/target-000000.txt", 27);
	for (uint64_t v = i / 1000, k = 8; k > 5; v /= 10)
		path[--k] = (char)('0' + v % 10);
	for (uint64_t v = i, k = 22; k > 16; v /= 10)
		path[--k] = (char)('0' + v % 10);
	*len = 100 + (i * 7919) % 100000;
	memset(h, 0, sizeof(*h));
	for (int k = 0; k < 64; k += 16) {
		uint64_t z = (s += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		for (int d = 0; d < 16; d++)
			h->sha256[k + d] = hex[(z >> (4 * d)) & 15];
	}
}

static char *path_in(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0) {
		fprintf(stderr, "vf-bench-repo: out of memory\n");
		exit(1);
	}
	return p;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Write `text` to `path` as vf_tuf_md_save() and the publisher do (temp file, fsync, rename). */
static void write_file(const char *path, const struct vf_buf *text)
{
	struct vf_fs_atomic a;
	struct vf_err err = { 0 };

	vf_fs_atomic_init(&a);
	if (vf_fs_atomic_open(&a, path, 0644, &err))
		die("write", &err);
	if (vf_fs_pwrite_full(a.fd, text->data, text->len, 0))
		die(path, NULL);
	if (vf_fs_atomic_commit(&a, &err))
		die("write", &err);
	vf_fs_atomic_release(&a);
}

/* A root authorising `key` for every top-level role (the verifier's delegator). */
static struct vf_tuf_md *root_for(const struct vf_key *key)
{
	struct vf_tuf_md *root = vf_tuf_md_new(VF_TUF_ROOT);
	struct vf_err err = { 0 };

	if (!root)
		die("root", NULL);
	root->expires = EXPIRES;
	for (enum vf_tuf_type t = VF_TUF_ROOT; t <= VF_TUF_TIMESTAMP; t++)
		if (vf_tuf_md_add_key(root, vf_tuf_type_name(t), key, NULL, &err))
			die("root: add key", &err);
	return root;
}

static void verify(const struct vf_tuf_md *delegator, const char *role, const struct vf_tuf_md *md)
{
	struct vf_tuf_verify_result res = { 0 };
	struct vf_err err = { 0 };

	if (vf_tuf_verify(delegator, role, md, &res, &err))
		die(role, &err);
	vf_tuf_verify_result_release(&res);
}

static void flat(const struct opts *o, struct vf_signer *signer, const char *dir,
		 struct result *res)
{
	struct vf_buf canon = VF_BUF_INIT, again = VF_BUF_INIT, pretty = VF_BUF_INIT;
	struct vf_tuf_md *md, *back = NULL, *root = root_for(vf_signer_key(signer));
	char *file = path_in(dir, "1.targets.json");
	struct vf_err err = { 0 };
	struct clock c;

	mark(&c);
	if (!(md = vf_tuf_md_new(VF_TUF_TARGETS)))
		die("new", NULL);
	md->expires = EXPIRES;
	for (uint64_t i = 0; i < o->n; i++) {
		struct vf_tuf_hashes h;
		char path[64];
		uint64_t len;

		target_of(i, path, &len, &h);
		if (vf_tuf_targets_add_target(md, path, len, &h, NULL, &err))
			die("add target", &err);
	}
	lap(res, &c, "build the model", true);
	if (vf_tuf_md_format_signed(md, &canon, &err))
		die("canonical", &err);
	lap(res, &c, "canonical signed bytes", true);
	if (vf_tuf_md_sign(md, &signer, 1, &err))
		die("sign", &err);
	lap(res, &c, "sign (canonicalises again)", true);
	if (vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, &pretty, &err))
		die("format", &err);
	lap(res, &c, "format (pretty, as published)", true);
	write_file(file, &pretty);
	lap(res, &c, "write the file (fsync, rename)", true);
	if (vf_tuf_md_load(file, VF_TUF_TARGETS, 0, &back, &err))
		die("load", &err);
	lap(res, &c, "parse back", true);
	verify(root, "targets", back);
	lap(res, &c, "verify the signature", false);

	/* not timed: what was read back is what was written */
	if (back->n_targets != o->n || vf_tuf_md_format_signed(back, &again, &err) ||
	    again.len != canon.len || memcmp(again.data, canon.data, canon.len) != 0) {
		fprintf(stderr, "vf-bench-repo: flat: the file read back differs\n");
		exit(1);
	}
	res->bytes_canonical = canon.len;
	res->bytes_file = file_size(file);
	vf_buf_release(&canon);
	vf_buf_release(&again);
	vf_buf_release(&pretty);
	vf_tuf_md_free(md);
	vf_tuf_md_free(back);
	vf_tuf_md_free(root);
	free(file);
}

/* "<dir>/<version>.<role>.json" (vf_tuf_role_filename), malloc'd. */
static char *role_file(const char *dir, const char *role, uint64_t version)
{
	struct vf_err err = { 0 };
	char *base, *p;

	if (vf_tuf_role_filename(role, version, &base, &err))
		die(role, &err);
	p = path_in(dir, base);
	free(base);
	return p;
}

/* "<dir>/.<version>.<role>.json.tmp": a bin written before the batch's one sync. */
static char *tmp_file(const char *dir, const char *role, uint64_t version)
{
	char *p, *f = role_file(dir, role, version);
	const char *base = strrchr(f, '/') + 1;

	if (asprintf(&p, "%.*s.%s.tmp", (int)(base - f), f, base) < 0)
		die("out of memory", NULL);
	free(f);
	return p;
}

/* A bin's temporary file of the batch (no fsync: the batch's one syncfs covers it). */
static void batch_write(const char *dir, const char *role, const struct vf_buf *text)
{
	char *tmp = tmp_file(dir, role, 1);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		die_errno("cannot create", tmp);
	if ((errno = -vf_fs_pwrite_full(fd, text->data, text->len, 0)) || close(fd) < 0)
		die_errno("cannot write", tmp);
	free(tmp);
}

/* The batch of bins 0..nb-1 as the publisher ends it: one syncfs, the renames, one dir fsync. */
static void batch_commit(const char *dir, unsigned bits, uint32_t nb)
{
	struct vf_err err = { 0 };
	int dfd;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || syncfs(dfd) < 0)
		die_errno("cannot sync", dir);
	for (uint32_t b = 0; b < nb; b++) {
		char *name, *tmp, *fin;

		if (vf_tuf_bin_name("bins", bits, b, &name, &err))
			die("bin", &err);
		tmp = tmp_file(dir, name, 1);
		fin = role_file(dir, name, 1);
		if (rename(tmp, fin) < 0)
			die_errno("cannot rename", tmp);
		free(tmp);
		free(fin);
		free(name);
	}
	if (fsync(dfd) < 0 || close(dfd) < 0)
		die_errno("cannot fsync", dir);
}

static void bins(const struct opts *o, struct vf_signer *signer, const char *dir,
		 struct result *res)
{
	uint32_t nb = (uint32_t)1 << o->bits;
	struct vf_tuf_md **bin = calloc(nb, sizeof(*bin));
	char **name = calloc(nb, sizeof(*name));
	struct vf_tuf_md *top, *snap, *root = root_for(vf_signer_key(signer));
	struct vf_err err = { 0 };
	struct vf_buf *text = NULL;
	uint64_t total_bytes = 0;
	struct clock c;
	char *file;

	if (!bin || !name)
		die("bins", NULL);
	mark(&c);
	top = vf_tuf_md_new(VF_TUF_TARGETS);
	snap = vf_tuf_md_new(VF_TUF_SNAPSHOT);
	if (!top || !snap)
		die("new", NULL);
	top->expires = snap->expires = EXPIRES;
	if (vf_tuf_targets_set_succinct(top, "bins", o->bits, &err) ||
	    vf_tuf_md_add_key(top, "bins", vf_signer_key(signer), NULL, &err))
		die("succinct", &err);
	for (uint32_t b = 0; b < nb; b++) {
		if (!(bin[b] = vf_tuf_md_new(VF_TUF_TARGETS)))
			die("new", NULL);
		bin[b]->expires = EXPIRES;
		if (vf_tuf_bin_name("bins", o->bits, b, &name[b], &err))
			die("bin name", &err);
	}
	for (uint64_t i = 0; i < o->n; i++) {
		struct vf_tuf_hashes h;
		char path[64];
		uint64_t len;
		uint32_t b;

		target_of(i, path, &len, &h);
		if (vf_tuf_bin_index(path, o->bits, &b, &err) ||
		    vf_tuf_targets_add_target(bin[b], path, len, &h, NULL, &err))
			die("add target", &err);
	}
	lap(res, &c, "assign to bins", true);

	/* as the publisher signs them: the bins on every CPU */
	if (vf_tuf_md_sign(top, &signer, 1, &err))
		die("sign targets", &err);
	if (vf_tuf_md_sign_many(bin, nb, &signer, 1, vf_parallel_cpus(), &err))
		die("sign bins", &err);
	if (vf_tuf_md_set_meta(snap, "targets.json", 1, -1, NULL, &err))
		die("meta", &err);
	for (uint32_t b = 0; b < nb; b++) {
		char meta[64];

		snprintf(meta, sizeof(meta), "%s.json", name[b]);
		if (vf_tuf_md_set_meta(snap, meta, 1, -1, NULL, &err))
			die("meta", &err);
	}
	if (vf_tuf_md_sign(snap, &signer, 1, &err))
		die("sign snapshot", &err);
	lap(res, &c, "sign bins, targets, snapshot", true);

	/* format every file, then write them */
	text = calloc(nb + 2, sizeof(*text));
	if (!text)
		die("bins", NULL);
	for (uint32_t b = 0; b < nb + 2; b++) {
		const struct vf_tuf_md *md = b < nb ? bin[b] : b == nb ? top : snap;

		if (vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, &text[b], &err))
			die("format", &err);
	}
	lap(res, &c, "format (pretty, as published)", true);
	/*
	 * As the publisher writes more than a few files: the bins to temporary
	 * files, one syncfs, the renames, one fsync of the directory; then
	 * targets.json and the snapshot each on its own (fsync, rename)
	 */
	for (uint32_t b = 0; b < nb; b++) {
		batch_write(dir, name[b], &text[b]);
		total_bytes += text[b].len;
	}
	batch_commit(dir, o->bits, nb);
	for (uint32_t b = nb; b < nb + 2; b++) {
		file = role_file(dir, b == nb ? "targets" : "snapshot", 1);
		write_file(file, &text[b]);
		free(file);
		if (b == nb)
			total_bytes += text[b].len;
		else
			res->bytes_canonical = text[b].len; /* reported as the snapshot's size */
	}
	lap(res, &c, "write the files (as the publisher)", true);

	for (uint32_t b = 0; b < nb; b++) {
		struct vf_tuf_md *back = NULL;
		char base[64];

		snprintf(base, sizeof(base), "1.%s.json", name[b]);
		file = path_in(dir, base);
		if (vf_tuf_md_load(file, VF_TUF_TARGETS, 0, &back, &err))
			die("load", &err);
		if (back->n_targets != bin[b]->n_targets) {
			fprintf(stderr, "vf-bench-repo: %s: read back differs\n", name[b]);
			exit(1);
		}
		verify(top, name[b], back);
		vf_tuf_md_free(back);
		free(file);
	}
	{
		struct vf_tuf_md *back = NULL;

		file = path_in(dir, "1.snapshot.json");
		if (vf_tuf_md_load(file, VF_TUF_SNAPSHOT, 0, &back, &err))
			die("load", &err);
		verify(root, "snapshot", back);
		vf_tuf_md_free(back);
		free(file);
	}
	lap(res, &c, "parse back + verify all", false);

	res->bytes_file = total_bytes;
	for (uint32_t b = 0; b < nb + 2; b++)
		vf_buf_release(&text[b]);
	free(text);
	for (uint32_t b = 0; b < nb; b++) {
		vf_tuf_md_free(bin[b]);
		free(name[b]);
	}
	free(bin);
	free(name);
	vf_tuf_md_free(top);
	vf_tuf_md_free(snap);
	vf_tuf_md_free(root);
}

/* ---- scale: 2^B bins, one at a time (bounded memory), then add one target ---------- */

/* Add the time since the mark to phase i (named `name`), and mark again. */
static void acc(struct result *res, struct clock *c, size_t i, const char *name)
{
	struct phase *p = &res->p[i];

	p->name = name;
	p->python = true;
	p->wall += now_of(CLOCK_MONOTONIC) - c->wall;
	p->cpu += now_of(CLOCK_PROCESS_CPUTIME_ID) - c->cpu;
	if (res->n < i + 1)
		res->n = i + 1;
	mark(c);
}

static long peak_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A pretty document into *text, with its sha256 for the meta entry that pins it. */
static void format_pinned(const struct vf_tuf_md *md, struct vf_buf *text,
			  struct vf_tuf_hashes *h)
{
	struct vf_err err = { 0 };

	if (vf_tuf_md_format(md, VF_TUF_FORMAT_PRETTY, text, &err) ||
	    vf_tuf_hashes_build(text->data, text->len, false, h, &err))
		die("format", &err);
}

static void read_all(const char *path, struct vf_buf *out)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		die_errno("cannot read", path);
	if (vf_buf_grow(out, (size_t)st.st_size) ||
	    vf_fs_pread_full(fd, out->data, (size_t)st.st_size, 0) != st.st_size) {
		fprintf(stderr, "vf-bench-repo: cannot read '%s'\n", path);
		exit(1);
	}
	out->len = (size_t)st.st_size;
	close(fd);
}

static void write_new(const char *dir, const char *role, const struct vf_tuf_md *md,
		      const struct vf_buf *text)
{
	char *file = role_file(dir, role, md->type == VF_TUF_TIMESTAMP ? 0 : md->version);

	write_file(file, text);
	free(file);
}

static void scale_create(const struct opts *o, struct vf_signer *signer, const char *dir,
			 struct result *res)
{
	uint32_t nb = (uint32_t)1 << o->bits;
	uint32_t *start = calloc((size_t)nb + 1, sizeof(*start)), *order;
	uint16_t *binof = malloc(o->n * sizeof(*binof));
	struct vf_tuf_md *top, *snap, *ts;
	struct vf_err err = { 0 };
	struct vf_tuf_hashes h;
	struct vf_buf text = VF_BUF_INIT;
	struct clock c;

	if (o->bits > 16) {
		fprintf(stderr, "vf-bench-repo: scale: at most 16 bits (2^16 bins), got %u\n", o->bits);
		exit(1);
	}
	if (!start || !binof)
		die("out of memory", NULL);
	mark(&c);
	/* every target's bin, then the targets in bin order (counting sort, stable: path order) */
	for (uint64_t i = 0; i < o->n; i++) {
		char path[64];
		uint64_t len;
		uint32_t b;

		target_of(i, path, &len, &h);
		if (vf_tuf_bin_index(path, o->bits, &b, &err))
			die("bin index", &err);
		binof[i] = (uint16_t)b;
		start[b + 1]++;
	}
	for (uint32_t b = 0; b < nb; b++)
		start[b + 1] += start[b];
	if (!(order = malloc(o->n * sizeof(*order))))
		die("out of memory", NULL);
	{
		uint32_t *next = malloc(nb * sizeof(*next));

		if (!next)
			die("out of memory", NULL);
		memcpy(next, start, nb * sizeof(*next));
		for (uint64_t i = 0; i < o->n; i++)
			order[next[binof[i]]++] = (uint32_t)i;
		free(next);
	}
	res->index_bytes = o->n * (sizeof(*binof) + sizeof(*order));
	free(binof);
	acc(res, &c, 0, "assign (sha256 of each path, sort)");

	if (!(snap = vf_tuf_md_new(VF_TUF_SNAPSHOT)))
		die("new", NULL);
	snap->expires = EXPIRES;
	for (uint32_t b = 0; b < nb; b++) {
		struct vf_tuf_md *bin;
		char *name;

		if (vf_tuf_bin_name("bins", o->bits, b, &name, &err) ||
		    !(bin = vf_tuf_md_new(VF_TUF_TARGETS)))
			die("bin", &err);
		bin->expires = EXPIRES;
		for (uint32_t k = start[b]; k < start[b + 1]; k++) {
			char path[64];
			uint64_t len;

			target_of(order[k], path, &len, &h);
			if (vf_tuf_targets_add_target(bin, path, len, &h, NULL, &err))
				die("add target", &err);
		}
		acc(res, &c, 1, "build each bin, then free it");
		if (vf_tuf_md_sign(bin, &signer, 1, &err))
			die(name, &err);
		acc(res, &c, 2, "sign each bin (ed25519)");
		format_pinned(bin, &text, &h);
		acc(res, &c, 3, "format each (pretty) + its sha256");
		batch_write(dir, name, &text);
		res->bytes_file += text.len;
		acc(res, &c, 4, "write each (temporary file)");
		{
			char meta[64];

			snprintf(meta, sizeof(meta), "%s.json", name);
			if (vf_tuf_md_set_meta(snap, meta, 1, (int64_t)text.len, &h, &err))
				die("meta", &err);
		}
		vf_tuf_md_free(bin);
		vf_buf_release(&text);
		free(name);
		acc(res, &c, 1, "build each bin, then free it");
	}
	free(order);
	free(start);
	batch_commit(dir, o->bits, nb);
	acc(res, &c, 5, "syncfs, renames, directory fsync");
	res->rss_mid_kb = peak_rss_kb();

	/* targets.json delegating to the bins, the snapshot of them all, the timestamp */
	if (!(top = vf_tuf_md_new(VF_TUF_TARGETS)) || !(ts = vf_tuf_md_new(VF_TUF_TIMESTAMP)))
		die("new", NULL);
	top->expires = ts->expires = EXPIRES;
	if (vf_tuf_targets_set_succinct(top, "bins", o->bits, &err) ||
	    vf_tuf_md_add_key(top, "bins", vf_signer_key(signer), NULL, &err) ||
	    vf_tuf_md_sign(top, &signer, 1, &err))
		die("targets", &err);
	format_pinned(top, &text, &h);
	write_new(dir, "targets", top, &text);
	if (vf_tuf_md_set_meta(snap, "targets.json", 1, (int64_t)text.len, &h, &err) ||
	    vf_tuf_md_sign(snap, &signer, 1, &err))
		die("snapshot", &err);
	vf_buf_release(&text);
	format_pinned(snap, &text, &h);
	write_new(dir, "snapshot", snap, &text);
	res->bytes_canonical = text.len; /* reported as the snapshot's size */
	if (vf_tuf_md_set_meta(ts, "snapshot.json", 1, (int64_t)text.len, &h, &err) ||
	    vf_tuf_md_sign(ts, &signer, 1, &err))
		die("timestamp", &err);
	vf_buf_release(&text);
	format_pinned(ts, &text, &h);
	write_new(dir, "timestamp", ts, &text);
	vf_buf_release(&text);
	vf_tuf_md_free(top);
	vf_tuf_md_free(snap);
	vf_tuf_md_free(ts);
	acc(res, &c, 6, "targets, snapshot, timestamp");
}

/* Load `role` pinned by `pin` (name.json in a snapshot/timestamp), checking its bytes. */
static struct vf_tuf_md *load_pinned(const char *dir, const char *role, enum vf_tuf_type type,
				     const struct vf_tuf_md *pin)
{
	struct vf_buf text = VF_BUF_INIT;
	struct vf_tuf_md *md = NULL;
	const struct vf_tuf_meta *m;
	struct vf_err err = { 0 };
	char meta[64], *file;

	snprintf(meta, sizeof(meta), "%s.json", role);
	if (!(m = vf_tuf_md_find_meta(pin, meta))) {
		fprintf(stderr, "vf-bench-repo: %s is not listed\n", meta);
		exit(1);
	}
	file = role_file(dir, role, m->version);
	read_all(file, &text);
	if (text.len != m->length || vf_tuf_hashes_verify(&m->hashes, text.data, text.len, &err) ||
	    vf_tuf_md_parse(text.data, text.len, type, 0, &md, &err))
		die(file, &err);
	vf_buf_release(&text);
	free(file);
	return md;
}

/* Add one target to what scale_create() wrote, as a publisher does. */
static void scale_add(const struct opts *o, struct vf_signer *signer, const char *dir,
		      unsigned run, struct result *res)
{
	struct vf_tuf_md *root = root_for(vf_signer_key(signer)), *ts, *snap, *top, *bin;
	struct vf_buf tb = VF_BUF_INIT, sb = VF_BUF_INIT, ab = VF_BUF_INIT;
	struct vf_tuf_hashes h, hb, hs, ht;
	struct vf_err err = { 0 };
	char path[64], *name, meta[64], *file;
	struct clock c;
	uint64_t len;

	(void)o;
	mark(&c);
	file = path_in(dir, "timestamp.json");
	if (vf_tuf_md_load(file, VF_TUF_TIMESTAMP, 0, &ts, &err))
		die(file, &err);
	free(file);
	snap = load_pinned(dir, "snapshot", VF_TUF_SNAPSHOT, ts);
	top = load_pinned(dir, "targets", VF_TUF_TARGETS, snap);
	if (!top->delegations || !top->delegations->succinct)
		die("targets.json delegates to no hash bins", NULL);
	/* a new target: another one at each run */
	snprintf(path, sizeof(path), "pkgs/new/one-more-%03u.txt", run);
	target_of(MAX_N + run, meta, &len, &h); /* a length and hash; that path is not used */
	if (vf_tuf_bin_name_for_path(top->delegations->succinct->name_prefix,
				     top->delegations->succinct->bit_length, path, &name, &err))
		die("bin", &err);
	bin = load_pinned(dir, name, VF_TUF_TARGETS, snap);
	acc(res, &c, 0, "read, sha256, parse: ts, snap, tgts, bin");
	verify(root, "timestamp", ts);
	verify(root, "snapshot", snap);
	verify(root, "targets", top);
	verify(top, name, bin);
	acc(res, &c, 1, "verify their signatures");

	if (vf_tuf_targets_add_target(bin, path, len, &h, NULL, &err))
		die("add", &err);
	bin->version++;
	if (vf_tuf_md_sign(bin, &signer, 1, &err))
		die(name, &err);
	format_pinned(bin, &ab, &hb);
	acc(res, &c, 2, "add, sign and format the bin");
	snprintf(meta, sizeof(meta), "%s.json", name);
	snap->version++;
	ts->version++;
	if (vf_tuf_md_set_meta(snap, meta, bin->version, (int64_t)ab.len, &hb, &err) ||
	    vf_tuf_md_sign(snap, &signer, 1, &err))
		die("snapshot", &err);
	format_pinned(snap, &sb, &hs);
	if (vf_tuf_md_set_meta(ts, "snapshot.json", snap->version, (int64_t)sb.len, &hs, &err) ||
	    vf_tuf_md_sign(ts, &signer, 1, &err))
		die("timestamp", &err);
	format_pinned(ts, &tb, &ht);
	acc(res, &c, 3, "snapshot, timestamp: update, sign, format");
	write_new(dir, name, bin, &ab);
	write_new(dir, "snapshot", snap, &sb);
	write_new(dir, "timestamp", ts, &tb);
	acc(res, &c, 4, "write the 3 files (fsync, rename each)");
	res->bytes_file = ab.len;
	res->bytes_canonical = sb.len;

	vf_buf_release(&ab);
	vf_buf_release(&sb);
	vf_buf_release(&tb);
	free(name);
	vf_tuf_md_free(bin);
	vf_tuf_md_free(top);
	vf_tuf_md_free(snap);
	vf_tuf_md_free(ts);
	vf_tuf_md_free(root);
}

/* Run one scenario in a child, in <dir>/<sub>; its result comes back through a pipe. */
static int run_child(const struct opts *o, struct vf_signer *signer, const char *scenario,
		     const char *sub, unsigned run, struct result *ret)
{
	int fd[2], status;
	pid_t pid;
	ssize_t got;

	if (pipe(fd) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct result res = { 0 };
		char *dir = path_in(o->dir, sub);

		close(fd[0]);
		mkdir(dir, 0755);
		if (strcmp(scenario, "flat") == 0)
			flat(o, signer, dir, &res);
		else if (strcmp(scenario, "bins") == 0)
			bins(o, signer, dir, &res);
		else if (strcmp(scenario, "scale") == 0)
			scale_create(o, signer, dir, &res);
		else
			scale_add(o, signer, dir, run, &res);
		res.rss_kb = peak_rss_kb();
		if (write(fd[1], &res, sizeof(res)) != (ssize_t)sizeof(res))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	got = read(fd[0], ret, sizeof(*ret));
	close(fd[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    got != (ssize_t)sizeof(*ret))
		return -EIO;
	return 0;
}

/* Keep the best time of each phase and the largest RSS in *best. */
static void keep_best(struct result *best, const struct result *res, unsigned run)
{
	if (run == 0) {
		*best = *res;
		return;
	}
	for (size_t i = 0; i < res->n && i < best->n; i++) {
		if (res->p[i].wall < best->p[i].wall)
			best->p[i].wall = res->p[i].wall;
		if (res->p[i].cpu < best->p[i].cpu)
			best->p[i].cpu = res->p[i].cpu;
	}
	if (res->rss_kb > best->rss_kb)
		best->rss_kb = res->rss_kb;
	if (res->rss_mid_kb > best->rss_mid_kb)
		best->rss_mid_kb = res->rss_mid_kb;
}

static void report(const struct opts *o, const char *scenario, const struct result *best,
		   double python_s)
{
	double total = 0, total_cpu = 0, all = 0, cpu = 0;

	printf("\n%s: %" PRIu64 " targets%s, ed25519, best of %u run%s\n", scenario, o->n,
	       strcmp(scenario, "flat") == 0 ? " in one targets.json" : "", o->runs,
	       o->runs == 1 ? "" : "s");
	if (strcmp(scenario, "bins") == 0)
		printf("      in %u succinct hash bins + the delegating targets.json + snapshot\n",
		       1u << o->bits);
	printf("  %-34s %9s %9s\n", "phase", "wall s", "cpu s");
	for (size_t i = 0; i < best->n; i++) {
		const struct phase *p = &best->p[i];

		printf("  %-34s %9.3f %9.3f%s\n", p->name, p->wall, p->cpu,
		       p->python ? "" : "   (not in python-tuf's figure)");
		all += p->wall;
		cpu += p->cpu;
		if (p->python) {
			total += p->wall;
			total_cpu += p->cpu;
		}
	}
	printf("  %-34s %9.3f %9.3f\n", "total, python-tuf's phases", total, total_cpu);
	for (size_t i = 0; i < best->n; i++)
		if (strncmp(best->p[i].name, "write", 5) == 0)
			printf("  %-34s %9.3f %9.3f\n", "  the same without the file writes",
			       total - best->p[i].wall, total_cpu - best->p[i].cpu);
	printf("  %-34s %9.3f %9.3f\n", "total, all phases", all, cpu);
	if (strcmp(scenario, "flat") == 0)
		printf("  canonical signed bytes %.1f MB, targets.json (pretty) %.1f MB\n",
		       (double)best->bytes_canonical / 1e6, (double)best->bytes_file / 1e6);
	else
		printf("  bins + targets.json %.1f MB, snapshot.json %.1f kB\n",
		       (double)best->bytes_file / 1e6, (double)best->bytes_canonical / 1e3);
	printf("  peak RSS %.1f MiB\n", (double)best->rss_kb / 1024);
	printf("  python-tuf 5.1.0, same work, measured on this machine earlier (reference, not "
	       "run now): %.2f s; ratio %.1fx\n", python_s, total > 0 ? python_s / total : 0);
	printf("RESULT %s n=%" PRIu64 " total_s=%.3f cpu_s=%.3f all_s=%.3f all_cpu_s=%.3f "
	       "rss_kb=%ld\n", scenario, o->n, total, total_cpu, all, cpu, best->rss_kb);
	fflush(stdout);
}

static int scenario(const struct opts *o, struct vf_signer *signer, const char *name,
		    double python_s)
{
	struct result best = { 0 };

	for (unsigned r = 0; r < o->runs; r++) {
		struct result res;
		char sub[64];

		/* each run writes a repository of its own, as a first publish does */
		snprintf(sub, sizeof(sub), "%s-%u", name, r);
		if (run_child(o, signer, name, sub, r, &res)) {
			fprintf(stderr, "vf-bench-repo: %s: run failed\n", name);
			return 1;
		}
		keep_best(&best, &res, r);
	}
	report(o, name, &best, python_s);
	return 0;
}

static double sum(const struct result *r, bool cpu)
{
	double t = 0;

	for (size_t i = 0; i < r->n; i++)
		t += cpu ? r->p[i].cpu : r->p[i].wall;
	return t;
}

/* Phase rows for every column: wall and CPU time of each. */
static void scale_rows(const struct result *res, size_t n)
{
	for (size_t i = 0; i < res[0].n; i++) {
		printf("  %-40s", res[0].p[i].name);
		for (size_t k = 0; k < n; k++)
			printf(" %9.3f %7.3f", res[k].p[i].wall, res[k].p[i].cpu);
		printf("\n");
	}
	printf("  %-40s", "total");
	for (size_t k = 0; k < n; k++)
		printf(" %9.3f %7.3f", sum(&res[k], false), sum(&res[k], true));
	printf("\n");
}

static void scale_line(const char *what, const double *v, size_t n, int decimals)
{
	printf("  %-40s", what);
	for (size_t k = 0; k < n; k++) {
		char cell[32];

		snprintf(cell, sizeof(cell), "%.*f", decimals, v[k]);
		printf(" %17s", cell);
	}
	printf("\n");
}

/* For each --scale-n: create (best of R runs), then add one target R times. */
static int scale(const struct opts *o, struct vf_signer *signer)
{
	struct result made[MAX_SCALE] = { 0 }, added[MAX_SCALE] = { 0 };
	size_t n = o->n_scale;
	double v[MAX_SCALE];

	for (size_t k = 0; k < n; k++) {
		struct opts so = *o;
		char sub[64];
		struct vf_err err = { 0 };

		so.n = o->scale_n[k];
		so.bits = o->scale_bits;
		snprintf(sub, sizeof(sub), "scale-%" PRIu64, so.n);
		for (unsigned r = 0; r < o->runs; r++) {
			struct result res;
			char *dir = path_in(o->dir, sub);

			if (vf_fs_remove_tree(dir, &err)) /* each run starts from nothing */
				die("cleanup", &err);
			free(dir);
			if (run_child(&so, signer, "scale", sub, r, &res)) {
				fprintf(stderr, "vf-bench-repo: scale %" PRIu64 ": run failed\n", so.n);
				return 1;
			}
			keep_best(&made[k], &res, r);
		}
		for (unsigned r = 0; r < o->runs; r++) { /* successive adds: one more target each */
			struct result res;

			if (run_child(&so, signer, "scale-add", sub, r, &res)) {
				fprintf(stderr, "vf-bench-repo: scale %" PRIu64 ": add failed\n", so.n);
				return 1;
			}
			keep_best(&added[k], &res, r);
		}
	}

	printf("\nscale: %u succinct hash bins, each built, signed, formatted, written and freed\n"
	       "       in turn; then targets.json, snapshot, timestamp; ed25519, best of %u run%s\n",
	       1u << o->scale_bits, o->runs, o->runs == 1 ? "" : "s");
	printf("  %-40s", "");
	for (size_t k = 0; k < n; k++)
		printf(" %9" PRIu64 " targets", o->scale_n[k]);
	printf("\n  %-40s", "phase");
	for (size_t k = 0; k < n; k++)
		printf(" %9s %7s", "wall s", "cpu s");
	printf("\n");
	scale_rows(made, n);
	for (size_t k = 0; k < n; k++)
		v[k] = (double)made[k].rss_mid_kb / 1024;
	scale_line("peak RSS after the bins, MiB", v, n, 1);
	for (size_t k = 0; k < n; k++)
		v[k] = (double)made[k].rss_kb / 1024;
	scale_line("peak RSS at the end, MiB", v, n, 1);
	for (size_t k = 0; k < n; k++)
		v[k] = (double)made[k].index_bytes / (1024 * 1024);
	scale_line("  of which at most the bin index, MiB", v, n, 1);
	for (size_t k = 0; k < n; k++)
		v[k] = (double)made[k].bytes_file / 1e6;
	scale_line("bins written, MB", v, n, 1);
	for (size_t k = 0; k < n; k++)
		v[k] = (double)made[k].bytes_canonical / 1e6;
	scale_line("snapshot.json, MB", v, n, 2);

	printf("\n  then add one target (another process; %u successive adds, best of):\n", o->runs);
	scale_rows(added, n);
	for (size_t k = 0; k < n; k++)
		v[k] = (double)added[k].rss_kb / 1024;
	scale_line("peak RSS, MiB", v, n, 1);
	for (size_t k = 0; k < n; k++)
		v[k] = (double)added[k].bytes_file / 1e3;
	scale_line("the bin written, kB", v, n, 1);
	printf("  files written: 3 (the bin, <N>.snapshot.json, timestamp.json)\n");
	for (size_t k = 0; k < n; k++)
		printf("RESULT scale n=%" PRIu64 " bins=%u total_s=%.3f cpu_s=%.3f rss_bins_kb=%ld "
		       "rss_kb=%ld add_s=%.3f add_cpu_s=%.3f add_rss_kb=%ld\n", o->scale_n[k],
		       1u << o->scale_bits, sum(&made[k], false), sum(&made[k], true),
		       made[k].rss_mid_kb, made[k].rss_kb, sum(&added[k], false),
		       sum(&added[k], true), added[k].rss_kb);
	fflush(stdout);
	return 0;
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: vf-bench-repo [-n N] [--bits B] [--runs R] [--only flat|bins|scale] "
		"[--key PEM]\n                     [--scale-n N]... [--scale-bits B] [--dir DIR] "
		"[--keep]\n");
	exit(2);
}

static uint64_t number(const char *s, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || !*s || v < 1 || v > max)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bits", required_argument, NULL, 'b' }, { "runs", required_argument, NULL, 'r' },
		{ "only", required_argument, NULL, 'o' }, { "key", required_argument, NULL, 'k' },
		{ "dir", required_argument, NULL, 'd' },  { "keep", no_argument, NULL, 'K' },
		{ "scale-n", required_argument, NULL, 'N' },
		{ "scale-bits", required_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .n = 100000, .bits = 10, .runs = 3, .scale_bits = 14 };
	struct vf_signer *signer = NULL;
	struct vf_err err = { 0 };
	bool made_dir = false;
	char *key;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "n:", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o.n = number(optarg, MAX_N); break;
		case 'b': o.bits = (unsigned)number(optarg, 16); break;
		case 'r': o.runs = (unsigned)number(optarg, 100); break;
		case 'o': o.only = optarg; break;
		case 'k': o.key = optarg; break;
		case 'd': o.dir = strdup(optarg); break;
		case 'K': o.keep = true; break;
		case 'N':
			if (o.n_scale == MAX_SCALE)
				usage();
			o.scale_n[o.n_scale++] = number(optarg, MAX_N);
			break;
		case 'B': o.scale_bits = (unsigned)number(optarg, 16); break;
		default: usage();
		}
	}
	if (optind != argc ||
	    (o.only && strcmp(o.only, "flat") && strcmp(o.only, "bins") && strcmp(o.only, "scale")))
		usage();
	if (!o.n_scale) { /* the same bins, for 10x the targets: what grows with them? */
		o.scale_n[o.n_scale++] = 100000;
		o.scale_n[o.n_scale++] = 1000000;
	}
	if (o.dir) {
		if (mkdir(o.dir, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "vf-bench-repo: cannot create '%s': %s\n", o.dir, strerror(errno));
			return 1;
		}
	} else {
		const char *tmp = getenv("TMPDIR");

		o.dir = path_in(tmp && *tmp ? tmp : "/tmp", "vf-bench-repo.XXXXXX");
		if (!mkdtemp(o.dir)) {
			fprintf(stderr, "vf-bench-repo: mkdtemp: %s\n", strerror(errno));
			return 1;
		}
		made_dir = true;
	}
	key = o.key ? strdup(o.key) : path_in(o.dir, "bench-key.pem");
	if (!o.key) {
		char *pub = path_in(o.dir, "bench-key.pem.pub");

		unlink(key);
		unlink(pub);
		free(pub);
		if (vf_key_generate(VF_KEY_ED25519, key, &err))
			die("key generate", &err);
	}
	if (vf_signer_open(key, &signer, &err))
		die("key", &err);

	/* python-tuf 5.1.0 (tuf.md §5, measured on this machine): 3.74 s flat, 0.80 + 1.32 s bins */
	if (!o.only || strcmp(o.only, "flat") == 0)
		rc |= scenario(&o, signer, "flat", 3.74);
	if (!o.only || strcmp(o.only, "bins") == 0)
		rc |= scenario(&o, signer, "bins", 2.12);
	if (!o.only || strcmp(o.only, "scale") == 0)
		rc |= scale(&o, signer);

	vf_signer_free(signer);
	if (!o.keep) {
		char *sub[2 + MAX_SCALE] = { path_in(o.dir, "flat"), path_in(o.dir, "bins") };

		for (size_t k = 0; k < o.n_scale; k++) {
			char name[64];

			snprintf(name, sizeof(name), "scale-%" PRIu64, o.scale_n[k]);
			sub[2 + k] = path_in(o.dir, name);
		}
		for (size_t i = 0; i < 2 + o.n_scale; i++) {
			if (vf_fs_remove_tree(sub[i], &err))
				die("cleanup", &err);
			free(sub[i]);
		}
		if (!o.key) {
			char *pub = path_in(o.dir, "bench-key.pem.pub");

			unlink(key);
			unlink(pub);
			free(pub);
		}
		if (made_dir)
			rmdir(o.dir);
	}
	free(key);
	free(o.dir);
	return rc;
}
