// frames_internal.h: the reader and writer structs behind frames.h, and the two kinds of source and sink
// they dispatch to (a folder of PNG or JPEG frames: frame_folder.c; a video file: video_read.c,
// video_write.c).
#pragma once
#include "io/atomic_file.h"
#include "io/frames.h"

typedef struct sv_video_in sv_video_in;
typedef struct sv_video_out sv_video_out;

struct sv_frame_reader {
    char path[4096];
    int w, h, count;
    int fps_num, fps_den;  // 0/0 when unknown
    // folder of frames
    char **names;  // file names in sv_frames_name_cmp order
    int n_names, next;
    int jpeg;  // 1: the frames are JPEG (io/jpeg_io.h), 0: PNG
    const char *last_name;
    // video file
    sv_video_in *video;
};

struct sv_frame_writer {
    sv_atomic out;  // the temporary file or folder, published by sv_atomic_commit
    int w, h;
    long long frames;     // frames written so far
    sv_video_out *video;  // NULL for folder output
};

// Folder input: r->path is set; fills w, h, count and the name list.
int sv_folder_reader_open(sv_frame_reader *r, sv_err *e);
int sv_folder_reader_read(sv_frame_reader *r, unsigned char *rgb, sv_err *e);
void sv_folder_reader_free(sv_frame_reader *r);
// Folder output: writes one PNG into wr->out's temporary folder, fsynced (a .jpg/.jpeg name as .png).
int sv_folder_writer_write(sv_frame_writer *wr, const unsigned char *rgb, const char *name, sv_err *e);

// Video input. Decodes the first frame at once so that *w, *h are the pictures' true size.
sv_video_in *sv_video_in_open(const char *path, int *w, int *h, int *count, int *fps_num, int *fps_den,
                              sv_err *e);
int sv_video_in_read(sv_video_in *v, unsigned char *rgb, sv_err *e);
void sv_video_in_close(sv_video_in *v);

// Video output into the open file f (an sv_atomic temporary); path names the final output in messages.
// container: "mp4" or "matroska"; encoder: "libx264", "mpeg4" or "ffv1" (NULL: the container's default).
sv_video_out *sv_video_out_open(FILE *f, const char *path, const char *container, const char *encoder, int w,
                                int h, int fps_num, int fps_den, sv_err *e);
int sv_video_out_write(sv_video_out *v, const unsigned char *rgb, sv_err *e);
// Drains the encoder and writes the trailer (the caller then commits the file).
int sv_video_out_finish(sv_video_out *v, sv_err *e);
void sv_video_out_free(sv_video_out *v);
const char *sv_video_out_codec(const sv_video_out *v);
