import GRPCCore

/// `error` and the causes gRPC wrapped under it (RPCError and RuntimeError carry one each),
/// outermost first, at most `limit` deep.
func errorChain(_ error: any Error, limit: Int = 8) -> [any Error] {
    var chain: [any Error] = []
    var current: (any Error)? = error
    while let error = current, chain.count < limit {
        chain.append(error)
        current = (error as? RPCError)?.cause ?? (error as? RuntimeError)?.cause
    }
    return chain
}
