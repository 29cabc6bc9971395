"""One module per tab; each exposes ``build(ctx: WebContext)`` called inside its ``gr.Tab``."""
