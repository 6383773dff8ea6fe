import ExportDomain
import ExportEngine
import Storage

/// The export engine reads the scheduler's snapshot connection (`beginSnapshot`).
extension Database: ExportSource {
    public func group(_ key: ResourceKey) throws -> ResourceBlob? {
        try currentResourceBlob(key)
    }
}

extension ResourceBlob: GroupBytes {
    public var readFailure: Error? { failure }
}
