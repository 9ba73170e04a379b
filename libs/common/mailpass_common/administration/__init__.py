"""The platform team's operations on accounts (the admin API and the ``mailpass`` CLI
call the same functions): create, list, suspend, unsuspend, delete, default limits,
usage. Each change is in the account's audit log with the platform team as its actor."""
