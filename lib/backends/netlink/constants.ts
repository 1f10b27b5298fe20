/**
 * Numeric rtnetlink constants (Linux uapi: netlink.h, rtnetlink.h, if_link.h, if_addr.h,
 * veth.h). Only the values this backend sends or reads. Values per geneve-surface.md §1.
 */

export const NETLINK_ROUTE = 0;
export const SOL_NETLINK = 270;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
/** Send the created object back to the requester (honoured for RTM_NEWLINK since Linux 6.3). */
export const NLM_F_ECHO = 0x8;
export const NLM_F_DUMP = 0x300;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** Flags of an NLMSG_ERROR reply: the request payload was left out / TLVs follow. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;
export const NLMSGERR_ATTR_MSG = 1;

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

export const IFF_UP = 0x1;

export const IFLA = {
  ADDRESS: 1,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  MASTER: 10,
  LINKINFO: 18,
  NET_NS_PID: 19,
  IFALIAS: 20,
  NET_NS_FD: 28,
  EXT_MASK: 29,
  GSO_MAX_SIZE: 41,
  GRO_MAX_SIZE: 58,
} as const;

/** IFLA_EXT_MASK bit: leave the statistics out of link replies (smaller, and less kernel work). */
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

export const IFLA_INFO = { KIND: 1, DATA: 2, SLAVE_KIND: 4 } as const;

export const VETH_INFO_PEER = 1;

export const IFLA_GENEVE = {
  ID: 1,
  REMOTE: 2,
  TTL: 3,
  TOS: 4,
  PORT: 5,
  COLLECT_METADATA: 6,
  REMOTE6: 7,
  UDP_CSUM: 8,
  UDP_ZERO_CSUM6_TX: 9,
  UDP_ZERO_CSUM6_RX: 10,
  LABEL: 11,
  TTL_INHERIT: 12,
  DF: 13,
  INNER_PROTO_INHERIT: 14,
  PORT_RANGE: 15,
} as const;

export const IFLA_VXLAN = {
  ID: 1,
  GROUP: 2,
  LINK: 3,
  LOCAL: 4,
  TTL: 5,
  TOS: 6,
  LEARNING: 7,
  PORT_RANGE: 10,
  PORT: 15,
  GROUP6: 16,
  LOCAL6: 17,
  UDP_CSUM: 18,
  UDP_ZERO_CSUM6_TX: 19,
  UDP_ZERO_CSUM6_RX: 20,
  COLLECT_METADATA: 25,
  LABEL: 26,
  TTL_INHERIT: 28,
  DF: 29,
} as const;

export const IFLA_GRE = {
  IFLAGS: 2,
  OFLAGS: 3,
  IKEY: 4,
  OKEY: 5,
  LOCAL: 6,
  REMOTE: 7,
  TTL: 8,
  TOS: 9,
} as const;
/** GRE_KEY / GRE_CSUM bits of the be16 i/oflags. */
export const GRE_KEY = 0x2000;
export const GRE_CSUM = 0x8000;

export const IFA = { ADDRESS: 1, LOCAL: 2, FLAGS: 8 } as const;
export const IFA_F_NODAD = 0x02;

export const RTA = { DST: 1, OIF: 4, GATEWAY: 5, TABLE: 15 } as const;
export const RT_TABLE_MAIN = 254;
export const RTPROT_BOOT = 3;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_SCOPE_NOWHERE = 255;
export const RTN_UNICAST = 1;

export const GENEVE_DEFAULT_PORT = 6081;
export const DF_MODES = ['unset', 'set', 'inherit'] as const;
