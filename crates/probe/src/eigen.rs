//! Eigendecomposition of a real symmetric matrix: Householder reduction to tridiagonal form, then
//! the implicit QL method (the EISPACK routines `tred2` and `tql2`, as published in the public
//! domain JAMA library). O(n³), sequential and deterministic; 784 × 784 (the pixel covariance)
//! takes about a second.

use crate::error::ProbeError;

/// Eigenvalues in decreasing order and their unit eigenvectors (row i of the second vector, `n`
/// values, belongs to eigenvalue i). Sign convention: each vector's entry of largest magnitude
/// (the first of equals) is positive, so that the result does not depend on the algorithm's
/// arbitrary signs.
pub(crate) fn symmetric_eigen(a: &[f64], n: usize) -> Result<(Vec<f64>, Vec<f64>), ProbeError> {
    if a.len() != n * n {
        return Err(ProbeError::Internal("eigendecomposition of a matrix that is not square"));
    }
    if n == 0 {
        return Ok((Vec::new(), Vec::new()));
    }
    // The matrix is symmetric, so it is its own transpose: the layout tred2 works in.
    let mut vt = a.to_vec();
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    tred2(&mut vt, &mut d, &mut e, n);
    tql2(&mut vt, &mut d, &mut e, n)?;

    let mut order: Vec<usize> = (0..n).collect();
    // Stable: equal eigenvalues keep the algorithm's order.
    order.sort_by(|&i, &j| d[j].total_cmp(&d[i]));
    let values: Vec<f64> = order.iter().map(|&i| d[i]).collect();
    let mut vectors = Vec::with_capacity(n * n);
    for &i in &order {
        let row = &vt[i * n..(i + 1) * n];
        let mut big = 0;
        for (j, x) in row.iter().enumerate() {
            if x.abs() > row[big].abs() {
                big = j;
            }
        }
        let sign = if row[big] < 0.0 { -1.0 } else { 1.0 };
        vectors.extend(row.iter().map(|x| sign * x));
    }
    Ok((values, vectors))
}

