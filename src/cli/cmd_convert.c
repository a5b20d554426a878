// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// cmd_convert.c: slimvsr convert IN OUT.safetensors: load any supported model (checked as BasicVSR) and
// write it in the native format, with its architecture in the metadata; --act and --flow set what the file
// records; --fp16 stores the weights as
// float16 (half the file; computation stays float32).
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "io/safetensors.h"
#include "model/basicvsr.h"

int cmd_convert(int argc, char **argv) {
    const char *pos[2] = {NULL, NULL};
    int npos = 0;
    float act = -1;
    int fp16 = 0, replace = 0, flow = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: slimvsr convert [--act relu|leaky] [--flow spynet|zero] [--fp16] [-y] IN OUT.safetensors\n"
                   "  Reads a PyTorch BasicVSR checkpoint (BasicSR or MMagic layout) or a slimvsr model,\n"
                   "  checks it and writes the native safetensors file (architecture in __metadata__).\n"
                   "  --act records the activation (default leaky, as in BasicSR/MMagic; relu for the\n"
                   "  SSL release's BasicVSR).\n"
                   "  --flow sets the flow that aligns the hidden states (default: what IN says, else spynet);\n"
                   "  zero: no alignment, SPyNet never runs (its weights stay in the file, unused).\n"
                   "  --fp16 stores weights and biases as float16 (half the size; slimvsr still computes in\n"
                   "  float32, and loading converts exactly). Tensors under %d values stay float32.\n"
                   "  -y, --overwrite replaces an existing OUT (never IN itself).\n",
                   SV_SAFETENSORS_F16_MIN);
            return 0;
        } else if (!strcmp(argv[i], "--act")) {
            if ((act = cli_parse_act(i + 1 < argc ? argv[i + 1] : NULL)) < -1) return 2;
            i++;
        } else if (!strcmp(argv[i], "--flow")) {
            if ((flow = cli_parse_flow("convert", i + 1 < argc ? argv[i + 1] : NULL)) < 0) return 2;
            i++;
        } else if (!strcmp(argv[i], "--fp16")) {
            fp16 = 1;
        } else if (!strcmp(argv[i], "-y") || !strcmp(argv[i], "--overwrite")) {
            replace = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "slimvsr convert: unknown option '%s'\n", argv[i]);
            return 2;
        } else if (npos < 2) {
            pos[npos++] = argv[i];
        } else {
            fprintf(stderr, "slimvsr convert: too many arguments\n");
            return 2;
        }
    }
    if (npos != 2) {
        fprintf(stderr, "usage: slimvsr convert [--act relu|leaky] [--flow spynet|zero] [--fp16] [-y] IN "
                        "OUT.safetensors\n");
        return 2;
    }
    sv_err e;
    sv_model m;
    const sv_model *use;
    // before the work: OUT is never IN (even with -y), and exists only with -y
    if (cli_check_output(pos[1], pos[0], NULL, replace) || cli_load_model(pos[0], act, 0, &m, &use)) return 1;
    if (flow >= 0) m.flow = (sv_flow_kind)flow;
    sv_tensor_set s = {0};
    int rc = sv_model_to_tensors(&m, &s, &e);
    if (!rc) rc = fp16 ? sv_safetensors_write_f16(pos[1], &s, &e) : sv_safetensors_write(pos[1], &s, &e);
    if (rc) fprintf(stderr, "slimvsr: %s\n", e.msg);
    else fprintf(stderr, "wrote %s (%d tensors, %zu parameters%s)\n", pos[1], s.n, m.nparams, fp16 ? ", float16" : "");
    sv_tensor_set_free(&s);
    sv_model_free(&m);
    return rc ? 1 : 0;
}
