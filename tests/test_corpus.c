/* test_corpus.c - corpora for dynamic word embeddings: the tokenizer (invalid UTF-8, an
 * over-long token), window weights and n-gram rules against hand counts, both n-gram
 * formats with tags and year filters, .gz, the vocabulary ranking, the corpus directory
 * (round trip and every check), bad inputs, thread-count independence and the synthetic
 * corpus against its expected counts. */
#include "corpus_internal.h"
#include "ngtest.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>


static void put_gz(const char *path, const char *s)
{
    gzFile g = gzopen(path, "wb");
    gzwrite(g, s, (unsigned)strlen(s));
    gzclose(g);
}

static void mkdirs(const char *p) { mkdir(p, 0777); }

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* ------------------------------------------------------------------ tokenizer */

typedef struct {
    char s[4096];
    int lines;
} toks;

static void tok_cb(void *ctx, const char *w, size_t n)
{
    toks *t = ctx;
    size_t l = strlen(t->s);
    snprintf(t->s + l, sizeof t->s - l, "%s%.*s", l ? "|" : "", w ? (int)n : 6, w ? w : "<long>");
}
static void line_cb(void *ctx) { ((toks *)ctx)->lines++; }

/* Tokens of s (n bytes), fed in pieces of `step` bytes. */
static ngi_tok run_tok(const char *s, size_t n, int lower, size_t step, toks *out)
{
    memset(out, 0, sizeof *out);
    ngi_tok t;
    ngi_tok_init(&t, lower, tok_cb, line_cb, out);
    for (size_t k = 0; k < n && !t.nul; k += step)
        ngi_tok_feed(&t, (const unsigned char *)s + k, n - k < step ? n - k : step);
    ngi_tok_finish(&t);
    return t;
}

static void test_tokenizer_words(void)
{
    const char *s = "Hello, World! It's the U.S.A.'s 1790 caf\xc3\xa9\xe2\x80\x99s 'quoted' --x-- ''' 42nd\nnext";
    toks o;
    ngi_tok t = run_tok(s, strlen(s), 1, 1 << 20, &o);
    NG_CHECK_MSG(!strcmp(o.s, "hello|world|it's|the|u|s|a|s|1790|caf\xc3\xa9's|quoted|x|42nd|next"), "%s", o.s);
    NG_CHECK(o.lines == 2 && t.line == 2 && t.invalid == 0);
    t = run_tok(s, strlen(s), 0, 1, &o); /* byte by byte, case kept */
    NG_CHECK_MSG(!strcmp(o.s, "Hello|World|It's|the|U|S|A|s|1790|caf\xc3\xa9's|quoted|x|42nd|next"), "%s", o.s);
    /* lower-casing beyond ASCII: Latin-1, Latin Extended-A, Greek, Cyrillic */
    const char *u = "\xc3\x80\xc3\x89 \xc5\xb8 \xce\x91\xce\x92 \xd0\x90\xd0\x91 \xc4\x80";
    run_tok(u, strlen(u), 1, 3, &o);
    NG_CHECK_MSG(!strcmp(o.s, "\xc3\xa0\xc3\xa9|\xc3\xbf|\xce\xb1\xce\xb2|\xd0\xb0\xd0\xb1|\xc4\x81"), "%s", o.s);
    NG_CHECK(ngi_lower_cp(0xD7) == 0xD7 && ngi_lower_cp('Z') == 'z' && ngi_lower_cp(0x130) == 0x130);
    NG_CHECK(ngi_is_word_cp(0x4E2D) && !ngi_is_word_cp(0x3002) && !ngi_is_word_cp(0x2014) &&
             !ngi_is_word_cp(0xA0) && ngi_is_word_cp(0x301));
}

static void test_tokenizer_invalid_utf8(void)
{
    /* stray byte, cut 2-byte, cut 3-byte, surrogate, overlong 2-byte (a bad lead and a
     * stray continuation), above U+10FFFF, overlong 3-byte ('/'), and a sequence cut by
     * the end of the input */
    static const char s[] = "ab\xff" "cd \xc3\x28 e\xe2\x82 f \xed\xa0\x80g \xc0\xafh \xf4\x90\x80\x80i "
                            "\xe0\x80\xafj x\xe2\x82";
    for (size_t step = 1; step <= 7; step += 6) {
        toks o;
        ngi_tok t = run_tok(s, sizeof s - 1, 1, step, &o);
        NG_CHECK_MSG(!strcmp(o.s, "ab|cd|e|f|g|h|i|j|x"), "step %zu: %s", step, o.s);
        NG_CHECK_MSG(t.invalid == 9, "step %zu: %llu invalid", step, (unsigned long long)t.invalid);
    }
    NG_CHECK(ngi_utf8_valid((const unsigned char *)"caf\xc3\xa9", 5));
    NG_CHECK(!ngi_utf8_valid((const unsigned char *)"\xc0\xaf", 2));
    NG_CHECK(!ngi_utf8_valid((const unsigned char *)"\xe0\x80\xaf", 3));
    NG_CHECK(!ngi_utf8_valid((const unsigned char *)"\xed\xa0\x80", 3));
    NG_CHECK(!ngi_utf8_valid((const unsigned char *)"\xe2\x82", 2));
    /* whole n-gram tokens */
    char w[NG_CORPUS_MAX_WORD + 8];
    size_t n;
    int bad;
    NG_CHECK(ngi_word_whole((const unsigned char *)"DNA", 3, 0, w, &n, &bad) && !strcmp(w, "DNA"));
    NG_CHECK(ngi_word_whole((const unsigned char *)"DNA", 3, 1, w, &n, &bad) && !strcmp(w, "dna"));
    NG_CHECK(ngi_word_whole((const unsigned char *)"'s", 2, 0, w, &n, &bad) && !strcmp(w, "'s"));
    NG_CHECK(!ngi_word_whole((const unsigned char *)",", 1, 0, w, &n, &bad) && !bad);
    NG_CHECK(!ngi_word_whole((const unsigned char *)"U.S.", 4, 0, w, &n, &bad) && !bad);
    NG_CHECK(!ngi_word_whole((const unsigned char *)"a\xff", 2, 0, w, &n, &bad) && bad);
}

static void test_tokenizer_long_token(void)
{
    size_t big = 1 << 20;
    char *s = malloc(big + 16);
    memset(s, 'a', big);
    memcpy(s + big, " b\n", 3);
    toks o;
    size_t before = ngi_alloc_count();
    ngi_tok t = run_tok(s, big + 3, 1, 4096, &o);
    NG_CHECK_MSG(!strcmp(o.s, "<long>|b"), "%s", o.s);
    NG_CHECK(t.long_tokens == 1);
    NG_CHECK(ngi_alloc_count() == before); /* streamed: nothing grows with the token */
    /* exactly the limit is a word; one byte more is not */
    memset(s, 'z', NG_CORPUS_MAX_WORD + 1);
    s[NG_CORPUS_MAX_WORD] = ' ';
    s[NG_CORPUS_MAX_WORD + 1] = '\0';
    t = run_tok(s, NG_CORPUS_MAX_WORD + 1, 1, 100, &o);
    NG_CHECK(t.long_tokens == 0 && strlen(o.s) == NG_CORPUS_MAX_WORD);
    memset(s, 'z', NG_CORPUS_MAX_WORD + 1);
    t = run_tok(s, NG_CORPUS_MAX_WORD + 1, 1, 100, &o);
    NG_CHECK(t.long_tokens == 1 && !strcmp(o.s, "<long>"));
    /* a run of apostrophes is no token, however long */
    memset(s, '\'', big);
    t = run_tok(s, big, 1, 4096, &o);
    NG_CHECK(t.long_tokens == 0 && o.s[0] == '\0');
    /* a NUL stops the stream */
    t = run_tok("ab c\0de", 7, 1, 100, &o);
    NG_CHECK(t.nul && !strcmp(o.s, "ab|c"));
    free(s);
}

