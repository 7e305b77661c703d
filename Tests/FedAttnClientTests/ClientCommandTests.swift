import Foundation
import Testing
import _FedAttnTestSupport

/// Runs the built `fedattn-client` the way a user would and checks what they see.
struct ClientCommandTests {
    /// The executable sits beside the test bundle in the build folder.
    static let client = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("fedattn-client").path

    func run(_ arguments: String...) throws -> ProcessResult {
        try ProcessRunner.run(Self.client, arguments)
    }

    func json(_ result: ProcessResult) throws -> [String: Any] {
        try #require(result.status == 0, "exit \(result.status): \(result.standardError)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
    }

    /// Small synthetic silos written by the `synthesize` command itself.
    func silos() throws -> String {
        let folder = try Fixtures.temporaryFolder()
        let result = try run("synthesize", "--out", folder, "--silos", "3", "--users", "300", "--items", "300", "--topics", "6", "--seed", "5")
        try #require(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("silo-02.csv"))
        return folder
    }

    @Test func helpListsEverySubcommand() throws {
        let help = try run("--help").standardOutput
        for name in ["train", "evaluate", "recommend", "bench", "synthesize", "split"] {
            #expect(help.contains("  \(name)"), "help lacks \(name)")
        }
    }

    @Test func trainReportsJSONAndSavesAModelThatEvaluateScoresTheSame() throws {
        let data = try silos()
        let model = (try Fixtures.temporaryFolder() as NSString).appendingPathComponent("m.safetensors")
        let trained = try json(
            try run("train", "--data", data, "--items", "catalogue:300", "--strategies", "3", "--epochs", "2", "--out", model, "--json"))
        for key in ["test_auc", "test_logloss", "train_examples", "seconds"] { #expect(trained[key] != nil, "missing \(key)") }
        let auc = try #require(trained["test_auc"] as? Double)
        #expect(auc > 0.6)
        let evaluated = try json(try run("evaluate", "--model", model, "--data", data, "--json"))
        #expect(evaluated["test_auc"] as? Double == auc)
    }

    @Test func trainPrintsAReadableTableAndProgress() throws {
        let result = try run("train", "--data", try silos(), "--items", "catalogue:300", "--strategies", "3", "--epochs", "1")
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("test AUC"))
        #expect(result.standardOutput.contains("training examples/s"))
        #expect(result.standardError.contains("epoch 1/1"))
    }

    @Test func aMalformedRowStopsTrainingWithItsFileAndLine() throws {
        let path = try Fixtures.writeTemporaryFile("silo.csv", "user_id,item_id,timestamp,label\nu1,1,10,1\nu1,2,eleven,0\nu1,3,12,1\nu1,4,13,0\n")
        let result = try run("train", "--data", path, "--epochs", "1")
        #expect(result.status != 0)
        #expect(result.standardError.contains("\(path):3: timestamp 'eleven' is neither seconds since 1970"))
        let skipped = try json(try run("train", "--data", path, "--epochs", "1", "--skip-malformed", "--json"))
        #expect(skipped["skipped_rows"] as? Int == 1)
        #expect(skipped["train_examples"] as? Int == 2)
        let onlyTest = try Fixtures.writeTemporaryFile("one.csv", "user_id,item_id,timestamp,label\nu1,1,10,1\nu2,2,11,0\n")
        let none = try run("train", "--data", onlyTest, "--epochs", "1")
        #expect(none.standardError.contains("\(onlyTest): no training examples: its 2 rows from 2 users all fall in the per-user test split"))
    }

    @Test func recommendRanksUnseenItemsBestFirst() throws {
        let data = try silos()
        let model = (try Fixtures.temporaryFolder() as NSString).appendingPathComponent("m.safetensors")
        #expect(try run("train", "--data", data, "--items", "catalogue:300", "--strategies", "3", "--epochs", "1", "--out", model).status == 0)
        let result = try json(try run("recommend", "--model", model, "--data", data, "--user", "u000001", "--k", "7", "--json"))
        let items = try #require(result["items"] as? [[String: Any]])
        #expect(items.count == 7)
        let scores = items.compactMap { $0["score"] as? Double }
        #expect(scores == scores.sorted(by: >))
        // None of them is an item the user already has.
        let log =
            try String(contentsOfFile: data + "/silo-00.csv", encoding: .utf8) + (try String(contentsOfFile: data + "/silo-01.csv", encoding: .utf8))
            + (try String(contentsOfFile: data + "/silo-02.csv", encoding: .utf8))
        let seen = Set(log.split(separator: "\n").filter { $0.hasPrefix("u000001,") }.map { String($0.split(separator: ",")[1]) })
        #expect(!seen.isEmpty)
        #expect(items.allSatisfy { !seen.contains($0["item"] as! String) })
        let unknown = try run("recommend", "--model", model, "--data", data, "--user", "nobody")
        #expect(unknown.status != 0 && unknown.standardError.contains("user 'nobody' does not appear in the data"))
    }

    @Test func benchReportsThroughputAndPeakMemory() throws {
        let result = try json(
            try run("bench", "--data", try silos(), "--items", "catalogue:300", "--strategies", "3", "--epochs", "2", "--threads", "2", "--json"))
        #expect((result["examples_per_second"] as? Double ?? 0) > 0)
        #expect(result["threads"] as? Int == 2)
        #expect((result["peak_rss_bytes"] as? Int ?? 0) > 1_000_000)
    }

    @Test func splitPartitionsALogByUser() throws {
        let source = try silos() + "/silo-00.csv"
        let out = try Fixtures.temporaryFolder()
        let result = try run("split", "--data", source, "--out", out, "--silos", "4", "--scheme", "dirichlet:0.5", "--seed", "3")
        #expect(result.status == 0, "\(result.standardError)")
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(files == ["silo-00.csv", "silo-01.csv", "silo-02.csv", "silo-03.csv"])
        var owners: [String: String] = [:]
        var rows = 0
        for file in files {
            for line in try String(contentsOfFile: out + "/" + file, encoding: .utf8).split(separator: "\n").dropFirst() {
                let user = String(line.split(separator: ",")[0])
                #expect(owners[user, default: file] == file, "user \(user) is in two silos")
                owners[user] = file
                rows += 1
            }
        }
        #expect(rows == (try String(contentsOfFile: source, encoding: .utf8)).split(separator: "\n").count - 1)
    }
}
