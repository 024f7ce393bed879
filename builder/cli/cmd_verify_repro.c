/*
 * vforge verify-repro: build a variant twice, in separate directories and
 * under deliberately different conditions, and compare every output; or
 * rebuild once and compare with a published build. On a mismatch, `vforge
 * diff` explains the first differing output.
 *
 * Each build is a child process running this same binary's `build`, so the
 * conditions (time zone, locale, umask, working directory, environment,
 * thread count, the wall clock) are really those of a separate run.
 */
#include "builder/cli/cli.h"

#include "builder/base/buf.h"
#include "builder/base/fs.h"
#include "builder/base/hex.h"
#include "builder/manifest/manifest.h"
#include "keys/digest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

const char vf_cli_verify_repro_help[] =
	"Builds <variant> twice, each in its own directory under the work directory,\n"
	"and compares every output byte for byte. The two builds differ on purpose in:\n"
	"  time zone      UTC                  / Pacific/Chatham (UTC+12:45)\n"
	"  locale         C                    / C.UTF-8\n"
	"  umask          022                  / 077\n"
	"  directory      <work>/a             / <work>/b/a/much/deeper/path\n"
	"  environment    HOME, USER, LOGNAME, HOSTNAME set differently\n"
	"  threads        1                    / the online CPUs (at least 2)\n"
	"  wall clock     now                  / ten years on (through libfaketime when\n"
	"                                        installed; else only the seconds between)\n"
	"  directory order as read from the disk / shuffled: build b reads its variant,\n"
	"                 fragments and packages through disorderfs (when installed and\n"
	"                 FUSE works; else said in the report)\n"
	"SOURCE_DATE_EPOCH, when set, is an input: both builds get the same value.\n"
	"Exit 0 when every output is identical, 3 when one differs (then `vforge diff`\n"
	"on the first differing output, the disk image first, says what and where).\n"
	"  --against DIR|FILE  rebuild once and compare with a published build: its\n"
	"                      build.json (or DIR/build.json) gives each output's sha256;\n"
	"                      outputs present in DIR are diffed on a mismatch\n"
	"  --work DIR          where the builds go (default: a new directory in $TMPDIR);\n"
	"                      must not exist or be empty\n"
	"  --keep              keep the work directory (default: removed at the end)\n"
	"  --json              print the result as JSON\n";

#define FAKETIME_LIB "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"

/* The conditions of one build. */
struct cond {
	const char *label;
	const char *tz, *locale, *user, *host;
	mode_t umask;
	const char *cwd_rel;       /* under the work directory */
	unsigned threads;
	bool faketime;
};

struct output {
	char *name;
	bool have_a, have_b;
	uint8_t a[32], b[32];
	uint64_t size_a, size_b;
};

struct run {
	const char *variant;       /* absolute */
	char *variant_b;           /* build b's path to it (through disorderfs), or NULL */
	char *mnt;                 /* the disorderfs mount point, while mounted */
	char dir_order[160];       /* how build b's directory order was varied */
	char self[PATH_MAX];
	char *work;
	bool made_work, keep, json;
	struct output *outs;
	size_t n_outs;
	json_t *report;
};

static char *join(const char *a, const char *b)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", a, b) < 0)
		return NULL;
	return p;
}

static int file_sha256(const char *path, uint8_t out[32], uint64_t *ret_size, struct vf_err *err)
{
	struct vf_digest *d = vf_digest_new(vf_digest_alg_get("sha256"));
	static uint8_t buf[1 << 20];
	uint64_t size = 0;
	int fd = -1, rc = 0;
	ssize_t n;

	if (!d)
		return vf_err_set(err, ENOMEM, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = vf_err_sys(err, errno, "cannot open '%s'", path);
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = vf_err_sys(err, errno, "cannot read '%s'", path);
			goto out;
		}
		size += (uint64_t)n;
		if (vf_digest_update(d, buf, (size_t)n)) {
			rc = vf_err_set(err, EIO, "sha256 of '%s' failed", path);
			goto out;
		}
	}
	if (vf_digest_final(d, out))
		rc = vf_err_set(err, EIO, "sha256 of '%s' failed", path);
	*ret_size = size;
out:
	if (fd >= 0)
		close(fd);
	vf_digest_free(d);
	return rc;
}

static struct output *output_get(struct run *r, const char *name)
{
	struct output *o;