/* ------------------------------------------------------------------ building */

static ng_corpus_build_params params(void)
{
    ng_corpus_build_params p = ng_corpus_build_default_params();
    p.threads = 1;
    return p;
}

static ng_status build1(const char *input, const ng_corpus_build_params *p, ng_corpus *c,
                        ng_corpus_build_stats *st)
{
    const char *in[1] = {input};
    return ng_corpus_build(in, 1, p, c, st);
}

static int64_t word_id(const ng_corpus *c, const char *w)
{
    for (size_t k = 0; k < c->W; k++)
        if (!strcmp(c->word[k], w)) return (int64_t)k;
    return -1;
}

/* n+ of words a, b in slice t (0 when absent or a word is not in the vocabulary). */
static double pair(const ng_corpus *c, size_t t, const char *a, const char *b)
{
    int64_t x = word_id(c, a), y = word_id(c, b);
    if (x < 0 || y < 0) return 0;
    if (x > y) {
        int64_t z = x;
        x = y;
        y = z;
    }
    for (int64_t e = c->slice_ptr[t]; e < c->slice_ptr[t + 1]; e++)
        if (c->i[e] == x && c->j[e] == y) return c->n[e];
    return 0;
}

static size_t entries(const ng_corpus *c, size_t t) { return (size_t)(c->slice_ptr[t + 1] - c->slice_ptr[t]); }

static void test_window_weights(void)
{
    /* c = 2: w(1) = 1, w(2) = 1/2. Line 1 "a b c a": a-b 1, a-c 1/2, b-c 1, b-a 1/2, c-a 1;
     * line 2 "b a": b-a 1 (nothing across the line break); line 3 "a x a" with x out of the
     * vocabulary keeping its position: a-a at d = 2, both directions: 2 x 1/2. */
    mkdirs(ng_test_in_dir("win"));
    ng_test_write_text(ng_test_in_dir("win/1800_x.txt"), "a b c a\nB, a!\na x a\n");
    ng_corpus_build_params p = params();
    p.window = 2;
    p.vocab = 3; /* a (5), b (2), then c before x (1 each: byte order) */
    ng_corpus c;
    ng_corpus_build_stats st;
    ng_status s = build1(ng_test_in_dir("win"), &p, &c, &st);
    NG_CHECK_MSG(!s, "%s", ng_last_error());
    if (s) return;
    NG_CHECK(c.T == 1 && c.W == 3 && c.time[0] == 1800 && c.tokens[0] == 9);
    if (c.W != 3) {
        ng_corpus_free(&c);
        return;
    }
    NG_CHECK(!strcmp(c.word[0], "a") && !strcmp(c.word[1], "b") && !strcmp(c.word[2], "c"));
    NG_CHECK(c.word_count[0] == 5 && c.word_count[1] == 2 && c.word_count[2] == 1);
    NG_CHECK_NEAR(pair(&c, 0, "a", "b"), 2.5, 0);
    NG_CHECK_NEAR(pair(&c, 0, "a", "c"), 1.5, 0);
    NG_CHECK_NEAR(pair(&c, 0, "b", "c"), 1.0, 0);
    NG_CHECK_NEAR(pair(&c, 0, "a", "a"), 1.0, 0);
    NG_CHECK(entries(&c, 0) == 4 && c.window == 2 && c.lowercase == 1);
    NG_CHECK(!strcmp(c.source, "text") && st.lines == 3 && st.tokens == 9 && st.files == 1);
    NG_CHECK_NEAR(st.in_vocab, 8.0 / 9.0, 1e-12);
    ng_corpus_free(&c);
    /* the default window 4 on one line of 6 distinct words: (5 - d) / 4 per pair */
    ng_test_write_text(ng_test_in_dir("win/1800_x.txt"), "u v w x y z\n");
    p.window = 4;
    p.vocab = 10;
    s = build1(ng_test_in_dir("win"), &p, &c, NULL);
    NG_CHECK(!s);
    if (s) return;
    const char *w = "uvwxyz";
    for (int a = 0; a < 6; a++)
        for (int b = a + 1; b < 6; b++) {
            char x[2] = {w[a], 0}, y[2] = {w[b], 0};
            double want = b - a <= 4 ? (5.0 - (b - a)) / 4.0 : 0;
            NG_CHECK_NEAR(pair(&c, 0, x, y), want, 0);
        }
    ng_corpus_free(&c);
}

static const char k_ngrams_2012[] =
    "the cat sat on mats\t1850\t3\t2\n"
    "the cat_NOUN sat on mats\t1850\t5\t1\n"   /* a tag: dropped */
    "_START_ the cat sat on\t1850\t7\t1\n"     /* _START_: dropped */
    "the  cat sat on\t1850\t7\t1\n"            /* a blank token: dropped */
    "the cat sat on mats\t1799\t100\t1\n"      /* before 1800 */
    "The cat sat on mats\t1851\t2\t1\n"        /* case kept */
    "a b a , d\t1900\t4\t1\r\n";               /* a repeated word, punctuation, CRLF */
static const char k_ngrams_2020[] = "the cat sat on mats\t1850,1,1\t1851,2,1\t2009,5,5\n";

