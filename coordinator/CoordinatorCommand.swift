import ArgumentParser
import FedAttnCommandLine

/// `fedattn-coordinator`: runs a federation. Lists the subcommands and nothing else.
@main
struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fedattn-coordinator",
        abstract: "Coordinate a federation of silos training the FedAttention click model.",
        version: BuildVersion.line("fedattn-coordinator"),
        subcommands: [
            Serve.self, Simulate.self, Provision.self, Sign.self, Renew.self, Remove.self, History.self, Report.self, Privacy.self, Bench.self,
            IdleBench.self,
        ]
    )
}
