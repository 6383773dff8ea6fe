import Prometheus

/// One worker thread's handles on the request counters and histograms: a request is counted
/// without taking the registry's lock and building its label arrays, which the FastCGI threads
/// queued on (status-poll profile, README "Performance"). Owned by one `FHIRService`, so by
/// one thread; the counters themselves are the registry's, shared by every thread.
final class RequestMetrics {
    private struct RouteStatus: Hashable {
        let route: String
        let status: Int
    }

    private let metrics: ServiceMetrics
    private var counters: [RouteStatus: Counter] = [:]
    private var durations: [String: DurationHistogram] = [:]

    init(_ metrics: ServiceMetrics) {
        self.metrics = metrics
    }

    func record(route: String, status: Int, duration: Duration) {
        Self.handle(&counters, RouteStatus(route: route, status: status)) {
            metrics.requestCounter(route: route, status: status)
        }.increment()
        Self.handle(&durations, route) { metrics.requestDurations(route: route) }.record(duration)
        if route == MetricsRoute.tokenEndpoint { metrics.recordToken(issued: status == 200) }
    }

    /// The cached handle (one lookup), or a new one, stored.
    private static func handle<Key: Hashable, Handle>(_ cache: inout [Key: Handle], _ key: Key, _ make: () -> Handle) -> Handle {
        if let cached = cache[key] { return cached }
        let made = make()
        cache[key] = made
        return made
    }
}
