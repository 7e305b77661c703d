// The FedAttention wire protocol, version 11: a client sends 11 in JoinRequest.protocol_version.
// A coordinator of 11 also admits clients of versions 10 and 9, the two before: 11 only added
// the secure sum of the popularity counts (a client of 10 is told
// POPULARITY_POOLING_OFF_SECURE_AGGREGATION under secure aggregation, and no secure round it
// is in carries counts), and 10 the most-popular baseline (a client of 9 shares no popularity
// counts and gets no baseline): see "The most-popular baseline". A client of any other
// version is refused (FAILED_PRECONDITION, naming the client's version and the versions the
// coordinator speaks, "11, 10 and 9"). Everything a client in any language needs is in this file; nothing is left to
// guess. Where the contract leaves a choice to the client, it says so, and says what the
// reference (the Swift client and coordinator of this repository) does. (Version 1 streamed
// whole models; 2 uploaded without reserving a slot; 3 declared no training examples at Join
// and sent no limits; 4 named a model version by its payload's SHA-256 and always sent the
// whole model; 6 had no DP-SGD in its training plan, so a client of 6 would train without the
// privacy asked; 7 had no secure aggregation, so a client of 7 would upload an update the
// coordinator must not see; 8 had no interaction head, so a client of 8 would send no delta
// for it; 9 had no most-popular baseline: no SharePopularity, no JoinResponse.popularity,
// Limits.max_popularity_items, Task.popularity or EvaluationReport.popularity; 10 had no
// POPULARITY_POOLING_SECURE_SUM and no SecureTask.carries_popularity_counts, so a client of 10
// would send an indicator vector of the wrong length in a round that carries counts. 11 is a
// version, as 10 was for the baseline, rather than a JoinRequest.capabilities entry: a client
// must act on a new task field, and the version Join negotiates is what tells the coordinator,
// before it plans a secure round, that every client of that round will.)
//
// ── Transport and identity ──────────────────────────────────────────────────────────────
// A coordinator runs the `Federation` service over gRPC (HTTP/2) with mutual TLS: every
// client presents a certificate signed by the federation's CA, and the certificate's
// subject common name (CN) is the client's identity (its silo name). Nothing in a message
// claims an identity. (A coordinator started with --insecure, on loopback only, takes the
// name from the `x-fedattn-client` request header instead.) A silo name is 1 to 64
// characters, each a lowercase ASCII letter a-z, a digit, '-', '_' or '.', the first a
// letter or a digit; the CN's value is compared as it is (no case folding, no trimming), so
// no two spellings name one silo. A CN that is not a silo name (upper case, a space, a
// control character, '/', over 64 characters) is refused at the client's first call with
// PERMISSION_DENIED, quoting it escaped; no CN, or an empty one, with UNAUTHENTICATED. One
// connection per silo: a second live connection presenting the same name is refused with
// ALREADY_EXISTS until the first closes. Closing the connection is how a client leaves (SIGTERM, Ctrl-C, a crash):
// the coordinator stops selecting and waiting for it; calling again on a new connection
// (Join, or any call) brings it back. The coordinator pings idle connections every 30 s;
// one that does not answer within 20 s is closed (the client has left).
//
// ── A client's life ─────────────────────────────────────────────────────────────────────
//   1. Join, once per connection, with the protocol version it speaks and its number of
//      training examples. The answer carries the model's shape and the coordinator's limits.
//      A second Join on the same connection is answered as the first when it declares the
//      same train_examples and refused (INVALID_ARGUMENT) when it declares another: the
//      declared count changes only when the client connects again. The client reads its
//      data with the item mapping it was set up with (the federation's, which its operator
//      was given) and counts its rows under it; JoinResponse.model.items names the
//      coordinator's, and a client whose mapping differs must not go on (the reference
//      client leaves: its rows and its count would be another model's).
//      Then, when JoinResponse.popularity is POPULARITY_POOLING_ON, SharePopularity once (its
//      items' counts, or a decline); when it is POPULARITY_POOLING_SECURE_SUM, SharePopularity
//      only to decline (before its first NextTask); a silo that shares sends nothing now: its
//      counts go into the indicator sum of the first secure round whose task says it carries
//      them. See "The most-popular baseline".
//   2. NextTask, repeatedly. The coordinator answers with one task:
//        TRAIN     download model `model_version` (DownloadModel, piece by piece; a client
//                  holding an earlier version may get only what changed), train it
//                  locally as `plan` says, reserve an upload slot (ReserveUpload, optional:
//                  see there), upload the delta (UploadUpdate), then ask again;
//        EVALUATE  download model `model_version`, score the local test split, report
//                  (ReportEvaluation, echoing the task's `round` and `model_version`),
//                  then ask again; with `popularity` set, score the most popular items
//                  too (see "The most-popular baseline");
//        SECURE    a phase of a secure round (see "Secure aggregation" below): answer it
//                  (SecureStep), then ask again;
//        WAIT      nothing to do yet: ask again after `retry_after_ms`;
//        DONE      the federation has finished: disconnect.
//      NextTask is a long poll: while there is nothing to do the coordinator holds the call
//      for up to `Limits.long_poll_ms` (1000) and answers as soon as the task changes; at
//      the end of the poll it answers WAIT with retry_after_ms = 20.
//   3. An update or report refused with ABORTED arrived too late (its round closed, or
//      another attempt at the round began): drop it and ask for the next task. A call
//      other than Join refused with FAILED_PRECONDITION means this coordinator does not know
//      the client (it restarted since the client joined): drop what was being sent and Join
//      again (from DownloadModel at an offset past 0 it may also mean the download's payload
//      changed: begin the download again at offset 0, and Join again if that is refused
//      too). Only configuration errors (FAILED_PRECONDITION from Join, UNAUTHENTICATED,
//      PERMISSION_DENIED, INVALID_ARGUMENT from Join, a TLS handshake failure) should end a
//      client.
//   4. Declining a task: no message declines a TRAIN of a plain round or an EVALUATE. A
//      client that will not do one (a plan it cannot follow: DP-SGD or secure aggregation
//      it does not implement, a plan whose fields it cannot use) closes its connection, as
//      the reference client does (it ends); the coordinator stops waiting for it at once. A
//      client that stays connected without answering holds the round (or the evaluation)
//      until Limits.round_timeout_ms. Calling again on a new connection brings it back, and
//      a round still waiting for it gives it the same task. In a secure round a client
//      declines with `abort` (SecureReply.abort): the TRAIN with SecureStep(ADVERTISE,
//      abort), any later phase with an abort of that phase.
//
// ── The model (d = 32, H = 64) ──────────────────────────────────────────────────────────
// Tensors, in this order, each row-major (the last index varies fastest):
//   item_embedding      [V, d]   V = rows of the item mapping: "catalogue:N" → V = N + 1
//                                (item id "k" is row k); "hash:B" → V = B + 1 (item id x is
//                                row 1 + FNV-1a-64(UTF-8 bytes of x) mod B, FNV offset basis
//                                0xcbf29ce484222325, prime 0x100000001b3). Row 0 is padding:
//                                never an item, always zero.
//   strategy_embedding  [S, d]   S = ModelShape.strategies
//   attention.query     [d, d]   W_q, applied as q = W_q e_c: q[i] = sum_j W_q[i][j] e_c[j]
//   attention.key       [d, d]   W_k, k_l = W_k e_{h_l}
//   hidden.weight       [H, 4d]  W_1, z = ReLU(W_1 x + b_1): z[i] = relu(sum_j W_1[i][j] x[j] + b_1[i])
//   hidden.bias         [H]      b_1
//   output.weight       [H]      w_2, logit o = w_2 . z + b_2
//   output.bias         [1]      b_2
//   interaction.weight  [H]      w_i, interaction logit o_i = w_i . z + b_i (protocol 9 on)
//   interaction.bias    [1]      b_i
// For a candidate item c (row e_c), history h_1..h_L (the item rows of at most
// `history_length` = 20 latest earlier clicked items, oldest first; possibly none) and
// strategy s (row e_s of strategy_embedding):
//   a_l = softmax over l of (q . k_l) / sqrt(d);  u = sum_l a_l e_{h_l}  (u = 0 if L = 0)
//   x = [u, e_c, u * e_c, e_s]   (4d values: the element-wise product in the third block)
//   p = sigmoid(o); loss = binary cross-entropy of p against the label (natural log).
// Two heads (ESMM, Ma et al., SIGIR 2018): o predicts a click among shown items, o_i that the
// user interacts with the item at all. Items are ranked by log sigmoid(o_i) + log sigmoid(o).
// A labelled row trains o on its label and, when the plan asks for negatives, o_i on 1; a
// sampled negative (see TrainingPlan.negatives) trains o_i on 0 and nothing of o. Without
// negatives only o is trained (a client that never trains o_i sends it a zero delta).
//
// ── Local training (TRAIN) ──────────────────────────────────────────────────────────────
// Start from the downloaded model w_g. For `plan.epochs` epochs, shuffle the training
// examples (the seed is a hint: any shuffle is fine) and cut them into batches of
// `plan.batch_size` (the last may be smaller). Per batch, the gradient g of the mean loss
// over the batch plus the FedProx term (mu/2) |w - w_g|^2 (so g += mu (w - w_g), mu =
// plan.proximal_mu), then one Adam step on every parameter: lr = plan.learning_rate,
// beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7, t counted from 1 within the round (fresh
// moments every round), alpha_t = lr sqrt(1 - beta2^t) / (1 - beta1^t),
// m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g^2, w -= alpha_t m / (sqrt(v) + epsilon).
// The update is the delta w_local - w_g. (The reference steps the embedding tables lazily:
// a row a batch does not touch catches up on the steps it missed (moments decaying,
// momentum and FedProx moving it, each step with its own alpha_t) when it is next read or
// the epoch ends, which equals the dense step above; but without FedProx, past 96 missed
// steps a row's moments only decay, leaving out a carry below 4e-5 of one step. Either is
// this contract's training.)
// Local steps: FedNova, the coordinator's default server rule, counts a client's steps as
// tau = epochs * ceil(example_count / batch_size) (under DP-SGD: epochs * max(1,
// round(example_count / batch_size))), from the update's example_count (in a secure round,
// from the train_examples declared at Join); no field carries steps. So example_count must
// be exactly the labelled rows trained on each epoch, or the silo is silently reweighted.
//
// ── Local training with example-level DP-SGD (TrainingPlan.dp_clip_norm > 0) ──────────────
// DP-SGD (Abadi et al., CCS 2016) with Poisson sampling, replacing the above: with N the
// silo's training examples, B = plan.batch_size, C = plan.dp_clip_norm, sigma =
// plan.dp_noise_multiplier, an epoch is max(1, round(N / B)) steps; each step takes every
// example independently with probability q = min(1, B / N) (the sample, possibly empty),
// computes each sampled example's gradient of its own loss over ALL parameters (no FedProx
// term), scales it by min(1, C / its L2 norm), and sums them: S. Every parameter except
// item_embedding row 0 then gets n ~ N(0, sigma^2 C^2), drawn from a generator the
// coordinator cannot predict (fresh noise per parameter per step). The item table takes an
// SGD step on the noisy sum: w -= plan.dp_row_learning_rate * (S + n); the other tensors
// take the Adam step above with g = (S + n) / B + mu (w - w_g). (A client may add a row's noise of k
// steps as one draw of variance k sigma^2 C^2 when it next reads the row: the same
// distribution.) A client that cannot do this must not train: a plan with dp_clip_norm > 0
// is a privacy promise the coordinator accounts for (epsilon per silo, RDP accountant).
//
// ── Secure aggregation (TrainingPlan.secure set) ────────────────────────────────────────
// SecAgg+ (Bonawitz et al., CCS 2017, semi-honest; Bell et al., CCS 2020): the coordinator
// learns the round's sum of the clients' quantised updates, and which item rows some client
// trained for the first time, never one client's update or rows. The update is NOT uploaded.
// Two secure sums share the round: sum 0 of row indicators (new rows), sum 1 of weighted
// values. Each sum has its own keys and secrets (its session s, key pairs, seed b and
// shares; a sum's shares travel under that sum's encryption keys and s): a client keeps one
// state per sum, and fresh ones for every TRAIN. Masks are added on u32, mod 2^32; a masked
// vector is then reduced mod 2^r of its sum's ring (r = masked_bits: 16 for sum 0, or 32 when
// the task carries_popularity_counts; m below for sum 1).
//   Session: s = SecurePlan.session << 1 | sum (u64). ctx(s, a, b) = s (u64 LE) |
//   min(a, b) (u32 LE) | max(a, b) (u32 LE). Client ids are SecurePlan.id, 0..clients-1.
//   Below, u is this client and v one of its neighbours (SecurePlan.neighbours; the graph is
//   undirected: u is among v's neighbours too, so shares and masks go both ways).
//   Keys: per sum, two X25519 key pairs (encryption, masking), all four distinct, and a
//   32-byte random self-mask seed b. Pairwise keys are HKDF-SHA256 (salt
//   "fedattn-secagg-share" for encryption, "fedattn-secagg-mask" for masks, info ctx(s, a, b),
//   32 bytes) of the X25519 secret (a small-order public key, whose secret is zero, is refused).
//   PRG(key, n): the ciphertext of 4n zero bytes under ChaCha20-Poly1305 (RFC 8439: block
//   counter from 1) with `key` and a 12-byte zero nonce, without its tag (so the ChaCha20
//   keystream from block 1), read as n u32 little-endian. The self mask's key is b itself.
//   Each key serves one vector only.
//   Shamir: a 32-byte secret is cut into five chunks of 7 bytes (the last 4; little-endian
//   integers below 2^56), each the constant term of a random polynomial of degree t - 1
//   over GF(2^61 - 1); client j holds the values at x = j + 1.
//   1. TRAIN: train as the plan says, then SecureStep(ADVERTISE) with base_version,
//      example_count, train_seconds and `keys`: two PublicKeys (sum 0, sum 1) of its own id.
//   2. SECURE SHARE_KEYS (peer_keys: per sum, the keys of its neighbours that advertised,
//      never its own; t or more needed in each): per sum, for each such neighbour v
//      (ascending), split b and the masking private key (raw 32 bytes) with threshold t
//      among exactly those neighbours; encrypt the 80 bytes (the five u64 LE values of b's
//      share, then of the key's share) with ChaCha20-Poly1305 under the encryption key agreed
//      with v, a random 12-byte nonce, and additional data ctx(s, u, v) | u (u32 LE); send
//      one EncryptedShare per such neighbour (ciphertext = nonce | 80 bytes | 16-byte tag).
//      Decrypting v's share to u, the additional data is ctx(s, v, u) | v: the sender's id.
//   3. SECURE MASK_INDICATORS (shares: per sum, those addressed to it, t or more needed in
//      each; keep sum 1's for step 5; rows: the rows some client trained in earlier rounds,
//      a bitmap over all V item rows, row_count = V, in round 1 too): decrypt them; the
//      input x has one element per item row: a uniformly random value in 1..65535 for each
//      row its update touches that is not in `rows`, 0 elsewhere. Its update here is its
//      payload as it would upload it (see "Payloads"; the reference's: float16, the item
//      table sent as rows), decoded to float32: the rows it touches are the rows that
//      payload lists for item_embedding (or, sent whole, its rows with a non-zero value).
//      Send y = x + PRG(b) + sum over the neighbours v whose shares it received of
//      (u < v ? +1 : -1) PRG(mask key agreed with v), mod 2^16 (masked_bits 16). The sum of
//      the x's says nothing of how many clients marked a row or whose; it is non-zero where
//      some client has a new row, except where two or more marks add up to 0 mod 2^16 (about
//      one such row in 65,535 marked by several): that row then gets no values this round
//      and is new again in the next.
//      With SecureTask.carries_popularity_counts set (protocol 11; see "The most-popular
//      baseline"), x is longer and its ring is 32 bits: 2V + 1 elements,
//        x[r]           for 0 <= r < V: the mark above times 2^16 (the marks ride in the
//                       ring's top 16 bits, so their sum is the 16-bit ring's, shifted: in
//                       the low bits it would not wrap, and would bound how many clients
//                       marked a row);
//        x[V + r]       for 0 <= r < V: the client's train rows of item row r (the counts
//                       SharePopularity would send, dense; x[V] is 0, row 0 being padding),
//                       or 0 for every r when it declines to share; a count of 2^32 or more
//                       cannot be (the coordinator carries counts only when the round's
//                       clients declared fewer examples in all): abort if it would be;
//        x[2V]          1 when it shares its counts, 0 when it declines;
//      and y is sent mod 2^32, unreduced (masked_bits 32, masked_count 2V + 1: 8V + 4 bytes).
//      A client that does not know the field would send V elements of 16 bits: refused as a
//      vector of the wrong length (INVALID_ARGUMENT), which leaves it out of the round; the
//      coordinator sets the field only in rounds whose every client joined with 11. A row's
//      marks are lost (sum to 0) exactly as in the ring of 16 bits.
//      A client puts its counts in at most one indicator sum: once it has answered
//      UNMASK_INDICATORS of a sum that carried them (the coordinator could unmask it), it
//      sends zeros and a flag of 0 in any later task that carries counts (a second sum over
//      other clients would subtract into its counts; the coordinator then finds the flags
//      short and drops that sum). So does a client told anything but
//      POPULARITY_POOLING_SECURE_SUM at Join, should a task carry the field.
//   4. SECURE UNMASK_INDICATORS (survivors: ids whose masked input the coordinator holds):
//      refuse (abort) unless it is among them, there are 3 or more, t or more, and every
//      surviving neighbour shared with it; then, at most once for this sum (a second
//      UNMASK task of the sum is answered with abort), for each neighbour v that shared
//      with it reveal the share of v's b if v survived, else the share of v's masking key;
//      never both for one neighbour.
//   5. SECURE MASK_VALUES (rows: the rows known so far and this round's new ones): the input
//      is, over those rows ascending, its update's values there (the decoded payload's, as
//      in 3; 0 for rows it did not touch), then every other tensor in order, all times
//      `weight` (one binary32 product each; `weight` is its coefficient in the round's
//      mean, from the examples declared at Join: FedAvg's n_i / N over the selected
//      clients, or FedNova's (n_i / tau_i) sum n_j tau_j / N^2 with tau_i its local steps,
//      scaled down to sum to at most 1.5), each clipped to [-clip, clip] (NaN as 0)
//      and stochastically rounded onto 0..2^bits-1 (level = (v + clip) (2^bits - 1) /
//      (2 clip), rounded up with the probability of its fraction); masked as in 3 with sum
//      1's keys and shares, then reduced mod 2^m, m = bits + ceil(log2 clients) (at most 32:
//      the ring that holds the sum), masked_bits m.
//   6. SECURE UNMASK_VALUES: as 4, for sum 1.
// A masked vector travels after its SecureReply (masked_count elements of masked_bits bits)
// in SecurePart.masked chunks of at most Limits.update_chunk_bytes, ceil(count bits / 8)
// bytes in all: element i is bits [i b, (i + 1) b) of the bytes read as one little-endian
// integer. Uniform bytes: zstd would not shrink them. A client that cannot answer a phase
// (too few keys or shares, a share that does not decrypt, too few survivors, a plan that
// does not hold together) answers with `abort` set: the round stops waiting for it. So does
// a client given a SECURE task for a round and attempt it holds no state for (it reconnected,
// restarted, or never trained that attempt): it cannot answer, and answers `abort` for the
// task's round, attempt and phase. Each phase after training waits Limits.secure_phase_timeout_ms
// for the clients still in the round; one that has not answered by then is left out of it.
// A SecureStep claims an upload slot of its own (as UploadUpdate) while its masked vector
// arrives; it needs no reservation.

