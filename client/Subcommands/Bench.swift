import ArgumentParser

extension ClientCommand {
    struct Bench: AsyncParsableCommand {
        func run() async throws {}
    }
}
