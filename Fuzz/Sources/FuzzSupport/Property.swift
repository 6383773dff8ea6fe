/// A property every input must keep. Breaking it traps, so libFuzzer saves the input that did it
/// as a crash, the same as a memory error.
public func require(
    _ holds: Bool, _ property: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line
) {
    if !holds { fatalError("property broken: \(property())", file: file, line: line) }
}
