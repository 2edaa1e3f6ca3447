/* net.c - the feed-forward network engine K-FAC runs on (Martens & Grosse 2015, §1-§2):
 * forward, stable losses, backward with per-case g_k, the R-op (forward-mode J V) and
 * the output Fisher for the exact-Fisher quadratic model (spec kfac.md §4).
 *
 * Layout: all W_k in one float slab (d_{k+1} x (d_k + 1), row-major, bias last column).
 * Per-case buffers for max_batch cases are allocated once in ng_net_new:
 *   abar_k  m x (d_k + 1): the activations with the trailing 1. The hidden pre-activations
 *           s_k are written by sgemm straight into abar_{k+1} (ldc = d_{k+1} + 1, so the
 *           ones column is never touched) and the activation is applied in place; every
 *           derivative is recovered from the activation value (net_act.c), so only the
 *           output s_{l-1} = z needs its own buffer.
 *   g_k     m x d_{k+1}: dL/ds_k per case (not divided by m).
 *   r[2]    m x max hidden width: ping-pong buffers of the R-op.
 *   mean    m x d_l: output mean. */
#include "net_internal.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ng_net {
    ng_net_spec spec;
    size_t max_batch;
    size_t n_params;
    size_t off[NG_NET_MAX_LAYERS + 1]; /* W_k offsets in the slab, off[l] = n_params */
    float *params;
    float *work; /* one slab for every per-case buffer */
    size_t work_floats;
    float *abar[NG_NET_MAX_LAYERS];
    float *g[NG_NET_MAX_LAYERS];
    float *z;
    float *mean;
    float *r[2];
    size_t m_fwd; /* cases of the last forward; 0 = none */
};

/* ------------------------------------------------------------------ names and specs */
static const char *const k_act_names[] = {"logistic", "tanh", "relu", "softplus", "linear"};
static const char *const k_loss_names[] = {"bernoulli", "softmax", "gaussian"};

const char *ng_act_name(ng_act a)
{
    return (unsigned)a < sizeof k_act_names / sizeof k_act_names[0] ? k_act_names[a] : "?";
}

const char *ng_loss_name(ng_loss l)
{
    return (unsigned)l < sizeof k_loss_names / sizeof k_loss_names[0] ? k_loss_names[l] : "?";
}

static int act_from_name(const char *s, size_t n, ng_act *out)
{
    for (size_t i = 0; i < sizeof k_act_names / sizeof k_act_names[0]; i++)
        if (strlen(k_act_names[i]) == n && strncmp(s, k_act_names[i], n) == 0) {
            *out = (ng_act)i;
            return 1;
        }
    if (n == 7 && strncmp(s, "sigmoid", 7) == 0) {
        *out = NG_ACT_LOGISTIC;
        return 1;
    }
    return 0;
}

#define NG_NET_MAX_WIDTH ((size_t)1 << 24)

