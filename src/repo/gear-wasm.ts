/**
 * The gear loop as WebAssembly (source: gear.wat beside this file; a test rebuilds it with wabt
 * and compares). Each scanner is its own instance whose memory holds the gear table and one read
 * buffer, so the chunker cuts the bytes where readSync put them: no copy into WebAssembly.
 */
const GEAR_WASM_BASE64 =
  "AGFzbQEAAAABDAFgB39/f39/f38BfwMCAQAFAwEAAQcQAgZtZW1vcnkCAANjdXQAAAreAgHbAgEEfyABIAJNBEAgAQ8LIAAgASAEIAEgBEkbaiEJIAAgASADIAEgA0kbaiEIIAAgAmohBwJAA0AgB0EBaiAITw0BIApBAXQgBy0AAEECdCgCAGohCiAKIAVxRQRAIAdBAWogAGsPCyAKQQF0IActAAFBAnQoAgBqIQogB0ECaiEHIAogBXFFBEAgByAAaw8LDAALCyAHIAhJBEAgCkEBdCAHLQAAQQJ0KAIAaiEKIAdBAWohByAKIAVxRQRAIAcgAGsPCwsCQANAIAdBAWogCU8NASAKQQF0IActAABBAnQoAgBqIQogCiAGcUUEQCAHQQFqIABrDwsgCkEBdCAHLQABQQJ0KAIAaiEKIAdBAmohByAKIAZxRQRAIAcgAGsPCwwACwsgByAJSQRAIApBAXQgBy0AAEECdCgCAGohCiAHQQFqIQcgCiAGcUUEQCAHIABrDwsLIAkgAGsL";

export const GEAR_WASM = Buffer.from(GEAR_WASM_BASE64, "base64");

/** Addresses below this hold the gear table; the read buffer starts here. */
const TABLE_BYTES = 256 * 4;
const PAGE = 65536;

export type GearCut = (start: number, n: number, min: number, avg: number, max: number, maskS: number, maskL: number) => number;

let compiled: WebAssembly.Module | undefined;

/**
 * A fresh instance with `bytes` of read buffer. The memory is sized once and never grown
 * (growing would detach the Buffer handed out). Pages are only committed as they are touched.
 */
export function gearScanner(gear: Int32Array, bytes: number): { buffer: Buffer; cut: GearCut } {
  compiled ??= new WebAssembly.Module(GEAR_WASM);
  const instance = new WebAssembly.Instance(compiled);
  const memory = instance.exports.memory as WebAssembly.Memory;
  const pages = Math.ceil((TABLE_BYTES + bytes) / PAGE);
  memory.grow(pages - memory.buffer.byteLength / PAGE);
  const table = new DataView(memory.buffer, 0, TABLE_BYTES);
  for (let i = 0; i < 256; i++) table.setInt32(i * 4, gear[i]!, true); // i32.load is little-endian everywhere
  return { buffer: Buffer.from(memory.buffer, TABLE_BYTES, bytes), cut: instance.exports.cut as GearCut };
}
