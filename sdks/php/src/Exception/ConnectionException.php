<?php
declare(strict_types=1);

namespace MailPass\Exception;

/** No answer from the API (connection refused or cut, DNS, TLS, timeout), after the retries. */
class ConnectionException extends MailPassException
{
}
