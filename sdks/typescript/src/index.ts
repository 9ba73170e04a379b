export { MailPass } from "./client.js";
export type { ClientOptions, SendOptions } from "./client.js";
export { ApiError, ConnectionError, MailPassError } from "./errors.js";
export { Webhook, WebhookVerificationError } from "./webhook.js";
export { VERSION } from "./version.js";
export type * from "./types.js";
