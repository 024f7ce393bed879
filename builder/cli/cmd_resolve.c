/* vforge resolve: compose a variant manifest and print the result. */
#include "builder/cli/cli.h"

#include "builder/base/hex.h"
#include "builder/manifest/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (UINT64_C(1) << 20)


/* "40 MiB" when a whole number of MiB, else "N bytes". */
static const char *fmt_size(uint64_t v, char out[32])
{
	if (v % MIB == 0)
		snprintf(out, 32, "%llu MiB", (unsigned long long)(v / MIB));
	else
		snprintf(out, 32, "%llu bytes", (unsigned long long)v);
	return out;
}

/* Print text with control characters escaped, so a manifest cannot drive the terminal. */
static void put_safe(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static void print_list(const char *title, char **l, size_t n)
{
	printf("%s (%zu):\n", title, n);
	for (size_t i = 0; i < n; i++) {
		printf("  ");
		put_safe(l[i]);
		putchar('\n');
	}
}

static void print_packages(const struct vf_manifest *m)
{
	int w = 0;

	printf("packages (%zu):\n", m->n_pkgs);
	for (size_t i = 0; i < m->n_pkgs; i++)
		if ((int)strlen(m->pkgs[i].name) > w)
			w = (int)strlen(m->pkgs[i].name);
	for (size_t i = 0; i < m->n_pkgs; i++) {
		const struct vf_manifest_pkg *p = &m->pkgs[i];
		char hex[65];

		vf_hex_format(p->sha256, sizeof(p->sha256), hex);
		printf("  %-*s  %.12s  ", w, p->name, hex);
		put_safe(p->path);
		printf("  (from ");
		put_safe(p->origin);
		printf(")%s%s\n", p->override ? "  override" : "",
		       p->allow_devices ? "  allow_devices" : "");
	}
}

static void print_entries(const struct vf_manifest *m)
{
	printf("files (%zu):\n", m->n_files);
	for (size_t i = 0; i < m->n_files; i++) {
		const struct vf_manifest_file *f = &m->files[i];

		printf("  ");
		put_safe(f->path);
		printf("  %04o %u:%u  ", (unsigned)f->mode, (unsigned)f->uid, (unsigned)f->gid);
		if (f->source) {
			printf("from ");
			put_safe(f->source);
		} else {
			printf("inline, %zu bytes", f->content_len);
		}
		printf("  (from ");
		put_safe(f->origin);
		printf(")\n");
	}
	printf("directories (%zu):\n", m->n_dirs);
	for (size_t i = 0; i < m->n_dirs; i++) {
		const struct vf_manifest_dir *d = &m->dirs[i];

		printf("  ");
		put_safe(d->path);
		printf("  %04o %u:%u  (from ", (unsigned)d->mode, (unsigned)d->uid, (unsigned)d->gid);
		put_safe(d->origin);
		printf(")\n");
	}
	printf("symlinks (%zu):\n", m->n_symlinks);
	for (size_t i = 0; i < m->n_symlinks; i++) {
		const struct vf_manifest_symlink *l = &m->symlinks[i];

		printf("  ");
		put_safe(l->path);
		printf(" -> ");
		put_safe(l->target);
		printf("  %u:%u  (from ", (unsigned)l->uid, (unsigned)l->gid);
		put_safe(l->origin);
		printf(")\n");
	}
}

static void print_selinux(const struct vf_manifest *m)
{
	printf("selinux default: %s\n", m->default_label ? m->default_label : "(none)");
	printf("selinux rules (%zu, the last match wins):\n", m->n_contexts);
	for (size_t i = 0; i < m->n_contexts; i++) {
		const struct vf_manifest_context *c = &m->contexts[i];

		printf("  ");
		put_safe(c->regex);
		printf("  %s  %s\n", c->type ? c->type : "any", c->label);
	}
}

static void print_layout(const struct vf_manifest *m)
{
	const struct vf_manifest_layout *l = &m->layout;
	uint64_t end = 0;
	char a[32], b[32];

	for (size_t i = 0; i < l->n_parts; i++)
		if (l->parts[i].start + l->parts[i].size > end)
			end = l->parts[i].start + l->parts[i].size;
	printf("layout%s: plan %s, %s, type set %s%s\n", m->has_layout ? "" : " (defaults)",
	       l->plan, l->ab ? "A/B" : "single bank", l->type_set,
	       l->minimize_root ? ", minimize root" : "");
	if (l->disk_size)
		printf("  disk %s\n", fmt_size(l->disk_size, a));
	else
		printf("  disk %s (the partitions and the GPT)\n", fmt_size(end + MIB, a));
	if (strcmp(l->plan, "split") == 0)
		printf("  data disk %s\n", fmt_size(l->data_size, a));
	printf("  %-10s %-14s %12s %12s\n", "name", "type", "start", "size");
	for (size_t i = 0; i < l->n_parts; i++) {
		const struct vf_manifest_part *p = &l->parts[i];

		printf("  %-10s %-14s %12s %12s%s\n", p->name, p->type, fmt_size(p->start, a),
		       fmt_size(p->size, b), p->grow ? "  (grows)" : "");
	}
}

static void print_text(const struct vf_manifest *m)
{
	char a[32];

	printf("variant %s %s %s\n", m->name, m->version, m->arch);
	printf("manifest: ");
	put_safe(m->path);
	putchar('\n');
	if (m->has_source_date_epoch)
		printf("source_date_epoch: %lld\n", (long long)m->source_date_epoch);
	else
		printf("source_date_epoch: (not set)\n");
	print_packages(m);
	print_entries(m);
	print_list("remove", m->remove, m->n_remove);
	printf("kernel cmdline:");
	for (size_t i = 0; i < m->n_cmdline; i++) {
		putchar(' ');
		put_safe(m->cmdline[i]);
	}
	putchar('\n');
	print_selinux(m);
	printf("policy: built-in rules %s\n", m->default_policy ? "on" : "off");
	print_list("policy forbid", m->forbid, m->n_forbid);
	print_list("policy allow", m->allow, m->n_allow);
	printf("limits: max_entry_size %s, max_entries %llu\n", fmt_size(m->max_entry_size, a),
	       (unsigned long long)m->max_entries);
	print_layout(m);
	if (m->update_root) {
		printf("update root: ");
		put_safe(m->update_root);
		printf(" -> ");
		put_safe(m->update_root_path);
		putchar('\n');
	} else {
		printf("update root: (none)\n");
	}
}

int cmd_resolve(int argc, char **argv)
{
	const struct vf_cli_cmd *self = vf_cli_cmd_find("resolve");
	struct vf_manifest *m = NULL;
	struct vf_err err = { 0 };
	const char *variant = NULL;
	char *text = NULL;
	bool json = false;
	int rc;

	if ((rc = vf_cli_parse_json_operand(self, argc, argv, "<variant>", &json, &variant)))
		return rc < 0 ? VF_EXIT_OK : rc;
	if (vf_manifest_load(variant, &m, &err))
		return vf_cli_fail(&err);
	if (json) {
		if (vf_manifest_format_json(m, &text, &err)) {
			vf_manifest_free(m);
			return vf_cli_fail(&err);
		}
		fputs(text, stdout);
		free(text);
	} else {
		print_text(m);
	}
	vf_manifest_free(m);
	return VF_EXIT_OK;
}
