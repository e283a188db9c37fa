"""Request schemas (pydantic models) per area of the contract, and their error mapping."""
