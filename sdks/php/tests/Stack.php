<?php
declare(strict_types=1);

namespace MailPass\Tests;

use MailPass\Client;

/**
 * The running stack these tests talk to, from the environment the test driver
 * (tests/sdks in the repository) sets: MAILPASS_BASE_URL, MAILPASS_API_KEY, and
 * MAILPASS_FLAKY_URL, a front that answers each request's first try with 503.
 */
final class Stack
{
    public static function env(string $name): string
    {
        $value = getenv($name);
        if (!is_string($value) || $value === '') {
            throw new \RuntimeException("$name is not set: run these tests through pytest tests/sdks");
        }
        return $value;
    }

    public static function client(array $options = []): Client
    {
        return new Client(self::env('MAILPASS_API_KEY'), $options + ['base_url' => self::env('MAILPASS_BASE_URL')]);
    }

    /** @return array<string, mixed> */
    public static function getJson(string $url): array
    {
        $raw = file_get_contents($url);
        if ($raw === false) {
            throw new \RuntimeException("GET $url failed");
        }
        return json_decode($raw, true, 512, JSON_THROW_ON_ERROR);
    }
}
