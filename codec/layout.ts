// Row layouts shared by the AssemblyScript codec and the TypeScript reader.
// This file must stay valid in both languages: plain integer constants and arrays of them only.
//
// Parsing writes one fixed-size row per message into a table in linear memory;
// encoding reads the same row shape back, so parse and emit are symmetric.
// All multi-byte fields are little-endian (host order on x86_64/aarch64).
// Addresses are stored in 16-byte slots, IPv4 in the first 4 bytes.

// ---- common message header, at the start of every row ----
export const ROW_NLMSG_TYPE = 0; // u16
export const ROW_NLMSG_FLAGS = 2; // u16
export const ROW_NLMSG_SEQ = 4; // u32
export const ROW_NLMSG_PID = 8; // u32

// ---- route row: struct rtmsg + attributes ----
export const RT_FAMILY = 12; // u8
export const RT_DST_LEN = 13; // u8
export const RT_SRC_LEN = 14; // u8
export const RT_TOS = 15; // u8
export const RT_TABLE_HDR = 16; // u8 rtm_table
export const RT_PROTOCOL = 17; // u8
export const RT_SCOPE = 18; // u8
export const RT_TYPE = 19; // u8
export const RT_FLAGS = 20; // u32 rtm_flags
export const RT_PRESENT = 24; // u32 bitmask of RT_HAS_*
export const RT_TABLE = 28; // u32 RTA_TABLE
export const RT_PRIORITY = 32; // u32 RTA_PRIORITY
export const RT_OIF = 36; // u32 RTA_OIF
export const RT_DST = 40; // 16 bytes RTA_DST
export const RT_GATEWAY = 56; // 16 bytes RTA_GATEWAY or RTA_VIA address
export const RT_VIA_FAMILY = 72; // u8: family of RTA_VIA (0 when the gateway came as RTA_GATEWAY)
export const RT_PREF = 73; // u8 RTA_PREF
export const RT_MTU = 76; // u32 RTAX_MTU inside RTA_METRICS
export const RT_ADVMSS = 80; // u32 RTAX_ADVMSS inside RTA_METRICS
export const RT_NH_START = 84; // u32 index of the first nexthop row (RTA_MULTIPATH)
export const RT_NH_COUNT = 88; // u32 number of nexthop rows
export const RT_PREFSRC = 92; // 16 bytes RTA_PREFSRC
export const RT_CACHEINFO = 108; // 32 bytes struct rta_cacheinfo (kernel dumps of IPv6 routes)
export const RT_METRICS_LEN = 140; // u16: bytes of RTA_METRICS payload kept in RT_METRICS_RAW (0: build from MTU/ADVMSS)
export const RT_METRICS_RAW = 144; // RT_METRICS_CAP bytes: the RTA_METRICS payload, re-emitted verbatim
export const RT_METRICS_CAP = 64;
export const ROUTE_ROW = 208;

export const RT_HAS_TABLE = 1;
export const RT_HAS_DST = 2;
export const RT_HAS_PRIORITY = 4;
export const RT_HAS_OIF = 8;
export const RT_HAS_GATEWAY = 16;
export const RT_HAS_VIA = 32;
export const RT_HAS_MULTIPATH = 64;
export const RT_HAS_PREF = 128;
export const RT_HAS_METRICS = 256; // RT_MTU / RT_ADVMSS (0 = not set)
export const RT_HAS_PREFSRC = 512;
export const RT_HAS_CACHEINFO = 1024;
// The message carried an attribute this row cannot hold (e.g. RTA_NH_ID, RTA_ENCAP, RTA_FLOW,
// metrics over RT_METRICS_CAP): re-emitting the row would lose it.
export const RT_HAS_FOREIGN = 2048;

// ---- nexthop row: struct rtnexthop + nested RTA_GATEWAY / RTA_VIA ----
export const NH_FLAGS = 0; // u8 rtnh_flags
export const NH_HOPS = 1; // u8 rtnh_hops (weight - 1)
export const NH_GW_FAMILY = 2; // u8: AF_INET/AF_INET6 when a gateway is present, else 0
export const NH_IS_VIA = 3; // u8: 1 when the gateway came as RTA_VIA
export const NH_IFINDEX = 4; // i32
export const NH_GATEWAY = 8; // 16 bytes
export const NEXTHOP_ROW = 24;

