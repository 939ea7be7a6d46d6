/* bench_self_rss (bench_node.h): this process's VmRSS and RssAnon in KiB,
 * from /proc/self/status; -1 for what cannot be read. Also compiled into
 * bench-dtls-floor (floor/dtls_floor.c), which links nothing of pkc. */
#include <stdio.h>

void bench_self_rss(long *vm_kib, long *anon_kib);

void bench_self_rss(long *vm_kib, long *anon_kib)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    *vm_kib = *anon_kib = -1;
    while (f && fgets(line, sizeof line, f)) {
        sscanf(line, "VmRSS: %ld kB", vm_kib);
        sscanf(line, "RssAnon: %ld kB", anon_kib);
    }
    if (f)
        fclose(f);
}
