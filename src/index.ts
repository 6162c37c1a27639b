/** Public API of the backplan package. */
export * from "./errors.js";
export type * from "./spec/types.js";
export type * from "./plan/types.js";
export { applyRetention } from "./plan/retention.js";
export { plan } from "./plan/plan.js";
