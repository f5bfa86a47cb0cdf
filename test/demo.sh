#!/usr/bin/env bash
# npm run demo: a real ADD and DEL through dist/nexthop, invoked as a runtime does (env + stdin),
# in a throw-away network namespace. The pod already has eth0 with an IPv4 and an IPv6 default
# route; macvlan+static adds net1 with two gateways per family. Every nexthop joins ONE multipath
# default per family; after DEL, eth0's defaults are still there. Everything is removed on exit,
# also when interrupted. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }
[ -x dist/nexthop ] || { echo "demo: dist/nexthop missing; run 'npm run build'" >&2; exit 1; }

id=$$
pod=nh-demo-pod-$id      # the pod
lan=nh-demo-lan-$id      # where eth0's and net1's peers live
parent=nhdemo$id         # host-side macvlan master (a veth whose peer is in $lan)
bin=$(mktemp -d /tmp/nh-demo.XXXXXX)

cleanup() {
  trap - EXIT INT TERM
  ip netns del "$pod" 2>/dev/null || true
  ip netns del "$lan" 2>/dev/null || true
  ip link del "$parent" 2>/dev/null || true
  rm -rf "$bin"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

ip netns add "$pod"
ip netns add "$lan"
for ns in "$pod" "$lan"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0; done
# eth0: the pod's primary interface with its own defaults (what the primary CNI plugin made)
ip link add eth0 netns "$pod" type veth peer name lan0 netns "$lan"
ip -n "$pod" addr add 192.0.2.10/24 dev eth0
ip -n "$pod" addr add 2001:db8:0:1::10/64 dev eth0 nodad
ip -n "$pod" link set eth0 up
ip -n "$lan" link set lan0 up
ip -n "$pod" route add default via 192.0.2.1 dev eth0
ip -n "$pod" -6 route add default via 2001:db8:0:1::1 dev eth0
# the macvlan master on the host
ip link add "$parent" type veth peer name lan1 netns "$lan"
ip link set "$parent" up
ip -n "$lan" link set lan1 up

cp dist/nexthop "$bin/nexthop"
for p in static macvlan; do ln -s nexthop "$bin/$p"; done

conf='{
  "cniVersion": "1.1.0",
  "name": "demo-ecmp",
  "type": "macvlan",
  "master": "'"$parent"'",
  "mode": "bridge",
  "ipam": {
    "type": "static",
    "addresses": [
      {"address": "198.51.100.10/24", "gateway": "198.51.100.1"},
      {"address": "2001:db8:a::10/64", "gateway": "2001:db8:a::1"}
    ],
    "routes": [
      {"dst": "0.0.0.0/0", "gws": ["198.51.100.1", {"gw": "198.51.100.2", "weight": 2}]},
      {"dst": "::/0", "gws": ["2001:db8:a::1", "2001:db8:a::2"]}
    ]
  }
}'

cni() {
  CNI_COMMAND=$1 CNI_CONTAINERID=demo-$id CNI_NETNS=/var/run/netns/$pod CNI_IFNAME=net1 CNI_PATH=$bin \
    "$bin/macvlan" <<<"$conf"
}
show() {
  echo "\$ ip -n $pod route";    ip -n "$pod" route
  echo "\$ ip -n $pod -6 route"; ip -n "$pod" -6 route | grep -v '^fe80\|^multicast' || true
}

echo "== before: the pod has eth0 with one default per family"; show
echo; echo "== ADD net1 (macvlan + static, two gateways per family)"
cni ADD; echo
show
echo; echo "== DEL net1"
cni DEL && echo "(DEL ok)"
show
echo; echo "demo: done; removing namespaces"