	for (size_t i = 0; i < r->n_outs; i++)
		if (strcmp(r->outs[i].name, name) == 0)
			return &r->outs[i];
	o = realloc(r->outs, (r->n_outs + 1) * sizeof(*o));
	if (!o)
		return NULL;
	r->outs = o;
	o = &r->outs[r->n_outs];
	memset(o, 0, sizeof(*o));
	if (!(o->name = strdup(name)))
		return NULL;
	r->n_outs++;
	return o;
}

/* Hash every regular file of a build's output directory into side a or b. */
static int hash_outputs(struct run *r, const char *dir, bool side_b, struct vf_err *err)
{
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, NULL, alphasort), rc = 0;

	if (n < 0)
		return vf_err_sys(err, errno, "cannot list '%s'", dir);
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		struct output *o;
		struct stat st;
		char *path;

		if (rc || name[0] == '.')
			continue;
		if (!(path = join(dir, name))) {
			rc = vf_err_set(err, ENOMEM, "out of memory");
			continue;
		}
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (!(o = output_get(r, name)))
				rc = vf_err_set(err, ENOMEM, "out of memory");
			else if (side_b) {
				o->have_b = true;
				rc = file_sha256(path, o->b, &o->size_b, err);
			} else {
				o->have_a = true;
				rc = file_sha256(path, o->a, &o->size_a, err);
			}
		}
		free(path);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

/* Side a from a published build.json: each output's name, size and sha256. */
static int outputs_from_report(struct run *r, const char *path, struct vf_err *err)
{
	json_error_t je;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *outs, *o;
	size_t i;
	int rc = 0;

	if (!doc)
		return vf_err_set(err, EINVAL, "%s: line %d: %s", path, je.line, je.text);
	outs = json_object_get(doc, "outputs");
	if (!json_is_array(outs)) {
		json_decref(doc);
		return vf_err_set(err, EINVAL, "%s: no \"outputs\" array: not a vforge build.json",
				  path);
	}
	json_array_foreach(outs, i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *sum = json_string_value(json_object_get(o, "sha256"));
		json_t *size = json_object_get(o, "size");
		struct output *out;
		size_t len = 0;

		if (!name || !sum || !json_is_integer(size) || strchr(name, '/') || name[0] == '.') {
			rc = vf_err_set(err, EINVAL, "%s: outputs[%zu]: expected name (a file name), "
					"size and sha256", path, i);
			break;
		}
		if (!(out = output_get(r, name))) {
			rc = vf_err_set(err, ENOMEM, "out of memory");
			break;
		}
		if (vf_hex_parse(sum, out->a, sizeof(out->a), &len) || len != 32) {
			rc = vf_err_set(err, EINVAL, "%s: outputs[%zu] (%s): sha256 '%.80s' is not 64 "
					"hex digits", path, i, name, sum);
			break;
		}
		out->have_a = true;
		out->size_a = (uint64_t)json_integer_value(size);
	}
	json_decref(doc);
	return rc;
}

/* ---- directory order: build b reads its sources through disorderfs ---------------- */

struct strv {
	char **v;
	size_t n;
};

/* Add the real path of `path` (skipped when it does not resolve: nothing to shuffle). */
static void strv_add_real(struct strv *l, const char *path)
{
	char *real = realpath(path, NULL), **grown;

	if (!real)
		return;
	grown = realloc(l->v, (l->n + 1) * sizeof(*grown));
	if (!grown) {
		free(real);
		return;
	}
	l->v = grown;
	l->v[l->n++] = real;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash == path ? strdup("/") : strndup(path, slash ? (size_t)(slash - path) : 0);
}

/* Every file the variant's build reads: its manifests (as the loader composed them) and inputs. */
static void collect_sources(const char *variant, struct strv *out)
{
	struct vf_manifest *m = NULL;
	struct vf_err err = { 0 };

	if (vf_manifest_load(variant, &m, &err))
		return; /* the build reports it */
	for (size_t i = 0; i < m->n_sources; i++)
		strv_add_real(out, m->sources[i]);
	for (size_t i = 0; i < m->n_pkgs; i++)
		strv_add_real(out, m->pkgs[i].file);
	for (size_t i = 0; i < m->n_files; i++)
		if (m->files[i].source)
			strv_add_real(out, m->files[i].source);
	if (m->update_root)
		strv_add_real(out, m->update_root);
	if (m->kernel.has_package)
		strv_add_real(out, m->kernel.file);
	vf_manifest_free(m);
}

