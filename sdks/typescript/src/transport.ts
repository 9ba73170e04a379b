import { randomUUID } from "node:crypto";
import { ApiError, ConnectionError } from "./errors.js";
import { VERSION } from "./version.js";

/**
 * HTTP on fetch, with the retry rule every MailPass SDK shares: connection errors,
 * timeouts, 429 (after its Retry-After) and 5xx are retried up to `maxRetries` times for
 * requests safe to repeat (reads, and sends, which carry one Idempotency-Key per call,
 * kept on every retry); other writes are not retried.
 */

const RETRIED_STATUSES = new Set([429, 500, 502, 503, 504]);
const MAX_RETRY_WAIT = 60;

export interface TransportOptions {
  apiKey: string;
  baseUrl: string;
  timeoutMs: number;
  maxRetries: number;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface Call {
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  path: string;
  query?: Query;
  body?: unknown;
  idempotencyKey?: string;
}

export function newIdempotencyKey(): string {
  return `mpk_${randomUUID().replaceAll("-", "")}`;
}

function retryAfter(headers: Headers): number | null {
  const value = headers.get("retry-after");
  if (value === null || value.trim() === "" || Number.isNaN(Number(value))) return null;
  return Math.max(0, Number(value));
}

function waitBeforeRetry(attempt: number, response: globalThis.Response | null): number {
  const asked = response ? retryAfter(response.headers) : null;
  if (asked !== null) return Math.min(asked, MAX_RETRY_WAIT);
  const backoff = Math.min(0.5 * 2 ** (attempt - 1), MAX_RETRY_WAIT);
  return backoff * (0.8 + 0.4 * Math.random());
}

const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

export class Transport {
  constructor(private readonly options: TransportOptions) {}

  async request<T>(call: Call): Promise<T> {
    const repeatable = call.method !== "POST" && call.method !== "PATCH" ? true : call.idempotencyKey !== undefined;
    for (let attempt = 0; ; attempt++) {
      const canRetry = attempt < this.options.maxRetries;
      let response: globalThis.Response | null = null;
      try {
        response = await this.once(call);
      } catch (error) {
        if (!canRetry || !repeatable) {
          throw new ConnectionError(`${call.method} ${call.path}: ${String(error)}`, { cause: error });
        }
      }
      if (response !== null && !(canRetry && repeatable && RETRIED_STATUSES.has(response.status))) {
        return (await this.decoded(response)) as T;
      }
      if (response !== null) await response.body?.cancel();
      await sleep(waitBeforeRetry(attempt + 1, response));
    }
  }

  private once(call: Call): Promise<globalThis.Response> {
    const url = new URL(this.options.baseUrl + call.path);
    for (const [name, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.options.apiKey}`,
      "User-Agent": `mailpass-node/${VERSION} node/${process.versions.node}`,
      Accept: "application/json",
    };
    if (call.idempotencyKey !== undefined) headers["Idempotency-Key"] = call.idempotencyKey;
    let body: string | undefined;
    if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers["Content-Type"] = "application/json";
    }
    return fetch(url, {
      method: call.method,
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
  }

  private async decoded(response: globalThis.Response): Promise<unknown> {
    if (response.status === 204) return undefined;
    const raw = await response.text();
    let body: unknown = null;
    try {
      body = JSON.parse(raw);
    } catch {
      body = null;
    }
    if (response.ok && body !== null && typeof body === "object") return body;
    const envelope = (body as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
    throw new ApiError(
      response.status,
      envelope?.code ?? "HTTP_ERROR",
      envelope?.message ?? raw.slice(0, 200),
      envelope?.details ?? null,
      retryAfter(response.headers),
      response.headers.get("x-request-id"),
    );
  }
}
