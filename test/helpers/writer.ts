/**
 * A busy application stand-in:
 * `node --import tsx test/helpers/writer.ts DB [intervalMs] [padBytes] [journalMode] [checkpointEvery]`
 * commits rows numbered 1, 2, 3 … into table `seq` of DB (WAL mode unless journalMode says
 * otherwise), one transaction each, every intervalMs, until it receives SIGTERM. With
 * checkpointEvery N (WAL), every Nth commit is followed by a checkpoint, PASSIVE (after which the
 * next commit restarts the -wal from its start when no reader holds it) or, every fourth time,
 * TRUNCATE (which waits for readers, then empties the -wal). Prints "ready" once the first row is committed and, on
 * SIGTERM, the last committed number, so tests can check a backup holds a gap-free prefix.
 */
import Database from "better-sqlite3";

const [file, intervalArg = "2", padArg = "256", journalMode = "wal", checkpointArg = "0"] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: writer.ts DB [intervalMs] [padBytes]\n");
  process.exit(2);
}
const interval = Number(intervalArg);
const pad = Buffer.alloc(Number(padArg), 0x61);
const checkpointEvery = Number(checkpointArg);

const db = new Database(file, { timeout: 10_000 });
db.pragma(`journal_mode = ${journalMode}`);
db.exec("CREATE TABLE IF NOT EXISTS seq (n INTEGER PRIMARY KEY, at INTEGER NOT NULL, pad BLOB)");
const insert = db.prepare("INSERT INTO seq (n, at, pad) VALUES (?, ?, ?)");
let n = (db.prepare("SELECT coalesce(max(n), 0) AS m FROM seq").get() as { m: number }).m;

function commit(): void {
  n++;
  insert.run(n, Date.now(), pad); // autocommit: one transaction per row
  if (checkpointEvery && n % checkpointEvery === 0) db.pragma(`wal_checkpoint(${n % (4 * checkpointEvery) === 0 ? "TRUNCATE" : "PASSIVE"})`);
}

commit();
process.stdout.write("ready\n");
const timer = setInterval(commit, interval);

process.on("SIGTERM", () => {
  clearInterval(timer);
  db.close();
  process.stdout.write(`last ${n}\n`);
  process.exit(0);
});