static void test_ngrams(void)
{
    mkdirs(ng_test_in_dir("ng"));
    put_gz(ng_test_in_dir("ng/googlebooks-eng-all-5gram-20120701-aa.gz"), k_ngrams_2012);
    put_gz(ng_test_in_dir("ng/5-00001-of-00002.gz"), k_ngrams_2020);
    ng_corpus_build_params p = params();
    ng_corpus c;
    ng_corpus_build_stats st;
    ng_status s = build1(ng_test_in_dir("ng"), &p, &c, &st);
    NG_CHECK_MSG(!s, "%s", ng_last_error());
    if (s) return;
    NG_CHECK(st.format == NG_CORPUS_NGRAM && !strcmp(c.source, "ngram") && c.lowercase == 0 && c.window == 4);
    NG_CHECK_MSG(c.T == 3 && c.time[0] == 1850 && c.time[1] == 1851 && c.time[2] == 1900, "T %zu", c.T);
    if (c.T != 3) return;
    /* 1850: matches 3 (2012) + 1 (2020); 1851: "The ..." 2 and "the ..." 2 */
    NG_CHECK(c.tokens[0] == 20 && c.tokens[1] == 20 && c.tokens[2] == 20);
    NG_CHECK_NEAR(pair(&c, 0, "the", "cat"), 4 * 4.0 / 4, 0);
    NG_CHECK_NEAR(pair(&c, 0, "the", "sat"), 3 * 4.0 / 4, 0);
    NG_CHECK_NEAR(pair(&c, 0, "the", "mats"), 1 * 4.0 / 4, 0);
    NG_CHECK_NEAR(pair(&c, 0, "on", "mats"), 4 * 4.0 / 4, 0);
    NG_CHECK(entries(&c, 0) == 10);
    NG_CHECK_NEAR(pair(&c, 1, "The", "cat"), 4 * 2.0 / 4, 0);
    NG_CHECK_NEAR(pair(&c, 1, "the", "cat"), 4 * 2.0 / 4, 0);
    NG_CHECK_NEAR(pair(&c, 1, "The", "the"), 0, 0);
    /* "a b a , d" x 4: a-a at d = 2 both ways: 2 x 3 x 4 / 4; ',' keeps its position */
    NG_CHECK_NEAR(pair(&c, 2, "a", "a"), 6, 0);
    NG_CHECK_NEAR(pair(&c, 2, "a", "d"), 1 * 4.0 / 4 + 3 * 4.0 / 4, 0);
    NG_CHECK_NEAR(pair(&c, 2, "b", "d"), 2 * 4.0 / 4, 0);
    NG_CHECK(word_id(&c, ",") < 0 && word_id(&c, "cat_NOUN") < 0 && word_id(&c, "_START_") < 0);
    NG_CHECK_MSG(st.ngrams_kept == 5 && st.ngrams_dropped == 3 && st.years_dropped == 2,
                 "kept %llu dropped %llu years %llu", (unsigned long long)st.ngrams_kept,
                 (unsigned long long)st.ngrams_dropped, (unsigned long long)st.years_dropped);
    ng_corpus_free(&c);

    /* anchored: only pairs with the first token; the years filter moved */
    p.ngram_pairs = NG_NGRAM_ANCHORED;
    p.years_from = 1851;
    p.years_to = 2009;
    s = build1(ng_test_in_dir("ng"), &p, &c, &st);
    NG_CHECK(!s && c.T == 3 && c.time[0] == 1851 && c.time[2] == 2009);
    if (!s) {
        NG_CHECK_NEAR(pair(&c, 0, "the", "mats"), 1 * 2.0 / 4, 0);
        NG_CHECK_NEAR(pair(&c, 0, "cat", "sat"), 0, 0);
        NG_CHECK_NEAR(pair(&c, 2, "the", "cat"), 4 * 5.0 / 4, 0);
        NG_CHECK(st.years_dropped == 3); /* 1850 twice and 1799 */
        ng_corpus_free(&c);
    }
    /* lower-casing on request joins The and the */
    p = params();
    p.lowercase = 1;
    s = build1(ng_test_in_dir("ng"), &p, &c, NULL);
    NG_CHECK(!s && c.lowercase == 1 && word_id(&c, "The") < 0);
    if (!s) {
        NG_CHECK_NEAR(pair(&c, 1, "the", "cat"), 4 * 4.0 / 4, 0);
        ng_corpus_free(&c);
    }
    /* an n-gram window is the rule's */
    p.window = 3;
    NG_CHECK(build1(ng_test_in_dir("ng"), &p, &c, NULL) == NG_EINVAL && strstr(ng_last_error(), "window 4"));
}

static int same_corpus(const ng_corpus *a, const ng_corpus *b)
{
    if (a->T != b->T || a->W != b->W || a->window != b->window || a->lowercase != b->lowercase ||
        a->slice_years != b->slice_years || a->min_count != b->min_count || strcmp(a->source, b->source))
        return 0;
    size_t nnz = (size_t)a->slice_ptr[a->T];
    if (memcmp(a->time, b->time, a->T * sizeof *a->time) || memcmp(a->tokens, b->tokens, a->T * 8) ||
        memcmp(a->slice_ptr, b->slice_ptr, (a->T + 1) * 8) ||
        memcmp(a->word_count, b->word_count, a->W * 8) || memcmp(a->i, b->i, nnz * 4) ||
        memcmp(a->j, b->j, nnz * 4) || memcmp(a->n, b->n, nnz * 4))
        return 0;
    for (size_t k = 0; k < a->W; k++)
        if (strcmp(a->word[k], b->word[k])) return 0;
    return 1;
}

static void test_gz_text_and_tsv(void)
{
    const char *t1 = "Four score and seven years ago\nour fathers brought forth\n";
    const char *t2 = "a new nation, conceived in Liberty\n";
    mkdirs(ng_test_in_dir("plain"));
    mkdirs(ng_test_in_dir("gz"));
    ng_test_write_text(ng_test_in_dir("plain/1863_a.txt"), t1);
    ng_test_write_text(ng_test_in_dir("plain/1864.txt"), t2);
    put_gz(ng_test_in_dir("gz/1863_a.txt.gz"), t1);
    put_gz(ng_test_in_dir("gz/1864.txt.gz"), t2);
    ng_test_write_text(ng_test_in_dir("gz/.hidden"), "not read");
    mkdirs(ng_test_in_dir("gz/subdir"));
    /* a BOM, a blank line, the time written differently, no final newline */
    put_gz(ng_test_in_dir("lines.tsv.gz"), "\xEF\xBB\xBF" "1863\tFour score and seven years ago\n\n"
                              "1863\tour fathers brought forth\n1864.0\ta new nation, conceived in Liberty");
    ng_corpus_build_params p = params();
    ng_corpus a, b, c;
    ng_status s1 = build1(ng_test_in_dir("plain"), &p, &a, NULL), s2 = build1(ng_test_in_dir("gz"), &p, &b, NULL);
    ng_status s3 = build1(ng_test_in_dir("lines.tsv.gz"), &p, &c, NULL);
    NG_CHECK_MSG(!s1 && !s2 && !s3, "%s", ng_last_error());
    if (s1 || s2 || s3) return;
    NG_CHECK(a.T == 2 && a.time[1] == 1864 && same_corpus(&a, &b));
    NG_CHECK(!strcmp(c.source, "tsv"));
    free(c.source);
    c.source = ngi_strdup("text");
    NG_CHECK(same_corpus(&a, &c));
    ng_corpus_free(&a);
    ng_corpus_free(&b);
    ng_corpus_free(&c);
    /* slices of 10 years: 1863 and 1864 are one slice, 1860 */
    p.slice_years = 10;
    NG_CHECK(!build1(ng_test_in_dir("plain"), &p, &a, NULL) && a.T == 1 && a.time[0] == 1860 && a.tokens[0] == 16);
    ng_corpus_free(&a);
}

static void test_vocab_ranking(void)
{
    /* 1800: p x 60, r x 40 (100 tokens); 1801: q x 3, r x 1 (4 tokens). Totals rank p, r,
     * q; relative frequency averaged over slices ranks q (.375), r (.325), p (.3). */
    mkdirs(ng_test_in_dir("rank"));
    char buf[1024] = "";
    for (int k = 0; k < 60; k++) strcat(buf, "p ");
    for (int k = 0; k < 40; k++) strcat(buf, "r ");
    ng_test_write_text(ng_test_in_dir("rank/1800.txt"), buf);
    ng_test_write_text(ng_test_in_dir("rank/1801.txt"), "q q q r\n");
    ng_corpus_build_params p = params();
    ng_corpus c;
    ng_corpus_build_stats st;
    NG_CHECK(!build1(ng_test_in_dir("rank"), &p, &c, &st));
    if (c.W != 3) {
        NG_CHECK(0);
        return;
    }
    NG_CHECK(!strcmp(c.word[0], "q") && !strcmp(c.word[1], "r") && !strcmp(c.word[2], "p"));
    NG_CHECK(c.word_count[0] == 3 && c.word_count[1] == 41 && c.word_count[2] == 60 && st.distinct_words == 3);
    ng_corpus_free(&c);
    p.vocab = 2;
    NG_CHECK(!build1(ng_test_in_dir("rank"), &p, &c, NULL) && c.W == 2 && !strcmp(c.word[1], "r"));
    ng_corpus_free(&c);
    p.vocab = 10;
    p.min_count = 3; /* q (3) stays */
    NG_CHECK(!build1(ng_test_in_dir("rank"), &p, &c, NULL) && c.W == 3);
    ng_corpus_free(&c);
    p.min_count = 4; /* q goes */
    NG_CHECK(!build1(ng_test_in_dir("rank"), &p, &c, NULL) && c.W == 2 && !strcmp(c.word[0], "r"));
    ng_corpus_free(&c);
    p.min_count = 61;
    NG_CHECK(build1(ng_test_in_dir("rank"), &p, &c, NULL) == NG_EFORMAT && strstr(ng_last_error(), "min-count"));
}

