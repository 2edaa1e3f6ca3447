/* laplacian.c - the coupling graph over time steps (nodes), its Laplacian L = D - A,
 * the pseudo-inverse L+ (computed once) and the prior psi(Z) = 1/2 Tr(Z^T L Z). */
#include "goldstone_internal.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct { size_t a, b; double w; } edge_t;

static int edge_cmp(const void *x, const void *y)
{
    const edge_t *p = x, *q = y;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    if (p->b != q->b) return p->b < q->b ? -1 : 1;
    return 0;
}

void ng_graph_free(ng_graph *g)
{
    if (!g) return;
    free(g->ea);
    free(g->eb);
    free(g->ew);
    free(g->adj_off);
    free(g->adj);
    free(g->adj_edge);
    free(g->pinv);
    free(g);
}

void ngi_graph_bfs(const ng_graph *g, size_t *order, size_t *parent, size_t *pedge)
{
    /* a BFS forest: each unreached node starts a new tree (parent[root] = root) */
    size_t T = g->T, tail = 0;
    for (size_t t = 0; t < T; t++) parent[t] = (size_t)-1;
    for (size_t root = 0; root < T; root++) {
        if (parent[root] != (size_t)-1) continue;
        size_t head = tail;
        order[tail++] = root;
        parent[root] = root;
        pedge[root] = 0;
        while (head < tail) {
            size_t u = order[head++];
            for (size_t k = g->adj_off[u]; k < g->adj_off[u + 1]; k++) {
                size_t v = g->adj[k];
                if (parent[v] != (size_t)-1) continue;
                parent[v] = u;
                pedge[v] = g->adj_edge[k];
                order[tail++] = v;
            }
        }
    }
}

void ng_graph_laplacian(const ng_graph *g, double *L)
{
    size_t T = g->T;
    memset(L, 0, T * T * sizeof *L);
    for (size_t e = 0; e < g->n_edges; e++) {
        size_t a = g->ea[e], b = g->eb[e];
        double w = g->ew[e];
        L[a * T + a] += w;
        L[b * T + b] += w;
        L[a * T + b] -= w;
        L[b * T + a] -= w;
    }
}

/* L+ = sum over nonzero modes q q^T / lambda; the graph is connected, so exactly the
 * first (smallest, constant-vector) eigenvalue is the zero mode. */
static ng_status compute_pinv(ng_graph *g)
{
    size_t T = g->T;
    g->pinv = ngi_xcalloc(T * T, sizeof *g->pinv);
    if (!g->pinv) return NG_ENOMEM;
    if (T < 2) return NG_OK;
    double *Q = ngi_xmalloc(T * T * sizeof *Q), *w = ngi_xmalloc(T * sizeof *w),
           *S = ngi_xmalloc(T * T * sizeof *S);
    ng_status st = NG_OK;
    if (!Q || !w || !S) {
        st = NG_ENOMEM;
        goto done;
    }
    ng_graph_laplacian(g, Q);
    if ((st = ng_dsyev(T, Q, w))) goto done;
    if (!(w[1] > 1e-12 * w[T - 1])) {
        st = ngi_fail(NG_ENUMERIC,
                     "ng_graph: Laplacian's second eigenvalue %.3g is ~0 (max %.3g); expected a "
                     "well-connected graph",
                     w[1], w[T - 1]);
        goto done;
    }
    for (size_t i = 0; i < T; i++) {
        S[i * T] = 0.0;
        for (size_t k = 1; k < T; k++) S[i * T + k] = Q[i * T + k] / w[k];
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)T, 1.0, S, (int)T,
                Q, (int)T, 0.0, g->pinv, (int)T);
    for (size_t i = 0; i < T; i++)
        for (size_t j = i + 1; j < T; j++) {
            double v = 0.5 * (g->pinv[i * T + j] + g->pinv[j * T + i]);
            g->pinv[i * T + j] = g->pinv[j * T + i] = v;
        }
done:
    free(Q);
    free(w);
    free(S);
    return st;
}

