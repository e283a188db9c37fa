"""Money: cost lines and invoices (pricing itself is SQL: sql/functions/pricing.sql)."""
