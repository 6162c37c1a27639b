/**
 * A cold capture window: stop the compose service, run the capture, and ALWAYS start it again —
 * after the capture fails, and when SIGINT/SIGTERM arrives during the window (then the signal
 * takes its usual course once the service is back). Downtime is measured from the stop command
 * to the end of the start command: what a user of the app experiences.
 */
import { UserError, errorMessage } from "../errors.js";
import { type ComposeService, type DockerOptions, startCommand, startService, stopService } from "./docker.js";

export interface ColdWindowOptions extends DockerOptions {
  /** Called once the service runs again (or failed to start), with the downtime in ms. */
  onDowntime?: (ms: number) => void;
  /** Called when a signal interrupts the window, before the service is started again. */
  onSignal?: (signal: NodeJS.Signals) => void;
  now?: () => number;
}

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

export async function withColdWindow<T>(compose: ComposeService, fn: () => Promise<T>, opts: ColdWindowOptions = {}): Promise<T> {
  const now = opts.now ?? Date.now;
  const t0 = now();
  const stopping = stopService(compose, opts);
  let restarting: Promise<void> | undefined;
  // Idempotent: the normal path, the failure path and a signal may all ask for it.
  const restart = (): Promise<void> =>
    (restarting ??= (async () => {
      await stopping.catch(() => undefined); // a half-done stop must still be undone
      try {
        await startService(compose, opts);
      } catch (err) {
        throw new UserError(`could not start service "${compose.service}" again: ${errorMessage(err)} — IT IS STOPPED`, {
          hint: `start it by hand: ${startCommand(compose)}`,
          cause: err,
        });
      } finally {
        opts.onDowntime?.(now() - t0);
      }
    })());

  const onSignal = (sig: NodeJS.Signals): void => {
    opts.onSignal?.(sig);
    restart()
      .catch((err: unknown) => {
        process.stderr.write(`backplan: ${errorMessage(err)}\n${(err as UserError).hint ?? ""}\n`);
      })
      .finally(() => {
        removeHandlers();
        // Nobody else handles this signal: take the default action now that the app runs again.
        if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
      });
  };
  const handlers = SIGNALS.map((s) => [s, () => onSignal(s)] as const);
  const removeHandlers = () => handlers.forEach(([s, h]) => process.removeListener(s, h));
  handlers.forEach(([s, h]) => process.on(s, h));

  try {
    try {
      await stopping;
    } catch (err) {
      await restart().catch(() => undefined);
      throw err;
    }
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      try {
        await restart();
      } catch (startErr) {
        // The stopped service is the more urgent news; the capture error rides along.
        throw new UserError(`${errorMessage(startErr)} (and the capture failed: ${errorMessage(err)})`, {
          hint: (startErr as UserError).hint,
          cause: err,
        });
      }
      throw err;
    }
    await restart();
    return result;
  } finally {
    if (!restarting) removeHandlers();
    else await restarting.catch(() => undefined).finally(removeHandlers);
  }
}
