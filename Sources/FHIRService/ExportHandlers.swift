import ExportDomain
import Foundation
import Runtime
import Storage

/// The Bulk Data endpoints: kick-off, `$exportstatus` (poll and cancel), `$exportfilerequest`.
/// atr-fcgi only validates and records; atr-scheduler builds the files.
extension FHIRService {
    static let exportOperations: [String: ExportOperation] = [
        "$davinci-data-export": .davinciDataExport, "$export": .export,
    ]

    func kickoff(_ request: HTTPRequest, groupId: String, operation: ExportOperation, relativePath: String,
                 access: Access) throws -> HTTPResponse {
        let requestURL = settings.publicBaseURL + relativePath + (request.query.isEmpty ? "" : "?\(request.query)")
        let exportRequest = try ExportKickoff.parse(
            method: request.method, operation: operation, groupId: groupId, query: request.queryItems,
            accept: request.header("accept"), prefer: request.header("prefer"), contentType: request.header("content-type"),
            body: request.body, now: environment.now(), requestURL: requestURL,
            maxParameters: settings.bulkDataExport.maxKickoffParameters, maxPatients: settings.bulkDataExport.maxPatients
        )
        let types = try exportTypes(exportRequest, access: access)
        guard try database.groupExists(groupId) else { throw Self.unknownGroup(groupId) }
        let maxMembers = settings.bulkDataExport.maxGroupMembers
        if let members = try database.indexedMemberCount(groupId), members > maxMembers {
            throw ExportFailureReason.groupTooLarge(group: "Group/\(groupId)", members: members, limit: maxMembers).kickoffError
        }
        let taskId = environment.newId()
        let task = exportRequest.exporting(types)
        let now = environment.now()
        let limit = settings.bulkDataExport.maxActiveTasksPerClient
        try database.writeTransaction {
            // Counted in the write transaction: two kick-offs at once cannot both pass the limit.
            guard try database.unfinishedTaskCount(clientId: access.clientId) < limit else {
                throw FHIRError(status: 429, code: .throttled,
                                "At most \(limit) exports may be queued or running per client (BulkDataExport.MaxActiveTasksPerClient); retry when one finishes",
                                headers: [HTTPHeader("Retry-After", String(max(1, settings.bulkDataExport.repeatPeriodMilliseconds / 1000)))])
            }
            try database.createTask(id: taskId, clientId: access.clientId, request: task.toJSON().serialized(), now: now)
            try database.appendAudit(ExportAudit.accepted(taskId: taskId, groupId: groupId, clientId: access.clientId,
                                                          address: access.audit.address, now: now))
        }
        access.audit.written = true
        logger.info("export queued", metadata: ["task-id": "\(taskId)", "group-id": "\(groupId)"])
        let outcome = OperationOutcome.single(severity: .information, code: .informational,
                                              diagnostics: "The export of Group/\(groupId) was accepted as task \(taskId)")
        return .fhir(202, outcome, headers: [HTTPHeader("Content-Location", statusURL(taskId))])
    }

    /// Firely's rule: `$davinci-data-export` reads Consents to honour opt-outs, so it needs read on
    /// Group, Patient, Coverage and Consent plus every requested type. The `$export` alias serves
    /// generic clients (smart-fetch asks only for compartment types and the provider types): it
    /// needs read on the requested types, and without `_type` exports the ATR types the token
    /// can read. Opt-outs are honoured either way. A Group the client may not reach answers as an
    /// unknown one. Returns the types the export writes.
    private func exportTypes(_ exportRequest: ExportRequest, access: Access) throws -> [ResourceType] {
        let groupId = exportRequest.groupId
        guard let principal = access.principal else { return exportRequest.types }
        if exportRequest.operation == .export && !exportRequest.typesRequested {
            try access.require(.exportGroup(groupId: groupId, reads: []), notFound: Self.unknownGroup(groupId))
            let readable = principal.scopes.readableTypes(among: ATRTypes.all)
            guard !readable.isEmpty else {
                throw FHIRError(status: 403, code: .forbidden, "The access token can read none of the exportable types ("
                                + ATRTypes.all.joined(separator: ", ") + ")")
            }
            return readable
        }
        try access.require(.exportGroup(groupId: groupId, reads: TaskAccess.requiredReads(exportRequest)),
                           notFound: Self.unknownGroup(groupId))
        return exportRequest.types
    }

    static func unknownGroup(_ groupId: String) -> FHIRError {
        FHIRError.notFound("Group/\(groupId) is not known")
    }

    func statusURL(_ taskId: String) -> String {
        "\(settings.publicBaseURL)/$exportstatus?_id=\(taskId)"
    }

    /// Patient- and system-level `$davinci-data-export` (and system-level `$export`) are not offered.
    func unsupportedExportLevel(_ path: String) -> FHIRError {
        FHIRError.badRequest(.notSupported,
                             "Only Group-level export is supported (Group/{id}/$davinci-data-export or Group/{id}/$export), not '\(path)'")
    }

    func exportStatus(_ request: HTTPRequest, access: Access) throws -> HTTPResponse {
        let taskId = try taskIdParameter(request)
        let task = try requireTaskAccess(try database.task(taskId), access: access,
                                         notFound: FHIRError.notFound("No export task '\(taskId)'"))
        switch request.method {
        case "GET", "HEAD":
            return try statusResponse(task)
        case "DELETE":
            return try cancel(task, access: access)
        default:
            throw ErrorResponder.methodNotAllowed(request.method, allowed: ["GET", "DELETE"])
        }
    }

