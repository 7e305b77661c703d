import FedAttnCore
import FedAttnData
import FedAttnModel
import Testing
import _FedAttnTestSupport

struct SyntheticGeneratorTests {
    @Test func theSameConfigGivesTheSameLog() {
        let a = SyntheticGenerator(config: Fixtures.syntheticData).generate()
        let b = SyntheticGenerator(config: Fixtures.syntheticData).generate()
        #expect(a.labels == b.labels && a.itemRows == b.itemRows && a.timestamps == b.timestamps)
    }

    @Test func strategiesHaveDifferentClickRates() {
        let log = SyntheticGenerator(config: Fixtures.syntheticData).generate()
        let rates = (0..<3).map { s in
            let rows = (0..<log.count).filter { log.strategies[$0] == s }
            return Double(rows.filter { log.labels[$0] == 1 }.count) / Double(rows.count)
        }
        #expect(rates[0] + 0.1 < rates[1] && rates[1] + 0.1 < rates[2])
    }

    @Test func usersClickTheirCurrentTopicsMore() throws {
        // The planted signal: a row whose item shares a topic with one of the user's recent
        // clicks is clicked more often than one that does not.
        let generator = SyntheticGenerator(config: Fixtures.syntheticData)
        let log = generator.generate()
        let topics = generator.itemTopics()
        var recent: [Int32: [Int]] = [:]
        var hits = (matching: 0, matchingClicks: 0, other: 0, otherClicks: 0)
        for row in 0..<log.count {
            let topic = topics[log.itemIDs[Int(log.itemKeys[row])]]!
            let clicked = log.labels[row] == 1
            if recent[log.users[row], default: []].suffix(5).contains(topic) {
                hits.matching += 1
                hits.matchingClicks += clicked ? 1 : 0
            } else {
                hits.other += 1
                hits.otherClicks += clicked ? 1 : 0
            }
            if clicked { recent[log.users[row], default: []].append(topic) }
        }
        let matchingRate = Double(hits.matchingClicks) / Double(hits.matching)
        let otherRate = Double(hits.otherClicks) / Double(hits.other)
        #expect(matchingRate > otherRate + 0.15)
    }

    @Test func skuIdsTrainUnderHashedItems() throws {
        var config = Fixtures.syntheticData
        config.skuItemIDs = true
        config.users = 50
        let log = SyntheticGenerator(config: config).generate()
        #expect(log.itemIDs.allSatisfy { $0.hasPrefix("SKU-") })
        #expect(config.itemMapping == .hashed(buckets: 800))
        let (train, _) = ExampleBuilder().build(log)
        #expect(!train.isEmpty)
    }
}
