"""The local demo: the product on the built-in emulated tenant, start to finish."""