/// Householder tridiagonalisation of the symmetric matrix in `v`, overwritten with the accumulated
/// orthogonal transformation V: `d` gets the diagonal, `e` the subdiagonal (e[0] = 0).
///
/// `v` holds V transposed (element (i, j) of the routine at `v[j·n + i]`): the routine's inner
/// loops run down columns, which are then contiguous, and tql2 wants the transpose anyway.
fn tred2(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    let at = |i: usize, j: usize| j * n + i;
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
    }
    for i in (1..n).rev() {
        // Scale to avoid under/overflow.
        let mut scale = 0.0;
        let mut h = 0.0;
        for dk in &d[..i] {
            scale += dk.abs();
        }
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
                v[at(j, i)] = 0.0;
            }
        } else {
            // The Householder vector.
            for dk in &mut d[..i] {
                *dk /= scale;
                h += *dk * *dk;
            }
            let mut f = d[i - 1];
            let mut g = h.sqrt();
            if f > 0.0 {
                g = -g;
            }
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            e[..i].fill(0.0);
            // Apply the similarity transformation to the remaining columns.
            for j in 0..i {
                f = d[j];
                v[at(j, i)] = f;
                g = e[j] + v[at(j, j)] * f;
                for k in j + 1..i {
                    g += v[at(k, j)] * d[k];
                    e[k] += v[at(k, j)] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                for k in j..i {
                    v[at(k, j)] -= f * e[k] + g * d[k];
                }
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
            }
        }
        d[i] = h;
    }
    // Accumulate the transformations.
    for i in 0..n - 1 {
        v[at(n - 1, i)] = v[at(i, i)];
        v[at(i, i)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[at(k, i + 1)] / h;
            }
            for j in 0..=i {
                let mut g = 0.0;
                for k in 0..=i {
                    g += v[at(k, i + 1)] * v[at(k, j)];
                }
                for k in 0..=i {
                    v[at(k, j)] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[at(k, i + 1)] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
        v[at(n - 1, j)] = 0.0;
    }
    v[at(n - 1, n - 1)] = 1.0;
    e[0] = 0.0;
}

/// QL iterations with implicit shifts on the tridiagonal (`d`, `e`), rotating the rows of `vt`
/// (the transpose of tred2's transformation). Afterwards `d` holds the eigenvalues (unsorted) and
/// row i of `vt` the eigenvector of d[i].
fn tql2(vt: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) -> Result<(), ProbeError> {
    /// QL converges in a few iterations per eigenvalue; this many means something is wrong.
    const MAX_ITERATIONS: usize = 100;
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1: f64 = 0.0;
    let eps = f64::EPSILON;
    for l in 0..n {
        // Find a small subdiagonal element.
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n - 1 && e[m].abs() > eps * tst1 {
            m += 1;
        }
        // m == l: d[l] is an eigenvalue; otherwise iterate.
        if m > l {
            let mut iterations = 0;
            loop {
                iterations += 1;
                if iterations > MAX_ITERATIONS {
                    return Err(ProbeError::Eigen { dim: n });
                }
                // The implicit shift.
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for di in &mut d[l + 2..n] {
                    *di -= h;
                }
                f += h;
                // The implicit QL transformation.
                p = d[m];
                let mut c = 1.0;
                let mut c2 = c;
                let mut c3 = c;
                let el1 = e[l + 1];
                let mut s = 0.0;
                let mut s2 = 0.0;
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    // Accumulate the rotation into eigenvectors i and i + 1.
                    let (lo, hi) = vt.split_at_mut((i + 1) * n);
                    let vi = &mut lo[i * n..];
                    let vi1 = &mut hi[..n];
                    for (a, b) in vi.iter_mut().zip(vi1.iter_mut()) {
                        let hk = *b;
                        *b = s * *a + c * hk;
                        *a = c * *a - s * hk;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= eps * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A·v = λ·v for every pair, the vectors orthonormal, the values decreasing.
    fn check(a: &[f64], n: usize) -> Vec<f64> {
        let (values, vectors) = symmetric_eigen(a, n).unwrap();
        let scale = a.iter().fold(1.0f64, |m, x| m.max(x.abs()));
        for i in 0..n {
            let v = &vectors[i * n..(i + 1) * n];
            for r in 0..n {
                let av: f64 = (0..n).map(|c| a[r * n + c] * v[c]).sum();
                assert!((av - values[i] * v[r]).abs() < 1e-10 * scale * n as f64, "pair {i}, row {r}");
            }
            for j in 0..n {
                let w = &vectors[j * n..(j + 1) * n];
                let dot: f64 = v.iter().zip(w).map(|(x, y)| x * y).sum();
                assert!((dot - if i == j { 1.0 } else { 0.0 }).abs() < 1e-10, "vectors {i} and {j}");
            }
        }
        assert!(values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");
        values
    }

    #[test]
    fn a_small_matrix_matches_numpy() {
        // numpy.linalg.eigvalsh([[4, 1, 2], [1, 3, 0], [2, 0, 5]])[::-1]
        //   → [6.669079088282287, 3.476023602918133, 1.854897308799576]
        let a = [4.0, 1.0, 2.0, 1.0, 3.0, 0.0, 2.0, 0.0, 5.0];
        let values = check(&a, 3);
        for (v, r) in values.iter().zip([6.669079088282287, 3.476023602918133, 1.854897308799576]) {
            assert!((v - r).abs() < 1e-13, "{values:?}");
        }
    }

    #[test]
    fn larger_random_repeated_diagonal_and_trivial_matrices() {
        // A symmetric matrix with pseudo-random entries.
        let n = 40;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let x = ((i * 31 + j * 17) as f64 * 0.618).sin();
                a[i * n + j] = x;
                a[j * n + i] = x;
            }
        }
        check(&a, n);
        // Diagonal, with a repeated eigenvalue: the values are the diagonal, sorted.
        let diag = [2.0, 5.0, 2.0, -1.0];
        let mut a = vec![0.0; 16];
        for (i, x) in diag.iter().enumerate() {
            a[i * 4 + i] = *x;
        }
        assert_eq!(check(&a, 4), [5.0, 2.0, 2.0, -1.0]);
        assert_eq!(check(&[0.0; 9], 3), [0.0; 3]);
        assert_eq!(symmetric_eigen(&[7.0], 1).unwrap(), (vec![7.0], vec![1.0]));
    }

    #[test]
    fn signs_follow_the_largest_entry() {
        // [[2, 1], [1, 3]]: λ = (5 ± √5)/2 with eigenvectors ∝ (1, φ) and (φ, −1), φ = 1.618….
        let a = [2.0, 1.0, 1.0, 3.0];
        let (values, vectors) = symmetric_eigen(&a, 2).unwrap();
        let phi = (1.0 + 5f64.sqrt()) / 2.0;
        assert!((values[0] - (5.0 + 5f64.sqrt()) / 2.0).abs() < 1e-12, "{values:?}");
        let norm = (1.0 + phi * phi).sqrt();
        let expected = [1.0 / norm, phi / norm, phi / norm, -1.0 / norm];
        for (v, e) in vectors.iter().zip(expected) {
            assert!((v - e).abs() < 1e-12, "{vectors:?}");
        }
    }
}
