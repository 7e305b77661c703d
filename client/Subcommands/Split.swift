import ArgumentParser

extension ClientCommand {
    struct Split: AsyncParsableCommand {
        func run() async throws {}
    }
}
