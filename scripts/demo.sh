#!/usr/bin/env bash
# The demo story, end to end on real peers (DESIGN.md section 6a): ten bare-metal machines are
# requested for SLURM by a tenant, reserved for it, put on its project's network, handed over to
# SLURM and confirmed ready by SLURM, each milestone printed as the service reaches it; then a job
# runs on all of them, the cluster is torn down, and everything the demo started is stopped.
#
# The peers run in network namespaces on this machine: one simulated BMC (ipmi_sim) per machine,
# Open vSwitch as the leaf switch, dnsmasq per tenant network, munge and slurmctld, and each
# machine's slurmd started by its BMC's power-on hook (the stand-in for the booted OS). The demo
# starts `topoplace serve` on the embedded store with the lab's inventory and executor settings.
#
#   sudo scripts/demo.sh            # builds what is missing (Release), then runs the story
#
# Environment: DEMO_NODES (default 10), TOPOPLACE_BUILD (a build directory that already holds
# api/topoplace and tests/executors/topoplace_lab: no build step), DEMO_TIMEOUT (seconds to wait
# for READY, default 240). Exit 0 when the whole story ran; non-zero naming what did not happen.
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=${DEMO_NODES:-10}
timeout=${DEMO_TIMEOUT:-240}
tenant=nlp-lab
project=llm

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: needs root (network namespaces, Open vSwitch, SLURM daemons)" >&2
  exit 1
fi

if [ -z "${TOPOPLACE_BUILD:-}" ]; then
  scripts/install-deps.sh
  cmake --preset release >/dev/null
  cmake --build --preset release --target topoplace topoplace_lab >/dev/null
  TOPOPLACE_BUILD=build/release
fi
bin=$TOPOPLACE_BUILD/api/topoplace
lab=$TOPOPLACE_BUILD/tests/executors/topoplace_lab
for b in "$bin" "$lab"; do
  [ -x "$b" ] || { echo "demo: $b is not built" >&2; exit 1; }
done

