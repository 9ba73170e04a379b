<?php
declare(strict_types=1);

namespace MailPass\Exception;

/**
 * The API answered with its error envelope {"success": false, "error": {code, message, details}}.
 * getStatus(): the HTTP status; getErrorCode(): the API's stable code (VALIDATION_ERROR,
 * RATE_LIMITED, ...); getDetails(); getRetryAfter(): seconds the API asked to wait, or null.
 */
class ApiException extends MailPassException
{
    public function __construct(
        private readonly int $status,
        private readonly string $errorCode,
        string $message,
        private readonly mixed $details = null,
        private readonly ?float $retryAfter = null,
        private readonly ?string $requestId = null,
    ) {
        parent::__construct("$status $errorCode: $message", $status);
    }

    public function getStatus(): int
    {
        return $this->status;
    }

    public function getErrorCode(): string
    {
        return $this->errorCode;
    }

    public function getDetails(): mixed
    {
        return $this->details;
    }

    public function getRetryAfter(): ?float
    {
        return $this->retryAfter;
    }

    public function getRequestId(): ?string
    {
        return $this->requestId;
    }
}
