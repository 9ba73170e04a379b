<?php
declare(strict_types=1);

namespace MailPass\Resources;

use MailPass\Transport;

abstract class Resource
{
    public function __construct(protected readonly Transport $transport)
    {
    }

    protected static function id(string $value): string
    {
        return rawurlencode($value);
    }
}
