<?php
declare(strict_types=1);

namespace MailPass;

/**
 * The shapes of the API's requests and results (array shapes, for PHPStan and Psalm),
 * each named as its schema in the gateway's /openapi.json; the SDK's tests compare them
 * key by key. Every method returns the decoded response: {success: true, data: <shape>}.
 *
 * @phpstan-type SendRequest array{to: string, subject: string, html?: string, text?: string, from_email?: string, from_name?: string, reply_to?: string, cc?: list<string>, bcc?: list<string>, tags?: list<string>, metadata?: array<string, mixed>, track_opens?: bool, track_clicks?: bool, attachments?: list<array{filename: string, content: string, content_type: string, content_id?: string}>, unsubscribe?: bool|null, scheduled_at?: string}
 * @phpstan-type TemplatedSendRequest array{to: string, template_id: string, variables?: array<string, mixed>, from_email?: string, from_name?: string, reply_to?: string, cc?: list<string>, bcc?: list<string>, tags?: list<string>, metadata?: array<string, mixed>, track_opens?: bool, track_clicks?: bool, attachments?: list<array{filename: string, content: string, content_type: string, content_id?: string}>, unsubscribe?: bool|null, scheduled_at?: string}
 * @phpstan-type BatchRequest array{messages: list<SendRequest|TemplatedSendRequest|array{to: string, variables?: array<string, mixed>}>, from_email?: string, from_name?: string, template_id?: string}
 * @phpstan-type SuppressedRecipient array{address: string, field: string, reason: string}
 * @phpstan-type SendResult array{message_id: string, status: string, to: string, from: string, suppressed?: list<SuppressedRecipient>|null, scheduled_at?: string|null}
 * @phpstan-type MessageError array{code: string, message: string, details?: mixed}
 * @phpstan-type BatchItem array{to: string|null, status: string, queue_id?: int|null, message_id?: string|null, error?: MessageError|null, suppressed?: list<SuppressedRecipient>|null, scheduled_at?: string|null}
 * @phpstan-type BatchResult array{total: int, queued: int, failed: int, messages: list<BatchItem>}
 * @phpstan-type MessageView array{message_id: string, from_email: string, to_email: string, subject: string, status: string, error_message: string|null, sent_at: string|null, created_at: string, scheduled_at?: string|null, body_purged_at: string|null}
 * @phpstan-type EventView array{event_type: string, ip_address: string|null, user_agent: string|null, created_at: string, url?: string|null, classification?: string|null, detail?: string|null}
 * @phpstan-type StatusResult array{message: MessageView, events: list<EventView>, event_totals: array<string, int>, next_cursor: string|null}
 * @phpstan-type MessageSummary array{message_id: string, from_email: string, to_email: string, subject: string, status: string, error_message: string|null, tags: list<string>, sandbox: bool, resent_from: string|null, resent_as: string|null, sent_at: string|null, created_at: string, body_purged_at: string|null}
 * @phpstan-type MessagePage array{messages: list<MessageSummary>, next_cursor: string|null}
 * @phpstan-type CancelResult array{message_id: string, status: string}
 * @phpstan-type ResendResult array{message_id: string, status: string, to: string, from: string, resent_from: string, suppressed?: list<SuppressedRecipient>|null}
 * @phpstan-type SuppressionView array{address: string, reason: string, source: string, message_id: string|null, detail: string, created_at: string}
 * @phpstan-type SuppressionPage array{suppressions: list<SuppressionView>, next_cursor: string|null}
 * @phpstan-type Removed array{address: string, removed?: bool}
 * @phpstan-type WebhookView array{id: string, url: string, events: list<string>, enabled: bool, sandbox: bool, disabled_reason: string|null, failing_since: string|null, previous_secret_valid_until: string|null, created_at: string}
 * @phpstan-type CreatedWebhook array{id: string, url: string, events: list<string>, enabled: bool, sandbox: bool, disabled_reason: string|null, failing_since: string|null, previous_secret_valid_until: string|null, created_at: string, secret: string}
 * @phpstan-type WebhookPage array{webhooks: list<WebhookView>, next_cursor: string|null}
 */
final class Types
{
}
