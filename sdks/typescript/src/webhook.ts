import { createHmac, timingSafeEqual } from "node:crypto";
import { MailPassError } from "./errors.js";

/**
 * Verifies MailPass webhook deliveries (Standard Webhooks): `webhook-id`,
 * `webhook-timestamp` (Unix seconds, within the tolerance) and `webhook-signature`,
 * space-separated `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}` under the
 * whsec_ secret's decoded bytes (one signature per secret during a rotation).
 */
export class WebhookVerificationError extends MailPassError {
  override name = "WebhookVerificationError";
}

export class Webhook {
  private readonly key: Buffer;

  constructor(secret: string, private readonly toleranceSeconds = 300) {
    this.key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
    if (this.key.length === 0) throw new MailPassError("Not a webhook secret (whsec_...)");
  }

  sign(webhookId: string, timestamp: number, body: string): string {
    const mac = createHmac("sha256", this.key).update(`${webhookId}.${timestamp}.${body}`).digest("base64");
    return `v1,${mac}`;
  }

  /** The delivery's parsed JSON payload, once signature and timestamp check out. */
  verify(body: string, headers: Record<string, string | string[] | undefined> | Headers, now?: number): unknown {
    const get = (name: string): string => {
      if (headers instanceof Headers) return headers.get(name) ?? "";
      const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === name);
      const value = entry?.[1];
      return Array.isArray(value) ? value.join(" ") : (value ?? "");
    };
    const webhookId = get("webhook-id");
    const stamp = get("webhook-timestamp");
    const signatures = get("webhook-signature");
    if (!webhookId || !stamp || !signatures) {
      throw new WebhookVerificationError("Missing webhook-id, -timestamp or -signature header");
    }
    if (!/^\d+$/.test(stamp)) throw new WebhookVerificationError("Invalid webhook-timestamp");
    const current = now ?? Math.floor(Date.now() / 1000);
    if (Math.abs(current - Number(stamp)) > this.toleranceSeconds) {
      throw new WebhookVerificationError("Timestamp outside the tolerance: a replay?");
    }
    const expected = Buffer.from(this.sign(webhookId, Number(stamp), body));
    const matches = signatures
      .split(/\s+/)
      .map((candidate) => Buffer.from(candidate))
      .some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected));
    if (!matches) throw new WebhookVerificationError("No signature matches this secret");
    return JSON.parse(body);
  }
}
