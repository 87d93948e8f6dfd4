/* opthreads: a qemu-user TCG plugin (API version 1, qemu 7.2) that counts executed guest
 * instructions per op and per guest thread, for the multi-thread estimate of docs/PI_ESTIMATE.md.
 *
 *   qemu-aarch64 -cpu cortex-a72 -plugin ./opthreads.so,mark=0x1f2a30,task=0x1f3b40,phase=0x1f0c20,out=ops.txt \
 *     ./mixedge-arm64 bench ...
 *
 * mark= is the entry address of a function the program calls once per op on one goroutine, before
 * the op's work is shared out (mixedge: model.(*Int8Net).step), task= that of the function each
 * goroutine calls to run its share (model.(*Int8Net).runTask); `go tool nm` gives both. Entering
 * mark opens the next op and a task on that vCPU (an op that is not shared runs there); entering
 * task opens a task of the current op on its vCPU. phase= (optional) is the entry of the function
 * that shares out one part of an op (model.(*pool).do): entering it starts the op's next phase,
 * and tasks record the phase they were opened in (0: before any). Every instruction a vCPU (= guest thread)
 * executes is counted to the op open at the time, and its "work" instructions also to the task
 * last opened on that vCPU. "Work" is the program's own code (symbols starting with prefix=,
 * default github.com/mixedge/mixedge/) except its worker pool (methods of *pool), plus runtime.memmove/memclr; the
 * rest is "wait" (the Go runtime and the pool's polling: spinning, parking, scheduling, GC, whose
 * amount depends on host timing, not on the work). Counting by task rather than by vCPU matters: the Go scheduler may run two
 * goroutines' shares one after the other on one thread. Host code, no dependencies:
 *
 *   gcc -O2 -shared -fPIC -o opthreads.so opthreads.c
 *
 * A vCPU that enters runtime.gogo (the scheduler switching goroutines) has no task until it next
 * opens one: its work until then (a goroutine resumed in mid-task, perhaps on another thread) and
 * work on a vCPU whose last task belongs to an earlier op are the op's "orphan" work on that vCPU.
 * Output: "op N vcpu V work W wait S orphan O" per (op, vCPU), then "task T op N vcpu V work W phase P" per task.
 * The declarations below are those of qemu's include/qemu/qemu-plugin.h, API version 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const char *qemu_plugin_insn_symbol(const struct qemu_plugin_insn *insn);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define MAXOPS 8192
#define MAXVCPU 64
#define MAXTASKS 65536

typedef struct {
  uint32_t n;    /* guest instructions in the block */
  uint8_t wait;  /* runtime / pool code */
  uint8_t mark;  /* the block starts at mark= (1), task= (2) or phase= (3) */
  uint8_t sw;    /* runtime.gogo: the thread switches to another goroutine */
} blk;

static uint64_t markpc, taskpc, phasepc;
static volatile uint32_t phase;         /* phases of the current op (written by the marking thread only) */
static uint32_t taskph[MAXTASKS];
static uint32_t ntasks;                 /* tasks opened (atomically: any vCPU opens them) */
static uint32_t vtask[MAXVCPU];         /* the task last opened on each vCPU (0 = none) */
static uint32_t taskop[MAXTASKS], taskv[MAXTASKS];
static uint64_t taskw[MAXTASKS];
static uint64_t orphan[MAXOPS][MAXVCPU]; /* work on a vCPU whose last task is of an earlier op */
static FILE *out;
static volatile uint32_t cur; /* ops opened so far (written by the marking thread only) */
static uint64_t cnt[MAXOPS][MAXVCPU][2];
static unsigned maxv;

/* Work is the program's own code (prefix= of the symbol, mixedge's module path by default) other than
 * its worker pool, plus runtime.memmove / memclr; the rest (the Go runtime: scheduling, spinning, GC,
 * sysmon; the pool's polling) is "wait": its amount depends on host timing, not on the work. */
