#ifndef TODO_CFASTCGI_SHIM_H
#define TODO_CFASTCGI_SHIM_H
#include <fcgiapp.h>
#endif
