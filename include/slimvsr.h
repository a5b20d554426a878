/* SPDX-License-Identifier: Apache-2.0 (LICENSE) */
/* slimvsr.h: the public C API of slimvsr (BasicVSR x4 video super-resolution), the only header an
 * application needs. Link with `pkg-config --cflags --libs slimvsr`.
 *
 * Licensed under the Apache License, Version 2.0 (LICENSE).
 *
 *   slimvsr_model *m;
 *   if (slimvsr_model_load("model.safetensors", &m)) fprintf(stderr, "%s\n", slimvsr_last_error());
 *   slimvsr_upscaler *u;
 *   slimvsr_upscaler_create(m, width, height, NULL, &u);
 *   for each LR frame: slimvsr_upscaler_push(u, &lr);  while (slimvsr_upscaler_pull(u, &hr) == SLIMVSR_OK) use(hr);
 *   slimvsr_upscaler_flush(u);                          while (slimvsr_upscaler_pull(u, &hr) == SLIMVSR_OK) use(hr);
 *   slimvsr_upscaler_free(u); slimvsr_model_free(m);
 *
 * Errors: every function that can fail returns a slimvsr_status (0 on success, a negative code on
 * failure) and leaves a one-line message naming the file or argument at fault for slimvsr_last_error(),
 * per thread. The library never prints, never reads the environment and never installs signal handlers.
 *
 * Threads: handles are not locked. A model may be shared by any number of upscalers on any threads once
 * loaded (it is read only); one upscaler is used by one thread at a time. The network's own loops run on
 * OpenMP threads (OMP_NUM_THREADS, read by the OpenMP runtime, not by slimvsr).
 */
#ifndef SLIMVSR_H
#define SLIMVSR_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#if defined(SLIMVSR_BUILD) && defined(__GNUC__)
#define SLIMVSR_API __attribute__((visibility("default")))
#else
#define SLIMVSR_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header; slimvsr_version() gives the library's ("MAJOR.MINOR.PATCH"). The shared
 * library's SONAME carries the major version: a new major version may change this API. */
#define SLIMVSR_VERSION_MAJOR 0
#define SLIMVSR_VERSION_MINOR 1
#define SLIMVSR_VERSION_PATCH 0
#define SLIMVSR_VERSION_STRING "0.1.0"
SLIMVSR_API const char *slimvsr_version(void);

typedef enum {
    SLIMVSR_OK = 0,
    SLIMVSR_AGAIN = 1,               /* pull: no output frame yet, push more frames (or flush); push: the
                                        frame was not taken, pull the frames waiting first */
    SLIMVSR_END = 2,                 /* pull: flushed, and every output frame has been pulled */
    SLIMVSR_ERR_ARGUMENT = -1,       /* a NULL pointer, a bad option, a frame of the wrong size or format */
    SLIMVSR_ERR_IO = -2,             /* a file cannot be opened or read */
    SLIMVSR_ERR_FORMAT = -3,         /* not a checkpoint slimvsr reads, damaged, or not a BasicVSR x4 */
    SLIMVSR_ERR_NO_MEMORY = -4,      /* out of memory, or the job does not fit in max_memory */
    SLIMVSR_ERR_STATE = -5,          /* a call out of order (a push after flush), or an upscaler whose
                                        network failed earlier: only slimvsr_upscaler_free is left */
    SLIMVSR_ERR_INTERNAL = -6,       /* the network failed to run (a backend error) */
    SLIMVSR_ERR_RUN = -7             /* a training run refused to start or stopped on an error (bad data,
                                        a run folder in use, divergence): the message names the cause */
} slimvsr_status;

/* The message of the last call that failed on this thread (one line, names the file or argument at
 * fault); "" when none has. Valid until the next failing call on the same thread. */
SLIMVSR_API const char *slimvsr_last_error(void);
/* The name of a status ("SLIMVSR_ERR_IO"); never NULL. */
SLIMVSR_API const char *slimvsr_status_name(int status);

/* Log messages: the library's warnings (an encoder or convolution backend that fell back) and, at INFO,
 * what an upscaler planned. Process-wide: set it once, before other calls; it may be called from any
 * thread doing library work. NULL (the default) drops them. */
typedef enum { SLIMVSR_LOG_WARN = 1, SLIMVSR_LOG_INFO = 2 } slimvsr_log_level;
typedef void (*slimvsr_log_fn)(void *user, int level, const char *message);
SLIMVSR_API void slimvsr_set_log_callback(slimvsr_log_fn fn, void *user);

/* ---- models ---- */

typedef struct slimvsr_model slimvsr_model;

/* Loads a BasicVSR x4 model: slimvsr's safetensors files, or a PyTorch checkpoint of BasicSR or MMagic
 * (zip format of torch >= 1.6), told apart by their first bytes. */
