/* sync.c - symmetry "synchronisation": on a tree, min over R in O(d)^T of psi(R Z) is
 * solved exactly by sequential orthogonal Procrustes from a root (spec section 5); on a
 * graph with cycles it aligns a BFS spanning tree (refine with the gauge phase). Also
 * counts reflection domain walls: edges whose best O(d) alignment has det -1. */
#include "goldstone_internal.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* Mf = S_p^T S_c (d x d), into double M: the cross matrix B A^T of Procrustes with
 * A = Z_c, B = Z_p in the spec's d x N notation. */
static void cross(size_t N, size_t d, const float *Sp, const float *Sc, double *M, float *Mf)
{
    size_t dd = d * d;
    if (N == 0) {
        memset(M, 0, dd * sizeof *M);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)N, 1.0f, Sp, (int)d,
                Sc, (int)d, 0.0f, Mf, (int)d);
    for (size_t k = 0; k < dd; k++) M[k] = Mf[k];
}

/* Each product depends on the slice rotated just before it, so the chain runs on one
 * thread, BLAS included: the result is the same for any thread count. */
static ng_status sync_serial_blas(const ng_graph *g, size_t N, size_t d, float *Z, int *walls_removed,
                                  size_t *order, size_t *parent, size_t *pedge, double *M, double *R,
                                  float *Mf, float *tmp, double *rws, size_t rws_len)
{
    size_t T = g->T, nd = N * d;
    int walls = 0;
    if (walls_removed) *walls_removed = 0;
    if (T < 2 || d == 0 || N == 0) return NG_OK;
    if (g->chain) {
        for (size_t t = 0; t < T; t++) {
            order[t] = t;
            parent[t] = t ? t - 1 : 0;
            pedge[t] = t ? t - 1 : 0;
        }
    } else {
        ngi_graph_bfs(g, order, parent, pedge);
    }
    /* R_c is the total rotation of slice c, so the ORIGINAL edge (p, c) was a wall when
     * det R_c != det R_p; pedge[c] is reused to hold det R_c < 0 once c is done. */
    pedge[order[0]] = 0;
    for (size_t k = 1; k < T; k++) {
        size_t c = order[k], p = parent[c];
        cross(N, d, Z + p * nd, Z + c * nd, M, Mf);
        double det = 1.0;
        ng_status st = ngi_procrustes_cross_ws(d, M, 1, R, &det, rws, rws_len);
        if (st) return st;
        pedge[c] = det < 0;
        if (c != p && pedge[c] != pedge[p]) walls++;
        ngi_slice_rotate(N, d, Z + c * nd, R, tmp, Mf);
    }
    if (walls_removed) *walls_removed = walls;
    return NG_OK;
}

ng_status ngi_sync_ws(const ng_graph *g, size_t N, size_t d, float *Z, int *walls_removed,
                     size_t *order, size_t *parent, size_t *pedge, double *M, double *R,
                     float *Mf, float *tmp, double *rws, size_t rws_len)
{
    int blas = ngi_blas_serial();
    ng_status st = sync_serial_blas(g, N, d, Z, walls_removed, order, parent, pedge, M, R, Mf, tmp,
                                    rws, rws_len);
    ngi_blas_restore(blas);
    return st;
}

ng_status ngi_count_walls_ws(const ng_graph *g, size_t N, size_t d, const float *Z, int *walls,
                            double *M, double *R, float *Mf, double *rws, size_t rws_len)
{
    size_t nd = N * d;
    int n = 0, blas = ngi_blas_serial(); /* the count, like the phases, for any thread count */
    ng_status st = NG_OK;
    if (d > 0 && N > 0)
        for (size_t e = 0; e < g->n_edges && !st; e++) {
            cross(N, d, Z + g->ea[e] * nd, Z + g->eb[e] * nd, M, Mf);
            double det = 1.0;
            st = ngi_procrustes_cross_ws(d, M, 1, R, &det, rws, rws_len);
            if (!st && det < 0) n++;
        }
    ngi_blas_restore(blas);
    if (!st) *walls = n;
    return st;
}

ng_status ng_count_walls(const ng_graph *g, size_t N, size_t d, const float *Z, int *walls)
{
    if (!g || !Z || !walls) return ngi_fail(NG_EINVAL, "ng_count_walls: graph, Z or walls is NULL");
    size_t dd = d * d, rl = ngi_rot_ws_len(d);
    if (rl == 0) return ngi_fail(NG_EINVAL, "ng_count_walls: d = %zu is too large", d);
    double *M = ngi_xmalloc((2 * dd + rl + 1) * sizeof *M);
    float *Mf = ngi_xmalloc((dd + 1) * sizeof *Mf);
    ng_status st = NG_ENOMEM;
    if (M && Mf) st = ngi_count_walls_ws(g, N, d, Z, walls, M, M + dd, Mf, M + 2 * dd, rl);
    free(M);
    free(Mf);
    return st;
}

ng_status ng_sync(const ng_graph *g, size_t N, size_t d, float *Z, int *walls_removed)
{
    if (!g || !Z) return ngi_fail(NG_EINVAL, "ng_sync: graph or Z is NULL");
    size_t T = g->T, dd = d * d, rl = ngi_rot_ws_len(d);
    if (rl == 0) return ngi_fail(NG_EINVAL, "ng_sync: d = %zu is too large", d);
    size_t *idx = ngi_xmalloc(3 * T * sizeof *idx);
    double *M = ngi_xmalloc((2 * dd + rl + 1) * sizeof *M);
    float *Mf = ngi_xmalloc((dd + 1) * sizeof *Mf), *tmp = ngi_xmalloc((N * d + 1) * sizeof *tmp);
    ng_status st = NG_ENOMEM;
    if (idx && M && Mf && tmp)
        st = ngi_sync_ws(g, N, d, Z, walls_removed, idx, idx + T, idx + 2 * T, M, M + dd, Mf, tmp,
                        M + 2 * dd, rl);
    free(idx);
    free(M);
    free(Mf);
    free(tmp);
    return st;
}
