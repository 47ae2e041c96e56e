// TLS server contexts for the evhttp guard: OpenSSL's setup calls are partly macros, which
// Swift cannot call, so they live here.
#include "CLibEvent.h"
#include <stdio.h>
#include <openssl/ssl.h>
#include <openssl/err.h>

void *filmd_tls_context_new(const char *certificate, const char *private_key, char *reason, size_t reason_size) {
    SSL_CTX *context = SSL_CTX_new(TLS_server_method());
    if (context == NULL) {
        snprintf(reason, reason_size, "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    SSL_CTX_set_options(context, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(context, certificate) != 1) {
        snprintf(reason, reason_size, "tls.certificate is not a readable PEM certificate");
    } else if (SSL_CTX_use_PrivateKey_file(context, private_key, SSL_FILETYPE_PEM) != 1) {
        snprintf(reason, reason_size, "tls.private_key is not a readable PEM private key");
    } else if (SSL_CTX_check_private_key(context) != 1) {
        snprintf(reason, reason_size, "tls.private_key does not match tls.certificate");
    } else {
        return context;
    }
    ERR_clear_error();
    SSL_CTX_free(context);
    return NULL;
}

void filmd_tls_context_free(void *context) {
    SSL_CTX_free(context);
}
