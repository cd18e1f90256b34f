#ifndef TODO_CATOMICS_SHIM_H
#define TODO_CATOMICS_SHIM_H
#include <stdint.h>

/* Relaxed 64-bit atomics on plain memory: the metrics counters live in a file mapped by
   several processes, where Swift's Atomic (which owns its storage) cannot be placed. Each
   counter has one writer (its thread); scrapes read it from any process. */
static inline void todo_atomic_add(uint64_t *counter, uint64_t amount) {
    __atomic_fetch_add(counter, amount, __ATOMIC_RELAXED);
}
static inline uint64_t todo_atomic_load(const uint64_t *counter) {
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}
static inline void todo_atomic_store(uint64_t *counter, uint64_t value) {
    __atomic_store_n(counter, value, __ATOMIC_RELAXED);
}
#endif
