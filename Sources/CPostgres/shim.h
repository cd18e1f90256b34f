#ifndef TODO_CPOSTGRES_SHIM_H
#define TODO_CPOSTGRES_SHIM_H
#include <libpq-fe.h>

/* libpq prints server notices to stderr by default; the wrapper drops them instead. */
static void todo_pq_ignore_notice(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

static inline void todo_pq_silence_notices(PGconn *connection) {
    PQsetNoticeProcessor(connection, todo_pq_ignore_notice, 0);
}
#endif
