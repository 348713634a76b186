"""Joining the network: invitations by e-mail, accepted on a page that creates the
account, its membership and the session at once."""
