/**
 * How far V8 lets the old generation grow between full collections, set from what is live.
 *
 * After each full collection V8 puts the next one's limit at max(live × factor, live + ~8 MiB)
 * plus the young generation's size, and starts the next marking once the room left under it is
 * about the young generation's size. With little live (a backup of large files: ~9 MiB of
 * objects, ~1 GiB of short-lived buffers) that is almost at once (`--trace-incremental-marking`):
 * the full backup of the bench dataset ran 64-80 mark-compacts, ~1 s of CPU on two cores. A fixed
 * large factor fixes that and breaks the other case: a backup of 100 000 small files has
 * ~120 MiB live, and at V8's usual factor (up to 4x) it peaked at 365-406 MiB RSS.
 *
 * So the factor follows the live size: at least MIN_ROOM of growth while the heap is small,
 * 1.5x once it is large. V8 reads the flag at each collection; this sets it after each full one,
 * for the next. Full backup of the bench dataset, 3 alternated runs each: 68-80 mark-compacts,
 * 4.7-5.0 s, 5.5-5.8 s user CPU with 1.5x throughout; 26-28, 3.8-4.3 s, 4.3-4.8 s with 24 MiB.
 * More room collects less often still (40 MiB: ~11) but peaked at 245-266 MiB RSS, over the
 * 250 MiB goal: buffers that died in the old generation wait for the next full collection.
 * Never a limit on the heap's size, only on when it is collected. The flag is the process's, so
 * worker threads (small heaps) get the same room.
 */
import { constants, PerformanceObserver } from "node:perf_hooks";
import { getHeapStatistics, setFlagsFromString } from "node:v8";

const MIN_ROOM = 24 * 1024 * 1024;
const MIN_PERCENT = 50;
const MAX_PERCENT = 400;

let current = 0;

export function tuneHeapGrowth(): void {
  setPercent(percentFor(getHeapStatistics().used_heap_size));
  const observer = new PerformanceObserver((list) => {
    if (list.getEntries().some((e) => (e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)) {
      setPercent(percentFor(getHeapStatistics().used_heap_size));
    }
  });
  observer.observe({ entryTypes: ["gc"] }); // does not keep the process alive
}

/** Percent of growth over `live` that leaves at least MIN_ROOM, in steps of 50 (fewer flag changes). */
export function percentFor(live: number): number {
  const wanted = Math.ceil((MIN_ROOM / Math.max(live, 1)) * 2) * 50;
  return Math.min(MAX_PERCENT, Math.max(MIN_PERCENT, wanted));
}

function setPercent(percent: number): void {
  if (percent === current) return;
  current = percent;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
