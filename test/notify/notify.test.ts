import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { notify } from "../../src/notify/notify.js";

describe("notifications", () => {
  let web: http.Server;
  let webUrl: string;
  const posts: unknown[] = [];
  let smtp: SMTPServer;
  let smtpPort: number;
  const mails: string[] = [];

  beforeAll(async () => {
    web = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        if (req.url?.startsWith("/fail")) res.writeHead(500).end();
        else {
          posts.push(JSON.parse(body));
          res.writeHead(204).end();
        }
      });
    });
    await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
    webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      onData(stream, _session, cb) {
        let m = "";
        stream.on("data", (d: Buffer) => (m += d.toString()));
        stream.on("end", () => {
          mails.push(m);
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, "127.0.0.1", r));
    smtpPort = (smtp.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => web.close(r));
    await new Promise((r) => smtp.close(() => r(undefined)));
  });

  const msg = { events: ["failure" as const], subject: "backplan: 1 action(s) failed", text: "snapshot openwebui/webui.db@s3: bucket missing", data: { failed: 1 } };

  it("posts JSON to a webhook and sends mail for subscribed events", async () => {
    process.env.TEST_HOOK = `${webUrl}/hook`;
    process.env.TEST_SMTP = `smtp://127.0.0.1:${smtpPort}`;
    const { resolveSecret } = await import("../../src/spec/secrets.js");
    const warnings: string[] = [];
    const sent = await notify(
      [
        { on: ["failure", "stale"], webhook: { ref: "${env:TEST_HOOK}", kind: "env", name: "TEST_HOOK" } },
        { on: ["failure"], email: { to: ["ops@example.test"], smtp: { ref: "${env:TEST_SMTP}", kind: "env", name: "TEST_SMTP" } } },
        { on: ["success"], webhook: { ref: "${env:TEST_HOOK}", kind: "env", name: "TEST_HOOK" } },
      ],
      msg,
      { resolveSecret, warn: (s) => warnings.push(s) },
    );
    expect(warnings).toEqual([]);
    expect(sent).toBe(2);
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({ subject: msg.subject, failed: 1 });
    expect(mails).toHaveLength(1);
    expect(mails[0]).toContain("Subject: backplan: 1 action(s) failed");
  });

  it("a failing webhook is a warning that never names the URL", async () => {
    process.env.TEST_HOOK2 = `${webUrl}/fail?token=s3cr3t`;
    const { resolveSecret } = await import("../../src/spec/secrets.js");
    const warnings: string[] = [];
    const sent = await notify([{ on: ["failure"], webhook: { ref: "${env:TEST_HOOK2}", kind: "env", name: "TEST_HOOK2" } }], msg, {
      resolveSecret,
      warn: (s) => warnings.push(s),
    });
    expect(sent).toBe(0);
    expect(warnings.join("")).toMatch(/notify\[0\] webhook failed: HTTP 500/);
    expect(warnings.join("")).not.toContain("s3cr3t");
  });
});
