/* Copyright 2026 The sketch-rnn-tf2 Authors.
 *
 * Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 *
 * The LSTM cell's elementwise work (lstm_math.lstm_gates and its backward,
 * recurrent dropout on g), or the layer-norm LSTM's (lstm_math's layer norms of
 * the 4 gate blocks and of c, and the gammas' and betas' gradients summed per
 * row as bptt does), as one hand-written loop a step, forward over T steps then
 * backward, each step's [B, n] slice in cache: what a fused step kernel would
 * cost on this machine. scripts/step_bound.py builds and runs it:
 *
 *   cc -O3 -march=native -ffast-math -fopenmp-simd lstm_elementwise.c -lm
 *   ./a.out B n [ln]     # prints the best of 7 passes, in seconds
 *   ./a.out check [ln]   # T=2, B=2, n=3: every output, for tests/test_step_bound.py
 *
 * The backward recomputes the gates from the saved pre-activations, as the
 * project's XLA loops do; dh is the loss's share at every step (the product
 * that carries dh back a step is not elementwise work).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* tanh as a rational function (the form Eigen uses), clamped where it is +-1
 * in float32: it vectorises, where libm's tanh does not. */
static inline float fast_tanh(float x) {
  const float clamp = 7.90531110763549805f;
  x = x < -clamp ? -clamp : (x > clamp ? clamp : x);
  float x2 = x * x;
  float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
  p = x2 * p + -8.60467152213735e-11f;
  p = x2 * p + 5.12229709037114e-08f;
  p = x2 * p + 1.48572235717979e-05f;
  p = x2 * p + 6.37261928875436e-04f;
  p = x2 * p + 4.89352455891786e-03f;
  float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
  q = x2 * q + 2.26843463243900e-03f;
  q = x2 * q + 4.89352518554385e-03f;
  return x * p / q;
}

static inline float sigmoid(float x) { return 0.5f * fast_tanh(0.5f * x) + 0.5f; }

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* a [T, B, 4n] pre-activations (gates i, j, f, o), c [T+1, B, n] (c[0] the
 * initial state, the forward writes the rest), mask [T, B, n], dh [B, n] the
 * loss's gradient of h at every step; writes h [T, B, n], da [T, B, 4n] and
 * dc [B, n] (the gradient of c[0]). */
static void run(int T, int B, int n, const float *a, float *c, const float *mask,
                const float *dh, float *h, float *da, float *dc) {
  size_t S = (size_t)B * n;
  for (int t = 0; t < T; t++) {
    for (int b = 0; b < B; b++) {
      const float *ab = a + 4 * S * t + 4 * (size_t)n * b;
      const float *cp = c + S * t + (size_t)n * b, *m = mask + S * t + (size_t)n * b;
      float *cn = c + S * (t + 1) + (size_t)n * b, *hb = h + S * t + (size_t)n * b;
#pragma omp simd
      for (int k = 0; k < n; k++) {
        float i = sigmoid(ab[k]), g = fast_tanh(ab[n + k]);
        float f = sigmoid(ab[2 * n + k] + 1.0f), o = sigmoid(ab[3 * n + k]);
        float cc = cp[k] * f + i * g * m[k];
        cn[k] = cc;
        hb[k] = o * fast_tanh(cc);
      }
    }
  }
  memset(dc, 0, S * sizeof(float));
  for (int t = T - 1; t >= 0; t--) {
    for (int b = 0; b < B; b++) {
      const float *ab = a + 4 * S * t + 4 * (size_t)n * b;
      const float *cp = c + S * t + (size_t)n * b, *cn = c + S * (t + 1) + (size_t)n * b;
      const float *m = mask + S * t + (size_t)n * b, *dhb = dh + (size_t)n * b;
      float *db = da + 4 * S * t + 4 * (size_t)n * b, *dcb = dc + (size_t)n * b;
#pragma omp simd
      for (int k = 0; k < n; k++) {
        float i = sigmoid(ab[k]), g = fast_tanh(ab[n + k]);
        float f = sigmoid(ab[2 * n + k] + 1.0f), o = sigmoid(ab[3 * n + k]);
        float tc = fast_tanh(cn[k]);
        float d = dcb[k] + dhb[k] * o * (1.0f - tc * tc);
        db[k] = d * g * m[k] * i * (1.0f - i);
        db[n + k] = d * i * m[k] * (1.0f - g * g);
        db[2 * n + k] = d * cp[k] * f * (1.0f - f);
        db[3 * n + k] = dhb[k] * tc * o * (1.0f - o);
        dcb[k] = d * f;
      }
    }
  }
}

