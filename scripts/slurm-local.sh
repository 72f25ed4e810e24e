#!/usr/bin/env bash
# slurm-local.sh up|down|status: a single-node Slurm cluster on this Debian
# machine, for entrolab's Slurm integration test and for trying
# `entrolab sweep --executor slurm` without a cluster.
#
#   up      install slurmctld, slurmd, slurm-client and munge from apt when
#           missing, write a minimal /etc/slurm/slurm.conf (one node, this
#           machine's CPUs, partition "debug"), start munged, slurmctld and
#           slurmd by hand (no systemd needed) and wait until the node is idle
#   down    stop the daemons this script started (by their pid files) and
#           remove the config, spool, state and log directories it made
#   status  sinfo and squeue
#
# Needs root (it writes /etc/slurm and starts daemons). Exits non-zero with a
# message saying why when the cluster cannot come up. Recipe and pitfalls:
# ../shared/reference/slurm-local.md (found by trying it on Debian 12).
set -euo pipefail

CONF=/etc/slurm/slurm.conf
MARK=/etc/slurm/.entrolab-slurm-local   # says the config is ours, so down may remove it
PIDS=(/run/slurm/slurmd.pid /run/slurm/slurmctld.pid /run/munge/munged.pid)

die() { echo "slurm-local: $*" >&2; exit 1; }

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null && command -v munged >/dev/null; then
    return
  fi
  command -v apt-get >/dev/null || die "slurmctld/slurmd/munge are not installed and apt-get is not available"
  echo "slurm-local: installing slurmctld slurmd slurm-client munge (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  # "invoke-rc.d: policy-rc.d denied execution of start" is expected: nothing is started
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null 2>&1 \
    || die "apt-get install slurmctld slurmd slurm-client munge failed"
}

running() { # pidfile: is its process alive (a zombie is not)?
  [ -s "$1" ] || return 1
  local st
  st=$(ps -o stat= -p "$(cat "$1")" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "${st#Z}" = "$st" ]
}

up() {
  [ "$(id -u)" = 0 ] || die "needs root (writes /etc/slurm, starts daemons)"
  if [ -f "$CONF" ] && [ ! -f "$MARK" ]; then
    die "$CONF exists and was not written by this script; not touching a configured Slurm"
  fi
  install_packages
  local H MEM CPUS
  H=$(hostname -s)
  CPUS=$(nproc)
  MEM=$(( $(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 * 85 / 100 ))
  # munge
  [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  if ! running /run/munge/munged.pid; then
    runuser -u munge -- /usr/sbin/munged || die "munged did not start (see /var/log/munge/munged.log)"
  fi
  munge -n | unmunge >/dev/null || die "munge does not authenticate"
  # slurm
  install -d /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm /etc/slurm
  cat > "$CONF" <<CONF
# written by entrolab scripts/slurm-local.sh: one node, no accounting database
ClusterName=entrolab
SlurmctldHost=${H}(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
MailProg=/bin/true
ReturnToService=2
MpiDefault=none
# time between scancel's SIGTERM and SIGKILL: a cell checkpoints in between
KillWait=30
MinJobAge=600
NodeName=${H} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM} State=UNKNOWN
PartitionName=debug Nodes=${H} Default=YES MaxTime=INFINITE State=UP
CONF
  touch "$MARK"
  running /run/slurm/slurmctld.pid || slurmctld || die "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
  running /run/slurm/slurmd.pid || slurmd || die "slurmd did not start (see /var/log/slurm/slurmd.log)"
  local st=""
  for _ in $(seq 120); do
    st=$(sinfo -h -n "$H" -o %T 2>/dev/null || true)
    [ "$st" = idle ] && break
    sleep 0.5
  done
  [ "$st" = idle ] || die "node $H is '$st', not idle, after 60 s (see /var/log/slurm/slurmd.log)"
  echo "slurm-local: up: node $H idle, $CPUS CPUs, ${MEM} MB, partition debug"
}

down() {
  local pids=() p
  for f in "${PIDS[@]}"; do
    if running "$f"; then pids+=("$(cat "$f")"); fi
  done
  if [ ${#pids[@]} -gt 0 ]; then
    kill "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 80); do
      local left=""
      for p in "${pids[@]}"; do
        st=$(ps -o stat= -p "$p" 2>/dev/null || true)
        [ -n "$st" ] && [ "${st#Z}" = "$st" ] && left=1
      done
      [ -z "$left" ] && break
      sleep 0.25
    done
  fi
  if [ -f "$MARK" ]; then
    rm -rf /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm "$CONF" "$MARK"
  fi
  rm -rf /run/munge
  echo "slurm-local: down"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) sinfo; squeue ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
