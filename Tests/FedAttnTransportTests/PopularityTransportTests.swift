import FedAttnAggregation
import FedAttnData
import FedAttnFederation
import FedAttnModel
import FedAttnProtocol
import FedAttnSecAgg
import FedAttnSimulation
import FedAttnTransport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing
import _FedAttnTestSupport

/// The most-popular baseline through the wire (protocol 10; its secure sum, 11): its messages
/// read back as they were sent, a share no silo could make is refused naming the silo, and a
/// federation over gRPC with mutual TLS pools the counts of its two clients of 11 beside one
/// of 9; under secure aggregation, as a secure sum.
struct PopularityTransportTests {
    @Test func popularityMessagesReadBackAsTheyWereSent() throws {
        let counts = PopularityCounts(items: [1, 5, 1_000_000], counts: [3, 1 << 40, 1])
        #expect(try Wire.shared(Wire.counts(counts), from: "shop") == counts)
        #expect(try Wire.shared(Wire.counts(nil), from: "shop") == nil)
        // A decline that lists items is refused, naming the silo.
        var both = Wire.counts(counts)
        both.decline = true
        let error = #expect(throws: RPCError.self) { try Wire.shared(both, from: "shop") }
        #expect(error?.code == .invalidArgument && error?.message.contains("popularity counts from 'shop'") == true, "\(String(describing: error))")
        // A count past 2^63 reads as the largest Int: the coordinator refuses it as adding up past what was declared.
        let largest = Fedattn_V1_PopularityCounts.with {
            $0.items = [1]
            $0.counts = [.max]
        }
        let huge = try #require(try Wire.shared(largest, from: "shop"))
        #expect(huge.counts == [Int.max])
        // The pooled counts ride on an EVALUATE task, the sums on the report.
        let task = FederationTask.evaluate(round: 2, modelVersion: "v2", popularity: counts)
        #expect(try Wire.task(Wire.task(task)) == task)
        #expect(try Wire.task(Wire.task(.evaluate(round: 2, modelVersion: "v2"))) == .evaluate(round: 2, modelVersion: "v2"))
        var positives = [UInt64](repeating: 0, count: EvaluationSummary.bins)
        positives[3000] = 10
        let negatives = [UInt64](repeating: 0, count: EvaluationSummary.bins)
        var report = EvaluationReport(test: EvaluationSummary(examples: 10, logLossSum: 2, positives: positives, negatives: negatives))
        report.popularity = RankingSums(users: 5, hits: 2, ndcgSum: 1.25, catalogueUsers: 5, hitsAt20: 1, ndcgAt20Sum: 0.5)
        #expect(try Wire.report(Wire.report(report, round: 2, version: "v2"), from: "shop") == report)
        // Join: a client of 10 is told the policy and the limit; one of 9 neither, answered in 9.
        let limits = CoordinatorLimits(
            maxUpdateBytes: 1 << 20, maxUpdateNorm: 100, uploadTimeout: .seconds(60), pieceBytes: 127 << 10, updateChunkBytes: 8 << 10,
            longPoll: .seconds(1), maxTrainExamples: 1_000, roundTimeout: .seconds(60), uploadSlots: 8)
        let ten = Wire.joinResponse(client: "shop", rounds: 2, model: ModelConfig(), limits: limits, protocolVersion: 10, popularity: .on)
        #expect(ten.protocolVersion == 10 && ten.popularity == .on && ten.limits.maxPopularityItems == 262_144)
        #expect(try Wire.joinInfo(ten).popularity == .on)
        let nine = Wire.joinResponse(client: "shop", rounds: 2, model: ModelConfig(), limits: limits, protocolVersion: 9, popularity: .on)
        #expect(nine.protocolVersion == 9 && nine.popularity == .unspecified && nine.limits.maxPopularityItems == 0)
        #expect(try Wire.joinInfo(nine).popularity == .unspecified)
        // Under secure aggregation: a client of 11 hears of the secure sum, one of 10 does not.
        let secure = PopularityPolicy.secureSum
        let eleven = Wire.joinResponse(
            client: "shop", rounds: 2, model: ModelConfig(), limits: limits, protocolVersion: 11, popularity: secure.told(protocolVersion: 11))
        #expect(eleven.popularity == .secureSum)
        #expect(try Wire.joinInfo(eleven).popularity == .secureSum)
        let tenUnderSecure = Wire.joinResponse(
            client: "shop", rounds: 2, model: ModelConfig(), limits: limits, protocolVersion: 10, popularity: secure.told(protocolVersion: 10))
        #expect(tenUnderSecure.popularity == .offSecureAggregation)
        // A MASK_INDICATORS task says whether its vector carries the counts.
        var carrying = SecureTask(round: 1, attempt: 1, phase: .maskIndicators)
        carrying.rows = RowSet(rows: 10)
        carrying.carriesPopularityCounts = true
        let sent = Wire.task(.secure(carrying))
        #expect(sent.secure.carriesPopularityCounts)
        #expect(try Wire.task(sent) == .secure(carrying))
        carrying.carriesPopularityCounts = false
        #expect(!Wire.task(.secure(carrying)).secure.carriesPopularityCounts)
    }

