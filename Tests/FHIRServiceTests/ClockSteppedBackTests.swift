import ExportDomain
import Foundation
import Runtime
import Storage
import XCTest

/// The system clock stepped back must not bring back what had expired: every process goes by
/// `NonDecreasingClock`, and a lease renewal never moves an expiry earlier.
final class ClockSteppedBackTests: XCTestCase {
    private let t0: Int64 = 1_795_708_504_123

    private final class Wall: @unchecked Sendable {
        var milliseconds: Int64 = 0
        func now() -> FHIRInstant { FHIRInstant(millisecondsSinceEpoch: milliseconds) }
    }

    func testTheClockNeverAnswersEarlierThanBefore() {
        let wall = Wall()
        wall.milliseconds = t0
        let clock = NonDecreasingClock(wall: wall.now)
        XCTAssertEqual(clock.now().millisecondsSinceEpoch, t0)
        wall.milliseconds = t0 - 3_600_000
        XCTAssertEqual(clock.now().millisecondsSinceEpoch, t0, "stepped back an hour")
        wall.milliseconds = t0 + 1
        XCTAssertEqual(clock.now().millisecondsSinceEpoch, t0 + 1)
    }

    func testAnExpiredAccessTokenStaysExpired() throws {
        let signer = try AccessTokenSigner(privateKeyPEM: AccessTokenSigner.generatePrivateKeyPEM(), kid: "k")
        let verifier = AccessTokenVerifier(keys: [signer.publicKey], issuer: "https://a.example/auth",
                                           audience: "https://a.example/fhir", leewaySeconds: 0)
        let wall = Wall()
        wall.milliseconds = t0
        let clock = NonDecreasingClock(wall: wall.now)
        let token = try signer.issue(clientId: "c", scope: "system/Patient.read", groups: ["g"], issuer: "https://a.example/auth",
                                     audience: "https://a.example/fhir", now: clock.now(), lifetimeSeconds: 60, jti: "j")
        wall.milliseconds = t0 + 61_000
        XCTAssertThrowsError(try verifier.verify(token, now: clock.now()))
        wall.milliseconds = t0 + 10_000
        XCTAssertThrowsError(try verifier.verify(token, now: clock.now()), "valid again after the clock stepped back")
    }

    func testASignedLinkNeverExpiresEarlierThanOneSignedBefore() {
        let wall = Wall()
        wall.milliseconds = t0
        let clock = NonDecreasingClock(wall: wall.now)
        let signer = FileURLSigner(secret: "s", lifetimeSeconds: 3600, origin: "https://a.example")
        let first = signer.signedURL(taskId: "t", file: "contentPatient.ndjson", now: clock.now())
        wall.milliseconds = t0 - 7_200_000
        XCTAssertEqual(signer.signedURL(taskId: "t", file: "contentPatient.ndjson", now: clock.now()), first)
    }

    private func database() throws -> Database {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atr-clock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let database = try Database(path: directory.appendingPathComponent("atr.sqlite").path, busyTimeoutMilliseconds: 10000,
                                    baseURL: "https://localhost:8443/fhir")
        try database.migrate()
        try database.writeTransaction {
            try database.createTask(id: "task-1", clientId: nil, request: Array("{}".utf8), now: FHIRInstant(millisecondsSinceEpoch: t0))
        }
        return database
    }

    private func claim(_ database: Database, _ owner: String, at milliseconds: Int64) throws -> TaskLease? {
        try database.claimTask(owner: owner, nowMilliseconds: milliseconds, leaseMilliseconds: 60_000, retryLimit: 3) { _, _ in
            XCTFail("gave up")
            return ([], AuditRecord.sample)
        }
    }

    func testARenewalByAClockSteppedBackNeverShortensTheLease() throws {
        let database = try database()
        let lease = try XCTUnwrap(try claim(database, "a", at: t0))
        XCTAssertTrue(try database.renewLease(lease, nowMilliseconds: t0 - 30_000, leaseMilliseconds: 60_000, progress: "p"))
        XCTAssertNil(try claim(database, "b", at: t0 + 45_000), "the lease runs until t0 + 60 s")
        XCTAssertEqual(try claim(database, "b", at: t0 + 60_001)?.owner, "b")
    }

    func testALeaseTakenOverIsNotRenewedByItsOldHolderWhateverItsClock() throws {
        let database = try database()
        let lapsed = try XCTUnwrap(try claim(database, "a", at: t0))
        XCTAssertEqual(try claim(database, "b", at: t0 + 60_001)?.attempt, 2)
        XCTAssertFalse(try database.renewLease(lapsed, nowMilliseconds: t0, leaseMilliseconds: 60_000, progress: "p"))
        XCTAssertFalse(try database.completeTask(lapsed, manifest: [], nowMilliseconds: t0, audit: AuditRecord.sample))
    }
}
