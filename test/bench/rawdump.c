/*
 * test/bench/rawdump.c -- the kernel's floor for bench.ts section 2: the raw receive loop of
 * bench.ts (RTM_GETROUTE AF_INET dump, recvfrom into 64 KiB, nlmsghdr walk only), in C.
 * Built by bench.ts: gcc -O2 -o rawdump rawdump.c
 *
 *   rawdump NETNS_PATH WARMUPS RUNS
 *
 * Opens each run's socket inside NETNS_PATH (setns once at start, same socket options as
 * NetlinkSocket.open) and prints one line per timed run: "ms messages bytes recvs".
 * The timed part is send → NLMSG_DONE, socket set-up excluded, as in bench.ts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "rawdump: %s: %s\n", what, strerror(errno));
  exit(1);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: rawdump NETNS_PATH WARMUPS RUNS\n");
    return 2;
  }
  int ns = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) die(argv[1]);
  int warm = atoi(argv[2]), runs = atoi(argv[3]);
  static char buf[65536] __attribute__((aligned(8)));
  for (int r = 0; r < warm + runs; r++) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) die("socket");
    int one = 1, rcv = 8 << 20;
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv);
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
    struct {
      struct nlmsghdr h;
      struct rtmsg m;
    } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = RTM_GETROUTE;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.h.nlmsg_seq = r + 1;
    req.m.rtm_family = AF_INET;
    double t = now_ms();
    if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&sa, sizeof sa) < 0) die("sendto");
    long msgs = 0, bytes = 0, recvs = 0;
    for (int done = 0; !done;) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        die("recv");
      }
      bytes += n;
      recvs++;
      int len = (int)n;
      for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_type == NLMSG_DONE) { done = 1; break; }
        if (h->nlmsg_type == NLMSG_ERROR) { fprintf(stderr, "rawdump: NLMSG_ERROR\n"); return 1; }
        msgs++;
      }
    }
    double ms = now_ms() - t;
    close(fd);
    if (r >= warm) printf("%.3f %ld %ld %ld\n", ms, msgs, bytes, recvs);
  }
  return 0;
}
