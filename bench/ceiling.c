/*
 * The transport ceiling: the least a libfcgi responder can do per request.
 * Same threading model as todo-fcgi (FCGX_Init once, N threads each with its own
 * FCGX_Request on the inherited or given socket), answering a fixed JSON body of
 * BODY_BYTES bytes. Built and run only by bench/run.sh.
 *
 * Usage: ceiling THREADS BODY_BYTES [SOCKET_PATH]   (without SOCKET_PATH: the socket on fd 0)
 */
#include <fcgiapp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int listen_socket = 0;
static char *response;
static int response_length;

static void *serve(void *unused) {
    (void)unused;
    FCGX_Request request;
    char scratch[16384];
    FCGX_InitRequest(&request, listen_socket, 0);
    while (FCGX_Accept_r(&request) >= 0) {
        while (FCGX_GetStr(scratch, sizeof scratch, request.in) > 0) {
        }
        FCGX_PutStr(response, response_length, request.out);
        FCGX_Finish_r(&request);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: ceiling THREADS BODY_BYTES [SOCKET_PATH]\n");
        return 2;
    }
    int threads = atoi(argv[1]);
    int body_bytes = atoi(argv[2]);
    FCGX_Init();
    if (argc > 3) listen_socket = FCGX_OpenSocket(argv[3], 1024);
    char header[160];
    int header_length = snprintf(header, sizeof header,
                                 "Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                                 "X-Total-Count: 20\r\n\r\n", body_bytes);
    response_length = header_length + body_bytes;
    response = malloc(response_length);
    memcpy(response, header, header_length);
    memset(response + header_length, 'x', body_bytes);
    response[header_length] = '[';
    response[response_length - 1] = ']';
    pthread_t ids[256];
    for (int i = 0; i < threads && i < 256; i++) pthread_create(&ids[i], NULL, serve, NULL);
    for (int i = 0; i < threads && i < 256; i++) pthread_join(ids[i], NULL);
    return 0;
}