/// ── The most-popular baseline (protocol 10; its secure sum, protocol 11) ────────────────
/// So that every silo sees whether the federated model ranks better than the most popular
/// items, a federation pools the items' interaction counts over its silos and each silo scores
/// that baseline on its own test users with the ranking protocol of EvaluationReport.
/// JoinResponse.popularity says whether this federation pools them:
///   POPULARITY_POOLING_ON: after Join, the client calls SharePopularity once (per connection)
///     with its silo's counts: for each item row its train rows name (the rows it trains on,
///     any label, each row once: their counts add up to the train_examples it declared), the
///     row and its number of train rows; or with `decline` set and no items, to share none
///     (the reference: `join --no-share-popularity`, or a silo with more distinct items than
///     Limits.max_popularity_items). The coordinator adds up, with checked arithmetic, the
///     counts of every silo that shared before the federation's first evaluation begins (the
///     pool closes then: counts shared later are acknowledged and not added). From then on, an
///     EVALUATE task for a client that shared (before or after the pool closed) carries the
///     pooled counts in Task.popularity, until the coordinator holds that client's baseline
///     sums: the client ranks each test user's item by the pooled counts exactly as it ranks it
///     by the model (the same target, the same 99 sampled negatives from the same draws, the
///     same whole-catalogue items, ties counting against the target; an item the pool does not
///     name counts 0) and sends the four sums in EvaluationReport.popularity with that report.
///     The coordinator keeps one such set of sums per silo (the first it takes) and adds them
///     over the silos: the baseline's HR@10, NDCG@10, Recall@20 and NDCG@20. A silo that
///     declined, a client of protocol 9, or one whose share was refused, gets no pooled counts.
///     When no silo shared, or the pooled counts name more than Limits.max_popularity_items
///     items, no EVALUATE task carries them (the coordinator's history says why).
///   POPULARITY_POOLING_SECURE_SUM (protocol 11): the federation runs secure aggregation, so
///     counts are never sent in the clear: SharePopularity with counts is refused. A client
///     that declines (the reference: `join --no-share-popularity`, or a silo that requires
///     differential privacy or keeps a privacy budget of its own) says so in the clear, with
///     SharePopularity(decline), before its first NextTask: the coordinator then knows how
///     many shared flags a sum must hold. The counts travel, masked, in sum 0 of the secure
///     rounds (see "Secure aggregation", step 3): every MASK_INDICATORS task with
///     carries_popularity_counts set gets the client's counts, dense, with a shared flag of 1,
///     or zeros with a flag of 0 when it declines. Such tasks come in the rounds whose every
///     client joined with 11, of whose clients at least as many did not decline as the
///     coordinator pools from (3 unless its operator says otherwise), and whose clients
///     declared fewer than 2^32 training examples in all, until an indicator sum that carried
///     counts is unmasked. The coordinator records that such a sum has begun before its first
///     task goes out; the pool closes once, from that sum alone (a second sum over other
///     survivors would subtract into one client's counts; a coordinator restarted while a sum
///     was under way never sums again): the counts summed over its survivors, and how many of
///     them shared, which must be exactly its survivors that did not decline (else the sum is
///     dropped: a flag of 2 shows). A model of more than Limits.max_popularity_items + 1 item
///     rows (V) carries no counts. The pool is handed out as above (Task.popularity, with every
///     EVALUATE task, until that client has sent the baseline sums) to each client whose
///     masked indicators were in that sum and that did not decline, when at least as many
///     shared as the coordinator pools from; such a client scores them as above.
///   POPULARITY_POOLING_OFF_SECURE_AGGREGATION: the federation runs secure aggregation and the
///     client joined with 10 (or the coordinator is of 10, which sums no counts): none are
///     pooled from it (SharePopularity is refused), and it gets no baseline. Under a
///     coordinator of 11 the federation's other clients may still sum theirs in rounds this
///     client is not in.
///   POPULARITY_POOLING_OFF_DIFFERENTIAL_PRIVACY: the federation runs DP-SGD or DP-FedAvg: exact
///     counts would spend no privacy budget yet reveal a silo's exact item frequencies: none
///     are pooled (SharePopularity is refused).
///   POPULARITY_POOLING_UNSPECIFIED: a coordinator of protocol 9: do not call SharePopularity.
/// What sharing reveals: to the coordinator, the silo's item frequencies (how many train rows
/// each item has; their total is the train_examples it declares anyway). Without secure
/// aggregation the coordinator already sees each silo's update, whose sparse rows name the
/// items it trained (not how often). To every silo that shared: the sum over the silos in the
/// pool, not who contributed what; but, as with the model itself, a silo can subtract its own
/// counts from the sum, so with two silos in the pool each reads the other's counts exactly.
/// Under the secure sum (protocol 11) the coordinator learns only the counts summed over the
/// silos of that round's indicator sum, never one silo's counts; declines are public, as in
/// the clear. A round carries counts only when at least the minimum of its silos share; if
/// sharers drop out between the round's start and its masked indicators, the coordinator
/// may unmask a sum of fewer (down to one silo's counts, were all but one to drop): it then
/// drops it, neither handing it out nor storing it. A silo's counts are not checked against
/// what it declared (the coordinator sees none of them): one silo can move the baseline
/// (never the model), or make it unmeasured (an implausible sum); the coordinator checks
/// only that the sum is one honest silos could send (counts within the examples the silos
/// of the sum declared, row 0 at 0, one shared flag per silo that did not decline).
///
/// ── Payloads (models and updates) ───────────────────────────────────────────────────────
/// One zstd frame (any level, any API) holding the "FAT1" tensor format. For an update the
/// frame is at most Limits.max_update_bytes, and decompresses to at most the smaller of
/// Limits.max_update_bytes and Limits.max_payload_bytes (the largest payload the model can
/// need); its window (the frame header's Window_Size, or a single-segment frame's content
/// size) is at most 2^Limits.max_zstd_window_log bytes (2^23, 8 MiB: zstd levels 1 to 19
/// fit with any API, the streaming ones included; the "ultra" levels 20 to 22 do not unless
/// their window is set lower). A frame over any of these is refused with RESOURCE_EXHAUSTED
/// naming the client and the size or window. Little-endian throughout:
///   "FAT1" (4 bytes) | u8 precision: 0 = float32, 1 = float16 (IEEE binary16),
///                      2 = float32 step (a delta download: see below) | u32 tensor count
///   then per tensor, in the model's order above:
///     u16 name length | name (UTF-8) | u8 rank | u32 dims[rank]
///     u8 sparse (0 or 1) | if sparse: u32 row count, u32 rows[] (strictly ascending, < dims[0])
///     u32 value count (= product of dims, or row count * dims[1] when sparse)
///   then the values of ALL tensors, concatenated in that order, then byte-shuffled over the
///   whole concatenation (not per tensor): with n values of w bytes each (w = 4 for precisions
///   0 and 2, 2 for precision 1), byte k of value i is at offset k * n + i (so equal
///   exponent bytes sit together).
/// Only the two embedding tables may be sparse ("sent as rows"); a row a sparse tensor does
/// not list is zero. A whole model (download) is float32 and dense. An update is w_local - w_g,
/// float16 or float32 (precision 0 or 1), normally with item_embedding sparse, listing the
/// rows that changed: any ascending set of rows that holds every row with a non-zero value
/// is valid (the reference lists the rows whose float32 change is non-zero, so a listed row
/// may hold only zeros once rounded to float16); its row 0 must be zero (when sparse:
/// absent, or listed with zeros), every value finite, its L2 norm over all values at most
/// Limits.max_update_norm.
///
/// A delta download (ModelChunk.delta_from set) takes a model the client holds to the
/// version it asked for, exactly: precision 2 ("float32 step": 4-byte IEEE binary32 values),
/// item_embedding sparse, listing the rows that moved, every other tensor dense; add each value to the held one with one
/// IEEE-754 binary32 addition (round to nearest, ties to even; no fused multiply-add), as the
/// coordinator made the new model. Rows not listed are unchanged. (The coordinator rounds each
/// round's averaged step to 11 significant bits, the precision of a float16 update, before
/// adding it: the steps' low mantissa bytes are then zero.) The coordinator serves such a
/// step from the version published just before (the one a client that evaluated the last
/// round holds), and only when it is smaller than the whole model.
/// A client holding an older version (it missed rounds) may get a catch-up instead: a delta
/// download in precision 0 (float32), item_embedding sparse, listing the rows changed since
/// its version, every other tensor dense; each value REPLACES the held one (rows not listed
/// are unchanged). The coordinator remembers the rows changed by its last 64 published
/// versions (not across a restart) and serves a catch-up when the version is among them and
/// the catch-up carries fewer values than the whole model; otherwise the whole model.
/// The precision byte tells a step (2, add) from a catch-up (0, replace).
///
/// ── Model versions ──────────────────────────────────────────────────────────────────────
/// A version names a model's values, so that a client can check, after a whole or a delta
/// download, that its model is the coordinator's bit for bit: cut item_embedding into blocks
/// of 16 rows (the last may be shorter) and hash each block's values (little-endian float32,
/// row-major) with SHA-256; hash all other tensors' values together, in the model's order,
/// the same way. The version is the lowercase hex SHA-256 of the ASCII bytes "FATD1", the
/// number of blocks as u32 little-endian, the block hashes in order, then the other tensors'
/// hash, each hash as its raw 32 bytes (not hex). (Blocks let a client that applied a delta
/// rehash only the blocks it touched.) An update names the version it started from.
/// A client should check every download: the same total_bytes and delta_from on every piece,
/// each piece at the offset it asked, the bytes adding up to total_bytes, and the model it
/// builds hashing to the version asked (after a delta download that does not, download the
/// whole model: base_version empty).
///
/// ── Status codes ────────────────────────────────────────────────────────────────────────
/// Any call: UNAUTHENTICATED (no client certificate identity, or with --insecure no
/// x-fedattn-client header); PERMISSION_DENIED (the name is not a silo name); ALREADY_EXISTS
/// (another live connection speaks for this silo: retry with backoff, the old one closes
/// within 50 s); UNAVAILABLE (the coordinator is down or restarting: retry with backoff);
/// RESOURCE_EXHAUSTED for a message over Limits.max_message_bytes (4 MiB), naming the client,
/// the method and the size; INVALID_ARGUMENT for bytes that are not the method's protobuf
/// message. (A message over twice that, 8 MiB, is not read at all: the coordinator resets its
/// stream, which a gRPC client reports as CANCELLED. Payloads travel in chunks and pieces far
/// below either.) Per call, below. Every refusal's message names the client (its silo name
/// quoted; before its name is known, its address), the tensor where there is one, the round
/// or model version where there is one, and the reason.

// DO NOT EDIT.
// swift-format-ignore-file
// swiftlint:disable all
//
// Generated by the gRPC Swift generator plugin for the protocol buffer compiler.
// Source: fedattn.proto
//
// For information on using the generated types, please see the documentation:
//   https://github.com/grpc/grpc-swift

import GRPCCore
import GRPCProtobuf

// MARK: - fedattn.v1.Federation

/// Namespace containing generated types for the "fedattn.v1.Federation" service.
@available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
public enum Fedattn_V1_Federation: Sendable {
    /// Service descriptor for the "fedattn.v1.Federation" service.
    public static let descriptor = GRPCCore.ServiceDescriptor(fullyQualifiedService: "fedattn.v1.Federation")
    /// Namespace for method metadata.
    public enum Method: Sendable {
        /// Namespace for "Join" metadata.
        public enum Join: Sendable {
            /// Request type for "Join".
            public typealias Input = Fedattn_V1_JoinRequest
            /// Response type for "Join".
            public typealias Output = Fedattn_V1_JoinResponse
            /// Descriptor for "Join".
            public static let descriptor = GRPCCore.MethodDescriptor(
                service: GRPCCore.ServiceDescriptor(fullyQualifiedService: "fedattn.v1.Federation"),
                method: "Join",
                type: .unary
            )
        }
        /// Namespace for "SharePopularity" metadata.
        public enum SharePopularity: Sendable {
            /// Request type for "SharePopularity".
            public typealias Input = Fedattn_V1_PopularityCounts
            /// Response type for "SharePopularity".
            public typealias Output = Fedattn_V1_PopularityReceipt
            /// Descriptor for "SharePopularity".
            public static let descriptor = GRPCCore.MethodDescriptor(
                service: GRPCCore.ServiceDescriptor(fullyQualifiedService: "fedattn.v1.Federation"),
                method: "SharePopularity",
                type: .unary
            )
        }
        /// Namespace for "NextTask" metadata.
        public enum NextTask: Sendable {
            /// Request type for "NextTask".
            public typealias Input = Fedattn_V1_TaskRequest
            /// Response type for "NextTask".
            public typealias Output = Fedattn_V1_Task
            /// Descriptor for "NextTask".
            public static let descriptor = GRPCCore.MethodDescriptor(
                service: GRPCCore.ServiceDescriptor(fullyQualifiedService: "fedattn.v1.Federation"),
                method: "NextTask",
                type: .unary
            )
        }
        /// Namespace for "DownloadModel" metadata.
        public enum DownloadModel: Sendable {
            /// Request type for "DownloadModel".
            public typealias Input = Fedattn_V1_ModelRequest
            /// Response type for "DownloadModel".
            public typealias Output = Fedattn_V1_ModelChunk
            /// Descriptor for "DownloadModel".
            public static let descriptor = GRPCCore.MethodDescriptor(
                service: GRPCCore.ServiceDescriptor(fullyQualifiedService: "fedattn.v1.Federation"),
                method: "DownloadModel",
                type: .unary
            )
        }
        /// Namespace for "SecureStep" metadata.
        public enum SecureStep: Sendable {
            /// Request type for "SecureStep".
            public typealias Input = Fedattn_V1_SecurePart
            /// Response type for "SecureStep".
            public typealias Output = Fedattn_V1_SecureReceipt
            /// Descriptor for "SecureStep".
            public static let descriptor = GRPCCore.MethodDescriptor(
                service: GRPCCore.ServiceDescriptor(fullyQualifiedService: "fedattn.v1.Federation"),
                method: "SecureStep",
                type: .clientStreaming
            )
        }
        /// Namespace for "ReserveUpload" metadata.
        public enum ReserveUpload: Sendable {
            /// Request type for "ReserveUpload".
            public typealias Input = Fedattn_V1_UploadReservation
            /// Response type for "ReserveUpload".
            public typealias Output = Fedattn_V1_UploadSlot
            /// Descriptor for "ReserveUpload".
            public static let descriptor = GRPCCore.MethodDescriptor(
                service: GRPCCore.ServiceDescriptor(fullyQualifiedService: "fedattn.v1.Federation"),
                method: "ReserveUpload",
                type: .unary
            )
        }
        /// Namespace for "UploadUpdate" metadata.
        public enum UploadUpdate: Sendable {
            /// Request type for "UploadUpdate".
            public typealias Input = Fedattn_V1_UpdateChunk
            /// Response type for "UploadUpdate".
            public typealias Output = Fedattn_V1_UploadReceipt
            /// Descriptor for "UploadUpdate".
            public static let descriptor = GRPCCore.MethodDescriptor(
                service: GRPCCore.ServiceDescriptor(fullyQualifiedService: "fedattn.v1.Federation"),
                method: "UploadUpdate",
                type: .clientStreaming
            )
        }
        /// Namespace for "ReportEvaluation" metadata.
        public enum ReportEvaluation: Sendable {
            /// Request type for "ReportEvaluation".
            public typealias Input = Fedattn_V1_EvaluationReport
            /// Response type for "ReportEvaluation".
            public typealias Output = Fedattn_V1_EvaluationReceipt
            /// Descriptor for "ReportEvaluation".
            public static let descriptor = GRPCCore.MethodDescriptor(
                service: GRPCCore.ServiceDescriptor(fullyQualifiedService: "fedattn.v1.Federation"),
                method: "ReportEvaluation",
                type: .unary
            )
        }
        /// Descriptors for all methods in the "fedattn.v1.Federation" service.
        public static let descriptors: [GRPCCore.MethodDescriptor] = [
            Join.descriptor,
            SharePopularity.descriptor,
            NextTask.descriptor,
            DownloadModel.descriptor,
            SecureStep.descriptor,
            ReserveUpload.descriptor,
            UploadUpdate.descriptor,
            ReportEvaluation.descriptor
        ]
    }
}

@available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
extension GRPCCore.ServiceDescriptor {
    /// Service descriptor for the "fedattn.v1.Federation" service.
    public static let fedattn_v1_Federation = GRPCCore.ServiceDescriptor(fullyQualifiedService: "fedattn.v1.Federation")
}

// MARK: fedattn.v1.Federation (server)

@available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
extension Fedattn_V1_Federation {
    /// Streaming variant of the service protocol for the "fedattn.v1.Federation" service.
    ///
    /// This protocol is the lowest-level of the service protocols generated for this service
    /// giving you the most flexibility over the implementation of your service. This comes at
    /// the cost of more verbose and less strict APIs. Each RPC requires you to implement it in
    /// terms of a request stream and response stream. Where the RPC expects only a single
    /// request or response message, you are responsible for ensuring your implementation
    /// maintains this invariant.
    ///
    /// Where possible, prefer using the stricter, less-verbose ``ServiceProtocol``
    /// or ``SimpleServiceProtocol`` instead.
    public protocol StreamingServiceProtocol: GRPCCore.RegistrableRPCService {
        /// Handle the "Join" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > Registers the caller. FAILED_PRECONDITION: a protocol version the coordinator does not
        /// > speak (the message names the client's and the coordinator's: 11, 10 and 9). INVALID_ARGUMENT: train_examples is 0 or over Limits.max_train_examples, or a
        /// > second Join on the same connection declares another train_examples than the first.
        ///
        /// - Parameters:
        ///   - request: A streaming request of `Fedattn_V1_JoinRequest` messages.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A streaming response of `Fedattn_V1_JoinResponse` messages.
        func join(
            request: GRPCCore.StreamingServerRequest<Fedattn_V1_JoinRequest>,
            context: GRPCCore.ServerContext
        ) async throws -> GRPCCore.StreamingServerResponse<Fedattn_V1_JoinResponse>

