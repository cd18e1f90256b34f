#define _GNU_SOURCE
#include "mapping_guard.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define SLOTS 16

/* Read by the handler without a lock: each field is a word written atomically, and a slot
   is published (base set last) only once its length is in place. */
static struct {
    uintptr_t base;
    size_t length;
    int tripped;
} slots[SLOTS];

static struct sigaction previous;
static int installed;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int detach(int index) {
    void *base = (void *)__atomic_load_n(&slots[index].base, __ATOMIC_ACQUIRE);
    if (base == NULL) return -1;
    void *replaced = mmap(base, slots[index].length, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (replaced == MAP_FAILED) return -1;
    __atomic_store_n(&slots[index].tripped, 1, __ATOMIC_RELEASE);
    return 0;
}

static void on_bus_error(int signal, siginfo_t *info, void *context) {
    uintptr_t address = (uintptr_t)info->si_addr;
    for (int index = 0; index < SLOTS; index++) {
        uintptr_t base = __atomic_load_n(&slots[index].base, __ATOMIC_ACQUIRE);
        if (base != 0 && address >= base && address - base < slots[index].length) {
            if (detach(index) == 0) return; /* the access is retried on anonymous memory */
        }
    }
    /* Not ours: the handler before us (or the default action) takes the retried fault. */
    sigaction(SIGBUS, &previous, NULL);
    (void)signal;
    (void)context;
}

int todo_mapping_guard_add(void *base, size_t length) {
    pthread_mutex_lock(&lock);
    int result = -1;
    if (!installed) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_sigaction = on_bus_error;
        action.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&action.sa_mask);
        if (sigaction(SIGBUS, &action, &previous) == 0) installed = 1;
    }
    for (int index = 0; installed && index < SLOTS; index++) {
        if (slots[index].base == 0) {
            slots[index].length = length;
            __atomic_store_n(&slots[index].tripped, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&slots[index].base, (uintptr_t)base, __ATOMIC_RELEASE);
            result = 0;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return result;
}

static int find(void *base) {
    for (int index = 0; index < SLOTS; index++) {
        if (__atomic_load_n(&slots[index].base, __ATOMIC_ACQUIRE) == (uintptr_t)base) return index;
    }
    return -1;
}

void todo_mapping_guard_remove(void *base) {
    pthread_mutex_lock(&lock);
    int index = find(base);
    if (index >= 0) __atomic_store_n(&slots[index].base, 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lock);
}

int todo_mapping_guard_tripped(void *base) {
    int index = find(base);
    return index >= 0 && __atomic_load_n(&slots[index].tripped, __ATOMIC_ACQUIRE);
}

int todo_mapping_guard_detach(void *base) {
    pthread_mutex_lock(&lock);
    int index = find(base);
    int result = index >= 0 ? detach(index) : -1;
    pthread_mutex_unlock(&lock);
    return result;
}
