/**
 * Notifications after apply: a JSON POST to a webhook and/or an e-mail, for the events each entry
 * of `notify` subscribes to. A notification that cannot be delivered is reported on stderr but
 * never fails the backup it reports on. Never called by `plan`.
 */
import type { NotifySpec, SecretRef } from "../spec/types.js";
import { errorMessage } from "../errors.js";

export type NotifyEvent = "success" | "failure" | "stale" | "prune";

export interface NotifyMessage {
  events: NotifyEvent[];
  subject: string;
  text: string;
  /** Machine-readable body for webhooks. */
  data: Record<string, unknown>;
}

export interface NotifyDeps {
  resolveSecret: (ref: SecretRef) => string;
  warn: (s: string) => void;
  fetchImpl?: typeof fetch;
}

export async function notify(specs: NotifySpec[], msg: NotifyMessage, deps: NotifyDeps): Promise<number> {
  let sent = 0;
  for (const [i, n] of specs.entries()) {
    if (!n.on.some((e) => msg.events.includes(e))) continue;
    if (n.webhook) {
      try {
        const url = typeof n.webhook === "string" ? n.webhook : deps.resolveSecret(n.webhook);
        const res = await (deps.fetchImpl ?? fetch)(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ subject: msg.subject, text: msg.text, ...msg.data }),
          signal: AbortSignal.timeout(15_000),
        });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        sent++;
      } catch (err) {
        // The URL may carry a token: name the entry, never the URL.
        deps.warn(`warning: notify[${i}] webhook failed: ${redact(errorMessage(err))}\n`);
      }
    }
    if (n.email) {
      try {
        const smtp = typeof n.email.smtp === "string" ? n.email.smtp : deps.resolveSecret(n.email.smtp);
        const { default: nodemailer } = await import("nodemailer");
        const transport = nodemailer.createTransport(smtp);
        await transport.sendMail({
          from: n.email.from ?? "backplan@localhost",
          to: n.email.to.join(", "),
          subject: msg.subject,
          text: msg.text,
        });
        transport.close();
        sent++;
      } catch (err) {
        deps.warn(`warning: notify[${i}] e-mail failed: ${redact(errorMessage(err))}\n`);
      }
    }
  }
  return sent;
}

function redact(s: string): string {
  return s.replace(/(\w+:\/\/)[^\s/]*@/g, "$1<redacted>@").replace(/https?:\/\/\S+/g, "<url>");
}
