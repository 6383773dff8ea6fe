import ExportDomain
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging

/// Fetches JWKS documents by URL (clients registered with `--jwks-url`, an external token
/// issuer) with a timeout, and caches each for its `Cache-Control: max-age` (default 5 minutes).
final class JWKSFetcher: @unchecked Sendable {
    struct FetchError: Error, CustomStringConvertible {
        var description: String
    }

    private let timeout: TimeInterval
    private let logger: Logger
    private let lock = NSLock()
    private var cache: [String: (keys: [JWK], expires: Date)] = [:]

    init(timeoutMilliseconds: Int, logger: Logger) {
        timeout = Double(timeoutMilliseconds) / 1000
        self.logger = logger
    }

    func keys(url: String) throws -> [JWK] {
        if let cached = lock.withLock({ cache[url] }), cached.expires > Date() { return cached.keys }
        guard let target = URL(string: url), target.scheme == "https" || target.scheme == "http" else {
            throw FetchError(description: "'\(url)' is not an http(s) URL")
        }
        var request = URLRequest(url: target, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        let result = Self.fetch(request, timeout: timeout)
        guard case .success(let (data, response)) = result else {
            if case .failure(let error) = result { logger.warning("JWKS fetch failed", metadata: ["url": "\(url)", "error": "\(error)"]) }
            throw FetchError(description: "cannot fetch the JWKS at \(url)")
        }
        guard (200..<300).contains(response.statusCode), data.count < 1 << 20 else {
            throw FetchError(description: "the JWKS at \(url) answered \(response.statusCode)")
        }
        let keys = try JWKSet(json: try JSONParser.parse(Array(data))).keys
        let maxAge = Self.maxAge(response.value(forHTTPHeaderField: "Cache-Control")) ?? 300
        lock.withLock { cache[url] = (keys, Date().addingTimeInterval(TimeInterval(maxAge))) }
        return keys
    }

    static func maxAge(_ cacheControl: String?) -> Int? {
        guard let cacheControl else { return nil }
        for directive in cacheControl.lowercased().split(separator: ",") {
            let trimmed = directive.trimmingCharacters(in: .whitespaces)
            if trimmed == "no-store" || trimmed == "no-cache" { return 0 }
            if trimmed.hasPrefix("max-age="), let seconds = Int(trimmed.dropFirst(8)) { return min(seconds, 86400) }
        }
        return nil
    }

    /// A synchronous request from a FastCGI worker thread (no event loop there).
    private static func fetch(_ request: URLRequest, timeout: TimeInterval) -> Result<(Data, HTTPURLResponse), Error> {
        final class Box: @unchecked Sendable { var result: Result<(Data, HTTPURLResponse), Error> = .failure(FetchError(description: "timed out")) }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let task = URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                box.result = .failure(error)
            } else if let data, let response = response as? HTTPURLResponse {
                box.result = .success((data, response))
            }
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + timeout + 1) == .timedOut { task.cancel() }
        return box.result
    }
}
