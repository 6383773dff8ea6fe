/// Who holds a task's lease: host, process id and a random nonce, written as `host-pid-nonce`.
/// A scheduler that finds a lease held by a process of its own host that no longer runs takes
/// the task over at once instead of waiting for the lease to lapse; schedulers on other hosts
/// cannot tell, so they wait.
public struct LeaseOwner: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var pid: Int32
    public var nonce: UInt32

    public init(host: String, pid: Int32, nonce: UInt32) {
        self.host = host
        self.pid = pid
        self.nonce = nonce
    }

    /// The host part may itself contain `-`: the pid and nonce are the last two parts.
    public init?(parsing text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, let pid = Int32(parts[parts.count - 2]), pid > 0, let nonce = UInt32(parts[parts.count - 1]) else {
            return nil
        }
        host = parts.dropLast(2).joined(separator: "-")
        self.pid = pid
        self.nonce = nonce
        guard !host.isEmpty else { return nil }
    }

    public var description: String { "\(host)-\(pid)-\(nonce)" }
}