/* Several files per slice, a window whose weights are not dyadic (sums depend on order):
 * the corpus is the same for 1, 2 and 3 threads. */
static void test_thread_independence(void)
{
    /* 12 files over 4 slices; many distinct pairs, so that merges take as long as reads
     * (a merge outside the ordered region then races and shows) */
    mkdirs(ng_test_in_dir("threads"));
    ng_rng r;
    ng_rng_seed(&r, 7);
    char *text = malloc(400000);
    for (int f = 0; f < 12; f++) {
        char *o = text;
        for (int l = 0; l < 600; l++) {
            for (int k = 0; k < 30; k++)
                o += sprintf(o, "w%d ", (int)(ng_rng_below(&r, 60) * ng_rng_below(&r, 60)));
            *o++ = '\n';
        }
        *o = '\0';
        if (f % 2) put_gz(ng_test_in_dir("threads/%d_part%02d.txt.gz", 1900 + f / 3, f), text);
        else ng_test_write_text(ng_test_in_dir("threads/%d_part%02d.txt", 1900 + f / 3, f), text);
    }
    free(text);
    ng_corpus_build_params p = params();
    p.window = 3;
    p.vocab = 500;
    ng_corpus c[4];
    ng_status s = NG_OK;
    for (int k = 0; k < 4; k++) {
        p.threads = k == 3 ? 4 : k + 1;
        ng_corpus_build_stats st;
        s |= build1(ng_test_in_dir("threads"), &p, &c[k], &st);
        NG_CHECK(st.threads == p.threads);
    }
    NG_CHECK_MSG(!s, "%s", ng_last_error());
    if (s) return;
    NG_CHECK(c[0].T == 4 && c[0].W == 500);
    for (int k = 1; k < 4; k++) NG_CHECK_MSG(same_corpus(&c[0], &c[k]), "threads %d", k == 3 ? 4 : k + 1);
    for (int k = 0; k < 4; k++) ng_corpus_free(&c[k]);
}

typedef struct {
    int calls, stop_at, pass_seen[3];
    uint64_t last_bytes;
    size_t last_done;
} progress_log;

static int on_progress(void *user, int pass, size_t done, size_t files, uint64_t bytes)
{
    progress_log *l = user;
    l->calls++;
    l->pass_seen[pass] = 1;
    l->last_bytes = bytes;
    l->last_done = done;
    (void)files;
    return l->stop_at && l->calls >= l->stop_at;
}

static void test_progress_and_stop(void)
{
    ng_corpus_build_params p = params();
    progress_log log = {0};
    p.progress = on_progress;
    p.progress_user = &log;
    ng_corpus c;
    NG_CHECK(!build1(ng_test_in_dir("threads"), &p, &c, NULL));
    NG_CHECK(log.calls == 24 && log.pass_seen[1] && log.pass_seen[2] && log.last_done == 12);
    ng_corpus_free(&c);
    memset(&log, 0, sizeof log);
    log.stop_at = 3; /* during pass 1 */
    memset(&c, 0x5A, sizeof c);
    NG_CHECK(build1(ng_test_in_dir("threads"), &p, &c, NULL) == NG_EINTERRUPTED && c.T == 0x5A5A5A5A5A5A5A5Aull);
    NG_CHECK(strstr(ng_last_error(), "stopped on request in pass 1") && log.calls == 3);
    /* a big single file: progress and the stop request come between its chunks */
    size_t n = (size_t)66 << 20;
    char *big = malloc(n);
    for (size_t k = 0; k < n; k++) big[k] = k % 8 == 7 ? (k % 800 == 799 ? '\n' : ' ') : 'a' + (char)(k % 5);
    mkdirs(ng_test_in_dir("big"));
    ng_test_write_file(ng_test_in_dir("big/1900.txt"), big, n);
    free(big);
    memset(&log, 0, sizeof log);
    log.stop_at = 1;
    NG_CHECK(build1(ng_test_in_dir("big"), &p, &c, NULL) == NG_EINTERRUPTED && log.last_done == 0 &&
             log.last_bytes >= ((uint64_t)64 << 20));
    unlink(ng_test_in_dir("big/1900.txt"));
}

/* ------------------------------------------------------------------ bad input */

static int fails_with(const char *input, const ng_corpus_build_params *p, ng_status want,
                      const char *s1, const char *s2)
{
    ng_corpus c;
    memset(&c, 0x5A, sizeof c); /* untouched on failure */
    ng_status s = build1(input, p, &c, NULL);
    const char *e = ng_last_error();
    int ok = s == want && strstr(e, s1) && (!s2 || strstr(e, s2)) && c.T == 0x5A5A5A5A5A5A5A5Aull;
    if (!ok) fprintf(stderr, "  status %d, message: %s\n", (int)s, e);
    if (!s) ng_corpus_free(&c);
    return ok;
}

