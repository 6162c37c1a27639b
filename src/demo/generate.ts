/**
 * Builds a realistic Open WebUI data directory: the demo (`npm start`), the tests' fixture and
 * the benchmarks' input. Everything is derived from the seed (mulberry32 for choices, AES-CTR
 * keyed by the seed for bulk bytes), so the same seed gives the same files, sizes and rows.
 *
 * The newest rows of webui.db and chroma.sqlite3 are committed by a child process that is then
 * killed: SQLite checkpoints the -wal into the main file when the last connection closes, so the
 * only way to leave committed data solely in the -wal — the state of a running Open WebUI, and
 * the one a naive `cp webui.db` loses — is a writer that never closes.
 *
 * Sizes: scale 1 ≈ 8 MB. About 1 GiB for benchmarks: { scale: 2.6, uploads: 2000, dbMiB: 200 }.
 */
import { spawn } from "node:child_process";
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { chmod, lstat, mkdir, open, readdir, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import Database from "better-sqlite3";
import { UserError } from "../errors.js";

export interface GenerateOptions {
  seed?: number;
  /** 1 = demo size, about 8 MB; tests use 0.05. Scales row counts, upload sizes, index sizes. */
  scale?: number;
  /** Number of generated uploads besides the fixed special ones (default 24 × scale). */
  uploads?: number;
  /** Target size of webui.db in MiB (default 2 × scale). */
  dbMiB?: number;
  /** Leave the last rows only in the -wal files (default true). */
  keepWalPending?: boolean;
}

export interface GenerateSummary {
  dir: string;
  seed: number;
  paths: { webuiDb: string; vectorDb: string; uploads: string; cache: string; auditLog: string; segments: string[] };
  counts: { users: number; chats: number; channelMessages: number; uploads: number; embeddings: number; files: number; dirs: number; symlinks: number };
  bytes: { webuiDb: number; webuiDbWal: number; vectorDb: number; uploads: number; cache: number; auditLog: number; total: number };
  /** Ids of `chat` rows committed only to webui.db-wal (empty with keepWalPending: false). */
  walOnlyRowIds: string[];
  /** Ids (`embedding_id`) of chroma embeddings committed only to chroma.sqlite3-wal. */
  walOnlyEmbeddingIds: string[];
}

const BASE_TIME = Date.UTC(2025, 0, 1) / 1000; // seconds, like Open WebUI's timestamps
const DIM = 384;
const WORDS = (
  "the model answer question context document upload vector embedding local llama ollama prompt chat user assistant " +
  "system token memory knowledge file search result summary table data backup restore server docker volume network " +
  "python function error config setting image audio speech translate explain example code review plan report meeting " +
  "quarterly budget invoice contract draft policy customer support ticket release note schedule weekly daily monthly"
).split(" ");

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)] as T;
  }
  /** Log-uniform: many small values, a few large ones, like real uploads. `u` stratifies the draw. */
  logUniform(lo: number, hi: number, u = this.next()): number {
    return Math.round(Math.exp(Math.log(lo) + u * (Math.log(hi) - Math.log(lo))));
  }
  uuid(): string {
    const h = Array.from({ length: 32 }, () => Math.floor(this.next() * 16).toString(16));
    h[12] = "4";
    h[16] = "89ab"[Math.floor(this.next() * 4)] as string;
    const s = h.join("");
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  }
  time(spanDays = 365): number {
    return BASE_TIME + Math.floor(this.next() * spanDays * 86400);
  }
}

/** Deterministic pseudo-random bytes (AES-256-CTR keystream keyed by seed and label): fast for GiBs. */
function keystream(seed: number, label: string) {
  const key = createHash("sha256").update(`backplan-demo:${seed}:${label}`).digest();
  return createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
}

async function writeBytes(file: string, size: number, seed: number, label: string, head = Buffer.alloc(0)): Promise<void> {
  const fh = await open(file, "w");
  try {
    const cipher = keystream(seed, label);
    const zeros = Buffer.alloc(Math.min(size, 1 << 20));
    let written = 0;
    if (head.length > 0) {
      await fh.write(head.subarray(0, size));
      written = Math.min(size, head.length);
    }
    while (written < size) {
      const n = Math.min(zeros.length, size - written);
      await fh.write(cipher.update(zeros.subarray(0, n)));
      written += n;
    }
  } finally {
    await fh.close();
  }
}

