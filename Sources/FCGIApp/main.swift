import FHIRService
import Foundation
import Logging
import Metrics
import Prometheus
import Runtime

// atr-fcgi [--socket PATH] [--threads N]
// FastCGI on PATH, or on fd 0 when a spawner or systemd hands over a listening socket;
// without either it serves one request as a plain CGI program.
let arguments = CommandLineOptions.parse(Array(CommandLine.arguments.dropFirst()))
var settings = ConfigurationLoader.loadOrExit(program: "atr-fcgi")
LogSetup.bootstrap(settings)
// swift-metrics figures (ours are recorded in the registry directly) land in the registry nginx's metrics listener reads.
MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: ServiceMetrics.processWide.registry))
if let threads = arguments.threads { settings.fastCGIThreads = threads }
ConfigurationLoader.openDatabaseOrExit(settings, program: "atr-fcgi")
let logger = Logger(label: "atr-fcgi")
let security: SecurityContext
do {
    security = try SecurityContext(settings: settings.smart, logger: logger)
} catch {
    FileHandle.standardError.write(Data("atr-fcgi: \(error)\n".utf8))
    exit(78)
}

if let socketPath = arguments.socketPath {
    FastCGIServer.serve(socketPath: socketPath, settings: settings, security: security, logger: logger)
} else if FastCGIServer.standardInputIsFastCGISocket {
    FastCGIServer.serve(listenDescriptor: 0, settings: settings, security: security, logger: logger)
} else {
    exit(CGIRunner.run(settings: settings, security: security, logger: logger))
}