static const char *prefix = "github.com/mixedge/mixedge/";
static int is_wait(const char *s) {
  if (!s) return 1;
  if (strncmp(s, "runtime.memmove", 15) == 0 || strncmp(s, "runtime.memclr", 14) == 0) return 0;
  return strncmp(s, prefix, strlen(prefix)) != 0 || strstr(s, "(*worker)") != NULL || strstr(s, "(*pool)") != NULL;
}

static void tb_exec(unsigned int vcpu, void *udata) {
  blk *b = udata;
  if (vcpu >= MAXVCPU) return;
  if (b->mark == 1 && cur < MAXOPS - 1) cur++, phase = 0;
  if (b->mark == 3) phase++;
  if (b->mark == 1 || b->mark == 2) {
    uint32_t t = __atomic_add_fetch(&ntasks, 1, __ATOMIC_RELAXED);
    if (t < MAXTASKS) {
      taskop[t] = cur;
      taskv[t] = vcpu;
      taskph[t] = phase;
      vtask[vcpu] = t;
    }
  }
  if (b->sw) vtask[vcpu] = 0; /* whoever runs next continues some task, or none */
  if (vcpu + 1 > maxv) maxv = vcpu + 1;
  cnt[cur][vcpu][b->wait] += b->n;
  if (!b->wait) {
    uint32_t t = vtask[vcpu];
    if (t && taskop[t] == cur) taskw[t] += b->n;
    else orphan[cur][vcpu] += b->n;
  }
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  blk *b = calloc(1, sizeof *b);
  b->n = qemu_plugin_tb_n_insns(tb);
  uint64_t pc = qemu_plugin_tb_vaddr(tb);
  b->mark = pc == markpc ? 1 : pc == taskpc ? 2 : phasepc && pc == phasepc ? 3 : 0;
  const char *sym = qemu_plugin_insn_symbol(qemu_plugin_tb_get_insn(tb, 0));
  b->wait = is_wait(sym);
  b->sw = sym && strcmp(sym, "runtime.gogo.abi0") == 0;
  qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void at_exit(qemu_plugin_id_t id, void *p) {
  (void)id, (void)p;
  for (uint32_t op = 0; op <= cur && op < MAXOPS; op++)
    for (unsigned v = 0; v < maxv; v++)
      if (cnt[op][v][0] || cnt[op][v][1])
        fprintf(out, "op %u vcpu %u work %llu wait %llu orphan %llu\n", op, v, (unsigned long long)cnt[op][v][0],
                (unsigned long long)cnt[op][v][1], (unsigned long long)orphan[op][v]);
  for (uint32_t t = 1; t <= ntasks && t < MAXTASKS; t++)
    fprintf(out, "task %u op %u vcpu %u work %llu phase %u\n", t, taskop[t], taskv[t], (unsigned long long)taskw[t],
            taskph[t]);
  fflush(out);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                               int argc, char **argv) {
  (void)info;
  out = stderr;
  for (int i = 0; i < argc; i++) {
    if (strncmp(argv[i], "mark=", 5) == 0) markpc = strtoull(argv[i] + 5, NULL, 0);
    else if (strncmp(argv[i], "task=", 5) == 0) taskpc = strtoull(argv[i] + 5, NULL, 0);
    else if (strncmp(argv[i], "phase=", 6) == 0) phasepc = strtoull(argv[i] + 6, NULL, 0);
    else if (strncmp(argv[i], "prefix=", 7) == 0) prefix = argv[i] + 7;
    else if (strncmp(argv[i], "out=", 4) == 0) out = fopen(argv[i] + 4, "w");
    else {
      fprintf(stderr, "opthreads: unknown argument %s\n", argv[i]);
      return -1;
    }
  }
  if (!out || !markpc || !taskpc) {
    fprintf(stderr, "opthreads: need mark=ADDRESS, task=ADDRESS (and a writable out=FILE)\n");
    return -1;
  }
  qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
  qemu_plugin_register_atexit_cb(id, at_exit, NULL);
  return 0;
}