    private func taskIdParameter(_ request: HTTPRequest) throws -> String {
        guard let items = request.queryItems else {
            throw FHIRError.badRequest(.invalid, "The query string is not validly percent-encoded")
        }
        let ids = items.filter { $0.name == "_id" }.map(\.value)
        guard ids.count == 1, let id = ids.first, !id.isEmpty else {
            throw FHIRError.badRequest(.required, "The _id parameter (the export task id) is required once")
        }
        return id
    }

    private func statusResponse(_ task: ExportTask) throws -> HTTPResponse {
        let taskId = task.id
        if task.state != .queued && task.state != .active { pollPacer.finished(taskId: taskId) }
        switch task.state {
        case .queued, .active:
            let retryAfter = max(1, min(5, settings.bulkDataExport.repeatPeriodMilliseconds / 1000))
            let pace = pollPacer.poll(taskId: taskId, now: environment.now(), retryAfterSeconds: retryAfter,
                                      earlyPollsAllowed: settings.bulkDataExport.earlyPollsAllowed)
            if case .tooSoon(let wait) = pace {
                throw FHIRError(status: 429, code: .throttled,
                                "Polled sooner than the Retry-After of \(retryAfter) s more than \(settings.bulkDataExport.earlyPollsAllowed) times in a row (BulkDataExport.EarlyPollsAllowed); wait before polling again",
                                headers: [HTTPHeader("Retry-After", String(wait))])
            }
            let progress = task.state == .queued
                ? "queued: number \(try database.tasksQueuedAhead(of: taskId) + 1) in the queue"
                : String((task.progress ?? task.state.rawValue).prefix(99))
            return HTTPResponse(status: 202, headers: [HTTPHeader("X-Progress", progress), HTTPHeader("Retry-After", String(retryAfter))])
        case .complete:
            let now = environment.now()
            let body = try renderedManifests.body(taskId: taskId, now: now) {
                guard let manifest = task.storedManifest else {
                    throw FHIRError(status: 500, code: .exception, "The manifest of task '\(taskId)' is unreadable")
                }
                let signer = FileURLSigner(secret: settings.signedURLSecret, lifetimeSeconds: settings.signedURLLifetimeSeconds,
                                           origin: settings.publicBase.origin)
                return manifest.rendered(taskId: taskId, signer: signer, requiresAccessToken: settings.bulkDataExport.requiresAccessToken,
                                         now: now).serialized()
            }
            var headers = [HTTPHeader("Content-Type", "application/json")]
            // Bulk Data: the server may say when the files go; they are purged after the retention period.
            if let finishedAt = task.finishedAt {
                headers.append(HTTPHeader("Expires", settings.bulkDataExport.filesExpire(finishedAt: finishedAt).httpDate))
            }
            return HTTPResponse(status: 200, headers: headers, body: body)
        case .failed:
            throw FailedTaskOutcome(stored: task.outcome)
        case .cancelled:
            throw FHIRError.notFound("Export task '\(taskId)' was cancelled")
        case .expired:
            throw FHIRError(status: 410, code: .deleted, "The files of export task '\(taskId)' were deleted after the retention period")
        }
    }

    private func cancel(_ task: ExportTask, access: Access) throws -> HTTPResponse {
        let taskId = task.id
        let now = environment.now()
        let groupId = try? ExportRequest(json: try JSONParser.parse(task.request)).groupId
        let audit = ExportAudit.cancelled(taskId: taskId, groupId: groupId, clientId: access.clientId,
                                          address: access.audit.address, now: now)
        guard try database.cancelTask(taskId, nowMilliseconds: now.millisecondsSinceEpoch, audit: audit) else {
            throw FHIRError.notFound("No export task '\(taskId)' to cancel")
        }
        access.audit.written = true
        // The row says cancelled first, so a scheduler finishing right now removes its own files too.
        let files = TaskFiles(root: settings.taskFileStoragePath)
        files.remove(files.finalDirectory(taskId))
        logger.info("export cancelled", metadata: ["task-id": "\(taskId)"])
        let outcome = OperationOutcome.single(severity: .information, code: .informational,
                                              diagnostics: "Export task \(taskId) was cancelled and its files deleted")
        return .fhir(202, outcome)
    }

    /// Firely's download endpoint: checks the task and file, then lets nginx send the bytes
    /// from an internal location (`X-Accel-Redirect`).
    func exportFileRequest(_ request: HTTPRequest, access: Access) throws -> HTTPResponse {
        try allow(request, ["GET", "HEAD"])
        let taskId = try taskIdParameter(request)
        let names = (request.queryItems ?? []).filter { $0.name == "filename" }.map(\.value)
        guard names.count == 1, let name = names.first else {
            throw FHIRError.badRequest(.required, "The filename parameter is required once")
        }
        let notFound = FHIRError.notFound("No file '\(name)' in export task '\(taskId)'")
        let task = try requireTaskAccess(try database.task(taskId), access: access, notFound: notFound)
        guard task.state == .complete, let manifest = task.storedManifest, manifest.fileNames.contains(name) else {
            throw notFound
        }
        access.audit.entities.append(.file(task: taskId, name: name))
        return HTTPResponse(status: 200, headers: [
            HTTPHeader("Content-Type", "application/fhir+ndjson"),
            HTTPHeader("X-Accel-Redirect", "/_task_files/\(taskId)/\(name)"),
        ])
    }
}

extension ExportTask {
    /// The manifest a complete task stored (files and counts, without URLs).
    var storedManifest: ExportManifest? {
        manifest.flatMap { try? JSONParser.parse($0) }.flatMap(ExportManifest.init(stored:))
    }
}
