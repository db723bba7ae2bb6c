/* A fake libnvidia-ml.so.1: eight H100 80GB HBM3 whose metrics move with time, for measuring
 * GPU monitors (ours and nvitop) side by side on a machine without NVIDIA GPUs (issue 9).
 *
 * Our own code. The function names, argument lists, struct layouts and return codes follow
 * what nvidia-ml-py's pynvml.py passes through ctypes (the public NVML API). A symbol missing
 * here makes pynvml raise NVMLError_FunctionNotFound, which both monitors treat as N/A.
 *
 * Environment:
 *   FAKE_NVML_PIDS  comma-separated PIDs shown as compute processes (real, long-lived ones,
 *                   so the monitors find their owners and commands); default: the loading
 *                   process and its parent.
 *   FAKE_NVML_LOG   a file: every call is appended as one line "name" (for finding which
 *                   functions a tool uses).
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

enum {
    OK = 0, UNINITIALIZED = 1, INVALID_ARGUMENT = 2, NOT_SUPPORTED = 3, NOT_FOUND = 6,
    INSUFFICIENT_SIZE = 7, TIMEOUT = 10, VERSION_MISMATCH = 25,
};

#define N_GPUS 8
#define MAX_PIDS 16
#define MIB (1024ULL * 1024ULL)
#define TOTAL_BYTES (81559ULL * MIB) /* what an H100 80GB HBM3 reports */
#define RESERVED_BYTES (512ULL * MIB)
#define NA_UINT 0xFFFFFFFFu

typedef struct { int index; } gpu_t; /* nvmlDevice_t points at one of these */
static gpu_t gpus[N_GPUS] = {{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}};
static const unsigned bus_of[N_GPUS] = {0x18, 0x2a, 0x3a, 0x5d, 0x9a, 0xab, 0xba, 0xdb};
static int initialised;
static unsigned pids[MAX_PIDS];
static int n_pids;

typedef struct { unsigned gpu, memory; } utilization_t;
typedef struct { unsigned long long total, free, used; } memory_t;
typedef struct { unsigned version; unsigned long long total, reserved, free, used; } memory_v2_t;
typedef struct { unsigned long long total, free, used; } bar1_t;
typedef struct {
    char bus_id_legacy[16];
    unsigned domain, bus, device, pci_device_id, pci_subsystem_id;
    char bus_id[32];
} pci_info_t;
typedef struct { unsigned pid; unsigned long long used; } process_v1_t;
typedef struct { unsigned pid; unsigned long long used; unsigned gpu_instance, compute_instance; } process_v2_t;
typedef struct { unsigned pid; unsigned long long ts; unsigned sm, mem, enc, dec; } process_util_t;
typedef struct { unsigned version; int sensor; int temperature; } temperature_v1_t;

static void trace(const char *name) {
    const char *path = getenv("FAKE_NVML_LOG");
    if (!path) return;
    FILE *f = fopen(path, "a");
    if (f) { fprintf(f, "%s\n", name); fclose(f); }
}
#define CALL(name) trace(name)
#define DEVICE(h) do { if (!initialised) return UNINITIALIZED; \
    if (!(h) || (h) < gpus || (h) >= gpus + N_GPUS) return INVALID_ARGUMENT; } while (0)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long long epoch_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

/* 0..1, smooth, each GPU and each metric with its own period and phase */
static double wave(const gpu_t *g, double period, double phase) {
    return 0.5 + 0.5 * sin(now_s() * 2.0 * M_PI / period + g->index * 0.9 + phase);
}

static unsigned util_pct(const gpu_t *g) { return (unsigned)(20 + 79 * wave(g, 37, 0)); }

static void copy_text(char *dst, unsigned length, const char *src) {
    if (length == 0) return;
    snprintf(dst, length, "%s", src);
}

/* GPU g's processes: 1 to 3 of the configured PIDs */
static int procs_of(const gpu_t *g, unsigned out[3]) {
    int n = n_pids < 1 + g->index % 3 ? n_pids : 1 + g->index % 3;
    for (int k = 0; k < n; k++) out[k] = pids[(g->index + k) % n_pids];
    return n;
}

