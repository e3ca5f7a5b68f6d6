/* Makes a process believe it has $FAKE_CPUS processors, to measure what Envoy's memory would
 * be on a larger machine than the one at hand: V8 sizes its pool of compile threads by the
 * processor count, and each compile thread keeps a cache of freed memory in Envoy's
 * allocator (docs/performance.md, "what a bigger machine pays").
 *
 *   cc -shared -fPIC -O2 -o target/bench/fake_cpus.so benches/fake_cpus/fake_cpus.c -ldl
 *   FAKE_CPUS=8 LD_PRELOAD=$PWD/target/bench/fake_cpus.so make bench-memory
 *
 * Only the count changes, not the processors: use it for memory, never for timings. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

static int fake(void) {
    const char *s = getenv("FAKE_CPUS");
    return s ? atoi(s) : 0;
}

long sysconf(int name) {
    static long (*real)(int);
    if (!real) real = (long (*)(int))dlsym(RTLD_NEXT, "sysconf");
    if ((name == _SC_NPROCESSORS_ONLN || name == _SC_NPROCESSORS_CONF) && fake() > 0)
        return fake();
    return real(name);
}

int get_nprocs(void) {
    static int (*real)(void);
    if (fake() > 0) return fake();
    if (!real) real = (int (*)(void))dlsym(RTLD_NEXT, "get_nprocs");
    return real();
}

int get_nprocs_conf(void) {
    static int (*real)(void);
    if (fake() > 0) return fake();
    if (!real) real = (int (*)(void))dlsym(RTLD_NEXT, "get_nprocs_conf");
    return real();
}
