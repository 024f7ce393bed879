/* keys/keyfile: reading key files: bounded, permission-checked on the open descriptor, wiped. */
#include "keys/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int vf_keys_file_read(const char *path, struct vf_keys_file *f, struct vf_err *err)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int fd, r;

	memset(f, 0, sizeof(*f));
	/* O_NONBLOCK: a FIFO planted at the path must not hang us; regular files ignore it */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return vf_err_sys(err, errno, "cannot open key file '%s'", path);
	if (fstat(fd, &st) < 0) {
		r = vf_err_sys(err, errno, "cannot stat key file '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = vf_err_set(err, EINVAL, "key file '%s' is not a regular file", path);
		goto out;
	}
	if (st.st_size > VF_KEYS_FILE_MAX) {
		r = vf_err_set(err, EFBIG, "key file '%s' is %lld bytes: a key file is at most %d",
			       path, (long long)st.st_size, VF_KEYS_FILE_MAX);
		goto out;
	}
	data = malloc(VF_KEYS_FILE_MAX + 1);
	if (!data) {
		r = vf_err_set(err, ENOMEM, "key file '%s': out of memory", path);
		goto out;
	}
	/* read to EOF, not to st_size: the file may have changed since fstat */
	for (;;) {
		ssize_t n = read(fd, data + len, VF_KEYS_FILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = vf_err_sys(err, errno, "cannot read key file '%s'", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > VF_KEYS_FILE_MAX) {
			r = vf_err_set(err, EFBIG, "key file '%s' is larger than %d bytes", path,
				       VF_KEYS_FILE_MAX);
			goto out;
		}
	}
	data[len] = '\0';
	f->data = data;
	f->len = len;
	f->mode = st.st_mode;
	data = NULL;
	r = 0;
out:
	if (data) {
		OPENSSL_cleanse(data, VF_KEYS_FILE_MAX + 1);
		free(data);
	}
	close(fd);
	return r;
}

void vf_keys_file_release(struct vf_keys_file *f)
{
	if (f->data) {
		OPENSSL_cleanse(f->data, f->len + 1);
		free(f->data);
	}
	memset(f, 0, sizeof(*f));
}

int vf_keys_check_private_mode(const char *path, mode_t mode, struct vf_err *err)
{
	unsigned perm = (unsigned)(mode & 07777);

	if (mode & (S_IRGRP | S_IROTH))
		return vf_err_set(err, EPERM, "private key '%s' has mode %04o: it must not be "
				  "readable by group or other (chmod 600)", path, perm);
	if (mode & (S_IRWXG | S_IRWXO))
		return vf_err_set(err, EPERM, "private key '%s' has mode %04o: it must not be "
				  "writable or executable by group or other (chmod 600)", path, perm);
	return 0;
}

/* Never prompt (OpenSSL's default callback reads the terminal): no passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int vf_keys_parse_private_pem(const char *text, size_t len, const char *what, EVP_PKEY **ret,
			      struct vf_err *err)
{
	EVP_PKEY *pkey;
	BIO *bio;

	if (strstr(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
	    strstr(text, "Proc-Type: 4,ENCRYPTED"))
		return vf_err_set(err, EOPNOTSUPP, "%s: encrypted private keys are not supported: "
				  "use an unencrypted PKCS#8 file (mode 0600), a pkcs11: token "
				  "or an exec: signer", what);
	if (!strstr(text, "PRIVATE KEY-----"))
		return vf_err_set(err, EINVAL, "%s: not a PEM private key", what);
	bio = BIO_new_mem_buf(text, (int)len);
	if (!bio)
		return vf_err_set(err, ENOMEM, "%s: out of memory", what);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!pkey)
		return vf_keys_ossl_err(err, EINVAL, "%s: invalid PEM private key", what);
	ERR_clear_error();
	*ret = pkey;
	return 0;
}

int vf_key_load(const char *path, struct vf_key **ret, struct vf_err *err)
{
	struct vf_keys_file f = { 0 };
	EVP_PKEY *pkey = NULL;
	char what[64 + 4096];
	int r;

	r = vf_keys_file_read(path, &f, err);
	if (r)
		return r;
	if (strstr(f.data, "PRIVATE KEY-----")) {
		snprintf(what, sizeof(what), "private key '%s'", path);
		r = vf_keys_check_private_mode(path, f.mode, err);
		if (!r)
			r = vf_keys_parse_private_pem(f.data, f.len, what, &pkey, err);
	} else {
		snprintf(what, sizeof(what), "public key '%s'", path);
		if (vf_keys_is_public_pem(f.data))
			r = vf_keys_parse_spki_pem(f.data, f.len, what, &pkey, err);
		else
			r = vf_err_set(err, EINVAL, "key file '%s' holds no PEM public or private "
				       "key", path);
	}
	if (!r)
		r = vf_keys_key_from_pkey(pkey, what, ret, err);
	EVP_PKEY_free(pkey);
	vf_keys_file_release(&f);
	return r;
}
