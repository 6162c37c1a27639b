/**
 * The ink progress view for a TTY: per action, bytes, throughput and ETA. Loaded lazily so
 * commands that don't show progress never pay for React.
 */
import React, { useEffect, useState } from "react";
import { render, Box, Text } from "ink";
import type { ApplyEvent } from "../../apply/events.js";
import { formatBytes, formatMs } from "./format.js";

interface Row {
  key: string;
  label: string;
  state: "running" | "done" | "failed" | "skipped" | "warning";
  detail: string;
  started: number;
  bytesDone: number;
  bytesTotal?: number;
}

type Listener = (e: ApplyEvent) => void;

function View({ subscribe }: { subscribe: (l: Listener) => void }) {
  const [rows, setRows] = useState<Row[]>([]);
  useEffect(() => {
    subscribe((e) => {
      setRows((prev) => reduce(prev, e));
    });
  }, [subscribe]);
  return (
    <Box flexDirection="column">
      {rows.map((r) => (
        <Text key={r.key} color={r.state === "failed" ? "red" : r.state === "done" ? "green" : r.state === "warning" ? "yellow" : undefined}>
          {r.state === "running" ? "…" : r.state === "done" ? "✓" : r.state === "failed" ? "✗" : r.state === "warning" ? "!" : "-"} {r.label} {r.detail}
        </Text>
      ))}
    </Box>
  );
}

function reduce(rows: Row[], e: ApplyEvent): Row[] {
  const upsert = (key: string, f: (r: Row | undefined) => Row) => {
    const i = rows.findIndex((r) => r.key === key);
    const next = [...rows];
    if (i < 0) next.push(f(undefined));
    else next[i] = f(rows[i]);
    return next;
  };
  switch (e.type) {
    case "capture-start":
      return upsert(`c:${e.instance}/${e.component}`, () => ({
        key: `c:${e.instance}/${e.component}`, label: `capture ${e.instance}/${e.component}`, state: "running", detail: "", started: Date.now(), bytesDone: 0,
      }));
    case "capture-done":
      return upsert(`c:${e.instance}/${e.component}`, (r) => ({ ...r!, state: "done", detail: `${e.files} files, ${formatBytes(e.bytes)}, ${formatMs(e.ms)}` }));
    case "warning":
      return [...rows, { key: `w:${rows.length}`, label: `warning ${e.instance}/${e.component}${e.target ? `@${e.target}` : ""}:`, state: "warning", detail: e.message, started: Date.now(), bytesDone: 0 }];
    case "action-start":
      return upsert(key(e.action), () => ({ key: key(e.action), label: `${e.action.type} ${e.action.address}`, state: "running", detail: "", started: Date.now(), bytesDone: 0 }));
    case "progress":
      return upsert(key(e.action), (r) => {
        const base = r ?? { key: key(e.action), label: `${e.action.type} ${e.action.address}`, state: "running" as const, detail: "", started: Date.now(), bytesDone: 0 };
        const secs = Math.max(0.001, (Date.now() - base.started) / 1000);
        const rate = e.bytesDone / secs;
        const eta = e.bytesTotal && rate > 0 ? ` ETA ${formatMs(Math.round(((e.bytesTotal - e.bytesDone) / rate) * 1000))}` : "";
        const total = e.bytesTotal ? ` / ${formatBytes(e.bytesTotal)}` : "";
        return { ...base, bytesDone: e.bytesDone, detail: `${formatBytes(e.bytesDone)}${total} at ${formatBytes(rate)}/s${eta}` };
      });
    case "action-done":
      return upsert(key(e.action), (r) => ({ ...(r ?? { key: key(e.action), label: `${e.action.type} ${e.action.address}`, started: Date.now(), bytesDone: 0 }), state: "done", detail: e.detail }));
    case "action-failed":
      return upsert(key(e.action), (r) => ({ ...(r ?? { key: key(e.action), label: `${e.action.type} ${e.action.address}`, started: Date.now(), bytesDone: 0 }), state: "failed", detail: e.error }));
    case "action-skipped":
      return upsert(key(e.action), (r) => ({ ...(r ?? { key: key(e.action), label: `${e.action.type} ${e.action.address}`, started: Date.now(), bytesDone: 0 }), state: "skipped", detail: e.why }));
    default:
      return rows;
  }
}

function key(a: { type: string; address: string } & { snapshotId?: string }): string {
  return `${a.type}:${a.address}:${a.snapshotId ?? ""}`;
}

/** Mounts the view on stderr; returns the listener and a function that unmounts it. */
export function mountProgress(): { listener: Listener; stop: () => void } {
  let sink: Listener = () => {};
  const queue: ApplyEvent[] = [];
  const subscribe = (l: Listener) => {
    sink = l;
    for (const e of queue.splice(0)) l(e);
  };
  const app = render(<View subscribe={subscribe} />, { stdout: process.stderr, patchConsole: false });
  return {
    listener: (e) => {
      if (sink === undefined) queue.push(e);
      else sink(e);
    },
    stop: () => app.unmount(),
  };
}
