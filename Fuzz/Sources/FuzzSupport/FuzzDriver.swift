import CLibFuzzer
#if canImport(Glibc)
import Glibc
#endif

/// Runs libFuzzer over one target. SwiftPM renames an executable's `main` so that tests can link
/// it, which leaves libFuzzer's own `main` out; each target therefore has an `@main` that hands
/// libFuzzer its arguments and the function to fuzz.
public enum FuzzDriver {
    nonisolated(unsafe) fileprivate static var target: ((FuzzInput) -> Void)?

    public static func run(_ target: @escaping (FuzzInput) -> Void) -> Never {
        self.target = target
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput))
    }
}

/// What libFuzzer calls with each input.
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let target = FuzzDriver.target else { fatalError("the fuzz target's main did not run") }
    target(FuzzInput(data, size))
    return 0
}
