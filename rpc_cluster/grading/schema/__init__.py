"""Each database's schema: tables, triggers, indexes, and the numbered migrations that bring an older one up to date."""
