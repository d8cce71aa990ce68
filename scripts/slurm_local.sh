#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for tests and CI: munged, slurmctld and slurmd with
# every file (key, socket, config, state, logs, PID files) inside one folder, on free ports, so it
# touches no system service and can run beside another cluster.
#
#   scripts/slurm_local.sh start DIR   # prints `export SLURM_CONF=DIR/slurm.conf` when the node is idle
#   scripts/slurm_local.sh stop DIR    # stops exactly the daemons `start DIR` started, by PID
#
# Needs root (slurmd launches jobs; munged is started as the `munge` user) and Debian's
# `slurmctld slurmd slurm-client munge`.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}
[[ $# -eq 2 ]] || usage
action=$1
dir=$2

# A free TCP port from the kernel (bound to 0, then released).
free_port() {
  deno eval 'const l = Deno.listen({ hostname: "127.0.0.1", port: 0 }); console.log(l.addr.port); l.close();'
}

# Waits up to $2 seconds for command $1 to succeed.
wait_for() {
  local deadline=$((SECONDS + $2))
  until eval "$1" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then return 1; fi
    sleep 0.5
  done
}

# Kills the process in pid file $1 if it is still the program $2, and waits for it to exit.
stop_daemon() {
  local pidfile=$1 program=$2 pid
  [[ -f $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  if [[ -n $pid && -r /proc/$pid/comm && $(cat "/proc/$pid/comm") == "$program" ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do
      [[ -e /proc/$pid ]] || break
      sleep 0.25
    done
    if [[ -e /proc/$pid ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
    echo "stopped $program (pid $pid)" >&2
  fi
  rm -f "$pidfile"
}

start() {
  for program in munged slurmctld slurmd sinfo; do
    command -v "$program" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
    command -v "$program" >/dev/null 2>&1 || {
      echo "slurm_local: $program not found; install slurmctld slurmd slurm-client munge" >&2
      exit 1
    }
  done
  if [[ $(id -u) -ne 0 ]]; then
    echo "slurm_local: must run as root (slurmd starts jobs, munged runs as user munge)" >&2
    exit 1
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # munged refuses keys and sockets under folders others can write to.
  chmod 0755 "$dir"
  mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
  chown munge:munge "$dir/munge"
  chmod 0700 "$dir/munge"
  if [[ ! -f $dir/munge/munge.key ]]; then
    if command -v mungekey >/dev/null 2>&1; then
      mungekey --create --keyfile="$dir/munge/munge.key" --force
    else
      dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    fi
    chown munge:munge "$dir/munge/munge.key"
    chmod 0400 "$dir/munge/munge.key"
  fi
  local socket=$dir/munge/munge.socket
  runuser -u munge -- munged --force \
    --key-file="$dir/munge/munge.key" --socket="$socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
    --seed-file="$dir/munge/munged.seed"
  wait_for "[[ -S $socket && -s $dir/munge/munged.pid ]]" 20 || {
    echo "slurm_local: munged did not start; see $dir/munge/munged.log" >&2
    exit 1
  }
  # Clients (root) must reach the socket in the munge-owned folder.
  chmod 0711 "$dir/munge"
  cp "$dir/munge/munged.pid" "$dir/munged.pid"

  local host node cpus memory
  host=$(hostname -s)
  node=$(slurmd -C | head -n 1)
  cpus=$(sed -E 's/.*CPUs=([0-9]+).*/\1/' <<<"$node")
  memory=$(sed -E 's/.*RealMemory=([0-9]+).*/\1/' <<<"$node")
  cat >"$dir/slurm.conf" <<EOF
# Written by scripts/slurm_local.sh: a one-node test cluster.
ClusterName=ccl-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=5
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$((memory * 9 / 10)) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -i
  wait_for "[[ -s $dir/slurmctld.pid ]] && scontrol ping | grep -q UP" 30 || {
    echo "slurm_local: slurmctld did not start; see $dir/log/slurmctld.log" >&2
    exit 1
  }
  slurmd
  wait_for "sinfo -h -N -o %t | grep -Eq '^(idle|mix|alloc)'" 60 || {
    echo "slurm_local: node not idle; sinfo: $(sinfo -h -N 2>&1); see $dir/log/" >&2
    exit 1
  }
  echo "export SLURM_CONF=$dir/slurm.conf"
}

stop() {
  [[ -d $dir ]] || return 0
  stop_daemon "$dir/slurmd.pid" slurmd
  stop_daemon "$dir/slurmctld.pid" slurmctld
  stop_daemon "$dir/munged.pid" munged
  rm -f "$dir/munge/munged.pid"
}

case $action in
start) start ;;
stop) stop ;;
*) usage ;;
esac
