/*
 * vinit: the /init of the initramfs vforge generates (docs/boot.md). A static C program, no
 * shell: it mounts /proc, /sys and /dev, loads the modules in /modules/order, reads the
 * dm-mod.create= verity table vforge put on the kernel command line, waits for the partitions
 * it names (PARTUUID=<uuid>, found by reading each disk's GPT), creates the read-only
 * dm-verity device through the device-mapper ioctls, mounts it read-only as ext4, switches to
 * it and runs /usr/sbin/init with VFORGE_BANK=A|B (from the data partition's GPT name).
 *
 * Every failure prints "vinit: FATAL: <what>: <why>" and powers the machine off: there is no
 * fallback to an unverified root, no rescue shell, no retry.
 *
 * ci/make-packages compiles exactly one source file per program, so the parsing half is
 * #included rather than linked: vinit_parse.c holds the pure functions (no system calls), which
 * the host unit test tests/unit/vinit/test_vinit_parse.c compiles and tests the same way.
 */
#include "vinit_parse.c"

#include <dirent.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MODULES_DIR "/modules"
#define NEWROOT "/newroot"
#define ROOT_NODE "/dev/vinit-root"
#define CONTROL "/dev/mapper/control"
#define CONTROL_NODE "/dev/vinit-dm-control"
#define INIT "/usr/sbin/init"
#define WAIT_MS 10000
#define POLL_MS 50
#define MAX_PARTS 128

__attribute__((format(printf, 1, 2)))
static void say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	for (const char *p = line; n > 0;) {
		ssize_t w = write(STDOUT_FILENO, p, (size_t)n);

		if (w <= 0 && errno != EINTR)
			return;
		if (w > 0) {
			p += w;
			n -= (int)w;
		}
	}
}

/* "vinit: FATAL: <what>: <why>", then power off. Never returns; never falls back. */
__attribute__((format(printf, 2, 3), noreturn))
static void fatal(const char *what, const char *fmt, ...)
{
	char why[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	say("vinit: FATAL: %s: %s", what, why);
	say("vinit: powering off");
	tcdrain(STDOUT_FILENO); /* let the serial console send it before the power goes */
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause(); /* PID 1 must not exit: that would be a kernel panic, not a clean stop */
}

/* fds 0-2 must be open before anything else is, or a later open() would become "stdout". */
static void hold_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/", O_RDONLY | O_DIRECTORY) < 0)
			_exit(1);
}

static void mount_one(const char *fs, const char *dir, unsigned long flags, const char *data)
{
	if (mkdir(dir, 0755) && errno != EEXIST)
		fatal("mkdir", "'%s': %s", dir, strerror(errno));
	if (mount(fs, dir, fs, flags, data))
		fatal("mount", "%s on '%s': %s", fs, dir, strerror(errno));
}

static void console(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		fatal("console", "'/dev/console': %s", strerror(errno));
	for (int i = 0; i < 3; i++)
		if (dup2(fd, i) < 0)
			fatal("console", "dup2 to %d: %s", i, strerror(errno));
	if (fd > 2)
		close(fd);
}

/* A whole small file into buf (NUL-terminated): its length, or -errno; -EFBIG when too long. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t used = 0;
	ssize_t n = 0;

	if (fd < 0)
		return -errno;
	while (used < size - 1 && (n = read(fd, buf + used, size - 1 - used)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		used += (size_t)n;
	}
	if (used == size - 1) {
		char c;

		n = read(fd, &c, 1);
		if (n > 0) {
			close(fd);
			return -EFBIG;
		}
	}
	close(fd);
	buf[used] = '\0';
	return (ssize_t)used;
}

/* ---- modules ----------------------------------------------------------------------------- */

static char order[16384];

