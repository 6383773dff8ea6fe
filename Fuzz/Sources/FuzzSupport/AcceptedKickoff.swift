import ExportDomain

/// What every kick-off the parser accepts must be, whichever way it came (query or body).
public func requireValid(_ request: ExportRequest, operation: ExportOperation) {
    require(ResourceID.isValid(request.groupId), "accepted Group id \(request.groupId)")
    require(request.types.allSatisfy(\.isKnown), "accepted unknown types \(request.types)")
    if operation == .davinciDataExport {
        let minimum: Set<ResourceType> = ["Group", "Patient", "Coverage"]
        require(minimum.isSubset(of: request.types), "a Da Vinci export without \(minimum): \(request.types)")
    }
    if let since = request.since, let until = request.until {
        require(since <= until, "accepted _since \(since) after _until \(until)")
    }
    require(request.elements.allSatisfy { ElementSelector.isValidElementName($0.element) },
            "accepted _elements \(request.elements)")
    // The task stores the request as JSON and the scheduler reads it back.
    let stored = try? ExportRequest(json: request.toJSON())
    require(stored == request, "the stored request reads back as \(String(describing: stored))")
}