SLIMVSR_API int slimvsr_model_load(const char *path, slimvsr_model **out);
/* The same from size bytes at data (copied as needed: data may be freed on return). */
SLIMVSR_API int slimvsr_model_load_memory(const void *data, size_t size, slimvsr_model **out);
SLIMVSR_API void slimvsr_model_free(slimvsr_model *model);

typedef struct {
    int num_feat;           /* the hidden state's width (channels) */
    int num_block;          /* residual blocks per branch */
    int scale;              /* 4 */
    int pruned;             /* 1 when some layer is narrower than in the dense BasicVSR of num_feat */
    int spynet;             /* 1: SPyNet aligns the frames; 0: a zero-flow model (no SPyNet runs) */
    double params;          /* parameters that run, SPyNet included */
    double params_spynet;   /* of which SPyNet's */
    double flops;           /* per output frame for LR frames of width x height, SPyNet included */
    double flops_spynet;    /* of which SPyNet's */
    int uni;                /* 1: forward-only (direction uni): no backward branch, zero look-ahead; an
                             * upscaler then runs chunk 1 and lookahead 0, and pull returns a frame after
                             * the push of its own input frame */
} slimvsr_model_info;

/* Facts about a model; FLOPs for LR frames of width x height (both >= 1). */
SLIMVSR_API int slimvsr_model_get_info(const slimvsr_model *model, int width, int height, slimvsr_model_info *out);

/* ---- frames ---- */

typedef enum {
    SLIMVSR_RGB8 = 0,    /* 3 bytes per pixel, R G B, 0..255 */
    SLIMVSR_RGBF32 = 1   /* 3 floats per pixel, R G B, 0..1 (outputs are not clamped) */
} slimvsr_pixel_format;

/* A frame in memory the caller owns: rows of width pixels, stride bytes apart (>= width * pixel size;
 * 0: exactly that). */
typedef struct {
    void *data;
    int width, height;
    size_t stride;
    int format;          /* slimvsr_pixel_format */
} slimvsr_frame;

/* ---- the streaming upscaler ---- */

typedef struct slimvsr_upscaler slimvsr_upscaler;

typedef struct {
    /* The network runs on windows of chunk + lookahead frames and emits the first chunk of them; the
     * forward branch carries its state from chunk to chunk (exact), the backward branch sees only
     * lookahead frames past a chunk's end. A forward-only model (slimvsr_model_info.uni) always runs chunk
     * 1 and lookahead 0 (a chunk above 1 or a lookahead above 0 is refused, SLIMVSR_ERR_ARGUMENT). */
    int chunk;           /* frames emitted per run; 0: planned from max_memory as `slimvsr upscale` plans it */
    int lookahead;       /* -1: the default (10, less when the budget is small) */
    int frame_count;     /* the clip's length when known (plans as `slimvsr upscale` does for it), 0: unknown
                            (then an automatic chunk is at most SLIMVSR_STREAM_CHUNK frames: the delay
                            before the first output) */
    size_t max_memory;   /* bytes for the network and its window; 0: half of the memory available */
    int output_format;   /* slimvsr_pixel_format of the frames pulled */
    /* Called after each run of the network with the frames pushed and emitted so far (NULL: none). */
    void (*progress)(void *user, int frames_in, int frames_out);
    void *progress_user;
} slimvsr_upscaler_options;

#define SLIMVSR_STREAM_CHUNK 30

SLIMVSR_API slimvsr_upscaler_options slimvsr_upscaler_options_default(void);

/* An upscaler for LR frames of width x height (HR frames: 4 width x 4 height). model NULL: MATLAB-bicubic
 * x4 (the baseline). options NULL: the defaults. model must outlive the upscaler. Everything the network
 * needs is allocated here. */
SLIMVSR_API int slimvsr_upscaler_create(const slimvsr_model *model, int width, int height,
                                        const slimvsr_upscaler_options *options, slimvsr_upscaler **out);
/* What was planned: chunk, lookahead and the HR frame size. Any pointer may be NULL. */
SLIMVSR_API int slimvsr_upscaler_get_plan(const slimvsr_upscaler *u, int *chunk, int *lookahead, int *out_width,
                                          int *out_height);
/* Pushes the next LR frame (display order; width x height as created, RGB8 or RGBF32). The frame is
 * copied. When chunk + lookahead frames are waiting, the network runs here and chunk HR frames become
 * available to pull. Returns SLIMVSR_AGAIN, without taking the frame, when the network is due but HR
 * frames of its last run have not all been pulled: pull them, then push the frame again (a caller that
 * pulls until SLIMVSR_AGAIN after every push never sees this). */
SLIMVSR_API int slimvsr_upscaler_push(slimvsr_upscaler *u, const slimvsr_frame *frame);
/* The clip has ended: the frames waiting are run (by the pulls that follow, a chunk at a time) and all
 * their outputs become available. No push after it. */
