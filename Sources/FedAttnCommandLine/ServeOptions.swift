public import ArgumentParser

/// Where and how `serve` runs, beside the federation's settings: the address, the state folder,
/// the certificates, logs, metrics and membership. Each may come from its flag or from the
/// --config file under the flag's name in snake case (`resolve(configFile:otherKeys:)`), but
/// --insecure, which only a flag asks for; every one is optional here, its default given there.
public struct ServeOptions: ParsableArguments, Sendable {
    public init() {}

    @Option(
        name: .long,
        help:
            "Address to listen on (default 0.0.0.0, every interface: clients must then dial a name or address the certificate holds). A specific address must be one of the certificate's names; serve refuses it otherwise."
    )
    public var host: String?
    @Option(name: .long, help: "Port to listen on (default 7443; 0 picks a free one and prints it).") public var port: Int?
    @OptionGroup public var security: SecurityOptions
    @Option(
        name: .long,
        help:
            "State folder: published models (round-NNN.safetensors) and history.sqlite. Started again on the same folder, the coordinator resumes."
    )
    public var state: String?
    @Option(name: .long, help: "Least level logged: trace, debug, info, notice, warning, error or critical (default info).")
    public var logLevel: String?
    @Option(
        name: .long,
        help:
            "Serve Prometheus metrics at http://METRICS-HOST:PORT/metrics, liveness at /healthz, readiness at /readyz, and the federation's status page at / and /status (its JSON at /status.json) (off when not given; 0 picks a port)."
    )
    public var metricsPort: Int?
    @Option(
        name: .long,
        help:
            "Address the metrics, /healthz, /readyz and status page endpoint listens on (default 127.0.0.1; no authentication: loopback or a monitoring network)."
    ) public var metricsHost: String?
    @Option(
        name: .long,
        help: "Once listening, write the bound port to this file (for scripts and supervisors that start serve with --port 0).")
    public var portFile: String?
    @Flag(
        name: .long, inversion: .prefixedNo,
        help:
            "Exit once the federation is done and its clients have fetched the kept model (up to 30 s), or at once on a finished state folder. Without it, serve keeps serving the kept model, its status and metrics until stopped (SIGTERM or Ctrl-C)."
    )
    public var exitWhenDone: Bool?
    @Option(
        name: .long,
        help:
            "The allow-list (provision writes DIR/members.txt): only the silos it names are admitted; re-read when it changes, no restart. Without it, every silo whose certificate the federation CA signed is."
    )
    public var members: String?
    @Option(
        name: .long,
        help:
            "Revoked certificates by serial (remove writes DIR/revoked.txt), refused at the TLS handshake and on open connections; re-read when it changes. Default: revoked.txt beside --members."
    )
    public var revoked: String?
}
