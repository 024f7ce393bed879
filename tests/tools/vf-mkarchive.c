/*
 * vf-mkarchive: build arbitrary (including hostile) package archives for
 * tests with libarchive's writer, and show the tree vforge imports from them.
 *
 *   vf-mkarchive <out> <format> <filter> < spec
 *       format: tar (ustar) | pax | gnutar | v7 | cpio (newc) | odc | ar
 *       filter: none | gzip | xz | zstd | bzip2 | lzma
 *
 *   vf-mkarchive import [options] <store-dir> <pkg>=<archive>...
 *       Import the archives, in order, into one tree whose store is
 *       <store-dir>, and print it, one entry per line, in tree order:
 *         /<path> <type> <mode> <uid>:<gid> <mtime> [size=N sha256=HEX]
 *           [-> <link>] [rdev=MAJ:MIN] [xattr:<name>=<hex>]... origin=<pkg>
 *       On failure print "vf-mkarchive: error: <message>" and exit 1.
 *       Options apply to the packages after them:
 *         --allow-devices / --no-allow-devices, --override / --no-override,
 *         --sha256=HEX (the next package's pin), --max-entries=N,
 *         --max-entry-size=N, --max-total=N (before the first package),
 *         --remove=GLOB (after every import, remove and print "removed N").
 *
 * Spec lines (fields separated by blanks; in <path>, <target> and <content>,
 * \n \t \\ \s (space) and \xNN are escapes; '#' starts a comment line):
 *   file <path> <mode> <uid> <gid> <mtime> [<content>]   content: rest of line
 *   dir <path> <mode> <uid> <gid> <mtime>
 *   symlink <path> <target> [<mode> <uid> <gid> <mtime>]
 *   hardlink <path> <target>
 *   hardlink-data <path> <target> <content>  a hardlink carrying the data (cpio style)
 *   char|block <path> <major> <minor> [<mode> <uid> <gid> <mtime>]
 *   fifo|socket <path> [<mode> <uid> <gid> <mtime>]
 *   big <path> <bytes>                zero-filled content, streamed
 *   sparse <path> <size> <off>:<len>[,<off>:<len>...]   data regions of 0x5a bytes
 *   xattr <name> <hex>                an xattr of the next entry
 *   raw-name-hex <hex>                the next entry's name, as raw bytes
 *   member <name> <file>              (ar only) a member holding <file>'s bytes
 *
 * For cpio formats, a hardlink shares its file's inode number (nlink counts
 * the names), which is how cpio expresses links.
 */
#include "builder/base/hex.h"
#include "builder/tree/tree.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vf-mkarchive: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void usage(void) __attribute__((noreturn));

static void usage(void)
{
	fprintf(stderr, "usage: vf-mkarchive <out> <tar|pax|gnutar|v7|cpio|odc|ar> "
			"<none|gzip|xz|zstd|bzip2|lzma> < spec\n"
			"       vf-mkarchive import [options] <store-dir> <pkg>=<archive>...\n");
	exit(2);
}

/* Decode the escapes of a spec field in place; returns its length. */
static size_t unescape(char *s)
{
	size_t o = 0;

	for (size_t i = 0; s[i]; i++) {
		if (s[i] != '\\' || !s[i + 1]) {
			s[o++] = s[i];
			continue;
		}
		i++;
		switch (s[i]) {
		case 'n': s[o++] = '\n'; break;
		case 't': s[o++] = '\t'; break;
		case 's': s[o++] = ' '; break;
		case 'x': {
			unsigned v;

			if (sscanf(s + i + 1, "%2x", &v) != 1)
				die("bad \\x escape in '%s'", s);
			s[o++] = (char)v;
			i += 2;
			break;
		}
		default: s[o++] = s[i]; break;
		}
	}
	s[o] = '\0';
	return o;
}

static uint64_t num(const char *s, int base)
{
	char *end;
	uint64_t v;

	if (!s)
		die("missing number in the spec");
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || end == s)
		die("bad number '%s'", s);
	return v;
}

static int64_t snum(const char *s)
{
	char *end;
	int64_t v;

	if (!s)
		die("missing number in the spec");
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s)
		die("bad number '%s'", s);
	return v;
}