        /// Handle the "SharePopularity" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > The caller's items' interaction counts, or its decline, for the most-popular baseline
        /// > (protocol 10; see "The most-popular baseline"), once after Join. Once a silo has shared
        /// > or declined, a later call (on a new connection, say) is acknowledged and changes nothing:
        /// > a silo's counts are pooled once.
        /// > Under POPULARITY_POOLING_SECURE_SUM (protocol 11) it only declines, before the client's
        /// > first NextTask (a decline after its masked counts were summed changes nothing).
        /// > FAILED_PRECONDITION: no Join. INVALID_ARGUMENT, naming the client, the item where there is
        /// > one, and why: the federation pools no counts in the clear (JoinResponse.popularity is
        /// > not POPULARITY_POOLING_ON: secure aggregation, whose counts travel masked instead, or
        /// > differential privacy); the caller joined with protocol 9; `items` and `counts` of different lengths; a decline with items; no items
        /// > and no decline; an item not above the one before, 0 (padding) or past the model's item
        /// > rows (V - 1); a count of 0; more than Limits.max_popularity_items items; counts adding up
        /// > past the train_examples the client declared at Join (overflow included). A refused share
        /// > leaves the client out of the pool; it is not a configuration error: the client carries on.
        ///
        /// - Parameters:
        ///   - request: A streaming request of `Fedattn_V1_PopularityCounts` messages.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A streaming response of `Fedattn_V1_PopularityReceipt` messages.
        func sharePopularity(
            request: GRPCCore.StreamingServerRequest<Fedattn_V1_PopularityCounts>,
            context: GRPCCore.ServerContext
        ) async throws -> GRPCCore.StreamingServerResponse<Fedattn_V1_PopularityReceipt>

        /// Handle the "NextTask" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > The caller's next task (a long poll, see above). FAILED_PRECONDITION: this coordinator
        /// > has no Join from the caller (it restarted since): Join again.
        ///
        /// - Parameters:
        ///   - request: A streaming request of `Fedattn_V1_TaskRequest` messages.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A streaming response of `Fedattn_V1_Task` messages.
        func nextTask(
            request: GRPCCore.StreamingServerRequest<Fedattn_V1_TaskRequest>,
            context: GRPCCore.ServerContext
        ) async throws -> GRPCCore.StreamingServerResponse<Fedattn_V1_Task>

        /// Handle the "DownloadModel" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > One piece of a model version's payload (the whole model, or a delta from `base_version`:
        /// > see ModelChunk.delta_from): the bytes from `offset`, at most `max_bytes`
        /// > and at most Limits.piece_bytes (127 KiB). A client fetches a model piece after piece, so
        /// > the coordinator holds at most one piece per client however many download at once.
        /// > The pieces of one download come from one payload: a download begins with its piece at
        /// > offset 0 (which ends any other download of the client's), and a piece at a later offset
        /// > is served only from the payload that piece came from, whatever connection asks it. So a
        /// > client sends the same model_version and base_version on every piece of a download, and
        /// > one download at a time. FAILED_PRECONDITION: a piece past offset 0 of another payload
        /// > (another version or base, or the payload the download began with is no longer the one
        /// > served), or with no download begun; the message names the client and both versions:
        /// > begin the download again at offset 0.
        /// > NOT_FOUND: a version the coordinator no longer serves: the task that named it is stale,
        /// > so drop it and ask for the next task. (The current version is served; the one before
        /// > while clients finish the downloads they started, only as payloads already made of it;
        /// > while a new version is being stored the current one is not encoded whole anew.)
        /// > OUT_OF_RANGE: `offset` past the end; UNAVAILABLE: the payload could not be read.
        ///
        /// - Parameters:
        ///   - request: A streaming request of `Fedattn_V1_ModelRequest` messages.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A streaming response of `Fedattn_V1_ModelChunk` messages.
        func downloadModel(
            request: GRPCCore.StreamingServerRequest<Fedattn_V1_ModelRequest>,
            context: GRPCCore.ServerContext
        ) async throws -> GRPCCore.StreamingServerResponse<Fedattn_V1_ModelChunk>

        /// Handle the "SecureStep" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > One answer to a phase of a secure round (see "Secure aggregation"). ABORTED: another
        /// > round, attempt or phase is under way, or the caller is not waited for (or already
        /// > answered). FAILED_PRECONDITION: no Join. INVALID_ARGUMENT: the federation runs no secure
        /// > aggregation, or the answer does not fit the round (keys not 32 bytes or not its own,
        /// > shares to clients that are not its advertising neighbours, a vector of the wrong
        /// > length, a share of the wrong kind, point or size), or example_count 0 or over what
        /// > the client declared. Uploads are refused with INVALID_ARGUMENT in a secure federation.
        /// > The reply comes first, then its masked vector's bytes (if any); a reply with a masked
        /// > vector claims an upload slot of its own (a reservation is not needed; one the caller
        /// > holds is used), waiting for one if all are taken, and holds it while the bytes arrive,
        /// > within Limits.upload_timeout_ms. INVALID_ARGUMENT also: train_seconds not finite or
        /// > negative. RESOURCE_EXHAUSTED: another upload of the caller's is being read.
        ///
        /// - Parameters:
        ///   - request: A streaming request of `Fedattn_V1_SecurePart` messages.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A streaming response of `Fedattn_V1_SecureReceipt` messages.
        func secureStep(
            request: GRPCCore.StreamingServerRequest<Fedattn_V1_SecurePart>,
            context: GRPCCore.ServerContext
        ) async throws -> GRPCCore.StreamingServerResponse<Fedattn_V1_SecureReceipt>

        /// Handle the "ReserveUpload" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > A slot for uploading the caller's update for `round`. The coordinator reads
        /// > Limits.upload_slots uploads at a time. Reserving is optional but spares memory: an
        /// > UploadUpdate without a reservation is accepted too, and waits (its first chunks held by
        /// > the transport) for a slot before its bytes are read. A client holds at most one slot,
        /// > however often it reserves: a second reservation while it holds one is granted at once,
        /// > the same slot. The call is held up to a second; `granted` false means ask again after
        /// > `retry_after_ms`. A granted slot is the caller's until its upload ends, or for 10 seconds
        /// > if no upload starts. ABORTED: the update is no longer wanted (another round or base
        /// > version, not selected, already sent). FAILED_PRECONDITION: no Join (Join again).
        ///
        /// - Parameters:
        ///   - request: A streaming request of `Fedattn_V1_UploadReservation` messages.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A streaming response of `Fedattn_V1_UploadSlot` messages.
        func reserveUpload(
            request: GRPCCore.StreamingServerRequest<Fedattn_V1_UploadReservation>,
            context: GRPCCore.ServerContext
        ) async throws -> GRPCCore.StreamingServerResponse<Fedattn_V1_UploadSlot>

        /// Handle the "UploadUpdate" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > One training update: a header first, then the payload in data chunks of at most
        /// > Limits.update_chunk_bytes. The whole upload must arrive within Limits.upload_timeout_ms
        /// > (DEADLINE_EXCEEDED otherwise). ABORTED: stale (as ReserveUpload, checked on the header
        /// > before any data is read), or the round closed while it arrived. FAILED_PRECONDITION:
        /// > no Join. RESOURCE_EXHAUSTED also when another upload of the caller's is being read
        /// > (one at a time). INVALID_ARGUMENT: no header or a second one, data past the declared
        /// > size, fewer bytes than declared, a payload that does not decode or does not fit the
        /// > model (which tensor and why), non-finite values, a non-zero padding row, a dense tensor
        /// > sent as rows, a norm over the bound, example_count 0 or over what the client declared at
        /// > Join, train_seconds not finite or negative; in a secure federation, any upload.
        /// > RESOURCE_EXHAUSTED: a payload over Limits.max_update_bytes, one that decompresses past
        /// > it or past Limits.max_payload_bytes, or a zstd window over 2^Limits.max_zstd_window_log
        /// > bytes (the message names the window).
        ///
        /// - Parameters:
        ///   - request: A streaming request of `Fedattn_V1_UpdateChunk` messages.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A streaming response of `Fedattn_V1_UploadReceipt` messages.
        func uploadUpdate(
            request: GRPCCore.StreamingServerRequest<Fedattn_V1_UpdateChunk>,
            context: GRPCCore.ServerContext
        ) async throws -> GRPCCore.StreamingServerResponse<Fedattn_V1_UploadReceipt>

        /// Handle the "ReportEvaluation" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > Scores of a model version on the caller's test split, as histograms. ABORTED: no
        /// > evaluation is being collected, or another round's, or another model's (the report's
        /// > `round` and `model_version` must echo its EVALUATE task's), or the caller was not asked
        /// > (or already reported); the message names the client, the round and the model.
        /// > FAILED_PRECONDITION: no Join. INVALID_ARGUMENT, naming the client and the figure:
        /// >   - positive_histogram or negative_histogram not of exactly 4096 bins; the validation
        /// >     histograms neither both empty nor both of 4096 bins;
        /// >   - validation_examples or validation_log_loss_sum not 0 without validation histograms;
        /// >   - for the test split and the validation split each: the log-loss sum negative, not
        /// >     finite, or other than 0 over no examples; the example count not the sum of its two
        /// >     histograms' counts; that sum over Limits.max_train_examples;
        /// >   - validation_examples over the train_examples the client declared at Join;
        /// >   - a ranking no client could have made, for each of (ranked_users, hits_at_10,
        /// >     ndcg_at_10_sum, K = 10) and (catalogue_ranked_users, hits_at_20, ndcg_at_20_sum,
        /// >     K = 20) over the test split and (validation_ranked_users, validation_hits_at_10,
        /// >     validation_ndcg_at_10_sum, K = 10) over the validation split: users over the
        /// >     split's positive examples (the count in its positive histogram), hits over users,
        /// >     or the NDCG sum not finite, over hits, or under hits / log2(K + 1) (within 1e-9);
        /// >   - the same for `popularity`'s two (sampled, K = 10; whole catalogue, K = 20) over the
        /// >     test split. (Popularity sums from a client that was given no pooled counts, or beside
        /// >     sums the coordinator already holds from it, are not read.)
        /// > Nothing else bounds a report: its counts and ranked users may be anything up to
        /// > Limits.max_train_examples. What the coordinator does with reports it takes: each round's
        /// > pooled figures add the silos' sums, but a silo whose counts per declared train example
        /// > are over twice the median silo's is weighed down to that; the round kept (and early
        /// > stopping) goes by trimmed means of the silos' own validation AUC (or NDCG@10), each
        /// > silo counting once; a silo whose figures (or their change since its last report) lie
        /// > far from the others' (over 0.25 and over 5 robust standard deviations from the median)
        /// > is named in the coordinator's log and the round's history and left out of its figures.
        ///
        /// - Parameters:
        ///   - request: A streaming request of `Fedattn_V1_EvaluationReport` messages.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A streaming response of `Fedattn_V1_EvaluationReceipt` messages.
        func reportEvaluation(
            request: GRPCCore.StreamingServerRequest<Fedattn_V1_EvaluationReport>,
            context: GRPCCore.ServerContext
        ) async throws -> GRPCCore.StreamingServerResponse<Fedattn_V1_EvaluationReceipt>
    }

    /// Service protocol for the "fedattn.v1.Federation" service.
    ///
    /// This protocol is higher level than ``StreamingServiceProtocol`` but lower level than
    /// the ``SimpleServiceProtocol``, it provides access to request and response metadata and
    /// trailing response metadata. If you don't need these then consider using
    /// the ``SimpleServiceProtocol``. If you need fine grained control over your RPCs then
    /// use ``StreamingServiceProtocol``.
    public protocol ServiceProtocol: Fedattn_V1_Federation.StreamingServiceProtocol {
        /// Handle the "Join" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > Registers the caller. FAILED_PRECONDITION: a protocol version the coordinator does not
        /// > speak (the message names the client's and the coordinator's: 11, 10 and 9). INVALID_ARGUMENT: train_examples is 0 or over Limits.max_train_examples, or a
        /// > second Join on the same connection declares another train_examples than the first.
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_JoinRequest` message.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A response containing a single `Fedattn_V1_JoinResponse` message.
        func join(
            request: GRPCCore.ServerRequest<Fedattn_V1_JoinRequest>,
            context: GRPCCore.ServerContext
        ) async throws -> GRPCCore.ServerResponse<Fedattn_V1_JoinResponse>

        /// Handle the "SharePopularity" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > The caller's items' interaction counts, or its decline, for the most-popular baseline
        /// > (protocol 10; see "The most-popular baseline"), once after Join. Once a silo has shared
        /// > or declined, a later call (on a new connection, say) is acknowledged and changes nothing:
        /// > a silo's counts are pooled once.
        /// > Under POPULARITY_POOLING_SECURE_SUM (protocol 11) it only declines, before the client's
        /// > first NextTask (a decline after its masked counts were summed changes nothing).
        /// > FAILED_PRECONDITION: no Join. INVALID_ARGUMENT, naming the client, the item where there is
        /// > one, and why: the federation pools no counts in the clear (JoinResponse.popularity is
        /// > not POPULARITY_POOLING_ON: secure aggregation, whose counts travel masked instead, or
        /// > differential privacy); the caller joined with protocol 9; `items` and `counts` of different lengths; a decline with items; no items
        /// > and no decline; an item not above the one before, 0 (padding) or past the model's item
        /// > rows (V - 1); a count of 0; more than Limits.max_popularity_items items; counts adding up
        /// > past the train_examples the client declared at Join (overflow included). A refused share
        /// > leaves the client out of the pool; it is not a configuration error: the client carries on.
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_PopularityCounts` message.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A response containing a single `Fedattn_V1_PopularityReceipt` message.
        func sharePopularity(
            request: GRPCCore.ServerRequest<Fedattn_V1_PopularityCounts>,
            context: GRPCCore.ServerContext
        ) async throws -> GRPCCore.ServerResponse<Fedattn_V1_PopularityReceipt>

        /// Handle the "NextTask" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > The caller's next task (a long poll, see above). FAILED_PRECONDITION: this coordinator
        /// > has no Join from the caller (it restarted since): Join again.
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_TaskRequest` message.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A response containing a single `Fedattn_V1_Task` message.
        func nextTask(
            request: GRPCCore.ServerRequest<Fedattn_V1_TaskRequest>,
            context: GRPCCore.ServerContext
        ) async throws -> GRPCCore.ServerResponse<Fedattn_V1_Task>

        /// Handle the "DownloadModel" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > One piece of a model version's payload (the whole model, or a delta from `base_version`:
        /// > see ModelChunk.delta_from): the bytes from `offset`, at most `max_bytes`
        /// > and at most Limits.piece_bytes (127 KiB). A client fetches a model piece after piece, so
        /// > the coordinator holds at most one piece per client however many download at once.
        /// > The pieces of one download come from one payload: a download begins with its piece at
        /// > offset 0 (which ends any other download of the client's), and a piece at a later offset
        /// > is served only from the payload that piece came from, whatever connection asks it. So a
        /// > client sends the same model_version and base_version on every piece of a download, and
        /// > one download at a time. FAILED_PRECONDITION: a piece past offset 0 of another payload
        /// > (another version or base, or the payload the download began with is no longer the one
        /// > served), or with no download begun; the message names the client and both versions:
        /// > begin the download again at offset 0.
        /// > NOT_FOUND: a version the coordinator no longer serves: the task that named it is stale,
        /// > so drop it and ask for the next task. (The current version is served; the one before
        /// > while clients finish the downloads they started, only as payloads already made of it;
        /// > while a new version is being stored the current one is not encoded whole anew.)
        /// > OUT_OF_RANGE: `offset` past the end; UNAVAILABLE: the payload could not be read.
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_ModelRequest` message.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A response containing a single `Fedattn_V1_ModelChunk` message.
        func downloadModel(
            request: GRPCCore.ServerRequest<Fedattn_V1_ModelRequest>,
            context: GRPCCore.ServerContext
        ) async throws -> GRPCCore.ServerResponse<Fedattn_V1_ModelChunk>

        /// Handle the "SecureStep" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > One answer to a phase of a secure round (see "Secure aggregation"). ABORTED: another
        /// > round, attempt or phase is under way, or the caller is not waited for (or already
        /// > answered). FAILED_PRECONDITION: no Join. INVALID_ARGUMENT: the federation runs no secure
        /// > aggregation, or the answer does not fit the round (keys not 32 bytes or not its own,
        /// > shares to clients that are not its advertising neighbours, a vector of the wrong
        /// > length, a share of the wrong kind, point or size), or example_count 0 or over what
        /// > the client declared. Uploads are refused with INVALID_ARGUMENT in a secure federation.
        /// > The reply comes first, then its masked vector's bytes (if any); a reply with a masked
        /// > vector claims an upload slot of its own (a reservation is not needed; one the caller
        /// > holds is used), waiting for one if all are taken, and holds it while the bytes arrive,
        /// > within Limits.upload_timeout_ms. INVALID_ARGUMENT also: train_seconds not finite or
        /// > negative. RESOURCE_EXHAUSTED: another upload of the caller's is being read.
        ///
        /// - Parameters:
        ///   - request: A streaming request of `Fedattn_V1_SecurePart` messages.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A response containing a single `Fedattn_V1_SecureReceipt` message.
        func secureStep(
            request: GRPCCore.StreamingServerRequest<Fedattn_V1_SecurePart>,
            context: GRPCCore.ServerContext
        ) async throws -> GRPCCore.ServerResponse<Fedattn_V1_SecureReceipt>

