#!/usr/bin/env bash
# The shipped Slurm script on a real Slurm: install Debian's slurmctld, slurmd and munge, start a
# one-node cluster on loopback, submit a small sweep as a job array with scripts/slurm/sweep.sbatch,
# merge the shards and compare every table with the same sweep run locally in one piece.
# Stops the daemons it started (also on failure) and gives up after a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
meshsim=${MESHSIM_BIN:-$repo/target/release/meshsim}
test -x "$meshsim" || cargo build --release --locked -p meshsim-cli

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
fi

work=$(mktemp -d /tmp/meshsim-slurm.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do $sudo kill "$p" 2>/dev/null || true; done
    sleep 1
    for p in "${pids[@]}"; do $sudo kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# munge: its own key and socket in the work directory, so nothing system-wide is touched
mkdir -p "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 700 "$work/munge"
chmod 400 "$work/munge/munge.key"
sock=$work/munge/munge.socket
$sudo munged --force --key-file "$work/munge/munge.key" --socket "$sock" \
    --pid-file "$work/munge/munged.pid" --log-file "$work/munge/munged.log" --seed-file "$work/munge/seed"
pids+=("$(cat "$work/munge/munged.pid")")

user=$(id -un)
cpus=$(nproc)
cat >"$work/slurm.conf" <<CONF
ClusterName=meshsim-ci
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=$user
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=ci Nodes=localhost Default=YES MaxTime=30 State=UP
CONF
mkdir -p "$work/state" "$work/spool"
export SLURM_CONF=$work/slurm.conf

$sudo slurmctld -f "$SLURM_CONF" -i
$sudo slurmd -f "$SLURM_CONF" -N localhost
for _ in $(seq 60); do
    [[ -s $work/slurmctld.pid && -s $work/slurmd.pid ]] && break
    sleep 0.5
done
pids+=("$(cat "$work/slurmctld.pid")" "$(cat "$work/slurmd.pid")")
ready=""
for _ in $(seq 60); do
    if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
        ready=yes
        break
    fi
    sleep 1
done
if [[ -z $ready ]]; then
    echo "the one-node Slurm cluster did not come up" >&2
    sinfo -N -l || true
    tail -n 30 "$work/slurmctld.log" "$work/slurmd.log" >&2 || true
    exit 1
fi
sinfo -N

# a small sweep: 3 fees x 4 seeds on the LVR world, in 3 shards
mkdir -p "$work/spec"
cp worlds/lvr.ron "$work/spec/lvr.ron"
cat >"$work/spec/fees.ron" <<'SPEC'
Sweep(version: 1, name: "slurm-ci", worlds: ["lvr.ron"], blocks: 2000, seeds: 4, master_seed: 11,
      parameters: [(path: "pools[0].fee_bps", values: List([0.0, 5.0, 30.0]))])
SPEC
shards=3
chmod -R a+rX "$work"
cd "$work"
MESHSIM=$meshsim timeout 600 sbatch --wait --array=0-$((shards - 1)) --cpus-per-task=1 \
    --output="$work/task-%a.out" "$repo/scripts/slurm/sweep.sbatch" "$work/spec/fees.ron" "$work/out"
cat "$work"/task-*.out
ls -d "$work"/out/shard-*-of-$shards
"$meshsim" merge --out "$work/merged" "$work"/out/shard-*-of-$shards
"$meshsim" sweep "$work/spec/fees.ron" --quiet --out "$work/local"
for f in runs.csv vaults.csv points.csv vault_points.csv tails.csv pareto.csv; do
    cmp "$work/local/$f" "$work/merged/$f"
done
echo "slurm job array of $shards shards, merged == local sweep ($(wc -l <"$work/merged/runs.csv") lines in runs.csv)"
