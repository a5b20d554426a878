// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// write_thread.c: see write_thread.h. One mutex and one condition variable guard the hand-over:
//   pending  the buffer queued and not yet taken by the thread (-1: none)
//   busy     the buffer the thread is writing (-1: none)
// The caller fills buffer `cur` only when it is neither pending nor busy.
#include "pipeline/write_thread.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct sv_write_thread {
    sv_frame_writer *wr;
    const sv_progress_job *prog;
    unsigned char *buf[2];
    char *name[2];
    int64_t pts[2];
    int cur, pending, busy, stop, failed, written;
    sv_err err;  // the first write error
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
};

static void *writer_main(void *arg) {
    sv_write_thread *t = arg;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (t->pending < 0 && !t->stop) pthread_cond_wait(&t->cv, &t->mu);
        if (t->pending < 0) break;  // stopped, nothing left
        const int k = t->pending;
        t->pending = -1, t->busy = k;
        const int skip = t->failed;
        pthread_mutex_unlock(&t->mu);
        sv_err e;
        const int rc = skip ? 0 : sv_frames_write_at(t->wr, t->buf[k], t->name[k], t->pts[k], &e);
        pthread_mutex_lock(&t->mu);
        if (rc && !t->failed) t->failed = 1, t->err = e;
        if (!rc && !skip) {
            t->written++;
            if (t->prog) sv_progress_update(t->prog, t->written);
        }
        t->busy = -1;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static void free_thread(sv_write_thread *t) {
    for (int k = 0; k < 2; k++) free(t->buf[k]), free(t->name[k]);
    free(t);
}

sv_write_thread *sv_write_thread_start(sv_frame_writer *wr, size_t frame_bytes, const sv_progress_job *prog,
                                       sv_err *e) {
    sv_write_thread *t = sv_calloc(1, sizeof *t, e);
    if (!t) return NULL;
    t->wr = wr, t->prog = prog, t->pending = t->busy = -1;
    if (!(t->buf[0] = sv_malloc(frame_bytes, e)) || !(t->buf[1] = sv_malloc(frame_bytes, e))) {
        free_thread(t);
        return NULL;
    }
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (pthread_create(&t->th, NULL, writer_main, t)) {
        sv_errf(e, "cannot start the output writer thread");
        pthread_mutex_destroy(&t->mu);
        pthread_cond_destroy(&t->cv);
        free_thread(t);
        return NULL;
    }
    return t;
}

unsigned char *sv_write_thread_buffer(sv_write_thread *t) {
    pthread_mutex_lock(&t->mu);
    while (t->pending == t->cur || t->busy == t->cur) pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
    return t->buf[t->cur];
}

int sv_write_thread_submit(sv_write_thread *t, const char *name, int64_t pts, sv_err *e) {
    char *copy = name ? strdup(name) : NULL;
    if (name && !copy) return sv_errf(e, "out of memory");
    pthread_mutex_lock(&t->mu);
    while (t->pending >= 0) pthread_cond_wait(&t->cv, &t->mu);  // at most one queued frame
    int failed = t->failed;
    if (failed) {
        if (e) *e = t->err;
        free(copy);
    } else {
        free(t->name[t->cur]);
        t->name[t->cur] = copy;
        t->pts[t->cur] = pts;
        t->pending = t->cur;
        t->cur ^= 1;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
    return failed ? -1 : 0;
}

int sv_write_thread_sync(sv_write_thread *t, sv_err *e) {
    pthread_mutex_lock(&t->mu);
    while (t->pending >= 0 || t->busy >= 0) pthread_cond_wait(&t->cv, &t->mu);
    const int failed = t->failed;
    if (failed && e) *e = t->err;
    pthread_mutex_unlock(&t->mu);
    return failed ? -1 : 0;
}

int sv_write_thread_stop(sv_write_thread *t, int *written, sv_err *e) {
    pthread_mutex_lock(&t->mu);
    t->stop = 1;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->th, NULL);
    const int failed = t->failed;
    if (failed && e) *e = t->err;
    if (written) *written = t->written;
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free_thread(t);
    return failed ? -1 : 0;
}