SLIMVSR_API int slimvsr_upscaler_flush(slimvsr_upscaler *u);
/* Copies the next HR frame, in display order, into frame (caller-owned data, width and height as
 * planned, format the options' output_format). Returns SLIMVSR_OK, SLIMVSR_AGAIN (none yet) or
 * SLIMVSR_END (flushed and all pulled). */
SLIMVSR_API int slimvsr_upscaler_pull(slimvsr_upscaler *u, slimvsr_frame *frame);
SLIMVSR_API void slimvsr_upscaler_free(slimvsr_upscaler *u);

/* ---- training: `slimvsr train` as a call ---- */

/* The options of `slimvsr train` (its --help says more about each), with its defaults from
 * slimvsr_train_options_default(). The run folder `out` then holds state.safetensors (everything a resumed
 * run needs), model.safetensors, best.safetensors and log.jsonl, exactly as the command writes them. */
#define SLIMVSR_TRAIN_MAX_DATA 16
typedef enum { SLIMVSR_FLOW_DEFAULT = -1, SLIMVSR_FLOW_SPYNET = 0, SLIMVSR_FLOW_ZERO = 1 } slimvsr_flow;
typedef enum { SLIMVSR_DEGRADE_BI = 0, SLIMVSR_DEGRADE_BD = 1 } slimvsr_degradation;
/* How training samples pick clips: every window alike (WINDOWS: long clips weigh by their length), clips by
 * the square root of their windows (SQRT), or every clip alike (EQUAL). */
typedef enum { SLIMVSR_CLIP_WEIGHT_WINDOWS = 0, SLIMVSR_CLIP_WEIGHT_SQRT = 1, SLIMVSR_CLIP_WEIGHT_EQUAL = 2 } slimvsr_clip_weight;
typedef enum { SLIMVSR_DIRECTION_DEFAULT = -1, SLIMVSR_DIRECTION_BI = 0, SLIMVSR_DIRECTION_UNI = 1 } slimvsr_direction;
typedef struct {
    const char *data[SLIMVSR_TRAIN_MAX_DATA]; /* --data: folders or videos of clips */
    int ndata;
    const char *out;          /* --out: the run folder (created when the run starts) */
    const char *init;         /* --init: a model file to start from; NULL: a random one of feat x blocks */
    const char *spynet;       /* --spynet: a model whose SPyNet weights are used at the start; NULL: none */
    const char *val;          /* --val: validation clips (GT/ and BIx4/, BDx4/ or LR/); NULL: none */
    int feat, blocks;         /* --feat, --blocks: a random model's width and blocks (64, 30) */
    float act_slope;          /* --act: a random model's activation, 0.1 (LeakyReLU, leaky) or 0 (relu) */
    int flow;                 /* --flow: slimvsr_flow; SLIMVSR_FLOW_DEFAULT: the init model's (random: SPyNet) */
    int direction;            /* --direction: slimvsr_direction; SLIMVSR_DIRECTION_DEFAULT: bi, or the init
                               * model's (which a given one must equal) */
    long iters;               /* --iters (1000) */
    double lr, lr_min;        /* --lr (2e-4), --lr-min (1e-7): cosine annealing, both in [0, 1] */
    long lr_hold;             /* --lr-hold: lr held for this many iterations, the cosine over the rest (0) */
    int batch, seq, patch;    /* --batch (4), --seq (7, >= 2), --patch (64, LR side, >= 8) */
    int degradation;          /* --degradation: slimvsr_degradation (BI) */
    int clip_weight;          /* --clip-weight: slimvsr_clip_weight (WINDOWS) */
    const char *photos;       /* --photos: photos for synthetic-motion samples; NULL: none */
    double photo_share;       /* --photo-share: their share of the samples, in [0, 1] (0.25) */
    long log_every;           /* --log-every (10) */
    uint64_t seed;            /* --seed (0) */
    int resume;               /* --resume: continue out's run with its saved options (iters > 0: new total) */
    long spynet_freeze;       /* --spynet-freeze (0) */
    double spynet_lr_mult;    /* --spynet-lr-mult (0.125, in [0, 100]) */
    double ema;               /* --ema: weight EMA decay, 0 (off) or below 1 */
    long val_every;           /* --val-every (500, >= 1): validation and checkpoint */
    int val_frames;           /* --val-frames (0: all) */
    int val_rgb;              /* --val-rgb: PSNR/SSIM on RGB (1) or Y (0) */
    int recompute;            /* --recompute (0: keep every activation) */
    /* When *stop becomes non-zero (a signal handler of the application may set it), the run stops after
     * the current iteration with a checkpoint; resume continues it. NULL: never. */
    volatile sig_atomic_t *stop;
} slimvsr_train_options;

