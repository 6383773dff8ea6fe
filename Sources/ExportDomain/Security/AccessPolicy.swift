/// What a client may see and do: the one decision every route asks before it answers. For
/// reads scopes come first (a 403 naming a scope says nothing about what exists); for writes
/// the role does; for exports and tasks the Group registration and ownership (404) do. Then the
/// role and the Groups: a provider never learns more than an export of its own Groups would disclose, and
/// whatever it may not see answers exactly as if it did not exist.
public enum AccessPolicy {
    public enum Request: Sendable, Equatable {
        /// Read, version read or history of `Group/{id}`; also each result of a Group search.
        case group(id: String)
        /// A Group search itself (its results are then decided one by one as `.group`).
        case groupSearch
        /// Read, version read or history of a Patient, Coverage or RelatedPerson. `exportedBy`:
        /// the Groups whose export would contain it now (`MemberDisclosure`).
        case memberResource(ResourceType, exportedBy: [String])
        /// Read, version read or history of a resource of any other type.
        case resource(ResourceType)
        case write(ResourceType, WriteAction)
        /// `POST {base}` with a batch or transaction Bundle (each entry is a write).
        case bundle([Write])
        /// `GET {base}/AuditEvent`.
        case auditTrail
        /// An export kick-off of `groupId` that must read `reads`.
        case exportGroup(groupId: String, reads: [ResourceType])
        /// Status, cancel, `$exportfilerequest` or a file download of a task `owner` started.
        case exportTask(owner: String?, ExportRequest)
        /// `$member-add`, `$member-remove`, `$confirm-attribution-list` on `Group/{groupId}`.
        case editList(groupId: String)
        /// `$attribution-status` on `Group/{groupId}`: discloses a member's Patient and Coverage.
        case attributionStatus(groupId: String)
    }

    /// One write a request would make.
    public struct Write: Sendable, Equatable {
        public var type: ResourceType
        public var action: WriteAction

        public init(_ type: ResourceType, _ action: WriteAction) {
            self.type = type
            self.action = action
        }
    }

    public enum Decision: Sendable, Equatable {
        case allowed
        /// Answered exactly as if the resource, Group or task did not exist (404).
        case notFound
        /// 403: the token lacks read access to these types.
        case missingReads([ResourceType])
        /// 403: the token lacks this write access.
        case missingWrite(ResourceType, WriteAction)
        /// 403: the client's role may not do this at all, whatever its scopes.
        case forbiddenForRole(String)
    }

    /// The provider-directory types: readable by every client with the scope.
    public static let directoryTypes = ATRTypes.referenced
    /// The types a provider reads only as part of one of its Groups' exports.
    public static let memberTypes = ATRTypes.memberOwned

    /// - Parameter principal: nil when SMART is switched off (closed test setups): everything is allowed.
    public static func decide(_ principal: ClientPrincipal?, _ request: Request) -> Decision {
        guard let principal else { return .allowed }
        let isAdmin = principal.role == .admin
        switch request {
        case .group(let id):
            return reads(principal, ["Group"]) ?? (principal.reaches(groupId: id) ? .allowed : .notFound)
        case .groupSearch:
            return reads(principal, ["Group"]) ?? .allowed
        case .memberResource(let type, let exportedBy):
            if let missing = reads(principal, [type]) { return missing }
            return isAdmin || exportedBy.contains(where: principal.reaches(groupId:)) ? .allowed : .notFound
        case .resource(let type):
            if let missing = reads(principal, [type]) { return missing }
            // Consent (opt-outs) and every other type stay hidden from providers, as if absent.
            return isAdmin || directoryTypes.contains(type) ? .allowed : .notFound
        // The role first: a provider may never write, and naming the scope of the action (create
        // or update) would tell it whether the resource exists.
        case .write(let type, let action):
            guard isAdmin else { return providersCannotWrite }
            return write(principal, type, action) ?? .allowed
        case .bundle(let entries):
            guard isAdmin else { return providersCannotWrite }
            for entry in entries {
                if let missing = write(principal, entry.type, entry.action) { return missing }
            }
            return .allowed
        case .auditTrail:
            if let missing = reads(principal, ["AuditEvent"]) { return missing }
            return isAdmin ? .allowed : .forbiddenForRole("The audit trail is for admin clients only")
        case .exportGroup(let groupId, let needed):
            guard principal.reaches(groupId: groupId) else { return .notFound }
            return reads(principal, needed) ?? .allowed
        case .editList(let groupId):
            // The reconciliation operations are the one way a provider changes data: its own lists.
            if let missing = write(principal, "Group", .update) { return missing }
            return principal.reaches(groupId: groupId) ? .allowed : .notFound
        case .attributionStatus(let groupId):
            guard principal.reaches(groupId: groupId) else { return .notFound }
            return reads(principal, ["Group", "Patient", "Coverage"]) ?? .allowed
        case .exportTask(let owner, let exportRequest):
            guard owner == principal.clientId, principal.groups != nil,
                  principal.reaches(groupId: exportRequest.groupId) else { return .notFound }
            return reads(principal, TaskAccess.requiredReads(exportRequest)) ?? .allowed
        }
    }

    private static let providersCannotWrite = Decision.forbiddenForRole(
        "Provider clients cannot change data: writes and Bundles are for admin clients")

    private static func reads(_ principal: ClientPrincipal, _ types: [ResourceType]) -> Decision? {
        let missing = principal.scopes.missingRead(types)
        return missing.isEmpty ? nil : .missingReads(missing)
    }

    private static func write(_ principal: ClientPrincipal, _ type: ResourceType, _ action: WriteAction) -> Decision? {
        principal.scopes.canWrite(type, action: action) ? nil : .missingWrite(type, action)
    }
}
