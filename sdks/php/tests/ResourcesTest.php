<?php
declare(strict_types=1);

namespace MailPass\Tests;

use MailPass\Exception\ApiException;
use MailPass\Exception\MailPassException;
use MailPass\Webhook;
use PHPUnit\Framework\TestCase;

final class ResourcesTest extends TestCase
{
    public function testSuppressions(): void
    {
        $client = Stack::client();
        $added = $client->suppressions->add('php-blocked@example.com', 'asked us')['data'];
        $this->assertSame('php-blocked@example.com', $added['address']);
        $client->suppressions->add('php-blocked2@example.com');
        $all = iterator_to_array($client->suppressions->iterate(['prefix' => 'php-blocked', 'limit' => 1]), false);
        $this->assertSame(['php-blocked2@example.com', 'php-blocked@example.com'], array_column($all, 'address'));
        try {
            $client->mail->send(['to' => 'php-blocked@example.com', 'subject' => 'x', 'text' => 'x']);
            $this->fail('a suppressed address was sent to');
        } catch (ApiException $e) {
            $this->assertSame('RECIPIENT_SUPPRESSED', $e->getErrorCode());
        }
        $this->assertSame('php-blocked@example.com', $client->suppressions->remove('php-blocked@example.com')['data']['address']);
    }

    public function testWebhookEndpoints(): void
    {
        $client = Stack::client();
        $created = $client->webhooks->create('http://127.0.0.1:9/php-hook', ['sent', 'failed'])['data'];
        $this->assertStringStartsWith('whsec_', $created['secret']);
        $page = $client->webhooks->list(['limit' => 100])['data'];
        $this->assertContains($created['id'], array_column($page['webhooks'], 'id'));
        $updated = $client->webhooks->update($created['id'], ['enabled' => false])['data'];
        $this->assertFalse($updated['enabled']);
        $client->webhooks->delete($created['id']);
        try {
            $client->webhooks->get($created['id']);
            $this->fail('a deleted endpoint was found');
        } catch (ApiException $e) {
            $this->assertSame(404, $e->getStatus());
        }
    }

    public function testWebhookVerifier(): void
    {
        // A delivery signed by the server's own signing code (MAILPASS_WEBHOOK_*).
        $secret = Stack::env('MAILPASS_WEBHOOK_SECRET');
        $body = Stack::env('MAILPASS_WEBHOOK_BODY');
        $headers = json_decode(Stack::env('MAILPASS_WEBHOOK_HEADERS'), true, 512, JSON_THROW_ON_ERROR);
        $payload = (new Webhook($secret))->verify($body, $headers);
        $this->assertSame(json_decode($body, true), $payload);

        $tampered = $headers;
        $this->expectException(MailPassException::class);
        (new Webhook($secret))->verify($body . ' ', $tampered);
    }

    public function testStaleWebhookIsRefused(): void
    {
        $secret = Stack::env('MAILPASS_WEBHOOK_SECRET');
        $body = Stack::env('MAILPASS_WEBHOOK_BODY');
        $headers = json_decode(Stack::env('MAILPASS_WEBHOOK_HEADERS'), true, 512, JSON_THROW_ON_ERROR);
        $this->expectExceptionMessage('tolerance');
        (new Webhook($secret))->verify($body, $headers, (int) $headers['webhook-timestamp'] + 3600);
    }
}
