// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_layers.c: the model's layer table (model/basicvsr.h) and the one place that spells layer names:
// block, conv_first, branch and SPyNet names for both branches; every layer's kind, branch, block, level,
// conv pointer and feeder in a dense model and in an SSL-pruned one (whose channel counts are odd and
// whose feeders must still give every conv its input count); the dense shape of every kind.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/basicvsr.h"
#include "prune/ssl.h"
#include "testutil.h"
#include "train/model_init.h"

static void test_names(void) {
    char s[96];
    CHECK(!strcmp(sv_branch_name(SV_BRANCH_BACKWARD), "backward_trunk"));
    CHECK(!strcmp(sv_branch_name(SV_BRANCH_FORWARD), "forward_trunk"));
    CHECK(sv_first_name(s, sizeof s, SV_BRANCH_BACKWARD) == 21 && !strcmp(s, "backward_trunk.main.0"));
    CHECK(sv_first_name(s, sizeof s, SV_BRANCH_FORWARD) > 0 && !strcmp(s, "forward_trunk.main.0"));
    CHECK(sv_block_name(s, sizeof s, SV_BRANCH_BACKWARD, 0, NULL) > 0 && !strcmp(s, "backward_trunk.main.2.0"));
    CHECK(sv_block_name(s, sizeof s, SV_BRANCH_BACKWARD, 13, "") > 0 && !strcmp(s, "backward_trunk.main.2.13"));
    CHECK(sv_block_name(s, sizeof s, SV_BRANCH_FORWARD, 29, ".conv1") > 0 &&
          !strcmp(s, "forward_trunk.main.2.29.conv1"));
    CHECK(sv_block_name(s, sizeof s, SV_BRANCH_FORWARD, 7, ".conv2") > 0 && !strcmp(s, "forward_trunk.main.2.7.conv2"));
    CHECK(sv_spynet_name(s, sizeof s, 5, 4) > 0 && !strcmp(s, "spynet.basic_module.5.basic_module.8"));
    // a short buffer truncates and says so
    char t[8];
    CHECK(sv_block_name(t, sizeof t, SV_BRANCH_FORWARD, 3, ".conv1") >= (int)sizeof t && strlen(t) == 7);
}

// Every table invariant that holds for dense and pruned models alike; returns the layer count.
static int check_table(sv_model *m) {
    const int nl = sv_model_layers(m, NULL, 0);
    CHECK(nl == SV_SPY_LEVELS * SV_SPY_CONVS + 2 * (1 + 2 * m->num_block) + 5);
    sv_layer_ref *L = calloc((size_t)nl, sizeof *L);
    if (!L) return 0;
    CHECK(sv_model_layers(m, L, nl) == nl);
    int spy = 0, first = 0, c1 = 0, c2 = 0, recon = 0;
    char want[96];
    for (int i = 0; i < nl; i++) {
        const sv_layer_ref *r = &L[i];
        const sv_layer_ref *f = r->feeder >= 0 ? &L[r->feeder] : NULL;
        CHECKF(r->feeder < i, "%s: feeder %d comes after it", r->name, r->feeder);
        CHECK(r->is_spynet == (r->kind == SV_LAYER_SPYNET));
        switch (r->kind) {
        case SV_LAYER_SPYNET:
            spy++;
            CHECK(r->conv == &m->spynet[r->level][r->spy] && r->branch < 0 && r->block < 0);
            sv_spynet_name(want, sizeof want, r->level, r->spy);
            CHECKF(!strcmp(r->name, want), "%s", r->name);
            if (r->spy == 0) CHECKF(!f, "%s has a feeder", r->name);
            else CHECKF(f && f->kind == SV_LAYER_SPYNET && f->level == r->level && f->spy == r->spy - 1, "%s", r->name);
            break;
        case SV_LAYER_FIRST:
            first++;
            CHECK(r->conv == &m->trunk[r->branch].conv_first && r->block < 0 && !f);
            sv_first_name(want, sizeof want, r->branch);
            CHECKF(!strcmp(r->name, want), "%s", r->name);
            break;
        case SV_LAYER_CONV1:
        case SV_LAYER_CONV2: {
            const int is1 = r->kind == SV_LAYER_CONV1;
            is1 ? c1++ : c2++;
            const sv_resblock *b = &m->trunk[r->branch].blocks[r->block];
            CHECK(r->conv == (is1 ? &b->conv1 : &b->conv2) && r->level < 0);
            sv_block_name(want, sizeof want, r->branch, r->block, is1 ? ".conv1" : ".conv2");
            CHECKF(!strcmp(r->name, want), "%s", r->name);
            // conv1 reads the hidden state; conv2 reads its own block's conv1
            if (is1) CHECKF(!f, "%s has a feeder", r->name);
            else
                CHECKF(f && f->kind == SV_LAYER_CONV1 && f->branch == r->branch && f->block == r->block, "%s", r->name);
            break;
        }
        default:
            recon++;
            CHECK(r->branch < 0 && r->block < 0 && r->level < 0);
            break;
        }
        if (f)
            CHECKF(r->conv->cin == f->conv->cout / (r->shuffled ? SV_SHUFFLE_GROUP : 1), "%s reads %d of %s's %d",
                   r->name, r->conv->cin, f->name, f->conv->cout);
    }
    CHECK(spy == SV_SPY_LEVELS * SV_SPY_CONVS && first == 2 && c1 == 2 * m->num_block && c2 == c1 && recon == 5);
    // the reconstruction: fusion (reads both hidden states) -> upconv1 -> shuffle -> upconv2 -> shuffle ->
    // conv_hr -> conv_last
    const int fu = nl - 5;
    static const char *names[5] = {"fusion", "upconv1", "upconv2", "conv_hr", "conv_last"};
    static const sv_layer_kind kinds[5] = {SV_LAYER_FUSION, SV_LAYER_UPCONV1, SV_LAYER_UPCONV2, SV_LAYER_CONV_HR,
                                           SV_LAYER_CONV_LAST};
    sv_conv_layer *convs[5] = {&m->fusion, &m->upconv1, &m->upconv2, &m->conv_hr, &m->conv_last};
    for (int j = 0; j < 5; j++) {
        const sv_layer_ref *r = &L[fu + j];
        CHECKF(!strcmp(r->name, names[j]) && r->kind == kinds[j] && r->conv == convs[j], "%s", r->name);
        CHECKF(r->feeder == (j ? fu + j - 1 : -1), "%s: feeder %d", r->name, r->feeder);
        CHECKF(r->shuffled == (j == 2 || j == 3), "%s", r->name);
    }
    free(L);
    return nl;
}

