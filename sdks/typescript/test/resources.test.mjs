import assert from "node:assert/strict";
import { test } from "node:test";
import { Webhook, WebhookVerificationError } from "../dist/index.js";
import { client, env } from "./stack.mjs";

test("suppressions", async () => {
  const mailpass = client();
  await mailpass.suppressions.add("ts-blocked@example.com", "asked us");
  await mailpass.suppressions.add("ts-blocked2@example.com");
  const all = [];
  for await (const entry of mailpass.suppressions.iterate({ prefix: "ts-blocked", limit: 1 })) all.push(entry.address);
  assert.deepEqual(all, ["ts-blocked2@example.com", "ts-blocked@example.com"]);
  await assert.rejects(mailpass.mail.send({ to: "ts-blocked@example.com", subject: "x", text: "x" }), (e) => e.code === "RECIPIENT_SUPPRESSED");
  assert.equal((await mailpass.suppressions.remove("ts-blocked@example.com")).data.address, "ts-blocked@example.com");
});

test("webhook endpoints", async () => {
  const mailpass = client();
  const created = (await mailpass.webhooks.create("http://127.0.0.1:9/ts-hook", ["sent"])).data;
  assert.match(created.secret, /^whsec_/);
  const page = (await mailpass.webhooks.list({ limit: 100 })).data;
  assert.ok(page.webhooks.some((w) => w.id === created.id));
  assert.equal((await mailpass.webhooks.update(created.id, { enabled: false })).data.enabled, false);
  await mailpass.webhooks.delete(created.id);
  await assert.rejects(mailpass.webhooks.get(created.id), (e) => e.status === 404);
});

test("webhook verifier accepts the server's signature only", () => {
  const secret = env("MAILPASS_WEBHOOK_SECRET");
  const body = env("MAILPASS_WEBHOOK_BODY");
  const headers = JSON.parse(env("MAILPASS_WEBHOOK_HEADERS"));
  const verifier = new Webhook(secret);
  assert.deepEqual(verifier.verify(body, headers), JSON.parse(body));
  assert.deepEqual(verifier.verify(body, new Headers(headers)), JSON.parse(body));
  assert.throws(() => verifier.verify(`${body} `, headers), WebhookVerificationError);
  assert.throws(() => verifier.verify(body, headers, Number(headers["webhook-timestamp"]) + 3600), /tolerance/);
});
