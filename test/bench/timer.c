/*
 * test/bench/timer.c -- whole-process timer for the benchmarks.
 * Built by bench.ts at bench time: gcc -O2 [-static] -o timer timer.c
 *
 *   timer [-i IN] [-o OUT] [-e ERR] [-m NETNS_PATH [-w MS [-a N]]] -- PROGRAM ARGS...
 *
 * fork -> execvp(PROGRAM) with stdin/stdout/stderr redirected to the files (default /dev/null)
 * -> wait4. Prints one line on its own stdout:
 *
 *   exit=N wall_us=W cpu_us=C user_us=U sys_us=S maxrss_kb=R
 *
 * wall is CLOCK_MONOTONIC from just before fork() to wait4() returning; cpu/maxrss come from the
 * child's rusage (ru_maxrss is the largest process of the waited tree, not a sum). exit is the
 * exit status, or 128+signal.
 *
 * -m: IPv6 DAD monitor. Before forking, a NETLINK_ROUTE socket is opened inside NETNS_PATH
 * (setns there and straight back, so the child starts in the timer's own netns) and joins
 * RTNLGRP_LINK and RTNLGRP_IPV6_IFADDR. While the child runs, the timer polls that socket and a
 * pidfd of the child (no busy loop) and timestamps every notification with CLOCK_MONOTONIC on
 * receipt. Appended to the line (all relative to the fork, µs; -1 when it did not happen):
 *
 *   up_us      first notification of a link other than ifindex 1 (lo) with IFF_UP set
 *   dad_us     last RTM_NEWADDR, after up_us, of an IPv6 address that is neither TENTATIVE nor
 *              DADFAILED and was tentative before or not seen yet (DAD completed). The kernel
 *              announces the link-local address it adds at link-up only once its DAD is done,
 *              so "not seen yet" counts as "was tentative".
 *   tentative  IPv6 addresses still TENTATIVE when monitoring stopped
 *   dadfailed  IPv6 addresses reported DADFAILED
 *   addrs      IPv6 addresses seen
 *
 * -w MS [-a N]: after the child exits, keep monitoring until at least N (default 1) IPv6
 * addresses have been seen and none is tentative, or MS milliseconds have passed -- for timing
 * the kernel's DAD alone, where the child is `ip link set up` and exits at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef IFA_F_TENTATIVE
#define IFA_F_TENTATIVE 0x40
#endif
#ifndef IFA_F_DADFAILED
#define IFA_F_DADFAILED 0x08
#endif

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what) {
  fprintf(stderr, "timer: %s: %s\n", what, strerror(errno));
  exit(125);
}

/* ---- DAD monitor ---- */
#define MAX_ADDRS 64
struct addr {
  int ifindex;
  unsigned char a[16];
  int tentative;
  int failed;
};
static struct addr addrs[MAX_ADDRS];
static int naddrs;
static double t0, up_at = -1, dad_at = -1;

static int open_monitor(const char *netns) {
  int target = open(netns, O_RDONLY | O_CLOEXEC);
  if (target < 0) die(netns);
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) die("open own netns");
  if (setns(target, CLONE_NEWNET) < 0) die("setns");
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (fd < 0) die("socket");
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
  int groups[] = {RTNLGRP_LINK, RTNLGRP_IPV6_IFADDR};
  for (unsigned i = 0; i < sizeof groups / sizeof groups[0]; i++)
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i], sizeof groups[i]) < 0) die("join group");
  int rcv = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv);
  if (setns(home, CLONE_NEWNET) < 0) die("setns back");
  close(target);
  close(home);
  return fd;
}

static void on_addr(struct nlmsghdr *h, double t) {
  struct ifaddrmsg *ifa = NLMSG_DATA(h);
  if (ifa->ifa_family != AF_INET6) return;
  uint32_t flags = ifa->ifa_flags;
  unsigned char *addr = NULL;
  int len = IFA_PAYLOAD(h);
  for (struct rtattr *rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
    if (rta->rta_type == IFA_ADDRESS && RTA_PAYLOAD(rta) == 16) addr = RTA_DATA(rta);
    if (rta->rta_type == IFA_FLAGS && RTA_PAYLOAD(rta) == 4) memcpy(&flags, RTA_DATA(rta), 4);
  }
  if (!addr) return;
  struct addr *e = NULL;
  for (int i = 0; i < naddrs; i++)
    if (addrs[i].ifindex == (int)ifa->ifa_index && !memcmp(addrs[i].a, addr, 16)) e = &addrs[i];
  if (h->nlmsg_type == RTM_DELADDR) {
    if (e) *e = addrs[--naddrs];
    return;
  }
  int seen = e != NULL;
  if (!e) {
    if (naddrs == MAX_ADDRS) return;
    e = &addrs[naddrs++];
    e->ifindex = ifa->ifa_index;
    memcpy(e->a, addr, 16);
    e->tentative = 0;
    e->failed = 0;
  }
  int tent = (flags & IFA_F_TENTATIVE) != 0;
  if (flags & IFA_F_DADFAILED) e->failed = 1;
  if ((e->tentative || !seen) && !tent && !(flags & IFA_F_DADFAILED) && up_at >= 0) dad_at = t;
  e->tentative = tent;
}

