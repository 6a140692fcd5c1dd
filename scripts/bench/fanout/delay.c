/* Delays every packet of an NFQUEUE queue by DELAY_MS before accepting it: the benchmark's
 * network latency where the kernel has no netem. Single-threaded: packets are held in
 * arrival order (equal delays keep them in order) and released by a poll loop.
 *
 *   delay QUEUE_NUM DELAY_MS
 *
 * Build: cc -O2 -o delay delay.c -lnetfilter_queue
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_HELD (1 << 20)

struct held { uint32_t id; uint64_t due_ns; };
static struct held *ring;
static size_t head, tail;   /* ring[head..tail) are held, oldest first */
static uint64_t delay_ns;
static volatile sig_atomic_t stop;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
                     void *data) {
  (void)msg; (void)data;
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
  if (!ph) return 0;
  uint32_t id = ntohl(ph->packet_id);
  if (tail - head >= MAX_HELD) return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
  ring[tail % MAX_HELD] = (struct held){ id, now_ns() + delay_ns };
  tail++;
  return 0;
}

static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: delay QUEUE_NUM DELAY_MS\n"); return 2; }
  int queue = atoi(argv[1]);
  delay_ns = (uint64_t)strtoull(argv[2], NULL, 10) * 1000000u;
  ring = calloc(MAX_HELD, sizeof *ring);
  struct nfq_handle *h = nfq_open();
  if (!ring || !h) { perror("nfq_open"); return 1; }
  struct nfq_q_handle *qh = nfq_create_queue(h, queue, &on_packet, NULL);
  if (!qh) { perror("nfq_create_queue"); return 1; }
  if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) { perror("nfq_set_mode"); return 1; }
  nfq_set_queue_maxlen(qh, 65536);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  int fd = nfq_fd(h);
  char buf[65536] __attribute__((aligned));
  while (!stop) {
    uint64_t now = now_ns();
    while (head < tail && ring[head % MAX_HELD].due_ns <= now) {
      nfq_set_verdict(qh, ring[head % MAX_HELD].id, NF_ACCEPT, 0, NULL);
      head++;
    }
    int timeout_ms = 100;
    if (head < tail) {
      uint64_t wait = ring[head % MAX_HELD].due_ns - now;
      timeout_ms = (int)(wait / 1000000u);
    }
    struct pollfd p = { fd, POLLIN, 0 };
    int r = poll(&p, 1, timeout_ms);
    if (r > 0) {
      int n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      while (n > 0) {
        nfq_handle_packet(h, buf, n);
        n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      }
    } else if (r < 0 && errno != EINTR) {
      perror("poll");
      break;
    }
  }
  while (head < tail) nfq_set_verdict(qh, ring[head++ % MAX_HELD].id, NF_ACCEPT, 0, NULL);
  nfq_destroy_queue(qh);
  nfq_close(h);
  return 0;
}
