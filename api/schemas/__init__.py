"""Request and response models (pydantic) per area of the contract, and their error mapping; the
OpenAPI document is generated from them."""
