/** The parts of `commander` backplan uses, in a module of its own so the build can bundle it (./bundle.ts). */
export { Command } from "commander";
