/* Makes every fsync/fdatasync of the process slower by FLUSH_DELAY_US microseconds, so this
   VM (whose page cache answers a flush in microseconds) behaves like the block storage of a
   production server (0.5-5 ms per flush). Load it with LD_PRELOAD; bench/run.py --flush-delay-us
   builds and uses it, and the crash test runs under it.
   gcc -O2 -shared -fPIC -o flush-delay.so bench/flush-delay.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
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
   (once per file made): the disk error the tests of a failed WAL flush need. Only a regular file
   opened read-only fails: the group commit's WAL flusher opens the WAL so, while SQLite opens its
   files read-write (and a directory read-only, to sync it), so neither a checkpoint's sync nor
   SQLite's own takes the failure a test meant for a flush. */
static int fails_now(int fd) {
    const char *path = getenv("FLUSH_FAIL_FILE");
    struct stat status;
    int flags = fcntl(fd, F_GETFL);
    return path && flags >= 0 && (flags & O_ACCMODE) == O_RDONLY && fstat(fd, &status) == 0 && S_ISREG(status.st_mode)
        && unlink(path) == 0;
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    usleep(delay());
    if (fails_now(fd)) {
        errno = EIO;
        return -1;
    }
    return real(fd);
}
