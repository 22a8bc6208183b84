"""The marketplace's matching engine and market data: Redis + Lua, atomic per order book.

Imports only the standard library and redis. See docs/trading.md for the rules, key layout,
journal format and benchmark figures.
"""
