/**
 * Apply emits typed events; every view is a listener: the ink progress view and the plain-line
 * view on stderr, and `--json`'s event stream on stdout.
 */
import type { Action } from "../plan/types.js";

export type ApplyEvent =
  | { type: "apply-start"; actions: number; at: string }
  | { type: "capture-start"; instance: string; component: string }
  | { type: "capture-done"; instance: string; component: string; files: number; bytes: number; ms: number }
  | { type: "downtime"; instance: string; service: string; ms: number }
  /** Something left out or worth knowing that did not fail the snapshot (a file deleted while read, a socket skipped). */
  | { type: "warning"; instance: string; component: string; target?: string; message: string }
  | { type: "action-start"; action: Action }
  | { type: "progress"; action: Action; bytesDone: number; bytesTotal?: number }
  | { type: "action-done"; action: Action; detail: string; ms: number; snapshotId?: string }
  | { type: "action-skipped"; action: Action; why: string }
  | { type: "action-failed"; action: Action; error: string }
  | { type: "apply-done"; done: number; failed: number; skipped: number; ms: number };

export type Emit = (e: ApplyEvent) => void;