        /// Handle the "ReserveUpload" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > A slot for uploading the caller's update for `round`. The coordinator reads
        /// > Limits.upload_slots uploads at a time. Reserving is optional but spares memory: an
        /// > UploadUpdate without a reservation is accepted too, and waits (its first chunks held by
        /// > the transport) for a slot before its bytes are read. A client holds at most one slot,
        /// > however often it reserves: a second reservation while it holds one is granted at once,
        /// > the same slot. The call is held up to a second; `granted` false means ask again after
        /// > `retry_after_ms`. A granted slot is the caller's until its upload ends, or for 10 seconds
        /// > if no upload starts. ABORTED: the update is no longer wanted (another round or base
        /// > version, not selected, already sent). FAILED_PRECONDITION: no Join (Join again).
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_UploadReservation` message.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A response containing a single `Fedattn_V1_UploadSlot` message.
        func reserveUpload(
            request: GRPCCore.ServerRequest<Fedattn_V1_UploadReservation>,
            context: GRPCCore.ServerContext
        ) async throws -> GRPCCore.ServerResponse<Fedattn_V1_UploadSlot>

        /// Handle the "UploadUpdate" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > One training update: a header first, then the payload in data chunks of at most
        /// > Limits.update_chunk_bytes. The whole upload must arrive within Limits.upload_timeout_ms
        /// > (DEADLINE_EXCEEDED otherwise). ABORTED: stale (as ReserveUpload, checked on the header
        /// > before any data is read), or the round closed while it arrived. FAILED_PRECONDITION:
        /// > no Join. RESOURCE_EXHAUSTED also when another upload of the caller's is being read
        /// > (one at a time). INVALID_ARGUMENT: no header or a second one, data past the declared
        /// > size, fewer bytes than declared, a payload that does not decode or does not fit the
        /// > model (which tensor and why), non-finite values, a non-zero padding row, a dense tensor
        /// > sent as rows, a norm over the bound, example_count 0 or over what the client declared at
        /// > Join, train_seconds not finite or negative; in a secure federation, any upload.
        /// > RESOURCE_EXHAUSTED: a payload over Limits.max_update_bytes, one that decompresses past
        /// > it or past Limits.max_payload_bytes, or a zstd window over 2^Limits.max_zstd_window_log
        /// > bytes (the message names the window).
        ///
        /// - Parameters:
        ///   - request: A streaming request of `Fedattn_V1_UpdateChunk` messages.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A response containing a single `Fedattn_V1_UploadReceipt` message.
        func uploadUpdate(
            request: GRPCCore.StreamingServerRequest<Fedattn_V1_UpdateChunk>,
            context: GRPCCore.ServerContext
        ) async throws -> GRPCCore.ServerResponse<Fedattn_V1_UploadReceipt>

        /// Handle the "ReportEvaluation" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > Scores of a model version on the caller's test split, as histograms. ABORTED: no
        /// > evaluation is being collected, or another round's, or another model's (the report's
        /// > `round` and `model_version` must echo its EVALUATE task's), or the caller was not asked
        /// > (or already reported); the message names the client, the round and the model.
        /// > FAILED_PRECONDITION: no Join. INVALID_ARGUMENT, naming the client and the figure:
        /// >   - positive_histogram or negative_histogram not of exactly 4096 bins; the validation
        /// >     histograms neither both empty nor both of 4096 bins;
        /// >   - validation_examples or validation_log_loss_sum not 0 without validation histograms;
        /// >   - for the test split and the validation split each: the log-loss sum negative, not
        /// >     finite, or other than 0 over no examples; the example count not the sum of its two
        /// >     histograms' counts; that sum over Limits.max_train_examples;
        /// >   - validation_examples over the train_examples the client declared at Join;
        /// >   - a ranking no client could have made, for each of (ranked_users, hits_at_10,
        /// >     ndcg_at_10_sum, K = 10) and (catalogue_ranked_users, hits_at_20, ndcg_at_20_sum,
        /// >     K = 20) over the test split and (validation_ranked_users, validation_hits_at_10,
        /// >     validation_ndcg_at_10_sum, K = 10) over the validation split: users over the
        /// >     split's positive examples (the count in its positive histogram), hits over users,
        /// >     or the NDCG sum not finite, over hits, or under hits / log2(K + 1) (within 1e-9);
        /// >   - the same for `popularity`'s two (sampled, K = 10; whole catalogue, K = 20) over the
        /// >     test split. (Popularity sums from a client that was given no pooled counts, or beside
        /// >     sums the coordinator already holds from it, are not read.)
        /// > Nothing else bounds a report: its counts and ranked users may be anything up to
        /// > Limits.max_train_examples. What the coordinator does with reports it takes: each round's
        /// > pooled figures add the silos' sums, but a silo whose counts per declared train example
        /// > are over twice the median silo's is weighed down to that; the round kept (and early
        /// > stopping) goes by trimmed means of the silos' own validation AUC (or NDCG@10), each
        /// > silo counting once; a silo whose figures (or their change since its last report) lie
        /// > far from the others' (over 0.25 and over 5 robust standard deviations from the median)
        /// > is named in the coordinator's log and the round's history and left out of its figures.
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_EvaluationReport` message.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A response containing a single `Fedattn_V1_EvaluationReceipt` message.
        func reportEvaluation(
            request: GRPCCore.ServerRequest<Fedattn_V1_EvaluationReport>,
            context: GRPCCore.ServerContext
        ) async throws -> GRPCCore.ServerResponse<Fedattn_V1_EvaluationReceipt>
    }

    /// Simple service protocol for the "fedattn.v1.Federation" service.
    ///
    /// This is the highest level protocol for the service. The API is the easiest to use but
    /// doesn't provide access to request or response metadata. If you need access to these
    /// then use ``ServiceProtocol`` instead.
    public protocol SimpleServiceProtocol: Fedattn_V1_Federation.ServiceProtocol {
        /// Handle the "Join" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > Registers the caller. FAILED_PRECONDITION: a protocol version the coordinator does not
        /// > speak (the message names the client's and the coordinator's: 11, 10 and 9). INVALID_ARGUMENT: train_examples is 0 or over Limits.max_train_examples, or a
        /// > second Join on the same connection declares another train_examples than the first.
        ///
        /// - Parameters:
        ///   - request: A `Fedattn_V1_JoinRequest` message.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A `Fedattn_V1_JoinResponse` to respond with.
        func join(
            request: Fedattn_V1_JoinRequest,
            context: GRPCCore.ServerContext
        ) async throws -> Fedattn_V1_JoinResponse

        /// Handle the "SharePopularity" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > The caller's items' interaction counts, or its decline, for the most-popular baseline
        /// > (protocol 10; see "The most-popular baseline"), once after Join. Once a silo has shared
        /// > or declined, a later call (on a new connection, say) is acknowledged and changes nothing:
        /// > a silo's counts are pooled once.
        /// > Under POPULARITY_POOLING_SECURE_SUM (protocol 11) it only declines, before the client's
        /// > first NextTask (a decline after its masked counts were summed changes nothing).
        /// > FAILED_PRECONDITION: no Join. INVALID_ARGUMENT, naming the client, the item where there is
        /// > one, and why: the federation pools no counts in the clear (JoinResponse.popularity is
        /// > not POPULARITY_POOLING_ON: secure aggregation, whose counts travel masked instead, or
        /// > differential privacy); the caller joined with protocol 9; `items` and `counts` of different lengths; a decline with items; no items
        /// > and no decline; an item not above the one before, 0 (padding) or past the model's item
        /// > rows (V - 1); a count of 0; more than Limits.max_popularity_items items; counts adding up
        /// > past the train_examples the client declared at Join (overflow included). A refused share
        /// > leaves the client out of the pool; it is not a configuration error: the client carries on.
        ///
        /// - Parameters:
        ///   - request: A `Fedattn_V1_PopularityCounts` message.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A `Fedattn_V1_PopularityReceipt` to respond with.
        func sharePopularity(
            request: Fedattn_V1_PopularityCounts,
            context: GRPCCore.ServerContext
        ) async throws -> Fedattn_V1_PopularityReceipt

        /// Handle the "NextTask" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > The caller's next task (a long poll, see above). FAILED_PRECONDITION: this coordinator
        /// > has no Join from the caller (it restarted since): Join again.
        ///
        /// - Parameters:
        ///   - request: A `Fedattn_V1_TaskRequest` message.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A `Fedattn_V1_Task` to respond with.
        func nextTask(
            request: Fedattn_V1_TaskRequest,
            context: GRPCCore.ServerContext
        ) async throws -> Fedattn_V1_Task

        /// Handle the "DownloadModel" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > One piece of a model version's payload (the whole model, or a delta from `base_version`:
        /// > see ModelChunk.delta_from): the bytes from `offset`, at most `max_bytes`
        /// > and at most Limits.piece_bytes (127 KiB). A client fetches a model piece after piece, so
        /// > the coordinator holds at most one piece per client however many download at once.
        /// > The pieces of one download come from one payload: a download begins with its piece at
        /// > offset 0 (which ends any other download of the client's), and a piece at a later offset
        /// > is served only from the payload that piece came from, whatever connection asks it. So a
        /// > client sends the same model_version and base_version on every piece of a download, and
        /// > one download at a time. FAILED_PRECONDITION: a piece past offset 0 of another payload
        /// > (another version or base, or the payload the download began with is no longer the one
        /// > served), or with no download begun; the message names the client and both versions:
        /// > begin the download again at offset 0.
        /// > NOT_FOUND: a version the coordinator no longer serves: the task that named it is stale,
        /// > so drop it and ask for the next task. (The current version is served; the one before
        /// > while clients finish the downloads they started, only as payloads already made of it;
        /// > while a new version is being stored the current one is not encoded whole anew.)
        /// > OUT_OF_RANGE: `offset` past the end; UNAVAILABLE: the payload could not be read.
        ///
        /// - Parameters:
        ///   - request: A `Fedattn_V1_ModelRequest` message.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A `Fedattn_V1_ModelChunk` to respond with.
        func downloadModel(
            request: Fedattn_V1_ModelRequest,
            context: GRPCCore.ServerContext
        ) async throws -> Fedattn_V1_ModelChunk

        /// Handle the "SecureStep" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > One answer to a phase of a secure round (see "Secure aggregation"). ABORTED: another
        /// > round, attempt or phase is under way, or the caller is not waited for (or already
        /// > answered). FAILED_PRECONDITION: no Join. INVALID_ARGUMENT: the federation runs no secure
        /// > aggregation, or the answer does not fit the round (keys not 32 bytes or not its own,
        /// > shares to clients that are not its advertising neighbours, a vector of the wrong
        /// > length, a share of the wrong kind, point or size), or example_count 0 or over what
        /// > the client declared. Uploads are refused with INVALID_ARGUMENT in a secure federation.
        /// > The reply comes first, then its masked vector's bytes (if any); a reply with a masked
        /// > vector claims an upload slot of its own (a reservation is not needed; one the caller
        /// > holds is used), waiting for one if all are taken, and holds it while the bytes arrive,
        /// > within Limits.upload_timeout_ms. INVALID_ARGUMENT also: train_seconds not finite or
        /// > negative. RESOURCE_EXHAUSTED: another upload of the caller's is being read.
        ///
        /// - Parameters:
        ///   - request: A stream of `Fedattn_V1_SecurePart` messages.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A `Fedattn_V1_SecureReceipt` to respond with.
        func secureStep(
            request: GRPCCore.RPCAsyncSequence<Fedattn_V1_SecurePart, any Swift.Error>,
            context: GRPCCore.ServerContext
        ) async throws -> Fedattn_V1_SecureReceipt

        /// Handle the "ReserveUpload" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > A slot for uploading the caller's update for `round`. The coordinator reads
        /// > Limits.upload_slots uploads at a time. Reserving is optional but spares memory: an
        /// > UploadUpdate without a reservation is accepted too, and waits (its first chunks held by
        /// > the transport) for a slot before its bytes are read. A client holds at most one slot,
        /// > however often it reserves: a second reservation while it holds one is granted at once,
        /// > the same slot. The call is held up to a second; `granted` false means ask again after
        /// > `retry_after_ms`. A granted slot is the caller's until its upload ends, or for 10 seconds
        /// > if no upload starts. ABORTED: the update is no longer wanted (another round or base
        /// > version, not selected, already sent). FAILED_PRECONDITION: no Join (Join again).
        ///
        /// - Parameters:
        ///   - request: A `Fedattn_V1_UploadReservation` message.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A `Fedattn_V1_UploadSlot` to respond with.
        func reserveUpload(
            request: Fedattn_V1_UploadReservation,
            context: GRPCCore.ServerContext
        ) async throws -> Fedattn_V1_UploadSlot

        /// Handle the "UploadUpdate" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > One training update: a header first, then the payload in data chunks of at most
        /// > Limits.update_chunk_bytes. The whole upload must arrive within Limits.upload_timeout_ms
        /// > (DEADLINE_EXCEEDED otherwise). ABORTED: stale (as ReserveUpload, checked on the header
        /// > before any data is read), or the round closed while it arrived. FAILED_PRECONDITION:
        /// > no Join. RESOURCE_EXHAUSTED also when another upload of the caller's is being read
        /// > (one at a time). INVALID_ARGUMENT: no header or a second one, data past the declared
        /// > size, fewer bytes than declared, a payload that does not decode or does not fit the
        /// > model (which tensor and why), non-finite values, a non-zero padding row, a dense tensor
        /// > sent as rows, a norm over the bound, example_count 0 or over what the client declared at
        /// > Join, train_seconds not finite or negative; in a secure federation, any upload.
        /// > RESOURCE_EXHAUSTED: a payload over Limits.max_update_bytes, one that decompresses past
        /// > it or past Limits.max_payload_bytes, or a zstd window over 2^Limits.max_zstd_window_log
        /// > bytes (the message names the window).
        ///
        /// - Parameters:
        ///   - request: A stream of `Fedattn_V1_UpdateChunk` messages.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A `Fedattn_V1_UploadReceipt` to respond with.
        func uploadUpdate(
            request: GRPCCore.RPCAsyncSequence<Fedattn_V1_UpdateChunk, any Swift.Error>,
            context: GRPCCore.ServerContext
        ) async throws -> Fedattn_V1_UploadReceipt

        /// Handle the "ReportEvaluation" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > Scores of a model version on the caller's test split, as histograms. ABORTED: no
        /// > evaluation is being collected, or another round's, or another model's (the report's
        /// > `round` and `model_version` must echo its EVALUATE task's), or the caller was not asked
        /// > (or already reported); the message names the client, the round and the model.
        /// > FAILED_PRECONDITION: no Join. INVALID_ARGUMENT, naming the client and the figure:
        /// >   - positive_histogram or negative_histogram not of exactly 4096 bins; the validation
        /// >     histograms neither both empty nor both of 4096 bins;
        /// >   - validation_examples or validation_log_loss_sum not 0 without validation histograms;
        /// >   - for the test split and the validation split each: the log-loss sum negative, not
        /// >     finite, or other than 0 over no examples; the example count not the sum of its two
        /// >     histograms' counts; that sum over Limits.max_train_examples;
        /// >   - validation_examples over the train_examples the client declared at Join;
        /// >   - a ranking no client could have made, for each of (ranked_users, hits_at_10,
        /// >     ndcg_at_10_sum, K = 10) and (catalogue_ranked_users, hits_at_20, ndcg_at_20_sum,
        /// >     K = 20) over the test split and (validation_ranked_users, validation_hits_at_10,
        /// >     validation_ndcg_at_10_sum, K = 10) over the validation split: users over the
        /// >     split's positive examples (the count in its positive histogram), hits over users,
        /// >     or the NDCG sum not finite, over hits, or under hits / log2(K + 1) (within 1e-9);
        /// >   - the same for `popularity`'s two (sampled, K = 10; whole catalogue, K = 20) over the
        /// >     test split. (Popularity sums from a client that was given no pooled counts, or beside
        /// >     sums the coordinator already holds from it, are not read.)
        /// > Nothing else bounds a report: its counts and ranked users may be anything up to
        /// > Limits.max_train_examples. What the coordinator does with reports it takes: each round's
        /// > pooled figures add the silos' sums, but a silo whose counts per declared train example
        /// > are over twice the median silo's is weighed down to that; the round kept (and early
        /// > stopping) goes by trimmed means of the silos' own validation AUC (or NDCG@10), each
        /// > silo counting once; a silo whose figures (or their change since its last report) lie
        /// > far from the others' (over 0.25 and over 5 robust standard deviations from the median)
        /// > is named in the coordinator's log and the round's history and left out of its figures.
        ///
        /// - Parameters:
        ///   - request: A `Fedattn_V1_EvaluationReport` message.
        ///   - context: Context providing information about the RPC.
        /// - Throws: Any error which occurred during the processing of the request. Thrown errors
        ///     of type `RPCError` are mapped to appropriate statuses. All other errors are converted
        ///     to an internal error.
        /// - Returns: A `Fedattn_V1_EvaluationReceipt` to respond with.
        func reportEvaluation(
            request: Fedattn_V1_EvaluationReport,
            context: GRPCCore.ServerContext
        ) async throws -> Fedattn_V1_EvaluationReceipt
    }
}

// Default implementation of 'registerMethods(with:)'.
@available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
extension Fedattn_V1_Federation.StreamingServiceProtocol {
    public func registerMethods<Transport>(with router: inout GRPCCore.RPCRouter<Transport>) where Transport: GRPCCore.ServerTransport {
        router.registerHandler(
            forMethod: Fedattn_V1_Federation.Method.Join.descriptor,
            deserializer: GRPCProtobuf.ProtobufDeserializer<Fedattn_V1_JoinRequest>(),
            serializer: GRPCProtobuf.ProtobufSerializer<Fedattn_V1_JoinResponse>(),
            handler: { request, context in
                try await self.join(
                    request: request,
                    context: context
                )
            }
        )
        router.registerHandler(
            forMethod: Fedattn_V1_Federation.Method.SharePopularity.descriptor,
            deserializer: GRPCProtobuf.ProtobufDeserializer<Fedattn_V1_PopularityCounts>(),
            serializer: GRPCProtobuf.ProtobufSerializer<Fedattn_V1_PopularityReceipt>(),
            handler: { request, context in
                try await self.sharePopularity(
                    request: request,
                    context: context
                )
            }
        )
        router.registerHandler(
            forMethod: Fedattn_V1_Federation.Method.NextTask.descriptor,
            deserializer: GRPCProtobuf.ProtobufDeserializer<Fedattn_V1_TaskRequest>(),
            serializer: GRPCProtobuf.ProtobufSerializer<Fedattn_V1_Task>(),
            handler: { request, context in
                try await self.nextTask(
                    request: request,
                    context: context
                )
            }
        )
        router.registerHandler(
            forMethod: Fedattn_V1_Federation.Method.DownloadModel.descriptor,
            deserializer: GRPCProtobuf.ProtobufDeserializer<Fedattn_V1_ModelRequest>(),
            serializer: GRPCProtobuf.ProtobufSerializer<Fedattn_V1_ModelChunk>(),
            handler: { request, context in
                try await self.downloadModel(
                    request: request,
                    context: context
                )
            }
        )
        router.registerHandler(
            forMethod: Fedattn_V1_Federation.Method.SecureStep.descriptor,
            deserializer: GRPCProtobuf.ProtobufDeserializer<Fedattn_V1_SecurePart>(),
            serializer: GRPCProtobuf.ProtobufSerializer<Fedattn_V1_SecureReceipt>(),
            handler: { request, context in
                try await self.secureStep(
                    request: request,
                    context: context
                )
            }
        )
        router.registerHandler(
            forMethod: Fedattn_V1_Federation.Method.ReserveUpload.descriptor,
            deserializer: GRPCProtobuf.ProtobufDeserializer<Fedattn_V1_UploadReservation>(),
            serializer: GRPCProtobuf.ProtobufSerializer<Fedattn_V1_UploadSlot>(),
            handler: { request, context in
                try await self.reserveUpload(
                    request: request,
                    context: context
                )
            }
        )
        router.registerHandler(
            forMethod: Fedattn_V1_Federation.Method.UploadUpdate.descriptor,
            deserializer: GRPCProtobuf.ProtobufDeserializer<Fedattn_V1_UpdateChunk>(),
            serializer: GRPCProtobuf.ProtobufSerializer<Fedattn_V1_UploadReceipt>(),
            handler: { request, context in
                try await self.uploadUpdate(
                    request: request,
                    context: context
                )
            }
        )
        router.registerHandler(
            forMethod: Fedattn_V1_Federation.Method.ReportEvaluation.descriptor,
            deserializer: GRPCProtobuf.ProtobufDeserializer<Fedattn_V1_EvaluationReport>(),
            serializer: GRPCProtobuf.ProtobufSerializer<Fedattn_V1_EvaluationReceipt>(),
            handler: { request, context in
                try await self.reportEvaluation(
                    request: request,
                    context: context
                )
            }
        )
    }
}

// Default implementation of streaming methods from 'StreamingServiceProtocol'.
@available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
extension Fedattn_V1_Federation.ServiceProtocol {
    public func join(
        request: GRPCCore.StreamingServerRequest<Fedattn_V1_JoinRequest>,
        context: GRPCCore.ServerContext
    ) async throws -> GRPCCore.StreamingServerResponse<Fedattn_V1_JoinResponse> {
        let response = try await self.join(
            request: GRPCCore.ServerRequest(stream: request),
            context: context
        )
        return GRPCCore.StreamingServerResponse(single: response)
    }

