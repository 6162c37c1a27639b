/** `picomatch`, in a module of its own so the build can bundle it (./bundle.ts): 6 CommonJS files, loaded by every capture (import 11-16 -> 6-8 ms). */
import picomatch from "picomatch";
export default picomatch;
