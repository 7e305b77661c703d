#!/usr/bin/env bash
# A federation that runs through (issue 25): one `serve` on 127.0.0.1 with mutual TLS and an
# allow-list, while its rounds go on,
#   1. silos a and b join, each from its own copy of the kit `provision` made, with its join.sh;
#   2. after round 2 is published, silo c is added as a partner adds itself: it makes its own
#      key and request (fedattn-client request-certificate), the operator signs it
#      (fedattn-coordinator sign, which lists c in members.txt, re-read live) and c joins;
#      c must take part in a later round;
#   3. silo b is removed (fedattn-coordinator remove): its client must be refused and end, and
#      the rounds go on with a and c;
#   4. the coordinator's certificate (renew --server) and silo a's (renew --silo a, the file sent
#      to the silo) are renewed: the running coordinator presents its new one from the next
#      handshake (the serial openssl sees changes), a's client takes its new one when it next
#      connects;
#   5. the coordinator is upgraded: stopped with SIGTERM (exit status 0) and started again on the
#      same state folder and port, with NEW_COORDINATOR (the third argument) or, without one,
#      the same binary; a and c are not restarted: they reconnect by themselves;
#   6. every round 1..ROUNDS must then be in the history exactly once.
# Prints a table of the rounds (participants, seconds, pooled test AUC), a table of the events
# (seconds since serve started, the round under way), the log lines of each event, and the
# total seconds; writes the same as JSON to out/run-through.json. Every wait is bounded and
# names what did not happen. Everything runs in a temporary folder, removed at the end with
# every process this started (RUN_THROUGH_KEEP=1 keeps the folder). A check that fails is
# printed as NOT OK and the run goes on where it can; the exit status is 1 if any failed.
# Usage: scripts/run-through.sh FEDATTN_COORDINATOR FEDATTN_CLIENT [NEW_COORDINATOR]
# (make run-through). ROUNDS (default 12) and LOCAL_EPOCHS (default 3) pace the rounds: about
# 2-3 s each with 3 silos of 1,000 synthetic users on 2 cores; a run takes about 30 s, the
# events falling in rounds 3 to 7.
set -euo pipefail