ng_status ng_net_spec_parse(const char *sizes, const char *acts, ng_loss loss, ng_net_spec *out)
{
    if (!sizes || !out) return ngi_fail(NG_EINVAL, "ng_net_spec_parse: NULL argument");
    if ((unsigned)loss > NG_LOSS_GAUSSIAN)
        return ngi_fail(NG_EINVAL, "net spec: unknown loss %d: expected bernoulli, softmax or gaussian",
                       (int)loss);
    ng_net_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.loss = loss;
    int n = 0;
    const char *p = sizes;
    for (;;) {
        const char *e = p;
        while (*e && *e != '-') e++;
        size_t len = (size_t)(e - p);
        if (n > NG_NET_MAX_LAYERS)
            return ngi_fail(NG_EINVAL, "net spec '%s': more than %d layers", sizes, NG_NET_MAX_LAYERS);
        char tok[32];
        int ok = len > 0 && len < sizeof tok;
        unsigned long long v = 0;
        if (ok) {
            memcpy(tok, p, len);
            tok[len] = 0;
            for (size_t i = 0; i < len; i++)
                if (tok[i] < '0' || tok[i] > '9') ok = 0;
            if (ok) {
                errno = 0;
                v = strtoull(tok, NULL, 10);
                ok = errno == 0 && v >= 1 && v <= NG_NET_MAX_WIDTH;
            }
        }
        if (!ok)
            return ngi_fail(NG_EINVAL,
                           "net spec '%s': bad layer size '%.*s' (token %d): expected an integer in "
                           "1..%zu separated by '-'",
                           sizes, (int)len, p, n + 1, NG_NET_MAX_WIDTH);
        sp.sizes[n++] = (size_t)v;
        if (!*e) break;
        p = e + 1;
    }
    if (n < 2)
        return ngi_fail(NG_EINVAL, "net spec '%s': expected at least two sizes (input-output), e.g. 784-30-784",
                       sizes);
    sp.n_layers = n - 1;
    int nh = sp.n_layers - 1; /* hidden activations */
    for (int k = 0; k < nh; k++) sp.act[k] = NG_ACT_LOGISTIC;
    if (acts && *acts && nh > 0) {
        int count = 0;
        const char *q = acts;
        ng_act tmp[NG_NET_MAX_LAYERS];
        for (;;) {
            const char *e = q;
            while (*e && *e != ',') e++;
            size_t len = (size_t)(e - q);
            ng_act a;
            if (!act_from_name(q, len, &a))
                return ngi_fail(NG_EINVAL,
                               "net activations '%s': unknown activation '%.*s': expected logistic, "
                               "tanh, relu, softplus or linear",
                               acts, (int)len, q);
            if (count >= NG_NET_MAX_LAYERS)
                return ngi_fail(NG_EINVAL, "net activations '%s': too many names", acts);
            tmp[count++] = a;
            if (!*e) break;
            q = e + 1;
        }
        if (count == 1) {
            for (int k = 0; k < nh; k++) sp.act[k] = tmp[0];
        } else if (count == nh) {
            for (int k = 0; k < nh; k++) sp.act[k] = tmp[k];
        } else {
            return ngi_fail(NG_EINVAL,
                           "net activations '%s': %d names for %d hidden layers of '%s': expected 1 or %d",
                           acts, count, nh, sizes, nh);
        }
    }
    *out = sp;
    return NG_OK;
}

ng_status ng_net_spec_preset(const char *name, ng_net_spec *out)
{
    static const struct { const char *name, *sizes; ng_loss loss; } presets[] = {
        {"mnist", "784-1000-500-250-30-250-500-1000-784", NG_LOSS_BERNOULLI},
        {"curves", "784-400-200-100-50-25-6-25-50-100-200-400-784", NG_LOSS_BERNOULLI},
        {"faces", "625-2000-1000-500-30-500-1000-2000-625", NG_LOSS_GAUSSIAN},
    };
    if (!name || !out) return ngi_fail(NG_EINVAL, "ng_net_spec_preset: NULL argument");
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        if (strcmp(name, presets[i].name) != 0) continue;
        ng_status st = ng_net_spec_parse(presets[i].sizes, "logistic", presets[i].loss, out);
        if (st) return st;
        /* linear code layer: the narrowest hidden layer */
        int code = 0;
        for (int k = 1; k < out->n_layers - 1; k++)
            if (out->sizes[k + 1] < out->sizes[code + 1]) code = k;
        out->act[code] = NG_ACT_LINEAR;
        return NG_OK;
    }
    return ngi_fail(NG_EINVAL, "net preset '%s': unknown: expected mnist, curves or faces", name);
}

