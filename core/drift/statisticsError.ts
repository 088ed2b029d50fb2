export type DriftStatisticsErrorCode = 'empty_sample' | 'non_finite_value' | 'invalid_argument';

/** Bad input to a drift statistic: an empty sample, a NaN or infinite value, or an argument out of its domain. */
export class DriftStatisticsError extends Error {
  constructor(
    readonly code: DriftStatisticsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DriftStatisticsError';
  }
}

/** Sorted copy of a sample, after checking it is non-empty and finite; `what` names the sample in the error. */
export function sortedSample(values: ArrayLike<number>, what: string): Float64Array {
  if (values.length === 0) throw new DriftStatisticsError('empty_sample', `${what} is empty: a drift statistic needs at least one value`);
  const sorted = Float64Array.from(values);
  for (let i = 0; i < sorted.length; i++) {
    if (!Number.isFinite(sorted[i])) {
      throw new DriftStatisticsError('non_finite_value', `${what} holds ${sorted[i]} at index ${i}: drop NaN and infinite values first`);
    }
  }
  return sorted.sort();
}
