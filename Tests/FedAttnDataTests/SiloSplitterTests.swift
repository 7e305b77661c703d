import FedAttnData
import FedAttnModel
import Foundation
import Testing
import _FedAttnTestSupport

struct SiloSplitterTests {
    static let log = SyntheticGenerator(config: Fixtures.syntheticData).generate()

    /// For each silo, the users whose rows it holds.
    func usersPerSilo(_ parts: [ClickLog]) -> [Set<String>] { parts.map { Set($0.userIDs) } }

    @Test func iidGivesEveryUserToExactlyOneSiloInEvenShares() {
        let parts = SiloSplitter(silos: 7, scheme: .iid, seed: 1).split(Self.log)
        let users = usersPerSilo(parts)
        #expect(users.map(\.count).reduce(0, +) == Self.log.userIDs.count)
        #expect(users.reduce(Set<String>()) { $0.union($1) }.count == Self.log.userIDs.count)
        #expect(users.map(\.count).max()! - users.map(\.count).min()! <= 1)
        #expect(parts.map(\.count).reduce(0, +) == Self.log.count)
    }

    @Test func dirichletSilosAreSkewedButCoverEveryUserOnce() {
        let generator = SyntheticGenerator(config: Fixtures.syntheticData)
        let topics = generator.itemTopics()
        let parts = SiloSplitter(silos: 10, scheme: .dirichlet(alpha: 0.3), seed: 4).split(Self.log) { topics[$0] }
        let sizes = usersPerSilo(parts).map(\.count)
        #expect(sizes.reduce(0, +) == Self.log.userIDs.count)
        #expect(sizes.allSatisfy { $0 >= 1 })
        #expect(Double(sizes.max()!) > 3 * Double(sizes.min()!))
        // Non-IID in what they hold: the silos' favourite topics differ.
        let favourites = Set(
            parts.map { part in
                var counts: [Int: Int] = [:]
                for row in 0..<part.count where part.labels[row] == 1 { counts[topics[part.itemIDs[Int(part.itemKeys[row])]]!, default: 0] += 1 }
                return counts.max { $0.value < $1.value }!.key
            })
        #expect(favourites.count >= 3)
    }

    @Test func theSameSeedGivesTheSameSplit() {
        let a = SiloSplitter(silos: 5, scheme: .dirichlet(alpha: 0.5), seed: 8).assign(Self.log)
        let b = SiloSplitter(silos: 5, scheme: .dirichlet(alpha: 0.5), seed: 8).assign(Self.log)
        let c = SiloSplitter(silos: 5, scheme: .dirichlet(alpha: 0.5), seed: 9).assign(Self.log)
        #expect(a == b)
        #expect(a != c)
    }

    @Test func writtenSilosReadBackAsTheSameRows() throws {
        let parts = SiloSplitter(silos: 3, scheme: .iid, seed: 2).split(Self.log)
        let folder = try Fixtures.temporaryFolder()
        let paths = try ClickLogWriter.writeSilos(parts, to: folder, includeStrategy: true)
        #expect(paths.map { ($0 as NSString).lastPathComponent } == ["silo-00.csv", "silo-01.csv", "silo-02.csv"])
        let reader = ClickLogReader(items: Fixtures.syntheticData.itemMapping, strategies: 3)
        let pooled = try reader.read(path: folder)
        #expect(pooled.count == Self.log.count)
        let original = ExampleBuilder().build(Self.log), reread = ExampleBuilder().build(pooled)
        #expect(reread.train.count == original.train.count)
        #expect(reread.test.labels.reduce(0, +) == original.test.labels.reduce(0, +))
        #expect(reread.train.historyItems.sorted() == original.train.historyItems.sorted())
    }

    @Test func schemesParseFromText() {
        #expect(SiloScheme("iid") == .iid)
        #expect(SiloScheme("dirichlet:0.5") == .dirichlet(alpha: 0.5))
        #expect(SiloScheme("dirichlet:-1") == nil)
    }
}