static void test_bad_inputs(void)
{
    ng_corpus_build_params p = params();
    mkdirs(ng_test_in_dir("bad1"));
    ng_test_write_text(ng_test_in_dir("bad1/1800.txt"), "fine\n");
    ng_test_write_text(ng_test_in_dir("bad1/notes.txt"), "no time in the name\n");
    NG_CHECK(fails_with(ng_test_in_dir("bad1"), &p, NG_EFORMAT, ng_test_in_dir("bad1/notes.txt"), "no time at the start"));
    mkdirs(ng_test_in_dir("bad2"));
    ng_test_write_file(ng_test_in_dir("bad2/1800.txt"), "text\nmore\x01\x02\0\0\xff binary", 20);
    NG_CHECK(fails_with(ng_test_in_dir("bad2"), &p, NG_EFORMAT, ng_test_in_dir("bad2/1800.txt:2:"), "NUL byte"));
    /* a file with no word makes no slice; no word at all is an error */
    mkdirs(ng_test_in_dir("empty"));
    ng_test_write_text(ng_test_in_dir("empty/1800.txt"), "!!! ... ---\n");
    ng_test_write_text(ng_test_in_dir("empty/1801.txt"), "");
    NG_CHECK(fails_with(ng_test_in_dir("empty"), &p, NG_EFORMAT, "no tokens", NULL));
    ng_test_write_text(ng_test_in_dir("empty/1802.txt"), "words here\n");
    ng_corpus c;
    ng_corpus_build_stats st;
    NG_CHECK(!build1(ng_test_in_dir("empty"), &p, &c, &st) && c.T == 1 && c.time[0] == 1802 && st.empty_files == 2);
    if (c.T == 1) ng_corpus_free(&c);
    mkdirs(ng_test_in_dir("none"));
    NG_CHECK(fails_with(ng_test_in_dir("none"), &p, NG_EFORMAT, ng_test_in_dir("none"), "no input files"));
    NG_CHECK(fails_with(ng_test_in_dir("missing"), &p, NG_EIO, ng_test_in_dir("missing"), "cannot open"));
    /* time<TAB>text */
    ng_test_write_text(ng_test_in_dir("bad.tsv"), "1800\tfine\n1801 no tab here\n");
    NG_CHECK(fails_with(ng_test_in_dir("bad.tsv"), &p, NG_EFORMAT, ng_test_in_dir("bad.tsv:2:"), "no tab"));
    ng_test_write_text(ng_test_in_dir("bad2.tsv"), "1800\tfine\nyear\tno time\n");
    p.format = NG_CORPUS_TSV;
    NG_CHECK(fails_with(ng_test_in_dir("bad2.tsv"), &p, NG_EFORMAT, ng_test_in_dir("bad2.tsv:2:"), "'year' is not a time"));
    char *huge = malloc(1 << 20);
    memset(huge, '1', 1 << 20);
    ng_test_write_file(ng_test_in_dir("huge.tsv"), huge, 1 << 20);
    NG_CHECK(fails_with(ng_test_in_dir("huge.tsv"), &p, NG_EFORMAT, ng_test_in_dir("huge.tsv:1:"), "no tab within"));
    free(huge);
    /* n-grams */
    p.format = NG_CORPUS_NGRAM;
    put_gz(ng_test_in_dir("ng1.gz"), "a b c d e\t1900\t1\t1\na b c d e\t1900\t1\n");
    NG_CHECK(fails_with(ng_test_in_dir("ng1.gz"), &p, NG_EFORMAT, ng_test_in_dir("ng1.gz:2:"), "year<TAB>match_count"));
    put_gz(ng_test_in_dir("ng2.gz"), "a b c d e\t1900,1,1\t1901,x,1\n");
    NG_CHECK(fails_with(ng_test_in_dir("ng2.gz"), &p, NG_EFORMAT, ng_test_in_dir("ng2.gz:1:"), "field 2"));
    put_gz(ng_test_in_dir("ng3.gz"), "a b c d\t1900\t1\t1\n");
    NG_CHECK(fails_with(ng_test_in_dir("ng3.gz"), &p, NG_EFORMAT, ng_test_in_dir("ng3.gz:1:"), "4 tokens"));
    put_gz(ng_test_in_dir("ng4.gz"), "a b c d e f\t1900\t1\t1\n");
    NG_CHECK(fails_with(ng_test_in_dir("ng4.gz"), &p, NG_EFORMAT, ng_test_in_dir("ng4.gz:1:"), "more than 5"));
    /* gzip: truncated, corrupt */
    put_gz(ng_test_in_dir("whole.gz"), "a b c d e\t1900\t1\t1\na b c d e\t1901\t1\t1\n");
    FILE *f = fopen(ng_test_in_dir("whole.gz"), "rb");
    unsigned char gz[256];
    size_t n = fread(gz, 1, sizeof gz, f);
    fclose(f);
    ng_test_write_file(ng_test_in_dir("trunc.gz"), gz, n - 10);
    NG_CHECK(fails_with(ng_test_in_dir("trunc.gz"), &p, NG_EFORMAT, ng_test_in_dir("trunc.gz"), "gzip"));
    gz[12] ^= 0xFF;
    gz[14] ^= 0xFF;
    ng_test_write_file(ng_test_in_dir("corrupt.gz"), gz, n);
    NG_CHECK(fails_with(ng_test_in_dir("corrupt.gz"), &p, NG_EFORMAT, ng_test_in_dir("corrupt.gz"), "gzip"));
    /* text and n-grams do not mix */
    p.format = NG_CORPUS_AUTO;
    const char *mixed[2] = {ng_test_in_dir("bad1/1800.txt"), ng_test_in_dir("whole.gz")};
    NG_CHECK(ng_corpus_build(mixed, 2, &p, &c, NULL) == NG_EINVAL && strstr(ng_last_error(), "mix"));
    /* bad parameters */
    p.window = 0;
    NG_CHECK(fails_with(ng_test_in_dir("bad1"), &p, NG_EINVAL, "window", NULL));
}

static void test_time_of(void)
{
    mkdirs(ng_test_in_dir("named"));
    ng_test_write_text(ng_test_in_dir("named/washington.txt"), "first words\n");
    ng_test_write_text(ng_test_in_dir("named/adams.txt"), "second words\n");
    ng_test_write_text(ng_test_in_dir("named/unlisted.txt"), "not read\n");
    ng_test_write_text(ng_test_in_dir("times.csv"), "file,time\nwashington.txt,1790\r\nadams.txt,1797.5\n");
    ng_corpus_build_params p = params();
    p.time_of = ng_test_in_dir("times.csv");
    p.slice_years = 0;
    ng_corpus c;
    ng_corpus_build_stats st;
    ng_status s = build1(ng_test_in_dir("named"), &p, &c, &st);
    NG_CHECK_MSG(!s, "%s", ng_last_error());
    if (!s) {
        NG_CHECK(c.T == 2 && c.time[0] == 1790 && c.time[1] == 1797.5 && st.files == 2);
        NG_CHECK(word_id(&c, "read") < 0);
        ng_corpus_free(&c);
    }
    ng_test_write_text(ng_test_in_dir("times2.csv"), "washington.txt,1790\nadams.txt,soon\n");
    p.time_of = ng_test_in_dir("times2.csv");
    NG_CHECK(fails_with(ng_test_in_dir("named"), &p, NG_EFORMAT, ng_test_in_dir("times2.csv:2:"), "FILE,TIME"));
    ng_test_write_text(ng_test_in_dir("times3.csv"), "washington.txt,1790\nmonroe.txt,1817\n");
    p.time_of = ng_test_in_dir("times3.csv");
    NG_CHECK(fails_with(ng_test_in_dir("named"), &p, NG_EFORMAT, ng_test_in_dir("times3.csv"), "monroe.txt is listed"));
    ng_test_write_text(ng_test_in_dir("times4.csv"), "washington.txt,1790\nwashington.txt,1791\n");
    p.time_of = ng_test_in_dir("times4.csv");
    NG_CHECK(fails_with(ng_test_in_dir("named"), &p, NG_EFORMAT, ng_test_in_dir("times4.csv:2:"), "twice"));
}

/* ------------------------------------------------------------------ corpus directory */

/* A small valid corpus: 2 slices, 3 words, 4 entries. */
static void small_corpus(ng_corpus *c)
{
    memset(c, 0, sizeof *c);
    c->T = 2;
    c->W = 3;
    c->time = malloc(2 * sizeof *c->time);
    c->tokens = malloc(2 * sizeof *c->tokens);
    c->word = malloc(3 * sizeof *c->word);
    c->word_count = malloc(3 * sizeof *c->word_count);
    c->slice_ptr = malloc(3 * sizeof *c->slice_ptr);
    c->i = malloc(4 * sizeof *c->i);
    c->j = malloc(4 * sizeof *c->j);
    c->n = malloc(4 * sizeof *c->n);
    c->time[0] = 1790;
    c->time[1] = 1790.25;
    c->tokens[0] = 10;
    c->tokens[1] = 7;
    c->word[0] = ngi_strdup("the");
    c->word[1] = ngi_strdup("caf\xc3\xa9");
    c->word[2] = ngi_strdup("don't");
    c->word_count[0] = 9;
    c->word_count[1] = 4.5;
    c->word_count[2] = 1;
    int64_t ptr[3] = {0, 3, 4};
    int32_t i[4] = {0, 0, 1, 2}, j[4] = {0, 2, 1, 2};
    float n[4] = {2.5f, 0.75f, 1e-3f, 3};
    memcpy(c->slice_ptr, ptr, sizeof ptr);
    memcpy(c->i, i, sizeof i);
    memcpy(c->j, j, sizeof j);
    memcpy(c->n, n, sizeof n);
    c->window = 4;
    c->lowercase = 1;
    c->slice_years = 1;
    c->min_count = 2;
    c->source = ngi_strdup("text");
}

