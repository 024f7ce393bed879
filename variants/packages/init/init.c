/*
 * vforge demo init: the first process of the demo variant. It has no shell to
 * call and needs none. It prints the variant's name and version (from
 * /usr/lib/os-release) and the bank it booted from (VFORGE_BANK, set by the
 * initramfs's vinit from the GPT name of the verity data partition), checks
 * that the root file system is read-only and that files carry SELinux labels,
 * prints exactly one final "vforge-init: SUCCESS" or "vforge-init: FAILURE"
 * line, then powers the machine off. Run as an ordinary process (not PID 1)
 * it does the same checks and exits 0 or 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <termios.h>
#include <unistd.h>

static const char *const labelled[] = { "/usr/sbin/init", "/etc/os-release", "/usr/lib/os-release" };

static void os_release(char *name, size_t nlen, char *version, size_t vlen)
{
	char line[256];
	FILE *f = fopen("/usr/lib/os-release", "r");

	snprintf(name, nlen, "unknown");
	snprintf(version, vlen, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "ID=", 3) == 0)
			snprintf(name, nlen, "%s", line + 3);
		else if (strncmp(line, "VERSION_ID=", 11) == 0)
			snprintf(version, vlen, "%s", line + 11);
	}
	fclose(f);
}

int main(void)
{
	char name[256], version[256], label[256];
	struct statvfs sv;
	const char *bank = getenv("VFORGE_BANK");
	int ok = 1, labels = 0;

	os_release(name, sizeof(name), version, sizeof(version));
	printf("vforge-init: variant %s version %s\n", name, version);
	if (!bank || (strcmp(bank, "A") != 0 && strcmp(bank, "B") != 0))
		bank = "unknown";
	printf("vforge-init: bank %s\n", bank);
	if (statvfs("/", &sv) == 0 && (sv.f_flag & ST_RDONLY)) {
		printf("vforge-init: root file system is read-only\n");
	} else {
		printf("vforge-init: FAIL: root file system is writable\n");
		ok = 0;
	}
	for (size_t i = 0; i < sizeof(labelled) / sizeof(labelled[0]); i++) {
		ssize_t n = getxattr(labelled[i], "security.selinux", label, sizeof(label) - 1);

		if (n > 0) {
			label[n] = '\0';
			printf("vforge-init: %s is labelled %s\n", labelled[i], label);
			labels++;
		}
	}
	if (!labels) {
		printf("vforge-init: FAIL: no SELinux labels found\n");
		ok = 0;
	}
	printf("vforge-init: %s\n", ok ? "SUCCESS" : "FAILURE");
	fflush(stdout);
	if (getpid() == 1) {
		tcdrain(STDOUT_FILENO); /* the console line must leave before the power goes */
		sync();
		reboot(RB_POWER_OFF);
	}
	return ok ? 0 : 1;
}