struct line {
	char *text;     /* the line, split in place */
	char *orig;     /* the line as read */
	char *kind;
	char *f[8];     /* further fields (unescaped where they are names) */
	size_t nf;
	char *rest;     /* the rest after the fixed fields (file content) */
};

static void check_ar(struct archive *a, int r)
{
	if (r < ARCHIVE_WARN)
		die("libarchive: %s", archive_error_string(a));
}

/* Write `len` bytes of `byte` in chunks. */
static void write_fill(struct archive *a, int byte, uint64_t len)
{
	static char buf[65536];

	memset(buf, byte, sizeof(buf));
	while (len) {
		size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);

		if (archive_write_data(a, buf, n) < 0)
			die("libarchive: %s", archive_error_string(a));
		len -= n;
	}
}

static void set_meta(struct archive_entry *ae, char **f, size_t nf, size_t at, unsigned mode)
{
	archive_entry_set_perm(ae, nf > at ? (mode_t)num(f[at], 8) : mode);
	archive_entry_set_uid(ae, nf > at + 1 ? (la_int64_t)num(f[at + 1], 10) : 0);
	archive_entry_set_gid(ae, nf > at + 2 ? (la_int64_t)num(f[at + 2], 10) : 0);
	archive_entry_set_mtime(ae, nf > at + 3 ? (time_t)snum(f[at + 3]) : 0, 0);
}

