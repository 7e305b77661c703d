import FedAttnModel
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

    /// A model file from outside whose metadata asks for a history of 10^11 items (which once
    /// aborted both commands, failing to allocate 400 GB) is an error naming the file and the
    /// field, in `evaluate` and `recommend` alike.
    @Test func aModelFileWithAnOversizedHistoryIsAnErrorNotAnAbort() throws {
        let model = (try Fixtures.temporaryFolder() as NSString).appendingPathComponent("outside.safetensors")
        try ModelFile.save(try AttentionModel(config: Fixtures.tinyConfig, seed: 1), to: model)
        // The header's metadata rewritten: "history_length":"4" becomes 10^11.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: model)))
        let length = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
        let patched = header.replacingOccurrences(of: #""history_length":"4""#, with: #""history_length":"100000000000""#)
        try #require(patched != header, "\(header)")
        let prefix = withUnsafeBytes(of: UInt64(patched.utf8.count).littleEndian) { [UInt8]($0) }
        bytes = prefix + Array(patched.utf8) + Array(bytes[(8 + length)...])
        try Data(bytes).write(to: URL(fileURLWithPath: model))
        let data = try Fixtures.writeTemporaryFile("silo.csv", "user_id,item_id,timestamp,label\nu1,1,10,1\nu1,2,11,0\n")
        for command in [["evaluate"], ["recommend", "--user", "u1"]] {
            let result = try ProcessRunner.run(Self.client, command + ["--model", model, "--data", data])
            #expect(result.status != 0)
            #expect(
                result.standardError.contains(
                    "\(model): not a usable safetensors file: invalid model configuration: history_length must be in 0...10000, got 100000000000"),
                "\(result.standardError)")
            #expect(!result.standardError.contains("Fatal error") && !result.standardError.contains("failed to allocate"))
        }
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
        // Ranking over the whole catalogue, and the most popular items beside the model.
        #expect(evaluated["recall_at_20"] as? Double != nil && evaluated["ndcg_at_20"] as? Double != nil)
        let popular = try #require(evaluated["popularity"] as? [String: Any])
        #expect(popular["hr_at_10"] as? Double != nil && popular["recall_at_20"] as? Double != nil)
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
        // A user the data does not know has no history to attend over: the most popular items.
        let unknown = try json(try run("recommend", "--model", model, "--data", data, "--user", "nobody", "--k", "3", "--json"))
        #expect(unknown["popular"] as? Bool == true && (unknown["items"] as? [[String: Any]])?.count == 3)
    }

    @Test func recommendAllWritesEveryUsersListInOnePass() throws {
        let data = try silos()
        let folder = try Fixtures.temporaryFolder()
        let model = folder + "/m.safetensors"
        #expect(try run("train", "--data", data, "--items", "catalogue:300", "--strategies", "3", "--epochs", "1", "--out", model).status == 0)
        let names = try Fixtures.writeTemporaryFile(
            "names.csv", "item_id,name\n" + (1...300).map { "\($0),\"Item \($0), boxed\"" }.joined(separator: "\n"))
        let banned = try Fixtures.writeTemporaryFile("banned.txt", "5\n7\n")
        let all = try run(
            "recommend", "--model", model, "--data", data, "--all", "--k", "5", "--out", folder + "/all.csv", "--item-names", names,
            "--exclude", banned, "--threads", "2")
        try #require(all.status == 0, "\(all.standardError)")
        #expect(all.standardError.contains("users/s"))
        let lines = try String(contentsOfFile: folder + "/all.csv", encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "user,rank,item,score,name")
        // The users of the three silos, five items each, none banned, none already the user's.
        var seen: [String: Set<String>] = [:]
        for file in ["silo-00.csv", "silo-01.csv", "silo-02.csv"] {
            for row in try String(contentsOfFile: data + "/" + file, encoding: .utf8).split(separator: "\n").dropFirst() {
                let fields = row.split(separator: ",")
                seen[String(fields[0]), default: []].insert(String(fields[1]))
            }
        }
        #expect(lines.count - 1 == 5 * seen.count)
        var firstItem: [String: String] = [:]
        for line in lines.dropFirst() {
            // user,rank,item,score,"Item N, boxed"
            let fields = line.split(separator: ",", maxSplits: 4).map(String.init)
            #expect(fields[2] != "5" && fields[2] != "7")
            #expect(!(seen[fields[0]]?.contains(fields[2]) ?? true), "\(fields[0]) already has \(fields[2])")
            #expect(fields[4] == "\"Item \(fields[2]), boxed\"")
            if fields[1] == "1" { firstItem[fields[0]] = fields[2] }
        }
        #expect(firstItem.count == seen.count)
        // JSON lines for a .jsonl file; diversity re-ranks the lists but keeps each user's best item first.
        let diverse = try run(
            "recommend", "--model", model, "--data", data, "--all", "--k", "5", "--out", folder + "/diverse.jsonl", "--diversity", "0.7")
        try #require(diverse.status == 0, "\(diverse.standardError)")
        let objects = try String(contentsOfFile: folder + "/diverse.jsonl", encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(objects.count == 5 * seen.count)
        var diverseFirst: [String: String] = [:], differs = 0
        let plain = Dictionary(grouping: lines.dropFirst().map { $0.split(separator: ",", maxSplits: 4).map(String.init) }, by: { $0[0] })
        for object in objects where object["rank"] as? Int == 1 { diverseFirst[object["user"] as! String] = object["item"] as? String }
        for (user, list) in Dictionary(grouping: objects, by: { $0["user"] as! String }) {
            let items = Set(list.compactMap { $0["item"] as? String })
            if items != Set((plain[user] ?? []).map { $0[2] }) { differs += 1 }
        }
        // (Item 5 and 7 are not excluded here, so a first item may differ only by them.)
        #expect(diverseFirst.filter { $0.value != firstItem[$0.key] && !["5", "7"].contains($0.value) }.isEmpty)
        #expect(differs > seen.count / 4, "diversity changed \(differs) of \(seen.count) lists")
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
