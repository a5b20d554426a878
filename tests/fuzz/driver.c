// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// driver.c: main() for the fuzz targets outside libFuzzer (see fuzz.h): runs LLVMFuzzerTestOneInput on
// every file named, or on every file of every folder named (not recursive), and prints one PASS line per
// folder or file for tests/run.sh. A crash is a crash: ASan/UBSan (make SAN=1) or the signal reports it.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return perror(path), -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) return fclose(f), free(buf), perror(path), -1;
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    const char *me = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st)) {
            printf("FAIL %s %s: missing\n", me, argv[i]);
            bad++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            bad += run_file(argv[i]) != 0;
            printf("PASS %s %s\n", me, argv[i]);
            continue;
        }
        DIR *d = opendir(argv[i]);
        char **names = NULL;
        int n = 0;
        for (struct dirent *de; d && (de = readdir(d));) {
            if (de->d_name[0] == '.') continue;
            names = realloc(names, (size_t)(n + 1) * sizeof *names);
            names[n] = malloc(strlen(argv[i]) + strlen(de->d_name) + 2);
            sprintf(names[n++], "%s/%s", argv[i], de->d_name);
        }
        if (d) closedir(d);
        qsort(names, (size_t)n, sizeof *names, cmp);
        int failed = 0;
        for (int k = 0; k < n; k++) {
            failed += run_file(names[k]) != 0;
            free(names[k]);
        }
        free(names);
        if (failed || n == 0) printf("FAIL %s %s: %d of %d inputs unreadable\n", me, argv[i], failed, n), bad++;
        else printf("PASS %s %s (%d inputs)\n", me, argv[i], n);
    }
    return bad ? 1 : 0;
}
