<?php
declare(strict_types=1);

namespace MailPass;

use MailPass\Resources\Mail;
use MailPass\Resources\Messages;
use MailPass\Resources\Suppressions;
use MailPass\Resources\Webhooks;

/**
 * new MailPass\Client('mp_live_...', ['base_url' => ..., 'timeout' => 60, 'max_retries' => 2]).
 * Without base_url, MAILPASS_BASE_URL; without that, https://dev.mailpass.im.
 */
final class Client
{
    public const DEFAULT_BASE_URL = 'https://dev.mailpass.im';

    public readonly Mail $mail;
    public readonly Messages $messages;
    public readonly Suppressions $suppressions;
    public readonly Webhooks $webhooks;

    /** @param array{base_url?: string, timeout?: float|int, max_retries?: int} $options */
    public function __construct(string $apiKey, array $options = [])
    {
        if ($apiKey === '') {
            throw new \InvalidArgumentException('An API key is required (mp_live_... or mp_test_...)');
        }
        $env = getenv('MAILPASS_BASE_URL');
        $baseUrl = $options['base_url'] ?? (is_string($env) && $env !== '' ? $env : self::DEFAULT_BASE_URL);
        $transport = new Transport(
            $apiKey,
            rtrim($baseUrl, '/'),
            (float) ($options['timeout'] ?? 60),
            (int) ($options['max_retries'] ?? 2),
        );
        $this->mail = new Mail($transport);
        $this->messages = new Messages($transport);
        $this->suppressions = new Suppressions($transport);
        $this->webhooks = new Webhooks($transport);
    }
}