ng_status ng_graph_edges(size_t T, size_t n_edges, const size_t *a, const size_t *b,
                         const double *w, ng_graph **out)
{
    if (!out) return ngi_fail(NG_EINVAL, "ng_graph_edges: out is NULL");
    *out = NULL;
    if (T == 0) return ngi_fail(NG_EINVAL, "ng_graph_edges: T = 0; expected at least one node");
    if (T > NG_GRAPH_MAX_NODES)
        return ngi_fail(NG_EINVAL, "ng_graph_edges: T = %zu nodes; expected at most %d (L+ is a dense T x T matrix)", T,
                        NG_GRAPH_MAX_NODES);
    if (n_edges > 0 && (!a || !b || !w))
        return ngi_fail(NG_EINVAL, "ng_graph_edges: a, b or w is NULL for %zu edges", n_edges);
    edge_t *E = ngi_xmalloc((n_edges ? n_edges : 1) * sizeof *E);
    if (!E) return NG_ENOMEM;
    for (size_t e = 0; e < n_edges; e++) {
        if (a[e] >= T || b[e] >= T) {
            free(E);
            return ngi_fail(NG_EINVAL, "ng_graph_edges: edge %zu joins %zu and %zu; expected nodes < T = %zu",
                           e, a[e], b[e], T);
        }
        if (a[e] == b[e]) {
            free(E);
            return ngi_fail(NG_EINVAL, "ng_graph_edges: edge %zu is a self loop at node %zu; expected a != b",
                           e, a[e]);
        }
        if (!(w[e] > 0) || !isfinite(w[e])) {
            free(E);
            return ngi_fail(NG_EINVAL, "ng_graph_edges: edge %zu has weight %g; expected a finite weight > 0",
                           e, w[e]);
        }
        E[e].a = a[e] < b[e] ? a[e] : b[e];
        E[e].b = a[e] < b[e] ? b[e] : a[e];
        E[e].w = w[e];
    }
    qsort(E, n_edges, sizeof *E, edge_cmp);
    size_t m = 0; /* merge duplicates */
    for (size_t e = 0; e < n_edges; e++) {
        if (m > 0 && E[m - 1].a == E[e].a && E[m - 1].b == E[e].b)
            E[m - 1].w += E[e].w;
        else
            E[m++] = E[e];
    }
    ng_graph *g = ngi_xcalloc(1, sizeof *g);
    ng_status st = NG_ENOMEM;
    if (!g) goto fail;
    g->T = T;
    g->n_edges = m;
    g->ea = ngi_xmalloc((m ? m : 1) * sizeof *g->ea);
    g->eb = ngi_xmalloc((m ? m : 1) * sizeof *g->eb);
    g->ew = ngi_xmalloc((m ? m : 1) * sizeof *g->ew);
    g->adj_off = ngi_xcalloc(T + 1, sizeof *g->adj_off);
    g->adj = ngi_xmalloc((m ? 2 * m : 1) * sizeof *g->adj);
    g->adj_edge = ngi_xmalloc((m ? 2 * m : 1) * sizeof *g->adj_edge);
    if (!g->ea || !g->eb || !g->ew || !g->adj_off || !g->adj || !g->adj_edge) goto fail;
    g->chain = (m == T - 1);
    for (size_t e = 0; e < m; e++) {
        g->ea[e] = E[e].a;
        g->eb[e] = E[e].b;
        g->ew[e] = E[e].w;
        if (E[e].a != e || E[e].b != e + 1) g->chain = 0;
        g->adj_off[E[e].a + 1]++;
        g->adj_off[E[e].b + 1]++;
    }
    for (size_t t = 0; t < T; t++) g->adj_off[t + 1] += g->adj_off[t];
    {
        size_t *fill = ngi_xcalloc(T, sizeof *fill);
        if (!fill) goto fail;
        for (size_t e = 0; e < m; e++) {
            size_t u = E[e].a, v = E[e].b;
            g->adj[g->adj_off[u] + fill[u]] = v;
            g->adj_edge[g->adj_off[u] + fill[u]++] = e;
            g->adj[g->adj_off[v] + fill[v]] = u;
            g->adj_edge[g->adj_off[v] + fill[v]++] = e;
        }
        free(fill);
    }
    /* connectivity: count components */
    {
        size_t *order = ngi_xmalloc(T * sizeof *order), *parent = ngi_xmalloc(T * sizeof *parent),
               *pedge = ngi_xmalloc(T * sizeof *pedge);
        if (!order || !parent || !pedge) {
            free(order);
            free(parent);
            free(pedge);
            goto fail;
        }
        ngi_graph_bfs(g, order, parent, pedge);
        size_t comps = 0;
        for (size_t t = 0; t < T; t++) comps += (parent[t] == t);
        size_t first_out = 0;
        for (size_t t = 1; t < T; t++)
            if (parent[t] == t) {
                first_out = t;
                break;
            }
        free(order);
        free(parent);
        free(pedge);
        if (comps > 1) {
            st = ngi_fail(NG_EINVAL,
                         "ng_graph: the graph over %zu nodes is disconnected (%zu components; node "
                         "%zu is not reachable from node 0); expected a connected graph",
                         T, comps, first_out);
            goto fail;
        }
    }
    if ((st = compute_pinv(g))) goto fail;
    free(E);
    *out = g;
    return NG_OK;
fail:
    free(E);
    ng_graph_free(g);
    return st;
}

ng_status ng_graph_chain_weighted(size_t T, const double *w, ng_graph **out)
{
    if (!out) return ngi_fail(NG_EINVAL, "ng_graph_chain_weighted: out is NULL");
    *out = NULL;
    if (T == 0) return ngi_fail(NG_EINVAL, "ng_graph_chain: T = 0; expected at least one node");
    if (T > 1 && !w) return ngi_fail(NG_EINVAL, "ng_graph_chain_weighted: w is NULL");
    size_t m = T - 1;
    size_t *a = ngi_xmalloc((m ? m : 1) * sizeof *a), *b = ngi_xmalloc((m ? m : 1) * sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return NG_ENOMEM;
    }
    for (size_t e = 0; e < m; e++) {
        a[e] = e;
        b[e] = e + 1;
    }
    ng_status st = ng_graph_edges(T, m, a, b, w, out);
    free(a);
    free(b);
    return st;
}

