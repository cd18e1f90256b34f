#ifndef TODO_CCRYPTO_SHIM_H
#define TODO_CCRYPTO_SHIM_H
/* Hide OpenSSL's deprecated API from Swift: only the OpenSSL 3 EVP API. */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

/* Macros Swift does not import (composite or cast expressions). */
static inline int todo_evp_pkey_public_key_selection(void) { return EVP_PKEY_PUBLIC_KEY; }
static inline int todo_evp_pkey_ed25519(void) { return EVP_PKEY_ED25519; }
static inline int todo_rsa_pkcs1_padding(void) { return RSA_PKCS1_PADDING; }
static inline int todo_rsa_pss_padding(void) { return RSA_PKCS1_PSS_PADDING; }
static inline int todo_rsa_pss_saltlen_digest(void) { return RSA_PSS_SALTLEN_DIGEST; }
#endif
