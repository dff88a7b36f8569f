#!/bin/sh
# A TEST PEER's booted OS handing its machine to SLURM: starts `slurmd -Z` configless in the
# machine's network namespace, with its own hostname (= the node name) and a private /run holding
# the test munge socket where slurmd looks for it before it has a configuration.
# Usage: slurmd_boot.sh PEER_DIR NETNS NODE CPUS REAL_MEMORY_MIB CONF_SERVER [CONTROLLER_ADDRESS]
#   CONF_SERVER "service" = the service address (last usable host) of the subnet eth0 has;
#   CONTROLLER_ADDRESS (optional) = the controller's own address, routed through CONF_SERVER.
# slurmd daemonizes and writes PEER_DIR/run/slurmd-NODE.pid (SlurmdPidFile of the peer's conf);
# this script returns once that file names a live slurmd.
set -eu
dir=$1; ns=$2; node=$3; cpus=$4; mib=$5; server=$6; ctl=${7:-}
if [ "$server" = service ]; then
  cidr=$(ip -n "$ns" -4 -o addr show dev eth0 | awk '{print $4; exit}')
  [ -n "$cidr" ] || { echo "slurmd_boot: $node has no address on eth0" >&2; exit 1; }
  server=$(echo "$cidr" | awk -F'[./]' '{
    a = (($1 * 256 + $2) * 256 + $3) * 256 + $4; size = 2 ^ (32 - $5);
    b = a - a % size + size - 2;
    printf "%d.%d.%d.%d\n", int(b / 16777216) % 256, int(b / 65536) % 256, int(b / 256) % 256, b % 256 }')
fi
if [ -n "$ctl" ] && [ "$ctl" != "$server" ]; then
  ip -n "$ns" route replace "$ctl/32" via "$server" dev eth0
fi
mkdir -p "$dir/spool/$node"
pidfile="$dir/run/slurmd-$node.pid"
rm -f "$pidfile"
# The controller may not serve this network yet (the hand-over plugs it in while machines boot):
# slurmd gives up when it cannot fetch its configuration, so try again, for about two minutes.
for try in $(seq 60); do
  nsenter --net="/run/netns/$ns" unshare --uts --mount env -u SLURM_CONF sh -c '
    hostname "$1"
    mount -t tmpfs none /run && mkdir /run/munge && mount --bind "$2/munge/run" /run/munge
    exec slurmd -Z -N "$1" --conf-server "$3" --conf "CPUs=$4 RealMemory=$5"' \
    slurmd_boot "$node" "$dir" "$server" "$cpus" "$mib" || true
  for i in 1 2 3 4 5 6 7 8 9 10; do
    [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && exit 0
    sleep 0.2
  done
done
echo "slurmd_boot: slurmd of $node did not start (controller $server unreachable?)" >&2
exit 1
