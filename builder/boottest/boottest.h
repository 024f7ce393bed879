/**
 * @file boottest.h
 * @brief Boot a bank of a disk image in QEMU and decide, from what the guest
 *        prints on its serial console, whether it booted (`vforge boot-test`).
 *
 * Call sequence:
 *
 *     struct vf_boottest_boot b;          // what to boot
 *     struct vf_boottest_result res;      // what happened
 *     vf_boottest_boot_init(&b);
 *     vf_boottest_result_init(&res);
 *     r = vf_boottest_prepare(disk, bank, NULL, &b, err);   // extract the kernel
 *     r = vf_boottest_run(&b, &opts, &res, err);            // run qemu
 *     ... res.outcome, res.scan.lines ...
 *     vf_boottest_result_release(&res);
 *     vf_boottest_boot_release(&b);       // removes the temporary directory
 *
 * vf_boottest_prepare() reads the chosen bank's BOOT partition (ext4):
 * /vmlinuz and /initrd.img are copied into a private temporary directory and
 * /cmdline is read (one line; " panic=-1" appended unless it sets panic=).
 * vf_boottest_run() starts
 *
 *     qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot -kernel K -initrd I
 *       -append "<cmdline>" -drive file=<disk>,format=raw,if=virtio,snapshot=on
 *       -serial stdio -monitor none -nodefaults
 *
 * with fork/exec (no shell), stdin from /dev/null, stdout and stderr into one
 * pipe, in a process group of its own that dies with the caller
 * (PR_SET_PDEATHSIG). The disk is never written (snapshot=on). qemu is killed
 * (SIGKILL to its process group) at the timeout, VF_BOOTTEST_GRACE_S after
 * the console decided the verdict if it has not exited by then, and when
 * SIGINT, SIGTERM, SIGHUP or SIGQUIT reach the caller: those it does not
 * ignore are blocked during the run and taken through a signalfd, and the run
 * returns VF_BOOTTEST_INTERRUPTED with the signal, for the caller to re-raise
 * once it has cleaned up (the signal mask is restored). qemu never
 * outlives vf_boottest_run().
 *
 * The console classifier (struct vf_boottest_scan) is pure: it reads the
 * console text line by line; unit tests feed it recorded transcripts.
 *
 * The library never prints; errors follow builder/base/err.h.
 */
#ifndef VF_BOOTTEST_BOOTTEST_H
#define VF_BOOTTEST_BOOTTEST_H

#include "builder/base/buf.h"
#include "builder/base/err.h"
#include "builder/update/update.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VF_BOOTTEST_KERNEL_FILE "/vmlinuz"
#define VF_BOOTTEST_INITRD_FILE "/initrd.img"
#define VF_BOOTTEST_FILE_MAX (512u * 1024u * 1024u)   /**< largest kernel or initramfs read */
#define VF_BOOTTEST_CONSOLE_MAX (1024u * 1024u)       /**< console bytes kept (the last ones) */
#define VF_BOOTTEST_LINE_MAX 4096u                    /**< longer console lines are split */
#define VF_BOOTTEST_LINES_MAX 256u                    /**< interesting lines kept (the first) */
#define VF_BOOTTEST_DEFAULT_TIMEOUT 120u              /**< seconds */
#define VF_BOOTTEST_GRACE_S 10u                       /**< seconds qemu gets after a verdict */
#define VF_BOOTTEST_QEMU "qemu-system-x86_64"
#define VF_BOOTTEST_MEMORY_MIB 512u

/** The markers the console classifier knows. */
#define VF_BOOTTEST_MARK_SUCCESS "vforge-init: SUCCESS"
#define VF_BOOTTEST_MARK_FAILURE "vforge-init: FAILURE"
#define VF_BOOTTEST_MARK_FATAL "vinit: FATAL"

/* ---- the console classifier ------------------------------------------------------------ */

/** What a console line is. */
enum vf_boottest_line {
	VF_BOOTTEST_LINE_OTHER = 0,  /**< not interesting */
	VF_BOOTTEST_LINE_INFO,       /**< shown, decides nothing: "vinit: ...", "vforge-init: ...",
					  other "device-mapper: verity" lines, "reboot: Power down" */
	VF_BOOTTEST_LINE_SUCCESS,    /**< "vforge-init: SUCCESS" */
	VF_BOOTTEST_LINE_INIT_FAILURE, /**< "vforge-init: FAILURE" */
	VF_BOOTTEST_LINE_VINIT_FATAL,  /**< "vinit: FATAL" */
	VF_BOOTTEST_LINE_VERITY,     /**< "device-mapper: verity" ... "is corrupted" */
	VF_BOOTTEST_LINE_PANIC,      /**< "Kernel panic" */
	VF_BOOTTEST_LINE_RESTART,    /**< "reboot: Restarting system" */
};