/* ------------------------------------------------------------------ construction */
static ng_status spec_check(const ng_net_spec *s)
{
    if (s->n_layers < 1 || s->n_layers > NG_NET_MAX_LAYERS)
        return ngi_fail(NG_EINVAL, "ng_net_new: n_layers %d: expected 1..%d", s->n_layers,
                       NG_NET_MAX_LAYERS);
    for (int k = 0; k <= s->n_layers; k++)
        if (s->sizes[k] < 1 || s->sizes[k] > NG_NET_MAX_WIDTH)
            return ngi_fail(NG_EINVAL, "ng_net_new: size d_%d = %zu: expected 1..%zu", k, s->sizes[k],
                           NG_NET_MAX_WIDTH);
    for (int k = 0; k < s->n_layers - 1; k++)
        if ((unsigned)s->act[k] > NG_ACT_LINEAR)
            return ngi_fail(NG_EINVAL, "ng_net_new: activation %d of layer %d unknown", (int)s->act[k], k);
    if ((unsigned)s->loss > NG_LOSS_GAUSSIAN)
        return ngi_fail(NG_EINVAL, "ng_net_new: loss %d unknown", (int)s->loss);
    return NG_OK;
}

/* floats rounded up to a 64-byte multiple so every view starts aligned */
static size_t pad16(size_t n) { return (n + 15) & ~(size_t)15; }

static float *alloc_floats(size_t n)
{
    size_t bytes = pad16(n ? n : 1) * sizeof(float);
    float *p = aligned_alloc(64, bytes);
    if (!p) ngi_fail(NG_ENOMEM, "out of memory allocating %zu bytes for the network", bytes);
    return p;
}

ng_status ng_net_new(const ng_net_spec *spec, size_t max_batch, ng_net **out)
{
    if (!spec || !out) return ngi_fail(NG_EINVAL, "ng_net_new: NULL argument");
    *out = NULL;
    ng_status st = spec_check(spec);
    if (st) return st;
    if (max_batch < 1) return ngi_fail(NG_EINVAL, "ng_net_new: max_batch 0: expected >= 1");
    const int l = spec->n_layers;
    const size_t *d = spec->sizes;

    ng_net *net = ngi_xcalloc(1, sizeof *net);
    if (!net) return NG_ENOMEM;
    net->spec = *spec;
    net->max_batch = max_batch;
    size_t off = 0, maxhid = 0, per_case = 0;
    for (int k = 0; k < l; k++) {
        net->off[k] = off;
        off += d[k + 1] * (d[k] + 1);
        if (k < l - 1 && d[k + 1] > maxhid) maxhid = d[k + 1];
    }
    net->off[l] = off;
    net->n_params = off;
    /* per-case floats of every buffer (each padded), to check max_batch * that fits */
    for (int k = 0; k < l; k++) per_case += (d[k] + 1) + d[k + 1] + 32;
    per_case += 2 * d[l] + 2 * maxhid + 64;
    if (max_batch > (SIZE_MAX / sizeof(float)) / per_case) {
        free(net);
        return ngi_fail(NG_ENOMEM, "ng_net_new: max_batch %zu too large for this network", max_batch);
    }
    net->params = alloc_floats(net->n_params);
    size_t w = 0, m = max_batch;
    size_t o_abar[NG_NET_MAX_LAYERS], o_g[NG_NET_MAX_LAYERS], o_z, o_mean, o_r0, o_r1;
    for (int k = 0; k < l; k++) {
        o_abar[k] = w;
        w += pad16(m * (d[k] + 1));
        o_g[k] = w;
        w += pad16(m * d[k + 1]);
    }
    o_z = w;
    w += pad16(m * d[l]);
    o_mean = w;
    w += pad16(m * d[l]);
    o_r0 = w;
    w += pad16(m * maxhid);
    o_r1 = w;
    w += pad16(m * maxhid);
    net->work_floats = w;
    net->work = net->params ? alloc_floats(w) : NULL;
    if (!net->params || !net->work) {
        free(net->params);
        free(net->work);
        free(net);
        return NG_ENOMEM;
    }
    memset(net->params, 0, net->n_params * sizeof(float));
    for (int k = 0; k < l; k++) {
        net->abar[k] = net->work + o_abar[k];
        net->g[k] = net->work + o_g[k];
    }
    net->z = net->work + o_z;
    net->mean = net->work + o_mean;
    net->r[0] = net->work + o_r0;
    net->r[1] = net->work + o_r1;
    /* the trailing ones column is written once; sgemm (ldc = d + 1) never touches it */
    for (int k = 0; k < l; k++) {
        memset(net->abar[k], 0, m * (d[k] + 1) * sizeof(float));
        for (size_t i = 0; i < m; i++) net->abar[k][i * (d[k] + 1) + d[k]] = 1.0f;
    }
    *out = net;
    return NG_OK;
}

