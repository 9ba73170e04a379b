<?php
declare(strict_types=1);

namespace MailPass\Resources;

/**
 * @phpstan-import-type WebhookPage from \MailPass\Types
 * @phpstan-import-type WebhookView from \MailPass\Types
 * @phpstan-import-type CreatedWebhook from \MailPass\Types
 */
final class Webhooks extends Resource
{
    /**
     * @param array{limit?: int, cursor?: string} $query
     * @return array{success: bool, data: WebhookPage}
     */
    public function list(array $query = []): array
    {
        return $this->transport->request('GET', '/api/v1/webhooks', $query);
    }

    /**
     * A new endpoint; its secret (whsec_...) is in this answer only.
     *
     * @param list<string> $events
     * @return array{success: bool, data: CreatedWebhook}
     */
    public function create(string $url, array $events): array
    {
        return $this->transport->request('POST', '/api/v1/webhooks', null, ['url' => $url, 'events' => $events]);
    }

    /** @return array{success: bool, data: WebhookView} */
    public function get(string $endpointId): array
    {
        return $this->transport->request('GET', '/api/v1/webhooks/' . self::id($endpointId));
    }

    /**
     * @param array{url?: string, events?: list<string>, enabled?: bool} $changes
     * @return array{success: bool, data: WebhookView}
     */
    public function update(string $endpointId, array $changes): array
    {
        return $this->transport->request('PATCH', '/api/v1/webhooks/' . self::id($endpointId), null, $changes);
    }

    public function delete(string $endpointId): void
    {
        $this->transport->request('DELETE', '/api/v1/webhooks/' . self::id($endpointId));
    }

    /** @return array{success: bool, data: CreatedWebhook} */
    public function rotateSecret(string $endpointId, ?int $overlapSeconds = null): array
    {
        $query = $overlapSeconds === null ? null : ['overlap_seconds' => $overlapSeconds];
        return $this->transport->request('POST', '/api/v1/webhooks/' . self::id($endpointId) . '/rotate-secret', $query);
    }
}