/* The deepest directory holding every path (absolute, normalised by realpath). */
static char *common_dir(const struct strv *l)
{
	char *best;

	if (!l->n || !(best = dir_of(l->v[0])))
		return NULL;
	for (size_t i = 1; i < l->n; i++) {
		size_t k = strlen(best);

		while (strncmp(best, l->v[i], k) != 0 || (k > 1 && l->v[i][k] != '/')) {
			char *up = dir_of(best);

			free(best);
			if (!(best = up))
				return NULL;
			k = strlen(best);
			if (k == 1)
				break;
		}
	}
	return best;
}

static int run_quiet(char *const argv[])
{
	int status, fd;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * Mount the directory holding every source of the variant through disorderfs
 * (directory entries shuffled) for build b. When that cannot be done the
 * report says why; it is not an error.
 */
static void mount_shuffled(struct run *r)
{
	struct strv src = { 0 };
	char *top = NULL, *mnt = NULL;
	const char *rel_to;

	snprintf(r->dir_order, sizeof(r->dir_order), "as on disk (disorderfs is not installed)");
	collect_sources(r->variant, &src);
	top = common_dir(&src);
	if (top && (mnt = join(r->work, "src-b")) && mkdir(mnt, 0700) == 0) {
		char *argv[] = { (char *)"disorderfs", (char *)"--shuffle-dirents=yes",
				 (char *)"--multi-user=no", (char *)"-q", top, mnt, NULL };
		int rc = run_quiet(argv);

		if (rc == 0) {
			rel_to = r->variant + strlen(top);
			if (strcmp(top, "/") == 0)
				rel_to = r->variant;
			if (asprintf(&r->variant_b, "%s%s", mnt, rel_to) < 0)
				r->variant_b = NULL;
			r->mnt = mnt;
			mnt = NULL;
			snprintf(r->dir_order, sizeof(r->dir_order),
				 "shuffled (disorderfs over %.100s)", top);
		} else if (rc != 127) {
			snprintf(r->dir_order, sizeof(r->dir_order),
				 "as on disk (disorderfs could not mount: no FUSE here?)");
			rmdir(mnt);
		} else {
			rmdir(mnt);
		}
	}
	for (size_t i = 0; i < src.n; i++)
		free(src.v[i]);
	free(src.v);
	free(top);
	free(mnt);
}

static void unmount_shuffled(struct run *r)
{
	if (!r->mnt)
		return;
	if (umount2(r->mnt, MNT_DETACH) < 0) {
		char *argv3[] = { (char *)"fusermount3", (char *)"-u", r->mnt, NULL };
		char *argv[] = { (char *)"fusermount", (char *)"-u", r->mnt, NULL };

		if (run_quiet(argv3) != 0)
			run_quiet(argv);
	}
	rmdir(r->mnt);
	free(r->mnt);
	r->mnt = NULL;
}

/* Run `vforge build <variant> -o <outdir>` under `c`; its output goes to <work>/<label>.log. */
static int run_build(struct run *r, const struct cond *c, const char *outdir, struct vf_err *err)
{
	char *cwd = join(r->work, c->cwd_rel), *log = NULL, *home = NULL, threads[16];
	bool faketime = c->faketime && access(FAKETIME_LIB, R_OK) == 0;
	int rc, status, fd;
	pid_t pid;

	if (!cwd || asprintf(&log, "%s/%s.log", r->work, c->label) < 0 ||
	    asprintf(&home, "%s/home-%s", r->work, c->label) < 0) {
		rc = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = vf_fs_mkdir_p(cwd, err)) || (rc = vf_fs_mkdir_p(home, err)))
		goto out;
	snprintf(threads, sizeof(threads), "%u", c->threads);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = vf_err_sys(err, errno, "cannot create '%s'", log);
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		rc = vf_err_sys(err, errno, "cannot start a build");
		close(fd);
		goto out;
	}
	if (pid == 0) {
		const char *v = strcmp(c->label, "b") == 0 && r->variant_b ? r->variant_b : r->variant;
		char *argv[] = { (char *)"vforge", (char *)"build", (char *)v, (char *)"-o",
				 (char *)outdir, (char *)"--threads", threads, NULL };

		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (chdir(cwd) < 0)
			_exit(126);
		umask(c->umask);
		setenv("TZ", c->tz, 1);
		setenv("LC_ALL", c->locale, 1);
		setenv("LANG", c->locale, 1);
		setenv("HOME", home, 1);
		setenv("USER", c->user, 1);
		setenv("LOGNAME", c->user, 1);
		setenv("HOSTNAME", c->host, 1);
		setenv("PWD", cwd, 1);
		if (faketime) {
			const char *asan = getenv("ASAN_OPTIONS");
			char *opts = NULL;

			setenv("LD_PRELOAD", FAKETIME_LIB, 1);
			setenv("FAKETIME", "+3650d", 1);
			setenv("FAKETIME_DONT_RESET", "1", 1);
			/* an ASan build must accept a preloaded library before its runtime */
			if (asprintf(&opts, "%s%sverify_asan_link_order=0", asan ? asan : "",
				     asan && *asan ? ":" : "") >= 0)
				setenv("ASAN_OPTIONS", opts, 1);
		} else {
			unsetenv("LD_PRELOAD");
		}
		execve(r->self, argv, environ);
		_exit(127);
	}
	close(fd);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			rc = vf_err_sys(err, errno, "waiting for build %s", c->label);
			goto out;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = vf_err_set(err, EIO, "build %s (%s) failed with %s %d: see %s", c->label,
				c->tz, WIFEXITED(status) ? "exit code" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), log);
		r->keep = true;
		goto out;
	}
	if (r->report) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:s}", "tz", c->tz,
				      "locale", c->locale, "umask", c->umask == 022 ? "022" : "077",
				      "cwd", cwd, "user", c->user, "threads", (json_int_t)c->threads,
				      "faketime", faketime, "directory_order",
				      strcmp(c->label, "b") == 0 ? r->dir_order : "as on disk");

		json_object_set_new(r->report, c->label, j ? j : json_null());
	}
	if (!r->json)
		printf("build %s: TZ=%s LC_ALL=%s umask %03o threads %u%s, in %s%s%s\n", c->label,
		       c->tz, c->locale, (unsigned)c->umask, c->threads,
		       faketime ? ", wall clock +10 years" : "", cwd,
		       strcmp(c->label, "b") == 0 ? "; directory order: " : "",
		       strcmp(c->label, "b") == 0 ? r->dir_order : "");
	rc = 0;