    public func sharePopularity(
        request: GRPCCore.StreamingServerRequest<Fedattn_V1_PopularityCounts>,
        context: GRPCCore.ServerContext
    ) async throws -> GRPCCore.StreamingServerResponse<Fedattn_V1_PopularityReceipt> {
        let response = try await self.sharePopularity(
            request: GRPCCore.ServerRequest(stream: request),
            context: context
        )
        return GRPCCore.StreamingServerResponse(single: response)
    }

    public func nextTask(
        request: GRPCCore.StreamingServerRequest<Fedattn_V1_TaskRequest>,
        context: GRPCCore.ServerContext
    ) async throws -> GRPCCore.StreamingServerResponse<Fedattn_V1_Task> {
        let response = try await self.nextTask(
            request: GRPCCore.ServerRequest(stream: request),
            context: context
        )
        return GRPCCore.StreamingServerResponse(single: response)
    }

    public func downloadModel(
        request: GRPCCore.StreamingServerRequest<Fedattn_V1_ModelRequest>,
        context: GRPCCore.ServerContext
    ) async throws -> GRPCCore.StreamingServerResponse<Fedattn_V1_ModelChunk> {
        let response = try await self.downloadModel(
            request: GRPCCore.ServerRequest(stream: request),
            context: context
        )
        return GRPCCore.StreamingServerResponse(single: response)
    }

    public func secureStep(
        request: GRPCCore.StreamingServerRequest<Fedattn_V1_SecurePart>,
        context: GRPCCore.ServerContext
    ) async throws -> GRPCCore.StreamingServerResponse<Fedattn_V1_SecureReceipt> {
        let response = try await self.secureStep(
            request: request,
            context: context
        )
        return GRPCCore.StreamingServerResponse(single: response)
    }

    public func reserveUpload(
        request: GRPCCore.StreamingServerRequest<Fedattn_V1_UploadReservation>,
        context: GRPCCore.ServerContext
    ) async throws -> GRPCCore.StreamingServerResponse<Fedattn_V1_UploadSlot> {
        let response = try await self.reserveUpload(
            request: GRPCCore.ServerRequest(stream: request),
            context: context
        )
        return GRPCCore.StreamingServerResponse(single: response)
    }

    public func uploadUpdate(
        request: GRPCCore.StreamingServerRequest<Fedattn_V1_UpdateChunk>,
        context: GRPCCore.ServerContext
    ) async throws -> GRPCCore.StreamingServerResponse<Fedattn_V1_UploadReceipt> {
        let response = try await self.uploadUpdate(
            request: request,
            context: context
        )
        return GRPCCore.StreamingServerResponse(single: response)
    }

    public func reportEvaluation(
        request: GRPCCore.StreamingServerRequest<Fedattn_V1_EvaluationReport>,
        context: GRPCCore.ServerContext
    ) async throws -> GRPCCore.StreamingServerResponse<Fedattn_V1_EvaluationReceipt> {
        let response = try await self.reportEvaluation(
            request: GRPCCore.ServerRequest(stream: request),
            context: context
        )
        return GRPCCore.StreamingServerResponse(single: response)
    }
}

// Default implementation of methods from 'ServiceProtocol'.
@available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
extension Fedattn_V1_Federation.SimpleServiceProtocol {
    public func join(
        request: GRPCCore.ServerRequest<Fedattn_V1_JoinRequest>,
        context: GRPCCore.ServerContext
    ) async throws -> GRPCCore.ServerResponse<Fedattn_V1_JoinResponse> {
        return GRPCCore.ServerResponse<Fedattn_V1_JoinResponse>(
            message: try await self.join(
                request: request.message,
                context: context
            ),
            metadata: [:]
        )
    }

    public func sharePopularity(
        request: GRPCCore.ServerRequest<Fedattn_V1_PopularityCounts>,
        context: GRPCCore.ServerContext
    ) async throws -> GRPCCore.ServerResponse<Fedattn_V1_PopularityReceipt> {
        return GRPCCore.ServerResponse<Fedattn_V1_PopularityReceipt>(
            message: try await self.sharePopularity(
                request: request.message,
                context: context
            ),
            metadata: [:]
        )
    }

    public func nextTask(
        request: GRPCCore.ServerRequest<Fedattn_V1_TaskRequest>,
        context: GRPCCore.ServerContext
    ) async throws -> GRPCCore.ServerResponse<Fedattn_V1_Task> {
        return GRPCCore.ServerResponse<Fedattn_V1_Task>(
            message: try await self.nextTask(
                request: request.message,
                context: context
            ),
            metadata: [:]
        )
    }

    public func downloadModel(
        request: GRPCCore.ServerRequest<Fedattn_V1_ModelRequest>,
        context: GRPCCore.ServerContext
    ) async throws -> GRPCCore.ServerResponse<Fedattn_V1_ModelChunk> {
        return GRPCCore.ServerResponse<Fedattn_V1_ModelChunk>(
            message: try await self.downloadModel(
                request: request.message,
                context: context
            ),
            metadata: [:]
        )
    }

    public func secureStep(
        request: GRPCCore.StreamingServerRequest<Fedattn_V1_SecurePart>,
        context: GRPCCore.ServerContext
    ) async throws -> GRPCCore.ServerResponse<Fedattn_V1_SecureReceipt> {
        return GRPCCore.ServerResponse<Fedattn_V1_SecureReceipt>(
            message: try await self.secureStep(
                request: request.messages,
                context: context
            ),
            metadata: [:]
        )
    }

    public func reserveUpload(
        request: GRPCCore.ServerRequest<Fedattn_V1_UploadReservation>,
        context: GRPCCore.ServerContext
    ) async throws -> GRPCCore.ServerResponse<Fedattn_V1_UploadSlot> {
        return GRPCCore.ServerResponse<Fedattn_V1_UploadSlot>(
            message: try await self.reserveUpload(
                request: request.message,
                context: context
            ),
            metadata: [:]
        )
    }

    public func uploadUpdate(
        request: GRPCCore.StreamingServerRequest<Fedattn_V1_UpdateChunk>,
        context: GRPCCore.ServerContext
    ) async throws -> GRPCCore.ServerResponse<Fedattn_V1_UploadReceipt> {
        return GRPCCore.ServerResponse<Fedattn_V1_UploadReceipt>(
            message: try await self.uploadUpdate(
                request: request.messages,
                context: context
            ),
            metadata: [:]
        )
    }

    public func reportEvaluation(
        request: GRPCCore.ServerRequest<Fedattn_V1_EvaluationReport>,
        context: GRPCCore.ServerContext
    ) async throws -> GRPCCore.ServerResponse<Fedattn_V1_EvaluationReceipt> {
        return GRPCCore.ServerResponse<Fedattn_V1_EvaluationReceipt>(
            message: try await self.reportEvaluation(
                request: request.message,
                context: context
            ),
            metadata: [:]
        )
    }
}

// MARK: fedattn.v1.Federation (client)

@available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
extension Fedattn_V1_Federation {
    /// Generated client protocol for the "fedattn.v1.Federation" service.
    ///
    /// You don't need to implement this protocol directly, use the generated
    /// implementation, ``Client``.
    public protocol ClientProtocol: Sendable {
        /// Call the "Join" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > Registers the caller. FAILED_PRECONDITION: a protocol version the coordinator does not
        /// > speak (the message names the client's and the coordinator's: 11, 10 and 9). INVALID_ARGUMENT: train_examples is 0 or over Limits.max_train_examples, or a
        /// > second Join on the same connection declares another train_examples than the first.
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_JoinRequest` message.
        ///   - serializer: A serializer for `Fedattn_V1_JoinRequest` messages.
        ///   - deserializer: A deserializer for `Fedattn_V1_JoinResponse` messages.
        ///   - options: Options to apply to this RPC.
        ///   - handleResponse: A closure which handles the response and returns its result to
        ///       the caller. Returning from the closure will cancel the RPC if it hasn't
        ///       already finished.
        /// - Returns: The result of `handleResponse`.
        func join<Result>(
            request: GRPCCore.ClientRequest<Fedattn_V1_JoinRequest>,
            serializer: some GRPCCore.MessageSerializer<Fedattn_V1_JoinRequest>,
            deserializer: some GRPCCore.MessageDeserializer<Fedattn_V1_JoinResponse>,
            options: GRPCCore.CallOptions,
            onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_JoinResponse>) async throws -> Result
        ) async throws -> Result where Result: Sendable

        /// Call the "SharePopularity" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > The caller's items' interaction counts, or its decline, for the most-popular baseline
        /// > (protocol 10; see "The most-popular baseline"), once after Join. Once a silo has shared
        /// > or declined, a later call (on a new connection, say) is acknowledged and changes nothing:
        /// > a silo's counts are pooled once.
        /// > Under POPULARITY_POOLING_SECURE_SUM (protocol 11) it only declines, before the client's
        /// > first NextTask (a decline after its masked counts were summed changes nothing).
        /// > FAILED_PRECONDITION: no Join. INVALID_ARGUMENT, naming the client, the item where there is
        /// > one, and why: the federation pools no counts in the clear (JoinResponse.popularity is
        /// > not POPULARITY_POOLING_ON: secure aggregation, whose counts travel masked instead, or
        /// > differential privacy); the caller joined with protocol 9; `items` and `counts` of different lengths; a decline with items; no items
        /// > and no decline; an item not above the one before, 0 (padding) or past the model's item
        /// > rows (V - 1); a count of 0; more than Limits.max_popularity_items items; counts adding up
        /// > past the train_examples the client declared at Join (overflow included). A refused share
        /// > leaves the client out of the pool; it is not a configuration error: the client carries on.
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_PopularityCounts` message.
        ///   - serializer: A serializer for `Fedattn_V1_PopularityCounts` messages.
        ///   - deserializer: A deserializer for `Fedattn_V1_PopularityReceipt` messages.
        ///   - options: Options to apply to this RPC.
        ///   - handleResponse: A closure which handles the response and returns its result to
        ///       the caller. Returning from the closure will cancel the RPC if it hasn't
        ///       already finished.
        /// - Returns: The result of `handleResponse`.
        func sharePopularity<Result>(
            request: GRPCCore.ClientRequest<Fedattn_V1_PopularityCounts>,
            serializer: some GRPCCore.MessageSerializer<Fedattn_V1_PopularityCounts>,
            deserializer: some GRPCCore.MessageDeserializer<Fedattn_V1_PopularityReceipt>,
            options: GRPCCore.CallOptions,
            onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_PopularityReceipt>) async throws -> Result
        ) async throws -> Result where Result: Sendable

