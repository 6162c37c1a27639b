/** The plain-line progress listener (stderr when not a TTY): one line per thing that happened. */
import type { ApplyEvent } from "../../apply/events.js";
import { formatBytes, formatMs } from "./format.js";

export function lineListener(write: (s: string) => void): (e: ApplyEvent) => void {
  return (e) => {
    switch (e.type) {
      case "apply-start":
        write(`apply: ${e.actions} action${e.actions === 1 ? "" : "s"}\n`);
        break;
      case "capture-done":
        write(`captured ${e.instance}/${e.component}: ${e.files} files, ${formatBytes(e.bytes)} in ${formatMs(e.ms)}\n`);
        break;
      case "downtime":
        write(`downtime of ${e.instance} (${e.service}): ${formatMs(e.ms)}\n`);
        break;
      case "warning":
        write(`warning: ${e.instance}/${e.component}${e.target ? `@${e.target}` : ""}: ${e.message}\n`);
        break;
      case "action-done":
        write(`${sign(e.action.type)} ${e.action.type} ${e.action.address}: ${e.detail} (${formatMs(e.ms)})\n`);
        break;
      case "action-skipped":
        write(`  skipped ${e.action.type} ${e.action.address}: ${e.why}\n`);
        break;
      case "action-failed":
        write(`! ${e.action.type} ${e.action.address} FAILED: ${e.error}\n`);
        break;
      case "apply-done":
        write(`apply: ${e.done} done, ${e.failed} failed, ${e.skipped} skipped in ${formatMs(e.ms)}\n`);
        break;
      default:
        break;
    }
  };
}

function sign(type: string): string {
  return type === "snapshot" ? "+" : type === "prune" ? "-" : "~";
}