void ng_net_free(ng_net *net)
{
    if (!net) return;
    free(net->params);
    free(net->work);
    free(net);
}

const ng_net_spec *ng_net_get_spec(const ng_net *net) { return net ? &net->spec : NULL; }
size_t ng_net_max_batch(const ng_net *net) { return net ? net->max_batch : 0; }
size_t ng_net_num_params(const ng_net *net) { return net ? net->n_params : 0; }
float *ng_net_params(ng_net *net) { return net ? net->params : NULL; }
size_t ng_net_workspace_bytes(const ng_net *net)
{
    return net ? pad16(net->n_params) * sizeof(float) + net->work_floats * sizeof(float) : 0;
}

size_t ng_net_layer_offset(const ng_net *net, int k)
{
    if (!net) return 0;
    if (k < 0) k = 0;
    if (k > net->spec.n_layers) k = net->spec.n_layers;
    return net->off[k];
}

size_t ng_net_cases(const ng_net *net) { return net ? net->m_fwd : 0; }

/* ------------------------------------------------------------------ initialisation */
void ng_net_init_sparse(ng_net *net, ng_rng *rng, int k)
{
    if (!net || !rng) return;
    memset(net->params, 0, net->n_params * sizeof(float));
    for (int L = 0; L < net->spec.n_layers; L++) {
        size_t din = net->spec.sizes[L], dout = net->spec.sizes[L + 1];
        float *W = net->params + net->off[L];
        for (size_t i = 0; i < dout; i++)
            for (int t = 0; t < k; t++) {
                size_t j = (size_t)ng_rng_below(rng, din); /* with replacement */
                W[i * (din + 1) + j] = (float)ng_rng_normal(rng);
            }
    }
}

void ng_net_init_glorot(ng_net *net, ng_rng *rng)
{
    if (!net || !rng) return;
    for (int L = 0; L < net->spec.n_layers; L++) {
        size_t din = net->spec.sizes[L], dout = net->spec.sizes[L + 1];
        float *W = net->params + net->off[L];
        double r = sqrt(6.0 / (double)(din + dout));
        for (size_t i = 0; i < dout; i++) {
            for (size_t j = 0; j < din; j++) W[i * (din + 1) + j] = (float)((2.0 * ng_rng_uniform(rng) - 1.0) * r);
            W[i * (din + 1) + din] = 0.0f;
        }
    }
}

/* ------------------------------------------------------------------ passes */
static ng_status need_fwd(const ng_net *net, size_t m, const char *fn)
{
    if (!net) return ngi_fail(NG_EINVAL, "%s: NULL network", fn);
    if (net->m_fwd == 0) return ngi_fail(NG_EINVAL, "%s: no forward pass yet", fn);
    if (m < 1 || m > net->m_fwd)
        return ngi_fail(NG_EINVAL, "%s: m = %zu: expected 1..%zu (cases of the last forward)", fn, m,
                       net->m_fwd);
    return NG_OK;
}

