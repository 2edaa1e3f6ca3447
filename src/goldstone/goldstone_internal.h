/* goldstone_internal.h - cross-file internals of Goldstone-GD (laplacian.c, gauge.c,
 * sync.c, goldstone.c); hidden from the shared library, visible to the tests. */
#ifndef NG_GOLDSTONE_INTERNAL_H
#define NG_GOLDSTONE_INTERNAL_H

#include "internal.h"

struct ng_graph {
    size_t T, n_edges;
    size_t *ea, *eb; /* edge endpoints, ea[e] < eb[e] */
    double *ew;      /* edge weights */
    size_t *adj_off; /* CSR adjacency: neighbours of t are adj[adj_off[t] .. adj_off[t+1]) */
    size_t *adj;     /* neighbour node */
    size_t *adj_edge; /* edge index of that neighbour link */
    double *pinv;    /* T x T L+ */
    int chain;       /* edges are exactly (t, t+1), t = 0..T-2, in order */
};

/* Cross moments on the edges: M[e] = sum_i z_{b,i} z_{a,i}^T (d x d, row-major) for edge
 * e = (a, b), i.e. S_b^T S_a with slices S_t (N x d). Mf: d*d float scratch. */
void ngi_gauge_moments(const ng_graph *g, size_t N, size_t d, const float *Z, double *M,
                      float *Mf);
/* The same with up to nth OpenMP threads over the edges, Mf: nth*d*d floats. Each product
 * is one sgemm call whatever thread runs it, so with single-threaded BLAS the result does
 * not depend on nth. */
void ngi_gauge_moments_mt(const ng_graph *g, size_t N, size_t d, const float *Z, double *M,
                         float *Mf, int nth);

/* The second-order gauge loss L''(Gamma; M) of spec section 4, with Gamma (T*d*d) taken
 * as given (unconstrained d x d per node). If G != NULL, writes d L''/d Gamma (T*d*d).
 * work: d*d*4 doubles. */
double ngi_gauge_loss2(const ng_graph *g, size_t d, const double *M, const double *Gamma,
                      double *G, double *work);

/* Gamma_t = Gt_t - Gt_t^T for every t (T*d*d). */
void ngi_gauge_skew(size_t T, size_t d, const double *Gt, double *Gamma);

/* k2 natural-gradient steps on Gt given the moments M (gauge.c): work needs
 * 3*T*d*d + 4*d*d doubles. rho is rho'. */
void ngi_gauge_natgrad(const ng_graph *g, size_t d, const double *M, double *Gt, int k2,
                      double rho, double clip, double *work);

/* Rotates every slice by R_t(frac * Gamma_t): z <- R z, with up to nth OpenMP threads over
 * the slices, each with its own scratch: tmp: nth*N*d floats, Rd: nth*2*d*d doubles, Rf:
 * nth*d*d floats, rws: nth*rws_len doubles, rws_len >= ngi_rot_ws_len(d). No allocation;
 * the result does not depend on nth (single-threaded BLAS). */
ng_status ngi_gauge_rotate(size_t T, size_t N, size_t d, float *Z, const double *Gt,
                          double frac, ng_rotation rot, float *tmp, double *Rd, float *Rf,
                          double *rws, size_t rws_len, int nth);

/* Applies z <- R z (R d x d double) to the N x d slice S. tmp: N*d floats, Rf: d*d. */
void ngi_slice_rotate(size_t N, size_t d, float *S, const double *R, float *tmp, float *Rf);

/* Workspace of the symmetry phases (gauge and sync); ngi_gauge_ws_alloc sizes it for
 * (graph, N, d) once, after which a phase allocates nothing. */