static void load_modules(void)
{
	unsigned loaded = 0, present = 0;
	ssize_t n = read_small(MODULES_DIR "/order", order, sizeof(order));
	char *line, *save = NULL;

	if (n == -ENOENT) {
		say("vinit: no " MODULES_DIR "/order: loading no modules");
		return;
	}
	if (n < 0)
		fatal("modules", "'" MODULES_DIR "/order': %s", strerror((int)-n));
	for (line = strtok_r(order, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char path[300];
		int fd;

		if (!*line)
			continue;
		if (strchr(line, '/') || line[0] == '.' || strlen(line) > 255)
			fatal("modules", "'" MODULES_DIR "/order' names '%.80s', not a file name", line);
		snprintf(path, sizeof(path), MODULES_DIR "/%s", line);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fatal("module", "'%s': %s", path, strerror(errno));
		if (syscall(SYS_finit_module, fd, "", 0) == 0)
			loaded++;
		else if (errno == EEXIST)
			present++;
		else
			fatal("module", "loading '%s': %s", line, strerror(errno));
		close(fd);
	}
	if (present)
		say("vinit: loaded %u modules (%u more already present)", loaded, present);
	else
		say("vinit: loaded %u modules", loaded);
}

/* ---- finding the partitions -------------------------------------------------------------- */

/* A device the table names, and what the GPT scan found for it. */
struct want {
	const char *word;        /* as in the table */
	struct vinit_dev dev;
	unsigned matches;        /* GPT entries matching, over all disks, this scan */
	bool found;              /* matched once, and its partition exists in sysfs */
	unsigned major, minor;
	char part[64];           /* sysfs name, e.g. vda2 */
	char name[37];           /* GPT partition name */
};

/* A partition of a disk as sysfs shows it. */
struct part {
	unsigned number, major, minor;
	char name[64];
};

static char problem[1024]; /* why the last disk that could not be read was skipped */

static size_t disk_parts(const char *disk, struct part *parts, size_t max)
{
	char dir[300], path[600], text[64];
	struct dirent *d;
	size_t n = 0;
	DIR *dp;

	snprintf(dir, sizeof(dir), "/sys/class/block/%s", disk);
	if (!(dp = opendir(dir)))
		return 0;
	while ((d = readdir(dp)) && n < max) {
		unsigned num, ma, mi;

		if (d->d_name[0] == '.' || strlen(d->d_name) >= sizeof(parts[0].name))
			continue;
		snprintf(path, sizeof(path), "%s/%s/partition", dir, d->d_name);
		if (read_small(path, text, sizeof(text)) <= 0 || sscanf(text, "%u", &num) != 1)
			continue;
		snprintf(path, sizeof(path), "%s/%s/dev", dir, d->d_name);
		if (read_small(path, text, sizeof(text)) <= 0 ||
		    sscanf(text, "%u:%u", &ma, &mi) != 2)
			continue;
		parts[n].number = num;
		parts[n].major = ma;
		parts[n].minor = mi;
		snprintf(parts[n].name, sizeof(parts[n].name), "%.63s", d->d_name);
		n++;
	}
	closedir(dp);
	return n;
}

static bool read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

/* Match the used entries of one disk's GPT against the wanted devices. */
static void scan_disk(const char *disk, struct want *w, size_t nw)
{
	static uint8_t sector[65536];
	struct part parts[MAX_PARTS];
	struct vinit_gpt_header h;
	struct vinit_err err;
	char path[300], text[32];
	uint8_t *entries = NULL;
	size_t ss = 512, np, size;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/block/%s/queue/logical_block_size", disk);
	if (read_small(path, text, sizeof(text)) > 0)
		ss = strtoul(text, NULL, 10);
	snprintf(path, sizeof(path), "/dev/%s", disk);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(problem, sizeof(problem), "'%s': %s", path, strerror(errno));
		return;
	}
	if (ss < 512 || ss > sizeof(sector) || !read_at(fd, sector, ss, ss)) {
		snprintf(problem, sizeof(problem), "'%s': cannot read LBA 1 (sector size %zu)", path,
			 ss);
		goto out;
	}
	if (vinit_gpt_header_parse(sector, ss, &h, &err)) {
		snprintf(problem, sizeof(problem), "'%s': %s", path, err.msg);
		goto out;
	}
	size = vinit_gpt_entries_size(&h);
	if (!(entries = malloc(size)) || !read_at(fd, entries, size, h.entries_lba * ss)) {
		snprintf(problem, sizeof(problem), "'%s': cannot read the GPT entries", path);
		goto out;
	}
	if (vinit_gpt_entries_check(&h, entries, size, &err)) {
		snprintf(problem, sizeof(problem), "'%s': %s", path, err.msg);
		goto out;
	}
	np = disk_parts(disk, parts, MAX_PARTS);
	for (uint32_t i = 0; i < h.n_entries; i++) {
		struct vinit_gpt_entry e;
		const struct part *p = NULL;

		if (vinit_gpt_entry_get(&h, entries, size, i, &e) != 1)
			continue;
		for (size_t k = 0; k < np; k++)
			if (parts[k].number == i + 1)
				p = &parts[k];
		for (size_t k = 0; k < nw; k++) {
			bool match = w[k].dev.kind == VINIT_DEV_PARTUUID ?
				memcmp(w[k].dev.uuid, e.uuid, 16) == 0 :
				p && p->major == w[k].dev.major && p->minor == w[k].dev.minor;

			if (!match)
				continue;
			if (w[k].matches++)
				fatal("partition", "%s names more than one partition: %s and %s; "
				      "refusing to guess", w[k].word,
				      w[k].found ? w[k].part : "one not yet in sysfs",
				      p ? p->name : "one not yet in sysfs");
			if (!p)
				continue; /* in the GPT, not yet in sysfs: wait */
			w[k].found = true;
			w[k].major = p->major;
			w[k].minor = p->minor;
			snprintf(w[k].part, sizeof(w[k].part), "%s", p->name);
			snprintf(w[k].name, sizeof(w[k].name), "%s", e.name);
		}
	}
out:
	free(entries);
	close(fd);
}

