// static IPAM plugin: the protocol face of src/ipam/static.ts. Like upstream it supports every
// spec version; STATUS and GC succeed without output, as upstream's skel does for a plugin that
// registers neither (static allocates nothing, so there is nothing to report or collect).
import type { Plugin } from "../cni/types";
import { ALL_VERSIONS } from "../cni/version";
import { staticAdd, staticCheck, staticDel } from "../ipam/static";

const staticIpam: Plugin = {
  name: "static",
  supportedVersions: ALL_VERSIONS,
  add: staticAdd,
  del: staticDel,
  check: staticCheck,
  status: () => {},
  gc: () => {},
};

export default staticIpam;