ng_status ng_net_forward(ng_net *net, const float *X, size_t m)
{
    if (!net || !X) return ngi_fail(NG_EINVAL, "ng_net_forward: NULL argument");
    if (m < 1 || m > net->max_batch)
        return ngi_fail(NG_EINVAL, "ng_net_forward: m = %zu: expected 1..%zu (max_batch)", m,
                       net->max_batch);
    const int l = net->spec.n_layers;
    const size_t *d = net->spec.sizes;
    const size_t d0 = d[0];
    float *A0 = net->abar[0];
    long mm = (long)m;
#pragma omp parallel for schedule(static) if (m * d0 >= 65536)
    for (long i = 0; i < mm; i++) memcpy(A0 + (size_t)i * (d0 + 1), X + (size_t)i * d0, d0 * sizeof(float));
    for (int k = 0; k < l; k++) {
        const size_t din = d[k], dout = d[k + 1];
        const int last = k == l - 1;
        float *outp = last ? net->z : net->abar[k + 1];
        const size_t ldo = last ? dout : dout + 1;
        /* S_k = Abar_k W_k^T  (m x dout) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)dout, (int)(din + 1), 1.0f,
                    net->abar[k], (int)(din + 1), net->params + net->off[k], (int)(din + 1), 0.0f, outp,
                    (int)ldo);
        if (!last) ngi_act_apply(net->spec.act[k], outp, m, dout, ldo);
    }
    net->m_fwd = m;
    return NG_OK;
}

/* Sum of f(i) over i < m, formed in fixed blocks so the result is thread-count invariant. */
typedef double (*case_fn)(const ng_net *net, const void *ctx, size_t i);
static double blocked_sum(const ng_net *net, size_t m, case_fn f, const void *ctx)
{
    double part[NG_NET_NBLOCKS];
    size_t work = m * net->spec.sizes[net->spec.n_layers];
#pragma omp parallel for schedule(static) if (work >= 65536)
    for (int b = 0; b < NG_NET_NBLOCKS; b++) {
        size_t lo = m * (size_t)b / NG_NET_NBLOCKS, hi = m * (size_t)(b + 1) / NG_NET_NBLOCKS;
        double s = 0.0;
        for (size_t i = lo; i < hi; i++) s += f(net, ctx, i);
        part[b] = s;
    }
    double t = 0.0;
    for (int b = 0; b < NG_NET_NBLOCKS; b++) t += part[b];
    return t;
}

static double loss_fn(const ng_net *net, const void *ctx, size_t i)
{
    size_t dl = net->spec.sizes[net->spec.n_layers];
    return ngi_loss_case(net->spec.loss, net->z + i * dl, (const float *)ctx + i * dl, dl);
}

double ng_net_loss(const ng_net *net, const float *Y, size_t m)
{
    if (need_fwd(net, m, "ng_net_loss")) return NAN;
    if (!Y) {
        ngi_fail(NG_EINVAL, "ng_net_loss: NULL targets");
        return NAN;
    }
    return blocked_sum(net, m, loss_fn, Y) / (double)m;
}

ng_status ng_net_backward(ng_net *net, const float *Y, size_t m, float *grad)
{
    ng_status st = need_fwd(net, m, "ng_net_backward");
    if (st) return st;
    if (!Y) return ngi_fail(NG_EINVAL, "ng_net_backward: NULL targets");
    const int l = net->spec.n_layers;
    const size_t *d = net->spec.sizes;
    const size_t dl = d[l];
    float *gl = net->g[l - 1];
    long mm = (long)m;
#pragma omp parallel for schedule(static) if (m * dl >= 16384)
    for (long i = 0; i < mm; i++)
        ngi_loss_grad_case(net->spec.loss, net->z + (size_t)i * dl, Y + (size_t)i * dl, dl,
                          gl + (size_t)i * dl);
    const float inv_m = 1.0f / (float)m;
    for (int k = l - 1; k >= 0; k--) {
        const size_t din = d[k], dout = d[k + 1];
        if (grad) /* DW_k = (1/m) G_k^T Abar_k */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)dout, (int)(din + 1), (int)m,
                        inv_m, net->g[k], (int)dout, net->abar[k], (int)(din + 1), 0.0f,
                        grad + net->off[k], (int)(din + 1));
        if (k == 0) break;
        /* g_{k-1} = (G_k W_k[:, :din]) .* act'(a_k) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)din, (int)dout, 1.0f,
                    net->g[k], (int)dout, net->params + net->off[k], (int)(din + 1), 0.0f, net->g[k - 1],
                    (int)din);
        ngi_act_mul_deriv(net->spec.act[k - 1], net->abar[k], din + 1, net->g[k - 1], din, m, din);
    }
    return NG_OK;
}

ng_status ng_net_sample_targets(const ng_net *net, size_t m, ng_rng *rng, float *Yhat)
{
    ng_status st = need_fwd(net, m, "ng_net_sample_targets");
    if (st) return st;
    if (!rng || !Yhat) return ngi_fail(NG_EINVAL, "ng_net_sample_targets: NULL argument");
    const size_t dl = net->spec.sizes[net->spec.n_layers];
    for (size_t i = 0; i < m; i++) {
        const float *z = net->z + i * dl;
        float *y = Yhat + i * dl;
        switch (net->spec.loss) {
        case NG_LOSS_BERNOULLI:
            for (size_t j = 0; j < dl; j++) y[j] = ng_rng_uniform(rng) < ngi_sigmoid_d(z[j]) ? 1.0f : 0.0f;
            break;
        case NG_LOSS_SOFTMAX: {
            double zmax = -INFINITY, s = 0.0;
            for (size_t j = 0; j < dl; j++)
                if (z[j] > zmax) zmax = z[j];
            for (size_t j = 0; j < dl; j++) s += exp((double)z[j] - zmax);
            double u = ng_rng_uniform(rng) * s, c = 0.0;
            size_t pick = dl - 1;
            for (size_t j = 0; j < dl; j++) {
                c += exp((double)z[j] - zmax);
                if (u < c) {
                    pick = j;
                    break;
                }
            }
            for (size_t j = 0; j < dl; j++) y[j] = j == pick ? 1.0f : 0.0f;
            break;
        }
        case NG_LOSS_GAUSSIAN:
            for (size_t j = 0; j < dl; j++) y[j] = z[j] + (float)ng_rng_normal(rng);
            break;
        }
    }
    return NG_OK;
}

const float *ng_net_abar(const ng_net *net, int k)
{
    if (!net || k < 0 || k >= net->spec.n_layers) return NULL;
    return net->abar[k];
}

const float *ng_net_g(const ng_net *net, int k)
{
    if (!net || k < 0 || k >= net->spec.n_layers) return NULL;
    return net->g[k];
}

const float *ng_net_output(const ng_net *net)
{
    return net ? net->z : NULL;
}

const float *ng_net_output_mean(ng_net *net, size_t m)
{
    if (need_fwd(net, m, "ng_net_output_mean")) return NULL;
    const size_t dl = net->spec.sizes[net->spec.n_layers];
    long mm = (long)m;
#pragma omp parallel for schedule(static) if (m * dl >= 16384)
    for (long i = 0; i < mm; i++)
        ngi_loss_mean_case(net->spec.loss, net->z + (size_t)i * dl, dl, net->mean + (size_t)i * dl);
    return net->mean;
}

ng_status ng_net_rop(ng_net *net, const float *V, size_t m, float *JV)
{
    ng_status st = need_fwd(net, m, "ng_net_rop");
    if (st) return st;
    if (!V || !JV) return ngi_fail(NG_EINVAL, "ng_net_rop: NULL argument");
    const int l = net->spec.n_layers;
    const size_t *d = net->spec.sizes;
    /* R(abar_0) = 0, so R(s_0) = Abar_0 V_0^T; then
     * R(s_k) = R(a_k) W_k[:, :d_k]^T + Abar_k V_k^T and R(a_{k+1}) = act'(s_k) .* R(s_k). */
    for (int k = 0; k < l; k++) {
        const size_t din = d[k], dout = d[k + 1];
        const int last = k == l - 1;
        float *outp = last ? JV : net->r[k & 1];
        if (k > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)dout, (int)din, 1.0f,
                        net->r[(k - 1) & 1], (int)din, net->params + net->off[k], (int)(din + 1), 0.0f,
                        outp, (int)dout);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)dout, (int)(din + 1), 1.0f,
                    net->abar[k], (int)(din + 1), V + net->off[k], (int)(din + 1), k > 0 ? 1.0f : 0.0f,
                    outp, (int)dout);
        if (!last) ngi_act_mul_deriv(net->spec.act[k], net->abar[k + 1], dout + 1, outp, dout, m, dout);
    }
    return NG_OK;
}