usage="usage: scripts/run-through.sh FEDATTN_COORDINATOR FEDATTN_CLIENT [NEW_COORDINATOR]"
absolute() { [ -x "$1" ] || { echo "run-through: $1 is not an executable ($usage)" >&2; exit 2; }; echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
coordinator="$(absolute "${1:?$usage}")"
client="$(absolute "${2:?$usage}")"
new_coordinator="$(absolute "${3:-$coordinator}")"
rounds="${ROUNDS:-12}"
local_epochs="${LOCAL_EPOCHS:-3}"
json_out="${JSON_OUT:-out/run-through.json}"
for tool in curl jq openssl python3; do
  command -v "$tool" >/dev/null || { echo "run-through: $tool is missing (apt-get install $tool)" >&2; exit 2; }
done

work="$(mktemp -d /tmp/fedattn-run-through.XXXXXX)"
fed="$work/operator/federation"   # the operator's trusted machine; the coordinator serves these files
logs="$work/logs"
mkdir -p "$work/operator" "$logs" "$work/sites" "$work/bin"
# join.sh runs `fedattn-client` from PATH, as in a silo where the package is installed.
ln -s "$client" "$work/bin/fedattn-client"
export PATH="$work/bin:$PATH"

started=()        # every process this script started, by id
serve_pid=""
problems=()
script_start="$(date +%s.%N)"
start="$script_start"   # reset when serve starts

say() { echo "run-through: $*" >&2; }
alive() { local s; s="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1; [[ "$s" != Z* ]]; }
cleanup() {
  local status=$? pid
  for pid in "${started[@]}"; do if alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi; done
  for pid in "${started[@]}"; do
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then say "process $pid did not stop within 10 s of SIGTERM: killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    for f in "$logs"/*.log; do
      [ -e "$f" ] || continue
      echo "--- the last lines of $(basename "$f")" >&2
      tail -n 15 "$f" >&2
    done
  fi
  if [ -n "${RUN_THROUGH_KEEP:-}" ]; then say "kept $work"; else rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() { say "FAILED: $*"; exit 1; }
# A check that failed: said at once, listed at the end, and the run goes on.
problem() { say "NOT OK: $*"; problems+=("$*"); }
checks="$work/checks.txt"   # every check that passed, for the JSON
ok() { say "ok: $*"; echo "$*" >>"$checks"; }
# check SAID_IF_SO SAID_IF_NOT COMMAND...: ok or a problem, as COMMAND succeeds or not.
check() { local good="$1" bad="$2"; shift 2; if "$@"; then ok "$good"; else problem "$bad"; fi; }
elapsed() { awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# The status page's JSON (serve --metrics-port); empty while no coordinator answers.
status() { curl -sf --max-time 2 "http://127.0.0.1:$metrics_port/status.json" || true; }
# jq over the status JSON; empty when there is none.
status_field() { status | jq -r "$1" 2>/dev/null || true; }
# The round under way and its phase ("round 4 (training)"), as the status page has it.
under_way() {
  local s; s="$(status)"
  [ -n "$s" ] || { echo "no coordinator answering"; return; }
  jq -r 'if .phase.state == "complete" then "complete" else "round \(.phase.round // "?") (\(.phase.state))" end' <<<"$s"
}
# poll TRIES INTERVAL COMMAND...: runs COMMAND until it succeeds, at most TRIES times, INTERVAL
# seconds apart; status 1 if it never did. Fails at once if serve has ended meanwhile.
poll() {
  local tries="$1" interval="$2"; shift 2
  for _ in $(seq "$tries"); do
    "$@" && return 0
    if [ -n "$serve_pid" ] && ! alive "$serve_pid"; then
      fail "the coordinator (process $serve_pid) ended while waiting for: $* (see $(basename "$serve_log"))"
    fi
    sleep "$interval"
  done
  return 1
}
# wait_for WHAT TRIES INTERVAL COMMAND...: poll, and fail naming WHAT if it never happened.
wait_for() {
  local what="$1" tries="$2" interval="$3"; shift 3
  poll "$tries" "$interval" "$@" ||
    fail "$what did not happen within $(awk -v t="$tries" -v i="$interval" 'BEGIN { print t * i }') s"
}
# The federation must still be under way for an event to happen while it runs.
require_under_way() {
  [ "$(status_field .phase.state)" != complete ] ||
    fail "the federation completed before '$1': give it more rounds (ROUNDS=$((rounds + 6))) or slower ones (LOCAL_EPOCHS=$((local_epochs + 2)))"
}
events="$work/events.jsonl"
: > "$events"
# event NAME DETAIL: what happened, seconds since serve started, the round under way.
event() {
  local seconds round
  seconds="$(elapsed)"
  round="$(under_way)"
  jq -nc --arg event "$1" --arg detail "$2" --argjson seconds "$seconds" --arg round "$round" \
    '{seconds: $seconds, event: $event, round_under_way: $round, detail: $detail}' >> "$events"
  say "t+$seconds s, $round: $1 ($2)"
}
# last_round NAME: the last round whose aggregate holds this silo's update (status page), or empty.
last_round() { status_field ".silos[] | select(.name == \"$1\") | .last_round // empty"; }
published() { status_field '[.rounds[].round] | max // 0'; }
# serial_presented: the serial of the certificate the coordinator presents to a new connection
# (openssl s_client with silo a's kit from the operator's folder: the server asks for a client's).
serial_presented() {
  timeout 10 openssl s_client -connect "127.0.0.1:$port" -cert "$fed/silos/a/cert.pem" -key "$fed/silos/a/key.pem" \
    -CAfile "$fed/ca/ca.pem" </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//' || true
}
# serial_of FILE: a certificate's serial as openssl prints it; colon_serial: as fedattn logs it.
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }
colon_serial() { tr 'A-F' 'a-f' <<<"$1" | sed 's/../&:/g; s/:$//'; }
short_serial() { echo "$(colon_serial "$1" | cut -c 1-11)…"; }
# log_has FILE PATTERN: grep -E in a log, quietly.
log_has() { grep -Eq -- "$2" "$1" 2>/dev/null; }
# start_serve BINARY LOG: serve in the background on the federation's files, port and state folder.
start_serve() {
  "$1" serve --host 127.0.0.1 --port "$port" --port-file "$work/port.txt" --metrics-port "$metrics_port" \
    --cert "$fed/coordinator/cert.pem" --key "$fed/coordinator/key.pem" --ca "$fed/coordinator/ca.pem" \
    --members "$fed/members.txt" --state "$work/state" --rounds "$rounds" --min-clients 2 --quorum 1 \
    --round-timeout 60 --local-epochs "$local_epochs" --items catalogue:200 --strategies 3 >"$2" 2>&1 &
  serve_pid=$!
  serve_log="$2"
  started+=("$serve_pid")
  ready() { curl -sf --max-time 2 "http://127.0.0.1:$metrics_port/readyz" >/dev/null && [ -s "$work/port.txt" ]; }
  wait_for "serve ready on /readyz (process $serve_pid)" 150 0.2 ready
  [ "$(cat "$work/port.txt")" = "$port" ] || fail "serve wrote port $(cat "$work/port.txt") to --port-file, not $port"
}
# stop_serve: SIGTERM; sets serve_status to its exit status (it must end within 70 s, as systemd
# would wait).
stop_serve() {
  local pid="$serve_pid"
  serve_pid=""
  serve_status=0
  kill -TERM "$pid"
  for _ in $(seq 700); do alive "$pid" || break; sleep 0.1; done
  alive "$pid" && fail "the coordinator (process $pid) did not stop within 70 s of SIGTERM"
  wait "$pid" || serve_status=$?
}

# --- 1. Provision, serve, a and b join ---------------------------------------------------
ports="$(python3 -c 'import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')"
read -r port metrics_port <<<"$ports"
say "work folder $work; coordinator on 127.0.0.1:$port, status on 127.0.0.1:$metrics_port"
"$client" synthesize --out "$work/data" --silos 3 --users 3000 >"$logs/operator.log" 2>&1 ||
  fail "fedattn-client synthesize failed: $(tail -n 3 "$logs/operator.log")"
"$coordinator" provision --out "$fed" --coordinator-host 127.0.0.1 --port "$port" --silo a b >>"$logs/operator.log" 2>&1 ||
  fail "provision failed: $(tail -n 3 "$logs/operator.log")"
# Each silo gets its kit, over a channel the operator trusts: here, a copy.
for silo in a b; do cp -r "$fed/silos/$silo" "$work/sites/$silo"; done

start="$(date +%s.%N)"
start_serve "$coordinator" "$logs/coordinator.log"
ok "serve ready on 127.0.0.1:$port (--port-file agrees), /readyz 200"

join_flags=(--items catalogue:200 --strategies 3)
"$work/sites/a/join.sh" "$work/data/silo-00.csv" "${join_flags[@]}" >"$logs/a.log" 2>&1 &
a_pid=$!; started+=("$a_pid")
"$work/sites/b/join.sh" "$work/data/silo-01.csv" "${join_flags[@]}" >"$logs/b.log" 2>&1 &
b_pid=$!; started+=("$b_pid")

# --- 2. After round 2, c added as a partner adds itself ------------------------------------
round_published() { [ "$(published)" -ge "$1" ] 2>/dev/null; }
wait_for "round 2 published (status page)" 240 0.5 round_published 2
require_under_way "c added"
"$client" request-certificate --name c --out "$work/sites/c" >>"$logs/operator.log" 2>&1 ||
  fail "fedattn-client request-certificate --name c failed: $(tail -n 3 "$logs/operator.log")"
mkdir -p "$work/operator/inbox"
cp "$work/sites/c/c.csr" "$work/operator/inbox/c.csr"   # the request the silo sends the operator
"$coordinator" sign --federation "$fed" --csr "$work/operator/inbox/c.csr" --out "$work/operator/inbox/c-cert.pem" \
  >>"$logs/operator.log" 2>&1 || fail "fedattn-coordinator sign of c's request failed: $(tail -n 3 "$logs/operator.log")"
event "c added" "request-certificate in c, sign by the operator (lists c in members.txt), c joins"
check "members.txt lists c" "sign did not list c in members.txt" grep -qx c "$fed/members.txt"
# What the operator sends back, put beside c's key.
cp "$work/operator/inbox/c-cert.pem" "$work/sites/c/cert.pem"
cp "$fed/ca/ca.pem" "$work/sites/c/ca.pem"
(cd "$work/sites/c" && exec fedattn-client join --coordinator "127.0.0.1:$port" --cert cert.pem --key key.pem --ca ca.pem \
  --data "$work/data/silo-02.csv" "${join_flags[@]}") >"$logs/c.log" 2>&1 &
c_pid=$!; started+=("$c_pid")
wait_for "the coordinator re-reading members.txt with c in it (its log)" 60 0.5 \
  log_has "$serve_log" "members.txt re-read: .*added 'c'"
wait_for "c joining (the coordinator's log: 'c joined')" 60 0.5 log_has "$serve_log" "c joined"
took_part() { [ -n "$(last_round "$1")" ]; }
wait_for "c taking part in a round (status page: a round holding its update)" 120 0.5 took_part c
c_first="$(status_field '.silos[] | select(.name == "c") | .last_round')"
ok "c took part in round $c_first"

# --- 3. b removed -------------------------------------------------------------------------
require_under_way "b removed"
"$coordinator" remove --federation "$fed" --silo b >>"$logs/operator.log" 2>&1 ||
  fail "fedattn-coordinator remove --silo b failed: $(tail -n 3 "$logs/operator.log")"
b_removed_at="$(status_field .phase.round)"
[[ "$b_removed_at" =~ ^[0-9]+$ ]] || fail "the status page names no round under way when b is removed ('$b_removed_at')"
event "b removed" "remove --silo b: off members.txt, its certificate revoked"
b_gone() { ! alive "$b_pid"; }
b_status=""
if poll 120 0.5 b_gone; then
  wait "$b_pid" || b_status=$?
  b_status="${b_status:-0}"
  if [ "$b_status" -ne 0 ] && log_has "$logs/b.log" "refused|revoked"; then
    ok "b's client ended with status $b_status: $(grep -E 'refused|revoked' "$logs/b.log" | tail -n 1)"
  else
    problem "b's client ended with status $b_status, and its log says: $(tail -n 1 "$logs/b.log")"
  fi
else
  problem "b's client still runs 60 s after its removal; its last line: $(tail -n 1 "$logs/b.log")"
fi
check "the coordinator re-read members.txt without b" "the coordinator's log has no re-read of members.txt without b" \
  log_has "$serve_log" "members.txt re-read: .*removed 'b'"
check "the coordinator says b left" "the coordinator's log never says 'b left'" log_has "$serve_log" "b left"

# --- 4. The coordinator's and a's certificates renewed --------------------------------------
require_under_way "coordinator cert renewed"
before="$(serial_presented)"
[ -n "$before" ] || fail "openssl s_client got no certificate from 127.0.0.1:$port"
"$coordinator" renew --federation "$fed" --server >>"$logs/operator.log" 2>&1 ||
  fail "fedattn-coordinator renew --server failed: $(tail -n 3 "$logs/operator.log")"
renewed="$(serial_of "$fed/coordinator/cert.pem")"
event "coordinator cert renewed" "renew --server: serial $(short_serial "$before") -> $(short_serial "$renewed")"
after="$(serial_presented)"
if [ "$after" = "$renewed" ] && [ "$before" != "$renewed" ]; then
  ok "a new connection is presented serial $(colon_serial "$after") (was $(colon_serial "$before")), no restart"
else
  problem "after renew --server a new connection is presented serial '$(colon_serial "$after")', not the renewed $(colon_serial "$renewed") (before: $(colon_serial "$before"))"
fi
check "the coordinator logged its reload" "the coordinator's log has no 'reloaded: serial $(colon_serial "$renewed")'" \
  log_has "$serve_log" "reloaded: serial $(colon_serial "$renewed")"

a_before="$(serial_of "$work/sites/a/cert.pem")"
"$coordinator" renew --federation "$fed" --silo a >>"$logs/operator.log" 2>&1 ||
  fail "fedattn-coordinator renew --silo a failed: $(tail -n 3 "$logs/operator.log")"
# Sent to silo a, and renamed into place there (a reader never sees half a file).
cp "$fed/silos/a/cert.pem" "$work/sites/a/cert.pem.new"
mv "$work/sites/a/cert.pem.new" "$work/sites/a/cert.pem"
a_renewed="$(serial_of "$work/sites/a/cert.pem")"
event "a cert renewed" "renew --silo a, its cert.pem sent to a: serial $(short_serial "$a_before") -> $(short_serial "$a_renewed")"

# One round with a and c alone, after b's removal, before the coordinator stops.
after_removal=$((b_removed_at + 1))
wait_for "round $after_removal published after b's removal" 120 0.5 round_published "$after_removal"

# --- 5. The coordinator upgraded: SIGTERM, then a start on the same state folder and port ----
require_under_way "coordinator restarted (upgrade)"
if cmp -s "$coordinator" "$new_coordinator"; then
  upgrade_note="replaced by a build of the same release: the same binary, $("$new_coordinator" --version)"
else
  upgrade_note="replaced by $new_coordinator, $("$new_coordinator" --version) (was $("$coordinator" --version))"
fi
restart_round="$(status_field .phase.round)"
[[ "$restart_round" =~ ^[0-9]+$ ]] || fail "the status page names no round under way before the restart ('$restart_round')"
event "coordinator restarted (upgrade)" "SIGTERM, then serve on the same state folder and port; $upgrade_note"
stop_time="$(date +%s.%N)"
stop_serve
check "the coordinator stopped with status 0" "the coordinator stopped with status $serve_status after SIGTERM" [ "$serve_status" = 0 ]
check "it said: $(grep -o 'asked to stop (SIGTERM).*' "$serve_log" | head -n 1)" "the coordinator's log has no 'asked to stop (SIGTERM)'" \
  log_has "$serve_log" "asked to stop \(SIGTERM\)"
check "it said: $(grep -o 'stopped: .*' "$serve_log" | tail -n 1)" \
  "the coordinator's log has no 'stopped: …' line saying what the state folder keeps" log_has "$serve_log" "stopped: "
start_serve "$new_coordinator" "$logs/coordinator-upgraded.log"
downtime="$(awk -v a="$stop_time" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
ok "the upgraded coordinator is ready ($downtime s after SIGTERM)"
wait_for "a reconnecting to the upgraded coordinator (its log: 'a joined')" 120 0.5 log_has "$serve_log" "a joined"
wait_for "c reconnecting to the upgraded coordinator (its log: 'c joined')" 120 0.5 log_has "$serve_log" "c joined"
for silo in a c; do
  pid_var="${silo}_pid"
  check "$silo's client is the same process (${!pid_var}), not restarted" "$silo's client (process ${!pid_var}) is gone" \
    alive "${!pid_var}"
done
if poll 60 0.5 log_has "$logs/a.log" "reloaded: serial $(colon_serial "$a_renewed")"; then
  ok "a's client took its renewed certificate (serial $(colon_serial "$a_renewed")) for its new connection"
else
  problem "a's client did not log taking its renewed certificate (serial $(colon_serial "$a_renewed")) within 30 s of reconnecting"
fi

# --- 6. To the end --------------------------------------------------------------------------
complete() { [ "$(status_field .phase.state)" = complete ]; }
wait_for "the federation completing its $rounds rounds" 600 0.5 complete
federation_seconds="$(elapsed)"
final_status="$(status)"
gone() { ! alive "$1"; }
for silo in a c; do
  pid_var="${silo}_pid"
  wait_for "$silo's client ending once the federation is done" 120 0.5 gone "${!pid_var}"
  code=0; wait "${!pid_var}" || code=$?
  if [ "$code" = 0 ] && log_has "$logs/$silo.log" "federation done"; then ok "$silo's client ended with status 0: federation done"
  else problem "$silo's client ended with status $code: $(tail -n 1 "$logs/$silo.log")"; fi
done
stop_serve
[ "$serve_status" = 0 ] || problem "the upgraded coordinator stopped with status $serve_status after SIGTERM"
"$coordinator" history --state "$work/state" --json >"$work/history.json" || fail "fedattn-coordinator history --json failed"
# Seen here, not checked: a temporary file the coordinator left in its state folder.
notes=()
for f in "$work/state"/*.tmp; do
  [ -e "$f" ] || continue
  notes+=("the state folder holds $(basename "$f") once serve has stopped ($(stat -c '%h' "$f") links to its inode: $(find "$work/state" -samefile "$f" -printf '%f ' | sed 's/ $//'))")
  say "note: ${notes[-1]}"
done
total_seconds="$(awk -v a="$script_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"

# The report: checks on the history, the tables, the log lines, and the JSON.
mkdir -p "$(dirname "$json_out")"
printf '%s\n' "${problems[@]}" >"$work/problems.txt"
printf '%s\n' "${notes[@]}" >"$work/notes.txt"
export RT_ROUNDS="$rounds" RT_LOCAL_EPOCHS="$local_epochs" RT_START="$start" RT_LOGS="$logs" RT_WORK="$work" \
  RT_EVENTS="$events" RT_HISTORY="$work/history.json" RT_STATUS="$final_status" RT_JSON="$json_out" \
  RT_C_FIRST="$c_first" RT_B_REMOVED="$b_removed_at" RT_B_STATUS="$b_status" RT_RESTART="$restart_round" \
  RT_FEDERATION_SECONDS="$federation_seconds" RT_TOTAL_SECONDS="$total_seconds" RT_DOWNTIME="$downtime" \
  RT_UPGRADE="$upgrade_note" RT_NEW_COORDINATOR="$new_coordinator"
python3 - <<'PY'
import datetime, json, os, re, sys

env = os.environ
work, logs = env["RT_WORK"], env["RT_LOGS"]
planned = int(env["RT_ROUNDS"])
start = float(env["RT_START"])
history = json.load(open(env["RT_HISTORY"]))
status = json.loads(env["RT_STATUS"])
events = [json.loads(line) for line in open(env["RT_EVENTS"])]
read_lines = lambda name: [l for l in open(os.path.join(work, name)).read().splitlines() if l]
problems, notes, checks = read_lines("problems.txt"), read_lines("notes.txt"), read_lines("checks.txt")
b_removed, restart, c_first = int(env["RT_B_REMOVED"]), int(env["RT_RESTART"]), int(env["RT_C_FIRST"])

def problem(text):
    print(f"run-through: NOT OK: {text}", file=sys.stderr)
    problems.append(text)

def check(good, bad, condition):
    if condition:
        checks.append(good)
    else:
        problem(bad)

# Seconds since serve started of a time the binaries print to the second (status page, logs):
# both sides taken to the second, so within a second of the truth.
def since_start(iso):
    if not iso:
        return None
    moment = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00").replace("+0000", "+00:00"))
    return int(moment.timestamp()) - int(start)

# Every round 1..N exactly once, evaluated; who took part in each.
numbers = [r["round"] for r in history["rounds"]]
check(f"the history holds rounds 1..{planned}, each once", f"the history holds rounds {numbers}, not 1..{planned} once each",
      sorted(numbers) == list(range(1, planned + 1)))
published = {r["round"]: r.get("published_at") for r in status.get("rounds", [])}
rounds = []
for r in sorted(history["rounds"], key=lambda r: r["round"]):
    rounds.append({
        "round": r["round"], "participants": sorted(r["participants"]), "seconds": round(r["seconds"], 2),
        "test_auc": r.get("test_auc"), "published_seconds": since_start(published.get(r["round"])),
        "evaluated": r.get("evaluated"), "retries": r.get("retries", []),
    })
check("every round was evaluated", "rounds not evaluated: " + str([r["round"] for r in rounds if not r["evaluated"]]),
      all(r["evaluated"] for r in rounds))
check("a took part in every round", "a is missing from rounds " + str([r["round"] for r in rounds if "a" not in r["participants"]]),
      all("a" in r["participants"] for r in rounds))
c_rounds = [r["round"] for r in rounds if "c" in r["participants"]]
check(f"c took part in rounds {c_rounds[0] if c_rounds else '-'}..{c_rounds[-1] if c_rounds else '-'}", "c took part in no round", c_rounds)
# The round under way at the restart may close before c is back (the coordinator does not
# wait for every silo, only for --min-clients): c may miss that one round, no other.
c_missed = [n for n in range(c_rounds[0], planned + 1) if n not in c_rounds] if c_rounds else []
check("c took part in every round after its first (but perhaps the one under way at the restart)",
      f"c is missing from rounds after its first: {c_missed}", c_rounds and set(c_missed) <= {restart})
b_after = [r["round"] for r in rounds if r["round"] > b_removed and "b" in r["participants"]]
check(f"b took part in no round after round {b_removed}, the one under way at its removal",
      f"b took part in rounds {b_after}, after its removal in round {b_removed}", not b_after)
check(f"round {restart}, under way at the restart, was trained again and published once",
      f"round {restart}, under way at the restart, is not in the history once", numbers.count(restart) == 1)

# The log lines of each event.
def lines(name, pattern, first=None):
    path = os.path.join(logs, name)
    if not os.path.exists(path):
        return []
    found = [f"{name}: {l.rstrip()}" for l in open(path, errors="replace") if re.search(pattern, l)]
    return found[:first] if first else found
# The lines of a log from the first that matches PATTERN to its end.
def lines_from(name, pattern):
    found = lines(name, ".")
    first = next((i for i, l in enumerate(found) if re.search(pattern, l)), len(found))
    return found[first:]
def at(line):
    m = re.search(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|\+0000))", line)
    return since_start(m.group(1)) if m else None
a_reload = lines("a.log", r"certificate .* reloaded")
coordinator_reload = lines("coordinator.log", r"certificate .* reloaded")
back = lines("coordinator-upgraded.log", r"\b[ac] joined")
evidence = {
    "c added": lines("operator.log", r"^signed silo 'c'")
        + lines("coordinator.log", r"members.txt re-read: .*added 'c'|\bc joined")
        + lines("c.log", r"joined as c", first=1),
    "b removed": lines("operator.log", r"^took 'b' off")
        + lines("coordinator.log", r"members.txt re-read: .*removed 'b'|revoked.txt re-read|\bb left|refused .*'b'")
        + lines("b.log", r"refused|revoked|[Ee]rror"),
    "coordinator cert renewed": lines("operator.log", r"^renewed the coordinator's certificate")
        + lines("coordinator.log", r"certificate .* reloaded|changed but is not used"),
    "a cert renewed": lines("operator.log", r"^renewed silo 'a'")
        + lines("a.log", r"certificate .* reloaded|changed but is not used"),
    "coordinator restarted (upgrade)": lines_from("coordinator.log", r"asked to stop")
        + lines("coordinator-upgraded.log", r"resuming|listening on|\b[ac] joined|refused .* from '[ac]'")
        + lines("coordinator-upgraded.log", rf"round {restart}: ", first=2)
        + lines("a.log", r"retrying|cannot reach|not counted|joined as a")[1:]
        + lines("c.log", r"retrying|cannot reach|not counted|joined as c")[1:],
}
outcome = {
    "c added": f"c took part from round {c_first}",
    "b removed": f"b's client refused and ended (status {env['RT_B_STATUS'] or '?'}); no round after {b_removed} has b",
    "coordinator cert renewed": "taken at the next handshake" + (f" (t+{at(coordinator_reload[0])} s), no restart" if coordinator_reload else ": NOT SEEN"),
    "a cert renewed": "taken by a's client at its next connection" + (f", t+{at(a_reload[0])} s (after the restart)" if a_reload else ": NOT SEEN"),
    "coordinator restarted (upgrade)": f"down {float(env['RT_DOWNTIME']):.1f} s; round {restart} trained again"
        + (f"; a and c back by t+{max(at(l) for l in back)} s, not restarted" if back else "; a and c NOT back"),
}
for e in events:
    e["log_lines"] = evidence.get(e["event"], [])
    e["outcome"] = outcome.get(e["event"], "")
    if not e["log_lines"]:
        problem(f"no log line found for '{e['event']}'")

report = {
    "date": datetime.date.today().isoformat(),
    "planned_rounds": planned, "local_epochs": int(env["RT_LOCAL_EPOCHS"]),
    "rounds": rounds, "events": events,
    "federation_seconds": float(env["RT_FEDERATION_SECONDS"]), "total_seconds": float(env["RT_TOTAL_SECONDS"]),
    "restart_downtime_seconds": float(env["RT_DOWNTIME"]), "upgrade": env["RT_UPGRADE"],
    "upgraded_to": env["RT_NEW_COORDINATOR"],
    "c_first_round": c_first, "b_removed_in_round": b_removed, "restarted_in_round": restart,
    "checks": checks, "notes": notes, "problems": problems, "ok": not problems,
}
with open(env["RT_JSON"], "w") as out:
    json.dump(report, out, indent=1)

print(f"A federation that runs through: {planned} rounds, 3 synthetic silos of 1,000 users, "
      f"{report['local_epochs']} local epochs, mutual TLS on 127.0.0.1")
print()
print("| round | participants | seconds | pooled test AUC | published (s since start) |")
print("|---|---|---|---|---|")
for r in rounds:
    auc = f"{r['test_auc']:.4f}" if r["test_auc"] is not None else "-"
    note = f" (retried: {'; '.join(map(str, r['retries']))})" if r["retries"] else ""
    pub = r["published_seconds"] if r["published_seconds"] is not None else "-"
    print(f"| {r['round']} | {', '.join(r['participants'])}{note} | {r['seconds']:.2f} | {auc} | {pub} |")
print()
print("| s since start | event | round under way | what | then |")
print("|---|---|---|---|---|")
for e in events:
    print(f"| {e['seconds']:.1f} | {e['event']} | {e['round_under_way']} | {e['detail']} | {e['outcome']} |")
print()
print(f"{report['federation_seconds']:.1f} s from serve's start to the federation's end; the coordinator was down "
      f"{report['restart_downtime_seconds']:.1f} s for its upgrade ({report['upgrade']}: {report['upgraded_to']}); "
      f"the whole script: {report['total_seconds']:.1f} s.")
print()
for e in events:
    print(f"{e['event']} (t+{e['seconds']:.1f} s, {e['round_under_way']}):")
    for l in e["log_lines"]:
        print(f"    {l}")
print()
for n in notes:
    print(f"note: {n}")
if problems:
    print(f"NOT OK: {len(problems)} check(s) failed:")
    for p in problems:
        print(f"  - {p}")
    sys.exit(1)
print(f"ok: {len(checks)} checks passed; every round 1..{planned} published once, no client restarted; JSON: {env['RT_JSON']}")
PY
