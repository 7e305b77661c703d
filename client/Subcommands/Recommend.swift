import ArgumentParser

extension ClientCommand {
    struct Recommend: AsyncParsableCommand {
        func run() async throws {}
    }
}
