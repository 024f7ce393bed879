/*
 * Writing, reading and updating GUID partition tables through libfdisk.
 *
 * libfdisk's conventions stop here: its negative returns become -errno with a
 * message, and its warnings (which it would print through an "ask" callback)
 * are caught and quoted in that message. Dialogs are disabled, so libfdisk can
 * never ask for input. See docs/gpt.md for the bytes written.
 */
#include "builder/gpt/gpt.h"

#include "builder/base/fs.h"
#include "builder/base/uuid.h"

#include <errno.h>
#include <fcntl.h>
#include <libfdisk/libfdisk.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

typedef unsigned long long ull;

/* One libfdisk session: the context, the device and libfdisk's last warning. */
struct session {
	struct fdisk_context *cxt;
	int fd;
	const char *path;
	uint64_t size;      /* bytes of the file or device */
	char warning[256];  /* libfdisk's last warning, "" when none */
};

/* libfdisk's "ask" callback: keep warnings, drop information, refuse dialogs. */
static int on_ask(struct fdisk_context *cxt, struct fdisk_ask *ask, void *data)
{
	struct session *s = data;
	int type = fdisk_ask_get_type(ask);
	const char *msg;

	(void)cxt;
	if (type == FDISK_ASKTYPE_INFO)
		return 0;
	if (type != FDISK_ASKTYPE_WARN && type != FDISK_ASKTYPE_WARNX)
		return -EINVAL;
	msg = fdisk_ask_print_get_mesg(ask);
	if (type == FDISK_ASKTYPE_WARN && fdisk_ask_print_get_errno(ask))
		snprintf(s->warning, sizeof(s->warning), "%s: %s", msg ? msg : "",
			 strerror(fdisk_ask_print_get_errno(ask)));
	else
		snprintf(s->warning, sizeof(s->warning), "%s", msg ? msg : "");
	return 0;
}

/* A libfdisk return code as -errno (some of its paths return -1 or > 0). */
static int fdisk_errno(int rc)
{
	if (rc >= 0 || rc == -1)
		return -EIO;
	return rc;
}

/*
 * The message for a failed libfdisk call: "<what>: <strerror>", followed by
 * "(libfdisk: <warning>)" when libfdisk warned. Returns the -errno.
 */
