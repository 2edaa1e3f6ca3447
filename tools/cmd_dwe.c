/* cmd_dwe.c - 'natgrad dwe': dynamic word embeddings. corpus builds a corpus directory
 * from text or Google Books n-grams; synth writes the planted-drift corpus; train
 * (cmd_dwe_train.c) fits the model. */
#include "cli.h"
#include "commands.h"

#include <stdlib.h>
#include <string.h>

#define CMD_CORPUS "dwe corpus"
#define CMD_SYNTH "dwe synth"

static const char *const k_formats[] = {"auto", "text", "tsv", "ngram", NULL}; /* = ng_corpus_format */
static const char *const k_case[] = {"auto", "no", "yes", NULL};     /* lowercase -1, 0, 1 */
static const char *const k_pairs[] = {"code", "anchored", NULL};     /* = ng_ngram_pairs */
static const char *const k_text[] = {"dir", "tsv", "none", NULL};    /* = ng_dwe_text */
static const char *const k_counts[] = {"poisson", "expected", "none", NULL}; /* = ng_dwe_counts */

#define NUM(n, t, d, l, h, m, txt) {.name = n, .type = t, .dst = d, .lo = l, .hi = h, .meta = m, .help = txt}
#define CHOICE(n, d, ch, txt) {.name = n, .type = NG_CLI_CHOICE, .dst = d, .choices = ch, .help = txt}
#define STR(n, d, m, txt, f) {.name = n, .type = NG_CLI_STR, .dst = d, .meta = m, .help = txt, .flags = f}
#define SECTION(title) {.name = "", .type = NG_CLI_SECTION, .help = title}

static void dwe_usage(FILE *f)
{
    fprintf(f, "usage: natgrad dwe <sub> [options]\n\n"
               "Dynamic word embeddings. Subcommands:\n"
               "  corpus    build a corpus directory (slices, vocabulary, co-occurrence counts)\n"
               "            from text or Google Books n-grams ('natgrad dwe corpus --help')\n"
               "  synth     write the synthetic corpus with planted drift ('natgrad dwe synth --help')\n"
               "  train     train dynamic word embeddings on a corpus directory ('natgrad dwe train\n"
               "            --help')\n"
               "  export    word2vec files of each slice of a trained model\n"
               "  query     neighbours, word aging, most changed words, similarity over time\n"
               "  overlap   histograms of cos(u_first, u_last), raw and Procrustes-aligned (Fig. 4)\n");
}

/* ================================================================== dwe corpus */

typedef struct {
    ng_corpus_build_params p;
    const char *out;
    int format, lowercase, pairs;
    ng_progress prog;
} corpus_cfg;

static int corpus_progress(void *user, int pass, size_t done, size_t n, uint64_t bytes)
{
    corpus_cfg *c = user;
    ng_progress_update(&c->prog, "pass %d of 2: %zu of %zu files, %.1f MB", pass, done, n,
                       (double)bytes / 1e6);
    return ng_cli_interrupted();
}

static const char k_corpus_intro[] =
    "Builds a corpus for dynamic word embeddings from each INPUT: a directory of text files\n"
    "whose names start with their time (1790_george_washington_n.txt, 1999.txt.gz), a file\n"
    "of time<TAB>text lines, or Google Books 5-gram files (2012 and 2020 line formats, .gz\n"
    "or plain). Two streaming passes: word counts per slice give the vocabulary (the top W\n"
    "by relative frequency averaged over slices), then the weighted pair counts n+ of\n"
    "vocabulary words per slice: text pairs at distance d <= c within a line weigh\n"
    "(c + 1 - d) / c each way; n-gram pairs (5 - d) match / 4 each way. Words are runs of\n"
    "UTF-8 letters, digits and apostrophes. Files are read in parallel; the result does not\n"
    "depend on the thread count. The directory format is in docs/dwe.md.";
static const char k_corpus_outro[] =
    "Exit status: 0 on success; 1 on bad input (one line naming the file, the line and what\n"
    "was expected; no output is left behind); 2 for a usage error; 130 on Ctrl-C.";

