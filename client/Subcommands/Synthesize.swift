import ArgumentParser

extension ClientCommand {
    struct Synthesize: AsyncParsableCommand {
        func run() async throws {}
    }
}
