/** Anything this client throws. */
export class MailPassError extends Error {
  override name = "MailPassError";
}

/** No answer from the API (connection refused or cut, DNS, TLS, timeout), after the retries. */
export class ConnectionError extends MailPassError {
  override name = "ConnectionError";
}

/**
 * The API answered with its error envelope: `status` (HTTP), `code` (the API's stable
 * code, e.g. VALIDATION_ERROR, RATE_LIMITED), `details`, `retryAfter` (seconds) or null.
 */
export class ApiError extends MailPassError {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    readonly retryAfter: number | null = null,
    readonly requestId: string | null = null,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}
