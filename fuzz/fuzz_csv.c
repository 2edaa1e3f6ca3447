/* fuzz_csv.c - the CSV log reader of 'natgrad plot' and 'natgrad demo' (tools/csv_read.c):
 * the table, every cell as a number, and the columns that demo reads. The reader's
 * messages (one per refused input) go to /dev/null: they would bury libFuzzer's. */
#include "ngfuzz.h"

#include <math.h>
#include <stdio.h>

static FILE *quiet(void)
{
    static FILE *f;
    if (!f) f = fopen("/dev/null", "w");
    return f ? f : stdout;
}
#undef stderr
#define stderr quiet()
#include "../tools/csv_read.c"
#undef stderr
#define stderr stderr

int ngf_csv(const uint8_t *d, size_t n)
{
    const char *path = ngf_path(0, "log.csv");
    ngf_write(path, d, n);
    ng_csv_table t;
    ngf_mem_begin();
    int ok = ng_csv_table_read("fuzz", path, &t);
    ngf_mem_end(ngf_plain_size(d, n), 256 << 10, "ng_csv_table_read");
    if (!ok) return 0;
    for (size_t r = 0; r < t.nrows; r++)
        for (size_t c = 0; c < t.ncols; c++) {
            double v;
            /* an empty field is NaN (unknown); any other accepted field is finite */
            if (ng_csv_table_number("fuzz", &t, r, c, &v) && *t.cells[r * t.ncols + c] && !isfinite(v))
                ngf_die("ng_csv_table_number: accepted '%s' as %g", t.cells[r * t.ncols + c], v);
        }
    (void)ng_csv_table_find(&t, "step");
    ng_csv_table_free(&t);
    static const char *const names[2] = {"step", "loss"};
    double *cols[2];
    size_t rows;
    ngf_mem_begin();
    int ok2 = ng_csv_read_columns("fuzz", path, names, 2, cols, &rows);
    ngf_mem_end(ngf_plain_size(d, n), 256 << 10, "ng_csv_read_columns");
    if (ok2) {
        free(cols[0]);
        free(cols[1]);
    }
    return 1;
}

NGF_TARGET(ngf_csv)
