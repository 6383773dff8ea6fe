import XCTest
@testable import ExportDomain

final class FileDownloadPathTests: XCTestCase {
    func testTheSignedPathNamesItsTaskAndFile() {
        let path = FileURLSigner.path(taskId: "a1b2-task", file: "Patient-2.ndjson")
        XCTAssertEqual(FileDownloadPath(path)?.taskId, "a1b2-task")
        XCTAssertEqual(FileDownloadPath(path)?.file, "Patient-2.ndjson")
    }

    func testOtherPathsNameNoFile() {
        for path in ["", "/files/t1", "/files/t1/a/b", "files/t1/a", "/other/t1/a", "/files/../a",
                     "/files/t1/..", "/files/./a", "/files/t1/Patient%2Endjson", "//files/t1/a"] {
            XCTAssertNil(FileDownloadPath(path), path)
        }
    }

    /// As characters, "/\u{301}" is one character and no separator; nginx splits by bytes and
    /// would serve another file than the one the segments name.
    func testASlashBeforeACombiningMarkStillSeparates() {
        XCTAssertNil(FileDownloadPath("/files/a/\u{301}/b"))
        XCTAssertEqual(FileDownloadPath("/files/a/\u{301}b")?.file, "\u{301}b")
    }
}
