/// Which answered requests leave a record of their own, and how it reads. Kick-offs accepted and
/// cancels are recorded by their handlers, in the transaction that changes the task; the
/// scheduler records completions and failures the same way.
public enum AuditRule {
    /// What an answered request says about itself.
    public struct Answered: Sendable {
        public var action: AuditAction
        public var status: Int
        /// The OperationOutcome's diagnostics of a refusal.
        public var reason: String?
        /// The 404 hid something that exists from this client (provider isolation).
        public var hidden: Bool
        /// The caller's role; nil without a valid token or with SMART off.
        public var role: ClientRole?

        public init(action: AuditAction, status: Int, reason: String?, hidden: Bool, role: ClientRole?) {
            self.action = action
            self.status = status
            self.reason = reason
            self.hidden = hidden
            self.role = role
        }
    }

    /// The outcome and details to record, or nil when the request leaves no record: every refused
    /// access (401, 403, 404 by isolation), every kick-off and file download refused for any
    /// reason, every file download, and every REST read, history or search by a provider.
    public static func record(_ answered: Answered) -> (outcome: AuditOutcome, details: [AuditDetail])? {
        let refusal = [AuditDetail("status", String(answered.status))] + (answered.reason.map { [AuditDetail("reason", String($0.prefix(500)))] } ?? [])
        let refused = answered.status == 401 || answered.status == 403 || (answered.status == 404 && answered.hidden)
        // Every kick-off and every download attempt is recorded, whatever refused it.
        let alwaysRecorded = [.exportKickoff, .fileDownload, .listChange].contains(answered.action)
        if refused || (alwaysRecorded && answered.status >= 400) {
            return (AuditOutcome(httpStatus: answered.status), refusal)
        }
        guard answered.status < 400 else { return nil }
        switch answered.action {
        case .fileDownload, .listChange:
            return (.success, [])
        case .read, .history, .search:
            return answered.role == .provider ? (.success, []) : nil
        default:
            return nil
        }
    }
}

/// The records of an export task's life.
public enum ExportAudit {
    /// A completion's detail per exported type: `count Patient` = 120 (the metrics read them back).
    public static let countPrefix = "count "

    public static func accepted(taskId: String, groupId: String, clientId: String?, address: String?, now: FHIRInstant) -> AuditRecord {
        AuditRecord(recorded: now, action: .exportKickoff, outcome: .success, clientId: clientId, address: address,
                    entities: [.group(groupId), .task(taskId)], details: [AuditDetail("status", "202")])
    }

    /// Counts per exported type and how many members were left out by opt-out, never which.
    public static func completed(taskId: String, request: ExportRequest, clientId: String?, manifest: ExportManifest,
                                 optedOutMembers: Int, now: FHIRInstant) -> AuditRecord {
        var counts: [(ResourceType, Int)] = []
        for file in manifest.output {
            if let index = counts.firstIndex(where: { $0.0 == file.type }) { counts[index].1 += file.count } else { counts.append((file.type, file.count)) }
        }
        let details = counts.map { AuditDetail(countPrefix + $0.0.rawValue, String($0.1)) }
            + (manifest.deleted.isEmpty ? [] : [AuditDetail("deleted", String(manifest.deleted.reduce(0) { $0 + $1.count }))])
            + [AuditDetail("opted-out members", String(optedOutMembers)),
               AuditDetail("files", String(manifest.output.count + manifest.error.count + manifest.deleted.count))]
        return AuditRecord(recorded: now, action: .exportComplete, outcome: .success, clientId: clientId, address: nil,
                           entities: [.group(request.groupId), .task(taskId)], details: details)
    }

    public static func failed(taskId: String, groupId: String?, clientId: String?, reason: String, now: FHIRInstant) -> AuditRecord {
        AuditRecord(recorded: now, action: .exportFailed, outcome: .seriousFailure, clientId: clientId, address: nil,
                    entities: (groupId.map { [.group($0)] } ?? []) + [.task(taskId)], details: [AuditDetail("reason", reason)])
    }

    public static func cancelled(taskId: String, groupId: String?, clientId: String?, address: String?, now: FHIRInstant) -> AuditRecord {
        AuditRecord(recorded: now, action: .exportCancel, outcome: .success, clientId: clientId, address: address,
                    entities: (groupId.map { [.group($0)] } ?? []) + [.task(taskId)], details: [AuditDetail("status", "202")])
    }
}
