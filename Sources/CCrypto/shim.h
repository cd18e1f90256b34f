#ifndef TODO_CCRYPTO_SHIM_H
#define TODO_CCRYPTO_SHIM_H
/* Hide OpenSSL's deprecated API from Swift: only the OpenSSL 3 EVP API. */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#endif
