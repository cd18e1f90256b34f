#ifndef TODO_CSQLITE_SHIM_H
#define TODO_CSQLITE_SHIM_H
#include <sqlite3.h>

/* SQLITE_TRANSIENT is a cast macro that Swift does not import. */
static inline sqlite3_destructor_type todo_sqlite_transient(void) {
    return SQLITE_TRANSIENT;
}

/* sqlite3_config is variadic, which Swift does not import. Without the memory statistics no
   SQLite allocation takes the library's global mutex: this service reads none of them. Only
   before the library initializes (its first open); afterwards it answers SQLITE_MISUSE. */
static inline int todo_sqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif
