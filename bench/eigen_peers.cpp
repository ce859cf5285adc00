// eigen_peers.cpp — the workloads of bench/run.py where Eigen 3.4 is a
// stronger peer than numpy, written by hand with it: the Kronecker ones
// (the vec trick: mode products as matrix products) and 100 000 fixed-size
// 4x4 products. bench/peers.py builds and runs it against the same
// workloads compiled by tnsc (bench/peers_tnsc.c), alternating the two.
// Single-threaded (no OpenMP); medians of 15 runs in ms, one line per
// workload, named as bench/run.py names it.
//   g++ -O3 -march=native -DNDEBUG -I/usr/include/eigen3 bench/eigen_peers.cpp -o /tmp/eigen_peers
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

using M4 = Eigen::Matrix<double, 4, 4, Eigen::RowMajor>;
using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vec = Eigen::VectorXd;
using Map = Eigen::Map<Mat>;

static double median_ms(const std::function<void()> &f) {
  std::vector<double> t;
  for (int i = 0; i < 3; i++) f();
  for (int i = 0; i < 15; i++) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// y[i, k, m] = A[i, j] B[k, l] C[m, n] x[j, l, n], all row-major
static void kron3(const Mat &A, const Mat &B, const Mat &C, const Vec &x, Vec &y, Mat &t1, Mat &t2) {
  long n = A.rows();
  t1.noalias() = A * Map(const_cast<double *>(x.data()), n, n * n);           // [i, (l, n)]
  t2.noalias() = Map(t1.data(), n * n, n) * C.transpose();                    // [(i, l), m]
  for (long i = 0; i < n; i++)                                               // [i][k, m] = B [l, m]
    Map(y.data() + i * n * n, n, n).noalias() = B * Map(t2.data() + i * n * n, n, n);
}

int main() {
  Eigen::setNbThreads(1);
  {
    long n = 64;
    Mat A = Mat::Random(n, n), B = Mat::Random(n, n), C = Mat::Random(n, n), t1(n, n * n), t2(n * n, n);
    Vec x = Vec::Random(n * n * n), y(n * n * n);
    std::printf("kron3 matvec n=64\t%.3f\n", median_ms([&] { kron3(A, B, C, x, y, t1, t2); }));
  }
  {
    long n = 96;
    Mat A = Mat::Random(n, n), B = Mat::Random(n, n), C = Mat::Random(n, n), D = Mat::Random(n, n), y(n, n);
    Mat x = Mat::Random(n, n);
    std::printf("(A⊗B)(C⊗D)x n=96\t%.3f\n",
                median_ms([&] { y.noalias() = (A * C) * x * (B * D).transpose(); }));
  }
  {
    long n = 256;
    Mat A = Mat::Random(n, n), B = Mat::Random(n, n), x = Mat::Random(n, n), y(n, n);
    std::printf("K = kron(A,B); K x n=256\t%.3f\n", median_ms([&] { y.noalias() = A * x * B.transpose(); }));
  }
  {
    long n = 32;
    Mat K(n, n);
    for (long i = 0; i < n; i++)
      for (long j = 0; j < n; j++) {
        double d = (double)(i - j) / (n - 1);
        K(i, j) = std::exp(-0.5 * d * d / 0.04);
      }
    Vec y = Vec::Random(n * n * n), t(n * n * n), a(n * n * n);
    Mat t1(n, n * n), t2(n * n, n);
    std::printf("Kronecker GP solve n=32^3\t%.3f\n", median_ms([&] {
      Eigen::SelfAdjointEigenSolver<Mat> e1(K), e2(K), e3(K);
      Mat Q1t = e1.eigenvectors().transpose(), Q2t = e2.eigenvectors().transpose(), Q3t = e3.eigenvectors().transpose();
      kron3(Q1t, Q2t, Q3t, y, t, t1, t2);
      for (long p = 0, i = 0; i < n; i++)
        for (long j = 0; j < n; j++)
          for (long k = 0; k < n; k++, p++)
            t[p] /= e1.eigenvalues()[i] * e2.eigenvalues()[j] * e3.eigenvalues()[k] + 0.1;
      kron3(e1.eigenvectors(), e2.eigenvectors(), e3.eigenvectors(), t, a, t1, t2);
    }));
  }
  {
    const long k = 100000;
    std::vector<M4> A(k), B(k), C(k);
    for (long i = 0; i < k; i++) A[i] = M4::Random(), B[i] = M4::Random();
    std::printf("100000 4x4 products\t%.3f\n", median_ms([&] {
      for (long i = 0; i < k; i++) C[i].noalias() = A[i] * B[i];
    }));
  }
  return 0;
}
