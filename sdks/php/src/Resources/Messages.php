<?php
declare(strict_types=1);

namespace MailPass\Resources;

/**
 * @phpstan-import-type MessagePage from \MailPass\Types
 * @phpstan-import-type MessageSummary from \MailPass\Types
 * @phpstan-import-type CancelResult from \MailPass\Types
 * @phpstan-import-type ResendResult from \MailPass\Types
 */
final class Messages extends Resource
{
    /**
     * GET /api/v1/mail/messages: one page, newest first.
     *
     * @param array{status?: string, tag?: string, to?: string, created_after?: string, created_before?: string, sandbox?: bool, limit?: int, cursor?: string} $query
     * @return array{success: bool, data: MessagePage}
     */
    public function list(array $query = []): array
    {
        return $this->transport->request('GET', '/api/v1/mail/messages', $query);
    }

    /**
     * Every message matching the filters, page after page.
     *
     * @param array{status?: string, tag?: string, to?: string, created_after?: string, created_before?: string, sandbox?: bool, limit?: int} $query
     * @return \Generator<int, MessageSummary>
     */
    public function iterate(array $query = []): \Generator
    {
        do {
            $page = $this->list($query)['data'];
            yield from $page['messages'];
            $query['cursor'] = $page['next_cursor'];
        } while ($page['next_cursor'] !== null);
    }

    /** @return array{success: bool, data: CancelResult} */
    public function cancel(string $messageId): array
    {
        return $this->transport->request('POST', '/api/v1/mail/messages/' . self::id($messageId) . '/cancel');
    }

    /** @return array{success: bool, data: ResendResult} */
    public function resend(string $messageId): array
    {
        return $this->transport->request('POST', '/api/v1/mail/messages/' . self::id($messageId) . '/resend');
    }
}
