<?php
declare(strict_types=1);

namespace MailPass\Resources;

/**
 * @phpstan-import-type SuppressionPage from \MailPass\Types
 * @phpstan-import-type SuppressionView from \MailPass\Types
 * @phpstan-import-type Removed from \MailPass\Types
 */
final class Suppressions extends Resource
{
    /**
     * @param array{limit?: int, cursor?: string, prefix?: string} $query
     * @return array{success: bool, data: SuppressionPage}
     */
    public function list(array $query = []): array
    {
        return $this->transport->request('GET', '/api/v1/suppressions', $query);
    }

    /**
     * @param array{prefix?: string, limit?: int} $query
     * @return \Generator<int, SuppressionView>
     */
    public function iterate(array $query = []): \Generator
    {
        do {
            $page = $this->list($query)['data'];
            yield from $page['suppressions'];
            $query['cursor'] = $page['next_cursor'];
        } while ($page['next_cursor'] !== null);
    }

    /** @return array{success: bool, data: SuppressionView} */
    public function add(string $address, ?string $note = null): array
    {
        $body = ['address' => $address] + ($note === null ? [] : ['note' => $note]);
        return $this->transport->request('POST', '/api/v1/suppressions', null, $body);
    }

    /** @return array{success: bool, data: Removed} */
    public function remove(string $address): array
    {
        return $this->transport->request('DELETE', '/api/v1/suppressions/' . self::id($address));
    }
}