#define LN_EPSILON 1e-3f

/* Magenta's layer norm of x [n]: xhat and 1 / std; y = gamma xhat + beta. */
static inline float norm(const float *x, int n, float *xhat) {
  float mean = 0.0f, var = 0.0f;
  for (int k = 0; k < n; k++) mean += x[k];
  mean /= n;
  for (int k = 0; k < n; k++) var += (x[k] - mean) * (x[k] - mean);
  float rstd = 1.0f / __builtin_sqrtf(var / n + LN_EPSILON);
#pragma omp simd
  for (int k = 0; k < n; k++) xhat[k] = (x[k] - mean) * rstd;
  return rstd;
}

/* dx of y = gamma xhat + beta from dy, over one block of n. */
static inline void norm_grad(const float *dy, const float *xhat, float rstd,
                             const float *gamma, int n, float *dx) {
  float mg = 0.0f, mgx = 0.0f;
  for (int k = 0; k < n; k++) {
    mg += dy[k] * gamma[k];
    mgx += dy[k] * gamma[k] * xhat[k];
  }
  mg /= n;
  mgx /= n;
#pragma omp simd
  for (int k = 0; k < n; k++) dx[k] = rstd * (dy[k] * gamma[k] - mg - xhat[k] * mgx);
}

/* As run, for the layer-norm LSTM; gamma [4n], beta [4n], c_gamma [n], c_beta [n];
 * acc [B, 10n]: per row the summed gradients of gamma, beta, c_gamma, c_beta. */
static void run_ln(int T, int B, int n, const float *a, float *c, const float *mask,
                   const float *dh, const float *gamma, const float *beta,
                   const float *c_gamma, const float *c_beta, float *h, float *da,
                   float *dc, float *acc) {
  size_t S = (size_t)B * n;
  float *xhat = malloc(4 * n * sizeof(float)), *y = malloc(4 * n * sizeof(float));
  float *xc = malloc(n * sizeof(float)), *dy = malloc(4 * n * sizeof(float));
  float *dyc = malloc(n * sizeof(float)), *dcn = malloc(n * sizeof(float));
  float rstd[4];
  for (int t = 0; t < T; t++) {
    for (int b = 0; b < B; b++) {
      const float *ab = a + 4 * S * t + 4 * (size_t)n * b;
      const float *cp = c + S * t + (size_t)n * b, *m = mask + S * t + (size_t)n * b;
      float *cn = c + S * (t + 1) + (size_t)n * b, *hb = h + S * t + (size_t)n * b;
      for (int q = 0; q < 4; q++) norm(ab + q * n, n, xhat + q * n);
#pragma omp simd
      for (int k = 0; k < 4 * n; k++) y[k] = gamma[k] * xhat[k] + beta[k];
#pragma omp simd
      for (int k = 0; k < n; k++) {
        float i = sigmoid(y[k]), g = fast_tanh(y[n + k]), f = sigmoid(y[2 * n + k] + 1.0f);
        cn[k] = cp[k] * f + i * g * m[k];
      }
      norm(cn, n, xc);
#pragma omp simd
      for (int k = 0; k < n; k++)
        hb[k] = sigmoid(y[3 * n + k]) * fast_tanh(c_gamma[k] * xc[k] + c_beta[k]);
    }
  }
  memset(dc, 0, S * sizeof(float));
  memset(acc, 0, 10 * S * sizeof(float));
  for (int t = T - 1; t >= 0; t--) {
    for (int b = 0; b < B; b++) {
      const float *ab = a + 4 * S * t + 4 * (size_t)n * b;
      const float *cp = c + S * t + (size_t)n * b, *cn = c + S * (t + 1) + (size_t)n * b;
      const float *m = mask + S * t + (size_t)n * b, *dhb = dh + (size_t)n * b;
      float *db = da + 4 * S * t + 4 * (size_t)n * b, *dcb = dc + (size_t)n * b;
      float *ab_acc = acc + 10 * (size_t)n * b;
      for (int q = 0; q < 4; q++) rstd[q] = norm(ab + q * n, n, xhat + q * n);
#pragma omp simd
      for (int k = 0; k < 4 * n; k++) y[k] = gamma[k] * xhat[k] + beta[k];
      float rstd_c = norm(cn, n, xc);
#pragma omp simd
      for (int k = 0; k < n; k++) {
        float o = sigmoid(y[3 * n + k]), tc = fast_tanh(c_gamma[k] * xc[k] + c_beta[k]);
        dyc[k] = dhb[k] * o * (1.0f - tc * tc);
        dy[3 * n + k] = dhb[k] * tc * o * (1.0f - o);
      }
      norm_grad(dyc, xc, rstd_c, c_gamma, n, dcn);
#pragma omp simd
      for (int k = 0; k < n; k++) {
        float i = sigmoid(y[k]), g = fast_tanh(y[n + k]), f = sigmoid(y[2 * n + k] + 1.0f);
        float d = dcb[k] + dcn[k];
        dy[k] = d * g * m[k] * i * (1.0f - i);
        dy[n + k] = d * i * m[k] * (1.0f - g * g);
        dy[2 * n + k] = d * cp[k] * f * (1.0f - f);
        dcb[k] = d * f;
        ab_acc[8 * n + k] += dyc[k] * xc[k];
        ab_acc[9 * n + k] += dyc[k];
      }
#pragma omp simd
      for (int k = 0; k < 4 * n; k++) {
        ab_acc[k] += dy[k] * xhat[k];
        ab_acc[4 * n + k] += dy[k];
      }
      for (int q = 0; q < 4; q++)
        norm_grad(dy + q * n, xhat + q * n, rstd[q], gamma + q * n, n, db + q * n);
    }
  }
  free(xhat); free(y); free(xc); free(dy); free(dyc); free(dcn);
}

