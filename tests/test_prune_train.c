// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// test_prune_train.c: training a pruned model (issue 17's test gaps). Against central finite differences,
// on odd channel counts, in both the naive (CHW) and the fast (blocked) training graph:
//   - a full training step of an RSC-cut model (index lists in the blocks, pixel-shuffle groups cut in the
//     reconstruction): the gradient of the loss for weights and biases of every kind of layer, SPyNet's too;
//   - the temporal finetuning gradient (L_tf alone) for an RSC student of the same hidden width as its
//     teacher, and for an l1-aligned student (narrower hidden state) through its channel map;
// and the map itself: a teacher whose dropped hidden channels are zero has the aligned student's states
// exactly, so L_tf is 0 through the right map and not through the identity. The same for a forward-only
// model (direction uni, issue 17 item 4: no backward branch, fusion reads F_i alone): its dense and its
// RSC-cut step, with SPyNet (its forward flows only), and the TF gradient of RSC and aligned students.
// SV_DENSE=1 runs the step checks on the uncut model (how K_FD_TOL was calibrated); SV_TRAIN_VERBOSE=1
// prints every probe.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prune/ssl.h"
#include "prune/ssl_train.h"
#include "testutil.h"

enum { T = 3, H = 8, W = 8, FEAT = 13, BLOCKS = 2 };

static float *g_lr, *g_gt;

static void make_data(void) {
    uint64_t st = 21;
    g_lr = malloc(sizeof(float) * T * 3 * H * W);
    g_gt = malloc(sizeof(float) * T * 48 * H * W);
    tu_fill_uniform(g_lr, (size_t)T * 3 * H * W, 0, 1, &st);
    tu_fill_uniform(g_gt, (size_t)T * 48 * H * W, 0, 1, &st);
}

// A random dense model whose blocks matter (tu_boost_blocks). Zero flow unless spynet: the naive SPyNet
// would cost seconds a step, and pruning does not touch it; one test keeps it.
static int make_model(sv_model *m, uint64_t seed, int spynet, sv_direction dir) {
    int rc = tu_random_model_dir(m, FEAT, BLOCKS, dir, seed);
    if (!rc) tu_boost_blocks(m, seed);
    if (!rc && !spynet) m->flow = SV_FLOW_ZERO;
    return rc;
}

// Every conv1 bias moved to +0.3: the blocks' pre-activations away from the ReLU kink, where a finite
// difference measures the kink instead of the derivative (as test_train.c's state-loss test does).
static void lift_conv1_biases(sv_model *m) {
    for (int d = sv_first_branch(m); d < 2; d++)
        for (int k = 0; k < m->num_block; k++)
            for (int j = 0; j < m->trunk[d].blocks[k].conv1.cout; j++) m->trunk[d].blocks[k].conv1.b[j] = 0.3f;
}

// An RSC-cut copy of m: 40% of the units with the lowest random scores, per layer (so every layer is cut).
static int rsc_cut(sv_model *m, sv_model *out) {
    sv_units u;
    sv_err e;
    if (sv_units_build(&u, m, &e)) {
        CHECKF(0, "%s", e.msg);
        return -1;
    }
    uint64_t st = 17;
    tu_fill_uniform(u.score, u.nunits, 0, 1, &st);
    sv_select_opts o = {.ratio = 0.4, .global = 0, .round = 1};
    int rc = sv_units_select(&u, &o, &e) > 0 && sv_prune_cut(&u, m, out, &e) == 0 ? 0 : -1;
    CHECKF(rc == 0, "cut: %s", e.msg);
    sv_units_free(&u);
    const int d0 = sv_first_branch(m);
    if (!rc) CHECK(out->indices && out->trunk[d0].blocks[0].in_idx && out->upconv1.cout < m->upconv1.cout);
    if (!rc) CHECK(out->dir == m->dir && out->fusion.cin == sv_branches(m) * FEAT);
    return rc;
}

// What is differentiated: the loss of a step (Charbonnier), or L_tf alone (the TF hook's term).
typedef struct {
    sv_trainnet *net;
    sv_tf_state *tf;  // NULL: the loss of a step
    int spynet;       // differentiate SPyNet too
} objective;

// One step's loss, with the TF hook attached or not; grads += its gradient when not NULL.
static double step(const objective *o, int with_tf, float *grads) {
    sv_err e;
    double l = NAN;
    sv_trainnet_set_state_loss(o->net, NULL, NULL);
    int rc = (with_tf && sv_tf_prepare(o->tf, o->net, g_lr, &e)) ||
             sv_trainnet_step(o->net, g_lr, g_gt, grads, o->spynet, &l, &e);
    CHECKF(rc == 0, "%s", e.msg);
    sv_trainnet_set_state_loss(o->net, NULL, NULL);
    return l;
}