typedef struct { const float *a, *b; } fisher_ctx;

static double fisher_fn(const ng_net *net, const void *vctx, size_t i)
{
    const fisher_ctx *c = vctx;
    const size_t dl = net->spec.sizes[net->spec.n_layers];
    const float *z = net->z + i * dl, *a = c->a + i * dl, *b = c->b + i * dl;
    double acc = 0.0;
    switch (net->spec.loss) {
    case NG_LOSS_BERNOULLI:
        acc = ngi_bernoulli_fisher_case(z, a, b, dl);
        break;
    case NG_LOSS_SOFTMAX: {
        double zmax = -INFINITY, s = 0.0, pa = 0.0, pb = 0.0, pab = 0.0;
        for (size_t j = 0; j < dl; j++)
            if (z[j] > zmax) zmax = z[j];
        for (size_t j = 0; j < dl; j++) s += exp((double)z[j] - zmax);
        for (size_t j = 0; j < dl; j++) {
            double p = exp((double)z[j] - zmax) / s;
            pa += p * a[j];
            pb += p * b[j];
            pab += p * a[j] * b[j];
        }
        acc = pab - pa * pb; /* a^T (diag(p) - p p^T) b */
        break;
    }
    case NG_LOSS_GAUSSIAN:
        for (size_t j = 0; j < dl; j++) acc += (double)a[j] * b[j];
        break;
    }
    return acc;
}