int main(int argc, char **argv) {
  int ln = argc >= 2 && strcmp(argv[argc - 1], "ln") == 0;
  int args = argc - ln;
  int check = args == 2 && strcmp(argv[1], "check") == 0;
  if (!check && args != 3) {
    fprintf(stderr, "usage: %s B n [ln] | %s check [ln]\n", argv[0], argv[0]);
    return 2;
  }
  int T = check ? 2 : 250; /* step_bound.KERNEL_STEPS */
  int B = check ? 2 : atoi(argv[1]), n = check ? 3 : atoi(argv[2]);
  if (B < 1 || n < 1) {
    fprintf(stderr, "B and n must be whole numbers above 0\n");
    return 2;
  }
  size_t S = (size_t)B * n;
  float *a = malloc(4 * S * T * sizeof(float)), *c = malloc(S * (T + 1) * sizeof(float));
  float *mask = malloc(S * T * sizeof(float)), *dh = malloc(S * sizeof(float));
  float *h = malloc(S * T * sizeof(float)), *da = malloc(4 * S * T * sizeof(float));
  float *dc = malloc(S * sizeof(float)), *acc = malloc(10 * S * sizeof(float));
  float *gamma = malloc(10 * (size_t)n * sizeof(float));
  if (!a || !c || !mask || !dh || !h || !da || !dc || !acc || !gamma) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  /* Inputs a test can write down: a in [-1, 1), one mask entry in ten dropped;
   * gamma, beta, c_gamma, c_beta one after the other in `gamma`. */
  for (size_t i = 0; i < 4 * S * T; i++) a[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
  for (size_t i = 0; i < S * T; i++) mask[i] = i % 10 ? 1.25f : 0.0f;
  for (size_t i = 0; i < S; i++) c[i] = 0.1f * (float)(i % 7) - 0.3f;
  for (size_t i = 0; i < S; i++) dh[i] = 0.01f * (float)(i % 5) - 0.02f;
  for (size_t i = 0; i < 10 * (size_t)n; i++) gamma[i] = 0.9f + 0.05f * (float)(i % 6);
  const float *beta = gamma + 4 * n, *c_gamma = gamma + 8 * n, *c_beta = gamma + 9 * n;
  if (check) {
    if (ln)
      run_ln(T, B, n, a, c, mask, dh, gamma, beta, c_gamma, c_beta, h, da, dc, acc);
    else
      run(T, B, n, a, c, mask, dh, h, da, dc);
    for (size_t i = 0; i < S * T; i++) printf("h %.8g\n", h[i]);
    for (size_t i = 0; i < S * T; i++) printf("c %.8g\n", c[S + i]);
    for (size_t i = 0; i < 4 * S * T; i++) printf("da %.8g\n", da[i]);
    for (size_t i = 0; i < S; i++) printf("dc %.8g\n", dc[i]);
    for (size_t i = 0; ln && i < 10 * S; i++) printf("acc %.8g\n", acc[i]);
    return 0;
  }
  double best = 1e30;
  for (int rep = 0; rep < 7; rep++) {
    double start = now();
    if (ln)
      run_ln(T, B, n, a, c, mask, dh, gamma, beta, c_gamma, c_beta, h, da, dc, acc);
    else
      run(T, B, n, a, c, mask, dh, h, da, dc);
    double took = now() - start;
    if (took < best) best = took;
  }
  printf("%.9f\n", best);
  return 0;
}
