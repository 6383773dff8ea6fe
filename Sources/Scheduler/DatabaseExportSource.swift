import ExportDomain
import ExportEngine
import Storage

/// The export engine reads the scheduler's snapshot connection (`beginSnapshot`).
extension Database: ExportSource {
    public func group(_ key: ResourceKey) throws -> ResourceBlob? {
        try currentResourceBlob(key)
    }

    public func group(_ key: ResourceKey, at instant: FHIRInstant) throws -> ResourceBlob? {
        try resourceBlob(key, currentBefore: instant)
    }
}

extension ResourceBlob: GroupBytes {
    public var readFailure: Error? { failure }
}
