import ArgumentParser

extension ClientCommand {
    struct Evaluate: AsyncParsableCommand {
        func run() async throws {}
    }
}
