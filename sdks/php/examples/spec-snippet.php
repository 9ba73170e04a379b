<?php
// The Mail Send API spec's PHP SDK example, word for word (only the key is yours;
// MAILPASS_BASE_URL names the API when it is not https://dev.mailpass.im).
require __DIR__ . '/../autoload.php';

$client = new MailPass\Client('mp_live_YOUR_KEY');

// Single send
$result = $client->mail->send([
    'to' => 'user@example.com',
    'subject' => 'Hello',
    'html' => '<p>Hello World</p>',
]);
echo $result['data']['message_id'];