/* One pass over /sys/class/block: true when every wanted device was found exactly once. */
static bool scan(struct want *w, size_t nw)
{
	char path[600], text[32];
	struct dirent *d;
	bool all = true;
	DIR *dp;

	for (size_t k = 0; k < nw; k++) {
		w[k].matches = 0;
		w[k].found = false;
	}
	if (!(dp = opendir("/sys/class/block")))
		fatal("partitions", "'/sys/class/block': %s", strerror(errno));
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.' || strncmp(d->d_name, "dm-", 3) == 0 ||
		    strlen(d->d_name) > 200)
			continue;
		snprintf(path, sizeof(path), "/sys/class/block/%s/partition", d->d_name);
		if (access(path, F_OK) == 0)
			continue; /* a partition, not a disk */
		snprintf(path, sizeof(path), "/sys/class/block/%s/size", d->d_name);
		if (read_small(path, text, sizeof(text)) <= 0 || strtoull(text, NULL, 10) == 0)
			continue;
		scan_disk(d->d_name, w, nw);
	}
	closedir(dp);
	for (size_t k = 0; k < nw; k++)
		all &= w[k].found;
	return all;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void wait_for(struct want *w, size_t nw)
{
	uint64_t start = now_ms();

	while (!scan(w, nw)) {
		struct timespec ts = { 0, POLL_MS * 1000000L };

		if (now_ms() - start >= WAIT_MS) {
			for (size_t k = 0; k < nw; k++)
				if (!w[k].found)
					fatal("partition", "%s did not appear within %d s%s%s",
					      w[k].word, WAIT_MS / 1000, *problem ? "; last disk "
					      "problem: " : "", problem);
		}
		nanosleep(&ts, NULL);
	}
}

/* ---- device-mapper ----------------------------------------------------------------------- */

static uint64_t dmbuf[(sizeof(struct dm_ioctl) + sizeof(struct dm_target_spec) + 20480) / 8];

static struct dm_ioctl *dm_header(const struct vinit_dm_create *c, uint32_t flags)
{
	struct dm_ioctl *io = (struct dm_ioctl *)dmbuf;

	memset(dmbuf, 0, sizeof(dmbuf));
	io->version[0] = DM_VERSION_MAJOR; /* 4.0.0: all vinit needs, accepted by every 4.x */
	io->data_size = sizeof(*io);
	io->data_start = sizeof(*io);
	io->flags = flags;
	if (c)
		snprintf(io->name, sizeof(io->name), "%s", c->name);
	return io;
}

static void dm_call(int fd, unsigned long req, const char *what, const char *name)
{
	if (ioctl(fd, req, dmbuf) < 0)
		fatal("device-mapper", "%s '%s': %s", what, name, strerror(errno));
}

