import FedAttnFederation
import Foundation
import Testing
import _FedAttnTestSupport

/// What an operator does around a run, with the built executables: asks which version runs,
/// points a client at the coordinator, names the silos, and stops a process the way a service
/// manager does. Every process started here is stopped here.
struct OperatorLifecycleTests {
    static let folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    static let coordinator = folder.appendingPathComponent("fedattn-coordinator").path
    static let client = folder.appendingPathComponent("fedattn-client").path

    /// Both executables say their release and the wire protocol they speak, the same line from
    /// the root command and from a subcommand (before its required options are asked for).
    @Test func bothExecutablesSayTheirVersionAndTheProtocolTheySpeak() throws {
        var releases: Set<String> = []
        for (path, name, subcommand) in [(Self.coordinator, "fedattn-coordinator", "serve"), (Self.client, "fedattn-client", "join")] {
            let root = try ProcessRunner.run(path, ["--version"])
            #expect(root.status == 0, "\(root.standardError)")
            let line = root.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(line.hasPrefix("\(name) "), "\(line)")
            #expect(line.hasSuffix("(wire protocol \(Coordinator.protocolVersion))"), "\(line)")
            releases.insert(String(line.dropFirst(name.count + 1).prefix { $0 != " " }))
            let sub = try ProcessRunner.run(path, [subcommand, "--version"])
            #expect(sub.status == 0 && sub.standardOutput == root.standardOutput, "\(sub.standardOutput)\(sub.standardError)")
        }
        #expect(releases.count == 1 && releases.first?.isEmpty == false, "\(releases)")
    }
}
