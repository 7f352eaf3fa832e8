#!/bin/sh
# A throwaway multi-node Docker Swarm on this one machine, for test/cluster/ (and by hand):
#   sh scripts/test-swarm.sh up     start it (idempotent: a swarm that answers is left alone), print its env
#   sh scripts/test-swarm.sh env    print its env (exit 1 when it is not up)
#   sh scripts/test-swarm.sh down   remove exactly what `up` created
#   sh scripts/test-swarm.sh kill N   node N loses power: SIGKILL its dockerd (PID from /tmp/bake-swarm/nodeN/docker.pid),
#                                     then every process of the node (its containerd, shims, containers)
#   sh scripts/test-swarm.sh heal   start the dockerd of every node that does not answer, wait until all are Ready
#
# Each node is a `dockerd` in a network namespace of its own (bake-test-swarm-nodeN, with its own
# hostname through a UTS namespace), with its own data root, exec root, pidfile and unix socket
# under /tmp/bake-swarm/, and one veth into the bridge `bake-test-swarm` in the root namespace.
# Addresses are on that private link only (10.213.0.N/24; the root namespace is 10.213.0.254):
# no node has a default route. Node 1 is the manager (advertising 10.213.0.1, its API a unix
# socket: the manager publishes nothing on a network), the others join; nodes are labelled zone=a
# (odd) and zone=b (even). A Debian docker-registry listens on 10.213.0.254:5213, the only registry
# the nodes trust (`--insecure-registry`): images reach them by digest from there, and nothing
# comes from the internet.
#
# Engine features that cannot work here: this kernel has no IPVS (CONFIG_IP_VS), so swarm's routing
# mesh (ingress) and virtual-IP service endpoints do not work; bake publishes task ports in host
# mode and overlay services use dnsrr. Overlay networks (VXLAN, 4789/udp) do work across nodes, and
# `up` proves it with a cross-node ping before it reports success.
#
# Everything is named or marked bake-test-swarm: the netns, the bridge, the veths (link alias), the
# root-namespace iptables rule (comment), the directory. Nodes: BAKE_TEST_SWARM_NODES (default 3).
set -eu
cmd=${1:-up}
root=/tmp/bake-swarm
mark=bake-test-swarm
bridge=bake-test-swarm
prefix=10.213.0
hostip=$prefix.254
regport=5213
registry=$hostip:$regport
count=${BAKE_TEST_SWARM_NODES:-3}
manager_sock=$root/node1.sock

say() { echo "test-swarm: $*" >&2; }
die() { say "$*"; exit 1; }
ns() { echo "$mark-node$1"; }
sock() { echo "$root/node$1.sock"; }
dk() { n=$1; shift; /usr/bin/docker -H "unix://$(sock "$n")" "$@"; }
nodes() { seq 1 "$count"; }

print_env() {
  echo "BAKE_TEST_SWARM_HOST=unix://$manager_sock"
  echo "BAKE_TEST_SWARM_REGISTRY=$registry"
  echo "BAKE_TEST_SWARM_NODES=$(for n in $(nodes); do printf '%s ' "$(ns "$n")"; done | sed 's/ $//')"
  echo "# by hand: DOCKER_HOST=unix://$manager_sock /usr/bin/docker node ls"
}

swarm_up() {
  [ -S "$manager_sock" ] || return 1
  ready=$(dk 1 node ls --format '{{.Status}} {{.Availability}}' 2>/dev/null | grep -c '^Ready Active' || true)
  [ "$ready" -ge "$count" ] && registry_up
}

# busybox (a requirement anyway) when there is no wget; no -T: Debian's static busybox wget crashes on it.
registry_up() {
  if command -v wget >/dev/null; then timeout 3 wget -q -O /dev/null "http://$registry/v2/" 2>/dev/null
  else timeout 3 busybox wget -q -O /dev/null "http://$registry/v2/" 2>/dev/null; fi
}

