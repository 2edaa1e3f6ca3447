/* corpus_token.c - words from UTF-8 text, streamed: letters, digits and apostrophes,
 * with invalid UTF-8 handled as a separator (never a crash, never part of a word) and
 * over-long tokens kept as positions without their bytes (bounded memory). */
#include "corpus_internal.h"

#include <string.h>

/* Code points that belong to words beyond ASCII: the letter, mark and digit blocks of
 * the scripts in common use (Latin, Greek, Cyrillic, Armenian, Hebrew, Arabic, Indic,
 * Thai, Georgian, Hangul, kana, CJK), sorted, inclusive. Punctuation, symbols and spaces
 * (U+00A0..U+00BF, U+2000..U+206F, U+3000..U+303F, ...) are outside. */
static const uint32_t k_word_ranges[][2] = {
    {0x00AA, 0x00AA},   {0x00B5, 0x00B5},   {0x00BA, 0x00BA},
    {0x00C0, 0x00D6},   {0x00D8, 0x00F6},   {0x00F8, 0x02C1},   {0x02C6, 0x02D1},
    {0x02E0, 0x02E4},   {0x02EC, 0x02EC},   {0x02EE, 0x02EE},   {0x0300, 0x0374},
    {0x0376, 0x0377},   {0x037A, 0x037D},   {0x037F, 0x037F},   {0x0386, 0x0386},
    {0x0388, 0x038A},   {0x038C, 0x038C},   {0x038E, 0x03A1},   {0x03A3, 0x03F5},
    {0x03F7, 0x0481},   {0x0483, 0x052F},   {0x0531, 0x0556},   {0x0559, 0x0559},
    {0x0560, 0x0588},   {0x0591, 0x05BD},   {0x05BF, 0x05BF},   {0x05C1, 0x05C2},
    {0x05C4, 0x05C5},   {0x05C7, 0x05C7},   {0x05D0, 0x05EA},   {0x05EF, 0x05F2},
    {0x0610, 0x061A},   {0x0620, 0x0669},   {0x066E, 0x06D3},   {0x06D5, 0x06DC},
    {0x06DF, 0x06E8},   {0x06EA, 0x06FC},   {0x06FF, 0x06FF},   {0x0900, 0x0963},
    {0x0966, 0x096F},   {0x0971, 0x0DF3},   {0x0E01, 0x0E3A},   {0x0E40, 0x0E4E},
    {0x0E50, 0x0E59},   {0x10A0, 0x10FA},   {0x10FC, 0x11FF},   {0x1E00, 0x1FBC},
    {0x1FBE, 0x1FBE},   {0x1FC2, 0x1FCC},   {0x1FD0, 0x1FDB},   {0x1FE0, 0x1FEC},
    {0x1FF2, 0x1FFC},   {0x2071, 0x2071},   {0x207F, 0x207F},
    {0x2090, 0x209C},   {0x3041, 0x3096},   {0x3099, 0x309F},   {0x30A1, 0x30FA},
    {0x30FC, 0x30FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xAC00, 0xD7A3},
    {0xF900, 0xFAFF},   {0xFB00, 0xFB06},   {0xFF10, 0xFF19},   {0xFF21, 0xFF3A},
    {0xFF41, 0xFF5A},   {0x20000, 0x3134F},
};