    /// Three IID silos of the synthetic log.
    static func threeSilos() -> [SimulatedSilo] {
        let log = SyntheticGenerator(config: Fixtures.syntheticData).generate()
        return SiloSplitter(silos: 3, scheme: .iid, seed: 1).split(log).enumerated().map { i, part in
            SimulatedSilo(name: "silo-\(i)", log: part, builder: ExampleBuilder(), validationFraction: 0.1)
        }
    }

    /// A federation of `silos` under `config` over gRPC with mutual TLS on 127.0.0.1, each
    /// silo's link as `link` makes it (given its index); returns the coordinator once every
    /// client has finished.
    static func federateOverMutualTLS(
        _ silos: [SimulatedSilo], config: CoordinatorConfig,
        link makeLink: @escaping @Sendable (Int, any FederationLink) -> any FederationLink = { $1 }
    ) async throws -> Coordinator {
        let model = Fixtures.syntheticConfig
        let coordinator = try Coordinator(modelConfig: model, config: config, initialModel: try AttentionModel(config: model, seed: 0))
        let authority = try DevCertificateAuthority()
        try await withCoordinatorServer(coordinator, host: "127.0.0.1", port: 0, security: .mutualTLS(try authority.serverIdentity())) { port in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, silo) in silos.enumerated() {
                    let identity = try authority.clientIdentity(name: silo.name)
                    let work = SiloWork(
                        train: silo.train, validation: silo.validation, test: silo.test, ranking: silo.ranking,
                        validationRanking: silo.validationRanking)
                    group.addTask {
                        try await withFederationLink(host: "127.0.0.1", port: port, security: .mutualTLS(identity)) { link in
                            try await Participant(work: work).run(link: makeLink(index, link), expectedModel: model)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        return coordinator
    }

    /// 2 rounds of 3 clients, the pool made from 2 (here the two of protocol 10).
    static var twoSharers: CoordinatorConfig {
        var config = CoordinatorConfig(rounds: 2, minClients: 3)
        config.popularityMinimumSilos = 2
        return config
    }

    /// Over gRPC with mutual TLS on 127.0.0.1: two clients of 10 share their counts, one of 9
    /// does not; the federation completes, and the baseline is the two's counts scored on the
    /// two's users, exactly as `simulate` would compute it over them.
    @Test func overMutualTLSTheBaselineIsPooledFromTheClientsOf10() async throws {
        let silos = Self.threeSilos()
        let coordinator = try await Self.federateOverMutualTLS(silos, config: Self.twoSharers) { index, link in
            index == 2 ? Protocol9Link(inner: link) : link
        }
        #expect(await coordinator.history.count == 2)
        let served = await coordinator.popularityBaseline
        #expect(served.pooledFrom == ["silo-0", "silo-1"] && served.oldProtocol == ["silo-2"] && served.scoredBy == ["silo-0", "silo-1"])
        #expect(served.sums == SimulatedSilo.popularity(of: Array(silos[0...1]), model: Fixtures.syntheticConfig))
        #expect(served.sums.users > 0)
    }

    /// Over gRPC with mutual TLS under secure aggregation: the three clients' counts travel,
    /// masked, in round 1's indicator vectors (2V + 1 elements of 32 bits each, through
    /// SecureStep), and the baseline is the one `simulate` computes over the three.
    @Test func overMutualTLSTheCountsAreASecureSum() async throws {
        let silos = Self.threeSilos()
        var config = CoordinatorConfig(rounds: 1, minClients: 3, server: ServerOptimizer(rule: .fedavg))
        config.secureAggregation = SecureAggregationSettings()
        let coordinator = try await Self.federateOverMutualTLS(silos, config: config)
        #expect(await coordinator.history.count == 1)
        let served = await coordinator.popularityBaseline
        #expect(served.isMeasured && served.summedSecurely && served.sharedBy == 3, "\(served.line)")
        #expect(served.summedOver == ["silo-0", "silo-1", "silo-2"] && served.scoredBy == ["silo-0", "silo-1", "silo-2"])
        #expect(served.sums == SimulatedSilo.popularity(of: silos, model: Fixtures.syntheticConfig))
    }
}
