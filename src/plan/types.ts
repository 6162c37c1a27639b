/**
 * Observed state (what the targets really hold) and the Plan (plain, versioned data).
 * plan(spec, observed, now) in src/plan/plan.ts is pure: no disk, no network, clock via `now`.
 * Renderers (src/render) read only a Plan; apply (src/apply) executes only a Plan's actions.
 */

/** One snapshot seen on a target (from its manifest; cached by the catalog). */
export interface ObservedSnapshot {
  id: string;
  instance: string;
  component: string;
  target: string;
  /** ISO-8601. */
  time: string;
  /** Logical bytes of the snapshot. */
  bytes: number;
  /** ISO time of the newest successful restore test of this snapshot, if any. */
  verifiedAt?: string;
}

export interface ObservedTarget {
  name: string;
  /** False when listing failed: the planner plans nothing destructive there. */
  reachable: boolean;
  error?: string;
  snapshots: ObservedSnapshot[];
}

export interface Observed {
  targets: Record<string, ObservedTarget>;
  /** Catalog knowledge for estimates: logical bytes of each component's last capture, by "instance/component". */
  lastCaptureBytes: Record<string, number>;
}

export type Action = SnapshotAction | PruneAction | VerifyAction;

interface ActionBase {
  /** Series address `instance/component@target`. */
  address: string;
  instance: string;
  component: string;
  target: string;
  /** Human reason, e.g. "stale: newest copy is 1d 3h old, every 1d". */
  reason: string;
}

export interface SnapshotAction extends ActionBase {
  type: "snapshot";
  /** "missing" | "stale" | "due". */
  why: "missing" | "stale" | "due";
  /** Estimated bytes to read, when the catalog knows the last capture. */
  estimateBytes?: number;
}

export interface PruneAction extends ActionBase {
  type: "prune";
  snapshotId: string;
  snapshotTime: string;
  /** Present when this prune is only valid if the planned snapshot of the same series succeeds. */
  afterSnapshot: boolean;
  /** True for copies of series no longer in the spec (only planned with --prune-orphans). */
  orphan?: boolean;
}

export interface VerifyAction extends ActionBase {
  type: "verify";
  /** The snapshot to restore-test; "latest" means the snapshot this apply creates, else the newest. */
  snapshotId: string | "latest";
}

/** A snapshot kept, with every rule that keeps it: shown in verbose plans. */
export interface KeptSnapshot {
  address: string;
  snapshotId: string;
  time: string;
  reasons: string[];
}

export interface SeriesStatus {
  address: string;
  instance: string;
  component: string;
  target: string;
  every: string;
  /** Newest copy's time, if any. */
  newest?: string;
  ageMs?: number;
  copies: number;
  state: "OK" | "DUE" | "STALE" | "MISSING" | "UNKNOWN";
  lastVerified?: string;
  /** When the next copy is (or was) due, ISO; absent when the target could not be listed. */
  nextDue?: string;
  /** Why the state is UNKNOWN (the target's listing error). */
  error?: string;
}

export interface Plan {
  formatVersion: 1;
  /** The clock the plan was computed with (ISO). */
  createdAt: string;
  spec: { file: string; digest: string };
  /**
   * Digest of the observed snapshot ids per target: a saved plan is refused when the
   * targets' state no longer matches it (Terraform's stale plan).
   */
  observedDigest: string;
  actions: Action[];
  kept: KeptSnapshot[];
  /** Copies on targets that no series of the spec claims. */
  orphans: { target: string; instance: string; component: string; count: number }[];
  /** Targets that could not be listed: nothing is planned there but snapshots. */
  unreachable: { target: string; error: string }[];
  series: SeriesStatus[];
  summary: { snapshot: number; prune: number; verify: number };
}
