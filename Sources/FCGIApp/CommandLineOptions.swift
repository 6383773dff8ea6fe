import Foundation

/// The two options of atr-fcgi. Kept tiny on purpose: the binary also runs as a CGI
/// program, where the web server passes no arguments.
struct CommandLineOptions {
    var socketPath: String?
    var threads: Int?

    static func parse(_ arguments: [String]) -> CommandLineOptions {
        var options = CommandLineOptions()
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--socket":
                guard let path = iterator.next() else { usage("--socket needs a path") }
                options.socketPath = path
            case "--threads":
                guard let value = iterator.next().flatMap(Int.init), (1...256).contains(value) else {
                    usage("--threads needs a number from 1 to 256")
                }
                options.threads = value
            case "--help", "-h":
                print(helpText)
                exit(0)
            default:
                usage("unknown argument '\(argument)'")
            }
        }
        return options
    }

    static let helpText = """
    usage: atr-fcgi [--socket PATH] [--threads N]
      --socket PATH  listen for FastCGI on this unix socket (otherwise on fd 0 when it is a
                     socket, as spawn-fcgi and systemd socket activation pass it; otherwise
                     answer one request as a CGI program)
      --threads N    worker threads (default FastCGI.Threads from the configuration)
    """

    static func usage(_ message: String) -> Never {
        FileHandle.standardError.write(Data("atr-fcgi: \(message)\n\(helpText)\n".utf8))
        exit(64)
    }
}
