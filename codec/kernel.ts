// Kernel constants the codec needs, named as in the uapi headers
// (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h).

// ---- struct nlmsghdr ----
export const NLMSG_HDRLEN: usize = 16; // { u32 len; u16 type; u16 flags; u32 seq; u32 pid }
export const NLMSG_NOOP: u16 = 1;
export const NLMSG_ERROR: u16 = 2;
export const NLMSG_DONE: u16 = 3;

export const NLM_F_REQUEST: u16 = 0x01;
export const NLM_F_DUMP_INTR: u16 = 0x10;
export const NLM_F_DUMP: u16 = 0x300;
export const NLM_F_CAPPED: u16 = 0x100; // NLMSG_ERROR: original message cut to its header
export const NLM_F_ACK_TLVS: u16 = 0x200; // NLMSG_ERROR / NLMSG_DONE: extended ack TLVs follow

export const NLMSGERR_ATTR_MSG: u16 = 1;
export const NLMSGERR_ATTR_OFFS: u16 = 2;

// ---- rtnetlink message types ----
export const RTM_NEWLINK: u16 = 16;
export const RTM_DELLINK: u16 = 17;
export const RTM_GETLINK: u16 = 18;
export const RTM_NEWADDR: u16 = 20;
export const RTM_DELADDR: u16 = 21;
export const RTM_GETADDR: u16 = 22;
export const RTM_NEWROUTE: u16 = 24;
export const RTM_DELROUTE: u16 = 25;
export const RTM_GETROUTE: u16 = 26;

export const AF_INET: u8 = 2;
export const AF_INET6: u8 = 10;

// ---- struct rtattr / nlattr ----
export const NLA_HDRLEN: usize = 4;
export const NLA_TYPE_MASK: u16 = 0x3fff; // strips NLA_F_NESTED / NLA_F_NET_BYTEORDER

// ---- routes: struct rtmsg (12 bytes) and RTA_* ----
export const RTMSG_LEN: usize = 12;
export const RTA_DST: u16 = 1;
export const RTA_OIF: u16 = 4;
export const RTA_GATEWAY: u16 = 5;
export const RTA_PRIORITY: u16 = 6;
export const RTA_PREFSRC: u16 = 7;
export const RTA_METRICS: u16 = 8;
export const RTA_MULTIPATH: u16 = 9;
export const RTA_CACHEINFO: u16 = 12;
export const RTA_TABLE: u16 = 15;
export const RTA_VIA: u16 = 18;
export const RTA_PREF: u16 = 20;
export const RTAX_MTU: u16 = 2;
export const RTAX_ADVMSS: u16 = 8;
export const RTNH_LEN: usize = 8; // struct rtnexthop { u16 len; u8 flags; u8 hops; i32 ifindex }
export const RTA_CACHEINFO_LEN: usize = 32; // struct rta_cacheinfo

// ---- links: struct ifinfomsg (16 bytes) and IFLA_* ----
export const IFINFOMSG_LEN: usize = 16;
export const IFLA_ADDRESS: u16 = 1;
export const IFLA_IFNAME: u16 = 3;
export const IFLA_MTU: u16 = 4;
export const IFLA_LINK: u16 = 5;
export const IFLA_MASTER: u16 = 10;
export const IFLA_OPERSTATE: u16 = 16;
export const IFLA_LINKINFO: u16 = 18;
export const IFLA_NET_NS_FD: u16 = 28;
export const IFLA_LINK_NETNSID: u16 = 37;
export const IFLA_INFO_KIND: u16 = 1;
export const IFLA_INFO_DATA: u16 = 2;
export const IFLA_MACVLAN_MODE: u16 = 1; // u32
export const IFLA_IPVLAN_MODE: u16 = 1; // u16
export const IFLA_IPVLAN_FLAGS: u16 = 2; // u16
export const IFLA_VRF_TABLE: u16 = 1; // u32
export const MAX_ADDR_LEN: usize = 32;
export const IFNAMSIZ: usize = 16;

// IFLA_INFO_KIND values as little-endian u64 words, NUL-padded (names < 8 bytes)
export const KIND_MACVLAN: u64 = 0x006e616c7663616d; // "macvlan\0"
export const KIND_MACVTAP: u64 = 0x007061747663616d; // "macvtap\0"
export const KIND_IPVLAN: u64 = 0x00006e616c767069; // "ipvlan\0\0"
export const KIND_IPVTAP: u64 = 0x0000706174767069; // "ipvtap\0\0"
export const KIND_VRF: u64 = 0x0000000000667276; // "vrf\0"

// ---- addresses: struct ifaddrmsg (8 bytes) and IFA_* ----
export const IFADDRMSG_LEN: usize = 8;
export const IFA_ADDRESS: u16 = 1;
export const IFA_LOCAL: u16 = 2;
export const IFA_LABEL: u16 = 3;
export const IFA_BROADCAST: u16 = 4;
export const IFA_CACHEINFO: u16 = 6;
export const IFA_FLAGS: u16 = 8;
export const IFA_PROTO: u16 = 11;
export const IFA_CACHEINFO_LEN: usize = 16; // struct ifa_cacheinfo

// ---- neighbours: struct ndmsg (12 bytes) and NDA_* (linux/neighbour.h) ----
export const RTM_NEWNEIGH: u16 = 28;
export const RTM_DELNEIGH: u16 = 29;
export const RTM_GETNEIGH: u16 = 30;
export const NDMSG_LEN: usize = 12; // { u8 family; u8 pad1; u16 pad2; i32 ifindex; u16 state; u8 flags; u8 type }
export const NDA_DST: u16 = 1;
export const NDA_LLADDR: u16 = 2;
export const NDA_CACHEINFO: u16 = 3;
export const NDA_PROBES: u16 = 4;
export const NDA_PROTOCOL: u16 = 12;
export const NDA_FLAGS_EXT: u16 = 15;
export const NDA_CACHEINFO_LEN: usize = 16; // struct nda_cacheinfo
