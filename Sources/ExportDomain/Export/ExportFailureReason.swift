/// Why an export task ended Failed, as its client reads it (the 500 OperationOutcome of
/// `$exportstatus`). Stable wording that tells the client what happened and whether a retry
/// may help; the technical detail (file names, errno, SQLite codes) goes to the scheduler's
/// log only, never to the client.
public enum ExportFailureReason: Sendable, Equatable {
    /// No space left where the export files (or the database) are written.
    case diskFull
    /// The task directory cannot be written (read-only file system, permissions).
    case taskFilesUnwritable
    /// The database could not be read or written (locked past its busy timeout, I/O error).
    case storageUnavailable
    /// The Group's stored JSON cannot be read as a Group with a member list.
    case groupMalformed(group: String)
    /// The Group has more members than one export takes (`BulkDataExport.MaxGroupMembers`).
    case groupTooLarge(group: String, members: Int, limit: Int)
    /// The Group was deleted between kick-off and export.
    case groupGone(group: String)
    /// Every attempt ended with the scheduler gone (lease lapsed) `attempts` times.
    case retriesExhausted(attempts: Int, retryLimit: Int)
    /// Anything else: a bug on our side.
    case internalError

    public var diagnostics: String {
        switch self {
        case .diskFull:
            return "The export failed: the server ran out of disk space while writing it; retry later"
        case .taskFilesUnwritable:
            return "The export failed: the server could not write the export files; retry later"
        case .storageUnavailable:
            return "The export failed: the server's storage was unavailable; retry later"
        case .groupMalformed(let group):
            return "The export failed: \(group) is malformed (its member list cannot be read)"
        case .groupTooLarge(let group, let members, let limit):
            return "\(group) has \(members) members; one export takes at most \(limit) (BulkDataExport.MaxGroupMembers)"
        case .groupGone(let group):
            return "The export failed: \(group) no longer exists"
        case .retriesExhausted(let attempts, let retryLimit):
            return "The export did not finish after \(attempts) attempts (RetryLimit \(retryLimit))"
        case .internalError:
            return "The export failed because of an internal error"
        }
    }

    /// The OperationOutcome issue code: `transient` where a later retry may succeed.
    public var code: IssueType {
        switch self {
        case .diskFull, .taskFilesUnwritable, .storageUnavailable, .retriesExhausted: return .transient
        case .groupMalformed: return .invalid
        case .groupTooLarge: return .tooCostly
        case .groupGone: return .notFound
        case .internalError: return .exception
        }
    }

    /// The same reason refusing a kick-off before any task exists.
    public var kickoffError: FHIRError {
        FHIRError(status: 422, code: code, diagnostics)
    }

    public var operationOutcome: JSONValue {
        OperationOutcome.single(severity: .error, code: code, diagnostics: diagnostics)
    }
}