// ---- link row: struct ifinfomsg + attributes ----
export const LN_FAMILY = 12; // u8
export const LN_TYPE = 14; // u16 ifi_type
export const LN_INDEX = 16; // i32
export const LN_FLAGS = 20; // u32 ifi_flags
export const LN_CHANGE = 24; // u32 ifi_change
export const LN_PRESENT = 28; // u32 bitmask of LN_HAS_*
export const LN_MTU = 32; // u32 IFLA_MTU
export const LN_MASTER = 36; // u32 IFLA_MASTER
export const LN_LINK = 40; // u32 IFLA_LINK
export const LN_NET_NS_FD = 44; // i32 IFLA_NET_NS_FD (requests only)
export const LN_ADDRESS_LEN = 48; // u8
export const LN_OPERSTATE = 49; // u8 IFLA_OPERSTATE
export const LN_ADDRESS = 52; // 32 bytes IFLA_ADDRESS
export const LN_IFNAME = 84; // 16 bytes, NUL-terminated
export const LN_KIND = 100; // 16 bytes IFLA_INFO_KIND, NUL-terminated
export const LN_MODE = 116; // u32 IFLA_MACVLAN_MODE or IFLA_IPVLAN_MODE (u16 on the wire)
export const LN_VRF_TABLE = 120; // u32 IFLA_VRF_TABLE
export const LN_IPVLAN_FLAGS = 124; // u16 IFLA_IPVLAN_FLAGS
export const LN_LINK_NETNSID = 128; // i32 IFLA_LINK_NETNSID
export const LINK_ROW = 132;

export const LN_HAS_MTU = 1;
export const LN_HAS_MASTER = 2;
export const LN_HAS_LINK = 4;
export const LN_HAS_NET_NS_FD = 8;
export const LN_HAS_ADDRESS = 16;
export const LN_HAS_IFNAME = 32;
export const LN_HAS_KIND = 64; // IFLA_LINKINFO with IFLA_INFO_KIND
export const LN_HAS_MODE = 128; // IFLA_INFO_DATA mode (macvlan/ipvlan)
export const LN_HAS_VRF_TABLE = 256;
export const LN_HAS_IPVLAN_FLAGS = 512;
export const LN_HAS_OPERSTATE = 1024;
export const LN_HAS_LINK_NETNSID = 2048;

// ---- address row: struct ifaddrmsg + attributes ----
export const AD_FAMILY = 12; // u8
export const AD_PREFIXLEN = 13; // u8
export const AD_IFA_FLAGS = 14; // u8 ifa_flags (header)
export const AD_SCOPE = 15; // u8
export const AD_INDEX = 16; // u32
export const AD_PRESENT = 20; // u32 bitmask of AD_HAS_*
export const AD_FLAGS = 24; // u32 IFA_FLAGS
export const AD_ADDRESS = 28; // 16 bytes IFA_ADDRESS
export const AD_LOCAL = 44; // 16 bytes IFA_LOCAL
export const AD_BROADCAST = 60; // 16 bytes IFA_BROADCAST
export const AD_LABEL = 76; // 16 bytes IFA_LABEL, NUL-terminated
export const AD_CACHEINFO = 92; // 16 bytes struct ifa_cacheinfo
export const AD_PROTO = 108; // u8 IFA_PROTO
export const ADDR_ROW = 112;

export const AD_HAS_ADDRESS = 1;
export const AD_HAS_LOCAL = 2;
export const AD_HAS_BROADCAST = 4;
export const AD_HAS_LABEL = 8;
export const AD_HAS_FLAGS = 16;
export const AD_HAS_CACHEINFO = 32;
export const AD_HAS_PROTO = 64;

