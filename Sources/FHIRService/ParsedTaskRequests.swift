import ExportDomain

/// The parsed kick-off requests of tasks, which every status poll and file download checks
/// access against. A task's request never changes, but it is kept with its text and used only
/// while the stored text is the same, so a reused id can never be answered with another task's
/// request. At most `capacity` tasks and `byteBudget` bytes of request text are kept (a
/// request naming many `patient`s is large, and its parsed form about as large again); a
/// bigger request is parsed on every use. One per FHIRService, that is per worker thread: no
/// lock.
final class ParsedTaskRequests {
    private var requests: [String: (text: [UInt8], request: ExportRequest)] = [:]
    /// Bytes of request text held now.
    private(set) var heldBytes = 0
    private let capacity: Int
    private let byteBudget: Int

    init(capacity: Int = 256, byteBudget: Int = 2 << 20) {
        self.capacity = capacity
        self.byteBudget = byteBudget
    }

    func request(taskId: String, text: [UInt8]) throws -> ExportRequest {
        if let cached = requests[taskId], cached.text == text { return cached.request }
        let request = try ExportRequest(json: try JSONParser.parse(text))
        guard text.count <= byteBudget else { return request }
        if let replaced = requests.removeValue(forKey: taskId) { heldBytes -= replaced.text.count }
        if requests.count >= capacity || heldBytes + text.count > byteBudget {
            requests.removeAll(keepingCapacity: true)
            heldBytes = 0
        }
        requests[taskId] = (text, request)
        heldBytes += text.count
        return request
    }
}