static void on_link(struct nlmsghdr *h, double t) {
  struct ifinfomsg *ifi = NLMSG_DATA(h);
  if (h->nlmsg_type == RTM_NEWLINK && ifi->ifi_index != 1 && (ifi->ifi_flags & IFF_UP) && up_at < 0) up_at = t;
}

static void drain(int fd) {
  static char buf[65536] __attribute__((aligned(8)));
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    double t = now_us();
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      if (errno == ENOBUFS) { fprintf(stderr, "timer: monitor overrun (ENOBUFS)\n"); continue; }
      die("recv monitor");
    }
    int len = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR) on_addr(h, t);
      else if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK) on_link(h, t);
    }
  }
}

static int tentative_left(void) {
  int n = 0;
  for (int i = 0; i < naddrs; i++) n += addrs[i].tentative;
  return n;
}

static void redirect(const char *path, int fd, int flags) {
  int f = open(path, flags, 0644);
  if (f < 0) {
    fprintf(stderr, "timer: %s: %s\n", path, strerror(errno));
    _exit(126);
  }
  if (dup2(f, fd) < 0) _exit(126);
  close(f);
}

int main(int argc, char **argv) {
  const char *in = "/dev/null", *out = "/dev/null", *err = "/dev/null", *netns = NULL;
  long wait_ms = 0, min_addrs = 1;
  int opt;
  while ((opt = getopt(argc, argv, "+i:o:e:m:w:a:")) != -1) {
    switch (opt) {
    case 'i': in = optarg; break;
    case 'o': out = optarg; break;
    case 'e': err = optarg; break;
    case 'm': netns = optarg; break;
    case 'w': wait_ms = atol(optarg); break;
    case 'a': min_addrs = atol(optarg); break;
    default:
      fprintf(stderr, "usage: timer [-i IN] [-o OUT] [-e ERR] [-m NETNS [-w MS [-a N]]] -- PROGRAM ARGS...\n");
      return 125;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "timer: no program\n");
    return 125;
  }
  int mon = netns ? open_monitor(netns) : -1;

  t0 = now_us();
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    redirect(in, 0, O_RDONLY);
    redirect(out, 1, O_WRONLY | O_CREAT | O_TRUNC);
    redirect(err, 2, O_WRONLY | O_CREAT | O_TRUNC);
    execvp(argv[optind], &argv[optind]);
    fprintf(stderr, "timer: exec %s: %s\n", argv[optind], strerror(errno));
    _exit(127);
  }
  if (mon >= 0) {
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd < 0) die("pidfd_open");
    struct pollfd fds[2] = {{.fd = mon, .events = POLLIN}, {.fd = pfd, .events = POLLIN}};
    for (;;) {
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        die("poll");
      }
      if (fds[0].revents) drain(mon);
      if (fds[1].revents) break;
    }
    close(pfd);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) die("wait4");
  double t1 = now_us();
  if (mon >= 0) {
    drain(mon);
    double deadline = t1 + wait_ms * 1e3;
    while ((naddrs < min_addrs || tentative_left() > 0) && now_us() < deadline) {
      struct pollfd p = {.fd = mon, .events = POLLIN};
      int left = (int)((deadline - now_us()) / 1e3) + 1;
      if (poll(&p, 1, left) > 0) drain(mon);
    }
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  double user = ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec;
  double sys = ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
  printf("exit=%d wall_us=%.1f cpu_us=%.0f user_us=%.0f sys_us=%.0f maxrss_kb=%ld", code, t1 - t0, user + sys, user,
         sys, ru.ru_maxrss);
  if (mon >= 0) {
    int failed = 0;
    for (int i = 0; i < naddrs; i++) failed += addrs[i].failed;
    printf(" up_us=%.1f dad_us=%.1f tentative=%d dadfailed=%d addrs=%d", up_at < 0 ? -1 : up_at - t0,
           dad_at < 0 ? -1 : dad_at - t0, tentative_left(), failed, naddrs);
  }
  printf("\n");
  return 0;
}
