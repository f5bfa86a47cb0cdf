// libcni-driver runs a conflist through Debian's libcni, the way a container runtime does, so
// tests see what libcni really caches and passes on as prevResult.
//
//	libcni-driver add|check|del CONFLIST NETNS IFNAME CACHEDIR
//
// add prints the result libcni cached (the prevResult later plugins and CHECK get) as one JSON
// line. Plugins come from CNI_PATH. Exits 1 with the failing step on stderr.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containernetworking/cni/libcni"
)

func fail(step string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", step, err)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 6 {
		fmt.Fprintln(os.Stderr, "usage: libcni-driver add|check|del CONFLIST NETNS IFNAME CACHEDIR")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[2])
	if err != nil {
		fail("read conflist", err)
	}
	list, err := libcni.ConfListFromBytes(raw)
	if err != nil {
		fail("parse conflist", err)
	}
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(os.Getenv("CNI_PATH")), os.Args[5], nil)
	rt := &libcni.RuntimeConf{ContainerID: "nh-libcni", NetNS: os.Args[3], IfName: os.Args[4]}
	ctx := context.Background()

	switch os.Args[1] {
	case "add":
		if _, err := cni.AddNetworkList(ctx, list, rt); err != nil {
			fail("ADD", err)
		}
		cached, err := cni.GetNetworkListCachedResult(list, rt)
		if err != nil || cached == nil {
			fail("read cached result", err)
		}
		out, err := json.Marshal(cached)
		if err != nil {
			fail("encode cached result", err)
		}
		fmt.Println(string(out))
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail("CHECK", err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail("DEL", err)
		}
	default:
		fail("command", fmt.Errorf("unknown %q", os.Args[1]))
	}
}