static double obj_value(const objective *o) {
    const double l = step(o, o->tf != NULL, NULL);
    return o->tf ? o->tf->weight * o->tf->last : l;
}

// The objective's gradient over the n parameters (malloc'd): with TF, the step's with the hook minus without.
static float *obj_grad(const objective *o, size_t n) {
    float *g = calloc(n, sizeof(float)), *g0 = calloc(n, sizeof(float));
    step(o, o->tf != NULL, g);
    if (o->tf) {
        step(o, 0, g0);
        for (size_t i = 0; i < n; i++) g[i] -= g0[i];
    }
    free(g0);
    return g;
}

// Central differences for a few weights and biases of layer l against the analytic gradient g. A central
// difference through ReLU/LeakyReLU is off by a few percent where a perturbation moves pre-activations
// across the kink (measured on the dense graph, which is checked against PyTorch in test_train.c: up to
// 11% over a layer's probes); so the check is over the layer's probes together, relative L2 error at most
// K_FD_TOL: a wrong index map or a missing term is off by 100% or more.
#define K_FD_TOL 0.25
#define K_FD_H 1e-3f
#define K_FD_H_SPYNET 1e-2f  // its gradient is small on random weights: a larger step above the rounding
static void fd_layer(const objective *o, sv_model *m, const float *g, const sv_conv_layer *l, const char *name, float h,
                     double *worst) {
    const size_t nw = (size_t)l->cout * l->cin * l->k * l->k;
    float *probe[4] = {l->b, l->b + l->cout - 1, l->w + nw / 2, l->w + nw - 1};
    double num = 0, den = 0;
    for (int j = 0; j < 4; j++) {
        float *p = probe[j], keep = *p;
        *p = keep + h;
        double lp = obj_value(o);
        *p = keep - h;
        double lm = obj_value(o);
        *p = keep;
        const double fd = (lp - lm) / (2.0 * h), an = g[p - m->params];
        num += (fd - an) * (fd - an), den += fd * fd;
        if (getenv("SV_TRAIN_VERBOSE")) printf("    %s %d: analytic %.6g numeric %.6g\n", name, j, an, fd);
    }
    const double err = sqrt(num / (den + 1e-30));
    if (err > *worst) *worst = err;
    CHECKF(den > 0 && err <= K_FD_TOL, "%s: relative error %.3g of the gradient over its probes (|numeric| %.3g)", name, err,
           sqrt(den));
}

// fd_layer over every kind of layer of m (student of o).
static void fd_model(const objective *o, sv_model *m) {
    float *g = obj_grad(o, m->nparams);
    double worst = 0;
    char name[64];
    for (int d = sv_first_branch(m); d < 2; d++) {
        snprintf(name, sizeof name, "trunk%d.conv_first", d);
        fd_layer(o, m, g, &m->trunk[d].conv_first, name, K_FD_H, &worst);
        for (int k = 0; k < m->num_block; k++) {
            snprintf(name, sizeof name, "trunk%d.block%d.conv1", d, k);
            fd_layer(o, m, g, &m->trunk[d].blocks[k].conv1, name, K_FD_H, &worst);
            snprintf(name, sizeof name, "trunk%d.block%d.conv2", d, k);
            fd_layer(o, m, g, &m->trunk[d].blocks[k].conv2, name, K_FD_H, &worst);
        }
    }
    if (!o->tf) {  // L_tf depends on the hidden states only
        const sv_conv_layer *rec[5] = {&m->fusion, &m->upconv1, &m->upconv2, &m->conv_hr, &m->conv_last};
        const char *rn[5] = {"fusion", "upconv1", "upconv2", "conv_hr", "conv_last"};
        for (int i = 0; i < 5; i++) fd_layer(o, m, g, rec[i], rn[i], K_FD_H, &worst);
    } else {
        CHECK(g[m->fusion.b - m->params] == 0.0f && g[m->conv_last.b - m->params] == 0.0f);
    }
    if (getenv("SV_TRAIN_VERBOSE")) printf("    worst relative error %.3g\n", worst);
    free(g);
}

static sv_net_cfg net_cfg(int reference) {
    return (sv_net_cfg){.batch = 1, .seq = T, .h = H, .w = W, .reference = reference};
}