out:
	free(cwd);
	free(log);
	free(home);
	return rc;
}

/* How much an output explains: the disk image first, then ROOT's target, then the rest. */
static int output_rank(const char *name)
{
	size_t n = strlen(name);

	if (n > 4 && strcmp(name + n - 4, ".img") == 0)
		return 0;
	if (strstr(name, "-root.ext4"))
		return 1;
	if (n > 4 && strcmp(name + n - 4, ".zst") == 0)
		return 2;
	return 3;
}

/* `vforge diff a b [--json]` on the first differing output; its text goes to stdout. */
static int run_diff(struct run *r, const char *a, const char *b, json_t **ret_json)
{
	char *argv[] = { (char *)"vforge", (char *)"diff", (char *)a, (char *)b,
			 r->json ? (char *)"--json" : NULL, NULL };
	struct vf_buf out = VF_BUF_INIT;
	int pipefd[2], status;
	pid_t pid;

	fflush(NULL);
	if (pipe(pipefd) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		close(pipefd[0]);
		dup2(pipefd[1], STDOUT_FILENO);
		execve(r->self, argv, environ);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		char buf[8192];
		ssize_t n = read(pipefd[0], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out.len < (16u << 20))
			vf_buf_add(&out, buf, (size_t)n);
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r->json) {
		json_error_t je;

		*ret_json = out.len ? json_loadb((const char *)out.data, out.len, 0, &je) : NULL;
	} else if (out.len) {
		fwrite(out.data, 1, out.len, stdout);
	}
	vf_buf_release(&out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void run_release(struct run *r)
{
	unmount_shuffled(r);
	free(r->variant_b);
	for (size_t i = 0; i < r->n_outs; i++)
		free(r->outs[i].name);
	free(r->outs);
	json_decref(r->report);
	if (r->work && !r->keep) {
		struct vf_err e = { 0 };

		vf_fs_remove_tree(r->work, &e);
	}
	free(r->work);
}

/* The work directory: --work (new or empty), else a new one in $TMPDIR. */
static int make_work(struct run *r, const char *work, struct vf_err *err)
{
	char *abs;

	if (!work)
		return vf_fs_mkdtemp(NULL, "vforge-repro", &r->work, err);
	if (mkdir(work, 0700) < 0) {
		DIR *d;
		struct dirent *e;

		if (errno != EEXIST)
			return vf_err_sys(err, errno, "--work: cannot create '%s'", work);
		if (!(d = opendir(work)))
			return vf_err_sys(err, errno, "--work: cannot open '%s'", work);
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
				closedir(d);
				return vf_err_set(err, EEXIST, "--work: '%s' is not empty", work);
			}
		closedir(d);
	}
	if (!(abs = realpath(work, NULL)))
		return vf_err_sys(err, errno, "--work: '%s'", work);
	r->work = abs;
	return 0;
}

int cmd_verify_repro(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "against", required_argument, NULL, 'a' },
		{ "work", required_argument, NULL, 'w' },
		{ "keep", no_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct vf_cli_cmd *self = vf_cli_cmd_find("verify-repro");
	unsigned cpus = vf_cli_online_cpus();
	const struct cond ca = { "a", "UTC", "C", "vforge-a", "host-a", 022, "a", 1, false };
	const struct cond cb = { "b", "Pacific/Chatham", "C.UTF-8", "someone-else-b",
				 "another-host.example", 077, "b/a/much/deeper/path",
				 cpus < 2 ? 2 : cpus, true };
	const char *against = NULL, *work = NULL;
	char *variant = NULL, *dir_a = NULL, *dir_b = NULL, *against_dir = NULL;
	char *report_path = NULL;
	struct run r = { 0 };
	struct vf_err err = { 0 };
	size_t n_diff = 0, first = SIZE_MAX;
	json_t *diffs = NULL, *diff_json = NULL;
	ssize_t n;
	int c, rc = VF_EXIT_FAIL;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			against = optarg;
			break;
		case 'w':
			work = optarg;
			break;
		case 'k':
			r.keep = true;
			break;
		case 'j':
			r.json = true;
			break;
		case 'h':
			vf_cli_help(self);
			return VF_EXIT_OK;
		default:
			return vf_cli_bad_option(self, NULL, c, argv);
		}
	}
	if (argc - optind == 0)
		return vf_cli_usage(self, "missing <variant>");
	if (argc - optind > 1)
		return vf_cli_usage(self, "expected one <variant>, got %d operands", argc - optind);
	if (!(variant = realpath(argv[optind], NULL))) {
		fprintf(stderr, "vforge: error: variant '%s': %s\n", argv[optind], strerror(errno));
		return VF_EXIT_FAIL;
	}
	r.variant = variant;
	n = readlink("/proc/self/exe", r.self, sizeof(r.self) - 1);
	if (n <= 0) {
		fprintf(stderr, "vforge: error: cannot find the vforge binary: %s\n", strerror(errno));
		goto out;
	}
	r.self[n] = '\0';
	if (r.json && !(r.report = json_object())) {
		vf_err_set(&err, ENOMEM, "out of memory");
		goto fail;
	}

	/* side a: a published build, or a first build */
	if (against) {
		struct stat st;

		if (stat(against, &st) < 0) {
			vf_err_sys(&err, errno, "--against: '%s'", against);
			goto fail;
		}
		if (S_ISDIR(st.st_mode)) {
			against_dir = strdup(against);
			report_path = join(against, "build.json");
		} else {
			char *slash = strrchr(against, '/');

			report_path = strdup(against);
			against_dir = slash ? strndup(against, (size_t)(slash - against))
					    : strdup(".");
		}
		if (!against_dir || !report_path) {
			vf_err_set(&err, ENOMEM, "out of memory");
			goto fail;
		}
		if (outputs_from_report(&r, report_path, &err))
			goto fail;
	}
	if (make_work(&r, work, &err))
		goto fail;
	if (!(dir_a = join(r.work, "out-a")) || !(dir_b = join(r.work, "out-b"))) {
		vf_err_set(&err, ENOMEM, "out of memory");
		goto fail;
	}
	if (!against) {
		if (run_build(&r, &ca, dir_a, &err) || hash_outputs(&r, dir_a, false, &err))
			goto fail;
	}
	mount_shuffled(&r);
	rc = run_build(&r, &cb, dir_b, &err);
	unmount_shuffled(&r);
	if (rc || hash_outputs(&r, dir_b, true, &err))
		goto fail;
	if (against) {
		/* build.json is the report being compared with: it lists the others */
		for (size_t i = 0; i < r.n_outs; i++)
			if (!r.outs[i].have_a && strcmp(r.outs[i].name, "build.json") == 0)
				r.outs[i].have_b = false;
	}

	/* compare */
	if (r.json && !(diffs = json_array())) {
		vf_err_set(&err, ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < r.n_outs; i++) {
		struct output *o = &r.outs[i];
		const char *what = NULL;
		char ha[65], hb[65];

		if (!o->have_a && !o->have_b)
			continue;
		if (!o->have_a)
			what = against ? "not in the published build" : "only in build b";
		else if (!o->have_b)
			what = against ? "not produced by the rebuild" : "only in build a";
		else if (memcmp(o->a, o->b, 32) != 0)
			what = "differs";
		vf_hex_format(o->a, 32, ha);
		vf_hex_format(o->b, 32, hb);
		if (!what) {
			if (!r.json)
				printf("  identical  %-44s %12llu  %.16s\n", o->name,
				       (unsigned long long)o->size_b, hb);
			continue;
		}
		n_diff++;
		if (o->have_a && o->have_b &&
		    (first == SIZE_MAX || output_rank(o->name) < output_rank(r.outs[first].name)))
			first = i;
		if (r.json) {
			json_t *j = json_pack("{s:s, s:s}", "name", o->name, "problem", what);

			if (j && o->have_a)
				json_object_set_new(j, "sha256_a", json_string(ha));
			if (j && o->have_b)
				json_object_set_new(j, "sha256_b", json_string(hb));
			json_array_append_new(diffs, j ? j : json_null());
		} else if (o->have_a && o->have_b) {
			printf("  DIFFERS    %-44s %.16s (%llu bytes) vs %.16s (%llu bytes)\n", o->name,
			       ha, (unsigned long long)o->size_a, hb,
			       (unsigned long long)o->size_b);
		} else {
			printf("  MISSING    %-44s %s\n", o->name, what);
		}
	}

	if (n_diff && first != SIZE_MAX) {
		char *pa = NULL, *pb = join(dir_b, r.outs[first].name);
		struct stat st;

		pa = join(against ? against_dir : dir_a, r.outs[first].name);
		if (pa && pb && stat(pa, &st) == 0) {
			if (!r.json)
				printf("\nvforge diff on %s:\n", r.outs[first].name);
			run_diff(&r, pa, pb, &diff_json);
		} else if (!r.json) {
			printf("\n%s: the published file is not in %s: nothing to diff against\n",
			       r.outs[first].name, against_dir);
		}
		free(pa);
		free(pb);
	}
	if (n_diff)
		r.keep = true; /* keep the evidence */
	if (r.json) {
		json_object_set_new(r.report, "variant", json_string(variant));
		json_object_set_new(r.report, "reproducible", json_boolean(n_diff == 0));
		json_object_set_new(r.report, "outputs", json_integer((json_int_t)r.n_outs));
		json_object_set_new(r.report, "differences", diffs);
		diffs = NULL;
		if (against)
			json_object_set_new(r.report, "against", json_string(report_path));
		if (diff_json)
			json_object_set_new(r.report, "diff", diff_json);
		diff_json = NULL;
		json_object_set_new(r.report, "work", r.keep ? json_string(r.work) : json_null());
		json_dumpf(r.report, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
	} else if (n_diff) {
		printf("\nnot reproducible: %zu of %zu outputs differ (builds kept in %s)\n", n_diff,
		       r.n_outs, r.work);
	} else {
		printf("reproducible: all %zu outputs identical%s\n", r.n_outs,
		       against ? " to the published build" : "");
	}
	rc = n_diff ? VF_EXIT_VERIFY : VF_EXIT_OK;
	goto out;
fail:
	rc = vf_cli_fail(&err);
out:
	json_decref(diffs);
	json_decref(diff_json);
	free(dir_a);
	free(dir_b);
	free(against_dir);
	free(report_path);
	run_release(&r);
	free(variant);
	return rc;
}