ng_status ng_graph_chain(size_t T, double lambda, ng_graph **out)
{
    if (!out) return ngi_fail(NG_EINVAL, "ng_graph_chain: out is NULL");
    *out = NULL;
    if (!(lambda > 0) || !isfinite(lambda))
        return ngi_fail(NG_EINVAL, "ng_graph_chain: lambda = %g; expected a finite coupling > 0", lambda);
    if (T == 0) return ngi_fail(NG_EINVAL, "ng_graph_chain: T = 0; expected at least one node");
    double *w = ngi_xmalloc((T > 1 ? T - 1 : 1) * sizeof *w);
    if (!w) return NG_ENOMEM;
    for (size_t e = 0; e + 1 < T; e++) w[e] = lambda;
    ng_status st = ng_graph_chain_weighted(T, w, out);
    free(w);
    return st;
}

size_t ng_graph_nodes(const ng_graph *g) { return g ? g->T : 0; }
size_t ng_graph_num_edges(const ng_graph *g) { return g ? g->n_edges : 0; }
int ng_graph_is_chain(const ng_graph *g) { return g ? g->chain : 0; }
const double *ng_graph_pinv(const ng_graph *g) { return g ? g->pinv : NULL; }

ng_status ng_graph_edge(const ng_graph *g, size_t e, size_t *a, size_t *b, double *w)
{
    if (!g || e >= g->n_edges)
        return ngi_fail(NG_EINVAL, "ng_graph_edge: edge %zu out of range (%zu edges)", e,
                       g ? g->n_edges : 0);
    if (a) *a = g->ea[e];
    if (b) *b = g->eb[e];
    if (w) *w = g->ew[e];
    return NG_OK;
}

/* psi's share of the coordinates [lo, hi) of every slice, over all edges; with grad, adds
 * L Z there too. */
static double psi_block(const ng_graph *g, size_t nd, const float *Z, float *grad, size_t lo, size_t hi)
{
    double acc = 0.0;
    for (size_t e = 0; e < g->n_edges; e++) {
        const float *za = Z + g->ea[e] * nd, *zb = Z + g->eb[e] * nd;
        float w = (float)g->ew[e];
        double s = 0.0;
        if (grad) {
            float *ga = grad + g->ea[e] * nd, *gb = grad + g->eb[e] * nd;
            for (size_t k = lo; k < hi; k++) {
                double diff = (double)za[k] - zb[k];
                s += diff * diff;
                ga[k] += w * (float)diff;
                gb[k] -= w * (float)diff;
            }
        } else {
            for (size_t k = lo; k < hi; k++) {
                double diff = (double)za[k] - zb[k];
                s += diff * diff;
            }
        }
        acc += g->ew[e] * s;
    }
    return acc;
}

/* One pass over Z in blocks of PSI_BLK coordinates of every slice: threads own blocks, so
 * the gradient writes never collide. The blocks' shares are added in block order (a
 * batch at a time, no allocation), so psi is the same for any thread count: the row of a
 * training run and the step taken at the same point agree bit for bit. */
enum { PSI_BLK = 256, PSI_BATCH = 1024 };
static double psi_pass(const ng_graph *g, size_t N, size_t d, const float *Z, float *grad)
{
    size_t nd = N * d, m = g->n_edges;
    double psi = 0.0, part[PSI_BATCH];
    if (nd == 0 || m == 0) return 0.0;
    const int par = nd * m > 65536;
    const long nblk = (long)((nd + PSI_BLK - 1) / PSI_BLK);
    for (long b0 = 0; b0 < nblk; b0 += PSI_BATCH) {
        const long nb = nblk - b0 < PSI_BATCH ? nblk - b0 : PSI_BATCH;
#pragma omp parallel for schedule(static) if (par)
        for (long j = 0; j < nb; j++) {
            size_t lo = (size_t)(b0 + j) * PSI_BLK, hi = lo + PSI_BLK < nd ? lo + PSI_BLK : nd;
            part[j] = psi_block(g, nd, Z, grad, lo, hi);
        }
        for (long j = 0; j < nb; j++) psi += part[j];
    }
    return 0.5 * psi;
}

double ng_graph_psi(const ng_graph *g, size_t N, size_t d, const float *Z)
{
    if (!g || !Z) return 0.0;
    return psi_pass(g, N, d, Z, NULL);
}

ng_status ng_graph_psi_grad(const ng_graph *g, size_t N, size_t d, const float *Z, float *grad,
                            double *psi)
{
    if (!g || !Z || !grad) return ngi_fail(NG_EINVAL, "ng_graph_psi_grad: graph, Z or grad is NULL");
    double p = psi_pass(g, N, d, Z, grad);
    if (psi) *psi = p;
    return NG_OK;
}
