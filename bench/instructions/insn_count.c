/* QEMU TCG plugin: exact guest instruction counts between syscall markers.
 *
 * Why: wall-clock time under emulation says nothing about a real core, but the number of guest
 * instructions a call retires is exact and repeatable.  Every translated block adds its instruction count
 * to the counter of the guest thread (vCPU) that runs it; a mark records the marking thread's counter, so
 * torch's or the allocator's other threads do not leak in (with one shared counter, runs differed by
 * ~0.5 %; per thread they agree exactly).  The guest marks points with a syscall nobody else
 * makes: syscall 125 (sched_get_priority_max on aarch64) with policy BASE + i, which the kernel rejects with
 * EINVAL; the plugin stores the counter as mark i.  Numbering the marks matters: QEMU re-executes an
 * interrupted syscall instruction now and then (the callback then fires twice), and a bare getppid() is
 * also made by library code.  Only the first sighting of each i counts.  At exit: "i count" per line.
 *
 *   qemu-aarch64 -plugin ./insn_count.so,out=FILE[,syscall=N][,base=B] ...
 *
 * Built against qemu-plugin.h of the QEMU that loads it (Debian 12: 7.2, plugin API version 1).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MAX_VCPUS 4096
static uint64_t insns[MAX_VCPUS]; /* per guest thread */
static int64_t marker = 125;
static uint64_t base = 0x4d400000; /* marks are base .. base + MAX_MARKS - 1 */
#define MAX_MARKS (1u << 16)
static char out_path[4096];
static uint64_t marks[MAX_MARKS];
static unsigned char seen[MAX_MARKS];

static void on_tb_exec(unsigned int vcpu, void *n) {
    if (vcpu < MAX_VCPUS) insns[vcpu] += (uintptr_t)n;
}

static void on_tb_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb_exec, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)n);
}

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1, uint64_t a2,
                       uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8) {
    (void)id, (void)a2, (void)a3, (void)a4, (void)a5, (void)a6, (void)a7, (void)a8;
    if (num != marker || a1 < base || a1 - base >= MAX_MARKS || seen[a1 - base] || vcpu >= MAX_VCPUS) return;
    marks[a1 - base] = insns[vcpu];
    seen[a1 - base] = 1;
}

static void on_guest_exit(qemu_plugin_id_t id, void *data) {
    (void)id, (void)data;
    FILE *f = out_path[0] ? fopen(out_path, "w") : stderr;
    if (!f) return;
    for (size_t i = 0; i < MAX_MARKS; i++)
        if (seen[i]) fprintf(f, "%zu %" PRIu64 "\n", i, marks[i]);
    uint64_t total = 0;
    for (size_t v = 0; v < MAX_VCPUS; v++) total += insns[v];
    fprintf(f, "total %" PRIu64 "\n", total);
    if (f != stderr) fclose(f);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            snprintf(out_path, sizeof(out_path), "%s", argv[i] + 4);
        } else if (strncmp(argv[i], "syscall=", 8) == 0) {
            marker = strtoll(argv[i] + 8, NULL, 10);
        } else if (strncmp(argv[i], "base=", 5) == 0) {
            base = strtoull(argv[i] + 5, NULL, 0);
        } else {
            fprintf(stderr, "insn_count: unknown argument %s (expected out=FILE, syscall=N or base=B)\n", argv[i]);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_translate);
    qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
    qemu_plugin_register_atexit_cb(id, on_guest_exit, NULL);
    return 0;
}