        /// Call the "NextTask" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > The caller's next task (a long poll, see above). FAILED_PRECONDITION: this coordinator
        /// > has no Join from the caller (it restarted since): Join again.
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_TaskRequest` message.
        ///   - serializer: A serializer for `Fedattn_V1_TaskRequest` messages.
        ///   - deserializer: A deserializer for `Fedattn_V1_Task` messages.
        ///   - options: Options to apply to this RPC.
        ///   - handleResponse: A closure which handles the response and returns its result to
        ///       the caller. Returning from the closure will cancel the RPC if it hasn't
        ///       already finished.
        /// - Returns: The result of `handleResponse`.
        func nextTask<Result>(
            request: GRPCCore.ClientRequest<Fedattn_V1_TaskRequest>,
            serializer: some GRPCCore.MessageSerializer<Fedattn_V1_TaskRequest>,
            deserializer: some GRPCCore.MessageDeserializer<Fedattn_V1_Task>,
            options: GRPCCore.CallOptions,
            onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_Task>) async throws -> Result
        ) async throws -> Result where Result: Sendable

        /// Call the "DownloadModel" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > One piece of a model version's payload (the whole model, or a delta from `base_version`:
        /// > see ModelChunk.delta_from): the bytes from `offset`, at most `max_bytes`
        /// > and at most Limits.piece_bytes (127 KiB). A client fetches a model piece after piece, so
        /// > the coordinator holds at most one piece per client however many download at once.
        /// > The pieces of one download come from one payload: a download begins with its piece at
        /// > offset 0 (which ends any other download of the client's), and a piece at a later offset
        /// > is served only from the payload that piece came from, whatever connection asks it. So a
        /// > client sends the same model_version and base_version on every piece of a download, and
        /// > one download at a time. FAILED_PRECONDITION: a piece past offset 0 of another payload
        /// > (another version or base, or the payload the download began with is no longer the one
        /// > served), or with no download begun; the message names the client and both versions:
        /// > begin the download again at offset 0.
        /// > NOT_FOUND: a version the coordinator no longer serves: the task that named it is stale,
        /// > so drop it and ask for the next task. (The current version is served; the one before
        /// > while clients finish the downloads they started, only as payloads already made of it;
        /// > while a new version is being stored the current one is not encoded whole anew.)
        /// > OUT_OF_RANGE: `offset` past the end; UNAVAILABLE: the payload could not be read.
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_ModelRequest` message.
        ///   - serializer: A serializer for `Fedattn_V1_ModelRequest` messages.
        ///   - deserializer: A deserializer for `Fedattn_V1_ModelChunk` messages.
        ///   - options: Options to apply to this RPC.
        ///   - handleResponse: A closure which handles the response and returns its result to
        ///       the caller. Returning from the closure will cancel the RPC if it hasn't
        ///       already finished.
        /// - Returns: The result of `handleResponse`.
        func downloadModel<Result>(
            request: GRPCCore.ClientRequest<Fedattn_V1_ModelRequest>,
            serializer: some GRPCCore.MessageSerializer<Fedattn_V1_ModelRequest>,
            deserializer: some GRPCCore.MessageDeserializer<Fedattn_V1_ModelChunk>,
            options: GRPCCore.CallOptions,
            onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_ModelChunk>) async throws -> Result
        ) async throws -> Result where Result: Sendable

        /// Call the "SecureStep" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > One answer to a phase of a secure round (see "Secure aggregation"). ABORTED: another
        /// > round, attempt or phase is under way, or the caller is not waited for (or already
        /// > answered). FAILED_PRECONDITION: no Join. INVALID_ARGUMENT: the federation runs no secure
        /// > aggregation, or the answer does not fit the round (keys not 32 bytes or not its own,
        /// > shares to clients that are not its advertising neighbours, a vector of the wrong
        /// > length, a share of the wrong kind, point or size), or example_count 0 or over what
        /// > the client declared. Uploads are refused with INVALID_ARGUMENT in a secure federation.
        /// > The reply comes first, then its masked vector's bytes (if any); a reply with a masked
        /// > vector claims an upload slot of its own (a reservation is not needed; one the caller
        /// > holds is used), waiting for one if all are taken, and holds it while the bytes arrive,
        /// > within Limits.upload_timeout_ms. INVALID_ARGUMENT also: train_seconds not finite or
        /// > negative. RESOURCE_EXHAUSTED: another upload of the caller's is being read.
        ///
        /// - Parameters:
        ///   - request: A streaming request producing `Fedattn_V1_SecurePart` messages.
        ///   - serializer: A serializer for `Fedattn_V1_SecurePart` messages.
        ///   - deserializer: A deserializer for `Fedattn_V1_SecureReceipt` messages.
        ///   - options: Options to apply to this RPC.
        ///   - handleResponse: A closure which handles the response and returns its result to
        ///       the caller. Returning from the closure will cancel the RPC if it hasn't
        ///       already finished.
        /// - Returns: The result of `handleResponse`.
        func secureStep<Result>(
            request: GRPCCore.StreamingClientRequest<Fedattn_V1_SecurePart>,
            serializer: some GRPCCore.MessageSerializer<Fedattn_V1_SecurePart>,
            deserializer: some GRPCCore.MessageDeserializer<Fedattn_V1_SecureReceipt>,
            options: GRPCCore.CallOptions,
            onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_SecureReceipt>) async throws -> Result
        ) async throws -> Result where Result: Sendable

        /// Call the "ReserveUpload" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > A slot for uploading the caller's update for `round`. The coordinator reads
        /// > Limits.upload_slots uploads at a time. Reserving is optional but spares memory: an
        /// > UploadUpdate without a reservation is accepted too, and waits (its first chunks held by
        /// > the transport) for a slot before its bytes are read. A client holds at most one slot,
        /// > however often it reserves: a second reservation while it holds one is granted at once,
        /// > the same slot. The call is held up to a second; `granted` false means ask again after
        /// > `retry_after_ms`. A granted slot is the caller's until its upload ends, or for 10 seconds
        /// > if no upload starts. ABORTED: the update is no longer wanted (another round or base
        /// > version, not selected, already sent). FAILED_PRECONDITION: no Join (Join again).
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_UploadReservation` message.
        ///   - serializer: A serializer for `Fedattn_V1_UploadReservation` messages.
        ///   - deserializer: A deserializer for `Fedattn_V1_UploadSlot` messages.
        ///   - options: Options to apply to this RPC.
        ///   - handleResponse: A closure which handles the response and returns its result to
        ///       the caller. Returning from the closure will cancel the RPC if it hasn't
        ///       already finished.
        /// - Returns: The result of `handleResponse`.
        func reserveUpload<Result>(
            request: GRPCCore.ClientRequest<Fedattn_V1_UploadReservation>,
            serializer: some GRPCCore.MessageSerializer<Fedattn_V1_UploadReservation>,
            deserializer: some GRPCCore.MessageDeserializer<Fedattn_V1_UploadSlot>,
            options: GRPCCore.CallOptions,
            onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_UploadSlot>) async throws -> Result
        ) async throws -> Result where Result: Sendable

        /// Call the "UploadUpdate" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > One training update: a header first, then the payload in data chunks of at most
        /// > Limits.update_chunk_bytes. The whole upload must arrive within Limits.upload_timeout_ms
        /// > (DEADLINE_EXCEEDED otherwise). ABORTED: stale (as ReserveUpload, checked on the header
        /// > before any data is read), or the round closed while it arrived. FAILED_PRECONDITION:
        /// > no Join. RESOURCE_EXHAUSTED also when another upload of the caller's is being read
        /// > (one at a time). INVALID_ARGUMENT: no header or a second one, data past the declared
        /// > size, fewer bytes than declared, a payload that does not decode or does not fit the
        /// > model (which tensor and why), non-finite values, a non-zero padding row, a dense tensor
        /// > sent as rows, a norm over the bound, example_count 0 or over what the client declared at
        /// > Join, train_seconds not finite or negative; in a secure federation, any upload.
        /// > RESOURCE_EXHAUSTED: a payload over Limits.max_update_bytes, one that decompresses past
        /// > it or past Limits.max_payload_bytes, or a zstd window over 2^Limits.max_zstd_window_log
        /// > bytes (the message names the window).
        ///
        /// - Parameters:
        ///   - request: A streaming request producing `Fedattn_V1_UpdateChunk` messages.
        ///   - serializer: A serializer for `Fedattn_V1_UpdateChunk` messages.
        ///   - deserializer: A deserializer for `Fedattn_V1_UploadReceipt` messages.
        ///   - options: Options to apply to this RPC.
        ///   - handleResponse: A closure which handles the response and returns its result to
        ///       the caller. Returning from the closure will cancel the RPC if it hasn't
        ///       already finished.
        /// - Returns: The result of `handleResponse`.
        func uploadUpdate<Result>(
            request: GRPCCore.StreamingClientRequest<Fedattn_V1_UpdateChunk>,
            serializer: some GRPCCore.MessageSerializer<Fedattn_V1_UpdateChunk>,
            deserializer: some GRPCCore.MessageDeserializer<Fedattn_V1_UploadReceipt>,
            options: GRPCCore.CallOptions,
            onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_UploadReceipt>) async throws -> Result
        ) async throws -> Result where Result: Sendable

        /// Call the "ReportEvaluation" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > Scores of a model version on the caller's test split, as histograms. ABORTED: no
        /// > evaluation is being collected, or another round's, or another model's (the report's
        /// > `round` and `model_version` must echo its EVALUATE task's), or the caller was not asked
        /// > (or already reported); the message names the client, the round and the model.
        /// > FAILED_PRECONDITION: no Join. INVALID_ARGUMENT, naming the client and the figure:
        /// >   - positive_histogram or negative_histogram not of exactly 4096 bins; the validation
        /// >     histograms neither both empty nor both of 4096 bins;
        /// >   - validation_examples or validation_log_loss_sum not 0 without validation histograms;
        /// >   - for the test split and the validation split each: the log-loss sum negative, not
        /// >     finite, or other than 0 over no examples; the example count not the sum of its two
        /// >     histograms' counts; that sum over Limits.max_train_examples;
        /// >   - validation_examples over the train_examples the client declared at Join;
        /// >   - a ranking no client could have made, for each of (ranked_users, hits_at_10,
        /// >     ndcg_at_10_sum, K = 10) and (catalogue_ranked_users, hits_at_20, ndcg_at_20_sum,
        /// >     K = 20) over the test split and (validation_ranked_users, validation_hits_at_10,
        /// >     validation_ndcg_at_10_sum, K = 10) over the validation split: users over the
        /// >     split's positive examples (the count in its positive histogram), hits over users,
        /// >     or the NDCG sum not finite, over hits, or under hits / log2(K + 1) (within 1e-9);
        /// >   - the same for `popularity`'s two (sampled, K = 10; whole catalogue, K = 20) over the
        /// >     test split. (Popularity sums from a client that was given no pooled counts, or beside
        /// >     sums the coordinator already holds from it, are not read.)
        /// > Nothing else bounds a report: its counts and ranked users may be anything up to
        /// > Limits.max_train_examples. What the coordinator does with reports it takes: each round's
        /// > pooled figures add the silos' sums, but a silo whose counts per declared train example
        /// > are over twice the median silo's is weighed down to that; the round kept (and early
        /// > stopping) goes by trimmed means of the silos' own validation AUC (or NDCG@10), each
        /// > silo counting once; a silo whose figures (or their change since its last report) lie
        /// > far from the others' (over 0.25 and over 5 robust standard deviations from the median)
        /// > is named in the coordinator's log and the round's history and left out of its figures.
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_EvaluationReport` message.
        ///   - serializer: A serializer for `Fedattn_V1_EvaluationReport` messages.
        ///   - deserializer: A deserializer for `Fedattn_V1_EvaluationReceipt` messages.
        ///   - options: Options to apply to this RPC.
        ///   - handleResponse: A closure which handles the response and returns its result to
        ///       the caller. Returning from the closure will cancel the RPC if it hasn't
        ///       already finished.
        /// - Returns: The result of `handleResponse`.
        func reportEvaluation<Result>(
            request: GRPCCore.ClientRequest<Fedattn_V1_EvaluationReport>,
            serializer: some GRPCCore.MessageSerializer<Fedattn_V1_EvaluationReport>,
            deserializer: some GRPCCore.MessageDeserializer<Fedattn_V1_EvaluationReceipt>,
            options: GRPCCore.CallOptions,
            onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_EvaluationReceipt>) async throws -> Result
        ) async throws -> Result where Result: Sendable
    }

    /// Generated client for the "fedattn.v1.Federation" service.
    ///
    /// The ``Client`` provides an implementation of ``ClientProtocol`` which wraps
    /// a `GRPCCore.GRPCCClient`. The underlying `GRPCClient` provides the long-lived
    /// means of communication with the remote peer.
    public struct Client<Transport>: ClientProtocol where Transport: GRPCCore.ClientTransport {
        private let client: GRPCCore.GRPCClient<Transport>

        /// Creates a new client wrapping the provided `GRPCCore.GRPCClient`.
        ///
        /// - Parameters:
        ///   - client: A `GRPCCore.GRPCClient` providing a communication channel to the service.
        public init(wrapping client: GRPCCore.GRPCClient<Transport>) {
            self.client = client
        }

        /// Call the "Join" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > Registers the caller. FAILED_PRECONDITION: a protocol version the coordinator does not
        /// > speak (the message names the client's and the coordinator's: 11, 10 and 9). INVALID_ARGUMENT: train_examples is 0 or over Limits.max_train_examples, or a
        /// > second Join on the same connection declares another train_examples than the first.
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_JoinRequest` message.
        ///   - serializer: A serializer for `Fedattn_V1_JoinRequest` messages.
        ///   - deserializer: A deserializer for `Fedattn_V1_JoinResponse` messages.
        ///   - options: Options to apply to this RPC.
        ///   - handleResponse: A closure which handles the response and returns its result to
        ///       the caller. Returning from the closure will cancel the RPC if it hasn't
        ///       already finished.
        /// - Returns: The result of `handleResponse`.
        public func join<Result>(
            request: GRPCCore.ClientRequest<Fedattn_V1_JoinRequest>,
            serializer: some GRPCCore.MessageSerializer<Fedattn_V1_JoinRequest>,
            deserializer: some GRPCCore.MessageDeserializer<Fedattn_V1_JoinResponse>,
            options: GRPCCore.CallOptions = .defaults,
            onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_JoinResponse>) async throws -> Result = { response in
                try response.message
            }
        ) async throws -> Result where Result: Sendable {
            try await self.client.unary(
                request: request,
                descriptor: Fedattn_V1_Federation.Method.Join.descriptor,
                serializer: serializer,
                deserializer: deserializer,
                options: options,
                onResponse: handleResponse
            )
        }

        /// Call the "SharePopularity" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > The caller's items' interaction counts, or its decline, for the most-popular baseline
        /// > (protocol 10; see "The most-popular baseline"), once after Join. Once a silo has shared
        /// > or declined, a later call (on a new connection, say) is acknowledged and changes nothing:
        /// > a silo's counts are pooled once.
        /// > Under POPULARITY_POOLING_SECURE_SUM (protocol 11) it only declines, before the client's
        /// > first NextTask (a decline after its masked counts were summed changes nothing).
        /// > FAILED_PRECONDITION: no Join. INVALID_ARGUMENT, naming the client, the item where there is
        /// > one, and why: the federation pools no counts in the clear (JoinResponse.popularity is
        /// > not POPULARITY_POOLING_ON: secure aggregation, whose counts travel masked instead, or
        /// > differential privacy); the caller joined with protocol 9; `items` and `counts` of different lengths; a decline with items; no items
        /// > and no decline; an item not above the one before, 0 (padding) or past the model's item
        /// > rows (V - 1); a count of 0; more than Limits.max_popularity_items items; counts adding up
        /// > past the train_examples the client declared at Join (overflow included). A refused share
        /// > leaves the client out of the pool; it is not a configuration error: the client carries on.
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_PopularityCounts` message.
        ///   - serializer: A serializer for `Fedattn_V1_PopularityCounts` messages.
        ///   - deserializer: A deserializer for `Fedattn_V1_PopularityReceipt` messages.
        ///   - options: Options to apply to this RPC.
        ///   - handleResponse: A closure which handles the response and returns its result to
        ///       the caller. Returning from the closure will cancel the RPC if it hasn't
        ///       already finished.
        /// - Returns: The result of `handleResponse`.
        public func sharePopularity<Result>(
            request: GRPCCore.ClientRequest<Fedattn_V1_PopularityCounts>,
            serializer: some GRPCCore.MessageSerializer<Fedattn_V1_PopularityCounts>,
            deserializer: some GRPCCore.MessageDeserializer<Fedattn_V1_PopularityReceipt>,
            options: GRPCCore.CallOptions = .defaults,
            onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_PopularityReceipt>) async throws -> Result = { response in
                try response.message
            }
        ) async throws -> Result where Result: Sendable {
            try await self.client.unary(
                request: request,
                descriptor: Fedattn_V1_Federation.Method.SharePopularity.descriptor,
                serializer: serializer,
                deserializer: deserializer,
                options: options,
                onResponse: handleResponse
            )
        }

        /// Call the "NextTask" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > The caller's next task (a long poll, see above). FAILED_PRECONDITION: this coordinator
        /// > has no Join from the caller (it restarted since): Join again.
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_TaskRequest` message.
        ///   - serializer: A serializer for `Fedattn_V1_TaskRequest` messages.
        ///   - deserializer: A deserializer for `Fedattn_V1_Task` messages.
        ///   - options: Options to apply to this RPC.
        ///   - handleResponse: A closure which handles the response and returns its result to
        ///       the caller. Returning from the closure will cancel the RPC if it hasn't
        ///       already finished.
        /// - Returns: The result of `handleResponse`.
        public func nextTask<Result>(
            request: GRPCCore.ClientRequest<Fedattn_V1_TaskRequest>,
            serializer: some GRPCCore.MessageSerializer<Fedattn_V1_TaskRequest>,
            deserializer: some GRPCCore.MessageDeserializer<Fedattn_V1_Task>,
            options: GRPCCore.CallOptions = .defaults,
            onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_Task>) async throws -> Result = { response in
                try response.message
            }
        ) async throws -> Result where Result: Sendable {
            try await self.client.unary(
                request: request,
                descriptor: Fedattn_V1_Federation.Method.NextTask.descriptor,
                serializer: serializer,
                deserializer: deserializer,
                options: options,
                onResponse: handleResponse
            )
        }

        /// Call the "DownloadModel" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > One piece of a model version's payload (the whole model, or a delta from `base_version`:
        /// > see ModelChunk.delta_from): the bytes from `offset`, at most `max_bytes`
        /// > and at most Limits.piece_bytes (127 KiB). A client fetches a model piece after piece, so
        /// > the coordinator holds at most one piece per client however many download at once.
        /// > The pieces of one download come from one payload: a download begins with its piece at
        /// > offset 0 (which ends any other download of the client's), and a piece at a later offset
        /// > is served only from the payload that piece came from, whatever connection asks it. So a
        /// > client sends the same model_version and base_version on every piece of a download, and
        /// > one download at a time. FAILED_PRECONDITION: a piece past offset 0 of another payload
        /// > (another version or base, or the payload the download began with is no longer the one
        /// > served), or with no download begun; the message names the client and both versions:
        /// > begin the download again at offset 0.
        /// > NOT_FOUND: a version the coordinator no longer serves: the task that named it is stale,
        /// > so drop it and ask for the next task. (The current version is served; the one before
        /// > while clients finish the downloads they started, only as payloads already made of it;
        /// > while a new version is being stored the current one is not encoded whole anew.)
        /// > OUT_OF_RANGE: `offset` past the end; UNAVAILABLE: the payload could not be read.
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_ModelRequest` message.
        ///   - serializer: A serializer for `Fedattn_V1_ModelRequest` messages.
        ///   - deserializer: A deserializer for `Fedattn_V1_ModelChunk` messages.
        ///   - options: Options to apply to this RPC.
        ///   - handleResponse: A closure which handles the response and returns its result to
        ///       the caller. Returning from the closure will cancel the RPC if it hasn't
        ///       already finished.
        /// - Returns: The result of `handleResponse`.
        public func downloadModel<Result>(
            request: GRPCCore.ClientRequest<Fedattn_V1_ModelRequest>,
            serializer: some GRPCCore.MessageSerializer<Fedattn_V1_ModelRequest>,
            deserializer: some GRPCCore.MessageDeserializer<Fedattn_V1_ModelChunk>,
            options: GRPCCore.CallOptions = .defaults,
            onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_ModelChunk>) async throws -> Result = { response in
                try response.message
            }
        ) async throws -> Result where Result: Sendable {
            try await self.client.unary(
                request: request,
                descriptor: Fedattn_V1_Federation.Method.DownloadModel.descriptor,
                serializer: serializer,
                deserializer: deserializer,
                options: options,
                onResponse: handleResponse
            )
        }

        /// Call the "SecureStep" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > One answer to a phase of a secure round (see "Secure aggregation"). ABORTED: another
        /// > round, attempt or phase is under way, or the caller is not waited for (or already
        /// > answered). FAILED_PRECONDITION: no Join. INVALID_ARGUMENT: the federation runs no secure
        /// > aggregation, or the answer does not fit the round (keys not 32 bytes or not its own,
        /// > shares to clients that are not its advertising neighbours, a vector of the wrong
        /// > length, a share of the wrong kind, point or size), or example_count 0 or over what
        /// > the client declared. Uploads are refused with INVALID_ARGUMENT in a secure federation.
        /// > The reply comes first, then its masked vector's bytes (if any); a reply with a masked
        /// > vector claims an upload slot of its own (a reservation is not needed; one the caller
        /// > holds is used), waiting for one if all are taken, and holds it while the bytes arrive,
        /// > within Limits.upload_timeout_ms. INVALID_ARGUMENT also: train_seconds not finite or
        /// > negative. RESOURCE_EXHAUSTED: another upload of the caller's is being read.
        ///
        /// - Parameters:
        ///   - request: A streaming request producing `Fedattn_V1_SecurePart` messages.
        ///   - serializer: A serializer for `Fedattn_V1_SecurePart` messages.
        ///   - deserializer: A deserializer for `Fedattn_V1_SecureReceipt` messages.
        ///   - options: Options to apply to this RPC.
        ///   - handleResponse: A closure which handles the response and returns its result to
        ///       the caller. Returning from the closure will cancel the RPC if it hasn't
        ///       already finished.
        /// - Returns: The result of `handleResponse`.
        public func secureStep<Result>(
            request: GRPCCore.StreamingClientRequest<Fedattn_V1_SecurePart>,
            serializer: some GRPCCore.MessageSerializer<Fedattn_V1_SecurePart>,
            deserializer: some GRPCCore.MessageDeserializer<Fedattn_V1_SecureReceipt>,
            options: GRPCCore.CallOptions = .defaults,
            onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_SecureReceipt>) async throws -> Result = { response in
                try response.message
            }
        ) async throws -> Result where Result: Sendable {
            try await self.client.clientStreaming(
                request: request,
                descriptor: Fedattn_V1_Federation.Method.SecureStep.descriptor,
                serializer: serializer,
                deserializer: deserializer,
                options: options,
                onResponse: handleResponse
            )
        }

        /// Call the "ReserveUpload" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > A slot for uploading the caller's update for `round`. The coordinator reads
        /// > Limits.upload_slots uploads at a time. Reserving is optional but spares memory: an
        /// > UploadUpdate without a reservation is accepted too, and waits (its first chunks held by
        /// > the transport) for a slot before its bytes are read. A client holds at most one slot,
        /// > however often it reserves: a second reservation while it holds one is granted at once,
        /// > the same slot. The call is held up to a second; `granted` false means ask again after
        /// > `retry_after_ms`. A granted slot is the caller's until its upload ends, or for 10 seconds
        /// > if no upload starts. ABORTED: the update is no longer wanted (another round or base
        /// > version, not selected, already sent). FAILED_PRECONDITION: no Join (Join again).
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_UploadReservation` message.
        ///   - serializer: A serializer for `Fedattn_V1_UploadReservation` messages.
        ///   - deserializer: A deserializer for `Fedattn_V1_UploadSlot` messages.
        ///   - options: Options to apply to this RPC.
        ///   - handleResponse: A closure which handles the response and returns its result to
        ///       the caller. Returning from the closure will cancel the RPC if it hasn't
        ///       already finished.
        /// - Returns: The result of `handleResponse`.
        public func reserveUpload<Result>(
            request: GRPCCore.ClientRequest<Fedattn_V1_UploadReservation>,
            serializer: some GRPCCore.MessageSerializer<Fedattn_V1_UploadReservation>,
            deserializer: some GRPCCore.MessageDeserializer<Fedattn_V1_UploadSlot>,
            options: GRPCCore.CallOptions = .defaults,
            onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_UploadSlot>) async throws -> Result = { response in
                try response.message
            }
        ) async throws -> Result where Result: Sendable {
            try await self.client.unary(
                request: request,
                descriptor: Fedattn_V1_Federation.Method.ReserveUpload.descriptor,
                serializer: serializer,
                deserializer: deserializer,
                options: options,
                onResponse: handleResponse
            )
        }

        /// Call the "UploadUpdate" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > One training update: a header first, then the payload in data chunks of at most
        /// > Limits.update_chunk_bytes. The whole upload must arrive within Limits.upload_timeout_ms
        /// > (DEADLINE_EXCEEDED otherwise). ABORTED: stale (as ReserveUpload, checked on the header
        /// > before any data is read), or the round closed while it arrived. FAILED_PRECONDITION:
        /// > no Join. RESOURCE_EXHAUSTED also when another upload of the caller's is being read
        /// > (one at a time). INVALID_ARGUMENT: no header or a second one, data past the declared
        /// > size, fewer bytes than declared, a payload that does not decode or does not fit the
        /// > model (which tensor and why), non-finite values, a non-zero padding row, a dense tensor
        /// > sent as rows, a norm over the bound, example_count 0 or over what the client declared at
        /// > Join, train_seconds not finite or negative; in a secure federation, any upload.
        /// > RESOURCE_EXHAUSTED: a payload over Limits.max_update_bytes, one that decompresses past
        /// > it or past Limits.max_payload_bytes, or a zstd window over 2^Limits.max_zstd_window_log
        /// > bytes (the message names the window).
        ///
        /// - Parameters:
        ///   - request: A streaming request producing `Fedattn_V1_UpdateChunk` messages.
        ///   - serializer: A serializer for `Fedattn_V1_UpdateChunk` messages.
        ///   - deserializer: A deserializer for `Fedattn_V1_UploadReceipt` messages.
        ///   - options: Options to apply to this RPC.
        ///   - handleResponse: A closure which handles the response and returns its result to
        ///       the caller. Returning from the closure will cancel the RPC if it hasn't
        ///       already finished.
        /// - Returns: The result of `handleResponse`.
        public func uploadUpdate<Result>(
            request: GRPCCore.StreamingClientRequest<Fedattn_V1_UpdateChunk>,
            serializer: some GRPCCore.MessageSerializer<Fedattn_V1_UpdateChunk>,
            deserializer: some GRPCCore.MessageDeserializer<Fedattn_V1_UploadReceipt>,
            options: GRPCCore.CallOptions = .defaults,
            onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_UploadReceipt>) async throws -> Result = { response in
                try response.message
            }
        ) async throws -> Result where Result: Sendable {
            try await self.client.clientStreaming(
                request: request,
                descriptor: Fedattn_V1_Federation.Method.UploadUpdate.descriptor,
                serializer: serializer,
                deserializer: deserializer,
                options: options,
                onResponse: handleResponse
            )
        }

        /// Call the "ReportEvaluation" method.
        ///
        /// > Source IDL Documentation:
        /// >
        /// > Scores of a model version on the caller's test split, as histograms. ABORTED: no
        /// > evaluation is being collected, or another round's, or another model's (the report's
        /// > `round` and `model_version` must echo its EVALUATE task's), or the caller was not asked
        /// > (or already reported); the message names the client, the round and the model.
        /// > FAILED_PRECONDITION: no Join. INVALID_ARGUMENT, naming the client and the figure:
        /// >   - positive_histogram or negative_histogram not of exactly 4096 bins; the validation
        /// >     histograms neither both empty nor both of 4096 bins;
        /// >   - validation_examples or validation_log_loss_sum not 0 without validation histograms;
        /// >   - for the test split and the validation split each: the log-loss sum negative, not
        /// >     finite, or other than 0 over no examples; the example count not the sum of its two
        /// >     histograms' counts; that sum over Limits.max_train_examples;
        /// >   - validation_examples over the train_examples the client declared at Join;
        /// >   - a ranking no client could have made, for each of (ranked_users, hits_at_10,
        /// >     ndcg_at_10_sum, K = 10) and (catalogue_ranked_users, hits_at_20, ndcg_at_20_sum,
        /// >     K = 20) over the test split and (validation_ranked_users, validation_hits_at_10,
        /// >     validation_ndcg_at_10_sum, K = 10) over the validation split: users over the
        /// >     split's positive examples (the count in its positive histogram), hits over users,
        /// >     or the NDCG sum not finite, over hits, or under hits / log2(K + 1) (within 1e-9);
        /// >   - the same for `popularity`'s two (sampled, K = 10; whole catalogue, K = 20) over the
        /// >     test split. (Popularity sums from a client that was given no pooled counts, or beside
        /// >     sums the coordinator already holds from it, are not read.)
        /// > Nothing else bounds a report: its counts and ranked users may be anything up to
        /// > Limits.max_train_examples. What the coordinator does with reports it takes: each round's
        /// > pooled figures add the silos' sums, but a silo whose counts per declared train example
        /// > are over twice the median silo's is weighed down to that; the round kept (and early
        /// > stopping) goes by trimmed means of the silos' own validation AUC (or NDCG@10), each
        /// > silo counting once; a silo whose figures (or their change since its last report) lie
        /// > far from the others' (over 0.25 and over 5 robust standard deviations from the median)
        /// > is named in the coordinator's log and the round's history and left out of its figures.
        ///
        /// - Parameters:
        ///   - request: A request containing a single `Fedattn_V1_EvaluationReport` message.
        ///   - serializer: A serializer for `Fedattn_V1_EvaluationReport` messages.
        ///   - deserializer: A deserializer for `Fedattn_V1_EvaluationReceipt` messages.
        ///   - options: Options to apply to this RPC.
        ///   - handleResponse: A closure which handles the response and returns its result to
        ///       the caller. Returning from the closure will cancel the RPC if it hasn't
        ///       already finished.
        /// - Returns: The result of `handleResponse`.
        public func reportEvaluation<Result>(
            request: GRPCCore.ClientRequest<Fedattn_V1_EvaluationReport>,
            serializer: some GRPCCore.MessageSerializer<Fedattn_V1_EvaluationReport>,
            deserializer: some GRPCCore.MessageDeserializer<Fedattn_V1_EvaluationReceipt>,
            options: GRPCCore.CallOptions = .defaults,
            onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_EvaluationReceipt>) async throws -> Result = { response in
                try response.message
            }
        ) async throws -> Result where Result: Sendable {
            try await self.client.unary(
                request: request,
                descriptor: Fedattn_V1_Federation.Method.ReportEvaluation.descriptor,
                serializer: serializer,
                deserializer: deserializer,
                options: options,
                onResponse: handleResponse
            )
        }
    }
}

// Helpers providing default arguments to 'ClientProtocol' methods.
@available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
extension Fedattn_V1_Federation.ClientProtocol {
    /// Call the "Join" method.
    ///
    /// > Source IDL Documentation:
    /// >
    /// > Registers the caller. FAILED_PRECONDITION: a protocol version the coordinator does not
    /// > speak (the message names the client's and the coordinator's: 11, 10 and 9). INVALID_ARGUMENT: train_examples is 0 or over Limits.max_train_examples, or a
    /// > second Join on the same connection declares another train_examples than the first.
    ///
    /// - Parameters:
    ///   - request: A request containing a single `Fedattn_V1_JoinRequest` message.
    ///   - options: Options to apply to this RPC.
    ///   - handleResponse: A closure which handles the response and returns its result to
    ///       the caller. Returning from the closure will cancel the RPC if it hasn't
    ///       already finished.
    /// - Returns: The result of `handleResponse`.
    public func join<Result>(
        request: GRPCCore.ClientRequest<Fedattn_V1_JoinRequest>,
        options: GRPCCore.CallOptions = .defaults,
        onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_JoinResponse>) async throws -> Result = { response in
            try response.message
        }
    ) async throws -> Result where Result: Sendable {
        try await self.join(
            request: request,
            serializer: GRPCProtobuf.ProtobufSerializer<Fedattn_V1_JoinRequest>(),
            deserializer: GRPCProtobuf.ProtobufDeserializer<Fedattn_V1_JoinResponse>(),
            options: options,
            onResponse: handleResponse
        )
    }

    /// Call the "SharePopularity" method.
    ///
    /// > Source IDL Documentation:
    /// >
    /// > The caller's items' interaction counts, or its decline, for the most-popular baseline
    /// > (protocol 10; see "The most-popular baseline"), once after Join. Once a silo has shared
    /// > or declined, a later call (on a new connection, say) is acknowledged and changes nothing:
    /// > a silo's counts are pooled once.
    /// > Under POPULARITY_POOLING_SECURE_SUM (protocol 11) it only declines, before the client's
    /// > first NextTask (a decline after its masked counts were summed changes nothing).
    /// > FAILED_PRECONDITION: no Join. INVALID_ARGUMENT, naming the client, the item where there is
    /// > one, and why: the federation pools no counts in the clear (JoinResponse.popularity is
    /// > not POPULARITY_POOLING_ON: secure aggregation, whose counts travel masked instead, or
    /// > differential privacy); the caller joined with protocol 9; `items` and `counts` of different lengths; a decline with items; no items
    /// > and no decline; an item not above the one before, 0 (padding) or past the model's item
    /// > rows (V - 1); a count of 0; more than Limits.max_popularity_items items; counts adding up
    /// > past the train_examples the client declared at Join (overflow included). A refused share
    /// > leaves the client out of the pool; it is not a configuration error: the client carries on.
    ///
    /// - Parameters:
    ///   - request: A request containing a single `Fedattn_V1_PopularityCounts` message.
    ///   - options: Options to apply to this RPC.
    ///   - handleResponse: A closure which handles the response and returns its result to
    ///       the caller. Returning from the closure will cancel the RPC if it hasn't
    ///       already finished.
    /// - Returns: The result of `handleResponse`.
    public func sharePopularity<Result>(
        request: GRPCCore.ClientRequest<Fedattn_V1_PopularityCounts>,
        options: GRPCCore.CallOptions = .defaults,
        onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_PopularityReceipt>) async throws -> Result = { response in
            try response.message
        }
    ) async throws -> Result where Result: Sendable {
        try await self.sharePopularity(
            request: request,
            serializer: GRPCProtobuf.ProtobufSerializer<Fedattn_V1_PopularityCounts>(),
            deserializer: GRPCProtobuf.ProtobufDeserializer<Fedattn_V1_PopularityReceipt>(),
            options: options,
            onResponse: handleResponse
        )
    }

    /// Call the "NextTask" method.
    ///
    /// > Source IDL Documentation:
    /// >
    /// > The caller's next task (a long poll, see above). FAILED_PRECONDITION: this coordinator
    /// > has no Join from the caller (it restarted since): Join again.
    ///
    /// - Parameters:
    ///   - request: A request containing a single `Fedattn_V1_TaskRequest` message.
    ///   - options: Options to apply to this RPC.
    ///   - handleResponse: A closure which handles the response and returns its result to
    ///       the caller. Returning from the closure will cancel the RPC if it hasn't
    ///       already finished.
    /// - Returns: The result of `handleResponse`.
    public func nextTask<Result>(
        request: GRPCCore.ClientRequest<Fedattn_V1_TaskRequest>,
        options: GRPCCore.CallOptions = .defaults,
        onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_Task>) async throws -> Result = { response in
            try response.message
        }
    ) async throws -> Result where Result: Sendable {
        try await self.nextTask(
            request: request,
            serializer: GRPCProtobuf.ProtobufSerializer<Fedattn_V1_TaskRequest>(),
            deserializer: GRPCProtobuf.ProtobufDeserializer<Fedattn_V1_Task>(),
            options: options,
            onResponse: handleResponse
        )
    }

    /// Call the "DownloadModel" method.
    ///
    /// > Source IDL Documentation:
    /// >
    /// > One piece of a model version's payload (the whole model, or a delta from `base_version`:
    /// > see ModelChunk.delta_from): the bytes from `offset`, at most `max_bytes`
    /// > and at most Limits.piece_bytes (127 KiB). A client fetches a model piece after piece, so
    /// > the coordinator holds at most one piece per client however many download at once.
    /// > The pieces of one download come from one payload: a download begins with its piece at
    /// > offset 0 (which ends any other download of the client's), and a piece at a later offset
    /// > is served only from the payload that piece came from, whatever connection asks it. So a
    /// > client sends the same model_version and base_version on every piece of a download, and
    /// > one download at a time. FAILED_PRECONDITION: a piece past offset 0 of another payload
    /// > (another version or base, or the payload the download began with is no longer the one
    /// > served), or with no download begun; the message names the client and both versions:
    /// > begin the download again at offset 0.
    /// > NOT_FOUND: a version the coordinator no longer serves: the task that named it is stale,
    /// > so drop it and ask for the next task. (The current version is served; the one before
    /// > while clients finish the downloads they started, only as payloads already made of it;
    /// > while a new version is being stored the current one is not encoded whole anew.)
    /// > OUT_OF_RANGE: `offset` past the end; UNAVAILABLE: the payload could not be read.
    ///
    /// - Parameters:
    ///   - request: A request containing a single `Fedattn_V1_ModelRequest` message.
    ///   - options: Options to apply to this RPC.
    ///   - handleResponse: A closure which handles the response and returns its result to
    ///       the caller. Returning from the closure will cancel the RPC if it hasn't
    ///       already finished.
    /// - Returns: The result of `handleResponse`.
    public func downloadModel<Result>(
        request: GRPCCore.ClientRequest<Fedattn_V1_ModelRequest>,
        options: GRPCCore.CallOptions = .defaults,
        onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_ModelChunk>) async throws -> Result = { response in
            try response.message
        }
    ) async throws -> Result where Result: Sendable {
        try await self.downloadModel(
            request: request,
            serializer: GRPCProtobuf.ProtobufSerializer<Fedattn_V1_ModelRequest>(),
            deserializer: GRPCProtobuf.ProtobufDeserializer<Fedattn_V1_ModelChunk>(),
            options: options,
            onResponse: handleResponse
        )
    }

    /// Call the "SecureStep" method.
    ///
    /// > Source IDL Documentation:
    /// >
    /// > One answer to a phase of a secure round (see "Secure aggregation"). ABORTED: another
    /// > round, attempt or phase is under way, or the caller is not waited for (or already
    /// > answered). FAILED_PRECONDITION: no Join. INVALID_ARGUMENT: the federation runs no secure
    /// > aggregation, or the answer does not fit the round (keys not 32 bytes or not its own,
    /// > shares to clients that are not its advertising neighbours, a vector of the wrong
    /// > length, a share of the wrong kind, point or size), or example_count 0 or over what
    /// > the client declared. Uploads are refused with INVALID_ARGUMENT in a secure federation.
    /// > The reply comes first, then its masked vector's bytes (if any); a reply with a masked
    /// > vector claims an upload slot of its own (a reservation is not needed; one the caller
    /// > holds is used), waiting for one if all are taken, and holds it while the bytes arrive,
    /// > within Limits.upload_timeout_ms. INVALID_ARGUMENT also: train_seconds not finite or
    /// > negative. RESOURCE_EXHAUSTED: another upload of the caller's is being read.
    ///
    /// - Parameters:
    ///   - request: A streaming request producing `Fedattn_V1_SecurePart` messages.
    ///   - options: Options to apply to this RPC.
    ///   - handleResponse: A closure which handles the response and returns its result to
    ///       the caller. Returning from the closure will cancel the RPC if it hasn't
    ///       already finished.
    /// - Returns: The result of `handleResponse`.
    public func secureStep<Result>(
        request: GRPCCore.StreamingClientRequest<Fedattn_V1_SecurePart>,
        options: GRPCCore.CallOptions = .defaults,
        onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_SecureReceipt>) async throws -> Result = { response in
            try response.message
        }
    ) async throws -> Result where Result: Sendable {
        try await self.secureStep(
            request: request,
            serializer: GRPCProtobuf.ProtobufSerializer<Fedattn_V1_SecurePart>(),
            deserializer: GRPCProtobuf.ProtobufDeserializer<Fedattn_V1_SecureReceipt>(),
            options: options,
            onResponse: handleResponse
        )
    }

    /// Call the "ReserveUpload" method.
    ///
    /// > Source IDL Documentation:
    /// >
    /// > A slot for uploading the caller's update for `round`. The coordinator reads
    /// > Limits.upload_slots uploads at a time. Reserving is optional but spares memory: an
    /// > UploadUpdate without a reservation is accepted too, and waits (its first chunks held by
    /// > the transport) for a slot before its bytes are read. A client holds at most one slot,
    /// > however often it reserves: a second reservation while it holds one is granted at once,
    /// > the same slot. The call is held up to a second; `granted` false means ask again after
    /// > `retry_after_ms`. A granted slot is the caller's until its upload ends, or for 10 seconds
    /// > if no upload starts. ABORTED: the update is no longer wanted (another round or base
    /// > version, not selected, already sent). FAILED_PRECONDITION: no Join (Join again).
    ///
    /// - Parameters:
    ///   - request: A request containing a single `Fedattn_V1_UploadReservation` message.
    ///   - options: Options to apply to this RPC.
    ///   - handleResponse: A closure which handles the response and returns its result to
    ///       the caller. Returning from the closure will cancel the RPC if it hasn't
    ///       already finished.
    /// - Returns: The result of `handleResponse`.
    public func reserveUpload<Result>(
        request: GRPCCore.ClientRequest<Fedattn_V1_UploadReservation>,
        options: GRPCCore.CallOptions = .defaults,
        onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_UploadSlot>) async throws -> Result = { response in
            try response.message
        }
    ) async throws -> Result where Result: Sendable {
        try await self.reserveUpload(
            request: request,
            serializer: GRPCProtobuf.ProtobufSerializer<Fedattn_V1_UploadReservation>(),
            deserializer: GRPCProtobuf.ProtobufDeserializer<Fedattn_V1_UploadSlot>(),
            options: options,
            onResponse: handleResponse
        )
    }

    /// Call the "UploadUpdate" method.
    ///
    /// > Source IDL Documentation:
    /// >
    /// > One training update: a header first, then the payload in data chunks of at most
    /// > Limits.update_chunk_bytes. The whole upload must arrive within Limits.upload_timeout_ms
    /// > (DEADLINE_EXCEEDED otherwise). ABORTED: stale (as ReserveUpload, checked on the header
    /// > before any data is read), or the round closed while it arrived. FAILED_PRECONDITION:
    /// > no Join. RESOURCE_EXHAUSTED also when another upload of the caller's is being read
    /// > (one at a time). INVALID_ARGUMENT: no header or a second one, data past the declared
    /// > size, fewer bytes than declared, a payload that does not decode or does not fit the
    /// > model (which tensor and why), non-finite values, a non-zero padding row, a dense tensor
    /// > sent as rows, a norm over the bound, example_count 0 or over what the client declared at
    /// > Join, train_seconds not finite or negative; in a secure federation, any upload.
    /// > RESOURCE_EXHAUSTED: a payload over Limits.max_update_bytes, one that decompresses past
    /// > it or past Limits.max_payload_bytes, or a zstd window over 2^Limits.max_zstd_window_log
    /// > bytes (the message names the window).
    ///
    /// - Parameters:
    ///   - request: A streaming request producing `Fedattn_V1_UpdateChunk` messages.
    ///   - options: Options to apply to this RPC.
    ///   - handleResponse: A closure which handles the response and returns its result to
    ///       the caller. Returning from the closure will cancel the RPC if it hasn't
    ///       already finished.
    /// - Returns: The result of `handleResponse`.
    public func uploadUpdate<Result>(
        request: GRPCCore.StreamingClientRequest<Fedattn_V1_UpdateChunk>,
        options: GRPCCore.CallOptions = .defaults,
        onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_UploadReceipt>) async throws -> Result = { response in
            try response.message
        }
    ) async throws -> Result where Result: Sendable {
        try await self.uploadUpdate(
            request: request,
            serializer: GRPCProtobuf.ProtobufSerializer<Fedattn_V1_UpdateChunk>(),
            deserializer: GRPCProtobuf.ProtobufDeserializer<Fedattn_V1_UploadReceipt>(),
            options: options,
            onResponse: handleResponse
        )
    }

    /// Call the "ReportEvaluation" method.
    ///
    /// > Source IDL Documentation:
    /// >
    /// > Scores of a model version on the caller's test split, as histograms. ABORTED: no
    /// > evaluation is being collected, or another round's, or another model's (the report's
    /// > `round` and `model_version` must echo its EVALUATE task's), or the caller was not asked
    /// > (or already reported); the message names the client, the round and the model.
    /// > FAILED_PRECONDITION: no Join. INVALID_ARGUMENT, naming the client and the figure:
    /// >   - positive_histogram or negative_histogram not of exactly 4096 bins; the validation
    /// >     histograms neither both empty nor both of 4096 bins;
    /// >   - validation_examples or validation_log_loss_sum not 0 without validation histograms;
    /// >   - for the test split and the validation split each: the log-loss sum negative, not
    /// >     finite, or other than 0 over no examples; the example count not the sum of its two
    /// >     histograms' counts; that sum over Limits.max_train_examples;
    /// >   - validation_examples over the train_examples the client declared at Join;
    /// >   - a ranking no client could have made, for each of (ranked_users, hits_at_10,
    /// >     ndcg_at_10_sum, K = 10) and (catalogue_ranked_users, hits_at_20, ndcg_at_20_sum,
    /// >     K = 20) over the test split and (validation_ranked_users, validation_hits_at_10,
    /// >     validation_ndcg_at_10_sum, K = 10) over the validation split: users over the
    /// >     split's positive examples (the count in its positive histogram), hits over users,
    /// >     or the NDCG sum not finite, over hits, or under hits / log2(K + 1) (within 1e-9);
    /// >   - the same for `popularity`'s two (sampled, K = 10; whole catalogue, K = 20) over the
    /// >     test split. (Popularity sums from a client that was given no pooled counts, or beside
    /// >     sums the coordinator already holds from it, are not read.)
    /// > Nothing else bounds a report: its counts and ranked users may be anything up to
    /// > Limits.max_train_examples. What the coordinator does with reports it takes: each round's
    /// > pooled figures add the silos' sums, but a silo whose counts per declared train example
    /// > are over twice the median silo's is weighed down to that; the round kept (and early
    /// > stopping) goes by trimmed means of the silos' own validation AUC (or NDCG@10), each
    /// > silo counting once; a silo whose figures (or their change since its last report) lie
    /// > far from the others' (over 0.25 and over 5 robust standard deviations from the median)
    /// > is named in the coordinator's log and the round's history and left out of its figures.
    ///
    /// - Parameters:
    ///   - request: A request containing a single `Fedattn_V1_EvaluationReport` message.
    ///   - options: Options to apply to this RPC.
    ///   - handleResponse: A closure which handles the response and returns its result to
    ///       the caller. Returning from the closure will cancel the RPC if it hasn't
    ///       already finished.
    /// - Returns: The result of `handleResponse`.
    public func reportEvaluation<Result>(
        request: GRPCCore.ClientRequest<Fedattn_V1_EvaluationReport>,
        options: GRPCCore.CallOptions = .defaults,
        onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_EvaluationReceipt>) async throws -> Result = { response in
            try response.message
        }
    ) async throws -> Result where Result: Sendable {
        try await self.reportEvaluation(
            request: request,
            serializer: GRPCProtobuf.ProtobufSerializer<Fedattn_V1_EvaluationReport>(),
            deserializer: GRPCProtobuf.ProtobufDeserializer<Fedattn_V1_EvaluationReceipt>(),
            options: options,
            onResponse: handleResponse
        )
    }
}

// Helpers providing sugared APIs for 'ClientProtocol' methods.
@available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
extension Fedattn_V1_Federation.ClientProtocol {
    /// Call the "Join" method.
    ///
    /// > Source IDL Documentation:
    /// >
    /// > Registers the caller. FAILED_PRECONDITION: a protocol version the coordinator does not
    /// > speak (the message names the client's and the coordinator's: 11, 10 and 9). INVALID_ARGUMENT: train_examples is 0 or over Limits.max_train_examples, or a
    /// > second Join on the same connection declares another train_examples than the first.
    ///
    /// - Parameters:
    ///   - message: request message to send.
    ///   - metadata: Additional metadata to send, defaults to empty.
    ///   - options: Options to apply to this RPC, defaults to `.defaults`.
    ///   - handleResponse: A closure which handles the response and returns its result to
    ///       the caller. Returning from the closure will cancel the RPC if it hasn't
    ///       already finished.
    /// - Returns: The result of `handleResponse`.
    public func join<Result>(
        _ message: Fedattn_V1_JoinRequest,
        metadata: GRPCCore.Metadata = [:],
        options: GRPCCore.CallOptions = .defaults,
        onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_JoinResponse>) async throws -> Result = { response in
            try response.message
        }
    ) async throws -> Result where Result: Sendable {
        let request = GRPCCore.ClientRequest<Fedattn_V1_JoinRequest>(
            message: message,
            metadata: metadata
        )
        return try await self.join(
            request: request,
            options: options,
            onResponse: handleResponse
        )
    }

    /// Call the "SharePopularity" method.
    ///
    /// > Source IDL Documentation:
    /// >
    /// > The caller's items' interaction counts, or its decline, for the most-popular baseline
    /// > (protocol 10; see "The most-popular baseline"), once after Join. Once a silo has shared
    /// > or declined, a later call (on a new connection, say) is acknowledged and changes nothing:
    /// > a silo's counts are pooled once.
    /// > Under POPULARITY_POOLING_SECURE_SUM (protocol 11) it only declines, before the client's
    /// > first NextTask (a decline after its masked counts were summed changes nothing).
    /// > FAILED_PRECONDITION: no Join. INVALID_ARGUMENT, naming the client, the item where there is
    /// > one, and why: the federation pools no counts in the clear (JoinResponse.popularity is
    /// > not POPULARITY_POOLING_ON: secure aggregation, whose counts travel masked instead, or
    /// > differential privacy); the caller joined with protocol 9; `items` and `counts` of different lengths; a decline with items; no items
    /// > and no decline; an item not above the one before, 0 (padding) or past the model's item
    /// > rows (V - 1); a count of 0; more than Limits.max_popularity_items items; counts adding up
    /// > past the train_examples the client declared at Join (overflow included). A refused share
    /// > leaves the client out of the pool; it is not a configuration error: the client carries on.
    ///
    /// - Parameters:
    ///   - message: request message to send.
    ///   - metadata: Additional metadata to send, defaults to empty.
    ///   - options: Options to apply to this RPC, defaults to `.defaults`.
    ///   - handleResponse: A closure which handles the response and returns its result to
    ///       the caller. Returning from the closure will cancel the RPC if it hasn't
    ///       already finished.
    /// - Returns: The result of `handleResponse`.
    public func sharePopularity<Result>(
        _ message: Fedattn_V1_PopularityCounts,
        metadata: GRPCCore.Metadata = [:],
        options: GRPCCore.CallOptions = .defaults,
        onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_PopularityReceipt>) async throws -> Result = { response in
            try response.message
        }
    ) async throws -> Result where Result: Sendable {
        let request = GRPCCore.ClientRequest<Fedattn_V1_PopularityCounts>(
            message: message,
            metadata: metadata
        )
        return try await self.sharePopularity(
            request: request,
            options: options,
            onResponse: handleResponse
        )
    }

    /// Call the "NextTask" method.
    ///
    /// > Source IDL Documentation:
    /// >
    /// > The caller's next task (a long poll, see above). FAILED_PRECONDITION: this coordinator
    /// > has no Join from the caller (it restarted since): Join again.
    ///
    /// - Parameters:
    ///   - message: request message to send.
    ///   - metadata: Additional metadata to send, defaults to empty.
    ///   - options: Options to apply to this RPC, defaults to `.defaults`.
    ///   - handleResponse: A closure which handles the response and returns its result to
    ///       the caller. Returning from the closure will cancel the RPC if it hasn't
    ///       already finished.
    /// - Returns: The result of `handleResponse`.
    public func nextTask<Result>(
        _ message: Fedattn_V1_TaskRequest,
        metadata: GRPCCore.Metadata = [:],
        options: GRPCCore.CallOptions = .defaults,
        onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_Task>) async throws -> Result = { response in
            try response.message
        }
    ) async throws -> Result where Result: Sendable {
        let request = GRPCCore.ClientRequest<Fedattn_V1_TaskRequest>(
            message: message,
            metadata: metadata
        )
        return try await self.nextTask(
            request: request,
            options: options,
            onResponse: handleResponse
        )
    }

    /// Call the "DownloadModel" method.
    ///
    /// > Source IDL Documentation:
    /// >
    /// > One piece of a model version's payload (the whole model, or a delta from `base_version`:
    /// > see ModelChunk.delta_from): the bytes from `offset`, at most `max_bytes`
    /// > and at most Limits.piece_bytes (127 KiB). A client fetches a model piece after piece, so
    /// > the coordinator holds at most one piece per client however many download at once.
    /// > The pieces of one download come from one payload: a download begins with its piece at
    /// > offset 0 (which ends any other download of the client's), and a piece at a later offset
    /// > is served only from the payload that piece came from, whatever connection asks it. So a
    /// > client sends the same model_version and base_version on every piece of a download, and
    /// > one download at a time. FAILED_PRECONDITION: a piece past offset 0 of another payload
    /// > (another version or base, or the payload the download began with is no longer the one
    /// > served), or with no download begun; the message names the client and both versions:
    /// > begin the download again at offset 0.
    /// > NOT_FOUND: a version the coordinator no longer serves: the task that named it is stale,
    /// > so drop it and ask for the next task. (The current version is served; the one before
    /// > while clients finish the downloads they started, only as payloads already made of it;
    /// > while a new version is being stored the current one is not encoded whole anew.)
    /// > OUT_OF_RANGE: `offset` past the end; UNAVAILABLE: the payload could not be read.
    ///
    /// - Parameters:
    ///   - message: request message to send.
    ///   - metadata: Additional metadata to send, defaults to empty.
    ///   - options: Options to apply to this RPC, defaults to `.defaults`.
    ///   - handleResponse: A closure which handles the response and returns its result to
    ///       the caller. Returning from the closure will cancel the RPC if it hasn't
    ///       already finished.
    /// - Returns: The result of `handleResponse`.
    public func downloadModel<Result>(
        _ message: Fedattn_V1_ModelRequest,
        metadata: GRPCCore.Metadata = [:],
        options: GRPCCore.CallOptions = .defaults,
        onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_ModelChunk>) async throws -> Result = { response in
            try response.message
        }
    ) async throws -> Result where Result: Sendable {
        let request = GRPCCore.ClientRequest<Fedattn_V1_ModelRequest>(
            message: message,
            metadata: metadata
        )
        return try await self.downloadModel(
            request: request,
            options: options,
            onResponse: handleResponse
        )
    }

    /// Call the "SecureStep" method.
    ///
    /// > Source IDL Documentation:
    /// >
    /// > One answer to a phase of a secure round (see "Secure aggregation"). ABORTED: another
    /// > round, attempt or phase is under way, or the caller is not waited for (or already
    /// > answered). FAILED_PRECONDITION: no Join. INVALID_ARGUMENT: the federation runs no secure
    /// > aggregation, or the answer does not fit the round (keys not 32 bytes or not its own,
    /// > shares to clients that are not its advertising neighbours, a vector of the wrong
    /// > length, a share of the wrong kind, point or size), or example_count 0 or over what
    /// > the client declared. Uploads are refused with INVALID_ARGUMENT in a secure federation.
    /// > The reply comes first, then its masked vector's bytes (if any); a reply with a masked
    /// > vector claims an upload slot of its own (a reservation is not needed; one the caller
    /// > holds is used), waiting for one if all are taken, and holds it while the bytes arrive,
    /// > within Limits.upload_timeout_ms. INVALID_ARGUMENT also: train_seconds not finite or
    /// > negative. RESOURCE_EXHAUSTED: another upload of the caller's is being read.
    ///
    /// - Parameters:
    ///   - metadata: Additional metadata to send, defaults to empty.
    ///   - options: Options to apply to this RPC, defaults to `.defaults`.
    ///   - producer: A closure producing request messages to send to the server. Returning
    ///       from the closure closes the request stream.
    ///   - handleResponse: A closure which handles the response and returns its result to
    ///       the caller. Returning from the closure will cancel the RPC if it hasn't
    ///       already finished.
    /// - Returns: The result of `handleResponse`.
    public func secureStep<Result>(
        metadata: GRPCCore.Metadata = [:],
        options: GRPCCore.CallOptions = .defaults,
        requestProducer producer: @Sendable @escaping (GRPCCore.RPCWriter<Fedattn_V1_SecurePart>) async throws -> Void,
        onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_SecureReceipt>) async throws -> Result = { response in
            try response.message
        }
    ) async throws -> Result where Result: Sendable {
        let request = GRPCCore.StreamingClientRequest<Fedattn_V1_SecurePart>(
            metadata: metadata,
            producer: producer
        )
        return try await self.secureStep(
            request: request,
            options: options,
            onResponse: handleResponse
        )
    }

    /// Call the "ReserveUpload" method.
    ///
    /// > Source IDL Documentation:
    /// >
    /// > A slot for uploading the caller's update for `round`. The coordinator reads
    /// > Limits.upload_slots uploads at a time. Reserving is optional but spares memory: an
    /// > UploadUpdate without a reservation is accepted too, and waits (its first chunks held by
    /// > the transport) for a slot before its bytes are read. A client holds at most one slot,
    /// > however often it reserves: a second reservation while it holds one is granted at once,
    /// > the same slot. The call is held up to a second; `granted` false means ask again after
    /// > `retry_after_ms`. A granted slot is the caller's until its upload ends, or for 10 seconds
    /// > if no upload starts. ABORTED: the update is no longer wanted (another round or base
    /// > version, not selected, already sent). FAILED_PRECONDITION: no Join (Join again).
    ///
    /// - Parameters:
    ///   - message: request message to send.
    ///   - metadata: Additional metadata to send, defaults to empty.
    ///   - options: Options to apply to this RPC, defaults to `.defaults`.
    ///   - handleResponse: A closure which handles the response and returns its result to
    ///       the caller. Returning from the closure will cancel the RPC if it hasn't
    ///       already finished.
    /// - Returns: The result of `handleResponse`.
    public func reserveUpload<Result>(
        _ message: Fedattn_V1_UploadReservation,
        metadata: GRPCCore.Metadata = [:],
        options: GRPCCore.CallOptions = .defaults,
        onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_UploadSlot>) async throws -> Result = { response in
            try response.message
        }
    ) async throws -> Result where Result: Sendable {
        let request = GRPCCore.ClientRequest<Fedattn_V1_UploadReservation>(
            message: message,
            metadata: metadata
        )
        return try await self.reserveUpload(
            request: request,
            options: options,
            onResponse: handleResponse
        )
    }

    /// Call the "UploadUpdate" method.
    ///
    /// > Source IDL Documentation:
    /// >
    /// > One training update: a header first, then the payload in data chunks of at most
    /// > Limits.update_chunk_bytes. The whole upload must arrive within Limits.upload_timeout_ms
    /// > (DEADLINE_EXCEEDED otherwise). ABORTED: stale (as ReserveUpload, checked on the header
    /// > before any data is read), or the round closed while it arrived. FAILED_PRECONDITION:
    /// > no Join. RESOURCE_EXHAUSTED also when another upload of the caller's is being read
    /// > (one at a time). INVALID_ARGUMENT: no header or a second one, data past the declared
    /// > size, fewer bytes than declared, a payload that does not decode or does not fit the
    /// > model (which tensor and why), non-finite values, a non-zero padding row, a dense tensor
    /// > sent as rows, a norm over the bound, example_count 0 or over what the client declared at
    /// > Join, train_seconds not finite or negative; in a secure federation, any upload.
    /// > RESOURCE_EXHAUSTED: a payload over Limits.max_update_bytes, one that decompresses past
    /// > it or past Limits.max_payload_bytes, or a zstd window over 2^Limits.max_zstd_window_log
    /// > bytes (the message names the window).
    ///
    /// - Parameters:
    ///   - metadata: Additional metadata to send, defaults to empty.
    ///   - options: Options to apply to this RPC, defaults to `.defaults`.
    ///   - producer: A closure producing request messages to send to the server. Returning
    ///       from the closure closes the request stream.
    ///   - handleResponse: A closure which handles the response and returns its result to
    ///       the caller. Returning from the closure will cancel the RPC if it hasn't
    ///       already finished.
    /// - Returns: The result of `handleResponse`.
    public func uploadUpdate<Result>(
        metadata: GRPCCore.Metadata = [:],
        options: GRPCCore.CallOptions = .defaults,
        requestProducer producer: @Sendable @escaping (GRPCCore.RPCWriter<Fedattn_V1_UpdateChunk>) async throws -> Void,
        onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_UploadReceipt>) async throws -> Result = { response in
            try response.message
        }
    ) async throws -> Result where Result: Sendable {
        let request = GRPCCore.StreamingClientRequest<Fedattn_V1_UpdateChunk>(
            metadata: metadata,
            producer: producer
        )
        return try await self.uploadUpdate(
            request: request,
            options: options,
            onResponse: handleResponse
        )
    }

    /// Call the "ReportEvaluation" method.
    ///
    /// > Source IDL Documentation:
    /// >
    /// > Scores of a model version on the caller's test split, as histograms. ABORTED: no
    /// > evaluation is being collected, or another round's, or another model's (the report's
    /// > `round` and `model_version` must echo its EVALUATE task's), or the caller was not asked
    /// > (or already reported); the message names the client, the round and the model.
    /// > FAILED_PRECONDITION: no Join. INVALID_ARGUMENT, naming the client and the figure:
    /// >   - positive_histogram or negative_histogram not of exactly 4096 bins; the validation
    /// >     histograms neither both empty nor both of 4096 bins;
    /// >   - validation_examples or validation_log_loss_sum not 0 without validation histograms;
    /// >   - for the test split and the validation split each: the log-loss sum negative, not
    /// >     finite, or other than 0 over no examples; the example count not the sum of its two
    /// >     histograms' counts; that sum over Limits.max_train_examples;
    /// >   - validation_examples over the train_examples the client declared at Join;
    /// >   - a ranking no client could have made, for each of (ranked_users, hits_at_10,
    /// >     ndcg_at_10_sum, K = 10) and (catalogue_ranked_users, hits_at_20, ndcg_at_20_sum,
    /// >     K = 20) over the test split and (validation_ranked_users, validation_hits_at_10,
    /// >     validation_ndcg_at_10_sum, K = 10) over the validation split: users over the
    /// >     split's positive examples (the count in its positive histogram), hits over users,
    /// >     or the NDCG sum not finite, over hits, or under hits / log2(K + 1) (within 1e-9);
    /// >   - the same for `popularity`'s two (sampled, K = 10; whole catalogue, K = 20) over the
    /// >     test split. (Popularity sums from a client that was given no pooled counts, or beside
    /// >     sums the coordinator already holds from it, are not read.)
    /// > Nothing else bounds a report: its counts and ranked users may be anything up to
    /// > Limits.max_train_examples. What the coordinator does with reports it takes: each round's
    /// > pooled figures add the silos' sums, but a silo whose counts per declared train example
    /// > are over twice the median silo's is weighed down to that; the round kept (and early
    /// > stopping) goes by trimmed means of the silos' own validation AUC (or NDCG@10), each
    /// > silo counting once; a silo whose figures (or their change since its last report) lie
    /// > far from the others' (over 0.25 and over 5 robust standard deviations from the median)
    /// > is named in the coordinator's log and the round's history and left out of its figures.
    ///
    /// - Parameters:
    ///   - message: request message to send.
    ///   - metadata: Additional metadata to send, defaults to empty.
    ///   - options: Options to apply to this RPC, defaults to `.defaults`.
    ///   - handleResponse: A closure which handles the response and returns its result to
    ///       the caller. Returning from the closure will cancel the RPC if it hasn't
    ///       already finished.
    /// - Returns: The result of `handleResponse`.
    public func reportEvaluation<Result>(
        _ message: Fedattn_V1_EvaluationReport,
        metadata: GRPCCore.Metadata = [:],
        options: GRPCCore.CallOptions = .defaults,
        onResponse handleResponse: @Sendable @escaping (GRPCCore.ClientResponse<Fedattn_V1_EvaluationReceipt>) async throws -> Result = { response in
            try response.message
        }
    ) async throws -> Result where Result: Sendable {
        let request = GRPCCore.ClientRequest<Fedattn_V1_EvaluationReport>(
            message: message,
            metadata: metadata
        )
        return try await self.reportEvaluation(
            request: request,
            options: options,
            onResponse: handleResponse
        )
    }
}