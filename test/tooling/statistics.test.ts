// The tooling's one percentile definition (scripts/harness/statistics.mjs), which the bench and
// the soak both report with: nearest-rank, always an observed value.
import { describe, it } from "vitest";
import { leastSquaresSlope, median, percentile } from "../../scripts/harness/statistics.mjs";

describe("statistics: nearest-rank percentiles", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted on purpose

  it("the p-th percentile is the value at rank ⌈p/100 × n⌉ in ascending order", ({ expect }) => {
    expect([50, 95, 99, 100].map((p) => percentile(hundred, p))).toEqual([50, 95, 99, 100]);
    expect(percentile(hundred, 0)).toBe(1);
    expect(percentile([3, 1, 2], 50)).toBe(2);
    expect(percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 1000], 99)).toBe(1000);
    expect(percentile([], 50)).toBeNaN();
  });

  it("the median is the 50th percentile: the lower middle value for an even count, never a mean", ({ expect }) => {
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(median([0.9, 0.8])).toBe(0.8);
    expect(median([5, 1, 9])).toBe(5);
  });

  it("the least-squares slope follows a line and is 0 without enough points", ({ expect }) => {
    expect(leastSquaresSlope([0, 1, 2, 3], [1, 3, 5, 7])).toBe(2);
    expect(leastSquaresSlope([0, 1], [0, 5])).toBe(0);
    expect(leastSquaresSlope([2, 2, 2], [1, 2, 3])).toBe(0);
  });
});
