/* fuzz_csvlog.c - resuming a CSV log: ng_csv_open in append mode (even lengths) or
 * ng_csv_resume at step 2 (odd lengths, keeping the row at step 2 for every other one)
 * reads the existing file: its header must be the log's, a torn last row is cut, and
 * ng_csv_resume cuts the rows from step 2 on. Then one row is appended: the file holds
 * the header line and ends with that row. */
#include "ngfuzz.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ngf_csvlog(const uint8_t *d, size_t n)
{
    const char *path = ngf_path(0, "run.csv");
    ngf_write(path, d, n);
    static const char *const cols[3] = {"step", "seconds", "loss"};
    ng_csv *c;
    ngf_mem_begin();
    ng_status s = n % 2 ? ng_csv_resume(path, cols, 3, 2.0, n % 4 == 1, &c) : ng_csv_open(path, cols, 3, 1, &c);
    ngf_mem_end(n, 256 << 10, "ng_csv_open");
    if (s) {
        ngf_refused(s, path);
        return 0;
    }
    const double row[3] = {1, 0.5, 2.25};
    if (ng_csv_row(c, row)) ngf_die("ng_csv_row: %s", ng_last_error());
    ng_csv_close(c);
    FILE *f = fopen(path, "rb");
    if (!f) ngf_die("the log is gone");
    char *buf = malloc(n + 64);
    size_t got = buf ? fread(buf, 1, n + 63, f) : 0;
    fclose(f);
    if (!buf) ngf_die("out of memory");
    buf[got] = '\0';
    static const char head[] = "step,seconds,loss";
    static const char tail[] = "\n1,0.5,2.25\n";
    if (strncmp(buf, head, sizeof head - 1) || (buf[sizeof head - 1] != '\n' && buf[sizeof head - 1] != '\r') ||
        got < sizeof tail - 1 || strcmp(buf + got - (sizeof tail - 1), tail))
        ngf_die("the resumed log is not header ... row");
    if (n % 2) { /* ng_csv_resume kept only rows with a finite step below 2 (or at 2) */
        char *row = strchr(buf, '\n') + 1, *last = buf + got - (sizeof tail - 2);
        for (; row < last; row = strchr(row, '\n') + 1) {
            char *e;
            double v = strtod(row, &e);
            if (e == row || !isfinite(v) || v > 2 || (v == 2 && n % 4 != 1))
                ngf_die("ng_csv_resume kept the row '%.20s'", row);
        }
    }
    free(buf);
    return 1;
}

NGF_TARGET(ngf_csvlog)