work=$(mktemp -d /tmp/topoplace-demo.XXXXXX)
chmod 755 "$work"
lab_pid="" serve_pid=""
cleanup() {
  set +e
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  # The lab stops every peer it started (by PID) and deletes its namespaces on SIGTERM.
  [ -n "$lab_pid" ] && kill "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# --- the peers --------------------------------------------------------------------------------
say "starting the lab: $nodes machines (BMCs, Open vSwitch, dnsmasq), munge and slurmctld"
"$lab" --nodes "$nodes" --slurm --tenant "$tenant" --project "$project" \
  --env "$work/lab.env" >"$work/lab.log" 2>&1 &
lab_pid=$!
for _ in $(seq 600); do
  [ -s "$work/lab.env" ] && break
  kill -0 "$lab_pid" 2>/dev/null || { cat "$work/lab.log" >&2; echo "demo: the lab did not start" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/lab.env" ] || { echo "demo: the lab did not come up in 60 s" >&2; exit 1; }
# shellcheck disable=SC1091
. "$work/lab.env"   # LAB_SCENARIO LAB_EXECUTORS LAB_DB SLURM_CONF SLURM_NETNS

# --- the service ------------------------------------------------------------------------------
say "starting topoplace serve on the embedded store with the lab's inventory"
"$bin" serve --db "$LAB_DB" --scenario "$LAB_SCENARIO" --executors "$LAB_EXECUTORS" \
  --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
port=""
for _ in $(seq 300); do
  port=$(grep -o 'listening on [a-z]*://[0-9.]*:[0-9]*' "$work/serve.out" "$work/serve.err" 2>/dev/null |
         head -1 | sed 's/.*://') || true
  [ -n "$port" ] && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.err" >&2; echo "demo: serve stopped" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "demo: serve did not listen in 30 s" >&2; exit 1; }
token=$("$bin" token create --db "$LAB_DB" --role tenant-admin --tenant "$tenant" | tr -d '\n')
api="http://127.0.0.1:$port"

call() {  # METHOD PATH [BODY] -> the answer's body; fails on a status that is not 2xx
  local method=$1 path=$2 body=${3:-}
  local args=(-sS -X "$method" -H "Authorization: Bearer $token" -w '\n%{http_code}')
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data "$body")
  local out code
  out=$(curl "${args[@]}" "$api$path")
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  if [ "${code:0:1}" != 2 ]; then
    echo "demo: $method $path answered $code: $out" >&2
    return 1
  fi
  printf '%s' "$out"
}
field() {  # JSON FIELD-EXPRESSION (a Python expression over `j`)
  /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print($2)" <<<"$1"
}

# --- the story --------------------------------------------------------------------------------
say "tenant $tenant asks for $nodes bare-metal nodes for SLURM, for project $project"
cluster=$(call POST /v1/clusters \
  "{\"name\": \"llm-train\", \"project\": \"$project\", \"nodes\": $nodes, \"purpose\": \"slurm\"}")
id=$(field "$cluster" "j['id']")

declare -A said=()
words() {
  case $1 in
    requested) echo "$nodes bare-metal nodes requested" ;;
    assigned-to-tenant) echo "$nodes bare-metal nodes assigned to $tenant" ;;
    assigned-to-project) echo "$nodes bare-metal nodes assigned to project $project" ;;
    connecting-to-slurm) echo "$nodes bare-metal nodes connecting to SLURM" ;;
    ready-in-slurm) echo "$nodes bare-metal nodes ready in SLURM" ;;
    *) echo "$1" ;;
  esac
}
status=""
deadline=$((SECONDS + timeout))
while [ $SECONDS -lt $deadline ]; do
  k=$(call GET "/v1/clusters/$id")
  while IFS=$'\t' read -r name at; do
    [ -z "$name" ] && continue
    if [ -z "${said[$name]:-}" ]; then
      said[$name]=1
      say "$(words "$name")  (at $at)"
    fi
  done < <(field "$k" "'\n'.join(m['name'] + '\t' + m['at'] for m in j.get('milestones', []))")
  status=$(field "$k" "j['status']")
  [ "$status" = READY ] || [ "$status" = FAILED ] && break
  sleep 0.5
done
if [ "$status" != READY ]; then
  echo "demo: the cluster is $status, not READY: $(field "$k" "j.get('error', '')")" >&2
  exit 1
fi
for m in requested assigned-to-tenant assigned-to-project connecting-to-slurm ready-in-slurm; do
  [ -n "${said[$m]:-}" ] || { echo "demo: milestone $m was never reached" >&2; exit 1; }
done
partition=$(field "$k" "j['access']['partition']")
say "SLURM partition $partition, controller $(field "$k" "j['access']['controller']")"

say "running a job on all $nodes nodes: srun -N$nodes -p $partition hostname"
slurm() { nsenter --net="/run/netns/$SLURM_NETNS" env SLURM_CONF="$SLURM_CONF" "$@"; }
ran=$(slurm timeout 60 srun -N"$nodes" -p "$partition" hostname | sort | tr '\n' ' ')
want=$(field "$k" "' '.join(sorted(n['name'] for n in j['nodes']))")
echo "    $ran"
[ "$ran" = "$want " ] || { echo "demo: the job ran on [$ran], expected [$want]" >&2; exit 1; }

say "tearing the cluster down"
call DELETE "/v1/clusters/$id" >/dev/null
deadline=$((SECONDS + timeout))
while [ $SECONDS -lt $deadline ]; do
  status=$(field "$(call GET "/v1/clusters/$id")" "j['status']")
  [ "$status" = DELETED ] || [ "$status" = FAILED ] && break
  sleep 0.5
done
[ "$status" = DELETED ] || { echo "demo: teardown ended $status" >&2; exit 1; }
left=$(slurm sinfo -h -N -o %N | sort -u | tr '\n' ' ')
for n in $want; do
  case " $left " in *" $n "*) echo "demo: SLURM still lists $n after the teardown" >&2; exit 1 ;; esac
done
say "torn down: nodes out of SLURM, powered off, ports back in quarantine, addresses released"
say "demo finished"
