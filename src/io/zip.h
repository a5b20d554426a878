// SPDX-License-Identifier: Apache-2.0 (LICENSE)
// zip.h: a minimal, defensive ZIP reader, enough for PyTorch's checkpoint archives.
//
// Format (PKWARE APPNOTE): local file headers + data, then the central directory (one 46-byte record
// per entry plus name/extra/comment), then the end-of-central-directory record (EOCD, 22 bytes plus a
// comment of up to 65535 bytes). ZIP64 adds an EOCD64 record and locator just before the EOCD and a
// 0x0001 "extra" field in central records carrying 64-bit sizes/offsets. torch.save always writes the
// ZIP64 records, sets flag bit 3 (sizes in a data descriptor: the local header's sizes are zero) and
// pads the local extra field so that each entry's data starts on a 64-byte boundary.
//
// Supported: stored (method 0) and deflate (method 8, via zlib) entries, ZIP64. Not supported (clear
// errors): encryption, multi-disk archives, other compression methods.
//
// Defences: every offset and length read from the file is checked against the file size (and entry
// data against the start of the central directory) before it is used; the central directory's size
// bounds the number of entries; sizes are validated when the archive is opened (a stored entry's two
// sizes must agree, no entry may claim more than 1032x its compressed size, the most deflate can
// expand), so callers may size buffers from `usize`; CRC-32 is verified whenever a whole entry is read.
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

typedef struct {
    char *name;            // NUL-terminated (names holding a NUL byte are rejected)
    uint64_t csize, usize; // compressed / uncompressed size
    uint64_t lho;          // offset of the local file header
    uint32_t crc;
    uint16_t method, flags;
} sv_zip_entry;

typedef struct {
    FILE *f;
    char path[1024];       // for messages
    uint64_t fsize;
    uint64_t cd_off;       // start of the central directory: entry data must end before it
    sv_zip_entry *ent;
    int n;
} sv_zip;

// Opens path and reads its central directory. On failure nothing stays open.
int sv_zip_open(sv_zip *z, const char *path, sv_err *e);
// The entry with exactly this name, or NULL.
const sv_zip_entry *sv_zip_find(const sv_zip *z, const char *name);
// Copies bytes [off, off+len) of the entry's uncompressed content into buf. The CRC is checked when
// the range is the whole entry.
int sv_zip_read(sv_zip *z, const sv_zip_entry *en, uint64_t off, uint64_t len, void *buf, sv_err *e);
// Reads a whole entry into a malloc'd buffer with one extra NUL byte after it; fails if the entry is
// bigger than max bytes.
int sv_zip_read_all(sv_zip *z, const sv_zip_entry *en, uint64_t max, uint8_t **buf, uint64_t *len,
                    sv_err *e);
void sv_zip_close(sv_zip *z);