static unsigned long long proc_bytes(const gpu_t *g, int k) {
    return (unsigned long long)((8 + 14 * wave(g, 53, k * 1.7)) * 1024) * MIB;
}

static unsigned long long used_bytes(const gpu_t *g) {
    unsigned p[3];
    unsigned long long used = 700ULL * MIB; /* context, driver */
    int n = procs_of(g, p);
    for (int k = 0; k < n; k++) used += proc_bytes(g, k);
    return used;
}

static void load_pids(void) {
    n_pids = 0;
    const char *env = getenv("FAKE_NVML_PIDS");
    if (env && *env) {
        char *copy = strdup(env), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t && n_pids < MAX_PIDS; t = strtok_r(NULL, ",", &save))
            if (atoi(t) > 0) pids[n_pids++] = (unsigned)atoi(t);
        free(copy);
    }
    if (n_pids == 0) {
        pids[n_pids++] = (unsigned)getpid();
        pids[n_pids++] = (unsigned)getppid();
    }
}

/* ---- library and system ---- */

EXPORT int nvmlInitWithFlags(unsigned flags) { (void)flags; CALL("nvmlInitWithFlags"); load_pids(); initialised = 1; return OK; }
EXPORT int nvmlInit_v2(void) { return nvmlInitWithFlags(0); }
EXPORT int nvmlInit(void) { return nvmlInitWithFlags(0); }
EXPORT int nvmlShutdown(void) { CALL("nvmlShutdown"); initialised = 0; return OK; }

EXPORT const char *nvmlErrorString(int result) {
    switch (result) {
    case OK: return "Success";
    case UNINITIALIZED: return "Uninitialized";
    case INVALID_ARGUMENT: return "Invalid Argument";
    case NOT_SUPPORTED: return "Not Supported";
    case NOT_FOUND: return "Not Found";
    case INSUFFICIENT_SIZE: return "Insufficient Size";
    case TIMEOUT: return "Timeout";
    case VERSION_MISMATCH: return "Argument version mismatch";
    default: return "Unknown Error";
    }
}

EXPORT int nvmlSystemGetDriverVersion(char *version, unsigned length) {
    CALL("nvmlSystemGetDriverVersion");
    copy_text(version, length, "570.133.20");
    return OK;
}
EXPORT int nvmlSystemGetNVMLVersion(char *version, unsigned length) {
    CALL("nvmlSystemGetNVMLVersion");
    copy_text(version, length, "12.570.133.20");
    return OK;
}
EXPORT int nvmlSystemGetCudaDriverVersion(int *version) { CALL("nvmlSystemGetCudaDriverVersion"); *version = 12080; return OK; }
EXPORT int nvmlSystemGetCudaDriverVersion_v2(int *version) { CALL("nvmlSystemGetCudaDriverVersion_v2"); *version = 12080; return OK; }

EXPORT int nvmlSystemGetProcessName(unsigned pid, char *name, unsigned length) {
    CALL("nvmlSystemGetProcessName");
    char path[64], buf[256] = "";
    snprintf(path, sizeof path, "/proc/%u/comm", pid);
    FILE *f = fopen(path, "r");
    if (!f) return NOT_FOUND;
    if (fgets(buf, sizeof buf, f)) buf[strcspn(buf, "\n")] = 0;
    fclose(f);
    copy_text(name, length, buf);
    return OK;
}

/* ---- devices ---- */

EXPORT int nvmlDeviceGetCount_v2(unsigned *count) {
    CALL("nvmlDeviceGetCount_v2");
    if (!initialised) return UNINITIALIZED;
    *count = N_GPUS;
    return OK;
}
EXPORT int nvmlDeviceGetCount(unsigned *count) { return nvmlDeviceGetCount_v2(count); }

EXPORT int nvmlDeviceGetHandleByIndex_v2(unsigned index, gpu_t **device) {
    CALL("nvmlDeviceGetHandleByIndex_v2");
    if (!initialised) return UNINITIALIZED;
    if (index >= N_GPUS) return INVALID_ARGUMENT;
    *device = &gpus[index];
    return OK;
}
EXPORT int nvmlDeviceGetHandleByIndex(unsigned index, gpu_t **device) { return nvmlDeviceGetHandleByIndex_v2(index, device); }