int ngi_is_word_cp(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
    size_t lo = 0, hi = sizeof k_word_ranges / sizeof k_word_ranges[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < k_word_ranges[mid][0]) hi = mid;
        else if (cp > k_word_ranges[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

static int is_apostrophe(uint32_t cp) { return cp == '\'' || cp == 0x2019; }

/* Simple one-to-one lower-casing: ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic.
 * (U+0130, capital I with dot, lowers to two code points and is left alone.) */
uint32_t ngi_lower_cp(uint32_t c)
{
    if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + 32 : c;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
    if (c >= 0x100 && c <= 0x17F) {
        if ((c <= 0x12F || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) && !(c & 1))
            return c + 1;
        if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) && (c & 1)) return c + 1;
        if (c == 0x178) return 0xFF;
        return c;
    }
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
    if (c == 0x386) return 0x3AC;
    if (c >= 0x388 && c <= 0x38A) return c + 37;
    if (c == 0x38C) return 0x3CC;
    if (c == 0x38E || c == 0x38F) return c + 63;
    if (c >= 0x410 && c <= 0x42F) return c + 32;
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    return c;
}

static size_t utf8_put(uint32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The lead byte b: how many continuation bytes follow and the smallest legal code point
 * (overlong forms are below it); 0 for a byte that cannot start a sequence. */
static int lead(unsigned char b, uint32_t *cp, uint32_t *min)
{
    if (b >= 0xC2 && b <= 0xDF) {
        *cp = b & 0x1Fu;
        *min = 0x80;
        return 1;
    }
    if (b >= 0xE0 && b <= 0xEF) {
        *cp = b & 0x0Fu;
        *min = 0x800;
        return 2;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        *cp = b & 0x07u;
        *min = 0x10000;
        return 3;
    }
    return 0;
}

static int legal(uint32_t cp, uint32_t min)
{
    return cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
}

void ngi_tok_init(ngi_tok *t, int lowercase, void (*token)(void *, const char *, size_t),
                  void (*line_end)(void *), void *ctx)
{
    memset(t, 0, sizeof *t);
    t->lowercase = lowercase;
    t->token = token;
    t->line_end = line_end;
    t->ctx = ctx;
    t->line = 1;
}

/* The token ends: trim its apostrophes and hand it over. */
static void flush(ngi_tok *t)
{
    if (!t->len && !t->overflow) return;
    if (t->has_alnum) {
        if (t->overflow) {
            t->long_tokens++;
            t->token(t->ctx, NULL, 0);
        } else {
            size_t a = 0, b = t->len;
            while (a < b && t->buf[a] == '\'') a++;
            while (b > a && t->buf[b - 1] == '\'') b--;
            t->buf[b] = '\0';
            t->token(t->ctx, t->buf + a, b - a);
        }
    }
    t->len = 0;
    t->overflow = 0;
    t->has_alnum = 0;
}

static void code_point(ngi_tok *t, uint32_t cp)
{
    if (is_apostrophe(cp)) {
        cp = '\'';
    } else if (ngi_is_word_cp(cp)) {
        t->has_alnum = 1;
        if (t->lowercase) cp = ngi_lower_cp(cp);
    } else {
        flush(t);
        return;
    }
    if (t->overflow) return;
    if (t->len >= NG_CORPUS_MAX_WORD) {
        t->overflow = 1;
        return;
    }
    t->len += utf8_put(cp, t->buf + t->len); /* buf has room for 4 bytes past the limit */
    if (t->len > NG_CORPUS_MAX_WORD) t->overflow = 1;
}

static void invalid(ngi_tok *t)
{
    t->invalid++;
    t->need = 0;
    flush(t);
}

size_t ngi_tok_feed(ngi_tok *t, const unsigned char *p, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        unsigned char b = p[k];
        if (t->need) {
            if ((b & 0xC0) == 0x80) {
                t->cp = t->cp << 6 | (b & 0x3Fu);
                if (--t->need == 0) {
                    if (legal(t->cp, t->min)) code_point(t, t->cp);
                    else invalid(t);
                }
                continue;
            }
            invalid(t); /* the sequence was cut short: b starts afresh */
        }
        if (b < 0x80) {
            if ((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '\'') {
                /* the common case, inline */
                if (b != '\'') t->has_alnum = 1;
                if (!t->overflow) {
                    if (t->len < NG_CORPUS_MAX_WORD) t->buf[t->len++] = (char)b;
                    else t->overflow = 1;
                }
            } else if (b == '\n') {
                flush(t);
                t->line_end(t->ctx);
                t->line++;
            } else if (b == 0) {
                flush(t);
                t->nul = 1;
                return k;
            } else {
                code_point(t, b);
            }
        } else if (!(t->need = lead(b, &t->cp, &t->min))) {
            invalid(t);
        }
    }
    return n;
}

void ngi_tok_finish(ngi_tok *t)
{
    if (t->need) invalid(t);
    flush(t);
    t->line_end(t->ctx);
}

int ngi_word_whole(const unsigned char *s, size_t n, int lowercase, char *out, size_t *olen,
                   int *bad_utf8)
{
    size_t o = 0;
    int alnum = 0, word = 1;
    *bad_utf8 = 0;
    for (size_t k = 0; k < n;) {
        uint32_t cp = s[k], min = 0;
        int need = cp < 0x80 ? 0 : lead(s[k], &cp, &min);
        if (cp >= 0x80 && !need) {
            *bad_utf8 = 1;
            return 0;
        }
        k++;
        for (int c = 0; c < need; c++, k++) {
            if (k >= n || (s[k] & 0xC0) != 0x80) {
                *bad_utf8 = 1;
                return 0;
            }
            cp = cp << 6 | (s[k] & 0x3Fu);
        }
        if (need && !legal(cp, min)) {
            *bad_utf8 = 1;
            return 0;
        }
        if (is_apostrophe(cp)) {
            cp = '\'';
        } else if (ngi_is_word_cp(cp)) {
            alnum = 1;
            if (lowercase) cp = ngi_lower_cp(cp);
        } else {
            word = 0; /* keep going: invalid UTF-8 later on is still reported */
            continue;
        }
        if (o >= NG_CORPUS_MAX_WORD) word = 0;
        else o += utf8_put(cp, out + o);
    }
    if (!word || !alnum || o > NG_CORPUS_MAX_WORD) return 0;
    out[o] = '\0';
    *olen = o;
    return 1;
}

int ngi_utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t k = 0; k < n;) {
        uint32_t cp = s[k], min = 0;
        int need = cp < 0x80 ? 0 : lead(s[k], &cp, &min);
        if (cp >= 0x80 && !need) return 0;
        k++;
        for (int c = 0; c < need; c++, k++) {
            if (k >= n || (s[k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[k] & 0x3Fu);
        }
        if (need && !legal(cp, min)) return 0;
    }
    return 1;
}
