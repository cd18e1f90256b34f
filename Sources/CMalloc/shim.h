#ifndef TODO_CMALLOC_SHIM_H
#define TODO_CMALLOC_SHIM_H
// glibc's allocator controls (malloc_trim); Glibc's Swift module does not include <malloc.h>.
// Only the TodoServer module imports this.
#include <malloc.h>
#endif
