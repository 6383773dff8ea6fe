import CFastCGI
import ExportDomain
import FHIRService
import Foundation
import Logging
import Runtime

/// The libfcgi accept loop: several threads accept on one listening socket, each with its own
/// `FCGX_Request` and its own database connection.
enum FastCGIServer {
    static var standardInputIsFastCGISocket: Bool {
        FCGX_IsCGI() == 0
    }

    static func serve(socketPath: String, settings: Settings, security: SecurityContext, logger: Logger) {
        let directory = (socketPath as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        // FCGX_OpenSocket removes a stale socket file left by a crash.
        let descriptor = FCGX_OpenSocket(socketPath, 128)
        guard descriptor >= 0 else { fail("cannot listen on \(socketPath)", logger) }
        // nginx workers share our group in the dev stack; in production systemd's socket unit sets the mode.
        chmod(socketPath, 0o660)
        serve(listenDescriptor: descriptor, settings: settings, security: security, logger: logger)
    }

    static func serve(listenDescriptor: Int32, settings: Settings, security: SecurityContext, logger: Logger) -> Never {
        guard FCGX_Init() == 0 else { fail("FCGX_Init failed", logger) }
        let stopping = installShutdownHandlers(listenDescriptor: listenDescriptor, logger: logger)
        let workers = DispatchGroup()
        for index in 0..<settings.fastCGIThreads {
            workers.enter()
            let thread = Thread {
                acceptLoop(listenDescriptor: listenDescriptor, settings: settings, security: security, logger: logger)
                workers.leave()
            }
            thread.name = "fcgi-\(index)"
            thread.start()
        }
        logger.info("atr-fcgi ready", metadata: ["threads": "\(settings.fastCGIThreads)", "base": "\(settings.publicBaseURL)"])
        workers.wait()
        logger.info("atr-fcgi stopped", metadata: ["signal": "\(stopping.received)"])
        exit(0)
    }

    private static func acceptLoop(listenDescriptor: Int32, settings: Settings, security: SecurityContext, logger: Logger) {
        let service: FHIRService
        do {
            service = FHIRService(settings: settings, database: try ConfigurationLoader.openDatabase(settings), security: security, logger: logger)
        } catch {
            fail("cannot open the database \(settings.databaseDescription): \(error)", logger)
        }
        var request = FCGX_Request()
        guard FCGX_InitRequest(&request, listenDescriptor, 0) == 0 else { fail("FCGX_InitRequest failed", logger) }
        let closesAtOnce = listensOnLocalSocket(listenDescriptor)
        while FCGX_Accept_r(&request) >= 0 {
            let parameters = readParameters(request.envp)
            let response: HTTPResponse
            var inputRead = false
            switch RequestAdapter.contentLength(parameters, limit: settings.requestBodyLimit) {
            case .success(let length):
                let body = readBody(request.in, length: length)
                inputRead = body.count == length && FCGX_GetChar(request.in) == -1
                response = service.handle(RequestAdapter.request(parameters: parameters, body: body))
            case .failure(let error):
                response = ErrorResponder.response(for: error, logger: logger)
            }
            let bytes = RequestAdapter.serialize(response)
            bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { chars in
                    _ = FCGX_PutStr(chars.baseAddress, Int32(chars.count), request.out)
                }
            }
            // libfcgi's close waits for nginx to close first, so that unread input cannot
            // reset a TCP connection and lose the answer; on a unix socket with nothing left
            // unread there is nothing to lose, and the wait was a sleep and wake-up per request
            // (status-poll profile, README "Performance"). Only for a connection closed after
            // the request: libfcgi forgets `detached` when it closes the connection.
            if closesAtOnce && inputRead && request.keepConnection == 0 { FCGX_Detach(&request) }
            FCGX_Finish_r(&request)
        }
        FCGX_Free(&request, 1)
    }

    private static func listensOnLocalSocket(_ descriptor: Int32) -> Bool {
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return named == 0 && Int32(address.ss_family) == AF_UNIX
    }

    private static func readParameters(_ environment: FCGX_ParamArray?) -> [String: String] {
        var parameters: [String: String] = [:]
        guard var cursor = environment else { return parameters }
        while let entry = cursor.pointee {
            // Split at the first '=' on the C string (Character-level String search showed in
            // status-poll profiles: nginx sends some 30 parameters per request).
            if let equals = strchr(entry, Int32(UInt8(ascii: "="))) {
                let name = String(decoding: UnsafeRawBufferPointer(start: entry, count: equals - entry), as: UTF8.self)
                // nginx may send a parameter twice; the first one wins, as FCGX_GetParam does.
                if parameters[name] == nil { parameters[name] = String(cString: equals + 1) }
            }
            cursor += 1
        }
        return parameters
    }

    private static func readBody(_ stream: UnsafeMutablePointer<FCGX_Stream>?, length: Int) -> [UInt8] {
        guard length > 0 else { return [] }
        var body = [UInt8](repeating: 0, count: length)
        var filled = 0
        body.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                while filled < length {
                    let read = FCGX_GetStr(chars.baseAddress! + filled, Int32(min(length - filled, 1 << 20)), stream)
                    if read <= 0 { break }
                    filled += Int(read)
                }
            }
        }
        return filled == length ? body : Array(body[..<filled])
    }

    final class ShutdownState: @unchecked Sendable {
        private let lock = NSLock()
        private var signal: Int32 = 0
        var received: Int32 { lock.withLock { signal } }
        func record(_ value: Int32) { lock.withLock { signal = value } }
    }

    /// libfcgi's own SIGTERM handler only sets a flag that blocked accepts never see. Instead:
    /// on SIGTERM/SIGINT, mark shutdown and shut the listening socket down, which wakes every
    /// accept; requests in flight finish, then the threads return.
    private static func installShutdownHandlers(listenDescriptor: Int32, logger: Logger) -> ShutdownState {
        let state = ShutdownState()
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                state.record(signalNumber)
                FCGX_ShutdownPending()
                shutdown(listenDescriptor, Int32(SHUT_RDWR))
            }
            source.resume()
            SignalSources.keep(source)
        }
        return state
    }

    static func fail(_ message: String, _ logger: Logger) -> Never {
        logger.critical("\(message)")
        exit(1)
    }
}

/// Keeps the signal sources alive for the life of the process.
enum SignalSources {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    static func keep(_ source: DispatchSourceSignal) { sources.append(source) }
}
