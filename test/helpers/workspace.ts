/** A temp folder holding a generated Open WebUI data dir and a spec with local targets. */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { generateOpenWebUi } from "../../src/demo/generate.js";

export const PASS_ENV = { BACKPLAN_TEST_PASSPHRASE: "correct horse battery staple" };

export const defaultSpec = `# yaml-language-server: $schema=./schema/backup.schema.json
version: 1
instances:
  openwebui:
    preset: open-webui
    path: ./data
targets:
  nas: { type: local, path: ./targets/nas }
  offsite: { type: local, path: ./targets/offsite }
encryption: { passphrase: "\${env:BACKPLAN_TEST_PASSPHRASE}" }
policies:
  - { target: offsite, every: daily, keep: { daily: 7, weekly: 4 } }
  - { target: nas, every: weekly, keep: { weekly: 3 } }
`;

export async function makeWorkspace(spec = defaultSpec): Promise<{ dir: string; spec: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "backplan-e2e-"));
  await generateOpenWebUi(path.join(dir, "data"), { seed: 7, scale: 0.05 });
  await mkdir(path.join(dir, "targets"));
  const specPath = path.join(dir, "backup.yaml");
  await writeFile(specPath, spec);
  return { dir, spec: specPath, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