wait_for() { # seconds, description, command...
  secs=$1; what=$2; shift 2
  i=0
  while [ "$i" -lt "$((secs * 4))" ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
    i=$((i + 1))
  done
  die "timed out after ${secs}s waiting for $what"
}

down() {
  for n in $(seq 1 9); do
    name=$(ns "$n")
    if ip netns list 2>/dev/null | grep -qw "$name"; then
      # Only the processes inside our own namespaces: dockerd, its containerd, shims, containers.
      pids=$(ip netns pids "$name" 2>/dev/null || true)
      [ -n "$pids" ] && kill $pids 2>/dev/null || true
      for _ in $(seq 1 40); do [ -z "$(ip netns pids "$name" 2>/dev/null)" ] && break; sleep 0.25; done
      pids=$(ip netns pids "$name" 2>/dev/null || true)
      [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
      ip netns delete "$name" 2>/dev/null || true
    fi
  done
  if [ -f "$root/registry.pid" ]; then
    pid=$(cat "$root/registry.pid")
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$root/registry.yml"; then kill "$pid" 2>/dev/null || true; fi
  fi
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//'); do
    if [ "$(cat "/sys/class/net/$link/ifalias" 2>/dev/null)" = "$mark" ]; then ip link delete "$link" 2>/dev/null || true; fi
  done
  ip link delete "$bridge" 2>/dev/null || true
  while iptables -D FORWARD -i "$bridge" -o "$bridge" -m comment --comment "$mark" -j ACCEPT 2>/dev/null; do :; done
  while iptables -D INPUT -i "$bridge" -m comment --comment "$mark" -j ACCEPT 2>/dev/null; do :; done
  # Overlay mounts lived in the namespaces' own mount namespaces, gone with their processes.
  rm -rf "$root"
}

start_link() {
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
    ip link set "$bridge" alias "$mark"
    ip addr add "$hostip/24" dev "$bridge"
  fi
  ip link set "$bridge" up
  # Docker's FORWARD policy is DROP and bridged frames pass iptables (br_netfilter): let ours through.
  iptables -C FORWARD -i "$bridge" -o "$bridge" -m comment --comment "$mark" -j ACCEPT 2>/dev/null ||
    iptables -I FORWARD -i "$bridge" -o "$bridge" -m comment --comment "$mark" -j ACCEPT
  iptables -C INPUT -i "$bridge" -m comment --comment "$mark" -j ACCEPT 2>/dev/null ||
    iptables -I INPUT -i "$bridge" -m comment --comment "$mark" -j ACCEPT
}

start_node() {
  n=$1
  name=$(ns "$n")
  dir=$root/node$n
  mkdir -p "$dir"
  if ! ip netns list | grep -qw "$name"; then
    ip netns add "$name"
    ip link add "bts-n$n" type veth peer name "bts-n$n-in"
    ip link set "bts-n$n" alias "$mark"
    ip link set "bts-n$n-in" alias "$mark"
    ip link set "bts-n$n-in" netns "$name"
    ip link set "bts-n$n" master "$bridge" up
    ip netns exec "$name" ip link set lo up
    ip netns exec "$name" ip link set "bts-n$n-in" name eth0
    ip netns exec "$name" ip addr add "$prefix.$n/24" dev eth0
    ip netns exec "$name" ip link set eth0 up
  fi
  if ! dk "$n" info >/dev/null 2>&1; then
    rm -f "$(sock "$n")" "$dir/docker.pid"
    # A UTS namespace of its own gives each node its own hostname: the swarm's node name. `ip netns
    # exec` mounts a fresh /sys, which hides the cgroup hierarchies dockerd needs: mount them again.
    setsid ip netns exec "$name" unshare --uts sh -c "$(cgroup_mounts) hostname $name && exec dockerd \
      --host unix://$(sock "$n") --data-root $dir/data --exec-root $dir/exec --pidfile $dir/docker.pid \
      --cgroup-parent $name --insecure-registry $registry --bip 172.31.$n.1/24 \
      --default-address-pool base=172.30.0.0/16,size=24 --label bake-test-swarm=node$n" \
      </dev/null >"$dir/dockerd.log" 2>&1 &
  fi
}

cgroup_mounts() { # shell commands that mount this host's cgroup hierarchies under a fresh /sys
  if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
    echo "mount -t cgroup2 cgroup2 /sys/fs/cgroup &&"
    return
  fi
  echo "mount -t tmpfs cgroup /sys/fs/cgroup &&"
  awk '$3 == "cgroup" { print $2, $4 }' /proc/self/mounts | while read -r dir opts; do
    echo "mkdir -p $dir && mount -t cgroup -o $opts cgroup $dir &&"
  done
}

start_registry() {
  registry_up && return 0
  mkdir -p "$root/registry"
  cat >"$root/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $root/registry
  delete:
    enabled: true
http:
  addr: $registry
EOF
  setsid docker-registry serve "$root/registry.yml" </dev/null >"$root/registry.log" 2>&1 &
  echo $! >"$root/registry.pid"
  wait_for 20 "docker-registry on $registry" registry_up
}

overlay_check() {
  # Two containers on an attachable overlay network, on two nodes, must reach each other (VXLAN).
  net=$mark-check
  dk 1 network rm "$net" >/dev/null 2>&1 || true
  dk 1 network create -d overlay --attachable --label "$mark=check" "$net" >/dev/null
  img=$registry/bake-test-swarm/busybox:check
  dk 2 run -d --rm --name "$mark-check-b" --label "$mark=check" --network "$net" "$img" sleep 60 >/dev/null
  ok=0
  for _ in $(seq 1 20); do
    if dk 1 run --rm --label "$mark=check" --network "$net" "$img" ping -c 1 -W 1 "$mark-check-b" >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.5
  done
  dk 2 rm -f "$mark-check-b" >/dev/null 2>&1 || true
  dk 1 network rm "$net" >/dev/null 2>&1 || true
  [ "$ok" = 1 ] || die "an overlay network does not carry traffic between node1 and node2 (VXLAN 4789/udp)"
  say "overlay network: node1 reaches node2 over VXLAN"
}

push_busybox() {
  # A busybox image built locally (no pull from anywhere), pushed once, pulled by every node.
  img=$registry/bake-test-swarm/busybox:check
  dk 1 image inspect "$img" >/dev/null 2>&1 && return 0
  ctx=$root/busybox-image
  mkdir -p "$ctx/bin"
  cp "$(command -v busybox)" "$ctx/bin/busybox"
  for applet in sh ping sleep wget; do ln -sf busybox "$ctx/bin/$applet"; done
  printf 'FROM scratch\nCOPY bin /bin\nLABEL bake-test-swarm=check\nCMD ["/bin/sh"]\n' >"$ctx/Dockerfile"
  dk 1 build -q -t "$img" "$ctx" >/dev/null
  dk 1 push "$img" >/dev/null
  for n in $(seq 2 "$count"); do dk "$n" pull "$img" >/dev/null; done
}

# Every process of node N: those in its network namespace (dockerd, containerd, shims) and those in its
# cgroup (dockerd runs containers under --cgroup-parent bake-test-swarm-nodeN, each in a netns of its own).
node_pids() {
  name=$(ns "$1")
  { ip netns pids "$name" 2>/dev/null || true
    grep -l "/$name/" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3 || true; } | sort -un
}

kill_node() {
  n=$1
  [ "$n" -ge 2 ] 2>/dev/null || die "kill: name a worker node (2..$count); node1 is the only manager"
  pidfile=$root/node$n/docker.pid
  [ -f "$pidfile" ] || die "kill: node$n has no $pidfile"
  kill -9 "$(cat "$pidfile")" 2>/dev/null || die "kill: the dockerd of node$n (PID $(cat "$pidfile")) is not running"
  # What a power loss takes with the engine: its containerd, the shims and every container (no graceful stop).
  pids=$(node_pids "$n")
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
  say "node$n killed (dockerd PID $(cat "$pidfile") and $(echo $pids | wc -w) other processes)"
}

heal() {
  for n in $(nodes); do dk "$n" info >/dev/null 2>&1 || start_node "$n"; done
  for n in $(nodes); do wait_for 60 "dockerd of node$n ($root/node$n/dockerd.log)" dk "$n" info; done
  wait_for 90 "$count ready nodes" sh -c "[ \$(/usr/bin/docker -H unix://$manager_sock node ls --format '{{.Status}}' | grep -c Ready) -ge $count ]"
}

up() {
  if swarm_up; then print_env; exit 0; fi
  # A node that was killed (kill N) comes back with its data root: it rejoins as the same node.
  if [ -S "$manager_sock" ] && dk 1 info >/dev/null 2>&1 && registry_up && (heal) 2>/dev/null && swarm_up; then print_env; exit 0; fi
  [ "$(id -u)" = 0 ] || die "needs root (network namespaces, veths, a bridge)"
  # Whatever is left of an earlier swarm (a reboot, a killed run) is removed: every up starts clean.
  down
  command -v dockerd >/dev/null || die "no dockerd (apt-get install -y docker.io)"
  command -v docker-registry >/dev/null || die "no docker-registry (apt-get install -y docker-registry)"
  command -v busybox >/dev/null || die "no busybox (apt-get install -y busybox-static)"
  mkdir -p "$root"
  start_link
  start_registry
  for n in $(nodes); do start_node "$n"; done
  for n in $(nodes); do wait_for 60 "dockerd of node$n ($root/node$n/dockerd.log)" dk "$n" info; done
  if [ "$(dk 1 info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
    # Overlay subnets from a pool far from the link's own addresses.
    dk 1 swarm init --advertise-addr "$prefix.1" --listen-addr "$prefix.1:2377" --default-addr-pool 10.214.0.0/16 >/dev/null
  fi
  token=$(dk 1 swarm join-token -q worker)
  for n in $(seq 2 "$count"); do
    if [ "$(dk "$n" info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
      dk "$n" swarm join --advertise-addr "$prefix.$n" --listen-addr "$prefix.$n:2377" --token "$token" "$prefix.1:2377" >/dev/null
    fi
  done
  wait_for 60 "$count ready nodes" sh -c "[ \$(/usr/bin/docker -H unix://$manager_sock node ls --format '{{.Status}}' | grep -c Ready) -ge $count ]"
  for n in $(nodes); do
    zone=b
    [ $((n % 2)) = 1 ] && zone=a
    dk 1 node update --label-add zone=$zone --label-add "$mark=node$n" "$(ns "$n")" >/dev/null
  done
  push_busybox
  overlay_check
  print_env
}

# One caller at a time (.ci/run and a test file may both ask). -o: the daemons started must not inherit the lock.
if [ "${BAKE_TEST_SWARM_LOCKED:-}" != 1 ] && command -v flock >/dev/null; then
  BAKE_TEST_SWARM_LOCKED=1 exec flock -o /tmp/bake-swarm.lock sh "$0" "$@"
fi

case "$cmd" in
  up) up ;;
  env) swarm_up || die "not up (sh scripts/test-swarm.sh up)"; print_env ;;
  down) down ;;
  kill) kill_node "${2:-}" ;;
  heal) heal; print_env ;;
  *) echo "usage: sh scripts/test-swarm.sh up|down|env|kill N|heal" >&2; exit 2 ;;
esac
