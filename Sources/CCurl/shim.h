#ifndef TODO_CCURL_SHIM_H
#define TODO_CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call:
   one typed wrapper per argument type used. */
typedef size_t (*todo_curl_write_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode todo_curl_set_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode todo_curl_set_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode todo_curl_set_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode todo_curl_set_write_function(CURL *handle, todo_curl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}
static inline CURLcode todo_curl_response_code(CURL *handle, long *code) {
    return curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, code);
}
/* The value of the last `name` header of the final response, or NULL. */
static inline const char *todo_curl_header_value(CURL *handle, const char *name) {
    struct curl_header *header = NULL;
    if (curl_easy_header(handle, name, 0, CURLH_HEADER, -1, &header) != CURLHE_OK || header == NULL) {
        return NULL;
    }
    if (header->amount > 1 &&
        curl_easy_header(handle, name, header->amount - 1, CURLH_HEADER, -1, &header) != CURLHE_OK) {
        return NULL;
    }
    return header->value;
}
#endif
