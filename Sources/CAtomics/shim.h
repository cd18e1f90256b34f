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

/* Sequentially consistent 64- and 32-bit atomics and a futex on a file mapped by several
   processes: the live-sync change feed (SQLiteStorage's SharedChangeFeed), where a publisher
   bumps a counter and then the wake-up word, and a sleeper announces itself before it waits
   (Dekker's pattern: both orders must hold, so no relaxed operations here). The futex is not
   FUTEX_PRIVATE: it wakes sleepers in other processes mapping the same file page. */
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>
#include <limits.h>
static inline uint64_t todo_atomic_increment_seq_cst(uint64_t *counter) {
    return __atomic_add_fetch(counter, 1, __ATOMIC_SEQ_CST);
}
static inline uint64_t todo_atomic_load_seq_cst(const uint64_t *counter) {
    return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
}
static inline uint32_t todo_atomic_add32_seq_cst(uint32_t *word, int32_t amount) {
    return __atomic_add_fetch(word, (uint32_t)amount, __ATOMIC_SEQ_CST);
}
static inline uint32_t todo_atomic_load32_seq_cst(const uint32_t *word) {
    return __atomic_load_n(word, __ATOMIC_SEQ_CST);
}
static inline int todo_atomic_compare_exchange_seq_cst(uint64_t *word, uint64_t expected, uint64_t desired) {
    return __atomic_compare_exchange_n(word, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
/* Sleeps while *word == expected, at most timeout_ns; returns at once when it differs. */
static inline void todo_futex_wait(uint32_t *word, uint32_t expected, int64_t timeout_ns) {
    struct timespec timeout = { (time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000) };
    syscall(SYS_futex, word, FUTEX_WAIT, expected, &timeout, NULL, 0);
}
/* Wakes every sleeper on word, in any process. */
static inline void todo_futex_wake_all(uint32_t *word) {
    syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}
#endif
