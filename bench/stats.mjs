// Statistics the bench scripts share.

/** The median of the finite values (the mean of the middle two for an even count); NaN when there are none. */
export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * A row's ratio `ours / theirs` with the spread of the runs: `ratio` from the medians, `lo` and `hi`
 * the least and greatest per-round ratio (in a round every system runs once, one after the other, so
 * round i of each compares), and `verdict`: "ahead" when the median ratio is at least 1, "tie" when it
 * is below 1 but some round had ours at least theirs (within the run-to-run noise), "behind" when no
 * round did. `lowerIsBetter` for times. Null when either side has no samples.
 */
export function compare(ours, theirs, { lowerIsBetter = false } = {}) {
  const r = (a, b) => (lowerIsBetter ? b / a : a / b);
  const ratio = r(median(ours), median(theirs));
  if (!Number.isFinite(ratio)) return null;
  const rounds = [];
  for (let i = 0; i < Math.min(ours.length, theirs.length); i++) {
    const x = r(ours[i], theirs[i]);
    if (Number.isFinite(x)) rounds.push(x);
  }
  const lo = Math.min(...rounds),
    hi = Math.max(...rounds);
  const verdict = ratio >= 1 ? "ahead" : hi >= 1 ? "tie" : "behind";
  return { ratio, lo, hi, verdict };
}

/** "96 % (88-104 %, tie)": a compare() result for a table cell ("—" for none). */
export function formatCompare(c) {
  if (!c) return "—";
  // below 100 % never rounds up to it: a "behind" row must not show 100
  const p = (x) => String(x < 1 ? Math.min(99, Math.round(x * 100)) : Math.round(x * 100));
  const spread =
    Number.isFinite(c.lo) && c.lo !== c.hi
      ? ` (${p(c.lo)}-${p(c.hi)} %${c.verdict === "ahead" ? "" : `, ${c.verdict}`})`
      : c.verdict === "ahead"
        ? ""
        : ` (${c.verdict})`;
  return `${p(c.ratio)} %${spread}`;
}
