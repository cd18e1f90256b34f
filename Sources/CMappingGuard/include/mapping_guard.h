#ifndef TODO_MAPPING_GUARD_H
#define TODO_MAPPING_GUARD_H
#include <stddef.h>

/* A SIGBUS guard for shared file mappings (the metrics file). A file mapped by several
   processes can be shrunk under them (a truncation by hand, a foreign tool); touching a page
   past its new end raises SIGBUS, which would kill the worker. Inside a guarded range the
   handler replaces the whole range with anonymous zero pages and returns, so the access is
   retried on memory and succeeds: the process stops recording into the file instead of dying.
   Faults outside every guarded range go to the handler installed before (or the default).

   Swift cannot write a signal handler that is async-signal-safe, hence this C. */

/* Guards [base, base + length) (page-aligned, as mmap returns); returns 0, or -1 when all
   slots are taken or the handler cannot be installed. */
int todo_mapping_guard_add(void *base, size_t length);

/* Stops guarding the range starting at base (before it is unmapped). */
void todo_mapping_guard_remove(void *base);

/* Whether a fault inside the range starting at base has replaced it since it was added. */
int todo_mapping_guard_tripped(void *base);

/* Replaces the guarded range at base with anonymous zero pages now (what the handler does),
   e.g. when the file is seen to have shrunk before anything faulted; returns 0 or -1. */
int todo_mapping_guard_detach(void *base);

#endif
