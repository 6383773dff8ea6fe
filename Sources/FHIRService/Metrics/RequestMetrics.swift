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
        let key = RouteStatus(route: route, status: status)
        let counter = counters[key] ?? metrics.requestCounter(route: route, status: status)
        if counters[key] == nil { counters[key] = counter }
        counter.increment()
        let histogram = durations[route] ?? metrics.requestDurations(route: route)
        if durations[route] == nil { durations[route] = histogram }
        histogram.record(duration)
        if route == MetricsRoute.tokenEndpoint { metrics.recordToken(issued: status == 200) }
    }
}
