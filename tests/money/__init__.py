"""Money: cost lines, invoices, numeric bounds."""
