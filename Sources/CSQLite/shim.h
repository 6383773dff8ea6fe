#include <sqlite3.h>

/* sqlite3_config is variadic, which Swift cannot call. Memory statistics make every SQLite
 * allocation take one process-wide mutex, which the FastCGI worker threads then contend for;
 * nothing here reads them. Effective only before SQLite initialises (the first open). */
static inline int atr_sqlite3_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