typedef struct {
    int nth;      /* threads the per-thread scratch below is sized for */
    double *M;    /* n_edges * d * d */
    double *work; /* 3*T*d*d + 4*d*d */
    double *Rd;   /* nth * 2*d*d */
    float *Mf;    /* nth * d*d */
    float *Rf;    /* nth * d*d */
    float *tmp;   /* nth * N*d */
    double *rot;  /* nth * rot_len, rot_len = ngi_rot_ws_len(d): Procrustes, Cayley, exp */
    size_t rot_len;
    double *ret;  /* retract solver: 2*T*d*d + n_edges*d*d + nth*2*d*d */
} ngi_gauge_ws;
/* Threads for the per-slice loops of a phase: omp_get_max_threads() capped at T (and 64). */
int ngi_gauge_threads(size_t T);
ng_status ngi_gauge_ws_alloc(ngi_gauge_ws *w, const ng_graph *g, size_t N, size_t d);
void ngi_gauge_ws_free(ngi_gauge_ws *w);
/* sum_e w_e Tr M_e: psi(Z) = const - this for any rotation of the slices, so with
 * rotated moments it is the exact psi change of a rotation (gauge.c). */
double ngi_gauge_moment_trace(const ng_graph *g, size_t d, const double *M);
/* One gauge phase (moments, k2 natural-gradient steps, rotation) in the workspace, with
 * p->gauge_solver (retract leaves Gt alone). */
ng_status ngi_gauge_phase_ws(const ng_graph *g, size_t N, size_t d, float *Z, double *Gt,
                            const ng_goldstone_params *p, ngi_gauge_ws *w);

/* Sum of squares of Z in double. */
double ngi_sumsq(const float *Z, size_t n);

/* Synchronisation with caller workspace (no allocation): order, parent, pedge: T size_t
 * each; M, R: d*d doubles each; Mf: d*d floats; tmp: N*d floats; rws: rws_len >=
 * ngi_rot_ws_len(d) doubles. */
ng_status ngi_sync_ws(const ng_graph *g, size_t N, size_t d, float *Z, int *walls_removed,
                     size_t *order, size_t *parent, size_t *pedge, double *M, double *R,
                     float *Mf, float *tmp, double *rws, size_t rws_len);
/* Wall count with caller workspace (M, R: d*d doubles; Mf: d*d floats; rws as above). */
ng_status ngi_count_walls_ws(const ng_graph *g, size_t N, size_t d, const float *Z, int *walls,
                            double *M, double *R, float *Mf, double *rws, size_t rws_len);

/* The weights of ng_goldstone_phase_cost (goldstone.c): the cost of one multiply-add of
 * each kind in units of one entry of a step's passes over Z, fitted (one weight for all
 * d x d work) so that every measured ratio is exceeded by at least 20% (docs/goldstone.md). */
#define NGI_COST_LONG 0.037
#define NGI_COST_SMALL 0.0267
#define NGI_COST_FACT 0.0267
#define NGI_COST_CALL 100.0 /* per BLAS/LAPACK call: ~1.4 us measured at d = 10, T = 20 */

/* The method's graph, sizes and parameters array Z (for the training task). */
const ng_graph *ngi_goldstone_graph(const ng_goldstone *gs);
float *ngi_goldstone_z(const ng_goldstone *gs, size_t *T, size_t *N, size_t *d);
/* Reflection walls at the current Z in the method's workspace (no allocation). */
ng_status ngi_goldstone_count_walls(ng_goldstone *gs, int *walls);

/* Breadth-first spanning tree from node 0: order[k] is the k-th visited node,
 * parent[t] its parent (parent[0] = 0) and pedge[t] the edge to it. */
void ngi_graph_bfs(const ng_graph *g, size_t *order, size_t *parent, size_t *pedge);

/* Pieces of the inner optimisers (inner_optim.c) for callers that keep their own step
 * counts per block of parameters (the lazy per-row optimiser of dwe):
 * ngi_inner_params_check validates p (messages start with who); ngi_inner_rate_at is
 * rho_s at step s; ngi_inner_update applies ng_inner_step's update to n entries whose own
 * count is s (steps done before this one: Adam's bias corrections use s + 1) with the
 * given rate; a, b are the kind's state for these entries (AdaGrad h; Adam m, v; unused
 * by GD). Serial; never allocates. */
ng_status ngi_inner_params_check(const ng_inner_params *p, const char *who);
double ngi_inner_rate_at(const ng_inner_params *p, int64_t s);
void ngi_inner_update(const ng_inner_params *p, double rate, int64_t s, float *x, const float *g,
                      float *a, float *b, size_t n);

#endif