/* Split a line into kind, up to `nfix` fields, and the rest. */
static void split(struct line *l, size_t nfix)
{
	char *p = l->text;

	while (*p == ' ' || *p == '\t')
		p++;
	l->kind = p;
	p += strcspn(p, " \t");
	l->nf = 0;
	l->rest = NULL;
	while (*p) {
		*p++ = '\0';
		if (l->nf == nfix) {
			l->rest = p;
			return;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		l->f[l->nf++] = p;
		p += strcspn(p, " \t");
	}
}

static int mkarchive(const char *out, const char *format, const char *filter)
{
	struct archive *a = archive_write_new();
	struct line *lines = NULL;
	size_t n_lines = 0;
	char *buf = NULL, *pending_name = NULL;
	size_t cap = 0, pending_name_len = 0;
	struct archive_entry *ae = archive_entry_new();
	bool cpio = !strcmp(format, "cpio") || !strcmp(format, "odc");
	int r;

	if (!strcmp(format, "tar"))
		r = archive_write_set_format_ustar(a);
	else if (!strcmp(format, "pax"))
		r = archive_write_set_format_pax(a);
	else if (!strcmp(format, "gnutar"))
		r = archive_write_set_format_gnutar(a);
	else if (!strcmp(format, "v7"))
		r = archive_write_set_format_v7tar(a);
	else if (!strcmp(format, "cpio"))
		r = archive_write_set_format_cpio_newc(a);
	else if (!strcmp(format, "odc"))
		r = archive_write_set_format_cpio(a);
	else if (!strcmp(format, "ar"))
		r = archive_write_set_format_ar_svr4(a);
	else
		usage();
	check_ar(a, r);
	if (!strcmp(filter, "none"))
		r = archive_write_add_filter_none(a);
	else if (!strcmp(filter, "gzip"))
		r = archive_write_add_filter_gzip(a);
	else if (!strcmp(filter, "xz"))
		r = archive_write_add_filter_xz(a);
	else if (!strcmp(filter, "zstd"))
		r = archive_write_add_filter_zstd(a);
	else if (!strcmp(filter, "bzip2"))
		r = archive_write_add_filter_bzip2(a);
	else if (!strcmp(filter, "lzma"))
		r = archive_write_add_filter_lzma(a);
	else
		usage();
	check_ar(a, r);
	/* deterministic gzip: no name or time in its header */
	if (!strcmp(filter, "gzip"))
		archive_write_set_filter_option(a, "gzip", "timestamp", NULL);
	archive_write_set_bytes_in_last_block(a, 1);
	check_ar(a, archive_write_open_filename(a, out));

	/* read the whole spec first: cpio needs link counts up front */
	while (getline(&buf, &cap, stdin) >= 0) {
		buf[strcspn(buf, "\n")] = '\0';
		lines = realloc(lines, (n_lines + 1) * sizeof(*lines));
		if (!lines)
			die("out of memory");
		memset(&lines[n_lines], 0, sizeof(*lines));
		lines[n_lines].orig = strdup(buf);
		lines[n_lines++].text = strdup(buf);
	}
	free(buf);

	for (size_t i = 0; i < n_lines; i++) {
		struct line *l = &lines[i];
		const char *k;
		uint64_t data_len = 0;
		const char *data = NULL;
		char *target = NULL, empty[1] = "";
		bool is_sparse = false, big = false, data_hl = false;
		uint64_t fill = 0, sp_off[64], sp_len[64], sp_size = 0;
		size_t sp_n = 0;

		split(l, !strncmp(l->text, "file", 4) ? 5 : !strncmp(l->text, "hardlink-data", 13) ? 3 : 8);
		k = l->kind;
		if (!*k || *k == '#')
			continue;
		if (!strcmp(k, "xattr")) {
			uint8_t *v = malloc(strlen(l->f[1] ? l->f[1] : "") / 2 + 1);
			size_t vlen = 0;

			if (l->nf < 2 || !v || vf_hex_parse(l->f[1], v, strlen(l->f[1]) / 2 + 1, &vlen))
				die("line %zu: xattr <name> <hex>", i + 1);
			archive_entry_xattr_add_entry(ae, l->f[0], v, vlen);
			free(v);
			continue;
		}
		if (!strcmp(k, "raw-name-hex")) {
			free(pending_name);
			pending_name = malloc(strlen(l->f[0] ? l->f[0] : "") / 2 + 1);
			if (l->nf < 1 || !pending_name ||
			    vf_hex_parse(l->f[0], (uint8_t *)pending_name, strlen(l->f[0]) / 2 + 1,
					 &pending_name_len))
				die("line %zu: raw-name-hex <hex>", i + 1);
			pending_name[pending_name_len] = '\0';
			continue;
		}
		if (!strcmp(k, "member")) {
			struct stat st;
			int fd;
			char chunk[65536];
			ssize_t n;

			if (l->nf < 2 || (fd = open(l->f[1], O_RDONLY)) < 0 || fstat(fd, &st) < 0)
				die("line %zu: member <name> <file>: cannot read '%s'", i + 1,
				    l->nf > 1 ? l->f[1] : "");
			archive_entry_clear(ae);
			archive_entry_set_pathname(ae, l->f[0]);
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_set_size(ae, st.st_size);
			check_ar(a, archive_write_header(a, ae));
			while ((n = read(fd, chunk, sizeof(chunk))) > 0)
				if (archive_write_data(a, chunk, (size_t)n) < 0)
					die("libarchive: %s", archive_error_string(a));
			close(fd);
			archive_entry_clear(ae);
			continue;
		}
		if (l->nf < 1)
			die("line %zu: '%s' needs a path", i + 1, k);
		unescape(l->f[0]);
		archive_entry_set_pathname(ae, pending_name ? pending_name : l->f[0]);
		if (!strcmp(k, "file")) {
			if (l->nf < 5)
				die("line %zu: file <path> <mode> <uid> <gid> <mtime> [content]", i + 1);
			archive_entry_set_filetype(ae, AE_IFREG);
			set_meta(ae, l->f, l->nf, 1, 0644);
			data = l->rest ? l->rest : empty;
			data_len = unescape(l->rest ? l->rest : empty);
		} else if (!strcmp(k, "dir")) {
			archive_entry_set_filetype(ae, AE_IFDIR);
			set_meta(ae, l->f, l->nf, 1, 0755);
		} else if (!strcmp(k, "symlink")) {
			if (l->nf < 2)
				die("line %zu: symlink <path> <target>", i + 1);
			unescape(l->f[1]);
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, l->f[1]);
			set_meta(ae, l->f, l->nf, 2, 0777);
		} else if (!strcmp(k, "hardlink") || !strcmp(k, "hardlink-data")) {
			if (l->nf < 2)
				die("line %zu: %s <path> <target>", i + 1, k);
			target = l->f[1];
			unescape(target);
			data_hl = !strcmp(k, "hardlink-data");
			if (data_hl) {
				data = l->rest ? l->rest : empty;
				data_len = unescape(l->rest ? l->rest : empty);
			}
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			if (!cpio)
				archive_entry_set_hardlink(ae, target);
		} else if (!strcmp(k, "char") || !strcmp(k, "block")) {
			if (l->nf < 3)
				die("line %zu: %s <path> <major> <minor>", i + 1, k);
			archive_entry_set_filetype(ae, !strcmp(k, "char") ? AE_IFCHR : AE_IFBLK);
			archive_entry_set_rdevmajor(ae, (dev_t)num(l->f[1], 10));
			archive_entry_set_rdevminor(ae, (dev_t)num(l->f[2], 10));
			set_meta(ae, l->f, l->nf, 3, 0600);
		} else if (!strcmp(k, "fifo") || !strcmp(k, "socket")) {
			archive_entry_set_filetype(ae, !strcmp(k, "fifo") ? AE_IFIFO : AE_IFSOCK);
			set_meta(ae, l->f, l->nf, 1, 0644);
		} else if (!strcmp(k, "big")) {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			fill = num(l->f[1], 10);
			big = true;
		} else if (!strcmp(k, "sparse")) {
			char *map, *tok, *save = NULL;

			if (l->nf < 3)
				die("line %zu: sparse <path> <size> <off>:<len>,...", i + 1);
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			sp_size = num(l->f[1], 10);
			archive_entry_set_size(ae, (la_int64_t)sp_size);
			map = l->f[2];
			for (tok = strtok_r(map, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				unsigned long long off, len;

				if (sscanf(tok, "%llu:%llu", &off, &len) != 2 || sp_n == 64 ||
				    (sp_n && off < sp_off[sp_n - 1] + sp_len[sp_n - 1]) || off + len > sp_size)
					die("line %zu: bad sparse region '%s'", i + 1, tok);
				archive_entry_sparse_add_entry(ae, (la_int64_t)off, (la_int64_t)len);
				sp_off[sp_n] = off;
				sp_len[sp_n++] = len;
			}
			is_sparse = true;
		} else {
			die("line %zu: unknown kind '%s'", i + 1, k);
		}

		if (cpio && archive_entry_filetype(ae) == AE_IFREG) {
			/* inode numbers: a file and its hardlinks share one */
			const char *me = target ? target : l->f[0];
			unsigned nlink = 1;
			size_t ino = 0;

			for (size_t j = 0; j < n_lines; j++) {
				char kind[16] = "", p[512] = "", tg[512] = "";

				if (sscanf(lines[j].orig, "%15s %511s %511s", kind, p, tg) < 2)
					continue;
				unescape(p);
				unescape(tg);
				if (!strcmp(kind, "file") && !strcmp(p, me) && !ino)
					ino = j + 1;
				if (!strncmp(kind, "hardlink", 8) && !strcmp(tg, me))
					nlink++;
			}
			archive_entry_set_ino(ae, (la_int64_t)(ino ? ino : i + 1));
			archive_entry_set_nlink(ae, nlink);
			if (target && !data_hl)
				data_len = 0;
		}
		if (data || data_hl)
			archive_entry_set_size(ae, (la_int64_t)data_len);
		else if (big)
			archive_entry_set_size(ae, (la_int64_t)fill);
		else if (!is_sparse)
			archive_entry_set_size(ae, 0);
		check_ar(a, archive_write_header(a, ae));
		if (data && data_len && archive_write_data(a, data, (size_t)data_len) < 0)
			die("libarchive: %s", archive_error_string(a));
		if (big)
			write_fill(a, 0, fill);
		if (is_sparse) {
			/* the writer takes the whole content and leaves out the holes */
			uint64_t pos = 0;

			for (size_t j = 0; j < sp_n; j++) {
				write_fill(a, 0, sp_off[j] - pos);
				write_fill(a, 0x5a, sp_len[j]);
				pos = sp_off[j] + sp_len[j];
			}
			write_fill(a, 0, sp_size - pos);
		}
		archive_entry_clear(ae);
		free(pending_name);
		pending_name = NULL;
	}
	check_ar(a, archive_write_close(a));
	archive_write_free(a);
	archive_entry_free(ae);
	for (size_t i = 0; i < n_lines; i++) {
		free(lines[i].text);
		free(lines[i].orig);
	}
	free(lines);
	free(pending_name);
	return 0;
}

/* ---- import ---- */

static void put_escaped(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p > 0x20 && *p < 0x7f && *p != '\\')
			putchar(*p);
		else
			printf("\\x%02x", *p);
	}
}

