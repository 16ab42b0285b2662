/* tls_testcert: makes a self-signed certificate with OpenSSL's APIs. */
#include "tests/unit/tls_testcert.h"

#include <arpa/inet.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

static X509 *self_signed(EVP_PKEY *pk, const char *host)
{
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char ip[16];
	char san[300];

	if (x == NULL)
		return NULL;
	snprintf(san, sizeof(san), "%s:%s",
		 inet_pton(AF_INET, host, ip) == 1 ||
		 inet_pton(AF_INET6, host, ip) == 1 ? "IP" : "DNS", host);
	name = X509_get_subject_name(x);
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_set_pubkey(x, pk) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				       (const unsigned char *)host, -1, -1,
				       0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    add_ext(x, NID_basic_constraints, "critical,CA:TRUE") != 1 ||
	    add_ext(x, NID_subject_alt_name, san) != 1 ||
	    X509_sign(x, pk, EVP_sha256()) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int write_pem(const char *path, X509 *x, EVP_PKEY *pk)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return 0;
	if (x != NULL)
		ok = PEM_write_X509(f, x);
	else
		ok = PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
	return fclose(f) == 0 && ok == 1;
}

int tls_testcert_write(const char *dir, const char *name, const char *host,
		       char *cert, char *key, size_t len)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = pk != NULL ? self_signed(pk, host) : NULL;
	int rc = -1;

	snprintf(cert, len, "%s/%s.crt", dir, name);
	snprintf(key, len, "%s/%s.key", dir, name);
	if (x != NULL && write_pem(cert, x, NULL) && write_pem(key, NULL, pk))
		rc = 0;
	X509_free(x);
	EVP_PKEY_free(pk);
	return rc;
}
