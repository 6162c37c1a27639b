/** The parts of `yaml` backplan uses, in a module of its own so the build can bundle it (./bundle.ts). */
export { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument } from "yaml";
export type { Node } from "yaml";
