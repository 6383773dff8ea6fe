import ExportDomain
import FHIRService
import Foundation
import Logging
import Runtime

/// One request the CGI way: parameters in the environment, body on stdin, response on stdout.
enum CGIRunner {
    static func run(settings: Settings, security: SecurityContext, logger: Logger) -> Int32 {
        let parameters = ProcessInfo.processInfo.environment
        let response: HTTPResponse
        switch RequestAdapter.contentLength(parameters, limit: settings.requestBodyLimit) {
        case .success(let length):
            let body = length > 0 ? Array(FileHandle.standardInput.readData(ofLength: length)) : []
            do {
                let service = FHIRService(settings: settings, database: try ConfigurationLoader.openDatabase(settings), security: security, logger: logger)
                response = service.handle(RequestAdapter.request(parameters: parameters, body: body))
            } catch {
                response = ErrorResponder.response(for: error, logger: logger)
            }
        case .failure(let error):
            response = ErrorResponder.response(for: error, logger: logger)
        }
        FileHandle.standardOutput.write(Data(RequestAdapter.serialize(response)))
        return 0
    }
}