EXPORT int nvmlDeviceGetIndex(gpu_t *g, unsigned *index) { CALL("nvmlDeviceGetIndex"); DEVICE(g); *index = g->index; return OK; }

EXPORT int nvmlDeviceGetName(gpu_t *g, char *name, unsigned length) {
    CALL("nvmlDeviceGetName");
    DEVICE(g);
    copy_text(name, length, "NVIDIA H100 80GB HBM3");
    return OK;
}

static void uuid_of(const gpu_t *g, char *out, size_t n) {
    snprintf(out, n, "GPU-5f3c%04x-a7d1-%04x-9e2b-0c41d8%06x", 0x1000 + g->index * 0x111, 0x2b00 + g->index,
             0xa10000 + g->index * 0x1357);
}
EXPORT int nvmlDeviceGetUUID(gpu_t *g, char *uuid, unsigned length) {
    CALL("nvmlDeviceGetUUID");
    DEVICE(g);
    char buf[96];
    uuid_of(g, buf, sizeof buf);
    copy_text(uuid, length, buf);
    return OK;
}
EXPORT int nvmlDeviceGetSerial(gpu_t *g, char *serial, unsigned length) {
    CALL("nvmlDeviceGetSerial");
    DEVICE(g);
    char buf[32];
    snprintf(buf, sizeof buf, "16523230%05d", 4711 + g->index);
    copy_text(serial, length, buf);
    return OK;
}

EXPORT int nvmlDeviceGetPciInfo_v3(gpu_t *g, pci_info_t *pci) {
    CALL("nvmlDeviceGetPciInfo_v3");
    DEVICE(g);
    memset(pci, 0, sizeof *pci);
    pci->domain = 0;
    pci->bus = bus_of[g->index];
    pci->device = 0;
    pci->pci_device_id = 0x233010de;
    pci->pci_subsystem_id = 0x16c110de;
    snprintf(pci->bus_id_legacy, sizeof pci->bus_id_legacy, "0000:%02X:00.0", pci->bus);
    snprintf(pci->bus_id, sizeof pci->bus_id, "00000000:%02X:00.0", pci->bus);
    return OK;
}
EXPORT int nvmlDeviceGetPciInfo_v2(gpu_t *g, pci_info_t *pci) { return nvmlDeviceGetPciInfo_v3(g, pci); }
EXPORT int nvmlDeviceGetPciInfo(gpu_t *g, pci_info_t *pci) { return nvmlDeviceGetPciInfo_v3(g, pci); }

EXPORT int nvmlDeviceGetMemoryInfo(gpu_t *g, memory_t *m) {
    CALL("nvmlDeviceGetMemoryInfo");
    DEVICE(g);
    m->total = TOTAL_BYTES;
    m->used = used_bytes(g) + RESERVED_BYTES; /* v1 counts the reserved memory as used */
    m->free = m->total - m->used;
    return OK;
}
EXPORT int nvmlDeviceGetMemoryInfo_v2(gpu_t *g, memory_v2_t *m) {
    CALL("nvmlDeviceGetMemoryInfo_v2");
    DEVICE(g);
    if (m->version != 0x02000028) return VERSION_MISMATCH; /* nvmlMemory_v2 */
    m->total = TOTAL_BYTES;
    m->reserved = RESERVED_BYTES;
    m->used = used_bytes(g);
    m->free = m->total - m->reserved - m->used;
    return OK;
}
EXPORT int nvmlDeviceGetBAR1MemoryInfo(gpu_t *g, bar1_t *b) {
    CALL("nvmlDeviceGetBAR1MemoryInfo");
    DEVICE(g);
    b->total = 131072ULL * MIB;
    b->used = 17ULL * MIB;
    b->free = b->total - b->used;
    return OK;
}

EXPORT int nvmlDeviceGetUtilizationRates(gpu_t *g, utilization_t *u) {
    CALL("nvmlDeviceGetUtilizationRates");
    DEVICE(g);
    u->gpu = util_pct(g);
    u->memory = u->gpu * 2 / 3;
    return OK;
}
static int idle_codec(unsigned *util, unsigned *period_us) { /* no video work on these GPUs */
    *util = 0;
    *period_us = 167000;
    return OK;
}
EXPORT int nvmlDeviceGetEncoderUtilization(gpu_t *g, unsigned *util, unsigned *period_us) {
    CALL("nvmlDeviceGetEncoderUtilization");
    DEVICE(g);
    return idle_codec(util, period_us);
}
EXPORT int nvmlDeviceGetDecoderUtilization(gpu_t *g, unsigned *util, unsigned *period_us) {
    CALL("nvmlDeviceGetDecoderUtilization");
    DEVICE(g);
    return idle_codec(util, period_us);
}

