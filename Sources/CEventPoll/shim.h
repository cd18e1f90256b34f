#ifndef TODO_CEVENTPOLL_SHIM_H
#define TODO_CEVENTPOLL_SHIM_H
// Linux readiness notification (epoll) and the eventfd that wakes it; Glibc's Swift module
// does not include these headers. Only the Dispatcher module imports this.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

// accept4 (accept and set close-on-exec in one call) is declared only under _GNU_SOURCE,
// which the toolchain's Glibc module is not built with; glibc always exports it.
extern int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
#endif