static sv_trainnet *net_for(const sv_model *m, int reference) {
    const sv_net_cfg c = net_cfg(reference);
    sv_err e;
    sv_trainnet *t = sv_trainnet_create(m, &c, &e);
    CHECKF(t, "%s", e.msg);
    return t;
}

// L_tf of student against teacher as an objective (weight 1; tf holds the teacher's graph). 0, or -1
// after a failed check (nothing left to free).
static int tf_objective(objective *o, sv_tf_state *tf, const sv_model *teacher, const sv_model *student,
                        int reference) {
    const sv_net_cfg c = net_cfg(reference);
    sv_err e;
    *o = (objective){net_for(student, reference), tf, 0};
    if (o->net && sv_tf_begin(tf, teacher, &c, 1.0f, &e) == 0) return 0;
    if (o->net) CHECKF(0, "%s", e.msg);
    sv_trainnet_free(o->net);
    return -1;
}

static void tf_objective_free(objective *o) {
    sv_tf_end(o->tf);
    sv_trainnet_free(o->net);
}

// A full training step of an RSC-cut model (dense: of the model itself) against finite differences; with
// SPyNet (fast graph only): its last layer and the layers its flows feed.
static void check_rsc_step(int reference, int spynet, sv_direction dir, int dense) {
    sv_model m, p;
    if (make_model(&m, 31, spynet, dir)) return;
    sv_err e;
    if (dense || getenv("SV_DENSE") ? sv_model_clone(&m, &p, &e) == 0 : rsc_cut(&m, &p) == 0) {
        lift_conv1_biases(&p);
        objective o = {net_for(&p, reference), NULL, spynet};
        if (o.net && !spynet) fd_model(&o, &p);
        if (o.net && spynet) {
            float *g = obj_grad(&o, p.nparams);
            double worst = 0;
            fd_layer(&o, &p, g, &p.spynet[SV_SPY_LEVELS - 1][SV_SPY_CONVS - 1], "spynet.last", K_FD_H_SPYNET, &worst);
            fd_layer(&o, &p, g, &p.trunk[1].conv_first, "trunk1.conv_first", K_FD_H, &worst);
            free(g);
        }
        sv_trainnet_free(o.net);
        sv_model_free(&p);
    }
    sv_model_free(&m);
}
static void test_rsc_step_reference(void) { check_rsc_step(1, 0, SV_DIR_BI, 0); }
static void test_rsc_step_fast(void) { check_rsc_step(0, 0, SV_DIR_BI, 0); }
static void test_rsc_step_spynet(void) { check_rsc_step(0, 1, SV_DIR_BI, 0); }
static void test_uni_step_reference(void) { check_rsc_step(1, 0, SV_DIR_UNI, 1); }
static void test_uni_rsc_step_reference(void) { check_rsc_step(1, 0, SV_DIR_UNI, 0); }
static void test_uni_rsc_step_fast(void) { check_rsc_step(0, 0, SV_DIR_UNI, 0); }
static void test_uni_step_spynet(void) { check_rsc_step(0, 1, SV_DIR_UNI, 1); }

// Hidden channels of branch d dropped by the aligned tests: the same count in both branches.
static const int k_drop[2][4] = {{0, 5, 6, 12}, {1, 2, 7, 11}};

// The aligned cut of m dropping k_drop; map[d]: the teacher channel of each kept channel (increasing).
static int aligned_cut(sv_model *m, sv_model *out, int map[2][FEAT]) {
    unsigned char hp[2][FEAT] = {{0}};
    const unsigned char *hpp[2] = {hp[0], hp[1]};
    for (int d = 0; d < 2; d++)
        for (int j = 0; j < 4; j++) hp[d][k_drop[d][j]] = 1;
    for (int d = 0; d < 2; d++)
        for (int c = 0, k = 0; c < FEAT; c++)
            if (!hp[d][c]) map[d][k++] = c;
    sv_err e;
    int rc = sv_prune_cut_aligned(hpp, m, out, &e);
    CHECKF(rc == 0, "%s", e.msg);
    return rc;
}

