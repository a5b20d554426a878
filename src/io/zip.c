// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// zip.c: see zip.h for the format and the limits enforced.
#include "io/zip.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u
#define EOCD_LEN 22
#define EOCD64_LEN 56
#define LOCATOR64_LEN 20
#define CENTRAL_LEN 46
#define LOCAL_LEN 30
#define MAX_COMMENT 65535
#define DEFLATE_MAX_RATIO 1032
#define CHUNK 65536

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

// True when [off, off+len) lies inside [0, limit).
static int in_bounds(uint64_t off, uint64_t len, uint64_t limit) { return off <= limit && len <= limit - off; }

// Reads n bytes at off, after checking them against the file size.
static int rd(sv_zip *z, uint64_t off, void *buf, uint64_t n, sv_err *e) {
    if (!in_bounds(off, n, z->fsize))
        return sv_errf(e, "%s: ZIP structure points outside the file (offset %llu + %llu > size %llu; truncated?)",
                       z->path, (unsigned long long)off, (unsigned long long)n, (unsigned long long)z->fsize);
    if (n == 0) return 0;
    if (fseeko(z->f, (off_t)off, SEEK_SET) != 0 || fread(buf, 1, n, z->f) != n)
        return sv_errf(e, "%s: read error at offset %llu", z->path, (unsigned long long)off);
    return 0;
}

// Finds the EOCD: the last signature whose comment length reaches exactly the end of the file.
static int find_eocd(sv_zip *z, uint64_t *eocd_off, uint8_t rec[EOCD_LEN], sv_err *e) {
    if (z->fsize < EOCD_LEN) return sv_errf(e, "%s: too small to be a ZIP archive (truncated?)", z->path);
    uint64_t tail = z->fsize < EOCD_LEN + MAX_COMMENT ? z->fsize : EOCD_LEN + MAX_COMMENT;
    uint8_t *buf = sv_malloc(tail, e);
    if (!buf) return -1;
    if (rd(z, z->fsize - tail, buf, tail, e)) {
        free(buf);
        return -1;
    }
    for (uint64_t i = tail - EOCD_LEN + 1; i-- > 0;) {
        if (get32(buf + i) == SIG_EOCD && EOCD_LEN + (uint64_t)get16(buf + i + 20) == tail - i) {
            memcpy(rec, buf + i, EOCD_LEN);
            *eocd_off = z->fsize - tail + i;
            free(buf);
            return 0;
        }
    }
    free(buf);
    return sv_errf(e, "%s: no ZIP end-of-central-directory record (truncated or not a ZIP archive)", z->path);
}

// Reads the 64-bit fields from the ZIP64 record when its locator sits right before the EOCD.
// *dir_end becomes the start of the ZIP64 record (the central directory must end before it).
static int read_zip64(sv_zip *z, uint64_t eocd_off, uint64_t *n, uint64_t *cd_size, uint64_t *cd_off,
                      uint64_t *dir_end, sv_err *e) {
    if (eocd_off < LOCATOR64_LEN) return 0;
    uint8_t loc[LOCATOR64_LEN], rec[EOCD64_LEN];
    if (rd(z, eocd_off - LOCATOR64_LEN, loc, LOCATOR64_LEN, e)) return -1;
    if (get32(loc) != SIG_LOCATOR64) return 0;
    uint64_t off = get64(loc + 8);
    if (get32(loc + 4) != 0 || get32(loc + 16) > 1)
        return sv_errf(e, "%s: multi-disk ZIP archives are not supported", z->path);
    if (!in_bounds(off, EOCD64_LEN, eocd_off - LOCATOR64_LEN))
        return sv_errf(e, "%s: ZIP64 end record offset %llu is out of range (truncated?)", z->path,
                       (unsigned long long)off);
    if (rd(z, off, rec, EOCD64_LEN, e)) return -1;
    if (get32(rec) != SIG_EOCD64) return sv_errf(e, "%s: bad ZIP64 end record signature", z->path);
    if (get32(rec + 16) != 0 || get32(rec + 20) != 0 || get64(rec + 24) != get64(rec + 32))
        return sv_errf(e, "%s: multi-disk ZIP archives are not supported", z->path);
    *n = get64(rec + 32);
    *cd_size = get64(rec + 40);
    *cd_off = get64(rec + 48);
    *dir_end = off;
    return 0;
}

