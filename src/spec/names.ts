/** Small helpers for messages: field paths as users write them, and "did you mean" suggestions. */

export type Segment = string | number;

/** ["policies", 1, "keep", "daily"] → `policies[1].keep.daily`; odd keys are quoted: `components["webui.db"]`. */
export function formatPath(segments: readonly Segment[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** The closest candidate to a misspelt word, if any is close enough to be a plausible typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, "");
  const w = norm(word);
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const n = norm(c);
    if (n === w) return c;
    const d = editDistance(w, n);
    const prefix = commonPrefix(w, n);
    const close = d <= Math.max(1, Math.floor(Math.max(w.length, n.length) / 3)) || (prefix >= 4 && prefix * 2 >= Math.max(w.length, n.length));
    if (close && (!best || d < best.d)) best = { c, d };
  }
  return best?.c;
}

export function quoteList(items: readonly string[]): string {
  return items.map((s) => JSON.stringify(s)).join(", ");
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** Edit distance counting a swap of two neighbours as one edit ("dialy" → "daily"). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number) => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      d[i]![j] = v;
    }
  }
  return at(a.length, b.length);
}