// ---- neighbour row: struct ndmsg + attributes (codec/neigh.ts) ----
export const ND_FAMILY = 12; // u8 ndm_family
export const ND_INDEX = 16; // i32 ndm_ifindex
export const ND_STATE = 20; // u16 ndm_state (NUD_*)
export const ND_FLAGS = 22; // u8 ndm_flags (NTF_*)
export const ND_TYPE = 23; // u8 ndm_type
export const ND_PRESENT = 24; // u32 bitmask of ND_HAS_*
export const ND_DST = 28; // 16 bytes NDA_DST
export const ND_LLADDR_LEN = 44; // u8
export const ND_PROTOCOL = 45; // u8 NDA_PROTOCOL
export const ND_LLADDR = 48; // 32 bytes NDA_LLADDR
export const ND_PROBES = 80; // u32 NDA_PROBES
export const ND_CACHEINFO = 84; // 16 bytes struct nda_cacheinfo
export const ND_FLAGS_EXT = 100; // u32 NDA_FLAGS_EXT (NTF_EXT_*)
export const NEIGH_ROW = 104;

export const ND_HAS_DST = 1;
export const ND_HAS_LLADDR = 2;
export const ND_HAS_PROBES = 4;
export const ND_HAS_CACHEINFO = 8;
export const ND_HAS_PROTOCOL = 16;
export const ND_HAS_FLAGS_EXT = 32;

// ---- attribute descriptors: what one generic parse walk and one generic emitter use ----
// One line per attribute a row keeps, five numbers each:
//   attribute type, kind (| AK_ONLY_INET6 / AK_NOT_INET6), row offset, size, presence bit
// The lines are in emission order (the kernel's dump order); an attribute emitted at another
// place for IPv6 appears twice, once with AK_ONLY_INET6 and once with AK_NOT_INET6 (parsing uses
// its first line). A new plain attribute is one line here: a free row offset below the row size
// and an unused presence bit (test/codec/layout.test.ts checks both) -- named constants above
// only when hand-written code or a test needs them -- and one line in the wrapper's family file.
export const ATTR_WORDS = 5; // numbers per descriptor line
export const ATTR_INDEX_TYPES = 64; // attribute types below this are looked up by the parser; others are not kept
export const AK_INT = 1; // unsigned integer of `size` bytes (1, 2, 4), host order, copied as is
export const AK_SINT = 2; // the same, read as signed by the wrapper
export const AK_BYTES = 3; // struct of exactly `size` bytes, copied as is
export const AK_ADDR = 4; // address of the message's family (AF_INET/AF_INET6 only) in a 16-byte slot
export const AK_STR = 5; // string of at most 15 bytes, NUL-terminated in a 16-byte slot
export const AK_LLADDR = 6; // up to 32 bytes; `size` is the row offset of the u8 holding their length
export const AK_SPECIAL = 7; // parsed and emitted by hand-written code of the family (nests, structs)
export const AK_KIND_MASK = 15;
export const AK_ONLY_INET6 = 16; // this line is emitted only for AF_INET6 rows
export const AK_NOT_INET6 = 32; // this line is emitted only for other rows

export const ROUTE_ATTRS = [
  15, AK_INT, RT_TABLE, 4, RT_HAS_TABLE, // RTA_TABLE
  1, AK_ADDR, RT_DST, 16, RT_HAS_DST, // RTA_DST
  7, AK_ADDR | AK_ONLY_INET6, RT_PREFSRC, 16, RT_HAS_PREFSRC, // RTA_PREFSRC
  8, AK_SPECIAL | AK_ONLY_INET6, RT_METRICS_RAW, 0, RT_HAS_METRICS, // RTA_METRICS
  6, AK_INT, RT_PRIORITY, 4, RT_HAS_PRIORITY, // RTA_PRIORITY
  8, AK_SPECIAL | AK_NOT_INET6, RT_METRICS_RAW, 0, RT_HAS_METRICS, // RTA_METRICS
  7, AK_ADDR | AK_NOT_INET6, RT_PREFSRC, 16, RT_HAS_PREFSRC, // RTA_PREFSRC
  5, AK_ADDR, RT_GATEWAY, 16, RT_HAS_GATEWAY, // RTA_GATEWAY
  18, AK_SPECIAL, RT_GATEWAY, 0, RT_HAS_VIA, // RTA_VIA
  4, AK_INT, RT_OIF, 4, RT_HAS_OIF, // RTA_OIF
  9, AK_SPECIAL, RT_NH_START, 0, RT_HAS_MULTIPATH, // RTA_MULTIPATH
  12, AK_BYTES, RT_CACHEINFO, 32, RT_HAS_CACHEINFO, // RTA_CACHEINFO
  20, AK_INT, RT_PREF, 1, RT_HAS_PREF, // RTA_PREF
];