class Text {
  private readonly pool: string[];
  constructor(private readonly rng: Rng) {
    this.pool = Array.from({ length: 128 }, () => this.sentences(rng.int(3, 8)));
  }
  private sentences(n: number): string {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const words = Array.from({ length: this.rng.int(6, 16) }, () => this.rng.pick(WORDS));
      const first = words[0] ?? "the";
      words[0] = first[0]!.toUpperCase() + first.slice(1);
      out.push(words.join(" ") + ".");
    }
    return out.join(" ");
  }
  paragraph(): string {
    return this.rng.pick(this.pool);
  }
  paragraphs(n: number): string {
    return Array.from({ length: n }, () => this.paragraph()).join("\n\n");
  }
  title(): string {
    return Array.from({ length: this.rng.int(2, 5) }, () => this.rng.pick(WORDS)).join(" ");
  }
  /** Exactly `size` bytes of ASCII prose. */
  bytes(size: number): Buffer {
    const parts: string[] = [];
    let n = 0;
    while (n < size) {
      const p = this.paragraph() + "\n\n";
      parts.push(p);
      n += p.length;
    }
    return Buffer.from(parts.join("").slice(0, size), "latin1");
  }
}

export async function generateOpenWebUi(dir: string, opts: GenerateOptions = {}): Promise<GenerateSummary> {
  const seed = opts.seed ?? 42;
  const scale = opts.scale ?? 1;
  const rng = new Rng(seed);
  const text = new Text(new Rng(seed ^ 0x5eed));
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) {
    throw new UserError(`${dir} is not empty`, { hint: "generate the demo data into a new or empty folder" });
  }

  const uploadsDir = path.join(dir, "uploads");
  const up = await writeUploads(uploadsDir, rng, text, seed, scale, opts.uploads ?? Math.max(3, Math.round(24 * scale)));
  const db = await writeWebUiDb(path.join(dir, "webui.db"), rng, text, scale, opts.dbMiB ?? 2 * scale, up.records);
  const chroma = await writeVectorDb(path.join(dir, "vector_db"), rng, text, seed, scale, up.records);
  await writeCache(path.join(dir, "cache"), rng, seed, scale);
  await writeAuditLog(path.join(dir, "audit.log"), rng, scale);

  const pending = [db.pending, chroma.pending];
  if (opts.keepWalPending ?? true) await commitAndVanish(pending);
  else commitAndClose(pending);

  const walk = await measure(dir);
  const size = (p: string) => walk.sizes.get(p) ?? 0;
  const under = (prefix: string) => [...walk.sizes].filter(([p]) => p.startsWith(prefix + "/")).reduce((n, [, s]) => n + s, 0);
  const keep = opts.keepWalPending ?? true;
  return {
    dir,
    seed,
    paths: {
      webuiDb: path.join(dir, "webui.db"),
      vectorDb: path.join(dir, "vector_db"),
      uploads: uploadsDir,
      cache: path.join(dir, "cache"),
      auditLog: path.join(dir, "audit.log"),
      segments: chroma.segments.map((s) => path.join(dir, "vector_db", s)),
    },
    counts: {
      users: db.users,
      chats: db.chats + db.pending.rows.length,
      channelMessages: db.channelMessages,
      uploads: up.records.length,
      embeddings: chroma.embeddings + chroma.pending.rows.length,
      files: walk.files,
      dirs: walk.dirs,
      symlinks: walk.symlinks,
    },
    bytes: {
      webuiDb: size("webui.db"),
      webuiDbWal: size("webui.db-wal"),
      vectorDb: under("vector_db"),
      uploads: under("uploads"),
      cache: under("cache"),
      auditLog: size("audit.log"),
      total: [...walk.sizes.values()].reduce((a, b) => a + b, 0),
    },
    walOnlyRowIds: keep ? db.pending.ids : [],
    walOnlyEmbeddingIds: keep ? chroma.pending.ids : [],
  };
}

// --- uploads ----------------------------------------------------------------------------------

interface UploadRecord {
  id: string;
  name: string;
  rel: string; // relative to uploads/
  size: number;
  contentType: string;
}