// Applies a ZIP64 extra field (id 1): 64-bit values for those 32-bit fields that hold 0xFFFFFFFF, in
// the order usize, csize, lho.
static int apply_zip64_extra(sv_zip *z, sv_zip_entry *en, const uint8_t *x, uint32_t xlen, sv_err *e) {
    uint32_t p = 0;
    while (p + 4 <= xlen) {
        uint16_t id = get16(x + p), sz = get16(x + p + 2);
        p += 4;
        if (sz > xlen - p) return sv_errf(e, "%s: entry '%s': extra field overruns its record", z->path, en->name);
        if (id == 1) {
            uint32_t q = 0;
            uint64_t *fields[3] = {&en->usize, &en->csize, &en->lho};
            for (int k = 0; k < 3; k++) {
                if (*fields[k] != 0xFFFFFFFFu) continue;
                if (q + 8 > sz) return sv_errf(e, "%s: entry '%s': ZIP64 extra field too short", z->path, en->name);
                *fields[k] = get64(x + p + q);
                q += 8;
            }
        }
        p += sz;
    }
    return 0;
}

static int parse_central(sv_zip *z, const uint8_t *cd, uint64_t cd_size, uint64_t n, sv_err *e) {
    z->ent = sv_calloc(n, sizeof *z->ent, e);
    if (!z->ent) return -1;
    uint64_t p = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (!in_bounds(p, CENTRAL_LEN, cd_size) || get32(cd + p) != SIG_CENTRAL)
            return sv_errf(e, "%s: central directory record %llu is damaged", z->path, (unsigned long long)i);
        const uint8_t *r = cd + p;
        uint32_t nlen = get16(r + 28), xlen = get16(r + 30), clen = get16(r + 32);
        if (!in_bounds(p + CENTRAL_LEN, (uint64_t)nlen + xlen + clen, cd_size))
            return sv_errf(e, "%s: central directory record %llu overruns the directory", z->path,
                           (unsigned long long)i);
        const uint8_t *name = r + CENTRAL_LEN;
        if (memchr(name, 0, nlen)) return sv_errf(e, "%s: entry name holds a NUL byte", z->path);
        sv_zip_entry *en = &z->ent[i];
        en->name = strndup((const char *)name, nlen);
        if (!en->name) return sv_errf(e, "out of memory");
        z->n = (int)i + 1;
        en->flags = get16(r + 8);
        en->method = get16(r + 10);
        en->crc = get32(r + 16);
        en->csize = get32(r + 20);
        en->usize = get32(r + 24);
        en->lho = get32(r + 42);
        if (apply_zip64_extra(z, en, name + nlen, xlen, e)) return -1;
        if (get16(r + 34) != 0 && get16(r + 34) != 0xFFFF)
            return sv_errf(e, "%s: multi-disk ZIP archives are not supported", z->path);
        if (en->lho >= z->cd_off || en->csize > z->cd_off)
            return sv_errf(e, "%s: entry '%s' lies outside the archive data (truncated?)", z->path, en->name);
        // Sizes are validated here, so that callers may size buffers from usize before reading.
        if (en->method == 0 && en->csize != en->usize)
            return sv_errf(e, "%s: stored entry '%s' has differing sizes", z->path, en->name);
        if (en->usize / DEFLATE_MAX_RATIO > en->csize + 1)
            return sv_errf(e, "%s: entry '%s' claims an impossible compression ratio (%llu -> %llu bytes)", z->path,
                           en->name, (unsigned long long)en->csize, (unsigned long long)en->usize);
        p += CENTRAL_LEN + nlen + xlen + clen;
    }
    return 0;
}