/** The verdict of a console so far. */
enum vf_boottest_verdict {
	VF_BOOTTEST_UNDECIDED = 0, /**< neither success nor a failure seen */
	VF_BOOTTEST_PASSED,        /**< success seen and no failure */
	VF_BOOTTEST_FAILED,        /**< a failure line seen (it wins over a success line) */
};

/**
 * Classify one console line (no newline; '\r' and control characters are
 * ignored where they stand). Markers are found anywhere in the line: the
 * kernel's messages may share a line with the guest's.
 */
enum vf_boottest_line vf_boottest_line_classify(const char *line, size_t len);

/** A short name for a line class ("verity", "panic", ...); "" for OTHER. */
const char *vf_boottest_line_name(enum vf_boottest_line c);

/** Called for each interesting line as it is read (sanitised, NUL-terminated). */
typedef void (*vf_boottest_line_fn)(void *ctx, enum vf_boottest_line c, const char *line);

/**
 * The classifier's state: feed it console bytes in any pieces. Lines are
 * split at '\n', at VF_BOOTTEST_LINE_MAX bytes, and before a kernel message
 * header ("[    1.234567] ") that does not start the line, so that a kernel
 * message interleaved with the guest's output is a line of its own.
 */
struct vf_boottest_scan {
	enum vf_boottest_verdict verdict;
	enum vf_boottest_line cause;   /**< the first failure line's class, else SUCCESS or OTHER */
	char *reason;                  /**< that line (owned), NULL when undecided */
	char **lines;                  /**< the first interesting lines, sanitised (owned) */
	size_t n_lines;
	size_t n_dropped;              /**< interesting lines past VF_BOOTTEST_LINES_MAX */
	uint64_t n_bytes;              /**< console bytes fed */
	vf_boottest_line_fn on_line;   /**< optional, set after init */
	void *ctx;
	struct vf_buf partial;         /**< the line being read */
};

/** Initialise an empty classifier. */
void vf_boottest_scan_init(struct vf_boottest_scan *s);

/** Feed console bytes. Returns 0 or -ENOMEM (the state stays valid). */
int vf_boottest_scan_feed(struct vf_boottest_scan *s, const void *data, size_t len);

/** End of the console: classify the last line when it had no newline. 0 or -ENOMEM. */
int vf_boottest_scan_finish(struct vf_boottest_scan *s);

/** Free what the classifier holds (accepts a released or zeroed one). */
void vf_boottest_scan_release(struct vf_boottest_scan *s);

/** Classify a whole transcript: init, feed, finish. 0 or -ENOMEM; release *s after. */
int vf_boottest_classify(const void *text, size_t len, struct vf_boottest_scan *s);

/**
 * Make a console line printable: bytes outside printable ASCII (and tab)
 * are dropped, and so are ANSI escape sequences (ESC [ ... letter, ESC c).
 * Writes at most out_size - 1 bytes and a NUL. Returns the length written.
 */
size_t vf_boottest_sanitize(const char *line, size_t len, char *out, size_t out_size);

/* ---- what to boot ---------------------------------------------------------------------- */

/**
 * The bank to boot: `want` 0 (A) or 1 (B), or -1 for the bank that boots next
 * by the A/B attributes. -ENOENT when the wanted bank's partitions are missing
 * (naming them) or, for -1, when no bank is bootable.
 */
int vf_boottest_bank_choose(const struct vf_updater_status *st, int want, int *ret,
			    struct vf_err *err);

/**
 * The kernel command line from BOOT's /cmdline (`len` bytes): trailing blanks
 * and newlines dropped, " panic=-1" appended unless a word starts with
 * "panic=". *ret is malloc'd. -EINVAL when the text has a NUL, a newline or
 * another control character before its end, or is empty.
 */
int vf_boottest_cmdline_build(const void *text, size_t len, char **ret, struct vf_err *err);

/** What vf_boottest_prepare() found and extracted. */
struct vf_boottest_boot {
	char *disk;                      /**< the disk image (owned copy of the path) */
	int bank;                        /**< 0 (A) or 1 (B) */
	bool bootable;                   /**< by the bank's A/B attributes */
	bool next;                       /**< the bank that boots next */
	bool has_release;
	struct vf_updater_release release; /**< BOOT-x's /vforge-release, when has_release */
	char *dir;                       /**< private temporary directory (owned), removed by release */
	char *kernel, *initrd;           /**< files in dir */
	uint64_t kernel_size, initrd_size;
	char *cmdline;                   /**< what -append gets */
};

/** Initialise to the empty state (safe to release). */
void vf_boottest_boot_init(struct vf_boottest_boot *b);

/** Remove the temporary directory and free (accepts an empty or half-built one). */
void vf_boottest_boot_release(struct vf_boottest_boot *b);

