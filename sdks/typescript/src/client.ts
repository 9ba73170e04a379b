import { MailPassError } from "./errors.js";
import { newIdempotencyKey, Transport } from "./transport.js";
import type {
  BatchRequest,
  BatchResult,
  CancelResult,
  CreatedWebhook,
  MessagePage,
  MessageQuery,
  MessageSummary,
  Removed,
  ResendResult,
  Response,
  SendRequest,
  SendResult,
  TemplatedSendRequest,
  StatusResult,
  SuppressionPage,
  SuppressionView,
  WebhookPage,
  WebhookView,
} from "./types.js";

export interface ClientOptions {
  /** Default: MAILPASS_BASE_URL, else https://dev.mailpass.im */
  baseUrl?: string;
  /** Per attempt, in milliseconds (default 60,000: /send waits up to 30 s for the delivery). */
  timeoutMs?: number;
  /** Retries of connection errors, 429 and 5xx (default 2). */
  maxRetries?: number;
}

export interface SendOptions {
  /** Your own key; by default one is made per call and kept on its retries. */
  idempotencyKey?: string;
}

const id = (value: string) => encodeURIComponent(value);

function refuseBrowsers(): void {
  // A secret key in a web page is a key given to every visitor.
  const g = globalThis as { window?: unknown; document?: unknown };
  if (typeof g.window !== "undefined" && typeof g.document !== "undefined") {
    throw new MailPassError(
      "@mailpass/sdk runs on servers only: in a browser your secret API key would be public. " +
        "Call your own backend, which calls MailPass.",
    );
  }
}

export class MailPass {
  readonly mail: Mail;
  readonly messages: Messages;
  readonly suppressions: Suppressions;
  readonly webhooks: Webhooks;

  constructor(apiKey: string, options: ClientOptions = {}) {
    refuseBrowsers();
    if (!apiKey) throw new MailPassError("An API key is required (mp_live_... or mp_test_...)");
    const baseUrl = (options.baseUrl ?? process.env.MAILPASS_BASE_URL ?? "https://dev.mailpass.im").replace(/\/+$/, "");
    const transport = new Transport({
      apiKey,
      baseUrl,
      timeoutMs: options.timeoutMs ?? 60_000,
      maxRetries: options.maxRetries ?? 2,
    });
    this.mail = new Mail(transport);
    this.messages = new Messages(transport);
    this.suppressions = new Suppressions(transport);
    this.webhooks = new Webhooks(transport);
  }
}

class Mail {
  constructor(private readonly t: Transport) {}

  /** POST /api/v1/mail/send: one email, now. */
  send(message: SendRequest | TemplatedSendRequest, options: SendOptions = {}): Promise<Response<SendResult>> {
    const idempotencyKey = options.idempotencyKey ?? newIdempotencyKey();
    return this.t.request({ method: "POST", path: "/api/v1/mail/send", body: message, idempotencyKey });
  }

  /** POST /api/v1/mail/send-batch: up to 100 emails queued. */
  sendBatch(batch: BatchRequest, options: SendOptions = {}): Promise<Response<BatchResult>> {
    const idempotencyKey = options.idempotencyKey ?? newIdempotencyKey();
    return this.t.request({ method: "POST", path: "/api/v1/mail/send-batch", body: batch, idempotencyKey });
  }

  /** GET /api/v1/mail/status/{message_id}: the message and its events. */
  status(messageId: string, query: { limit?: number; cursor?: string } = {}): Promise<Response<StatusResult>> {
    return this.t.request({ method: "GET", path: `/api/v1/mail/status/${id(messageId)}`, query });
  }
}

class Messages {
  constructor(private readonly t: Transport) {}

  list(query: MessageQuery = {}): Promise<Response<MessagePage>> {
    return this.t.request({ method: "GET", path: "/api/v1/mail/messages", query: { ...query } });
  }

  /** Every message matching the filters, page after page. */
  async *iterate(query: Omit<MessageQuery, "cursor"> = {}): AsyncGenerator<MessageSummary> {
    let cursor: string | null | undefined;
    do {
      const page = (await this.list({ ...query, ...(cursor ? { cursor } : {}) })).data;
      yield* page.messages;
      cursor = page.next_cursor;
    } while (cursor);
  }

  cancel(messageId: string): Promise<Response<CancelResult>> {
    return this.t.request({ method: "POST", path: `/api/v1/mail/messages/${id(messageId)}/cancel` });
  }

  resend(messageId: string): Promise<Response<ResendResult>> {
    return this.t.request({ method: "POST", path: `/api/v1/mail/messages/${id(messageId)}/resend` });
  }
}

class Suppressions {
  constructor(private readonly t: Transport) {}

  list(query: { limit?: number; cursor?: string; prefix?: string } = {}): Promise<Response<SuppressionPage>> {
    return this.t.request({ method: "GET", path: "/api/v1/suppressions", query });
  }

  async *iterate(query: { limit?: number; prefix?: string } = {}): AsyncGenerator<SuppressionView> {
    let cursor: string | null | undefined;
    do {
      const page = (await this.list({ ...query, ...(cursor ? { cursor } : {}) })).data;
      yield* page.suppressions;
      cursor = page.next_cursor;
    } while (cursor);
  }

  add(address: string, note?: string): Promise<Response<SuppressionView>> {
    const body = note === undefined ? { address } : { address, note };
    return this.t.request({ method: "POST", path: "/api/v1/suppressions", body });
  }

  remove(address: string): Promise<Response<Removed>> {
    return this.t.request({ method: "DELETE", path: `/api/v1/suppressions/${id(address)}` });
  }
}

class Webhooks {
  constructor(private readonly t: Transport) {}

  list(query: { limit?: number; cursor?: string } = {}): Promise<Response<WebhookPage>> {
    return this.t.request({ method: "GET", path: "/api/v1/webhooks", query });
  }

  /** A new endpoint; its secret (whsec_...) is in this answer only. */
  create(url: string, events: string[]): Promise<Response<CreatedWebhook>> {
    return this.t.request({ method: "POST", path: "/api/v1/webhooks", body: { url, events } });
  }

  get(endpointId: string): Promise<Response<WebhookView>> {
    return this.t.request({ method: "GET", path: `/api/v1/webhooks/${id(endpointId)}` });
  }

  update(endpointId: string, changes: { url?: string; events?: string[]; enabled?: boolean }): Promise<Response<WebhookView>> {
    return this.t.request({ method: "PATCH", path: `/api/v1/webhooks/${id(endpointId)}`, body: changes });
  }

  async delete(endpointId: string): Promise<void> {
    await this.t.request({ method: "DELETE", path: `/api/v1/webhooks/${id(endpointId)}` });
  }

  rotateSecret(endpointId: string, overlapSeconds?: number): Promise<Response<CreatedWebhook>> {
    const query = overlapSeconds === undefined ? {} : { overlap_seconds: overlapSeconds };
    return this.t.request({ method: "POST", path: `/api/v1/webhooks/${id(endpointId)}/rotate-secret`, query });
  }
}
