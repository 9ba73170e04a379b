<?php
declare(strict_types=1);

namespace MailPass\Resources;

use MailPass\Transport;

/**
 * @phpstan-import-type SendRequest from \MailPass\Types
 * @phpstan-import-type TemplatedSendRequest from \MailPass\Types
 * @phpstan-import-type BatchRequest from \MailPass\Types
 * @phpstan-import-type SendResult from \MailPass\Types
 * @phpstan-import-type BatchResult from \MailPass\Types
 * @phpstan-import-type StatusResult from \MailPass\Types
 */
final class Mail extends Resource
{
    /**
     * POST /api/v1/mail/send. An Idempotency-Key is made for the call (or pass your own
     * in $options['idempotency_key']) and kept on every retry.
     *
     * @param SendRequest|TemplatedSendRequest $message
     * @param array{idempotency_key?: string} $options
     * @return array{success: bool, data: SendResult}
     */
    public function send(array $message, array $options = []): array
    {
        $key = $options['idempotency_key'] ?? Transport::newIdempotencyKey();
        return $this->transport->request('POST', '/api/v1/mail/send', null, $message, $key);
    }

    /**
     * POST /api/v1/mail/send-batch: up to 100 messages queued.
     *
     * @param BatchRequest $batch
     * @param array{idempotency_key?: string} $options
     * @return array{success: bool, data: BatchResult}
     */
    public function sendBatch(array $batch, array $options = []): array
    {
        $key = $options['idempotency_key'] ?? Transport::newIdempotencyKey();
        return $this->transport->request('POST', '/api/v1/mail/send-batch', null, $batch, $key);
    }

    /**
     * GET /api/v1/mail/status/{message_id}: the message and its events.
     *
     * @param array{limit?: int, cursor?: string} $query
     * @return array{success: bool, data: StatusResult}
     */
    public function status(string $messageId, array $query = []): array
    {
        return $this->transport->request('GET', '/api/v1/mail/status/' . self::id($messageId), $query);
    }
}