/**
 * Choose the bank of `disk` (`bank` as for vf_boottest_bank_choose()), and
 * extract its BOOT's /vmlinuz, /initrd.img and /cmdline into a private
 * temporary directory under `tmpdir` (NULL: $TMPDIR or /tmp). A BOOT without
 * /vmlinuz or /initrd.img is -ENOENT: "BOOT-B has no /vmlinuz: not a bootable
 * bank (build the variant with a kernel package)". On failure nothing is left
 * behind (release *b all the same).
 */
int vf_boottest_prepare(const char *disk, int bank, const char *tmpdir,
			struct vf_boottest_boot *b, struct vf_err *err);

/* ---- running qemu ---------------------------------------------------------------------- */

/** How vf_boottest_run() runs qemu. */
struct vf_boottest_opts {
	const char *qemu;        /**< the program; NULL: VF_BOOTTEST_QEMU on PATH */
	unsigned timeout_s;      /**< 0: VF_BOOTTEST_DEFAULT_TIMEOUT */
	unsigned grace_s;        /**< after a verdict; 0: VF_BOOTTEST_GRACE_S */
	bool kvm;                /**< -accel kvm when /dev/kvm can be opened read-write */
	vf_boottest_line_fn on_line; /**< interesting lines as they come (optional) */
	void *ctx;
};

/**
 * The argument vector of qemu for `b` (NULL-terminated, malloc'd, free with
 * vf_boottest_argv_free()). `accel` is "tcg" or "kvm". Commas in the disk's
 * path are doubled (qemu's option syntax). -ENOMEM only.
 */
int vf_boottest_argv_build(const struct vf_boottest_boot *b, const char *qemu, const char *accel,
			   char ***ret, struct vf_err *err);

/** Free an argument vector (accepts NULL). */
void vf_boottest_argv_free(char **argv);

/** Whether /dev/kvm can be opened for reading and writing. */
bool vf_boottest_kvm_usable(void);

/** How a run ended. */
enum vf_boottest_outcome {
	VF_BOOTTEST_OK = 0,        /**< the guest reported success */
	VF_BOOTTEST_BOOT_FAILED,   /**< a failure line, or the guest stopped without success */
	VF_BOOTTEST_TIMEOUT,       /**< no verdict and qemu still running at the timeout */
	VF_BOOTTEST_QEMU_FAILED,   /**< no verdict and qemu exited with an error or a signal */
	VF_BOOTTEST_INTERRUPTED,   /**< the caller got a signal; qemu was killed */
};

/** A short name for an outcome: "success", "failure", "timeout", "qemu-error", "interrupted". */
const char *vf_boottest_outcome_name(enum vf_boottest_outcome o);

/**
 * The outcome from the console's verdict and how qemu ended: `timed_out`
 * (killed at the timeout), else `status` as waitpid() gives it. A verdict
 * decides; without one, qemu exiting 0 is the guest powering off or
 * restarting without success (BOOT_FAILED), anything else QEMU_FAILED.
 */
enum vf_boottest_outcome vf_boottest_outcome_decide(enum vf_boottest_verdict verdict,
						    bool timed_out, int status);

/** What vf_boottest_run() saw. */
struct vf_boottest_result {
	enum vf_boottest_outcome outcome;
	struct vf_boottest_scan scan;   /**< verdict, cause, reason, interesting lines */
	struct vf_buf console;          /**< the last VF_BOOTTEST_CONSOLE_MAX bytes of output */
	bool console_truncated;         /**< earlier bytes were dropped */
	const char *accel;              /**< "tcg" or "kvm" (static) */
	int status;                     /**< qemu's wait status (-1 when not reaped normally) */
	bool killed;                    /**< vforge killed qemu (timeout, grace, signal) */
	int signal;                     /**< INTERRUPTED: the signal the caller got */
	uint64_t elapsed_ms;            /**< from the start of qemu to its end */
};

/** Initialise to the empty state. */
void vf_boottest_result_init(struct vf_boottest_result *r);

/** Free what a result holds. */
void vf_boottest_result_release(struct vf_boottest_result *r);

/**
 * Run qemu for `b` and classify its console into *ret (initialised by the
 * caller; reset here, then filled whatever the outcome). Returns 0 when qemu ran, whatever the
 * guest did (see ret->outcome); a negative errno when it could not be
 * started: the program is missing or not executable ("cannot run 'qemu...':
 * No such file or directory (install qemu-system-x86 or give --qemu)"), or a
 * pipe, fork or signal mask failed.
 */
int vf_boottest_run(const struct vf_boottest_boot *b, const struct vf_boottest_opts *opts,
		    struct vf_boottest_result *ret, struct vf_err *err);

#endif
