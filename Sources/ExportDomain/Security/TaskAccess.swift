/// Whether a client may still reach an export task: its status, cancel, `$exportfilerequest`
/// and its files. Decided on every such request, not only at kick-off, so a client removed or
/// narrowed after kick-off loses its running and finished tasks at once.
public enum TaskAccess {
    public enum Decision: Sendable, Equatable {
        case allowed
        /// Not this client's task, or the client is no longer registered for the task's Group:
        /// answered as if the task did not exist.
        case notFound
        /// The token no longer reads every type the export needs (403 naming them).
        case missingReads([ResourceType])
    }

    /// The read scopes an export needs, at kick-off and for as long as its task is reached.
    /// Firely's rule: `$davinci-data-export` reads Group, Patient, Coverage and the opt-out
    /// Consents besides the exported types; the `$export` alias needs the exported types only.
    public static func requiredReads(_ request: ExportRequest) -> [ResourceType] {
        let needed = request.operation == .davinciDataExport ? ATRTypes.readByEveryExport + request.types : request.types
        var seen = Set<ResourceType>()
        return needed.filter { seen.insert($0).inserted }
    }

    /// - Parameters:
    ///   - owner: the client that started the task.
    ///   - registeredGroups: the Groups the client is registered for now (`*` = all); nil when
    ///     the client is not registered any more.
    public static func decide(owner: String?, request: ExportRequest, clientId: String, scopes: ScopeSet,
                              registeredGroups: [String]?) -> Decision {
        guard owner == clientId, let groups = registeredGroups,
              groups.contains("*") || groups.contains(request.groupId) else { return .notFound }
        let missing = scopes.missingRead(requiredReads(request))
        return missing.isEmpty ? .allowed : .missingReads(missing)
    }
}