static unsigned temperature_c(const gpu_t *g) { return (unsigned)(34 + 0.4 * util_pct(g) + 3 * wave(g, 11, 2)); }
EXPORT int nvmlDeviceGetTemperature(gpu_t *g, int sensor, unsigned *t) {
    CALL("nvmlDeviceGetTemperature");
    DEVICE(g);
    if (sensor != 0) return NOT_SUPPORTED;
    *t = temperature_c(g);
    return OK;
}
EXPORT int nvmlDeviceGetTemperatureV(gpu_t *g, temperature_v1_t *t) {
    CALL("nvmlDeviceGetTemperatureV");
    DEVICE(g);
    if (t->version != 0x100000C) return VERSION_MISMATCH; /* nvmlTemperature_v1 */
    if (t->sensor != 0) return NOT_SUPPORTED;
    t->temperature = (int)temperature_c(g);
    return OK;
}
EXPORT int nvmlDeviceGetTemperatureThreshold(gpu_t *g, int kind, unsigned *t) {
    CALL("nvmlDeviceGetTemperatureThreshold");
    DEVICE(g);
    static const unsigned thresholds[] = {92, 89, 95, 87}; /* shutdown, slowdown, mem max, gpu max */
    if (kind < 0 || kind > 3) return NOT_SUPPORTED;
    *t = thresholds[kind];
    return OK;
}

EXPORT int nvmlDeviceGetPowerUsage(gpu_t *g, unsigned *mw) {
    CALL("nvmlDeviceGetPowerUsage");
    DEVICE(g);
    *mw = (unsigned)(70000 + 6000.0 * util_pct(g) + 9000 * wave(g, 5, 1));
    return OK;
}
EXPORT int nvmlDeviceGetTotalEnergyConsumption(gpu_t *g, unsigned long long *mj) {
    CALL("nvmlDeviceGetTotalEnergyConsumption");
    DEVICE(g);
    *mj = (unsigned long long)(now_s() * 400000.0);
    return OK;
}
EXPORT int nvmlDeviceGetEnforcedPowerLimit(gpu_t *g, unsigned *mw) { CALL("nvmlDeviceGetEnforcedPowerLimit"); DEVICE(g); *mw = 700000; return OK; }
EXPORT int nvmlDeviceGetPowerManagementLimit(gpu_t *g, unsigned *mw) { CALL("nvmlDeviceGetPowerManagementLimit"); DEVICE(g); *mw = 700000; return OK; }
EXPORT int nvmlDeviceGetPowerManagementDefaultLimit(gpu_t *g, unsigned *mw) { CALL("nvmlDeviceGetPowerManagementDefaultLimit"); DEVICE(g); *mw = 700000; return OK; }
EXPORT int nvmlDeviceGetPowerManagementLimitConstraints(gpu_t *g, unsigned *lo, unsigned *hi) {
    CALL("nvmlDeviceGetPowerManagementLimitConstraints");
    DEVICE(g);
    *lo = 200000;
    *hi = 700000;
    return OK;
}

/* an H100 SXM has no fan of its own; the fake reports one anyway so both monitors draw it */
EXPORT int nvmlDeviceGetNumFans(gpu_t *g, unsigned *n) { CALL("nvmlDeviceGetNumFans"); DEVICE(g); *n = 1; return OK; }
EXPORT int nvmlDeviceGetFanSpeed(gpu_t *g, unsigned *pct) { CALL("nvmlDeviceGetFanSpeed"); DEVICE(g); *pct = 30 + util_pct(g) / 2; return OK; }
EXPORT int nvmlDeviceGetFanSpeed_v2(gpu_t *g, unsigned fan, unsigned *pct) {
    CALL("nvmlDeviceGetFanSpeed_v2");
    DEVICE(g);
    if (fan != 0) return INVALID_ARGUMENT;
    *pct = 30 + util_pct(g) / 2;
    return OK;
}