static const char *type_name(enum vf_tree_type t)
{
	static const char *names[] = { "?", "file", "dir", "symlink", "hardlink",
				       "char", "block", "fifo", "socket" };

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

static void print_tree(const struct vf_tree *t)
{
	for (size_t i = 0; i < vf_tree_count(t); i++) {
		const struct vf_tree_entry *e = vf_tree_at(t, i);

		putchar('/');
		put_escaped(e->path);
		printf(" %s %04" PRIo32 " %" PRIu32 ":%" PRIu32 " %" PRId64, type_name(e->type),
		       e->mode, e->uid, e->gid, e->mtime);
		if (e->type == VF_TREE_FILE) {
			char hex[65];

			vf_hex_format(e->sha256, 32, hex);
			printf(" size=%" PRIu64 " sha256=%s", e->size, hex);
		}
		if (e->link) {
			printf(" -> ");
			put_escaped(e->link);
		}
		if (e->type == VF_TREE_CHR || e->type == VF_TREE_BLK)
			printf(" rdev=%" PRIu32 ":%" PRIu32, e->rdev_major, e->rdev_minor);
		for (size_t k = 0; k < e->n_xattrs; k++) {
			char *hex = malloc(2 * e->xattrs[k].len + 1);

			if (!hex)
				die("out of memory");
			vf_hex_format(e->xattrs[k].value, e->xattrs[k].len, hex);
			printf(" xattr:%s=%s", e->xattrs[k].name, hex);
			free(hex);
		}
		printf(" origin=%s\n", e->origin);
	}
}

static int import_main(int argc, char **argv)
{
	struct vf_tree_limits lim = { 0 };
	struct vf_tree_import_opts o = { 0 };
	struct vf_tree *t = NULL;
	struct vf_err err = { 0 };
	const char *store = NULL, *remove = NULL;
	uint8_t pin[32];
	bool has_pin = false;

	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		char *eq;

		if (!strcmp(a, "--allow-devices") || !strcmp(a, "--no-allow-devices")) {
			o.allow_devices = a[2] == 'a';
		} else if (!strcmp(a, "--override") || !strcmp(a, "--no-override")) {
			o.override = a[2] == 'o';
		} else if (!strncmp(a, "--sha256=", 9)) {
			size_t n;

			if (vf_hex_parse(a + 9, pin, 32, &n) || n != 32)
				die("bad --sha256");
			has_pin = true;
		} else if (!strncmp(a, "--max-entries=", 14)) {
			lim.max_entries = num(a + 14, 10);
		} else if (!strncmp(a, "--max-entry-size=", 17)) {
			lim.max_entry_size = num(a + 17, 10);
		} else if (!strncmp(a, "--max-total=", 12)) {
			lim.max_total_size = num(a + 12, 10);
		} else if (!strncmp(a, "--remove=", 9)) {
			remove = a + 9;
		} else if (!store) {
			store = a;
		} else if ((eq = strchr(a, '='))) {
			*eq = '\0';
			if (!t && !(t = vf_tree_new(&lim, store)))
				die("out of memory");
			o.pkg_name = a;
			o.sha256 = has_pin ? pin : NULL;
			has_pin = false;
			if (vf_tree_import_archive(t, eq + 1, &o, &err))
				die("%s", err.msg);
		} else {
			usage();
		}
	}
	if (!store)
		usage();
	if (!t && !(t = vf_tree_new(&lim, store)))
		die("out of memory");
	if (remove) {
		size_t n;

		if (vf_tree_remove_glob(t, remove, &n, &err))
			die("%s", err.msg);
		printf("removed %zu\n", n);
	}
	print_tree(t);
	vf_tree_free(t);
	if (fflush(stdout) || ferror(stdout))
		die("cannot write to stdout");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "import"))
		return import_main(argc, argv);
	if (argc != 4)
		usage();
	return mkarchive(argv[1], argv[2], argv[3]);
}
