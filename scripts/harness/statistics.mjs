// The one set of statistics the bench and the soak report with.
//
// Percentiles are nearest-rank: the p-th percentile of n values is the value at rank ⌈p/100 × n⌉
// (1-based) in ascending order, i.e. the smallest value that at least p % of the values do not
// exceed. It is always one of the observed values. The median is the 50th percentile, so with an
// even count it is the lower of the two middle values (not their mean).

/** The nearest-rank p-th percentile (p in 0..100) of `values`; NaN for no values. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** The median: the nearest-rank 50th percentile. */
export function median(values) {
  return percentile(values, 50);
}

/** The arithmetic mean; NaN for no values. */
export function mean(values) {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** Least-squares slope of `ys` over `xs` (same length); 0 for fewer than 3 points or no spread in `xs`. */
export function leastSquaresSlope(xs, ys) {
  const n = xs.length;
  if (n < 3) return 0;
  const mx = mean(xs);
  const my = mean(ys);
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** `value` rounded to `digits` decimals. */
export const round = (value, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
