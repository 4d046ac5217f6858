"""lagoform.model: the pure rules of what Lago bills, which every other part calls.

One place for each rule (DESIGN principle 7, STYLE "one rule, one place"): the currency table
(``currency``), the comparison form in which desired and live state meet (``values``,
``filters``, ``properties``, ``forms``), what a subscription pays — base plan, overrides laid
over it, what a plan edit does to an overridden copy (``effective``) — whether a catalog change
reaches each live subscription (``reach``), and interval arithmetic (``intervals``).

No I/O, and no imports from the rest of lagoform but ``errors``: the engine, revenue impact,
audit and the sandbox call in; nothing here calls out.
"""
