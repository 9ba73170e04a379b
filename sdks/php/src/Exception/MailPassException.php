<?php
declare(strict_types=1);

namespace MailPass\Exception;

/** Anything this client throws. */
class MailPassException extends \RuntimeException
{
}
