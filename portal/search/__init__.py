"""Full-text search with Whoosh: one index, permission labels, follows the event outbox."""