static const unsigned max_clock[4] = {1980, 1980, 2619, 1545}; /* graphics, SM, memory, video */
EXPORT int nvmlDeviceGetClockInfo(gpu_t *g, int kind, unsigned *mhz) {
    CALL("nvmlDeviceGetClockInfo");
    DEVICE(g);
    if (kind < 0 || kind > 3) return INVALID_ARGUMENT;
    *mhz = kind == 2 ? 2619 : (unsigned)(max_clock[kind] * (0.55 + 0.45 * util_pct(g) / 100.0));
    return OK;
}
EXPORT int nvmlDeviceGetMaxClockInfo(gpu_t *g, int kind, unsigned *mhz) {
    CALL("nvmlDeviceGetMaxClockInfo");
    DEVICE(g);
    if (kind < 0 || kind > 3) return INVALID_ARGUMENT;
    *mhz = max_clock[kind];
    return OK;
}
EXPORT int nvmlDeviceGetCurrentClocksEventReasons(gpu_t *g, unsigned long long *mask) {
    CALL("nvmlDeviceGetCurrentClocksEventReasons");
    DEVICE(g);
    *mask = util_pct(g) < 30 ? 0x1ULL /* GPU idle */ : 0;
    return OK;
}
EXPORT int nvmlDeviceGetCurrentClocksThrottleReasons(gpu_t *g, unsigned long long *mask) {
    return nvmlDeviceGetCurrentClocksEventReasons(g, mask);
}

EXPORT int nvmlDeviceGetPerformanceState(gpu_t *g, int *p) { CALL("nvmlDeviceGetPerformanceState"); DEVICE(g); *p = 0; return OK; }
EXPORT int nvmlDeviceGetPersistenceMode(gpu_t *g, int *on) { CALL("nvmlDeviceGetPersistenceMode"); DEVICE(g); *on = 1; return OK; }
EXPORT int nvmlDeviceGetComputeMode(gpu_t *g, int *mode) { CALL("nvmlDeviceGetComputeMode"); DEVICE(g); *mode = 0; return OK; }
EXPORT int nvmlDeviceGetDisplayActive(gpu_t *g, int *on) { CALL("nvmlDeviceGetDisplayActive"); DEVICE(g); *on = 0; return OK; }
EXPORT int nvmlDeviceGetDisplayMode(gpu_t *g, int *on) { CALL("nvmlDeviceGetDisplayMode"); DEVICE(g); *on = 0; return OK; }
EXPORT int nvmlDeviceGetCudaComputeCapability(gpu_t *g, int *major, int *minor) {
    CALL("nvmlDeviceGetCudaComputeCapability");
    DEVICE(g);
    *major = 9;
    *minor = 0;
    return OK;
}

EXPORT int nvmlDeviceGetEccMode(gpu_t *g, int *current, int *pending) {
    CALL("nvmlDeviceGetEccMode");
    DEVICE(g);
    *current = *pending = 1;
    return OK;
}
EXPORT int nvmlDeviceGetTotalEccErrors(gpu_t *g, int kind, int counter, unsigned long long *count) {
    CALL("nvmlDeviceGetTotalEccErrors");
    DEVICE(g);
    (void)kind, (void)counter;
    *count = 0;
    return OK;
}
EXPORT int nvmlDeviceGetRetiredPages(gpu_t *g, int cause, unsigned *count, unsigned long long *addresses) {
    CALL("nvmlDeviceGetRetiredPages");
    DEVICE(g);
    (void)cause, (void)addresses;
    *count = 0;
    return OK;
}
EXPORT int nvmlDeviceGetRetiredPagesPendingStatus(gpu_t *g, int *pending) {
    CALL("nvmlDeviceGetRetiredPagesPendingStatus");
    DEVICE(g);
    *pending = 0;
    return OK;
}
EXPORT int nvmlDeviceGetRemappedRows(gpu_t *g, unsigned *corr, unsigned *unc, unsigned *pending, unsigned *failure) {
    CALL("nvmlDeviceGetRemappedRows");
    DEVICE(g);
    *corr = *unc = *pending = *failure = 0;
    return OK;
}

