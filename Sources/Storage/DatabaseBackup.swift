import CSQLite
import ExportDomain
import Foundation

/// A consistent copy of the live database, taken with SQLite's online backup API while the
/// servers go on reading and writing (it copies pages in steps and restarts a step a writer
/// changed).
extension Database {
    /// Copies the database to a new file at `path` (which must not exist), then checks the
    /// copy's integrity. Returns the number of pages copied. A copy that fails is removed: it is
    /// not a backup.
    public func backup(to path: String, pagesPerStep: Int32 = 1024) throws -> Int {
        guard let sqlite = connection as? SQLiteConnection else {
            throw StorageError(sqlState: "0A000", message: "an online backup copies an SQLite database; back up PostgreSQL with pg_dump")
        }
        // sqlite3_open_v2 ignores SQLITE_OPEN_EXCLUSIVE, so an existing file is refused here.
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StorageError(code: SQLITE_CANTOPEN, message: "\(path) exists; a backup never overwrites")
        }
        do {
            return try copy(sqlite, to: path, pagesPerStep: pagesPerStep)
        } catch {
            for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            throw error
        }
    }

    private func copy(_ sqlite: SQLiteConnection, to path: String, pagesPerStep: Int32) throws -> Int {
        var target: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        guard sqlite3_open_v2(path, &target, flags, nil) == SQLITE_OK, let target else {
            let message = target.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(target)
            throw StorageError(code: SQLITE_CANTOPEN, message: "cannot create \(path): \(message)")
        }
        defer { sqlite3_close_v2(target) }
        guard let backup = sqlite3_backup_init(target, "main", sqlite.handle, "main") else {
            throw StorageError(code: sqlite3_errcode(target), message: String(cString: sqlite3_errmsg(target)))
        }
        var rc: Int32
        repeat {
            rc = sqlite3_backup_step(backup, pagesPerStep)
            if rc == SQLITE_BUSY || rc == SQLITE_LOCKED { sqlite3_sleep(50) }
        } while rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED
        let pages = Int(sqlite3_backup_pagecount(backup))
        sqlite3_backup_finish(backup)
        guard rc == SQLITE_DONE else {
            throw StorageError(code: rc, message: "the backup stopped: \(String(cString: sqlite3_errstr(rc)))")
        }
        let problems = try integrityProblems(target)
        guard problems.isEmpty else {
            throw StorageError(code: SQLITE_CORRUPT, message: "the copy at \(path) fails its integrity check: \(problems.prefix(3).joined(separator: "; "))")
        }
        return pages
    }

    /// `PRAGMA integrity_check`'s findings, less one false report: SQLite 3.40 says "NULL value
    /// in T.C" for a NOT NULL column of every WITHOUT ROWID table (the audit trail's entities)
    /// that holds no NULL at all. Such a line counts only if the column really holds one.
    private func integrityProblems(_ handle: OpaquePointer) throws -> [String] {
        func rows(_ sql: String) throws -> [String] {
            var statement: OpaquePointer?
            defer { sqlite3_finalize(statement) }
            guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK else {
                throw StorageError(code: sqlite3_errcode(handle), message: String(cString: sqlite3_errmsg(handle)))
            }
            var found: [String] = []
            while sqlite3_step(statement) == SQLITE_ROW {
                found.append(sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? "")
            }
            return found
        }
        return try rows("PRAGMA integrity_check").filter { line in
            guard line != "ok" else { return false }
            let prefix = "NULL value in "
            guard line.hasPrefix(prefix) else { return true }
            let column = line.dropFirst(prefix.count).split(separator: ".")
            guard column.count == 2, column.allSatisfy({ $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } }) else { return true }
            return try rows("SELECT count(*) FROM \(column[0]) WHERE \(column[1]) IS NULL").first != "0"
        }
    }
}
