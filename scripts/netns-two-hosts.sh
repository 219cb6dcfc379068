#!/usr/bin/env bash
# Two simulated hosts on one Linux machine, to run lmkit data parallel over
# Open MPI's TCP transport as it would run across machines: network
# namespaces <prefix>-h1 (10.77.0.1) and <prefix>-h2 (10.77.0.2) joined by a
# veth pair, each process with its own hostname (a UTS namespace), mpirun
# started on host 1 and reaching host 2 through its rsh launcher (this script
# as the agent, in place of ssh). Shared memory is switched off (btl tcp,self),
# so every byte between the ranks crosses the veth link.
#
#   scripts/netns-two-hosts.sh up [prefix]              create the namespaces and the link
#   scripts/netns-two-hosts.sh run [prefix] -- CMD...   mpirun -np 2 CMD, one rank per host
#   scripts/netns-two-hosts.sh bytes [prefix]           bytes sent over host 1's end of the link
#   scripts/netns-two-hosts.sh down [prefix]            remove them
#
# e.g. scripts/netns-two-hosts.sh run -- node dist/cli/main.js train --config tiny --out out-2hosts
# Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN), iproute2 (ip), util-linux
# (unshare) and Open MPI. The default prefix is lmkit.
set -euo pipefail

cmd="${1:-}"; shift || true
prefix=lmkit
if [ $# -gt 0 ] && [ "$1" != "--" ]; then prefix="$1"; shift; fi
h1="$prefix-h1" h2="$prefix-h2"
# veth names are at most 15 characters.
v1="$(printf '%.12s' "$prefix")v1" v2="$(printf '%.12s' "$prefix")v2"
subnet=10.77.0.0/24

case "$cmd" in
  up)
    ip netns add "$h1"
    ip netns add "$h2"
    ip link add "$v1" type veth peer name "$v2"
    ip link set "$v1" netns "$h1"
    ip link set "$v2" netns "$h2"
    ip -n "$h1" addr add 10.77.0.1/24 dev "$v1"
    ip -n "$h2" addr add 10.77.0.2/24 dev "$v2"
    for ns in "$h1" "$h2"; do ip -n "$ns" link set lo up; done
    ip -n "$h1" link set "$v1" up
    ip -n "$h2" link set "$v2" up
    ;;
  down)
    ip netns del "$h1" 2>/dev/null || true # deleting a namespace deletes its end of the veth pair, and so the pair
    ip netns del "$h2" 2>/dev/null || true
    ;;
  bytes)
    ip -n "$h1" -s -o link show "$v1" | sed -E 's/.*TX: *bytes +packets +errors +dropped +carrier +collsns *\\ *([0-9]+).*/\1/'
    ;;
  agent)
    # Open MPI's rsh launcher runs: <agent> <host> <command line for a shell>.
    host="$1"; shift
    [ "$host" = 10.77.0.2 ] || { echo "netns-two-hosts agent: unknown host $host" >&2; exit 1; }
    exec ip netns exec "$h2" unshare --uts sh -c "hostname $h2 && $*"
    ;;
  run)
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || { echo "usage: $0 run [prefix] -- CMD..." >&2; exit 2; }
    hosts="$(mktemp)"
    trap 'rm -f "$hosts"' EXIT
    printf '10.77.0.1 slots=1\n10.77.0.2 slots=1\n' > "$hosts"
    root=()
    [ "$(id -u)" = 0 ] && root=(--allow-run-as-root)
    # LMKIT_* variables reach the ranks on both hosts.
    exports=()
    for v in $(env | grep -o '^LMKIT_[A-Z_]*' || true); do exports+=(-x "$v"); done
    ip netns exec "$h1" unshare --uts bash -c 'hostname "$0" && exec "$@"' "$h1" \
      mpirun "${root[@]}" --hostfile "$hosts" -np 2 --map-by node \
      --mca plm_rsh_agent "$(readlink -f "$0") agent $prefix" \
      --mca btl tcp,self --mca btl_tcp_if_include "$subnet" --mca oob_tcp_if_include "$subnet" \
      "${exports[@]}" "$@"
    ;;
  *)
    sed -n '2,20p' "$0" >&2
    exit 2
    ;;
esac
