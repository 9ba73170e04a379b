import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError, MailPass } from "../dist/index.js";
import { client, env, getJson } from "./stack.mjs";

test("send, status and the listing", async () => {
  const mailpass = client();
  const result = await mailpass.mail.send({
    to: "user@example.com",
    subject: "Order Confirmation",
    html: "<h1>Your order has been confirmed</h1>",
    from_email: "support@yourdomain.com",
    tags: ["ts-sdk"],
  });
  assert.equal(result.success, true);
  assert.equal(result.data.status, "sent");
  assert.match(result.data.message_id, /^<[^@]+@[^>]+>$/);
  const status = (await mailpass.mail.status(result.data.message_id)).data;
  assert.equal(status.message.message_id, result.data.message_id);
  assert.match(status.message.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  const listed = [];
  for await (const message of mailpass.messages.iterate({ tag: "ts-sdk", limit: 1 })) listed.push(message.message_id);
  assert.deepEqual(listed, [result.data.message_id]);
});

test("batch, scheduled and cancelled", async () => {
  const mailpass = client();
  const batch = (
    await mailpass.mail.sendBatch({
      messages: [
        { to: "a@example.com", subject: "Hello A", html: "<p>Hi A</p>" },
        { to: "not-an-address", subject: "Hello B", html: "<p>Hi B</p>" },
      ],
      from_email: "support@yourdomain.com",
    })
  ).data;
  assert.deepEqual([batch.total, batch.queued, batch.failed], [2, 1, 1]);
  assert.equal(batch.messages[1].error.code, "VALIDATION_ERROR");
  const later = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, "Z");
  const scheduled = (await mailpass.mail.send({ to: "b@example.com", subject: "Later", text: "x", scheduled_at: later })).data;
  assert.equal(scheduled.status, "scheduled");
  assert.equal((await mailpass.messages.cancel(scheduled.message_id)).data.status, "cancelled");
  await assert.rejects(mailpass.messages.cancel(scheduled.message_id), (error) => {
    assert.ok(error instanceof ApiError);
    assert.deepEqual([error.status, error.code], [409, "NOT_CANCELLABLE"]);
    return true;
  });
});

test("errors are ApiErrors with the API's code", async () => {
  await assert.rejects(client().mail.send({ to: "nobody", subject: "x", html: "<p>x</p>" }), (error) => {
    assert.deepEqual([error.status, error.code], [400, "VALIDATION_ERROR"]);
    assert.equal(error.details[0].field, "to");
    return true;
  });
  const stranger = new MailPass("mp_live_not_a_key", { baseUrl: env("MAILPASS_BASE_URL") });
  await assert.rejects(stranger.mail.status("<x@y>"), (error) => {
    assert.deepEqual([error.status, error.code], [401, "UNAUTHORIZED"]);
    return true;
  });
});

test("retries keep the idempotency key", async () => {
  const front = env("MAILPASS_FLAKY_URL");
  const result = await client({ baseUrl: front }).mail.send({ to: "retry@example.com", subject: "Retried", text: "once" });
  assert.equal(result.data.status, "sent");
  const sends = (await getJson(`${front}/_front/seen`)).filter((r) => r.path === "/api/v1/mail/send");
  assert.deepEqual(sends.map((r) => r.status), [503, 200]);
  assert.ok(sends[0].idempotency_key);
  assert.equal(sends[0].idempotency_key, sends[1].idempotency_key);
  assert.match(sends[0].user_agent, /^mailpass-node\/\d/);
  await assert.rejects(
    client({ baseUrl: front, maxRetries: 0 }).mail.send({ to: "retry@example.com", subject: "No retry", text: "x" }),
    (error) => error.status === 503,
  );
});

test("a timeout is bounded", async () => {
  const unroutable = new MailPass("mp_live_x", { baseUrl: env("MAILPASS_BASE_URL"), timeoutMs: 1, maxRetries: 1 });
  const started = Date.now();
  await assert.rejects(unroutable.mail.status("<x@y>"), (error) => error.name === "ConnectionError");
  assert.ok(Date.now() - started < 5000);
});

test("refuses to run in a browser", () => {
  globalThis.window = {};
  globalThis.document = {};
  try {
    assert.throws(() => new MailPass("mp_live_x"), /servers only/);
  } finally {
    delete globalThis.window;
    delete globalThis.document;
  }
});
