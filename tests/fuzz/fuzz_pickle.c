// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// fuzz_pickle.c: the pickle interpreter (io/pickle.h) on raw bytes, as found in a .pth's data.pkl.
#include "fuzz.h"
#include "io/pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sv_pickle p = {0};
    sv_pk_obj *out = NULL;
    sv_err e;
    int rc = sv_pickle_load(&p, data, size, "fuzz", &out, &e);
    fuzz_note("pickle", rc, &e);
    if (rc == 0 && out) {
        sv_pk_dict_get(out, "params");
        sv_pk_dict_get(out, "state_dict");
    }
    sv_pickle_free(&p);
    return 0;
}
