<?php
declare(strict_types=1);

namespace MailPass;

use MailPass\Exception\MailPassException;

/**
 * Verifies MailPass webhook deliveries (Standard Webhooks): webhook-id, webhook-timestamp
 * (Unix seconds, within the tolerance) and webhook-signature, space-separated
 * "v1,<base64 HMAC-SHA256>" of "{id}.{timestamp}.{body}" under the whsec_ secret's decoded
 * bytes (one signature per secret while a rotated-out secret is still valid).
 *
 *   $payload = (new MailPass\Webhook($secret))->verify(file_get_contents('php://input'), getallheaders());
 */
final class Webhook
{
    private readonly string $key;

    public function __construct(string $secret, private readonly int $toleranceSeconds = 300)
    {
        $key = base64_decode(str_starts_with($secret, 'whsec_') ? substr($secret, 6) : $secret, true);
        if ($key === false || $key === '') {
            throw new \InvalidArgumentException('Not a webhook secret (whsec_...)');
        }
        $this->key = $key;
    }

    public function sign(string $webhookId, int $timestamp, string $body): string
    {
        return 'v1,' . base64_encode(hash_hmac('sha256', "$webhookId.$timestamp.$body", $this->key, true));
    }

    /**
     * The delivery's decoded JSON payload, once signature and timestamp check out.
     *
     * @param array<string, string|list<string>> $headers
     * @return array<string, mixed>
     */
    public function verify(string $body, array $headers, ?int $now = null): array
    {
        $lowered = [];
        foreach ($headers as $name => $value) {
            $lowered[strtolower((string) $name)] = is_array($value) ? implode(' ', $value) : $value;
        }
        $id = $lowered['webhook-id'] ?? '';
        $stamp = $lowered['webhook-timestamp'] ?? '';
        $signatures = $lowered['webhook-signature'] ?? '';
        if ($id === '' || $stamp === '' || $signatures === '') {
            throw new MailPassException('Missing webhook-id, -timestamp or -signature header');
        }
        if (!ctype_digit($stamp)) {
            throw new MailPassException('Invalid webhook-timestamp');
        }
        if (abs(($now ?? time()) - (int) $stamp) > $this->toleranceSeconds) {
            throw new MailPassException('Timestamp outside the tolerance: a replay?');
        }
        $expected = $this->sign($id, (int) $stamp, $body);
        foreach (preg_split('/\s+/', trim($signatures)) ?: [] as $candidate) {
            if (hash_equals($expected, $candidate)) {
                $payload = json_decode($body, true, 512, JSON_THROW_ON_ERROR);
                return is_array($payload) ? $payload : ['payload' => $payload];
            }
        }
        throw new MailPassException('No signature matches this secret');
    }
}