static void test_roundtrip(void)
{
    ng_corpus a, b;
    small_corpus(&a);
    const char *dir = ng_test_in_dir("rt/corpus");
    mkdirs(ng_test_in_dir("rt"));
    NG_CHECK_MSG(!ng_corpus_write(dir, &a), "%s", ng_last_error());
    NG_CHECK(!exists(ng_test_in_dir("rt/corpus.tmp")) && exists(ng_test_in_dir("rt/corpus/pairs_n.npy")));
    NG_CHECK_MSG(!ng_corpus_read(dir, &b), "%s", ng_last_error());
    NG_CHECK(same_corpus(&a, &b));
    ng_corpus_free(&b);
    /* written over itself; a directory that is not a corpus is refused */
    a.window = 7;
    NG_CHECK(!ng_corpus_write(dir, &a) && !ng_corpus_read(dir, &b) && b.window == 7);
    ng_corpus_free(&b);
    mkdirs(ng_test_in_dir("rt/other"));
    ng_test_write_text(ng_test_in_dir("rt/other/keep.txt"), "mine");
    NG_CHECK(ng_corpus_write(ng_test_in_dir("rt/other"), &a) == NG_EIO && exists(ng_test_in_dir("rt/other/keep.txt")));
    /* an invalid corpus is refused and leaves nothing */
    a.j[1] = 5;
    NG_CHECK(ng_corpus_write(ng_test_in_dir("rt/bad"), &a) == NG_EFORMAT && strstr(ng_last_error(), "pairs_j.npy"));
    NG_CHECK(!exists(ng_test_in_dir("rt/bad")) && !exists(ng_test_in_dir("rt/bad.tmp")));
    ng_corpus_free(&a);
    /* a corpus built from text reads back the same */
    mkdirs(ng_test_in_dir("rt/text"));
    ng_test_write_text(ng_test_in_dir("rt/text/1900.txt"), "one two three two one\n");
    ng_test_write_text(ng_test_in_dir("rt/text/1901.txt"), "two three four\n");
    ng_corpus_build_params p = params();
    if (!build1(ng_test_in_dir("rt/text"), &p, &a, NULL)) {
        NG_CHECK(!ng_corpus_write(ng_test_in_dir("rt/built"), &a) && !ng_corpus_read(ng_test_in_dir("rt/built"), &b));
        NG_CHECK(same_corpus(&a, &b) && b.slice_years == 1 && b.min_count == 1);
        ng_corpus_free(&a);
        ng_corpus_free(&b);
    } else {
        NG_CHECK(0);
    }
}

/* Writes a valid corpus to dir, lets damage() change a file, and expects ng_corpus_read
 * to fail naming file with the words in want. */
static int read_fails(const char *name, void (*damage)(const char *dir), const char *file, const char *want)
{
    const char *dir = ng_test_in_dir("val/%s", name);
    ng_corpus c;
    small_corpus(&c);
    ng_status s = ng_corpus_write(dir, &c);
    ng_corpus_free(&c);
    if (s) return 0;
    damage(dir);
    memset(&c, 0x5A, sizeof c);
    s = ng_corpus_read(dir, &c);
    const char *e = ng_last_error();
    char where[4200];
    snprintf(where, sizeof where, "%s/%s", dir, file);
    int ok = s == NG_EFORMAT && strstr(e, where) && strstr(e, want) && c.T == 0x5A5A5A5A5A5A5A5Aull;
    if (!ok) fprintf(stderr, "  %s: status %d, message: %s\n", name, (int)s, e);
    if (!s) ng_corpus_free(&c);
    return ok;
}

static void text_to(const char *dir, const char *file, const char *text)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    ng_test_write_text(p, text);
}
static void npy_i32(const char *dir, const char *file, const int32_t *v, size_t n)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    ng_tensor t = {.dtype = NG_I32, .ndim = 1, .shape = {n}, .data = (void *)v};
    ng_npy_write(p, &t);
}
static void npy_f32(const char *dir, const char *file, const float *v, size_t n)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    ng_tensor t = {.dtype = NG_F32, .ndim = 1, .shape = {n}, .data = (void *)v};
    ng_npy_write(p, &t);
}
static void npy_i64(const char *dir, const char *file, const int64_t *v, size_t n)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    ng_tensor t = {.dtype = NG_I64, .ndim = 1, .shape = {n}, .data = (void *)v};
    ng_npy_write(p, &t);
}

#define META_HEAD "natgrad-corpus 1\nslices 2\n"
#define META_TAIL "window 4\nlowercase 1\nsource text\nmin_count 2\nslice_years 1\n"
static void d_magic(const char *d) { text_to(d, "corpus.txt", "natgrad-corpus 2\n"); }
static void d_key(const char *d) { text_to(d, "corpus.txt", META_HEAD "words 3\ncolour blue\n" META_TAIL); }
static void d_nokey(const char *d) { text_to(d, "corpus.txt", META_HEAD "words 3\nwindow 4\n"); }
static void d_claim(const char *d) { text_to(d, "corpus.txt", META_HEAD "words 2000000000\n" META_TAIL); }
static void d_dup(const char *d) { text_to(d, "vocab.tsv", "the\t9\nthe\t4.5\ndon't\t1\n"); }
static void d_count(const char *d) { text_to(d, "vocab.tsv", "the\t9\ncafe\tmany\ndon't\t1\n"); }
static void d_badutf8(const char *d) { text_to(d, "vocab.tsv", "the\t9\ncaf\xc3\t4.5\ndon't\t1\n"); }
static void d_header(const char *d) { text_to(d, "slices.csv", "t,time,tokens,entries\n0,1790,10,3\n1,1791,7,1\n"); }
static void d_order(const char *d) { text_to(d, "slices.csv", "slice,time,tokens,entries\n0,1790,10,3\n1,1790,7,1\n"); }
static void d_entries(const char *d) { text_to(d, "slices.csv", "slice,time,tokens,entries\n0,1790,10,2\n1,1791,7,2\n"); }
static void d_rows(const char *d) { text_to(d, "slices.csv", "slice,time,tokens,entries\n0,1790,10,3\n"); }
static void d_range(const char *d) { npy_i32(d, "pairs_j.npy", (int32_t[]){0, 2, 1, 3}, 4); }
static void d_neg(const char *d) { npy_i32(d, "pairs_i.npy", (int32_t[]){0, 0, -1, 2}, 4); }
static void d_ij(const char *d)
{
    npy_i32(d, "pairs_i.npy", (int32_t[]){0, 1, 1, 2}, 4);
    npy_i32(d, "pairs_j.npy", (int32_t[]){0, 0, 1, 2}, 4);
}
static void d_sort(const char *d)
{
    npy_i32(d, "pairs_i.npy", (int32_t[]){0, 0, 1, 2}, 4);
    npy_i32(d, "pairs_j.npy", (int32_t[]){2, 0, 1, 2}, 4);
}
static void d_repeat(const char *d) { npy_i32(d, "pairs_j.npy", (int32_t[]){0, 0, 1, 2}, 4); }
static void d_negn(const char *d) { npy_f32(d, "pairs_n.npy", (float[]){1, -2, 1, 1}, 4); }
static void d_nan(const char *d)
{
    /* ng_npy_write refuses NaN: patch the bytes of the last value */
    char p[4200];
    snprintf(p, sizeof p, "%s/pairs_n.npy", d);
    FILE *f = fopen(p, "r+b");
    fseek(f, -4, SEEK_END);
    float nan = NAN;
    fwrite(&nan, 4, 1, f);
    fclose(f);
}
static void d_short(const char *d) { npy_i32(d, "pairs_i.npy", (int32_t[]){0, 0, 1}, 3); }
static void d_dtype(const char *d) { npy_f32(d, "pairs_i.npy", (float[]){0, 0, 1, 2}, 4); }
static void d_ptr(const char *d) { npy_i64(d, "slice_ptr.npy", (int64_t[]){0, 3, 4, 4}, 4); }
static void d_huge(const char *d)
{
    /* a header claiming 10^12 entries: refused from the file size, before allocating */
    char p[4200];
    snprintf(p, sizeof p, "%s/pairs_i.npy", d);
    FILE *f = fopen(p, "r+b");
    char head[128];
    size_t n = fread(head, 1, 128, f);
    char *sh = memmem(head, n, "(4,)", 4);
    if (sh) {
        fseek(f, sh - head, SEEK_SET);
        fputs("(1000000000000,)", f); /* the header's padding takes the longer number */
    }
    fclose(f);
}

