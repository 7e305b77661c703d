import FedAttnFederation
import FedAttnProtocol
import FedAttnTransport
import GRPCCore
import Testing
import _FedAttnTestSupport

/// A connection calling in a loop is held to its rate; a client following the protocol, and
/// every other connection, is not touched.
struct CallRateLimitTests {
    @Test func aBurstIsServedThenTheRateHoldsPerConnection() {
        let limit = CallRateLimit(perSecond: 2, burst: 5)
        let start = ContinuousClock.now
        // The burst, then nothing until time refills the bucket.
        #expect((0..<5).allSatisfy { _ in limit.take("ipv4:127.0.0.1:4000", at: start) })
        #expect(!limit.take("ipv4:127.0.0.1:4000", at: start))
        // Another connection has its own bucket.
        #expect(limit.take("ipv4:127.0.0.1:4001", at: start))
        // Half a second refills one call at 2 a second; a flood of a call every millisecond
        // for the next second gets 2 through (at 1.0 s and 1.5 s).
        #expect(limit.take("ipv4:127.0.0.1:4000", at: start + .milliseconds(500)))
        let served = (1...1_000).filter { i in limit.take("ipv4:127.0.0.1:4000", at: start + .milliseconds(500) + .microseconds(i * 1_000)) }
        #expect(served.count == 2, "\(served.count)")
    }

    @Test func aConnectionRefusedCloseAfterTimesInARowIsToBeClosed() {
        let limit = CallRateLimit(perSecond: 1, burst: 1, closeAfter: 3)
        let start = ContinuousClock.now
        let verdicts = (0..<8).map { _ in limit.admit("ipv4:127.0.0.1:4000", at: start) }
        #expect(verdicts == [.allowed, .refused, .refused, .refusedAndClosed, .refused, .refused, .refusedAndClosed, .refused])
        // A call let through starts the count again.
        #expect(limit.admit("ipv4:127.0.0.1:4000", at: start + .seconds(1)) == .allowed)
        #expect(limit.admit("ipv4:127.0.0.1:4000", at: start + .seconds(1)) == .refused)
        #expect(CallRateLimit().closeAfter == 1_000)
    }

    @Test func aConnectionThatKeepsCallingPastItsRefusalsIsClosed() async throws {
        let coordinator = try WireFaultTests.coordinator(CoordinatorConfig(rounds: 1, minClients: 1))
        let log = LogLines()
        // A burst of 2, then one call in 1,000 s; closed at its 5th refusal in a row.
        let limit = CallRateLimit(perSecond: 0.001, burst: 2, closeAfter: 5)
        try await WireFaultTests.withServer(coordinator, log: log, callRate: limit, logBudget: LogBudget(lines: 1_000, window: .seconds(3_600))) {
            connect in
            try await connect("flood") { client in
                let federation = Fedattn_V1_Federation.Client(wrapping: client)
                var closedSaid = false
                for _ in 0..<7 {
                    do { _ = try await federation.nextTask(.init()) } catch let error as RPCError {
                        closedSaid = closedSaid || error.message.contains("5 refusals in a row: the connection is closed")
                    }
                }
                #expect(closedSaid)
                // The server sent GOAWAY and closes the connection: the client's next calls leave
                // it, for a new connection (with a bucket of its own: let through, refused as not
                // joined) or none yet (unavailable while it reconnects). Calls sent before the
                // GOAWAY arrived are still refused on the old one, as too many.
                var left: RPCError.Code?, codes: [RPCError.Code] = []
                for _ in 0..<200 where left == nil {
                    do { _ = try await federation.nextTask(.init()) } catch let error as RPCError {
                        codes.append(error.code)
                        if error.code != .resourceExhausted { left = error.code }
                    }
                }
                #expect(left == .failedPrecondition || left == .unavailable, "\(codes)")
                client.beginGracefulShutdown()
            }
        }
        let refusals = log.all.filter { $0.hasPrefix("refused NextTask from 'flood'") && $0.contains("resourceExhausted") }
        #expect(refusals.filter { $0.contains("5 refusals in a row: the connection is closed") }.count >= 1, "\(refusals)")
    }

    @Test func theDefaultsLeaveRoomForEveryCallAClientMakes() {
        // A client makes a few such calls a round; the defaults allow 50 a second sustained.
        let limit = CallRateLimit()
        #expect(limit.perSecond >= 50 && limit.burst >= 200)
        // The control calls and the health checks, each named as gRPC names it to the limit.
        typealias Federation = Fedattn_V1_Federation.Method
        typealias Health = Grpc_Health_V1_Health.Method
        let expected = [
            Federation.Join.descriptor, Federation.SharePopularity.descriptor, Federation.NextTask.descriptor, Federation.ReserveUpload.descriptor,
            Federation.ReportEvaluation.descriptor, Health.Check.descriptor, Health.Watch.descriptor,
        ]
        #expect(CallRateLimit.limited == Set(expected.map(\.fullyQualifiedMethod)))
    }

    @Test func aConnectionCallingInALoopIsRefusedWhileAnotherIsServed() async throws {
        let coordinator = try WireFaultTests.coordinator(CoordinatorConfig(rounds: 1, minClients: 1))
        let log = LogLines()
        // A burst of 10, then one call in 1,000 s: 30 calls in a loop run past it however
        // slow the machine.
        try await WireFaultTests.withServer(coordinator, log: log, callRate: CallRateLimit(perSecond: 0.001, burst: 10)) { connect in
            try await connect("flood") { client in
                let federation = Fedattn_V1_Federation.Client(wrapping: client)
                var codes: [RPCError.Code] = []
                for _ in 0..<30 {
                    // Never joined: refused at once, as not joined or, past the burst, as too many.
                    do { _ = try await federation.nextTask(.init()) } catch let error as RPCError { codes.append(error.code) }
                }
                #expect(codes.count == 30)
                #expect(codes.filter { $0 == .resourceExhausted }.count >= 19, "\(codes)")
                client.beginGracefulShutdown()
            }
            // Another connection is served: it joins and gets its task.
            try await connect("silo-a") { client in
                let federation = Fedattn_V1_Federation.Client(wrapping: client)
                _ = try await federation.join(WireFaultTests.joinRequest)
                let task = try await federation.nextTask(.init())
                #expect(task.kind == .train, "\(task)")
                client.beginGracefulShutdown()
            }
        }
        #expect(log.all.contains { $0.hasPrefix("refused NextTask from 'flood'") && $0.contains("resourceExhausted: over 0.001 calls a second") })
    }
}