export const LINK_ATTRS = [
  3, AK_STR, LN_IFNAME, 16, LN_HAS_IFNAME, // IFLA_IFNAME
  16, AK_INT, LN_OPERSTATE, 1, LN_HAS_OPERSTATE, // IFLA_OPERSTATE
  4, AK_INT, LN_MTU, 4, LN_HAS_MTU, // IFLA_MTU
  10, AK_INT, LN_MASTER, 4, LN_HAS_MASTER, // IFLA_MASTER
  1, AK_LLADDR, LN_ADDRESS, LN_ADDRESS_LEN, LN_HAS_ADDRESS, // IFLA_ADDRESS
  28, AK_SINT, LN_NET_NS_FD, 4, LN_HAS_NET_NS_FD, // IFLA_NET_NS_FD
  18, AK_SPECIAL, LN_KIND, 0, LN_HAS_KIND, // IFLA_LINKINFO
  37, AK_SINT, LN_LINK_NETNSID, 4, LN_HAS_LINK_NETNSID, // IFLA_LINK_NETNSID
  5, AK_INT, LN_LINK, 4, LN_HAS_LINK, // IFLA_LINK
];

export const ADDR_ATTRS = [
  2, AK_ADDR | AK_ONLY_INET6, AD_LOCAL, 16, AD_HAS_LOCAL, // IFA_LOCAL
  1, AK_ADDR, AD_ADDRESS, 16, AD_HAS_ADDRESS, // IFA_ADDRESS
  2, AK_ADDR | AK_NOT_INET6, AD_LOCAL, 16, AD_HAS_LOCAL, // IFA_LOCAL
  4, AK_ADDR, AD_BROADCAST, 16, AD_HAS_BROADCAST, // IFA_BROADCAST
  3, AK_STR, AD_LABEL, 16, AD_HAS_LABEL, // IFA_LABEL
  11, AK_INT | AK_NOT_INET6, AD_PROTO, 1, AD_HAS_PROTO, // IFA_PROTO
  6, AK_BYTES | AK_ONLY_INET6, AD_CACHEINFO, 16, AD_HAS_CACHEINFO, // IFA_CACHEINFO
  8, AK_INT, AD_FLAGS, 4, AD_HAS_FLAGS, // IFA_FLAGS
  6, AK_BYTES | AK_NOT_INET6, AD_CACHEINFO, 16, AD_HAS_CACHEINFO, // IFA_CACHEINFO
  11, AK_INT | AK_ONLY_INET6, AD_PROTO, 1, AD_HAS_PROTO, // IFA_PROTO
];

export const NEIGH_ATTRS = [
  1, AK_ADDR, ND_DST, 16, ND_HAS_DST, // NDA_DST
  2, AK_LLADDR, ND_LLADDR, ND_LLADDR_LEN, ND_HAS_LLADDR, // NDA_LLADDR
  4, AK_INT, ND_PROBES, 4, ND_HAS_PROBES, // NDA_PROBES
  3, AK_BYTES, ND_CACHEINFO, 16, ND_HAS_CACHEINFO, // NDA_CACHEINFO
  12, AK_INT, ND_PROTOCOL, 1, ND_HAS_PROTOCOL, // NDA_PROTOCOL
  15, AK_INT, ND_FLAGS_EXT, 4, ND_HAS_FLAGS_EXT, // NDA_FLAGS_EXT
];

// ---- parse status (exported global `status` after parse()) ----
export const STATUS_MORE = 0; // datagram consumed, dump continues
export const STATUS_DONE = 1; // NLMSG_DONE seen
export const STATUS_ERROR = 2; // NLMSG_ERROR with error != 0 (see `errorCode`)
export const STATUS_ACK = 3; // NLMSG_ERROR with error == 0
export const STATUS_MALFORMED = -1; // a length did not fit; rows before it are valid

// ---- added by the codec: status when a table could not grow (memory.grow failed) ----
export const STATUS_NO_MEMORY = -2; // rows before it are valid

