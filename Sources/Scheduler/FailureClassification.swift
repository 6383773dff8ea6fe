import ExportDomain
import ExportEngine
import Foundation
import Runtime
import Storage

extension ExportFailureReason {
    /// What the client is told about an error that ended its export. The error itself, with
    /// paths, errno and SQLite codes, is logged by the caller and never reaches the client.
    init(classifying error: Error) {
        switch error {
        case let failure as ExportFailure:
            self = failure.reason
        case let error as FileSystemError:
            self = error.isDiskFull ? .diskFull : .taskFilesUnwritable
        case let error as StorageError:
            self = error.isDiskFull ? .diskFull : .storageUnavailable
        case let error as CocoaError where error.code == .fileWriteOutOfSpace:
            self = .diskFull
        case let error as CocoaError where (CocoaError.Code.fileWriteUnknown.rawValue..<1024).contains(error.code.rawValue):
            self = .taskFilesUnwritable
        default:
            self = .internalError
        }
    }
}
