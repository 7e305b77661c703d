import FedAttnCore
import FedAttnData
import FedAttnModel
import Testing
import _FedAttnTestSupport

struct ExampleBuilderTests {
    /// User a's rows, in file order; sorted they are (5,9,1) (10,3,0) (10,5,1) (20,2,1) (30,7,0) (40,4,1),
    /// with the tie at t=10 broken by item id. With histories of 2: [], [9], [9], [9,5], [5,2] | test: [5,2].
    static let tinyLog = """
        user_id,item_id,timestamp,label
        a,5,10,1
        a,3,10,0
        b,8,100,1
        a,9,5,1
        a,2,20,1
        a,7,30,0
        a,4,40,1
        c,10,7,1
        c,9,7,0
        c,1,8,1
        c,6,9,1
        c,2,11,0
        """

    static func build(historyLength: Int = 2) throws -> (train: ExampleSet, test: ExampleSet) {
        let path = try Fixtures.writeTemporaryFile("tiny.csv", tinyLog)
        let log = try ClickLogReader(items: .catalogue(items: 10)).read(path: path)
        return ExampleBuilder(historyLength: historyLength).build(log)
    }

    @Test func ordersByTimeThenItemAndKeepsTheLatestClicksOldestFirst() throws {
        let (train, test) = try Self.build()
        // Users in order of first appearance: a, b, c.
        let aTrain = (0..<5).map { (train.candidates[$0], Array(train.history($0)), train.labels[$0]) }
        #expect(aTrain.map(\.0) == [9, 3, 5, 2, 7])
        #expect(aTrain.map(\.1) == [[], [9], [9], [9, 5], [5, 2]])
        #expect(aTrain.map(\.2) == [1, 0, 1, 1, 0])
        // a's last row is test, and its history runs over the train rows before it.
        #expect(test.candidates[0] == 4)
        #expect(Array(test.history(0)) == [5, 2])
    }

    @Test func splitsTheLastFifthOfEachUserWithAtLeastOneTestRow() throws {
        let (train, test) = try Self.build()
        // a: 6 rows -> floor(1.2) = 1 test.  b: 1 row -> 1 test, 0 train.  c: 5 rows -> 1 test.
        #expect(train.count == 5 + 0 + 4)
        #expect(test.count == 3)
        #expect(test.candidates[1] == 8 && test.history(1).isEmpty)
    }

    @Test func tiesBetweenNumericIdsCompareAsNumbersNotText() throws {
        let (train, test) = try Self.build()
        // c at t=7 has items 10 and 9: numerically 9 comes first ("10" < "9" as text).
        #expect(Array(train.candidates[5...]) == [9, 10, 1, 6])
        #expect(Array(train.history(6)) == [])  // 9 was not clicked
        #expect(Array(train.history(8)) == [10, 1])
        #expect(test.candidates[2] == 2 && Array(test.history(2)) == [1, 6])
    }

    @Test func aLongerHistoryLengthKeepsMoreClicks() throws {
        let (_, test) = try Self.build(historyLength: 20)
        #expect(Array(test.history(0)) == [9, 5, 2])
    }

    /// The figures an independent implementation of BENCHMARK.md gives for MovieLens-100k.
    @Test func movieLensMatchesTheIndependentCrossCheck() throws {
        let log = try ClickLogReader(items: .catalogue(items: 1682)).read(path: Fixtures.movieLens("silos/iid-10"))
        let (train, test) = ExampleBuilder().build(log)
        #expect(log.sources.count == 10)
        #expect(train.count == 80_367)
        #expect(test.count == 19_633)
        #expect((train.positiveRate * 10_000).rounded() == 5_727)
        #expect((test.positiveRate * 10_000).rounded() == 4_762)
        #expect((0..<train.count).filter { train.history($0).isEmpty }.count == 1_911)
        #expect((0..<test.count).filter { test.history($0).isEmpty }.count == 4)
        #expect(try AttentionModel(config: ModelConfig(), seed: 0).parameterCount == 64_322)
    }

    @Test func theRawRatingsFileGivesTheSameExamplesAsThePooledSilos() throws {
        let reader = ClickLogReader(items: .catalogue(items: 1682))
        let fromSilos = ExampleBuilder().build(try reader.read(path: Fixtures.movieLens("silos/iid-10")))
        let fromRatings = ExampleBuilder().build(try reader.read(path: Fixtures.movieLens("u.data")))
        #expect(fromRatings.train.count == fromSilos.train.count)
        #expect(fromRatings.test.labels.reduce(0, +) == fromSilos.test.labels.reduce(0, +))
        #expect(fromRatings.train.historyItems.count == fromSilos.train.historyItems.count)
    }
}