double ng_net_output_fisher_dot(const ng_net *net, size_t m, const float *Ja, const float *Jb)
{
    if (need_fwd(net, m, "ng_net_output_fisher_dot")) return NAN;
    if (!Ja || !Jb) {
        ngi_fail(NG_EINVAL, "ng_net_output_fisher_dot: NULL argument");
        return NAN;
    }
    fisher_ctx c = {Ja, Jb};
    return blocked_sum(net, m, fisher_fn, &c) / (double)m;
}

static double error_fn(const ng_net *net, const void *ctx, size_t i)
{
    const size_t dl = net->spec.sizes[net->spec.n_layers];
    const float *z = net->z + i * dl, *y = (const float *)ctx + i * dl;
    if (net->spec.loss == NG_LOSS_SOFTMAX) {
        size_t az = 0, ay = 0;
        for (size_t j = 1; j < dl; j++) {
            if (z[j] > z[az]) az = j;
            if (y[j] > y[ay]) ay = j;
        }
        return az != ay ? 1.0 : 0.0;
    }
    if (net->spec.loss == NG_LOSS_BERNOULLI) return ngi_bernoulli_sqerr_case(z, y, dl);
    double acc = 0.0;
    for (size_t j = 0; j < dl; j++) {
        double r = (double)z[j] - y[j];
        acc += r * r;
    }
    return acc;
}

double ng_net_error(ng_net *net, const float *Y, size_t m)
{
    if (need_fwd(net, m, "ng_net_error")) return NAN;
    if (!Y) {
        ngi_fail(NG_EINVAL, "ng_net_error: NULL targets");
        return NAN;
    }
    return blocked_sum(net, m, error_fn, Y) / (double)m;
}

ng_status ng_net_evaluate(ng_net *net, const float *X, const float *Y, size_t n, double *loss,
                          double *error)
{
    if (!net || !X || !Y) return ngi_fail(NG_EINVAL, "ng_net_evaluate: NULL argument");
    if (n == 0) return ngi_fail(NG_EINVAL, "ng_net_evaluate: empty set");
    const size_t d0 = net->spec.sizes[0], dl = net->spec.sizes[net->spec.n_layers];
    double ls = 0.0, es = 0.0;
    for (size_t i0 = 0; i0 < n; i0 += net->max_batch) {
        size_t m = n - i0 < net->max_batch ? n - i0 : net->max_batch;
        ng_status st = ng_net_forward(net, X + i0 * d0, m);
        if (st) return st;
        const float *Yc = Y + i0 * dl;
        if (loss) ls += blocked_sum(net, m, loss_fn, Yc);
        if (error) es += blocked_sum(net, m, error_fn, Yc);
    }
    if (loss) *loss = ls / (double)n;
    if (error) *error = es / (double)n;
    return NG_OK;
}