int sv_zip_open(sv_zip *z, const char *path, sv_err *e) {
    memset(z, 0, sizeof *z);
    snprintf(z->path, sizeof z->path, "%s", path);
    z->f = fopen(path, "rb");
    if (!z->f) return sv_errf(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(z->f), &st) != 0 || !S_ISREG(st.st_mode)) {
        sv_zip_close(z);
        return sv_errf(e, "%s: not a regular file", path);
    }
    z->fsize = (uint64_t)st.st_size;
    uint8_t eocd[EOCD_LEN] = {0};
    uint64_t eocd_off = 0;
    if (find_eocd(z, &eocd_off, eocd, e)) goto fail;
    if (get16(eocd + 4) != 0 || get16(eocd + 6) != 0 || get16(eocd + 8) != get16(eocd + 10)) {
        sv_errf(e, "%s: multi-disk ZIP archives are not supported", path);
        goto fail;
    }
    uint64_t n = get16(eocd + 10), cd_size = get32(eocd + 12), cd_off = get32(eocd + 16), dir_end = eocd_off;
    if (read_zip64(z, eocd_off, &n, &cd_size, &cd_off, &dir_end, e)) goto fail;
    if (!in_bounds(cd_off, cd_size, dir_end)) {
        sv_errf(e, "%s: central directory (offset %llu, size %llu) is out of range (truncated?)", path,
                (unsigned long long)cd_off, (unsigned long long)cd_size);
        goto fail;
    }
    if (n > cd_size / CENTRAL_LEN || n > 0x7fffffff) {
        sv_errf(e, "%s: %llu entries cannot fit a %llu-byte central directory", path, (unsigned long long)n,
                (unsigned long long)cd_size);
        goto fail;
    }
    z->cd_off = cd_off;
    uint8_t *cd = sv_malloc(cd_size, e);
    if (!cd) goto fail;
    if (rd(z, cd_off, cd, cd_size, e) || parse_central(z, cd, cd_size, n, e)) {
        free(cd);
        goto fail;
    }
    free(cd);
    return 0;
fail:
    sv_zip_close(z);
    return -1;
}

const sv_zip_entry *sv_zip_find(const sv_zip *z, const char *name) {
    for (int i = 0; i < z->n; i++)
        if (strcmp(z->ent[i].name, name) == 0) return &z->ent[i];
    return NULL;
}

// Checks the local header and returns where the entry's data starts.
static int data_offset(sv_zip *z, const sv_zip_entry *en, uint64_t *off, sv_err *e) {
    uint8_t h[LOCAL_LEN];
    if (rd(z, en->lho, h, LOCAL_LEN, e)) return -1;
    if (get32(h) != SIG_LOCAL) return sv_errf(e, "%s: entry '%s': bad local header signature", z->path, en->name);
    uint64_t nlen = get16(h + 26), xlen = get16(h + 28);
    size_t cn = strlen(en->name);
    if (nlen != cn) return sv_errf(e, "%s: entry '%s': local and central names differ", z->path, en->name);
    char *name = sv_malloc(nlen, e);
    if (!name) return -1;
    int bad = rd(z, en->lho + LOCAL_LEN, name, nlen, e) ? -1 : memcmp(name, en->name, nlen) != 0;
    free(name);
    if (bad < 0) return -1;
    if (bad) return sv_errf(e, "%s: entry '%s': local and central names differ", z->path, en->name);
    *off = en->lho + LOCAL_LEN + nlen + xlen;
    if (!in_bounds(*off, en->csize, z->cd_off))
        return sv_errf(e, "%s: entry '%s': data runs past the start of the central directory (truncated?)",
                       z->path, en->name);
    return 0;
}

static int read_stored(sv_zip *z, const sv_zip_entry *en, uint64_t data, uint64_t off, uint64_t len,
                       uint8_t *buf, sv_err *e) {
    if (rd(z, data + off, buf, len, e)) return -1;
    if (off == 0 && len == en->usize) {
        uLong crc = crc32(0L, Z_NULL, 0);
        for (uint64_t p = 0; p < len; p += 1u << 30) {
            uint64_t k = len - p < (1u << 30) ? len - p : (1u << 30);
            crc = crc32(crc, buf + p, (uInt)k);
        }
        if ((uint32_t)crc != en->crc) return sv_errf(e, "%s: entry '%s': CRC mismatch (corrupt file)", z->path, en->name);
    }
    return 0;
}

