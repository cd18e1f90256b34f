/* Makes every fsync/fdatasync of the process slower by FLUSH_DELAY_US microseconds, so this
   VM (whose page cache answers a flush in microseconds) behaves like the block storage of a
   production server (0.5-5 ms per flush). Load it with LD_PRELOAD; bench/run.py --flush-delay-us
   builds and uses it, and the crash test runs under it.
   gcc -O2 -shared -fPIC -o flush-delay.so bench/flush-delay.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static useconds_t delay(void) {
    const char *text = getenv("FLUSH_DELAY_US");
    return text ? (useconds_t)strtoul(text, NULL, 10) : 2000;
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    usleep(delay());
    return real(fd);
}

/* With FLUSH_FAIL_FILE set, an fdatasync that finds that file removes it and fails with EIO
   (once per file made): the disk error the tests of a failed WAL flush need. */
static int fails_now(void) {
    const char *path = getenv("FLUSH_FAIL_FILE");
    return path && unlink(path) == 0;
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    usleep(delay());
    if (fails_now()) {
        errno = EIO;
        return -1;
    }
    return real(fd);
}
