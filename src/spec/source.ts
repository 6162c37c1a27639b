/** backup.yaml parsed with source positions, so every problem can say file:line:col. */
import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Node } from "../vendor/yaml.js";
import type { Segment } from "./names.js";

export interface Position {
  line: number;
  col: number;
}

export interface SyntaxProblem extends Position {
  message: string;
  hint?: string;
}

export interface Source {
  /** The document as plain data (meaningless when `syntax` is not empty). */
  data: unknown;
  syntax: SyntaxProblem[];
  /** Where the value (or, with key=true, the mapping key) at `at` is written; the nearest ancestor when absent. */
  locate(at: readonly Segment[], key?: boolean): Position;
}

export function parseSource(text: string): Source {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const pos = (offset: number): Position => lc.linePos(offset);

  const syntax: SyntaxProblem[] = [];
  const lines = new Set<number>();
  for (const e of doc.errors) {
    const at = pos(e.pos[0]);
    if (lines.has(at.line)) continue; // one parse error tends to cascade along its line
    lines.add(at.line);
    syntax.push({ ...at, ...syntaxMessage(e.code, e.message, text.slice(e.pos[0])) });
  }

  function locate(at: readonly Segment[], key = false): Position {
    let node: unknown = doc.contents;
    let here: Position = node && (node as Node).range ? pos((node as Node).range![0]) : { line: 1, col: 1 };
    for (let i = 0; i < at.length; i++) {
      if (isAlias(node)) node = node.resolve(doc);
      const seg = at[i];
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return here;
        const keyNode = pair.key as Node;
        const keyPos = keyNode.range ? pos(keyNode.range[0]) : here;
        if (key && i === at.length - 1) return keyPos;
        const v = pair.value as Node | null;
        // `field:` with nothing after it: the empty scalar sits on the next line; point at the key.
        if (!v || !v.range || (isScalar(v) && v.value === null && v.source === "")) return keyPos;
        node = v;
        here = pos(v.range[0]);
      } else if (isSeq(node) && typeof seg === "number") {
        const item = node.items[seg] as Node | undefined;
        if (!item?.range) return here;
        node = item;
        here = pos(item.range[0]);
      } else {
        return here;
      }
    }
    return here;
  }

  return { data: doc.errors.length ? undefined : doc.toJS({ maxAliasCount: 1000 }), syntax, locate };
}

/** `rest` is the source from the error on; for a duplicate key it starts with the key. */
function syntaxMessage(code: string, message: string, rest: string): { message: string; hint?: string } {
  switch (code) {
    case "DUPLICATE_KEY":
      return { message: `"${keyAt(rest)}" is written twice in the same mapping`, hint: "keep one: YAML would silently use the last" };
    case "MULTIPLE_DOCS":
      return { message: "the file holds more than one YAML document (a second ---)", hint: "backplan reads a single document: remove the ---" };
    case "TAB_AS_INDENT":
      return { message: "tabs are not allowed as indentation in YAML", hint: "indent with spaces" };
    default:
      return { message: `YAML syntax error: ${message.replace(/\s+/g, " ").trim()}`, hint: "check the indentation, quotes and brackets around here" };
  }
}

function keyAt(rest: string): string {
  const line = rest.split("\n")[0] ?? "";
  const quoted = /^(["'])(.*?)\1/.exec(line);
  return quoted ? (quoted[2] ?? "") : (line.split(/:(\s|$)/)[0] ?? "").trim();
}
