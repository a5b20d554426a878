// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// clips.h: which paths are clips, the one rule that the training data (train/dataset_scan.c), `eval`
// (pipeline/eval.c) and `train-flow` share. It lives in io/ because it needs only the file system and
// io/frames.h; reading a clip is io/frames.h, and streaming one into the network in chunk windows is
// pipeline/clip_stream.h (above model/, since it feeds a runner).
//
// A clip is a folder that holds frames (sv_frames_is_frame_name: a name ending in .png, .jpg, .jpeg, .webp,
// .tif, .tiff or .bmp, any case; one kind per folder: io/frames.h) or a video file (sv_frames_is_video_name: .mp4 .mkv .avi .mov .webm .mpg .mpeg .m4v .wmv .flv .ts .mts .m2ts .y4m .ogv
// .3gp .vob, any case). Names starting with '.' are never looked at. A clip's name is its folder's name,
// or its file's name without the extension.
//
// Layouts:
//   - one level (sv_clips_list; eval, train-flow): PATH is one clip when it is a file or a folder holding
//     frames (whatever else it holds); otherwise every sub-folder and video file in it is a clip, in
//     clip-name order (REDS / Vid4: ROOT/000/, ROOT/calendar.mp4); other files are ignored;
//   - LR and GT by name (sv_clips_pair; eval): LR one clip (then GT is its GT clip), or LR a folder of
//     clips and GT one too, each LR clip paired with the GT clip of the same name (extra GT clips ignored);
//   - a tree (sv_clips_find; the training data): every folder below PATH that holds frames and every
//     video file, at most SV_CLIPS_MAX_DEPTH levels down, in name order (in each folder: its video files,
//     then the folder itself, then its sub-folders). A folder holding a GT/ sub-folder stands for GT/ only:
//     each clip of GT/ is paired with the folder at the same relative path under the first of lr_dirs
//     that exists beside GT/ (none: no pairs); paired clips must be folders of frames.
// Names (of clips, and of the entries of each folder walked) are ordered by sv_frames_name_cmp, natural
// order: clip2 before clip10.
#pragma once
#include <stddef.h>

#include "core/error.h"

#define SV_CLIPS_MAX_DEPTH 16

typedef struct {
    char *path;      // the clip (in a pair: the GT clip)
    char *lr_path;   // in a pair: the LR clip (sv_clips_find: a folder that may not exist); else NULL
    char *name;      // the clip's name (in a pair: the LR clip's)
    int is_video;    // path is a file, not a folder
} sv_clip_ref;

typedef struct {
    sv_clip_ref *v;
    int n, cap;
} sv_clip_list;

// Each appends to l (zero it first) and returns 0, or -1 with a message naming the path at fault (l then
// holds what was appended before; free it with sv_clip_list_free).
// One level. Fails when PATH is missing or a folder with no clip ("no frames (PNG, ...), clip folders or
// videos").
int sv_clips_list(sv_clip_list *l, const char *path, sv_err *e);
// Pairs by name: fails for a GT that is not a folder when LR is, an LR clip without a GT clip of its name,
// or two GT clips of that name; nothing is paired then.
int sv_clips_pair(sv_clip_list *l, const char *lr, const char *gt, sv_err *e);
// A tree below the folder root (an empty result is not an error: the caller says what it looked for).
int sv_clips_find(sv_clip_list *l, const char *root, const char *const *lr_dirs, int n_lr_dirs, sv_err *e);
void sv_clip_list_free(sv_clip_list *l);

// The clip name of a path: its last component without trailing '/', without the extension when it is not
// a folder.
void sv_clip_name(char *dst, size_t n, const char *path);