#define CORPUS_OPTS 24
#define SYNTH_OPTS 40

static void corpus_table(corpus_cfg *c, ng_cli_opt *t)
{
    const ng_cli_opt tab[] = {
        STR("out", &c->out, "DIR", "the corpus directory to write (atomically: DIR.tmp, then\n"
            "renamed; an existing corpus directory is replaced)", NG_CLI_REQUIRED),
        CHOICE("format", &c->format, k_formats,
               "input kind: auto = a directory is text files named by time, a\n"
               "file is told by its first line (NUMBER<TAB>... is tsv, an n-gram\n"
               "line is ngram, else text)"),
        STR("time-of", &c->p.time_of, "FILE.csv", "times of the text files as FILE,TIME lines (names relative\n"
            "to the directory; only the files listed are read)", 0),
        NUM("slice-years", NG_CLI_INT, &c->p.slice_years, 0, 10000, "N",
            "group years into slices of N (slice time floor(year / N) N);\n0 = every distinct time a slice"),
        NUM("vocab", NG_CLI_SIZE, &c->p.vocab, 1, 2147483647, "W", "vocabulary size"),
        NUM("window", NG_CLI_INT, &c->p.window, 1, 64, "c", "text window (n-grams: their own rule, 4)"),
        NUM("min-count", NG_CLI_I64, &c->p.min_count, 0, 1e18, "N",
            "leave out words seen fewer than N times in all"),
        CHOICE("lowercase", &c->lowercase, k_case, "lower-case words: auto = yes for text, no for n-grams"),
        SECTION("Google Books n-grams"),
        NUM("years-from", NG_CLI_INT, &c->p.years_from, -100000, 100000, "Y", "first year kept"),
        NUM("years-to", NG_CLI_INT, &c->p.years_to, -100000, 100000, "Y", "last year kept"),
        CHOICE("ngram-pairs", &c->pairs, k_pairs,
               "code: every in-vocabulary pair of the 5-gram; anchored: only\npairs with its first token"),
        SECTION("Run"),
        NUM("threads", NG_CLI_INT, &c->p.threads, 0, 1024, "N", "files read in parallel, 0 = OpenMP's default"),
        NG_CLI_END,
    };
    _Static_assert(sizeof tab / sizeof tab[0] <= CORPUS_OPTS, "raise CORPUS_OPTS");
    memcpy(t, tab, sizeof tab);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* min, median and max of n values (sorted in place). */
static void spread(int64_t *v, size_t n, char *buf, size_t len)
{
    qsort(v, n, sizeof *v, cmp_i64);
    snprintf(buf, len, "%lld .. %lld (median %lld)", (long long)v[0], (long long)v[n - 1],
             (long long)v[n / 2]);
}

static void corpus_summary(const char *out, const ng_corpus *c, const ng_corpus_build_stats *st)
{
    int64_t *v = malloc((c->T + 1) * sizeof *v);
    char a[128] = "", b[128] = "";
    if (v) {
        memcpy(v, c->tokens, c->T * sizeof *v);
        spread(v, c->T, a, sizeof a);
        for (size_t t = 0; t < c->T; t++) v[t] = c->slice_ptr[t + 1] - c->slice_ptr[t];
        spread(v, c->T, b, sizeof b);
        free(v);
    }
    printf("natgrad %s: wrote %s\n", CMD_CORPUS, out);
    printf("  slices      %zu: %g .. %g (slice years %d); tokens per slice %s\n", c->T, c->time[0],
           c->time[c->T - 1], c->slice_years, a);
    printf("  vocabulary  %zu of %zu distinct words (min count %lld, lowercase %s); %.1f %% of tokens\n",
           c->W, st->distinct_words, (long long)c->min_count, c->lowercase ? "yes" : "no",
           100 * st->in_vocab);
    printf("  top words  ");
    for (size_t k = 0; k < c->W && k < 10; k++) printf(" %s", c->word[k]);
    printf("\n  pairs       %lld entries (i <= j), window %d; per slice %s\n",
           (long long)c->slice_ptr[c->T], c->window, b);
    printf("  input       %zu %s file%s (%zu empty), %.2f MB read (%.2f MB on disk), %llu lines, "
           "%llu tokens\n", st->files, c->source, st->files == 1 ? "" : "s", st->empty_files,
           (double)st->bytes / 1e6, (double)st->bytes_on_disk / 1e6, (unsigned long long)st->lines,
           (unsigned long long)st->tokens);
    printf("  skipped     %llu invalid UTF-8 sequences, %llu tokens over %d bytes",
           (unsigned long long)st->invalid_utf8, (unsigned long long)st->long_tokens, NG_CORPUS_MAX_WORD);
    if (st->format == NG_CORPUS_NGRAM)
        printf("; n-gram lines: %llu kept, %llu dropped (tags, blanks); %llu year entries outside the years",
               (unsigned long long)st->ngrams_kept, (unsigned long long)st->ngrams_dropped,
               (unsigned long long)st->years_dropped);
    double sec = st->seconds[0] + st->seconds[1];
    printf("\n  ingestion   pass 1 %.2f s, pass 2 %.2f s: %.1f MB/s (2 passes x %.2f MB, %d thread%s)\n",
           st->seconds[0], st->seconds[1], sec > 0 ? 2.0 * (double)st->bytes / 1e6 / sec : 0.0,
           (double)st->bytes / 1e6, st->threads, st->threads == 1 ? "" : "s");
}

static int cmd_corpus(int argc, char **argv)
{
    corpus_cfg c;
    memset(&c, 0, sizeof c);
    c.p = ng_corpus_build_default_params();
    c.format = (int)c.p.format;
    c.lowercase = c.p.lowercase + 1;
    c.pairs = (int)c.p.ngram_pairs;
    ng_cli_opt t[CORPUS_OPTS];
    corpus_table(&c, t);
    const ng_cli_opt *tabs[] = {t};
    const char **pos = calloc((size_t)argc + 1, sizeof *pos);
    if (!pos) return ng_cli_usage_error(CMD_CORPUS, "out of memory");
    ng_cli_spec spec = {.name = CMD_CORPUS, .synopsis = "--out DIR [options] INPUT...",
                        .intro = k_corpus_intro, .outro = k_corpus_outro, .tables = tabs,
                        .n_tables = 1, .positional = argc};
    int npos = 0, rc = ng_cli_parse(&spec, argc, argv, pos, &npos);
    if (rc < 0 && npos == 0) rc = ng_cli_usage_error(CMD_CORPUS, "missing INPUT (a directory or files)");
    if (rc >= 0) {
        free(pos);
        return rc;
    }
    c.p.format = (ng_corpus_format)c.format;
    c.p.lowercase = c.lowercase - 1;
    c.p.ngram_pairs = (ng_ngram_pairs)c.pairs;
    c.p.progress = corpus_progress;
    c.p.progress_user = &c;
    ng_cli_banner_spec(&spec, NULL);
    ng_cli_install_sigint();
    ng_progress_init(&c.prog, 10.0);
    c.prog.last = ng_cli_now(); /* a plain progress line only after 10 s: short runs stay quiet */
    ng_corpus corpus;
    ng_corpus_build_stats st;
    ng_status s = ng_corpus_build(pos, (size_t)npos, &c.p, &corpus, &st);
    ng_progress_done(&c.prog);
    free(pos);
    if (s == NG_EINTERRUPTED) {
        fprintf(stderr, "natgrad %s: interrupted; nothing written\n", CMD_CORPUS);
        return 130;
    }
    if (s) return ng_cli_fail(CMD_CORPUS, "cannot build the corpus");
    s = ng_corpus_write(c.out, &corpus);
    if (!s) corpus_summary(c.out, &corpus, &st);
    ng_corpus_free(&corpus);
    return s ? ng_cli_fail(CMD_CORPUS, "cannot write the corpus") : NG_EXIT_OK;
}

/* ================================================================== dwe synth */

typedef struct {
    ng_dwe_synth_params p;
    const char *out;
    int text, counts;
    long threads;
} synth_cfg;

static const char k_synth_intro[] =
    "Writes the synthetic corpus with planted drift (docs/dwe.md): W words of frequency\n"
    "f_i ~ 1/(i + 10) in K topics (word i in topic i mod K) over T slices; words drawn from\n"
    "ranks [rank-lo, rank-hi] change at a slice tau in [tau-lo, tau-hi]: abrupt (to a new\n"
    "topic), gradual (over gradual-steps slices), broadening (half in each) or frequency\n"
    "only (x freq-factor). Sentences of one uniform topic draw tokens from\n"
    "q_kt(i) = beta p_bg(i) + (1 - beta) f_i(t) a_ik(t) / Z_kt. DIR gets text/ (a file per\n"
    "slice) or text.tsv, counts/ (a corpus directory: n+ ~ Poisson(lambda), the fast path,\n"
    "or lambda itself) and truth.csv (word,kind,tau,home_topic,new_topic; -1 when none).";

static void synth_table(synth_cfg *c, ng_cli_opt *t)
{
    ng_dwe_synth_params *p = &c->p;
    const ng_cli_opt tab[] = {
        STR("out", &c->out, "DIR", "output directory (atomically: DIR.tmp, then renamed)", NG_CLI_REQUIRED),
        NUM("words", NG_CLI_SIZE, &p->words, 1, 1e8, "W", "vocabulary size"),
        NUM("topics", NG_CLI_SIZE, &p->topics, 1, 1e5, "K", "topics"),
        NUM("slices", NG_CLI_SIZE, &p->slices, 1, 1e5, "T", "time slices"),
        NUM("sentences", NG_CLI_SIZE, &p->sentences, 0, 1e9, "S", "sentences per slice"),
        NUM("small-sentences", NG_CLI_SIZE, &p->small_sentences, 0, 1e9, "S", "sentences of a small slice"),
        NUM("small-every", NG_CLI_SIZE, &p->small_every, 0, 1e5, "N", "every N-th slice is small, 0 = none"),
        NUM("length", NG_CLI_SIZE, &p->length, 2, 1e5, "L", "tokens per sentence"),
        NUM("beta", NG_CLI_DOUBLE, &p->beta, 0, 1, "X", "weight of the background distribution"),
        NUM("window", NG_CLI_INT, &p->window, 1, 64, "c", "window of the counts"),
        SECTION("Planted drift"),
        {.name = "null", .type = NG_CLI_FLAG, .dst = &p->null_variant, .flags = NG_CLI_NO_DEFAULT,
         .help = "plant nothing (the null variant)"},
        NUM("abrupt", NG_CLI_SIZE, &p->n_abrupt, 0, 1e8, "N", "words that switch topic at tau"),
        NUM("gradual", NG_CLI_SIZE, &p->n_gradual, 0, 1e8, "N", "words that move linearly from tau"),
        NUM("broadening", NG_CLI_SIZE, &p->n_broadening, 0, 1e8, "N", "words half in a second topic from tau"),
        NUM("frequency", NG_CLI_SIZE, &p->n_frequency, 0, 1e8, "N", "words whose frequency changes at tau"),
        NUM("rank-lo", NG_CLI_SIZE, &p->rank_lo, 0, 1e8, "R", "lowest rank of a planted word"),
        NUM("rank-hi", NG_CLI_SIZE, &p->rank_hi, 0, 1e8, "R", "highest rank of a planted word"),
        NUM("tau-lo", NG_CLI_SIZE, &p->tau_lo, 1, 1e5, "T", "earliest change slice (from 1)"),
        NUM("tau-hi", NG_CLI_SIZE, &p->tau_hi, 1, 1e5, "T", "latest change slice"),
        NUM("gradual-steps", NG_CLI_SIZE, &p->gradual_steps, 1, 1e5, "N", "slices a gradual change takes"),
        NUM("freq-factor", NG_CLI_DOUBLE, &p->freq_factor, 1e-6, 1e6, "X", "frequency change of the frequency words"),
        SECTION("Output"),
        CHOICE("text", &c->text, k_text, "the sentences: a directory of <time>.txt files, one\ntime<TAB>text file, or none"),
        CHOICE("counts", &c->counts, k_counts, "the counts: Poisson draws, the expectation, or none"),
        NUM("time0", NG_CLI_DOUBLE, &p->time0, -1e9, 1e9, "Y", "time of the first slice"),
        {.name = "seed", .type = NG_CLI_U64, .dst = &p->seed, .meta = "S", .help = "random seed"},
        NUM("threads", NG_CLI_LONG, &c->threads, 0, 1024, "N", "OpenMP and BLAS threads, 0 = leave as is"),
        NG_CLI_END,
    };
    _Static_assert(sizeof tab / sizeof tab[0] <= SYNTH_OPTS, "raise SYNTH_OPTS");
    memcpy(t, tab, sizeof tab);
}

static int cmd_synth(int argc, char **argv)
{
    synth_cfg c;
    memset(&c, 0, sizeof c);
    c.p = ng_dwe_synth_default_params();
    c.text = NG_DWE_TEXT_DIR;
    c.counts = NG_DWE_COUNTS_POISSON;
    ng_cli_opt t[SYNTH_OPTS];
    synth_table(&c, t);
    const ng_cli_opt *tabs[] = {t};
    ng_cli_spec spec = {.name = CMD_SYNTH, .synopsis = "--out DIR [options]", .intro = k_synth_intro,
                        .outro = "Exit status: 0 on success, 1 on failure (nothing written), 2 for a "
                                 "usage error.",
                        .tables = tabs, .n_tables = 1};
    int rc = ng_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0) return rc;
    if (c.threads > 0) ng_cli_set_threads((int)c.threads);
    ng_cli_banner_spec(&spec, NULL);
    double t0 = ng_cli_now();
    ng_dwe_synth s;
    ng_status st = ng_dwe_synth_make(&c.p, &s);
    if (st) return ng_cli_fail(CMD_SYNTH, "invalid settings");
    st = ng_dwe_synth_write(c.out, &s, (ng_dwe_text)c.text, (ng_dwe_counts)c.counts);
    if (!st) {
        size_t n[5] = {0};
        double sentences = 0;
        for (size_t i = 0; i < s.W; i++) n[s.kind[i]]++;
        for (size_t k = 0; k < s.T; k++) sentences += s.sentences[k];
        printf("natgrad %s: wrote %s in %.2f s: %zu words, %zu topics, %zu slices, %.0f sentences "
               "of %zu tokens; text %s, counts %s\n", CMD_SYNTH, c.out, ng_cli_now() - t0, s.W, s.K,
               s.T, sentences, s.length, k_text[c.text], k_counts[c.counts]);
        printf("  truth.csv   %zu stable, %zu abrupt, %zu gradual, %zu broadening, %zu frequency%s\n",
               n[0], n[1], n[2], n[3], n[4], c.p.null_variant ? " (null variant)" : "");
    }
    ng_dwe_synth_free(&s);
    return st ? ng_cli_fail(CMD_SYNTH, "cannot write the synthetic corpus") : NG_EXIT_OK;
}

int ng_cmd_dwe(int argc, char **argv)
{
    if (argc < 2) {
        dwe_usage(stderr);
        return NG_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        dwe_usage(stdout);
        return NG_EXIT_OK;
    }
    if (!strcmp(sub, "export") || !strcmp(sub, "query") || !strcmp(sub, "overlap"))
        return ng_cmd_dwe_query(argc - 1, argv + 1); /* cmd_dwe_query.c: questions to a model */
    if (!strcmp(sub, "corpus")) return cmd_corpus(argc - 1, argv + 1);
    if (!strcmp(sub, "synth")) return cmd_synth(argc - 1, argv + 1);
    if (!strcmp(sub, "train")) return ng_cmd_dwe_train(argc - 1, argv + 1);
    fprintf(stderr, "natgrad dwe: unknown subcommand '%s'\n", sub);
    dwe_usage(stderr);
    return NG_EXIT_USAGE;
}
