/* keys/keygen: vf_key_generate: a new key pair into two new files, or nothing. */
#include "keys/internal.h"

#include "builder/base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Create `path` exclusively with exactly `mode` (independent of the umask). */
static int create_excl(const char *path, mode_t mode, const char *what, struct vf_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, mode);

	if (fd < 0) {
		if (errno == EEXIST)
			return vf_err_set(err, EEXIST, "%s '%s' already exists: vforge never "
					  "overwrites a key", what, path);
		return vf_err_sys(err, errno, "cannot create %s '%s'", what, path);
	}
	if (fchmod(fd, mode) < 0) {
		int e = errno;

		close(fd);
		unlink(path);
		return vf_err_sys(err, e, "cannot set the mode of %s '%s'", what, path);
	}
	return fd;
}

/* Write a memory BIO's contents to fd and fsync. */
static int write_bio(int fd, BIO *bio, const char *what, const char *path, struct vf_err *err)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	int r;

	if (n <= 0)
		return vf_err_set(err, EIO, "%s '%s': nothing to write", what, path);
	r = vf_fs_pwrite_full(fd, data, (size_t)n, 0);
	if (r)
		return vf_err_sys(err, r, "cannot write %s '%s'", what, path);
	if (fsync(fd) < 0)
		return vf_err_sys(err, errno, "cannot sync %s '%s'", what, path);
	return 0;
}

static EVP_PKEY *generate(enum vf_key_type type)
{
	switch (type) {
	case VF_KEY_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case VF_KEY_ECDSA_P256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case VF_KEY_RSA:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	}
	return NULL;
}

int vf_key_generate(enum vf_key_type type, const char *path, struct vf_err *err)
{
	char *pub_path = NULL;
	int priv_fd = -1, pub_fd = -1;
	BIO *priv_pem = NULL, *pub_pem = NULL;
	EVP_PKEY *pkey = NULL;
	bool created_priv = false, created_pub = false;
	int r;

	if (type != VF_KEY_ED25519 && type != VF_KEY_ECDSA_P256 && type != VF_KEY_RSA)
		return vf_err_set(err, EINVAL, "key type %d is not one of ed25519, ecdsa-p256, "
				  "rsa-3072", (int)type);
	if (asprintf(&pub_path, "%s.pub", path) < 0) {
		pub_path = NULL;
		return vf_err_set(err, ENOMEM, "out of memory");
	}
	/* claim both names first: fail fast, and never overwrite anything */
	priv_fd = create_excl(path, 0600, "private key", err);
	if (priv_fd < 0) {
		r = priv_fd;
		goto out;
	}
	created_priv = true;
	pub_fd = create_excl(pub_path, 0644, "public key", err);
	if (pub_fd < 0) {
		r = pub_fd;
		goto out;
	}
	created_pub = true;

	pkey = generate(type);
	if (!pkey) {
		r = vf_keys_ossl_err(err, EIO, "cannot generate the key");
		goto out;
	}
	/* secure memory BIO: freed with OPENSSL_secure_clear_free */
	priv_pem = BIO_new(BIO_s_secmem());
	pub_pem = BIO_new(BIO_s_mem());
	if (!priv_pem || !pub_pem) {
		r = vf_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* PKCS#8 "PRIVATE KEY", unencrypted (the file's mode protects it) */
	if (PEM_write_bio_PKCS8PrivateKey(priv_pem, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_PUBKEY(pub_pem, pkey) != 1) {
		r = vf_keys_ossl_err(err, EIO, "cannot encode the key");
		goto out;
	}
	r = write_bio(priv_fd, priv_pem, "private key", path, err);
	if (!r)
		r = write_bio(pub_fd, pub_pem, "public key", pub_path, err);
	if (r)
		goto out;
	if (close(priv_fd) < 0) {
		priv_fd = -1;
		r = vf_err_sys(err, errno, "cannot write private key '%s'", path);
		goto out;
	}
	priv_fd = -1;
	if (close(pub_fd) < 0) {
		pub_fd = -1;
		r = vf_err_sys(err, errno, "cannot write public key '%s'", pub_path);
		goto out;
	}
	pub_fd = -1;
	r = vf_fs_fsync_parent(path, err);
out:
	if (priv_fd >= 0)
		close(priv_fd);
	if (pub_fd >= 0)
		close(pub_fd);
	if (r) {
		if (created_pub)
			unlink(pub_path);
		if (created_priv)
			unlink(path);
	}
	BIO_free(priv_pem);
	BIO_free(pub_pem);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	free(pub_path);
	return r;
}
