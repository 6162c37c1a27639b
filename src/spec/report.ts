/** Collects problems while checking, and the guards the checks use on not-yet-trusted YAML data. */
import type { Segment } from "./names.js";
import type { Issue } from "./schema.js";

export class Report {
  readonly issues: Issue[] = [];
  constructor(private readonly mode: "validate" | "apply") {}

  error(at: Segment[], message: string, hint?: string, key?: boolean): void {
    this.issues.push({ at, message, severity: "error", ...(hint ? { hint } : {}), ...(key ? { key } : {}) });
  }

  warn(at: Segment[], message: string, hint?: string): void {
    this.issues.push({ at, message, severity: "warning", ...(hint ? { hint } : {}) });
  }

  /** Something absent from this machine: a warning while editing, an error when about to act. */
  missing(at: Segment[], message: string, hint?: string): void {
    if (this.mode === "apply") this.error(at, message, hint);
    else this.warn(at, message, hint);
  }

  has(at: Segment[]): boolean {
    const id = JSON.stringify(at);
    return this.issues.some((i) => JSON.stringify(i.at) === id);
  }
}

export const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
export const entries = <T>(x: unknown): [string, T][] => (isRecord(x) ? (Object.entries(x) as [string, T][]) : []);
export const strings = (x: unknown): string[] | undefined => (Array.isArray(x) && x.every((s) => typeof s === "string") ? x : undefined);