EXPORT int nvmlDeviceGetPcieThroughput(gpu_t *g, int counter, unsigned *kbps) {
    CALL("nvmlDeviceGetPcieThroughput");
    DEVICE(g);
    if (counter < 0 || counter > 1) return INVALID_ARGUMENT;
    *kbps = (unsigned)(counter == 0 ? 2000 + 900000 * wave(g, 13, 0) : 5000 + 1800000 * wave(g, 17, 1));
    return OK;
}
EXPORT int nvmlDeviceGetCurrPcieLinkGeneration(gpu_t *g, unsigned *gen) { CALL("nvmlDeviceGetCurrPcieLinkGeneration"); DEVICE(g); *gen = 5; return OK; }
EXPORT int nvmlDeviceGetMaxPcieLinkGeneration(gpu_t *g, unsigned *gen) { CALL("nvmlDeviceGetMaxPcieLinkGeneration"); DEVICE(g); *gen = 5; return OK; }
EXPORT int nvmlDeviceGetCurrPcieLinkWidth(gpu_t *g, unsigned *w) { CALL("nvmlDeviceGetCurrPcieLinkWidth"); DEVICE(g); *w = 16; return OK; }
EXPORT int nvmlDeviceGetMaxPcieLinkWidth(gpu_t *g, unsigned *w) { CALL("nvmlDeviceGetMaxPcieLinkWidth"); DEVICE(g); *w = 16; return OK; }
EXPORT int nvmlDeviceGetPcieReplayCounter(gpu_t *g, unsigned *n) { CALL("nvmlDeviceGetPcieReplayCounter"); DEVICE(g); *n = 0; return OK; }

EXPORT int nvmlDeviceGetMigMode(gpu_t *g, unsigned *current, unsigned *pending) {
    CALL("nvmlDeviceGetMigMode");
    DEVICE(g);
    *current = *pending = 0; /* NVML_DEVICE_MIG_DISABLE */
    return OK;
}
EXPORT int nvmlDeviceGetMaxMigDeviceCount(gpu_t *g, unsigned *n) { CALL("nvmlDeviceGetMaxMigDeviceCount"); DEVICE(g); *n = 0; return OK; }
EXPORT int nvmlDeviceIsMigDeviceHandle(gpu_t *g, unsigned *is_mig) { CALL("nvmlDeviceIsMigDeviceHandle"); DEVICE(g); *is_mig = 0; return OK; }

/* ---- processes ---- */

/* The NVML two-call protocol: count too small (or no buffer) -> INSUFFICIENT_SIZE with the
 * count needed; no processes -> OK with count 0. */
#define FILL_PROCESSES(type, fill_extra)                                    \
    DEVICE(g);                                                              \
    unsigned p[3];                                                          \
    int n = procs_of(g, p);                                                 \
    if (n == 0) { *count = 0; return OK; }                                  \
    if (!infos || *count < (unsigned)n) { *count = n; return INSUFFICIENT_SIZE; } \
    for (int k = 0; k < n; k++) {                                           \
        type *info = &infos[k];                                             \
        memset(info, 0, sizeof *info);                                      \
        info->pid = p[k];                                                   \
        info->used = proc_bytes(g, k);                                      \
        fill_extra;                                                         \
    }                                                                       \
    *count = n;                                                             \
    return OK;

EXPORT int nvmlDeviceGetComputeRunningProcesses_v3(gpu_t *g, unsigned *count, process_v2_t *infos) {
    CALL("nvmlDeviceGetComputeRunningProcesses_v3");
    FILL_PROCESSES(process_v2_t, info->gpu_instance = info->compute_instance = NA_UINT)
}
EXPORT int nvmlDeviceGetComputeRunningProcesses_v2(gpu_t *g, unsigned *count, process_v2_t *infos) {
    CALL("nvmlDeviceGetComputeRunningProcesses_v2");
    FILL_PROCESSES(process_v2_t, info->gpu_instance = info->compute_instance = NA_UINT)
}
EXPORT int nvmlDeviceGetComputeRunningProcesses(gpu_t *g, unsigned *count, process_v1_t *infos) {
    CALL("nvmlDeviceGetComputeRunningProcesses");
    FILL_PROCESSES(process_v1_t, (void)0)
}