const TYPES: Record<string, { type: string; text: boolean; magic?: string }> = {
  pdf: { type: "application/pdf", text: false, magic: "%PDF-1.7\n" },
  png: { type: "image/png", text: false, magic: "\x89PNG\r\n\x1a\n" },
  docx: { type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", text: false, magic: "PK\x03\x04" },
  txt: { type: "text/plain", text: true },
  md: { type: "text/markdown", text: true },
  csv: { type: "text/csv", text: true },
};

async function writeUploads(dir: string, rng: Rng, text: Text, seed: number, scale: number, count: number) {
  await mkdir(path.join(dir, "nested", "deeper"), { recursive: true });
  await mkdir(path.join(dir, "empty folder"));
  const records: UploadRecord[] = [];
  const put = async (rel: string, size: number, ext: string) => {
    const t = TYPES[ext] ?? TYPES.txt!;
    const file = path.join(dir, ...rel.split("/"));
    if (t.text) await writeFile(file, text.bytes(size));
    else await writeBytes(file, size, seed, `upload:${rel}`, Buffer.from(t.magic ?? "", "latin1"));
    await utimes(file, rng.time(), rng.time());
    records.push({ id: rng.uuid(), name: path.posix.basename(rel), rel, size, contentType: t.type });
  };
  const big = Math.round(2 * 1024 * 1024 * scale);
  await put("résumé 2024.pdf", Math.max(64, Math.round(big / 8)), "pdf");
  await writeFile(path.join(dir, "日本語.txt"), "これはバックアップのテストです。\n".repeat(Math.max(1, Math.round(64 * scale))));
  records.push({ id: rng.uuid(), name: "日本語.txt", rel: "日本語.txt", size: (await stat(path.join(dir, "日本語.txt"))).size, contentType: "text/plain" });
  await put("meeting notes (final).md", Math.max(16, Math.round(20_000 * scale)), "md");
  await put("nested/deeper/quarterly report.csv", Math.max(16, Math.round(50_000 * scale)), "csv");
  await writeFile(path.join(dir, "empty.txt"), "");
  await symlink("résumé 2024.pdf", path.join(dir, "latest.pdf"));
  const exts = Object.keys(TYPES);
  for (let i = 0; i < count; i++) {
    const ext = rng.pick(exts);
    const id = rng.uuid();
    // One draw per stratum keeps the total near its expected value, whatever the seed.
    const size = rng.logUniform(16, Math.max(1024, big), (i + rng.next()) / count);
    await put(`${id}_${text.title().replaceAll(" ", "_")}.${ext}`, size, ext);
  }
  return { records };
}

// --- webui.db ---------------------------------------------------------------------------------

const WEBUI_SCHEMA = `
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);
CREATE TABLE user (id TEXT PRIMARY KEY, name TEXT, email TEXT, role TEXT, profile_image_url TEXT, last_active_at INTEGER,
  updated_at INTEGER, created_at INTEGER, api_key TEXT UNIQUE, settings JSON, info JSON, oauth_sub TEXT UNIQUE);
CREATE TABLE auth (id TEXT PRIMARY KEY, email TEXT, password TEXT, active INTEGER);
CREATE TABLE chat (id TEXT PRIMARY KEY, user_id TEXT, title TEXT, chat JSON, created_at INTEGER, updated_at INTEGER,
  share_id TEXT UNIQUE, archived INTEGER DEFAULT 0, pinned INTEGER DEFAULT 0, meta JSON DEFAULT '{}', folder_id TEXT);
CREATE INDEX user_id_idx ON chat (user_id);
CREATE TABLE channel (id TEXT PRIMARY KEY, user_id TEXT, name TEXT, description TEXT, data JSON, meta JSON,
  access_control JSON, created_at INTEGER, updated_at INTEGER);
CREATE TABLE message (id TEXT PRIMARY KEY, user_id TEXT, channel_id TEXT, parent_id TEXT, content TEXT, data JSON,
  meta JSON, created_at INTEGER, updated_at INTEGER);
CREATE TABLE file (id TEXT PRIMARY KEY, user_id TEXT, hash TEXT, filename TEXT, path TEXT, data JSON, meta JSON,
  access_control JSON, created_at INTEGER, updated_at INTEGER);
CREATE TABLE config (id INTEGER PRIMARY KEY, data JSON NOT NULL, version INTEGER NOT NULL, created_at INTEGER, updated_at INTEGER);
CREATE TABLE model (id TEXT PRIMARY KEY, user_id TEXT, base_model_id TEXT, name TEXT, params JSON, meta JSON,
  access_control JSON, is_active INTEGER DEFAULT 1, created_at INTEGER, updated_at INTEGER);
CREATE TABLE knowledge (id TEXT PRIMARY KEY, user_id TEXT, name TEXT, description TEXT, data JSON, meta JSON,
  access_control JSON, created_at INTEGER, updated_at INTEGER);
CREATE TABLE tag (id TEXT, name TEXT, user_id TEXT, meta JSON, PRIMARY KEY (id, user_id));
CREATE TABLE memory (id TEXT PRIMARY KEY, user_id TEXT, content TEXT, updated_at INTEGER, created_at INTEGER);
CREATE TABLE prompt (command TEXT PRIMARY KEY, user_id TEXT, title TEXT, content TEXT, timestamp INTEGER, access_control JSON);
CREATE TABLE folder (id TEXT, parent_id TEXT, user_id TEXT, name TEXT, items JSON, meta JSON, is_expanded INTEGER,
  created_at INTEGER, updated_at INTEGER, PRIMARY KEY (id, user_id));
CREATE TABLE feedback (id TEXT PRIMARY KEY, user_id TEXT, version INTEGER, type TEXT, data JSON, meta JSON,
  snapshot JSON, created_at INTEGER, updated_at INTEGER);
`;

const MODELS = ["llama3.1:8b", "qwen2.5:14b", "mistral-nemo:12b", "gemma2:9b", "phi3.5:3.8b"];
const CHAT_INSERT = "INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, meta) VALUES (?, ?, ?, ?, ?, ?, ?)";

/** Rows committed last, by a process that never closes the database (see the header comment). */
interface Pending {
  file: string;
  sql: string;
  rows: unknown[][];
  ids: string[];
}

function chatRow(rng: Rng, text: Text, userId: string): { id: string; row: unknown[] } {
  const id = rng.uuid();
  const model = rng.pick(MODELS);
  const created = rng.time();
  const messages: Record<string, unknown>[] = [];
  let parentId: string | null = null;
  for (let i = 0, n = rng.int(2, 12); i < n; i++) {
    const mid = rng.uuid();
    const role = i % 2 === 0 ? "user" : "assistant";
    messages.push({
      id: mid, parentId, childrenIds: [], role, content: text.paragraphs(role === "user" ? 1 : rng.int(1, 3)),
      timestamp: created + i * 30, ...(role === "assistant" ? { model, models: [model], done: true } : { models: [model] }),
    });
    const prev = messages[messages.length - 2];
    if (prev) (prev.childrenIds as string[]).push(mid);
    parentId = mid;
  }
  const title = text.title();
  const chat = {
    id: "", title, models: [model], params: {}, tags: [], files: [], timestamp: created * 1000,
    history: { messages: Object.fromEntries(messages.map((m) => [m.id, m])), currentId: parentId },
    messages,
  };
  return { id, row: [id, userId, title, JSON.stringify(chat), created, created + messages.length * 30, JSON.stringify({ tags: [] })] };
}

async function writeWebUiDb(file: string, rng: Rng, text: Text, scale: number, dbMiB: number, uploads: UploadRecord[]) {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  db.exec(WEBUI_SCHEMA);
  const users: string[] = [];
  let chats = 0;
  let channelMessages = 0;
  db.transaction(() => {
    db.prepare("INSERT INTO alembic_version VALUES (?)").run("3781e22d8b01");
    const nUsers = Math.min(200, Math.max(2, Math.round(8 * scale)));
    const insUser = db.prepare("INSERT INTO user VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    const insAuth = db.prepare("INSERT INTO auth VALUES (?, ?, ?, 1)");
    for (let i = 0; i < nUsers; i++) {
      const id = rng.uuid();
      const name = `${rng.pick(["Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances"])} ${i + 1}`;
      const email = `user${i + 1}@example.org`;
      const t = rng.time(30);
      insUser.run(id, name, email, i === 0 ? "admin" : "user", "/user.png", t + 86400 * 300, t, t, null,
        JSON.stringify({ ui: { theme: rng.pick(["dark", "light", "system"]), models: [rng.pick(MODELS)] } }), null, null);
      insAuth.run(id, email, "$2b$12$" + Buffer.from(rng.uuid()).toString("base64").slice(0, 53));
      users.push(id);
    }
    const admin = users[0]!;
    db.prepare("INSERT INTO config VALUES (1, ?, 0, ?, ?)").run(
      JSON.stringify({ version: 0, ui: { default_locale: "en-US", enable_signup: false }, ollama: { base_urls: ["http://ollama:11434"] } }),
      BASE_TIME, BASE_TIME,
    );
    const insModel = db.prepare("INSERT INTO model VALUES (?, ?, ?, ?, ?, ?, NULL, 1, ?, ?)");
    for (const m of MODELS.slice(0, 3)) {
      insModel.run(`${m.split(":")[0]}-helper`, admin, m, `${m} helper`, JSON.stringify({ temperature: 0.7, system: text.paragraph() }),
        JSON.stringify({ description: text.title(), capabilities: { vision: false } }), BASE_TIME, BASE_TIME);
    }
    const insFile = db.prepare("INSERT INTO file VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)");
    for (const u of uploads) {
      insFile.run(u.id, rng.pick(users), createHash("sha256").update(u.rel).digest("hex"), u.name, `/app/backend/data/uploads/${u.rel}`,
        JSON.stringify({ status: "completed" }), JSON.stringify({ name: u.name, content_type: u.contentType, size: u.size }), rng.time(), rng.time());
    }
    const insKnowledge = db.prepare("INSERT INTO knowledge VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)");
    for (const name of ["Company handbook", "Research papers"]) {
      insKnowledge.run(rng.uuid(), admin, name, text.title(), JSON.stringify({ file_ids: uploads.slice(0, 3).map((u) => u.id) }), "{}", BASE_TIME, BASE_TIME);
    }
    const insTag = db.prepare("INSERT INTO tag VALUES (?, ?, ?, '{}')");
    for (const u of users) for (const t of ["work", "ideas", "code"]) insTag.run(t, t, u);
    const insMemory = db.prepare("INSERT INTO memory VALUES (?, ?, ?, ?, ?)");
    for (const u of users) insMemory.run(rng.uuid(), u, text.paragraph(), rng.time(), rng.time());
    db.prepare("INSERT INTO prompt VALUES ('/summarize', ?, 'Summarize', 'Summarize the following text: {{CLIPBOARD}}', ?, NULL)").run(admin, BASE_TIME);
    db.prepare("INSERT INTO folder VALUES (?, NULL, ?, 'Projects', '{}', '{}', 1, ?, ?)").run(rng.uuid(), admin, BASE_TIME, BASE_TIME);
    db.prepare("INSERT INTO channel VALUES (?, ?, 'general', 'Team chat', '{}', '{}', NULL, ?, ?)").run(rng.uuid(), admin, BASE_TIME, BASE_TIME);
  })();

  // Chats until the file reaches its target size; batch sizes adapt so tiny targets stay tiny.
  const insChat = db.prepare(CHAT_INSERT);
  const insMsg = db.prepare("INSERT INTO message VALUES (?, ?, (SELECT id FROM channel LIMIT 1), NULL, ?, NULL, NULL, ?, ?)");
  const target = Math.max(64 * 1024, dbMiB * 1024 * 1024);
  const pageSize = db.pragma("page_size", { simple: true }) as number;
  const fill = db.transaction((n: number) => {
    for (let i = 0; i < n; i++) {
      insChat.run(...chatRow(rng, text, rng.pick(users)).row);
      chats++;
      if (rng.next() < 0.25) {
        const t = rng.time();
        insMsg.run(rng.uuid(), rng.pick(users), text.paragraph(), t, t);
        channelMessages++;
      }
    }
  });
  const minChats = 10; // even the tiniest fixture has history older than its -wal
  for (let size = (db.pragma("page_count", { simple: true }) as number) * pageSize; size < target || chats < minChats; ) {
    const perChat = chats > 0 ? size / chats : 8192;
    fill(Math.min(500, Math.max(1, Math.ceil((target - size) / perChat / 2), minChats - chats)));
    size = (db.pragma("page_count", { simple: true }) as number) * pageSize;
  }
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();

  const pending: Pending = { file, sql: CHAT_INSERT, rows: [], ids: [] };
  for (let i = 0; i < 3; i++) {
    const c = chatRow(rng, text, users[0]!);
    pending.rows.push(c.row);
    pending.ids.push(c.id);
  }
  return { users: users.length, chats, channelMessages, pending };
}

// --- vector_db --------------------------------------------------------------------------------

const CHROMA_SCHEMA = `
CREATE TABLE migrations (dir TEXT NOT NULL, version INTEGER NOT NULL, filename TEXT NOT NULL, sql TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (dir, version));
CREATE TABLE tenants (id TEXT PRIMARY KEY, UNIQUE (id));
CREATE TABLE databases (id TEXT PRIMARY KEY, name TEXT NOT NULL, tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE, UNIQUE (tenant_id, name));
CREATE TABLE collections (id TEXT PRIMARY KEY, name TEXT NOT NULL, dimension INTEGER, database_id TEXT NOT NULL REFERENCES databases(id) ON DELETE CASCADE, config_json_str TEXT, UNIQUE (name, database_id));
CREATE TABLE collection_metadata (collection_id TEXT REFERENCES collections(id) ON DELETE CASCADE, key TEXT NOT NULL, str_value TEXT, int_value INTEGER, float_value REAL, bool_value INTEGER, PRIMARY KEY (collection_id, key));
CREATE TABLE segments (id TEXT PRIMARY KEY, type TEXT NOT NULL, scope TEXT NOT NULL, collection TEXT REFERENCES collections(id) NOT NULL);
CREATE TABLE segment_metadata (segment_id TEXT REFERENCES segments(id) ON DELETE CASCADE, key TEXT NOT NULL, str_value TEXT, int_value INTEGER, float_value REAL, bool_value INTEGER, PRIMARY KEY (segment_id, key));
CREATE TABLE embeddings (id INTEGER PRIMARY KEY, segment_id TEXT NOT NULL, embedding_id TEXT NOT NULL, seq_id BLOB NOT NULL, created_at TIMESTAMP NOT NULL, UNIQUE (segment_id, embedding_id));
CREATE TABLE embedding_metadata (id INTEGER REFERENCES embeddings(id), key TEXT NOT NULL, string_value TEXT, int_value INTEGER, float_value REAL, bool_value INTEGER, PRIMARY KEY (id, key));
CREATE TABLE embeddings_queue (seq_id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TIMESTAMP NOT NULL, operation INTEGER NOT NULL, topic TEXT NOT NULL, id TEXT NOT NULL, vector BLOB, encoding TEXT, metadata TEXT);
CREATE TABLE max_seq_id (segment_id TEXT PRIMARY KEY, seq_id BLOB NOT NULL);
`;
const EMBEDDING_INSERT = "INSERT INTO embeddings (segment_id, embedding_id, seq_id, created_at) VALUES (?, ?, ?, ?)";

async function writeVectorDb(dir: string, rng: Rng, text: Text, seed: number, scale: number, uploads: UploadRecord[]) {
  await mkdir(dir, { recursive: true });
  const db = new Database(path.join(dir, "chroma.sqlite3"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  db.exec(CHROMA_SCHEMA);
  const perCollection = Math.max(8, Math.round(150 * scale));
  const segments: string[] = [];
  const metaSegments: string[] = [];
  let embeddings = 0;
  db.transaction(() => {
    db.prepare("INSERT INTO migrations VALUES ('sysdb', 1, '00001-collections.sqlite.sql', '', ?)").run("0".repeat(32));
    db.prepare("INSERT INTO tenants VALUES ('default_tenant')").run();
    const dbId = "00000000-0000-0000-0000-000000000000";
    db.prepare("INSERT INTO databases VALUES (?, 'default_database', 'default_tenant')").run(dbId);
    const insEmb = db.prepare(EMBEDDING_INSERT);
    const insMeta = db.prepare("INSERT INTO embedding_metadata (id, key, string_value, int_value) VALUES (?, ?, ?, ?)");
    for (let c = 0; c < 2; c++) {
      const collection = rng.uuid();
      const vector = rng.uuid();
      const metadata = rng.uuid();
      db.prepare("INSERT INTO collections VALUES (?, ?, ?, ?, '{}')").run(collection, `file-${uploads[c]?.id ?? rng.uuid()}`, DIM, dbId);
      db.prepare("INSERT INTO segments VALUES (?, 'urn:chroma:segment/vector/hnsw-local-persisted', 'VECTOR', ?)").run(vector, collection);
      db.prepare("INSERT INTO segments VALUES (?, 'urn:chroma:segment/metadata/sqlite', 'METADATA', ?)").run(metadata, collection);
      segments.push(vector);
      metaSegments.push(metadata);
      for (let i = 0; i < perCollection; i++) {
        const { lastInsertRowid } = insEmb.run(metadata, rng.uuid(), seqId(++embeddings), "2025-01-01 00:00:00");
        const u = uploads[i % Math.max(1, uploads.length)];
        insMeta.run(lastInsertRowid, "source", u?.name ?? "doc", null);
        insMeta.run(lastInsertRowid, "start_index", null, i * 500);
        insMeta.run(lastInsertRowid, "chroma:document", text.paragraph(), null);
      }
    }
  })();
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  for (const s of segments) await writeHnsw(path.join(dir, s), rng, seed, s, perCollection);

  const pending: Pending = { file: path.join(dir, "chroma.sqlite3"), sql: EMBEDDING_INSERT, rows: [], ids: [] };
  for (let i = 0; i < 2; i++) {
    const id = rng.uuid();
    pending.rows.push([metaSegments[0], id, seqId(++embeddings), "2025-06-01 00:00:00"]);
    pending.ids.push(id);
  }
  return { segments, embeddings: embeddings - pending.rows.length, pending };
}

function seqId(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** Files shaped like hnswlib's persisted index: a header, level-0 links + vectors + labels, lengths, upper links. */
async function writeHnsw(dir: string, rng: Rng, seed: number, label: string, n: number): Promise<void> {
  await mkdir(dir);
  const M = 16;
  const linkBytes = (2 * M + 1) * 4;
  const perElement = linkBytes + DIM * 4 + 8;
  const header = Buffer.alloc(96);
  [0, n * 2, n, perElement, linkBytes + DIM * 4, linkBytes, 1, 0, M, 2 * M, M].forEach((v, i) => header.writeBigUInt64LE(BigInt(v), i * 8));
  header.writeDoubleLE(1 / Math.log(M), 88);
  await writeFile(path.join(dir, "header.bin"), header);
  const level0 = Buffer.alloc(n * perElement);
  const random = keystream(seed, `hnsw:${label}`).update(Buffer.alloc(n * linkBytes));
  for (let i = 0; i < n; i++) {
    const at = i * perElement;
    random.copy(level0, at, i * linkBytes, (i + 1) * linkBytes);
    for (let d = 0; d < DIM; d++) level0.writeFloatLE(rng.next() * 2 - 1, at + linkBytes + d * 4);
    level0.writeBigUInt64LE(BigInt(i), at + linkBytes + DIM * 4);
  }
  await writeFile(path.join(dir, "data_level0.bin"), level0);
  const lengths = Buffer.alloc(4 * n);
  for (let i = 0; i < n; i++) lengths.writeUInt32LE(rng.next() < 0.06 ? (M + 1) * 4 : 0, i * 4);
  await writeFile(path.join(dir, "length.bin"), lengths);
  await writeBytes(path.join(dir, "link_lists.bin"), Math.ceil(n * 0.06) * (M + 1) * 4, seed, `links:${label}`);
  await writeFile(path.join(dir, "index_metadata.pickle"), Buffer.concat([Buffer.from([0x80, 0x04, 0x95]), Buffer.from(`dimensionality ${DIM} total_elements_added ${n}`)]));
}

// --- cache, audit.log -------------------------------------------------------------------------

async function writeCache(dir: string, rng: Rng, seed: number, scale: number): Promise<void> {
  const files: [string, number][] = [
    [`image/generations/${rng.uuid()}.png`, Math.round(150_000 * scale)],
    [`image/generations/${rng.uuid()}.png`, Math.round(90_000 * scale)],
    [`audio/speech/${createHash("sha256").update(String(seed)).digest("hex")}.mp3`, Math.round(60_000 * scale)],
    ["embedding/models/sentence-transformers_all-MiniLM-L6-v2/config.json", 612],
  ];
  for (const [rel, size] of files) {
    const file = path.join(dir, ...rel.split("/"));
    await mkdir(path.dirname(file), { recursive: true });
    await writeBytes(file, Math.max(16, size), seed, `cache:${rel}`);
  }
}

async function writeAuditLog(file: string, rng: Rng, scale: number): Promise<void> {
  const lines: string[] = [];
  for (let i = 0, n = Math.max(10, Math.round(600 * scale)); i < n; i++) {
    const t = new Date((BASE_TIME + i * 97) * 1000).toISOString();
    const verb = rng.pick(["GET", "POST", "DELETE"]);
    const route = rng.pick(["/api/v1/chats/", "/api/v1/files/", "/api/chat/completions", "/api/v1/auths/signin"]);
    lines.push(JSON.stringify({ id: rng.uuid(), timestamp: t, user: `user${rng.int(1, 8)}@example.org`, verb, route, status: 200 }));
  }
  await writeFile(file, lines.join("\n") + "\n");
}

// --- the last commits ---------------------------------------------------------------------------

/** Commits the pending rows from a child process that is then SIGKILLed, so they stay in the -wal. */
async function commitAndVanish(pending: Pending[]): Promise<void> {
  const script = `
    const Database = require(process.argv[1]);
    let input = "";
    process.stdin.setEncoding("utf8").on("data", (d) => (input += d)).on("end", () => {
      for (const p of JSON.parse(input)) {
        const db = new Database(p.file);
        db.pragma("wal_autocheckpoint = 0");
        const ins = db.prepare(p.sql);
        for (const row of p.rows) ins.run(...row.map((v) => (v && v.$hex !== undefined ? Buffer.from(v.$hex, "hex") : v)));
      }
      process.kill(process.pid, "SIGKILL"); // never close: closing would checkpoint the -wal away
    });`;
  const sqlitePath = createRequire(import.meta.url).resolve("better-sqlite3");
  const child = spawn(process.execPath, ["-e", script, sqlitePath], { stdio: ["pipe", "inherit", "inherit"] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  child.stdin.end(JSON.stringify(pending.map((p) => ({ ...p, rows: p.rows.map((r) => r.map(toJson)) }))));
  const { code, signal } = await exited;
  if (signal !== "SIGKILL") throw new Error(`the demo's final writer exited with ${code ?? signal} instead of being killed`);
}

function toJson(v: unknown): unknown {
  return Buffer.isBuffer(v) ? { $hex: v.toString("hex") } : v;
}

function commitAndClose(pending: Pending[]): void {
  for (const p of pending) {
    const db = new Database(p.file);
    const ins = db.prepare(p.sql);
    db.transaction(() => p.rows.forEach((r) => ins.run(...r)))();
    db.close();
  }
}

// --- summary ------------------------------------------------------------------------------------

async function measure(root: string) {
  const sizes = new Map<string, number>();
  let files = 0;
  let dirs = 0;
  let symlinks = 0;
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const d of await readdir(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) {
        dirs++;
        await walk(path.join(abs, d.name), r);
      } else if (d.isSymbolicLink()) symlinks++;
      else {
        files++;
        sizes.set(r, (await lstat(path.join(abs, d.name))).size);
      }
    }
  };
  await walk(root, "");
  return { sizes, files, dirs, symlinks };
}

/** A demo passphrase file (mode 0600), referenced from backup.yaml as `${file:./demo/passphrase}`. Never overwrites one. */
export async function writePassphrase(file: string): Promise<boolean> {
  await mkdir(path.dirname(file), { recursive: true });
  try {
    await writeFile(file, randomBytes(24).toString("base64url"), { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as { code?: string }).code === "EEXIST") return false;
    throw err;
  }
  await chmod(file, 0o600); // an unusual umask (e.g. 0277) would have stripped owner bits
  return true;
}
