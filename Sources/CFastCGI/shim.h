#ifndef TODO_CFASTCGI_SHIM_H
#define TODO_CFASTCGI_SHIM_H
#include <stddef.h>
#include <fcgiapp.h>

/* The leading fields of libfcgi's private FCGX_Stream_Data (fcgiapp.c, unchanged since 2.4.0):
   a reader's buffer holds bytes read from the connection up to buffStop. */
struct todo_fcgx_stream_data_head {
    unsigned char *buff;
    int bufflen;
    unsigned char *mBuff;
    unsigned char *buffStop;
};

/* Bytes libfcgi has read from the connection into `stream`'s buffer and not delivered: after
   the request's last FCGI_STDIN record, these belong to a request the peer pipelined after it,
   which libfcgi would drop when the request finishes (its own comment: "buffered data is next
   request (server pipelining)?"). */
static inline long todo_fcgx_unread_input(FCGX_Stream *stream) {
    if (stream == NULL || stream->data == NULL || !stream->isReader) return 0;
    const struct todo_fcgx_stream_data_head *data = stream->data;
    return (long)(data->buffStop - stream->rdNext);
}
#endif
