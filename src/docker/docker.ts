/**
 * The few Docker operations backplan needs, through the docker CLI (the user's context, socket
 * and permissions apply as they do in their shell):
 *   docker volume inspect --format '{{ .Mountpoint }}' NAME
 *   docker compose -f FILE [-p PROJECT] stop|start SERVICE
 * Every failure a user can cause (no docker, engine down, unknown volume or service) becomes a
 * UserError with the next step.
 */
import { stat } from "node:fs/promises";
import { UserError, errorMessage } from "../errors.js";

export interface ComposeService {
  /** Absolute path of the compose file. */
  file: string;
  service: string;
  project?: string;
}

export interface DockerOptions {
  /** Environment for docker (PATH, DOCKER_HOST, DOCKER_CONTEXT); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

/** Runs `docker ARGS`, returning stdout; maps the common failures to UserErrors. */
export async function docker(args: string[], opts: DockerOptions = {}): Promise<string> {
  const { execa } = await import("execa");
  const r = await execa("docker", args, { env: opts.env ?? process.env, extendEnv: false, reject: false, stdin: "ignore" });
  const shown = `docker ${args.join(" ")}`;
  if (r.failed && (r.cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
    throw new UserError("docker is not installed (not found on PATH)", {
      hint: "install Docker (https://docs.docker.com/engine/install/) with the compose plugin, or use `path:` instead of `volume:` and leave out `consistency: cold`",
    });
  }
  if (r.exitCode === 0) return String(r.stdout);
  const err = String(r.stderr).trim() || String(r.stdout).trim() || errorMessage(r);
  if (/Cannot connect to the Docker daemon|Is the docker daemon running|error during connect/i.test(err)) {
    throw new UserError("the Docker engine is not running (or not reachable)", {
      hint: "start it (`sudo systemctl start docker`, or open Docker Desktop); check DOCKER_HOST / `docker context ls` if it runs elsewhere",
    });
  }
  if (/permission denied.*docker\.sock|Got permission denied while trying to connect/i.test(err)) {
    throw new UserError("this user may not talk to the Docker engine (permission denied on its socket)", {
      hint: "run backplan as root, or add the user to the docker group (`sudo usermod -aG docker $USER`, then log in again)",
    });
  }
  if (/'compose' is not a docker command|unknown (shorthand flag|command).*compose/i.test(err)) {
    throw new UserError("the Docker Compose plugin is not installed (`docker compose` is missing)", {
      hint: "install docker-compose-plugin (https://docs.docker.com/compose/install/linux/)",
    });
  }
  throw new DockerCommandError(`${shown} failed (exit ${r.exitCode}): ${lastLine(err)}`, err);
}

/** A docker command failed for a reason the callers below recognise and reword. */
export class DockerCommandError extends UserError {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message, { hint: "run the command above by hand to see the whole output" });
  }
}

/** Host path of a named volume's data, e.g. /var/lib/docker/volumes/open-webui/_data. */
export async function resolveVolume(name: string, opts: DockerOptions = {}): Promise<string> {
  let out: string;
  try {
    out = await docker(["volume", "inspect", "--format", "{{ .Mountpoint }}", name], opts);
  } catch (err) {
    if (err instanceof DockerCommandError && /no such volume/i.test(err.stderr)) {
      throw new UserError(`Docker volume "${name}" does not exist`, {
        hint: "`docker volume ls` lists the volumes; compose prefixes names with the project, e.g. `myproject_open-webui`",
      });
    }
    throw err;
  }
  const mount = out.trim();
  if (!mount) throw new UserError(`Docker volume "${name}" has no mount point`, { hint: `check \`docker volume inspect ${name}\`` });
  try {
    await stat(mount);
  } catch {
    throw new UserError(`the data of Docker volume "${name}" (${mount}) is not reachable from here`, {
      hint: "run backplan as root on the Docker host (Docker Desktop keeps volumes inside its VM), or bind-mount the data and use `path:`",
    });
  }
  return mount;
}

function composeArgs(c: ComposeService, verb: "stop" | "start"): string[] {
  return ["compose", "-f", c.file, ...(c.project ? ["-p", c.project] : []), verb, c.service];
}

async function compose(c: ComposeService, verb: "stop" | "start", opts: DockerOptions): Promise<void> {
  try {
    await docker(composeArgs(c, verb), opts);
  } catch (err) {
    if (err instanceof DockerCommandError) {
      if (/no such service/i.test(err.stderr)) {
        throw new UserError(`service "${c.service}" is not defined in ${c.file}`, {
          hint: "fix `compose.service` of the instance (`docker compose -f FILE config --services` lists them)",
          cause: err,
        });
      }
      if (/no such file|not found|no configuration file/i.test(err.stderr)) {
        throw new UserError(`compose file ${c.file} cannot be read`, { hint: "fix `compose.file` of the instance", cause: err });
      }
    }
    throw err;
  }
}

export function stopService(c: ComposeService, opts: DockerOptions = {}): Promise<void> {
  return compose(c, "stop", opts);
}

export function startService(c: ComposeService, opts: DockerOptions = {}): Promise<void> {
  return compose(c, "start", opts);
}

/** The command a person runs to bring the service back by hand. */
export function startCommand(c: ComposeService): string {
  return ["docker", ...composeArgs(c, "start")].map((a) => (/^[\w./:@=-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(" ");
}

function lastLine(s: string): string {
  const lines = s.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? s;
}