// ---- regions allocated once by init() ----
export const RECV_SIZE = 262144; // receive region handed to recvfrom
export const REQUEST_SIZE = 65536; // request region the encoders write into
export const SCRATCH_ROW_SIZE = 256; // one row of any family, filled by the TS side before encode*()
export const SCRATCH_NH_CAP = 2048; // nexthop rows after the scratch row (RTA_MULTIPATH is at most 64 KiB anyway)
export const EXTACK_CAP = 1024; // copy of the last NLMSGERR_ATTR_MSG (truncated to this)

// ---- codec state block: init() returns its address; every field is a 32-bit word ----
export const ST_STATUS = 0; // i32 status of the last parse()
export const ST_ERROR_CODE = 4; // i32 error of the last NLMSG_ERROR (0 = ACK) or failed NLMSG_DONE
export const ST_ERROR_SEQ = 8; // u32 nlmsg_seq of that message
export const ST_DUMP_INTR = 12; // u32 1 once NLM_F_DUMP_INTR was seen since reset()
export const ST_EXTACK_LEN = 16; // u32 bytes of NLMSGERR_ATTR_MSG in the extack buffer
export const ST_EXTACK_OFFS = 20; // u32 NLMSGERR_ATTR_OFFS
export const ST_HAS_OFFS = 24; // u32 1 when NLMSGERR_ATTR_OFFS came with that message
export const ST_MALFORMED_AT = 28; // u32 offset in the receive region of the message parse() rejected
export const ST_ROUTE_BASE = 32; // table = (base, count, cap) triple: u32 address, rows used, rows allocated
export const ST_ROUTE_COUNT = 36;
export const ST_ROUTE_CAP = 40;
export const ST_NH_BASE = 44;
export const ST_NH_COUNT = 48;
export const ST_NH_CAP = 52;
export const ST_LINK_BASE = 56;
export const ST_LINK_COUNT = 60;
export const ST_LINK_CAP = 64;
export const ST_ADDR_BASE = 68;
export const ST_ADDR_COUNT = 72;
export const ST_ADDR_CAP = 76;
export const ST_RECV = 80; // u32 address of the receive region (RECV_SIZE bytes)
export const ST_REQUEST = 84; // u32 address of the request region (REQUEST_SIZE bytes)
export const ST_SCRATCH = 88; // u32 address of the scratch row
export const ST_SCRATCH_NH = 92; // u32 address of the scratch nexthop rows (SCRATCH_NH_CAP rows)
export const ST_EXTACK = 96; // u32 address of the extack message buffer (EXTACK_CAP bytes)
export const ST_HEAP_TOP = 100; // u32 end of the bump-allocated heap
export const ST_GROWS = 104; // u32 number of table moves since init (tests, diagnostics)
export const ST_NEIGH_BASE = 108;
export const ST_NEIGH_COUNT = 112;
export const ST_NEIGH_CAP = 116;
export const ST_RF_KEYS = 120; // u32 address of the route filter's key area (0 until its first use)
export const ST_RF_CAP = 124; // u32 keys the key area holds
export const ST_RF_DROPPED = 128; // u32 route messages the filter dropped since reset() (tests, diagnostics)
export const STATE_SIZE = 132;

// initial table capacities (rows); a full table doubles and moves to the end of the heap
export const ROUTE_CAP_INIT = 256;
export const NH_CAP_INIT = 512;
export const LINK_CAP_INIT = 64;
export const ADDR_CAP_INIT = 64;
export const NEIGH_CAP_INIT = 32;

// ---- route filter (codec/route.ts): while set, route messages are kept only when their family,
// table and destination are wanted; the others are dropped before their attributes are parsed ----
// The host writes the wanted destinations into the key area (routeFilterKeys), one key each:
export const RF_KEY_DST = 0; // 16 bytes: the destination address (IPv4 in the first 4 bytes, the rest zero)
export const RF_KEY_LEN = 16; // u8 dst_len
export const RF_KEY = 20; // bytes per key
export const RF_CAP_INIT = 64; // keys of the first key area; a larger request doubles it
export const RF_MAX_KEYS = 1048576; // most keys one filter takes
