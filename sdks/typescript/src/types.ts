/**
 * The API's requests and results, each named as its schema in the gateway's
 * /openapi.json (the tests compare them key by key). Every method resolves to the
 * decoded response, `{ success: true, data: <type> }`.
 */

export interface Attachment {
  filename: string;
  content: string;
  content_type: string;
  content_id?: string;
}

export interface SendRequest {
  to: string;
  subject: string;
  html?: string;
  text?: string;
  from_email?: string;
  from_name?: string;
  reply_to?: string;
  cc?: string[];
  bcc?: string[];
  tags?: string[];
  metadata?: Record<string, unknown>;
  track_opens?: boolean;
  track_clicks?: boolean;
  attachments?: Attachment[];
  unsubscribe?: boolean | null;
  scheduled_at?: string;
}

/** A send from a stored template: its subject and bodies rendered with `variables`. */
export interface TemplatedSendRequest {
  to: string;
  template_id: string;
  variables?: Record<string, unknown>;
  from_email?: string;
  from_name?: string;
  reply_to?: string;
  cc?: string[];
  bcc?: string[];
  tags?: string[];
  metadata?: Record<string, unknown>;
  track_opens?: boolean;
  track_clicks?: boolean;
  attachments?: Attachment[];
  unsubscribe?: boolean | null;
  scheduled_at?: string;
}

export interface BatchRequest {
  /** With a top-level `template_id`, a message may give only `to` and `variables`. */
  messages: Array<SendRequest | TemplatedSendRequest | { to: string; variables?: Record<string, unknown> }>;
  from_email?: string;
  from_name?: string;
  template_id?: string;
}

export interface SuppressedRecipient {
  address: string;
  field: string;
  reason: string;
}

export interface SendResult {
  message_id: string;
  status: string;
  to: string;
  from: string;
  suppressed?: SuppressedRecipient[] | null;
  scheduled_at?: string | null;
}

export interface MessageError {
  code: string;
  message: string;
  details?: unknown;
}

export interface BatchItem {
  to: string | null;
  status: string;
  queue_id?: number | null;
  message_id?: string | null;
  error?: MessageError | null;
  suppressed?: SuppressedRecipient[] | null;
  scheduled_at?: string | null;
}

export interface BatchResult {
  total: number;
  queued: number;
  failed: number;
  messages: BatchItem[];
}

export interface MessageView {
  message_id: string;
  from_email: string;
  to_email: string;
  subject: string;
  status: string;
  error_message: string | null;
  sent_at: string | null;
  created_at: string;
  scheduled_at?: string | null;
  body_purged_at: string | null;
}

export interface EventView {
  event_type: string;
  ip_address: string | null;
  user_agent: string | null;
  created_at: string;
  url?: string | null;
  classification?: string | null;
  detail?: string | null;
}

export interface StatusResult {
  message: MessageView;
  events: EventView[];
  event_totals: Record<string, number>;
  next_cursor: string | null;
}

export interface MessageSummary {
  message_id: string;
  from_email: string;
  to_email: string;
  subject: string;
  status: string;
  error_message: string | null;
  tags: string[];
  sandbox: boolean;
  resent_from: string | null;
  resent_as: string | null;
  sent_at: string | null;
  created_at: string;
  body_purged_at: string | null;
}

export interface MessagePage {
  messages: MessageSummary[];
  next_cursor: string | null;
}

export interface CancelResult {
  message_id: string;
  status: string;
}

export interface ResendResult {
  message_id: string;
  status: string;
  to: string;
  from: string;
  resent_from: string;
  suppressed?: SuppressedRecipient[] | null;
}

export interface SuppressionView {
  address: string;
  reason: string;
  source: string;
  message_id: string | null;
  detail: string;
  created_at: string;
}

export interface SuppressionPage {
  suppressions: SuppressionView[];
  next_cursor: string | null;
}

export interface Removed {
  address: string;
  removed?: boolean;
}

export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  sandbox: boolean;
  disabled_reason: string | null;
  failing_since: string | null;
  previous_secret_valid_until: string | null;
  created_at: string;
}

export interface CreatedWebhook extends WebhookView {
  secret: string;
}

export interface WebhookPage {
  webhooks: WebhookView[];
  next_cursor: string | null;
}

export interface Response<T> {
  success: boolean;
  data: T;
}

export interface MessageQuery {
  status?: "scheduled" | "queued" | "sending" | "deferred" | "sent" | "failed" | "cancelled";
  tag?: string;
  to?: string;
  created_after?: string;
  created_before?: string;
  sandbox?: boolean;
  limit?: number;
  cursor?: string;
}
