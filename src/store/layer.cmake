# store: files in the data directory; SQLite (WAL) for the node's database.
list(APPEND PKC_PKG_MODULES sqlite3)
