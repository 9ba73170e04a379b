<?php
declare(strict_types=1);

namespace MailPass;

use MailPass\Exception\ApiException;
use MailPass\Exception\ConnectionException;

/**
 * HTTP over ext-curl, with the retry rule every MailPass SDK shares: connection errors,
 * timeouts, 429 (after its Retry-After) and 5xx are retried up to max_retries times for
 * requests safe to repeat (reads, and sends, which carry one Idempotency-Key per call kept
 * on every retry); other writes only when the connection could not be opened.
 */
final class Transport
{
    private const RETRIED_STATUSES = [429, 500, 502, 503, 504];
    private const MAX_RETRY_WAIT = 60.0;

    public function __construct(
        private readonly string $apiKey,
        private readonly string $baseUrl,
        private readonly float $timeout,
        private readonly int $maxRetries,
    ) {
    }

    /**
     * @param array<string, mixed>|null $query
     * @param array<string, mixed>|null $body
     * @return array<string, mixed>
     */
    public function request(
        string $method,
        string $path,
        ?array $query = null,
        ?array $body = null,
        ?string $idempotencyKey = null,
    ): array {
        $repeatable = in_array($method, ['GET', 'PUT', 'DELETE'], true) || $idempotencyKey !== null;
        $attempt = 0;
        while (true) {
            [$status, $headers, $raw, $curlError, $connectFailed] =
                $this->once($method, $path, $query, $body, $idempotencyKey);
            $canRetry = $attempt < $this->maxRetries;
            if ($curlError !== null) {
                if (!$canRetry || !($repeatable || $connectFailed)) {
                    throw new ConnectionException("$method $path: $curlError");
                }
            } elseif (!$canRetry || !$repeatable || !in_array($status, self::RETRIED_STATUSES, true)) {
                return $this->decoded($status, $headers, $raw);
            }
            $attempt++;
            usleep((int) ($this->waitBeforeRetry($attempt, $curlError === null ? $headers : []) * 1e6));
        }
    }

    public static function newIdempotencyKey(): string
    {
        return 'mpk_' . bin2hex(random_bytes(16));
    }

    /** @param array<string, string> $headers */
    private function waitBeforeRetry(int $attempt, array $headers): float
    {
        $asked = self::retryAfter($headers);
        if ($asked !== null) {
            return min($asked, self::MAX_RETRY_WAIT);
        }
        $backoff = min(0.5 * 2 ** ($attempt - 1), self::MAX_RETRY_WAIT);
        return $backoff * (0.8 + 0.4 * mt_rand() / mt_getrandmax());
    }

    /** @param array<string, string> $headers */
    private static function retryAfter(array $headers): ?float
    {
        $value = $headers['retry-after'] ?? null;
        return ($value !== null && is_numeric($value)) ? max(0.0, (float) $value) : null;
    }

    /**
     * @param array<string, mixed>|null $query
     * @param array<string, mixed>|null $body
     * @return array{int, array<string, string>, string, ?string, bool}
     */
    private function once(string $method, string $path, ?array $query, ?array $body, ?string $key): array
    {
        $url = $this->baseUrl . $path;
        $query = array_filter($query ?? [], static fn ($v) => $v !== null);
        if ($query !== []) {
            $query = array_map(static fn ($v) => is_bool($v) ? ($v ? 'true' : 'false') : $v, $query);
            $url .= '?' . http_build_query($query, '', '&', PHP_QUERY_RFC3986);
        }
        $headers = [
            'Authorization: Bearer ' . $this->apiKey,
            'User-Agent: mailpass-php/' . Version::VERSION . ' PHP/' . PHP_VERSION,
            'Accept: application/json',
        ];
        if ($key !== null) {
            $headers[] = 'Idempotency-Key: ' . $key;
        }
        $handle = curl_init($url);
        $options = [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_TIMEOUT_MS => (int) ($this->timeout * 1000),
            CURLOPT_CONNECTTIMEOUT_MS => (int) (min($this->timeout, 10.0) * 1000),
            CURLOPT_FOLLOWLOCATION => false,
        ];
        if ($body !== null) {
            $options[CURLOPT_POSTFIELDS] = json_encode($body, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES);
            $headers[] = 'Content-Type: application/json';
        }
        $received = [];
        $options[CURLOPT_HEADERFUNCTION] = static function ($ch, string $line) use (&$received): int {
            $parts = explode(':', $line, 2);
            if (count($parts) === 2) {
                $received[strtolower(trim($parts[0]))] = trim($parts[1]);
            }
            return strlen($line);
        };
        $options[CURLOPT_HTTPHEADER] = $headers;
        curl_setopt_array($handle, $options);
        $raw = curl_exec($handle);
        $errno = curl_errno($handle);
        $status = (int) curl_getinfo($handle, CURLINFO_RESPONSE_CODE);
        curl_close($handle);
        if ($raw === false || $errno !== 0) {
            $connectFailed = in_array($errno, [CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST], true);
            return [0, [], '', curl_strerror($errno) ?: 'curl error ' . $errno, $connectFailed];
        }
        return [$status, $received, (string) $raw, null, false];
    }

    /**
     * @param array<string, string> $headers
     * @return array<string, mixed>
     */
    private function decoded(int $status, array $headers, string $raw): array
    {
        if ($status === 204) {
            return [];
        }
        $body = json_decode($raw, true);
        if ($status >= 200 && $status < 300 && is_array($body)) {
            return $body;
        }
        $error = is_array($body) && is_array($body['error'] ?? null)
            ? $body['error']
            : ['code' => 'HTTP_ERROR', 'message' => substr($raw, 0, 200)];
        throw new ApiException(
            $status,
            (string) ($error['code'] ?? 'HTTP_ERROR'),
            (string) ($error['message'] ?? ''),
            $error['details'] ?? null,
            self::retryAfter($headers),
            $headers['x-request-id'] ?? null,
        );
    }
}
