<?php
declare(strict_types=1);

namespace MailPass\Tests;

use PHPUnit\Framework\TestCase;

/** The array shapes of MailPass\Types against the gateway's /openapi.json, key by key. */
final class TypesTest extends TestCase
{
    /** @return array<string, array<string, bool>> shape name => [key => required] */
    private static function shapes(): array
    {
        $doc = (new \ReflectionClass(\MailPass\Types::class))->getDocComment();
        preg_match_all('/@phpstan-type (\w+) array\{(.*)\}\s*$/m', (string) $doc, $found, PREG_SET_ORDER);
        $shapes = [];
        foreach ($found as [, $name, $body]) {
            $shapes[$name] = self::topLevelKeys($body);
        }
        return $shapes;
    }

    /** @return array<string, bool> */
    private static function topLevelKeys(string $body): array
    {
        $keys = [];
        $depth = 0;
        $part = '';
        foreach (str_split($body . ',') as $char) {
            $depth += match ($char) { '{', '<', '(' => 1, '}', '>', ')' => -1, default => 0 };
            if ($char === ',' && $depth === 0) {
                [$key] = explode(':', trim($part), 2);
                $keys[rtrim($key, '?')] = !str_ends_with($key, '?');
                $part = '';
            } else {
                $part .= $char;
            }
        }
        return $keys;
    }

    /** @return array<string, bool> */
    private static function schemaKeys(array $schema): array
    {
        $required = $schema['required'] ?? [];
        $keys = [];
        foreach (array_keys($schema['properties']) as $name) {
            $keys[$name] = in_array($name, $required, true);
        }
        return $keys;
    }

    public function testShapesMatchTheOpenApiDocument(): void
    {
        $api = Stack::getJson(Stack::env('MAILPASS_BASE_URL') . '/openapi.json');
        $schemas = $api['components']['schemas'];
        $body = static fn (string $path) => $api['paths'][$path]['post']['requestBody']['content']['application/json']['schema'];
        $variants = array_column($body('/api/v1/mail/send')['oneOf'], null, 'title');
        $expected = [
            'SendRequest' => self::schemaKeys($variants['SendRequest']),
            'TemplatedSendRequest' => self::schemaKeys($variants['TemplatedSendRequest']),
            'BatchRequest' => self::schemaKeys($body('/api/v1/mail/send-batch')),
        ];
        $shapes = self::shapes();
        $this->assertGreaterThan(15, count($shapes));
        foreach ($shapes as $name => $keys) {
            $want = $expected[$name] ?? (isset($schemas[$name]) ? self::schemaKeys($schemas[$name]) : null);
            $this->assertNotNull($want, "$name is not a schema of /openapi.json");
            ksort($want);
            ksort($keys);
            $this->assertSame($want, $keys, "$name: keys (=> required) differ from /openapi.json");
        }
    }
}
