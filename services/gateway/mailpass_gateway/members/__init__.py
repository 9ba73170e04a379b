"""Console users in an account: members, their roles, invitations."""
