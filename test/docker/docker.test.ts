/**
 * Docker volumes and cold windows, with the stand-in docker (test/helpers/fake-docker/docker)
 * first on PATH: it records every call and can be told to fail. No Docker engine runs here.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.js";
import { resolveVolume, startService, stopService, withColdWindow } from "../../src/docker/index.js";
import { tmpDir } from "../helpers/tmp.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FAKE = path.join(ROOT, "test/helpers/fake-docker");

let dir: string;
let cleanup: () => Promise<void>;
let log: string;
let n = 0;
const compose = { file: "/srv/owui/docker-compose.yml", service: "open-webui", project: "owui" };

beforeAll(async () => {
  ({ dir, cleanup } = await tmpDir("backplan-docker-"));
  await mkdir(path.join(dir, "vol"));
});
afterAll(async () => cleanup());
beforeEach(() => {
  log = path.join(dir, `calls-${++n}.jsonl`);
});

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${FAKE}${path.delimiter}${process.env.PATH}`,
    FAKE_DOCKER_LOG: log,
    FAKE_DOCKER_SERVICES: "open-webui,ollama",
    FAKE_DOCKER_VOLUMES: JSON.stringify({ "open-webui": path.join(dir, "vol"), ghost: "/nonexistent/_data" }),
    ...extra,
  };
}

async function calls(): Promise<string[]> {
  const text = await readFile(log, "utf8").catch(() => "");
  return text.split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { argv: string[] }).argv.join(" "));
}

describe("resolveVolume", () => {
  it("returns the mount point from docker volume inspect", async () => {
    expect(await resolveVolume("open-webui", { env: env() })).toBe(path.join(dir, "vol"));
    expect(await calls()).toEqual(["volume inspect --format {{ .Mountpoint }} open-webui"]);
  });

  it("an unknown volume is a UserError naming it", async () => {
    const err = await resolveVolume("nope", { env: env() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe('Docker volume "nope" does not exist');
    expect((err as UserError).hint).toMatch(/docker volume ls/);
  });

  it("a mount point this process cannot see is explained", async () => {
    await expect(resolveVolume("ghost", { env: env() })).rejects.toThrow(/not reachable from here/);
  });

  it("docker missing and engine down are clear UserErrors", async () => {
    const missing = await resolveVolume("open-webui", { env: { ...env(), PATH: path.join(dir, "no-bin") } }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(UserError);
    expect((missing as UserError).message).toBe("docker is not installed (not found on PATH)");
    const down = await resolveVolume("open-webui", { env: env({ FAKE_DOCKER_DOWN: "1" }) }).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(UserError);
    expect((down as UserError).message).toMatch(/Docker engine is not running/);
    expect((down as UserError).hint).toMatch(/systemctl start docker/);
  });
});

describe("compose stop/start", () => {
  it("runs docker compose -f FILE -p PROJECT stop|start SERVICE", async () => {
    await stopService(compose, { env: env() });
    await startService({ file: compose.file, service: "ollama" }, { env: env() });
    expect(await calls()).toEqual([
      "compose -f /srv/owui/docker-compose.yml -p owui stop open-webui",
      "compose -f /srv/owui/docker-compose.yml start ollama",
    ]);
  });

  it("an unknown service is a UserError naming it and the file", async () => {
    const err = await stopService({ ...compose, service: "webui" }, { env: env() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe('service "webui" is not defined in /srv/owui/docker-compose.yml');
  });
});

describe("withColdWindow", () => {
  it("stops, captures, starts, and reports the downtime", async () => {
    const order: string[] = [];
    let downtime = -1;
    const result = await withColdWindow(
      compose,
      async () => {
        order.push(...(await calls()));
        await new Promise((r) => setTimeout(r, 150));
        return "captured";
      },
      { env: env({ FAKE_DOCKER_DELAY_MS: "50" }), onDowntime: (ms) => (downtime = ms) },
    );
    expect(result).toBe("captured");
    expect(order).toEqual(["compose -f /srv/owui/docker-compose.yml -p owui stop open-webui"]);
    expect((await calls()).map((c) => c.split(" ").at(-2))).toEqual(["stop", "start"]);
    // 150 ms capture + two ~50 ms docker calls (plus node start-up of the stand-in).
    expect(downtime).toBeGreaterThanOrEqual(250);
    expect(downtime).toBeLessThan(5000);
  });

  it("starts the service again when the capture fails, and rethrows the capture error", async () => {
    let downtime = -1;
    const err = await withColdWindow(compose, async () => Promise.reject(new Error("disk full")), { env: env(), onDowntime: (ms) => (downtime = ms) }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toBe("disk full");
    expect((await calls()).map((c) => c.split(" ").at(-2))).toEqual(["stop", "start"]);
    expect(downtime).toBeGreaterThan(0);
  });

  it("says loudly when the service cannot be started again, with the command to run", async () => {
    const err = await withColdWindow(compose, async () => "ok", { env: env({ FAKE_DOCKER_FAIL: "compose start" }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(/could not start service "open-webui" again: .*IT IS STOPPED/);
    expect((err as UserError).hint).toBe("start it by hand: docker compose -f /srv/owui/docker-compose.yml -p owui start open-webui");
  });

  it("a failed stop still tries to start, and never runs the capture", async () => {
    let ran = false;
    const err = await withColdWindow(compose, async () => void (ran = true), { env: env({ FAKE_DOCKER_FAIL: "compose stop" }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(ran).toBe(false);
    expect((await calls()).map((c) => c.split(" ").at(-2))).toEqual(["stop", "start"]);
  });

  it("an engine that is down fails before anything is captured", async () => {
    let ran = false;
    const err = await withColdWindow(compose, async () => void (ran = true), { env: env({ FAKE_DOCKER_DOWN: "1" }) }).catch((e: unknown) => e);
    expect((err as UserError).message).toMatch(/Docker engine is not running/);
    expect(ran).toBe(false);
  });

  it.each(["SIGTERM", "SIGINT"] as const)("starts the service again when a process in its window gets %s", async (sig) => {
    const script = path.join(dir, `cold-${sig}.mts`);
    await writeFile(
      script,
      `import { withColdWindow } from ${JSON.stringify(path.join(ROOT, "src/docker/cold.ts"))};\n` +
        `await withColdWindow(${JSON.stringify(compose)}, async () => { console.log("in-window"); await new Promise(() => setInterval(() => {}, 1000)); },\n` +
        `  { onDowntime: (ms) => console.log("downtime " + ms) });\n`,
    );
    const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: ROOT, env: env(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("in-window") && !child.killed) child.kill(sig);
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
    expect(err).toBe("");
    expect(exit.signal).toBe(sig); // the signal still ends the process, once the service runs
    expect(out).toMatch(/downtime \d+/);
    expect((await calls()).map((c) => c.split(" ").at(-2))).toEqual(["stop", "start"]);
  }, 30_000);
});
