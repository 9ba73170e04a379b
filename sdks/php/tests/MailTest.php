<?php
declare(strict_types=1);

namespace MailPass\Tests;

use MailPass\Exception\ApiException;
use PHPUnit\Framework\TestCase;

final class MailTest extends TestCase
{
    public function testSendStatusAndListing(): void
    {
        $client = Stack::client();
        $result = $client->mail->send([
            'to' => 'user@example.com',
            'subject' => 'Order Confirmation',
            'html' => '<h1>Your order has been confirmed</h1>',
            'text' => 'Your order has been confirmed',
            'from_email' => 'support@yourdomain.com',
            'from_name' => 'Your App',
            'tags' => ['php-sdk'],
            'metadata' => ['order_id' => '12345'],
        ]);
        $this->assertTrue($result['success']);
        $this->assertSame('sent', $result['data']['status']);
        $this->assertSame('support@yourdomain.com', $result['data']['from']);
        $id = $result['data']['message_id'];
        $this->assertMatchesRegularExpression('/^<[^@]+@[^>]+>$/', $id);

        $status = $client->mail->status($id)['data'];
        $this->assertSame($id, $status['message']['message_id']);
        $this->assertSame('sent', $status['message']['status']);
        $this->assertMatchesRegularExpression('/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/', $status['message']['created_at']);

        $listed = iterator_to_array($client->messages->iterate(['tag' => 'php-sdk', 'limit' => 1]), false);
        $this->assertSame([$id], array_column($listed, 'message_id'));
    }

    public function testBatchAndCancel(): void
    {
        $client = Stack::client();
        $batch = $client->mail->sendBatch([
            'messages' => [
                ['to' => 'a@example.com', 'subject' => 'Hello A', 'html' => '<p>Hi A</p>'],
                ['to' => 'not-an-address', 'subject' => 'Hello B', 'html' => '<p>Hi B</p>'],
            ],
            'from_email' => 'support@yourdomain.com',
            'from_name' => 'Your App',
        ])['data'];
        $this->assertSame([2, 1, 1], [$batch['total'], $batch['queued'], $batch['failed']]);
        $this->assertSame('queued', $batch['messages'][0]['status']);
        $this->assertIsInt($batch['messages'][0]['queue_id']);
        $this->assertSame('VALIDATION_ERROR', $batch['messages'][1]['error']['code']);

        $later = gmdate('Y-m-d\TH:i:s\Z', time() + 3600);
        $scheduled = $client->mail->send(['to' => 'b@example.com', 'subject' => 'Later', 'text' => 'later', 'scheduled_at' => $later]);
        $this->assertSame('scheduled', $scheduled['data']['status']);
        $cancelled = $client->messages->cancel($scheduled['data']['message_id'])['data'];
        $this->assertSame('cancelled', $cancelled['status']);
        try {
            $client->messages->cancel($scheduled['data']['message_id']);
            $this->fail('a cancelled message was cancelled again');
        } catch (ApiException $e) {
            $this->assertSame([409, 'NOT_CANCELLABLE'], [$e->getStatus(), $e->getErrorCode()]);
        }
    }

    public function testErrorsAreApiExceptions(): void
    {
        try {
            Stack::client()->mail->send(['to' => 'nobody', 'subject' => 'x', 'html' => '<p>x</p>']);
            $this->fail('an invalid address was accepted');
        } catch (ApiException $e) {
            $this->assertSame(400, $e->getStatus());
            $this->assertSame('VALIDATION_ERROR', $e->getErrorCode());
            $this->assertSame('to', $e->getDetails()[0]['field']);
        }
        $stranger = new \MailPass\Client('mp_live_not_a_key', ['base_url' => Stack::env('MAILPASS_BASE_URL')]);
        try {
            $stranger->mail->status('<x@y>');
            $this->fail('an unknown key was accepted');
        } catch (ApiException $e) {
            $this->assertSame([401, 'UNAUTHORIZED'], [$e->getStatus(), $e->getErrorCode()]);
        }
    }

    public function testRetriesKeepTheIdempotencyKey(): void
    {
        // The front answers the first try of every request with 503 and Retry-After: 0.
        $client = Stack::client(['base_url' => Stack::env('MAILPASS_FLAKY_URL')]);
        $result = $client->mail->send(['to' => 'retry@example.com', 'subject' => 'Retried', 'text' => 'once']);
        $this->assertSame('sent', $result['data']['status']);
        $seen = Stack::getJson(Stack::env('MAILPASS_FLAKY_URL') . '/_front/seen');
        $sends = array_values(array_filter($seen, static fn ($r) => $r['path'] === '/api/v1/mail/send'));
        $this->assertCount(2, $sends);
        $this->assertSame([503, 200], array_column($sends, 'status'));
        $this->assertNotEmpty($sends[0]['idempotency_key']);
        $this->assertSame($sends[0]['idempotency_key'], $sends[1]['idempotency_key']);
        $this->assertStringStartsWith('mailpass-php/', $sends[0]['user_agent']);

        $noRetry = Stack::client(['base_url' => Stack::env('MAILPASS_FLAKY_URL'), 'max_retries' => 0]);
        try {
            $noRetry->mail->send(['to' => 'retry@example.com', 'subject' => 'Not retried', 'text' => 'x']);
            $this->fail('the 503 was not reported');
        } catch (ApiException $e) {
            $this->assertSame(503, $e->getStatus());
        }
    }
}
