/// The read scopes an export task needs, at kick-off and on every later request that reaches
/// it (status, cancel, `$exportfilerequest`, file downloads; decided by `AccessPolicy`), so a
/// client narrowed after kick-off loses its running and finished tasks at once.
public enum TaskAccess {
    /// Firely's rule: `$davinci-data-export` reads Group, Patient, Coverage and the opt-out
    /// Consents besides the exported types; the `$export` alias needs the exported types only.
    public static func requiredReads(_ request: ExportRequest) -> [ResourceType] {
        let needed = request.operation == .davinciDataExport ? ATRTypes.readByEveryExport + request.types : request.types
        var seen = Set<ResourceType>()
        return needed.filter { seen.insert($0).inserted }
    }
}