/* no graphics or MPS clients on a serving host */
#define NO_PROCESSES(name) \
    EXPORT int name(gpu_t *g, unsigned *count, void *infos) { CALL(#name); (void)infos; DEVICE(g); *count = 0; return OK; }
NO_PROCESSES(nvmlDeviceGetGraphicsRunningProcesses_v3)
NO_PROCESSES(nvmlDeviceGetGraphicsRunningProcesses_v2)
NO_PROCESSES(nvmlDeviceGetGraphicsRunningProcesses)
NO_PROCESSES(nvmlDeviceGetMPSComputeRunningProcesses_v3)
NO_PROCESSES(nvmlDeviceGetMPSComputeRunningProcesses_v2)
NO_PROCESSES(nvmlDeviceGetMPSComputeRunningProcesses)

EXPORT int nvmlDeviceGetProcessUtilization(gpu_t *g, process_util_t *samples, unsigned *count,
                                           unsigned long long last_seen_us) {
    CALL("nvmlDeviceGetProcessUtilization");
    DEVICE(g);
    unsigned p[3];
    int n = procs_of(g, p);
    unsigned long long ts = epoch_us();
    if (n == 0 || ts <= last_seen_us) return NOT_FOUND; /* no sample newer than last_seen */
    if (!samples || *count < (unsigned)n) { *count = n; return INSUFFICIENT_SIZE; }
    for (int k = 0; k < n; k++) {
        samples[k].pid = p[k];
        samples[k].ts = ts;
        samples[k].sm = util_pct(g) / n;
        samples[k].mem = util_pct(g) * 2 / 3 / n;
        samples[k].enc = samples[k].dec = 0;
    }
    *count = n;
    return OK;
}

/* ---- events: supported and registered as on a real H100, but none ever fires; a wait
 * sleeps its whole timeout, as the driver's does when nothing happens ---- */

static int event_set; /* the one set handed out */

EXPORT int nvmlEventSetCreate(void **set) { CALL("nvmlEventSetCreate"); if (!initialised) return UNINITIALIZED; *set = &event_set; return OK; }
EXPORT int nvmlEventSetFree(void *set) { CALL("nvmlEventSetFree"); (void)set; return OK; }
EXPORT int nvmlDeviceGetSupportedEventTypes(gpu_t *g, unsigned long long *types) {
    CALL("nvmlDeviceGetSupportedEventTypes");
    DEVICE(g);
    *types = 0x1 | 0x2 | 0x8; /* single-bit ECC, double-bit ECC, Xid critical */
    return OK;
}
EXPORT int nvmlDeviceRegisterEvents(gpu_t *g, unsigned long long types, void *set) {
    CALL("nvmlDeviceRegisterEvents");
    DEVICE(g);
    (void)types;
    return set == &event_set ? OK : INVALID_ARGUMENT;
}
EXPORT int nvmlEventSetWait_v2(void *set, void *data, unsigned timeout_ms) {
    CALL("nvmlEventSetWait_v2");
    (void)data;
    if (set != &event_set) return INVALID_ARGUMENT;
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
    return TIMEOUT;
}
EXPORT int nvmlEventSetWait(void *set, void *data, unsigned timeout_ms) { return nvmlEventSetWait_v2(set, data, timeout_ms); }

/* ---- present in a Linux driver, answering "not supported" as they do on an H100 there
 * (a missing symbol would cost each caller a failed lookup on every call instead) ---- */

#define UNSUPPORTED(name) \
    EXPORT int name(gpu_t *g, void *a, void *b) { CALL(#name); (void)a, (void)b; DEVICE(g); return NOT_SUPPORTED; }
UNSUPPORTED(nvmlDeviceGetDriverModel)     /* Windows driver models only */
UNSUPPORTED(nvmlDeviceGetDriverModel_v2)
UNSUPPORTED(nvmlDeviceGetConfComputeMemSizeInfo) /* confidential computing off */
/* present since the 550 drivers; nvitop reads its presence (with the one above) as "the
 * processes come in the official v3 layout", which is what this library writes */
UNSUPPORTED(nvmlDeviceGetRunningProcessDetailList)