static void test_dense_table(void) {
    sv_model m;
    if (tu_random_model(&m, 13, 3, 7)) return;
    check_table(&m);
    // every layer of a dense model has the dense shape of its kind
    const int nl = sv_model_layers(&m, NULL, 0);
    sv_layer_ref *L = calloc((size_t)nl, sizeof *L);
    if (L) {
        sv_model_layers(&m, L, nl);
        for (int i = 0; i < nl; i++) {
            int cin, cout, k;
            sv_layer_dense_shape(&L[i], m.num_feat, &cin, &cout, &k);
            CHECKF(cin == L[i].conv->cin && cout == L[i].conv->cout && k == L[i].conv->k, "%s: %dx%dx%d vs %dx%dx%d",
                   L[i].name, cout, cin, k, L[i].conv->cout, L[i].conv->cin, L[i].conv->k);
        }
    }
    free(L);
    // names, kinds and feeders need only num_block (model_init uses this before any tensor exists)
    sv_model shape = {.num_feat = 13, .num_block = 3};
    const int ns = sv_model_layers(&shape, NULL, 0);
    sv_layer_ref *S = calloc((size_t)ns, sizeof *S), *D = calloc((size_t)nl, sizeof *D);
    if (S && D && ns == nl) {
        sv_model_layers(&shape, S, ns);
        sv_model_layers(&m, D, nl);
        for (int i = 0; i < nl; i++)
            CHECKF(!strcmp(S[i].name, D[i].name) && S[i].kind == D[i].kind && S[i].feeder == D[i].feeder &&
                   S[i].branch == D[i].branch && S[i].block == D[i].block, "layer %d", i);
    }
    free(S), free(D);
    sv_model_free(&m);
}

// Cuts a random 40% of the units (RSC lists, odd counts, whole shuffle groups), twice.
static void test_pruned_table(void) {
    sv_model m, p, p2;
    sv_err e;
    if (tu_random_model(&m, 13, 2, 3)) return;
    sv_model *src = &m, *dst[2] = {&p, &p2};
    int made = 0;
    for (int round = 0; round < 2; round++) {
        sv_units u;
        if (sv_units_build(&u, src, &e)) {
            CHECKF(0, "%s", e.msg);
            break;
        }
        uint64_t st = 11 + (uint64_t)round;
        tu_fill_uniform(u.score, u.nunits, 0, 1, &st);
        sv_select_opts o = {.ratio = 0.4, .global = 1, .round = 1};
        CHECK(sv_units_select(&u, &o, &e) > 0);
        int rc = sv_units_fold(&u, src, &e) || sv_prune_cut(&u, src, dst[round], &e);
        sv_units_free(&u);
        if (rc) {
            CHECKF(0, "%s", e.msg);
            break;
        }
        made++;
        CHECK(dst[round]->nindices > 0 && dst[round]->nparams < src->nparams);
        check_table(dst[round]);
        // a pruned model has narrower layers than its kind's dense shape, the hidden state stays C wide
        CHECK(dst[round]->num_feat == 13 && dst[round]->upconv1.cout < SV_SHUFFLE_GROUP * 13);
        src = dst[round];
    }
    for (int i = 0; i < made; i++) sv_model_free(dst[i]);
    sv_model_free(&m);
}

int main(void) {
    run_test("layers_block_and_branch_names", test_names);
    run_test("layers_dense_table_kinds_feeders_shapes", test_dense_table);
    run_test("layers_pruned_table_feeders", test_pruned_table);
    return test_summary();
}