SLIMVSR_API slimvsr_train_options slimvsr_train_options_default(void);
/* Runs (or resumes) a training run to its end, or to *stop. Its INFO lines go to the log callback.
 * Blocks; one run per run folder at a time (a second is refused: the folder is locked). */
SLIMVSR_API int slimvsr_train(const slimvsr_train_options *options);

/* ---- SPyNet pretraining: `slimvsr train-flow` as a call ---- */

/* The options of `slimvsr train-flow` (its --help says more about each), with its defaults from
 * slimvsr_train_flow_options_default(). The run folder `run.out` then holds what the command writes. */
typedef struct {
    slimvsr_train_options run;   /* data, out, init, feat, blocks, act_slope, iters, lr_min, batch (8), seq (2),
                                    patch, log_every, seed, resume, stop (val and the train-only fields:
                                    spynet_freeze ... recompute, are not used). run.lr < 0 (the default):
                                    the mode's, 3e-3 (photometric) or 1e-3 (supervised) */
    double smooth;               /* --smooth: smoothness weight (0.01) */
    int scales;                  /* --scales: photometric pyramid scales (4, 1..16) */
    long warmup;                 /* --warmup: iterations of learning-rate warm-up (20) */
    int zero_head;               /* --zero-head 1, --no-zero-head 0, -1 (default): when the model is random */
    int group;                   /* --group: pairs per batched SPyNet call (0: 16; 1..64) */
    long checkpoint_every;       /* --checkpoint-every (200) */
    int supervised;              /* --supervised: end-point error on synthetic sequences from photos */
    const char *photos;          /* --photos: the photos of the supervised loss */
    int eval_pairs;              /* --eval-pairs: held-out synthetic pairs (64, >= 2) */
    double level_weight;         /* --level-weight (1, 0..1000) */
    double static_share;         /* --static-share (0, 0..1) */
} slimvsr_train_flow_options;

SLIMVSR_API slimvsr_train_flow_options slimvsr_train_flow_options_default(void);
/* Runs (or resumes, run.resume) a train-flow run to its end, or to *run.stop. As slimvsr_train. */
SLIMVSR_API int slimvsr_train_flow(const slimvsr_train_flow_options *options);

/* ---- pruning: `slimvsr prune` as a call ---- */

typedef enum { SLIMVSR_SCHEME_SSL = 0, SLIMVSR_SCHEME_L1_ALIGNED = 1, SLIMVSR_SCHEME_L1_KEEP_LAST = 2 } slimvsr_prune_scheme;

/* The options of `slimvsr prune` (its --help says more about each), with its defaults from
 * slimvsr_prune_options_default(). The run folder `train.out` then holds what the command writes there
 * (prune.json, sparsity/, pruned-init.safetensors, finetune/, model.safetensors, summary.json). */
typedef struct {
    slimvsr_train_options train; /* data, val, out, lr, lr_min, batch, seq, patch, log_every, seed, resume,
                                    stop, ...: every training phase (init, spynet, feat, blocks, act_slope,
                                    flow, iters and lr_hold are not used) */
    const char *model;           /* -m: the dense model (the start, and the teacher of temporal finetuning) */
    int scheme;                  /* --scheme: slimvsr_prune_scheme (SSL) */
    double ratio;                /* --ratio: fraction of the prunable units to prune, in (0, 1) (0.5) */
    double flops;                /* --flops: fraction of the FLOPs to keep, in (0, 1); 0: use ratio */
    double params;               /* --params: the same for the parameters without SPyNet; 0: not used */
    double recon_ratio;          /* --recon-ratio: fraction of each reconstruction layer to prune, in [0, 1);
                                    -1 (default): chosen with the trunks' units */
    int global;                  /* --select: 1 global (default), 0 layer */
    int criterion_scale;         /* --criterion: 0 l1 (default), 1 scale */
    int round;                   /* --round: kept channels a multiple of this (1..64; 1) */
    long sparsity_iters, finetune_iters; /* --sparsity-iters, --finetune-iters (1000 each) */
    double tf_weight;            /* --tf-weight, any scheme (-1: 0.01 for ssl, 0 for the baselines) */
    double lambda_step, lambda_max, scale_lr_mult; /* --lambda-step (1e-4), --lambda-max (0.1), --scale-lr-mult (1) */
    int lambda_every;            /* --lambda-every (5) */
} slimvsr_prune_options;

SLIMVSR_API slimvsr_prune_options slimvsr_prune_options_default(void);
/* Runs (or resumes, train.resume) a pruning run to its end, or to *train.stop. As slimvsr_train. */
SLIMVSR_API int slimvsr_prune(const slimvsr_prune_options *options);

#ifdef __cplusplus
}
#endif
#endif
