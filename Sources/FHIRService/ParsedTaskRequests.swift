import ExportDomain

/// The parsed kick-off requests of tasks, which every status poll and file download checks
/// access against. A task's request never changes, but it is kept with its text and used only
/// while the stored text is the same, so a reused id can never be answered with another task's
/// request. One per FHIRService, that is per worker thread: no lock.
final class ParsedTaskRequests {
    private var requests: [String: (text: [UInt8], request: ExportRequest)] = [:]
    private let capacity: Int

    init(capacity: Int = 256) {
        self.capacity = capacity
    }

    func request(taskId: String, text: [UInt8]) throws -> ExportRequest {
        if let cached = requests[taskId], cached.text == text { return cached.request }
        let request = try ExportRequest(json: try JSONParser.parse(text))
        if requests.count >= capacity { requests.removeAll(keepingCapacity: true) }
        requests[taskId] = (text, request)
        return request
    }
}
