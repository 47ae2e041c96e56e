#ifndef FILMD_CLIBPQ_SHIM_H
#define FILMD_CLIBPQ_SHIM_H

// libpq, PostgreSQL's client library (Debian's libpq-dev; 15 here, pipeline mode since 14).
#include <libpq-fe.h>

#endif