static void test_read_validation(void)
{
    mkdirs(ng_test_in_dir("val"));
    NG_CHECK(read_fails("magic", d_magic, "corpus.txt", "natgrad-corpus 1"));
    NG_CHECK(read_fails("key", d_key, "corpus.txt:4:", "colour"));
    NG_CHECK(read_fails("nokey", d_nokey, "corpus.txt", "no 'lowercase' line"));
    NG_CHECK(read_fails("claim", d_claim, "vocab.tsv", "expected 2000000000"));
    NG_CHECK(read_fails("dup", d_dup, "vocab.tsv:2:", "appears twice"));
    NG_CHECK(read_fails("count", d_count, "vocab.tsv:2:", "word<TAB>count"));
    NG_CHECK(read_fails("utf8", d_badutf8, "vocab.tsv:2:", "UTF-8"));
    NG_CHECK(read_fails("header", d_header, "slices.csv:1:", "header"));
    NG_CHECK(read_fails("order", d_order, "slices.csv:3:", "strictly increasing"));
    NG_CHECK(read_fails("entries", d_entries, "slice_ptr.npy", "slices.csv says"));
    NG_CHECK(read_fails("rows", d_rows, "slices.csv", "2 lines"));
    NG_CHECK(read_fails("range", d_range, "pairs_j.npy", "entry 3 (slice 1)"));
    NG_CHECK(read_fails("neg", d_neg, "pairs_i.npy", "entry 2 (slice 0)"));
    NG_CHECK(read_fails("ij", d_ij, "pairs_i.npy", "i = 1 > j = 0"));
    NG_CHECK(read_fails("sort", d_sort, "pairs_i.npy", "entry 1 (slice 0): (0, 0) after (0, 2)"));
    NG_CHECK(read_fails("repeat", d_repeat, "pairs_i.npy", "without repeats"));
    NG_CHECK(read_fails("negn", d_negn, "pairs_n.npy", "entry 1 (slice 0, pair 0 2): n = -2"));
    NG_CHECK(read_fails("nan", d_nan, "pairs_n.npy", "element 3 at [3] is NaN"));
    NG_CHECK(read_fails("short", d_short, "pairs_i.npy", "expected i32 of 4 elements"));
    NG_CHECK(read_fails("dtype", d_dtype, "pairs_i.npy", "f32 array"));
    NG_CHECK(read_fails("ptr", d_ptr, "slice_ptr.npy", "expected i64 of 3"));
    size_t before = ngi_alloc_count();
    NG_CHECK(read_fails("huge", d_huge, "pairs_i.npy", "truncated"));
    NG_CHECK(ngi_alloc_count() - before < 200);
    /* the same checks on a corpus in memory */
    ng_corpus c;
    small_corpus(&c);
    NG_CHECK(!ng_corpus_check(&c));
    c.time[1] = c.time[0];
    NG_CHECK(ng_corpus_check(&c) == NG_EFORMAT && strstr(ng_last_error(), "ng_corpus (slices.csv)"));
    c.time[1] = 1791;
    c.n[0] = INFINITY;
    NG_CHECK(ng_corpus_check(&c) == NG_EFORMAT && strstr(ng_last_error(), "pairs_n.npy"));
    c.n[0] = 1;
    c.slice_ptr[1] = 5;
    NG_CHECK(ng_corpus_check(&c) == NG_EFORMAT && strstr(ng_last_error(), "slice_ptr.npy"));
    ng_corpus_free(&c);
}

/* ------------------------------------------------------------------ synthetic corpus */

static void test_synth_truth(void)
{
    ng_dwe_synth_params p = ng_dwe_synth_default_params();
    p.words = 200;
    p.topics = 4;
    p.slices = 12;
    p.rank_lo = 20;
    p.rank_hi = 150;
    p.tau_lo = 3;
    p.tau_hi = 9;
    p.n_abrupt = 5;
    p.n_gradual = 4;
    p.n_broadening = 3;
    p.n_frequency = 2;
    p.gradual_steps = 4;
    ng_dwe_synth s, s2;
    NG_CHECK(!ng_dwe_synth_make(&p, &s) && !ng_dwe_synth_make(&p, &s2));
    size_t n[5] = {0};
    int ok = 1;
    for (size_t i = 0; i < s.W; i++) {
        n[s.kind[i]]++;
        if (s.kind[i] == NG_DWE_STABLE) {
            ok &= s.tau[i] == -1 && s.new_topic[i] == -1 && s.home[i] == (int)(i % 4);
            continue;
        }
        ok &= i >= 20 && i <= 150 && s.tau[i] >= 3 && s.tau[i] <= 9;
        ok &= s.kind[i] == NG_DWE_FREQUENCY ? s.new_topic[i] == -1
                                            : s.new_topic[i] >= 0 && s.new_topic[i] < 4 && s.new_topic[i] != s.home[i];
    }
    NG_CHECK(ok && n[1] == 5 && n[2] == 4 && n[3] == 3 && n[4] == 2);
    NG_CHECK(!memcmp(s.q, s2.q, s.T * s.K * s.W * sizeof *s.q) && !memcmp(s.tau, s2.tau, s.W * sizeof(int)));
    /* q_{k,t} sums to 1; a moved word's mass follows its topics */
    double worst = 0;
    for (size_t t = 0; t < s.T; t++)
        for (size_t k = 0; k < s.K; k++) {
            double sum = 0;
            for (size_t i = 0; i < s.W; i++) sum += s.q[(t * s.K + k) * s.W + i];
            worst = fmax(worst, fabs(sum - 1));
        }
    NG_CHECK_NEAR(worst, 0, 1e-12);
    for (size_t i = 0; i < s.W; i++) {
        if (s.kind[i] == NG_DWE_STABLE) continue;
        int tau = s.tau[i], h = s.home[i], nt = s.new_topic[i];
        const double *before = s.q + ((size_t)(tau - 2) * s.K) * s.W, *after = s.q + ((size_t)(tau - 1) * s.K) * s.W;
        const double *last = s.q + ((s.T - 1) * s.K) * s.W;
        if (s.kind[i] == NG_DWE_ABRUPT)
            NG_CHECK(before[h * s.W + i] > 5 * before[nt * s.W + i] && after[nt * s.W + i] > 5 * after[h * s.W + i]);
        if (s.kind[i] == NG_DWE_BROADENING)
            NG_CHECK(after[nt * s.W + i] > 0.3 * after[h * s.W + i] && after[h * s.W + i] > 0.3 * after[nt * s.W + i]);
        if (s.kind[i] == NG_DWE_GRADUAL) /* a quarter moved at tau, all by tau + 3 */
            NG_CHECK(after[h * s.W + i] > after[nt * s.W + i] && last[nt * s.W + i] > 5 * last[h * s.W + i]);
        if (s.kind[i] == NG_DWE_FREQUENCY) /* background share x 10 (less the renormalisation) */
            NG_CHECK(after[((h + 1) % s.K) * s.W + i] > 6 * before[((h + 1) % s.K) * s.W + i]);
    }
    ng_dwe_synth_free(&s2);
    ng_dwe_synth_free(&s);
    p.null_variant = 1;
    NG_CHECK(!ng_dwe_synth_make(&p, &s));
    size_t stable = 0;
    for (size_t i = 0; i < s.W; i++) stable += s.kind[i] == NG_DWE_STABLE;
    NG_CHECK(stable == s.W);
    ng_dwe_synth_free(&s);
    p.null_variant = 0;
    p.rank_hi = 30; /* 14 planted words do not fit in ranks 20..30 */
    NG_CHECK(ng_dwe_synth_make(&p, &s) == NG_EINVAL && strstr(ng_last_error(), "planted"));
}

