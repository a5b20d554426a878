// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// fuzz_util.c: see fuzz.h.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

#define MAX_EXT 8
static char paths[MAX_EXT][256];
static int npaths;

static void cleanup(void) {
    for (int i = 0; i < npaths; i++) unlink(paths[i]);
}

const char *fuzz_file(const uint8_t *data, size_t size, const char *ext) {
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    char p[256];
    snprintf(p, sizeof p, "%s/slimvsr-fuzz-%d%s", dir, (int)getpid(), ext);
    int known = 0;
    for (int i = 0; i < npaths; i++) known |= !strcmp(paths[i], p);
    if (!known && npaths < MAX_EXT) {
        if (!npaths) atexit(cleanup);
        strcpy(paths[npaths++], p);
    }
    FILE *f = fopen(p, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
        perror(p);
        abort();
    }
    for (int i = 0; i < npaths; i++)
        if (!strcmp(paths[i], p)) return paths[i];
    static char last[256];  // more extensions than MAX_EXT: still correct, just not cleaned up
    strcpy(last, p);
    return last;
}

void fuzz_note(const char *target, int rc, const sv_err *e) {
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("FUZZ_VERBOSE") && *getenv("FUZZ_VERBOSE") == '1';
    if (verbose) fprintf(stderr, "%s: %s\n", target, rc ? e->msg : "accepted");
}
