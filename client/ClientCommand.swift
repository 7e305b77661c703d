import ArgumentParser
import FedAttnCommandLine

/// `fedattn-client`: what runs inside a silo. Lists the subcommands and nothing else.
@main
struct ClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fedattn-client",
        abstract: "Train, evaluate and use the FedAttention click model on one silo's private data.",
        version: BuildVersion.line("fedattn-client", protocols: BuildVersion.clientProtocols),
        subcommands: [Train.self, Evaluate.self, Recommend.self, Bench.self, Synthesize.self, Split.self, RequestCertificate.self, Join.self]
    )
}
