import ExportDomain
import Foundation
import Prometheus
import Storage

/// The process's Prometheus registry and what is counted in it. atr-fcgi also makes it
/// swift-metrics' backend, so a library's swift-metrics figures land here too.
///
/// Counted as requests are answered: requests by route and status, their latency, tokens
/// issued and refused, bytes of the files handed out. Read from the database when scraped, so
/// every node reports the same: tasks by state, queue depth, the oldest queued task's age, and
/// the scheduler's figures from its audit records (exports finished by outcome, kick-off to
/// completion time, resources exported per type).
public final class ServiceMetrics: @unchecked Sendable {
    public static let processWide = ServiceMetrics()

    public let registry = PrometheusCollectorRegistry()
    private let trailLock = NSLock()
    /// The last audit record whose export figures are counted.
    private var trailCursor: Int64 = 0

    static let requestBuckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                             .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                             .milliseconds(2500), .seconds(5), .seconds(10)]
    static let exportBuckets: [Duration] = [.seconds(1), .seconds(5), .seconds(15), .seconds(30), .seconds(60), .seconds(120),
                                            .seconds(300), .seconds(600), .seconds(1800), .seconds(3600)]

    public init() {}

    /// The registry's counter of requests by route and status (`RequestMetrics` keeps it).
    func requestCounter(route: String, status: Int) -> Counter {
        registry.makeCounter(name: "atr_http_requests_total", labels: [("route", route), ("status", String(status))])
    }

    func requestDurations(route: String) -> DurationHistogram {
        registry.makeDurationHistogram(name: "atr_http_request_duration_seconds", labels: [("route", route)],
                                       buckets: Self.requestBuckets)
    }

    func recordToken(issued: Bool) {
        registry.makeCounter(name: "atr_tokens_total", labels: [("outcome", issued ? "issued" : "refused")]).increment()
    }

    func recordDownload(bytes: Int) {
        registry.makeCounter(name: "atr_file_download_bytes_total").increment(by: Int64(bytes))
    }

    /// The text exposition, after refreshing what is read from the database.
    func exposition(_ database: Database, now: FHIRInstant) throws -> [UInt8] {
        let summary = try database.queueSummary()
        for state in TaskState.allCases {
            registry.makeGauge(name: "atr_tasks", labels: [("state", state.rawValue)]).set(Double(summary.tasksByState[state] ?? 0))
        }
        registry.makeGauge(name: "atr_queue_depth").set(Double(summary.tasksByState[.queued] ?? 0))
        let oldestAge = summary.oldestQueuedAt.map { max(0, now.millisecondsSinceEpoch - $0.millisecondsSinceEpoch) } ?? 0
        registry.makeGauge(name: "atr_queue_oldest_age_seconds").set(Double(oldestAge) / 1000)
        try catchUpWithTheTrail(database)
        return registry.emitToBuffer()
    }

    /// Counts the export outcomes recorded since the last scrape (all of them at the first).
    private func catchUpWithTheTrail(_ database: Database) throws {
        try trailLock.withLock {
            while true {
                let outcomes = try database.exportOutcomes(after: trailCursor, limit: 5000)
                for outcome in outcomes {
                    registry.makeCounter(name: "atr_exports_total", labels: [("outcome", outcome.completed ? "complete" : "failed")]).increment()
                    if outcome.completed, let started = outcome.kickedOffAt {
                        let milliseconds = max(0, outcome.recorded.millisecondsSinceEpoch - started.millisecondsSinceEpoch)
                        registry.makeDurationHistogram(name: "atr_export_duration_seconds", buckets: Self.exportBuckets)
                            .record(.milliseconds(milliseconds))
                    }
                    for (type, count) in outcome.resourceCounts {
                        registry.makeCounter(name: "atr_export_resources_total", labels: [("type", type)]).increment(by: Int64(count))
                    }
                    trailCursor = outcome.id
                }
                if outcomes.count < 5000 { return }
            }
        }
    }
}