// The TF gradient: student and teacher from the same random dense model, the student cut (RSC: the same
// hidden width; aligned: narrower, through the map) and perturbed so that the states differ.
static void check_tf_grad(int aligned, int reference, sv_direction dir) {
    sv_model m, s;
    int map[2][FEAT];
    if (make_model(&m, 41, 0, dir)) return;
    if (aligned ? aligned_cut(&m, &s, map) : rsc_cut(&m, &s)) {
        sv_model_free(&m);
        return;
    }
    lift_conv1_biases(&s);
    uint64_t st = 5;
    const sv_conv_layer *first = &s.trunk[sv_first_branch(&s)].conv_first;
    tu_fill_uniform(first->b, (size_t)first->cout, -0.2f, 0.2f, &st);
    sv_tf_state tf;
    objective o;
    if (tf_objective(&o, &tf, &m, &s, reference) == 0) {
        if (aligned) tf.map[0] = map[0], tf.map[1] = map[1];
        fd_model(&o, &s);
        CHECKF(tf.last > 1e-3, "L_tf %.3g: the student should differ from its teacher", tf.last);
        tf_objective_free(&o);
    }
    sv_model_free(&s);
    sv_model_free(&m);
}
static void test_tf_grad_rsc_fast(void) { check_tf_grad(0, 0, SV_DIR_BI); }
static void test_tf_grad_aligned_reference(void) { check_tf_grad(1, 1, SV_DIR_BI); }
static void test_tf_grad_aligned_fast(void) { check_tf_grad(1, 0, SV_DIR_BI); }
static void test_uni_tf_grad_rsc_reference(void) { check_tf_grad(0, 1, SV_DIR_UNI); }
static void test_uni_tf_grad_aligned_fast(void) { check_tf_grad(1, 0, SV_DIR_UNI); }

// L_tf of an aligned student against a teacher whose dropped channels are zero (conv_first's and every
// conv2's rows, as test_prune.c's aligned cut test): the student computes exactly the teacher's kept
// channels, so L_tf is 0 through the map, and not through the identity map.
static void check_tf_map(int reference) {
    sv_model m, s;
    int map[2][FEAT], ident[FEAT];
    if (make_model(&m, 51, 0, SV_DIR_BI)) return;
    for (int d = 0; d < 2; d++)
        for (int j = 0; j < 4; j++) tu_zero_hidden_channel(&m, d, k_drop[d][j]);
    if (aligned_cut(&m, &s, map)) {
        sv_model_free(&m);
        return;
    }
    for (int c = 0; c < FEAT; c++) ident[c] = c;
    sv_tf_state tf;
    objective o;
    if (tf_objective(&o, &tf, &m, &s, reference) == 0) {
        tf.map[0] = map[0], tf.map[1] = map[1];
        double with_map = obj_value(&o), l_map = tf.last;
        tf.map[0] = tf.map[1] = ident;
        double with_ident = obj_value(&o), l_ident = tf.last;
        CHECKF(fabs(with_map) < 1e-5 && l_map < 1e-5, "L_tf through the map %.3g (%.3g), want 0", with_map, l_map);
        CHECKF(l_ident > 1e-2 && with_ident > 1e-2, "L_tf through the identity %.3g, want > 0", l_ident);
        tf.map[0] = tf.map[1] = NULL;  // a narrower student without a map is refused
        sv_err e;
        CHECK(sv_tf_prepare(&tf, o.net, g_lr, &e) < 0 && strstr(e.msg, "channel map"));
        tf_objective_free(&o);
    }
    sv_model_free(&s);
    sv_model_free(&m);
}
static void test_tf_map_reference(void) { check_tf_map(1); }
static void test_tf_map_fast(void) { check_tf_map(0); }

int main(void) {
    make_data();
    run_test("prune_train_rsc_step_fd_reference", test_rsc_step_reference);
    run_test("prune_train_rsc_step_fd_fast", test_rsc_step_fast);
    run_test("prune_train_rsc_step_fd_spynet", test_rsc_step_spynet);
    run_test("prune_train_tf_grad_rsc_fd_fast", test_tf_grad_rsc_fast);
    run_test("prune_train_tf_grad_aligned_fd_reference", test_tf_grad_aligned_reference);
    run_test("prune_train_tf_grad_aligned_fd_fast", test_tf_grad_aligned_fast);
    run_test("prune_train_tf_map_reference", test_tf_map_reference);
    run_test("prune_train_tf_map_fast", test_tf_map_fast);
    run_test("prune_train_uni_step_fd_reference", test_uni_step_reference);
    run_test("prune_train_uni_rsc_step_fd_reference", test_uni_rsc_step_reference);
    run_test("prune_train_uni_rsc_step_fd_fast", test_uni_rsc_step_fast);
    run_test("prune_train_uni_step_fd_spynet", test_uni_step_spynet);
    run_test("prune_train_uni_tf_grad_rsc_fd_reference", test_uni_tf_grad_rsc_reference);
    run_test("prune_train_uni_tf_grad_aligned_fd_fast", test_uni_tf_grad_aligned_fast);
    free(g_lr), free(g_gt);
    return test_summary();
}