/* Text drawn from the truth, counted by the builder, against lambda: z = (n - lambda) /
 * sqrt(lambda) over the pairs with lambda > 20 has mean ~0 and mean square ~1. */
static void test_synth_counts(void)
{
    ng_dwe_synth_params p = ng_dwe_synth_default_params();
    p.words = 60;
    p.topics = 3;
    p.slices = 3;
    p.sentences = 4000;
    p.small_every = 0;
    p.rank_lo = 5;
    p.rank_hi = 50;
    p.tau_lo = 2;
    p.tau_hi = 3;
    p.n_abrupt = p.n_gradual = p.n_broadening = p.n_frequency = 2;
    ng_dwe_synth s;
    NG_CHECK(!ng_dwe_synth_make(&p, &s));
    ng_corpus lam, drawn, text;
    NG_CHECK(!ng_dwe_synth_counts(&s, 1, &lam) && !ng_dwe_synth_counts(&s, 0, &drawn));
    NG_CHECK(lam.T == 3 && lam.W == 60 && entries(&lam, 0) == 60 * 61 / 2 && !ng_corpus_check(&drawn));
    NG_CHECK(!ng_dwe_synth_write(ng_test_in_dir("synth"), &s, NG_DWE_TEXT_DIR, NG_DWE_COUNTS_EXPECTED));
    NG_CHECK(exists(ng_test_in_dir("synth/truth.csv")) && exists(ng_test_in_dir("synth/text/0001.txt")) && !exists(ng_test_in_dir("synth.tmp")));
    ng_corpus back;
    NG_CHECK(!ng_corpus_read(ng_test_in_dir("synth/counts"), &back) && same_corpus(&lam, &back));
    ng_corpus_free(&back);
    ng_corpus_build_params bp = params();
    bp.vocab = 60;
    ng_status st = build1(ng_test_in_dir("synth/text"), &bp, &text, NULL);
    NG_CHECK_MSG(!st, "%s", ng_last_error());
    if (st) return;
    NG_CHECK(text.T == 3 && text.W == 60 && text.time[2] == 3 && text.tokens[0] == 4000 * 12);
    int64_t *id = malloc(60 * sizeof *id);
    for (size_t k = 0; k < 60; k++) id[k] = word_id(&text, lam.word[k]);
    for (size_t t = 0; t < 3; t++) {
        double z1 = 0, z2 = 0, tot_n = 0, tot_l = 0, d1 = 0, d2 = 0;
        size_t m = 0, md = 0;
        for (int64_t e = lam.slice_ptr[t]; e < lam.slice_ptr[t + 1]; e++) {
            double l = lam.n[e];
            int64_t a = id[lam.i[e]], b = id[lam.j[e]];
            double n = a >= 0 && b >= 0 ? pair(&text, t, text.word[a], text.word[b]) : 0;
            double dr = pair(&drawn, t, lam.word[lam.i[e]], lam.word[lam.j[e]]);
            tot_n += n;
            tot_l += l;
            if (l > 20) {
                double z = (n - l) / sqrt(l), zd = (dr - l) / sqrt(l);
                z1 += z, z2 += z * z, d1 += zd, d2 += zd * zd;
                m++;
            }
            md++;
        }
        z1 /= (double)m, z2 /= (double)m, d1 /= (double)m, d2 /= (double)m;
        NG_CHECK_MSG(fabs(z1) < 0.15 && z2 > 0.7 && z2 < 1.4, "slice %zu: text z mean %g, mean square %g over %zu", t, z1, z2, m);
        NG_CHECK_MSG(fabs(d1) < 0.15 && d2 > 0.8 && d2 < 1.25, "slice %zu: Poisson z mean %g, mean square %g", t, d1, d2);
        NG_CHECK_REL(tot_n, tot_l, 0.01, 1);
        NG_CHECK(m > 200 && md == 1830);
    }
    free(id);
    ng_corpus_free(&text);
    ng_corpus_free(&lam);
    ng_corpus_free(&drawn);
    /* the same seed writes the same text; tsv text holds the same sentences */
    NG_CHECK(!ng_dwe_synth_write_text(&s, ng_test_in_dir("synth_text.tsv"), 1));
    bp.format = NG_CORPUS_AUTO;
    NG_CHECK(!build1(ng_test_in_dir("synth_text.tsv"), &bp, &lam, NULL));
    NG_CHECK(!build1(ng_test_in_dir("synth/text"), &bp, &text, NULL));
    free(lam.source);
    lam.source = ngi_strdup("text");
    NG_CHECK(same_corpus(&lam, &text));
    ng_corpus_free(&lam);
    ng_corpus_free(&text);
    ng_dwe_synth_free(&s);
}

int main(void)
{
    const char *base = getenv("NG_TEST_TMP");
    snprintf(ng_test_dir(), NG_TEST_DIR_MAX, "%s/test_corpus.%d", base ? base : "/tmp", (int)getpid());
    ngi_rm_rf(ng_test_dir());
    mkdirs(ng_test_dir());
    NG_RUN(test_tokenizer_words);
    NG_RUN(test_tokenizer_invalid_utf8);
    NG_RUN(test_tokenizer_long_token);
    NG_RUN(test_window_weights);
    NG_RUN(test_ngrams);
    NG_RUN(test_gz_text_and_tsv);
    NG_RUN(test_vocab_ranking);
    NG_RUN(test_thread_independence);
    NG_RUN(test_progress_and_stop);
    NG_RUN(test_bad_inputs);
    NG_RUN(test_time_of);
    NG_RUN(test_roundtrip);
    NG_RUN(test_read_validation);
    NG_RUN(test_synth_truth);
    NG_RUN(test_synth_counts);
    if (!ng_t_failed) ngi_rm_rf(ng_test_dir());
    return ng_test_summary();
}
