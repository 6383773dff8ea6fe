import ExportDomain

/// The audit trail's rows. Append-only: the schema's triggers refuse every UPDATE, and only the
/// retention purge deletes.
extension Database {
    /// Appends a record inside the caller's write transaction, so the record and the change it
    /// records commit together or not at all.
    public func appendAudit(_ record: AuditRecord) throws {
        let details = JSONValue.array(record.details.map { .array([.string($0.name), .string($0.value)]) })
        let eventId = try connection.query(
            "INSERT INTO audit_events (recorded, action, outcome, client_id, address, details) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            [.instant(record.recorded), .text(record.action.rawValue), .text(record.outcome.rawValue),
             record.clientId.map(SQLValue.text) ?? .null, record.address.map(SQLValue.text) ?? .null,
             .text(details.serializedString)]
        ) { $0.integer(0) }.first ?? 0
        for (position, entity) in record.entities.enumerated() {
            try connection.run("INSERT INTO audit_entities (event_id, kind, value, position) VALUES (?, ?, ?, ?)",
                               [.integer(eventId), .text(entity.kind.rawValue), .text(entity.value), .int(position)])
        }
    }

    /// Appends a record in a write transaction of its own: for events that change nothing else.
    public func recordAudit(_ record: AuditRecord) throws {
        try writeTransaction { try appendAudit(record) }
    }

    /// The records `query` selects, oldest first, at most `query.count`.
    public func auditRecords(_ query: AuditQuery) throws -> [AuditRecord] {
        var conditions: [String] = []
        var parameters: [SQLValue] = []
        if let from = query.from {
            conditions.append("e.recorded >= ?")
            parameters.append(.instant(from))
        }
        if let until = query.until {
            conditions.append("e.recorded < ?")
            parameters.append(.instant(until))
        }
        if let clientId = query.clientId {
            conditions.append("e.client_id = ?")
            parameters.append(.text(clientId))
        }
        if let entity = query.entity {
            conditions.append("EXISTS (SELECT 1 FROM audit_entities n WHERE n.value = ? AND n.event_id = e.id)")
            parameters.append(.text(entity))
        }
        if let actions = query.actions {
            conditions.append("e.action IN (\(Array(repeating: "?", count: max(actions.count, 1)).joined(separator: ", ")))")
            parameters += actions.isEmpty ? [.null] : actions.map { .text($0.rawValue) }
        }
        if let after = query.after {
            conditions.append("e.id > ?")
            parameters.append(.integer(after))
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let rows = try connection.query(
            "SELECT e.id, e.recorded, e.action, e.outcome, e.client_id, e.address, e.details FROM audit_events e \(whereClause) ORDER BY e.id LIMIT ?",
            parameters + [.int(query.count)]
        ) { row -> AuditRecord in
            let details: [AuditDetail] = ((try? JSONParser.parse(Array((row.text(6) ?? "[]").utf8)))?.arrayValue ?? []).compactMap { pair in
                guard let name = pair[0]?.stringValue, let value = pair[1]?.stringValue else { return nil }
                return AuditDetail(name, value)
            }
            return AuditRecord(id: row.integer(0), recorded: row.instant(1),
                               action: AuditAction(rawValue: row.text(2) ?? "") ?? .read,
                               outcome: AuditOutcome(rawValue: row.text(3) ?? "") ?? .seriousFailure,
                               clientId: row.text(4), address: row.text(5), details: details)
        }
        return try rows.map { record in
            var record = record
            record.entities = try connection.query(
                "SELECT kind, value FROM audit_entities WHERE event_id = ? ORDER BY position", [.integer(record.id ?? 0)]
            ) { AuditEntity(AuditEntity.Kind(rawValue: $0.text(0) ?? "") ?? .resource, $0.text(1) ?? "") }
            return record
        }
    }

    /// How many records of `action` with `outcome` the client has since `instant` (e.g. tokens
    /// issued in the last minute: the token endpoint's rate limit reads its own trail).
    public func auditCount(clientId: String, action: AuditAction, outcome: AuditOutcome, since instant: FHIRInstant) throws -> Int {
        try connection.query(
            "SELECT count(*) FROM audit_events \(connection.dialect.indexedBy("audit_events_by_client_action")) WHERE client_id = ? AND action = ? AND recorded >= ? AND outcome = ?",
            [.text(clientId), .text(action.rawValue), .instant(instant), .text(outcome.rawValue)]
        ) { Int($0.integer(0)) }.first ?? 0
    }

    /// Deletes the records older than `cutoff` (`Audit.RetentionPeriod`); returns how many.
    public func purgeAudit(recordedBefore cutoff: FHIRInstant) throws -> Int {
        try writeTransaction {
            try connection.run(
                "DELETE FROM audit_entities WHERE event_id IN (SELECT id FROM audit_events WHERE recorded < ?)", [.instant(cutoff)])
            try connection.run("DELETE FROM audit_events WHERE recorded < ?", [.instant(cutoff)])
            return connection.changes
        }
    }
}