// Inflates the entry, keeping only bytes [off, off+len). Verifies size and CRC when len is the whole.
static int read_deflated(sv_zip *z, const sv_zip_entry *en, uint64_t data, uint64_t off, uint64_t len,
                         uint8_t *buf, sv_err *e) {
    int whole = off == 0 && len == en->usize;
    uint8_t *in = sv_malloc(2 * CHUNK, e);
    if (!in) return -1;
    uint8_t *out = in + CHUNK;
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -MAX_WBITS) != Z_OK) {
        free(in);
        return sv_errf(e, "%s: zlib initialisation failed", z->path);
    }
    uint64_t consumed = 0, produced = 0, end = off + len;
    uLong crc = crc32(0L, Z_NULL, 0);
    int rc = Z_OK, ret = 0;
    while (rc != Z_STREAM_END && produced < (whole ? en->usize + 1 : end)) {
        if (s.avail_in == 0) {
            uint64_t k = en->csize - consumed < CHUNK ? en->csize - consumed : CHUNK;
            if (k == 0) {
                ret = sv_errf(e, "%s: entry '%s': compressed data ends early (corrupt file)", z->path, en->name);
                break;
            }
            if (rd(z, data + consumed, in, k, e)) {
                ret = -1;
                break;
            }
            consumed += k;
            s.next_in = in;
            s.avail_in = (uInt)k;
        }
        s.next_out = out;
        s.avail_out = CHUNK;
        rc = inflate(&s, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            ret = sv_errf(e, "%s: entry '%s': deflate data is corrupt (%s)", z->path, en->name, s.msg ? s.msg : "zlib error");
            break;
        }
        uint64_t got = CHUNK - s.avail_out;
        if (produced + got > en->usize) {
            ret = sv_errf(e, "%s: entry '%s': inflates past its declared size", z->path, en->name);
            break;
        }
        if (whole) crc = crc32(crc, out, (uInt)got);
        uint64_t lo = produced > off ? produced : off, hi = produced + got < end ? produced + got : end;
        if (lo < hi) memcpy(buf + (lo - off), out + (lo - produced), hi - lo);
        produced += got;
    }
    inflateEnd(&s);
    free(in);
    if (ret) return ret;
    if (produced < end) return sv_errf(e, "%s: entry '%s': inflated data is shorter than declared", z->path, en->name);
    if (whole && (produced != en->usize || (uint32_t)crc != en->crc))
        return sv_errf(e, "%s: entry '%s': size or CRC mismatch (corrupt file)", z->path, en->name);
    return 0;
}

int sv_zip_read(sv_zip *z, const sv_zip_entry *en, uint64_t off, uint64_t len, void *buf, sv_err *e) {
    if (en->flags & 0x41) return sv_errf(e, "%s: entry '%s' is encrypted (not supported)", z->path, en->name);
    if (en->method != 0 && en->method != 8)
        return sv_errf(e, "%s: entry '%s' uses compression method %u (only stored and deflate are supported)",
                       z->path, en->name, en->method);
    if (!in_bounds(off, len, en->usize))
        return sv_errf(e, "%s: entry '%s': read of %llu bytes at %llu is past its size %llu", z->path, en->name,
                       (unsigned long long)len, (unsigned long long)off, (unsigned long long)en->usize);
    uint64_t data = 0;
    if (data_offset(z, en, &data, e)) return -1;
    if (en->method == 0) return read_stored(z, en, data, off, len, buf, e);
    return read_deflated(z, en, data, off, len, buf, e);
}

int sv_zip_read_all(sv_zip *z, const sv_zip_entry *en, uint64_t max, uint8_t **buf, uint64_t *len, sv_err *e) {
    *buf = NULL;
    *len = 0;
    if (en->usize > max)
        return sv_errf(e, "%s: entry '%s' is %llu bytes (limit %llu)", z->path, en->name,
                       (unsigned long long)en->usize, (unsigned long long)max);
    uint8_t *b = sv_malloc(en->usize + 1, e);
    if (!b) return -1;
    if (sv_zip_read(z, en, 0, en->usize, b, e)) {
        free(b);
        return -1;
    }
    b[en->usize] = 0;
    *buf = b;
    *len = en->usize;
    return 0;
}

void sv_zip_close(sv_zip *z) {
    if (z->f) fclose(z->f);
    for (int i = 0; i < z->n; i++) free(z->ent[i].name);
    free(z->ent);
    memset(z, 0, sizeof *z);
}