static int fdisk_fail(struct session *s, struct vf_err *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fdisk_fail(struct session *s, struct vf_err *err, int rc, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	int code = fdisk_errno(rc);

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (s->warning[0])
		return vf_err_set(err, code, "%s: %s (libfdisk: \"%s\")", what, strerror(-code),
				  s->warning);
	return vf_err_set(err, code, "%s: %s", what, strerror(-code));
}

static void session_init(struct session *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->path = path;
}

static void session_release(struct session *s)
{
	fdisk_unref_context(s->cxt);
	s->cxt = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/*
 * Open `path` (a regular file or a block device with 512-byte sectors) and
 * hand it to a new libfdisk context with 512-byte sectors and no dialogs.
 */
static int session_open(struct session *s, bool writable, struct vf_err *err)
{
	struct stat st;
	int r;

	s->fd = open(s->path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (s->fd < 0)
		return vf_err_sys(err, errno, "cannot open '%s'", s->path);
	if (fstat(s->fd, &st) < 0)
		return vf_err_sys(err, errno, "cannot stat '%s'", s->path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return vf_err_set(err, EINVAL, "'%s' is not a regular file or block device", s->path);
	if (S_ISBLK(st.st_mode)) {
		int ssz = 0;

		if (ioctl(s->fd, BLKSSZGET, &ssz) < 0)
			return vf_err_sys(err, errno, "cannot get the sector size of '%s'", s->path);
		if (ssz != (int)VF_GPT_SECTOR)
			return vf_err_set(err, EINVAL, "'%s' has %d-byte logical sectors, expected %u",
					  s->path, ssz, VF_GPT_SECTOR);
	}
	if ((r = vf_fs_size(s->fd, &s->size)))
		return vf_err_sys(err, -r, "cannot get the size of '%s'", s->path);

	s->cxt = fdisk_new_context();
	if (!s->cxt)
		return vf_err_set(err, ENOMEM, "out of memory");
	if ((r = fdisk_set_ask(s->cxt, on_ask, s)) < 0 ||
	    (r = fdisk_disable_dialogs(s->cxt, 1)) < 0 ||
	    (r = fdisk_save_user_sector_size(s->cxt, VF_GPT_SECTOR, VF_GPT_SECTOR)) < 0)
		return fdisk_fail(s, err, r, "cannot set up libfdisk");
	/* a backup header not at the end stays where it is (set_attrs refuses it) */
	fdisk_gpt_disable_relocation(fdisk_get_label(s->cxt, "gpt"), 1);
	/* listonly: no probing for other signatures (nothing here would wipe them) */
	if ((r = fdisk_enable_listonly(s->cxt, 1)) < 0)
		return fdisk_fail(s, err, r, "cannot set up libfdisk");
	if ((r = fdisk_assign_device_by_fd(s->cxt, s->fd, s->path, writable ? 0 : 1)) < 0)
		return fdisk_fail(s, err, r, "libfdisk cannot read '%s'", s->path);
	if (fdisk_get_sector_size(s->cxt) != VF_GPT_SECTOR)
		return vf_err_set(err, EIO, "libfdisk uses %lu-byte sectors on '%s', expected %u",
				  fdisk_get_sector_size(s->cxt), s->path, VF_GPT_SECTOR);
	return 0;
}

/* A number of the GPT header as libfdisk holds it. */
static int header_item(struct session *s, int id, uint64_t *ret, struct vf_err *err)
{
	struct fdisk_labelitem *item = fdisk_new_labelitem();
	int r;

	if (!item)
		return vf_err_set(err, ENOMEM, "out of memory");
	r = fdisk_get_disklabel_item(s->cxt, id, item);
	if (r == 0)
		r = fdisk_labelitem_get_data_u64(item, ret);
	fdisk_unref_labelitem(item);
	if (r)
		return fdisk_fail(s, err, r < 0 ? r : -ENOENT, "cannot get GPT header field %d", id);
	return 0;
}

/* Fail unless the header field `id` holds `want`. */
static int expect_item(struct session *s, int id, const char *what, uint64_t want,
		       struct vf_err *err)
{
	uint64_t got = 0;
	int r;

	if ((r = header_item(s, id, &got, err)))
		return r;
	if (got != want)
		return vf_err_set(err, EIO, "libfdisk made a GPT with %s %llu, expected %llu",
				  what, (ull)got, (ull)want);
	return 0;
}

/*
 * A new empty label with first usable LBA 2048, 128 entries and the last
 * usable LBA as sfdisk computes it by default. libfdisk takes these from a
 * script's header when it builds the GPT header (as sfdisk's "first-lba:"
 * does); fdisk_set_first_lba() would only change its in-memory default.
 */
static int create_label(struct session *s, uint64_t last, struct vf_err *err)
{
	struct fdisk_script *script = fdisk_new_script(s->cxt);
	char first_text[32], last_text[32], entries_text[32];
	int r;

	if (!script)
		return vf_err_set(err, ENOMEM, "out of memory");
	s->warning[0] = '\0';
	snprintf(first_text, sizeof(first_text), "%u", VF_GPT_FIRST_LBA);
	snprintf(last_text, sizeof(last_text), "%llu", (ull)last);
	snprintf(entries_text, sizeof(entries_text), "%u", VF_GPT_ENTRIES);
	if ((r = fdisk_script_set_header(script, "first-lba", first_text)) < 0 ||
	    (r = fdisk_script_set_header(script, "last-lba", last_text)) < 0 ||
	    (r = fdisk_script_set_header(script, "table-length", entries_text)) < 0 ||
	    (r = fdisk_set_script(s->cxt, script)) < 0) {
		fdisk_unref_script(script);
		return fdisk_fail(s, err, r, "cannot set up the GPT header");
	}
	r = fdisk_create_disklabel(s->cxt, "gpt");
	fdisk_set_script(s->cxt, NULL);
	fdisk_unref_script(script);
	if (r < 0)
		return fdisk_fail(s, err, r, "cannot create a GPT");
	if ((r = expect_item(s, GPT_LABELITEM_FIRSTLBA, "first usable LBA", VF_GPT_FIRST_LBA, err)) ||
	    (r = expect_item(s, GPT_LABELITEM_LASTLBA, "last usable LBA", last, err)) ||
	    (r = expect_item(s, GPT_LABELITEM_ENTRIESALLOC, "entry count", VF_GPT_ENTRIES, err)) ||
	    (r = expect_item(s, GPT_LABELITEM_ENTRIESLBA, "entries LBA", 2, err)) ||
	    (r = expect_item(s, GPT_LABELITEM_ALTLBA, "backup header LBA",
			     s->size / VF_GPT_SECTOR - 1, err)))
		return r;
	return 0;
}

/* Add partition `i` with exactly the given start, size, number and identity. */
static int add_part(struct session *s, const struct vf_gpt_part *p, size_t i, struct vf_err *err)
{
	struct fdisk_partition *pa = fdisk_new_partition();
	struct fdisk_parttype *type = fdisk_new_parttype();
	char type_text[VF_UUID_TEXT_LEN + 1], uuid_text[VF_UUID_TEXT_LEN + 1];
	size_t partno = (size_t)-1;
	int r;

	if (!pa || !type) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	s->warning[0] = '\0';
	vf_uuid_format(p->type, type_text);
	vf_uuid_format(p->uuid, uuid_text);
	if ((r = fdisk_parttype_set_typestr(type, type_text)) < 0 ||
	    (r = fdisk_partition_set_type(pa, type)) < 0 ||
	    (r = fdisk_partition_set_start(pa, p->first_lba)) < 0 ||
	    (r = fdisk_partition_set_size(pa, p->size_lba)) < 0 ||
	    (r = fdisk_partition_size_explicit(pa, 1)) < 0 ||
	    (r = fdisk_partition_set_partno(pa, i)) < 0 ||
	    (r = fdisk_partition_set_uuid(pa, uuid_text)) < 0 ||
	    (r = fdisk_partition_set_name(pa, p->name)) < 0) {
		r = fdisk_fail(s, err, r, "partition %zu '%s'", i + 1, p->name);
		goto out;
	}
	if ((r = fdisk_add_partition(s->cxt, pa, &partno)) < 0) {
		r = fdisk_fail(s, err, r, "cannot add partition %zu '%s'", i + 1, p->name);
		goto out;
	}
	if (partno != i) {
		r = vf_err_set(err, EIO, "libfdisk added partition %zu '%s' as number %zu",
			       i + 1, p->name, partno + 1);
		goto out;
	}
	if ((r = fdisk_gpt_set_partition_attrs(s->cxt, i, p->attrs)) < 0) {
		r = fdisk_fail(s, err, r, "cannot set the attributes of partition %zu '%s'",
			       i + 1, p->name);
		goto out;
	}
	r = 0;
out:
	fdisk_unref_parttype(type);
	fdisk_unref_partition(pa);
	return r;
}

/* Write the label libfdisk holds. */
static int session_write(struct session *s, struct vf_err *err)
{
	int r;

	s->warning[0] = '\0';
	r = fdisk_write_disklabel(s->cxt);
	return r < 0 ? fdisk_fail(s, err, r, "cannot write the GPT") : 0;
}

/* fsync (through libfdisk, which then skips the global sync()) and close. */
static int session_close(struct session *s, struct vf_err *err)
{
	int r;

	if ((r = fdisk_deassign_device(s->cxt, 1)) < 0)
		return fdisk_fail(s, err, r, "cannot fsync");
	r = close(s->fd);
	s->fd = -1;
	if (r < 0)
		return vf_err_sys(err, errno, "cannot close");
	return 0;
}

int vf_gpt_write(const char *path, const struct vf_gpt_table *t, struct vf_err *err)
{
	struct session s;
	char guid_text[VF_UUID_TEXT_LEN + 1];
	int r;

	session_init(&s, path);
	if ((r = vf_gpt_check(t, err)))
		goto out;
	if ((r = session_open(&s, true, err)))
		goto out;
	if (s.size != t->disk_size) {
		r = vf_err_set(err, EINVAL, "'%s' is %llu bytes, but the table is for a disk of "
			       "%llu bytes", path, (ull)s.size, (ull)t->disk_size);
		goto out;
	}
	if ((r = create_label(&s, vf_gpt_last_usable_lba(t->disk_size), err)))
		goto prefix;
	vf_uuid_format(t->disk_guid, guid_text);
	if ((r = fdisk_set_disklabel_id_from_string(s.cxt, guid_text)) < 0) {
		r = fdisk_fail(&s, err, r, "cannot set the disk GUID %s", guid_text);
		goto prefix;
	}
	for (size_t i = 0; i < t->n_parts; i++)
		if ((r = add_part(&s, &t->parts[i], i, err)))
			goto prefix;
	if (!(r = session_write(&s, err)))
		r = session_close(&s, err);
prefix:
	if (r)
		vf_err_prefix(err, "'%s'", path);
out:
	session_release(&s);
	return r;
}

/* The GPT label of an open session, or -ENODATA naming what is there instead. */
static int require_gpt(struct session *s, struct vf_err *err)
{
	if (!fdisk_has_label(s->cxt))
		return vf_err_set(err, ENODATA, "'%s' has no partition table", s->path);
	if (!fdisk_is_labeltype(s->cxt, FDISK_DISKLABEL_GPT))
		return vf_err_set(err, ENODATA, "'%s' has a %s partition table, not a GPT", s->path,
				  fdisk_label_get_name(fdisk_get_label(s->cxt, NULL)));
	return 0;
}

static int parse_guid(const char *text, uint8_t out[16], const char *what, struct vf_err *err)
{
	if (!text || vf_uuid_parse(text, out))
		return vf_err_set(err, EIO, "libfdisk gave %s '%s', not a GUID", what,
				  text ? text : "(none)");
	return 0;
}

/* Entry i (used) of the open table. */
static int read_part(struct session *s, size_t i, struct vf_gpt_part *p, struct vf_err *err)
{
	struct fdisk_partition *pa = NULL;
	struct fdisk_parttype *type;
	const char *name;
	size_t len;
	int r;

	if ((r = fdisk_get_partition(s->cxt, i, &pa)) < 0)
		return fdisk_fail(s, err, r, "cannot read partition %zu", i + 1);
	if (!fdisk_partition_has_start(pa) || !fdisk_partition_has_size(pa)) {
		r = vf_err_set(err, EIO, "partition %zu has no start or size", i + 1);
		goto out;
	}
	p->first_lba = fdisk_partition_get_start(pa);
	p->size_lba = fdisk_partition_get_size(pa);
	type = fdisk_partition_get_type(pa);
	if ((r = parse_guid(type ? fdisk_parttype_get_string(type) : NULL, p->type,
			    "a type", err)) ||
	    (r = parse_guid(fdisk_partition_get_uuid(pa), p->uuid, "a partition UUID", err)))
		goto out;
	name = fdisk_partition_get_name(pa);
	len = name ? strlen(name) : 0;
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)name[k];

		if (c < 0x20 || c > 0x7e) {
			r = vf_err_set(err, EINVAL, "partition %zu: name byte %zu is 0x%02x, not "
				       "printable ASCII", i + 1, k, c);
			goto out;
		}
	}
	if (len > VF_GPT_NAME_MAX) {
		r = vf_err_set(err, EINVAL, "partition %zu: name '%s' is longer than %d characters",
			       i + 1, name, VF_GPT_NAME_MAX);
		goto out;
	}
	memcpy(p->name, name ? name : "", len + 1);
	if ((r = fdisk_gpt_get_partition_attrs(s->cxt, i, &p->attrs)) < 0) {
		r = fdisk_fail(s, err, r, "cannot read the attributes of partition %zu", i + 1);
		goto out;
	}
	r = 0;
out:
	fdisk_unref_partition(pa);
	return r;
}

int vf_gpt_read(const char *path, struct vf_gpt_table *ret, struct vf_err *err)
{
	struct vf_gpt_table t = { 0 };
	struct session s;
	char *id = NULL;
	size_t n;
	int r;

	session_init(&s, path);
	if ((r = session_open(&s, false, err)) || (r = require_gpt(&s, err)))
		goto out;
	if ((r = fdisk_get_disklabel_id(s.cxt, &id)) < 0) {
		r = fdisk_fail(&s, err, r, "'%s': cannot read the disk GUID", path);
		goto out;
	}
	if ((r = parse_guid(id, t.disk_guid, "a disk GUID", err)))
		goto prefix;
	t.disk_size = (uint64_t)fdisk_get_nsectors(s.cxt) * VF_GPT_SECTOR;
	n = fdisk_get_npartitions(s.cxt);
	while (n > 0 && !fdisk_is_partition_used(s.cxt, n - 1))
		n--;
	t.parts = calloc(n ? n : 1, sizeof(*t.parts));
	if (!t.parts) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	t.n_parts = n;
	for (size_t i = 0; i < n; i++)
		if (fdisk_is_partition_used(s.cxt, i) && (r = read_part(&s, i, &t.parts[i], err)))
			goto prefix;
	*ret = t;
	t.parts = NULL;
	r = 0;
prefix:
	if (r)
		vf_err_prefix(err, "'%s'", path);
out:
	free(id);
	free(t.parts);
	session_release(&s);
	return r;
}

void vf_gpt_table_release(struct vf_gpt_table *t)
{
	if (!t)
		return;
	free(t->parts);
	t->parts = NULL;
	t->n_parts = 0;
}

/*
 * Refuse a table libfdisk would change beyond the attributes on write: one it
 * repaired on reading (a damaged copy) or that fails its verification.
 */
static int require_clean(struct session *s, struct vf_err *err)
{
	uint64_t alt = 0;
	int r;

	if ((r = header_item(s, GPT_LABELITEM_ALTLBA, &alt, err)))
		return r;
	if (alt != s->size / VF_GPT_SECTOR - 1)
		return vf_err_set(err, EUCLEAN, "the backup GPT header is at sector %llu, not at "
				  "the last sector %llu (was the disk resized?)", (ull)alt,
				  (ull)(s->size / VF_GPT_SECTOR - 1));
	if (fdisk_label_is_changed(fdisk_get_label(s->cxt, NULL)))
		return vf_err_set(err, EUCLEAN, "refusing to change a damaged GPT (libfdisk: \"%s\")",
				  s->warning[0] ? s->warning : "changed on reading");
	s->warning[0] = '\0';
	r = fdisk_verify_disklabel(s->cxt);
	if (r < 0)
		return fdisk_fail(s, err, r, "cannot verify the GPT");
	if (r > 0)
		return vf_err_set(err, EUCLEAN, "refusing to change a GPT with %d error%s "
				  "(libfdisk: \"%s\")", r, r == 1 ? "" : "s", s->warning);
	return 0;
}

/* The UUID of used entry i, in textual byte order. */
static int entry_uuid(struct session *s, size_t i, uint8_t out[16], struct vf_err *err)
{
	struct fdisk_partition *pa = NULL;
	int r;

	if ((r = fdisk_get_partition(s->cxt, i, &pa)) < 0)
		return fdisk_fail(s, err, r, "cannot read partition %zu", i + 1);
	r = parse_guid(fdisk_partition_get_uuid(pa), out, "a partition UUID", err);
	fdisk_unref_partition(pa);
	return r;
}

/* Check one change against the table before anything is changed. */
static int check_change(struct session *s, const struct vf_gpt_change *c, const uint8_t disk[16],
			struct vf_err *err)
{
	size_t n = fdisk_get_npartitions(s->cxt);

	if (c->index >= n)
		return vf_err_set(err, EINVAL, "no partition %zu: the table has %zu entries",
				  c->index + 1, n);
	if (!fdisk_is_partition_used(s->cxt, c->index))
		return vf_err_set(err, EINVAL, "partition %zu is not in use", c->index + 1);
	if (c->set_uuid && vf_uuid_is_null(c->uuid))
		return vf_err_set(err, EINVAL, "partition %zu: the all-zero UUID is not allowed",
				  c->index + 1);
	if (c->set_uuid && memcmp(c->uuid, disk, 16) == 0) {
		char text[VF_UUID_TEXT_LEN + 1];

		vf_uuid_format(c->uuid, text);
		return vf_err_set(err, EINVAL, "partition %zu: UUID %s is the disk GUID",
				  c->index + 1, text);
	}
	return 0;
}

/*
 * Refuse a duplicate partition UUID in the table as it will be: `uuids` holds
 * every entry's UUID after the changes (unused entries all zeros).
 */
static int check_unique(const uint8_t (*uuids)[16], size_t n, struct vf_err *err)
{
	for (size_t i = 0; i < n; i++) {
		if (vf_uuid_is_null(uuids[i]))
			continue;
		for (size_t k = i + 1; k < n; k++) {
			char text[VF_UUID_TEXT_LEN + 1];

			if (memcmp(uuids[i], uuids[k], 16) != 0)
				continue;
			vf_uuid_format(uuids[i], text);
			return vf_err_set(err, EINVAL, "partitions %zu and %zu would both have UUID %s",
					  i + 1, k + 1, text);
		}
	}
	return 0;
}

/* Apply one (checked) change to the table libfdisk holds; *changed when it differs. */
static int apply_change(struct session *s, const struct vf_gpt_change *c, const uint8_t old_uuid[16],
			bool *changed, struct vf_err *err)
{
	uint64_t old = 0;
	int r;

	if (c->set_attrs) {
		if ((r = fdisk_gpt_get_partition_attrs(s->cxt, c->index, &old)) < 0)
			return fdisk_fail(s, err, r, "cannot read the attributes of partition %zu",
					  c->index + 1);
		if (old != c->attrs) {
			if ((r = fdisk_gpt_set_partition_attrs(s->cxt, c->index, c->attrs)) < 0)
				return fdisk_fail(s, err, r, "cannot set the attributes of partition "
						  "%zu", c->index + 1);
			*changed = true;
		}
	}
	if (c->set_uuid && memcmp(old_uuid, c->uuid, 16) != 0) {
		struct fdisk_partition *pa = fdisk_new_partition();
		char text[VF_UUID_TEXT_LEN + 1];

		if (!pa)
			return vf_err_set(err, ENOMEM, "out of memory");
		vf_uuid_format(c->uuid, text);
		r = fdisk_partition_set_uuid(pa, text);
		if (r >= 0)
			r = fdisk_set_partition(s->cxt, c->index, pa);
		fdisk_unref_partition(pa);
		if (r < 0)
			return fdisk_fail(s, err, r, "cannot set the UUID of partition %zu to %s",
					  c->index + 1, text);
		*changed = true;
	}
	return 0;
}

int vf_gpt_update(const char *path, const struct vf_gpt_change *changes, size_t n,
		  struct vf_err *err)
{
	uint8_t mbr[VF_GPT_SECTOR], now[VF_GPT_SECTOR], disk[16];
	uint8_t (*uuids)[16] = NULL;
	struct session s;
	size_t entries;
	bool changed = false;
	char *id = NULL;
	int64_t got;
	int r;

	session_init(&s, path);
	for (size_t i = 0; i < n; i++) {
		const struct vf_gpt_change *c = &changes[i];

		if (c->set_attrs && (c->attrs & VF_GPT_ATTR_RESERVED)) {
			r = vf_err_set(err, EINVAL, "attributes 0x%016llx set bits reserved by UEFI "
				       "(3-47): 0x%016llx", (ull)c->attrs,
				       (ull)(c->attrs & VF_GPT_ATTR_RESERVED));
			goto prefix;
		}
		for (size_t k = 0; k < i; k++)
			if (changes[k].index == c->index) {
				r = vf_err_set(err, EINVAL, "partition %zu is changed twice (changes "
					       "%zu and %zu)", c->index + 1, k + 1, i + 1);
				goto prefix;
			}
	}
	if ((r = session_open(&s, true, err)) || (r = require_gpt(&s, err)))
		goto out;
	got = vf_fs_pread_full(s.fd, mbr, sizeof(mbr), 0);
	if (got != (int64_t)sizeof(mbr)) {
		r = vf_err_sys(err, got < 0 ? (int)-got : EIO, "cannot read sector 0");
		goto prefix;
	}
	if ((r = require_clean(&s, err)))
		goto prefix;
	if ((r = fdisk_get_disklabel_id(s.cxt, &id)) < 0) {
		r = fdisk_fail(&s, err, r, "cannot read the disk GUID");
		goto prefix;
	}
	if ((r = parse_guid(id, disk, "a disk GUID", err)))
		goto prefix;
	for (size_t i = 0; i < n; i++)
		if ((r = check_change(&s, &changes[i], disk, err)))
			goto prefix;
	/* every entry's UUID before and after, to refuse duplicates before writing */
	entries = fdisk_get_npartitions(s.cxt);
	uuids = calloc(2 * entries + 1, sizeof(*uuids));
	if (!uuids) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < entries; i++)
		if (fdisk_is_partition_used(s.cxt, i) && (r = entry_uuid(&s, i, uuids[i], err)))
			goto prefix;
	memcpy(uuids + entries, uuids, entries * sizeof(*uuids));
	for (size_t i = 0; i < n; i++)
		if (changes[i].set_uuid)
			memcpy(uuids[entries + changes[i].index], changes[i].uuid, 16);
	if ((r = check_unique((const uint8_t (*)[16])(uuids + entries), entries, err)))
		goto prefix;
	for (size_t i = 0; i < n; i++)
		if ((r = apply_change(&s, &changes[i], uuids[changes[i].index], &changed, err)))
			goto prefix;
	if (!changed)
		goto out;
	if ((r = session_write(&s, err)))
		goto prefix;
	/* libfdisk rewrites the protective MBR's entry in its own way: put back
	 * the sector as it was (another tool's CHS values, for one) */
	got = vf_fs_pread_full(s.fd, now, sizeof(now), 0);
	if (got != (int64_t)sizeof(now)) {
		r = vf_err_sys(err, got < 0 ? (int)-got : EIO, "cannot read sector 0");
		goto prefix;
	}
	if (memcmp(now, mbr, sizeof(mbr)) && (r = vf_fs_pwrite_full(s.fd, mbr, sizeof(mbr), 0))) {
		r = vf_err_sys(err, -r, "cannot restore sector 0");
		goto prefix;
	}
	r = session_close(&s, err);
prefix:
	if (r)
		vf_err_prefix(err, "'%s'", path);
out:
	free(uuids);
	free(id);
	session_release(&s);
	return r;
}

int vf_gpt_set_attrs(const char *path, size_t index, uint64_t attrs, struct vf_err *err)
{
	struct vf_gpt_change c = { .index = index, .set_attrs = true, .attrs = attrs };

	return vf_gpt_update(path, &c, 1, err);
}