static int dm_control(void)
{
	char text[32];
	unsigned ma, mi;
	int fd = open(CONTROL, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	/* devtmpfs normally provides it; if not, make the node from sysfs */
	if (read_small("/sys/class/misc/device-mapper/dev", text, sizeof(text)) <= 0 ||
	    sscanf(text, "%u:%u", &ma, &mi) != 2)
		fatal("device-mapper", "'" CONTROL "': %s, and no "
		      "/sys/class/misc/device-mapper (is dm-mod loaded?)", strerror(errno));
	if (mknod(CONTROL_NODE, S_IFCHR | 0600, makedev(ma, mi)) && errno != EEXIST)
		fatal("device-mapper", "mknod '" CONTROL_NODE "': %s", strerror(errno));
	if ((fd = open(CONTROL_NODE, O_RDWR | O_CLOEXEC)) < 0)
		fatal("device-mapper", "'" CONTROL_NODE "': %s", strerror(errno));
	return fd;
}

/* Create, load and resume the device; returns its device number. */
static dev_t dm_create(const struct vinit_dm_create *c, const char *params)
{
	uint32_t ro = c->read_only ? DM_READONLY_FLAG : 0;
	struct dm_target_spec *spec;
	struct dm_ioctl *io;
	size_t plen = strlen(params) + 1, total;
	dev_t dev;
	int fd = dm_control();

	io = dm_header(NULL, 0);
	dm_call(fd, DM_VERSION, "version", "control");
	if (io->version[0] != DM_VERSION_MAJOR)
		fatal("device-mapper", "interface version %u.%u.%u, expected %u.x",
		      io->version[0], io->version[1], io->version[2], DM_VERSION_MAJOR);

	io = dm_header(c, ro | (c->has_minor ? DM_PERSISTENT_DEV_FLAG : 0));
	snprintf(io->uuid, sizeof(io->uuid), "%s", c->uuid);
	if (c->has_minor) /* the kernel's huge_encode_dev(MKDEV(0, minor)) */
		io->dev = (c->minor & 0xffu) | ((uint64_t)(c->minor & ~0xffu) << 12);
	dm_call(fd, DM_DEV_CREATE, "create", c->name);
	dev = makedev(major(io->dev), minor(io->dev));

	io = dm_header(c, ro);
	total = sizeof(*io) + sizeof(*spec) + ((plen + 7) & ~(size_t)7);
	if (total > sizeof(dmbuf))
		fatal("device-mapper", "the table of %zu bytes is too long", plen);
	io->data_size = (uint32_t)total;
	io->target_count = 1;
	spec = (struct dm_target_spec *)(io + 1);
	spec->sector_start = c->start;
	spec->length = c->length;
	spec->next = (uint32_t)(total - sizeof(*io));
	snprintf(spec->target_type, sizeof(spec->target_type), "%s", c->target);
	memcpy(spec + 1, params, plen);
	dm_call(fd, DM_TABLE_LOAD, "load the table of", c->name);

	io = dm_header(c, ro); /* DM_DEV_SUSPEND without DM_SUSPEND_FLAG: resume */
	dm_call(fd, DM_DEV_SUSPEND, "resume", c->name);
	close(fd);
	return dev;
}

/* ---- switching root ---------------------------------------------------------------------- */

/* The initramfs files are no use any more: free their memory (best effort). */
static void clean_initramfs(void)
{
	char *line, *save = NULL, path[300];
	ssize_t n = read_small(MODULES_DIR "/order", order, sizeof(order));

	for (line = n > 0 ? strtok_r(order, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save))
		if (*line && !strchr(line, '/') && strlen(line) < 256) {
			snprintf(path, sizeof(path), MODULES_DIR "/%s", line);
			unlink(path);
		}
	unlink(MODULES_DIR "/order");
	rmdir(MODULES_DIR);
	unlink("/init");
}

static void switch_root(void)
{
	static const char *const keep[] = { "/dev", "/proc", "/sys" };
	char target[64];
	struct stat st;

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		snprintf(target, sizeof(target), NEWROOT "%s", keep[i]);
		if (stat(target, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (mount(keep[i], target, NULL, MS_MOVE, NULL))
				fatal("switch root", "move '%s' to '%s': %s", keep[i], target,
				      strerror(errno));
		} else if (umount2(keep[i], MNT_DETACH)) {
			fatal("switch root", "unmount '%s': %s", keep[i], strerror(errno));
		}
	}
	clean_initramfs();
	if (chdir(NEWROOT))
		fatal("switch root", "chdir '" NEWROOT "': %s", strerror(errno));
	if (mount(".", "/", NULL, MS_MOVE, NULL))
		fatal("switch root", "move '" NEWROOT "' to '/': %s", strerror(errno));
	if (chroot("."))
		fatal("switch root", "chroot: %s", strerror(errno));
	if (chdir("/"))
		fatal("switch root", "chdir '/': %s", strerror(errno));
}

/* ---- main -------------------------------------------------------------------------------- */

static char cmdline[VINIT_CMDLINE_MAX + 2];
static char value[VINIT_VALUE_MAX];
static char params[VINIT_MAX_WORDS * VINIT_WORD_MAX];
static struct vinit_dm_create dm;

int main(void)
{
	char numbers[2][24], bank_env[16] = "VFORGE_BANK=";
	char *argv[] = { (char *)INIT, NULL };
	char *envp[] = { (char *)"HOME=/", (char *)"TERM=linux", (char *)"PATH=/usr/sbin:/usr/bin",
			 bank_env, NULL };
	struct want w[2];
	struct vinit_verity v;
	struct vinit_err err;
	ssize_t n;
	dev_t dev;
	char bank;

	if (getpid() != 1) {
		/* it mounts over /dev and switches root: never on a running system */
		fprintf(stderr, "vinit: must run as PID 1 (the initramfs's /init)\n");
		return 2;
	}
	hold_std_fds();
	mount_one("devtmpfs", "/dev", MS_NOSUID, "mode=0755");
	console();
	mount_one("proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_one("sysfs", "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	say("vinit: starting");

	load_modules();

	n = read_small("/proc/cmdline", cmdline, sizeof(cmdline));
	if (n < 0)
		fatal("command line", "'/proc/cmdline': %s", strerror((int)-n));
	if (vinit_cmdline_value(cmdline, (size_t)n, "dm-mod.create", value, sizeof(value), &err) ||
	    vinit_dm_create_parse(value, &dm, &err) || vinit_verity_check(&dm, &v, &err))
		fatal("command line", "%s", err.msg);

	memset(w, 0, sizeof(w));
	w[0].word = v.data_dev;
	w[1].word = v.hash_dev;
	for (int k = 0; k < 2; k++)
		if (vinit_dev_parse(w[k].word, &w[k].dev, &err))
			fatal("command line", "verity %s %s", k ? "hash" : "data", err.msg);
	wait_for(w, 2);
	/* resolved here, whether or not this kernel would resolve PARTUUID= itself */
	for (int k = 0; k < 2; k++) {
		snprintf(numbers[k], sizeof(numbers[k]), "%u:%u", w[k].major, w[k].minor);
		snprintf(dm.words[1 + k], sizeof(dm.words[0]), "%s", numbers[k]);
	}
	say("vinit: verity device %s: data %s (%s, %s) hash %s (%s, %s) root hash %.16s...",
	    dm.name, w[0].part, w[0].name, numbers[0], w[1].part, w[1].name, numbers[1],
	    v.root_hash);
	if (vinit_dm_params_format(&dm, params, sizeof(params), &err))
		fatal("device-mapper", "%s", err.msg);

	dev = dm_create(&dm, params);
	if (mknod(ROOT_NODE, S_IFBLK | 0400, dev) && errno != EEXIST)
		fatal("root", "mknod '" ROOT_NODE "' %u:%u: %s", major(dev), minor(dev),
		      strerror(errno));
	if (mkdir(NEWROOT, 0755) && errno != EEXIST)
		fatal("root", "mkdir '" NEWROOT "': %s", strerror(errno));
	if (mount(ROOT_NODE, NEWROOT, "ext4", MS_RDONLY, NULL))
		fatal("root", "mount '" ROOT_NODE "' (%u:%u) as ext4 read-only on '" NEWROOT "': %s",
		      major(dev), minor(dev), strerror(errno));
	say("vinit: mounted %s (%u:%u) read-only on " NEWROOT, dm.name, major(dev), minor(dev));

	bank = vinit_bank_of(w[0].name);
	if (bank) {
		bank_env[12] = bank;
		bank_env[13] = '\0';
		say("vinit: bank %c", bank);
	} else {
		envp[3] = NULL;
		say("vinit: bank unknown (data partition '%s')", w[0].name);
	}

	switch_root();
	say("vinit: starting " INIT);
	execve(INIT, argv, envp);
	fatal("exec", "'" INIT "': %s", strerror(errno));
}
