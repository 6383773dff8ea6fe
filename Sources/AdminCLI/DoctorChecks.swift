import ExportDomain
import Foundation
import Runtime
import Storage

/// The checks of `atrctl doctor`, each printing one line `ok|warn|FAIL  name: detail`.
struct DoctorChecks {
    enum Verdict: String { case ok = "ok  ", warn = "warn", fail = "FAIL" }

    let minimumFreeBytes: Int64
    private(set) var failed = false

    init(minimumFreeBytes: Int64) {
        self.minimumFreeBytes = minimumFreeBytes
    }

    mutating func report(_ name: String, _ verdict: Verdict, _ detail: String) {
        print("\(verdict.rawValue)  \(name): \(detail)")
        if verdict == .fail { failed = true }
    }

    mutating func configuration() -> Settings? {
        do {
            let settings = try ConfigurationLoader.load()
            report("configuration", .ok, "valid; FHIR base \(settings.publicBaseURL)")
            return settings
        } catch {
            report("configuration", .fail, "\(error)")
            return nil
        }
    }

    /// Reachable and at this build's schema; returns it for the checks that need it.
    mutating func database(_ settings: Settings) -> Database? {
        do {
            let database = try ConfigurationLoader.openDatabase(settings)
            let summary = try database.queueSummary()
            report("database", .ok, "\(settings.databaseDescription) at schema \(Database.schemaVersion); \(summary.tasksByState[.queued] ?? 0) tasks queued")
            return database
        } catch {
            report("database", .fail, "\(settings.databaseDescription) cannot be used: \(error)")
        }
        return nil
    }

    /// Leases are stamped with the database's clock, but signed links and tokens with each
    /// node's: a node whose clock is off hands out links that expire early or late.
    mutating func clock(_ database: Database?, settings: Settings) {
        guard settings.databaseProvider == .postgresql else {
            report("clock", .ok, "SQLite shares this host's clock (leases, links and tokens are all timed by it)")
            return
        }
        guard let database else {
            report("clock", .warn, "not compared: the database is unreachable")
            return
        }
        let host = Int64(Date().timeIntervalSince1970 * 1000)
        guard let server = try? database.connection.leaseClockMilliseconds(hostMilliseconds: host) else {
            report("clock", .warn, "not compared: the database did not answer")
            return
        }
        let skew = abs(server - host)
        let detail = "this host's clock is \(skew) ms from the database's"
        report("clock", skew > 5000 ? .fail : skew > 1000 ? .warn : .ok, skew > 1000 ? detail + " (run NTP on every node)" : detail)
    }

    /// Writable by this user (create and remove a probe file), its owner, and the free space.
    mutating func directory(_ name: String, _ path: String) {
        let directory = path.isEmpty ? "." : path
        let probe = (directory as NSString).appendingPathComponent(".atrctl-doctor-\(getpid())")
        guard FileManager.default.createFile(atPath: probe, contents: Data()) else {
            report(name, .fail, "\(directory) is not writable by \(NSUserName()) (or does not exist)")
            return
        }
        try? FileManager.default.removeItem(atPath: probe)
        let owner = (try? FileManager.default.attributesOfItem(atPath: directory)[.ownerAccountName] as? String) ?? "?"
        var stats = statvfs()
        guard statvfs(directory, &stats) == 0 else {
            report(name, .warn, "\(directory) is writable (owner \(owner)); free space unknown")
            return
        }
        let free = Int64(stats.f_bavail) * Int64(stats.f_frsize)
        let detail = "\(directory) is writable (owner \(owner)); \(free >> 20) MB free"
        report(name, free < minimumFreeBytes ? .fail : .ok, free < minimumFreeBytes ? detail + " (below \(minimumFreeBytes >> 20) MB)" : detail)
    }

    /// Present, not empty, and readable by its owner only.
    mutating func secret(_ name: String, _ path: String) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? Int, size > 0 else {
            report(name, .fail, "\(path) is missing or empty (create it with `atrctl secrets init`)")
            return
        }
        let mode = (attributes[.posixPermissions] as? Int) ?? 0o777
        guard mode & 0o077 == 0 else {
            report(name, .fail, "\(path) is readable by others (mode \(String(mode, radix: 8))); chmod 600 it")
            return
        }
        report(name, .ok, "\(path) present, mode \(String(mode, radix: 8))")
    }

    mutating func nginx(conf: String, prefix: String?) {
        guard FileManager.default.fileExists(atPath: conf) else {
            report("nginx", .warn, "\(conf) not found (give --nginx-conf)")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["nginx", "-t", "-q"] + (prefix.map { ["-p", $0] } ?? []) + ["-c", conf]
        let output = Pipe()
        process.standardError = output
        process.standardOutput = output
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            report("nginx", .fail, "cannot run nginx: \(error)")
            return
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .split(separator: "\n").first.map(String.init) ?? ""
        report("nginx", process.terminationStatus == 0 ? .ok : .fail,
               process.terminationStatus == 0 ? "`nginx -t` accepts \(conf)" : "`nginx -t` refuses \(conf): \(text)")
    }
}
